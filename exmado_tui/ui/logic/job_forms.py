"""What the two new-job forms need besides widgets. From a workbook: reading its sheets and
first rows, checking the form, previewing the target path, a profile from the form. From a
search: its conditions as one line (written as on the command line, quotes around a value
with spaces), a condition added from a field, and the form checked before a job is made.
No Textual here.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from exmado_tui.config.profiles import FORMATS, Profile
from exmado_tui.config.templates import TemplateError, Values, check_template, relative_path
from exmado_tui.docuware.query import parse_conditions
from exmado_tui.errors import ExmadoError
from exmado_tui.job.query_source import QuerySource
from exmado_tui.workbook.checks import detect_kind, open_checked_workbook
from exmado_tui.workbook.reader import SheetRow

PREVIEW_ROWS = 5
CUSTOM = "(map columns yourself)"
# Shown in an empty template field: says what empty does, and cannot pass for a template.
NO_FOLDERS = "(none: files go straight into the output folder)"
NO_FILENAME = "(none: the file name DocuWare gives)"
DOCUWARE_NAME = "‹DocuWare's name›.pdf"
PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w ]*)(?::[^}]*)?\}")


@dataclass(frozen=True)
class WorkbookPreview:
    sheets: tuple[str, ...] = ()
    sheet: str = ""
    headers: tuple[str, ...] = ()
    rows: tuple[SheetRow, ...] = ()
    error: str = ""


PREVIEW_WIDTHS = (6, 30)  # a preview column: at least, at most (a longer value ends in …)


def preview_widths(preview: WorkbookPreview) -> list[int]:
    """Each column as wide as its header or its widest value shown, within `PREVIEW_WIDTHS`."""
    low, high = PREVIEW_WIDTHS
    return [
        min(
            high, max(low, len(header), *(len(str(r.values.get(header, ""))) for r in preview.rows))
        )
        for header in preview.headers
    ]


def read_preview(path: Path, sheet: str = "", columns: tuple[str, ...] = ()) -> WorkbookPreview:
    """Sheets, headers and the first rows of a workbook; the refusal as one sentence."""
    try:
        # Open it first: a damaged file becomes one sentence.
        with open_checked_workbook(path, columns, sheet=sheet) as reader:
            rows = []
            for row in reader.rows():
                rows.append(row)
                if len(rows) == PREVIEW_ROWS:
                    break
            layout = reader.layout
        sheets = _sheet_names(path)
        return WorkbookPreview(sheets, layout.sheet, layout.headers, tuple(rows))
    except ExmadoError as exc:
        return WorkbookPreview(error=str(exc))


def _sheet_names(path: Path) -> tuple[str, ...]:
    if detect_kind(path, path.name) == "csv":
        return ()
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    try:
        return tuple(book.sheetnames)
    finally:
        book.close()


@dataclass
class JobForm:
    """The form's values, as the widgets hold them."""

    workbook: str = ""
    sheet: str = ""
    profile: str = ""  # a profile name, or CUSTOM
    cabinet: str = ""
    dialog: str = ""
    key_column: str = ""
    dw_field: str = ""
    folder_template: str = ""
    filename_template: str = ""
    name: str = ""
    output: str = ""
    format: str = "original"

    @property
    def custom(self) -> bool:
        return self.profile == CUSTOM

    def config(self) -> dict[str, Any]:
        """The job's own settings, laid over the profile by JobService.create: every field as
        the form shows it."""
        config: dict[str, Any] = {
            "format": self.format,
            "folder_template": self.folder_template,
            "filename_template": self.filename_template,
        }
        if self.sheet:
            config["sheet"] = self.sheet
        if self.custom:
            config.update(
                name="custom",
                cabinet=self.cabinet,
                dialog=self.dialog,
                columns={self.key_column: self.dw_field},
            )
        return config


def shown_for(profile: Profile | None) -> dict[str, str]:
    """Widget id → what the form shows once `profile` is chosen (None: columns mapped by hand)."""
    chosen = profile or Profile(name="custom", cabinet="", columns={})
    return {
        "format": chosen.format,
        "folder-template": chosen.folder_template,
        "filename-template": chosen.filename_template,
    }


def validate(form: JobForm, preview: WorkbookPreview | None) -> dict[str, str]:
    """Field name → one sentence, for every field that stops the job from being created."""
    errors: dict[str, str] = {}
    if not form.workbook.strip():
        errors["workbook"] = "Pick a workbook (.xlsx, .xlsm or .csv)."
    elif preview is not None and preview.error:
        errors["workbook"] = preview.error
    if not form.profile:
        errors["profile"] = "Pick a profile, or map a column to a DocuWare field yourself."
    elif form.custom:
        if not form.cabinet:
            errors["cabinet"] = "Pick the DocuWare file cabinet to search."
        if not form.key_column or not form.dw_field:
            errors["mapping"] = "Map a workbook column to a DocuWare field."
    errors.update(_check_templates(form))
    if form.format not in FORMATS:
        errors["format"] = f"Format must be one of {', '.join(FORMATS)}."
    if form.output.strip():
        errors.update(_check_output(Path(form.output).expanduser()))
    return errors


