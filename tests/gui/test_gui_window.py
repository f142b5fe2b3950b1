"""The whole window on generated scans with a real (tiny) model: scoring, slider, keys, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtTest import QTest

from app.audit import AUDIT_NAME
from engine.modelfile import load_model
from engine.scoring import Scorer
from tests.conftest import fake_bag, write_rgb
from tests.gui.helpers import BAR, OPERATOR, FakeBackend, wait_idle, wait_listed, wait_result

pytestmark = pytest.mark.slow


def open_window(make_window, gui_data, model: Path | None = None, paths: list | None = None, **kw):
    win = make_window(**kw)
    assert win.load_model(str(model or gui_data.model_cal))
    assert win.open_paths([str(p) for p in (paths or [gui_data.scans])])
    wait_listed(win)  # a folder is listed off the GUI thread
    return win


def test_scoring_shows_an_overlay_that_matches_the_engine(qtbot, make_window, gui_data) -> None:
    win = open_window(make_window, gui_data)
    first = win.screening.current_item
    assert first is not None and first.name == "N000"  # sorted by name: normal scans first
    wait_result(qtbot, win, first.path)
    assert win.model_panel.name.text() == "dsa" and win.model_panel.device.text().startswith("CPU")
    assert "threat" in win.model_panel.calibration.text()
    assert win.model_panel.score.text().startswith("patch score 0.9*recon' + 0.1*feat'")
    # Go to a threat scan; its scores must be the engine's, patch for patch.
    row = next(i for i, it in enumerate(win.screening.items) if it.name == "P000")
    win.screening.go(row)
    wait_result(qtbot, win, gui_data.threats[0])
    shown = win.scan_view.result
    ref = Scorer(load_model(gui_data.model_cal), device="cpu").score_scan(gui_data.threats[0])
    np.testing.assert_array_equal(shown.boxes, ref.boxes)
    np.testing.assert_allclose(shown.scores, ref.scores, rtol=1e-5, atol=1e-5)
    # Flag the top half of the patches: outlines are exactly the patches at or above threshold.
    t = float(np.median(ref.scores))
    win.screening.set_threshold(t)
    expected = {tuple(b) for b in ref.boxes[ref.scores >= t]}
    drawn = win.scan_view.patch_item.path()
    assert drawn.elementCount() == 5 * len(expected)  # a closed rectangle is 5 path elements
    for x0, y0, x1, y1 in expected:
        assert drawn.contains(QPointF((x0 + x1) / 2, (y0 + y1) / 2))
    assert win.scan_view.heat_item.image is not None and win.scan_view.regions
    assert sum(len(r.members) for r in win.scan_view.regions) == len(expected)
    truth = win.scan_view.truth_item.path().boundingRect()  # ground truth from the VOC file
    assert (truth.left(), truth.top(), truth.right(), truth.bottom()) == BAR
    assert win.screening.current_item.truth == "Threat (Knife)"


def test_slider_changes_flagged_count_without_rescoring(qtbot, make_window, gui_data) -> None:
    win = open_window(make_window, gui_data)
    scorer = win.session.backend.scorer
    calls = []
    original = scorer.score_components  # every scoring path (score_scan, score_arrays) goes through it
    scorer.score_components = lambda arrays: (calls.append(len(arrays)), original(arrays))[1]
    for _ in range(len(win.screening.items)):  # visit every scan so all are scored
        wait_result(qtbot, win, win.screening.current_item.path)
        win.screening.next()
    wait_idle(qtbot, win)
    n_calls = len(calls)
    assert n_calls > 0 and all(it.result is not None for it in win.screening.items)
    panel = win.threshold_panel
    assert panel.caption.text() == "Target recall"
    counts = {}
    for recall in (0.5, 1.0):
        panel.spin.setValue(100 * recall)
        counts[recall] = int(panel.flagged_label.text().split(" / ")[0])
        assert counts[recall] == win.screening.counts()[0]
    assert counts[1.0] > counts[0.5] >= 1  # more recall, more scans flagged
    panel.slider.setValue(panel.slider.minimum())
    assert panel.spin.value() == pytest.approx(50.0)
    statuses = [win.scan_list.model.status(it) for it in win.screening.items]
    assert statuses.count("Flagged") == counts[0.5]
    wait_idle(qtbot, win)
    assert len(calls) == n_calls  # nothing was rescored


def test_decision_keys_append_to_the_audit_log(qtbot, make_window, gui_data) -> None:
    asked = []
    win = open_window(make_window, gui_data, operator_provider=lambda: asked.append(1) or OPERATOR)
    win.activateWindow()
    first = win.screening.current_item
    wait_result(qtbot, win, first.path)
    QTest.keyClick(win.scan_list.table, Qt.Key.Key_C)  # keys work with the focus in the list
    log = gui_data.scans / AUDIT_NAME
    assert win.screening.current == 1  # auto-advance to the next scan
    second = win.screening.current_item
    wait_result(qtbot, win, second.path)
    QTest.keyClick(win, Qt.Key.Key_S)
    QTest.keyClick(win, Qt.Key.Key_P)
    QTest.keyClick(win, Qt.Key.Key_P)
    assert win.screening.current == 0
    QTest.keyClick(win, Qt.Key.Key_N)
    assert win.screening.current == 1
    recs = [json.loads(x) for x in log.read_text().splitlines()][-2:]
    assert [r["decision"] for r in recs] == ["clear", "suspect"]
    assert [r["scan"] for r in recs] == [first.path, second.path]
    for r in recs:
        assert r["operator"] == OPERATOR and r["model"] == "dsa" and r["model_file"].endswith("tiny_cal.h5")
        assert r["threshold"] == pytest.approx(win.threshold.threshold) and r["seconds_to_decision"] >= 0
        assert r["operating_point"].startswith("recall") and r["ground_truth"] == "normal"
    assert [it.decision for it in win.screening.items[:2]] == ["clear", "suspect"]
    assert asked == [1]  # the operator name is asked once per session
    assert win.scan_list.model.data(win.scan_list.model.index(1, 4)) == "Suspect"


def test_a_corrupt_scan_shows_an_error_and_the_window_lives_on(qtbot, make_window, gui_data,
                                                               tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    good = write_rgb(folder / "a_good.png", fake_bag(256, 320, seed=7))
    data = good.read_bytes()
    bad = folder / "b_corrupt.png"
    bad.write_bytes(data[:33] + b"\x00garbage" * 64 + data[-12:])  # valid header and IEND, no pixels
    win = open_window(make_window, gui_data, paths=[folder], show_dialogs=True)
    wait_result(qtbot, win, good)
    win.screening.next()
    qtbot.waitUntil(lambda: len(win.reporter.reports) == 1, timeout=10000)
    report = win.reporter.reports[0]
    assert str(bad) in report.message and "corrupt" in report.message and not report.fatal
    box = win.reporter.dialogs[0]
    assert box.isVisible() and not box.isModal() and str(bad) in box.text()
    assert win.scan_list.model.status(win.screening.items[1]) == "Error"
    win.screening.previous()  # the window still works
    assert win.scan_view.result is not None and win.scan_view.result.path == str(good)
    assert not win.open_paths([str(tmp_path / "missing.jpg")]) and len(win.reporter.reports) == 2
    assert win.load_model(str(bad)) is False and "Cannot load model" in win.reporter.reports[-1].title
    assert win.session.info.name == "dsa"  # the previous model stays in use


def test_cancel_button_stops_scoring(qtbot, make_window, gui_data) -> None:
    backend = FakeBackend(delay=0.05, batches=200)
    win = make_window(backend_factory=lambda path: backend)
    assert win.load_model("fake.h5")
    win.open_paths([str(gui_data.normals[0])])
    assert backend.started.wait(5)
    qtbot.waitUntil(lambda: win.status.cancel.isVisible(), timeout=3000)
    with qtbot.waitSignal(win.worker.cancelled, timeout=2000):
        QTest.mouseClick(win.status.cancel, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, win)
    assert backend.batches_run < 40 and not win.status.cancel.isVisible()
    assert "cancelled" in win.status.text.text()


def test_drop_opens_scans_and_model(qtbot, make_window, gui_data) -> None:
    win = make_window()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(gui_data.model_cal)), QUrl.fromLocalFile(str(gui_data.threats[0]))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    win.dropEvent(event)
    assert win.session.info is not None and win.session.info.name == "dsa"
    wait_result(qtbot, win, gui_data.threats[0])
    assert [it.name for it in win.screening.items] == ["P000"]
