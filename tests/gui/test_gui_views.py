"""Views without a model: list sorting and filtering, settings, header text, display keys, readout."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest

from app.controllers.items import FAILED, SCORED, ScanItem
from app.settings import Settings
from app.views.scan_header import summary_html
from app.views.scan_list import NAME, SCORE, ScanListView
from engine.data.types import Box, ScanRecord
from engine.scoring import ScanResult
from tests.gui.helpers import BOXES


def item(name: str, score: float | None, label: str = "unknown", decision: str = "") -> ScanItem:
    rec = ScanRecord(f"/s/{name}.png", name, label, ("Gun",) if label == "threat" else ())
    it = ScanItem(rec, decision=decision)
    if score is not None:
        scores = np.array([score, 0, 0, 0], np.float32)
        it.result = ScanResult(rec.path, name, 64, 64, "", BOXES, scores, score, 0.1)
        it.state = SCORED
    return it


def test_scan_list_sorts_by_score_and_filters_by_status_and_name(qtbot) -> None:
    view = ScanListView()
    qtbot.addWidget(view)
    items = [item("a", 1.0, "normal"), item("b", 5.0, "threat", "suspect"), item("c", 3.0), item("d", None)]
    items[3].state, items[3].error = FAILED, "corrupt"
    view.set_items(items)
    view.set_threshold(2.0)
    assert view.visible_rows() == [0, 1, 2, 3]  # by name
    view.table.sortByColumn(SCORE, Qt.SortOrder.DescendingOrder)
    assert view.visible_rows() == [1, 2, 0, 3]
    view.status_combo.setCurrentText("Flagged")
    assert sorted(view.visible_rows()) == [1, 2]
    view.set_threshold(4.0)  # re-flag: the filter follows without a rebuild
    assert view.visible_rows() == [1]
    for name, rows in (("Clear", [0, 2]), ("Suspect", [1]), ("Errors", [3]), ("Undecided", [0, 2, 3])):
        view.status_combo.setCurrentText(name)
        assert sorted(view.visible_rows()) == rows, name
    view.status_combo.setCurrentText("All")
    view.filter_edit.setText("C")
    assert view.visible_rows() == [2]
    m = view.model
    assert [m.data(m.index(1, c)) for c in range(5)] == ["b", "5.00", "Flagged", "Gun", "Suspect"]
    view.filter_edit.clear()
    view.table.sortByColumn(NAME, Qt.SortOrder.AscendingOrder)
    seen = []
    view.row_activated.connect(seen.append)
    view.select_row(2)  # programmatic: not the officer's choice, no signal
    QTest.keyClick(view.table, Qt.Key.Key_Down)  # the officer's choice
    assert seen == [3]


def test_settings_round_trip_and_survive_bad_values(tmp_path: Path) -> None:
    ini = tmp_path / "s.ini"
    s = Settings(QSettings(str(ini), QSettings.Format.IniFormat))
    s.model_path, s.overlay_opacity, s.auto_advance = "/m.h5", 0.3, False
    s.sync()
    again = Settings(QSettings(str(ini), QSettings.Format.IniFormat))
    assert (again.model_path, again.overlay_opacity, again.auto_advance) == ("/m.h5", 0.3, False)
    ini.write_text("[view]\noverlay_opacity=lots\n[threshold]\ntarget_recall=7\n")
    broken = Settings(QSettings(str(ini), QSettings.Format.IniFormat))
    assert broken.overlay_opacity in (0.0, 0.55) and broken.target_recall == 1.0  # clamped, never a crash


def test_header_says_what_the_model_says_at_this_threshold() -> None:
    it = item("P1", 5.0, "threat")
    assert "FLAGGED" in summary_html(it, 2.0, n_regions=1) and "1 region" in summary_html(it, 2.0, 1)
    assert "CLEAR" in summary_html(it, 9.0) and "truth: Gun" in summary_html(it, 9.0)
    assert "scoring" in summary_html(item("x", None), 1.0)
    assert "No scan" in summary_html(None, math.inf)


def test_display_keys_enhance_reset_and_hide_cues(qtbot, make_window, gui_data) -> None:
    win = make_window()
    win.open_paths([str(gui_data.threats[0])])  # no model: the image still shows, nothing is scored
    qtbot.waitUntil(lambda: win.scan_view.image is not None, timeout=5000)
    raw = win.scan_view.image_item.image.copy()
    QTest.keyClick(win.scan_list.table, Qt.Key.Key_1)  # negative, with focus in the list
    assert win.scan_view.mode == "negative" and win.display_panel.mode.currentData() == "negative"
    np.testing.assert_array_equal(win.scan_view.image_item.image, 255 - raw)
    win.display_panel.window.setValue(40)
    assert win.scan_view.image_item.levels is not None
    QTest.keyClick(win, Qt.Key.Key_0)  # one key back to the standard image
    assert win.scan_view.mode == "standard" and win.scan_view.image_item.levels is None
    assert win.display_panel.window.value() == 100
    np.testing.assert_array_equal(win.scan_view.image_item.image, raw)
    QTest.keyClick(win, Qt.Key.Key_H)
    assert not win.scan_view.cues_visible and not win.display_panel.cues.isChecked()
    QTest.keyClick(win, Qt.Key.Key_H)
    assert win.scan_view.truth_item.isVisible()
    text = win.scan_view.readout(130, 110)
    assert "x 130  y 110" in text and "RGB 10 10 40" in text  # inside the dark bar
    box = win.scan_view.truth_item.path().boundingRect()
    assert box.width() == 80 and box.height() == 40
    assert win.model_panel.name.text() == "none loaded" and not win.threshold_panel.isEnabled()
    assert isinstance(win.screening.current_item.record.boxes[0], Box)


def test_a_refused_audit_write_falls_back_and_says_so(qtbot, make_window, gui_data, tmp_path: Path) -> None:
    from app.audit import AUDIT_NAME, AuditLog, read_records

    win = make_window()
    win.open_paths([str(gui_data.normals[0])])
    qtbot.waitUntil(lambda: win.scan_view.image is not None, timeout=5000)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    win.officer.audit = AuditLog(blocker / AUDIT_NAME)  # as if the session folder turned read-only
    QTest.keyClick(win, Qt.Key.Key_S)
    fallback = tmp_path / "fallback" / AUDIT_NAME
    recs = read_records(fallback)
    assert [r["decision"] for r in recs] == ["suspect"] and recs[0]["scan"] == str(gui_data.normals[0])
    assert recs[0]["flagged"] is None and recs[0]["threshold"] is None  # no model: nothing claimed
    assert win.reporter.reports[-1].title == "Audit log" and str(fallback) in win.reporter.reports[-1].message


def test_attention_overlay_replaces_the_heat_map_only_where_the_result_has_one(qtbot) -> None:
    from app.views.overlay import ATTENTION_RGB
    from app.views.scan_view import ScanView

    view = ScanView()
    qtbot.addWidget(view)
    view.show_image("/s/a.png", np.full((64, 64, 3), 200, np.uint8))
    scores = np.array([5.0, 0.0, 0.0, 0.0], np.float32)
    plain = ScanResult("/s/a.png", "a", 64, 64, "", BOXES, scores, 5.0, 0.1)
    view.show_result(plain, 1.0)
    heat = view.heat_item.image.copy()
    view.set_attention_overlay(True)  # no attention in this result: the score heat map stays
    assert not view.showing_attention() and np.array_equal(view.heat_item.image, heat)
    with_att = ScanResult("/s/a.png", "a", 64, 64, "", BOXES, scores, 5.0, 0.1,
                          attention=np.array([0.0, 0.0, 0.0, 1.0], np.float32))
    view.show_result(with_att, 1.0)
    img = view.heat_item.image
    assert view.showing_attention() and tuple(img[..., :3].reshape(-1, 3).max(0)) == ATTENTION_RGB
    assert img[..., 3].max() > 0 and img[..., 3].min() == 0  # only the attended patch shows
    assert len(view.regions) == 1  # flagged regions still come from the scores
    view.set_attention_overlay(False)
    assert not view.showing_attention() and (view.heat_item.image[..., 0] == 255).any()
