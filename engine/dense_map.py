"""The dense threat map as data: in memory (float), compact (8-bit) and packed (as a session stores it).

Kept free of torch and cv2 so the session store and the exports can hold and decode maps
without loading the network stack. :mod:`engine.map_scoring` makes maps; this module only
says what one is and how it is stored.

The stored map is uint8 at the map's own resolution (a quarter of the scan's at the default
grid): 0 is background, 1..255 span [LO, HI] score units linearly, so re-thresholding a
stored session needs no rescoring. Scores beyond the span saturate; the span covers every
operating point in practice (thresholds lie between about -1 and 8). A session packs the
8-bit array with zlib (deflate, as HDF5's gzip filter), which keeps its columns contiguous
and pre-allocated (see :mod:`engine.storage_layout`).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np

#: Logit given to background map pixels: far below anything the network outputs on content.
BACKGROUND = -30.0
#: The span the 8-bit map covers, in score units, and its number of steps (1..255).
LO, HI = -4.0, 16.0
LEVELS = 254


@dataclass(frozen=True)
class DenseMap:
    """Threat logits on content, (h, w) float32; ``scale`` map pixels per scan pixel."""

    logits: np.ndarray
    scale: float

    def box_max(self, boxes: np.ndarray) -> np.ndarray:
        """Highest logit inside each scan-pixel box (x0, y0, x1, y1), via the map's own pixels."""
        h, w = self.logits.shape
        out = np.empty(len(boxes), np.float32)
        for i, (x0, y0, x1, y1) in enumerate(boxes):
            mx0 = min(int(np.floor(x0 * self.scale)), w - 1)
            my0 = min(int(np.floor(y0 * self.scale)), h - 1)
            mx1 = max(int(np.ceil(x1 * self.scale)), mx0 + 1)
            my1 = max(int(np.ceil(y1 * self.scale)), my0 + 1)
            out[i] = self.logits[my0:my1, mx0:mx1].max()
        return out

    def aggregate(self, how: str = "max", k: int = 16) -> float:
        """The scan score: the map's maximum, or the mean of its ``k`` highest content pixels."""
        v = self.logits[self.logits > BACKGROUND]
        if v.size == 0:
            return float("-inf")
        if how == "max":
            return float(v.max())
        if how == "topk":
            return float(np.sort(v)[-min(k, v.size):].mean())
        raise ValueError(f"unknown scan aggregate {how!r} (max, topk)")


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


class MapDecodeError(ValueError):
    """A packed map's bytes do not decode to its shape (a damaged session file)."""


@dataclass(frozen=True)
class PackedMap:
    """A :class:`CompactMap` as a session stores it: the zlib-deflated bytes of ``q`` (row-major).

    Decoded only when drawn, traced or exported, so a session's records stay small in memory.
    """

    blob: bytes
    shape: tuple[int, int]
    scale: float
    lo: float = LO
    hi: float = HI

    @classmethod
    def of(cls, dmap: DenseMap) -> PackedMap:
        """Quantise ``dmap`` to 8 bits and deflate it."""
        cm = CompactMap.from_map(dmap)
        h, w = cm.q.shape
        return cls(zlib.compress(np.ascontiguousarray(cm.q).tobytes(), 6), (h, w), cm.scale, cm.lo, cm.hi)

    def compact(self) -> CompactMap:
        h, w = self.shape
        if not (math.isfinite(self.scale) and self.scale > 0 and math.isfinite(self.lo) and self.lo < self.hi
                and math.isfinite(self.hi)):
            raise MapDecodeError(f"stored threat map has scale {self.scale} and span [{self.lo}, {self.hi}]")
        try:
            raw = zlib.decompress(self.blob)
        except zlib.error as exc:
            raise MapDecodeError(f"stored threat map does not inflate ({exc})") from None
        if len(raw) != h * w:
            raise MapDecodeError(f"stored threat map has {len(raw)} bytes, not {h} x {w}")
        return CompactMap(np.frombuffer(raw, np.uint8).reshape(h, w), self.scale, self.lo, self.hi)

    def dense(self) -> DenseMap:
        """The map in score units (within half a quantisation step of the one scored)."""
        return self.compact().to_map()
