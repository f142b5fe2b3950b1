"""Pictures of flagged scans: the overlay (heat map + region outlines) and region crops, with cv2.

The overlay is drawn here, in numpy and cv2, so the PDF (Qt, in ``app/``), the crops and
any later front-end show the same picture. Scans are re-read from their stored paths; a scan
that moved or changed since the batch is reported, not guessed at.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from ..data.io import read_scan, to_uint8
from ..errors import EngineError
from ..fsutil import atomic_write_bytes
from ..storage import StoredScan
from .flagged import FlaggedScan
from .regions import Region
from .staging import staged_dir, unique_stem

log = logging.getLogger(__name__)

OUTLINE = (230, 30, 30)  # RGB


def load_rgb(scan: StoredScan) -> np.ndarray | None:
    """The scan as uint8 RGB, or None (logged) when its file is gone or no longer the scan scored."""
    try:
        s = read_scan(scan.path)
    except EngineError as exc:
        log.warning("no image for %s: %s", scan.path, exc)
        return None
    if scan.sha256 and s.meta.sha256 != scan.sha256:
        log.warning("%s changed since it was scored (sha256 differs): no image", scan.path)
        return None
    return to_uint8(s.pixels)


def overlay(rgb: np.ndarray, scan: StoredScan, regions: list[Region], threshold: float,
            max_side: int = 1400) -> np.ndarray:
    """Scan (downscaled to ``max_side``) with flagged patches tinted by score and regions outlined."""
    h, w = rgb.shape[:2]
    k = min(1.0, max_side / max(h, w))
    size = (max(1, round(w * k)), max(1, round(h * k)))
    img = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA) if k < 1 else rgb
    heat = np.zeros(img.shape[:2], np.float32)
    flagged = scan.scores >= threshold
    top = float(scan.scores[flagged].max()) if flagged.any() else threshold
    for box, s in zip(scan.boxes[flagged], scan.scores[flagged], strict=True):
        x0, y0, x1, y1 = (int(round(v * k)) for v in box)
        v = 1.0 if top <= threshold else 0.35 + 0.65 * (float(s) - threshold) / (top - threshold)
        np.maximum(heat[y0:y1, x0:x1], v, out=heat[y0:y1, x0:x1])
    jet = cv2.applyColorMap((heat * 255).astype(np.uint8), cv2.COLORMAP_JET)
    colour = cv2.cvtColor(jet, cv2.COLOR_BGR2RGB)
    mask = heat > 0
    out = img.copy()
    out[mask] = (0.55 * img[mask] + 0.45 * colour[mask]).astype(np.uint8)
    t = max(2, round(max(out.shape[:2]) / 350))
    for i, r in enumerate(regions, start=1):
        x0, y0, x1, y1 = (int(round(v * k)) for v in r.box)
        cv2.rectangle(out, (x0, y0), (max(x0, x1 - 1), max(y0, y1 - 1)), OUTLINE, t)
        cv2.putText(out, str(i), (x0 + 2 * t, y0 + 12 * t), cv2.FONT_HERSHEY_SIMPLEX, 0.4 * t, OUTLINE, t)
    return out


def crop(rgb: np.ndarray, box: tuple[int, int, int, int], margin: int = 0) -> np.ndarray:
    """The region's pixels (plus ``margin``), clipped to the scan."""
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = box
    return rgb[max(0, y0 - margin) : min(h, y1 + margin), max(0, x0 - margin) : min(w, x1 + margin)]


def write_png(path: Path, rgb: np.ndarray) -> None:
    ok, enc = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR))
    if not ok:
        raise EngineError(f"{path}: could not encode PNG")
    atomic_write_bytes(path, enc.tobytes())


def write_crops(out_dir: str | Path, flagged: Iterable[FlaggedScan], margin: int = 0) -> int:
    """``<scan>_r<k>.png`` per region, k from 1 in score order; returns the number written."""
    n = 0
    used: set[str] = set()
    with staged_dir(out_dir) as tmp:
        for f in flagged:
            rgb = load_rgb(f.scan)
            if rgb is None:
                continue
            stem = unique_stem(f.scan.name, used, f.scan.index)
            for k, r in enumerate(f.regions, start=1):
                write_png(tmp / f"{stem}_r{k}.png", crop(rgb, r.box, margin))
                n += 1
    return n
