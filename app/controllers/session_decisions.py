"""Officer decisions into the session file, beside the audit log (no Qt here).

The store is shared with the batch thread: ``set_decision`` and the batch's appends
serialise on the store's lock, and the batch holds it only for one append, so the GUI
thread waits at most one commit. A decision about a scan the batch has not stored yet
is kept here and written when the batch stores that scan (or lost with a warning if the
session closes first; the audit log has every decision either way).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from typing import Any

from engine.errors import SessionFileError
from engine.storage import SessionStore

log = logging.getLogger(__name__)


def path_key(path: str) -> str:
    """Paths compare absolute: the window and the batch may have listed the folder differently."""
    return os.path.abspath(path)


class SessionDecisions:
    """Writes audit-log records (dicts, as :class:`app.audit.Decision` holds them) into a store."""

    def __init__(self, on_error: Callable[[str, str], None]) -> None:
        self.on_error = on_error  # (scan path, reason)
        self.store: SessionStore | None = None
        self._pending: dict[str, dict[str, Any]] = {}
        self._rows: dict[str, int] = {}  # path key -> row in the session file

    def reset(self, store: SessionStore | None = None, rows: dict[str, int] | None = None) -> None:
        """A new session (or none): pending decisions of the old one are dropped."""
        if self._pending:
            log.warning("%d decisions not written to the session (their scans were never stored); "
                        "the audit log has them", len(self._pending))
        self.store, self._pending, self._rows = store, {}, dict(rows or {})

    def attach(self, store: SessionStore, rows: dict[str, int]) -> None:
        """The session's store is open: write the decisions made while it was opening."""
        self.store, self._rows = store, dict(rows)
        for key in list(self._pending):
            self.stored(key)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def record(self, data: dict[str, Any]) -> bool:
        """Write now if the scan is stored, else keep it until :meth:`stored`; True when written."""
        path = str(data.get("scan", ""))
        index = self._row(path, str(data.get("sha256") or "")) if self.store is not None else None
        if self.store is None or index is None:
            self._pending[path_key(path)] = data
            return False
        threshold = data.get("threshold")
        try:
            self.store.set_decision(index, str(data["decision"]), str(data.get("operator", "")),
                                    math.inf if threshold is None else float(threshold),
                                    float(data.get("seconds_to_decision") or 0.0), str(data.get("model", "")))
        except (SessionFileError, OSError, ValueError) as exc:
            self.on_error(path, f"{getattr(exc, 'reason', None) or exc} (the audit log has it)")
            return False
        return True

    def stored(self, path: str) -> None:
        """The batch stored ``path``: write the decision waiting for it, if any."""
        data = self._pending.pop(path_key(path), None)
        if data is not None:
            self.record(data)

    def _row(self, path: str, sha256: str) -> int | None:
        """By content hash, else by path (a scan whose on-screen result has no matching hash)."""
        assert self.store is not None
        index = self.store.find(sha256) if sha256 else None
        if index is not None:
            return index
        key = path_key(path)
        if key not in self._rows:
            self._rows = {path_key(p.decode("utf-8", "replace")): i
                          for i, p in enumerate(self.store.column("path"))}
        return self._rows.get(key)
