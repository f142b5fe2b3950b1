"""Batch sessions in the window: score a folder into a session file in the background, reopen it later.

The job (:mod:`app.controllers.batch_session`) runs on a :class:`~app.workers.JobWorker`;
this controller turns its events into table rows (kept by
:class:`~app.controllers.batch_rows.SessionRows`) and status text on the GUI thread, and
drops events of jobs it has moved past (each job carries a generation number).

One scoring pipeline (:mod:`app.controllers.pipeline`): the screening queue takes every
result the session holds or the batch writes, and scores a scan itself only when the officer
reaches it before the batch (claimed, so the batch leaves it, and stored in the session) or
when the batch will not score it. Decisions go to :class:`SessionDecisions`.
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from engine.batch import BatchFinished, BatchPlanned
from engine.events import Progress, ScanFailed, ScanScored, Warn
from engine.storage import SessionStore

from ..dialogs.error import ErrorReporter
from ..workers import JobWorker
from .batch_rows import ResultsTableLike, SessionRows
from .batch_session import (
    PENDING,
    ResultRow,
    SessionReady,
    SessionRequest,
    SessionRun,
    record_of,
    session_events,
)
from .items import SCORING
from .pipeline import WINDOW, WindowResults
from .screening import ScreeningController
from .session_decisions import SessionDecisions, path_key

log = logging.getLogger(__name__)


class BatchSessionController(QObject):
    records_ready = Signal(list, str)  # a reopened session's scans for the screening queue, its folder
    session_changed = Signal(str)  # session file ("" when none)
    status_changed = Signal(str)  # one line for the status bar

    def __init__(self, screening: ScreeningController, table: ResultsTableLike, reporter: ErrorReporter,
                 fallback_dir: str | Path, device: str = "auto") -> None:
        super().__init__()
        self.screening, self.table, self.reporter = screening, table, reporter
        self.fallback_dir, self.device = str(fallback_dir), device
        self.gen = 0
        self.stale_dropped = 0
        self.worker: JobWorker | None = None
        self.run: SessionRun | None = None
        self.request: SessionRequest | None = None
        self.path: str | None = None  # the open session file
        self.ready: SessionReady | None = None
        self.session_rows = SessionRows(table, screening)
        self.decisions = SessionDecisions(
            lambda path, reason: reporter.engine_error("Decision not saved in the session", path, reason))
        self._jobs: dict[int, tuple[JobWorker, SessionRun]] = {}
        self._session_text = ""
        self.window_results = WindowResults(
            lambda path, reason: reporter.engine_error("Result not saved in the session", path, reason))
        screening.gate = self
        screening.scored_here.connect(self._on_window_scored)

    @property
    def rows(self) -> list[ResultRow]:
        """The results table's rows (the table shows this very list)."""
        return self.session_rows.rows

    @property
    def threshold(self) -> float:
        return self.session_rows.threshold

    # -- starting and ending sessions ---------------------------------------------------------
    def open_folder(self, folder: str, model_path: str | None) -> None:
        """Score ``folder`` into its default session (resumed when it exists)."""
        if not model_path:
            self.close("No batch session: load a model file to score the folder into one.")
            return
        self._start(SessionRequest(folder, None, model_path, self.device, self.fallback_dir))

    def open_session(self, path: str, model_path: str | None) -> None:
        """Show a session file's results and decisions; score the rest when its folder and model match."""
        self._start(SessionRequest(None, path, model_path, self.device, self.fallback_dir))

    def model_changed(self, model_path: str | None) -> None:
        """A new model: its results are not the old session's, so the session starts again for it."""
        req = self.request
        if req is None:
            return
        if req.session is None and req.folder is not None:
            self.open_folder(req.folder, model_path)
        elif req.session is not None:
            self.open_session(req.session, model_path)

    def close(self, text: str = "No batch session: open a folder to score it into one.") -> None:
        """End the session (the batch stops after its scan; the file closes when its thread ends)."""
        self._retire()
        self.request, self.path, self.ready, self._session_text = None, None, None, ""
        self.decisions.reset()
        self.window_results.reset()
        self.session_rows.reset([])
        self.status_changed.emit("")
        self.table.set_session(text)
        self.table.idle("")
        self.session_changed.emit("")

    def cancel(self) -> None:
        if self.worker is not None and self.worker.isRunning():
            self.worker.cancel()
            self.table.progress("Cancelling after the scan being scored…", 0, 0)

    def shutdown(self, timeout_ms: int = 60000) -> None:
        """Window closing: stop every job, wait for its thread, close every session file."""
        self.gen += 1
        for worker, _ in self._jobs.values():
            worker.cancel()
        for worker, run in list(self._jobs.values()):
            if not worker.wait(timeout_ms):
                log.error("batch thread did not stop in %d ms; its session may lose the scan in flight",
                          timeout_ms)
            run.close()
        self._jobs.clear()
        self.worker = self.run = None

    @property
    def running(self) -> bool:
        return self.worker is not None and self.worker.isRunning()

    @property
    def store(self) -> SessionStore | None:
        """The open session's store (shared with the batch thread), for decisions and export."""
        return self.run.store if self.run is not None else None

    def _retire(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
        self.gen += 1  # whatever the old job still says is stale from here on
        self.worker = None
        self.run = None
        for g, (w, r) in list(self._jobs.items()):  # ended jobs: no thread uses their files any more
            if w.isFinished():
                r.close()
                del self._jobs[g]

    def _start(self, req: SessionRequest) -> None:
        self._retire()
        # Jobs still ending (cancelled, or retired by close()) may hold this very file: the new
        # job waits for their threads and closes their files before it opens anything.
        earlier = list(self._jobs.values())
        self.request, self.path, self.ready, self._session_text = req, None, None, ""
        self.decisions.reset()
        self.window_results.reset()
        self.session_rows.reset([])
        run = SessionRun()
        worker = JobWorker(self.gen, partial(session_events, req, run, [r for _, r in earlier]),
                           after=[w for w, _ in earlier], name="bagscan-batch")
        worker.event.connect(self._on_event)
        worker.failed.connect(self._on_failed)
        worker.done.connect(self._on_done)
        self.worker, self.run = worker, run
        self._jobs[self.gen] = (worker, run)
        what = req.folder or req.session or ""
        self.table.set_session(f"Opening the session for {what}…")
        self.table.progress("Opening…", 0, 0)
        worker.start()

    # -- job events (GUI thread) ---------------------------------------------------------------
    def _on_event(self, gen: int, ev: Any) -> None:
        if gen != self.gen:
            self.stale_dropped += 1
            return
        if isinstance(ev, SessionReady):
            self._on_ready(ev)
        elif isinstance(ev, ScanScored):
            self.session_rows.scored(ev.path, ev.result)
            self.decisions.stored(ev.path)
            self.session_rows.adopt(ev.path)  # the queue shows it, never scores it again
        elif isinstance(ev, ScanFailed):
            self.session_rows.failed(ev.path, ev.reason)
            self.decisions.stored(ev.path)
        elif isinstance(ev, Progress):
            self._on_progress(ev)
        elif isinstance(ev, BatchPlanned):
            self._status(f"{ev.total} scans: {ev.stored} already in the session, {ev.pending} to score")
        elif isinstance(ev, Warn):
            self._status(ev.message)
        elif isinstance(ev, BatchFinished):
            here = self.window_results.written
            more = f"; {here} more scored on screen" if here else ""
            self.table.idle(f"Batch finished: {ev.scored} scored, {ev.failed} failed in {ev.seconds:.1f} s{more}")
            self._status(f"batch finished ({ev.scored} scored, {ev.failed} failed)")

    def _on_progress(self, ev: Progress) -> None:
        if ev.job == "list":
            self.table.progress(f"Listing {ev.message}…", 0, 0)
        elif ev.job == "hash":
            self.table.progress(f"Checking {ev.done}/{ev.total} scans against the session…", ev.done, ev.total)
        elif ev.job == "batch":
            self.table.progress(f"Scoring {ev.done}/{ev.total}: {ev.message}", ev.done, ev.total)

    def _on_failed(self, gen: int, path: str, reason: str) -> None:
        if gen == self.gen:
            self.table.idle(f"Batch stopped: {reason}")
            self.reporter.engine_error("Batch session", path, reason)

    def _on_done(self, gen: int, outcome: str) -> None:
        if gen != self.gen:  # a job the window moved past: its file is nobody's now
            job = self._jobs.pop(gen, None)
            if job is not None:
                job[1].close()
            return
        if outcome == "cancelled":
            n = sum(1 for r in self.rows if r.state != PENDING)
            self.table.idle(f"Batch cancelled: {n} of {len(self.rows)} scans in the session. "
                            "Open the folder again to resume.")
        elif outcome == "finished" and self.ready is not None and not self.ready.resumable:
            self.table.idle(self.ready.note)
        if outcome == "finished" and self.ready is not None and self.ready.resumable:
            self.screening.fill_gaps()  # scans the batch left to the window, which then moved on
        item = self.screening.current_item
        if item is not None and item.result is None and item.state == SCORING:
            self.screening.go(self.screening.current)  # it waited for the batch, which ended: score it here

    def _on_ready(self, ev: SessionReady) -> None:
        self.path, self.ready = ev.path, ev
        self.session_rows.load(ev)
        stored = {path_key(s.path): s.index for s in ev.stored}
        if self._reopened:  # the window did not list these scans
            listed = [r for r in ev.records or [] if path_key(r.path) not in stored and Path(r.path).is_file()]
            self.records_ready.emit([record_of(s) for s in ev.stored if s.ok] + listed,
                                    ev.folder or str(Path(ev.path).parent))
        self.session_rows.share(ev)
        if self.run is not None and self.run.store is not None:
            if ev.same_model:
                for path, result in self.window_results.flush(self.run.store):
                    self.session_rows.scored(path, result)
            self.decisions.attach(self.run.store, stored)
        where = f" — {ev.where}" if ev.where != "opened" else ""
        self._session_text = f"Session {ev.path}{where}"
        self.table.set_session(self._session_text)
        self._status("opened")
        if not ev.resumable:
            self.table.idle(ev.note)
        self.session_changed.emit(ev.path)

    # -- the screening queue -------------------------------------------------------------------
    @property
    def _reopened(self) -> bool:
        return self.request is not None and self.request.session is not None

    def show(self, path: str) -> bool:
        """The analyst picked a row: show that scan in the screening view."""
        i = self.session_rows.screen_row(path)
        if i is None:
            row = self.session_rows.get(path)
            self._status(f"{Path(path).name}: {row.error if row and row.error else 'not in the screening list'}")
            return False
        self.session_rows.adopt(path)
        self.screening.go(i)
        return True

    def set_threshold(self, threshold: float) -> None:
        self.session_rows.set_threshold(threshold)

    # -- one scoring pipeline: the screening queue's gate ----------------------------------------
    def may_score(self, path: str) -> bool:
        """The window may score ``path`` now (claimed from the running batch, which then leaves it)."""
        run = self.run if self.running else None
        return run is None or run.claims.take(path, WINDOW)

    def covers(self, path: str) -> bool:
        """The running batch will score ``path``: the prefetcher leaves it alone."""
        run = self.run if self.running else None
        return run is not None and run.claims.batch_will_score(path)

    def release(self, path: str) -> None:
        """The window's scoring of ``path`` ended without a result: the batch may take it."""
        if self.run is not None:
            self.run.claims.release(path, WINDOW)

    def _on_window_scored(self, path: str, result: Any) -> None:
        """The window scored ``path`` itself: into the session, as the batch would have stored it."""
        if self.request is None or (self.ready is not None and not self.ready.same_model):
            return
        i = self.session_rows.screen_row(path)
        if i is None:
            return
        store = self.run.store if self.run is not None and self.ready is not None else None
        if self.window_results.add(store, self.screening.items[i].record, result):
            self.session_rows.scored(path, result)
            self.decisions.stored(path)

    def _status(self, text: str) -> None:
        """The status bar always names the session file and where it is, then the latest news."""
        line = f"{self._session_text}: {text}" if self._session_text else text
        log.info("%s", line)
        self.status_changed.emit(line)

    # -- decisions -----------------------------------------------------------------------------
    def record_decision(self, data: dict[str, Any]) -> None:
        """An officer decision (already in the audit log): into the table and the session file."""
        if self.request is None:
            return
        self.session_rows.set_decision(str(data.get("scan", "")), str(data.get("decision", "")))
        self.decisions.record(data)
