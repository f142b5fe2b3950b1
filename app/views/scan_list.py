"""The scan list: name, score, flagged or clear, ground truth, decision; sortable and filterable.

A table model over the controller's :class:`ScanItem` list, behind a
``QSortFilterProxyModel`` (text filter on the name, plus a status filter).
Flags are derived from stored scores and the current threshold, so a
threshold change is one ``dataChanged`` over two columns, not a rebuild.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..controllers.items import FAILED, SCORING, ScanItem
from .table_model import ColumnTableModel, Index

COLUMNS = ("Scan", "Score", "Model", "Truth", "Decision")
NAME, SCORE, STATUS, TRUTH, DECISION = range(5)
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
FILTERS = ("All", "Flagged", "Clear", "Undecided", "Suspect", "Errors")
RED, GREEN = QColor(255, 99, 90), QColor(80, 200, 120)
AMBER, GREY = QColor(255, 190, 60), QColor(140, 148, 160)
WIDTHS = ((SCORE, 52), (STATUS, 66), (TRUTH, 74), (DECISION, 68))
NAME_MARGIN = 8  # per side: the style's text margin and the grid line, with a little to spare
NAME_SAMPLE = "demo-N0000001"  # the demo's scan names, the longest usual ones (SIXray's are N0000001)


def truth_short(item: ScanItem) -> str:
    """The category for a threat (what the officer looks for), else Normal or nothing."""
    if item.record.is_threat:
        return ", ".join(item.record.categories) or "Threat"
    return item.truth


class ScanTableModel(ColumnTableModel):
    columns = COLUMNS
    threshold_column = STATUS

    @property
    def items(self) -> list[ScanItem]:
        return self.rows

    def set_items(self, items: list[ScanItem]) -> None:
        self.set_rows(items)

    def status(self, item: ScanItem) -> str:
        if item.state == FAILED:
            return "Error"
        flagged = item.flagged(self.threshold)
        if flagged is None:
            return "Scoring…" if item.state == SCORING else "—"
        return "Flagged" if flagged else "Clear"

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        item, col = self.items[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == NAME:
                return item.name
            if col == SCORE:
                return "" if item.score is None else f"{item.score:.2f}"
            if col == STATUS:
                return self.status(item)
            if col == TRUTH:
                return truth_short(item)
            if col == DECISION:
                return item.decision.capitalize()
        elif role == SORT_ROLE:
            if col == SCORE:
                return -math.inf if item.score is None else item.score
            return str(self.data(index, Qt.ItemDataRole.DisplayRole))
        elif role == Qt.ItemDataRole.ForegroundRole:
            if col == STATUS:
                return QBrush({"Flagged": RED, "Clear": GREEN, "Error": AMBER}.get(self.status(item), GREY))
            if col == DECISION:
                return QBrush(RED if item.decision == "suspect" else GREEN)
            if col == TRUTH:
                return QBrush(AMBER if item.record.is_threat else GREY)
        elif role == Qt.ItemDataRole.ToolTipRole:
            tip = item.error or (f"{item.path}\n{item.truth}" if item.truth else item.path)
            return f"{item.name}\n{tip}" if col == NAME else tip  # the whole name, however narrow the column
        elif role == Qt.ItemDataRole.TextAlignmentRole and col == SCORE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class ScanFilterProxy(QSortFilterProxyModel):
    """Name text filter plus a status filter (All, Flagged, Clear, Undecided, Suspect, Errors)."""

    def __init__(self) -> None:
        super().__init__()
        self.status_filter = "All"
        self.setSortRole(SORT_ROLE)
        self.setFilterKeyColumn(NAME)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

    def set_status_filter(self, name: str) -> None:
        self.beginFilterChange()  # Qt >= 6.9; invalidateFilter() is deprecated
        self.status_filter = name
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, row: int, parent: Index) -> bool:  # noqa: N802
        if not super().filterAcceptsRow(row, parent):
            return False
        model: ScanTableModel = self.sourceModel()  # type: ignore[assignment]
        item = model.items[row]
        f = self.status_filter
        if f == "All":
            return True
        if f in ("Flagged", "Clear"):
            return model.status(item) == f
        if f == "Undecided":
            return not item.decision
        if f == "Suspect":
            return item.decision == "suspect"
        return model.status(item) == "Error"


class ScanListView(QWidget):
    """Filter bar and table; reports the row the officer picks, in source-model rows."""

    row_activated = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self.model = ScanTableModel()
        self.proxy = ScanFilterProxy()
        self.proxy.setSourceModel(self.model)
        self.filter_edit = QLineEdit(placeholderText="Filter by name…", clearButtonEnabled=True)
        self.status_combo = QComboBox()
        self.status_combo.addItems(FILTERS)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(NAME, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.setAlternatingRowColors(True)
        # Names differ at their ends (demo-N0000001, demo-N0000002): elide in the middle. Word wrap
        # must be off for that: wrapped at the hyphen, a row shows only "demo-" and elides that.
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        hh = self.table.horizontalHeader()
        hh.setMinimumSectionSize(40)
        for col, width in WIDTHS:
            hh.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            hh.resizeSection(col, width)
        hh.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)  # the name takes what is left
        bar = QHBoxLayout()
        bar.addWidget(self.filter_edit, 1)
        bar.addWidget(self.status_combo)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(bar)
        lay.addWidget(self.table)
        self.setMinimumWidth(self._width_for_names())
        self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)
        self.status_combo.currentTextChanged.connect(self.proxy.set_status_filter)
        self._selecting = False
        self.table.selectionModel().currentRowChanged.connect(self._on_current)

    def _width_for_names(self) -> int:
        """Room for a whole NAME_SAMPLE beside the other columns, so the demo's names show unelided."""
        t = self.table
        name = t.fontMetrics().horizontalAdvance(NAME_SAMPLE) + 2 * NAME_MARGIN
        chrome = 2 * t.frameWidth() + t.verticalScrollBar().sizeHint().width() + 8  # + the layout's margins
        return max(360, sum(w for _, w in WIDTHS) + name + chrome)

    # -- ScanListLike --------------------------------------------------------------------------
    def set_items(self, items: list[ScanItem]) -> None:
        with self._quiet():
            self.model.set_items(items)

    def refresh(self, row: int | None = None) -> None:
        with self._quiet():
            self.model.refresh(row)

    def set_threshold(self, threshold: float) -> None:
        with self._quiet():
            self.model.set_threshold(threshold)

    @contextmanager
    def _quiet(self) -> Iterator[None]:
        """Selection changes caused by the program (re-sorting, filtering) are not the officer's."""
        old, self._selecting = self._selecting, True
        try:
            yield
        finally:
            self._selecting = old

    def select_row(self, row: int) -> None:
        idx = self.proxy.mapFromSource(self.model.index(row, 0))
        if idx.isValid():
            with self._quiet():
                self.table.selectRow(idx.row())
                self.table.scrollTo(idx)

    def visible_rows(self) -> list[int]:
        """Source rows in the order the officer sees them (sorted and filtered)."""
        return [self.proxy.mapToSource(self.proxy.index(r, 0)).row() for r in range(self.proxy.rowCount())]

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not self._selecting and current.isValid():
            self.row_activated.emit(self.proxy.mapToSource(current).row())
