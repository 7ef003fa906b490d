"""Filename and folder templates over row values and DocuWare fields, made safe and confined.

`{SUPPLIER}/{DOC_DATE:%Y}/{INVOICE_NO}`: a name is looked up among the document's DocuWare
fields first, then the row's columns (header matched ignoring case, accents and spaces);
`{ROW}` is the row number and `{DOCID}` the DocuWare document id. A format spec applies to the
value: `strftime` codes for dates (ISO text from a workbook counts as a date), Python's format
mini-language for numbers and text. Every value is one path component (a `/` in a supplier
name does not make a folder); only the template's own `/` separate folders. An empty value
becomes `_`. Components are sanitised for Windows and Linux and the result is checked to stay
inside the output folder. The extension of the downloaded file is added when the filename
template ends without one.
"""

from __future__ import annotations

import functools
import os
import re
import stat
import string
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any

from exmado_tui.errors import PermanentError
from exmado_tui.files import shorten, split_extension
from exmado_tui.workbook.checks import normalise_header

# A lone surrogate (JSON allows "\ud800") has no UTF-8 form: no file system takes it.
UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*\ud800-\udfff]')
RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)$", re.I)
TEMPLATE_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,8}$")
EMPTY = "_"


class TemplateError(PermanentError):
    """A template names a value that does not exist, or a format that does not fit it."""


