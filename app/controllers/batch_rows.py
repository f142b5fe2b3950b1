"""The batch session's rows in the results table, and its results standing in for the screening queue's.

Rows and queue items are matched by absolute path (:func:`path_key`): the window and the
batch may list a folder differently. A result the session holds for the model in use is
adopted by the screening queue (the scan is shown, not rescored); a result of another model
never is. :class:`~app.controllers.batch.BatchSessionController` owns one of these.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from .batch_session import ResultRow, SessionReady, merge_rows
from .items import SCORED
from .screening import ScreeningController
from .session_decisions import path_key


class ResultsTableLike(Protocol):
    def set_rows(self, rows: list[ResultRow]) -> None: ...
    def refresh(self, row: int | None = None) -> None: ...
    def set_threshold(self, threshold: float) -> None: ...
    def set_session(self, text: str) -> None: ...
    def progress(self, text: str, done: int, total: int) -> None: ...
    def idle(self, text: str) -> None: ...


class SessionRows:
    """Rows by path for the table; the session's results by path for the screening queue."""

    def __init__(self, table: ResultsTableLike, screening: ScreeningController) -> None:
        self.table, self.screening = table, screening
        self.rows: list[ResultRow] = []
        self.same_model = False  # the session's results are the model in use's: the queue may adopt them
        self.threshold = math.inf
        self._rows: dict[str, int] = {}  # abspath -> row
        self._results: dict[str, Any] = {}  # abspath -> ScanResult, for the screening view
        self._screen: dict[str, int] = {}  # abspath -> row of the screening queue
        self._screen_items: list[Any] | None = None

    def reset(self, rows: list[ResultRow]) -> None:
        if not rows:
            self._results = {}
            self.same_model = False
        self.rows = rows
        self._rows = {path_key(r.path): i for i, r in enumerate(rows)}
        self.table.set_rows(rows)
        self.table.set_threshold(self.threshold)

    def load(self, ev: SessionReady) -> None:
        """A session opened: the table shows what it holds, in the folder's listing order."""
        self.reset(merge_rows(ev.records, ev.stored, ev.decisions))
        self.same_model = ev.same_model

    def share(self, ev: SessionReady) -> None:
        """The opened session's results and decisions for the screening queue (never scored again)."""
        self._results = {path_key(s.path): s.to_result() for s in ev.stored if s.ok}
        for s in ev.stored:
            self.adopt(s.path, refresh=False)
        for row in self.rows:
            i = self.screen_row(row.path) if row.decision else None
            if i is not None:
                self.screening.items[i].decision = row.decision
        self.screening.list.refresh()
        self.screening.set_threshold(self.screening.threshold)  # re-count the flagged scans

    def get(self, path: str) -> ResultRow | None:
        i = self._rows.get(path_key(path))
        return None if i is None else self.rows[i]

    def scored(self, path: str, result: Any) -> None:
        self._results[path_key(path)] = result
        self.update(path, lambda row: row.set_scores(result.score, result.scores))

    def update(self, path: str, change: Callable[[ResultRow], None]) -> None:
        """Change the row of ``path`` (added at the end when the listing lacked it) and repaint it."""
        i = self._rows.get(path_key(path))
        if i is None:
            i = len(self.rows)
            self.rows.append(ResultRow(path, Path(path).stem))
            self._rows[path_key(path)] = i
            self.table.set_rows(self.rows)
        change(self.rows[i])
        self.table.refresh(i)

    def set_decision(self, path: str, decision: str) -> None:
        i = self._rows.get(path_key(path))
        if i is not None:
            self.rows[i].decision = decision
            self.table.refresh(i)

    def set_threshold(self, threshold: float) -> None:
        self.threshold = threshold
        self.table.set_threshold(threshold)

    def screen_row(self, path: str) -> int | None:
        """Row of ``path`` in the screening queue; the map is rebuilt when the queue is another list."""
        items = self.screening.items
        if self._screen_items is not items:
            self._screen = {path_key(it.path): k for k, it in enumerate(items)}
            self._screen_items = items
        return self._screen.get(path_key(path))

    def adopt(self, path: str, refresh: bool = True) -> None:
        """The session's result of the model in use stands for the screening queue's (no rescoring)."""
        result = self._results.get(path_key(path))
        if not self.same_model or result is None:
            return
        i = self.screen_row(path)
        if i is None or self.screening.items[i].result is not None:
            return
        if refresh:
            self.screening.take_result(i, result)
        else:
            item = self.screening.items[i]
            item.result, item.state, item.error = result, SCORED, ""

    def failed(self, path: str, reason: str) -> None:
        """The batch could not score ``path``: the queue, which may be waiting for it, says so too."""
        self.update(path, lambda row: row.set_failed(reason))
        i = self.screen_row(path) if self.same_model else None
        if i is not None:
            self.screening.take_failure(i, reason)
