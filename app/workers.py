"""The worker threads: the scoring thread for the scan on screen, and job threads for batches and exports.

One long-lived ``QThread`` owns the model, so torch never runs on the GUI thread.
Jobs carry the generation number of the request that made them (ndv style): the
controller drops answers to requests it has moved past. A job is cancelled
through its :class:`engine.events.CancelToken`, polled between patch batches, so
moving to another scan stops the old work within one batch. Signals are emitted
from the worker thread and arrive queued on the GUI thread. A :class:`JobWorker`
runs one engine generator (a batch session, an export) on its own thread.

Why not superqt's ``create_worker`` / GeneratorWorker: measured on 20 000 events (offscreen, same
thread priority) both deliver 0.40-0.43 s; a GeneratorWorker's ``quit()`` acts only between yields,
so the engine's CancelToken (polled inside a scan) is needed anyway; and JobWorker's ordering
(``after``: jobs on one session file never overlap), per-thread priority and error routing would have
to be rebuilt around a shared QThreadPool. The hand-made class is ~60 lines; superqt is not a dependency.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from PySide6.QtCore import Qt, QThread, Signal

from engine.data.io import Scan, read_scan, to_uint8
from engine.errors import Cancelled, EngineError
from engine.events import CancelToken

log = logging.getLogger(__name__)

WORKER_NICE = 10  # added to the scoring thread's nice value (Linux): the GUI thread wins the CPU
JOB_NICE = 15  # batch and export threads: below the scan on screen, which the officer waits for


class Backend(Protocol):
    """What the worker needs from a model (see app.controllers.model.EngineBackend)."""

    def read(self, path: str) -> Scan: ...

    def score(self, scan: Scan, cancel: CancelToken, progress: Callable[[int, int], None]) -> object: ...


@dataclass
class Job:
    path: str
    gen: int
    score: bool = True  # False: only load the image (its result is already cached)
    prefetch: bool = False  # True: fill the caches, never shown directly
    token: CancelToken = field(default_factory=CancelToken)
    done: bool = False  # set under the lock just before the result is emitted
    source: str = ""  # read this file instead of ``path`` (``path`` is then only the answer's key)
    transform: Callable[[Scan], Scan] | None = None  # applied to the scan read, on the worker thread (TIP)


def gui_friendly_threads(cpus: int | None = None) -> int:
    """Torch threads for the worker: leave one core to the GUI thread (at least one thread)."""
    n = cpus if cpus is not None else (os.cpu_count() or 1)
    return max(1, n - 1)


class ScoringWorker(QThread):
    """Serial job queue on its own thread. Public methods are called from the GUI thread."""

    image_ready = Signal(int, str, object, object, bool)  # gen, path, uint8 RGB, ScanMeta, prefetch
    scored = Signal(int, int, str, object, bool)  # gen, model_gen, path, ScanResult, prefetch
    failed = Signal(int, str, str, bool)  # gen, path, reason, prefetch
    progress = Signal(int, str, int, int)  # gen, path, done, total
    cancelled = Signal(int, str)  # gen, path
    busy_changed = Signal(bool)

    def __init__(self, threads: int | None = None) -> None:
        super().__init__()
        self.setObjectName("bagscan-scoring")
        self._cond = threading.Condition()
        self._queue: deque[Job] = deque()
        self._current: Job | None = None
        self._backend: Backend | None = None
        self._model_gen = 0
        self._stopping = False
        self._scored: set[str] = set()  # scored with the current model: never prefetched twice
        self._threads = threads if threads is not None else gui_friendly_threads()

    @property
    def threads(self) -> int:
        return self._threads

    # -- GUI-thread API ----------------------------------------------------------------------
    def set_backend(self, backend: Backend | None, model_gen: int) -> None:
        """Swap the model; queued and running jobs belong to the old one and are cancelled."""
        with self._cond:
            self._backend, self._model_gen = backend, model_gen
            self._scored.clear()
            self._cancel_locked(clear=True)

    def request(self, job: Job) -> Job:
        """The scan on screen: cancel other work, or adopt the running job if it is this scan."""
        with self._cond:
            cur = self._current
            if cur is not None and cur.path == job.path and not cur.done and not cur.token.cancelled \
                    and (cur.score or not job.score):
                cur.gen, cur.prefetch = job.gen, False  # already working on it: answer the new request
                self._queue.clear()
                return cur
            self._cancel_locked(clear=True)
            self._queue.append(job)
            self._cond.notify()
            return job

    def prefetch(self, job: Job) -> None:
        """Score ahead; runs after the current request and is dropped by the next one."""
        job.prefetch = True
        with self._cond:
            cur = self._current
            if job.path in self._scored or any(j.path == job.path for j in self._queue) \
                    or (cur is not None and cur.path == job.path):
                return  # already done (its answer may still be on its way) or under way
            self._queue.append(job)
            self._cond.notify()

    def cancel(self) -> None:
        """The user's cancel: stop the running job and forget the queue."""
        with self._cond:
            self._cancel_locked(clear=True)

    def forget(self, path: str | None = None) -> None:
        """Allow prefetching ``path`` (or every scan) again: its cached result was dropped."""
        with self._cond:
            if path is None:
                self._scored.clear()
            else:
                self._scored.discard(path)

    def is_busy(self) -> bool:
        with self._cond:
            return self._current is not None or bool(self._queue)

    def stop(self, timeout_ms: int = 10000) -> bool:
        with self._cond:
            self._stopping = True
            self._cancel_locked(clear=True)
            self._cond.notify_all()
        return self.wait(timeout_ms)

    def _cancel_locked(self, clear: bool) -> None:
        if self._current is not None:
            self._current.token.cancel()
        if clear:
            for j in self._queue:
                j.token.cancel()
            self._queue.clear()

    # -- worker thread -----------------------------------------------------------------------
    def run(self) -> None:
        self._set_threads()
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                job = self._queue.popleft()
                self._current = job
                backend, model_gen = self._backend, self._model_gen
            self.busy_changed.emit(True)
            try:
                self._process(job, backend, model_gen)
            except Exception:  # noqa: BLE001 - a bug, not an engine error: report it, keep the thread
                self.failed.emit(job.gen, job.path, f"internal error: {sys.exc_info()[1]}", job.prefetch)
                threading.excepthook(threading.ExceptHookArgs((*sys.exc_info(), threading.current_thread())))
            finally:
                with self._cond:
                    self._current = None
                    idle = not self._queue
                if idle:
                    self.busy_changed.emit(False)

    def _set_threads(self) -> None:
        """Fewer torch threads than cores, and a lower OS priority than the GUI thread.

        Both keep the event loop responsive when the CPU is shared: with one torch thread
        the work stays on this (niced) thread instead of a pool at normal priority.
        """
        try:
            import torch

            torch.set_num_threads(self._threads)  # the GUI thread keeps a core for the event loop
            log.info("scoring worker uses %d torch threads", self._threads)
        except Exception as exc:  # noqa: BLE001 - torch missing or already initialised: keep defaults
            log.debug("could not set torch threads: %s", exc)
        lower_priority(WORKER_NICE)

    def _process(self, job: Job, backend: Backend | None, model_gen: int) -> None:
        try:
            job.token.raise_if_cancelled()
            source = job.source or job.path
            scan = backend.read(source) if backend is not None else read_scan(source)
            if job.transform is not None:
                scan = job.transform(scan)
            job.token.raise_if_cancelled()
            self.image_ready.emit(job.gen, job.path, to_uint8(scan.pixels), scan.meta, job.prefetch)
            if not job.score or backend is None:  # no model: the officer still sees the scan
                return
            result = backend.score(scan, job.token, lambda d, t: self.progress.emit(job.gen, job.path, d, t))
            with self._cond:
                job.done = True
                gen, prefetch = job.gen, job.prefetch  # read under the lock: request() may have adopted it
                if model_gen == self._model_gen:
                    self._scored.add(job.path)
            self.scored.emit(gen, model_gen, job.path, result, prefetch)
        except Cancelled:
            log.debug("cancelled %s (gen %d)", job.path, job.gen)
            self.cancelled.emit(job.gen, job.path)
        except EngineError as exc:
            reason = getattr(exc, "reason", None) or str(exc)
            log.warning("scoring %s failed: %s", job.path, reason)
            self.failed.emit(job.gen, job.path, reason, job.prefetch)


