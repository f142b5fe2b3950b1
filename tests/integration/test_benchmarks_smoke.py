"""Every benchmark runs end to end at a tiny budget, as ``python -m benchmarks.NAME``, so a refactor cannot
break one unnoticed. The SIXray-dev ones run on a 24-scan synthetic set in SIXray's layout; figures are
not checked (a tiny budget says nothing), only that each run finishes and writes what it promises."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.mixing import GAMMAS
from engine.synth.jobs import generate

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny SIXray-layout set, an output folder, and sixray_dev run once on them (its models feed the rest)."""
    tmp = tmp_path_factory.mktemp("bench")
    root, out = tmp / "sixray", tmp / "out"
    for _ in generate(root, 24, threat_rate=0.5, seed=1, size=(512, 384), max_threats=1):
        pass
    paths = {"root": root, "out": out}
    _run(paths, "sixray_dev", "--root", str(root), "--variants", "dsa,dsa-semi", "--epochs", "1",
         "--patches-per-scan", "2", "--threads", "1")
    return paths


def _run(paths: dict[str, Path], name: str, *args: str) -> str:
    env = {**os.environ, "BAGSCAN_BENCH_OUT": str(paths["out"]), "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-m", f"benchmarks.{name}", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"benchmarks.{name} failed:\n{done.stderr[-3000:]}"
    return done.stdout


def _json(paths: dict[str, Path], name: str) -> dict:
    return json.loads((paths["out"] / name).read_text())


def test_sixray_dev(bench: dict[str, Path]) -> None:
    results = _json(bench, "sixray_dev.json")["results"]
    assert set(results) == {"size-cheat", "metal-rule", "dsa", "dsa-semi"}
    assert results["dsa-semi"]["mix"]["gamma"] in GAMMAS and "mix" not in results["dsa"]  # a threat head's weight
    assert (bench["out"] / "models" / "dsa-semi.h5").is_file()


def test_tip_eval_cli(bench: dict[str, Path]) -> None:
    _run(bench, "tip_eval_cli", "--root", str(bench["root"]), "--models", "dsa-semi")
    assert set(_json(bench, "tip_eval_cli.json")["dsa-semi"]) == {"tip", "real"}


def test_scan_aggregates(bench: dict[str, Path]) -> None:
    model = bench["out"] / "models" / "dsa-semi.h5"
    printed = _run(bench, "scan_aggregates", str(model), "--root", str(bench["root"]), "--threads", "1")
    aucs = _json(bench, "scan_aggregates.json")["image_auc"]
    assert {"max", "top-2 mean", "max threat only"} <= set(aucs) and "image AUC" in printed


def test_batch(bench: dict[str, Path]) -> None:
    model = bench["out"] / "models" / "dsa.h5"
    _run(bench, "batch", "--root", str(bench["root"]), "--model", str(model), "--sizes", "3")
    assert [r["scans"] for r in _json(bench, "batch.json")["runs"]] == [3]


def test_throughput(bench: dict[str, Path]) -> None:
    out = bench["out"] / "throughput.json"
    _run(bench, "throughput", "--sizes", "64", "--models", "dsa", "--variants", "fp32", "--batch", "4",
         "--repeats", "1", "--scan-models", "--threads", "1", "--out", str(out))
    rows = json.loads(out.read_text())["rows"]
    assert [(r["model"], r["input_size"], r["variant"]) for r in rows] == [("dsa", 64, "fp32")]


def test_contact_sheet(bench: dict[str, Path]) -> None:
    sheet = bench["out"] / "sheet.png"
    _run(bench, "contact_sheet", "--sixray", str(bench["root"]), "--out", str(sheet))
    assert sheet.stat().st_size > 10_000


def test_gui_latency(tmp_path: Path) -> None:
    demo = REPO / "assets" / "demo"
    printed = _run({"out": tmp_path}, "gui_latency",
                   "--model", str(REPO / "assets" / "models" / "default.h5"), "--data", str(demo), "--scans", "2",
                   "--threads", "1")
    assert "scoring per scan" in printed and "open -> overlay shown" in printed


def test_detector_v2_and_transfer(bench: dict[str, Path]) -> None:
    printed = _run(bench, "detector_v2", "--root", str(bench["root"]), "--splits", "0", "--seeds", "0",
                   "--variants", "cnn,v2", "--epochs", "1", "--max-batches", "3", "--threads", "1")
    runs = _json(bench, "detector_v2.json")["runs"]
    assert [r["variant"] for r in runs] == ["metal-rule", "cnn", "v2"]
    assert {"held_calib", "held_calib_hard", "median_scan_s"} <= set(runs[-1]) and "TIP unlike" in printed
    model = bench["out"] / "models-v2" / "split0-seed0" / "v2.h5"
    printed = _run(bench, "transfer", "--root", str(bench["root"]), "--models", str(model), "--threads", "1")
    assert [r["model_name"] for r in _json(bench, "transfer.json")] == ["threat-map"] and "TIP AUC" in printed
