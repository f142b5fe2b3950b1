"""Threat image projection: darkens and never paints, lands on the bag, boxes hold the threat, layout."""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.commands import tip as tip_cmd
from engine.config import GridConfig
from engine.data import load_dataset, read_scan
from engine.data.patches import content_mask
from engine.data.types import CATEGORIES, Box
from engine.errors import ConfigError
from engine.synth import (
    CutoutError,
    NoContentError,
    ThreatLibrary,
    ThreatSprite,
    draw_threat,
    generate,
    project,
    render_bag,
    tip_dataset,
)
from engine.synth.render import decode_jpeg, encode_jpeg
from tests.conftest import sixray_dev

SIZE = (320, 256)


@pytest.fixture(scope="module")
def library() -> ThreatLibrary:
    return ThreatLibrary.synthetic(np.random.default_rng(0), per_category=2, ppm=0.6)


@pytest.fixture(scope="module")
def host() -> np.ndarray:
    return render_bag(np.random.default_rng(3), SIZE)[0]


def _changed(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.nonzero((a != b).any(axis=2))


def test_projection_only_darkens_and_box_holds_every_changed_pixel(
    library: ThreatLibrary, host: np.ndarray
) -> None:
    rng = np.random.default_rng(1)
    before = host.copy()
    for _ in range(40):
        out, box = project(host, library.sample(rng), rng)
        assert out.shape == host.shape and out.dtype == np.float32
        assert (out <= host).all(), "projection brightened a pixel"
        ys, xs = _changed(out, host)
        assert len(ys) > 0
        assert xs.min() >= box.x0 and xs.max() < box.x1 and ys.min() >= box.y0 and ys.max() < box.y1
        # Tight: every edge of the box touches a darkened pixel (within the one-pixel bilinear fringe).
        assert xs.min() - box.x0 <= 1 and box.x1 - 1 - xs.max() <= 1
        assert ys.min() - box.y0 <= 1 and box.y1 - 1 - ys.max() <= 1
    assert np.array_equal(host, before), "the host was modified in place"


def test_projection_multiplies_transmission_instead_of_painting(library: ThreatLibrary) -> None:
    """Same threat and pose into two hosts: out / host is the same, so what lies under still shows."""
    orange = np.broadcast_to(np.array([0.9, 0.6, 0.3], np.float32), (200, 240, 3)).copy()
    grey = np.broadcast_to(np.array([0.5, 0.5, 0.5], np.float32), (200, 240, 3)).copy()
    sprite = library.sample(np.random.default_rng(2), "Gun")
    out_o, box_o = project(orange, sprite, np.random.default_rng(5), scale=1.0, angle=30.0, flip=False)
    out_g, box_g = project(grey, sprite, np.random.default_rng(5), scale=1.0, angle=30.0, flip=False)
    assert box_o == box_g
    np.testing.assert_allclose(out_o / orange, out_g / grey, atol=1e-6)
    assert (out_o / orange).min() < 0.5  # the gun does attenuate


def test_projection_lands_on_content_not_on_surround_or_belt(library: ThreatLibrary) -> None:
    grid = GridConfig()
    for belt in (1.0, 0.78):  # white surround, then SIXray's light-grey conveyor
        scan = np.full((300, 400, 3), belt, np.float32)
        scan[110:190, 150:250] = (0.9, 0.65, 0.35)  # a small orange bag
        content = content_mask(scan, grid)
        rng = np.random.default_rng(7)
        for _ in range(20):
            out, box = project(scan, library.sample(rng), rng, scale=0.5, grid=grid)
            cx, cy = int((box.x0 + box.x1) / 2), int((box.y0 + box.y1) / 2)
            ys, xs = _changed(out, scan)
            assert content[ys, xs].mean() > 0.5, "most of the threat must lie on the bag"
            assert abs(cx - 200) < 80 and abs(cy - 150) < 70


def test_projection_errors_and_uint8_hosts(library: ThreatLibrary) -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(NoContentError):
        project(np.ones((64, 64, 3), np.float32), library.sample(rng), rng)
    with pytest.raises(ConfigError):
        project(np.ones((64, 64), np.float32), library.sample(rng), rng)
    u8 = np.full((64, 64, 3), (230, 150, 80), np.uint8)
    out, _ = project(u8, library.sample(rng), rng)
    assert out.dtype == np.float32 and (out <= u8 / 255.0 + 1e-7).all()


def test_projection_is_fast_enough_for_training_patches(library: ThreatLibrary, host: np.ndarray) -> None:
    patch = np.ascontiguousarray(cv2.resize(host, (256, 256)))
    rng = np.random.default_rng(0)
    times = []
    for _ in range(50):
        t0 = time.perf_counter()
        project(patch, library.sample(rng), rng, scale=(0.6, 1.0))
        times.append(time.perf_counter() - t0)
    assert np.median(times) < 0.010  # about 1-2 ms on an idle core; generous for shared CI


def test_library_synthetic_covers_six_categories(library: ThreatLibrary) -> None:
    assert library.categories == CATEGORIES
    assert library.counts() == {c: 2 for c in CATEGORIES}
    rng = np.random.default_rng(0)
    assert library.sample(rng, "knife").category == "Knife"
    sub = library.subset(["Gun", "Hammer"])
    assert sub.categories == ("Gun", "Hammer") and len(sub) == 4
    with pytest.raises(ConfigError, match="Pliers"):
        sub.sample(rng, "Pliers")
    for sp in library:
        assert sp.transmission.max() <= 1.0 and sp.transmission.min() > 0.0
        assert sp.mask.shape == sp.transmission.shape[:2]


def test_cutout_keeps_the_threat_and_drops_its_surround() -> None:
    """A wrench under a box that also holds orange clutter: the cut-out is the wrench only."""
    rng = np.random.default_rng(4)
    scan = np.ones((260, 360, 3), np.float32)
    scan[20:240, 20:340] = (0.92, 0.72, 0.42)  # bag
    scan[150:230, 200:330] *= np.array([0.8, 0.55, 0.25], np.float32)  # orange clutter inside the box
    wrench = ThreatSprite.from_thickness("Wrench", draw_threat("Wrench", rng, 0.9).t)
    shot, box = project(
        scan, wrench, rng, scale=1.0, angle=10.0, flip=False, content=np.ones((260, 360), bool)
    )
    truth = (shot != scan).any(axis=2) & ((scan - shot).max(axis=2) > 0.05)
    shot = decode_jpeg(encode_jpeg(shot, 90))
    loose = Box(
        "Wrench", max(box.x0 - 25, 0), max(box.y0 - 25, 0), min(box.x1 + 25, 360), min(box.y1 + 25, 260)
    )
    sprite = ThreatSprite.from_cutout("wrench", shot, loose, "test")
    assert sprite.category == "Wrench" and sprite.transmission.max() <= 1.0
    area = float((sprite.mask > 0.5).sum())
    assert 0.6 * truth.sum() < area < 1.6 * truth.sum()
    clutter_only = 130 * 80
    assert area < truth.sum() + 0.2 * clutter_only  # the orange clutter was left behind
    assert sprite.transmission[sprite.mask > 0.5].mean() < 0.6  # it attenuates like steel


def test_cutout_of_a_box_without_metal_is_refused() -> None:
    scan = np.full((100, 100, 3), (0.9, 0.7, 0.4), np.float32)
    with pytest.raises(CutoutError):
        ThreatSprite.from_cutout("Gun", scan, Box("Gun", 10, 10, 90, 90), "plain.jpg")


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_tip_job_writes_sixray_layout_with_host_mapping(tmp_path: Path, library: ThreatLibrary) -> None:
    list(generate(tmp_path / "normals", 3, threat_rate=0.0, seed=1, size=SIZE))
    for name in ("a", "b"):
        events = list(tip_dataset(tmp_path / "normals", tmp_path / name, library, per_scan=2, seed=9))
        assert events[-1].done == 3
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    ds = load_dataset(tmp_path / "a")
    s = ds.summary()
    assert (s["n_scans"], s["n_threat"], s["n_normal"], s["n_boxes"]) == (3, 3, 0, 6)
    mapping = json.loads((tmp_path / "a" / "tip.json").read_text())
    assert sorted(mapping) == ["P00001", "P00002", "P00003"]
    hosts = {v["host"] for v in mapping.values()}
    assert hosts == {"N0000001", "N0000002", "N0000003"}
    for rec in ds.records:
        m = mapping[rec.name]
        assert [t["category"] for t in m["threats"]] == [b.category for b in rec.boxes]
        out = read_scan(rec.path).pixels
        src = read_scan(tmp_path / "normals" / "JPEGImage" / f"{m['host']}.jpg").pixels
        diff = (src - out).max(axis=2) > 0.08  # clearly darkened, beyond JPEG noise
        ys, xs = np.nonzero(diff)
        inside = np.zeros(len(ys), bool)
        for b in rec.boxes:
            inside |= (xs >= b.x0 - 2) & (xs < b.x1 + 2) & (ys >= b.y0 - 2) & (ys < b.y1 + 2)
        assert inside.mean() > 0.99


def test_library_from_dataset_cuts_out_generated_threats(tmp_path: Path) -> None:
    list(
        generate(
            tmp_path / "threats", 4, threat_rate=1.0, seed=2, size=(480, 384), categories=["Gun", "Wrench"]
        )
    )
    lib = ThreatLibrary.from_dataset(tmp_path / "threats", max_per_category=3)
    assert set(lib.categories) <= {"Gun", "Wrench"} and len(lib) >= 2
    assert all(sp.source.startswith("P0") for sp in lib)


def test_cli_tip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    list(generate(tmp_path / "normals", 2, threat_rate=0.0, seed=1, size=SIZE))
    parser = argparse.ArgumentParser(prog="bagscan")
    tip_cmd.register(parser.add_subparsers())
    args = parser.parse_args(
        [
            "tip",
            str(tmp_path / "normals"),
            str(tmp_path / "out"),
            "--categories",
            "Knife",
            "Scissors",
            "--max-per-category",
            "2",
            "--seed",
            "3",
        ]
    )
    args.quiet = True
    assert args.func(args) == 0
    assert "scans/s" in capsys.readouterr().out
    s = load_dataset(tmp_path / "out").summary()
    assert s["n_threat"] == 2 and set(s["categories"]) <= {"Knife", "Scissors"}


@pytest.mark.sixray
def test_real_cutouts_project_into_a_real_threat_free_scan() -> None:
    root = sixray_dev()
    lib = ThreatLibrary.from_dataset(root, max_per_category=2)
    assert len(lib) >= 3 and set(lib.categories) <= {"Gun", "Knife", "Wrench"}
    host = read_scan(root / "JPEGImage" / "N0000001.jpg").pixels
    rng = np.random.default_rng(0)
    for sp in lib:
        assert sp.transmission.max() <= 1.0
        out, box = project(host, sp, rng)
        assert (out <= host).all() and box.category == sp.category


def test_depth_below_one_projects_a_fainter_threat_in_the_same_place() -> None:
    from engine.synth.tip import ThreatLibrary, project

    host = np.full((200, 200, 3), 0.5, np.float32)  # dark enough to be bag content everywhere
    sprite = ThreatLibrary.synthetic(np.random.default_rng(3), per_category=1, categories=["Gun"]).sprites[0]
    full, box_full = project(host, sprite, np.random.default_rng(7), angle=0.0, flip=False, scale=0.5)
    faint, box_faint = project(host, sprite, np.random.default_rng(7), angle=0.0, flip=False, scale=0.5, depth=0.5)
    assert box_full == box_faint
    lost_full, lost_faint = host - full, host - faint
    inside = lost_full.max(axis=2) > 0.01
    # T**0.5 >= T: never darker, and strictly lighter where the threat attenuates.
    assert (lost_faint <= lost_full + 1e-6).all()
    assert lost_faint[inside].mean() < 0.8 * lost_full[inside].mean()
