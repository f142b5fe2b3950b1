"""Threat image projection (TIP): put a threat into a threat-free scan by attenuation.

The host's pseudo-colour is read as per-channel transmission (white = 1) and
multiplied by the threat's transmission, so the result can only get darker
and whatever lies under the threat still shows through, as on a real scanner.
Placement is restricted to content (the bag), never the white surround or the
light-grey belt, using the patch grid's own background rule.

Fast enough for on-the-fly training augmentation: a 256 x 256 patch takes
1-2 ms of one core (one content mask, one small warp, one multiply); pass
``content`` when the caller already has the mask.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np

from ..config import GridConfig
from ..data.dataset import Dataset, load_dataset
from ..data.io import read_scan
from ..data.patches import content_mask
from ..data.types import CATEGORIES, Box, canonical_category
from ..errors import ConfigError, EngineError
from ..events import CancelToken, check
from .shapes import pose_matrix, stamp
from .sprites import CutoutError, ThreatSprite
from .threats import draw_threat

log = logging.getLogger(__name__)

_GRID = GridConfig()


class NoContentError(EngineError):
    """A host scan with no bag pixels to put a threat on."""


def _candidates(content: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    """Up to ``n`` random content pixels as (x, y); rejection sampling first (content is usually plenty)."""
    h, w = content.shape
    ys, xs = rng.integers(0, h, 8 * n), rng.integers(0, w, 8 * n)
    hit = content[ys, xs]
    if hit.sum() >= n:
        return np.stack([xs[hit][:n], ys[hit][:n]], 1)
    flat = np.flatnonzero(content)
    if len(flat) == 0:
        return np.zeros((0, 2), np.int64)
    pick = flat[rng.integers(0, len(flat), n)]
    return np.stack([pick % w, pick // w], 1)


def _fade_field(shape: tuple[int, int], fade: float, rng: np.random.Generator) -> np.ndarray:
    """A smooth random visibility field in [1 - fade, 1]: a 4 x 4 grid of uniforms on [-0.5, 1],
    bicubically upsampled and clipped, so about a third of the threat is near the floor (hidden)."""
    coarse = rng.uniform(-0.5, 1.0, (4, 4)).astype(np.float32)
    field = cv2.resize(coarse, (max(shape[1], 1), max(shape[0], 1)), interpolation=cv2.INTER_CUBIC)
    return np.clip(field, 0.0, 1.0) * np.float32(fade) + np.float32(1.0 - fade)


def project(
    host: np.ndarray,
    threat: ThreatSprite,
    rng: np.random.Generator,
    *,
    scale: float | tuple[float, float] = (0.8, 1.2),
    angle: float | None = None,
    flip: bool | None = None,
    max_extent: float = 0.9,
    grid: GridConfig | None = None,
    content: np.ndarray | None = None,
    tries: int = 8,
    depth: float | tuple[float, float] = 1.0,
    fade: float = 0.0,
    paste: float = 0.0,
) -> tuple[np.ndarray, Box]:
    """Project ``threat`` into ``host`` (float RGB in [0, 1], H x W x 3); returns (new float32 scan, its box).

    Pose is random unless given: rotation, mirror, ``scale`` (a factor or a range
    on the sprite's own pixels), shrunk so the threat spans at most ``max_extent``
    of the host's shorter side. The centre is the content pixel (of ``tries``
    random ones) whose footprint holds the most content. The box is the tight
    box of every pixel the threat darkens. ``depth`` (a factor or a range)
    raises the transmission to that power: below 1 the threat is fainter (thinner,
    less dense, or seen through less material), which makes calibration threats
    as hard as real ones. ``fade`` in [0, 1) lets the threat's visibility vary smoothly across it, down
    to ``1 - fade`` of its attenuation: parts of the threat are barely visible (edge-on, thin, or hidden in
    clutter), so a map can be calibrated on threats seen only in part. ``paste`` > 0 composites
    another way: alpha-over with that opacity (the threat's own image replaces the host's under its
    mask, lighter than dark clutter where it is less dense), instead of multiplying transmissions, so
    a map does not learn one compositing method's traces. Never modifies ``host``.
    """
    if host.dtype == np.uint8:
        host = host.astype(np.float32) * np.float32(1.0 / 255.0)
    host = np.asarray(host, np.float32)
    if host.ndim != 3 or host.shape[2] != 3:
        raise ConfigError(f"host scan must be H x W x 3, not {host.shape}")
    h, w = host.shape[:2]
    s = float(rng.uniform(*scale)) if isinstance(scale, tuple) else float(scale)
    d = float(rng.uniform(*depth)) if isinstance(depth, tuple) else float(depth)
    if not d > 0:
        raise ConfigError(f"projection depth must be positive, not {d}")
    if not 0.0 <= fade < 1.0:
        raise ConfigError(f"projection fade must be in [0, 1), not {fade}")
    if not 0.0 <= paste <= 1.0:
        raise ConfigError(f"projection paste opacity must be in [0, 1], not {paste}")
    a = float(rng.uniform(0.0, 360.0)) if angle is None else float(angle)
    f = bool(rng.random() < 0.5) if flip is None else bool(flip)
    r = np.deg2rad(a)
    ext_w = abs(np.cos(r)) * threat.width + abs(np.sin(r)) * threat.height
    ext_h = abs(np.sin(r)) * threat.width + abs(np.cos(r)) * threat.height
    s = min(s, max_extent * min(w, h) / max(ext_w, ext_h, 1.0))
    ext_w, ext_h = ext_w * s, ext_h * s
    mask = content if content is not None else content_mask(host, grid or _GRID)
    cands = _candidates(mask, rng, max(tries, 1))
    if len(cands) == 0:
        raise NoContentError("the host scan has no content (bag) pixels to project a threat onto")
    # Keep the footprint on the scan where it fits, then score each candidate by content under it.
    hx, hy = ext_w / 2, ext_h / 2
    cx = np.clip(cands[:, 0].astype(np.float64), min(hx, w / 2), max(w - hx, w / 2))
    cy = np.clip(cands[:, 1].astype(np.float64), min(hy, h / 2), max(h - hy, h / 2))
    ii = cv2.integral(mask.astype(np.uint8))
    x0 = np.clip(np.round(cx - hx), 0, w).astype(int)
    x1 = np.clip(np.round(cx + hx), 0, w).astype(int)
    y0 = np.clip(np.round(cy - hy), 0, h).astype(int)
    y1 = np.clip(np.round(cy + hy), 0, h).astype(int)
    inside = ii[y1, x1] - ii[y0, x1] - ii[y1, x0] + ii[y0, x0]
    score = inside / np.maximum((x1 - x0) * (y1 - y0), 1) + mask[cands[:, 1], cands[:, 0]]
    best = int(np.argmax(score))
    m = pose_matrix((float(cx[best]), float(cy[best])), a, s, f, pivot=(threat.width / 2, threat.height / 2))
    placed = stamp(host, threat.packed, m, border=(1.0, 1.0, 1.0, 0.0))
    if placed is None:  # pragma: no cover - the centre is always on the scan
        raise NoContentError("the threat fell outside the host scan")
    (rx0, ry0, rx1, ry1), warped = placed
    # Bilinear weights round: T = 1 can come out as 0.99999994 (a spurious darkening) or 1.0000001
    # (a brightening). Snap both to exactly 1 (real attenuation is far below 1 - 1e-5); cv2 thresholds
    # are ~4x faster here than numpy boolean indexing, and cv2.min with a scalar would clip channel 0 only.
    t = np.ascontiguousarray(warped[..., :3])
    t = cv2.max(t, cv2.threshold(t, 1.0 - 1e-5, 1.0, cv2.THRESH_BINARY)[1])
    t = cv2.threshold(t, 1.0, 1.0, cv2.THRESH_TRUNC)[1]
    if d != 1.0:
        t = np.power(t, np.float32(d))
    if fade > 0:  # visibility v: the threat's attenuation 1 - T scaled by v, so v near 0 hides that part
        t = 1.0 - _fade_field(t.shape[:2], fade, rng)[..., None] * (1.0 - t)
    out = host.copy()
    if paste > 0:
        a = warped[..., 3:4] * np.float32(paste)
        out[ry0:ry1, rx0:rx1] = out[ry0:ry1, rx0:rx1] * (1.0 - a) + t * a
    else:
        out[ry0:ry1, rx0:rx1] *= t
    # Every pixel the sprite darkens has mask > 0 (T < 1 only inside the mask), so this box holds them all.
    bx, by, bw, bh = cv2.boundingRect((warped[..., 3] > 0).view(np.uint8))
    if bw == 0:
        bx, by, bw, bh = 0, 0, rx1 - rx0, ry1 - ry0
    bx0, by0, bx1, by1 = rx0 + bx, ry0 + by, rx0 + bx + bw, ry0 + by + bh
    return out, Box(threat.category, float(bx0), float(by0), float(bx1), float(by1))


class ThreatLibrary:
    """A pool of threat sprites to project, per category."""

    def __init__(self, sprites: Sequence[ThreatSprite]) -> None:
        if not sprites:
            raise EngineError("the threat library is empty")
        self.sprites = list(sprites)
        self._by_cat: dict[str, list[ThreatSprite]] = {}
        for sp in self.sprites:
            self._by_cat.setdefault(sp.category, []).append(sp)

    def __len__(self) -> int:
        return len(self.sprites)

    def __iter__(self) -> Iterator[ThreatSprite]:
        return iter(self.sprites)

    @property
    def categories(self) -> tuple[str, ...]:
        """Categories present, in SIXray's order."""
        order = {c: i for i, c in enumerate(CATEGORIES)}
        return tuple(sorted(self._by_cat, key=lambda c: (order.get(c, len(order)), c)))

    def counts(self) -> dict[str, int]:
        return {c: len(self._by_cat[c]) for c in self.categories}

    def sample(self, rng: np.random.Generator, category: str | None = None) -> ThreatSprite:
        """A random sprite, of ``category`` if given (uniform over categories otherwise)."""
        if category is None:
            category = self.categories[int(rng.integers(len(self.categories)))]
        pool = self._by_cat.get(canonical_category(category))
        if not pool:
            raise ConfigError(f"no {category} threats in the library (it has: {', '.join(self.categories)})")
        return pool[int(rng.integers(len(pool)))]

    def subset(self, categories: Sequence[str]) -> ThreatLibrary:
        wanted = {canonical_category(c) for c in categories}
        return ThreatLibrary([sp for sp in self.sprites if sp.category in wanted])

    @classmethod
    def synthetic(
        cls,
        rng: np.random.Generator,
        per_category: int = 8,
        categories: Sequence[str] = CATEGORIES,
        ppm: float = 1.6,
    ) -> ThreatLibrary:
        """Fresh shape-model threats at ``ppm`` pixels per mm (1.6 matches SIXray's threat-free scans)."""
        sprites = []
        for cat in (canonical_category(c) for c in categories):
            for i in range(per_category):
                sprites.append(
                    ThreatSprite.from_thickness(cat, draw_threat(cat, rng, ppm).t, f"synthetic:{cat}:{i}")
                )
        return cls(sprites)

    @classmethod
    def from_dataset(
        cls,
        dataset: Dataset | str | Path,
        max_per_category: int = 20,
        categories: Sequence[str] | None = None,
        seed: int = 0,
        cancel: CancelToken | None = None,
    ) -> ThreatLibrary:
        """Cut-outs of the boxed threats in a labelled dataset (SIXray layout with VOC boxes).

        Scans are visited in a seeded random order so the first ``max_per_category``
        are a fair sample; boxes with nothing threat-like in them are skipped.
        """
        ds = dataset if isinstance(dataset, Dataset) else load_dataset(dataset)
        wanted = {canonical_category(c) for c in (categories or CATEGORIES)}
        recs = [r for r in ds.records if any(b.category in wanted for b in r.boxes)]
        order = np.random.default_rng(seed).permutation(len(recs))
        taken: dict[str, int] = {}
        sprites: list[ThreatSprite] = []
        skipped = 0
        for i in order:
            check(cancel)
            rec = recs[int(i)]
            boxes = [
                b for b in rec.boxes if b.category in wanted and taken.get(b.category, 0) < max_per_category
            ]
            if not boxes:
                continue
            try:
                pixels = read_scan(rec.path).pixels
            except EngineError as exc:
                log.warning("skipping %s", exc)
                continue
            for b in boxes:
                try:
                    sprites.append(
                        ThreatSprite.from_cutout(b.category, pixels, b, f"{rec.name}:{b.category}")
                    )
                    taken[b.category] = taken.get(b.category, 0) + 1
                except CutoutError as exc:
                    skipped += 1
                    log.info("no cut-out: %s", exc)
            if len(taken) == len(wanted) and min(taken.values()) >= max_per_category:
                break
        if not sprites:
            raise EngineError(
                f"{ds.root}: no usable threat boxes (of {', '.join(sorted(wanted))}) to cut out"
            )
        log.info(
            "threat library from %s: %s (%d boxes without a threat-like cut-out)", ds.root, taken, skipped
        )
        return cls(sprites)
