"""Paths shown whole in a narrow terminal (`FoldedPaths`): folded after a `/`, where a reader
expects a path to break, not in the middle of a folder's or a file's name as Rich wraps a
word without spaces."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rich.cells import cell_len, chop_cells
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text

PARTS = re.compile(r"[^/]*/|[^/]+")  # each name with the slash after it


def fold_path(path: str, width: int) -> list[str]:
    """`path` in lines of at most `width` cells, each ending after a `/` where one fits; a
    name longer than a line is cut at the line's end."""
    lines: list[str] = []
    line = ""
    for part in PARTS.findall(path):
        if line and cell_len(line + part) > width:
            lines.append(line)
            line = ""
        *whole_lines, part = chop_cells(part, width)  # [part] when it fits a line
        lines += whole_lines
        line += part
    return [*lines, line] if line else lines


class FoldedPaths:
    """Paths one under another, each folded after a `/` at the width it is drawn in."""

    def __init__(self, paths: Sequence[str], style: str = "") -> None:
        self.paths = paths
        self.style = style

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        """In a table: at least the longest name (a line folds after any `/`), at most the
        longest path."""
        names = [name for path in self.paths for name in PARTS.findall(path)]
        return Measurement(
            max(map(cell_len, names), default=0), max(map(cell_len, self.paths), default=0)
        )

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for path in self.paths:
            for line in fold_path(path, options.max_width):
                yield Text(line, self.style, no_wrap=True)
