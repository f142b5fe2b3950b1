"""Choosing the threat-head weight on calibration scans (engine.mixing)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.data.types import NORMAL, THREAT, Box, ScanRecord
from engine.errors import CalibrationError
from engine.evaluation import Scored
from engine.mixing import remix, select_gamma
from engine.score_head import ScoreHead, Term
from engine.scoring import ScanResult

# Unit statistics: A = 0.9 r + 0.1 f + gamma t.
HEAD = ScoreHead((Term("recon", 0.0, 1.0, 0.9), Term("feat", 0.0, 1.0, 0.1), Term("threat", 0.0, 1.0, 1.0)))
# A 4x4 grid of 64-px patches; the threat box covers patch 6 (row 1, column 2).
BOXES = np.array([[x, y, x + 64, y + 64] for y in range(0, 256, 64) for x in range(0, 256, 64)], np.int32)
THREAT_PATCH = 6


def _scan(i: int, threat: bool, informative: str, rng: np.random.Generator) -> Scored:
    comps = {k: rng.normal(0, 1, len(BOXES)).astype(np.float32) for k in ("recon", "feat", "threat")}
    if threat:
        comps[informative][THREAT_PATCH] += 4.0
    scores = HEAD.combine(comps)
    res = ScanResult(f"/s/{i}.png", str(i), 256, 256, f"{i:064d}", BOXES, scores, float(scores.max()), 0.0,
                     components=comps)
    boxes = (Box("Gun", 128.0, 64.0, 192.0, 128.0),) if threat else ()
    rec = ScanRecord(res.path, res.name, THREAT if threat else NORMAL, ("Gun",) if threat else (), boxes)
    return Scored(rec, res)


def _set(informative: str) -> list[Scored]:
    rng = np.random.default_rng(0)
    return [_scan(i, i % 2 == 0, informative, rng) for i in range(40)]


def test_an_informative_threat_head_gets_weight() -> None:
    choice = select_gamma(_set("threat"), HEAD)
    assert choice.gamma >= 4.0
    assert choice.table[choice.gamma]["top_hit_rate"] > choice.table[0.0]["top_hit_rate"]


def test_a_noise_threat_head_gets_none() -> None:
    choice = select_gamma(_set("recon"), HEAD)
    assert choice.gamma == 0.0
    assert choice.table[0.0]["patch_auc_within_threat"] > choice.table[8.0]["patch_auc_within_threat"]


def test_remix_recombines_without_rescoring_and_keeps_the_rest() -> None:
    comps = {"recon": np.array([1.0, 0.0], np.float32), "feat": np.array([0.0, 2.0], np.float32),
             "threat": np.array([0.0, 1.0], np.float32)}
    s = ScanResult("/s/a.png", "a", 128, 64, "0" * 64, BOXES[:2], np.zeros(2, np.float32), 0.0, 0.0,
                   components=comps)
    out = remix(s, HEAD.with_weight("threat", 4.0))
    np.testing.assert_allclose(out.scores, [0.9, 0.2 + 4.0], atol=1e-6)  # 0.9*1; 0.1*2 + 4*1
    assert out.score == pytest.approx(4.2)
    assert out.path == s.path and out.boxes is s.boxes and not s.scores.any()


def test_choosing_needs_boxes_and_a_threat_component() -> None:
    normals = [s for s in _set("threat") if s.record.label == NORMAL]
    with pytest.raises(CalibrationError, match="boxes"):
        select_gamma(normals, HEAD)
    no_head = [Scored(s.record, remix(s.result, HEAD)) for s in _set("threat")]
    for s in no_head:
        s.result.components = {k: v for k, v in s.result.components.items() if k != "threat"}
    with pytest.raises(CalibrationError, match="threat head"):
        select_gamma(no_head, HEAD)
    with pytest.raises(CalibrationError, match="threat head"):
        select_gamma(_set("threat"), ScoreHead(HEAD.terms[:2]))
