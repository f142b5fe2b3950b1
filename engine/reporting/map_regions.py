"""Regions traced from a dense threat map, and the compact 8-bit map a session stores per scan.

Why trace the map rather than merge grid squares: the map outlines the object itself, so a
knife is a thin box, not a 256-px square, and a threat cut by a patch border is one region.
Flagged pixels (score >= threshold) form regions by 8-connectivity; each region's box is in
scan pixels and carries its maximum and mean score. The same function serves the window and
every export, so they always show the same regions.

The stored map is uint8 at the map's own resolution (a quarter of the scan's at the default
grid): 0 is background, 1..255 span [LO, HI] score units linearly, so re-thresholding a
stored session needs no rescoring. Scores beyond the span saturate; the span covers every
operating point in practice (thresholds lie between about -1 and 8).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..map_scoring import BACKGROUND, DenseMap
from .regions import Region

LO, HI = -4.0, 16.0
LEVELS = 254


@dataclass(frozen=True)
class CompactMap:
    """``q`` (h, w) uint8; ``scale`` map pixels per scan pixel; value = lo + (hi - lo) * (q - 1) / 254."""

    q: np.ndarray
    scale: float
    lo: float = LO
    hi: float = HI

    @classmethod
    def from_map(cls, dmap: DenseMap, lo: float = LO, hi: float = HI) -> CompactMap:
        z = dmap.logits
        content = z > BACKGROUND
        q = np.zeros(z.shape, np.uint8)
        step = (np.clip(z[content], lo, hi) - lo) / (hi - lo) * LEVELS
        q[content] = (np.round(step) + 1).astype(np.uint8)
        return cls(q, dmap.scale, lo, hi)

    def to_map(self) -> DenseMap:
        z = self.lo + (self.hi - self.lo) * (self.q.astype(np.float32) - 1) / LEVELS
        return DenseMap(np.where(self.q > 0, z, np.float32(BACKGROUND)).astype(np.float32), self.scale)


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
