"""engine.calibration: thresholds against brute force, the curve, HDF5 round trip, overlap checks."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import h5py
import numpy as np
import pytest

from engine.calibration import DEFAULT_FAR, Calibration, calibrate
from engine.errors import CalibrationError

TARGETS = [0.0, 0.01, 0.1, 0.33, 0.5, 0.9, 0.95, 0.999, 1.0]


def _sha(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


def _data(seed: int, decimals: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """float32 patch, normal-scan and threat-scan scores, optionally rounded into heavy ties."""
    rng = np.random.default_rng(seed)
    patch, normal, threat = rng.normal(0, 1, 2000), rng.normal(0, 1, 300), rng.normal(1.5, 1, 37)
    if decimals is not None:
        patch, normal, threat = (np.round(a, decimals) for a in (patch, normal, threat))
    return patch.astype(np.float32), normal.astype(np.float32), threat.astype(np.float32)


@pytest.fixture(params=[(0, None), (1, 1), (2, 0)], ids=["continuous", "ties", "heavy-ties"])
def cal(request: pytest.FixtureRequest) -> Calibration:
    patch, normal, threat = _data(*request.param)
    base = Calibration.normal_only(patch, normal, [_sha(i) for i in range(300)])
    return calibrate(threat, None, 0.9, [_sha(1000 + i) for i in range(37)], "labelled", previous=base)


def _brute(scores: np.ndarray, t: float) -> float:
    return float((scores >= t).mean())


def test_threshold_for_recall_reaches_target_and_is_the_largest(cal: Calibration) -> None:
    threat = cal.threat_scan_scores
    for target in TARGETS:
        t = cal.threshold_for_recall(target)
        assert _brute(threat, t) >= target - 1e-12
        assert _brute(threat, np.nextafter(t, np.inf)) < max(target, 1 / threat.size - 1e-12)
        assert cal.recall_at(t) == _brute(threat, t)
        assert _brute(threat.astype(np.float32), np.float32(t)) == _brute(threat, t)
    assert cal.threshold_for_recall(1.0) == threat.min()
    assert cal.threshold_for_recall(0.0) == threat.max()


def test_far_estimates_match_brute_force(cal: Calibration) -> None:
    normal = cal.normal_scan_scores
    probes = np.r_[normal[::7], np.linspace(-5, 5, 41), -np.inf, np.inf]
    for t in probes:
        assert cal.far_at(t) == _brute(normal, t)
        assert cal.patch_far_at(t) == _brute(cal.normal_patch_scores, t)
    for far in [0.0, 0.01, DEFAULT_FAR, 0.1, 0.5, 1.0]:
        t = cal.threshold_for_far(far)
        assert _brute(normal, t) <= far
        below = float(np.nextafter(np.float32(t), np.float32(-np.inf)))
        assert far == 1.0 or _brute(normal, below) > far  # the smallest float32 threshold that does it
        assert _brute(normal.astype(np.float32), np.float32(t)) == _brute(normal, t)


def test_default_threshold_and_normal_only() -> None:
    patch, normal, _ = _data(0, None)
    c = Calibration.normal_only(patch, normal, [_sha(1)])
    assert not c.has_threats and c.source == "normal-only" and math.isnan(c.target_recall)
    assert c.threshold == c.default_threshold == c.threshold_for_far(DEFAULT_FAR)
    assert c.false_alarm_rate <= DEFAULT_FAR and math.isnan(c.achieved_recall)
    assert (c.n_normal, c.n_threat) == (300, 0)
    assert [len(a) for a in c.curve()] == [0, 0, 0]
    with pytest.raises(CalibrationError, match="no threat scans"):
        c.threshold_for_recall(0.9)
    empty = Calibration.normal_only([], [])
    assert empty.threshold == math.inf and math.isnan(empty.false_alarm_rate)


def test_curve_is_monotone_and_agrees_with_point_queries(cal: Calibration) -> None:
    recall, thr, far = cal.curve()
    assert len(recall) == len(thr) == len(far) == len(np.unique(cal.threat_scan_scores))
    assert np.all(np.diff(recall) > 0) and np.all(np.diff(thr) < 0) and np.all(np.diff(far) >= 0)
    assert recall[-1] == 1.0 and cal.curve() is cal.curve()  # computed once
    for r, t, f in zip(recall, thr, far, strict=True):
        assert cal.at_recall(r) == (t, r, f)
    rng = np.random.default_rng(0)
    for target in rng.random(50):
        i = int(np.searchsorted(recall, target - 1e-12))  # what a slider on the curve would pick
        assert cal.at_recall(target).threshold == thr[i]


def test_calibrate_sets_the_operating_point_and_keeps_normal_stats(cal: Calibration) -> None:
    assert cal.source == "labelled" and cal.target_recall == 0.9 and cal.has_threats
    assert cal.threshold == cal.threshold_for_recall(0.9) and cal.achieved_recall >= 0.9
    assert cal.false_alarm_rate == cal.far_at(cal.threshold)
    assert (cal.n_threat, cal.n_normal, cal.normal_patch_scores.size) == (37, 300, 2000)
    assert len(cal.scan_hashes) == 337
    again = calibrate(cal.threat_scan_scores, [0.0, 1.0], 1.0, source="tip", previous=cal)
    assert again.threshold == cal.threat_scan_scores.min() and again.achieved_recall == 1.0
    assert again.n_normal == 2 and np.array_equal(again.normal_patch_scores, cal.normal_patch_scores)
    moved = cal.with_threshold(0.25)
    assert moved.threshold == 0.25 and math.isnan(moved.target_recall)
    assert cal.with_target_recall(0.5).threshold == cal.threshold_for_recall(0.5)


@pytest.mark.parametrize(
    ("threat", "target", "source", "match"),
    [
        ([], 0.9, "labelled", "no threat scans"),
        ([0.1, float("nan")], 0.9, "labelled", "NaN"),
        ([0.1, 0.2], 1.5, "labelled", "target recall"),
        ([0.1, 0.2], float("nan"), "labelled", "target recall"),
        ([0.1, 0.2], 0.9, "normal-only", "source"),
    ],
)
def test_calibrate_refuses_bad_input(threat: list[float], target: float, source: str, match: str) -> None:
    with pytest.raises(CalibrationError, match=match):
        calibrate(threat, [0.0, 0.1], target, source=source)


def test_nan_normal_scores_and_bad_source_are_refused() -> None:
    with pytest.raises(CalibrationError, match="NaN"):
        Calibration.normal_only([0.1], [0.2, float("nan")])
    with pytest.raises(CalibrationError, match="source"):
        Calibration([0.1], [0.2], source="guess")


def test_inputs_are_sorted_copies_and_left_alone() -> None:
    normal = np.array([0.3, 0.1, 0.2])
    c = Calibration.normal_only(normal, normal)
    assert c.normal_scan_scores.tolist() == [0.1, 0.2, 0.3] and normal.tolist() == [0.3, 0.1, 0.2]
    assert normal.flags.writeable and not c.normal_scan_scores.flags.writeable


def _roundtrip(c: Calibration, path: Path) -> Calibration:
    attrs, arrays = c.to_arrays()
    for v in attrs.values():
        assert isinstance(v, int | float | str)
    for a in arrays.values():
        assert a.ndim == 1 and a.dtype.kind in "fS"
    with h5py.File(path, "w") as f:
        g = f.create_group("calibration")
        g.attrs.update(attrs)
        for k, a in arrays.items():
            g.create_dataset(k, data=a)
    with h5py.File(path, "r") as f:
        g = f["calibration"]
        return Calibration.from_arrays(dict(g.attrs), {k: np.array(v) for k, v in g.items()})


def test_hdf5_round_trip(cal: Calibration, tmp_path: Path) -> None:
    back = _roundtrip(cal, tmp_path / "cal.h5")
    assert back == cal and back.curve()[1].tolist() == cal.curve()[1].tolist()
    assert back.describe() == cal.describe()
    picked = _roundtrip(cal.with_threshold(0.123), tmp_path / "picked.h5")
    assert picked.threshold == 0.123 and math.isnan(picked.target_recall)
    bare = Calibration.normal_only([], [])
    assert _roundtrip(bare, tmp_path / "bare.h5") == bare


def test_many_hashes_fit_in_hdf5(tmp_path: Path) -> None:
    hashes = [_sha(i) for i in range(5000)]  # as a JSON attribute this would pass HDF5's 64 KiB cap
    c = Calibration.normal_only([0.1], np.linspace(0, 1, 5000), hashes)
    assert _roundtrip(c, tmp_path / "big.h5").scan_hashes == tuple(sorted(hashes))


def test_newer_format_is_refused() -> None:
    attrs, arrays = Calibration.normal_only([0.1], [0.2]).to_arrays()
    with pytest.raises(CalibrationError, match="newer"):
        Calibration.from_arrays({**attrs, "format": 99}, arrays)


def test_overlaps(cal: Calibration) -> None:
    assert cal.overlaps([_sha(5), _sha(1005), _sha(99999)]) == {_sha(5), _sha(1005)}
    assert cal.overlaps([_sha(5).encode()]) == {_sha(5)}
    assert cal.overlaps([_sha(-1)]) == set()
