"""engine.metrics against scikit-learn (ties included), hand-built localisation cases, and the plots."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine import metrics as M
from engine.data.patches import box_overlap_fractions
from engine.data.types import Box

ROOT = Path(__file__).resolve().parents[2]


def _cases() -> list[tuple[np.ndarray, np.ndarray]]:
    """Random labelled scores: continuous, heavily tied (rounded), tiny, and -1/1 labels."""
    rng = np.random.default_rng(7)
    out = []
    for n, decimals in [(200, None), (300, 1), (50, 0), (7, None), (1000, 2)]:
        y = rng.random(n) < 0.3
        y[:2] = [True, False]
        s = rng.normal(size=n) + 0.8 * y
        out.append((y.astype(int), s if decimals is None else np.round(s, decimals)))
    y = np.where(rng.random(80) < 0.5, 1, -1)
    y[:2] = [1, -1]
    out.append((y, np.round(rng.random(80), 1)))
    return out


@pytest.mark.parametrize("case", range(6))
def test_curves_match_sklearn(case: int) -> None:
    sk = pytest.importorskip("sklearn.metrics")
    y, s = _cases()[case]
    y01 = (y > 0).astype(int)
    assert M.roc_auc(y, s) == pytest.approx(sk.roc_auc_score(y01, s), abs=1e-12)
    fpr, tpr, thr = M.roc_curve(y, s)
    sfpr, stpr, sthr = sk.roc_curve(y01, s, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sfpr)
    np.testing.assert_allclose(tpr, stpr)
    np.testing.assert_array_equal(thr[1:], sthr[1:])
    assert thr[0] == np.inf
    p, r, t = M.precision_recall_curve(y, s)
    sp, sr, st = sk.precision_recall_curve(y01, s)
    np.testing.assert_allclose(p, sp)
    np.testing.assert_allclose(r, sr)
    np.testing.assert_array_equal(t, st)
    assert M.average_precision(y, s) == pytest.approx(sk.average_precision_score(y01, s), abs=1e-12)


def test_auc_is_mann_whitney_with_half_ties() -> None:
    rng = np.random.default_rng(1)
    y = rng.random(60) < 0.4
    s = np.round(rng.random(60), 1)
    pos, neg = s[y], s[~y]
    wins = (pos[:, None] > neg[None]).sum() + 0.5 * (pos[:, None] == neg[None]).sum()
    brute = wins / (pos.size * neg.size)
    assert M.roc_auc(y, s) == pytest.approx(brute, abs=1e-12)
    assert M.roc_auc([1, 0, 1, 0], [0.3, 0.3, 0.3, 0.3]) == 0.5
    assert M.roc_auc([True, False], [2.0, 1.0]) == 1.0


def test_one_class_gives_nan_not_an_error() -> None:
    s = [0.1, 0.5, 0.5, 0.9]
    assert math.isnan(M.roc_auc([1, 1, 1, 1], s))
    assert math.isnan(M.roc_auc([0, 0, 0, 0], s))
    fpr, tpr, _ = M.roc_curve([0, 0, 0, 0], s)
    assert np.isnan(tpr).all() and fpr[-1] == 1.0
    fpr, tpr, _ = M.roc_curve([1, 1, 1, 1], s)
    assert np.isnan(fpr).all() and tpr[-1] == 1.0
    assert math.isnan(M.average_precision([0, 0, 0, 0], s))
    assert M.average_precision([1, 1, 1, 1], s) == 1.0
    sk = pytest.importorskip("sklearn.metrics")
    assert sk.average_precision_score([1, 1, 1, 1], s) == 1.0
    assert math.isnan(M.roc_auc([], []))


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="NaN"):
        M.roc_auc([0, 1], [0.1, float("nan")])
    with pytest.raises(ValueError, match="length"):
        M.roc_curve([0, 1, 1], [0.1, 0.2])


def test_recall_far_at_counts_equality_as_detected() -> None:
    y = [1, 1, 1, 1, 0, 0, 0, 0, 0]
    s = [0.9, 0.5, 0.5, 0.1, 0.6, 0.5, 0.2, 0.1, 0.0]
    assert M.recall_far_at(y, s, 0.5) == (0.75, 0.4)
    assert M.recall_far_at(y, s, 1.0) == (0.0, 0.0)
    r, f = M.recall_far_at([0, 0], [0.1, 0.9], 0.5)
    assert math.isnan(r) and f == 0.5


def test_per_category_recall() -> None:
    cats = [("Gun",), ("Knife", "Gun"), ("Knife",), ("Scissors",), (), ("Zapper",)]
    scores = [0.9, 0.2, 0.8, 0.5, 0.9, 0.1]
    hits = [True, False, False, True, True, False]
    out = M.per_category_recall(cats, scores, 0.5, hits)
    assert list(out) == ["Gun", "Knife", "Scissors", "Zapper"]
    assert out["Gun"] == {"n": 2, "detected": 1, "recall": 0.5, "hit_rate": 0.5}
    assert out["Knife"] == {"n": 2, "detected": 1, "recall": 0.5, "hit_rate": 0.0}
    assert out["Scissors"]["recall"] == 1.0 and out["Zapper"]["detected"] == 0
    no_hits = M.per_category_recall(cats, scores, 0.5)
    assert math.isnan(no_hits["Gun"]["hit_rate"]) and no_hits["Gun"]["recall"] == 0.5
    with pytest.raises(ValueError):
        M.per_category_recall(cats, scores[:-1], 0.5)


PATCHES = np.array([[0, 0, 100, 100], [100, 0, 200, 100], [0, 100, 100, 200], [100, 100, 200, 200]])


def test_hit_uses_the_top_patch_and_positive_area() -> None:
    scores = np.array([0.1, 0.9, 0.2, 0.3])
    assert M.hit(PATCHES, scores, [(150, 20, 170, 40)])
    assert not M.hit(PATCHES, scores, [(20, 20, 40, 40)])  # the threat is under a low patch
    assert not M.hit(PATCHES, scores, [(200, 0, 250, 50)])  # touching the edge is no overlap
    assert M.hit(PATCHES, scores, [(20, 20, 40, 40), (190, 90, 210, 110)])
    assert M.hit(PATCHES, scores, [Box("Gun", 150, 20, 170, 40)])
    assert M.hit(PATCHES, scores, [(150, 20, 170, 40)], threshold=0.9)
    assert not M.hit(PATCHES, scores, [(150, 20, 170, 40)], threshold=0.95)
    assert not M.hit(PATCHES, scores, [])
    assert not M.hit(np.zeros((0, 4)), np.zeros(0), [(0, 0, 10, 10)])


def test_chance_hit_rate() -> None:
    assert M.chance_hit_rate(PATCHES, [(20, 20, 40, 40)]) == 0.25
    assert M.chance_hit_rate(PATCHES, [(90, 90, 110, 110)]) == 1.0
    assert M.chance_hit_rate(PATCHES, [(10, 10, 20, 20), (30, 30, 40, 40)]) == 0.25
    assert M.chance_hit_rate(PATCHES, []) == 0.0
    assert math.isnan(M.chance_hit_rate(np.zeros((0, 4)), [(0, 0, 1, 1)]))


def test_threat_patch_labels_hand_built() -> None:
    small = (10, 10, 60, 60)  # lies wholly inside patch 0: patch covers 100 % of the box
    assert M.threat_patch_labels(PATCHES, [small]).tolist() == [True, False, False, False]
    big = (0, 0, 200, 150)  # covers all of patches 0 and 1, half of patches 2 and 3
    assert M.threat_patch_labels(PATCHES, [big]).tolist() == [True, True, True, True]
    sliver = (95, 0, 105, 100)  # 5 % of each neighbouring patch, half of the box in each
    assert M.threat_patch_labels(PATCHES, [sliver]).tolist() == [True, True, False, False]
    corner = (60, 60, 140, 140)  # a quarter of the box in each patch, 16 % of each patch
    assert not M.threat_patch_labels(PATCHES, [corner]).any()
    assert M.touches_box(PATCHES, [corner]).all()  # every patch holds part of it: partial, not threat, patches
    assert M.touches_box(PATCHES, [small]).tolist() == [True, False, False, False]
    assert M.threat_patch_labels(PATCHES, []).tolist() == [False] * 4 and not M.touches_box(PATCHES, []).any()


def test_threat_patch_labels_match_the_scalar_rule() -> None:
    rng = np.random.default_rng(3)
    patches = np.array([[x, y, x + 64, y + 64] for y in range(0, 320, 48) for x in range(0, 320, 48)])
    for _ in range(20):
        x0, y0 = rng.uniform(0, 300, 2)
        n = int(rng.integers(1, 4))
        boxes = [(x0, y0, x0 + rng.uniform(5, 150), y0 + rng.uniform(5, 150)) for _ in range(n)]
        want = [any(max(box_overlap_fractions(p, b)) >= 0.5 for b in boxes) for p in patches]
        assert M.threat_patch_labels(patches, boxes).tolist() == want


def test_plots_write_valid_pngs_atomically(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from engine.reporting import plots

    rng = np.random.default_rng(0)
    normal, threat = rng.normal(0, 1, 300), rng.normal(2, 1, 40)
    y = np.r_[np.zeros(300), np.ones(40)]
    fpr, tpr, _ = M.roc_curve(y, np.r_[normal, threat])
    auc = M.roc_auc(y, np.r_[normal, threat])
    per_cat = M.per_category_recall([("Gun",), ("Knife",), ("Gun", "Knife")], [3.0, 0.1, 2.0], 1.0,
                                    [True, False, True])
    written = [
        plots.plot_roc(fpr, tpr, auc, (0.05, 0.8), tmp_path / "roc.png"),
        plots.plot_roc([0, 1], [np.nan, np.nan], float("nan"), None, tmp_path / "roc_one_class.png"),
        plots.plot_score_histograms(normal, np.r_[threat, -np.inf], 1.5, tmp_path / "hist.png"),
        plots.plot_score_histograms([], [], float("inf"), tmp_path / "hist_empty.png"),
        plots.plot_category_recall(per_cat, tmp_path / "cat.png"),
        plots.plot_category_recall(M.per_category_recall([("Gun",)], [1.0], 0.5), tmp_path / "cat_nohit.png"),
        plots.plot_category_recall({}, tmp_path / "sub" / "cat_empty.png"),
    ]
    for p in written:
        img = cv2.imread(str(p))
        assert img is not None and img.shape[0] > 100 and img.shape[1] > 100, p
    assert not list(tmp_path.rglob("*.tmp"))


def test_importing_metrics_and_plots_does_not_load_matplotlib() -> None:
    code = ("import sys, engine.metrics, engine.calibration, engine.reporting.plots\n"
            "assert 'matplotlib' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
