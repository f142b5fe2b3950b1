"""Status bar: scoring progress with a Cancel button, the pixel readout, and the model in use."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar

from .elided import ElidedLabel


class ProgressControls:
    """A label, a progress bar and a Cancel button that show while work runs (status bar, results panel)."""

    text: QLabel
    bar: QProgressBar
    cancel: QPushButton

    def progress(self, text: str, done: int, total: int) -> None:
        """``total`` 0 shows a busy bar (work started, size not known yet)."""
        self.text.setText(text)
        self.bar.setRange(0, max(total, 0))
        self.bar.setValue(done)
        self.bar.show()
        self.cancel.show()

    def idle(self, text: str) -> None:
        self.text.setText(text)
        self.bar.hide()
        self.cancel.hide()


class StatusView(ProgressControls, QStatusBar):
    cancel_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.text = ElidedLabel("Ready")
        self.bar = QProgressBar()
        self.bar.setFixedWidth(180)
        self.bar.setTextVisible(False)
        self.cancel = QPushButton("Cancel")
        self.cancel.setToolTip("Stop scoring (Esc)")
        self.cancel.clicked.connect(self.cancel_requested)
        self.pixel = ElidedLabel("", min_chars=16)
        self.pixel.setObjectName("pixelReadout")
        self.model = ElidedLabel("", min_chars=40)  # the model and device stay readable
        self.model.setObjectName("modelStatus")
        self.addWidget(self.text, 1)
        self.addWidget(self.bar)
        self.addWidget(self.cancel)
        self.addPermanentWidget(self.pixel)
        self.addPermanentWidget(self.model)
        self.bar.hide()
        self.cancel.hide()

    @property
    def busy(self) -> bool:
        return not self.bar.isHidden()
