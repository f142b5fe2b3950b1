"""The end of training: fit the score head and the normal-only calibration on held-out normal scans.

The same path as scoring: raw components from :func:`engine.scoring.raw_components` (what the
Scorer runs), patch scores from the fitted :class:`~engine.score_head.ScoreHead` and scan
scores from its aggregate, so what calibration sees is what a scan will score.
"""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import torch

from ..calibration import Calibration
from ..config import ScoreConfig
from ..modelfile import ModelBundle
from ..score_head import ScoreHead
from ..scoring import raw_components
from .data import PatchPool


def finish(bundle: ModelBundle, val_pool: PatchPool, device: torch.device, score: ScoreConfig) -> ModelBundle:
    """A new bundle (its model on the CPU) with the score head and calibration of ``val_pool``."""
    arrays = val_pool.batch(np.arange(len(val_pool)))
    raw = raw_components(bundle.model, arrays, device)
    head = ScoreHead.fit(raw, score)
    patch_scores = head.combine(raw)
    per_scan = [head.scan_score(patch_scores[val_pool.scan_index == i]) for i in range(len(val_pool.records))]
    scan_scores = np.array([s for s in per_scan if np.isfinite(s)], np.float64)
    calibration = Calibration.normal_only(patch_scores, scan_scores, val_pool.hashes)
    model = copy.deepcopy(bundle.model).cpu() if device.type != "cpu" else bundle.model
    return replace(bundle, model=model, score_head=head, calibration=calibration)
