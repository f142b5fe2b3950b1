"""Fixtures of the robustness suite: a tiny model, a few scans, a scored session, small file systems.

Every case runs the real ``bagscan`` entry point (:func:`app.cli.main`) and checks three things
with :func:`tests.robustness.helpers.expect_error`: the exit code, one ``bagscan: error:`` line
naming the file and the reason, and no Python traceback on stderr.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.batch import run_batch
from tests.conftest import fake_bag, write_rgb
from tests.integration.test_batch import tiny_model


@pytest.fixture(scope="session")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model(tmp_path_factory)


@pytest.fixture(scope="session")
def scans(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three good scans in a plain folder."""
    d = tmp_path_factory.mktemp("scans")
    for i in range(3):
        write_rgb(d / f"s{i}.png", fake_bag(256, 320, seed=200 + i))
    return d


@pytest.fixture(scope="session")
def session(model: Path, scans: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("session") / "s.h5"
    list(run_batch(scans, model, out, device="cpu", durable=False))
    return out


def _mount(kind: str, where: Path, opts: str) -> bool:
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    where.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", kind, "-o", opts, kind, str(where)], capture_output=True)
    return r.returncode == 0


@contextlib.contextmanager
def _mounted(tmp_path: Path, opts: str) -> Iterator[Path]:
    where = tmp_path / f"fs-{uuid.uuid4().hex[:6]}"
    if not _mount("tmpfs", where, opts):
        pytest.skip("cannot mount a tmpfs here (needs root and mount): the monkeypatched twin covers it")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A real 3 MB tmpfs (root only; skipped elsewhere): fill it to get ENOSPC from the kernel."""
    with _mounted(tmp_path, "size=3m") as where:
        yield where


@pytest.fixture
def readonly_fs(tmp_path: Path) -> Iterator[Path]:
    """A real read-only tmpfs (EROFS even for root)."""
    with _mounted(tmp_path, "size=1m,ro") as where:
        yield where


def fill(fs: Path, leave: int) -> None:
    """Fill a file system until about ``leave`` bytes are free."""
    free = shutil.disk_usage(fs).free
    with open(fs / "filler", "wb") as fh:
        with contextlib.suppress(OSError):
            fh.write(b"\0" * max(0, free - leave))