class Values:
    """What a template can name: DocuWare fields, then row columns, then ROW and DOCID."""

    def __init__(
        self,
        fields: Mapping[str, Any] | None = None,
        columns: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> None:
        self.fields = dict(fields or {})
        self.row = {normalise_header(k): v for k, v in (columns or {}).items()}
        self.extra = {k.upper(): v for k, v in extra.items()}

    def lookup(self, name: str) -> Any:
        if name in self.fields:
            return self.fields[name]
        upper = {k.upper(): v for k, v in self.fields.items()}
        if name.upper() in upper:
            return upper[name.upper()]
        if normalise_header(name) in self.row:
            return self.row[normalise_header(name)]
        if name.upper() in self.extra:
            return self.extra[name.upper()]
        raise TemplateError(
            f"The template names {{{name}}}, which is neither a DocuWare field of the "
            "document nor a column of the workbook; fix the profile's [templates]."
        )


def render(template: str, values: Values) -> str:
    """The template with each `{name[:spec]}` replaced by its formatted, one-component value."""
    parts = []
    for literal, name, spec, _conversion in _parsed(template):
        parts.append(literal)
        if name is not None:
            text = format_value(values.lookup(name.strip()), spec or "", name)
            parts.append(UNSAFE.sub("_", text) if text else EMPTY)
    return "".join(parts)


@functools.lru_cache(maxsize=64)  # a profile's few templates, rendered every file
def _parsed(template: str) -> tuple[tuple[str, str | None, str | None, str | None], ...]:
    try:
        return tuple(string.Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError(f"The template {template!r} is malformed ({exc}).") from None


# One strftime code: glibc's flags (-, _, 0, ^, #), a width and an E/O modifier before it.
DATE_CODE = re.compile(r"%[-_0^#]*[0-9]*[EO]?.?", re.S)
# A date and a datetime, as DocuWare Date and DateTime fields and workbook ISO text give them.
DATE_PROBES = (date(2024, 1, 5), datetime(2024, 1, 5, 13, 4, 5))
PROBES: tuple[Any, ...] = (Decimal(1), 1, 1.0, "x")
ABSOLUTE = re.compile(r"^([/\\]|[A-Za-z]:)")
# Python's attribute and index syntax inside a name (`{X.__class__}`, `{X[0]}`): never evaluated,
# it would only fail every row. A header such as "Nro.Factura" or "Amount [EUR]" stays a name.
ACCESS = re.compile(r"(?<=\w)(\[[^\]]*\]|\.(?=_)\w+)")


def check_template(template: str, where: str, *, folder: bool = False) -> None:
    """Refuse, naming `where`, a template that no row could ever render: broken braces, an
    empty name, a conversion, a format no value accepts, or a folder that leaves the output."""
    prefix = f"{where} {template!r}"
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError(f"{prefix} is malformed ({exc}).") from None
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        shown = (
            "{"
            + name
            + (f"!{conversion}" if conversion else "")
            + (f":{spec}" if spec else "")
            + "}"
        )
        if not name.strip():
            raise TemplateError(
                f"{prefix} has {{}} without a name; put a field or column name between the braces."
            )
        if conversion:
            raise TemplateError(
                f"{prefix} has {shown}; conversions such as !{conversion} are not supported."
            )
        if access := ACCESS.search(name):
            raise TemplateError(
                f"{prefix} has {shown}; {access[0]!r} is not part of a field or column name"
                f" (nothing is looked up inside a value): write {{{name[: access.start()]}}}."
            )
        if spec and "{" in spec:
            raise TemplateError(f"{prefix} has {shown}; a format cannot hold another {{…}}.")
        if spec:
            _check_spec(prefix, shown, spec)
    if folder:
        _check_folder(prefix, template)


def _check_spec(prefix: str, shown: str, spec: str) -> None:
    if "%" in spec:
        for code in DATE_CODE.findall(spec):
            if not _renders(code):
                raise TemplateError(
                    f"{prefix} has {shown}, but {code} is not a date format code"
                    " (use %Y, %m, %d and the like)."
                )
        return
    for probe in PROBES:
        try:
            format(probe, spec)
            return
        except (ValueError, TypeError):
            continue
    raise TemplateError(f"{prefix} has {shown}, which is not a valid format for any value.")


def _renders(code: str) -> bool:
    """Whether `strftime` renders this one code for every probe: an unknown code raises or
    comes back unchanged (glibc echoes %Q), and `%%` is a code that renders."""
    for probe in DATE_PROBES:
        try:
            if probe.strftime(code) == code:
                return False
        except (ValueError, OverflowError):
            return False
    return True


def _check_folder(prefix: str, template: str) -> None:
    parts = re.split(r"[/\\]", template)
    if ABSOLUTE.match(template.strip()) or any(p.strip() in (".", "..") for p in parts):
        raise TemplateError(
            f"{prefix} must stay inside the output folder: no leading / or drive letter"
            " and no '..' folders."
        )


def format_value(value: Any, spec: str, name: str = "") -> str:
    """One value as text, with `spec` applied as a date or number format when it fits."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if spec and "%" in spec:
        return _strftime(value, spec, name)
    if isinstance(value, datetime | date):
        return value.isoformat()
    try:
        return format(_number(value) if spec else value, spec)
    except (ValueError, TypeError):
        raise TemplateError(
            f"The template's {{{name}:{spec}}} does not fit the value {value!r}."
        ) from None


def _strftime(value: Any, spec: str, name: str) -> str:
    moment = value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            moment = None
    if not isinstance(moment, date):
        raise TemplateError(
            f"The template's {{{name}:{spec}}} needs a date, but the value is {value!r}."
        )
    return moment.strftime(spec)


def _number(value: Any) -> Any:
    """Text that holds a number formats as one (`{AMOUNT:.2f}` over a workbook value)."""
    if isinstance(value, str):
        try:
            return Decimal(value) if value.strip() else value
        except ArithmeticError:
            return value
    return value


def sanitise_component(text: str) -> str:
    """One folder or file name that Windows and Linux both accept."""
    clean = UNSAFE.sub("_", text).strip(" .")
    if not clean or clean in (".", ".."):
        clean = EMPTY
    if RESERVED.match(clean.partition(".")[0].rstrip()):
        clean = "_" + clean
    return shorten(clean)


def relative_path(
    folder_template: str,
    filename_template: str,
    values: Values,
    *,
    downloaded_name: str,
) -> PurePosixPath:
    """The sanitised relative path of a file: folders from one template, name from the other."""
    folders = [sanitise_component(p) for p in render(folder_template, values).split("/") if p]
    if filename_template.strip():
        name = render(filename_template, values)
        if not has_extension(filename_template):
            name += split_extension(downloaded_name)[1].lower()
    else:
        name = downloaded_name
    return PurePosixPath(*folders, sanitise_component(name.replace("/", "_")))


def has_extension(template: str) -> bool:
    """Whether the template itself ends with an extension such as `.pdf`."""
    tail = template.rsplit("}", 1)[-1]
    return bool(TEMPLATE_EXTENSION.search(tail))


def confine(root: Path, relative: PurePosixPath | str) -> Path:
    """`root / relative`, resolved (when `root` is); raise when it would land outside `root`.

    Without `..` and with no symbolic link below `root`, the path is its own resolved form:
    one `lstat` a component tells (the pipeline asks twice a file, and `resolve` cost five
    times as much)."""
    parts = PurePosixPath(relative).parts
    if _plain_below(str(root), parts):
        return Path(root).joinpath(*parts)
    base = Path(root).resolve()
    target = (base / Path(relative)).resolve()
    if target != base and not target.is_relative_to(base):
        link = _first_link(base, Path(relative))
        if link is not None:
            raise TemplateError(
                f"The path {str(relative)!r} goes through the symbolic link {link}, which leads "
                f"to {link.resolve()}, outside the output folder; remove the link or choose "
                "another output folder."
            )
        raise TemplateError(
            f"The path {str(relative)!r} would leave the output folder {base}; "
            "fix the profile's [templates]."
        )
    return target


def _plain_below(root: str, parts: tuple[str, ...]) -> bool:
    """No `..`, no absolute part and no symbolic link on the way down `parts` from `root`
    (a part that does not exist yet ends the way)."""
    current = root
    for part in parts:
        if part == ".." or part.startswith("/"):
            return False
        current = os.path.join(current, part)
        try:
            if stat.S_ISLNK(os.lstat(current).st_mode):
                return False
        except FileNotFoundError:
            return True
    return True


def _first_link(base: Path, relative: Path) -> Path | None:
    """The first symbolic link on the way from `base` down `relative`, if any."""
    current = base
    for part in relative.parts:
        current = current / part
        if current.is_symlink():
            return current
    return None
