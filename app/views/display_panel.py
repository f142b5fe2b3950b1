"""Display controls: enhancement, window/level, overlay opacity and the cue switch.

Only widgets and signals; the window connects them to the scan view. ``reset``
returns every control to the standard image, which is what the reset key does.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from . import enhance
from .overlay import FLAG_RGB, TOP_RGB, TRUTH_RGB


def _slider(lo: int, hi: int, value: int) -> QSlider:
    s = QSlider(Qt.Orientation.Horizontal)
    s.setRange(lo, hi)
    s.setValue(value)
    return s


def _legend() -> str:
    items = ((FLAG_RGB, "flagged patch / region"), (TOP_RGB, "most anomalous"), (TRUTH_RGB, "ground truth"))
    return "&nbsp;&nbsp; ".join(f'<span style="color:#{r:02x}{g:02x}{b:02x}">■</span> {text}'
                                for (r, g, b), text in items)


class DisplayPanel(QGroupBox):
    mode_changed = Signal(str)
    window_level_changed = Signal(float, float)  # window, level in [0, 1] units
    opacity_changed = Signal(float)
    cues_toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Display", parent)
        self.mode = QComboBox()
        for m in enhance.MODES:
            self.mode.addItem(f"{m.label}   [{m.shortcut}]", m.key)
        self.window = _slider(2, 100, 100)  # percent of the full range
        self.level = _slider(0, 100, 50)
        self.opacity = _slider(0, 100, 55)
        self.cues = QCheckBox("Show model cues   [H]")
        self.cues.setChecked(True)
        form = QFormLayout()
        form.addRow("Image", self.mode)
        form.addRow("Window", self.window)
        form.addRow("Level", self.level)
        form.addRow("Heat map", self.opacity)
        self.legend = QLabel(_legend())
        self.legend.setObjectName("legend")
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.cues)
        lay.addWidget(self.legend)
        self.mode.currentIndexChanged.connect(lambda i: self.mode_changed.emit(self.mode.itemData(i)))
        self.window.valueChanged.connect(self._emit_wl)
        self.level.valueChanged.connect(self._emit_wl)
        self.opacity.valueChanged.connect(lambda v: self.opacity_changed.emit(v / 100.0))
        self.cues.toggled.connect(self.cues_toggled)

    def _emit_wl(self) -> None:
        self.window_level_changed.emit(self.window.value() / 100.0, self.level.value() / 100.0)

    def set_mode(self, key: str) -> None:
        """Reflect a mode chosen by key; emits mode_changed like a user choice."""
        self.mode.setCurrentIndex(max(0, self.mode.findData(key)))

    def set_opacity(self, opacity: float) -> None:
        with QSignalBlocker(self.opacity):
            self.opacity.setValue(int(round(opacity * 100)))

    def reset(self) -> None:
        """Standard image, full window: the controls only; the window resets the view."""
        for w, v in ((self.window, 100), (self.level, 50)):
            with QSignalBlocker(w):
                w.setValue(v)
        with QSignalBlocker(self.mode):
            self.mode.setCurrentIndex(0)
