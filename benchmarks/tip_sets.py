"""TIP scans for the honest scan-level test: library threats into calibration hosts,
evaluation threats into evaluation hosts (cached under benchmarks/out/)."""

from __future__ import annotations

import shutil
from pathlib import Path

from benchmarks.protocol import Split
from engine.data import load_dataset
from engine.data.dataset import Dataset
from engine.data.types import ScanRecord
from engine.synth.jobs import tip_dataset
from engine.synth.tip import ThreatLibrary


def _make(hosts: list[ScanRecord], threats: list[ScanRecord], out: Path, seed: int) -> list[ScanRecord]:
    if not (out / "done").is_file():
        shutil.rmtree(out, ignore_errors=True)
        lib = ThreatLibrary.from_dataset(Dataset("threats", threats), max_per_category=200, seed=seed)
        for _ in tip_dataset(Dataset("hosts", hosts), out, lib, per_scan=1, seed=seed):
            pass
        (out / "done").write_text("ok\n")
    return load_dataset(out).threats


def tip_sets(split: Split, root: Path) -> tuple[list[ScanRecord], list[ScanRecord]]:
    calib = _make(split.calib_hosts, split.library_threats, root / "tip_calib", 11)
    evaluation = _make(split.eval_hosts, split.eval_threats, root / "tip_eval", 12)
    return calib, evaluation
