"""Scan-level and patch-level evaluation of a scorer on labelled data.

The figures, and what they guard against:

* ``image_auc`` / ``recall`` / ``false_alarm_rate``: threat scans against
  threat-free scans. On SIXray these are confounded by scan size and
  background; use TIP scans (threats projected into threat-free hosts).
* ``patch_auc``: threat patches against every content patch of threat-free scans.
* ``patch_auc_within_threat``: threat patches against the other content patches
  of the same threat scans - no size or background confound.
* ``hit_rate``: the top patch overlaps a box *and* is flagged; ``top_hit_rate``
  drops the flag condition, next to ``chance_hit_rate`` for a random content patch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import metrics
from .data.types import NORMAL, THREAT, ScanRecord
from .scoring import ScanResult

log = logging.getLogger(__name__)


@dataclass
class Scored:
    record: ScanRecord
    result: ScanResult


def _auc(pos: list[np.ndarray], neg: list[np.ndarray]) -> float:
    p = np.concatenate(pos) if pos else np.zeros(0)
    n = np.concatenate(neg) if neg else np.zeros(0)
    if p.size == 0 or n.size == 0:
        return float("nan")
    return metrics.roc_auc(np.r_[np.ones(p.size), np.zeros(n.size)], np.r_[p, n])


def evaluate(scored: Sequence[Scored], threshold: float) -> dict[str, Any]:
    """The ``bagscan eval --json`` dictionary (plus arrays under ``_arrays`` for plots)."""
    labelled = [s for s in scored if s.record.label in (THREAT, NORMAL) and np.isfinite(s.result.score)]
    y = np.array([s.record.label == THREAT for s in labelled])
    scan_scores = np.array([s.result.score for s in labelled], np.float64)
    image_auc = metrics.roc_auc(y, scan_scores) if len(labelled) else float("nan")
    recall, far = metrics.recall_far_at(y, scan_scores, threshold) if len(labelled) else (np.nan, np.nan)

    threat_pos, threat_neg, normal_patches = [], [], []
    hits, top_hits, chances, boxed = [], [], [], []
    for s in labelled:
        r = s.result
        if s.record.label == NORMAL:
            normal_patches.append(r.scores)
            continue
        if not s.record.boxes:
            continue
        gt = [b.as_list() for b in s.record.boxes]
        lab = metrics.threat_patch_labels(r.boxes, gt)
        threat_pos.append(r.scores[lab])
        threat_neg.append(r.scores[~lab])
        boxed.append(s)
        hits.append(metrics.hit(r.boxes, r.scores, gt, threshold))
        top_hits.append(metrics.hit(r.boxes, r.scores, gt))
        chances.append(metrics.chance_hit_rate(r.boxes, gt))

    threats = [s for s in labelled if s.record.label == THREAT]
    hit_by_path = {s.record.path: h for s, h in zip(boxed, hits, strict=True)}
    per_cat = metrics.per_category_recall(
        [s.record.categories for s in threats], [s.result.score for s in threats], threshold,
        [hit_by_path.get(s.record.path, False) for s in threats],
    )

    def mean(v: Sequence[float]) -> float:
        return float(np.nanmean(v)) if len(v) else float("nan")

    return {
        "image_auc": image_auc,
        "patch_auc": _auc(threat_pos, normal_patches),
        "patch_auc_within_threat": _auc(threat_pos, threat_neg),
        "hit_rate": mean(hits),
        "top_hit_rate": mean(top_hits),
        "chance_hit_rate": mean(chances),
        "threshold": float(threshold),
        "recall": recall,
        "false_alarm_rate": far,
        "per_category": {k: dict(v) for k, v in per_cat.items()},
        "n_threat": int(y.sum()),
        "n_normal": int((~y).sum()),
        "_arrays": {"labels": y, "scan_scores": scan_scores},
    }


def public(report: dict[str, Any]) -> dict[str, Any]:
    """The report without private arrays, NaN turned into None (JSON has no NaN)."""
    def clean(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items() if not k.startswith("_")}
        if isinstance(v, float) and not np.isfinite(v):
            return None
        return v

    return clean(report)


