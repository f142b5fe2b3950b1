"""bagscan's own lock on a session file, independent of HDF5's file locking.

HDF5's locking is often switched off (``HDF5_USE_FILE_LOCKING=FALSE``, common on network
shares), and then two batches on one session both "succeed" while one overwrites the other's
rows. Every writer therefore holds ``.<session>.lock`` beside the file (``flock`` through the
``filelock`` package) from before it creates or opens the session until it closes it; a
second writer is refused at once with a clear message instead of waiting or overwriting.
Readers take no lock: they read committed rows only.
"""

from __future__ import annotations

import logging
from pathlib import Path

from filelock import FileLock, Timeout

from .errors import SessionFileError
from .fsutil import output_error

log = logging.getLogger(__name__)


def lock_path(session: str | Path) -> Path:
    p = Path(session)
    return p.with_name(f".{p.name}.lock")


class SessionLock:
    """Held by the one writer of a session; ``release`` is idempotent and thread-agnostic."""

    def __init__(self, session: str | Path) -> None:
        self.session = Path(session)
        self.path = lock_path(self.session)
        # thread_local=False: the GUI may close a store on another thread than the one that opened it
        self._lock = FileLock(str(self.path), timeout=0, thread_local=False)

    def acquire(self) -> SessionLock:
        try:
            self._lock.acquire()
        except Timeout as exc:
            raise SessionFileError(self.session, "in use by another bagscan process (a batch or the window "
                                                 f"is writing it; lock {self.path.name})") from exc
        except OSError as exc:
            raise output_error(self.session, exc) from exc
        log.debug("locked %s", self.session)
        return self

    def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release(force=True)

    @property
    def held(self) -> bool:
        return bool(self._lock.is_locked)

    def __enter__(self) -> SessionLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

