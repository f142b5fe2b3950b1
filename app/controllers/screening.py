"""The screening queue: which scan is on screen, its scoring, caches, prefetch and stale answers.

Every navigation bumps a generation number and asks the worker for that scan.
An answer is shown only when it is about the scan on screen and the model in
use; anything else is a stale answer and is dropped from the display (results
of the current model are still cached, so going back is instant). Results are
kept per scan, so moving the threshold re-flags every row from stored scores.
The next scans in list order are scored ahead while the officer looks, unless a
batch session scores them (a :class:`ScoreGate`): then the queue takes the batch's
results and scores only the scan on screen the batch has not reached, and gaps.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from engine.data.types import ScanRecord

from ..workers import Job, ScoringWorker
from .items import CANCELLED, FAILED, PENDING, SCORED, SCORING, LruCache, ScanItem
from .ports import Interceptor, ScanListLike, ScanViewLike, ScoreGate, StatusLike

__all__ = ["PREFETCH_AHEAD", "ScanListLike", "ScanViewLike", "ScoreGate", "ScreeningController", "StatusLike"]

log = logging.getLogger(__name__)

PREFETCH_AHEAD = 2


class ScreeningController(QObject):
    current_changed = Signal(object)  # ScanItem or None
    image_shown = Signal(str)
    result_shown = Signal(str)
    scan_failed = Signal(str, str)  # path, reason (the current scan only)
    counts_changed = Signal(int, int, int)  # flagged, scored, total
    scored_here = Signal(str, object)  # path, result: scored by this queue's worker (not the batch)

    def __init__(self, worker: ScoringWorker, view: ScanViewLike, scan_list: ScanListLike,
                 status: StatusLike, image_cache: int = 6) -> None:
        super().__init__()
        self.worker, self.view, self.list, self.status = worker, view, scan_list, status
        self.items: list[ScanItem] = []
        self._rows: dict[str, int] = {}
        self.current = -1
        self.gen = 0
        self.model_gen = 0
        self.has_model = False
        self.threshold = math.inf
        self.images = LruCache(image_cache)
        self.shown_at = 0.0  # monotonic time the current scan's image appeared
        self._image_on_screen = False
        self._result_on_screen = False
        self.stale_dropped = 0
        self._failed_gen = -1
        self.gate: ScoreGate | None = None  # a batch session scoring the same scans, when there is one
        self._force = ""  # Rescore: this scan is scored here whoever else holds it
        self.interceptor: Interceptor | None = None  # TIP training: shows some bags itself
        self._intercepted = False  # the bag on screen is the interceptor's: the real one's answers stay off
        worker.image_ready.connect(self._on_image)
        worker.scored.connect(self._on_scored)
        worker.failed.connect(self._on_failed)
        worker.progress.connect(self._on_progress)
        worker.cancelled.connect(self._on_cancelled)

    # -- state changes from the window ------------------------------------------------------
    def set_records(self, records: list[ScanRecord]) -> None:
        self.worker.cancel()
        self.worker.forget()
        self.items = [ScanItem(r) for r in records]
        self._rows = {it.path: i for i, it in enumerate(self.items)}
        self.images.clear()
        self.current = -1
        self.list.set_items(self.items)
        self._emit_counts()
        rows = self.list.visible_rows()
        if rows:
            self.go(rows[0])
        else:
            self.view.clear("No scans")
            self.current_changed.emit(None)

    def set_backend(self, backend: Any | None) -> None:
        """A new model: results of the old one no longer mean anything."""
        self.model_gen += 1
        self.has_model = backend is not None
        self.worker.set_backend(backend, self.model_gen)
        for it in self.items:
            it.result, it.state, it.error = None, PENDING, ""
        self.list.refresh()
        self._emit_counts()
        if self.current >= 0:
            self.go(self.current)

    def set_threshold(self, threshold: float) -> None:
        """Re-flag every stored result; nothing is rescored."""
        self.threshold = float(threshold)
        self.list.set_threshold(self.threshold)
        if self._result_on_screen:
            self.view.set_threshold(self.threshold)
        self._emit_counts()

    @property
    def current_item(self) -> ScanItem | None:
        return self.items[self.current] if 0 <= self.current < len(self.items) else None

    # -- navigation ---------------------------------------------------------------------------
    def go(self, row: int) -> None:
        if not 0 <= row < len(self.items):
            return
        self.gen += 1
        self.current = row
        item = self.items[row]
        self._image_on_screen = self._result_on_screen = False
        self.list.select_row(row)
        self.view.set_ground_truth(item.record.boxes)
        self._intercepted = self.interceptor is not None and self.interceptor.take_over(item, self.gen)
        if self._intercepted:
            self.current_changed.emit(item)  # a TIP bag: shown by the interceptor, never by the queue
            self._prefetch()
            return
        self.current_changed.emit(item)
        if item.state == FAILED:  # known bad: say so again, do not re-read (Rescore retries)
            self.view.clear(f"Cannot read this scan:\n{item.error}")
            self._report_failure(item)
            self._prefetch()
            return
        image = self.images.get(item.path)
        if image is not None:
            self._show_image(item.path, image)
        else:
            self.view.clear("Loading…")
        if item.result is not None:
            self._show_result(item)
            self.status.idle(f"{item.name}: score from cache (scored in {item.result.seconds:.2f} s)")
        need_score = self.has_model and item.result is None
        gate = self.gate if self._force != item.path else None
        if need_score and gate is not None and not gate.may_score(item.path):
            need_score = False  # the batch is scoring it: its result is adopted when stored
            item.state = SCORING
            self.list.refresh(row)
            self.status.progress(f"{item.name}: being scored by the batch…", 0, 0)
        if need_score or image is None:
            if need_score:
                item.state = SCORING
                self.list.refresh(row)
                self.status.progress(f"Scoring {item.name}…", 0, 0)
            self.worker.request(Job(item.path, self.gen, score=need_score))
        self._prefetch()

    def step(self, delta: int) -> None:
        rows = self.list.visible_rows()
        if not rows:
            return
        if self.current in rows:
            i = rows.index(self.current) + delta
        else:
            i = 0 if delta > 0 else len(rows) - 1
        if 0 <= i < len(rows):
            self.go(rows[i])

    def next(self) -> None:
        self.step(+1)

    def previous(self) -> None:
        self.step(-1)

    def cancel(self) -> None:
        self.worker.cancel()

    def rescore(self) -> None:
        item = self.current_item
        if item is not None:
            item.result, item.state, item.error = None, PENDING, ""
            self.worker.forget(item.path)
            self._force = item.path
            self.go(self.current)

    def _prefetch(self) -> None:
        if not self.has_model:
            return
        rows = self.list.visible_rows()
        if self.current not in rows:
            return
        i = rows.index(self.current)
        for row in rows[i + 1 : i + 1 + PREFETCH_AHEAD]:
            item = self.items[row]
            if item.result is None and item.state not in (FAILED,) \
                    and (self.gate is None or not self.gate.covers(item.path)):  # only the gaps
                self.worker.prefetch(Job(item.path, self.gen))

    # -- worker answers -----------------------------------------------------------------------
    def _is_current(self, path: str) -> bool:
        item = self.current_item
        return item is not None and item.path == path

    @Slot(int, str, object, object, bool)
    def _on_image(self, gen: int, path: str, image: np.ndarray, meta: Any, prefetch: bool) -> None:
        if path not in self._rows:
            return
        self.images.put(path, image)
        if self._is_current(path) and (gen == self.gen or not self._image_on_screen):
            self._show_image(path, image)

    @Slot(int, int, str, object, bool)
    def _on_scored(self, gen: int, model_gen: int, path: str, result: Any, prefetch: bool) -> None:
        row = self._rows.get(path)
        if row is None or model_gen != self.model_gen:
            self.stale_dropped += 1
            log.debug("dropped a result of an old model or list: %s", path)
            return
        item = self.items[row]
        item.result, item.state, item.error = result, SCORED, ""
        self.list.refresh(row)
        self._emit_counts()
        self.scored_here.emit(path, result)
        if self._is_current(path):
            if gen == self.gen or not self._result_on_screen:
                self._show_result(item)
            self.status.idle(f"{item.name}: scored {len(result.scores)} patches in {result.seconds:.2f} s")
            self._prefetch()
        else:
            if not prefetch:
                self.stale_dropped += 1
                log.debug("stale result for %s (gen %d, now %d): cached, not shown", path, gen, self.gen)

    @Slot(int, str, str, bool)
    def _on_failed(self, gen: int, path: str, reason: str, prefetch: bool) -> None:
        row = self._rows.get(path)
        if row is None:
            return
        if self.gate is not None:
            self.gate.release(path)
        self.take_failure(row, reason)

    @Slot(int, str, int, int)
    def _on_progress(self, gen: int, path: str, done: int, total: int) -> None:
        if self._is_current(path) and not self._result_on_screen:
            name = self.items[self.current].name
            self.status.progress(f"Scoring {name}: {done}/{total} patches", done, total)

    @Slot(int, str)
    def _on_cancelled(self, gen: int, path: str) -> None:
        if self.gate is not None:
            self.gate.release(path)
        row = self._rows.get(path)
        if row is not None and self.items[row].state == SCORING:
            self.items[row].state = CANCELLED
            self.list.refresh(row)
        if self._is_current(path) and gen == self.gen:
            self.status.idle(f"Scoring of {self.items[row].name if row is not None else path} cancelled")

    def fill_gaps(self) -> None:
        """Score, ahead and in list order, every scan without a result (the batch left them)."""
        if not self.has_model:
            return
        for row in self.list.visible_rows():
            item = self.items[row]
            if row != self.current and item.result is None and item.state != FAILED:
                self.worker.prefetch(Job(item.path, self.gen))

    # -- results from the batch session -----------------------------------------------------
    def take_result(self, row: int, result: Any) -> None:
        """A result scored elsewhere (the batch): stored, counted, and shown if it is on screen."""
        item = self.items[row]
        if item.result is not None:
            return
        item.result, item.state, item.error = result, SCORED, ""
        self.list.refresh(row)
        self._emit_counts()
        if row == self.current and not self._result_on_screen:
            self._show_result(item)
            self.status.idle(f"{item.name}: scored by the batch in {result.seconds:.2f} s")
            self._prefetch()

    def take_failure(self, row: int, reason: str) -> None:
        item = self.items[row]
        if item.result is not None:
            return
        item.state, item.error = FAILED, reason
        self.list.refresh(row)
        if row == self.current:
            self.view.clear(f"Cannot read this scan:\n{reason}")
            self._report_failure(item)
            self._prefetch()

    # -- helpers ------------------------------------------------------------------------------
    def _report_failure(self, item: ScanItem) -> None:
        """One report per visit, even when a prefetch and a request both fail on the same file."""
        self.status.idle(f"{item.name}: {item.error}")
        if self._failed_gen != self.gen:
            self._failed_gen = self.gen
            self.scan_failed.emit(item.path, item.error)

    def _show_image(self, path: str, image: np.ndarray) -> None:
        if self._intercepted:
            return
        self.view.show_image(path, image)
        if not self._image_on_screen:
            self.shown_at = time.monotonic()
        self._image_on_screen = True
        self.image_shown.emit(path)

    def _show_result(self, item: ScanItem) -> None:
        if self._intercepted:
            return
        self.view.show_result(item.result, self.threshold)
        self._result_on_screen = True
        self.result_shown.emit(item.path)

    def counts(self) -> tuple[int, int, int]:
        scored = [it for it in self.items if it.result is not None]
        flagged = sum(1 for it in scored if it.flagged(self.threshold))
        return flagged, len(scored), len(self.items)

    def _emit_counts(self) -> None:
        self.counts_changed.emit(*self.counts())
