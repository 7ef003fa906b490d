"""The jobs list's column widths (`ui/widgets/tables.py`): whole columns, never one cut at the
right edge."""

from __future__ import annotations

from exmado_tui.ui.widgets.tables import COLUMNS, NAME_WIDTH, name_width


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
