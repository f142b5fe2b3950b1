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
from .config import GridConfig, from_dict, to_dict
from .data.types import NORMAL, THREAT, UNKNOWN, Box
from .dense_map import DenseMap, PackedMap
from .errors import SessionFileError

log = logging.getLogger(__name__)

FORMAT, FORMAT_VERSION = "bagscan-session", 2  # 2: threat maps (/maps); 1 opens as before
ERROR_BYTES = 256
ROW_BYTES = 4096  # one scan or decision row and its share of metadata, rounded up to a disk block
LABELS = {THREAT: 1, NORMAL: 0, UNKNOWN: -1}
LABEL_NAMES = {v: k for k, v in LABELS.items()}


#: Per-scan columns of a stored threat map (format 2); ``map_bytes`` 0 means none.
MAP_COLUMNS: dict[str, tuple[str, tuple[int, ...]]] = {
    "map_start": ("i8", ()), "map_bytes": ("i4", ()), "map_height": ("i4", ()), "map_width": ("i4", ()),
    "map_scale": ("f8", ()), "map_lo": ("f4", ()), "map_hi": ("f4", ())}


def columns(path_w: int, cat_w: int) -> dict[str, dict[str, tuple[str, tuple[int, ...]]]]:
    """Column dtypes per table; string widths grow on rebuild."""
    return {
        "scans": {"path": (f"S{path_w}", ()), "sha256": ("S64", ()), "size": ("i8", ()), "width": ("i4", ()),
                  "height": ("i4", ()), "score": ("f4", ()), "error": (f"S{ERROR_BYTES}", ()),
                  "patch_start": ("i8", ()), "patch_count": ("i4", ()), "t_read": ("f4", ()),
                  "t_score": ("f4", ()), "finished": ("f8", ()), "label": ("i1", ()),
                  "categories": (f"S{cat_w}", ()), "gt_start": ("i8", ()), "gt_count": ("i4", ()),
                  **MAP_COLUMNS},
        "patches": {"boxes": ("i4", (4,)), "scores": ("f4", ())},
        "maps": {"bytes": ("u1", ())},
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
    packed_map: PackedMap | None = None  # map models: the 8-bit threat map, stored with the row


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

    @property
    def threat_map(self) -> DenseMap | None:
        """The stored map in score units, decoded now (raises MapDecodeError when its bytes are damaged)."""
        return self.packed_map.dense() if self.packed_map is not None else None

    def to_result(self) -> Any:
        """The :class:`engine.scoring.ScanResult` the views already draw (imported lazily: torch);
        its map stays packed until drawn."""
        from .scoring import ScanResult

        return ScanResult(self.path, self.name, self.width, self.height, self.sha256, self.boxes,
                          self.scores, self.score, self.t_read + self.t_score, packed_map=self.packed_map)


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


def pow2(n: int) -> int:
    """String widths grow in powers of two, so a batch of ever longer paths rebuilds rarely."""
    return 1 << max(n - 1, 0).bit_length() if n else 0


def packed_of(c: dict[str, np.ndarray], i: int, heap: np.ndarray, h0: int) -> PackedMap | None:
    """Row ``i``'s stored map, its bytes cut from ``heap`` (``/maps/bytes`` from ``h0``); None when it has none."""
    k = int(c["map_bytes"][i]) if "map_bytes" in c else 0
    if k <= 0:
        return None
    a = int(c["map_start"][i]) - h0
    return PackedMap(heap[a : a + k].tobytes(), (int(c["map_height"][i]), int(c["map_width"][i])),
                     float(c["map_scale"][i]), float(c["map_lo"][i]), float(c["map_hi"][i]))


def stored_row(c: dict[str, np.ndarray], i: int, index: int, boxes: np.ndarray, scores: np.ndarray,
               gt: tuple[Box, ...], base: Path | None = None, packed: PackedMap | None = None) -> StoredScan:
    """Row ``i`` of a block of /scans columns as a record."""
    return StoredScan(
        path=path_str(c["path"][i], base), sha256=to_str(c["sha256"][i]), size=int(c["size"][i]),
        width=int(c["width"][i]), height=int(c["height"][i]), score=float(c["score"][i]),
        error=to_str(c["error"][i]), boxes=boxes, scores=scores, t_read=float(c["t_read"][i]),
        t_score=float(c["t_score"][i]), label=LABEL_NAMES.get(int(c["label"][i]), UNKNOWN),
        categories=tuple(x for x in to_str(c["categories"][i]).split(";") if x), gt_boxes=gt,
        finished=float(c["finished"][i]), packed_map=packed, index=index)


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
    q = 0
    if n and "maps" in f:  # format 1 has no maps
        q = int(f["scans/map_start"][n - 1]) + int(f["scans/map_bytes"][n - 1])
        if q > len(f["maps/bytes"]):
            raise SessionFileError(path, "corrupt: scan rows point past the map table")
    return {"scans": n, "decisions": m, "patches": p, "gt": g, "maps": q}


Cached = tuple[h5py.h5d.DatasetID, np.dtype, int]


def dataset_cache(f: h5py.File) -> dict[str, Cached]:
    """(id, dtype, capacity) per column: h5py's high-level lookups cost ~0.3 ms each. A format-1
    file lacks the map columns: it is read as it is, and upgraded before anything is appended."""
    out: dict[str, Cached] = {}
    for table, cols in columns(1, 1).items():
        for name in [*cols, *(["count"] if table in ("scans", "decisions") else [])]:
            if (table == "maps" or name in MAP_COLUMNS) and "maps" not in f:
                continue
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
