"""The main window's docks, and keeping the window on its screen (a 1366 x 768 laptop included).

The Screening panel owns the whole right-hand side (the bottom-right corner) and scrolls rather
than pushing the window taller than the screen; the Batch results sit under the image only.
With TIP training on, the tables hide their score columns (a real bag's call would give a TIP bag away).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QFrame, QMainWindow, QScrollArea, QVBoxLayout, QWidget

from .views import results_table as result_cols
from .views import scan_list as scan_cols
from .views.results_table import ResultsPanel
from .views.scan_list import ScanListView


def build_docks(win: QMainWindow, scans: QWidget, panels: Sequence[QWidget],
                results: QWidget) -> tuple[QDockWidget, QDockWidget, QDockWidget]:
    """Scans on the left, the panels stacked on the right, results at the bottom: (left, right, bottom)."""
    left = QDockWidget("Scans", win)
    left.setObjectName("scansDock")
    left.setWidget(scans)
    win.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, left)
    side = QWidget()
    lay = QVBoxLayout(side)
    lay.setContentsMargins(6, 0, 6, 6)
    for w in panels:
        lay.addWidget(w)
    lay.addStretch(1)
    scroll = QScrollArea()
    scroll.setObjectName("screeningScroll")
    scroll.setWidget(side)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setMinimumWidth(side.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width())
    right = QDockWidget("Screening", win)
    right.setObjectName("screeningDock")
    right.setWidget(scroll)
    win.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, right)
    win.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
    win.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
    bottom = QDockWidget("Batch results", win)
    bottom.setObjectName("resultsDock")
    bottom.setWidget(results)
    win.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, bottom)
    return left, right, bottom


def fit_to_screen(win: QWidget) -> None:
    """Keep the whole window, frame included, on its screen: a default or restored size may not fit."""
    screen = win.screen()
    if screen is None:
        return
    avail = screen.availableGeometry()
    frame = win.frameGeometry()
    extra_w, extra_h = frame.width() - win.width(), frame.height() - win.height()
    w = min(win.width(), avail.width() - extra_w)
    h = min(win.height(), avail.height() - extra_h)
    if (w, h) != (win.width(), win.height()):
        win.resize(w, h)
    frame = win.frameGeometry()
    x = min(max(frame.x(), avail.x()), avail.right() + 1 - frame.width())
    y = min(max(frame.y(), avail.y()), avail.bottom() + 1 - frame.height())
    if (x, y) != (frame.x(), frame.y()):
        win.move(x, y)


def hide_score_columns(scan_list: ScanListView, results: ResultsPanel, hidden: bool) -> None:
    """With TIP on, no table shows a real bag's score or call beside the projected bag on screen."""
    for table, cols in ((scan_list.table, (scan_cols.SCORE, scan_cols.STATUS)),
                        (results.table, (result_cols.SCORE, result_cols.FLAGGED))):
        for c in cols:
            table.setColumnHidden(c, hidden)
