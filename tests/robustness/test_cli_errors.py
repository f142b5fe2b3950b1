"""The command line's last line of defence: a bug is one line too; the traceback only with -v."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.commands import info
from tests.robustness.helpers import bagscan, expect_error, no_traceback


def test_an_unexpected_error_is_one_line_and_its_traceback_waits_for_v(tmp_path: Path, capsys,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(args):
        raise RuntimeError("something nobody expected")

    monkeypatch.setattr(info, "run", boom)
    res = bagscan(capsys, "info", tmp_path)
    no_traceback(res.err)
    assert res.rc == 1 and res.err.strip() == ("bagscan: internal error: RuntimeError: something nobody expected "
                                               "(run with -v for the traceback)")
    res = bagscan(capsys, "-v", "info", tmp_path)
    assert res.rc == 1 and "Traceback (most recent call last)" in res.err and "in boom" in res.err


def test_an_engine_error_shows_its_traceback_with_v(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "nothing-here"
    line = expect_error(bagscan(capsys, "info", missing), 1, missing, "no such file or folder")
    assert line == f"bagscan: error: {missing}: no such file or folder"
    assert "Traceback (most recent call last)" in bagscan(capsys, "-v", "info", missing).err
