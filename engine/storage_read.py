"""Reading a session file: the snapshot side of :class:`~engine.storage.SessionStore`.

Rows below a table's ``count`` never change and a rebuild swaps the whole file, so every
read takes the store's lock only long enough to copy one block of rows out of the file that
is current; the rows are turned into records outside it. Kept apart from the store's
writing (append, reserve, decisions), which has the crash-safety rules to follow.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from .calibration import Calibration
from .data.types import Box
from .errors import SessionFileError
from .storage_layout import (
    SessionMeta,
    StoredDecision,
    StoredScan,
    columns,
    packed_of,
    path_str,
    stored_row,
    to_str,
)

#: What h5py and numpy raise on a damaged file (a flipped byte, a cut): turned into SessionFileError.
DAMAGE = (OSError, KeyError, ValueError, TypeError, IndexError, AttributeError, RuntimeError)


def damaged(path: Path, exc: BaseException) -> SessionFileError:
    return SessionFileError(path, f"damaged session file ({type(exc).__name__}: {str(exc)[:200]})")


def locked(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Serialise a method on the store's lock (a batch worker and the GUI thread may share one)."""
    @functools.wraps(fn)
    def wrapper(self: StoreReader, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return fn(self, *args, **kwargs)
    return wrapper


def read(fn: Callable[..., Any]) -> Callable[..., Any]:
    """:func:`locked`, and whatever a damaged file makes h5py or numpy raise becomes a SessionFileError."""
    @functools.wraps(fn)
    def wrapper(self: StoreReader, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            try:
                return fn(self, *args, **kwargs)
            except SessionFileError:
                raise
            except DAMAGE as exc:
                raise damaged(self.path, exc) from exc
    return wrapper


class StoreReader:
    """Reads of an open session file; :class:`~engine.storage.SessionStore` adds opening and writing."""

    path: Path
    meta: SessionMeta
    _f: h5py.File
    _lock: threading.RLock
    _n: dict[str, int]  # committed rows per table
    _sha: tuple[np.ndarray, np.ndarray] | None  # sorted sha256 column and its row order, for find()
    _recent: dict[str, int]  # sha256 -> row of scans appended since the sort

    def __len__(self) -> int:
        return self._n["scans"]

    @property
    @read
    def calibration(self) -> Calibration | None:
        if "calibration" not in self._f:
            return None
        g = self._f["calibration"]
        return Calibration.from_arrays(dict(g.attrs), {k: np.array(v) for k, v in g.items()})

    # ---- reading -------------------------------------------------------------------------

    def iter_results(self, start: int = 0, stop: int | None = None, *, patches: bool = True,
                     block: int = 256) -> Iterator[StoredScan]:
        """Stored scans in row order, read ``block`` rows at a time (memory stays flat); with
        ``patches``, their patches and (map models) their packed threat maps too."""
        try:
            yield from self._iter_results(start, stop, patches, block)
        except DAMAGE as exc:
            raise damaged(self.path, exc) from exc

    def _iter_results(self, start: int, stop: int | None, patches: bool, block: int) -> Iterator[StoredScan]:
        stop = len(self) if stop is None else min(stop, len(self))
        for a in range(max(start, 0), stop, block):
            b = min(stop, a + block)
            with self._lock:  # a rebuild swaps self._f: read each block under the lock
                f = self._f
                c = {k: f["scans"][k][a:b] for k in columns(1, 1)["scans"] if k in f["scans"]}  # format 1: no maps
                p0, p1 = int(c["patch_start"][0]), int(c["patch_start"][-1] + c["patch_count"][-1])
                g0, g1 = int(c["gt_start"][0]), int(c["gt_start"][-1] + c["gt_count"][-1])
                pb = f["patches/boxes"][p0:p1] if patches else np.zeros((0, 4), np.int32)
                ps = f["patches/scores"][p0:p1] if patches else np.zeros(0, np.float32)
                gb, gc = f["gt/boxes"][g0:g1], f["gt/category"][g0:g1]
                h0 = int(c["map_start"][0]) if "map_start" in c else 0
                h1 = int(c["map_start"][-1] + c["map_bytes"][-1]) if "map_start" in c else 0
                heap = f["maps/bytes"][h0:h1] if patches and h1 > h0 else np.zeros(0, np.uint8)
            for i in range(b - a):
                lo, hi = int(c["patch_start"][i]) - p0, int(c["patch_start"][i] + c["patch_count"][i]) - p0
                glo, ghi = int(c["gt_start"][i]) - g0, int(c["gt_start"][i] + c["gt_count"][i]) - g0
                gt = tuple(Box(to_str(gc[j]), *(float(v) for v in gb[j])) for j in range(glo, ghi))
                yield stored_row(c, i, a + i, pb[lo:hi] if patches else pb, ps[lo:hi] if patches else ps, gt,
                                 self.path.parent, packed_of(c, i, heap, h0) if patches else None)

    def get(self, index: int) -> StoredScan:
        if not 0 <= index < len(self):
            raise IndexError(f"scan {index} not in session ({len(self)} scans)")
        return next(self.iter_results(index, index + 1))

    @read
    def column(self, name: str) -> np.ndarray:
        """One /scans column for every stored scan (e.g. ``score`` for a list view)."""
        return self._f[f"scans/{name}"][: len(self)]

    @read
    def find(self, sha256: str) -> int | None:
        """Row of the scan with this content hash, or None."""
        if sha256 in self._recent:
            return self._recent[sha256]
        if self._sha is None:
            shas = self.column("sha256")
            order = np.argsort(shas, kind="stable")
            self._sha = (shas[order], order)
        keys, order = self._sha
        k = int(np.searchsorted(keys, sha256.encode("ascii")))
        return int(order[k]) if sha256 and k < len(keys) and keys[k] == sha256.encode("ascii") else None

    @read
    def failed_paths(self) -> set[str]:
        """Paths of failures stored without a hash (unreadable files): resume matches these by path."""
        sha, err = self.column("sha256"), self.column("error")
        return {path_str(p) for p, h, e in zip(self.column("path"), sha, err, strict=True) if not h and e}

    @read
    def column_at(self, name: str, index: int) -> str:
        return to_str(self._f[f"scans/{name}"][index])

    def decision_history(self) -> Iterator[StoredDecision]:
        """Every decision in the order made (changes of mind included)."""
        try:
            yield from self._decision_history()
        except DAMAGE as exc:
            raise damaged(self.path, exc) from exc

    def _decision_history(self) -> Iterator[StoredDecision]:
        n = self._n["decisions"]
        for a in range(0, n, 4096):
            with self._lock:
                c = {k: self._f["decisions"][k][a : min(n, a + 4096)] for k in columns(1, 1)["decisions"]}
            for i in range(len(c["scan"])):
                text = {k: to_str(c[k][i]) for k in ("sha256", "decision", "operator", "model")}
                yield StoredDecision(int(c["scan"][i]), text["sha256"], text["decision"], text["operator"],
                                     float(c["threshold"][i]), float(c["seconds"][i]), text["model"],
                                     float(c["time"][i]))

    @read
    def get_decisions(self) -> dict[int, StoredDecision]:
        """The latest decision per scan row."""
        return {d.scan: d for d in self.decision_history()}

    @read
    def summary(self, threshold: float | None = None) -> dict[str, Any]:
        """Counts and timings for a report header; ``threshold`` defaults to the calibration's."""
        cal = self.calibration
        t = threshold if threshold is not None else (cal.threshold if cal is not None else float("inf"))
        n = len(self)
        score, err, label = self.column("score"), self.column("error"), self.column("label")
        bad_score = (err == b"") & np.isnan(score)  # sessions scored before NaN became an error
        ok = (err == b"") & ~bad_score
        secs = self.column("t_read").astype(np.float64) + self.column("t_score")
        decided: dict[str, int] = {}
        for d in self.get_decisions().values():
            decided[d.decision] = decided.get(d.decision, 0) + 1
        return {
            "session": str(self.path), "model": self.meta.model_name, "model_sha256": self.meta.model_sha256,
            "bagscan_version": self.meta.bagscan_version, "created": self.meta.created, "threshold": float(t),
            "n_scans": n, "n_ok": int(ok.sum()), "n_failed": int(n - ok.sum()), "n_bad_score": int(bad_score.sum()),
            "n_no_content": int((ok & np.isneginf(score)).sum()), "n_flagged": int((ok & (score >= t)).sum()),
            "n_threat": int((label == 1).sum()), "n_normal": int((label == 0).sum()),
            "n_unknown": int((label == -1).sum()), "n_patches": self._n["patches"],
            "scan_seconds": float(secs.sum()),
            "decisions": decided,
        }
