"""A small in-process cache of rendered overview tables, each kept with the freshness token it was built at.

Each web worker (gunicorn process) has its own. None of them can serve a stale table: a lookup carries the
current freshness token (read from the database on every request) and misses when the stored one differs, so a
report committed through any worker makes every worker rebuild on its next request. Whole pages are never
cached (they carry the session's CSRF token and the user's menu), only the tables inside them.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from threading import Lock
from typing import Generic, TypeVar

from flask import current_app

T = TypeVar("T")
DEFAULT_SIZE = 128  # national + 21 counties × 2 languages fit several times; a national table is ~80 kB


class FragmentCache(Generic[T]):
    """Least recently used, bounded: at most ``size`` keys, each with one value and the token it was built at.

    A new token for a key replaces the old value instead of adding an entry, so outdated fragments do not
    pile up until evicted.
    """

    def __init__(self, size: int = DEFAULT_SIZE):
        self.size = size
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[Hashable, tuple[Hashable, T]] = OrderedDict()
        self._lock = Lock()  # threaded servers share one cache between threads

    def get(self, key: Hashable, token: Hashable, build: Callable[[], T]) -> T:
        """The value stored for ``key`` if it was built at ``token``; otherwise ``build()``, stored and returned."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == token:
                self._entries.move_to_end(key)
                self.hits += 1
                return entry[1]
        value = build()  # outside the lock: building reads the database and renders
        with self._lock:
            self.misses += 1
            self._entries[key] = (token, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)


def enabled() -> bool:
    """``NEED_OVERVIEW_CACHE`` in the config; on by default except in debug and testing.

    Tests run each case in a transaction that is rolled back, so two tests can reach equal freshness tokens
    over different data (ids are reused after a rollback on SQLite); tests of the cache switch it on and clear
    it themselves. In debug, edited templates should show at once.
    """
    app = current_app
    return bool(app.config.get("NEED_OVERVIEW_CACHE", not (app.testing or app.debug)))


def fragments() -> FragmentCache:
    """This worker's cache of overview tables (one per application)."""
    cache = current_app.extensions.get("need_overview_fragments")
    if cache is None:
        cache = current_app.extensions.setdefault(
            "need_overview_fragments", FragmentCache(current_app.config.get("NEED_OVERVIEW_CACHE_SIZE", DEFAULT_SIZE))
        )
    return cache
