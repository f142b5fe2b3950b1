"""The engine's own exception hierarchy.

Front-ends catch :class:`EngineError` and show its message: every message names
the file (when there is one) and the reason, so it can go into a dialog as is.
"""

from __future__ import annotations

from pathlib import Path


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""


class FileError(EngineError):
    """An error about one file; ``path`` and ``reason`` are kept for reports."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ScanReadError(FileError):
    """A scan that is missing, empty, truncated, corrupt or not an image."""


class ScanTooLargeError(ScanReadError):
    """A scan whose pixel count exceeds the configured limit."""


class AnnotationError(FileError):
    """A VOC XML or label CSV that cannot be parsed."""


class DatasetError(EngineError):
    """A dataset root that has no usable layout."""


class ModelFileError(FileError):
    """A model file of the wrong format or version, truncated, or inconsistent."""


class SessionFileError(FileError):
    """A batch session file that cannot be opened or resumed."""


class OutputError(FileError):
    """A destination that cannot be written: missing or read-only folder, permission, a full disk."""


class ScoreError(FileError):
    """A scan whose score is not a finite number (a broken model): an error, never a pass."""


class ConfigError(EngineError):
    """An invalid configuration value."""


class UnknownModelError(EngineError):
    """A model name that is not in the registry."""


class CalibrationError(EngineError):
    """Calibration that cannot be computed or does not fit the data."""


class Cancelled(EngineError):
    """A long job stopped because its cancel token was set."""
