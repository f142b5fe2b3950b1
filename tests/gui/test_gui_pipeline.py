"""One scoring pipeline: the screening queue takes the batch's scores, scores only what the batch
has not reached, and no scan is scored twice (every scoring call is counted)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from app.controllers.pipeline import BATCH, WINDOW, ScoreClaims
from tests.gui.test_gui_session import copy_scans, wait_batch

pytestmark = pytest.mark.slow


@pytest.fixture
def scoring_calls(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[Counter]:
    """Every scan of the test's folder the engine's scorer scored to the end, by path: the window's
    worker and the batch thread (a scoring the officer cancelled by moving on is not a score; the
    model's own self-check at loading is not a scan of the folder)."""
    folder = str(tmp_path / "scans")
    import engine.scoring as es

    calls: Counter = Counter()
    lock = threading.Lock()
    original = es.Scorer.score_scan

    def counted(self, scan, *args, **kw):  # type: ignore[no-untyped-def]
        time.sleep(0.15)  # a slower scorer, so the officer can run ahead of the batch
        result = original(self, scan, *args, **kw)
        if scan.meta.path.startswith(folder):
            with lock:
                calls[scan.meta.path] += 1
        return result

    monkeypatch.setattr(es.Scorer, "score_scan", counted)
    yield calls


def all_scored(win) -> bool:
    return all(it.result is not None for it in win.screening.items)


def open_and_score(qtbot, make_window, gui_data, tmp_path):
    """A window on a copy of the generated folder, once the batch ended and every scan has a score."""
    folder = copy_scans(gui_data, tmp_path / "scans")
    win = make_window()
    assert win.load_model(str(gui_data.model_cal)) and win.open_paths([str(folder)])
    wait_batch(qtbot, win)
    qtbot.waitUntil(lambda: all_scored(win), timeout=20000)
    return win


def test_the_queue_takes_every_score_from_the_batch(qtbot, make_window, gui_data, tmp_path,
                                                    scoring_calls: Counter) -> None:
    win = open_and_score(qtbot, make_window, gui_data, tmp_path)
    paths = {it.path for it in win.screening.items}
    assert len(paths) == 5 and set(scoring_calls) == paths
    assert max(scoring_calls.values()) == 1, scoring_calls  # each of the 5 scans scored once, in all
    stored = {s.path: s.score for s in win.batch.store.iter_results()}
    assert set(stored) == paths  # the session holds every scan, whoever scored it
    for it in win.screening.items:  # the list shows the session's own score for every row
        assert it.result.score == pytest.approx(stored[it.path])
    assert win.threshold_panel.flagged_label.text().endswith("/ 5")  # every scan counted as scored


def test_an_officer_ahead_of_the_batch_never_makes_a_scan_score_twice(qtbot, make_window, gui_data, tmp_path,
                                                                      scoring_calls: Counter) -> None:
    folder = copy_scans(gui_data, tmp_path / "scans")
    win = make_window()
    assert win.load_model(str(gui_data.model_cal)) and win.open_paths([str(folder)])
    s = win.screening
    qtbot.waitUntil(lambda: bool(s.items), timeout=20000)
    for _ in range(len(s.items) - 1):  # steps through faster than either pipeline scores
        qtbot.wait(60)
        s.next()
    qtbot.waitUntil(lambda: s.current_item.result is not None, timeout=20000)  # the last scan: on screen
    wait_batch(qtbot, win)
    qtbot.waitUntil(lambda: all_scored(win), timeout=20000)
    paths = {it.path for it in s.items}
    assert set(scoring_calls) == paths and max(scoring_calls.values()) == 1, scoring_calls
    assert sum(scoring_calls.values()) == 5
    assert {st.path for st in win.batch.store.iter_results()} == paths  # the window's results stored too
    assert all(r.state == "scored" for r in win.batch.rows)


def test_rescore_scores_the_scan_on_screen_again(qtbot, make_window, gui_data, tmp_path,
                                                 scoring_calls: Counter) -> None:
    win = open_and_score(qtbot, make_window, gui_data, tmp_path)
    path = win.screening.current_item.path
    win.screening.rescore()  # F5: asked for, so it is scored here although the batch stored it
    qtbot.waitUntil(lambda: scoring_calls[path] == 2 and win.screening.current_item.result is not None,
                    timeout=20000)


def test_claims_give_each_scan_to_one_scorer() -> None:
    c = ScoreClaims()
    assert c.take("/a", WINDOW) and c.take("/a", WINDOW)  # the window holds it
    assert not c.take("/a", BATCH)  # so the batch leaves it...
    assert not c.batch_will_score("/a")  # ...and will not come back to it
    c.release("/a", WINDOW)  # the window gave up (cancelled): a gap for the prefetcher
    assert c.owner("/a") is None and not c.batch_will_score("/a")
    assert c.batch_will_score("/b") and c.take("/b", BATCH)
    assert not c.take("/b", WINDOW) and c.owner("/b") == BATCH and c.batch_will_score("/b")
    c.release("/b", WINDOW)  # not the window's to release
    assert c.owner("/b") == BATCH
