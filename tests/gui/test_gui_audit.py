"""The audit log (Qt-free): append-only, one fsync-ed line per decision, torn lines tolerated."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from app import audit
from app.audit import AUDIT_NAME, AuditLog, Decision, audit_path_for, read_records


def decision(kind: str = "clear", scan: str = "/x/a.png") -> Decision:
    return Decision(decision=kind, scan=scan, operator="ann", seconds_to_decision=1.5, model="dsa",
                    model_file="/m.h5", threshold=2.0, scan_score=3.0, flagged=True)


def test_each_append_is_one_fsynced_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(audit.os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    log = AuditLog(tmp_path / AUDIT_NAME)
    log.append(decision("clear"))
    n_first = len(synced)
    log.append(decision("suspect", "/x/b.png"))
    assert n_first >= 1 and len(synced) == n_first + 1  # the file on every line (and its dir once)
    lines = (tmp_path / AUDIT_NAME).read_text().splitlines()
    assert [json.loads(x)["decision"] for x in lines] == ["clear", "suspect"]
    rec = json.loads(lines[1])
    assert {"time", "operator", "model", "threshold", "seconds_to_decision", "scan", "host"} <= set(rec)


def test_log_is_append_only_across_instances_and_skips_torn_line(tmp_path: Path) -> None:
    p = tmp_path / AUDIT_NAME
    AuditLog(p).append(decision())
    with open(p, "a") as fh:
        fh.write('{"decision": "sus')  # a crash mid-write
    AuditLog(p).append(decision("suspect"))  # a new session appends, never truncates
    recs = read_records(p)
    assert [r["decision"] for r in recs] == ["clear", "suspect"]  # only the torn record is lost
    assert len(p.read_text().splitlines()) == 3


def test_non_finite_numbers_never_reach_json() -> None:
    assert audit.finite_or_none(float("-inf")) is None and audit.finite_or_none(float("nan")) is None
    assert audit.finite_or_none(2.5) == 2.5
    with pytest.raises(ValueError):
        Decision(decision="maybe", scan="", operator="", seconds_to_decision=0, model="", model_file="",
                 threshold=None, scan_score=None, flagged=None)


def test_audit_path_beside_session_or_fallback(tmp_path: Path) -> None:
    session = tmp_path / "scans"
    session.mkdir()
    assert audit_path_for(session, tmp_path / "fb") == session / AUDIT_NAME
    blocker = tmp_path / "file"
    blocker.write_text("")  # a "folder" that cannot be created: its parent is a file
    assert audit_path_for(blocker / "sub", tmp_path / "fb") == tmp_path / "fb" / AUDIT_NAME
    assert audit_path_for(None, tmp_path / "fb2") == tmp_path / "fb2" / AUDIT_NAME
