"""A workbook uploaded from the browser into the data folder's inbox, for a new job.

The dashboard in a browser runs on the server, so its New-job form wants a path there; the page
offers an upload instead (`POST /upload`, behind the same gate as the websocket), and the form's
Browse opens the inbox. Only `.xlsx` (a ZIP inside), at most `[serve] upload_max_mb`, under a
plain name of its own: folders and odd characters in the browser's name are dropped.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from aiohttp import BodyPartReader, web

from exmado_tui.files import first_free, private_folder, shorten

FIELD = "workbook"
ZIP_MAGIC = b"PK\x03\x04"  # an .xlsx is a ZIP archive
UNSAFE = re.compile(r"[^\w\-() ]+")
CHUNK = 64 * 1024
MB = 1024 * 1024


@dataclass(frozen=True)
class Uploads:
    """Where uploads go and how large one may be; none for a read-only `exmado serve`."""

    inbox: Path
    max_mb: float


class UploadRefused(Exception):
    """An upload not taken; `status` is the HTTP answer, the message its sentence."""

    def __init__(self, status: int, sentence: str) -> None:
        super().__init__(sentence)
        self.status = status


def inbox_name(sent: str) -> str:
    """The name an uploaded file is kept under: its last part only, plain characters, .xlsx."""
    name = PurePosixPath(sent.replace("\\", "/")).name
    stem, dot, extension = name.rpartition(".")
    if not dot or extension.lower() != "xlsx":
        raise UploadRefused(400, f"Only .xlsx workbooks can be uploaded, not {name!r}.")
    plain = UNSAFE.sub("_", stem).strip(" _") or "workbook"
    return shorten(plain + ".xlsx")


async def receive_workbook(request: web.Request, uploads: Uploads) -> Path:
    """The request's workbook written into the inbox (owner-only); nothing is left on refusal."""
    inbox, max_mb = uploads.inbox, uploads.max_mb
    limit = int(max_mb * MB)
    if (request.content_length or 0) > limit + MB:  # the form's own bytes beside the file
        raise UploadRefused(413, too_big(max_mb))
    part = await (await request.multipart()).next()
    if not isinstance(part, BodyPartReader) or part.name != FIELD or not part.filename:
        raise UploadRefused(400, f"The upload must send the workbook as the form's {FIELD!r}.")
    wanted = private_folder(inbox) / inbox_name(part.filename)
    partial = inbox / f".{wanted.name}.{os.getpid()}.{id(request)}.part"
    try:
        await _write(part, partial, limit, max_mb)
        return _place(partial, wanted)
    finally:
        partial.unlink(missing_ok=True)


def _place(partial: Path, wanted: Path) -> Path:
    """`partial` linked in under `wanted`'s first free name; never over another file."""
    while True:
        target = first_free(wanted)
        try:
            os.link(partial, target)
            return target
        except FileExistsError:  # another upload took that name in between
            continue


async def _write(part: BodyPartReader, path: Path, limit: int, max_mb: float) -> None:
    written = 0
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
        while chunk := await part.read_chunk(CHUNK):
            if not written and not chunk.startswith(ZIP_MAGIC):
                raise UploadRefused(400, "That file is not an .xlsx workbook (no ZIP inside).")
            written += len(chunk)
            if written > limit:
                raise UploadRefused(413, too_big(max_mb))
            out.write(chunk)
    if not written:
        raise UploadRefused(400, "The uploaded workbook is empty.")


# The page's bar under the terminal: pick a workbook, it is sent at once, the answer shows.
UPLOAD_BAR = """<form id="upload" class="upload-bar">
      <label>Upload a workbook (.xlsx) for a new job:
        <input type="file" name="workbook" accept=".xlsx" /></label>
      <span id="upload-answer" role="status"></span>
    </form>
    <script>
      document.querySelector("#upload input").addEventListener("change", async (event) => {
        const answer = document.getElementById("upload-answer");
        const file = event.target.files[0];
        if (!file) return;
        const body = new FormData();
        body.append("workbook", file);
        answer.textContent = "Uploading…";
        try {
          const reply = await fetch("/upload", { method: "POST", body });
          answer.textContent = await reply.text();
        } catch (error) {
          answer.textContent = "The upload did not reach the server: " + error;
        }
        event.target.value = "";
      });
    </script>
  </body>"""
UPLOAD_BAR_STYLE = """<style>
      body .textual-terminal { height: calc(100vh - 28px); }
      .upload-bar {
        position: fixed; bottom: 0; left: 0; right: 0; height: 28px; margin: 0;
        padding: 2px 8px; box-sizing: border-box; background: #12232d;
        color: rgba(255, 255, 255, 0.9); font: 13px "Roboto Mono", menlo, monospace;
      }
      #upload-answer { margin-left: 12px; }
    </style>
  </head>"""


def with_upload_bar(page: str) -> str:
    """textual-serve's page with the upload bar under the terminal."""
    return page.replace("</head>", UPLOAD_BAR_STYLE, 1).replace("</body>", UPLOAD_BAR, 1)


def too_big(max_mb: float) -> str:
    return (
        f"The workbook is larger than {max_mb:g} MB, the most [serve] upload_max_mb lets a"
        " browser upload; copy it to the server instead, or raise the setting."
    )
