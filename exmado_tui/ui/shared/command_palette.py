"""The command palette (ctrl+p): every key binding of the current screen and the app."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

from textual.app import App
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import Screen


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
