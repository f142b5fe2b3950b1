"""Listing the image files of a folder, with every entry it cannot use reported, never skipped silently.

A folder on a real desk or share holds more than images: subfolders nobody may read, symbolic
links to files that moved, links that loop, a folder named ``x.jpg``. Each of these becomes a
:class:`BadFile` with its reason, so ``bagscan info`` and a batch show it. Recursive listing follows
links to folders, once: a folder reached again is a loop and is reported, not walked forever.
"""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

from .io import IMAGE_SUFFIXES
from .types import BadFile

log = logging.getLogger(__name__)


def _why(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied (the folder is not readable)"
    if exc.errno == errno.ELOOP:
        return "symbolic link loop"
    return exc.strerror or str(exc)


def _entries(folder: Path, bad: list[BadFile]) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as it:
            return sorted(it, key=lambda e: e.name)
    except OSError as exc:
        bad.append(BadFile(str(folder), _why(exc)))
        log.warning("%s: %s", folder, _why(exc))
        return []


def subfolders(folder: Path) -> dict[str, Path]:
    """Subfolders by lower-case name (an unreadable root is reported when its images are listed)."""
    out: dict[str, Path] = {}
    for e in _entries(folder, []):
        try:
            if e.is_dir():
                out[e.name.lower()] = Path(e.path)
        except OSError:
            continue
    return out


def image_files(folder: Path, bad: list[BadFile], recursive: bool = False) -> list[Path]:
    """Image files (by suffix) in ``folder``; unusable entries go into ``bad`` with their reason."""
    out: list[Path] = []
    seen: set[tuple[int, int]] = set()

    def walk(d: Path) -> None:
        try:
            st = d.stat()
        except OSError as exc:
            bad.append(BadFile(str(d), _why(exc)))
            return
        if (st.st_dev, st.st_ino) in seen:
            bad.append(BadFile(str(d), "symbolic link loop (folder already listed)"))
            return
        seen.add((st.st_dev, st.st_ino))
        for e in _entries(d, bad):
            p = Path(e.path)
            image = p.suffix.lower() in IMAGE_SUFFIXES
            try:
                is_dir, is_file = e.is_dir(), e.is_file()
            except OSError as exc:
                if image:
                    bad.append(BadFile(str(p), _why(exc)))
                continue
            if e.is_symlink() and not is_dir and not is_file:
                if image or recursive:
                    bad.append(BadFile(str(p), _broken_link(p)))
                continue
            if is_dir:
                if recursive:
                    walk(p)
                elif image:
                    bad.append(BadFile(str(p), "a folder, not an image file"))
            elif is_file and image:
                out.append(p)

    walk(folder)
    return sorted(out)


def _broken_link(p: Path) -> str:
    try:
        p.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop"
        if exc.errno == errno.ENOENT:
            return f"dangling symbolic link (to {os.readlink(p)}, which does not exist)"
        return _why(exc)
    return "not a regular file"
