"""Exports other tools must open: VOC read by a strict reader written from the VOC devkit's rules,
COCO read by one written from the COCO format's definition, and PDF text inside the margins."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from engine.reporting.regions import merge_regions
from engine.storage import SessionStore
from tests.robustness.helpers import bagscan, no_traceback
from tests.robustness.paint_load import flagged_pages, summary


def expected(session: Path, t: float) -> dict[str, tuple[int, int, list[tuple[int, int, int, int]]]]:
    """Per flagged scan: width, height and its regions' 0-based half-open boxes, from the stored scores."""
    with SessionStore.open(session) as store:
        return {r.name: (r.width, r.height, [g.box for g in merge_regions(r.boxes, r.scores, t)])
                for r in store.iter_results() if r.ok and r.score >= t}


def _int(el: ET.Element, path: str) -> int:
    text = el.findtext(path)
    assert text is not None and re.fullmatch(r"\d+", text.strip()), f"{path}: {text!r} is not a whole number"
    return int(text)


def read_voc_strict(folder: Path) -> dict[str, tuple[int, int, list[tuple[str, int, int, int, int]]]]:
    """The VOC devkit's rules: one XML per image listed in ImageSets/Main; <folder>/<filename> is the image;
    sizes and boxes are whole pixels counted from 1 with the last one included (1 <= xmin <= xmax <= width);
    every object has a name, pose, truncated and difficult (0 or 1)."""
    listed = (folder / "ImageSets" / "Main" / "default.txt").read_text().split()
    out = {}
    for stem in listed:
        root = ET.parse(folder / "Annotations" / f"{stem}.xml").getroot()
        assert root.tag == "annotation"
        image = folder / (root.findtext("folder") or "") / (root.findtext("filename") or "")
        assert image.is_file(), f"{image} (folder/filename) does not exist"
        w, h, depth = _int(root, "size/width"), _int(root, "size/height"), _int(root, "size/depth")
        assert w > 0 and h > 0 and depth in (1, 3)
        objs = []
        for obj in root.iter("object"):
            name = (obj.findtext("name") or "").strip()
            assert name and obj.findtext("pose") and _int(obj, "truncated") in (0, 1)
            assert _int(obj, "difficult") in (0, 1)
            x0, y0, x1, y1 = (_int(obj, f"bndbox/{k}") for k in ("xmin", "ymin", "xmax", "ymax"))
            assert 1 <= x0 <= x1 <= w and 1 <= y0 <= y1 <= h, (x0, y0, x1, y1, w, h)
            objs.append((name, x0, y0, x1, y1))
        out[stem] = (w, h, objs)
    return out


def read_coco_strict(path: Path) -> dict:
    """COCO detection format: images, annotations and categories, ids unique, references resolved,
    bbox [x, y, width, height] inside the image, area = width * height, iscrowd 0 or 1."""
    data = json.loads(path.read_text())
    assert {"images", "annotations", "categories"} <= set(data)
    images = {im["id"]: im for im in data["images"]}
    cats = {c["id"]: c["name"] for c in data["categories"]}
    assert len(images) == len(data["images"]) and len(cats) == len(data["categories"])
    for im in data["images"]:
        assert isinstance(im["id"], int) and isinstance(im["file_name"], str)
        assert isinstance(im["width"], int) and isinstance(im["height"], int) and im["width"] > 0
    ids = set()
    for a in data["annotations"]:
        assert isinstance(a["id"], int) and a["id"] not in ids
        ids.add(a["id"])
        im = images[a["image_id"]]
        assert a["category_id"] in cats and a["iscrowd"] in (0, 1)
        x, y, w, h = a["bbox"]
        assert w > 0 and h > 0 and x >= 0 and y >= 0 and x + w <= im["width"] and y + h <= im["height"]
        assert a["area"] == pytest.approx(w * h)
    return data


