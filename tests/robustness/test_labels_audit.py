"""Labels (ImageSet CSV rows, VOC boxes) and the audit log's torn last line."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from app.audit import AuditLog, read_records
from engine.data import load_dataset
from engine.data.sixray import parse_imageset_csv, parse_voc
from engine.data.types import BadFile, Box
from engine.errors import AnnotationError


def test_one_bad_csv_row_drops_only_that_row(tmp_path: Path) -> None:
    p = tmp_path / "labels.csv"
    p.write_text("name,gun,knife\nP1,1,-1\nP2,1\nP3,x,1\nP4,nan,1\nN5,-1,-1\nP6,2,0\n")
    bad: list[BadFile] = []
    labels = parse_imageset_csv(p, bad)
    assert labels == {"P1": {"Gun": 1, "Knife": -1}, "N5": {"Gun": -1, "Knife": -1}}
    assert [(b.path, b.reason) for b in bad] == [
        (str(p), "line 3: 2 fields, header has 3: row dropped"),
        (str(p), "line 4: value 'x' is not a number: row dropped"),
        (str(p), "line 5: value 'nan' is not -1, 0 or 1: row dropped"),
        (str(p), "line 7: value '2' is not -1, 0 or 1: row dropped"),
    ]
    for b in bad:
        print(f"CASE ImageSet CSV bad row: {b.path}: {b.reason}")


def test_a_dataset_keeps_the_good_rows_of_a_csv(tmp_path: Path) -> None:
    from tests.conftest import fake_bag, write_rgb

    root = tmp_path / "six"
    for name in ("P1", "N2"):
        write_rgb(root / "JPEGImage" / f"{name}.jpg", fake_bag(64, 64, seed=1))
    (root / "ImageSet").mkdir()
    (root / "ImageSet" / "all.csv").write_text("name,gun\nP1,1\nN2,-1\nP9,oops\n")
    ds = load_dataset(root)
    assert {r.name: r.label for r in ds.records} == {"P1": "threat", "N2": "normal"}
    assert [b.reason for b in ds.bad_files] == ["line 4: value 'oops' is not a number: row dropped"]


def voc(tmp_path: Path, box: str, size: str = "<size><width>100</width><height>80</height></size>") -> Path:
    p = tmp_path / "a.xml"
    xmin, ymin, xmax, ymax = box.split(",")
    p.write_text(f"<annotation>{size}<object><name>gun</name><bndbox><xmin>{xmin}</xmin><ymin>{ymin}</ymin>"
                 f"<xmax>{xmax}</xmax><ymax>{ymax}</ymax></bndbox></object></annotation>")
    return p


@pytest.mark.parametrize(("box", "clipped"), [("-5,10,50,60", (0, 10, 50, 60)), ("10,-3,120,95", (10, 0, 100, 80))])
def test_a_box_outside_the_image_is_clipped_with_a_warning(box: str, clipped: tuple, tmp_path: Path,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    p = voc(tmp_path, box)
    with caplog.at_level(logging.WARNING):
        assert parse_voc(p) == (Box("Gun", *map(float, clipped)),)
    (msg,) = [r.getMessage() for r in caplog.records]
    assert msg.startswith(f"{p}: box ") and "lies partly outside the 100x80 image: clipped to" in msg
    print(f"CASE VOC box outside the image: WARNING {msg}")


def test_a_box_wholly_outside_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(AnnotationError, match=r"a\.xml: outside the image: 200,10,250,60"):
        parse_voc(voc(tmp_path, "200,10,250,60"))


@pytest.mark.parametrize("box", ["10,10,inf,60", "-inf,10,50,60", "10,nan,50,60"])
def test_a_coordinate_that_is_not_finite_says_so(box: str, tmp_path: Path) -> None:
    with pytest.raises(AnnotationError) as err:
        parse_voc(voc(tmp_path, box))
    assert str(err.value).startswith(f"{tmp_path / 'a.xml'}: box coordinate not finite: ")
    print(f"CASE VOC box with {box}: {err.value}")


def test_a_torn_last_audit_line_mid_character_is_skipped(tmp_path: Path,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    p = tmp_path / "bagscan-audit.jsonl"
    log = AuditLog(p)
    log.append({"decision": "clear", "scan": "/s/a.jpg", "operator": "Zoë"})
    torn = (json.dumps({"decision": "suspect", "operator": "Jürgen Müller"}, ensure_ascii=False)).encode()
    cut = torn.index("ü".encode()) + 1  # in the middle of a two-byte character, as a power cut leaves it
    with open(p, "ab") as fh:
        fh.write(torn[:cut])
    with caplog.at_level(logging.WARNING):
        records = read_records(p)
    assert records == [{"decision": "clear", "scan": "/s/a.jpg", "operator": "Zoë"}]
    assert [r.getMessage() for r in caplog.records] == [f"{p}:2: skipping an incomplete audit line"]
    log2 = AuditLog(p)  # the next session starts on a fresh line and loses nothing of its own
    log2.append({"decision": "clear", "scan": "/s/b.jpg", "operator": "Zoë"})
    assert [r["scan"] for r in read_records(p)] == ["/s/a.jpg", "/s/b.jpg"]
