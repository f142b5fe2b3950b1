"""A batch session as the window runs it, without Qt: where its file goes, and the job that fills it.

:func:`session_events` is the generator a :class:`~app.workers.JobWorker` runs: load the
model, list the folder (off the GUI thread), open or create the session file, hand the
stored results and decisions to the window (:class:`SessionReady`), then ``run_batch``
into the same store, which resumes by content hash. The store is shared with the GUI
thread, which writes decisions into it; :class:`SessionRun` owns it and closes it once.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.assets import is_bundled
from engine.batch import batch_records, open_session, run_batch
from engine.data.io import file_sha256
from engine.data.types import NORMAL, THREAT, ScanRecord
from engine.errors import SessionFileError
from engine.events import CancelToken, Progress
from engine.modelfile import ModelBundle, load_model
from engine.storage import SessionStore, StoredDecision, StoredScan

from .items import FAILED, PENDING, SCORED  # the one set of scan states (screening list and batch table)
from .pipeline import BATCH, ScoreClaims

log = logging.getLogger(__name__)

SESSION_DIR = ".bagscan"  # beside the scans, so a session travels with its folder


@dataclass(frozen=True)
class SessionRequest:
    folder: str | None  # scans to score; None: open ``session`` and score only if its folder is known
    session: str | None  # session file; None: the default one for ``folder`` and the model
    model_path: str | None  # None: show a session without scoring
    device: str = "auto"
    fallback_dir: str = ""  # where sessions go when the folder is not writable


@dataclass(frozen=True)
class SessionReady:
    """The session is open: what it already holds, and whether this run scores the rest."""

    path: str
    where: str  # why the file is where it is, for the status bar
    folder: str | None
    records: list[ScanRecord] | None  # the folder's scans (bad files included), when listed
    stored: list[StoredScan]
    decisions: dict[int, StoredDecision]
    same_model: bool  # scored by the model in use: its results stand for that model's
    resumable: bool  # this run scores the folder's remaining scans
    note: str = ""  # why it does not score, when it does not


@dataclass
class ResultRow:
    """One scan of the results table: what the batch and the officer said about it."""

    path: str
    name: str
    label: str = ""
    categories: tuple[str, ...] = ()
    state: str = PENDING
    score: float | None = None  # None: not scored, failed, or no content patch
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    error: str = ""
    decision: str = ""

    @classmethod
    def of_record(cls, r: ScanRecord) -> ResultRow:
        return cls(r.path, r.name, r.label, r.categories)

    @classmethod
    def of_stored(cls, s: StoredScan) -> ResultRow:
        row = cls(s.path, s.name, s.label, s.categories)
        if s.ok:
            row.set_scores(s.score, s.scores)
        else:
            row.state, row.error = FAILED, s.error
        return row

    def set_scores(self, score: float, scores: np.ndarray) -> None:
        self.state, self.error, self.scores = SCORED, "", scores
        self.score = float(score) if np.isfinite(score) else None

    def set_failed(self, reason: str) -> None:
        self.state, self.error, self.score = FAILED, reason, None

    def n_flagged(self, threshold: float) -> int | None:
        return int(np.count_nonzero(self.scores >= threshold)) if self.state == SCORED else None

    @property
    def category(self) -> str:
        """Ground truth when known: the threat categories, "Threat", "Normal", or ""."""
        if self.label == THREAT:
            return ", ".join(self.categories) or "Threat"
        return "Normal" if self.label == NORMAL else ""


def merge_rows(records: list[ScanRecord] | None, stored: list[StoredScan],
               decisions: dict[int, StoredDecision]) -> list[ResultRow]:
    """The folder's scans in listing order, each replaced by what the session holds about it
    (the latest row per path), then stored scans the listing lacks; latest decision per scan."""
    rows = [ResultRow.of_record(r) for r in records or []]
    index = {os.path.abspath(r.path): i for i, r in enumerate(rows)}
    for s in stored:
        key = os.path.abspath(s.path)
        if key in index:
            rows[index[key]] = ResultRow.of_stored(s)
        else:
            index[key] = len(rows)
            rows.append(ResultRow.of_stored(s))
    paths = {s.index: os.path.abspath(s.path) for s in stored}
    for idx, d in decisions.items():
        if idx in paths:
            rows[index[paths[idx]]].decision = d.decision
    return rows


def record_of(s: StoredScan) -> ScanRecord:
    """The screening queue's record for a stored scan (ground truth as the batch saw it)."""
    return ScanRecord(s.path, s.name, s.label, s.categories, s.gt_boxes)


