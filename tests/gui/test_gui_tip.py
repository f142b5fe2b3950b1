"""TIP training in the window: S and C on a projected bag, the records, exports without TIP bags,
the supervisor's passphrase-locked settings and the Statistics dialog."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from app.audit import AUDIT_NAME, read_records
from app.commands.export import ExportRequest, iter_export
from app.dialogs.statistics import StatisticsDialog
from app.dialogs.tip_settings import TipSettingsDialog
from engine.data.io import file_sha256, read_scan, to_uint8
from engine.tip_training import TipConfig
from tests.gui.helpers import OPERATOR, wait_result

pytestmark = pytest.mark.slow

EVERY_BAG = TipConfig(enabled=True, rate=1, categories=("Gun",), per_category=2)


def wait_tip(qtbot, win, timeout: int = 20000):
    """Until a TIP bag is on screen with its own score; returns it."""
    tip = win.tip
    qtbot.waitUntil(lambda: tip.active is not None and tip.result_of(tip.active) is not None
                    and win.scan_view.path == tip.active.key and win.scan_view.result is not None
                    and win.scan_view.result.path == tip.active.key, timeout=timeout)
    return tip.active


def test_tip_hit_and_miss_are_recorded_and_never_reach_the_session_or_exports(qtbot, make_window, gui_data,
                                                                              tmp_path: Path) -> None:
    folder = shutil.copytree(gui_data.scans, tmp_path / "scans", ignore=shutil.ignore_patterns(".bagscan", "*.jsonl"))
    win = make_window(tip_seed=0)
    win.tip.configure(EVERY_BAG)
    assert win.load_model(str(gui_data.model_cal)) and win.open_paths([str(folder)])
    qtbot.waitUntil(lambda: win.batch.ready is not None and not win.batch.running, timeout=30000)
    audit = folder / AUDIT_NAME
    # -- S on a TIP bag: a hit, the threat framed, then the real bag underneath for its own decision --------
    bag = wait_tip(qtbot, win)
    host = win.screening.current_item
    assert bag.host == host.path and bag.category == "Gun"
    real = to_uint8(read_scan(host.path).pixels)
    shown = win.scan_view.image
    assert shown.shape == real.shape and (shown.astype(int) < real.astype(int) - 8).any()  # a threat went in
    assert (shown.astype(int) <= real.astype(int) + 1).all()
    tip_score = win.tip.result_of(bag).score
    assert f"score {tip_score:.2f}" in win.header.text()  # the header speaks of the bag on screen
    win.menu_actions.suspect.trigger()
    recs = read_records(audit)
    assert len(recs) == 1
    hit = recs[0]
    assert hit["decision"] == "suspect" and hit["scan"] == host.path and hit["operator"] == OPERATOR
    assert hit["tip"]["outcome"] == "hit" and hit["tip"]["category"] == "Gun" and hit["tip"]["image"] == ""
    x0, y0, x1, y1 = hit["tip"]["box"]
    assert 0 <= x0 < x1 <= real.shape[1] and 0 <= y0 < y1 <= real.shape[0]
    assert hit["scan_score"] == pytest.approx(tip_score) and hit["seconds_to_decision"] >= 0
    assert win.tip.marker.visible and win.tip.marker.text.text().startswith("TIP: projected threat found")
    assert "truth: TIP gun" in win.header.text()
    assert host.decision == "" and win.screening.current_item is host  # no decision, no advance
    win.menu_actions.suspect.trigger()  # held back until the message is acknowledged
    assert len(read_records(audit)) == 1
    win.tip.marker.button.click()
    wait_result(qtbot, win, host.path)
    assert not win.tip.marker.visible and win.tip.active is None
    np.testing.assert_array_equal(win.scan_view.image, real)  # the real bag, untouched
    win.menu_actions.suspect.trigger()
    real_rec = read_records(audit)[-1]
    assert "tip" not in real_rec and real_rec["decision"] == "suspect" and host.decision == "suspect"
    assert real_rec["sha256"] == file_sha256(host.path) and real_rec["scan_score"] == pytest.approx(host.score)
    # -- C on the next (every bag is TIP here): a miss, kept for review ---------------------------------
    bag2 = wait_tip(qtbot, win)
    host2 = win.screening.current_item
    assert bag2.host == host2.path != host.path
    win.menu_actions.clear.trigger()
    miss = read_records(audit)[-1]
    assert miss["tip"]["outcome"] == "miss" and miss["decision"] == "clear"
    assert win.tip.marker.text.text().startswith("TIP missed")
    kept = Path(miss["tip"]["image"])
    assert kept.parent == folder / "tip-missed" and kept.is_file()
    kept_rgb = to_uint8(read_scan(kept).pixels)
    bx0, by0, bx1, by1 = miss["tip"]["box"]
    assert kept_rgb[by0, bx0 + 3].tolist() == [255, 214, 10]  # framed
    inside = (slice(by0 + 4, by1 - 4), slice(bx0 + 4, bx1 - 4))
    np.testing.assert_array_equal(kept_rgb[inside], bag2.pixels[inside])  # the very image the officer saw
    next(a for a in win.actions() if a.shortcut().toString() == "Return").trigger()  # Enter: go on
    wait_result(qtbot, win, host2.path)
    win.menu_actions.clear.trigger()
    assert host2.decision == "clear"
    # -- the session file and every export know only the real bags and the two real decisions ----------
    qtbot.wait(50)
    store = win.batch.store
    decisions = list(store.decision_history())
    assert [(d.decision, d.sha256) for d in decisions] == [("suspect", file_sha256(host.path)),
                                                            ("clear", file_sha256(host2.path))]
    results = [s for s in store.iter_results()]
    assert sorted(s.path for s in results) == sorted(str(p) for p in folder.rglob("*.png")
                                                     if "tip-missed" not in p.parts)
    out = tmp_path / "out"
    req = ExportRequest(threshold=-1e9, json=str(out / "r.json"), csv=str(out / "r.csv"))  # every scan flagged
    done = [ev for ev in iter_export(store, req)][-1]
    assert done.summary["n_scans"] == 5 and done.summary["decisions"] == {"suspect": 1, "clear": 1}
    text = (out / "r.json").read_text() + (out / "r.csv").read_text()
    assert "tip:" not in text and "tip-missed" not in text
    rows = list(csv.DictReader((out / "r.csv").open()))
    by_path = {s.path: s.score for s in results}
    assert {r["path"] for r in rows} == set(by_path)
    for r in rows:
        assert float(r["scan_score"]) == pytest.approx(by_path[r["path"]], abs=1e-5)  # real scores only
    assert {r["path"]: r["decision"] for r in rows if r["decision"]} == {host.path: "suspect", host2.path: "clear"}
    # -- the Statistics dialog, from the audit log alone --------------------------------------------------
    dlg = StatisticsDialog([audit])
    qtbot.addWidget(dlg)
    dlg.period.setCurrentText("all")
    (me,) = [r for r in dlg.table_data.rows if r.operator == OPERATOR]
    assert (me.bags, me.suspects, me.tip_shown, me.tip_hits, me.tip_misses_by_category) == (2, 1, 2, 1, {"Gun": 1})
    assert dlg.table.rowCount() == 2 and dlg.table.item(0, 0).text() == OPERATOR
    csv_out, pdf_out = dlg.export_csv(tmp_path / "s.csv"), dlg.export_pdf(tmp_path / "s.pdf")
    row = next(csv.DictReader(csv_out.open()))
    assert (row["operator"], row["bags_screened"], row["tip_hit_rate"], row["tip_misses_Gun"]) == (
        OPERATOR, "2", "0.5000", "1")
    assert pdf_out.read_bytes()[:5] == b"%PDF-" and pdf_out.stat().st_size > 10000  # table and plot
    assert json.loads(audit.read_text().splitlines()[0])["tip"]["outcome"] == "hit"
    assert win.reporter.reports == []


def test_tip_settings_need_the_supervisor_passphrase_stored_hashed(qtbot, make_window, tmp_path: Path) -> None:
    win = make_window()
    assert not win.tip.config.enabled and win.settings.supervisor_hash == ""
    d = TipSettingsDialog(win.settings, win.tip, win)
    qtbot.addWidget(d)
    assert d.repeat.isVisibleTo(d) and not d.form.isEnabled()
    d.passphrase.setText("guardian")
    d.repeat.setText("guardiam")
    assert not d.unlock() and "differ" in d.message.text()
    d.passphrase.setText("short")
    d.repeat.setText("short")
    assert not d.unlock() and not d.form.isEnabled()
    d.passphrase.setText("guardian")
    d.repeat.setText("guardian")
    assert d.unlock() and d.form.isEnabled()
    stored = win.settings.supervisor_hash
    assert stored.startswith("scrypt$") and "guardian" not in stored
    assert "guardian" not in Path(win.settings.q.fileName()).read_text()
    d.enabled.setChecked(True)
    d.rate.setValue(5)
    for c, box in d.categories.items():
        box.setChecked(c in ("Gun", "Knife"))
    d.folder_radio.setChecked(True)
    d.folder.setText(str(tmp_path / "no such folder"))
    d.accept()
    assert d.result() == 0 and "does not exist" in d.message.text() and not win.tip.config.enabled
    d.synthetic.setChecked(True)
    d.accept()
    assert d.result() == 1
    cfg = win.tip.config
    assert (cfg.enabled, cfg.rate, cfg.categories, cfg.library) == (True, 5, ("Gun", "Knife"), "synthetic")
    assert win.settings.tip_config() == cfg and set(win.tip.library.categories) == {"Gun", "Knife"}
    again = TipSettingsDialog(win.settings, win.tip, win)  # from now on: the passphrase, once
    qtbot.addWidget(again)
    assert not again.repeat.isVisibleTo(again)
    again.passphrase.setText("guardiam")
    assert not again.unlock() and not again.form.isEnabled() and "Wrong" in again.message.text()
    again.enabled.setChecked(False)
    again.accept()  # locked: nothing changes
    assert win.tip.config.enabled
    again.passphrase.setText("guardian")
    assert again.unlock() and again.form.isEnabled()


def test_the_queue_draws_each_new_bag_once_at_the_set_rate(make_window) -> None:
    """2,000 simulated bags through the window's own TIP controller: one draw per new bag, 1 in 25."""
    from app.controllers.items import ScanItem
    from engine.data.types import ScanRecord

    win = make_window(tip_seed=1)
    win.tip.configure(TipConfig(enabled=True, rate=25, categories=("Gun", "Knife"), per_category=1))
    items = [ScanItem(ScanRecord(f"/queue/bag{i:04d}.png", f"bag{i:04d}")) for i in range(2000)]
    first = [win.tip._bag_for(it) for it in items]
    again = [win.tip._bag_for(it) for it in items]  # revisiting: the same bags, no new draw
    n = sum(b is not None for b in first)
    assert abs(n - 80) < 4 * (2000 * (1 / 25) * (24 / 25)) ** 0.5, n  # 80 +- 35 (4 standard deviations)
    assert [b is not None for b in again] == [b is not None for b in first] and len(win.tip.pending) == n
    assert win.tip.scheduler.drawn == 2000
    assert {b.category for b in first if b is not None} == {"Gun", "Knife"}
    decided = ScanItem(ScanRecord("/queue/decided.png", "decided"), decision="clear")
    assert all(win.tip._bag_for(decided) is None for _ in range(50)) and win.tip.scheduler.drawn == 2000


def test_statistics_export_to_a_place_it_cannot_write_says_so(qtbot, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    dlg = StatisticsDialog([tmp_path / AUDIT_NAME])  # no log yet: an empty table, still exportable
    qtbot.addWidget(dlg)
    assert dlg.table.rowCount() == 0 and "no audit" not in dlg.sources.text()
    assert dlg.export_pdf(blocker / "s.pdf") is None and str(blocker / "s.pdf") in dlg.note.text()
    assert dlg.export_csv(blocker / "s.csv") is None and "cannot write" in dlg.note.text()
    assert dlg.export_pdf(tmp_path / "ok.pdf") == tmp_path / "ok.pdf"
    assert (tmp_path / "ok.pdf").read_bytes()[:5] == b"%PDF-" and "wrote" in dlg.note.text()
