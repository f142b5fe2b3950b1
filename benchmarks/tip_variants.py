"""TIP sets beyond the standard ones (benchmarks.tip_sets), for the recall the slider promises.

* ``hard calibration``: library threats into calibration hosts, fainter (transmission ** depth,
  depth in [0.5, 1]) - the product's recommended calibration set (README, calibration);
* ``faded calibration``: the hard set with parts of each threat hidden (``bagscan tip --depth 0.5 1
  --fade 0.9``), for threats seen only in part;
* ``unlike evaluation``: evaluation threats into evaluation hosts by another projection method
  (darken compositing: the scan keeps the darker of itself and the threat's own image, instead
  of multiplying transmissions), so calibration is measured against a projection it never saw.

Both are cached under benchmarks/out/ like the standard sets.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from benchmarks.protocol import Split
from engine.config import GridConfig
from engine.data import load_dataset, read_scan
from engine.data.dataset import Dataset
from engine.data.patches import content_mask
from engine.data.types import Box, ScanRecord
from engine.synth.jobs import tip_dataset
from engine.synth.sprites import ThreatSprite
from engine.synth.tip import ThreatLibrary, project
from engine.synth.writer import SixrayWriter

_GRID = GridConfig()


def _done(out: Path) -> bool:
    if (out / "done").is_file():
        return True
    shutil.rmtree(out, ignore_errors=True)
    return False


def hard_calibration(split: Split, root: Path, seed: int = 13, fade: float = 0.0) -> list[ScanRecord]:
    out = root / ("tip_calib_hard" if not fade else f"tip_calib_fade{fade:g}")
    if not _done(out):
        lib = ThreatLibrary.from_dataset(Dataset("threats", split.library_threats), max_per_category=200, seed=seed)
        for _ in tip_dataset(Dataset("hosts", split.calib_hosts), out, lib, per_scan=1, seed=seed,
                             depth=(0.5, 1.0), fade=fade):
            pass
        (out / "done").write_text("ok\n")
    return load_dataset(out).threats


def darken(host: np.ndarray, sprite: ThreatSprite, rng: np.random.Generator) -> tuple[np.ndarray, Box]:
    """Place the threat as :func:`project` would, then composite by taking the darker pixel."""
    threat_image, box = project(np.ones_like(host), sprite, rng, content=content_mask(host, _GRID))
    return np.minimum(host, threat_image), box


def unlike_evaluation(split: Split, root: Path, seed: int = 14) -> list[ScanRecord]:
    out = root / "tip_eval_unlike"
    if not _done(out):
        lib = ThreatLibrary.from_dataset(Dataset("threats", split.eval_threats), max_per_category=200, seed=seed)
        with SixrayWriter(out) as writer:
            for i, rec in enumerate(split.eval_hosts):
                rng = np.random.default_rng([seed, i])
                rgb, box = darken(read_scan(rec.path).pixels, lib.sample(rng), rng)
                writer.add(rgb, [box])
        (out / "done").write_text("ok\n")
    return load_dataset(out).threats
