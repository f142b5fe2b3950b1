"""What the officer must always see about the model: its name, file, device, score definition and calibration."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QPushButton, QVBoxLayout


class ModelPanel(QGroupBox):
    choose_requested = Signal()

    def __init__(self) -> None:
        super().__init__("Model")
        self.name = QLabel("none loaded")
        self.name.setObjectName("modelName")
        self.file = QLabel("—")
        self.device = QLabel("—")
        self.calibration = QLabel("—")
        self.score = QLabel("—")
        for lab in (self.file, self.calibration, self.score):
            lab.setWordWrap(True)
            lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form = QFormLayout()
        form.addRow("Model", self.name)
        form.addRow("File", self.file)
        form.addRow("Device", self.device)
        form.addRow("Score", self.score)
        form.addRow("Calibration", self.calibration)
        button = QPushButton("Choose model file…")
        button.clicked.connect(self.choose_requested)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(button)

    def show_info(self, name: str, path: str, device: str, calibration: str, score: str = "—") -> None:
        self.name.setText(name)
        self.file.setText(Path(path).name if path else "—")
        self.file.setToolTip(path)
        self.device.setText(device)
        self.calibration.setText(calibration)
        self.score.setText(score)

    def show_none(self, reason: str = "none loaded") -> None:
        self.show_info(reason, "", "—", "—")
