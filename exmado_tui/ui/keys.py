"""The keys on offer, in the three places the dashboard shows them: `KeyFooter`, the footer,
holding as many of the screen's keys as the terminal's width allows, the least needed ones left
out first; `ActionCommands`, the command palette (ctrl+p) offering every key binding of the
current screen and the app; and `HelpScreen` (`?`), every key of every screen, read from the
screens' own bindings."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import partial
from typing import Any

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.widgets._footer import FooterKey

from exmado_tui.ui.logic.jobs import FILTERS

Shown = tuple[Binding, bool, str]  # binding, enabled, tooltip
PALETTE_WIDTH = 12  # "^p palette" with its border
PALETTE_FROM = 90  # columns: below, the ^p hint makes room for keys (help names Ctrl+P)


# -- the footer -------------------------------------------------------------------------------


def kept_in_width(keys: list[tuple[Shown, str]], ranks: Iterable[str], width: int) -> list[Shown]:
    """`keys` (each with its label as shown) in their order, less the least needed actions
    until they fit: `ranks` names actions most needed first; an unranked one is needed least,
    the later in the order the less."""
    order = {action: n for n, action in enumerate(ranks)}
    kept = list(keys)
    by_need = sorted(kept, key=lambda key: order.get(key[0][0].action, len(order)))
    while by_need and sum(len(label) for _, label in kept) > width:
        kept.remove(by_need.pop())
    return [shown for shown, _ in kept]


class KeyFooter(Footer):
    """The screen's shown keys in binding order, as many as fit: `?` and `q`, then the screen's
    `FOOTER_RANKS` (actions, most needed first) say which stay when not all do."""

    DEFAULT_CSS = """
    KeyFooter.-compact { padding-left: 1; }
    """
    _width = 0

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        for binding, enabled, tooltip in self._keys():
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                disabled=not enabled,
                tooltip=tooltip,
            ).data_bind(compact=Footer.compact)
        yield from self._palette_key()

    def _keys(self) -> list[Shown]:
        """The keys that fit; spaced as usual when all do, closer when that lets more in."""
        seen: dict[str, Shown] = {}
        for _, binding, enabled, tooltip in self.screen.active_bindings.values():
            if binding.show and binding.action not in seen:
                seen[binding.action] = (binding, enabled, tooltip)
        width = self.outer_size.width - (PALETTE_WIDTH if self.show_command_palette else 0)
        ranks = ("help", "quit", *getattr(self.screen, "FOOTER_RANKS", ()))
        for compact in (False, True):
            labelled = [(shown, self._label(shown[0], compact)) for shown in seen.values()]
            # Compact: the padding on the left takes what the last key's margin gives back.
            kept = kept_in_width(labelled, ranks, width) if width > 0 else []
            if len(kept) == len(seen) or compact:
                break
        self.set_reactive(Footer.compact, compact)
        self.set_class(compact, "-compact")
        return kept

    def _label(self, binding: Binding, compact: bool) -> str:
        """What one key takes: the key, its description and the spaces around them."""
        spaces = 2 if compact else 3
        return f"{self.app.get_key_display(binding)}{binding.description}" + " " * spaces

    def _palette_key(self) -> ComposeResult:
        if not (self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE):
            return
        found = self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        if found is not None:
            _, binding, enabled, tooltip = found
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                classes="-command-palette",
                disabled=not enabled,
                tooltip=binding.tooltip or binding.description,
            )

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._width:
            self._width = event.size.width
            self.show_command_palette = self._width >= PALETTE_FROM
            self.call_after_refresh(self.recompose)


# -- the command palette ----------------------------------------------------------------------


class ActionCommands(Provider):
    """Offers each action that has a key and a description, with its key as help."""

    def _commands(self) -> Iterator[tuple[str, str, Screen[Any] | App[Any], str]]:
        seen: set[str] = set()
        # What the screen and the app offer now (`active_bindings` has asked `check_action`).
        for key, (node, binding, *_) in self.screen.active_bindings.items():
            owner = self.screen if node is self.screen else self.app if node is self.app else None
            if owner is None or not binding.description:
                continue
            if binding.action not in seen:
                seen.add(binding.action)
                yield binding.description, binding.key_display or key, owner, binding.action

    async def discover(self) -> Hits:
        for title, key, node, action in self._commands():
            yield DiscoveryHit(title, partial(node.run_action, action), help=f"key: {key}")

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, key, node, action in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(title),
                    partial(node.run_action, action),
                    help=f"key: {key}",
                )


# -- the help screen --------------------------------------------------------------------------

INTRO = (
    "Éxmado exports DocuWare documents listed in Excel workbooks. Ctrl+P opens the command "
    "palette with every action of the screen you are on. The mouse works too."
)


def screens_with_keys() -> list[tuple[str, type]]:
    # imported when asked: each of them shows this module's footer
    from exmado_tui.ui.app import ExmadoApp
    from exmado_tui.ui.modals import ConfirmModal, DeleteJobModal
    from exmado_tui.ui.screens.detail import JobDetailScreen
    from exmado_tui.ui.screens.dropfolder import DropFolderScreen
    from exmado_tui.ui.screens.jobs import JobsScreen
    from exmado_tui.ui.screens.new_job import NewJobScreen
    from exmado_tui.ui.screens.search_job import SearchJobScreen
    from exmado_tui.ui.screens.workers import WorkersScreen

    return [
        ("Everywhere", ExmadoApp),
        ("Jobs list", JobsScreen),
        ("Job detail", JobDetailScreen),
        ("New job", NewJobScreen),
        ("New job from a search", SearchJobScreen),
        ("Workers", WorkersScreen),
        ("Drop folder", DropFolderScreen),
        ("Confirmation", ConfirmModal),
        ("Delete job", DeleteJobModal),
    ]


def key_table(title: str, cls: type[DOMNode]) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", box=None, padding=(0, 2))
    table.add_column("key", style="bold cyan", min_width=10)
    table.add_column("does")
    seen: set[str] = set()
    for binding in Binding.make_bindings(cls.BINDINGS):
        # "app.…" keys are the app's own, listed once under "Everywhere"
        if binding.description and binding.action not in seen and "app." not in binding.action:
            seen.add(binding.action)
            keys = [
                b.key_display or b.key
                for b in Binding.make_bindings(cls.BINDINGS)
                if b.action == binding.action
            ]
            table.add_row(" ".join(dict.fromkeys(_pretty(k) for k in keys)), binding.description)
    return table


def _pretty(key: str) -> str:
    return {
        "question_mark": "?",
        "slash": "/",
        "space": "space",
        "escape": "esc",
        "right_square_bracket": "]",
        "left_square_bracket": "[",
    }.get(key, key)


class Unbroken:
    """Phrases on as few lines as fit, two spaces apart, none broken across two: wrapped at
    any space, "7 Errors" ended one line with its key and began the next with its label."""

    def __init__(self, phrases: list[str]) -> None:
        self.phrases = phrases

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines = [""]
        for phrase in self.phrases:
            joined = f"{lines[-1]}  {phrase}" if lines[-1] else phrase
            fits = cell_len(joined) <= options.max_width or not lines[-1]
            lines[-1:] = [joined] if fits else [lines[-1], phrase]
        yield Text("\n".join(lines))


class HelpScreen(Screen[None]):
    """Escape, q or ? closes it. The introduction scrolls away with the keys: held above
    them, it took seven of 24 lines from the key list."""

    BINDINGS = [Binding("escape,q,question_mark,f1", "close", "Close")]

    def compose(self) -> ComposeResult:
        filters = [f"{f.key} {f.label}" for f in FILTERS]
        filters[0] = f"Status filters: {filters[0]}"
        self.tables = [key_table(title, cls) for title, cls in screens_with_keys()]
        with VerticalScroll(id="help-keys"):
            yield Static(Text(INTRO))
            yield Static(Unbroken(filters))
            for table in self.tables:
                yield Static(table)
        yield KeyFooter()

    def action_close(self) -> None:
        self.dismiss(None)
