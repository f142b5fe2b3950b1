"""`bagscan tip --fade`: calibration threats that show only in part, in the same places as without fade."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

from app.commands import tip as tip_cmd
from engine.data import load_dataset, read_scan
from engine.errors import ConfigError
from engine.synth import ThreatLibrary, generate, tip_dataset


def _tip(normals: Path, out: Path, *extra: str) -> list:
    parser = argparse.ArgumentParser(prog="bagscan")
    tip_cmd.register(parser.add_subparsers())
    args = parser.parse_args(["tip", str(normals), str(out), "--seed", "4", "--quality", "100", *extra])
    args.quiet = True
    assert args.func(args) == 0
    return sorted(load_dataset(out).threats, key=lambda r: r.name)


def test_fade_keeps_boxes_and_only_lightens(tmp_path: Path) -> None:
    list(generate(tmp_path / "normals", 3, threat_rate=0.0, seed=1, size=(320, 256)))
    full = _tip(tmp_path / "normals", tmp_path / "full")
    faded = _tip(tmp_path / "normals", tmp_path / "faded", "--fade", "0.9")
    assert len(full) == len(faded) == 3
    lighter = 0
    for a, b in zip(full, faded, strict=True):
        assert [x.as_list() for x in a.boxes] == [x.as_list() for x in b.boxes]  # fade draws after placement
        pa, pb = read_scan(a.path).pixels, read_scan(b.path).pixels
        # JPEG at quality 100 still rounds: compare darkness inside the box, with a one-level tolerance.
        x0, y0, x1, y1 = (int(v) for v in a.boxes[0].as_list())
        da, db = 1 - pa[y0:y1, x0:x1], 1 - pb[y0:y1, x0:x1]
        assert db.sum() <= da.sum() + 1e-3 * da.size
        lighter += int(db.sum() < 0.98 * da.sum())
    assert lighter >= 1


def test_fade_out_of_range_is_refused_before_any_work(tmp_path: Path) -> None:
    list(generate(tmp_path / "normals", 1, threat_rate=0.0, seed=1, size=(320, 256)))
    lib = ThreatLibrary.synthetic(np.random.default_rng(0), 1)
    with pytest.raises(ConfigError, match="fade"):
        list(tip_dataset(tmp_path / "normals", tmp_path / "out", lib, fade=1.0))
    assert not (tmp_path / "out").exists()
