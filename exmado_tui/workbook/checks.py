"""What a file must pass to become a job's workbook, each refusal one sentence: its path and
name (before it is opened; Excel's `~$` lock files told apart), its sheet and mapped columns, at
least one data row; and the private copy a job keeps of it.

Also how a workbook's column headers and a profile's column names are compared
(`normalise_header`), and whether a workbook is open in Excel now. None of it loads openpyxl:
templates, the report and the workers' rows match headers without it.

Excel's lock files: while Excel has `march.xlsx` open it keeps `~$march.xlsx` beside it (a long
name loses its first two characters instead: `~$rch-2024.xlsx`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exmado_tui.errors import WorkbookError
from exmado_tui.files import is_utf8, private_folder, read_with_sha256, shown, write_private
from exmado_tui.workbook.guard import WorkbookLimits

if TYPE_CHECKING:
    from exmado_tui.workbook.reader import WorkbookReader

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".csv")


def check_workbook_path(path: Path) -> None:
    """Refuse, in one sentence, a path that cannot be a workbook we read."""
    if path.is_dir():
        raise WorkbookError(f"Workbook {path} is a folder, not a file.")
    if not path.is_file():
        raise WorkbookError(f"Workbook {path} does not exist.")
    check_workbook_name(path)


def check_workbook_name(path: Path) -> None:
    """Refuse, in one sentence and without opening it, a file whose name says it is no workbook
    we read (or that no store could record)."""
    if not is_utf8(path.name):
        raise WorkbookError(
            f"Workbook {shown(path.name)} has a name that is not valid UTF-8 (written in another"
            " system's encoding); rename it and try again."
        )
    if is_lock_file(path.name):
        raise WorkbookError(lock_file_sentence(path))
    name, suffix = shown(path.name), path.suffix.lower()
    if suffix == ".xls":
        raise WorkbookError(
            f"Workbook {name} is in the old Excel 97–2003 format; "
            "open it in Excel and save it as .xlsx."
        )
    if suffix not in WORKBOOK_SUFFIXES:
        raise WorkbookError(
            f"Workbook {name} is not an Excel workbook (.xlsx, .xlsm) or a CSV file."
        )


def open_checked_workbook(
    path: Path,
    columns: Sequence[str],
    *,
    sheet: str = "",
    header_row: int = 0,
    limits: WorkbookLimits | None = None,
) -> WorkbookReader:
    """The workbook opened past its header, having found the sheet and every mapped column;
    else WorkbookError in the one sentence the New-job form and `jobs create` both show."""
    from exmado_tui.workbook.reader import open_workbook  # openpyxl: only when a workbook is opened

    check_workbook_path(path)
    return open_workbook(path, list(columns), sheet=sheet, header_row=header_row, limits=limits)


def check_workbook(
    path: Path, snapshot: dict[str, Any], limits: WorkbookLimits | None = None
) -> None:
    """Refuse a workbook the job's settings cannot read, before anything is stored."""
    from exmado_tui.workbook.reader import no_data_rows

    with open_checked_workbook(
        path,
        list(snapshot["columns"]),
        sheet=snapshot.get("sheet") or "",
        header_row=snapshot.get("header_row") or 0,
        limits=limits,
    ) as reader:
        if next(reader.rows(), None) is None:
            raise no_data_rows(reader.name, reader.layout.sheet)


def keep_private_copy(source: Path, target: Path) -> tuple[bytes, str]:
    """Copy `source` to `target` in an owner-only folder, reading it once: the bytes copied (the
    job store keeps them too) and their SHA-256."""
    private_folder(target.parent)
    content, sha256 = read_with_sha256(source)
    write_private(target, content)
    return content, sha256


def normalise_header(text: Any) -> str:
    """Header text for matching: no accents, case-folded, single spaces."""
    decomposed = unicodedata.normalize("NFKD", str(text or ""))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


# -- Excel's lock files -------------------------------------------------------------------------

LOCK_PREFIX = "~$"


def is_lock_file(name: str) -> bool:
    return name.startswith(LOCK_PREFIX)


def locked_workbook(lock: Path) -> Path | None:
    """The workbook beside `lock` that it belongs to, if it is there."""
    return next((p for p in _neighbours(lock) if _belongs(lock.name, p.name)), None)


def lock_file_of(workbook: Path) -> Path | None:
    """Excel's lock file beside `workbook` (it is open in Excel), if there is one."""
    return next((p for p in _neighbours(workbook) if _belongs(p.name, workbook.name)), None)


def lock_file_sentence(lock: Path) -> str:
    """Why a lock file passed as a workbook is refused, naming the workbook."""
    workbook = locked_workbook(lock)
    which = (
        shown(workbook.name)
        if workbook
        else f"the workbook whose name ends in {shown(lock.name[len(LOCK_PREFIX) :])}"
    )
    return (
        f"{shown(lock.name)} is the lock file Excel keeps beside {which} while it is open, not a "
        "workbook; save and close it in Excel, then use the workbook itself."
    )


def open_in_excel_warning(workbook: Path) -> str:
    """A warning when `workbook` is open in Excel; empty when it is not."""
    lock = lock_file_of(workbook)
    if lock is None:
        return ""
    return (
        f"{shown(workbook.name)} is open in Excel (its lock file {shown(lock.name)} is beside it):"
        " the job has the workbook as last saved; changes not saved yet are not in it."
    )


def _belongs(lock: str, workbook: str) -> bool:
    rest = lock[len(LOCK_PREFIX) :]
    return (
        is_lock_file(lock)
        and not is_lock_file(workbook)
        and bool(rest)
        and (workbook == rest or (len(workbook) == len(lock) and workbook[2:] == rest))
    )


def _neighbours(path: Path) -> list[Path]:
    try:
        return sorted(p for p in path.parent.iterdir() if p != path)
    except OSError:
        return []
