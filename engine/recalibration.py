"""The one calibration workflow: a model bundle and its scored calibration scans in, a new bundle out.

``bagscan calibrate``, the default-model build and the benchmarks all go through
:func:`recalibrate`: optionally choose the threat head's weight on the scans' threat boxes
(engine.mixing), then set the threshold that reaches the target recall on the threat scans
(engine.calibration). The bundle given is never changed: the result holds a new one, with
the new calibration and, when the mix was tuned, the new score head.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from .calibration import calibrate
from .data.types import NORMAL, THREAT
from .errors import CalibrationError
from .evaluation import Scored
from .mixing import GAMMAS, MixChoice, remix_all, select_gamma
from .modelfile import ModelBundle

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recalibrated:
    bundle: ModelBundle  # the new bundle (save it with engine.modelfile.save_model)
    scored: list[Scored]  # the calibration scans under the new bundle's score head
    mix: MixChoice | None = None  # the threat weight chosen, when the mix was tuned


def _finite_scores(scored: Sequence[Scored], label: str) -> np.ndarray:
    s = np.array([x.result.score for x in scored if x.record.label == label], np.float64)
    return s[np.isfinite(s)]


def recalibrate(bundle: ModelBundle, scored: Sequence[Scored], target_recall: float, source: str = "labelled",
                *, tune_mix: bool = False, candidates: Sequence[float] = GAMMAS) -> Recalibrated:
    """Calibrate ``bundle`` on ``scored`` (threat and threat-free scans, scored by this bundle).

    With ``tune_mix`` the threat weight is chosen first (a model with a threat head; threat scans
    with boxes and threat-free scans needed), and the normal patch statistics are replaced by
    those of the threat-free scans under the new mix (the model's own were made under the old).
    The previous calibration's normal statistics and hashes are kept where these scans give none.
    """
    if bundle.score_head is None:
        raise CalibrationError(f"{bundle.path or bundle.name}: model has no score head (train it first)")
    head, mix, patches = bundle.score_head, None, None
    scored = list(scored)
    if tune_mix:
        if not any(s.record.label == NORMAL for s in scored):
            raise CalibrationError("choosing gamma needs threat-free scans as well (their patches set the "
                                   "false-alarm statistics of the new mix)")
        mix = select_gamma(scored, head, candidates)
        head = head.with_weight("threat", mix.gamma)
        scored = remix_all(scored, head)
        patches = np.concatenate([s.result.scores for s in scored if s.record.label == NORMAL])
    cal = calibrate(_finite_scores(scored, THREAT), _finite_scores(scored, NORMAL), target_recall,
                    [s.result.sha256 for s in scored], source, previous=bundle.calibration,
                    normal_patch_scores=patches)
    return Recalibrated(replace(bundle, score_head=head, calibration=cal), scored, mix)
