"""Synthetic scans: physics and colour convention, threats and boxes, SIXray layout, determinism."""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np
import pytest

from app.commands import synth as synth_cmd
from engine.data import load_dataset
from engine.data.sixray import parse_imageset_csv
from engine.data.types import CATEGORIES
from engine.errors import Cancelled, ConfigError, DatasetError
from engine.events import CancelToken, Progress
from engine.synth import compose_scene, draw_threat, generate, parse_size, render_bag
from engine.synth.render import INO, MET, ORG, attenuation, pseudo_colour, thickness_to_rgb

SIZE = (320, 256)


def _slab(material: int, mm: float) -> np.ndarray:
    t = np.zeros((1, 1, 3), np.float32)
    t[0, 0, material] = mm
    return t


def _rgb(material: int, mm: float) -> np.ndarray:
    return thickness_to_rgb(_slab(material, mm))[0, 0]


def test_beer_lambert_overlaps_multiply_at_both_energies() -> None:
    a, b = _slab(ORG, 30.0), _slab(MET, 2.0)
    lo_a, hi_a = attenuation(a)
    lo_b, hi_b = attenuation(b)
    lo_ab, hi_ab = attenuation(a + b)
    np.testing.assert_allclose(np.exp(-lo_ab), np.exp(-lo_a) * np.exp(-lo_b), rtol=1e-5)
    np.testing.assert_allclose(np.exp(-hi_ab), np.exp(-hi_a) * np.exp(-hi_b), rtol=1e-5)
    assert float(lo_b[0, 0] / hi_b[0, 0]) > float(lo_a[0, 0] / hi_a[0, 0])  # metal: higher low/high ratio


def test_pseudo_colour_follows_scanner_convention() -> None:
    assert np.allclose(_rgb(ORG, 0.0), 1.0)  # empty belt is white
    r, g, b = _rgb(ORG, 40.0)
    assert r > g > b and r > 0.7  # organic: orange
    r, g, b = _rgb(INO, 12.0)
    assert g > r and g > b  # inorganic: green
    r, g, b = _rgb(MET, 3.0)
    assert b > r and g > r  # metal: blue
    assert _rgb(MET, 3.0)[2] > _rgb(MET, 3.0)[0] * 2
    r, g, b = thickness_to_rgb(_slab(ORG, 40.0) + _slab(MET, 1.0))[0, 0]
    assert g >= r and g >= b  # organic + metal: mixed, green
    assert _rgb(MET, 15.0).max() < 0.25  # dense: dark
    assert (np.diff([_rgb(ORG, t).mean() for t in (5, 20, 60, 150)]) < 0).all()  # more matter, darker


def test_pseudo_colour_is_white_where_nothing_attenuates() -> None:
    z = np.zeros((4, 4), np.float32)
    assert np.array_equal(pseudo_colour(z, z), np.ones((4, 4, 3), np.float32))


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_threat_model_draws_metal(category: str) -> None:
    rng = np.random.default_rng(1)
    for _ in range(3):
        c = draw_threat(category, rng, ppm=1.0)
        assert (c.t >= 0).all()
        assert c.t[..., MET].max() > 1.0, f"{category} has no steel"
        assert (c.t.sum(axis=2) > 0).mean() > 0.03


def test_unknown_threat_category_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="Bazooka"):
        draw_threat("Bazooka", np.random.default_rng(0), 1.0)


def test_render_bag_shape_range_and_white_surround() -> None:
    rgb, boxes = render_bag(np.random.default_rng(5), SIZE, n_threats=1)
    assert rgb.shape == (256, 320, 3) and rgb.dtype == np.float32
    assert rgb.min() >= 0.0 and rgb.max() <= 1.0
    assert (rgb.mean(axis=2) < 0.7).mean() > 0.1  # there is a bag
    assert len(boxes) == 1 and boxes[0].category in CATEGORIES
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    assert (border.min(axis=1) > 0.97).mean() > 0.5  # mostly white belt around the bag


