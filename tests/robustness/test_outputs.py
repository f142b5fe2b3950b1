"""Unwritable destinations and full disks: checked before the work, one line, no partial file.

Real file systems where the machine allows (a read-only tmpfs, a 3 MB tmpfs filled up: root and
``mount`` needed, as on CI), and a monkeypatched twin of each that runs anywhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine import fsutil
from engine.storage import SessionStore
from tests.conftest import fake_bag, write_rgb
from tests.robustness.conftest import fill
from tests.robustness.helpers import bagscan, expect_error

EXPORTS = {"pdf": "r.pdf", "csv": "r.csv", "json": "r.json", "coco": "r.coco.json", "voc": "voc", "crops": "crops"}


def leftovers(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name != "filler")


def test_batch_into_proc_is_refused_before_work(model: Path, scans: Path, capsys) -> None:
    res = bagscan(capsys, "batch", scans, "--model", model, "--out", "/proc/bagscan.h5")
    line = expect_error(res, 1, "/proc/bagscan.h5", r"cannot write: /proc does not take new files")
    assert "scans:" not in res.err  # refused before the plan
    print(f"CASE batch --out /proc: {line}")


@pytest.mark.parametrize("where", ["s.h5", "new/sub/s.h5"])
def test_batch_onto_a_read_only_file_system(where: str, model: Path, scans: Path, readonly_fs: Path,
                                            capsys) -> None:
    res = bagscan(capsys, "batch", scans, "--model", model, "--out", readonly_fs / where)
    line = expect_error(res, 1, readonly_fs / where, r"cannot write: read-only file system$")
    print(f"CASE batch --out on a read-only file system ({where}): {line}")


@pytest.mark.parametrize("fmt", list(EXPORTS))
def test_export_to_a_read_only_file_system(fmt: str, session: Path, readonly_fs: Path, capsys) -> None:
    target = readonly_fs / EXPORTS[fmt]
    res = bagscan(capsys, "export", session, "--threshold", "0", f"--{fmt}", target)
    line = expect_error(res, 1, target, r"cannot write: read-only file system$")
    print(f"CASE export --{fmt} to a read-only file system: {line}")


def test_scan_json_to_a_read_only_folder_fails_before_scoring(model: Path, scans: Path, readonly_fs: Path,
                                                               capsys) -> None:
    res = bagscan(capsys, "scan", "--model", model, scans, "--json", readonly_fs / "r.json")
    line = expect_error(res, 1, readonly_fs / "r.json", r"cannot write: read-only file system$")
    assert "score" not in res.out  # nothing was scored first
    print(f"CASE scan --json to a read-only folder: {line}")


def test_permission_denied_is_said_so(model: Path, scans: Path, tmp_path: Path, capsys,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Root ignores a folder's mode bits, so the kernel's answer to another user is stood in for."""
    def denied(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(fsutil.tempfile, "mkstemp", denied)
    res = bagscan(capsys, "batch", scans, "--model", model, "--out", tmp_path / "locked" / "s.h5")
    line = expect_error(res, 1, tmp_path / "locked" / "s.h5", r"cannot write: permission denied$")
    assert not (tmp_path / "locked").exists()  # the check made nothing
    print(f"CASE batch --out in a folder without write permission: {line}")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_for_a_user(session: Path, tmp_path: Path, capsys) -> None:
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o555)
    res = bagscan(capsys, "export", session, "--threshold", "0", "--csv", ro / "r.csv")
    expect_error(res, 1, ro / "r.csv", r"cannot write: permission denied$")


def test_full_disk_pdf_leaves_no_file(session: Path, small_fs: Path, capsys) -> None:
    fill(small_fs, 8192)
    res = bagscan(capsys, "export", session, "--threshold", "0", "--pdf", small_fs / "r.pdf")
    line = expect_error(res, 1, small_fs / "r.pdf", r"cannot write: (disk full|the PDF was cut short|Qt could not)")
    assert leftovers(small_fs) == [] and "wrote" not in res.out
    print(f"CASE export --pdf on a full disk: {line}")


def test_pdf_that_qt_could_not_finish_is_not_published(session: Path, tmp_path: Path, capsys,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from app import pdf

    monkeypatch.setattr(pdf._Pages, "end", lambda self: (self.painter.end(), False)[1])
    res = bagscan(capsys, "export", session, "--threshold", "0", "--pdf", tmp_path / "r.pdf")
    expect_error(res, 1, tmp_path / "r.pdf", r"cannot write: Qt could not finish the PDF")
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("fmt", ["csv", "json", "coco", "voc"])
def test_full_disk_tables_and_voc(fmt: str, session: Path, small_fs: Path, capsys) -> None:
    fill(small_fs, 0)
    target = small_fs / EXPORTS[fmt]
    res = bagscan(capsys, "export", session, "--threshold", "0", f"--{fmt}", target)
    line = expect_error(res, 1, target, r"cannot write: disk full \(no space left on device\)$")
    assert leftovers(small_fs) == []
    print(f"CASE export --{fmt} on a full disk: {line}")


def _more_scans(d: Path, n: int = 4) -> Path:
    for i in range(n):
        write_rgb(d / f"m{i}.png", fake_bag(256, 320, seed=300 + i))
    return d


def test_full_disk_batch_keeps_the_stored_session(model: Path, scans: Path, small_fs: Path, tmp_path: Path,
                                                  capsys) -> None:
    out = small_fs / "s.h5"
    assert bagscan(capsys, "batch", scans, "--model", model, "--out", out, "--no-fsync").rc == 0
    fill(small_fs, 20_000)
    more = _more_scans(tmp_path / "more", 40)
    res = bagscan(capsys, "batch", more, "--model", model, "--out", out)
    line = expect_error(res, 1, out, r"disk full: 0\.0\d? MB free, about \d+\.\d MB needed")
    with SessionStore.open(out) as store:
        assert len(store) == 3 and all(r.ok for r in store.iter_results())
    assert leftovers(small_fs) == [".s.h5.lock", "s.h5"]  # the lock file stays (removing it would race)
    print(f"CASE batch on a full disk: {line}")


def test_full_disk_twin_batch(model: Path, scans: Path, tmp_path: Path, capsys,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "s.h5"
    assert bagscan(capsys, "batch", scans, "--model", model, "--out", out, "--no-fsync").rc == 0
    monkeypatch.setattr(fsutil, "free_bytes", lambda folder: 20_000)
    res = bagscan(capsys, "batch", _more_scans(tmp_path / "more", 40), "--model", model, "--out", out)
    expect_error(res, 1, out, r"disk full: 0\.0\d? MB free, .*the 3 scans stored are intact|nothing was changed")
    with SessionStore.open(out) as store:
        assert len(store) == 3