def lower_priority(nice: int) -> None:
    """Raise this thread's nice value (Linux, where nice is per thread); elsewhere do nothing."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except (AttributeError, OSError) as exc:
        log.debug("could not lower the thread's priority: %s", exc)


JobFn = Callable[[CancelToken], Iterable[Any]]


class JobWorker(QThread):
    """One engine generator on its own thread; every event is forwarded with the job's generation.

    The controller compares the generation with its own and drops events of jobs it has
    moved past. ``after``: earlier jobs' threads this one waits for first, so two jobs
    never touch the same session file at once and the GUI thread never blocks on a join.
    Expected failures (engine errors, OS errors) end in ``failed``; anything else is a bug
    and goes to the global excepthook (the error dialog with its traceback).
    """

    event = Signal(int, object)  # gen, engine event
    failed = Signal(int, str, str)  # gen, path, reason
    done = Signal(int, str)  # gen, "finished" | "cancelled" | "failed"
    _alive: ClassVar[set[JobWorker]] = set()  # a QThread collected while it runs aborts the process

    def __init__(self, gen: int, job: JobFn, after: Sequence[QThread] = (), name: str = "bagscan-job",
                 nice: int = JOB_NICE) -> None:
        super().__init__()
        self.setObjectName(name)
        self.gen, self._job, self._after, self._nice = gen, job, list(after), nice
        self.token = CancelToken()

    def start(self) -> None:  # type: ignore[override] - no priority argument
        JobWorker._alive.add(self)
        self.finished.connect(self._forget, Qt.ConnectionType.QueuedConnection)
        super().start()

    def _forget(self) -> None:
        JobWorker._alive.discard(self)

    def cancel(self) -> None:
        self.token.cancel()

    def run(self) -> None:
        for earlier in self._after:
            earlier.wait()
        self._after = []
        lower_priority(self._nice)
        outcome = "finished"
        try:
            for ev in self._job(self.token):
                self.event.emit(self.gen, ev)
        except Cancelled:
            outcome = "cancelled"
        except (EngineError, OSError) as exc:
            outcome = "failed"
            path = str(getattr(exc, "path", None) or getattr(exc, "filename", None) or "")
            log.warning("%s failed: %s", self.objectName(), exc)
            self.failed.emit(self.gen, path, str(getattr(exc, "reason", None) or exc))
        except Exception:  # noqa: BLE001 - a bug: the excepthook shows it with its traceback
            outcome = "failed"
            threading.excepthook(threading.ExceptHookArgs((*sys.exc_info(), threading.current_thread())))
        finally:
            self.done.emit(self.gen, outcome)
