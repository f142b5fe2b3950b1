"""Running ``bagscan`` in-process and checking what a user sees on the terminal."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.cli import main


@dataclass(frozen=True)
class Outcome:
    rc: int
    out: str
    err: str


def bagscan(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> Outcome:
    capsys.readouterr()
    rc = main([str(a) for a in argv])
    cap = capsys.readouterr()
    return Outcome(rc, cap.out, cap.err)


def no_traceback(text: str) -> None:
    assert "Traceback (most recent call last)" not in text, text


def expect_error(res: Outcome, rc: int, path: str | Path, reason: str) -> str:
    """Exit code ``rc``; exactly one ``bagscan: error:`` line, naming ``path`` and matching ``reason``
    (a regular expression); no traceback. Returns the line (the closing note quotes it)."""
    no_traceback(res.err)
    assert res.rc == rc, (res.rc, res.err)
    lines = [ln for ln in res.err.splitlines() if ln.startswith("bagscan: error:")]
    assert len(lines) == 1, res.err
    line = lines[0]
    assert str(path) in line, (str(path), line)
    assert re.search(reason, line), (reason, line)
    return line
