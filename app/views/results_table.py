"""The batch results panel: the session's file, progress with Cancel, and a sortable results table.

One row per scan of the session (name, scan score, flagged patches at the window's
threshold, ground-truth category, decision, error). Flagged counts come from the
stored patch scores, so moving the threshold is one ``dataChanged`` over a column.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from engine.data.types import THREAT

from ..controllers.batch_session import ResultRow
from ..controllers.items import FAILED, PENDING
from .elided import ElidedLabel
from .scan_list import AMBER, GREEN, GREY, RED
from .status import ProgressControls
from .table_model import ColumnTableModel, Index

COLUMNS = ("Scan", "Score", "Flagged patches", "Category", "Decision", "Error")
NAME, SCORE, FLAGGED, CATEGORY, DECISION, ERROR = range(len(COLUMNS))
SORT_ROLE = Qt.ItemDataRole.UserRole + 1



class ResultsModel(ColumnTableModel):
    columns = COLUMNS
    threshold_column = FLAGGED
    rows: list[ResultRow]

    def text(self, r: ResultRow, col: int) -> str:
        if col == NAME:
            return r.name
        if col == SCORE:
            return "" if r.score is None else f"{r.score:.2f}"
        if col == FLAGGED:
            n = r.n_flagged(self.threshold)
            return ("…" if r.state == PENDING else "") if n is None else str(n)
        if col == CATEGORY:
            return r.category
        if col == DECISION:
            return r.decision.capitalize()
        return r.error

    def sort_key(self, r: ResultRow, col: int) -> Any:
        if col == SCORE:  # unscored and failed scans sort below every score
            return -math.inf if r.score is None else r.score
        if col == FLAGGED:
            n = r.n_flagged(self.threshold)
            return -1 if n is None else n
        return self.text(r, col)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r, col = self.rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(r, col)
        if role == SORT_ROLE:
            return self.sort_key(r, col)
        if role == Qt.ItemDataRole.ForegroundRole:
            if r.state == FAILED:
                return QBrush(AMBER)
            if r.state == PENDING:
                return QBrush(GREY)
            if col == FLAGGED:
                return QBrush(RED if r.n_flagged(self.threshold) else GREEN)
            if col == DECISION:
                return QBrush(RED if r.decision == "suspect" else GREEN)
            if col == CATEGORY:
                return QBrush(AMBER if r.label == THREAT else GREY)
        elif role == Qt.ItemDataRole.ToolTipRole:
            return f"{r.path}\n{r.error}" if r.error else r.path
        elif role == Qt.ItemDataRole.TextAlignmentRole and col in (SCORE, FLAGGED):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class ResultsPanel(ProgressControls, QWidget):
    """Reports the scan the analyst picks by path (the screening queue finds its own row)."""

    row_activated = Signal(str)
    cancel_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.model = ResultsModel()
        self.proxy = QSortFilterProxyModel()
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.session = ElidedLabel("No batch session: open a folder to score it into one.", min_chars=24)
        self.text = ElidedLabel("")
        self.bar = QProgressBar()
        self.bar.setFixedWidth(180)
        self.bar.setTextVisible(False)
        self.cancel = QPushButton("Cancel batch")
        self.cancel.setToolTip("Stop after the scan being scored; opening the folder again resumes")
        self.cancel.clicked.connect(self.cancel_requested)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(SCORE, Qt.SortOrder.DescendingOrder)  # the likeliest threats first
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)  # else a name wraps at its hyphen and the row shows only "demo-…"
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # scan names differ at their ends
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setStretchLastSection(True)  # the error text takes what is left
        for col, width in ((NAME, 160), (SCORE, 60), (FLAGGED, 130), (CATEGORY, 110), (DECISION, 80)):
            hh.resizeSection(col, width)
        bar = QHBoxLayout()
        bar.addWidget(self.text, 1)
        bar.addWidget(self.bar)
        bar.addWidget(self.cancel)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.session)
        lay.addLayout(bar)
        lay.addWidget(self.table, 1)
        lay.addStretch(0)  # takes the part of a row the table leaves
        self.bar.hide()
        self.cancel.hide()
        self._last = ""
        self.table.selectionModel().currentRowChanged.connect(self._on_current)

    # -- ResultsTableLike ----------------------------------------------------------------------
    def set_rows(self, rows: list[ResultRow]) -> None:
        self._last = ""
        self.model.set_rows(rows)

    def refresh(self, row: int | None = None) -> None:
        self.model.refresh(row)

    def set_threshold(self, threshold: float) -> None:
        self.model.set_threshold(threshold)

    def set_session(self, text: str) -> None:
        self.session.setText(text)

    # -- helpers for the window and tests ------------------------------------------------------
    def whole_rows(self) -> int:
        """Rows the table shows; its height is cut to a whole number of them (none shown half)."""
        return self.table.viewport().height() // self.table.verticalHeader().defaultSectionSize()

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._snap_table()

    def _snap_table(self) -> None:
        t = self.table
        row = t.verticalHeader().defaultSectionSize()
        avail = self.height() - t.y() - self.layout().contentsMargins().bottom()
        chrome = t.height() - t.viewport().height()  # header, frame and any scroll bar
        if avail <= chrome + row:
            t.setMaximumHeight(16777215)
            return
        t.setMaximumHeight(avail - (avail - chrome) % row)

    def visible_rows(self) -> list[ResultRow]:
        """Rows in the order shown (sorted)."""
        return [self.model.rows[self.proxy.mapToSource(self.proxy.index(r, 0)).row()]
                for r in range(self.proxy.rowCount())]

    def select_visible(self, row: int) -> None:
        self.table.selectRow(row)

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            return
        path = self.model.rows[self.proxy.mapToSource(current).row()].path
        if path != self._last:  # re-sorting moves the current row without the analyst choosing
            self._last = path
            self.row_activated.emit(path)
