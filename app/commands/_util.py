"""Small helpers shared by subcommands.

Imported while the parser is built, so only the standard library and light engine
modules belong at the top: ``bagscan --version`` must not wait for torch.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.fsutil import atomic_write

log = logging.getLogger("bagscan")


class LazyHelpFormatter(argparse.HelpFormatter):
    """Help text that needs a heavy import (the model registry imports torch) is computed only when
    that command's ``--help`` is printed, never while the parser is built."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        make = getattr(action, "lazy_help", None)
        return make() if make is not None else super()._get_help_string(action)


def lazy_help(action: argparse.Action, make: Callable[[], str]) -> argparse.Action:
    """Attach ``make`` to ``action``; its parser must use :class:`LazyHelpFormatter`."""
    action.lazy_help = make  # type: ignore[attr-defined]
    return action


def category_list(text: str) -> list[str]:
    """``--categories`` values: names split on commas or spaces ("Gun,Knife", "Gun Knife")."""
    return [c for c in text.replace(",", " ").split() if c]


def write_json(data: Any, out: str | None) -> None:
    """Write JSON to a file atomically, or to stdout when ``out`` is '-' or None."""
    text = json.dumps(data, indent=2, sort_keys=False)
    if out in (None, "-"):
        sys.stdout.write(text + "\n")
    else:
        with atomic_write(Path(out)) as fh:
            fh.write(text + "\n")


def default_model_path() -> str | None:
    """The bundled default model, or None when this install has none (never raises)."""
    from engine.assets import default_model
    from engine.errors import EngineError

    try:
        return str(default_model())
    except EngineError as exc:
        log.debug("no bundled default model: %s", exc)
        return None


def resolve_model_path(arg: str | None, command: str) -> str:
    """``--model`` if given, else the bundled default; a clear exit when neither exists."""
    path = arg or default_model_path()
    if path is None:
        raise SystemExit(f"bagscan {command}: no --model given and no default model is installed")
    log.info("model: %s%s", path, "" if arg else " (bundled default)")
    return path
