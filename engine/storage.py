"""HDF5 session store: batch results and officer decisions, incremental, resumable, crash-safe.

:class:`SessionStore` is the only way the engine and the GUI touch a session file. Appends
write raw bytes into pre-allocated space and then bump a ``count`` (see
:mod:`engine.storage_layout` for why), so a ``kill -9`` loses only the row in flight, and a
reopened file resumes. Readers see a snapshot: rows below ``count`` never change.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from .calibration import Calibration
from .data.types import Box
from .errors import SessionFileError
from .storage_layout import (
    ERROR_BYTES,
    FORMAT,
    FORMAT_VERSION,
    LABELS,
    ScanEntry,
    SessionMeta,
    StoredDecision,
    StoredScan,
    build,
    columns,
    dataset_cache,
    open_h5,
    pow2,
    put,
    read_counts,
    stored_row,
    to_bytes,
    to_str,
)

log = logging.getLogger(__name__)

__all__ = ["ScanEntry", "SessionMeta", "SessionStore", "StoredDecision", "StoredScan"]

_WRITERS: dict[Path, SessionStore] = {}  # one writable store per file per process
_WRITERS_LOCK = threading.Lock()


def _locked(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Serialise a method on the store's lock (a batch worker and the GUI thread may share one)."""
    @functools.wraps(fn)
    def wrapper(self: SessionStore, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return fn(self, *args, **kwargs)
    return wrapper


class SessionStore:
    """One session file. ``open(path, "r")`` is a snapshot for reading; ``"a"`` also appends
    scans and decisions. Thread-safe: a batch worker and the GUI thread may share one store,
    and must, since a process may hold only one writable store per file."""

    def __init__(self, path: Path, f: h5py.File, mode: str, durable: bool = True) -> None:
        self.path, self._f, self.mode, self.durable = path, f, mode, durable
        self._lock = threading.RLock()
        if f.attrs.get("format") != FORMAT:
            f.close()
            raise SessionFileError(path, "not a bagscan session file")
        if int(f.attrs.get("format_version", -1)) > FORMAT_VERSION:
            f.close()
            raise SessionFileError(path, f"format {f.attrs['format_version']} is newer than bagscan reads")
        self.meta = SessionMeta.from_attrs(f.attrs)
        self._n = read_counts(f, path)
        self._cache()
        self._sha: tuple[np.ndarray, np.ndarray] | None = None
        self._recent: dict[str, int] = {}

    @classmethod
    def open(cls, path: str | Path, mode: str = "r", *, durable: bool = True) -> SessionStore:
        if mode not in ("r", "a"):
            raise ValueError(f"mode must be 'r' or 'a', not {mode!r}")
        p = Path(path)
        if not p.is_file():
            raise SessionFileError(p, "no such session file")
        if mode == "r":
            return cls(p, open_h5(p, "r"), mode, durable)
        with _WRITERS_LOCK:
            if p.resolve() in _WRITERS:
                raise SessionFileError(p, "already open for writing in this process: share that SessionStore "
                                          "(run_batch accepts it as out)")
            store = cls(p, open_h5(p, "r+"), mode, durable)
            _WRITERS[p.resolve()] = store
        for stale in p.parent.glob(f".{p.name}.*.tmp"):  # rebuilds killed midway; we hold the lock
            stale.unlink(missing_ok=True)
        return store

    @classmethod
    def create(cls, path: str | Path, meta: SessionMeta, calibration: Calibration | None = None, *,
               durable: bool = True) -> SessionStore:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        build(p, meta, calibration, {"scans": 16, "patches": 1024, "gt": 16, "decisions": 256}, (64, 32))
        log.info("created session %s", p)
        return cls.open(p, "a", durable=durable)

    @_locked
    def close(self) -> None:
        if self._f.id.valid:
            if self.mode == "a":
                self._sync()
                with _WRITERS_LOCK:
                    _WRITERS.pop(self.path.resolve(), None)
            self._f.close()

    @property
    def closed(self) -> bool:
        return not self._f.id.valid

    def _cache(self) -> None:
        self._ds = dataset_cache(self._f)

    def _put(self, key: str, start: int, values: Any) -> None:
        put(self._ds[key], start, values)

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return self._n["scans"]

    @property
    @_locked
    def calibration(self) -> Calibration | None:
        if "calibration" not in self._f:
            return None
        g = self._f["calibration"]
        return Calibration.from_arrays(dict(g.attrs), {k: np.array(v) for k, v in g.items()})

    # ---- reading -------------------------------------------------------------------------

    def iter_results(self, start: int = 0, stop: int | None = None, *, patches: bool = True,
                     block: int = 256) -> Iterator[StoredScan]:
        """Stored scans in row order, read ``block`` rows at a time (memory stays flat)."""
        stop = len(self) if stop is None else min(stop, len(self))
        for a in range(max(start, 0), stop, block):
            b = min(stop, a + block)
            with self._lock:  # a rebuild swaps self._f: read each block under the lock
                f = self._f
                c = {k: f["scans"][k][a:b] for k in columns(1, 1)["scans"]}
                p0, p1 = int(c["patch_start"][0]), int(c["patch_start"][-1] + c["patch_count"][-1])
                g0, g1 = int(c["gt_start"][0]), int(c["gt_start"][-1] + c["gt_count"][-1])
                pb = f["patches/boxes"][p0:p1] if patches else np.zeros((0, 4), np.int32)
                ps = f["patches/scores"][p0:p1] if patches else np.zeros(0, np.float32)
                gb, gc = f["gt/boxes"][g0:g1], f["gt/category"][g0:g1]
            for i in range(b - a):
                lo, hi = int(c["patch_start"][i]) - p0, int(c["patch_start"][i] + c["patch_count"][i]) - p0
                glo, ghi = int(c["gt_start"][i]) - g0, int(c["gt_start"][i] + c["gt_count"][i]) - g0
                gt = tuple(Box(to_str(gc[j]), *(float(v) for v in gb[j])) for j in range(glo, ghi))
                yield stored_row(c, i, a + i, pb[lo:hi] if patches else pb, ps[lo:hi] if patches else ps, gt)

    def get(self, index: int) -> StoredScan:
        if not 0 <= index < len(self):
            raise IndexError(f"scan {index} not in session ({len(self)} scans)")
        return next(self.iter_results(index, index + 1))

    @_locked
    def column(self, name: str) -> np.ndarray:
        """One /scans column for every stored scan (e.g. ``score`` for a list view)."""
        return self._f[f"scans/{name}"][: len(self)]

    @_locked
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

    @_locked
    def failed_paths(self) -> set[str]:
        """Paths of failures stored without a hash (unreadable files): resume matches these by path."""
        sha, err = self.column("sha256"), self.column("error")
        return {to_str(p) for p, h, e in zip(self.column("path"), sha, err, strict=True) if not h and e}

    # ---- writing -------------------------------------------------------------------------

    def _writable(self) -> None:
        if self.mode != "a":
            raise SessionFileError(self.path, "opened read-only; open it with mode 'a' to write")

    def _sync(self) -> None:
        self._f.flush()
        if self.durable:
            os.fsync(self._f.id.get_vfd_handle())

    def _commit(self, table: str, n: int) -> None:
        """Rows first (flushed and fsynced), then the count that makes them visible: the commit marker.

        The count itself is flushed, not fsynced: the next commit's fsync or close() covers it,
        so a power cut loses at most the last row and a kill -9 loses nothing written.
        """
        self._sync()
        self._put(f"{table}/count", 0, n)
        self._f.flush()
        self._n[table] = n

    @_locked
    def reserve(self, scans: int = 0, patches: int = 0, gt: int = 0, decisions: int = 0,
                path_bytes: int = 0, category_bytes: int = 0, slack: float = 1.0) -> bool:
        """Room for this many more rows (and strings this long); rebuilds the file when short.

        Returns True when it rebuilt. ``slack`` > 1 over-allocates, so appends past an
        estimate rebuild rarely (amortised O(1) per row).
        """
        self._writable()
        extra = {"scans": scans, "patches": patches, "gt": gt, "decisions": decisions}
        caps = {t: self._ds[f"{t}/{c}"][2] for t, c in
                (("scans", "sha256"), ("patches", "scores"), ("gt", "category"), ("decisions", "scan"))}
        pw, cw = self._ds["scans/path"][1].itemsize, self._ds["scans/categories"][1].itemsize
        if all(self._n[t] + extra[t] <= caps[t] for t in caps) and path_bytes <= pw and category_bytes <= cw:
            return False
        new = {t: max(caps[t], int((self._n[t] + extra[t]) * slack) + (16 if slack > 1 else 0)) for t in caps}
        widths = (max(pw, pow2(path_bytes)), max(cw, pow2(category_bytes)))
        t0 = time.perf_counter()
        build(self.path, self.meta, None, new, widths, src=self._f, used=self._n)
        self._f.close()
        self._f = open_h5(self.path, "r+")
        self._cache()
        log.info("rebuilt %s with room for %s in %.2fs", self.path, new, time.perf_counter() - t0)
        return True

    @_locked
    def append(self, e: ScanEntry) -> int:
        """Store one scan (result or failure) and commit it; returns its row."""
        path_b, cats = e.path.encode("utf-8"), ";".join(e.categories).encode("utf-8")
        k, m = len(e.scores), len(e.gt_boxes)
        self.reserve(1, k, m, path_bytes=len(path_b), category_bytes=len(cats), slack=1.5)
        n, p, g = self._n["scans"], self._n["patches"], self._n["gt"]
        row: dict[str, Any] = {
            "path": path_b, "sha256": e.sha256.encode("ascii"), "size": e.size, "width": e.width,
            "height": e.height, "score": e.score, "error": to_bytes(e.error, ERROR_BYTES), "patch_start": p,
            "patch_count": k, "t_read": e.t_read, "t_score": e.t_score, "finished": e.finished,
            "label": LABELS.get(e.label, -1), "categories": cats, "gt_start": g, "gt_count": m}
        for name, value in row.items():
            self._put(f"scans/{name}", n, value)
        if k:
            self._put("patches/boxes", p, np.asarray(e.boxes).reshape(k, 4))
            self._put("patches/scores", p, e.scores)
        if m:
            self._put("gt/boxes", g, [b.as_list() for b in e.gt_boxes])
            self._put("gt/category", g, [to_bytes(b.category, 32) for b in e.gt_boxes])
        self._n["patches"], self._n["gt"] = p + k, g + m
        self._commit("scans", n + 1)
        if e.sha256:
            self._recent[e.sha256] = n
        return n

    @_locked
    def set_decision(self, scan: str | int, decision: str, operator: str, threshold: float,
                     seconds: float, model: str) -> StoredDecision:
        """Append an officer decision for a scan (by sha256 or row); the latest one per scan wins."""
        index = self._resolve(scan)
        if not decision or len(decision.encode("utf-8")) > 16:
            raise ValueError(f"decision must be 1-16 bytes, not {decision!r}")
        self.reserve(decisions=1, slack=2.0)
        d = StoredDecision(index, self.column_at("sha256", index), decision, operator, float(threshold),
                           float(seconds), model, time.time())
        n = self._n["decisions"]
        for name, width in (("sha256", 64), ("decision", 16), ("operator", 64), ("model", 128)):
            self._put(f"decisions/{name}", n, to_bytes(getattr(d, name), width))
        for name in ("scan", "threshold", "seconds", "time"):
            self._put(f"decisions/{name}", n, getattr(d, name))
        self._commit("decisions", n + 1)
        return d

    def _resolve(self, scan: str | int) -> int:
        if isinstance(scan, (int, np.integer)):
            if not 0 <= int(scan) < len(self):
                raise SessionFileError(self.path, f"no scan {scan} (session holds {len(self)})")
            return int(scan)
        index = self.find(scan)
        if index is None:
            raise SessionFileError(self.path, f"no scan with sha256 {scan}")
        return index

    @_locked
    def column_at(self, name: str, index: int) -> str:
        return to_str(self._f[f"scans/{name}"][index])

    def decision_history(self) -> Iterator[StoredDecision]:
        """Every decision in the order made (changes of mind included)."""
        n = self._n["decisions"]
        for a in range(0, n, 4096):
            with self._lock:
                c = {k: self._f["decisions"][k][a : min(n, a + 4096)] for k in columns(1, 1)["decisions"]}
            for i in range(len(c["scan"])):
                text = {k: to_str(c[k][i]) for k in ("sha256", "decision", "operator", "model")}
                yield StoredDecision(int(c["scan"][i]), text["sha256"], text["decision"], text["operator"],
                                     float(c["threshold"][i]), float(c["seconds"][i]), text["model"],
                                     float(c["time"][i]))

    @_locked
    def get_decisions(self) -> dict[int, StoredDecision]:
        """The latest decision per scan row."""
        return {d.scan: d for d in self.decision_history()}

    @_locked
    def summary(self, threshold: float | None = None) -> dict[str, Any]:
        """Counts and timings for a report header; ``threshold`` defaults to the calibration's."""
        cal = self.calibration
        t = threshold if threshold is not None else (cal.threshold if cal is not None else float("inf"))
        n = len(self)
        score, err, label = self.column("score"), self.column("error"), self.column("label")
        ok = err == b""
        secs = self.column("t_read").astype(np.float64) + self.column("t_score")
        decided: dict[str, int] = {}
        for d in self.get_decisions().values():
            decided[d.decision] = decided.get(d.decision, 0) + 1
        return {
            "session": str(self.path), "model": self.meta.model_name, "model_sha256": self.meta.model_sha256,
            "bagscan_version": self.meta.bagscan_version, "created": self.meta.created, "threshold": float(t),
            "n_scans": n, "n_ok": int(ok.sum()), "n_failed": int(n - ok.sum()),
            "n_no_content": int((ok & np.isneginf(score)).sum()), "n_flagged": int((ok & (score >= t)).sum()),
            "n_threat": int((label == 1).sum()), "n_normal": int((label == 0).sum()),
            "n_unknown": int((label == -1).sum()), "n_patches": self._n["patches"],
            "scan_seconds": float(secs.sum()),
            "decisions": decided,
        }
