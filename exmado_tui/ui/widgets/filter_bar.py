"""The status filter line of the jobs list: each filter, its key and its count; clickable."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from exmado_tui.job.status import JobStatus
from exmado_tui.ui.logic.filters import FILTERS


class FilterBar(Static):
    """Shows `1 All 12  2 Active 3 …`, the current filter highlighted; click one to pick it."""

    DEFAULT_CSS = """
    FilterBar { height: auto; width: 1fr; padding: 0 1; }
    """

    current: reactive[str] = reactive("all")
    """Name of the selected filter."""
    counts: reactive[dict[JobStatus, int]] = reactive(dict, always_update=True)
    """Jobs per status in the whole store."""
    text_filter: reactive[str] = reactive("")
    """The `/` text filter, shown when set."""

    def render(self) -> Content:
        """The filters laid out line by line, so a narrow terminal wraps between them."""
        lines: list[list[Content]] = [[]]
        used = 0
        width = max(20, self.content_region.width or self.size.width or 80)
        for item in self._items():
            if used and used + 2 + item.cell_length > width:
                lines.append([])
                used = 0
            used += (2 if used else 0) + item.cell_length
            lines[-1].append(item)
        return Content("\n").join(Content("  ").join(line) for line in lines)

    def _items(self) -> list[Content]:
        items = []
        for f in FILTERS:
            count = f.count(self.counts)
            style = "reverse bold" if f.name == self.current else "" if count else "dim"
            link = f"@click=screen.filter('{f.name}')"
            items.append(
                Content.from_markup(
                    f"[{style} {link}]$label[/]".replace("[ ", "["),
                    label=f"{f.key} {f.label} {count}",
                )
            )
        if self.text_filter:
            items.append(Content.from_markup("[b $warning]/$text[/]", text=self.text_filter))
        return items
