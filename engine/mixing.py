"""Choosing the threat-head weight (gamma) of the patch score on labelled calibration scans.

A model with a threat head scores a patch as ``eta * r' + (1 - eta) * l' + gamma * t'``
(engine.scoring). The right gamma depends on how well the head learned, which only
labelled threats tell: training sees normals and projected threats, not the site's
real threat mix. So gamma is picked where the threshold is, on the calibration scans
(TIP scans or labelled threats, plus threat-free scans), never on the scans a
benchmark evaluates. The criterion is the mean of the four figures the model issue
asks for: threat patches against the other content of their own scans, against
threat-free content, the top patch's hit rate, and the scan-level AUC (threat scans
against threat-free ones), so a mix that localises better but separates bags worse
does not win on localisation alone.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .data.types import NORMAL
from .errors import CalibrationError
from .evaluation import Scored, evaluate
from .modelfile import ModelBundle
from .scoring import ScanResult, combine, scan_score

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


def remix(result: ScanResult, stats: Mapping[str, float], eta: float, gamma: float) -> ScanResult:
    """The same scan under another mix, from its stored raw components (no rescoring)."""
    if result.components is None:
        return result
    scores = combine(result.components, stats, eta, gamma)
    return dataclasses.replace(result, scores=scores, score=scan_score(scores))


def remix_all(scored: Sequence[Scored], stats: Mapping[str, float], eta: float, gamma: float) -> list[Scored]:
    return [Scored(s.record, remix(s.result, stats, eta, gamma)) for s in scored]


def select_gamma(scored: Sequence[Scored], stats: Mapping[str, float], eta: float,
                 candidates: Sequence[float] = GAMMAS) -> MixChoice:
    """The candidate with the best mean calibration figure; ties go to the smaller gamma.

    ``scored`` must hold threat scans with boxes and should hold threat-free scans; every
    result needs its raw components with a "threat" entry (a model with a threat head).
    """
    if not any(s.record.boxes for s in scored):
        raise CalibrationError("choosing gamma needs threat scans with boxes (TIP scans or annotated threats)")
    if any(s.result.components is None or "threat" not in s.result.components for s in scored):
        raise CalibrationError("choosing gamma needs a model with a threat head (no threat component scored)")
    table: dict[float, dict[str, float]] = {}
    best: tuple[float, float] | None = None
    for g in sorted(float(c) for c in candidates):
        report = evaluate(remix_all(scored, stats, eta, g), math.inf)
        figs = {k: float(report[k]) for k in CRITERIA}
        table[g] = figs
        finite = [v for v in figs.values() if np.isfinite(v)]
        crit = float(np.mean(finite)) if finite else -math.inf
        if best is None or crit > best[1] + 1e-9:
            best = (g, crit)
    assert best is not None
    choice = MixChoice(best[0], best[1], table)
    log.info("%s", choice.describe())
    return choice


def tune_mix(bundle: ModelBundle, scored: Sequence[Scored],
             candidates: Sequence[float] = GAMMAS) -> tuple[MixChoice, list[Scored], np.ndarray]:
    """Choose gamma on labelled scans, store it in ``bundle`` and remix them.

    Returns the choice, the remixed scans and their normal patch scores: the model's own
    normal patch statistics were made under the old mix, so a calibration after this must
    take these instead. Refused without threat-free scans, which would leave none.
    """
    if not any(s.record.label == NORMAL for s in scored):
        raise CalibrationError("choosing gamma needs threat-free scans as well (their patches set the "
                               "false-alarm statistics of the new mix)")
    choice = select_gamma(scored, bundle.score_stats, bundle.score.eta, candidates)
    bundle.score = dataclasses.replace(bundle.score, extra={**bundle.score.extra, "gamma": choice.gamma})
    remixed = remix_all(scored, bundle.score_stats, bundle.score.eta, choice.gamma)
    patches = np.concatenate([s.result.scores for s in remixed if s.record.label == NORMAL])
    return choice, remixed, patches
