"""engine.recalibration.recalibrate: one workflow, a new bundle, the old one untouched."""

from __future__ import annotations

import numpy as np
import pytest

from engine.calibration import Calibration
from engine.config import GridConfig, TrainConfig
from engine.data.types import NORMAL, THREAT, ScanRecord
from engine.errors import CalibrationError
from engine.evaluation import Scored
from engine.modelfile import ModelBundle
from engine.models import create_model
from engine.recalibration import recalibrate
from engine.scoring import ScanResult
from tests.unit.test_mixing import HEAD, _set

BOXES = np.array([[0, 0, 64, 64]], np.int32)


def _bundle() -> ModelBundle:
    prev = Calibration.normal_only([0.1, 0.2, 0.3], [0.0, 0.4], hashes=["a" * 64])
    return ModelBundle("skip-ganomaly", create_model("skip-ganomaly", base=8), GridConfig(), TrainConfig(),
                       HEAD, prev)


def _scored(score: float, label: str, i: int) -> Scored:
    res = ScanResult(f"/s/{i}.png", str(i), 64, 64, f"{i:064d}", BOXES, np.array([score], np.float32), score, 0.0)
    return Scored(ScanRecord(res.path, res.name, label), res)


def test_threshold_for_the_target_recall_in_a_new_bundle() -> None:
    bundle = _bundle()
    scored = [_scored(s, THREAT, i) for i, s in enumerate([1.0, 2.0, 3.0, -np.inf])]
    scored += [_scored(s, NORMAL, 10 + i) for i, s in enumerate([0.5, 2.5])]
    done = recalibrate(bundle, scored, 2 / 3, "tip")
    cal = done.bundle.calibration
    assert cal is not None and bundle.calibration is not None
    # Three finite threat scores; recall 2/3 needs two of them flagged: threshold 2.0. FAR: 2.5 >= 2 of 2 normals.
    assert cal.threshold == 2.0 and cal.achieved_recall == pytest.approx(2 / 3) and cal.false_alarm_rate == 0.5
    assert cal.source == "tip" and "a" * 64 in cal.scan_hashes and f"{10:064d}" in cal.scan_hashes
    assert cal.normal_patch_scores.tolist() == [0.1, 0.2, 0.3]  # the mix did not change: kept
    assert bundle.calibration.source == "normal-only" and done.bundle.score_head is bundle.score_head
    assert done.mix is None and done.bundle.model is bundle.model


def test_tuning_the_mix_reweights_a_copy_and_refreshes_the_patch_statistics() -> None:
    bundle = _bundle()
    done = recalibrate(bundle, _set("threat"), 0.9, tune_mix=True)
    assert done.mix is not None and done.mix.gamma >= 4.0
    assert done.bundle.score_head is not None and done.bundle.score_head.weight("threat") == done.mix.gamma
    assert bundle.score_head is not None and bundle.score_head.weight("threat") == 1.0  # the given bundle is kept
    normals = [s for s in done.scored if s.record.label == NORMAL]
    assert done.bundle.calibration is not None
    assert done.bundle.calibration.normal_patch_scores.size == 16 * len(normals)


def test_tuning_needs_threat_free_scans() -> None:
    threats = [s for s in _set("threat") if s.record.label == THREAT]
    with pytest.raises(CalibrationError, match="threat-free"):
        recalibrate(_bundle(), threats, 0.9, tune_mix=True)
