"""The operating-point panel: a target-recall slider, its numeric twin, and the live readout.

A dumb view: it emits the target the officer picks and shows what the
:class:`app.controllers.threshold.ThresholdController` computes (threshold,
estimated false-alarm rate, recall on calibration threats, flagged scans).
"""

from __future__ import annotations

import math

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QVBoxLayout,
)

from ..controllers.threshold import FAR, NONE, RECALL, STEPS, OperatingPoint


def _pct(x: float) -> str:
    return "—" if x is None or math.isnan(x) else f"{100.0 * x:.1f} %"


class ThresholdPanel(QGroupBox):
    target_changed = Signal(float)  # target recall or target FAR, as a fraction

    def __init__(self) -> None:
        super().__init__("Operating point")
        self.mode = NONE
        self.lo, self.hi = 0.0, 1.0
        self.caption = QLabel("Target recall")
        self.caption.setObjectName("caption")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, STEPS)
        self.slider.setPageStep(STEPS // 20)
        self.spin = QDoubleSpinBox()
        self.spin.setDecimals(1)
        self.spin.setSuffix(" %")
        self.spin.setSingleStep(0.5)
        self.spin.setKeyboardTracking(False)
        self.spin.setFixedWidth(88)
        row = QHBoxLayout()
        row.addWidget(self.slider, 1)
        row.addWidget(self.spin)
        self.threshold_label = QLabel("—")
        self.far_label = QLabel("—")
        self.recall_label = QLabel("—")
        self.flagged_label = QLabel("—")
        self.flagged_label.setObjectName("flaggedCount")
        for lab in (self.threshold_label, self.far_label, self.recall_label, self.flagged_label):
            lab.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form = QFormLayout()
        form.addRow("Threshold", self.threshold_label)
        form.addRow("Est. false alarms", self.far_label)
        self._recall_row_label = QLabel("Recall (calibration)")
        form.addRow(self._recall_row_label, self.recall_label)
        form.addRow("Flagged scans", self.flagged_label)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setObjectName("note")
        lay = QVBoxLayout(self)
        lay.addWidget(self.caption)
        lay.addLayout(row)
        lay.addLayout(form)
        lay.addWidget(self.note)
        self.slider.valueChanged.connect(self._from_slider)
        self.spin.valueChanged.connect(self._from_spin)
        self.setEnabled(False)

    # -- driven by the controller --------------------------------------------------------------
    def configure(self, mode: str, lo: float, hi: float, note: str) -> None:
        self.mode, self.lo, self.hi = mode, lo, hi
        self.caption.setText({RECALL: "Target recall", FAR: "Target false-alarm rate (FAR)"}.get(mode, "—"))
        with QSignalBlocker(self.spin):
            self.spin.setRange(100.0 * lo, 100.0 * hi)
        self.note.setText(note)
        self.note.setProperty("warn", mode != RECALL)
        self.note.style().unpolish(self.note)
        self.note.style().polish(self.note)
        self._recall_row_label.setVisible(mode == RECALL)
        self.recall_label.setVisible(mode == RECALL)
        self.setEnabled(mode != NONE)

    def set_target(self, target: float) -> None:
        """Mirror the target in both widgets without feeding back."""
        with QSignalBlocker(self.slider), QSignalBlocker(self.spin):
            self.slider.setValue(self._to_slider(target))
            self.spin.setValue(100.0 * target)

    def set_readout(self, point: OperatingPoint, flagged: int, scored: int, total: int) -> None:
        t = point.threshold
        self.threshold_label.setText("—" if not math.isfinite(t) else f"{t:.3f}")
        self.far_label.setText(_pct(point.far) + (" of clear bags" if not math.isnan(point.far) else ""))
        self.recall_label.setText(_pct(point.recall))
        pending = f"  ({total - scored} not scored yet)" if scored < total else ""
        self.flagged_label.setText(f"{flagged} / {scored}{pending}")

    # -- user input ---------------------------------------------------------------------------
    def _to_slider(self, target: float) -> int:
        if self.hi <= self.lo:
            return 0
        return int(round((min(max(target, self.lo), self.hi) - self.lo) / (self.hi - self.lo) * STEPS))

    def _from_slider(self, pos: int) -> None:
        self.target_changed.emit(self.lo + (self.hi - self.lo) * pos / STEPS)

    def _from_spin(self, value: float) -> None:
        self.target_changed.emit(value / 100.0)