class SessionRun:
    """The store one job opened, shared by its thread, the GUI thread (decisions) and exports.

    Closed exactly once, by the next job or at shutdown; a borrower (an export reading it in
    its own thread) defers the close until it gives the store back. HDF5 refuses a second,
    read-only handle on a file this process holds for writing, so exports borrow this one.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._store: SessionStore | None = None
        self._closed = False
        self._users = 0
        self.claims = ScoreClaims()  # this run's batch and the window never score the same scan

    @property
    def store(self) -> SessionStore | None:
        with self._lock:
            return self._store

    def adopt(self, store: SessionStore) -> bool:
        with self._lock:
            if not self._closed:
                self._store = store
                return True
        store.close()  # closed before it opened (the window moved on)
        return False

    @contextmanager
    def borrow(self) -> Iterator[SessionStore | None]:
        """The store, kept open until the ``with`` ends; None when closed."""
        with self._lock:
            store = None if self._closed else self._store
            self._users += store is not None
        try:
            yield store
        finally:
            if store is not None:
                with self._lock:
                    self._users -= 1
                    last = self._closed and self._users == 0
                if last:
                    store.close()

    def close(self) -> None:
        with self._lock:
            store, self._store, self._closed = self._store, None, True
            busy = self._users > 0
        if store is not None and not busy:
            store.close()


def _writable_dir(d: Path) -> bool:
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(d, os.W_OK | os.X_OK)


def default_session_path(folder: str | Path, model_name: str, model_sha256: str,
                         fallback_dir: str | Path) -> tuple[Path, str]:
    """``<folder>/.bagscan/session-<model>-<sha8>.h5``, else the per-user data dir; and a note why.

    The model's hash is in the name because a session belongs to one model file: another
    model starts its own session instead of being refused.
    """
    name = f"session-{model_name}-{model_sha256[:8]}.h5"
    beside = Path(folder) / SESSION_DIR
    if is_bundled(folder):  # the demo scans are part of the install: never write there
        where = "in the user data folder (the scans are part of the bagscan install)"
    elif _writable_dir(beside):
        return beside / name, "beside the scans"
    else:
        where = "in the user data folder (the scan folder is not writable)"
    key = hashlib.sha1(str(Path(folder).resolve()).encode()).hexdigest()[:8]
    d = Path(fallback_dir) / "sessions" / f"{Path(folder).name}-{key}"
    log.warning("session for %s goes to %s: %s", folder, d, where)
    return d / name, where


def source_folder(session: str | Path) -> str | None:
    """The scan folder of a session kept beside its scans, else None (it cannot be resumed alone)."""
    p = Path(session)
    return str(p.parent.parent) if p.parent.name == SESSION_DIR and p.parent.parent.is_dir() else None


def is_session_file(path: str | Path) -> bool:
    """A bagscan session rather than a model file (both are .h5)."""
    try:
        SessionStore.open(path, "r").close()
    except (SessionFileError, OSError):
        return False
    return True


def session_model_path(session: str | Path) -> str:
    """The model file a session was scored with, as recorded; "" when unreadable."""
    try:
        with SessionStore.open(session, "r") as s:
            return s.meta.model_path
    except (SessionFileError, OSError) as exc:
        log.debug("cannot read the model of %s: %s", session, exc)
        return ""


def model_to_load(session: str | Path, current: str | None) -> str | None:
    """The model file to load before reopening ``session``: the one that scored it, if not in use."""
    recorded = session_model_path(session)
    if not recorded or not Path(recorded).is_file():
        return None
    if current and Path(current).resolve() == Path(recorded).resolve():
        return None
    return recorded


def _open(path: Path, bundle: ModelBundle | None, sha: str) -> tuple[SessionStore, bool, str]:
    """(store, same model, note): a session of another model opens for viewing and decisions only."""
    if bundle is not None:
        try:
            return open_session(path, bundle, sha), True, ""
        except SessionFileError as exc:
            if not path.is_file() or "model" not in exc.reason:
                raise
    store = SessionStore.open(path, "a")
    m = store.meta
    return store, False, f"scored with {m.model_name} ({m.model_path}): choose that model to score the rest"


def session_events(req: SessionRequest, run: SessionRun, previous: list[SessionRun],
                   cancel: CancelToken) -> Iterator[Any]:
    """Close the previous sessions, open this one, yield :class:`SessionReady`, then batch events."""
    for old in previous:
        old.close()  # their threads have ended (JobWorker waits for them): nothing else writes them
    bundle = load_model(req.model_path) if req.model_path else None
    sha = file_sha256(bundle.path) if bundle is not None and Path(bundle.path).is_file() else ""
    folder = req.folder or (source_folder(req.session) if req.session else None)
    if req.session:
        path, where = Path(req.session), "opened"
    elif folder is not None and bundle is not None:
        path, where = default_session_path(folder, bundle.name, sha, req.fallback_dir)
    else:
        raise SessionFileError(folder or "", "no model to score with and no session file given")
    records = None
    if folder is not None:
        yield Progress("list", 0, 0, folder)
        records = batch_records(folder)  # bad files included: they become error rows
    store, same, note = _open(path, bundle, sha)
    if not run.adopt(store):
        return
    resumable = same and records is not None and bundle is not None
    if same and records is None:
        note = "the scan folder is unknown: open it to score the rest"
    yield SessionReady(str(path), where, folder, records, list(store.iter_results()), store.get_decisions(),
                       same, resumable, note)
    if resumable and records is not None and bundle is not None:
        yield from run_batch(records, bundle, store, device=req.device, cancel=cancel,
                             claim=lambda path: run.claims.take(path, BATCH))
