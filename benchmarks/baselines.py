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
from engine.data.material import metal_mask
from engine.data.patches import extract_patches
from engine.scoring import ScanResult, scan_score


def metal_rule(scan: Scan, grid: GridConfig) -> ScanResult:
    ps = extract_patches(scan.pixels, grid)
    m = cv2.integral(metal_mask(scan.pixels))
    x0, y0, x1, y1 = ps.boxes.T
    area = np.maximum((x1 - x0) * (y1 - y0), 1)
    scores = ((m[y1, x1] - m[y0, x1] - m[y1, x0] + m[y0, x0]) / area).astype(np.float32)
    meta = scan.meta
    return ScanResult(meta.path, scan.name, meta.width, meta.height, meta.sha256, ps.boxes, scores,
                      scan_score(scores), 0.0)


def size_cheat(scan: Scan) -> float:
    return -float(scan.meta.width * scan.meta.height)
