"""engine.assets: the assets folder from a checkout, an override, a frozen bundle; clear errors when absent."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from engine import assets
from engine.errors import DatasetError, EngineError, ModelFileError

REPO_ASSETS = Path(__file__).resolve().parents[2] / "assets"


@pytest.fixture(autouse=True)
def _no_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(assets.ENV_VAR, raising=False)


def make_assets(root: Path) -> Path:
    """A minimal assets folder: a model file, a demo folder, one icon."""
    (root / "models").mkdir(parents=True)
    (root / "models" / "default.h5").write_bytes(b"not really hdf5")
    (root / "demo" / "JPEGImage").mkdir(parents=True)
    (root / "icons").mkdir()
    (root / "icons" / "bagscan-256.png").write_bytes(b"png")
    return root


def test_source_checkout_finds_repo_assets() -> None:
    assert assets.assets_dir() == REPO_ASSETS
    assert assets.icon_path().is_file() and assets.icon_path(48).is_file()
    assert (REPO_ASSETS / "icons" / "bagscan.svg").is_file()


def test_bundled_default_model_and_demo_ship_in_the_checkout() -> None:
    from engine.data import load_dataset
    from engine.modelfile import load_model

    assert assets.default_model() == REPO_ASSETS / "models" / "default.h5"
    assert load_model(assets.default_model()) is not None
    ds = load_dataset(assets.demo_dir())
    assert len(ds.records) >= 10 and not ds.bad_files


@pytest.mark.parametrize(("asked", "got"), [(16, 48), (48, 48), (64, 48), (152, 256), (256, 256), (1024, 256)])
def test_icon_path_picks_the_nearest_size(asked: int, got: int) -> None:
    assert assets.icon_path(asked).name == f"bagscan-{got}.png"


def test_env_override_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_assets(tmp_path / "mine")
    monkeypatch.setenv(assets.ENV_VAR, str(root))
    assert assets.assets_dir() == root
    assert assets.default_model() == root / "models" / "default.h5"
    assert assets.demo_dir() == root / "demo"
    assert assets.icon_path(256) == root / "icons" / "bagscan-256.png"


def test_blank_env_override_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(assets.ENV_VAR, "  ")
    assert assets.assets_dir() == REPO_ASSETS


def test_frozen_bundle_uses_meipass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = tmp_path / "bundle" / "_internal"
    make_assets(bundle / "assets")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    assert assets.assets_dir() == bundle / "assets"
    assert assets.default_model() == bundle / "assets" / "models" / "default.h5"


def test_frozen_bundle_without_meipass_looks_beside_the_executable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_assets(tmp_path / "dist" / "assets")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.delattr(sys, "_MEIPASS", raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "dist" / "bagscan"))
    assert assets.assets_dir() == tmp_path / "dist" / "assets"


def test_env_override_beats_frozen_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_assets(tmp_path / "bundle" / "assets")
    mine = make_assets(tmp_path / "mine")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path / "bundle"), raising=False)
    monkeypatch.setenv(assets.ENV_VAR, str(mine))
    assert assets.assets_dir() == mine


def test_missing_default_model_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(assets.ENV_VAR, str(tmp_path))
    with pytest.raises(ModelFileError) as info:
        assets.default_model()
    err = info.value
    assert isinstance(err, EngineError)
    assert err.path == str(tmp_path / "models" / "default.h5")
    message = str(err)
    assert "default model is missing" in message
    assert "--model" in message and assets.ENV_VAR in message and "models/default.h5" in message


def test_missing_demo_raises_dataset_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(assets.ENV_VAR, str(tmp_path / "nowhere"))
    with pytest.raises(DatasetError, match="demo scans are missing"):
        assets.demo_dir()
