"""The Qt boilerplate shared by the scan list and the batch results table.

Both are flat tables of rows with fixed column headers and one column whose text
depends on the threshold, so moving the threshold repaints that column only.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

Index = QModelIndex | QPersistentModelIndex


class ColumnTableModel(QAbstractTableModel):
    """Subclasses set ``columns`` and ``threshold_column`` and implement ``data``."""

    columns: tuple[str, ...] = ()
    threshold_column = 0

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[Any] = []
        self.threshold = math.inf

    def set_rows(self, rows: list[Any]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def refresh(self, row: int | None = None) -> None:
        if self.rows:
            a, b = (0, len(self.rows) - 1) if row is None else (row, row)
            self.dataChanged.emit(self.index(a, 0), self.index(b, len(self.columns) - 1))

    def set_threshold(self, threshold: float) -> None:
        self.threshold = threshold
        if self.rows:
            col = self.threshold_column
            self.dataChanged.emit(self.index(0, col), self.index(len(self.rows) - 1, col))

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802 - Qt signature
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802 - Qt signature
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section]
        return None
