"""Training batches for the dense threat map: threat-free crops, projected threats with exact masks,
and a labelled library's real threats with box-level (weak) labels.

Why each source:

* projected threats (TIP) know exactly which pixels they darkened, so the map gets a dense target;
  the sprites mix the synthetic shape models with cut-outs of the library's real threats, at random
  pose, scale and depth, sometimes two in one crop;
* real library threats carry boxes only: pixels outside every box are negatives, and the box
  itself gets a multiple-instance target (its highest logit must be high), not a filled box;
* the library's own threat-free regions are negatives too, so the map cannot key on scan type.

Crops are kept as uint8 at the model's scale (``scale`` = map input pixels per scan pixel).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ..config import GridConfig
from ..data.io import read_scan
from ..data.patches import content_mask, resize_scan
from ..data.types import ScanRecord
from ..errors import EngineError
from ..events import CancelToken, Progress, check
from ..synth.tip import ThreatLibrary, project

log = logging.getLogger(__name__)

#: A pixel counts as threat when the projection changed some channel by more than this (paste may lighten).
MASK_DARKENING = 0.03
#: Projection variety (``MapAugmenter(variety=True)``): this share of the threats is composited by
#: alpha-over paste at an opacity drawn from VARIETY_OPACITY instead of multiplying transmissions, so the
#: map learns the threat, not one compositing method's traces. (A first variety, depth 0.5-1.2 with half
#: the threats partly hidden, raised false alarms on clutter: benchmarks/RESULTS.md, "v2-fade".)
VARIETY_PASTE = 0.3
VARIETY_OPACITY = (0.7, 1.0)


def _random_crops(img: np.ndarray, content: np.ndarray, size: int, n: int, rng: np.random.Generator,
                  min_content: float = 0.2) -> list[tuple[int, int]]:
    h, w = content.shape
    if h < size or w < size:
        return []
    ii = cv2.integral(content.astype(np.uint8))
    out = []
    for _ in range(8 * n):
        y, x = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
        frac = (ii[y + size, x + size] - ii[y, x + size] - ii[y + size, x] + ii[y, x]) / size**2
        if frac >= min_content:
            out.append((x, y))
            if len(out) == n:
                break
    return out


def tip_library(threats: Sequence[ScanRecord], seed: int) -> ThreatLibrary:
    """The sprites a map model projects: synthetic shape models always, plus cut-outs of ``threats``."""
    from ..data.dataset import Dataset

    sprites = ThreatLibrary.synthetic(np.random.default_rng(seed), per_category=12).sprites
    if threats:
        sprites += ThreatLibrary.from_dataset(Dataset("library", list(threats)), max_per_category=80,
                                              seed=seed).sprites
    return ThreatLibrary(sprites)


@dataclass
class CropSet:
    """uint8 crops (N, S, S, 3); for real threats, boxes in crop pixels (N, 4) (-1 rows when none)."""

    crops: np.ndarray
    boxes: np.ndarray

    def __len__(self) -> int:
        return len(self.crops)


def _pad(img: np.ndarray, size: int) -> np.ndarray:
    h, w = img.shape[:2]
    if h >= size and w >= size:
        return img
    out = np.ones((max(h, size), max(w, size), 3), img.dtype)
    out[:h, :w] = img
    return out


def build_crops(records: Sequence[ScanRecord], scale: float, size: int, per_scan: int, seed: int,
                grid: GridConfig, cancel: CancelToken | None = None, threats: bool = False
                ) -> Iterator[Progress | CropSet]:
    """Crops of ``records``; with ``threats`` one crop per box around it, plus crops touching no box.

    Yields Progress, then one CropSet of threat-free crops and, with ``threats``, a second of boxed ones.
    """
    rng = np.random.default_rng(seed)
    clean: list[np.ndarray] = []
    boxed: list[np.ndarray] = []
    boxes: list[list[float]] = []
    for i, rec in enumerate(records):
        check(cancel)
        try:
            img = _pad(resize_scan(read_scan(rec.path).pixels, scale), size)
        except EngineError as exc:
            log.warning("crop source skipped: %s", exc)
            continue
        content = content_mask(img, grid)
        sb = [(b.x0 * scale, b.y0 * scale, b.x1 * scale, b.y1 * scale) for b in rec.boxes] if threats else []
        for x, y in _random_crops(img, content, size, per_scan, rng):
            if any(x < bx1 and bx0 < x + size and y < by1 and by0 < y + size for bx0, by0, bx1, by1 in sb):
                continue
            clean.append(img[y : y + size, x : x + size])
        h, w = img.shape[:2]
        for bx0, by0, bx1, by1 in sb:
            cx = (bx0 + bx1) / 2 + rng.uniform(-0.25, 0.25) * size
            cy = (by0 + by1) / 2 + rng.uniform(-0.25, 0.25) * size
            x = int(np.clip(round(cx - size / 2), 0, w - size))
            y = int(np.clip(round(cy - size / 2), 0, h - size))
            boxed.append(img[y : y + size, x : x + size])
            boxes.append([max(bx0 - x, 0), max(by0 - y, 0), min(bx1 - x, size), min(by1 - y, size)])
        if i % 20 == 0 or i == len(records) - 1:
            yield Progress("crops", i + 1, len(records))

    def u8(v: list[np.ndarray]) -> np.ndarray:
        if not v:
            return np.zeros((0, size, size, 3), np.uint8)
        return np.clip(np.stack(v) * 255 + 0.5, 0, 255).astype(np.uint8)

    yield CropSet(u8(clean), -np.ones((len(clean), 4), np.float32))
    if threats:
        yield CropSet(u8(boxed), np.asarray(boxes, np.float32).reshape(-1, 4))


@dataclass
class MapBatch:
    """x (N, 3, S, S) float32; target and weight (N, 1, S/2, S/2); ``mil`` marks rows whose target is a box.

    ``clean`` is x before projection (the reconstruction target) and ``clean_weight`` is 0 where no clean
    version exists (a real threat)."""

    x: np.ndarray
    target: np.ndarray
    weight: np.ndarray
    mil: np.ndarray
    clean: np.ndarray
    clean_weight: np.ndarray


def _flip_rot(a: np.ndarray, k: int, flip: bool) -> np.ndarray:
    a = np.rot90(a, k)
    return np.ascontiguousarray(a[:, ::-1] if flip else a)


class MapAugmenter:
    """Draws mixed batches: clean crops, TIP crops, real threats (MIL) and library negatives."""

    def __init__(self, normals: CropSet, library: ThreatLibrary, scale: float, grid: GridConfig,
                 real: CropSet | None = None, real_clean: CropSet | None = None, tip_rate: float = 0.45,
                 real_rate: float = 0.15, clean_lib_rate: float = 0.1, second_threat: float = 0.25,
                 variety: bool = False) -> None:
        self.normals, self.library, self.scale, self.grid = normals, library, scale, grid
        self.real = real if real is not None and len(real) else None
        self.real_clean = real_clean if real_clean is not None and len(real_clean) else None
        self.tip_rate, self.real_rate, self.clean_lib_rate = tip_rate, real_rate, clean_lib_rate
        self.second_threat = second_threat
        self.variety = variety

    def _tip(self, host: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        out = host
        n = 2 if rng.random() < self.second_threat else 1
        content = content_mask(host, self.grid)
        for _ in range(n):
            paste = 0.0
            if self.variety and rng.random() < VARIETY_PASTE:
                paste = float(rng.uniform(*VARIETY_OPACITY))
            try:
                out, _ = project(out, self.library.sample(rng), rng, scale=(0.6 * self.scale, 1.3 * self.scale),
                                 max_extent=0.9, grid=self.grid, content=content, paste=paste)
            except EngineError:
                break
        mask = (np.abs(host - out).max(axis=2) > MASK_DARKENING).astype(np.float32)  # paste may lighten
        return out, mask

    def __call__(self, n: int, rng: np.random.Generator) -> MapBatch:
        size = self.normals.crops.shape[1]
        half = (size + 1) // 2
        x = np.empty((n, 3, size, size), np.float32)
        clean = np.empty_like(x)
        clean_weight = np.ones(n, np.float32)
        target = np.zeros((n, 1, half, half), np.float32)
        weight = np.ones((n, 1, half, half), np.float32)
        mil = np.zeros(n, bool)
        kinds = rng.random(n)
        for i in range(n):
            u = kinds[i]
            mask = np.zeros((size, size), np.float32)
            if self.real is not None and u < self.real_rate:
                j = int(rng.integers(len(self.real)))
                img = self.real.crops[j].astype(np.float32) / 255
                bx0, by0, bx1, by1 = (int(round(v)) for v in self.real.boxes[j])
                mask[by0:by1, bx0:bx1] = 1.0
                mil[i] = True
                clean_weight[i] = 0.0
                host = img
            elif self.real_clean is not None and u < self.real_rate + self.clean_lib_rate:
                img = self.real_clean.crops[int(rng.integers(len(self.real_clean)))].astype(np.float32) / 255
                host = img
            else:
                img = host = self.normals.crops[int(rng.integers(len(self.normals)))].astype(np.float32) / 255
                if rng.random() < self.tip_rate / max(1e-9, 1 - self.real_rate - self.clean_lib_rate):
                    img, mask = self._tip(img, rng)
            k, flip = int(rng.integers(4)), bool(rng.random() < 0.5)
            img, mask, host = (_flip_rot(a, k, flip) for a in (img, mask, host))
            x[i] = img.transpose(2, 0, 1)
            clean[i] = host.transpose(2, 0, 1)
            small = cv2.resize(mask, (half, half), interpolation=cv2.INTER_AREA)
            if mil[i]:
                target[i, 0] = small > 0.25  # the box: a MIL target, no pixel loss inside it
                weight[i, 0] = (small <= 0.0).astype(np.float32)
            else:
                target[i, 0] = small >= 0.25
                weight[i, 0] = ((small <= 0.0) | (small >= 0.25)).astype(np.float32)  # a thin edge is neither
        return MapBatch(x, target, weight, mil, clean, clean_weight)
