"""``bagscan batch`` without ``--model`` scores with the bundled default model, found by engine.assets.

The default is provided through ``BAGSCAN_ASSETS`` (a tiny model in a tmp assets folder), so the test
checks the lookup the installed app uses without depending on the shipped model's weights.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.cli import main
from engine.modelfile import file_sha256
from engine.storage import SessionStore
from tests.conftest import fake_bag, write_rgb
from tests.integration.test_batch import tiny_model


@pytest.fixture
def assets(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "assets"
    (root / "models").mkdir(parents=True)
    shutil.copy(tiny_model(tmp_path_factory), root / "models" / "default.h5")
    monkeypatch.setenv("BAGSCAN_ASSETS", str(root))
    return root


def test_batch_without_model_uses_the_bundled_default(assets: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    scans = tmp_path / "scans"
    for i in range(2):
        write_rgb(scans / f"bag{i}.png", fake_bag(256, 320, seed=i))
    out = tmp_path / "s.h5"
    assert main(["-q", "batch", str(scans), "--out", str(out), "--device", "cpu", "--no-fsync"]) == 0
    assert "2 scored, 0 failed" in capsys.readouterr().out
    with SessionStore.open(out, "r") as store:
        assert store.meta.model_sha256 == file_sha256(assets / "models" / "default.h5")
        assert len(store) == 2


def test_batch_without_model_and_without_a_default_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BAGSCAN_ASSETS", str(tmp_path / "empty"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit, match="no --model given and no default model is installed"):
        main(["batch", str(tmp_path), "--out", str(tmp_path / "s.h5")])
    assert not (tmp_path / "s.h5").exists()