def test_boxes_enclose_every_threat_pixel() -> None:
    for seed in range(4):
        scene = compose_scene(np.random.default_rng(seed), SIZE, n_threats=2)
        assert len(scene.boxes) >= 1
        lo, hi = attenuation(scene.threat)
        ys, xs = np.nonzero((lo + hi) > 0.01)
        inside = np.zeros(len(ys), bool)
        for b in scene.boxes:
            inside |= (xs >= b.x0) & (xs < b.x1) & (ys >= b.y0) & (ys < b.y1)
            assert 0 <= b.x0 < b.x1 <= SIZE[0] and 0 <= b.y0 < b.y1 <= SIZE[1]
        assert inside.all()


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _run(out: Path, n: int = 4, seed: int = 7, rate: float = 0.5) -> list[Progress]:
    return list(generate(out, n, threat_rate=rate, seed=seed, size=SIZE))


def test_generate_is_byte_identical_for_a_seed(tmp_path: Path) -> None:
    _run(tmp_path / "a")
    _run(tmp_path / "b")
    _run(tmp_path / "c", seed=8)
    a, b, c = _digest(tmp_path / "a"), _digest(tmp_path / "b"), _digest(tmp_path / "c")
    assert a == b
    assert a != c


def test_generate_round_trips_through_the_dataset_layer(tmp_path: Path) -> None:
    events = _run(tmp_path / "out", n=6, rate=0.5)
    assert events[-1] == Progress("synth", 6, 6, events[-1].message) and "scans/s" in events[-1].message
    root = tmp_path / "out"
    names = sorted(p.name for p in (root / "JPEGImage").iterdir())
    assert names[:3] == ["N0000001.jpg", "N0000002.jpg", "N0000003.jpg"]
    assert names[3:] == ["P00001.jpg", "P00002.jpg", "P00003.jpg"]
    header = (root / "ImageSet" / "all.csv").read_text().splitlines()[0]
    assert header == "name,Gun,Knife,Wrench,Pliers,Scissors,Hammer"
    labels = parse_imageset_csv(root / "ImageSet" / "all.csv")
    ds = load_dataset(root)
    s = ds.summary()
    assert s["bad_files"] == []
    assert (s["n_scans"], s["n_threat"], s["n_normal"], s["n_unknown"]) == (6, 3, 3, 0)
    n_boxes, cats = 0, {c: 0 for c in CATEGORIES}
    for rec in ds.records:
        assert set(labels[rec.name].values()) <= {1, -1}
        present = {c for c, v in labels[rec.name].items() if v == 1}
        assert present == {b.category for b in rec.boxes} == set(rec.categories)
        n_boxes += len(rec.boxes)
        for c in present:
            cats[c] += 1
    assert s["n_boxes"] == n_boxes >= 3
    assert s["categories"] == {c: n for c, n in cats.items() if n}


def test_generate_cancels_between_scans(tmp_path: Path) -> None:
    token = CancelToken()
    job = generate(tmp_path / "x", 5, seed=0, size=SIZE, cancel=token)
    next(job)
    token.cancel()
    with pytest.raises(Cancelled):
        next(job)


def test_generate_refuses_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        list(generate(tmp_path / "a", 2, threat_rate=1.5, size=SIZE))
    with pytest.raises(ConfigError):
        list(generate(tmp_path / "b", 2, size=SIZE, categories=["Bazooka"]))
    _run(tmp_path / "c", n=1)
    with pytest.raises(DatasetError, match="JPEGImage"):
        _run(tmp_path / "c", n=1)


def test_parse_size() -> None:
    assert parse_size("1268x1038") == (1268, 1038)
    for bad in ("12x", "axb", "10x10", "100"):
        with pytest.raises(ValueError):
            parse_size(bad)


def _cli(argv: list[str]) -> int:
    """Parse and run ``bagscan -q synth ...`` with only this subcommand (no torch import: fast)."""
    parser = argparse.ArgumentParser(prog="bagscan")
    synth_cmd.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    args.quiet = True
    return int(args.func(args))


def test_cli_synth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    assert (
        _cli(
            [
                "synth",
                str(out),
                "--n",
                "2",
                "--size",
                "320x256",
                "--threat-rate",
                "1",
                "--categories",
                "Knife,Hammer",
            ]
        )
        == 0
    )
    assert "scans/s" in capsys.readouterr().out
    ds = load_dataset(out)
    assert ds.summary()["n_threat"] == 2
    assert set(ds.summary()["categories"]) <= {"Knife", "Hammer"}
    with pytest.raises(SystemExit):
        _cli(["synth", str(tmp_path / "bad"), "--n", "1", "--size", "big"])
