"""Helpers shared by the GUI tests: generated threat scans, VOC boxes, waiting for the window."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from app.controllers.model import ModelInfo
from engine.config import GridConfig
from engine.data.io import Scan, ScanMeta
from engine.errors import ScanReadError
from engine.events import CancelToken
from engine.scoring import ScanResult
from tests.conftest import fake_bag

GRID = GridConfig(patch=128, stride=128, input_size=32)
MODEL = "dsa"
MODEL_CONFIG = {"base": 8, "work_size": 16, "d_base": 8}  # dsa needs work_size <= input_size / 2
BAR = (120, 100, 200, 140)  # x0, y0, x1, y1 of the dark bar painted into threat scans
OPERATOR = "Officer Test"


def threat_bag(seed: int, h: int = 256, w: int = 320) -> np.ndarray:
    img = fake_bag(h, w, seed=seed)
    x0, y0, x1, y1 = BAR
    img[y0:y1, x0:x1] = (10, 10, 40)  # a dark, dense bar: what a blade or barrel looks like
    return img


def write_voc(path: Path, width: int, height: int, box: tuple[int, int, int, int],
              name: str = "Knife") -> None:
    x0, y0, x1, y1 = box
    path.write_text(
        f"<annotation><filename>{path.stem}.png</filename><size><width>{width}</width>"
        f"<height>{height}</height><depth>3</depth></size><object><name>{name}</name>"
        f"<bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax><ymax>{y1}</ymax></bndbox>"
        "</object></annotation>"
    )


def wait_result(qtbot, win, path: Path | str, timeout: int = 15000) -> None:
    """Until the scan at ``path`` is on screen with its overlay."""
    p = str(path)
    qtbot.waitUntil(lambda: win.scan_view.result is not None and win.scan_view.result.path == p
                    and win.scan_view.image is not None, timeout=timeout)


def wait_listed(win, timeout: float = 15.0) -> None:
    """Until the folder being listed on its job thread has opened in the window (or failed)."""
    from PySide6.QtTest import QTest

    deadline = time.monotonic() + timeout
    while win.session.listing:
        assert time.monotonic() < deadline, "the folder listing did not finish"
        QTest.qWait(10)


def wait_idle(qtbot, win, timeout: int = 15000) -> None:
    qtbot.waitUntil(lambda: not win.worker.is_busy(), timeout=timeout)
    time.sleep(0.01)
    qtbot.wait(20)  # let queued signals land


BOXES = np.array([[0, 0, 32, 32], [32, 0, 64, 32], [0, 32, 32, 64], [32, 32, 64, 64]], np.int32)


class FakeBackend:
    """Scores scan i as patches [i, 0, 0, 0]; optionally slow, optionally deaf to cancel."""

    def __init__(self, delay: float = 0.0, batches: int = 4, honour_cancel: bool = True,
                 bad: frozenset[str] = frozenset()) -> None:
        self.delay, self.batches, self.honour_cancel, self.bad = delay, batches, honour_cancel, bad
        self.calls: list[str] = []
        self.batches_run = 0
        self.started = threading.Event()
        self.info = ModelInfo("fake", "/fake/model.h5", "CPU (test)", None)

    def read(self, path: str) -> Scan:
        if path in self.bad:
            raise ScanReadError(path, "corrupt image data (decoder failed)")
        meta = ScanMeta(path, 64, 64, 3, 8, "0" * 64)
        return Scan(np.full((64, 64, 3), 0.5, np.float32), meta)

    def score(self, scan: Scan, cancel: CancelToken, progress) -> ScanResult:
        self.calls.append(scan.meta.path)
        self.started.set()
        for b in range(self.batches):
            if self.honour_cancel:
                cancel.raise_if_cancelled()
            time.sleep(self.delay)
            self.batches_run += 1
            progress(b + 1, self.batches)
        digits = "".join(ch for ch in scan.name if ch.isdigit())
        i = float(digits or 0)  # scan "s2" scores 2
        scores = np.array([i, 0.0, 0.0, 0.0], np.float32)
        return ScanResult(scan.meta.path, scan.name, 64, 64, "0" * 64, BOXES, scores, float(scores.max()),
                          0.0)
