"""The Statistics dialog: per operator and per period, from audit logs alone, with CSV and PDF export.

It reads the audit logs it is given (the session's, plus any the supervisor adds),
computes :mod:`engine.reporting.officer_stats` and shows the table and the TIP hit
rate over time. Nothing else is consulted, so the same logs always give the same figures.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pyqtgraph as pg
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.errors import EngineError
from engine.reporting.officer_stats import ALL_OPERATORS, PERIODS, StatsTable, compute, csv_rows, hit_rate_series
from engine.reporting.officer_stats import write_csv as write_stats_csv

from ..audit import AUDIT_NAME, read_records
from ..pdf_stats import write_stats_pdf

if TYPE_CHECKING:
    from ..main_window import MainWindow

_COLOURS = ("#ffd60a", "#32d2ff", "#50c878", "#ff6b5e", "#c792ea", "#ffa657")


class StatisticsDialog(QDialog):
    def __init__(self, logs: list[str | Path], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Officer statistics")
        self.logs = [Path(p) for p in dict.fromkeys(str(p) for p in logs)]
        self.table_data = StatsTable("day", [])
        self.period = QComboBox()
        self.period.addItems(list(PERIODS))
        self.operator = QComboBox()
        self.operator.addItem(ALL_OPERATORS)
        add = QPushButton("Add audit log…")
        add.clicked.connect(self._choose_log)
        self.sources = QLabel("")
        self.sources.setWordWrap(True)
        self.note = QLabel("")  # what the last export wrote, or why it could not
        self.note.setWordWrap(True)
        top = QHBoxLayout()
        for w in (QLabel("Per"), self.period, QLabel("Operator"), self.operator, add):
            top.addWidget(w)
        top.addStretch(1)
        self.table = QTableWidget(0, 0)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.plot = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem()}, background=(18, 20, 24))
        self.plot.setLabel("left", "TIP hit rate (%)")
        self.plot.setYRange(0, 100)
        self.plot.addLegend(offset=(10, 10))
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.setMinimumHeight(180)
        csv_button, pdf_button, close = QPushButton("Export CSV…"), QPushButton("Export PDF…"), QPushButton("Close")
        csv_button.clicked.connect(lambda: self.export_csv())
        pdf_button.clicked.connect(lambda: self.export_pdf())
        close.clicked.connect(self.close)
        bottom = QHBoxLayout()
        bottom.addWidget(csv_button)
        bottom.addWidget(pdf_button)
        bottom.addWidget(self.note, 1)
        bottom.addWidget(close)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.sources)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.plot, 1)
        lay.addLayout(bottom)
        self.period.currentTextChanged.connect(lambda _: self.refresh())
        self.operator.currentTextChanged.connect(lambda _: self.refresh())
        self.resize(1000, 640)
        self.refresh()

    def add_log(self, path: str | Path) -> None:
        if Path(path) not in self.logs:
            self.logs.append(Path(path))
        self.refresh()

    def _choose_log(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Audit log", str(self.logs[0].parent if self.logs else ""),
                                              f"Audit logs ({AUDIT_NAME} *.jsonl);;All files (*)")
        if path:
            self.add_log(path)

    def refresh(self) -> None:
        """Re-read every log and recompute (a log may have grown since the dialog opened)."""
        records = [r for p in self.logs for r in read_records(p)]
        names = sorted({str(r.get("operator")) for r in records if r.get("operator")})
        chosen = self.operator.currentText()
        self.operator.blockSignals(True)
        self.operator.clear()
        self.operator.addItems([ALL_OPERATORS, *names])
        self.operator.setCurrentText(chosen if chosen in names else ALL_OPERATORS)
        self.operator.blockSignals(False)
        who = self.operator.currentText()
        single = None if who == ALL_OPERATORS else who
        self.table_data = compute(records, self.period.currentText(), single, total=single is None)
        n = len(records)
        self.sources.setText(f"{n} audit record{'s' if n != 1 else ''} from: "
                             + ("; ".join(str(p) for p in self.logs) or "no audit log yet"))
        self._fill_table()
        self._fill_plot()

    def _fill_table(self) -> None:
        head, body = csv_rows(self.table_data)
        self.table.clear()
        self.table.setColumnCount(len(head))
        self.table.setHorizontalHeaderLabels([h.replace("_", " ") for h in head])
        self.table.setRowCount(len(body))
        for i, row in enumerate(body):
            for j, cell in enumerate(row):
                self.table.setItem(i, j, QTableWidgetItem(cell))
        self.table.resizeColumnsToContents()

    def _fill_plot(self) -> None:
        self.plot.clear()
        for k, (name, points) in enumerate(hit_rate_series(self.table_data).items()):
            xs = [datetime(d.year, d.month, d.day, tzinfo=timezone.utc).timestamp() for d, _ in points]
            ys = [100 * v for _, v in points]
            colour = _COLOURS[k % len(_COLOURS)]
            self.plot.plot(xs, ys, pen=pg.mkPen(colour, width=2), symbol="o", symbolBrush=colour, name=name)

    def export_csv(self, path: str | Path | None = None) -> Path | None:
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export statistics (CSV)", "officer-statistics.csv",
                                                  "CSV (*.csv)")
        return self._export(path, lambda p: write_stats_csv(self.table_data, p))

    def export_pdf(self, path: str | Path | None = None) -> Path | None:
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export statistics (PDF)", "officer-statistics.pdf",
                                                  "PDF (*.pdf)")
        return self._export(path, lambda p: write_stats_pdf(p, self.table_data, [str(x) for x in self.logs]))

    def _export(self, path: str | Path | None, write: Callable[[Path], object]) -> Path | None:
        """Write, then say where (or the one-line reason it could not, naming the file)."""
        if not path:
            return None
        try:
            write(Path(path))
        except EngineError as exc:
            self.note.setText(str(exc))
            return None
        self.note.setText(f"wrote {path}")
        return Path(path)


def open_statistics(win: MainWindow) -> StatisticsDialog:
    """The session's audit log, and the per-user one (where read-only folders' decisions go)."""
    logs: list[str | Path] = []
    if win.officer.audit is not None:
        logs.append(win.officer.audit.path)
    fallback = win.officer.fallback_dir / AUDIT_NAME
    if fallback.exists():
        logs.append(fallback)
    dlg = StatisticsDialog(logs, win)
    win.statistics_dialog = dlg  # type: ignore[attr-defined] - kept alive while open
    dlg.show()
    return dlg
