"""Opening a folder lists it on a job thread: the window stays responsive, and a listing the
user has moved past (another folder opened meanwhile) never replaces the newer one."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer

import app.controllers.listing as listing
from tests.conftest import fake_bag, write_rgb

pytestmark = pytest.mark.slow


class Gate:
    """load_dataset, recording the thread it runs on; listings of ``held`` wait until ``release``."""

    def __init__(self, held: Path | None = None) -> None:
        self.threads: list[threading.Thread] = []
        self.held = held
        self.release = threading.Event()
        self.real = listing.load_dataset

    def __call__(self, path, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.threads.append(threading.current_thread())
        if self.held is not None and Path(path) == self.held:
            assert self.release.wait(20)
        return self.real(path, *args, **kwargs)


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    g = Gate()
    monkeypatch.setattr(listing, "load_dataset", g)
    yield g
    g.release.set()  # never leave a listing thread waiting


def test_a_folder_is_listed_off_the_gui_thread(qtbot, make_window, gui_data, tmp_path, gate: Gate) -> None:
    folder = shutil.copytree(gui_data.scans, tmp_path / "scans", ignore=shutil.ignore_patterns(".bagscan"))
    gate.held = folder
    win = make_window()
    assert win.open_paths([str(folder)])  # returns at once: the listing has only started
    assert win.session.listing and win.screening.items == []
    assert win.status.text.text().startswith("Listing")
    ticks: list[int] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    qtbot.waitUntil(lambda: len(ticks) >= 5 and len(gate.threads) == 1, timeout=5000)  # the event loop runs
    timer.stop()
    assert win.session.listing and win.screening.items == []  # still held in load_dataset
    gate.release.set()
    qtbot.waitUntil(lambda: not win.session.listing, timeout=10000)
    assert [it.name for it in win.screening.items] == ["N000", "N001", "N002", "P000", "P001"]
    assert gate.threads and all(t is not threading.main_thread() for t in gate.threads)
    assert win.windowTitle().endswith(str(folder)) and win.reporter.reports == []


def test_a_stale_listing_is_dropped(qtbot, make_window, gui_data, tmp_path, gate: Gate) -> None:
    old = shutil.copytree(gui_data.scans, tmp_path / "old", ignore=shutil.ignore_patterns(".bagscan"))
    new = tmp_path / "new"
    write_rgb(new / "only.png", fake_bag(256, 320, seed=9))
    gate.held = old  # the older folder finishes listing only after the newer one opened
    win = make_window()
    assert win.open_paths([str(old)])
    qtbot.waitUntil(lambda: len(gate.threads) == 1, timeout=5000)  # the old listing is under way
    assert win.open_paths([str(new)])
    qtbot.waitUntil(lambda: [it.name for it in win.screening.items] == ["only"], timeout=10000)
    gate.release.set()
    qtbot.waitUntil(lambda: win.session.stale_dropped == 1, timeout=10000)
    qtbot.wait(50)  # anything the old listing might still cause has landed
    assert [it.name for it in win.screening.items] == ["only"]
    assert win.session.session_dir == str(new) and win.settings.last_dir == str(new)
    assert win.windowTitle().endswith(str(new)) and win.reporter.reports == []
    assert not win.session.listing and len(gate.threads) == 2


def test_named_files_still_open_at_once(make_window, gui_data, gate: Gate) -> None:
    win = make_window()
    assert win.open_paths([str(gui_data.threats[0])])  # a file: no thread, the scan is there on return
    assert [it.name for it in win.screening.items] == ["P000"]
    assert gate.threads == [threading.current_thread()]
