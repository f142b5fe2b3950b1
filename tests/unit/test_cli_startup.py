"""``bagscan --version`` and ``--help`` answer without importing torch (start-up was 2.6-3.7 s).

The parser imports every command module, so each must keep torch, Qt and the other heavy
libraries inside its ``run`` function. Help text that needs them (the model registry, the
threat categories) is computed only when that command's help is printed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "PySide6", "matplotlib", "sklearn")


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_building_the_parser_imports_no_torch() -> None:
    code = ("import sys, app.cli\n"
            "app.cli.build_parser()\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n")
    proc = _python(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


@pytest.mark.parametrize("flag", ["--version", "--help"])
def test_version_and_help_answer_without_torch(flag: str) -> None:
    code = ("import sys, app.cli\n"
            "try:\n"
            f"    app.cli.main([{flag!r}])\n"
            "except SystemExit as exc:\n"
            "    assert exc.code == 0, exc.code\n"
            f"print('heavy:', sorted(m for m in {HEAVY!r} if m in sys.modules))\n")
    proc = _python(code)
    assert proc.returncode == 0, proc.stderr
    from engine import __version__

    if flag == "--version":
        assert proc.stdout.startswith(f"bagscan {__version__}\n")
    else:
        for command in ("batch", "calibrate", "eval", "export", "gui", "info", "scan", "synth", "tip", "train"):
            assert command in proc.stdout
    assert proc.stdout.rstrip().endswith("heavy: []")


def test_help_that_needs_the_engine_is_complete(capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from app.cli import build_parser
    from engine.data.types import CATEGORIES
    from engine.models import list_models
    from engine.synth import DEFAULT_SIZE

    monkeypatch.setenv("COLUMNS", "500")  # no wrapping inside hyphenated names

    def help_of(command: str) -> str:
        with pytest.raises(SystemExit):
            build_parser().parse_args([command, "--help"])
        return capsys.readouterr().out

    text = help_of("train")
    assert all(name in text for name in list_models()) and "(default: threat-map)" in text
    text = help_of("synth")
    assert ",".join(CATEGORIES) in text and "{}x{}".format(*DEFAULT_SIZE) in text
    assert " ".join(CATEGORIES) in help_of("tip")


def test_drive_takes_units_and_leave_per_job(capsys: pytest.CaptureFixture[str]) -> None:
    from app.commands._progress import drive
    from engine.events import Progress, Warn

    events = [Progress("hash", 1, 2), Progress("hash", 2, 2), "other", Progress("batch", 1, 1, "a.jpg"),
              Warn("careful")]
    passed = list(drive(iter(events), unit={"hash": "file", "batch": "scan"}, leave={"batch"}))
    assert passed == ["other", Warn("careful")]  # progress is rendered, everything else passes through
    err = capsys.readouterr().err
    assert "file" in err and "scan" in err and "a.jpg" in err
    assert not list(drive(iter(events[:2]), quiet=True))  # quiet: no bars, nothing to pass on
