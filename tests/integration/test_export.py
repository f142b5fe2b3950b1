"""bagscan export: CSV/JSON values, VOC that loads back, crops, the PDF's pages, and atomicity."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from engine.batch import run_batch
from engine.data import load_dataset
from engine.data.sixray import parse_voc
from engine.reporting import images
from engine.reporting.regions import merge_regions
from engine.reporting.tables import COLUMNS
from engine.storage import SessionStore
from tests.integration.test_batch import make_scans, tiny_model

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """A scored session with ground truth and an officer decision, and a threshold flagging some patches."""
    model = tiny_model(tmp_path_factory)  # shared with test_batch through the session's base temp dir
    root = tmp_path_factory.mktemp("export")
    data = make_scans(root / "data", n_normal=2, n_threat=2)
    out = root / "s.h5"
    list(run_batch(data, model, out, device="cpu", durable=False))
    with SessionStore.open(out, "a") as store:
        scores = np.concatenate([r.scores for r in store.iter_results() if r.ok])
        threshold = float(np.quantile(scores, 0.8))
        ok = [r for r in store.iter_results() if r.ok]
        flagged = [r for r in ok if r.score >= threshold]
        assert 0 < len(flagged) < len(ok) + 1
        store.set_decision(flagged[0].sha256, "suspect", "alice", threshold, 4.0, "dsa")
    return out, threshold


def expected_regions(out: Path, threshold: float) -> list[tuple]:
    with SessionStore.open(out) as store:
        return [(r.index, k, reg) for r in store.iter_results() if r.ok and r.score >= threshold
                for k, reg in enumerate(merge_regions(r.boxes, r.scores, threshold), start=1)]


def test_csv_and_json_rows(session: tuple[Path, float], tmp_path: Path) -> None:
    out, t = session
    assert main(["export", str(out), "--threshold", str(t), "--csv", str(tmp_path / "r.csv"),
                 "--json", str(tmp_path / "r.json")]) == 0
    with open(tmp_path / "r.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    data = json.loads((tmp_path / "r.json").read_text())
    want = expected_regions(out, t)
    assert len(rows) == len(data["regions"]) == len(want) > 0
    assert tuple(rows[0]) == COLUMNS and data["columns"] == list(COLUMNS)
    for row, obj, (index, k, reg) in zip(rows, data["regions"], want, strict=True):
        assert int(row["scan"]) == obj["scan"] == index and int(row["region"]) == obj["region"] == k
        corners = ("x0", "y0", "x1", "y1")
        assert [int(row[c]) for c in corners] == list(reg.box) == [obj[c] for c in corners]
        assert float(row["max_score"]) == pytest.approx(reg.max_score, abs=1e-5) == obj["max_score"]
        assert float(row["mean_score"]) == pytest.approx(reg.mean_score, abs=1e-5)
        assert int(row["n_patches"]) == reg.n_patches == obj["n_patches"]
        assert len(row["sha256"]) == 64 and Path(row["path"]).is_file()
    suspects = [r for r in data["regions"] if r["decision"] == "suspect"]
    assert suspects and all(r["operator"] == "alice" for r in suspects)
    assert all(r["decision"] is None for r in data["regions"] if r not in suspects)
    threat_rows = [r for r in data["regions"] if r["gt_label"] == "threat" and r["gt_category"]]
    assert all(r["gt_category"] in ("Gun", "Knife") for r in threat_rows)
    assert {r["gt_category"] for r in data["regions"] if r["gt_label"] == "normal"} <= {None}
    s = data["summary"]
    assert s["threshold"] == pytest.approx(t) and s["n_regions"] == len(want) and s["n_failed"] == 2
    assert set(s["per_category"]) <= {"Gun", "Knife"} and s["measured_recall"] is not None


def test_voc_loads_back_through_the_dataset_layer(session: tuple[Path, float], tmp_path: Path) -> None:
    out, t = session
    voc = tmp_path / "voc"
    assert main(["export", str(out), "--threshold", str(t), "--voc", str(voc)]) == 0
    want: dict[int, list] = {}
    for index, _, reg in expected_regions(out, t):
        want.setdefault(index, []).append(reg)
    ds = load_dataset(voc)
    assert ds.layout == "sixray" and not ds.bad_files and len(ds.records) == len(want)
    with SessionStore.open(out) as store:
        by_name = {store.get(i).name: regs for i, regs in want.items()}
    for rec in ds.records:
        assert rec.label == "threat" and rec.categories == ("Anomaly",)
        # VOC counts whole pixels from 1, last pixel included: region [x0, x1) is xmin x0 + 1, xmax x1
        assert [b.as_list() for b in rec.boxes] == [[x0 + 1.0, y0 + 1.0, float(x1), float(y1)]
                                                    for x0, y0, x1, y1 in (r.box for r in by_name[rec.name])]
        xml = voc / "Annotations" / f"{rec.name}.xml"
        assert parse_voc(xml) == rec.boxes
        scores = [float(e.text or "nan") for e in ET.parse(xml).getroot().iter("score")]
        assert scores == pytest.approx([r.max_score for r in by_name[rec.name]], abs=1e-5)
    listed = (voc / "ImageSets" / "Main" / "default.txt").read_text().split()
    assert sorted(listed) == sorted(by_name)


def test_crops_are_the_region_pixels(session: tuple[Path, float], tmp_path: Path) -> None:
    out, t = session
    assert main(["export", str(out), "--threshold", str(t), "--crops", str(tmp_path / "c")]) == 0
    want = expected_regions(out, t)
    crops = sorted((tmp_path / "c").glob("*.png"))
    assert len(crops) == len(want)
    import cv2

    with SessionStore.open(out) as store:
        index, k, reg = want[0]
        img = cv2.imread(str(tmp_path / "c" / f"{store.get(index).name}_r{k}.png"))
    x0, y0, x1, y1 = reg.box
    assert img.shape[:2] == (y1 - y0, x1 - x0)


def _pages(pdf: Path) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf.read_bytes()))


def test_pdf_has_a_summary_page_and_one_page_per_flagged_scan(session: tuple[Path, float],
                                                             tmp_path: Path) -> None:
    out, t = session
    pdf = tmp_path / "r.pdf"
    assert main(["export", str(out), "--threshold", str(t), "--pdf", str(pdf)]) == 0
    n_flagged = len({index for index, _, _ in expected_regions(out, t)})
    assert pdf.read_bytes()[:5] == b"%PDF-" and _pages(pdf) == 1 + n_flagged
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        assert re.search(rf"Pages:\s+{1 + n_flagged}\b", info)
    if not shutil.which("pdftoppm"):
        pytest.skip("pdftoppm (poppler-utils) is not installed: rendering not checked")
    subprocess.run(["pdftoppm", "-r", "30", "-f", "1", "-l", "2", "-png", str(pdf), str(tmp_path / "p")],
                   check=True)
    pngs = sorted(tmp_path.glob("p-*.png"))
    assert len(pngs) == 2 and all(p.stat().st_size > 1000 for p in pngs)


def test_high_threshold_flags_nothing(session: tuple[Path, float], tmp_path: Path) -> None:
    out, _ = session
    pdf, csv_path = tmp_path / "r.pdf", tmp_path / "r.csv"
    assert main(["export", str(out), "--threshold", "1e9", "--pdf", str(pdf), "--csv", str(csv_path)]) == 0
    assert _pages(pdf) == 1 and csv_path.read_text().strip() == ",".join(COLUMNS)


def test_a_failure_leaves_no_half_written_report(session: tuple[Path, float], tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out, t = session
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "keep.txt").write_text("from before")
    calls = {"n": 0}
    real = images.write_png

    def failing(path: Path, rgb: np.ndarray) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        real(path, rgb)

    monkeypatch.setattr(images, "write_png", failing)
    assert main(["export", str(out), "--threshold", str(t), "--crops", str(tmp_path / "c")]) == 1
    assert capsys.readouterr().err.strip().endswith(f"{tmp_path / 'c'}: cannot write: disk full")
    assert [p.name for p in (tmp_path / "c").iterdir()] == ["keep.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["c"]  # no staging folder left behind


def test_only_the_pdf_path_imports_qt(session: tuple[Path, float], tmp_path: Path) -> None:
    out, t = session
    args = (f"session={str(out)!r}, threshold={t!r}, target_recall=None, pdf=None, "
            f"csv={str(tmp_path / 'r.csv')!r}, json=None, voc=None, no_voc_images=False, crops=None, "
            "crop_margin=0, coco=None, class_name='Anomaly'")
    code = ("import argparse, sys\nfrom app.commands import batch, export\n"
            f"export.run(argparse.Namespace({args}))\n"
            "assert not [m for m in sys.modules if m.startswith('PySide6')]\n")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True)


def test_target_recall_needs_threat_calibration(session: tuple[Path, float], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    out, _ = session  # the tiny model is calibrated on normal scans only
    assert main(["export", str(out), "--target-recall", "0.9", "--csv", str(tmp_path / "r.csv")]) == 1
    assert "bagscan calibrate" in capsys.readouterr().err and not (tmp_path / "r.csv").exists()
