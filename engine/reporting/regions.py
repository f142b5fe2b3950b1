"""Merge flagged patches into regions: what an officer or investigator looks at.

An officer looks for objects, not grid cells. Flagged patches (``score >= threshold``)
whose boxes touch or overlap, edges and corners included (8-connectivity on the patch
grid), become one region: the bounding box of its patches, with their maximum and mean
score. Region boxes that still overlap after that (L-shaped groups) are merged too, so
a report never shows two overlapping regions. Pure numpy, no Qt, no I/O.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

BoxTuple = tuple[int, int, int, int]


@dataclass(frozen=True)
class Region:
    """A merged group of flagged patches; ``members`` index the boxes given to :func:`merge_regions`."""

    box: BoxTuple  # x0, y0, x1, y1 in scan pixels
    max_score: float
    mean_score: float
    n_patches: int
    members: tuple[int, ...] = ()

    @property
    def area(self) -> int:
        x0, y0, x1, y1 = self.box
        return max(0, x1 - x0) * max(0, y1 - y0)


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def _union(parent: list[int], i: int, j: int) -> None:
    ri, rj = _find(parent, i), _find(parent, j)
    if ri != rj:
        parent[max(ri, rj)] = min(ri, rj)


def _touching_groups(b: np.ndarray) -> list[list[int]]:
    """Connected components of boxes that touch or overlap (sweep along x: no N x N matrix)."""
    n = len(b)
    parent = list(range(n))
    order = np.argsort(b[:, 0], kind="stable")
    x0s = b[order, 0]
    for k, i in enumerate(order):
        hi = int(np.searchsorted(x0s, b[i, 2], side="right"))  # x0_j <= x1_i
        cand = order[k + 1 : hi]
        if cand.size == 0:
            continue
        near = cand[(b[cand, 2] >= b[i, 0]) & (b[cand, 1] <= b[i, 3]) & (b[cand, 3] >= b[i, 1])]
        for j in near:
            _union(parent, int(i), int(j))
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(_find(parent, i), []).append(i)
    return list(groups.values())


def _bbox(b: np.ndarray) -> BoxTuple:
    return int(b[:, 0].min()), int(b[:, 1].min()), int(b[:, 2].max()), int(b[:, 3].max())


def _overlap(a: BoxTuple, c: BoxTuple) -> bool:
    """Positive-area overlap (touching region boxes stay apart in the second pass)."""
    return a[0] < c[2] and c[0] < a[2] and a[1] < c[3] and c[1] < a[3]


def _merge_overlapping(b: np.ndarray, groups: list[list[int]]) -> list[list[int]]:
    changed = True
    while changed:
        changed = False
        boxes = [_bbox(b[g]) for g in groups]
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                if _overlap(boxes[i], boxes[j]):
                    groups[i] = groups[i] + groups.pop(j)
                    changed = True
                    break
            if changed:
                break
    return groups


def merge_regions(boxes: Any, scores: Any, threshold: float) -> list[Region]:
    """Regions of the patches scoring at or above ``threshold``, highest max score first.

    ``boxes`` is (N, 4) x0 y0 x1 y1 in scan pixels, ``scores`` (N,). Ties are ordered by
    area (larger first) then position, so the output is deterministic. A NaN score is
    never flagged.
    """
    b = np.asarray(boxes, dtype=np.int64).reshape(-1, 4)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(s) != len(b):
        raise ValueError(f"{len(b)} boxes but {len(s)} scores")
    idx = np.flatnonzero(s >= threshold)
    if idx.size == 0:
        return []
    fb, fs = b[idx], s[idx]
    groups = _merge_overlapping(fb, _touching_groups(fb))
    regions = []
    for g in groups:
        g = sorted(g)
        regions.append(Region(_bbox(fb[g]), float(fs[g].max()), float(fs[g].mean()), len(g),
                              tuple(int(idx[m]) for m in g)))
    regions.sort(key=lambda r: (-r.max_score, -r.area, r.box))
    return regions


def gt_category(box: Sequence[float], gt_boxes: Sequence[Any]) -> str | None:
    """Category of the ground-truth box overlapping ``box`` the most (by area); None when none does.

    ``gt_boxes`` holds :class:`engine.data.types.Box` records (anything with category, x0..y1).
    """
    best, best_area = None, 0.0
    x0, y0, x1, y1 = (float(v) for v in box)
    for g in gt_boxes:
        w = min(x1, g.x1) - max(x0, g.x0)
        h = min(y1, g.y1) - max(y0, g.y0)
        area = w * h if w > 0 and h > 0 else 0.0
        if area > best_area:
            best, best_area = g.category, area
    return best
