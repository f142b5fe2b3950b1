"""Merge flagged patch boxes into region boxes (pure numpy, no Qt).

An officer looks for objects, not grid cells: adjacent or overlapping flagged
patches (8-connected: sharing an edge or a corner) become one region, whose box
is the bounding box of its patches and whose score is its highest patch score.
Region boxes that still overlap after that (L-shaped groups) are merged too, so
the result never shows two overlapping regions. Kept here until the batch-export
work moves it to ``engine/reporting/regions.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Region:
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in scan pixels
    score: float  # max patch score inside
    members: tuple[int, ...]  # indices into the boxes given

    @property
    def area(self) -> int:
        x0, y0, x1, y1 = self.box
        return max(0, x1 - x0) * max(0, y1 - y0)


def _touch(a: np.ndarray, b: np.ndarray, gap: int) -> bool:
    """True when boxes overlap or lie within ``gap`` pixels (0: touching edges/corners count)."""
    return bool(a[0] <= b[2] + gap and b[0] <= a[2] + gap and a[1] <= b[3] + gap and b[1] <= a[3] + gap)


def _overlap(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    """Strict overlap (positive area), for the second pass over region boxes."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def merge_boxes(boxes: np.ndarray, scores: np.ndarray | None = None, gap: int = 0) -> list[Region]:
    """Group boxes (N x 4, x0 y0 x1 y1) into regions, highest score first.

    ``scores`` defaults to zeros; ties are ordered by area (larger first) then position,
    so the output is deterministic.
    """
    b = np.asarray(boxes, dtype=np.int64).reshape(-1, 4)
    s = np.zeros(len(b), np.float64) if scores is None else np.asarray(scores, np.float64).reshape(-1)
    if len(s) != len(b):
        raise ValueError(f"{len(b)} boxes but {len(s)} scores")
    parent = list(range(len(b)))
    for i in range(len(b)):
        for j in range(i + 1, len(b)):
            if _touch(b[i], b[j], gap):
                ri, rj = _find(parent, i), _find(parent, j)
                if ri != rj:
                    parent[rj] = ri
    groups: dict[int, list[int]] = {}
    for i in range(len(b)):
        groups.setdefault(_find(parent, i), []).append(i)
    merged = [sorted(g) for g in groups.values()]
    # Second pass: bounding boxes of different groups may overlap; merge until none do.
    changed = True
    while changed:
        changed = False
        bbs = [_bbox(b[g]) for g in merged]
        for i in range(len(merged)):
            for j in range(i + 1, len(merged)):
                if _overlap(bbs[i], bbs[j]):
                    merged[i] = sorted(merged[i] + merged[j])
                    del merged[j]
                    changed = True
                    break
            if changed:
                break
    regions = [Region(_bbox(b[g]), float(s[g].max()), tuple(g)) for g in merged]
    regions.sort(key=lambda r: (-r.score, -r.area, r.box))
    return regions


def _bbox(b: np.ndarray) -> tuple[int, int, int, int]:
    return int(b[:, 0].min()), int(b[:, 1].min()), int(b[:, 2].max()), int(b[:, 3].max())


def flagged_regions(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> list[Region]:
    """Regions of the patches scoring at or above ``threshold``; indices refer to all boxes."""
    idx = np.flatnonzero(np.asarray(scores) >= threshold)
    regions = merge_boxes(np.asarray(boxes)[idx], np.asarray(scores)[idx])
    return [Region(r.box, r.score, tuple(int(idx[m]) for m in r.members)) for r in regions]
