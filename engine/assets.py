"""Locate bagscan's bundled assets: default model, demo scans and icons.

The assets folder is ``assets/`` beside the ``engine`` package in every layout
bagscan runs from, so one rule covers three of the four cases:

* **source checkout / editable install**: ``<repo>/engine`` → ``<repo>/assets``
* **wheel**: ``pyproject.toml`` ships ``assets/`` as package data, so it is
  installed as ``site-packages/assets`` next to ``site-packages/engine``
* **PyInstaller bundle**: the spec copies ``assets/`` to ``<bundle>/assets``
  (``sys._MEIPASS``; beside the executable in older one-folder layouts)

``BAGSCAN_ASSETS=/some/dir`` overrides all of them. The folder is found by
path, never by ``import assets``: a stray ``assets/`` in the working directory
must not shadow the installed one.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from .errors import DatasetError, ModelFileError

log = logging.getLogger(__name__)

ENV_VAR = "BAGSCAN_ASSETS"
DEFAULT_MODEL = Path("models") / "default.h5"
DEMO = Path("demo")
ICONS = Path("icons")
ICON_SIZES = (48, 256)


def _candidates() -> list[Path]:
    """Places the assets folder may be, best first (the override is handled apart)."""
    found: list[Path] = []
    if getattr(sys, "frozen", False):
        meipass = getattr(sys, "_MEIPASS", None)
        if meipass:
            found.append(Path(meipass) / "assets")
        found.append(Path(sys.executable).resolve().parent / "assets")
    found.append(Path(__file__).resolve().parent.parent / "assets")
    return found


def assets_dir() -> Path:
    """The assets folder: ``$BAGSCAN_ASSETS``, else the frozen bundle's, else the one beside ``engine``.

    When no candidate exists the most likely one is returned anyway, so that the
    errors raised by :func:`default_model` and :func:`demo_dir` name a real place.
    """
    override = os.environ.get(ENV_VAR, "").strip()
    if override:
        path = Path(override).expanduser()
        if not path.is_dir():
            log.warning("%s=%s is not a folder", ENV_VAR, path)
        return path
    candidates = _candidates()
    for path in candidates:
        if path.is_dir():
            return path
    log.debug("no assets folder; looked in %s", ", ".join(map(str, candidates)))
    return candidates[0]


def default_model() -> Path:
    """The bundled default model (``assets/models/default.h5``); :class:`ModelFileError` if absent."""
    path = assets_dir() / DEFAULT_MODEL
    if not path.is_file():
        raise ModelFileError(
            path,
            "the bundled default model is missing; pass a model file with --model "
            f"or point {ENV_VAR} at a folder that has {DEFAULT_MODEL.as_posix()}",
        )
    return path


def demo_dir() -> Path:
    """The demo scans (``assets/demo``, SIXray layout); :class:`DatasetError` if absent."""
    path = assets_dir() / DEMO
    if not path.is_dir():
        raise DatasetError(f"{path}: the demo scans are missing (set {ENV_VAR} to an assets folder that has demo/)")
    return path


def icon_path(size: int = 256) -> Path:
    """The PNG application icon nearest to ``size`` pixels (48 or 256)."""
    nearest = min(ICON_SIZES, key=lambda s: (abs(s - size), -s))
    return assets_dir() / ICONS / f"bagscan-{nearest}.png"


def is_bundled(path: str | Path) -> bool:
    """Whether ``path`` lies inside the assets folder (demo scans, default model).

    Those files are part of the install: read-only in a bundle or a system install, the
    repository in a checkout. Anything bagscan writes about them (audit log, batch sessions)
    belongs in the per-user data dir instead, whatever the filesystem would allow.
    """
    try:
        Path(path).resolve().relative_to(assets_dir().resolve())
    except (ValueError, OSError):
        return False
    return True
