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
from ..dense_map import BACKGROUND, DenseMap
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
    """Scan (downscaled to ``max_side``) with flagged map pixels (or patches) tinted by score and regions
    outlined."""
    h, w = rgb.shape[:2]
    k = min(1.0, max_side / max(h, w))
    size = (max(1, round(w * k)), max(1, round(h * k)))
    img = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA) if k < 1 else rgb
    dmap = scan.threat_map
    heat = _map_heat(dmap, threshold, img.shape[:2], k) if dmap is not None else _patch_heat(
        scan, threshold, img.shape[:2], k)
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


def _tint(v: np.ndarray, threshold: float) -> np.ndarray:
    """Flagged scores to [0.35, 1] (the highest at 1), 0 elsewhere."""
    flagged = v >= threshold
    top = float(v[flagged].max()) if flagged.any() else threshold
    if top <= threshold:
        return flagged.astype(np.float32)
    return np.where(flagged, 0.35 + 0.65 * (v - threshold) / (top - threshold), 0.0).astype(np.float32)


def _patch_heat(scan: StoredScan, threshold: float, shape: tuple[int, ...], k: float) -> np.ndarray:
    heat = np.zeros(shape[:2], np.float32)
    for box, v in zip(scan.boxes, _tint(scan.scores, threshold), strict=True):
        x0, y0, x1, y1 = (int(round(c * k)) for c in box)
        np.maximum(heat[y0:y1, x0:x1], v, out=heat[y0:y1, x0:x1])
    return heat


def _map_heat(dmap: DenseMap, threshold: float, shape: tuple[int, ...], k: float) -> np.ndarray:
    """The map's flagged pixels, as the window draws them, sampled at the picture's pixels (nearest)."""
    z = np.where(dmap.logits > BACKGROUND, dmap.logits, -np.inf)
    mh, mw = z.shape
    ys = np.minimum((np.arange(shape[0]) / k * dmap.scale).astype(np.int64), mh - 1)
    xs = np.minimum((np.arange(shape[1]) / k * dmap.scale).astype(np.int64), mw - 1)
    return _tint(z, threshold)[ys[:, None], xs[None, :]]


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
