"""Batch sessions in the window: a folder is scored into a session file in the background, the
results table fills and sorts, cancel and reopen resume, decisions survive, bad files are rows."""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtTest import QTest

from app.controllers.batch_session import default_session_path
from app.views.results_table import CATEGORY, FLAGGED, NAME, SCORE
from engine.assets import demo_dir
from engine.data.io import file_sha256
from engine.storage import SessionStore
from tests.conftest import fake_bag, write_rgb
from tests.gui.helpers import OPERATOR, wait_listed, wait_result

pytestmark = pytest.mark.slow


def copy_scans(gui_data, dest: Path) -> Path:
    """A private copy of the generated scans (3 normal, 2 threat with VOC): its own .bagscan/."""
    shutil.copytree(gui_data.scans, dest, ignore=shutil.ignore_patterns(".bagscan", "*.jsonl"))
    return dest


def session_of(folder: Path, model: Path) -> Path:
    return folder / ".bagscan" / f"session-dsa-{file_sha256(model)[:8]}.h5"


def wait_batch(qtbot, win, timeout: int = 30000) -> None:
    """Until the session is open and its job has ended (finished, cancelled or failed)."""
    qtbot.waitUntil(lambda: win.batch.ready is not None and not win.batch.running, timeout=timeout)
    qtbot.wait(30)  # let the last queued events land


def stored_rows(path: Path) -> list:
    with SessionStore.open(path) as s:
        return list(s.iter_results())


