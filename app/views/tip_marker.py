"""What the officer sees after answering a TIP bag: the projected threat framed, and a banner.

Drawn on top of the scan view's own layers (it adds one outline to the view box and
one banner widget over the image), so the scan view itself knows nothing of TIP.
Green for a hit (the officer sent the bag to search), red for a miss.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QFrame, QGraphicsPathItem, QHBoxLayout, QLabel, QPushButton

from .scan_view import ScanView

HIT_RGB, MISS_RGB = (60, 220, 120), (255, 69, 58)


class TipMarker:
    """A frame round the projected threat and a message with a Continue button, over a :class:`ScanView`."""

    def __init__(self, view: ScanView, on_continue: Callable[[], None]) -> None:
        self.view = view
        self.frame = QGraphicsPathItem()
        self.frame.setZValue(40)
        self.frame.setVisible(False)
        view.vb.addItem(self.frame)
        self.banner = QFrame(view.graphics)
        self.banner.setObjectName("tipBanner")
        lay = QHBoxLayout(self.banner)
        lay.setContentsMargins(14, 8, 8, 8)
        self.text = QLabel("")
        self.text.setObjectName("tipMessage")
        self.button = QPushButton("Continue with the real bag  [Enter]")
        self.button.setObjectName("tipContinue")
        self.button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the window's actions
        self.button.clicked.connect(on_continue)
        lay.addWidget(self.text, 1)
        lay.addWidget(self.button)
        self.banner.hide()

    @property
    def visible(self) -> bool:
        return self.banner.isVisible()

    def show(self, box: Sequence[int], hit: bool, message: str) -> None:
        rgb = HIT_RGB if hit else MISS_RGB
        pen = QPen(QColor(*rgb))
        pen.setWidthF(4.0)
        pen.setCosmetic(True)
        self.frame.setPen(pen)
        path = QPainterPath()
        if len(box) == 4:
            x0, y0, x1, y1 = (float(v) for v in box)
            pad = 6.0
            path.addRect(QRectF(x0 - pad, y0 - pad, x1 - x0 + 2 * pad, y1 - y0 + 2 * pad))
        self.frame.setPath(path)
        self.frame.setVisible(True)
        hex_rgb = "#{:02x}{:02x}{:02x}".format(*rgb)
        self.banner.setStyleSheet(
            f"#tipBanner {{ background: rgba(10, 12, 16, 225); border: 2px solid {hex_rgb}; border-radius: 6px; }}"
            f"#tipMessage {{ color: {hex_rgb}; font-size: 17px; font-weight: 700; }}")
        self.text.setText(message)
        self.banner.adjustSize()
        self._place()
        self.banner.show()
        self.banner.raise_()

    def hide(self) -> None:
        self.frame.setVisible(False)
        self.frame.setPath(QPainterPath())
        self.banner.hide()

    def _place(self) -> None:
        g = self.view.graphics
        width = min(max(self.banner.sizeHint().width(), 420), max(g.width() - 24, 200))
        self.banner.setGeometry((g.width() - width) // 2, 12, width, self.banner.sizeHint().height())
