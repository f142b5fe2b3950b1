"""Small helpers shared by subcommands."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from engine.fsutil import atomic_write


def write_json(data: Any, out: str | None) -> None:
    """Write JSON to a file atomically, or to stdout when ``out`` is '-' or None."""
    text = json.dumps(data, indent=2, sort_keys=False)
    if out in (None, "-"):
        sys.stdout.write(text + "\n")
    else:
        with atomic_write(Path(out)) as fh:
            fh.write(text + "\n")
