"""The main window: builds the views, the worker and the controllers and wires them together.

No screening logic lives here (it is in :mod:`app.controllers`), only layout and the
connections between parts. The menus, keys and toolbar are built by :mod:`app.menus`,
the file and name dialogs are in :mod:`app.dialogs.choosers`, drops are sorted by :mod:`app.drops`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMainWindow, QSizePolicy, QVBoxLayout, QWidget

from .controllers.batch import BatchSessionController
from .controllers.batch_session import model_to_load
from .controllers.model import device_label
from .controllers.officer import OfficerController
from .controllers.screening import ScreeningController
from .controllers.session import BackendFactory, SessionController
from .controllers.threshold import ThresholdController
from .controllers.tip_training import TipTrainingController
from .dialogs.choosers import ask_folder, ask_model, ask_operator, ask_scans, ask_session
from .dialogs.error import ErrorReporter
from .dialogs.export_dialog import ExportDialog
from .drops import Drop, local_paths
from .menus import build_menus
from .settings import Settings, user_data_dir
from .views.display_panel import DisplayPanel
from .views.elided import ElidedLabel
from .views.model_panel import ModelPanel
from .views.results_table import ResultsPanel
from .views.scan_header import ScanHeader
from .views.scan_list import ScanListView
from .views.scan_view import ScanView
from .views.status import StatusView
from .views.threshold_panel import ThresholdPanel
from .views.tip_marker import TipMarker
from .window_layout import build_docks, fit_to_screen, hide_score_columns
from .workers import ScoringWorker

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    def __init__(self, settings: Settings | None = None, reporter: ErrorReporter | None = None,
                 operator_provider: Callable[[], str | None] | None = None,
                 backend_factory: BackendFactory | None = None, device: str = "auto",
                 audit_fallback_dir: str | Path | None = None, worker_threads: int | None = None,
                 tip_seed: int | None = None) -> None:
        super().__init__()
        self.setWindowTitle("bagscan — X-ray screening")
        self.setAcceptDrops(True)
        self.settings = settings or Settings()
        self.reporter = reporter or ErrorReporter(self)
        if self.reporter.parent_widget is None:
            self.reporter.parent_widget = self
        # views
        self.scan_view = ScanView()
        self.scan_list = ScanListView()
        self.model_panel = ModelPanel()
        self.threshold_panel = ThresholdPanel()
        self.display_panel = DisplayPanel()
        self.display_panel.set_opacity(self.settings.overlay_opacity)
        self.scan_view.set_opacity(self.settings.overlay_opacity)
        self.results = ResultsPanel()
        self.status = StatusView()
        self.session_label = ElidedLabel("", min_chars=24)  # a long path must not widen the window
        self.session_label.setObjectName("sessionStatus")
        self.session_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.status.addPermanentWidget(self.session_label, 1)  # what the scan and model lines leave
        self.setStatusBar(self.status)
        self.header = ScanHeader()
        central = QWidget()
        col = QVBoxLayout(central)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(0)
        col.addWidget(self.header)
        col.addWidget(self.scan_view, 1)
        self.setCentralWidget(central)
        self._build_docks()
        # engine thread and controllers
        self.worker = ScoringWorker(threads=worker_threads)
        self.worker.start()
        self.session = SessionController(self.reporter, self.settings, backend_factory, device)
        self.screening = ScreeningController(self.worker, self.scan_view, self.scan_list, self.status)
        self.threshold = ThresholdController(self.threshold_panel)
        ask = operator_provider or (lambda: ask_operator(self, self.settings))
        self.officer = OfficerController(self.screening, self.threshold, lambda: self._then_focus(ask),
                                         audit_fallback_dir or user_data_dir(), self.settings.auto_advance)
        self.batch = BatchSessionController(self.screening, self.results, self.reporter,
                                            audit_fallback_dir or user_data_dir(), device)
        self.export_dialog = ExportDialog(self.reporter, self, lambda: self.batch.run)
        self.tip = TipTrainingController(self.screening, self.officer,
                                         TipMarker(self.scan_view, lambda: self.tip.acknowledge()), tip_seed)
        self._folder: str | None = None  # the folder being opened: it gets a batch session
        self._wire()
        self.tip.configure_from(self.settings, self.reporter)
        self.menu_actions = build_menus(self)  # menus, keys and the decision toolbar
        self.threshold.set_calibration(None)
        self.resize(1400, 900)  # shrunk to the screen in showEvent
        geometry = self.settings.geometry()
        if not geometry.isEmpty():
            self.restoreGeometry(geometry)
            self.restoreState(self.settings.window_state())
        self._sized = not geometry.isEmpty()

    # -- layout ---------------------------------------------------------------------------------
    def _build_docks(self) -> None:
        self.audit_note = ElidedLabel("", min_chars=20)  # where the audit log goes, when not beside the scans
        self.audit_note.setObjectName("note")
        self.audit_note.setProperty("warn", True)
        self.audit_note.hide()
        self._docks = build_docks(self, self.scan_list, (self.model_panel, self.threshold_panel, self.display_panel,
                                                         self.audit_note), self.results)

    def _wire(self) -> None:
        s, v = self.screening, self.scan_view
        self.session.opened.connect(self._on_opened)
        self.session.model_changed.connect(self._on_model)
        self.session.status_changed.connect(self.status.text.setText)
        self.scan_list.row_activated.connect(s.go)
        self.threshold_panel.target_changed.connect(self.threshold.set_target)
        self.threshold.threshold_changed.connect(s.set_threshold)
        s.counts_changed.connect(self.threshold.set_counts)
        s.scan_failed.connect(lambda p, r: self.reporter.engine_error("Cannot score scan", p, r))
        s.current_changed.connect(self._on_current)
        for sig in (s.current_changed, s.result_shown, s.counts_changed, s.scan_failed, self.officer.decided):
            sig.connect(self._refresh_header)
        self.officer.audit_failed.connect(lambda p, r: self.reporter.engine_error("Audit log", p, r))
        self.officer.audit_moved.connect(self._on_audit_moved)
        self.status.cancel_requested.connect(s.cancel)
        self.model_panel.choose_requested.connect(self.choose_model)
        d = self.display_panel
        d.mode_changed.connect(v.set_mode)
        d.window_level_changed.connect(v.set_window_level)
        d.opacity_changed.connect(v.set_opacity)
        d.opacity_changed.connect(lambda o: setattr(self.settings, "overlay_opacity", o))
        d.cues_toggled.connect(v.set_cues_visible)
        v.pixel_info.connect(self.status.pixel.setText)
        b = self.batch
        self.results.row_activated.connect(b.show)
        self.results.cancel_requested.connect(b.cancel)
        b.records_ready.connect(self._show_records)
        b.status_changed.connect(self.session_label.setText)
        self.threshold.threshold_changed.connect(b.set_threshold)
        self.officer.decided.connect(b.record_decision)  # after the audit log, before moving on
        b.session_changed.connect(self.officer.set_session_file)
        self.officer.answer_hook = self.tip.answer  # S or C on a TIP bag answers the TIP, decides nothing
        self.tip.changed.connect(self._refresh_header)
        self.tip.enabled_changed.connect(lambda on: hide_score_columns(self.scan_list, self.results, on))
        self.threshold.threshold_changed.connect(self.tip.set_threshold)

    # -- user actions ---------------------------------------------------------------------------
    def open_paths(self, paths: list[str]) -> bool:
        """Scans, or a folder: a folder is listed, then scored into its batch session, in the background."""
        self._folder = str(paths[0]) if len(paths) == 1 and Path(paths[0]).is_dir() else None
        return self.session.open_paths([str(p) for p in paths])

    def open_session(self, path: str) -> None:
        """A session file: its results and decisions, with the model that scored it when that exists."""
        model = model_to_load(path, self.session.info.path if self.session.info else None)
        self.session.cancel_listing()  # a folder still being listed must not replace the session's scans
        self.batch.close()  # so loading its model does not restart the old session
        if model:
            self.load_model(model)
        self.batch.open_session(path, self._model_file())

    def choose_session(self) -> None:
        if path := ask_session(self, self.settings):
            self.open_session(path)

    def show_export(self) -> None:
        t = self.threshold.point
        recall = t.target if t.mode == "recall" else None
        self.export_dialog.prepare(self.batch.path or "", t.threshold, recall)
        self.export_dialog.show()
        self.export_dialog.raise_()

    def _model_file(self) -> str | None:
        info = self.session.info
        return info.path if info is not None and Path(info.path).is_file() else None

    def load_model(self, path: str) -> bool:
        return self.session.load_model(str(path))

    def choose_scans(self) -> None:
        if files := ask_scans(self, self.settings):
            self.open_paths(files)

    def choose_folder(self) -> None:
        if folder := ask_folder(self, self.settings):
            self.open_paths([folder])

    def choose_model(self) -> None:
        if path := ask_model(self, self.settings):
            self.load_model(path)

    def focus_scan_view(self) -> None:
        """Keys go to the window again, with the scan view focused (after a dialog, say)."""
        self.activateWindow()
        self.raise_()
        self.scan_view.graphics.setFocus(Qt.FocusReason.OtherFocusReason)

    def _then_focus(self, ask: Callable[[], str | None]) -> str | None:
        """Ask for the operator's name, then give the keyboard back to the scan view: the next S
        or C press must decide, not wait for a click on the window."""
        try:
            return ask()
        finally:
            self.focus_scan_view()

    def toggle_cues(self) -> None:
        self.display_panel.cues.toggle()  # the checkbox drives the view, so both stay in step

    def reset_display(self) -> None:
        self.display_panel.reset()
        self.scan_view.reset_display()

    # -- controller events --------------------------------------------------------------------
    def _on_opened(self, records: list, session_dir: str) -> None:
        # The batch first: the queue then claims the scan it scores, so the batch leaves that one.
        if self._folder is not None:
            self.batch.open_folder(self._folder, self._model_file())
        else:
            self.batch.close()
        self._show_records(records, session_dir)

    def _show_records(self, records: list, session_dir: str) -> None:
        self.officer.set_session(session_dir)
        self.tip.reset()
        self.screening.set_records(records)
        self.setWindowTitle(f"bagscan — {session_dir}")

    def _on_model(self, backend: Any, info: Any) -> None:
        self.batch.model_changed(self._model_file())  # before the queue rescores: one pipeline
        self.screening.set_backend(backend)
        self.threshold.set_calibration(info.calibration if info else None)
        if info is None:
            self.model_panel.show_none()
            self.status.model.setText("no model")
            return
        self.officer.set_model(info.name, info.path)
        device = device_label(info.device, self.worker.threads)
        self.model_panel.show_info(info.name, info.path, device, info.calibration_text, info.score_text)
        self.status.model.setText(f"{info.name} · {device}")

    def _on_audit_moved(self, text: str) -> None:
        """The audit log is not beside the scans: said once in the status bar, kept in the panel."""
        self.audit_note.setText(text)
        self.audit_note.setVisible(bool(text))
        if text:
            self.status.showMessage(text, 30000)

    def _on_current(self, item: Any) -> None:
        self.scan_view.setToolTip(item.path if item is not None else "")

    def _refresh_header(self, *_: Any) -> None:
        item = self.tip.display_item(self.screening.current_item)  # a TIP bag: its own score
        r = self.scan_view.result
        shown = r is not None and item is not None and r.path == item.path
        self.header.show_item(item, self.screening.threshold, len(self.scan_view.regions) if shown else 0)

    # -- drag and drop, show, close -----------------------------------------------------------
    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        fit_to_screen(self)
        if not self._sized:  # first run: docks as narrow as their content allows, the image gets the rest
            self._sized = True
            self.resizeDocks(list(self._docks[:2]), [370, 330], Qt.Orientation.Horizontal)
            self.resizeDocks([self._docks[2]], [200], Qt.Orientation.Vertical)

    def dragEnterEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        if local_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: Any) -> None:  # noqa: N802
        drop = Drop.of(event.mimeData())
        event.acceptProposedAction()
        if drop.models:
            self.load_model(drop.models[0])
        if drop.scans:
            self.open_paths(drop.scans)
        elif drop.sessions:
            self.open_session(drop.sessions[0])

    def closeEvent(self, event: Any) -> None:  # noqa: N802
        self.session.shutdown()
        self.batch.shutdown()
        self.export_dialog.wait()
        self.worker.stop()
        self.settings.save_window(self.saveGeometry(), self.saveState())
        self.settings.sync()
        self.reporter.close_all()
        super().closeEvent(event)
