"""The session file's layout: column tables, records, and the copy-on-write builder.

Why this layout (docs/results-schema.md has the full schema): HDF5 is not journaled, so a
``kill -9`` while the library rewrites its own metadata (B-trees, object headers) can leave
a file that no longer opens. The store therefore never changes the file's *structure* in
place. Every table is a set of contiguous, pre-allocated column datasets plus a ``count``
dataset; appending a row writes raw bytes into space that already exists, flushes (and
fsyncs), then bumps ``count``. Rows at or past ``count`` are garbage by definition, so a
kill loses only the row in flight. When a table is full the file is rebuilt copy-on-write
(new file beside it, prefix copied in blocks, fsync, rename), which costs one copy per
batch run, not per scan. Superblock v0 (``libver='earliest'``) keeps no consistency flags
that would block reopening after a crash, and plain h5py reads the file.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from . import __version__
from .calibration import Calibration
from .config import GridConfig, from_dict, to_dict
from .data.types import NORMAL, THREAT, UNKNOWN, Box
from .errors import OutputError, SessionFileError
from .fsutil import check_free, fsync_dir, reason, temp_beside

log = logging.getLogger(__name__)

FORMAT, FORMAT_VERSION = "bagscan-session", 1
ERROR_BYTES = 256
ROW_BYTES = 4096  # one scan or decision row and its share of metadata, rounded up to a disk block
LABELS = {THREAT: 1, NORMAL: 0, UNKNOWN: -1}
LABEL_NAMES = {v: k for k, v in LABELS.items()}
_BLOCK = 4096


def columns(path_w: int, cat_w: int) -> dict[str, dict[str, tuple[str, tuple[int, ...]]]]:
    """Column dtypes per table; string widths grow on rebuild."""
    return {
        "scans": {"path": (f"S{path_w}", ()), "sha256": ("S64", ()), "size": ("i8", ()), "width": ("i4", ()),
                  "height": ("i4", ()), "score": ("f4", ()), "error": (f"S{ERROR_BYTES}", ()),
                  "patch_start": ("i8", ()), "patch_count": ("i4", ()), "t_read": ("f4", ()),
                  "t_score": ("f4", ()), "finished": ("f8", ()), "label": ("i1", ()),
                  "categories": (f"S{cat_w}", ()), "gt_start": ("i8", ()), "gt_count": ("i4", ())},
        "patches": {"boxes": ("i4", (4,)), "scores": ("f4", ())},
        "gt": {"boxes": ("f4", (4,)), "category": ("S32", ())},
        "decisions": {"scan": ("i8", ()), "sha256": ("S64", ()), "decision": ("S16", ()),
                      "operator": ("S64", ()), "threshold": ("f8", ()), "seconds": ("f8", ()),
                      "model": ("S128", ()), "time": ("f8", ())},
    }


def to_bytes(text: str, width: int) -> bytes:
    """UTF-8, cut at ``width`` bytes without splitting a character."""
    return text.encode("utf-8")[:width].decode("utf-8", "ignore").encode("utf-8")


def to_str(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def path_bytes(path: str) -> bytes:
    """A file name as the OS spells it: a name that is not UTF-8 (``bad\\xff.jpg``) round-trips."""
    return os.fsencode(path)


def path_str(raw: bytes, base: Path | None = None) -> str:
    """A stored path; a relative one (sessions before 0.x stored paths as typed) resolves against ``base``,
    the session file's folder, when the file is there."""
    p = os.fsdecode(raw)
    if base is not None and p and not os.path.isabs(p) and not os.path.exists(p):
        beside = base / p
        if beside.exists():
            return str(beside)
    return p


def file_bytes(caps: dict[str, int], widths: tuple[int, int]) -> int:
    """Bytes a session file with these capacities takes on disk, every column allocated."""
    total = 0
    for table, cols in columns(*widths).items():
        row = sum(np.dtype(dt).itemsize * int(np.prod(shape or (1,))) for dt, shape in cols.values())
        total += row * max(caps.get(table, 0), 1)
    return total + 64 * 1024  # HDF5 metadata


@dataclass(frozen=True)
class SessionMeta:
    """Per-session facts: which model scored it and how (written once, at creation)."""

    model_name: str
    model_sha256: str
    model_path: str = ""
    grid: GridConfig = field(default_factory=GridConfig)
    model_config: dict[str, Any] = field(default_factory=dict)
    score_config: dict[str, Any] = field(default_factory=dict)
    bagscan_version: str = __version__
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    def to_attrs(self) -> dict[str, Any]:
        return {"format": FORMAT, "format_version": FORMAT_VERSION, "bagscan_version": self.bagscan_version,
                "created": self.created, "model_name": self.model_name, "model_sha256": self.model_sha256,
                "model_path": self.model_path, "grid_config": json.dumps(to_dict(self.grid)),
                "model_config": json.dumps(self.model_config), "score_config": json.dumps(self.score_config)}

    @classmethod
    def from_attrs(cls, a: Any) -> SessionMeta:
        grid = from_dict(GridConfig, json.loads(a["grid_config"]))
        return cls(str(a["model_name"]), str(a["model_sha256"]), str(a.get("model_path", "")), grid,
                   json.loads(a.get("model_config", "{}")), json.loads(a.get("score_config", "{}")),
                   str(a["bagscan_version"]), str(a["created"]))


