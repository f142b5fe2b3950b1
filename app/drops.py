"""What a drop on the window opens: a model file, scans or a folder, or a session file.

Models and sessions are both ``.h5``; only opening the file tells them apart, so this
sorting lives here rather than in the window's event handler.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QMimeData

from .controllers.batch_session import is_session_file


@dataclass(frozen=True)
class Drop:
    models: list[str]
    scans: list[str]  # scan files and folders
    sessions: list[str]

    @classmethod
    def of(cls, mime: QMimeData) -> Drop:
        paths = local_paths(mime)
        h5 = [p for p in paths if p.lower().endswith(".h5")]
        sessions = [p for p in h5 if is_session_file(p)]
        return cls([p for p in h5 if p not in sessions], [p for p in paths if p not in h5], sessions)


def local_paths(mime: QMimeData) -> list[str]:
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile()] if mime.hasUrls() else []
