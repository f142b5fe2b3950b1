"""Regions traced from a dense threat map: what the window draws and every export writes.

Why trace the map rather than merge grid squares: the map outlines the object itself, so a
knife is a thin box, not a 256-px square, and a threat cut by a patch border is one region.
Flagged pixels (score >= threshold) form regions by 8-connectivity; each region's box is in
scan pixels and carries its maximum and mean score. The same function serves the window and
every export, so they always show the same regions; a stored session's map (the 8-bit
:class:`~engine.dense_map.CompactMap`, re-exported here) traces without rescoring.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..dense_map import BACKGROUND, HI, LEVELS, LO, CompactMap, DenseMap
from .regions import Region

__all__ = ["HI", "LEVELS", "LO", "CompactMap", "flagged_regions", "trace_regions"]


def trace_regions(dmap: DenseMap, threshold: float, width: int, height: int, min_pixels: int = 2) -> list[Region]:
    """Regions of map pixels at or above ``threshold``, highest max score first; boxes clipped to the scan.

    Components smaller than ``min_pixels`` map pixels are dropped (single-pixel speckle on clutter).
    """
    z = dmap.logits
    flagged = (z >= threshold) & (z > BACKGROUND)
    if not flagged.any():
        return []
    n, labels, stats, _ = cv2.connectedComponentsWithStats(flagged.astype(np.uint8), connectivity=8)
    regions = []
    inv = 1.0 / dmap.scale
    for k in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[k])
        if area < min_pixels:
            continue
        vals = z[labels == k]
        box = (max(0, int(np.floor(x * inv))), max(0, int(np.floor(y * inv))),
               min(width, int(np.ceil((x + w) * inv))), min(height, int(np.ceil((y + h) * inv))))
        regions.append(Region(box, float(vals.max()), float(vals.mean()), int(area)))
    regions.sort(key=lambda r: (-r.max_score, -r.area, r.box))
    return regions


def flagged_regions(dmap: DenseMap, threshold: float, width: int, height: int, score: float) -> list[Region]:
    """The regions the window draws and every export writes for a scan scoring ``score``.

    :func:`trace_regions`, except that a flagged scan (``score >= threshold``) always gets one: when
    nothing traces (its peak is speckle-sized, or a stored map's 8-bit rounding put the peak a fraction
    of a step below the threshold), the component holding the map's peak is its region.
    """
    regions = trace_regions(dmap, threshold, width, height)
    if regions or not score >= threshold:
        return regions
    content = dmap.logits[dmap.logits > BACKGROUND]
    if content.size == 0:
        return []
    peak = float(content.max())
    return trace_regions(dmap, min(threshold, peak), width, height, min_pixels=1)[:1]
