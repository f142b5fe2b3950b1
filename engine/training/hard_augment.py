"""Hard augmentation (Song et al., "Attention Map-Guided Two-stage Anomaly Detection using
Hard Augmentation"): synthetic anomalies made from normal patches, with known masks.

One random rectangle of a patch is changed by one of: rotation (90/180/270 degrees),
a permutation of its 2x2 tiles, colour jitter (brightness, contrast, and a channel
gain on colour patches), or CutMix (the region replaced by zeros, or by a region of
another, itself rotated and jittered, patch). Nothing outside the rectangle changes.

The mask marks exactly the pixels whose value changed by more than ``tol`` in any
channel (one grey level by default), so a rotated uniform area, which no model could
see, is not labelled anomalous. Pure numpy: the training loop calls it between
batches on the CPU.
"""

from __future__ import annotations

import logging

import numpy as np

from .data import AugmentedBatch

log = logging.getLogger(__name__)

KINDS = ("rotate", "permute", "jitter", "cutmix")


def _region(size: int, rng: np.random.Generator, lo: float, hi: float) -> tuple[int, int, int]:
    """(y, x, side) of a random square with an even side in [lo, hi] * size."""
    side = int(rng.integers(max(2, int(lo * size)), max(3, int(hi * size)) + 1)) // 2 * 2
    side = max(2, min(side, size))
    y, x = (int(v) for v in rng.integers(0, size - side + 1, size=2))
    return y, x, side


def _jitter(block: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Brightness and contrast away from identity, plus a per-channel gain on colour patches."""
    bright = rng.uniform(0.12, 0.3) * rng.choice([-1.0, 1.0])
    contrast = rng.uniform(0.5, 0.8) if rng.random() < 0.5 else rng.uniform(1.25, 1.6)
    mean = block.mean(axis=(1, 2), keepdims=True)
    out = (block - mean) * contrast + mean + bright
    if block.shape[0] > 1:
        out = out * rng.uniform(0.7, 1.3, size=(block.shape[0], 1, 1))
    return np.clip(out, 0.0, 1.0)


def _permute(block: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The block's four tiles in a random non-identity order."""
    h = block.shape[1] // 2
    tiles = [block[:, :h, :h], block[:, :h, h:], block[:, h:, :h], block[:, h:, h:]]
    order = rng.permutation(4)
    while (order == np.arange(4)).all():
        order = rng.permutation(4)
    t = [tiles[i] for i in order]
    return np.concatenate([np.concatenate(t[:2], axis=2), np.concatenate(t[2:], axis=2)], axis=1)


def hard_augment(patch: np.ndarray, rng: np.random.Generator, other: np.ndarray | None = None,
                 kind: str | None = None, tol: float = 1.0 / 255, scale: tuple[float, float] = (0.15, 0.5)
                 ) -> tuple[np.ndarray, np.ndarray]:
    """One synthetic anomaly: (augmented patch, mask).

    ``patch`` is (C, S, S) float32 in [0, 1]; ``other`` a second patch of the same
    shape for CutMix (without it CutMix fills zeros). The mask is (S, S) float32,
    1 exactly where some channel changed by more than ``tol``.
    """
    if patch.ndim != 3 or patch.shape[1] != patch.shape[2]:
        raise ValueError(f"expected a (C, S, S) patch, got shape {patch.shape}")
    kind = kind or KINDS[int(rng.integers(len(KINDS)))]
    if kind not in KINDS:
        raise ValueError(f"unknown hard augmentation {kind!r}; known: {KINDS}")
    size = patch.shape[1]
    out = patch.copy()
    y, x, s = _region(size, rng, *scale)
    block = patch[:, y : y + s, x : x + s]
    if kind == "rotate":
        new = np.rot90(block, k=int(rng.integers(1, 4)), axes=(1, 2))
    elif kind == "permute":
        new = _permute(block, rng)
    elif kind == "jitter":
        new = _jitter(block, rng)
    elif other is None or rng.random() < 0.5:
        new = np.zeros_like(block)
    else:
        oy, ox = (int(v) for v in rng.integers(0, size - s + 1, size=2))
        new = _jitter(np.rot90(other[:, oy : oy + s, ox : ox + s], k=int(rng.integers(4)), axes=(1, 2)), rng)
    out[:, y : y + s, x : x + s] = new
    mask = (np.abs(out - patch).max(axis=0) > tol).astype(np.float32)
    return out.astype(patch.dtype, copy=False), mask


class HardAugmenter:
    """Training-loop augmenter: (clean batch, rng) -> AugmentedBatch with labels, weights and masks.

    A share ``rate`` of the batch gets a synthetic anomaly; the contextual target
    stays the clean patch (G learns to undo the change), the label says whether
    anything visibly changed, and ``masks`` (N, 1, S, S) supervise an attention map.
    """

    def __init__(self, rate: float = 0.5, kinds: tuple[str, ...] = KINDS, tol: float = 1.0 / 255) -> None:
        if not 0.0 <= rate <= 1.0 or not kinds or set(kinds) - set(KINDS):
            raise ValueError(f"rate must lie in [0, 1] and kinds in {KINDS} (rate={rate}, kinds={kinds})")
        self.rate, self.kinds, self.tol = rate, tuple(kinds), tol

    def __call__(self, clean: np.ndarray, rng: np.random.Generator) -> AugmentedBatch:
        n = len(clean)
        x = clean.copy()
        masks = np.zeros((n, 1) + clean.shape[2:], np.float32)
        for i in np.flatnonzero(rng.random(n) < self.rate):
            other = clean[int(rng.integers(n))] if n > 1 else None
            kind = self.kinds[int(rng.integers(len(self.kinds)))]
            x[i], masks[i, 0] = hard_augment(clean[i], rng, other, kind, self.tol)
        labels = masks.reshape(n, -1).max(axis=1)
        return AugmentedBatch(x, clean, labels, np.ones(n, np.float32), masks)
