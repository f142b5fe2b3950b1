"""File > Export report: a session's flagged regions as PDF, CSV, JSON, Pascal VOC and crops.

The dialog only gathers an :class:`~app.commands.export.ExportRequest`; the writing is
``bagscan export``'s own :func:`~app.commands.export.iter_export`, run on a
:class:`~app.workers.JobWorker` so the window stays live. The job opens the session
read-only (a snapshot, safe beside a batch still appending to it). Failures go to the
window's error dialog; the dialog is non-modal, so screening goes on while it writes.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.events import CancelToken, Progress
from engine.storage import SessionStore

from ..commands.export import ExportRequest, ExportResult, iter_export
from ..controllers.batch_session import SessionRun
from ..workers import JobWorker
from .error import ErrorReporter

log = logging.getLogger(__name__)

SESSION_FILTER = "bagscan sessions (*.h5);;All files (*)"
FILES = {"pdf": ("PDF report", "report.pdf", "PDF (*.pdf)"), "csv": ("CSV regions", "regions.csv", "CSV (*.csv)"),
         "json": ("JSON regions", "regions.json", "JSON (*.json)")}
FOLDERS = {"voc": ("Pascal VOC folder", "voc"), "crops": ("Region crops folder", "crops")}


def export_job(session: str, run: SessionRun | None, req: ExportRequest, cancel: CancelToken) -> Iterator[Any]:
    """The window's own session is borrowed (kept open while this reads it); any other file is
    opened read-only here (HDF5 allows no second handle on a file this process writes)."""
    if run is not None:
        with run.borrow() as store:
            if store is not None and store.path.resolve() == Path(session).resolve():
                yield from iter_export(store, req, cancel)
                return
    with SessionStore.open(session, "r") as store:
        yield from iter_export(store, req, cancel)


def report_base(session: str) -> Path:
    """Reports go beside the scans for a session kept in ``<folder>/.bagscan``, else beside the file."""
    p = Path(session)
    folder = p.parent.parent if p.parent.name == ".bagscan" else p.parent
    return folder / f"bagscan-{p.stem}"


class _PathRow(QWidget):
    """A checkbox, a path field and a Browse button."""

    def __init__(self, label: str, browse: Any) -> None:
        super().__init__()
        self.check = QCheckBox(label)
        self.edit = QLineEdit()
        self.button = QPushButton("Browse…")
        self.button.clicked.connect(lambda: self._browse(browse))
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.check)
        lay.addWidget(self.edit, 1)
        lay.addWidget(self.button)

    def _browse(self, browse: Any) -> None:
        path = browse(self.edit.text())
        if path:
            self.edit.setText(path)
            self.check.setChecked(True)

    @property
    def value(self) -> str | None:
        return self.edit.text().strip() or None if self.check.isChecked() else None


class ExportDialog(QDialog):
    exported = Signal(object)  # ExportResult

    def __init__(self, reporter: ErrorReporter, parent: QWidget | None = None,
                 session_run: Callable[[], SessionRun | None] = lambda: None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export report")
        self.reporter = reporter
        self.session_run = session_run  # the window's open session, shared rather than reopened
        self.worker: JobWorker | None = None
        self._workers: list[JobWorker] = []  # referenced until their threads end
        self._busy = False
        self.gen = 0
        self.result: ExportResult | None = None
        self.session = _PathRow("Session", lambda start: QFileDialog.getOpenFileName(
            self, "Session file", start, SESSION_FILTER)[0])
        self.session.check.setChecked(True)
        self.session.check.setEnabled(False)
        # operating point
        self.calibrated = QRadioButton("The model's calibrated threshold")
        self.by_recall = QRadioButton("Target recall")
        self.by_threshold = QRadioButton("Threshold")
        self.modes = QButtonGroup(self)
        for b in (self.calibrated, self.by_recall, self.by_threshold):
            self.modes.addButton(b)
        self.recall = QDoubleSpinBox(decimals=3, minimum=0.5, maximum=1.0, singleStep=0.01, value=0.9)
        self.threshold = QDoubleSpinBox(decimals=4, minimum=-1e6, maximum=1e6, singleStep=0.1)
        point = QFormLayout()
        point.addRow(self.calibrated)
        point.addRow(self.by_recall, self.recall)
        point.addRow(self.by_threshold, self.threshold)
        self.calibrated.setChecked(True)
        box = QGroupBox("Operating point")
        box.setLayout(point)
        # outputs
        self.outputs: dict[str, _PathRow] = {}
        for key, (label, _, filt) in FILES.items():
            self.outputs[key] = _PathRow(label, partial(self._save_file, label, filt))
        for key, (label, _) in FOLDERS.items():
            self.outputs[key] = _PathRow(label, partial(self._folder, label))
        self.voc_images = QCheckBox("VOC: copy the scans beside the XML", checked=True)
        self.crop_margin = QSpinBox(minimum=0, maximum=512, value=16, suffix=" px context around crops")
        outs = QVBoxLayout()
        for row in self.outputs.values():
            outs.addWidget(row)
        outs.addWidget(self.voc_images)
        outs.addWidget(self.crop_margin)
        out_box = QGroupBox("Write")
        out_box.setLayout(outs)
        self.outputs["csv"].check.setChecked(True)
        self.outputs["pdf"].check.setChecked(True)
        # progress and buttons
        self.text = QLabel("")
        self.text.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.start)
        self.buttons.rejected.connect(self.close)
        lay = QVBoxLayout(self)
        lay.addWidget(self.session)
        lay.addWidget(box)
        lay.addWidget(out_box)
        lay.addWidget(self.text)
        lay.addWidget(self.bar)
        lay.addWidget(self.buttons)
        self.resize(640, 0)

    # -- filling in ------------------------------------------------------------------------------
    def prepare(self, session: str, threshold: float | None = None, target_recall: float | None = None) -> None:
        """Defaults from the window: its session, its operating point, paths beside the scans."""
        self.session.edit.setText(session)
        if target_recall is not None and math.isfinite(target_recall):
            self.recall.setValue(target_recall)
            self.by_recall.setChecked(True)
        elif threshold is not None and math.isfinite(threshold):
            self.threshold.setValue(threshold)
            self.by_threshold.setChecked(True)
        base = report_base(session) if session else Path.home() / "bagscan"
        for key, (_, name, _) in FILES.items():
            self.outputs[key].edit.setText(f"{base}-{name}")
        for key, (_, name) in FOLDERS.items():
            self.outputs[key].edit.setText(f"{base}-{name}")
        self.text.setText("")

    def request(self) -> ExportRequest:
        o = {k: row.value for k, row in self.outputs.items()}
        return ExportRequest(
            threshold=self.threshold.value() if self.by_threshold.isChecked() else None,
            target_recall=self.recall.value() if self.by_recall.isChecked() else None,
            pdf=o["pdf"], csv=o["csv"], json=o["json"], voc=o["voc"], voc_images=self.voc_images.isChecked(),
            crops=o["crops"], crop_margin=self.crop_margin.value())

    def _save_file(self, title: str, filt: str, start: str) -> str:
        return QFileDialog.getSaveFileName(self, title, start, filt)[0]

    def _folder(self, title: str, start: str) -> str:
        return QFileDialog.getExistingDirectory(self, title, start)

    # -- running ---------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """An export is under way (its thread may linger a moment after it has reported)."""
        return self._busy

    def start(self) -> bool:
        """Export in the background; False (and a line saying why) when there is nothing to do."""
        if self.running:
            return False
        session, req = self.session.edit.text().strip(), self.request()
        problem = ("choose a session file" if not session or not Path(session).is_file()
                   else "tick at least one output, with a path" if not req.outputs else "")
        if problem:
            self.text.setText(f"Nothing exported: {problem}.")
            return False
        self.gen += 1
        self.result = None
        worker = JobWorker(self.gen, partial(export_job, session, self.session_run(), req),
                           name="bagscan-export")
        worker.event.connect(self._on_event)
        worker.failed.connect(self._on_failed)
        worker.done.connect(self._on_done)
        self._workers = [w for w in self._workers if not w.isFinished()] + [worker]
        self.worker, self._busy = worker, True
        self.export_button.setEnabled(False)
        self.bar.setRange(0, 0)
        self.bar.show()
        self.text.setText("Exporting…")
        log.info("export %s: %s", session, req)
        worker.start()
        return True

    def _on_event(self, gen: int, ev: Any) -> None:
        if gen != self.gen:
            return
        if isinstance(ev, Progress) and ev.total:
            self.bar.setRange(0, ev.total)
            self.bar.setValue(ev.done)
            if ev.message:
                self.text.setText(f"Writing {ev.message.upper()}…")
        elif isinstance(ev, ExportResult):
            self.result = ev
            lines = "\n".join(ev.written)
            self.text.setText(f"Threshold {ev.threshold:.4f} ({ev.how}); wrote:\n{lines}")
            self.exported.emit(ev)

    def _on_failed(self, gen: int, path: str, reason: str) -> None:
        if gen == self.gen:
            self.text.setText(f"Export failed: {reason}")
            self.reporter.engine_error("Export failed", path or self.session.edit.text(), reason)

    def _on_done(self, gen: int, outcome: str) -> None:
        if gen == self.gen:
            self._busy = False
            self.bar.hide()
            self.export_button.setEnabled(True)
            if outcome == "failed" and self.result is None and not self.text.text().startswith("Export failed"):
                self.text.setText("Export failed (see the error report).")

    def wait(self, timeout_ms: int = 60000) -> bool:
        """Window closing: let running exports finish (their files appear whole or not at all)."""
        return all(w.wait(timeout_ms) for w in self._workers)
