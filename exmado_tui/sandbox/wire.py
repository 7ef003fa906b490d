"""Request and response values passed between the HTTP server and the route handlers."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

PLATFORM = "/DocuWare/Platform"
IDENTITY = "/DocuWare/Identity"
JSON_TYPE = "application/json; charset=utf-8"


@dataclass
class Request:
    """One parsed HTTP request; query and header names are lower-cased."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""
    target: str = ""
    client: str = ""
    user: str | None = None
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(
        cls, method: str, target: str, headers: Iterable[tuple[str, str]], body: bytes, client: str
    ) -> Request:
        """The request as the routes take it, from what came on the wire (or in-process)."""
        url = urlsplit(target)
        query = {k.lower(): v for k, v in parse_qsl(url.query, keep_blank_values=True)}
        lowered = {k.lower(): v for k, v in headers}
        verb = "GET" if method == "HEAD" else method  # HEAD answers as GET, without the body
        return cls(verb, url.path, query, lowered, body, target, client)

    @property
    def cookies(self) -> dict[str, str]:
        """The Cookie header as a dict (tolerant of odd names such as .DWPLATFORMAUTH)."""
        jar = {}
        for part in self.headers.get("cookie", "").split(";"):
            name, sep, value = part.strip().partition("=")
            if sep:
                jar[name] = value.strip('"')
        return jar

    def form(self) -> dict[str, str]:
        """The body as an x-www-form-urlencoded form."""
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))

    def json(self) -> Any:
        """The body as JSON; HttpError 400 when it is not."""
        try:
            return json.loads(self.body or b"null")
        except ValueError as exc:
            raise HttpError(400, f"The request body is not valid JSON: {exc}.") from exc

    def int_param(self, name: str, default: int | None = None) -> int | None:
        """An integer query parameter; HttpError 422 when it is not a number."""
        raw = self.query.get(name.lower())
        if raw in (None, ""):
            return default
        try:
            return int(raw)
        except ValueError as exc:
            raise HttpError(422, f"The parameter '{name}' must be a whole number.") from exc


@dataclass
class Response:
    """Status, headers and body bytes; Content-Length is added by the server."""

    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: list[tuple[str, str]] = field(default_factory=list)
    # A fault for the server to act out while writing it: "cut" (the connection dies halfway
    # through the body) or "short" (it ends cleanly before Content-Length).
    break_off: str = ""


class HttpError(Exception):
    """Raised by handlers to answer with a DocuWare error body."""

    def __init__(
        self,
        status: int,
        message: str,
        headers: list[tuple[str, str]] | None = None,
        internal_code: int = 0,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or []
        self.internal_code = internal_code


def json_response(
    data: Any, status: int = 200, headers: list[tuple[str, str]] | None = None
) -> Response:
    """A JSON response (UTF-8, non-ASCII kept as is)."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(status, body, JSON_TYPE, list(headers or []))


def status_name(status: int) -> str:
    """The .NET HttpStatusCode-style name: 404 -> "NotFound"."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        return str(status)
    return "".join(word[:1].upper() + word[1:] for word in phrase.replace("-", " ").split())


def error_response(
    request: Request,
    status: int,
    message: str,
    headers: list[tuple[str, str]] | None = None,
    internal_code: int = 0,
) -> Response:
    """The DocuWare error JSON (Message, Uri, Method, StatusCode, Status, InternalCode)."""
    return json_response(
        {
            "Message": message,
            "Exception": None,
            "Uri": request.target or request.path,
            "Method": request.method,
            "StatusCode": status,
            "Status": status_name(status),
            "InternalCode": internal_code,
        },
        status,
        headers,
    )


def link(rel: str, href: str) -> dict[str, str]:
    """One hypermedia link."""
    return {"rel": rel, "href": href}


def ms_date(ms: int) -> str:
    """The Microsoft JSON date form /Date(ms)/."""
    return f"/Date({ms})/"
