"""Patch pools for training and validation, split by scan (never by patch).

Patches are kept as uint8 (a quarter of float32's memory) and converted per
batch. Byte-identical scans share one content hash, so duplicates always land
on the same side of the split.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..config import GridConfig
from ..data.io import file_sha256, read_scan
from ..data.patches import extract_patches
from ..data.types import ScanRecord
from ..errors import EngineError
from ..events import CancelToken, Progress, ScanFailed, check

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AugmentedBatch:
    """What an augmenter makes of a clean batch (float32 arrays, N first)."""

    x: np.ndarray  # the input batch
    target: np.ndarray  # the contextual target (a projected patch's clean original)
    threat: np.ndarray | None = None  # (N,) 0/1 labels for D's threat head
    weight: np.ndarray | None = None  # (N,) contextual-loss weights (0: a real threat G must not learn)
    mask: np.ndarray | None = None  # (N, 1, H, W) synthetic-anomaly masks, for an attention map


#: (clean batch, rng) -> AugmentedBatch: TIP or hard augmentation (engine.training.tip_augment, hard_augment).
Augmenter = Callable[[np.ndarray, np.random.Generator], AugmentedBatch]


@dataclass
class PatchPool:
    arrays: np.ndarray  # N x C x S x S uint8
    scan_index: np.ndarray  # N int32: which scan each patch came from
    records: list[ScanRecord] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.arrays)

    def batch(self, idx: np.ndarray) -> np.ndarray:
        return self.arrays[idx].astype(np.float32) * np.float32(1.0 / 255.0)


def split_by_scan(records: Sequence[ScanRecord], val_fraction: float, seed: int
                  ) -> tuple[list[ScanRecord], list[ScanRecord], dict[str, str]]:
    """Split threat-free scans into train and validation by content hash, deterministically."""
    hashes = {r.path: file_sha256(r.path) for r in records}
    groups = sorted(set(hashes.values()))
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(groups))
    n_val = int(round(len(groups) * val_fraction))
    if len(groups) >= 2:
        n_val = min(max(n_val, 1), len(groups) - 1)
    val_groups = {groups[i] for i in order[:n_val]}
    train = [r for r in records if hashes[r.path] not in val_groups]
    val = [r for r in records if hashes[r.path] in val_groups]
    return train, val, hashes


def build_pool(records: Sequence[ScanRecord], grid: GridConfig, max_per_scan: int, seed: int,
               cancel: CancelToken | None = None, job: str = "patches"
               ) -> Iterator[Progress | ScanFailed | PatchPool]:
    """Cut every scan into content patches; yields progress, then the pool last."""
    rng = np.random.default_rng(seed)
    chunks: list[np.ndarray] = []
    index: list[np.ndarray] = []
    kept: list[ScanRecord] = []
    hashes: list[str] = []
    for i, rec in enumerate(records):
        check(cancel)
        try:
            scan = read_scan(rec.path)
        except EngineError as exc:
            yield ScanFailed(rec.path, getattr(exc, "reason", str(exc)))
            continue
        ps = extract_patches(scan.pixels, grid)
        arr = ps.arrays
        if max_per_scan and len(arr) > max_per_scan:
            arr = arr[np.sort(rng.choice(len(arr), max_per_scan, replace=False))]
        if len(arr):
            chunks.append(np.clip(arr * 255.0 + 0.5, 0, 255).astype(np.uint8))
            index.append(np.full(len(arr), len(kept), np.int32))
        kept.append(rec)
        hashes.append(scan.meta.sha256)
        yield Progress(job, i + 1, len(records), rec.name)
    c, s = grid.channels, grid.input_size
    arrays = np.concatenate(chunks) if chunks else np.zeros((0, c, s, s), np.uint8)
    idx = np.concatenate(index) if index else np.zeros(0, np.int32)
    yield PatchPool(arrays, idx, kept, hashes)


def augment(batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Flips and 90-degree turns: bags have no preferred orientation on the belt."""
    k = int(rng.integers(4))
    out = np.rot90(batch, k, axes=(2, 3))
    if rng.random() < 0.5:
        out = out[..., ::-1]
    return np.ascontiguousarray(out)
