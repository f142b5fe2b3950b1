"""Detector v2's dense map in a session: stored per scan, read back, and the regions every export writes.

The maps are built by hand with known blobs, so the boxes each threshold must give are known by
construction (scan pixel = map pixel / scale), not recomputed by the code under test.
"""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import h5py
import numpy as np
import pytest

from app.commands.export import ExportRequest, export_session
from engine.data.io import file_sha256
from engine.dense_map import BACKGROUND, HI, LEVELS, LO, CompactMap, DenseMap, MapDecodeError, PackedMap
from engine.errors import SessionFileError
from engine.reporting.map_regions import trace_regions
from engine.scoring import Scorer
from engine.storage import ScanEntry, SessionMeta, SessionStore
from tests.conftest import fake_bag, write_rgb

W, H = 96, 64  # scan pixels; the map is a quarter of that: 24 x 16
A_BOX, B_BOX = (12, 8, 28, 16), (60, 40, 68, 52)  # blob A: map x 3..7, y 2..4; blob B: map x 15..17, y 10..13
HALF_STEP = (HI - LO) / LEVELS / 2


def blob_map() -> DenseMap:
    z = np.full((16, 24), -1.0, np.float32)
    z[:, 22:] = BACKGROUND  # the belt
    z[2:4, 3:7] = 5.0  # blob A, 8 map pixels
    z[10:13, 15:17] = 2.5  # blob B, 6 map pixels
    return DenseMap(z, 0.25)


def grid_entry(path: str, sha: str) -> ScanEntry:
    """A patch-only (GAN) scan: two flagged touching patches make one region, one more stands alone."""
    boxes = np.array([[0, 0, 32, 32], [32, 0, 64, 32], [0, 32, 32, 64]], np.int32)
    return ScanEntry(path=path, sha256=sha, width=W, height=H, score=4.0, boxes=boxes,
                     scores=np.array([4.0, 2.5, -1.0], np.float32))


@pytest.fixture
def map_session(tmp_path: Path) -> Path:
    """Row 0: a map scan (its image on disk, so the PDF draws it); row 1: a patch-only scan."""
    img = write_rgb(tmp_path / "scans" / "m0.png", fake_bag(H, W, seed=3))
    dmap = blob_map()
    boxes = np.array([[0, 0, 32, 32], [32, 0, 64, 32]], np.int32)
    out = tmp_path / "maps.h5"
    with SessionStore.create(out, SessionMeta("threat-map", "f" * 64), durable=False) as store:
        store.append(ScanEntry(path=str(img), sha256=file_sha256(img), width=W, height=H, score=5.0, boxes=boxes,
                               scores=dmap.box_max(boxes), packed_map=PackedMap.of(dmap)))
        store.append(grid_entry(str(tmp_path / "scans" / "g1.png"), "1" * 64))
    return out


def test_packed_map_round_trips_within_half_a_step_and_refuses_damaged_bytes() -> None:
    dmap = blob_map()
    packed = PackedMap.of(dmap)
    assert packed.shape == (16, 24) and packed.scale == 0.25 and len(packed.blob) < 16 * 24
    back = packed.dense()
    content = dmap.logits > BACKGROUND
    assert (back.logits[~content] == BACKGROUND).all()
    assert np.abs(back.logits[content] - dmap.logits[content]).max() <= HALF_STEP + 1e-6
    np.testing.assert_array_equal(packed.compact().q, CompactMap.from_map(dmap).q)
    with pytest.raises(MapDecodeError, match="inflate"):
        PackedMap(packed.blob[:-3] + b"xyz", (16, 24), 0.25).dense()
    with pytest.raises(MapDecodeError, match="not 15 x 24"):
        PackedMap(packed.blob, (15, 24), 0.25).dense()
    with pytest.raises(MapDecodeError, match="scale 0.0"):
        PackedMap(packed.blob, (16, 24), 0.0).dense()


