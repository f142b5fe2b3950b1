"""The thresholds issue's honest scan-level protocol, run through the real CLI.

    python -m benchmarks.tip_eval_cli --models dsa-semi skip-ganomaly

For each model trained by ``sixray_dev.py`` (``benchmarks/out/models/NAME.h5``):

1. ``bagscan calibrate`` at target recall 0.9 on the *calibration half*: library
   threats projected (TIP) into the calibration hosts, plus those hosts as the
   threat-free scans (``--tune-mix`` for models with a threat head: its weight is
   chosen there too);
2. ``bagscan eval`` on the *evaluation half*: evaluation threats projected into the
   evaluation hosts, plus those hosts (``--json`` and ``--plots``);
3. ``bagscan eval`` on the real evaluation threat scans plus the evaluation hosts,
   at the same threshold: per-category recall on real threats and the false-alarm
   rate on real threat-free scans. Confounded: SIXray's threat scans are smaller
   single bags on white (the size cheat reaches an image AUC of 0.97 there).

The folders are SIXray-layout views (symlinks) under ``benchmarks/out/cli_sets/``;
no scan is copied into the project. Writes ``benchmarks/out/tip_eval_cli.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

from benchmarks import OUT
from benchmarks.protocol import make_split
from benchmarks.tip_sets import tip_sets
from engine.data.types import CATEGORIES, ScanRecord
from engine.modelfile import load_model

log = logging.getLogger("tip_eval_cli")


def _view(name: str, threats: list[ScanRecord], normals: list[ScanRecord]) -> Path:
    """A SIXray-layout folder of symlinks: threats (with their VOC files) and threat-free scans."""
    root = OUT / "cli_sets" / name
    shutil.rmtree(root, ignore_errors=True)
    (root / "JPEGImage").mkdir(parents=True)
    (root / "positive-Annotation").mkdir()
    (root / "ImageSet").mkdir()
    rows = ["name," + ",".join(CATEGORIES)]
    for r in threats + normals:
        src = Path(r.path)
        (root / "JPEGImage" / src.name).symlink_to(src.resolve())
        if r.is_threat:
            xml = src.parent.parent / "positive-Annotation" / f"{src.stem}.xml"
            (root / "positive-Annotation" / xml.name).symlink_to(xml.resolve())
        rows.append(src.stem + "," + ",".join("1" if c in r.categories else "-1" for c in CATEGORIES))
    (root / "ImageSet" / "all.csv").write_text("\n".join(rows) + "\n")
    return root


def _run(*args: str) -> str:
    """``bagscan ARGS`` from this checkout (python -m app.cli), whichever bagscan is installed."""
    cmd = [sys.executable, "-m", "app.cli", *args]
    log.info("$ %s", " ".join(cmd))
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return done.stdout


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default=str(Path(__file__).resolve().parents[2] / "shared" / "sixray-dev"))
    ap.add_argument("--models", nargs="+", default=["dsa-semi", "skip-ganomaly"])
    ap.add_argument("--target-recall", type=float, default=0.9)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if not Path(args.root, "JPEGImage").is_dir():
        log.error("no SIXray dev set at %s", args.root)
        return 1
    split = make_split(args.root)
    tip_calib, tip_eval = tip_sets(split, OUT)
    calib_dir = _view("tip-calib", tip_calib, split.calib_hosts)
    eval_dir = _view("tip-eval", tip_eval, split.eval_hosts)
    real_dir = _view("real-eval", split.eval_threats, split.eval_hosts)
    out_json = OUT / "tip_eval_cli.json"
    results: dict[str, dict] = json.loads(out_json.read_text()) if out_json.is_file() else {}
    for name in args.models:
        model = OUT / "models" / f"{name}.h5"
        calibrated = OUT / "models" / f"{name}.tipcal.h5"
        plots = OUT / "plots" / name
        # A model with a threat head also gets its head's weight chosen on the calibration half.
        tune = ["--tune-mix"] if load_model(model).scores_threat else []
        print(_run("calibrate", str(calib_dir), "--model", str(model), "--target-recall", str(args.target_recall),
                   "--source", "tip", "--out", str(calibrated), *tune))
        tip_json, real_json = OUT / f"eval-tip-{name}.json", OUT / f"eval-real-{name}.json"
        print(f"## {name}: bagscan eval on the TIP evaluation half")
        print(_run("eval", str(eval_dir), "--model", str(calibrated), "--json", str(tip_json), "--plots", str(plots)))
        print(f"## {name}: bagscan eval on real evaluation threat scans + hosts (confounded by size/background)")
        print(_run("eval", str(real_dir), "--model", str(calibrated), "--json", str(real_json)))
        results[name] = {"tip": json.loads(tip_json.read_text()), "real": json.loads(real_json.read_text())}
        out_json.write_text(json.dumps(results, indent=2))  # models run separately add to one file
    return 0


if __name__ == "__main__":
    sys.exit(main())
