"""Helpers shared by the GUI tests: generated threat scans, VOC boxes, waiting for the window."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from engine.config import GridConfig
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


def wait_idle(qtbot, win, timeout: int = 15000) -> None:
    qtbot.waitUntil(lambda: not win.worker.is_busy(), timeout=timeout)
    time.sleep(0.01)
    qtbot.wait(20)  # let queued signals land