def test_a_session_with_maps_round_trips_across_rebuilds(tmp_path: Path) -> None:
    dmap = blob_map()
    out = tmp_path / "s.h5"
    with SessionStore.create(out, SessionMeta("threat-map", "f" * 64), durable=False) as store:
        for i in range(40):  # the map table starts at 1 byte: appends grow it by rebuilding, many times
            z = dmap.logits.copy()
            z[z > BACKGROUND] += 0.01 * i
            entry = ScanEntry(path=f"/s/{i}.png", sha256=f"{i:064x}", width=W, height=H, score=5.0 + 0.01 * i,
                              packed_map=PackedMap.of(DenseMap(z, 0.25)) if i % 3 else None)
            store.append(entry)
    with SessionStore.open(out) as store:
        rows = list(store.iter_results(block=7))  # blocks that cut the map table mid-way
        assert [s.packed_map is None for s in rows] == [i % 3 == 0 for i in range(40)]
        for i, s in enumerate(rows):
            if s.packed_map is None:
                assert s.threat_map is None and s.to_result().dense_map() is None
                continue
            m = s.threat_map
            assert m is not None and m.scale == 0.25 and m.logits.shape == (16, 24)
            want = blob_map().logits + np.where(blob_map().logits > BACKGROUND, 0.01 * i, 0)
            content = want > BACKGROUND
            assert np.abs(m.logits[content] - want[content]).max() <= HALF_STEP + 1e-6
            assert (m.logits[~content] == BACKGROUND).all()
            np.testing.assert_array_equal(s.to_result().dense_map().logits, m.logits)  # the window's copy
        assert not any(s.packed_map for s in store.iter_results(patches=False))  # a listing skips them
    with h5py.File(out, "r") as f:
        assert int(f.attrs["format_version"]) == 2 and f["maps/bytes"].dtype == np.uint8


def _csv_boxes(path: Path) -> dict[int, list[tuple[int, ...]]]:
    out: dict[int, list[tuple[int, ...]]] = {}
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            out.setdefault(int(row["scan"]), []).append(tuple(int(row[c]) for c in ("x0", "y0", "x1", "y1")))
    return out