@dataclass(frozen=True)
class ScanEntry:
    """One scan to store: a result (``error`` empty) or a failure."""

    path: str
    sha256: str = ""
    size: int = 0
    width: int = 0
    height: int = 0
    score: float = float("nan")
    error: str = ""
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.int32))
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    t_read: float = 0.0
    t_score: float = 0.0
    label: str = UNKNOWN
    categories: tuple[str, ...] = ()
    gt_boxes: tuple[Box, ...] = ()
    finished: float = field(default_factory=time.time)


@dataclass(frozen=True)
class StoredScan(ScanEntry):
    """A stored row read back; ``index`` is its row in /scans (stable for the file's life)."""

    index: int = -1

    @property
    def name(self) -> str:
        return Path(self.path).stem

    @property
    def ok(self) -> bool:
        return not self.error

    def flagged(self, threshold: float) -> np.ndarray:
        return self.scores >= threshold

    def n_flagged(self, threshold: float) -> int:
        return int(np.count_nonzero(self.scores >= threshold))

    def to_result(self) -> Any:
        """The :class:`engine.scoring.ScanResult` the views already draw (imported lazily: torch)."""
        from .scoring import ScanResult

        return ScanResult(self.path, self.name, self.width, self.height, self.sha256, self.boxes,
                          self.scores, self.score, self.t_read + self.t_score)


@dataclass(frozen=True)
class StoredDecision:
    scan: int
    sha256: str
    decision: str
    operator: str
    threshold: float
    seconds: float
    model: str
    time: float


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
                    for a in range(0, n, _BLOCK):
                        ds[a : min(n, a + _BLOCK)] = src[f"{table}/{name}"][a : min(n, a + _BLOCK)]  # type: ignore
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


def pow2(n: int) -> int:
    """String widths grow in powers of two, so a batch of ever longer paths rebuilds rarely."""
    return 1 << max(n - 1, 0).bit_length() if n else 0


def stored_row(c: dict[str, np.ndarray], i: int, index: int, boxes: np.ndarray, scores: np.ndarray,
               gt: tuple[Box, ...], base: Path | None = None) -> StoredScan:
    """Row ``i`` of a block of /scans columns as a record."""
    return StoredScan(
        path=path_str(c["path"][i], base), sha256=to_str(c["sha256"][i]), size=int(c["size"][i]),
        width=int(c["width"][i]), height=int(c["height"][i]), score=float(c["score"][i]),
        error=to_str(c["error"][i]), boxes=boxes, scores=scores, t_read=float(c["t_read"][i]),
        t_score=float(c["t_score"][i]), label=LABEL_NAMES.get(int(c["label"][i]), UNKNOWN),
        categories=tuple(x for x in to_str(c["categories"][i]).split(";") if x), gt_boxes=gt,
        finished=float(c["finished"][i]), index=index)


def read_counts(f: h5py.File, path: Path) -> dict[str, int]:
    """Committed rows per table, checked against the capacities (a damaged file fails here, named)."""
    n, m = int(f["scans/count"][0]), int(f["decisions/count"][0])
    if not (0 <= n <= len(f["scans/sha256"]) and 0 <= m <= len(f["decisions/scan"])):
        raise SessionFileError(path, f"corrupt: count {n} or {m} exceeds the table capacity")
    p = g = 0
    if n:
        p = int(f["scans/patch_start"][n - 1]) + int(f["scans/patch_count"][n - 1])
        g = int(f["scans/gt_start"][n - 1]) + int(f["scans/gt_count"][n - 1])
    if p > len(f["patches/scores"]) or g > len(f["gt/category"]):
        raise SessionFileError(path, "corrupt: scan rows point past the patch or ground-truth table")
    return {"scans": n, "decisions": m, "patches": p, "gt": g}


Cached = tuple[h5py.h5d.DatasetID, np.dtype, int]


def dataset_cache(f: h5py.File) -> dict[str, Cached]:
    """(id, dtype, capacity) per column: h5py's high-level lookups cost ~0.3 ms each."""
    out: dict[str, Cached] = {}
    for table, cols in columns(1, 1).items():
        for name in [*cols, *(["count"] if table in ("scans", "decisions") else [])]:
            ds = f[f"{table}/{name}"]
            out[f"{table}/{name}"] = (ds.id, ds.dtype, ds.shape[0])
    return out


def put(cached: Cached, start: int, values: Any) -> None:
    """Write rows ``start..`` of one column through the low-level API (10x faster per call)."""
    dsid, dtype, _ = cached
    arr = np.ascontiguousarray(np.asarray(values, dtype=dtype))
    if arr.ndim == 0:
        arr = arr.reshape(1)
    fspace = dsid.get_space()
    fspace.select_hyperslab((start,) + (0,) * (arr.ndim - 1), arr.shape)
    dsid.write(h5py.h5s.create_simple(arr.shape), fspace, arr)
