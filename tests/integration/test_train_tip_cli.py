"""``bagscan train --tip/--tip-library/--semi``: hard augmentation from the command line."""

from __future__ import annotations

from pathlib import Path

from app.cli import main
from engine.data import load_dataset, read_scan
from engine.data.patches import extract_patches
from engine.data.sixray import write_voc
from engine.data.types import NORMAL, Box
from engine.modelfile import load_model
from engine.scoring import Scorer
from tests.integration.test_train_scan import make_data

FAST = ["--epochs", "1", "--input-size", "64", "--patch", "128", "--batch-size", "8",
        "--max-patches-per-scan", "4", "--model-config", '{"base": 8}', "--device", "cpu"]


def _library(root: Path) -> Path:
    """The generated threat scans with VOC boxes around their dark bars (a labelled TIP library)."""
    lib = make_data(root, n_normal=1, n_threat=2)
    for img in sorted((lib / "threat").glob("*.png")):
        write_voc(img.with_suffix(".xml"), img.name, 320, 256, [Box("Knife", 120.0, 100.0, 200.0, 140.0)])
    return lib


def test_tip_semi_trains_a_threat_head_that_scores(tmp_path: Path, capsys) -> None:
    data = make_data(tmp_path / "d", n_normal=4, n_threat=1)
    lib = _library(tmp_path / "lib")
    out = tmp_path / "tip.h5"
    assert main(["-q", "train", str(data), "--model", "dsa", "--out", str(out), *FAST,
                 "--tip-library", str(lib), "--semi"]) == 0
    bundle = load_model(out)
    assert bundle.model_config["threat_head"] is True and bundle.train.w_tip == 1.0
    assert bundle.score_head is not None and bundle.score_head.has("threat")  # the head's logit is scored
    assert "tip" in bundle.history[0]  # the head's loss was trained
    assert main(["scan", str(data / "threat"), "--model", str(out)]) == 0
    assert "t0" in capsys.readouterr().out

    # calibrate --tune-mix: gamma is chosen on the labelled scans, then the threshold under that mix.
    tuned = tmp_path / "tuned.h5"
    assert main(["-q", "calibrate", str(lib), "--model", str(out), "--tune-mix", "--out", str(tuned)]) == 0
    printed = capsys.readouterr().out
    assert "chose gamma" in printed and "top_hit_rate" in printed
    t = load_model(tuned)
    gamma = t.score_head.weight("threat")
    assert f"chose gamma {gamma:g}" in printed
    normal = [r for r in load_dataset(lib).records if r.label == NORMAL]
    patches = extract_patches(read_scan(normal[0].path).pixels, t.grid)
    # The new calibration's patch statistics are the library normals' patches under the new mix.
    assert t.calibration.normal_patch_scores.size == len(patches.boxes)
    expected = Scorer(t, "cpu").score_arrays(patches.arrays)
    assert sorted(expected.tolist()) == sorted(t.calibration.normal_patch_scores.tolist())
    # Without threat-free scans the new mix would keep stale patch statistics: refused.
    assert main(["-q", "calibrate", str(lib / "threat"), "--model", str(out), "--tune-mix",
                 "--out", str(tmp_path / "no.h5")]) == 1
    err = capsys.readouterr().err
    assert "threat-free scans" in err and str(lib / "threat") in err
    # Without the flag, calibrate tunes what the recipe needs: the same gamma as --tune-mix chose ...
    auto = tmp_path / "auto.h5"
    assert main(["-q", "calibrate", str(lib), "--model", str(out), "--out", str(auto)]) == 0
    assert f"chose gamma {gamma:g}" in capsys.readouterr().out
    assert load_model(auto).score_head.weight("threat") == gamma
    # ... and with threat scans only, or --no-tune-mix, it keeps the mix and only sets the threshold.
    for extra, data_dir in (([], lib / "threat"), (["--no-tune-mix"], lib)):
        kept = tmp_path / "kept.h5"
        assert main(["-q", "calibrate", str(data_dir), "--model", str(out), *extra, "--out", str(kept)]) == 0
        assert "chose gamma" not in capsys.readouterr().out
        assert load_model(kept).score_head.weight("threat") == bundle.score_head.weight("threat")


def test_semi_without_a_library_and_a_library_without_boxes_are_clear_errors(tmp_path: Path, capsys) -> None:
    data = make_data(tmp_path / "d", n_normal=4, n_threat=1)
    out = tmp_path / "x.h5"
    assert main(["-q", "train", str(data), "--model", "dsa", "--out", str(out), *FAST, "--semi"]) == 1
    assert "--semi needs --tip-library" in capsys.readouterr().err
    assert main(["-q", "train", str(data), "--model", "dsa", "--out", str(out), *FAST, "--tip-library", str(data)]) == 1
    err = capsys.readouterr().err
    assert str(data) in err and "no threat scans with boxes" in err
    assert not out.exists()


def test_two_stage_trains_its_attention_from_hard_augmentation_by_default_at_the_given_weight(tmp_path: Path) -> None:
    data = make_data(tmp_path / "d", n_normal=4, n_threat=1)
    out = tmp_path / "ts.h5"
    fast = [a if a != '{"base": 8}' else '{"base": 8, "d_base": 8}' for a in FAST]
    assert main(["-q", "train", str(data), "--model", "two-stage", "--out", str(out), *fast, "--w-tip", "2"]) == 0
    bundle = load_model(out)
    assert bundle.train.w_tip == 2.0 and "att" in " ".join(bundle.history[0])  # the attention loss ran