def test_every_export_writes_the_regions_traced_from_the_stored_map_without_rescoring(
        map_session: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_rescoring(*_a: object, **_k: object) -> None:
        raise AssertionError("an export rescored a scan")

    monkeypatch.setattr(Scorer, "score_scan", no_rescoring)
    monkeypatch.setattr(Scorer, "__init__", no_rescoring)
    grid = {2.0: [(0, 0, 64, 32)], 3.0: [(0, 0, 32, 32)]}  # the patch-only scan, merged as before
    want = {2.0: [A_BOX, B_BOX], 3.0: [A_BOX]}  # by construction: B (2.5) drops out at 3
    with SessionStore.open(map_session) as store:
        decoded = next(store.iter_results()).threat_map
    assert decoded is not None
    for t in (2.0, 3.0):
        d = tmp_path / f"t{t}"
        req = ExportRequest(threshold=t, csv=str(d / "r.csv"), json=str(d / "r.json"), coco=str(d / "c.json"),
                            voc=str(d / "voc"), voc_images=False, pdf=str(d / "r.pdf"))
        with SessionStore.open(map_session) as store:
            result = export_session(store, req)
        assert [r.box for r in trace_regions(decoded, t, W, H)] == want[t]  # the window's function agrees
        assert _csv_boxes(d / "r.csv") == {0: want[t], 1: grid[t]}
        rows = json.loads((d / "r.json").read_text())["regions"]
        assert [(r["scan"], (r["x0"], r["y0"], r["x1"], r["y1"])) for r in rows] == \
            [(0, b) for b in want[t]] + [(1, b) for b in grid[t]]
        assert [r["n_patches"] for r in rows if r["scan"] == 0] == [8, 6][: len(want[t])]  # map pixels
        assert rows[0]["max_score"] == pytest.approx(5.0, abs=HALF_STEP)
        coco = json.loads((d / "c.json").read_text())
        assert [tuple(a["bbox"]) for a in coco["annotations"] if a["image_id"] == 1] == \
            [(x0, y0, x1 - x0, y1 - y0) for x0, y0, x1, y1 in want[t]]
        objs = ET.parse(d / "voc" / "Annotations" / "m0.xml").getroot().iter("bndbox")
        assert [tuple(int(b.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")) for b in objs] == \
            [(x0 + 1, y0 + 1, x1, y1) for x0, y0, x1, y1 in want[t]]  # VOC: 1-based, last pixel included
        assert result.summary["n_regions"] == len(want[t]) + len(grid[t])
        assert (d / "r.pdf").read_bytes()[:4] == b"%PDF"


def test_the_pdf_overlay_tints_the_maps_flagged_pixels_not_whole_patches(map_session: Path) -> None:
    from engine.reporting.images import load_rgb, overlay

    with SessionStore.open(map_session) as store:
        s = next(store.iter_results())
    rgb = load_rgb(s)
    assert rgb is not None
    pic = overlay(rgb, s, [], 3.0)
    changed = (pic != rgb).any(axis=2)
    ys, xs = np.nonzero(changed)
    assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == A_BOX  # blob A only, not its 32-px patch


def _as_format_1(path: Path) -> None:
    """What a session written before maps looks like: no /maps, no map columns, format_version 1."""
    with h5py.File(path, "r+") as f:
        del f["maps"]
        for k in [k for k in f["scans"] if k.startswith("map_")]:
            del f["scans"][k]
        f.attrs["format_version"] = 1


def test_a_session_from_before_maps_loads_exports_as_before_and_upgrades_on_append(tmp_path: Path) -> None:
    out = tmp_path / "old.h5"
    with SessionStore.create(out, SessionMeta("dsa", "f" * 64), durable=False) as store:
        store.append(grid_entry("/s/g0.png", "0" * 64))
    _as_format_1(out)
    with SessionStore.open(out) as store:
        (s,) = list(store.iter_results())
        assert s.packed_map is None and s.score == 4.0
    req = ExportRequest(threshold=2.0, csv=str(tmp_path / "r.csv"))
    with SessionStore.open(out) as store:
        export_session(store, req)
    assert _csv_boxes(tmp_path / "r.csv") == {0: [(0, 0, 64, 32)]}
    with SessionStore.open(out, "a") as store:  # appending upgrades it, copy-on-write
        store.append(ScanEntry(path="/s/m1.png", sha256="1" * 64, width=W, height=H, score=5.0,
                               packed_map=PackedMap.of(blob_map())))
    with h5py.File(out, "r") as f:
        assert int(f.attrs["format_version"]) == 2 and int(f["scans/map_bytes"][0]) == 0
    with SessionStore.open(out) as store:
        old, new = store.iter_results()
        assert old.packed_map is None and old.boxes.shape == (3, 4) and new.threat_map is not None
        assert [r.box for r in trace_regions(new.threat_map, 3.0, W, H)] == [A_BOX]


def test_a_damaged_stored_map_fails_the_export_naming_the_session_and_scan(map_session: Path,
                                                                            tmp_path: Path) -> None:
    with h5py.File(map_session, "r+") as f:
        a = int(f["scans/map_start"][0])
        f["maps/bytes"][a : a + 4] = np.frombuffer(b"junk", np.uint8)
    with SessionStore.open(map_session) as store, pytest.raises(SessionFileError) as err:
        export_session(store, ExportRequest(threshold=2.0, csv=str(tmp_path / "r.csv")))
    assert "maps.h5" in str(err.value) and "scan 0 (m0)" in str(err.value) and "threat map" in str(err.value)
    assert not (tmp_path / "r.csv").exists()  # nothing half-written