def _check_templates(form: JobForm) -> dict[str, str]:
    """The first template no row could render, named by its field in the form."""
    try:
        check_template(form.folder_template, "Folders", folder=True)
        check_template(form.filename_template, "File name")
    except TemplateError as exc:
        return {"templates": str(exc)}
    return {}


def _check_output(folder: Path) -> dict[str, str]:
    if folder.exists() and not folder.is_dir():
        return {"output": f"Output {folder} is a file, not a folder."}
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        return {"output": f"Output {folder} lies under the file {existing}."}
    return {}


def target_preview(profile: Profile | None, form: JobForm, row: SheetRow | None) -> str:
    """The relative path the first row's file would get; DocuWare-only fields shown as ‹NAME›."""
    if row is None or not form.profile:
        return ""
    columns = dict(
        form.custom and {form.key_column: form.dw_field} or (profile.columns if profile else {})
    )
    fields = {dw: row.values.get(col, "") for col, dw in columns.items()}
    values = Values(fields=fields, columns=row.values, ROW=row.number, DOCID="1234")
    known = {k.upper() for k in fields} | {_norm(k) for k in row.values} | {"ROW", "DOCID"}

    def keep_known(match: re.Match[str]) -> str:
        name = match.group(1)
        return match.group(0) if name.upper() in known or _norm(name) in known else f"‹{name}›"

    try:
        path = relative_path(
            PLACEHOLDER.sub(keep_known, form.folder_template),
            PLACEHOLDER.sub(keep_known, form.filename_template),
            values,
            downloaded_name=DOCUWARE_NAME,
        )
    except ExmadoError as exc:
        return f"(template error: {exc})"
    return str(PurePosixPath(path))


def _norm(name: str) -> str:
    from exmado_tui.workbook.checks import normalise_header

    return normalise_header(name)


def profile_from_form(name: str, form: JobForm, base: Profile | None) -> Profile:
    """The profile the form describes: the chosen one with the form's choices laid over it."""
    data: dict[str, Any] = base.to_dict() if base else {}
    data.update(form.config())
    data["name"] = name
    data.setdefault("columns", {})
    data.setdefault("cabinet", "")
    return Profile.from_dict(data)


@dataclass(frozen=True)
class SearchForm:
    cabinet: str = ""
    dialog: str = ""
    conditions: str = ""  # `DOC_DATE=2023-01-01..2023-12-31 'SUPPLIER=ACME Corp*'`
    profile: str = ""  # empty: no profile, the files keep DocuWare's names
    name: str = ""
    output: str = ""

    def source(self, counted: int | None = None) -> QuerySource:
        """The query the form asks; ValueError in one sentence for conditions it cannot read."""
        texts = split_conditions(self.conditions)
        parse_conditions(texts)
        return QuerySource(self.cabinet, texts, self.dialog, counted)


def split_conditions(line: str) -> tuple[str, ...]:
    try:
        return tuple(shlex.split(line))
    except ValueError as exc:  # an unclosed quote
        raise ValueError(f"The conditions cannot be read ({exc}); close the quote.") from None


def add_condition(line: str, field: str, value: str) -> str:
    """`line` with `FIELD=VALUE` appended, quoted when it needs it."""
    return " ".join(part for part in (line.strip(), shlex.quote(f"{field}={value}")) if part)


@dataclass(frozen=True)
class Count:
    """DocuWare's answer to the form's query: how many documents, or why none can be said."""

    documents: int | None = None
    error: str = ""

    @property
    def shown(self) -> str:
        if self.error:
            return self.error
        if self.documents is None:
            return "-"
        return f"{self.documents:,} document{'s' if self.documents != 1 else ''}"


def validate_search(form: SearchForm, count: Count) -> dict[str, str]:
    """Every problem of the form, by field, in one sentence each."""
    errors: dict[str, str] = {}
    if not form.cabinet:
        errors["cabinet"] = "Pick the DocuWare file cabinet to search."
    try:
        form.source()
    except ValueError as exc:
        errors["conditions"] = str(exc)
        return errors  # DocuWare cannot count what cannot be read: its count says it again
    if count.error:
        errors["count"] = count.error
    elif count.documents is None:
        errors["count"] = "Wait for DocuWare's count of the documents."
    elif count.documents == 0:
        errors["count"] = "The search finds no document; change the conditions."
    return errors
