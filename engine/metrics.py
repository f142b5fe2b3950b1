"""Scan- and patch-level metrics: ROC/AUC, precision-recall, recall/FAR, per-category recall, hit rate.

numpy only, so the engine needs no scikit-learn at run time; the tests cross-check
every curve against scikit-learn. Conventions shared by every function:

* ``labels``: a scan is a threat (positive) where its label is > 0 (True, 1);
  0, False and -1 (SIXray's "absent") are normal.
* Detected / flagged means ``score >= threshold``.
* A quantity with an empty denominator (no threats, or no normal scans) is
  ``float('nan')`` rather than an exception, so one evaluation over a
  one-class subset still reports what it can.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, TypedDict

import numpy as np

from .data.types import CATEGORIES

log = logging.getLogger(__name__)

NAN = float("nan")
BoxLike = Any  # (x0, y0, x1, y1) or engine.data.types.Box


class CategoryRecall(TypedDict):
    n: int
    detected: int
    recall: float
    hit_rate: float


def _binary(labels: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels).ravel() > 0
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"labels and scores differ in length: {y.size} vs {s.size}")
    if np.isnan(s).any():
        raise ValueError("scores contain NaN")
    return y, s


def _counts_at_thresholds(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(false positives, true positives, thresholds) at each distinct score, highest first."""
    if s.size == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]  # last index of each tie group
    tps = np.cumsum(y)[last].astype(np.float64)
    fps = (last + 1) - tps
    return fps, tps, s[last]


def roc_curve(labels: Any, scores: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, thresholds) at every distinct score, highest first, after a leading ``inf``.

    The same points as ``sklearn.metrics.roc_curve(..., drop_intermediate=False)``;
    tpr is all NaN without threats, fpr all NaN without normal scans.
    """
    y, s = _binary(labels, scores)
    fps, tps, thr = _counts_at_thresholds(y, s)
    fps, tps, thr = np.r_[0.0, fps], np.r_[0.0, tps], np.r_[np.inf, thr]
    n_pos, n_neg = float(y.sum()), float((~y).sum())
    tpr = tps / n_pos if n_pos else np.full_like(tps, NAN)
    fpr = fps / n_neg if n_neg else np.full_like(fps, NAN)
    return fpr, tpr, thr


def _average_ranks(s: np.ndarray) -> np.ndarray:
    """1-based ranks with ties sharing their mean rank."""
    order = np.argsort(s, kind="mergesort")
    sorted_s = s[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_s)) + 1]
    ends = np.r_[starts[1:], s.size]
    mean_rank = (starts + ends + 1) / 2.0  # mean of starts+1 .. ends
    ranks = np.empty(s.size, np.float64)
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def roc_auc(labels: Any, scores: Any) -> float:
    """Area under the ROC curve: the Mann-Whitney probability that a threat outscores a normal
    scan, a tie counting 1/2. NaN when only one class is present (there is no curve to measure)."""
    y, s = _binary(labels, scores)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        log.debug("roc_auc: one class only (%d threats, %d normal); returning NaN", n_pos, n_neg)
        return NAN
    rank_sum = float(_average_ranks(s)[y].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def precision_recall_curve(labels: Any, scores: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(precision, recall, thresholds), thresholds ascending, ending at precision 1, recall 0.

    The same points as ``sklearn.metrics.precision_recall_curve``, except that without
    threats recall is NaN (scikit-learn sets it to 1).
    """
    y, s = _binary(labels, scores)
    fps, tps, thr = _counts_at_thresholds(y, s)
    ps = tps + fps
    precision = np.divide(tps, ps, out=np.zeros_like(tps), where=ps != 0)
    recall = tps / tps[-1] if tps.size and tps[-1] else np.full_like(tps, NAN)
    return np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0], thr[::-1]


def average_precision(labels: Any, scores: Any) -> float:
    """Step-function area under the precision-recall curve (sklearn's definition, no
    interpolation). NaN without threats; 1.0 when every scan is a threat."""
    precision, recall, _ = precision_recall_curve(labels, scores)
    if recall.size < 2 or np.isnan(recall).any():
        return NAN
    return float(max(0.0, -np.sum(np.diff(recall) * precision[:-1])))


def recall_far_at(labels: Any, scores: Any, threshold: float) -> tuple[float, float]:
    """(recall over threats, false-alarm rate over normal scans) with detection at ``score >= threshold``."""
    y, s = _binary(labels, scores)
    flagged = s >= threshold
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    recall = float(flagged[y].sum()) / n_pos if n_pos else NAN
    far = float(flagged[~y].sum()) / n_neg if n_neg else NAN
    return recall, far


def _category_order(names: set[str]) -> list[str]:
    known = [c for c in CATEGORIES if c in names]
    return known + sorted(names - set(known))


