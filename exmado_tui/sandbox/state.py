"""Everything one running sandbox shares between requests."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from exmado_tui.sandbox.auth import AuthStore
from exmado_tui.sandbox.config import Faults, SandboxConfig
from exmado_tui.sandbox.data import Catalogue, Document
from exmado_tui.sandbox.limits import ErrorInjector, Throttle
from exmado_tui.sandbox.search import Query, Searcher
from exmado_tui.sandbox.stats import Stats


class ResultCache:
    """Recent result lists by query token, so paging does not re-run the search."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[str, int], list[Document]] = OrderedDict()

    def get(self, searcher: Searcher, query: Query) -> list[Document]:
        """The documents of a query, computed once per catalogue version."""
        key = (query.to_token(), searcher.catalogue.version)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        docs = searcher.run(query)
        with self._lock:
            self._items[key] = docs
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return docs


@dataclass
class State:
    """Configuration, data, auth and fault machinery of one sandbox."""

    config: SandboxConfig
    faults: Faults
    catalogue: Catalogue
    auth: AuthStore
    searcher: Searcher
    stats: Stats = field(default_factory=Stats)
    throttle: Throttle = field(default_factory=Throttle)
    errors: ErrorInjector = field(default_factory=lambda: ErrorInjector(0))
    results: ResultCache = field(default_factory=ResultCache)

    @classmethod
    def build(cls, config: SandboxConfig) -> State:
        """A fresh state with data generated from the config's seed."""
        faults = Faults(config.faults)
        catalogue = Catalogue(config.seed, config.documents, config.personnel_documents)
        return cls(
            config,
            faults,
            catalogue,
            AuthStore(dict(config.users), faults),
            Searcher(catalogue),
            errors=ErrorInjector(config.seed),
        )
