import json
from pathlib import Path

import pytest

from app.cli import main
from engine.data import load_dataset
from engine.data.sixray import parse_voc, write_voc
from engine.data.types import Box
from engine.errors import DatasetError
from tests.conftest import fake_bag, sixray_dev, write_rgb


def _sixray(root: Path) -> Path:
    for i, name in enumerate(["P00001", "P00002", "N0000001", "N0000002"]):
        write_rgb(root / "JPEGImage" / f"{name}.jpg", fake_bag(seed=i))
    ann = root / "positive-Annotation"
    write_voc(ann / "P00001.xml", "P00001.jpg", 400, 300, [Box("Gun", 10.5, 20.25, 100.0, 90.75)])
    (ann / "P00002.xml").parent.mkdir(exist_ok=True)
    (ann / "P00002.xml").write_text("<annotation><object><name>KNIFE</name>")  # malformed
    (root / "ImageSet").mkdir()
    (root / "ImageSet" / "dev.csv").write_text(
        "name,Gun,Knife,Wrench,Pliers,Scissors\n"
        "P00001,1,-1,-1,-1,-1\nP00002,-1,1,-1,-1,-1\nN0000001,-1,-1,-1,-1,-1\n"
        "N0000002,0,0,0,0,0\nP09999,1,-1,-1,-1,-1\n"
    )
    return root


def test_sixray_layout_labels_boxes_and_bad_files(tmp_path: Path) -> None:
    ds = load_dataset(_sixray(tmp_path / "six"))
    s = ds.summary()
    assert (s["n_scans"], s["n_threat"], s["n_normal"], s["n_unknown"]) == (4, 2, 1, 1)
    assert s["categories"] == {"Gun": 1, "Knife": 1}
    assert s["n_boxes"] == 1
    bad = {Path(b["path"]).name: b["reason"] for b in s["bad_files"]}
    assert set(bad) == {"P00002.xml", "P09999.jpg"}
    assert "malformed XML" in bad["P00002.xml"] and "no image file" in bad["P09999.jpg"]
    gun = next(r for r in ds.records if r.name == "P00001")
    assert gun.boxes[0] == Box("Gun", 10.5, 20.25, 100.0, 90.75)


def test_alternative_folder_names(tmp_path: Path) -> None:
    root = _sixray(tmp_path / "six")
    (root / "JPEGImage").rename(root / "JPEGImages")
    (root / "positive-Annotation").rename(root / "Annotations")
    assert load_dataset(root).summary()["n_scans"] == 4


def test_voc_roundtrip_case_insensitive(tmp_path: Path) -> None:
    p = tmp_path / "a.xml"
    write_voc(p, "a.jpg", 10, 10, [Box("Pliers", 1.5, 2.5, 3.5, 4.5)])
    text = p.read_text().replace("Pliers", "pLIERS")
    p.write_text(text)
    assert parse_voc(p) == (Box("Pliers", 1.5, 2.5, 3.5, 4.5),)


def test_plain_folder_with_subfolders(tmp_path: Path) -> None:
    write_rgb(tmp_path / "normal" / "a.png", fake_bag(seed=1))
    write_rgb(tmp_path / "threat" / "b.png", fake_bag(seed=2))
    write_voc(tmp_path / "threat" / "b.xml", "b.png", 400, 300, [Box("Hammer", 1, 1, 50, 50)])
    s = load_dataset(tmp_path).summary()
    assert (s["n_normal"], s["n_threat"], s["categories"]) == (1, 1, {"Hammer": 1})


def test_info_mixed_folder_lists_exactly_the_two_bad_files(mixed_folder: Path, capsys) -> None:
    assert main(["info", str(mixed_folder), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"n_scans", "n_threat", "n_normal", "n_unknown", "categories", "n_boxes", "bad_files"}
    assert out["n_scans"] == 3
    assert sorted(Path(b["path"]).name for b in out["bad_files"]) == ["notes.jpg", "truncated.jpg"]


def test_missing_root_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such file"):
        load_dataset(tmp_path / "nope")
    assert main(["info", str(tmp_path / "nope")]) == 1


@pytest.mark.sixray
def test_info_on_sixray_dev(capsys) -> None:
    root = sixray_dev()
    assert main(["info", str(root), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert (s["n_scans"], s["n_normal"], s["n_threat"]) == (1305, 565, 740)
    assert s["categories"] == {"Gun": 377, "Knife": 156, "Wrench": 207}
    assert s["bad_files"] == []


def test_sixray_copy_is_not_in_tree() -> None:
    import re
    import subprocess

    repo = Path(__file__).resolve().parents[2]
    if not (repo / ".git").exists():
        pytest.skip("not a git checkout")
    files = subprocess.run(["git", "ls-files"], cwd=repo, capture_output=True, text=True, check=True).stdout
    tracked = [f for f in files.splitlines() if re.search(r"(^|/)(P\d{5}|N\d{7})\.(jpg|xml)$", f)]
    assert not tracked, "SIXray files must never be copied into the project"


def test_single_file_reads_voc_beside_it(tmp_path: Path) -> None:
    write_rgb(tmp_path / "x.png", fake_bag())
    write_voc(tmp_path / "x.xml", "x.png", 400, 300, [Box("Knife", 5, 5, 50, 50)])
    rec = load_dataset(tmp_path / "x.png").records[0]
    assert rec.label == "threat" and rec.categories == ("Knife",) and len(rec.boxes) == 1
