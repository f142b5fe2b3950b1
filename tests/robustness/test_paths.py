"""Paths and names: bytes that are not UTF-8, relative paths, folders that look like images,
links and folders that cannot be read, unreadable files, the smallest valid PNG."""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import pytest

from engine.data import dataset, folders, io
from engine.storage import SessionStore
from tests.conftest import fake_bag, write_rgb
from tests.robustness.helpers import bagscan, no_traceback


def png_1x1() -> bytes:
    """A valid 1 x 1 RGB PNG, 69 bytes, built from the PNG spec (signature, IHDR, IDAT, IEND)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    ihdr = (1).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00\x80\x40\x20")) + \
        chunk(b"IEND", b"")


def test_a_valid_1x1_png_is_accepted(tmp_path: Path) -> None:
    data = png_1x1()
    assert len(data) == 69
    p = tmp_path / "tiny.png"
    p.write_bytes(data)
    assert io.probe_scan(p) == (1, 1)
    s = io.read_scan(p)
    assert s.pixels.shape == (1, 1, 3) and s.pixels[0, 0].tolist() == pytest.approx([128 / 255, 64 / 255, 32 / 255])


def test_a_non_utf8_file_name_is_scored_and_stored(model: Path, tmp_path: Path, capsys) -> None:
    d = tmp_path / "data"
    write_rgb(d / "good.png", fake_bag(256, 320, seed=1))
    bad_name = os.fsdecode(b"badbytes\xff\xfe.jpg")
    (d / bad_name).write_bytes(write_rgb(tmp_path / "x.jpg", fake_bag(256, 320, seed=2)).read_bytes())
    out = tmp_path / "s.h5"
    res = bagscan(capsys, "batch", d, "--model", model, "--out", out)
    no_traceback(res.err)
    assert res.rc == 0 and res.out.startswith("2 scored, 0 failed")
    with SessionStore.open(out) as store:
        paths = sorted(r.path for r in store.iter_results())
    assert paths == sorted([str(d / "good.png"), str(d / bad_name)]) and Path(paths[0]).is_file()


def test_relative_paths_are_stored_absolute(model: Path, tmp_path: Path, capsys,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"
    for i in range(2):
        write_rgb(work / "scans12" / f"s{i:03d}.png", fake_bag(256, 320, seed=10 + i))
    monkeypatch.chdir(work)
    assert bagscan(capsys, "batch", "scans12", "--model", model, "--out", "s.h5", "--no-fsync").rc == 0
    monkeypatch.chdir(tmp_path)  # export from another working directory
    with SessionStore.open(work / "s.h5") as store:
        assert sorted(r.path for r in store.iter_results()) == [str(work / "scans12" / f"s{i:03d}.png")
                                                                  for i in range(2)]
    res = bagscan(capsys, "export", work / "s.h5", "--threshold=-1e9", "--crops", tmp_path / "c")
    assert res.rc == 0 and len(list((tmp_path / "c").glob("*.png"))) >= 2  # the images were found


def test_a_folder_named_like_an_image_is_one_error_entry(model: Path, scans: Path, tmp_path: Path,
                                                         capsys) -> None:
    odd = tmp_path / "x.jpg"
    odd.mkdir()
    res = bagscan(capsys, "scan", "--model", model, odd, scans / "s0.png")
    no_traceback(res.err)
    lines = res.out.splitlines()
    assert res.rc == 0 and any(ln.startswith("s0 ") and "score" in ln for ln in lines)
    bad = [ln for ln in lines if "ERROR" in ln]
    assert len(bad) == 1 and str(odd) in bad[0] and "no scans found" in bad[0]
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "y.jpg").mkdir()  # inside a plain folder: listed, not skipped
    res = bagscan(capsys, "info", tmp_path / "flat")
    assert f"    {tmp_path / 'flat' / 'y.jpg'}: a folder, not an image file" in res.out.splitlines()
    print(f"CASE scan of a folder named x.jpg: {bad[0]}")


def test_links_and_unreadable_subfolders_are_listed(tmp_path: Path, capsys,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    d = tmp_path / "data"
    write_rgb(d / "normal" / "n0.png", fake_bag(256, 320, seed=1))
    (d / "normal" / "gone.jpg").symlink_to(tmp_path / "missing.jpg")
    (d / "normal" / "a.jpg").symlink_to(d / "normal" / "b.jpg")
    (d / "normal" / "b.jpg").symlink_to(d / "normal" / "a.jpg")
    (d / "normal" / "loop").symlink_to(d / "normal")
    locked = d / "normal" / "locked"
    locked.mkdir()
    real_scandir = os.scandir

    def scandir(path):  # root reads any folder: stand in for the kernel's answer to another user
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(folders.os, "scandir", scandir)
    res = bagscan(capsys, "info", d)
    no_traceback(res.err)
    listed = {ln.strip().rsplit(": ", 1)[0]: ln.strip().split(": ", 1)[1] for ln in res.out.splitlines()
              if ln.startswith("    ")}
    assert listed == {
        str(d / "normal" / "gone.jpg"): f"dangling symbolic link (to {tmp_path / 'missing.jpg'}, which does not "
                                        "exist)",
        str(d / "normal" / "a.jpg"): "symbolic link loop",
        str(d / "normal" / "b.jpg"): "symbolic link loop",
        str(d / "normal" / "loop"): "symbolic link loop (folder already listed)",
        str(locked): "permission denied (the folder is not readable)",
    }
    assert "  scans        1" in res.out
    for k, v in listed.items():
        print(f"CASE info, silently skipped before: {k}: {v}")


def test_an_unreadable_data_folder(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    d3 = tmp_path / "d3"
    write_rgb(d3 / "JPEGImage" / "P00001.jpg", fake_bag(256, 320, seed=1))
    (d3 / "Annotation").mkdir()
    real_scandir = os.scandir
    monkeypatch.setattr(folders.os, "scandir", lambda p: (_ for _ in ()).throw(PermissionError(13, "denied"))
                        if Path(p) == d3 / "JPEGImage" else real_scandir(p))
    for argv in (("info", d3), ("scan", d3)):
        res = bagscan(capsys, *argv)
        no_traceback(res.err)
        text = res.out + res.err
        assert f"{d3 / 'JPEGImage'}" in text and "permission denied (the folder is not readable)" in text, text
    print(f"CASE info/scan of an unreadable data folder: {d3 / 'JPEGImage'}: permission denied (the folder is "
          "not readable)")


def test_an_unreadable_file_says_permission_denied(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    p = write_rgb(tmp_path / "d" / "s.png", fake_bag(64, 64, seed=1))
    real_open = open

    def deny(file, *a, **k):
        if Path(file) == p:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *a, **k)

    monkeypatch.setattr(io, "open", deny, raising=False)  # io's own name for open: only scan reads see it
    ds = dataset.load_dataset(p.parent)
    assert [(b.path, b.reason) for b in ds.bad_files] == [(str(p), "permission denied (the file is not readable)")]
    res = bagscan(capsys, "info", p.parent)
    assert f"    {p}: permission denied (the file is not readable)" in res.out.splitlines()
    print(f"CASE info of an unreadable file: {p}: permission denied (the file is not readable)")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files without read permission")
def test_an_unreadable_file_for_a_user(tmp_path: Path) -> None:
    p = write_rgb(tmp_path / "d" / "s.png", fake_bag(64, 64, seed=1))
    p.chmod(0)
    assert dataset.load_dataset(p.parent).bad_files[0].reason == "permission denied (the file is not readable)"
