"""Batch scoring into a session file: a plain generator of events, resumable and crash-safe.

``run_batch`` plans first (hash every scan, skip those already stored by content hash,
reserve room in the session file once), then scores the rest one by one, committing each
to the :class:`~engine.storage.SessionStore` before it yields. The next scan is read in a
background thread while the current one is scored. A bad file is stored with its error
and the batch goes on; cancelling (the token, or closing the generator) stops between scans
and leaves a session that the same call resumes.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .data import load_dataset
from .data.io import IMAGE_SUFFIXES, Scan, file_sha256, probe_scan, read_scan
from .data.patches import axis_starts
from .data.types import ScanRecord
from .dense_map import PackedMap
from .errors import Cancelled, EngineError, SessionFileError
from .events import CancelToken, Progress, ScanFailed, ScanScored, Warn, check
from .modelfile import ModelBundle, load_model
from .scoring import Scorer
from .storage import ScanEntry, SessionMeta, SessionStore
from .storage_layout import path_bytes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchPlanned:
    """What this run will do: ``pending`` scans to score out of ``total`` found."""

    total: int
    stored: int  # already in the session (skipped by content hash)
    duplicates: int  # same content as another scan of this run (skipped)
    pending: int
    session: str


@dataclass(frozen=True)
class BatchFinished:
    scored: int
    failed: int
    pending: int
    seconds: float
    session: str

    @property
    def scans_per_s(self) -> float:
        return (self.scored + self.failed) / self.seconds if self.seconds > 0 else 0.0


#: What run_batch yields.
BatchEvent = BatchPlanned | Progress | ScanScored | ScanFailed | Warn | BatchFinished


@dataclass(frozen=True)
class _Item:
    record: ScanRecord
    sha256: str
    size: int
    max_patches: int


def batch_records(data: str | Path | Sequence[ScanRecord]) -> list[ScanRecord]:
    """Scans of a folder or SIXray root, bad image files included so they get error rows."""
    if not isinstance(data, (str, Path)):
        return [_absolute(r) for r in data]
    ds = load_dataset(data)
    bad = [ScanRecord(b.path, Path(b.path).stem) for b in ds.bad_files
           if Path(b.path).suffix.lower() in IMAGE_SUFFIXES]
    return [_absolute(r) for r in ds.records + bad]


def _absolute(r: ScanRecord) -> ScanRecord:
    """Sessions store absolute paths: an export from another working directory still finds the scans."""
    return r if os.path.isabs(r.path) else dataclasses.replace(r, path=os.path.abspath(r.path))


def _fingerprint(record: ScanRecord, patch: int, stride: int) -> tuple[str, int, int]:
    """(sha256, size, most patches the grid can cut from it); unreadable files give ("", 0, 0)."""
    try:
        sha, size = file_sha256(record.path), Path(record.path).stat().st_size
    except OSError:
        return "", 0, 0
    try:
        w, h = probe_scan(record.path)
    except EngineError:
        return sha, size, 0
    return sha, size, len(axis_starts(w, patch, stride)) * len(axis_starts(h, patch, stride))


def _plan(records: list[ScanRecord], store: SessionStore, bundle: ModelBundle,
          cancel: CancelToken | None) -> Generator[Progress, None, tuple[list[_Item], int, int]]:
    """Yield hashing progress; return (pending items, stored, duplicates) via StopIteration."""
    g = bundle.grid
    failed_paths = store.failed_paths()
    seen: set[str] = set()
    pending: list[_Item] = []
    stored = dupes = 0
    with ThreadPoolExecutor(max_workers=4) as pool:
        for a in range(0, len(records), 64):
            check(cancel)
            chunk = records[a : a + 64]
            prints = pool.map(lambda r: _fingerprint(r, g.patch, g.stride), chunk)
            for rec, (sha, size, n) in zip(chunk, prints, strict=True):
                if (sha and store.find(sha) is not None) or (not sha and rec.path in failed_paths):
                    stored += 1
                elif sha and sha in seen:
                    dupes += 1
                    log.info("skipping %s: same content as an earlier scan of this batch", rec.path)
                else:
                    seen.add(sha)
                    pending.append(_Item(rec, sha, size, n))
            yield Progress("hash", min(a + 64, len(records)), len(records), "")
    return pending, stored, dupes


def open_session(out: str | Path | SessionStore, bundle: ModelBundle, model_sha256: str) -> SessionStore:
    """Open ``out`` to resume, or create it; a session scored by another model file is refused."""
    if isinstance(out, SessionStore):
        store = out
    elif not Path(out).exists():
        score = bundle.score_head.to_dict() if bundle.score_head is not None else {}
        meta = SessionMeta(bundle.name, model_sha256, bundle.path, bundle.grid, bundle.model_config, score)
        store = SessionStore.create(out, meta, bundle.calibration)  # opens it if another run just made it
    else:
        store = SessionStore.open(out, "a")
    p = store.path
    if store.mode != "a":
        raise SessionFileError(p, "opened read-only: run_batch needs a store opened with mode 'a'")
    if store.meta.model_sha256 != model_sha256:
        if store is not out:
            store.close()
        old = f"{store.meta.model_name} (sha256 {store.meta.model_sha256[:12]}...)"
        raise SessionFileError(p, f"scored with model {old}, not this model file "
                                  f"({model_sha256[:12]}...): use another --out")
    return store


def _read(path: str) -> tuple[Scan, float]:
    t0 = time.perf_counter()
    return read_scan(path), time.perf_counter() - t0


def _entry(item: _Item, **kw: Any) -> ScanEntry:
    r = item.record
    fields: dict[str, Any] = {"path": r.path, "sha256": item.sha256, "size": item.size, "label": r.label,
                              "categories": r.categories, "gt_boxes": r.boxes}
    return ScanEntry(**{**fields, **kw})


def run_batch(data: str | Path | Sequence[ScanRecord], model: ModelBundle | str | Path,
              out: str | Path | SessionStore, device: str = "auto", cancel: CancelToken | None = None, *,
              durable: bool = True, prefetch: int = 2,
              claim: Callable[[str], bool] | None = None) -> Iterator[BatchEvent]:
    """Score every scan of ``data`` into the session ``out``; yields BatchPlanned, Progress
    ("hash" then "batch"), ScanScored / ScanFailed per scan, Warn, and BatchFinished.

    ``out`` is a path (created, or resumed and closed at the end) or a store opened with
    mode "a" that the caller keeps (the GUI shares it to store decisions meanwhile).
    ``claim(path)`` is asked (on this thread) just before a scan is scored: False means another
    scorer sharing the store (the window, for the scan on screen) has it, and this batch leaves it.
    """
    bundle = model if isinstance(model, ModelBundle) else load_model(model)
    model_sha = file_sha256(bundle.path) if bundle.path and Path(bundle.path).is_file() else ""
    records = batch_records(data)
    store = open_session(out, bundle, model_sha)
    if store is not out:
        store.durable = durable
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bagscan-read")
    try:
        pending, stored, dupes = yield from _plan(records, store, bundle, cancel)
        store.reserve(len(pending), sum(i.max_patches for i in pending),
                      sum(len(i.record.boxes) for i in pending),
                      path_bytes=max((len(path_bytes(i.record.path)) for i in pending), default=0),
                      category_bytes=max((len(";".join(i.record.categories).encode()) for i in pending),
                                         default=0))
        yield BatchPlanned(len(records), stored, dupes, len(pending), str(store.path))
        if dupes:
            yield Warn(f"{dupes} scans skipped: same content as another scan of this batch")
        scorer = Scorer(bundle, device=device)
        queue: deque[tuple[_Item, Future[tuple[Scan, float]]]] = deque()
        it = iter(pending)
        scored = failed = 0
        t0 = time.perf_counter()
        for k in range(len(pending)):
            while len(queue) < max(prefetch, 1) and (nxt := next(it, None)) is not None:
                queue.append((nxt, pool.submit(_read, nxt.record.path)))
            check(cancel)
            item, fut = queue.popleft()
            if claim is not None and not claim(item.record.path):
                log.debug("%s is scored elsewhere: left to it", item.record.path)
                yield Progress("batch", k + 1, len(pending), Path(item.record.path).name)
                continue
            entry: ScanEntry | None = None
            try:
                scan, t_read = fut.result()
                r = scorer.score_scan(scan)
                entry = _entry(item, sha256=r.sha256, width=r.width, height=r.height, score=r.score,
                               boxes=r.boxes, scores=r.scores, t_read=t_read, t_score=r.seconds,
                               packed_map=PackedMap.of(r.threat_map) if r.threat_map is not None else None)
                event: ScanScored | ScanFailed = ScanScored(item.record.path, r)
                scored += 1
            except Cancelled:
                raise
            except EngineError as exc:  # a bad file: stored with its reason, never retried
                reason = getattr(exc, "reason", None) or str(exc)
                entry, event = _entry(item, error=reason), ScanFailed(item.record.path, reason)
                failed += 1
            except Exception as exc:  # noqa: BLE001 - not the file's fault: not stored, so a rerun retries it
                log.error("unexpected error on %s: %s: %s", item.record.path, type(exc).__name__, exc)
                log.debug("traceback", exc_info=True)
                reason = f"{type(exc).__name__}: {exc} (not stored; a rerun retries it)"
                event = ScanFailed(item.record.path, reason)
                failed += 1
            if entry is not None and entry.sha256 != item.sha256 and store.find(entry.sha256) is not None:
                log.warning("%s changed while queued, to a scan already stored: not stored twice", entry.path)
            elif entry is not None:
                store.append(entry)
            yield event
            yield Progress("batch", k + 1, len(pending), Path(item.record.path).name)
        yield BatchFinished(scored, failed, len(pending), time.perf_counter() - t0, str(store.path))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if store is not out:
            store.close()
