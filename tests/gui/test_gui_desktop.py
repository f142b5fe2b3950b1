"""The window on a real desktop: it fits a 1366 x 768 laptop screen with a session open, long paths
elide, keyboard focus comes back after the operator prompt, the audit log's location is shown once,
and the small things an officer noticed (whole result rows, visible spin-box arrows)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QInputDialog

from app.audit import AUDIT_NAME
from engine.assets import demo_dir
from tests.gui.helpers import OPERATOR, wait_result
from tests.gui.test_gui_session import copy_scans, wait_batch

pytestmark = pytest.mark.slow
LAPTOP = (1366, 768)


def long_folder(tmp_path, gui_data):
    """The generated scans under a 200-character path, like a deep home or share."""
    deep = tmp_path.joinpath(*(f"screening-archive-{k:02d}" for k in range(10)))
    return copy_scans(gui_data, deep / "scans")


def test_the_window_fits_a_laptop_screen_with_a_session_open(qtbot, make_window, gui_data, tmp_path) -> None:
    folder = long_folder(tmp_path, gui_data)
    assert len(str(folder)) > 200
    win = make_window()
    assert win.load_model(str(gui_data.model_cal)) and win.open_paths([str(folder)])
    wait_batch(qtbot, win)
    qtbot.wait(100)
    hint = win.minimumSizeHint()
    assert hint.width() <= LAPTOP[0] and hint.height() <= LAPTOP[1], hint
    label = win.session_label  # the session line: the whole path in the tooltip, elided in the middle
    assert str(win.batch.path) in label.toolTip() and label.text() == label.toolTip()
    label.resize(300, label.height())
    shown = label.shown_text()
    assert "…" in shown and shown.startswith("Session") and shown.endswith(label.text()[-3:])
    assert str(win.batch.path) in win.results.session.toolTip()
    win.resize(*LAPTOP)
    qtbot.wait(50)
    assert win.width() <= LAPTOP[0] and win.height() <= LAPTOP[1]


def test_focus_returns_to_the_scan_view_after_the_operator_prompt(qtbot, make_window, gui_data) -> None:
    def prompt() -> str:  # the real dialog: it takes the focus while it is open
        dialog = QInputDialog()
        dialog.setTextValue(OPERATOR)
        QTimer.singleShot(100, dialog.accept)
        dialog.exec()
        return dialog.textValue()

    win = make_window(operator_provider=prompt)
    assert win.load_model(str(gui_data.model_cal)) and win.open_paths([str(p) for p in gui_data.normals])
    win.activateWindow()
    wait_result(qtbot, win, gui_data.normals[0])
    win.scan_list.table.setFocus()
    QTest.keyClick(win.scan_list.table, "s")  # asks for the name, then decides
    assert win.screening.current == 1 and win.officer.operator == OPERATOR
    qtbot.waitUntil(lambda: QApplication.focusWidget() is win.scan_view.graphics, timeout=3000)
    assert QApplication.activeWindow() is win
    wait_result(qtbot, win, gui_data.normals[1])
    QTest.keyClick(QApplication.focusWidget(), "c")  # the very next key decides: no click needed
    recs = [json.loads(x) for x in (gui_data.scans / "normal" / AUDIT_NAME).read_text().splitlines()][-2:]
    assert [r["decision"] for r in recs] == ["suspect", "clear"]
    assert [r["scan"] for r in recs] == [str(p) for p in gui_data.normals[:2]]


def test_the_audit_location_is_shown_once_in_the_window(qtbot, make_window, tmp_path) -> None:
    demo_scan = sorted((demo_dir() / "JPEGImage").glob("*.jpg"))[0]  # the install: never written
    win = make_window()
    said: list[str] = []
    win.officer.audit_moved.connect(said.append)
    assert win.open_paths([str(demo_scan)])
    qtbot.waitUntil(lambda: bool(said), timeout=10000)
    fallback = str(tmp_path / "fallback" / AUDIT_NAME)
    assert fallback in said[0] and "part of the bagscan install" in said[0]
    assert fallback in win.status.currentMessage()  # the status bar...
    assert win.audit_note.isVisible() and fallback in win.audit_note.toolTip()  # ...and the Screening panel
    win.open_paths([str(demo_scan)])
    qtbot.wait(200)
    assert len(said) == 1  # once, not at every opening


def test_a_decision_records_the_session_file_and_the_scans_folder(qtbot, make_window, gui_data, tmp_path) -> None:
    folder = copy_scans(gui_data, tmp_path / "scans")
    win = make_window()
    assert win.load_model(str(gui_data.model_cal)) and win.open_paths([str(folder)])
    wait_batch(qtbot, win)
    wait_result(qtbot, win, win.screening.current_item.path)
    rec = win.officer.clear()
    assert rec is not None and rec["session"] == win.batch.path and rec["session"].endswith(".h5")
    assert rec["folder"] == str(folder)


def test_the_results_pane_shows_whole_rows_only(qtbot, make_window, gui_data, tmp_path) -> None:
    folder = copy_scans(gui_data, tmp_path / "scans")
    win = make_window()
    assert win.load_model(str(gui_data.model_cal)) and win.open_paths([str(folder)])
    wait_batch(qtbot, win)
    panel, row = win.results, win.results.table.verticalHeader().defaultSectionSize()
    for height in (150, 173, 200, 231, 260):
        panel.resize(panel.width(), height)
        qtbot.wait(20)
        assert panel.table.viewport().height() % row == 0, (height, panel.table.viewport().height())
        assert panel.whole_rows() >= 1


def test_the_recall_spin_box_arrows_are_visible_in_the_dark_theme(qtbot, make_window) -> None:
    win = make_window()
    spin = win.threshold_panel.spin
    win.threshold_panel.configure("recall", 0.5, 1.0, "")
    win.threshold_panel.set_target(0.9)
    qtbot.wait(20)
    img = spin.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h = img.width(), img.height()
    px = np.frombuffer(img.constBits(), np.uint8, img.bytesPerLine() * h).reshape(h, -1)[:, : w * 3]
    buttons = px.reshape(h, w, 3)[:, w - 18 : w - 2].astype(int)
    assert int((buttons.mean(-1) > 180).sum()) >= 10  # light arrow pixels on the dark buttons
