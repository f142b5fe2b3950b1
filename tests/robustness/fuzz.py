"""Byte flips and truncations of a file, reproducible from a seed (the fuzz test and its report share them)."""

from __future__ import annotations

import numpy as np

HEAD = 8192  # HDF5 keeps its superblock and most metadata near the start: half the flips land there


def mutate(data: bytes, k: int, seed: int = 0) -> tuple[bytes, str]:
    """Case ``k``: a truncation (one in three) or 1 to 16 flipped bytes; returns the bytes and a label."""
    rng = np.random.default_rng([seed, k])
    if k % 3 == 0:
        n = int(rng.integers(0, len(data)))
        return data[:n], f"truncated at {n} of {len(data)} bytes"
    buf = bytearray(data)
    flips = int(rng.integers(1, 17))
    for _ in range(flips):
        hi = min(HEAD, len(buf)) if rng.random() < 0.5 else len(buf)
        i = int(rng.integers(0, hi))
        buf[i] ^= int(rng.integers(1, 256))
    return bytes(buf), f"{flips} bytes flipped"
