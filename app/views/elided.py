"""A one-line label that elides long text in the middle and keeps the whole text in its tooltip.

Paths and session lines differ at both ends (folder, file name), so the middle goes. A plain
QLabel's minimum width is its whole text: one long path in the status bar once made the window
1700 px wide. This label asks for ``min_chars`` characters at most and shows what fits.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class ElidedLabel(QLabel):
    def __init__(self, text: str = "", parent: QWidget | None = None, min_chars: int = 12) -> None:
        super().__init__(parent)
        self._full = ""
        self._min_chars = min_chars
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt override
        self._full = str(text)
        self.setToolTip(self._full)
        super().setText(self._full)
        self.updateGeometry()

    def text(self) -> str:
        return self._full

    def _pad(self) -> int:
        """What the style adds around the text (style-sheet padding, margins)."""
        return max(super().sizeHint().width() - self.fontMetrics().horizontalAdvance(self._full), 0)

    def _text_rect(self) -> QRect:
        pad = self._pad() // 2
        return self.rect().adjusted(pad, 0, -pad, 0)

    def shown_text(self) -> str:
        """What fits in the current width (the middle replaced by an ellipsis)."""
        width = max(self._text_rect().width(), 0)
        if self.fontMetrics().horizontalAdvance(self._full) <= width:  # elidedText rounds: it would cut a fit
            return self._full
        return self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideMiddle, width)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        fm = self.fontMetrics()
        width = min(fm.horizontalAdvance(self._full), fm.averageCharWidth() * self._min_chars)
        return QSize(width + self._pad(), super().sizeHint().height())

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return super().sizeHint()

    def paintEvent(self, _event: Any) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.setPen(self.palette().color(self.foregroundRole()))
        p.drawText(self._text_rect(), int(self.alignment() | Qt.AlignmentFlag.AlignVCenter), self.shown_text())
