"""The small dialogs the window asks with: which scans, folder, model or session to open, and who screens.

Each starts where the user last was (from :class:`~app.settings.Settings`) and returns
the choice, or nothing when cancelled, so the window only decides what to do with it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog, QWidget

from ..settings import Settings
from .export_dialog import SESSION_FILTER

MODEL_FILTER = "bagscan models (*.h5);;All files (*)"
SCAN_FILTER = "Scans (*.jpg *.jpeg *.png *.bmp *.tif *.tiff);;All files (*)"


def ask_scans(parent: QWidget, settings: Settings) -> list[str]:
    return QFileDialog.getOpenFileNames(parent, "Open scans", settings.last_dir, SCAN_FILTER)[0]


def ask_folder(parent: QWidget, settings: Settings) -> str:
    return QFileDialog.getExistingDirectory(parent, "Open a folder or SIXray root", settings.last_dir)


def ask_model(parent: QWidget, settings: Settings) -> str:
    """Starts beside the last model: models are kept apart from scans."""
    last = settings.model_path
    start = str(Path(last).parent) if last else settings.last_dir
    return QFileDialog.getOpenFileName(parent, "Choose model file", start, MODEL_FILTER)[0]


def ask_session(parent: QWidget, settings: Settings) -> str:
    return QFileDialog.getOpenFileName(parent, "Open session", settings.last_dir, SESSION_FILTER)[0]


def ask_operator(parent: QWidget, settings: Settings) -> str | None:
    """The name for the audit log, remembered as the next default; None when cancelled or blank."""
    name, ok = QInputDialog.getText(parent, "Operator", "Operator name for the audit log:",
                                    text=settings.last_operator)
    if ok and name.strip():
        settings.last_operator = name.strip()
        return name.strip()
    return None
