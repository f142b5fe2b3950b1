"""Grab the window to PNG and check, in pixels, that the overlay marks the generated threat."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest

from app.views.overlay import TOP_RGB
from tests.gui.helpers import BAR, wait_result

pytestmark = pytest.mark.slow


def grab(win, path: Path) -> np.ndarray:
    assert win.grab().save(str(path))
    img = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB888)
    w, h = img.width(), img.height()
    rows = np.frombuffer(img.constBits(), np.uint8, img.bytesPerLine() * h).reshape(h, -1)
    return rows[:, : w * 3].reshape(h, w, 3).astype(np.int32)


def to_window(win, x: float, y: float) -> tuple[int, int]:
    """Scan pixel -> window pixel, through the view's current zoom and pan."""
    view = win.scan_view.graphics
    p = view.mapTo(win, view.mapFromScene(win.scan_view.image_item.mapToScene(QPointF(x, y))))
    return p.x(), p.y()


def test_overlay_pixels_mark_the_flagged_threat_patch(qtbot, make_window, gui_data, tmp_path) -> None:
    win = make_window()
    assert win.load_model(str(gui_data.model_cal))
    assert win.open_paths([str(gui_data.threats[0])])
    wait_result(qtbot, win, gui_data.threats[0])
    r = win.scan_view.result
    x0, y0, x1, y1 = BAR
    overlap = [max(0, min(b[2], x1) - max(b[0], x0)) * max(0, min(b[3], y1) - max(b[1], y0)) for b in r.boxes]
    k = int(np.argmax(overlap))  # the patch holding most of the dark bar
    win.screening.set_threshold(float(r.scores[k]))  # low enough to flag it
    assert bool(win.scan_view.result.flagged(float(r.scores[k]))[k])
    qtbot.wait(50)
    on = grab(win, tmp_path / "cues.png")
    assert (tmp_path / "cues.png").stat().st_size > 10_000
    QTest.keyClick(win, Qt.Key.Key_H)  # hide every cue
    assert not win.scan_view.heat_item.isVisible()
    qtbot.wait(50)
    off = grab(win, tmp_path / "plain.png")

    bx0, by0, bx1, by1 = (int(v) for v in r.boxes[k])
    wx0, wy0 = to_window(win, bx0 + 0.2 * (bx1 - bx0), by0 + 0.2 * (by1 - by0))
    wx1, wy1 = to_window(win, bx1 - 0.2 * (bx1 - bx0), by1 - 0.2 * (by1 - by0))
    assert wx1 - wx0 > 20 and wy1 - wy0 > 20  # the patch is visible at a useful size

    def redness(img: np.ndarray) -> float:
        region = img[wy0:wy1, wx0:wx1]
        return float((region[..., 0] - region[..., 1]).mean())

    assert redness(on) > redness(off) + 25  # the red heat map covers the flagged patch

    top = win.scan_view.regions[0]
    assert top.members and k in [m for reg in win.scan_view.regions for m in reg.members]
    tx0, ty0 = to_window(win, top.box[0], top.box[1])
    tx1, _ = to_window(win, top.box[2], top.box[3])
    edge = on[ty0 - 2 : ty0 + 3, tx0 + 5 : tx1 - 5].reshape(-1, 3)  # the top edge of its outline
    near = np.abs(edge - np.array(TOP_RGB)).max(axis=1) < 40
    assert near.mean() > 0.3  # the most anomalous region is outlined in its own colour
    edge_off = off[ty0 - 2 : ty0 + 3, tx0 + 5 : tx1 - 5].reshape(-1, 3)
    assert (np.abs(edge_off - np.array(TOP_RGB)).max(axis=1) < 40).mean() < 0.05
