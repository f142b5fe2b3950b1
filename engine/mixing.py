"""Choosing the threat-head weight (gamma) of the patch score on labelled calibration scans.

A model with a threat head scores a patch as ``eta * r' + (1 - eta) * l' + gamma * t'``
(its :class:`~engine.score_head.ScoreHead`). The right gamma depends on how well the head learned, which only
labelled threats tell: training sees normals and projected threats, not the site's
real threat mix. So gamma is picked where the threshold is, on the calibration scans
(TIP scans or labelled threats, plus threat-free scans), never on the scans a
benchmark evaluates. The criterion is the mean of the four figures the model issue
asks for: threat patches against the other content of their own scans, against
threat-free content, the top patch's hit rate, and the scan-level AUC (threat scans
against threat-free ones), so a mix that localises better but separates bags worse
does not win on localisation alone. :func:`engine.recalibration.recalibrate` stores the
choice in a new bundle.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import CalibrationError
from .evaluation import Scored, evaluate
from .score_head import ScoreHead
from .scoring import ScanResult

log = logging.getLogger(__name__)

GAMMAS: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
CRITERIA = ("patch_auc_within_threat", "patch_auc", "top_hit_rate", "image_auc")


@dataclass(frozen=True)
class MixChoice:
    gamma: float
    criterion: float
    table: dict[float, dict[str, float]]  # gamma -> the figures behind the choice

    def describe(self) -> str:
        rows = [f"gamma {g:g}: " + ", ".join(f"{k} {v:.3f}" for k, v in figs.items())
                for g, figs in self.table.items()]
        return f"chose gamma {self.gamma:g} (criterion {self.criterion:.3f})\n  " + "\n  ".join(rows)


def remix(result: ScanResult, head: ScoreHead) -> ScanResult:
    """The same scan under another score head, from its stored raw components (no rescoring)."""
    if result.components is None:
        return result
    scores = head.combine(result.components)
    return dataclasses.replace(result, scores=scores, score=head.scan_score(scores))


def remix_all(scored: Sequence[Scored], head: ScoreHead) -> list[Scored]:
    return [Scored(s.record, remix(s.result, head)) for s in scored]


def select_gamma(scored: Sequence[Scored], head: ScoreHead, candidates: Sequence[float] = GAMMAS) -> MixChoice:
    """The threat weight with the best mean calibration figure; ties go to the smaller gamma.

    ``scored`` must hold threat scans with boxes and should hold threat-free scans; every
    result needs its raw components with a "threat" entry, and ``head`` a threat term.
    """
    if not any(s.record.boxes for s in scored):
        raise CalibrationError("choosing gamma needs threat scans with boxes (TIP scans or annotated threats)")
    if not head.has("threat") or any(s.result.components is None or "threat" not in s.result.components
                                     for s in scored):
        raise CalibrationError("choosing gamma needs a model with a threat head (no threat component scored)")
    table: dict[float, dict[str, float]] = {}
    best: tuple[float, float] | None = None
    for g in sorted(float(c) for c in candidates):
        report = evaluate(remix_all(scored, head.with_weight("threat", g)), math.inf)
        figs = {k: float(report[k]) for k in CRITERIA}
        table[g] = figs
        finite = [v for v in figs.values() if np.isfinite(v)]
        crit = float(np.mean(finite)) if finite else -math.inf
        if best is None or crit > best[1] + 1e-9:
            best = (g, crit)
    if best is None:
        raise CalibrationError("no gamma candidates to choose from")
    choice = MixChoice(best[0], best[1], table)
    log.info("%s", choice.describe())
    return choice