def per_category_recall(
    scan_categories: Sequence[tuple[str, ...]],
    scan_scores: Any,
    threshold: float,
    hits: Sequence[bool] | None = None,
) -> dict[str, CategoryRecall]:
    """Recall (and hit rate when ``hits`` is given) per threat category, over threat scans.

    A scan holding several categories counts toward each of them once; a scan with no
    category counts toward none. ``hit_rate`` is NaN without ``hits``. Categories come in
    SIXray's order, then any others alphabetically.
    """
    scores = np.asarray(scan_scores, dtype=np.float64).ravel()
    if len(scan_categories) != scores.size or (hits is not None and len(hits) != scores.size):
        raise ValueError("scan_categories, scan_scores and hits must have one entry per scan")
    tally: dict[str, list[int]] = {}
    for cats, score, h in zip(scan_categories, scores, hits if hits is not None else [False] * scores.size,
                              strict=True):
        for name in set(cats):
            t = tally.setdefault(name, [0, 0, 0])
            t[0] += 1
            t[1] += int(score >= threshold)
            t[2] += int(bool(h))
    out: dict[str, CategoryRecall] = {}
    for name in _category_order(set(tally)):
        n, det, nh = tally[name]
        out[name] = CategoryRecall(n=n, detected=det, recall=det / n,
                                   hit_rate=nh / n if hits is not None else NAN)
    return out


def _boxes(boxes: Any) -> np.ndarray:
    """Any sequence of (x0, y0, x1, y1) or Box records -> float64 (M, 4)."""
    if isinstance(boxes, np.ndarray):
        return boxes.astype(np.float64).reshape(-1, 4)
    rows = [(b.x0, b.y0, b.x1, b.y1) if hasattr(b, "x0") else tuple(b) for b in boxes]
    return np.asarray(rows, dtype=np.float64).reshape(-1, 4)


def _intersections(patch_boxes: Any, gt_boxes: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(intersection areas N x M, patch areas N, box areas M)."""
    p, g = _boxes(patch_boxes), _boxes(gt_boxes)
    iw = np.minimum(p[:, None, 2], g[None, :, 2]) - np.maximum(p[:, None, 0], g[None, :, 0])
    ih = np.minimum(p[:, None, 3], g[None, :, 3]) - np.maximum(p[:, None, 1], g[None, :, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    pa = np.clip(p[:, 2] - p[:, 0], 0, None) * np.clip(p[:, 3] - p[:, 1], 0, None)
    ga = np.clip(g[:, 2] - g[:, 0], 0, None) * np.clip(g[:, 3] - g[:, 1], 0, None)
    return inter, pa, ga


def hit(patch_boxes: Any, patch_scores: Any, gt_boxes: Any, threshold: float | None = None) -> bool:
    """Localisation: does the top-scoring patch overlap a ground-truth box (positive area)?

    With ``threshold`` the top patch must also be flagged (score >= threshold), so a hit
    means the alarm itself points at the threat. No patches or no boxes: False.
    """
    scores = np.asarray(patch_scores, dtype=np.float64).ravel()
    p = _boxes(patch_boxes)
    if scores.size != len(p):
        raise ValueError(f"{len(p)} patch boxes but {scores.size} scores")
    if scores.size == 0 or len(_boxes(gt_boxes)) == 0:
        return False
    top = int(np.argmax(scores))
    if threshold is not None and not scores[top] >= threshold:
        return False
    inter, _, _ = _intersections(p[top : top + 1], gt_boxes)
    return bool((inter > 0).any())


def chance_hit_rate(patch_boxes: Any, gt_boxes: Any) -> float:
    """Probability that a uniformly random content patch overlaps a ground-truth box: the hit
    rate a detector with no localisation skill would get. NaN without patches."""
    touch = touches_box(patch_boxes, gt_boxes)
    return float(touch.mean()) if touch.size else NAN


def touches_box(patch_boxes: Any, gt_boxes: Any) -> np.ndarray:
    """Boolean (N,): the patch shares some area with some box (threat patches and partial ones alike)."""
    inter, _, _ = _intersections(patch_boxes, gt_boxes)
    return np.asarray((inter > 0).any(axis=1)) if inter.size else np.zeros(inter.shape[0], bool)


def threat_patch_labels(patch_boxes: Any, gt_boxes: Any, min_frac: float = 0.5) -> np.ndarray:
    """Boolean (N,): a patch is a threat patch when it covers at least ``min_frac`` of some box,
    or some box covers at least ``min_frac`` of it (big patches on small threats, and the reverse)."""
    if not 0.0 < min_frac <= 1.0:
        raise ValueError(f"min_frac must lie in (0, 1], not {min_frac}")
    inter, pa, ga = _intersections(patch_boxes, gt_boxes)
    if inter.size == 0:
        return np.zeros(inter.shape[0], bool)
    of_patch = inter / np.maximum(pa, 1e-9)[:, None]
    of_box = inter / np.maximum(ga, 1e-9)[None, :]
    return ((inter > 0) & ((of_patch >= min_frac) | (of_box >= min_frac))).any(axis=1)
