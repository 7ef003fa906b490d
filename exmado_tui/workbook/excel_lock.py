"""Excel's lock files: while Excel has `march.xlsx` open it keeps `~$march.xlsx` beside it (a
long name loses its first two characters instead: `~$rch-2024.xlsx`). Which workbook a lock
file belongs to, and whether a workbook is open in Excel now."""

from __future__ import annotations

from pathlib import Path

from exmado_tui.files.names import shown

PREFIX = "~$"


def is_lock_file(name: str) -> bool:
    return name.startswith(PREFIX)


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
        else f"the workbook whose name ends in {shown(lock.name[len(PREFIX) :])}"
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
    rest = lock[len(PREFIX) :]
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
