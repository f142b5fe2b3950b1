"""Opening scans and models: every engine error becomes a titled report and the window lives on.

Paths come from the menu, drag and drop or the command line and all go through
:meth:`SessionController.open_paths`: one scan, several scans, a folder, or a
SIXray root. Unreadable files are reported once, by name and reason, and the
readable ones open.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from engine.data import load_dataset
from engine.data.sixray import parse_voc
from engine.data.types import THREAT, ScanRecord
from engine.errors import EngineError

from ..dialogs.error import ErrorReporter, Report
from ..settings import Settings
from .model import EngineBackend, ModelInfo

log = logging.getLogger(__name__)

BackendFactory = Callable[[str], EngineBackend]


def _with_voc_beside(record: ScanRecord) -> ScanRecord:
    """A scan opened on its own keeps the ground truth of a VOC file beside it (as folders do)."""
    xml = Path(record.path).with_suffix(".xml")
    if record.boxes or not xml.is_file():
        return record
    try:
        boxes = parse_voc(xml)
    except EngineError as exc:
        log.warning("ignoring ground truth: %s", exc)
        return record
    cats = tuple(dict.fromkeys(b.category for b in boxes))
    return replace(record, boxes=boxes, label=THREAT if boxes else record.label, categories=cats)


class SessionController(QObject):
    opened = Signal(list, str)  # records, session folder
    model_changed = Signal(object, object)  # backend (or None), ModelInfo (or None)

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

    def open_paths(self, paths: list[str]) -> bool:
        """Open files and folders; returns False when nothing readable was found."""
        records: list[ScanRecord] = []
        bad: list[tuple[str, str]] = []
        for p in paths:
            try:
                ds = load_dataset(p)
            except EngineError as exc:
                bad.append((p, str(getattr(exc, "reason", None) or exc)))
                continue
            records += [_with_voc_beside(r) for r in ds.records] if ds.layout == "file" else ds.records
            bad += [(b.path, b.reason) for b in ds.bad_files]
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
