"""Append-only JSON-lines audit log of officer decisions (no Qt here).

Each decision is one line, written with ``O_APPEND`` in a single ``write`` and
``fsync``-ed before returning: a crash or power cut loses no completed decision,
and a half-written line can only be the last one (readers skip it). The log lives
next to the screening session (``<folder>/bagscan-audit.jsonl``) so it travels with
the scans. A read-only folder (an installed bundle, a mounted archive, another user's
scans) or bagscan's own bundled assets (the demo scans) are never written: the log then
goes to the per-user data dir, and a warning says where.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from engine.assets import is_bundled
from engine.fsutil import fsync_dir

log = logging.getLogger(__name__)

AUDIT_NAME = "bagscan-audit.jsonl"
DECISIONS = ("clear", "suspect")


@dataclass(frozen=True)
class Decision:
    """One officer decision, with what the officer saw when making it."""

    decision: str  # "clear" or "suspect" (send to hand search)
    scan: str  # path
    operator: str
    seconds_to_decision: float
    model: str
    model_file: str
    threshold: float | None  # None: no finite threshold (no calibration)
    scan_score: float | None
    flagged: bool | None  # did the model flag the scan at this threshold (None: not scored)
    operating_point: str = ""  # e.g. "recall 0.95" or "FAR 0.02"
    ground_truth: str = ""  # threat / normal / unknown, when the dataset knows
    sha256: str = ""
    session: str = ""  # the session file (HDF5) the decision is also stored in; "" when none
    folder: str = ""  # the scans' folder (where the log goes when it may be written)
    time: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="milliseconds"))
    host: str = field(default_factory=socket.gethostname)

    def __post_init__(self) -> None:
        if self.decision not in DECISIONS:
            raise ValueError(f"decision must be one of {DECISIONS}, not {self.decision!r}")


def _writable_dir(d: Path) -> bool:
    """An existing folder this process may create files in (``os.access`` also sees read-only mounts)."""
    return d.is_dir() and os.access(d, os.W_OK | os.X_OK)


def audit_location(session_dir: str | Path | None, fallback_dir: str | Path) -> tuple[Path, str]:
    """(``<session_dir>/bagscan-audit.jsonl`` when that folder may be written, else the fallback
    directory's; why it is not beside the scans, "" when it is), for the window to show."""
    fb = Path(fallback_dir)
    why = ""
    if session_dir is not None:
        d = Path(session_dir)
        p = d / AUDIT_NAME
        if is_bundled(d):
            why = "the scans are part of the bagscan install"
        elif _writable_dir(d) and (not p.exists() or os.access(p, os.W_OK)):
            return p, ""
        else:
            why = "the scans' folder is not writable"
    fb.mkdir(parents=True, exist_ok=True)
    if why:
        log.warning("%s: %s; the audit log goes to %s", session_dir, why, fb / AUDIT_NAME)
    return fb / AUDIT_NAME, why


def audit_path_for(session_dir: str | Path | None, fallback_dir: str | Path) -> Path:
    """``<session_dir>/bagscan-audit.jsonl`` when that folder may be written, else the fallback directory."""
    return audit_location(session_dir, fallback_dir)[0]


class AuditLog:
    """Appends records to one file; every ``append`` is durable when it returns."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._tail_checked = False

    def append(self, record: Decision | dict[str, Any]) -> dict[str, Any]:
        data = asdict(record) if isinstance(record, Decision) else dict(record)
        line = (json.dumps(data, ensure_ascii=False, allow_nan=False, default=str) + "\n").encode("utf-8")
        new = not self.path.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            if not self._tail_checked:
                # A crash mid-write in an earlier session leaves a torn last line: start ours on a
                # fresh line so only the torn record is lost, never this one.
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    line = b"\n" + line
                self._tail_checked = True
            view = memoryview(line)
            while view:  # a regular file takes it in one write; loop for the pathological case
                n = os.write(fd, view)
                view = view[n:]
            os.fsync(fd)
        finally:
            os.close(fd)
        if new:
            fsync_dir(self.path.parent)  # the new file's directory entry must survive a crash too
        log.info("audit: %s %s by %s", data.get("decision"), data.get("scan"), data.get("operator"))
        return data

    def read(self) -> list[dict[str, Any]]:
        return read_records(self.path)


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """All complete records; a torn last line (crash mid-write) is skipped with a warning."""
    p = Path(path)
    if not p.exists():
        return []
    out = []
    for n, raw in enumerate(p.read_bytes().split(b"\n"), 1):  # bytes: a line torn mid-character is one line
        if not raw.strip():
            continue
        try:
            out.append(json.loads(raw.decode("utf-8")))
        except ValueError:  # UnicodeDecodeError included
            log.warning("%s:%d: skipping an incomplete audit line", p, n)
    return out


def finite_or_none(x: float | None) -> float | None:
    """JSON has no infinity: a scan without content patches scores None."""
    if x is None:
        return None
    x = float(x)
    return x if x == x and abs(x) != float("inf") else None
