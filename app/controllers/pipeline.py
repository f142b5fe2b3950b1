"""One scoring pipeline per folder: the batch and the screening queue never score the same scan.

The batch thread scores the folder into its session, and the screening queue takes those results
(:meth:`SessionRows.adopt`). The window scores a scan itself only when the officer reaches it
before the batch does, or to fill a gap the batch will not score (the prefetcher). Before it
scores the scan on screen it claims it, so the batch leaves that scan
(``engine.batch.run_batch(claim=...)``), and its result goes into the session as the batch's
would. No Qt here: the claims are shared with the batch thread.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from engine.data.types import ScanRecord
from engine.dense_map import PackedMap
from engine.errors import SessionFileError
from engine.storage import ScanEntry, SessionStore

from .session_decisions import path_key

log = logging.getLogger(__name__)

BATCH, WINDOW = "batch", "window"


class ScoreClaims:
    """Who scores each scan of one batch run: the first to claim it (the batch or the window)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: dict[str, str] = {}
        self._left: set[str] = set()  # the batch came to these while the window held them

    def take(self, path: str, who: str) -> bool:
        """Claim ``path`` for ``who``; False when the other one has it."""
        key = path_key(path)
        with self._lock:
            owner = self._owner.setdefault(key, who)
            if owner != who and who == BATCH:
                self._left.add(key)
            return owner == who

    def release(self, path: str, who: str) -> None:
        """``who`` gave up ``path`` without a result (cancelled, or the file failed)."""
        key = path_key(path)
        with self._lock:
            if self._owner.get(key) == who:
                del self._owner[key]

    def batch_will_score(self, path: str) -> bool:
        """The batch scores ``path`` now, or will: it holds it, or nobody does and it has not passed it."""
        key = path_key(path)
        with self._lock:
            owner = self._owner.get(key)
            return owner == BATCH or (owner is None and key not in self._left)

    def owner(self, path: str) -> str | None:
        with self._lock:
            return self._owner.get(path_key(path))


def packed_map(result: Any) -> PackedMap | None:
    """What the session stores of the result's threat map: the live map packed, or the stored one as it is."""
    live = getattr(result, "threat_map", None)
    return PackedMap.of(live) if live is not None else getattr(result, "packed_map", None)


def entry_of(record: ScanRecord, result: Any) -> ScanEntry:
    """The session row for a scan the window scored (what ``run_batch`` would have stored)."""
    try:
        size = os.stat(record.path).st_size
    except OSError:
        size = 0
    return ScanEntry(path=record.path, sha256=result.sha256, size=size, width=result.width,
                     height=result.height, score=float(result.score), boxes=result.boxes, scores=result.scores,
                     t_score=float(result.seconds), label=record.label, categories=record.categories,
                     gt_boxes=record.boxes, packed_map=packed_map(result))


class WindowResults:
    """Results the window scored, written into the session; kept until its store is open."""

    def __init__(self, on_error: Callable[[str, str], None]) -> None:
        self.on_error = on_error
        self._waiting: dict[str, tuple[ScanRecord, Any]] = {}
        self.written = 0  # into this session

    def reset(self) -> None:
        self._waiting.clear()
        self.written = 0

    def add(self, store: SessionStore | None, record: ScanRecord, result: Any) -> bool:
        """Store now, or when :meth:`flush` gets the store; True when written now."""
        if store is None:
            self._waiting[path_key(record.path)] = (record, result)
            return False
        return self._write(store, record, result)

    def flush(self, store: SessionStore) -> list[tuple[str, Any]]:
        """Write what waited for the store; (path, result) of those written."""
        waiting, self._waiting = self._waiting, {}
        return [(rec.path, res) for rec, res in waiting.values() if self._write(store, rec, res)]

    def _write(self, store: SessionStore, record: ScanRecord, result: Any) -> bool:
        if result.sha256 and store.find(result.sha256) is not None:
            return False  # stored already (an earlier run, or the batch got there first)
        try:
            store.append(entry_of(record, result))
            self.written += 1
        except (SessionFileError, OSError) as exc:
            self.on_error(record.path, f"{getattr(exc, 'reason', None) or exc} (the window still shows it)")
            return False
        log.debug("stored the window's result for %s in %s", record.path, store.path)
        return True
