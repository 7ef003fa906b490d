"""Column widths of the dashboard's tables: whole columns, values not cut short."""

from __future__ import annotations

from exmado_tui.ui.logic.job_forms import WorkbookPreview, preview_widths
from exmado_tui.ui.widgets.tables import COLUMNS, NAME_WIDTH, name_width
from exmado_tui.workbook.reader import SheetRow


def test_the_preview_shows_a_value_wider_than_its_header_whole():
    rows = (SheetRow(2, {"Invoice": "INV-000001", "N": "1", "Note": "x" * 80}, "INV-000001"),)
    preview = WorkbookPreview(headers=("Invoice", "N", "Note"), rows=rows)
    assert preview_widths(preview) == [10, 6, 30]  # the value; at least 6; at most 30


def edges(room: int) -> list[int]:
    """Where each column of the jobs list ends (padding 1 each side) once Name takes its room."""
    widths = [name_width(room) if key == "name" else width for key, _, width in COLUMNS]
    ends, at = [], 0
    for width in widths:
        at += width + 2
        ends.append(at)
    return ends


def test_no_column_of_the_jobs_list_is_cut_at_the_right_edge():
    for room in (78, 80, 118, 120, 200):
        assert room in edges(room) or edges(room)[-1] < room
    assert name_width(80) > NAME_WIDTH  # at 80 columns the Rows column starts beyond the edge
