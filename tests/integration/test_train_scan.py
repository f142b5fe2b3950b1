"""Train then scan on generated data, on the CPU, through the engine and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from app.cli import main
from engine.config import GridConfig, TrainConfig
from engine.errors import ModelFileError
from engine.events import EpochEnded, ScanScored
from engine.modelfile import load_model
from engine.scoring import Scorer
from engine.training import TrainJob, train
from engine.training.checkpoint import checkpoint_path
from tests.conftest import fake_bag, write_rgb

GRID = GridConfig(patch=128, stride=128, input_size=64)
SMALL = {"dsa": {"base": 8}, "ganomaly": {"base": 8}, "skip-ganomaly": {"base": 8}}


def make_data(root: Path, n_normal: int = 6, n_threat: int = 2) -> Path:
    for i in range(n_normal):
        write_rgb(root / "normal" / f"n{i}.png", fake_bag(256, 320, seed=i))
    for i in range(n_threat):
        img = fake_bag(256, 320, seed=100 + i)
        img[100:140, 120:200] = (10, 10, 40)  # a dark dense bar
        write_rgb(root / "threat" / f"t{i}.png", img)
    return root


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = make_data(tmp_path_factory.mktemp("data"))
    out = root / "m.h5"
    cfg = TrainConfig(epochs=2, batch_size=8, max_patches_per_scan=8, val_fraction=0.34)
    job = TrainJob(str(root), "dsa", str(out), SMALL["dsa"], GRID, cfg, device="cpu")
    events = list(train(job))
    assert any(isinstance(e, EpochEnded) for e in events)
    return root, out


def test_model_file_holds_everything(trained: tuple[Path, Path]) -> None:
    _, out = trained
    with h5py.File(out) as f:
        assert f.attrs["format"] == "bagscan-model" and int(f.attrs["format_version"]) == 2
        for key in ("model_config", "grid_config", "train_config", "bagscan_version"):
            assert key in f.attrs
        assert "weights" in f and "calibration" in f and "score_stats" not in f
        assert [n.decode() for n in f["score_head/name"]] == ["recon", "feat"]
    b = load_model(out)
    assert b.grid == GRID and len(b.history) == 2
    assert b.calibration is not None and np.isfinite(b.calibration.threshold)


def test_scores_identical_after_reload_and_independent_of_batch(trained: tuple[Path, Path]) -> None:
    root, out = trained
    scans = sorted((root / "threat").glob("*.png")) + sorted((root / "normal").glob("*.png"))[:2]
    s1 = Scorer(load_model(out), device="cpu")
    s2 = Scorer(load_model(out), device="cpu", batch_size=3)
    alone = [s1.score_scan(p).scores for p in scans]
    batched = [ev.result.scores for ev in s2.score_paths(scans) if isinstance(ev, ScanScored)]
    for a, b in zip(alone, batched, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_cli_scan_json_and_bad_file(trained: tuple[Path, Path], tmp_path: Path, capsys) -> None:
    root, out = trained
    bad = tmp_path / "bad.jpg"
    bad.write_text("nope")
    js = tmp_path / "r.json"
    good = str(root / "threat" / "t0.png")
    assert main(["scan", good, str(bad), "--model", str(out), "--json", str(js), "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "t0" in printed and "ERROR" in printed
    data = json.loads(js.read_text())
    assert set(data) == {"model", "scans"} and data["model"] == "dsa"
    ok, err = data["scans"]
    assert set(ok) == {"path", "width", "height", "score", "flagged", "patches"}
    assert (ok["width"], ok["height"]) == (320, 256)
    assert ok["patches"] and all(len(p["box"]) == 4 for p in ok["patches"])
    assert ok["score"] == pytest.approx(max(p["score"] for p in ok["patches"]), abs=1e-5)
    assert "error" in err and err["path"] == str(bad)


def test_resume_continues_from_checkpoint(tmp_path: Path) -> None:
    root = make_data(tmp_path / "d", n_normal=4, n_threat=0)
    out = tmp_path / "r.h5"
    cfg = TrainConfig(epochs=1, batch_size=8, max_patches_per_scan=4, val_fraction=0.25)
    list(train(TrainJob(str(root), "dsa", str(out), SMALL["dsa"], GRID, cfg, device="cpu")))
    assert checkpoint_path(out).is_file()
    cfg2 = TrainConfig(epochs=2, batch_size=8, max_patches_per_scan=4, val_fraction=0.25)
    events = list(train(TrainJob(str(root), "dsa", str(out), SMALL["dsa"], GRID, cfg2, device="cpu", resume=True)))
    epochs = [e.epoch for e in events if isinstance(e, EpochEnded)]
    assert epochs == [2]
    assert [h["epoch"] for h in load_model(out).history] == [1, 2]


def test_seed_makes_training_reproducible(tmp_path: Path) -> None:
    root = make_data(tmp_path / "d", n_normal=4, n_threat=0)
    cfg = TrainConfig(epochs=1, batch_size=8, max_patches_per_scan=4, val_fraction=0.25, seed=3)
    outs = []
    for k in range(2):
        out = tmp_path / f"s{k}.h5"
        list(train(TrainJob(str(root), "dsa", str(out), SMALL["dsa"], GRID, cfg, device="cpu")))
        outs.append(load_model(out).model.state_dict())
    for key in outs[0]:
        assert np.array_equal(outs[0][key].numpy(), outs[1][key].numpy()), key


def test_bad_model_files(trained: tuple[Path, Path], tmp_path: Path) -> None:
    _, out = trained
    trunc = tmp_path / "t.h5"
    trunc.write_bytes(out.read_bytes()[:2000])
    with pytest.raises(ModelFileError, match="t.h5"):
        load_model(trunc)
    other = tmp_path / "v.h5"
    other.write_bytes(out.read_bytes())
    with h5py.File(other, "a") as f:
        f.attrs["format_version"] = 99
    with pytest.raises(ModelFileError, match="format version 99"):
        load_model(other)
    mism = tmp_path / "m.h5"
    mism.write_bytes(out.read_bytes())
    with h5py.File(mism, "a") as f:
        f.attrs["model_config"] = json.dumps({"base": 16, "input_size": 64})
    with pytest.raises(ModelFileError, match="do not match"):
        load_model(mism)


@pytest.mark.parametrize("name", ["ganomaly", "skip-ganomaly"])
def test_baselines_train_and_score(name: str, tmp_path: Path) -> None:
    root = make_data(tmp_path / "d", n_normal=4, n_threat=1)
    out = tmp_path / f"{name}.h5"
    cfg = TrainConfig(epochs=1, batch_size=8, max_patches_per_scan=4, val_fraction=0.25)
    list(train(TrainJob(str(root), name, str(out), SMALL[name], GRID, cfg, device="cpu")))
    r = Scorer(load_model(out), device="cpu").score_scan(root / "threat" / "t0.png")
    assert len(r.scores) > 0 and np.isfinite(r.scores).all()


def test_cli_train_then_scan(tmp_path: Path, capsys) -> None:
    root = make_data(tmp_path / "d", n_normal=4, n_threat=1)
    out = tmp_path / "cli.h5"
    assert main(["-q", "train", str(root), "--model", "dsa", "--out", str(out), "--epochs", "1",
                 "--input-size", "64", "--patch", "128", "--batch-size", "8", "--max-patches-per-scan", "4",
                 "--model-config", '{"base": 8}', "--device", "cpu", "--seed", "1"]) == 0
    assert main(["scan", str(root / "threat"), "--model", str(out)]) == 0
    assert "t0" in capsys.readouterr().out


def test_cli_calibrate_then_eval_refuses_overlap(trained: tuple[Path, Path], tmp_path: Path, capsys) -> None:
    root, out = trained
    from engine.data.sixray import write_voc
    from engine.data.types import Box

    for i in range(2):  # boxes for the dark bars, so hit rates are defined
        write_voc(root / "threat" / f"t{i}.xml", f"t{i}.png", 320, 256, [Box("Gun", 120, 100, 200, 140)])
    cal = tmp_path / "cal.h5"
    assert main(["calibrate", str(root), "--model", str(out), "--target-recall", "1.0", "--out", str(cal)]) == 0
    c = load_model(cal).calibration
    assert c.has_threats and c.achieved_recall == 1.0 and c.n_threat == 2
    assert main(["eval", str(root), "--model", str(cal)]) == 1  # same scans: refused
    assert "calibrate" in capsys.readouterr().err
    js = tmp_path / "e.json"
    plots = tmp_path / "plots"
    assert main(["eval", str(root), "--model", str(cal), "--allow-overlap", "--json", str(js),
                 "--plots", str(plots)]) == 0
    r = json.loads(js.read_text())
    for k in ("image_auc", "patch_auc", "hit_rate", "threshold", "recall", "false_alarm_rate", "per_category",
              "n_threat", "n_normal"):
        assert k in r
    assert r["n_threat"] == 2 and r["recall"] == 1.0 and r["per_category"]["Gun"]["n"] == 2
    assert sorted(p.name for p in plots.glob("*.png")) == ["category_recall.png", "histogram.png", "roc.png"]
