"""Non-learned baselines measured beside the models in the same run.

* size cheat: image score = -scan area. On SIXray this alone separates threat
  scans from threat-free ones, which is why scan-level figures there are confounded.
* metal-colour rule: patch score = fraction of blue-hue or dark pixels. Metal and
  dense matter is what most threats are made of; a model should beat this.
"""

from __future__ import annotations

import cv2
import numpy as np

from engine.config import GridConfig
from engine.data.io import Scan
from engine.data.patches import extract_patches
from engine.scoring import ScanResult


def metal_fraction_map(pixels: np.ndarray) -> np.ndarray:
    """Per-pixel 1 where the pseudo-colour says metal (blue hue) or dense (dark)."""
    u8 = np.clip(pixels * 255, 0, 255).astype(np.uint8)
    hsv = cv2.cvtColor(u8, cv2.COLOR_RGB2HSV)
    h, s, v = hsv[..., 0].astype(np.int16), hsv[..., 1], hsv[..., 2]
    blue = (h >= 90) & (h <= 135) & (s >= 60)
    dark = v < 70
    return (blue | dark).astype(np.float32)


def metal_rule(scan: Scan, grid: GridConfig) -> ScanResult:
    ps = extract_patches(scan.pixels, grid)
    m = cv2.integral(metal_fraction_map(scan.pixels))
    x0, y0, x1, y1 = ps.boxes.T
    area = np.maximum((x1 - x0) * (y1 - y0), 1)
    scores = ((m[y1, x1] - m[y0, x1] - m[y1, x0] + m[y0, x0]) / area).astype(np.float32)
    meta = scan.meta
    return ScanResult(meta.path, scan.name, meta.width, meta.height, meta.sha256, ps.boxes, scores,
                      float(scores.max()) if len(scores) else float("-inf"), 0.0)


def size_cheat(scan: Scan) -> float:
    return -float(scan.meta.width * scan.meta.height)
