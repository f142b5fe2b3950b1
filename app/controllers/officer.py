"""Officer decisions: Clear or Suspect, recorded in the audit log, then on to the next bag.

The operator name is asked once per session through an injectable callable (a
dialog in the window, a lambda in tests). Each decision records the time from
the scan appearing on screen to the key press, the model, the threshold and the
operating point, and is durable on disk before the window moves on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from ..audit import AuditLog, Decision, audit_location, audit_path_for, finite_or_none
from .screening import ScreeningController
from .threshold import ThresholdController

log = logging.getLogger(__name__)

OperatorProvider = Callable[[], str | None]
AnswerHook = Callable[[str], bool]  # True: the key answered something else (a TIP bag), not a decision


class OfficerController(QObject):
    decided = Signal(object)  # the record written (dict)
    audit_failed = Signal(str, str)  # path, reason
    audit_moved = Signal(str)  # where the log goes instead of beside the scans, and why ("" when beside)

    def __init__(self, screening: ScreeningController, threshold: ThresholdController,
                 operator_provider: OperatorProvider, fallback_dir: str | Path,
                 auto_advance: bool = True) -> None:
        super().__init__()
        self.screening = screening
        self.threshold = threshold
        self.operator_provider = operator_provider
        self.fallback_dir = Path(fallback_dir)
        self.auto_advance = auto_advance
        self.operator: str | None = None
        self.session_dir: str | None = None
        self.session_file = ""  # the batch session's HDF5 file, when there is one
        self.audit: AuditLog | None = None
        self._moved = ""  # the audit_moved text last said, so it is said once
        self.model_name = ""
        self.model_file = ""
        self.answer_hook: AnswerHook | None = None

    def set_session(self, session_dir: str | Path | None) -> None:
        """The folder opened; the audit log goes beside it (or to the fallback dir)."""
        self.session_dir = str(session_dir) if session_dir is not None else None
        path, why = audit_location(self.session_dir, self.fallback_dir)
        self.audit = AuditLog(path)
        log.info("audit log: %s", self.audit.path)
        moved = f"Audit log: {path} ({why})" if why else ""
        if moved != self._moved:
            self._moved = moved
            self.audit_moved.emit(moved)

    def set_session_file(self, path: str) -> None:
        """The session file the decisions are stored in too ("" when none); recorded in each decision."""
        self.session_file = str(path)

    def set_model(self, name: str, path: str) -> None:
        self.model_name, self.model_file = name, path

    def ensure_operator(self) -> str | None:
        """Ask once per session; an empty answer means no decision is recorded."""
        if not self.operator:
            name = (self.operator_provider() or "").strip()
            self.operator = name or None
        return self.operator

    def clear(self) -> dict | None:
        return self.decide("clear")

    def suspect(self) -> dict | None:
        return self.decide("suspect")

    def append_record(self, rec: Decision | dict) -> dict | None:
        """Any audit record (a TIP event, too), with the same fallback as decisions."""
        return self._append(rec)

    def _append(self, rec: Decision | dict) -> dict | None:
        """Write the decision; if the session folder refuses it, fall back to the user data dir."""
        assert self.audit is not None
        try:
            return self.audit.append(rec)
        except OSError as exc:
            fallback = audit_path_for(None, self.fallback_dir)
            if self.audit.path == fallback:
                self.audit_failed.emit(str(self.audit.path), f"decision NOT recorded: {exc}")
                return None
            self.audit_failed.emit(str(self.audit.path), f"cannot write the audit log ({exc}); "
                                                         f"decisions now go to {fallback}")
            self.audit = AuditLog(fallback)
            return self._append(rec)

    def decide(self, kind: str) -> dict | None:
        item = self.screening.current_item
        if item is None or (self.answer_hook is not None and self.answer_hook(kind)):
            return None
        operator = self.ensure_operator()
        if operator is None:
            log.warning("no operator name given: decision not recorded")
            return None
        if self.audit is None:
            self.set_session(str(Path(item.path).parent))
        assert self.audit is not None
        point = self.threshold.point
        shown = self.screening.shown_at
        rec = Decision(
            decision=kind,
            scan=item.path,
            operator=operator,
            seconds_to_decision=round(time.monotonic() - shown, 3) if shown else 0.0,
            model=self.model_name,
            model_file=self.model_file,
            threshold=finite_or_none(point.threshold),
            scan_score=finite_or_none(item.score),
            flagged=item.flagged(point.threshold),
            operating_point=point.describe(),
            ground_truth=item.record.label,
            sha256=item.result.sha256 if item.result is not None else "",
            session=self.session_file,
            folder=self.session_dir or "",
        )
        data = self._append(rec)
        if data is None:
            return None
        item.decision = kind
        self.screening.list.refresh(self.screening.current)
        self.decided.emit(data)
        if self.auto_advance:
            self.screening.next()
        return data
