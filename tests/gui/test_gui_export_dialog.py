"""File > Export report: the dialog writes the chosen files off the GUI thread, and errors go to a dialog."""

from __future__ import annotations

import csv
import re
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.commands import export as export_cmd
from app.dialogs.error import ErrorReporter
from app.dialogs.export_dialog import ExportDialog
from engine.batch import run_batch
from engine.reporting.regions import merge_regions
from tests.gui.helpers import OPERATOR

pytestmark = pytest.mark.slow


def pages(pdf: Path) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf.read_bytes()))


@pytest.fixture(scope="module")
def plain_session(gui_data, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session scored with the model that has no threat calibration (for the error paths)."""
    root = tmp_path_factory.mktemp("export_dialog")
    data = shutil.copytree(gui_data.scans, root / "scans", ignore=shutil.ignore_patterns(".bagscan", "*.jsonl"))
    out = root / "plain.h5"
    list(run_batch(data, gui_data.model, out, device="cpu", durable=False))
    return out


def test_export_writes_the_chosen_files_from_the_open_session(qtbot, make_window, gui_data, tmp_path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    folder = shutil.copytree(gui_data.scans, tmp_path / "scans", ignore=shutil.ignore_patterns(".bagscan", "*.jsonl"))
    win = make_window()
    assert win.load_model(str(gui_data.model_cal)) and win.open_paths([str(folder)])
    qtbot.waitUntil(lambda: win.batch.ready is not None and not win.batch.running, timeout=30000)
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow)
    QTest.keyClick(win.scan_list.table, Qt.Key.Key_S)  # N000: suspect, in the session and the report
    store = win.batch.store
    scans = [s for s in store.iter_results() if s.ok]
    t = float(np.quantile(np.concatenate([s.scores for s in scans]), 0.7))  # flags some patches
    threads: list[threading.Thread] = []
    real_csv = export_cmd.write_csv
    monkeypatch.setattr(export_cmd, "write_csv", lambda *a: (threads.append(threading.current_thread()),
                                                              real_csv(*a))[1])
    win.show_export()
    d = win.export_dialog
    assert d.isVisible() and d.session.edit.text() == str(win.batch.path)
    assert d.by_recall.isChecked()  # the window's operating point: target recall (threat calibration)
    d.by_threshold.setChecked(True)
    d.threshold.setValue(t)
    out = {"pdf": tmp_path / "out" / "r.pdf", "csv": tmp_path / "out" / "r.csv",
           "voc": tmp_path / "out" / "voc", "crops": tmp_path / "out" / "crops"}
    for key, row in d.outputs.items():
        row.check.setChecked(key in out)
        row.edit.setText(str(out.get(key, "")))
    with qtbot.waitSignal(d.exported, timeout=30000):
        QTest.mouseClick(d.export_button, Qt.MouseButton.LeftButton)
    assert threads and threads[0] is not threading.main_thread()  # written off the GUI thread
    want = [(s.index, k, reg) for s in scans if s.score >= d.threshold.value()
            for k, reg in enumerate(merge_regions(s.boxes, s.scores, d.threshold.value()), start=1)]
    with open(out["csv"], newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(want) > 0
    for row, (index, k, reg) in zip(rows, want, strict=True):
        assert (int(row["scan"]), int(row["region"])) == (index, k)
        assert [int(row[c]) for c in ("x0", "y0", "x1", "y1")] == list(reg.box)
        assert float(row["max_score"]) == pytest.approx(reg.max_score, abs=1e-5)
    n000 = [r for r in rows if r["name"] == "N000"]
    assert all(r["decision"] == "suspect" and r["operator"] == OPERATOR for r in n000)
    n_flagged = len({index for index, _, _ in want})
    assert out["pdf"].read_bytes()[:5] == b"%PDF-" and pages(out["pdf"]) == 1 + n_flagged
    assert len(list((out["voc"] / "Annotations").glob("*.xml"))) == n_flagged
    assert len(list(out["crops"].rglob("*.png"))) == len(want)
    qtbot.waitUntil(d.export_button.isEnabled, timeout=5000)  # the job has ended
    assert d.result is not None and str(out["csv"]) in d.text.text() and d.bar.isHidden()
    assert win.reporter.reports == []


def test_target_recall_without_threat_calibration_is_reported(qtbot, plain_session: Path, tmp_path) -> None:
    reporter = ErrorReporter(show_dialogs=False)
    d = ExportDialog(reporter)
    qtbot.addWidget(d)
    d.prepare(str(plain_session), target_recall=0.9)
    d.outputs["pdf"].check.setChecked(False)
    d.outputs["csv"].edit.setText(str(tmp_path / "r.csv"))
    assert d.by_recall.isChecked() and d.start()
    qtbot.waitUntil(lambda: not d.running and d.export_button.isEnabled(), timeout=20000)
    assert [r.title for r in reporter.reports] == ["Export failed"]
    assert "calibrat" in reporter.reports[0].message and not (tmp_path / "r.csv").exists()
    assert d.text.text().startswith("Export failed")


def test_calibrated_threshold_and_bad_inputs(qtbot, plain_session: Path, tmp_path) -> None:
    reporter = ErrorReporter(show_dialogs=False)
    d = ExportDialog(reporter)
    qtbot.addWidget(d)
    d.prepare(str(plain_session))
    assert d.calibrated.isChecked()
    for row in d.outputs.values():
        row.check.setChecked(False)
    assert not d.start() and "tick at least one output" in d.text.text()
    d.outputs["json"].check.setChecked(True)
    d.outputs["json"].edit.setText(str(tmp_path / "r.json"))
    with qtbot.waitSignal(d.exported, timeout=20000) as sig:
        assert d.start()
    assert sig.args[0].how.startswith("calibrated") and (tmp_path / "r.json").is_file()
    not_a_session = tmp_path / "x.h5"
    not_a_session.write_bytes(b"not hdf5")
    d.session.edit.setText(str(not_a_session))
    qtbot.waitUntil(lambda: not d.running, timeout=5000)  # one export at a time
    assert d.start()
    qtbot.waitUntil(lambda: len(reporter.reports) == 1 and not d.running, timeout=20000)
    assert reporter.reports[0].title == "Export failed" and str(not_a_session) in reporter.reports[0].message
