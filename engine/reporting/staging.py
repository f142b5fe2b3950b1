"""Report folders appear whole or not at all: files are written into a hidden sibling folder and
moved into place (one atomic rename each) only after every one of them was written.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from ..errors import OutputError
from ..fsutil import output_error, temp_beside

log = logging.getLogger(__name__)


@contextlib.contextmanager
def staged_dir(out_dir: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``out_dir``; on success move its files into ``out_dir``.

    A failure (or Ctrl-C) while writing leaves ``out_dir`` exactly as it was; files already
    in ``out_dir`` with other names are kept, same-named ones are replaced.
    """
    out = Path(out_dir)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(temp_beside(out, directory=True))  # also removes folders left by killed exports
    except OSError as exc:
        raise output_error(out, exc) from exc
    try:
        yield tmp
        files = sorted(p for p in tmp.rglob("*") if p.is_file())
        for f in files:
            dest = out / f.relative_to(tmp)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(f, dest)
        log.info("wrote %d files to %s", len(files), out)
    except OSError as exc:
        raise output_error(out, exc) from exc
    except OutputError as exc:  # a file inside the staging folder: name the folder the user asked for
        raise OutputError(out, exc.reason) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def unique_stem(stem: str, used: set[str], index: int) -> str:
    """``stem``, or ``stem_<index>`` when another scan of the report already took it."""
    name = stem if stem not in used else f"{stem}_{index}"
    used.add(name)
    return name
