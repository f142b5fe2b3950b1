"""The scan at full resolution with the model's cues on top (pyqtgraph).

Layers, bottom to top: the scan (enhanced, windowed), the heat map of patch
scores (adjustable opacity), outlines of flagged patches, merged regions with
the most anomalous one in yellow, and ground-truth boxes in cyan. One switch
hides every cue so the officer can see the bag unmarked.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QLabel, QVBoxLayout, QWidget

from engine.dense_map import BACKGROUND, MapDecodeError
from engine.reporting.map_regions import flagged_regions
from engine.reporting.regions import merge_regions

from . import enhance
from .overlay import FLAG_RGB, TOP_RGB, TRUTH_RGB, attention_rgba, cell_size, heat_rgba, score_at, score_grid

log = logging.getLogger(__name__)


def _path_item(rgb: tuple[int, int, int], width: float, z: float, style=Qt.PenStyle.SolidLine,
               alpha: int = 255) -> QGraphicsPathItem:
    pen = QPen(QColor(*rgb, alpha))
    pen.setWidthF(width)
    pen.setCosmetic(True)  # constant on-screen width at any zoom
    pen.setStyle(style)
    item = QGraphicsPathItem()
    item.setPen(pen)
    item.setZValue(z)
    return item


def _rects_path(boxes: Any) -> QPainterPath:
    path = QPainterPath()
    for x0, y0, x1, y1 in boxes:
        path.addRect(QRectF(float(x0), float(y0), float(x1 - x0), float(y1 - y0)))
    return path


class ScanView(QWidget):
    """Image, overlay and readout; holds no screening logic (the controller drives it)."""

    pixel_info = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.graphics = pg.GraphicsView(background=(18, 20, 24))
        self.vb = pg.ViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.graphics.setCentralItem(self.vb)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.heat_item = pg.ImageItem(axisOrder="row-major")
        self.heat_item.setZValue(10)
        self.show_attention = False
        self.patch_item = _path_item(FLAG_RGB, 1.0, 20, alpha=170)
        self.region_item = _path_item(FLAG_RGB, 2.5, 21)
        self.top_item = _path_item(TOP_RGB, 3.5, 22)
        self.truth_item = _path_item(TRUTH_RGB, 2.0, 23, Qt.PenStyle.DashLine)
        self.top_label = pg.TextItem("", color=TOP_RGB, anchor=(0, 1), fill=pg.mkBrush(0, 0, 0, 160))
        self.top_label.setZValue(24)
        self.top_label.setVisible(False)
        for it in (self.image_item, self.heat_item, self.patch_item, self.region_item, self.top_item,
                   self.truth_item, self.top_label):
            self.vb.addItem(it)
        self.cue_items = (self.heat_item, self.patch_item, self.region_item, self.top_item, self.truth_item,
                          self.top_label)
        self.message = QLabel("Open a scan, a folder or a SIXray root (File menu, or drag and drop)")
        self.message.setParent(self.graphics)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setStyleSheet("color: #9aa4b2; font-size: 15px; background: transparent;")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.graphics)
        self.graphics.scene().sigMouseMoved.connect(self._on_mouse)
        self.path = ""
        self.image: np.ndarray | None = None  # uint8 RGB as read
        self.result: Any = None
        self._map_of: Any = None  # the result whose map _map is (decoded once, not per redraw)
        self._map: Any = None
        self.threshold = math.inf
        self.mode = "standard"
        self.window, self.level = 1.0, 0.5
        self.cues_visible = True
        self.regions: list = []
        self._truth: tuple = ()

    # -- content ------------------------------------------------------------------------------
    def show_image(self, path: str, image: np.ndarray) -> None:
        new_scan = path != self.path or self.image is None or self.image.shape != image.shape
        self.path, self.image = path, image
        self.message.hide()
        self._render_image()
        if self.result is not None and self.result.path != path:
            self._clear_overlay()
        if new_scan:
            self.fit()

    def show_result(self, result: Any, threshold: float) -> None:
        self.result, self.threshold = result, float(threshold)
        self._render_overlay()

    def set_threshold(self, threshold: float) -> None:
        self.threshold = float(threshold)
        if self.result is not None:
            self._render_overlay()

    def set_attention_overlay(self, on: bool) -> None:
        """Heat map from the model's attention map instead of the scores, where the result has one."""
        self.show_attention = bool(on)
        if self.result is not None:
            self._render_overlay()

    def showing_attention(self) -> bool:
        return self.show_attention and getattr(self.result, "attention", None) is not None

    def set_ground_truth(self, boxes: Any) -> None:
        self._truth = tuple((b.x0, b.y0, b.x1, b.y1) for b in boxes)
        self.truth_item.setPath(_rects_path(self._truth))

    def clear(self, message: str = "") -> None:
        self.image = None
        self.image_item.clear()
        self._clear_overlay()
        self.message.setText(message)
        self.message.setVisible(bool(message))
        self._place_message()

    def _clear_overlay(self) -> None:
        self.result, self.regions = None, []
        self.heat_item.clear()
        for it in (self.patch_item, self.region_item, self.top_item):
            it.setPath(QPainterPath())
        self.top_label.setVisible(False)

    # -- display controls ---------------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        if mode not in enhance.MODE_BY_KEY:
            raise ValueError(f"unknown enhancement {mode!r}")
        self.mode = mode
        self._render_image()

    def set_window_level(self, window: float, level: float) -> None:
        self.window, self.level = float(window), float(level)
        self.image_item.setLevels(self._levels())

    def _levels(self) -> list[float] | None:
        """None at the full window: uint8 then goes straight to a QImage, no per-pixel rescale."""
        lo, hi = enhance.levels(self.window, self.level)
        if (lo, hi) == (0.0, 1.0):
            return None
        return [lo * 255.0, hi * 255.0]

    def reset_display(self) -> None:
        """The standard image: no enhancement, full window."""
        self.mode = "standard"
        self.window, self.level = 1.0, 0.5
        self._render_image()

    def set_opacity(self, opacity: float) -> None:
        self.heat_item.setOpacity(float(opacity))

    def set_cues_visible(self, visible: bool) -> None:
        self.cues_visible = bool(visible)
        for it in self.cue_items:
            it.setVisible(self.cues_visible)
        self.top_label.setVisible(self.cues_visible and bool(self.regions))

    def fit(self) -> None:
        if self.image is not None:
            h, w = self.image.shape[:2]
            self.vb.setRange(QRectF(0, 0, w, h), padding=0.02)

    def zoom(self, factor: float) -> None:
        self.vb.scaleBy((1.0 / factor, 1.0 / factor))

    def actual_size(self) -> None:
        """One scan pixel per screen pixel, centred on the current view."""
        rect = self.vb.viewRect()
        size = self.vb.size()
        c = rect.center()
        w, h = size.width(), size.height()
        self.vb.setRange(QRectF(c.x() - w / 2, c.y() - h / 2, w, h), padding=0)

    # -- rendering ----------------------------------------------------------------------------
    def _render_image(self) -> None:
        if self.image is None:
            return
        if self.mode == "standard":
            shown = self.image
        else:
            shown = enhance.to_uint8(enhance.apply(self.image.astype(np.float32) / 255.0, self.mode))
        self.image_item.setImage(shown, autoLevels=False)
        self.image_item.setLevels(self._levels())

    def dense_map(self) -> Any:
        """The result's dense threat map (detector v2; a session's stored one decoded once per result),
        or None: patch-only models, older sessions, and a stored map that no longer decodes (logged)."""
        r = self.result
        if self._map_of is not r:
            self._map_of, self._map = r, None
            try:
                self._map = r.dense_map() if hasattr(r, "dense_map") else getattr(r, "threat_map", None)
            except MapDecodeError as exc:
                log.warning("%s: %s; showing its patch scores", getattr(r, "path", "?"), exc)
        return self._map

    def _render_overlay(self) -> None:
        r = self.result
        if r is None:
            return
        cell = cell_size(r.width, r.height)
        dmap = self.dense_map()
        if self.showing_attention():
            rgba = attention_rgba(score_grid(r.boxes, r.attention, r.width, r.height, cell))
        elif dmap is not None:  # the map itself, smooth and clipped to the bag, not grid squares
            z = dmap.logits
            rgba = heat_rgba(np.where(z > BACKGROUND, z, np.nan).astype(np.float32), self.threshold)
        else:
            rgba = heat_rgba(score_grid(r.boxes, r.scores, r.width, r.height, cell), self.threshold)
        self.heat_item.setImage(rgba, autoLevels=False)
        self.heat_item.setLevels(None)
        if dmap is not None and not self.showing_attention():
            self.heat_item.setRect(QRectF(0, 0, rgba.shape[1] / dmap.scale, rgba.shape[0] / dmap.scale))
        else:
            self.heat_item.setRect(QRectF(0, 0, rgba.shape[1] * cell, rgba.shape[0] * cell))
        if dmap is not None:  # regions traced from the map: the object's outline, as exports draw it
            self.patch_item.setPath(QPainterPath())
            self.regions = flagged_regions(dmap, self.threshold, r.width, r.height, r.score)
        else:
            flagged = r.scores >= self.threshold
            self.patch_item.setPath(_rects_path(r.boxes[flagged]))
            self.regions = merge_regions(r.boxes, r.scores, self.threshold)  # the engine's rule, as in reports
        self.region_item.setPath(_rects_path([g.box for g in self.regions[1:]]))
        if self.regions:
            top = self.regions[0]
            self.top_item.setPath(_rects_path([top.box]))
            self.top_label.setText(f" most anomalous  {top.max_score:.2f} ")
            self._place_top_label(top.box)
            self.top_label.setVisible(self.cues_visible)
        else:
            self.top_item.setPath(QPainterPath())
            self.top_label.setVisible(False)

    def _place_top_label(self, box: tuple[int, int, int, int]) -> None:
        """Above the region (below it at the top edge), on the side that stays inside the scan."""
        x0, y0, x1, y1 = box
        width = self.result.width if self.result is not None else x1
        right = (x0 + x1) / 2 > width / 2
        below = y0 < 40
        self.top_label.setAnchor((1 if right else 0, 0 if below else 1))
        self.top_label.setPos(x1 if right else x0, y1 if below else y0)

    # -- readout ------------------------------------------------------------------------------
    def _on_mouse(self, scene_pos: Any) -> None:
        if self.image is None:
            return
        p = self.image_item.mapFromScene(scene_pos)
        x, y = int(math.floor(p.x())), int(math.floor(p.y()))
        h, w = self.image.shape[:2]
        if not (0 <= x < w and 0 <= y < h):
            self.pixel_info.emit("")
            return
        self.pixel_info.emit(self.readout(x, y))

    def readout(self, x: int, y: int) -> str:
        if self.image is None:
            return ""
        r, g, b = (int(v) for v in self.image[y, x])
        text = f"{Path(self.path).name}  x {x}  y {y}   RGB {r} {g} {b}"
        if self.result is not None:
            s = score_at(self.result.boxes, self.result.scores, x, y)
            text += "   patch score " + ("—" if s is None else f"{s:.2f}")
            dmap = self.dense_map()
            if dmap is not None:
                z = dmap.logits[min(int(y * dmap.scale), dmap.logits.shape[0] - 1),
                                min(int(x * dmap.scale), dmap.logits.shape[1] - 1)]
                text += "   map " + ("—" if z <= BACKGROUND else f"{z:.2f}")
        return text

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._place_message()

    def _place_message(self) -> None:
        self.message.setGeometry(0, 0, self.graphics.width(), self.graphics.height())