def click_row(win, visible_row: int) -> None:
    t = win.results.table
    rect = t.visualRect(win.results.proxy.index(visible_row, NAME))
    QTest.mouseClick(t.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


class SlowBatch:
    """The paths the batch scored, and a gate the batch's scorer waits at (open unless a test shuts it)."""

    def __init__(self) -> None:
        self.scored: list[str] = []
        self.gate = threading.Event()
        self.gate.set()


@pytest.fixture
def slow_batch(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlowBatch]:
    """The batch's scorer (not the on-screen one) takes 0.4 s a scan."""
    import engine.batch as eb

    slow = SlowBatch()

    class SlowScorer(eb.Scorer):
        def score_scan(self, scan, cancel=None, progress=None):  # type: ignore[no-untyped-def]
            assert slow.gate.wait(20)
            time.sleep(0.4)
            r = super().score_scan(scan, cancel, progress)
            slow.scored.append(r.path)
            return r

    monkeypatch.setattr(eb, "Scorer", SlowScorer)
    yield slow
    slow.gate.set()


def test_folder_is_scored_into_a_session_and_the_table_sorts(qtbot, make_window, gui_data, tmp_path) -> None:
    folder = copy_scans(gui_data, tmp_path / "scans")
    win = make_window()
    assert win.load_model(str(gui_data.model_cal)) and win.open_paths([str(folder)])
    wait_batch(qtbot, win)
    session = session_of(folder, gui_data.model_cal)
    assert win.batch.path == str(session) and session.is_file()
    assert str(session) in win.session_label.text() and "beside the scans" in win.session_label.text()
    done = win.results.text.text()  # the batch's scans, and the one the window scored on screen first
    assert "0 failed" in done and not win.results.cancel.isVisible()
    by_batch, on_screen = (int(n) for n in re.findall(r"(\d+) (?:more )?scored", done))
    assert by_batch + on_screen == 5 and on_screen <= 1
    rows = win.results.visible_rows()
    stored = {s.path: s for s in win.batch.store.iter_results()}  # the window holds the file
    assert len(rows) == 5 and {r.path for r in rows} == set(stored)
    scores = [r.score for r in rows]
    assert scores == sorted(scores, reverse=True)  # opens sorted by score, highest first
    t = win.threshold.threshold
    m = win.results.model
    for k, r in enumerate(rows):  # every cell is the session's own value
        s = stored[r.path]
        assert r.score == pytest.approx(s.score) and r.n_flagged(t) == s.n_flagged(t)
        src = win.results.proxy.mapToSource(win.results.proxy.index(k, 0)).row()
        assert m.data(m.index(src, FLAGGED)) == str(s.n_flagged(t))
        assert m.data(m.index(src, CATEGORY)) == ("Knife" if s.name.startswith("P") else "Normal")
    win.results.table.sortByColumn(NAME, Qt.SortOrder.AscendingOrder)
    assert [r.name for r in win.results.visible_rows()] == ["N000", "N001", "N002", "P000", "P001"]
    win.results.table.sortByColumn(SCORE, Qt.SortOrder.AscendingOrder)
    assert [r.score for r in win.results.visible_rows()] == sorted(scores)
    # Clicking a row shows that scan with its overlay, from the session's scores: no rescoring.
    backend = win.session.backend
    calls: list[str] = []
    original = backend.score
    backend.score = lambda scan, *a: (calls.append(scan.meta.path), original(scan, *a))[1]
    target = next(k for k, r in enumerate(win.results.visible_rows()) if r.name == "P001")
    click_row(win, target)
    wait_result(qtbot, win, folder / "threat" / "P001.png")
    assert win.screening.current_item.name == "P001"
    np.testing.assert_array_equal(win.scan_view.result.scores, stored[str(folder / "threat" / "P001.png")].scores)
    assert str(folder / "threat" / "P001.png") not in calls


def test_cancel_stops_the_batch_and_reopening_the_session_resumes(qtbot, make_window, gui_data, tmp_path,
                                                                  slow_batch: SlowBatch) -> None:
    folder = copy_scans(gui_data, tmp_path / "scans")
    win = make_window()
    assert win.load_model(str(gui_data.model_cal)) and win.open_paths([str(folder)])
    qtbot.waitUntil(lambda: bool(slow_batch.scored), timeout=20000)
    assert win.results.cancel.isVisible()
    QTest.mouseClick(win.results.cancel, Qt.MouseButton.LeftButton)
    wait_batch(qtbot, win)
    first = list(slow_batch.scored)
    assert 1 <= len(first) < 5 and "cancelled" in win.results.text.text()
    session = session_of(folder, gui_data.model_cal)
    assert win.batch.path == str(session)  # still open after cancel: decisions go on being stored
    assert set(first) <= {s.path for s in win.batch.store.iter_results()}
    win.close()  # the session file is closed with the window
    stored = [s.path for s in stored_rows(session)]  # the batch's, and gaps the window filled after the cancel
    win2 = make_window()
    win2.open_session(str(session))  # loads the model the session names, then scores the rest
    wait_batch(qtbot, win2)
    assert win2.session.info is not None and Path(win2.session.info.path) == gui_data.model_cal
    rest = sorted(p for p in map(str, folder.rglob("*.png")) if p not in stored)
    assert sorted(slow_batch.scored[len(first):]) == rest  # only the scans the first run had not stored
    assert len(list(win2.batch.store.iter_results())) == 5 and all(r.state == "scored" for r in win2.batch.rows)
    assert len(win2.screening.items) == 5 and all(it.result is not None for it in win2.screening.items)


def test_decisions_are_stored_in_the_session_and_come_back(qtbot, make_window, gui_data, tmp_path,
                                                           slow_batch: SlowBatch) -> None:
    folder = copy_scans(gui_data, tmp_path / "scans")
    win = make_window()
    assert win.load_model(str(gui_data.model_cal)) and win.open_paths([str(folder)])
    slow_batch.gate.clear()  # the batch stores nothing until the gate opens
    wait_listed(win)
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow)
    assert win.screening.current_item.name == "N000"
    QTest.keyClick(win.scan_list.table, Qt.Key.Key_S)  # N000 is not in the session yet: kept until it is
    assert win.screening.current_item.name == "N001" and win.batch.decisions.pending == 1
    slow_batch.gate.set()
    wait_batch(qtbot, win)
    assert win.batch.decisions.pending == 0
    QTest.keyClick(win.scan_list.table, Qt.Key.Key_C)  # N001, already stored: written at once
    session = session_of(folder, gui_data.model_cal)
    win.close()
    with SessionStore.open(session) as s:
        names = {r.index: r.name for r in s.iter_results()}
        got = {names[i]: (d.decision, d.operator) for i, d in s.get_decisions().items()}
    assert got == {"N000": ("suspect", OPERATOR), "N001": ("clear", OPERATOR)}
    win2 = make_window()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(session))])  # a session file dropped on the window reopens it
    win2.dropEvent(QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                              Qt.KeyboardModifier.NoModifier))
    wait_batch(qtbot, win2)
    assert win2.reporter.reports == [] and win2.batch.path == str(session)
    by_name = {r.name: r.decision for r in win2.batch.rows}
    assert by_name == {"N000": "suspect", "N001": "clear", "N002": "", "P000": "", "P001": ""}
    assert {it.name: it.decision for it in win2.screening.items}["N000"] == "suspect"
    # Source rows follow the session's storage order, which depends on which thread scored first;
    # the officer sees the name order, so look N001 up by name.
    model = win2.scan_list.model
    row = next(i for i, it in enumerate(model.items) if it.name == "N001")
    assert model.data(model.index(row, 4)) == "Clear"
    shown = [model.items[r].name for r in win2.scan_list.visible_rows()]
    assert shown == sorted(shown)


