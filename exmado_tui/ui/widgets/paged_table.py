"""`PagedTable`: a table over a long, store-backed list (100,000 rows of a job), drawn a line
at a time.

It knows how many rows there are and keeps only a few pages of them: the ones on screen and
those either side, read ahead as the cursor or the scroll nears them. A key is answered at once
however long the list (a DataTable that had rows appended page after page took 275 ms for a
PageDown); a line whose page is still being read shows `…` until it arrives. Each refresh reads
the count and the pages on screen again, so a running job's rows change colour in place.

A store out of reach while it reads (SQLite locked, PostgreSQL restarting) keeps what is shown:
the next refresh reads again, and the screen hears of it through `PagedTable.StoreTrouble` once
when it starts and once when it ends.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from exmado_tui.errors import StoreUnavailableError

T = TypeVar("T")
X = TypeVar("X")
Loader = Callable[[int, int], Awaitable[list[T]]]  # (offset, limit) → items
Counter = Callable[[], Awaitable[int]]  # how many items the loader can give
Cell = str | Text
AHEAD = 40  # rows: a page this close to the screen is read before it is scrolled to
KEEP_PAGES = 8
PADDING = 1  # blank cells either side of a column, as DataTable draws them
PENDING = Text("…", style="dim")
MAX_LINES = 400  # drawn lines kept
LOOKS = {
    "header": "paged-table--header",
    "cursor": "paged-table--cursor",
    "even": "paged-table--even-row",
}


class PagedTable(ScrollView, Generic[T], can_focus=True):
    """Give it columns, a cell maker and a key maker; call `reload(loader, counter)`.

    A column's width may be None for the last one: it takes the width left.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,ctrl+home", "first", "First row", show=False),
        Binding("end,ctrl+end", "last", "Last row", show=False),
        Binding("enter", "select", "Open row", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "paged-table--header",
        "paged-table--cursor",
        "paged-table--even-row",
    }

    DEFAULT_CSS = """
    PagedTable {
        height: 1fr;
        background: $surface;
        color: $foreground;
        & > .paged-table--header { text-style: bold; background: $panel; color: $foreground; }
        & > .paged-table--even-row { background: $surface-lighten-1 50%; }
        & > .paged-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .paged-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        &:dark > .paged-table--even-row { background: $surface-darken-1 40%; }
    }
    """

    cursor_row: reactive[int] = reactive(0)
    """The index of the row under the cursor."""

    class RowSelected(Message):
        """Enter (or a click on the cursor's row) on a row that has been read."""

        def __init__(self, table: PagedTable[Any], index: int, item: Any) -> None:
            super().__init__()
            self.table = table
            self.index = index
            self.item = item

        @property
        def control(self) -> PagedTable[Any]:
            return self.table

    class StoreTrouble(Message):
        """The store stopped answering this table's reads (`error`), or answers again (None)."""

        def __init__(self, table: PagedTable[Any], error: StoreUnavailableError | None) -> None:
            super().__init__()
            self.table = table
            self.error = error

        @property
        def control(self) -> PagedTable[Any]:
            return self.table

    def __init__(
        self,
        columns: Sequence[tuple[str, str, int | None]],
        cells: Callable[[T], tuple[Cell, ...]],
        key: Callable[[T], str],
        page_size: int = 200,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.column_specs = columns
        self.cells = cells
        self.key = key
        self.page_size = page_size
        self.loader: Loader[T] | None = None
        self.counter: Counter | None = None
        self.row_count = 0
        """How many rows the counter last said there are."""
        self.trouble: StoreUnavailableError | None = None
        """Why the last read failed, while the store is out of reach."""
        self._pages: OrderedDict[int, list[T]] = OrderedDict()
        self._reading: set[int] = set()
        self._generation = 0  # a reload makes reads begun before it stale
        self._refreshing = False
        self._styles: dict[str, Style] = {}
        self._lines: dict[tuple[object, ...], Strip] = {}

    # -- what it holds ---------------------------------------------------------------------

    def item_at(self, index: int) -> T | None:
        """The row at `index` if its page has been read."""
        page = self._pages.get(index // self.page_size)
        offset = index % self.page_size
        return page[offset] if page is not None and offset < len(page) else None

    @property
    def current(self) -> T | None:
        return self.item_at(self.cursor_row) if self.row_count else None

    @property
    def visible_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)  # the header takes a line

    # -- reading ---------------------------------------------------------------------------

    async def reload(self, loader: Loader[T] | None = None, counter: Counter | None = None) -> None:
        """Start again from the top (a new filter, say); reads begun before are dropped."""
        self.loader = loader or self.loader
        self.counter = counter or self.counter
        self._generation += 1
        self._pages.clear()
        self._lines.clear()
        self._reading = set()
        self._set_row_count(0)
        self.cursor_row = 0
        self.scroll_to(y=0, animate=False)
        await self._read_screen()

    async def refresh_visible(self) -> None:
        """Count again and read the pages on screen again; rewrite what changed (skipped while
        the last refresh is still reading)."""
        if self._refreshing:
            return
        self._refreshing = True
        try:
            await self._read_screen()
        finally:
            self._refreshing = False

    async def _read_screen(self) -> None:
        if self.loader is None or self.counter is None:
            return
        generation = self._generation
        total = await self._read(self.counter)
        if total is None or generation != self._generation:
            return
        self._set_row_count(total)
        for page in self._pages_near(0):
            items = await self._read_page(page)
            if items is None or generation != self._generation:
                return
            self._store(page, items)
        self.refresh()
        self._read_ahead()

    def _pages_near(self, ahead: int) -> range:
        """The pages with rows on screen, or within `ahead` rows of it."""
        if not self.row_count:
            return range(0)
        top = max(0, int(self.scroll_y) - ahead)
        bottom = min(self.row_count - 1, int(self.scroll_y) + self.visible_rows + ahead)
        return range(top // self.page_size, bottom // self.page_size + 1)

    def _read_ahead(self) -> None:
        for page in self._pages_near(AHEAD):
            if page not in self._pages and page not in self._reading:
                self._reading.add(page)
                self.run_worker(self._fetch(page, self._generation, self._reading))

    async def _fetch(self, page: int, generation: int, reading: set[int]) -> None:
        try:
            items = await self._read_page(page)
        finally:
            reading.discard(page)
        if items is not None and generation == self._generation:
            self._store(page, items)
            self.refresh()

    async def _read_page(self, page: int) -> list[T] | None:
        loader = self.loader
        assert loader is not None
        return await self._read(lambda: loader(page * self.page_size, self.page_size))

    def _store(self, page: int, items: list[T]) -> None:
        """Keep the page; forget the least recently read pages away from the screen."""
        old = self._pages.get(page)
        if old is not None and [self.key(i) for i in old] != [self.key(i) for i in items]:
            self._pages.clear()  # the list shifted under a filter: other pages are stale too
        self._pages[page] = items
        self._pages.move_to_end(page)
        self._lines.clear()
        near = self._pages_near(AHEAD)
        while len(self._pages) > KEEP_PAGES:
            far = next((p for p in self._pages if p not in near), None)
            if far is None:
                break
            del self._pages[far]

    async def _read(self, read: Callable[[], Awaitable[X]]) -> X | None:
        """What `read` gives, or None when the store is out of reach (said once)."""
        try:
            value = await read()
        except StoreUnavailableError as exc:
            if self.trouble is None:
                self.post_message(self.StoreTrouble(self, exc))
            self.trouble = exc
            return None
        if self.trouble is not None:
            self.trouble = None
            self.post_message(self.StoreTrouble(self, None))
        return value

    def _set_row_count(self, total: int) -> None:
        if total != self.row_count:
            self.row_count = total
            self._resize_virtual()
            self.cursor_row = self.cursor_row  # clamped to the new count

    # -- the cursor --------------------------------------------------------------------------

    def validate_cursor_row(self, row: int) -> int:
        return max(0, min(row, self.row_count - 1))

    def watch_cursor_row(self) -> None:
        top, rows = int(self.scroll_y), self.visible_rows
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= top + rows:
            self.scroll_to(y=self.cursor_row - rows + 1, animate=False)
        self.refresh()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._read_ahead()

    def action_cursor_up(self) -> None:
        self.cursor_row -= 1

    def action_cursor_down(self) -> None:
        self.cursor_row += 1

    def action_page_down(self) -> None:
        """A screen further, the cursor staying where it is on the screen."""
        self.scroll_to(y=self.scroll_y + self.visible_rows, animate=False)
        self.cursor_row += self.visible_rows

    def action_page_up(self) -> None:
        self.scroll_to(y=self.scroll_y - self.visible_rows, animate=False)
        self.cursor_row -= self.visible_rows

    def action_first(self) -> None:
        self.cursor_row = 0

    def action_last(self) -> None:
        self.cursor_row = self.row_count - 1

    def action_select(self) -> None:
        item = self.current
        if item is not None:
            self.post_message(self.RowSelected(self, self.cursor_row, item))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        index = int(self.scroll_y) + offset.y - 1
        if index == self.cursor_row:
            self.action_select()
        elif index < self.row_count:
            self.cursor_row = index

    # -- drawing ------------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._lines.clear()

    def on_resize(self) -> None:
        self._lines.clear()
        self._resize_virtual()

    def _resize_virtual(self) -> None:
        self.virtual_size = Size(sum(w + 2 * PADDING for w in self._widths()), self.row_count + 1)

    def _widths(self) -> list[int]:
        """Each column's width; a width of None takes what is left beside the scrollbar."""
        used = sum(w or 0 for _, _, w in self.column_specs) + 2 * PADDING * len(self.column_specs)
        room = self.size.width - self.styles.scrollbar_size_vertical - used
        return [w if w is not None else max(len(label), room) for _, label, w in self.column_specs]

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = int(self.scroll_y) + y - 1
        if y == 0:
            strip = self._line(("header",), [Text(label) for _, label, _ in self.column_specs])
        elif index < self.row_count:
            item = self.item_at(index)
            look = "cursor" if index == self.cursor_row else "even" if index % 2 else "odd"
            if item is None:
                strip = self._line((look,), [PENDING] * len(self.column_specs))
            else:
                strip = self._line((look, index), self.cells(item))
        else:
            return Strip.blank(width, self._style("odd"))
        return strip.crop_extend(int(self.scroll_x), int(self.scroll_x) + width, self._style("odd"))

    def _line(self, key: tuple[object, ...], cells: Sequence[Cell]) -> Strip:
        """The whole line of these cells, drawn once until a page is read or the look changes."""
        strip = self._lines.get(key)
        if strip is None:
            if len(self._lines) > MAX_LINES:
                self._lines.clear()
            strip = self._lines[key] = self._strip(cells, self._style(str(key[0])))
        return strip

    def _style(self, look: str) -> Style:
        """The row's style for a look (header, cursor, even, odd), read once per style change."""
        style = self._styles.get(look)
        if style is None:
            base = self.rich_style
            part = LOOKS.get(look)
            style = base + self.get_component_rich_style(part) if part else base
            self._styles[look] = style
        return style

    def _strip(self, cells: Sequence[Cell], style: Style) -> Strip:
        line = Text()
        for cell, width in zip(cells, self._widths(), strict=True):
            line.append(" " * PADDING)
            line.append_text(_fit(cell, width))
            line.append(" " * PADDING)
        segments: Iterator[Segment] = iter(line.render(self.app.console))
        return Strip(Segment.apply_style(segments, style))


def _fit(cell: Cell, width: int) -> Text:
    """The cell on one line of exactly `width` cells, cut with … when longer."""
    text = cell.copy() if isinstance(cell, Text) else Text(cell)
    if "\n" in text.plain:
        text = Text(" ").join(text.split("\n"))
    text.truncate(width, overflow="ellipsis")
    text.align(text.justify if text.justify in ("left", "center", "right") else "left", width)
    return text
