"""Format-1 model files (score statistics + score_config) migrate to a score head and score exactly as before.

The test writes a version-1 file the way bagscan 1 did (with h5py, not with today's save_model), and
checks today's scores against the version-1 formula, computed here in float64 from the raw components:

    A = eta * (r - m_r) / s_r + (1 - eta) * (f - m_f) / s_f + gamma * (t - m_t) / s_t,  scan score = max A
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from engine.calibration import Calibration
from engine.config import GridConfig, TrainConfig
from engine.data.io import read_scan
from engine.data.patches import extract_patches
from engine.modelfile import load_model, save_model
from engine.models import create_model
from engine.scoring import Scorer, raw_components
from tests.conftest import fake_bag, write_rgb

GRID = GridConfig(patch=128, stride=96, input_size=64)
ETA, GAMMA = 0.8, 4.0


def _v1_file(path: Path, stats: dict[str, float], model: torch.nn.Module, extra: dict) -> Path:
    cal = Calibration.normal_only(np.linspace(0.0, 3.0, 40), np.linspace(1.0, 4.0, 25))
    with h5py.File(path, "w") as f:
        f.attrs.update({"format": "bagscan-model", "format_version": 1, "bagscan_version": "0.9",
                        "model_name": "skip-ganomaly", "model_config": json.dumps(asdict(model.config)),
                        "grid_config": json.dumps(asdict(GRID)), "created": "2026-01-01T00:00:00+00:00",
                        "train_config": json.dumps({**asdict(TrainConfig()), "tip_rate": 0.0}),
                        "score_config": json.dumps({"eta": ETA, "batch_size": 64, "aggregate": "max",
                                                    "extra": extra}),
                        "history": json.dumps([{"epoch": 1, "val": 0.1}])})
        for k, v in model.state_dict().items():
            f.create_dataset(f"weights/{k}", data=v.numpy())
        s = f.create_group("score_stats")
        for k, v in stats.items():
            s.attrs[k] = v
        c = f.create_group("calibration")
        attrs, arrays = cal.to_arrays()
        c.attrs.update(attrs)
        for k, a in arrays.items():
            c.create_dataset(k, data=a)
    return path


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_rgb(tmp_path_factory.mktemp("v1") / "bag.png", fake_bag(300, 400, seed=3))


def _stats_and_oracle(model: torch.nn.Module, arrays: np.ndarray, gamma: float | None
                      ) -> tuple[dict[str, float], np.ndarray]:
    """Statistics that put the components near unit scale, and the v1 score of every patch."""
    raw = {k: v.astype(np.float64) for k, v in raw_components(model, arrays, torch.device("cpu")).items()}
    stats = {}
    for i, k in enumerate(("recon", "feat", "threat")):
        stats[f"{k}_scale"] = float(np.std(raw[k])) + 1e-6
        stats[f"{k}_median"] = float(np.median(raw[k])) + 0.1 * i * stats[f"{k}_scale"]
    z = {k: (raw[k] - stats[f"{k}_median"]) / stats[f"{k}_scale"] for k in ("recon", "feat", "threat")}
    oracle = ETA * z["recon"] + (1 - ETA) * z["feat"] + (0.0 if gamma is None else gamma * z["threat"])
    if gamma is None:
        stats = {k: v for k, v in stats.items() if not k.startswith("threat")}
    return stats, oracle


@pytest.mark.parametrize("gamma", [GAMMA, None], ids=["threat-head-gamma-4", "no-threat-term"])
def test_format_1_migrates_and_scores_as_before(tmp_path: Path, scan: Path, gamma: float | None) -> None:
    torch.manual_seed(0)
    model = create_model("skip-ganomaly", base=8, threat_head=True).eval()
    arrays = extract_patches(read_scan(scan).pixels, GRID).arrays
    stats, oracle = _stats_and_oracle(model, arrays, gamma)
    v1 = _v1_file(tmp_path / "v1.h5", stats, model, {} if gamma is None else {"gamma": gamma})

    bundle = load_model(v1)
    assert bundle.score_head is not None
    expected_terms = ("recon", "feat") if gamma is None else ("recon", "feat", "threat")
    assert bundle.score_head.names == expected_terms and bundle.score_head.aggregate == "max"
    assert bundle.score_head.weight("recon") == ETA and bundle.score_head.weight("threat") == (gamma or 0.0)
    assert bundle.scores_threat == (gamma is not None)
    r = Scorer(bundle, "cpu").score_scan(scan)
    assert len(r.scores) == len(oracle) > 4 and np.ptp(oracle) > 0.5  # a real spread, not a constant
    np.testing.assert_allclose(r.scores, oracle, rtol=0, atol=1e-6)
    assert r.score == pytest.approx(float(oracle.max()), abs=1e-6)

    # Saved again it is a version-2 file that scores identically and keeps the rest.
    v2 = tmp_path / "v2.h5"
    save_model(bundle, v2)
    with h5py.File(v2) as f:
        assert f.attrs["format_version"] == 2 and "score_config" not in f.attrs and "score_stats" not in f
    again = load_model(v2)
    assert again.score_head == bundle.score_head and again.calibration == bundle.calibration
    assert again.history == ({"epoch": 1, "val": 0.1},)
    assert np.array_equal(Scorer(again, "cpu").score_scan(scan).scores, r.scores)


def test_a_format_1_file_without_statistics_loads_but_cannot_score(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = create_model("skip-ganomaly", base=8).eval()
    bundle = load_model(_v1_file(tmp_path / "raw.h5", {}, model, {}))
    assert bundle.score_head is None
    with pytest.raises(Exception, match="no score statistics"):
        Scorer(bundle, "cpu")
