"""Writing files safely: whole or absent, with the user's umask, checked before the work starts.

Every temporary file is named ``.<target>.<host>-<pid>.<random>.tmp`` beside its target, so a
later run can tell a leftover of a killed process (removed) from the file another running
process is writing right now (kept). Every OSError of a write becomes an :class:`OutputError`
naming the file and the reason in words (disk full, read-only, permission denied).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .errors import OutputError

log = logging.getLogger(__name__)

_HOST = socket.gethostname().replace(".", "_").replace("-", "_") or "host"
_UMASK_LOCK = threading.Lock()
_SWEPT: set[Path] = set()
#: A leftover from another host is removed only when older than this (its owner cannot be asked).
FOREIGN_TMP_AGE_S = 24 * 3600
#: Room kept free beyond a write's own estimate (metadata, the file system's reserve).
MARGIN_BYTES = 1 << 20

REASONS = {errno.ENOSPC: "disk full (no space left on device)", errno.EDQUOT: "disk quota exceeded",
           errno.EROFS: "read-only file system", errno.EACCES: "permission denied",
           errno.EPERM: "permission denied", errno.ENOENT: "no such file or folder",
           errno.ENOTDIR: "a path component is not a folder", errno.EISDIR: "is a folder",
           errno.ENAMETOOLONG: "file name too long", errno.ELOOP: "symbolic link loop"}


def reason(exc: OSError) -> str:
    """An OSError in words, without the traceback's noise."""
    return REASONS.get(exc.errno or 0, exc.strerror or str(exc))


def output_error(path: str | Path, exc: OSError) -> OutputError:
    return OutputError(path, f"cannot write: {reason(exc)}")


def umask() -> int:
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def temp_prefix(target: Path) -> str:
    return f".{target.name}.{_HOST}-{os.getpid()}."


def temp_beside(target: str | Path, directory: bool = False) -> str:
    """A new temporary file (or folder) beside ``target``, with the mode the umask gives; leftovers of
    ``target`` from killed processes are removed first (once per target and process)."""
    p = Path(target)
    if p not in _SWEPT:
        _SWEPT.add(p)
        sweep_stale(p)
    if directory:
        tmp = tempfile.mkdtemp(prefix=temp_prefix(p), suffix=".tmp", dir=p.parent)
        os.chmod(tmp, 0o777 & ~umask())
        return tmp
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(p), suffix=".tmp", dir=p.parent)
    try:
        os.fchmod(fd, 0o666 & ~umask())  # mkstemp makes 0600; a team's reports follow the umask
    finally:
        os.close(fd)
    return tmp


def _owner_gone(name: str, target: str, age: float) -> bool:
    """A leftover's owner is gone: its pid is dead on this host, or (old files) unknown."""
    rest = name[len(target) + 2 :]  # after ".<target>."
    host, _, pid = rest.split(".", 1)[0].rpartition("-")
    if host == _HOST and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, another user's
            return False
        return False
    return age > FOREIGN_TMP_AGE_S


def sweep_stale(target: str | Path) -> int:
    """Remove temporaries of ``target`` left by killed processes; returns how many went."""
    p = Path(target)
    n = 0
    try:
        entries = list(p.parent.glob(f".{p.name}.*.tmp"))
    except OSError:
        return 0
    now = time.time()
    for t in entries:
        try:
            if not _owner_gone(t.name, p.name, now - t.lstat().st_mtime):
                continue
            shutil.rmtree(t) if t.is_dir() and not t.is_symlink() else t.unlink()
            n += 1
            log.info("removed %s, left by a process that is gone", t)
        except OSError:
            continue
    return n


def free_bytes(folder: str | Path) -> int:
    return shutil.disk_usage(folder).free


def check_free(path: str | Path, need: int) -> None:
    """Refuse a write of about ``need`` bytes beside ``path`` when the disk cannot take it."""
    p = Path(path)
    try:
        free = free_bytes(p.parent if not p.is_dir() else p)
    except OSError:
        return
    if free < need + MARGIN_BYTES:
        raise OutputError(p, f"disk full: {free / 1e6:.1f} MB free, about {(need + MARGIN_BYTES) / 1e6:.1f} MB "
                             "needed")


def check_writable(path: str | Path, folder: bool = False) -> None:
    """Before the work starts: can ``path`` (a file, or with ``folder`` a folder) be created here?

    Tries what the write will do (create the missing folders, create a file beside the target),
    so read-only mounts, /proc and permissions are all caught, root or not. Leaves nothing behind.
    """
    p = Path(path)
    if p.exists() and p.is_dir() != folder:
        raise OutputError(p, "is a folder, not a file" if not folder else "exists and is not a folder")
    parent = p if folder else p.parent
    created: list[Path] = []
    try:
        d = parent
        while not d.exists():
            created.append(d)
            d = d.parent
        if not d.is_dir():
            raise OutputError(p, f"cannot write: {d} is not a folder")
        parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=temp_prefix(p if not folder else p / "x"), suffix=".tmp", dir=parent)
        os.close(fd)
        os.unlink(probe)
        if not folder and p.exists() and not os.access(p, os.W_OK):
            raise OutputError(p, "cannot write: permission denied")
    except OSError as exc:
        if exc.errno == errno.ENOENT and parent.is_dir():  # /proc and the like: a folder, but no new files
            raise OutputError(p, f"cannot write: {parent} does not take new files") from exc
        raise output_error(p, exc) from exc
    finally:
        for d in created:
            with contextlib.suppress(OSError):
                d.rmdir()


def fsync_dir(p: Path) -> None:
    try:
        fd = os.open(p, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def publish(tmp: str | Path, target: str | Path) -> None:
    """Rename a finished temporary over ``target`` and make the rename durable."""
    try:
        os.replace(tmp, target)
    except OSError as exc:
        raise output_error(target, exc) from exc
    fsync_dir(Path(target).parent)


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """Write to a temporary file beside ``path``, fsync, then rename over it."""
    p = Path(path)
    tmp = None
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_beside(p)
        binary = "b" in mode
        with open(tmp, mode, encoding=None if binary else encoding) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        publish(tmp, p)
    except OSError as exc:
        raise output_error(p, exc) from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_write(path, "wb") as fh:
        fh.write(data)
