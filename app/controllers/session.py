"""Opening scans and models: every engine error becomes a titled report and the window lives on.

Paths come from the menu, drag and drop or the command line and all go through
:meth:`SessionController.open_paths`: one scan, several scans, a folder, or a
SIXray root. Unreadable files are reported once, by name and reason, and the
readable ones open. Folders are listed on a :class:`~app.workers.JobWorker`
(:mod:`app.controllers.listing`), so a large one never freezes the window; each
request carries a generation number and a listing the user has moved past is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from engine.errors import EngineError

from ..dialogs.error import ErrorReporter, Report
from ..settings import Settings
from ..workers import WORKER_NICE, JobWorker
from .listing import Listing, list_scans, listing_events, needs_worker
from .model import EngineBackend, ModelInfo

log = logging.getLogger(__name__)

BackendFactory = Callable[[str], EngineBackend]


class SessionController(QObject):
    opened = Signal(list, str)  # records, session folder
    model_changed = Signal(object, object)  # backend (or None), ModelInfo (or None)
    status_changed = Signal(str)  # one line for the status bar while a folder is listed

    def __init__(self, reporter: ErrorReporter, settings: Settings,
                 backend_factory: BackendFactory | None = None, device: str = "auto") -> None:
        super().__init__()
        self.reporter = reporter
        self.settings = settings
        self.device = device
        self.backend_factory = backend_factory or (lambda p: EngineBackend.from_file(p, device=self.device))
        self.backend: EngineBackend | None = None
        self.info: ModelInfo | None = None
        self.session_dir: str | None = None
        self.gen = 0  # bumped by every request: an older listing's answer is stale
        self.stale_dropped = 0
        self._listings: dict[int, JobWorker] = {}  # running listing threads, by generation

    def open_paths(self, paths: list[str]) -> bool:
        """Open files and folders. Named files answer now: False when nothing readable was found.

        A folder is listed on a job thread: True means the listing started; its scans arrive
        through ``opened`` (or its errors as reports) unless another request comes first.
        """
        paths = [str(p) for p in paths]
        self.cancel_listing()
        if not needs_worker(paths):
            return self._open(list_scans(paths))
        worker = JobWorker(self.gen, partial(listing_events, paths), name="bagscan-listing", nice=WORKER_NICE)
        worker.event.connect(self._on_listed)
        worker.failed.connect(self._on_failed)
        worker.done.connect(self._on_done)
        self._listings[self.gen] = worker
        self.status_changed.emit(f"Listing {', '.join(paths)}…")
        worker.start()
        return True

    @property
    def listing(self) -> bool:
        """A folder is being listed for the latest request."""
        return self.gen in self._listings

    def cancel_listing(self) -> None:
        """Whatever is being listed is stale from here on (another folder, files or a session opened)."""
        for worker in self._listings.values():
            worker.cancel()
        self.gen += 1

    def shutdown(self, timeout_ms: int = 60000) -> None:
        """Window closing: no listing thread may outlive the window (a running QThread must not be freed)."""
        self.cancel_listing()
        for worker in list(self._listings.values()):
            if not worker.wait(timeout_ms):
                log.error("listing thread did not stop in %d ms", timeout_ms)
        self._listings.clear()

    def _on_listed(self, gen: int, listing: Listing) -> None:
        if gen != self.gen:
            self.stale_dropped += 1
            log.debug("dropped the stale listing of %s", ", ".join(listing.paths))
            return
        n = len(listing.records)
        self.status_changed.emit(f"Listed {n} scans" if n else "Nothing opened")  # before scoring starts
        self._open(listing)

    def _on_failed(self, gen: int, path: str, reason: str) -> None:
        if gen == self.gen:
            self.reporter.engine_error("Cannot open scan", path, reason)

    def _on_done(self, gen: int, outcome: str) -> None:
        self._listings.pop(gen, None)
        if gen == self.gen and outcome != "finished":
            self.status_changed.emit("Nothing opened")

    def _open(self, listing: Listing) -> bool:
        """Report the unreadable files, then hand the scans to the window (when there are any)."""
        records, bad, paths = listing.records, listing.bad, listing.paths
        if bad:
            self._report_bad(bad, opened=len(records))
        if not records:
            return False
        first = Path(paths[0])
        self.session_dir = str(first if first.is_dir() else first.parent)
        self.settings.last_dir = self.session_dir
        log.info("opened %d scans from %s", len(records), ", ".join(paths))
        self.opened.emit(records, self.session_dir)
        return True

    def _report_bad(self, bad: list[tuple[str, str]], opened: int) -> None:
        if len(bad) == 1:
            path, reason = bad[0]
            self.reporter.engine_error("Cannot open scan", path, reason)
            return
        lines = "\n".join(f"{p}: {r}" for p, r in bad)
        what = f"{len(bad)} files could not be read" + (f"; {opened} scans opened." if opened else ".")
        self.reporter.report(Report("Some files could not be read", what, lines))

    def load_model(self, path: str) -> bool:
        """Load a model file; on failure the previous model stays in use."""
        try:
            backend = self.backend_factory(path)
        except EngineError as exc:
            self.reporter.engine_error("Cannot load model", getattr(exc, "path", path),
                                       getattr(exc, "reason", None) or str(exc))
            return False
        self.backend, self.info = backend, backend.info
        self.settings.model_path = str(Path(path).resolve()) if Path(path).exists() else path
        log.info("model %s on %s", backend.info.name, backend.info.device)
        self.model_changed.emit(backend, backend.info)
        return True

    def initial_model(self, explicit: str | None) -> str | None:
        """--model wins, then the last model used, then the bundled default (when one ships)."""
        if explicit:
            return explicit
        last = self.settings.model_path
        if last and Path(last).is_file():
            return last
        try:
            from engine.assets import default_model  # type: ignore[import-not-found]

            return str(default_model())
        except Exception:  # noqa: BLE001 - no bundled model yet
            return None
