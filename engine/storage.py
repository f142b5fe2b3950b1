"""HDF5 session store: batch results and officer decisions, incremental, resumable, crash-safe.

:class:`SessionStore` is the only way the engine and the GUI touch a session file. Appends
write raw bytes into pre-allocated space and then bump a ``count`` (see
:mod:`engine.storage_layout` for why), so a ``kill -9`` loses only the row in flight, and a
reopened file resumes. Readers see a snapshot: rows below ``count`` never change (the
reads are in :mod:`engine.storage_read`; this module opens, creates and writes).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from .calibration import Calibration
from .errors import OutputError, SessionFileError
from .fsutil import check_free, output_error, reason, sweep_stale
from .locking import SessionLock
from .storage_build import INITIAL_CAPS, build, check_header, open_h5
from .storage_layout import (
    ERROR_BYTES,
    FORMAT_VERSION,
    LABELS,
    ROW_BYTES,
    ScanEntry,
    SessionMeta,
    StoredDecision,
    StoredScan,
    dataset_cache,
    path_bytes,
    pow2,
    put,
    read_counts,
    to_bytes,
)
from .storage_read import DAMAGE, StoreReader, damaged, locked

log = logging.getLogger(__name__)

__all__ = ["ScanEntry", "SessionMeta", "SessionStore", "StoredDecision", "StoredScan"]

_WRITERS: dict[Path, SessionStore] = {}  # one writable store per file per process
_WRITERS_LOCK = threading.Lock()


class SessionStore(StoreReader):
    """One session file. ``open(path, "r")`` is a snapshot for reading; ``"a"`` also appends
    scans and decisions. Thread-safe: a batch worker and the GUI thread may share one store,
    and must, since a process may hold only one writable store per file."""

    def __init__(self, path: Path, f: h5py.File, mode: str, durable: bool = True) -> None:
        self.path, self._f, self.mode, self.durable = path, f, mode, durable
        self._lock = threading.RLock()
        try:
            check_header(f, path)
            self.meta = SessionMeta.from_attrs(f.attrs)
            self._n = read_counts(f, path)
            self._cache()
        except BaseException as exc:
            f.close()
            if isinstance(exc, DAMAGE):
                raise damaged(path, exc) from exc
            raise
        self._sha: tuple[np.ndarray, np.ndarray] | None = None
        self._recent: dict[str, int] = {}
        self._file_lock: SessionLock | None = None

    @classmethod
    def open(cls, path: str | Path, mode: str = "r", *, durable: bool = True,
             _lock: SessionLock | None = None) -> SessionStore:
        if mode not in ("r", "a"):
            raise ValueError(f"mode must be 'r' or 'a', not {mode!r}")
        p = Path(path)
        if not p.is_file():
            if _lock is not None:
                _lock.release()
            raise SessionFileError(p, "no such session file")
        if mode == "r":
            return cls(p, open_h5(p, "r"), mode, durable)
        with _WRITERS_LOCK:
            if p.resolve() in _WRITERS:
                if _lock is not None:
                    _lock.release()
                raise SessionFileError(p, "already open for writing in this process: share that SessionStore "
                                          "(run_batch accepts it as out)")
            lock = _lock or SessionLock(p).acquire()  # bagscan's own lock, whatever HDF5's locking says
            try:
                store = cls(p, open_h5(p, "r+"), mode, durable)
            except BaseException:
                lock.release()
                raise
            store._file_lock = lock
            _WRITERS[p.resolve()] = store
        try:
            store._upgrade()
        except BaseException:
            store.close()
            raise
        sweep_stale(p)  # rebuilds killed midway (their owner is gone; a live one's file is kept)
        return store

    @classmethod
    def create(cls, path: str | Path, meta: SessionMeta, calibration: Calibration | None = None, *,
               durable: bool = True) -> SessionStore:
        """A new session file, or (when another process created it meanwhile) that one, opened to append."""
        p = Path(path)
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise output_error(p, exc) from exc
        lock = SessionLock(p).acquire()
        try:
            if not p.exists():
                build(p, meta, calibration, INITIAL_CAPS, (64, 32))
                log.info("created session %s", p)
        except BaseException:
            lock.release()
            raise
        return cls.open(p, "a", durable=durable, _lock=lock)

    @locked
    def close(self) -> None:
        if self._f.id.valid:
            try:
                if self.mode == "a":
                    self._sync()
            finally:
                if self.mode == "a":
                    with _WRITERS_LOCK:
                        _WRITERS.pop(self.path.resolve(), None)
                self._f.close()
                if self._file_lock is not None:
                    self._file_lock.release()

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

    # ---- writing -------------------------------------------------------------------------

    def _writable(self) -> None:
        if self.mode != "a":
            raise SessionFileError(self.path, "opened read-only; open it with mode 'a' to write")

    def _sync(self) -> None:
        try:
            self._f.flush()
            if self.durable:
                os.fsync(self._f.id.get_vfd_handle())
        except OSError as exc:
            raise SessionFileError(self.path, f"cannot write: {reason(exc)}; the scans stored before are "
                                              "intact") from exc

    def _commit(self, table: str, n: int) -> None:
        """Rows first (flushed and fsynced), then the count that makes them visible: the commit marker.

        The count itself is flushed, not fsynced: the next commit's fsync or close() covers it,
        so a power cut loses at most the last row and a kill -9 loses nothing written.
        """
        self._sync()
        self._put(f"{table}/count", 0, n)
        self._sync_count()
        self._n[table] = n

    def _sync_count(self) -> None:
        try:
            self._f.flush()
        except OSError as exc:
            raise SessionFileError(self.path, f"cannot write: {reason(exc)}") from exc

    def _room(self, nbytes: int) -> None:
        """Refuse a write the disk cannot take before HDF5 starts it (a full disk mid-flush can crash
        the HDF5 library); rows committed before stay intact."""
        try:
            check_free(self.path, nbytes)
        except OutputError as exc:
            raise SessionFileError(self.path, f"{exc.reason}; the {len(self)} scans stored are intact") from exc

    def _caps(self, tables: tuple[str, ...] = ("scans", "patches", "gt", "decisions", "maps")) -> dict[str, int]:
        first = {"scans": "sha256", "patches": "scores", "gt": "category", "decisions": "scan", "maps": "bytes"}
        return {t: self._ds[f"{t}/{first[t]}"][2] for t in tables}

    def _widths(self) -> tuple[int, int]:
        return self._ds["scans/path"][1].itemsize, self._ds["scans/categories"][1].itemsize

    def _rebuild(self, caps: dict[str, int], widths: tuple[int, int]) -> None:
        t0 = time.perf_counter()
        build(self.path, self.meta, None, caps, widths, src=self._f, used=self._n)
        self._f.close()
        self._f = open_h5(self.path, "r+")
        self._cache()
        log.info("rebuilt %s with room for %s in %.2fs", self.path, caps, time.perf_counter() - t0)

    def _upgrade(self) -> None:
        """A format-1 file (no threat maps) gains the map columns, copy-on-write, before its first append."""
        if "maps" not in self._f:
            self._rebuild({**self._caps(("scans", "patches", "gt", "decisions")), "maps": 1}, self._widths())
            log.info("upgraded %s to session format %d (threat maps)", self.path, FORMAT_VERSION)

    @locked
    def reserve(self, scans: int = 0, patches: int = 0, gt: int = 0, decisions: int = 0,
                path_bytes: int = 0, category_bytes: int = 0, slack: float = 1.0, maps: int = 0) -> bool:
        """Room for this many more rows (and strings this long); rebuilds the file when short.

        Returns True when it rebuilt. ``slack`` > 1 over-allocates, so appends past an
        estimate rebuild rarely (amortised O(1) per row).
        """
        self._writable()
        extra = {"scans": scans, "patches": patches, "gt": gt, "decisions": decisions, "maps": maps}
        caps = self._caps()
        pw, cw = self._widths()
        if all(self._n[t] + extra[t] <= caps[t] for t in caps) and path_bytes <= pw and category_bytes <= cw:
            return False
        new = {t: max(caps[t], int((self._n[t] + extra[t]) * slack) + (16 if slack > 1 else 0)) for t in caps}
        self._rebuild(new, (max(pw, pow2(path_bytes)), max(cw, pow2(category_bytes))))
        return True

    @locked
    def append(self, e: ScanEntry) -> int:
        """Store one scan (result or failure) and commit it, its map with it; returns its row."""
        path_b, cats = path_bytes(e.path), ";".join(e.categories).encode("utf-8")
        k, m, pm = len(e.scores), len(e.gt_boxes), e.packed_map
        blob = np.frombuffer(pm.blob, np.uint8) if pm is not None else np.zeros(0, np.uint8)
        self.reserve(1, k, m, path_bytes=len(path_b), category_bytes=len(cats), slack=1.5, maps=len(blob))
        self._room(ROW_BYTES + 20 * k + 20 * m + len(blob))  # pre-allocated space may still be sparse on disk
        n, p, g, q = self._n["scans"], self._n["patches"], self._n["gt"], self._n["maps"]
        row: dict[str, Any] = {
            "path": path_b, "sha256": e.sha256.encode("ascii"), "size": e.size, "width": e.width,
            "height": e.height, "score": e.score, "error": to_bytes(e.error, ERROR_BYTES), "patch_start": p,
            "patch_count": k, "t_read": e.t_read, "t_score": e.t_score, "finished": e.finished,
            "label": LABELS.get(e.label, -1), "categories": cats, "gt_start": g, "gt_count": m,
            "map_start": q, "map_bytes": len(blob), "map_height": pm.shape[0] if pm else 0,
            "map_width": pm.shape[1] if pm else 0, "map_scale": pm.scale if pm else 0.0,
            "map_lo": pm.lo if pm else 0.0, "map_hi": pm.hi if pm else 0.0}
        for name, value in row.items():
            self._put(f"scans/{name}", n, value)
        if k:
            self._put("patches/boxes", p, np.asarray(e.boxes).reshape(k, 4))
            self._put("patches/scores", p, e.scores)
        if m:
            self._put("gt/boxes", g, [b.as_list() for b in e.gt_boxes])
            self._put("gt/category", g, [to_bytes(b.category, 32) for b in e.gt_boxes])
        if len(blob):  # the bytes land before the count that commits the row, as the patches do
            self._put("maps/bytes", q, blob)
        self._n["patches"], self._n["gt"], self._n["maps"] = p + k, g + m, q + len(blob)
        self._commit("scans", n + 1)
        if e.sha256:
            self._recent[e.sha256] = n
        return n

    @locked
    def set_decision(self, scan: str | int, decision: str, operator: str, threshold: float,
                     seconds: float, model: str) -> StoredDecision:
        """Append an officer decision for a scan (by sha256 or row); the latest one per scan wins."""
        index = self._resolve(scan)
        if not decision or len(decision.encode("utf-8")) > 16:
            raise ValueError(f"decision must be 1-16 bytes, not {decision!r}")
        self.reserve(decisions=1, slack=2.0)
        self._room(ROW_BYTES)
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

