"""Overlay maths, pure numpy: per-patch scores to a heat-map image, and box lookups.

The heat map is rendered on a coarse grid (a few scan pixels a cell) and
stretched over the scan by the view, so building it costs well under a
millisecond and moving the threshold can recolour it on every slider step.
Patches scoring at or above the threshold are opaque red; below it, the colour
runs from transparent through amber, so the eye goes to what the model flags. On a
clear scan (nothing reaches the threshold) the amber ramp tops out at the scan's own
highest patch, so the officer still sees where the model looked hardest.
"""

from __future__ import annotations

import math

import numpy as np

FLAG_RGB = (255, 59, 48)  # flagged patches and regions
TOP_RGB = (255, 214, 10)  # the most anomalous region
TRUTH_RGB = (50, 210, 255)  # ground-truth boxes
SPAN = 3.0  # score units below the threshold over which colour fades in
AMBER_ALPHA = 120  # the most opaque a patch below the threshold gets (before the opacity slider)
MAX_CELLS = 1024  # cells along the longer side


def cell_size(width: int, height: int) -> int:
    """Scan pixels per heat-map cell: 4, or more for very large scans."""
    return max(4, math.ceil(max(width, height) / MAX_CELLS))


def score_grid(boxes: np.ndarray, scores: np.ndarray, width: int, height: int, cell: int) -> np.ndarray:
    """Max patch score per cell (NaN where no content patch lies), shape (ceil(h/cell), ceil(w/cell))."""
    gh, gw = math.ceil(height / cell), math.ceil(width / cell)
    grid = np.full((gh, gw), -np.inf, np.float32)
    for (x0, y0, x1, y1), s in zip(np.asarray(boxes).reshape(-1, 4), np.asarray(scores).ravel(), strict=True):
        cy0, cx0 = int(y0) // cell, int(x0) // cell
        cy1, cx1 = max(cy0 + 1, round(int(y1) / cell)), max(cx0 + 1, round(int(x1) / cell))
        view = grid[cy0:cy1, cx0:cx1]
        np.maximum(view, np.float32(s), out=view)
    grid[~np.isfinite(grid)] = np.nan
    return grid


def colour_scale(scores: np.ndarray, threshold: float) -> tuple[float, float]:
    """(low, high) of the colour ramp: SPAN wide, up to the threshold, or up to the scan's highest
    score when that is lower (a clear scan) or there is no threshold (the ranking only)."""
    finite = np.asarray(scores)[np.isfinite(scores)]
    if finite.size == 0:
        return (threshold - SPAN, threshold) if math.isfinite(threshold) else (0.0, 1.0)
    hi = min(float(finite.max()), threshold)
    return hi - SPAN, hi


def heat_rgba(grid: np.ndarray, threshold: float) -> np.ndarray:
    """RGBA uint8 image of a score grid: transparent low scores, amber rising, red at the threshold."""
    lo, hi = colour_scale(grid, threshold)
    valid = np.isfinite(grid)
    g = np.where(valid, grid, lo)
    t = np.clip((g - lo) / max(hi - lo, 1e-6), 0.0, 1.0)
    flagged = valid & (g >= threshold) if math.isfinite(threshold) else np.zeros_like(valid)
    rgba = np.zeros(grid.shape + (4,), np.uint8)
    rgba[..., 0] = 255
    rgba[..., 1] = np.where(flagged, FLAG_RGB[1], 200 - 110 * t).astype(np.uint8)
    rgba[..., 2] = np.where(flagged, FLAG_RGB[2], 40 * (1 - t)).astype(np.uint8)
    alpha = np.where(flagged, 190, AMBER_ALPHA * t**3)  # fainter below the threshold
    rgba[..., 3] = np.where(valid, alpha, 0).astype(np.uint8)
    return rgba


ATTENTION_RGB = (90, 200, 255)


def attention_rgba(grid: np.ndarray) -> np.ndarray:
    """RGBA uint8 image of a [0, 1] attention grid (two-stage models): cyan, opacity rising with attention.

    Attention is not a score and has no threshold: it shows where the model looked, so it never turns red.
    """
    valid = np.isfinite(grid)
    a = np.clip(np.where(valid, grid, 0.0), 0.0, 1.0)
    rgba = np.zeros(grid.shape + (4,), np.uint8)
    rgba[..., :3] = ATTENTION_RGB
    rgba[..., 3] = np.where(valid, 200 * a**1.5, 0).astype(np.uint8)
    return rgba


def score_at(boxes: np.ndarray, scores: np.ndarray, x: float, y: float) -> float | None:
    """Highest score of the patches containing pixel (x, y); None outside every content patch."""
    b = np.asarray(boxes).reshape(-1, 4)
    if b.size == 0:
        return None
    inside = (b[:, 0] <= x) & (x < b[:, 2]) & (b[:, 1] <= y) & (y < b[:, 3])
    if not inside.any():
        return None
    return float(np.asarray(scores)[inside].max())