def test_voc_export_reads_back_under_the_devkit_rules(session: Path, tmp_path: Path, capsys) -> None:
    res = bagscan(capsys, "export", session, "--threshold", "0", "--voc", tmp_path / "voc")
    no_traceback(res.err)
    assert res.rc == 0
    want = expected(session, 0.0)
    got = read_voc_strict(tmp_path / "voc")
    assert set(got) == set(want) and want
    for stem, (w, h, regions) in want.items():
        assert got[stem] == (w, h, [("Anomaly", x0 + 1, y0 + 1, x1, y1) for x0, y0, x1, y1 in regions])
    assert {ET.parse(p).getroot().findtext("folder") for p in (tmp_path / "voc" / "Annotations").iterdir()} == \
        {"JPEGImages"}


def test_voc_and_coco_class_names_can_follow_the_ground_truth(model: Path, tmp_path: Path, capsys) -> None:
    from engine.batch import run_batch
    from tests.integration.test_batch import make_scans

    data = make_scans(tmp_path / "data", n_normal=1, n_threat=2)
    out = tmp_path / "s.h5"
    list(run_batch(data, model, out, device="cpu", durable=False))
    args = ("export", out, "--threshold=-1e9", "--class-name", "truth", "--voc", tmp_path / "voc",
            "--coco", tmp_path / "c.json")
    assert bagscan(capsys, *args).rc == 0
    names = {o[0] for _, _, objs in read_voc_strict(tmp_path / "voc").values() for o in objs}
    assert names == {"Anomaly", "Gun", "Knife"}  # regions over a boxed threat take its category
    coco = read_coco_strict(tmp_path / "c.json")
    assert {c["name"] for c in coco["categories"]} == names


def test_coco_export_reads_back_under_the_format_rules(session: Path, tmp_path: Path, capsys) -> None:
    res = bagscan(capsys, "export", session, "--threshold", "0", "--coco", tmp_path / "r.json")
    no_traceback(res.err)
    assert res.rc == 0
    data = read_coco_strict(tmp_path / "r.json")
    want = expected(session, 0.0)
    by_image = {im["id"]: Path(im["file_name"]) for im in data["images"]}
    assert sorted(p.stem for p in by_image.values()) == sorted(want) and all(p.is_file() for p in by_image.values())
    got: dict[str, list] = {}
    for a in data["annotations"]:
        got.setdefault(by_image[a["image_id"]].stem, []).append(a["bbox"])
    for stem, (_, _, regions) in want.items():
        assert got[stem] == [[x0, y0, x1 - x0, y1 - y0] for x0, y0, x1, y1 in regions]
    assert [c["name"] for c in data["categories"]] == ["Anomaly"]


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="pdftotext (poppler-utils) is not installed")
def test_pdf_text_stays_within_the_margins(tmp_path: Path) -> None:
    from app.pdf import write_pdf

    s = summary(3)
    words = [f"word{i:03d}" for i in range(60)]
    s["calibration"] = "threat calibration on 30 scans; " + " ".join(words) + " estimated FAR 0.667 on 30 normals"
    pages = flagged_pages(tmp_path / ("very-long-folder-name-" * 8), 2)
    write_pdf(tmp_path / "r.pdf", s, pages)
    html = subprocess.run(["pdftotext", "-bbox", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    margin = 12 / 25.4 * 72  # 12 mm in points
    pages_seen = 0
    for page in re.finditer(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', html, re.S):
        pages_seen += 1
        width, height = float(page.group(1)), float(page.group(2))
        for m in re.finditer(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<',
                             page.group(3)):
            x0, y0, x1, y1 = (float(v) for v in m.groups()[:4])
            assert margin - 1 <= x0 and x1 <= width - margin + 1, (m.group(5), x0, x1, width)
            assert margin - 1 <= y0 and y1 <= height - margin + 1, (m.group(5), y0, y1, height)
    assert pages_seen == 3
    text = subprocess.run(["pdftotext", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "normals" in text and all(w in text for w in words)  # wrapped, not clipped
