"""The screening controller against mocked views and a fake model (ndv style): no torch, fast.

The worker thread is real, so these check the threading contract: stale answers
dropped, cancel honoured, prefetch, per-scan caching, re-flagging without rescoring.
"""

from __future__ import annotations

import time
from unittest.mock import MagicMock

import pytest

from app.controllers.items import CANCELLED, FAILED
from app.controllers.screening import PREFETCH_AHEAD, ScreeningController
from app.workers import ScoringWorker
from engine.data.types import ScanRecord
from tests.gui.helpers import FakeBackend


def records(n: int) -> list[ScanRecord]:
    return [ScanRecord(f"/fake/s{i}.png", f"s{i}") for i in range(n)]


@pytest.fixture
def rig(qtbot):
    worker = ScoringWorker(threads=1)
    worker.start()
    view, lst, status = MagicMock(), MagicMock(), MagicMock()
    ctl = ScreeningController(worker, view, lst, status)
    yield ctl, view, lst, status
    worker.stop()


def setup(ctl, lst, backend, n: int = 5) -> None:
    lst.visible_rows.return_value = list(range(n))
    ctl.set_backend(backend)
    ctl.set_records(records(n))


def shown_paths(view) -> list[str]:
    return [c.args[0].path for c in view.show_result.call_args_list]


def idle(qtbot, ctl) -> None:
    qtbot.waitUntil(lambda: not ctl.worker.is_busy(), timeout=5000)
    qtbot.wait(30)


def test_results_are_cached_and_the_next_scans_prefetched(qtbot, rig) -> None:
    ctl, view, lst, _ = rig
    backend = FakeBackend()
    setup(ctl, lst, backend)
    qtbot.waitUntil(lambda: shown_paths(view) == ["/fake/s0.png"], timeout=5000)
    idle(qtbot, ctl)
    assert [it.result is not None for it in ctl.items] == [True] * (1 + PREFETCH_AHEAD) + [False] * 2
    ctl.next()
    assert shown_paths(view)[-1] == "/fake/s1.png"  # from the cache, synchronously: no waiting
    idle(qtbot, ctl)
    ctl.previous()
    assert shown_paths(view)[-1] == "/fake/s0.png"
    assert backend.calls.count("/fake/s0.png") == 1 and backend.calls.count("/fake/s1.png") == 1
    lst.select_row.assert_called_with(0)


def test_stale_result_is_dropped_not_shown(qtbot, rig) -> None:
    ctl, view, lst, _ = rig
    backend = FakeBackend(delay=0.05, honour_cancel=False)  # s0 finishes even after we move on
    setup(ctl, lst, backend, n=2)
    assert backend.started.wait(2)
    ctl.go(1)  # mid-scoring of s0
    qtbot.waitUntil(lambda: "/fake/s1.png" in shown_paths(view), timeout=5000)
    idle(qtbot, ctl)
    assert shown_paths(view) == ["/fake/s1.png"]  # s0's answer never reached the view
    assert ctl.stale_dropped >= 1
    assert ctl.items[0].result is not None  # but it is valid for s0 and cached


def test_results_of_a_replaced_model_are_dropped(qtbot, rig) -> None:
    ctl, view, lst, _ = rig
    setup(ctl, lst, FakeBackend(delay=0.05, honour_cancel=False), n=1)
    qtbot.wait(30)
    new = FakeBackend()
    ctl.set_backend(new)
    idle(qtbot, ctl)
    assert ctl.items[0].result is not None and new.calls == ["/fake/s0.png"]
    assert view.show_result.call_count == 1  # only the new model's answer


def test_cancel_stops_the_worker(qtbot, rig) -> None:
    ctl, view, lst, status = rig
    backend = FakeBackend(delay=0.05, batches=200)  # 10 s if it ran to the end
    setup(ctl, lst, backend, n=1)
    assert backend.started.wait(2)
    t0 = time.monotonic()
    with qtbot.waitSignal(ctl.worker.cancelled, timeout=2000):
        ctl.cancel()
    idle(qtbot, ctl)
    assert time.monotonic() - t0 < 1.0 and backend.batches_run < 40
    assert ctl.items[0].state == CANCELLED and view.show_result.call_count == 0
    assert "cancelled" in status.idle.call_args.args[0]


def test_moving_the_threshold_reflags_without_rescoring(qtbot, rig) -> None:
    ctl, view, lst, _ = rig
    backend = FakeBackend()
    setup(ctl, lst, backend, n=3)
    qtbot.waitUntil(lambda: all(it.result is not None for it in ctl.items), timeout=5000)
    idle(qtbot, ctl)
    calls = len(backend.calls)
    counts = []
    ctl.counts_changed.connect(lambda f, s, t: counts.append(f))
    for t in (0.5, 1.5, 2.5, 9.0):  # scan scores are 0, 1, 2 (and patch 0 holds it)
        ctl.set_threshold(t)
    assert counts == [2, 1, 0, 0] and len(backend.calls) == calls
    lst.set_threshold.assert_called_with(9.0)
    view.set_threshold.assert_called_with(9.0)


def test_an_unreadable_scan_is_reported_and_screening_goes_on(qtbot, rig) -> None:
    ctl, view, lst, _ = rig
    setup(ctl, lst, FakeBackend(bad=frozenset({"/fake/s0.png"})), n=2)
    with qtbot.waitSignal(ctl.scan_failed, timeout=5000) as sig:
        pass
    assert sig.args == ["/fake/s0.png", "corrupt image data (decoder failed)"]
    assert ctl.items[0].state == FAILED and "Cannot read" in view.clear.call_args.args[0]
    ctl.next()
    qtbot.waitUntil(lambda: "/fake/s1.png" in shown_paths(view), timeout=5000)
