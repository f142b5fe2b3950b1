"""Concurrent use and stale files: bagscan's own session lock, owner-aware cleanup, the umask."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine import fsutil
from engine.locking import SessionLock
from engine.storage import SessionStore
from tests.conftest import fake_bag, write_rgb
from tests.robustness.helpers import bagscan, expect_error, no_traceback

ROOT = Path(__file__).resolve().parents[2]


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_a_second_writer_is_refused_whatever_hdf5_locking_says(model: Path, scans: Path, tmp_path: Path,
                                                               capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HDF5_USE_FILE_LOCKING", "FALSE")
    out = tmp_path / "s.h5"
    assert bagscan(capsys, "batch", scans, "--model", model, "--out", out, "--no-fsync").rc == 0
    with SessionLock(out):  # what another process's batch holds while it runs
        res = bagscan(capsys, "batch", scans, "--model", model, "--out", out)
    line = expect_error(res, 1, out, r"in use by another bagscan process")
    with SessionStore.open(out) as store:
        assert len(store) == 3
    print(f"CASE second batch on a session in use (HDF5_USE_FILE_LOCKING=FALSE): {line}")


@pytest.mark.slow
def test_two_batches_started_together_never_overwrite(model: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    for i in range(12):
        write_rgb(data / f"r{i:02d}.png", fake_bag(256, 320, seed=400 + i))
    out = tmp_path / "race.h5"
    env = {**os.environ, "HDF5_USE_FILE_LOCKING": "FALSE", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "app.cli", "batch", str(data), "--model", str(model), "--out", str(out),
           "--no-fsync"]
    procs = [subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [(p.wait(120), *p.communicate()) for p in procs]
    for rc, _, err in results:
        no_traceback(err)
        assert "FileNotFoundError" not in err
        assert rc == 0 or (rc == 1 and "in use by another bagscan process" in err), err
    assert any(rc == 0 for rc, _, _ in results)
    with SessionStore.open(out) as store:
        rows = [r.sha256 for r in store.iter_results()]
    assert len(rows) == len(set(rows)) == 12  # every scan once: nothing overwritten, nothing lost


def test_cleanup_removes_only_temporaries_whose_owner_is_gone(tmp_path: Path) -> None:
    target = tmp_path / "race.h5"
    host = fsutil.temp_prefix(target).split(".")[-2].rsplit("-", 1)[0]
    live = tmp_path / f".race.h5.{host}-{os.getpid()}.abcd.tmp"  # a running batch's rebuild
    dead = tmp_path / f".race.h5.{host}-{dead_pid()}.efgh.tmp"  # a killed one's
    foreign_new = tmp_path / ".race.h5.otherhost-1.ijkl.tmp"  # another machine's, recent: cannot tell
    legacy_old = tmp_path / ".race.h5.x7y8z9.tmp"  # before owner names, two days old
    for p in (live, dead, foreign_new, legacy_old):
        p.write_bytes(b"x")
    old = time.time() - 2 * 86400
    os.utime(legacy_old, (old, old))
    assert fsutil.sweep_stale(target) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, foreign_new.name])


def test_a_rerun_export_removes_what_a_killed_export_left(session: Path, tmp_path: Path, capsys) -> None:
    host = fsutil.temp_prefix(tmp_path / "r.pdf").split(".")[-2].rsplit("-", 1)[0]
    pid = dead_pid()
    pdf_tmp = tmp_path / f".r.pdf.{host}-{pid}.a1.tmp"
    pdf_tmp.write_bytes(b"%PDF-1.4 half" * 1000)
    crops_tmp = tmp_path / f".crops.{host}-{pid}.b2.tmp"
    crops_tmp.mkdir()
    (crops_tmp / "s0_r1.png").write_bytes(b"png")
    res = bagscan(capsys, "export", session, "--threshold", "0", "--pdf", tmp_path / "r.pdf",
                  "--crops", tmp_path / "crops")
    no_traceback(res.err)
    assert res.rc == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crops", "r.pdf"]


def test_files_follow_the_umask(model: Path, scans: Path, tmp_path: Path, capsys) -> None:
    old = os.umask(0o022)
    try:
        out = tmp_path / "s.h5"
        assert bagscan(capsys, "batch", scans, "--model", model, "--out", out, "--no-fsync").rc == 0
        outs = {"pdf": tmp_path / "r.pdf", "csv": tmp_path / "r.csv", "json": tmp_path / "r.json",
                "coco": tmp_path / "c.json", "voc": tmp_path / "voc"}
        args = [a for k, v in outs.items() for a in (f"--{k}", v)]
        assert bagscan(capsys, "export", out, "--threshold", "0", *args).rc == 0
        files = [out, *(v for k, v in outs.items() if k != "voc"), *(outs["voc"] / "Annotations").iterdir()]
        assert {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o644}
        os.umask(0o007)  # a team folder: group-writable, nothing for others
        assert bagscan(capsys, "export", out, "--threshold", "0", "--csv", tmp_path / "g.csv").rc == 0
        assert stat.S_IMODE((tmp_path / "g.csv").stat().st_mode) == 0o660
    finally:
        os.umask(old)
