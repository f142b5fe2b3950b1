"""Error dialogs and the global exception hooks that feed them.

Every error the window shows goes through one :class:`ErrorReporter`: engine
errors (a bad scan or model file: title, file and reason) and uncaught
exceptions from any thread (with the traceback under "Show Details"). Hooks on
worker threads only emit a signal; the dialog is built on the GUI thread.
Dialogs are non-modal (``show()``, never ``exec()``), so tests are never blocked,
and each report is kept in :attr:`ErrorReporter.reports` for tests to check.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from dataclasses import dataclass
from types import TracebackType

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import QMessageBox, QWidget

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Report:
    title: str
    message: str
    details: str = ""
    fatal: bool = False  # an uncaught exception rather than an expected engine error


class ErrorReporter(QObject):
    """Collects reports and shows each as a non-modal dialog (unless ``show_dialogs`` is off)."""

    reported = Signal(object)  # Report, emitted on the GUI thread after it is recorded
    _from_any_thread = Signal(object)

    def __init__(self, parent_widget: QWidget | None = None, show_dialogs: bool = True) -> None:
        super().__init__()
        self.parent_widget = parent_widget
        self.show_dialogs = show_dialogs
        self.reports: list[Report] = []
        self.dialogs: list[QMessageBox] = []
        # Queued: a report emitted on a worker thread is handled on the thread this object lives in.
        self._from_any_thread.connect(self._handle, Qt.ConnectionType.QueuedConnection)

    def engine_error(self, title: str, path: str, reason: str) -> None:
        """An expected failure about one file: name the file and the reason."""
        self.report(Report(title, f"{path}\n\n{reason}"))

    def report(self, report: Report) -> None:
        """Thread-safe: callable from any thread."""
        if QThread.currentThread() == self.thread():
            self._handle(report)
        else:
            self._from_any_thread.emit(report)

    def exception(self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None,
                  where: str = "") -> None:
        details = "".join(traceback.format_exception(exc_type, exc, tb))
        log.error("uncaught exception%s:\n%s", f" in {where}" if where else "", details)
        title = "Unexpected error" + (f" in {where}" if where else "")
        self.report(Report(title, f"{exc_type.__name__}: {exc}", details, fatal=True))

    @Slot(object)
    def _handle(self, report: Report) -> None:
        self.reports.append(report)
        if not report.fatal:
            log.warning("%s: %s", report.title, report.message.replace("\n\n", ": "))
        if self.show_dialogs:
            self._show(report)
        self.reported.emit(report)

    def _show(self, report: Report) -> None:
        icon = QMessageBox.Icon.Critical if report.fatal else QMessageBox.Icon.Warning
        box = QMessageBox(icon, report.title, report.message, QMessageBox.StandardButton.Close,
                          self.parent_widget)
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if report.details:
            box.setDetailedText(report.details)
        box.destroyed.connect(lambda *_: self._forget(box))
        self.dialogs.append(box)
        box.show()  # non-modal and non-blocking: screening and scoring go on behind it

    def _forget(self, box: QMessageBox) -> None:
        if box in self.dialogs:
            self.dialogs.remove(box)

    def close_all(self) -> None:
        for box in list(self.dialogs):
            box.close()
        self.dialogs.clear()


class ExceptHooks:
    """Routes ``sys.excepthook`` and ``threading.excepthook`` to a reporter; ``uninstall`` restores."""

    def __init__(self, reporter: ErrorReporter) -> None:
        self.reporter = reporter
        self._saved: tuple = ()

    def install(self) -> ExceptHooks:
        self._saved = (sys.excepthook, threading.excepthook)
        sys.excepthook = self.sys_hook
        threading.excepthook = self.thread_hook
        return self

    def uninstall(self) -> None:
        if self._saved:
            sys.excepthook, threading.excepthook = self._saved
            self._saved = ()

    def sys_hook(self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        self.reporter.exception(exc_type, exc, tb)

    def thread_hook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "a thread"
        self.reporter.exception(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback,
                                where=f"thread {name}")
