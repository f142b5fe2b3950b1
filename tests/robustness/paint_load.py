"""Paint work shared by the binding-leak regression test and the soak benchmark.

The binding bug (PySide6 6.12.0 on Python < 3.12) drops a reference to ``None`` on every
void QPainter call; these helpers drive the two painters bagscan uses, the scan view
(through pyqtgraph) and the PDF report, so both can be measured the same way.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.reporting.flagged import FlaggedScan
from engine.reporting.regions import merge_regions
from engine.storage_layout import StoredScan
from tests.conftest import fake_bag, write_rgb

SIDE, CELL = 256, 64


def grid() -> tuple[np.ndarray, np.ndarray]:
    """A 4 x 4 patch grid over a 256 x 256 scan; the top-left 2 x 2 block scores high."""
    boxes = np.array([(x, y, x + CELL, y + CELL) for y in range(0, SIDE, CELL) for x in range(0, SIDE, CELL)],
                     np.int32)
    scores = np.zeros(len(boxes), np.float32)
    scores[[0, 1, 4, 5]] = 5.0
    return boxes, scores


def scan_view(qtbot=None):  # noqa: ANN001, ANN201 - pytest-qt's bot (or None: the soak benchmark), a widget
    """A shown ScanView with an image and an overlay (heat map, patches, region, label)."""
    from PySide6.QtWidgets import QApplication

    from app.views.scan_view import ScanView
    from engine.scoring import ScanResult

    app = QApplication.instance() or QApplication(["bagscan-soak"])
    view = ScanView()
    view.resize(400, 400)
    view.show()
    if qtbot is not None:
        qtbot.addWidget(view)
        qtbot.waitExposed(view)
    else:
        app.processEvents()
    boxes, scores = grid()
    view.show_image("/s/bag.png", fake_bag(SIDE, SIDE, seed=1))
    view.show_result(ScanResult("/s/bag.png", "bag", SIDE, SIDE, "", boxes, scores, 5.0, 0.1), 1.0)
    return view


def repaint(view, n: int) -> None:  # noqa: ANN001
    """``n`` synchronous repaints of the scan view's viewport (what zooming and panning cause)."""
    port = view.graphics.viewport()
    for _ in range(n):
        port.repaint()


def flagged_pages(folder: Path, n: int) -> list[FlaggedScan]:
    """``n`` flagged scans (one image file on disk, shared), one PDF page each."""
    path = write_rgb(folder / "bag.png", fake_bag(SIDE, SIDE, seed=2))
    boxes, scores = grid()
    scan = StoredScan(path=str(path), width=SIDE, height=SIDE, score=5.0, boxes=boxes, scores=scores, index=0)
    regions = merge_regions(boxes, scores, 1.0)
    return [FlaggedScan(scan, regions, [None] * len(regions), None) for _ in range(n)]


def summary(n_flagged: int) -> dict:
    """The keys the PDF's summary page reads."""
    return {"session": "s.h5", "model": "dsa", "model_sha256": "0" * 64, "bagscan_version": "0",
            "created": "now", "n_scans": n_flagged, "n_ok": n_flagged, "n_failed": 0, "n_no_content": 0,
            "n_flagged": n_flagged, "n_regions": n_flagged, "threshold": 1.0, "threshold_source": "given",
            "estimated_recall": None, "estimated_far": None, "n_threat": 0, "n_normal": 0, "n_unknown": 0,
            "measured_recall": None, "measured_far": None, "decisions": {}, "scan_seconds": 1.0,
            "per_category": {}, "calibration": ""}
