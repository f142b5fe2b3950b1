"""Building a session file: whole, beside the old one, then renamed over it (copy-on-write).

Kept apart from :mod:`engine.storage_layout` (what the columns are) because this is the one
place that changes a file's structure, and so the one that must never leave half a file:
creation, growing a full table, and upgrading a format-1 file (no threat maps) all go
through :func:`build`. Columns a source file lacks are written as zeros for its rows, which
every reader takes as "absent" (``map_bytes`` 0: no stored map).
"""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np

from .calibration import Calibration
from .errors import OutputError, SessionFileError
from .fsutil import check_free, fsync_dir, reason, temp_beside
from .storage_layout import FORMAT, FORMAT_VERSION, SessionMeta, columns

_BLOCK = 4096
#: Rows (bytes for maps) a new session has room for; a full table grows by rebuilding.
INITIAL_CAPS = {"scans": 16, "patches": 1024, "gt": 16, "decisions": 256, "maps": 1}


def check_header(f: h5py.File, path: Path) -> None:
    """A bagscan session of a format this version reads (1 and 2), or a named SessionFileError."""
    if f.attrs.get("format") != FORMAT:
        raise SessionFileError(path, "not a bagscan session file")
    version = f.attrs.get("format_version", -1)
    try:
        newer = int(version) > FORMAT_VERSION
    except (TypeError, ValueError):
        raise SessionFileError(path, f"format_version {version!r} is not a number") from None
    if newer:
        raise SessionFileError(path, f"format {version} is newer than bagscan reads")


def file_bytes(caps: dict[str, int], widths: tuple[int, int]) -> int:
    """Bytes a session file with these capacities takes on disk, every column allocated."""
    total = 0
    for table, cols in columns(*widths).items():
        row = sum(np.dtype(dt).itemsize * int(np.prod(shape or (1,))) for dt, shape in cols.values())
        total += row * max(caps.get(table, 0), 1)
    return total + 64 * 1024  # HDF5 metadata



def _dcpl() -> h5py.h5p.PropDCID:
    """Contiguous storage allocated at creation: appends never allocate (no metadata writes)."""
    d = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    d.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
    d.set_fill_time(h5py.h5d.FILL_TIME_NEVER)
    return d


def build(path: Path, meta: SessionMeta, cal: Calibration | None, caps: dict[str, int],
          widths: tuple[int, int], src: h5py.File | None = None, used: dict[str, int] | None = None) -> None:
    """Write a complete session file beside ``path`` and rename it over: the file is whole or absent."""
    try:
        check_free(path, file_bytes(caps, widths))
        tmp = temp_beside(path)
    except OutputError as exc:
        raise SessionFileError(path, f"{exc.reason}; nothing was changed") from exc
    except OSError as exc:
        raise SessionFileError(path, f"cannot write: {reason(exc)}") from exc
    used = used or {}
    try:
        with h5py.File(tmp, "w", libver="earliest") as f:
            f.attrs.update(meta.to_attrs())
            if src is not None and "calibration" in src:
                src.copy(src["calibration"], f, "calibration")
            elif cal is not None:
                g = f.create_group("calibration")
                attrs, arrays = cal.to_arrays()
                g.attrs.update(attrs)
                for k, arr in arrays.items():
                    g.create_dataset(k, data=arr)
            for table, cols in columns(*widths).items():
                g = f.create_group(table)
                n, cap = used.get(table, 0), max(caps[table], used.get(table, 0), 1)
                for name, (dtype, shape) in cols.items():
                    ds = g.create_dataset(name, (cap, *shape), dtype, dcpl=_dcpl())
                    old = src.get(f"{table}/{name}") if src is not None else None
                    for a in range(0, n, _BLOCK):  # a column the source lacks (format 1's maps): zeros
                        rows = old[a : min(n, a + _BLOCK)] if old is not None else np.zeros(min(n, a + _BLOCK) - a,
                                                                                           ds.dtype)
                        ds[a : min(n, a + _BLOCK)] = rows
                if table in ("scans", "decisions"):
                    g.create_dataset("count", (1,), "i8", dcpl=_dcpl())[0] = n
            f.flush()
            os.fsync(f.id.get_vfd_handle())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise SessionFileError(path, f"cannot write: {reason(exc)}; the session as it was is intact") from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def open_h5(p: Path, mode: str) -> h5py.File:
    try:
        # Readers take no lock: rows below ``count`` never change and rebuilds are renames, so a
        # reader beside a running batch sees a consistent snapshot.
        return h5py.File(p, mode, locking=mode != "r")
    except OSError as exc:
        if "lock" in str(exc).lower():
            raise SessionFileError(p, "in use by another process (is a batch still running on it?)") from exc
        raise SessionFileError(p, f"not a readable HDF5 session file ({exc})") from exc
