"""Hard augmentation with projected threats (TIP), for models with a threat head.

Each batch, a share of the clean threat-free patches gets a threat projected
into it by attenuation (engine.synth.tip.project): D's threat head learns
projected-threat vs normal, and G's contextual target stays the clean patch, so
G learns to *remove* threats and the residual |x - x_hat| lights them up.

The semi-supervised option (the two-stage paper's "Semi" row) also mixes in real
threat patches from a labelled library: positives for the threat head only (their
contextual-loss weight is 0, so G never learns to draw threats), and the library
scans' threat-free patches as extra negatives, so the head cannot key on scan type.
The library must never include scans that are evaluated.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from ..config import GridConfig
from ..data.dataset import Dataset
from ..data.io import read_scan
from ..data.patches import extract_patches
from ..data.types import ScanRecord
from ..errors import EngineError
from ..metrics import threat_patch_labels
from ..synth.tip import ThreatLibrary, project
from .data import AugmentedBatch

log = logging.getLogger(__name__)


class TipAugmenter:
    """Callable (clean batch, rng) -> (x, target, threat labels, contextual weights)."""

    def __init__(self, library: ThreatLibrary, grid: GridConfig, rate: float = 0.5,
                 real_pos: np.ndarray | None = None, real_neg: np.ndarray | None = None,
                 real_rate: float = 0.2) -> None:
        self.library = library
        self.grid = grid
        self.rate = rate
        self.scale = grid.input_size / grid.patch  # sprites are in scan pixels
        self.real_pos = real_pos
        self.real_neg = real_neg
        self.real_rate = real_rate

    def __call__(self, clean: np.ndarray, rng: np.random.Generator) -> AugmentedBatch:
        n = len(clean)
        x = clean.copy()
        threat = np.zeros(n, np.float32)
        weight = np.ones(n, np.float32)
        for i in np.flatnonzero(rng.random(n) < self.rate):
            hwc = np.ascontiguousarray(clean[i].transpose(1, 2, 0))
            if hwc.shape[2] == 1:
                hwc = np.repeat(hwc, 3, axis=2)
            try:
                out, _ = project(hwc, self.library.sample(rng), rng, scale=(0.7 * self.scale, 1.3 * self.scale),
                                 max_extent=0.8, grid=self.grid)
            except EngineError:
                continue  # a patch with no content to project onto stays normal
            x[i] = out.transpose(2, 0, 1)[: clean.shape[1]]
            threat[i] = 1.0
        if self.real_pos is not None and len(self.real_pos):
            k = int(rng.binomial(n, self.real_rate))
            slots = rng.choice(n, size=k, replace=False)
            for j, i in enumerate(slots):
                if j % 2 == 0 or self.real_neg is None or not len(self.real_neg):
                    x[i] = self.real_pos[rng.integers(len(self.real_pos))] / np.float32(255)
                    threat[i], weight[i] = 1.0, 0.0
                else:
                    x[i] = self.real_neg[rng.integers(len(self.real_neg))] / np.float32(255)
                    threat[i], weight[i] = 0.0, 1.0
            clean = clean.copy()
            clean[slots] = x[slots]  # no clean version of a real threat: its target is itself (weight 0)
        return AugmentedBatch(x, clean, threat, weight)


def real_threat_patches(records: Sequence[ScanRecord], grid: GridConfig) -> tuple[np.ndarray, np.ndarray]:
    """uint8 patches of labelled threat scans: threat patches, and patches touching no box."""
    pos, neg = [], []
    for r in records:
        try:
            scan = read_scan(r.path)
        except EngineError as exc:
            log.warning("library scan skipped: %s", exc)
            continue
        ps = extract_patches(scan.pixels, grid)
        gt = [b.as_list() for b in r.boxes]
        lab = threat_patch_labels(ps.boxes, gt)
        touch = threat_patch_labels(ps.boxes, gt, min_frac=1e-6)
        u8 = np.clip(ps.arrays * 255 + 0.5, 0, 255).astype(np.uint8)
        pos.append(u8[lab])
        neg.append(u8[~touch])
    shape = (0, grid.channels, grid.input_size, grid.input_size)
    cat = [np.concatenate(v) if v else np.zeros(shape, np.uint8) for v in (pos, neg)]
    return cat[0], cat[1]


def make_augmenter(threat_records: Sequence[ScanRecord], grid: GridConfig, semi: bool = False,
                   seed: int = 0, synthetic: bool = True) -> TipAugmenter:
    """Library = cut-outs of ``threat_records`` (+ synthetic shape models); never evaluated scans."""
    sprites = []
    if threat_records:
        sprites += ThreatLibrary.from_dataset(Dataset("library", list(threat_records)), max_per_category=60,
                                              seed=seed).sprites
    if synthetic:
        sprites += ThreatLibrary.synthetic(np.random.default_rng(seed), per_category=8).sprites
    library = ThreatLibrary(sprites)
    log.info("TIP library: %s", library.counts())
    pos = neg = None
    if semi:
        pos, neg = real_threat_patches(threat_records, grid)
        log.info("semi-supervised: %d real threat patches, %d library negatives", len(pos), len(neg))
    return TipAugmenter(library, grid, real_pos=pos, real_neg=neg)
