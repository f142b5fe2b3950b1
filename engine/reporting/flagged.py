"""From a session file to what a report shows: the threshold, the flagged scans and their regions.

Every export (CSV, JSON, VOC, COCO, crops, PDF) reads the session through :func:`flagged_scans`,
one scan at a time, so a report over a large session keeps memory flat and every output
agrees on the same regions: for a map model (detector v2) those traced from the stored map,
exactly as the window traces them, so a new threshold re-exports without rescoring.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..calibration import Calibration
from ..dense_map import MapDecodeError
from ..errors import CalibrationError, SessionFileError
from ..metrics import per_category_recall, recall_far_at
from ..storage import SessionStore, StoredDecision, StoredScan
from ..storage_layout import to_str
from .map_regions import flagged_regions
from .regions import Region, gt_category, merge_regions

log = logging.getLogger(__name__)

ANOMALY = "Anomaly"  # the class name of exported region boxes (VOC, COCO) unless mapped
TRUTH = "truth"  # map each region to the ground-truth category it overlaps


@dataclass(frozen=True)
class FlaggedScan:
    """A flagged scan, its regions (traced from its map, or merged patches) and what is known about them."""

    scan: StoredScan
    regions: list[Region]
    gt_categories: list[str | None]  # per region: the GT category overlapping it most
    decision: StoredDecision | None


def region_class(f: FlaggedScan, i: int, class_name: str = ANOMALY) -> str:
    """The class an export gives region ``i``: ``class_name``, or with :data:`TRUTH` its GT category."""
    if class_name == TRUTH:
        return f.gt_categories[i] or ANOMALY
    return class_name


def resolve_threshold(calibration: Calibration | None, threshold: float | None = None,
                      target_recall: float | None = None) -> tuple[float, str]:
    """(threshold, how it was chosen): given, from a target recall, or the calibrated one."""
    if threshold is not None and target_recall is not None:
        raise ValueError("give a threshold or a target recall, not both")
    if threshold is not None:
        return float(threshold), "given"
    if calibration is None:
        raise CalibrationError("the session's model has no calibration: give a threshold")
    if target_recall is not None:
        return calibration.threshold_for_recall(target_recall), f"target recall {target_recall:g}"
    if not math.isfinite(calibration.threshold):
        raise CalibrationError("the session's calibration has no finite threshold: give one")
    return float(calibration.threshold), f"calibrated ({calibration.source})"


def flagged_scans(store: SessionStore, threshold: float,
                  decisions: Mapping[int, StoredDecision] | None = None) -> Iterator[FlaggedScan]:
    """Stored scans scoring at or above ``threshold``, in row order, with their regions."""
    decisions = store.get_decisions() if decisions is None else decisions
    for s in store.iter_results():
        if not s.ok or not s.score >= threshold:
            continue
        regions = scan_regions(store, s, threshold)
        cats = [gt_category(r.box, s.gt_boxes) for r in regions]
        yield FlaggedScan(s, regions, cats, decisions.get(s.index))


def scan_regions(store: SessionStore, s: StoredScan, threshold: float) -> list[Region]:
    """The scan's regions at ``threshold``: traced from its stored map (as the window traces them), or
    merged grid patches for a model without a map. Never rescored."""
    try:
        dmap = s.threat_map
    except MapDecodeError as exc:
        raise SessionFileError(store.path, f"scan {s.index} ({s.name}): {exc}") from None
    if dmap is not None:
        return flagged_regions(dmap, threshold, s.width, s.height, s.score)
    return merge_regions(s.boxes, s.scores, threshold)


def _nan_to_none(v: float) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def report_summary(store: SessionStore, threshold: float, how: str = "") -> dict[str, Any]:
    """The summary page: counts, the operating point, and recall where ground truth allows."""
    out = store.summary(threshold)
    cal = store.calibration
    out["threshold_source"] = how
    out["estimated_recall"] = _nan_to_none(cal.recall_at(threshold)) if cal is not None else None
    out["estimated_far"] = _nan_to_none(cal.far_at(threshold)) if cal is not None else None
    out["calibration"] = cal.describe() if cal is not None else ""
    n_regions = 0
    for f in flagged_scans(store, threshold, decisions={}):
        n_regions += len(f.regions)
    out["n_regions"] = n_regions
    score, label, error = store.column("score"), store.column("label"), store.column("error")
    known = (error == b"") & (label >= 0) & ~np.isnan(score)
    out["measured_recall"] = out["measured_far"] = None
    out["per_category"] = {}
    if known.any():
        recall, far = recall_far_at(label[known], np.nan_to_num(score[known], neginf=-1e30), threshold)
        out["measured_recall"], out["measured_far"] = _nan_to_none(recall), _nan_to_none(far)
        threat = known & (label == 1)
        cats = [tuple(c for c in to_str(raw).split(";") if c) for raw in store.column("categories")[threat]]
        if any(cats):
            out["per_category"] = {k: dict(v) for k, v in per_category_recall(
                cats, np.nan_to_num(score[threat], neginf=-1e30), threshold).items()}
    return out
