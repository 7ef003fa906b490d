"""`PagedTable`: a DataTable over a long, store-backed list (100,000 rows of a job).

It loads a page at a time as the cursor or the scroll nears the end, and refreshes only the
rows on screen, in place, so a running job's rows change colour without the table jumping.

A store out of reach while it reads (SQLite locked, PostgreSQL restarting) keeps what is shown:
the next scroll, cursor move or refresh reads again, and the screen hears of it through
`PagedTable.StoreTrouble` once when it starts and once when it ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

from rich.text import Text
from textual.message import Message

from exmado_tui.errors import StoreUnavailableError
from exmado_tui.ui.widgets.plain_table import PlainTable

T = TypeVar("T")
Loader = Callable[[int, int], Awaitable[list[T]]]  # (offset, limit) → items
LOOKAHEAD = 40


class PagedTable(PlainTable, Generic[T]):
    """Give it columns, a loader, a cell maker and a key maker; call `reload()`."""

    class StoreTrouble(Message):
        """The store stopped answering this table's reads (`error`), or answers again (None)."""

        def __init__(self, table: PagedTable[Any], error: StoreUnavailableError | None) -> None:
            super().__init__()
            self.table = table
            self.error = error

        @property
        def control(self) -> PagedTable[Any]:
            return self.table

    DEFAULT_CSS = """
    PagedTable { height: 1fr; }
    """

    def __init__(
        self,
        columns: Sequence[tuple[str, str, int | None]],
        cells: Callable[[T], tuple[str | Text, ...]],
        key: Callable[[T], str],
        page_size: int = 200,
        **kwargs: Any,
    ) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.column_specs = columns
        self.cells = cells
        self.key = key
        self.page_size = page_size
        self.loader: Loader[T] | None = None
        self.items: list[T] = []
        self.exhausted = False
        self.trouble: StoreUnavailableError | None = None
        """Why the last read failed, while the store is out of reach."""
        self._behind = False  # a page load failed: the next refresh tries it again
        self._lock = asyncio.Lock()

    def on_mount(self) -> None:
        for key, label, width in self.column_specs:
            self.add_column(label, width=width, key=key)

    @property
    def current(self) -> T | None:
        row = self.cursor_row
        return self.items[row] if 0 <= row < len(self.items) else None

    async def reload(self, loader: Loader[T] | None = None) -> None:
        """Start again from the top (a new filter, say)."""
        async with self._lock:
            if loader is not None:
                self.loader = loader
            self.clear()
            self.items, self.exhausted = [], False
            await self._load_page()

    async def _load_page(self) -> None:
        if self.loader is None or self.exhausted:
            return
        batch = await self._read(len(self.items), self.page_size)
        self._behind = batch is None
        if batch is None:
            return
        self.exhausted = len(batch) < self.page_size
        for item in batch:
            self.add_row(*self.cells(item), key=self.key(item))
        self.items.extend(batch)

    def near_end(self) -> bool:
        last_visible = int(self.scroll_y) + self.size.height
        return max(self.cursor_row, last_visible) >= len(self.items) - LOOKAHEAD

    async def load_more_if_near_end(self) -> None:
        async with self._lock:
            if self.near_end() and not self.exhausted:
                await self._load_page()

    async def catch_up(self) -> None:
        """Read the page that could not be read last time, if one could not (no query else)."""
        if self.loader is None or self._lock.locked() or not self._behind:
            return
        async with self._lock:
            await self._load_page()

    async def refresh_visible(self) -> None:
        """Read the rows on screen again and rewrite the cells that changed; first the page
        that could not be read last time, if one could not."""
        if self.loader is None or self._lock.locked():
            return
        async with self._lock:
            if self._behind:
                await self._load_page()
            if self._behind or not self.items:
                return
            first = max(0, int(self.scroll_y) - 1)
            fresh = await self._read(first, self.size.height + 2)
            for offset, item in enumerate(fresh or ()):
                self._replace(first + offset, item)

    async def _read(self, offset: int, limit: int) -> list[T] | None:
        """The loader's items, or None when the store is out of reach (said once)."""
        assert self.loader is not None
        try:
            items = await self.loader(offset, limit)
        except StoreUnavailableError as exc:
            if self.trouble is None:
                self.post_message(self.StoreTrouble(self, exc))
            self.trouble = exc
            return None
        if self.trouble is not None:
            self.trouble = None
            self.post_message(self.StoreTrouble(self, None))
        return items

    def _replace(self, index: int, item: T) -> None:
        if index >= len(self.items) or self.key(self.items[index]) != self.key(item):
            return  # the list shifted under a filter; the next reload puts it right
        old = self.cells(self.items[index])
        new = self.cells(item)
        for (column, _, _), before, after in zip(self.column_specs, old, new, strict=True):
            if before != after:
                self.update_cell(self.key(item), column, after)
        self.items[index] = item

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self.loader is not None and not self.exhausted and self.near_end():
            self.run_worker(self.load_more_if_near_end(), group="paged-more")

    def watch_cursor_coordinate(self, old: Any, new: Any) -> None:
        super().watch_cursor_coordinate(old, new)
        if self.loader is not None and not self.exhausted and self.near_end():
            self.run_worker(self.load_more_if_near_end(), group="paged-more")
