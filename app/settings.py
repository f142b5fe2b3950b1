"""Typed, persistent window settings on top of QSettings.

QSettings returns strings from INI files and platform-specific types from the
registry, so every read passes ``type=`` and a default: a settings file edited
by hand, or written by an older version, can never crash the window.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths

from engine.errors import ConfigError
from engine.tip_training import SYNTHETIC, TipConfig

log = logging.getLogger(__name__)

T = TypeVar("T")

ORG, APP = "bagscan", "bagscan"


def _clamp(x: float, lo: float, hi: float) -> float:
    return min(max(x, lo), hi)


class Settings:
    """One place for every persisted key; tests pass their own ``QSettings`` (an INI in tmp)."""

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.q = qsettings if qsettings is not None else QSettings(ORG, APP)

    def _get(self, key: str, default: T, typ: type) -> T:
        try:
            value = self.q.value(key, default, type=typ)
        except (TypeError, ValueError) as exc:  # unconvertible value in the file
            log.warning("settings: ignoring bad value for %s (%s)", key, exc)
            return default
        return default if value is None else value

    def _set(self, key: str, value: Any) -> None:
        self.q.setValue(key, value)

    # -- model and files ---------------------------------------------------------------------
    @property
    def model_path(self) -> str:
        return str(self._get("model/path", "", str))

    @model_path.setter
    def model_path(self, value: str) -> None:
        self._set("model/path", value)

    @property
    def last_dir(self) -> str:
        return str(self._get("files/last_dir", str(Path.home()), str))

    @last_dir.setter
    def last_dir(self, value: str) -> None:
        self._set("files/last_dir", value)

    # -- operating point ---------------------------------------------------------------------
    @property
    def target_recall(self) -> float:
        return _clamp(float(self._get("threshold/target_recall", 0.95, float)), 0.0, 1.0)

    @target_recall.setter
    def target_recall(self, value: float) -> None:
        self._set("threshold/target_recall", float(value))

    @property
    def target_far(self) -> float:
        return _clamp(float(self._get("threshold/target_far", 0.05, float)), 0.0, 1.0)

    @target_far.setter
    def target_far(self, value: float) -> None:
        self._set("threshold/target_far", float(value))

    # -- display -----------------------------------------------------------------------------
    @property
    def overlay_opacity(self) -> float:
        return _clamp(float(self._get("view/overlay_opacity", 0.55, float)), 0.0, 1.0)

    @overlay_opacity.setter
    def overlay_opacity(self, value: float) -> None:
        self._set("view/overlay_opacity", float(value))

    @property
    def auto_advance(self) -> bool:
        return bool(self._get("workflow/auto_advance", True, bool))

    @auto_advance.setter
    def auto_advance(self, value: bool) -> None:
        self._set("workflow/auto_advance", bool(value))

    @property
    def last_operator(self) -> str:
        return str(self._get("workflow/last_operator", "", str))

    @last_operator.setter
    def last_operator(self, value: str) -> None:
        self._set("workflow/last_operator", value)

    # -- TIP training (the supervisor's; the dialog asks for the passphrase first) -------------
    def tip_config(self) -> TipConfig:
        """The stored TIP settings; anything unusable in the file means TIP off, with a warning."""
        cats = [c for c in str(self._get("tip/categories", "", str)).split(",") if c.strip()]
        try:
            return TipConfig(enabled=bool(self._get("tip/enabled", False, bool)),
                             rate=int(self._get("tip/rate", 25, int)),
                             library=str(self._get("tip/library", SYNTHETIC, str)) or SYNTHETIC,
                             **({"categories": tuple(cats)} if cats else {}))
        except ConfigError as exc:
            log.warning("settings: TIP settings unusable (%s); TIP is off", exc)
            return TipConfig()

    def set_tip_config(self, config: TipConfig) -> None:
        self._set("tip/enabled", bool(config.enabled))
        self._set("tip/rate", int(config.rate))
        self._set("tip/library", config.library)
        self._set("tip/categories", ",".join(config.categories))

    @property
    def supervisor_hash(self) -> str:
        """``scrypt$...`` from :func:`app.supervisor.hash_passphrase`; never the passphrase itself."""
        return str(self._get("tip/supervisor_hash", "", str))

    @supervisor_hash.setter
    def supervisor_hash(self, value: str) -> None:
        self._set("tip/supervisor_hash", value)

    # -- window ------------------------------------------------------------------------------
    def geometry(self) -> QByteArray:
        return self._get("window/geometry", QByteArray(), QByteArray)

    def window_state(self) -> QByteArray:
        return self._get("window/state", QByteArray(), QByteArray)

    def save_window(self, geometry: QByteArray, state: QByteArray) -> None:
        self._set("window/geometry", geometry)
        self._set("window/state", state)

    def sync(self) -> None:
        self.q.sync()


def user_data_dir() -> Path:
    """Per-user writable data dir (``~/.local/share/bagscan`` on Linux): the audit log's home when the
    scans' folder is read-only or bundled. Generic location plus our name, so the path does not depend
    on whether the QApplication's names were set before the call."""
    loc = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericDataLocation)
    return (Path(loc) if loc else Path.home() / ".local" / "share") / APP
