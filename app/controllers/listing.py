"""Listing what the user opened into scan records, without Qt, so it can run off the GUI thread.

A SIXray root holds a million scans and a network folder answers slowly: listing either on
the GUI thread would freeze the window. :func:`listing_events` is the generator a
:class:`~app.workers.JobWorker` runs for folders; a few named files are listed in place
(one probe each), so the window knows at once whether anything opened.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from engine.data import load_dataset
from engine.data.sixray import parse_voc
from engine.data.types import THREAT, ScanRecord
from engine.errors import EngineError
from engine.events import CancelToken

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Listing:
    """The scans found under ``paths``, and the files that could not be read (path, reason)."""

    paths: tuple[str, ...]
    records: list[ScanRecord] = field(default_factory=list)
    bad: list[tuple[str, str]] = field(default_factory=list)


def needs_worker(paths: Sequence[str]) -> bool:
    """Folders are listed on a job thread; named files are cheap enough to list in place."""
    return any(Path(p).is_dir() for p in paths)


def list_scans(paths: Sequence[str]) -> Listing:
    """Every scan under ``paths`` (files, folders, SIXray roots); an unreadable path is a bad file."""
    out = Listing(tuple(str(p) for p in paths))
    for p in out.paths:
        try:
            ds = load_dataset(p)
        except EngineError as exc:
            out.bad.append((p, str(getattr(exc, "reason", None) or exc)))
            continue
        out.records.extend([with_voc_beside(r) for r in ds.records] if ds.layout == "file" else ds.records)
        out.bad.extend((b.path, b.reason) for b in ds.bad_files)
    return out


def listing_events(paths: Sequence[str], token: CancelToken) -> Iterator[Listing]:
    """The job a :class:`~app.workers.JobWorker` runs: one :class:`Listing`, unless cancelled first."""
    token.raise_if_cancelled()
    yield list_scans(paths)


def with_voc_beside(record: ScanRecord) -> ScanRecord:
    """A scan opened on its own keeps the ground truth of a VOC file beside it (as folders do)."""
    xml = Path(record.path).with_suffix(".xml")
    if record.boxes or not xml.is_file():
        return record
    try:
        boxes = parse_voc(xml)
    except EngineError as exc:
        log.warning("ignoring ground truth: %s", exc)
        return record
    cats = tuple(dict.fromkeys(b.category for b in boxes))
    return replace(record, boxes=boxes, label=THREAT if boxes else record.label, categories=cats)