def test_a_bad_file_is_an_error_row_and_the_batch_goes_on(qtbot, make_window, gui_data, tmp_path) -> None:
    folder = tmp_path / "mixed"
    good = write_rgb(folder / "a_good.png", fake_bag(256, 320, seed=7))
    data = good.read_bytes()
    (folder / "b_corrupt.png").write_bytes(data[:33] + b"\x00garbage" * 64 + data[-12:])  # header, no pixels
    (folder / "c_notimage.png").write_bytes(b"this is not an image")  # refused when the folder is listed
    write_rgb(folder / "d_good.png", fake_bag(256, 320, seed=8))
    win = make_window()
    assert win.load_model(str(gui_data.model_cal)) and win.open_paths([str(folder)])
    wait_batch(qtbot, win)
    rows = {r.name: r for r in win.batch.rows}
    assert set(rows) == {"a_good", "b_corrupt", "c_notimage", "d_good"}
    assert rows["a_good"].state == rows["d_good"].state == "scored"
    for bad in ("b_corrupt", "c_notimage"):
        assert rows[bad].state == "failed" and rows[bad].error and rows[bad].score is None
    done = win.results.text.text()  # the batch's, plus the good scan the window scored on screen first
    assert "2 failed" in done and sum(int(n) for n in re.findall(r"(\d+) (?:more )?scored", done)) == 2
    m = win.results.model
    k = m.rows.index(rows["b_corrupt"])
    assert m.data(m.index(k, 5)) == rows["b_corrupt"].error  # the Error column
    # The batch reports failures as rows, not dialogs: the only report is the listing's own.
    assert [r.title for r in win.reporter.reports] == ["Cannot open scan"]
    stored = {s.name: s for s in win.batch.store.iter_results()}
    assert stored["b_corrupt"].error and stored["c_notimage"].error and stored["d_good"].ok


def test_another_folder_drops_the_running_batch(qtbot, make_window, gui_data, tmp_path,
                                                slow_batch: SlowBatch) -> None:
    a = copy_scans(gui_data, tmp_path / "a")
    b = tmp_path / "b"
    write_rgb(b / "only.png", fake_bag(256, 320, seed=9))
    win = make_window()
    assert win.load_model(str(gui_data.model_cal)) and win.open_paths([str(a)])
    qtbot.waitUntil(lambda: win.batch.ready is not None, timeout=20000)
    assert win.open_paths([str(b)])
    wait_listed(win)  # until then a's batch is the window's
    wait_batch(qtbot, win)
    assert [r.name for r in win.batch.rows] == ["only"] and win.batch.rows[0].state == "scored"
    assert len(stored_rows(session_of(a, gui_data.model_cal))) < 5  # a's batch stopped when b opened
    with SessionStore.open(session_of(a, gui_data.model_cal), "a"):
        pass  # a's file was closed: this process may open it for writing again


def test_reopening_the_running_session_waits_for_its_batch(qtbot, make_window, gui_data, tmp_path,
                                                          slow_batch: SlowBatch) -> None:
    folder = copy_scans(gui_data, tmp_path / "scans")
    win = make_window()
    assert win.load_model(str(gui_data.model_cal)) and win.open_paths([str(folder)])
    qtbot.waitUntil(lambda: len(slow_batch.scored) >= 1, timeout=20000)
    win.open_session(str(session_of(folder, gui_data.model_cal)))  # the same file, still being written
    wait_batch(qtbot, win)
    assert win.reporter.reports == []  # no "already open for writing": the new job waited for the old
    assert len(win.batch.rows) == 5 and all(r.state == "scored" for r in win.batch.rows)
    assert len(set(slow_batch.scored)) == len(slow_batch.scored) >= 4  # none scored twice; the window
    assert len(list(win.batch.store.iter_results())) == 5  # may have scored the scan on screen itself


def test_unwritable_folder_puts_the_session_in_the_user_data_dir(tmp_path: Path) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    (folder / ".bagscan").write_text("a file where the session folder would go")
    path, where = default_session_path(folder, "dsa", "ab" * 32, tmp_path / "data")
    assert path.parent.parent == tmp_path / "data" / "sessions" and path.name == "session-dsa-abababab.h5"
    assert "user data" in where
    ok, where_ok = default_session_path(tmp_path / "other", "dsa", "cd" * 32, tmp_path / "data")
    assert ok == tmp_path / "other" / ".bagscan" / "session-dsa-cdcdcdcd.h5" and where_ok == "beside the scans"
    demo, where_demo = default_session_path(demo_dir(), "dsa", "ef" * 32, tmp_path / "data")
    assert demo.is_relative_to(tmp_path / "data") and "install" in where_demo  # never into the install
    assert not (demo_dir() / ".bagscan").exists()
