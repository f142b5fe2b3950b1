"""One entry point, :func:`load_dataset`, for SIXray roots and plain folders.

Bad files never stop a load: each is recorded in ``Dataset.bad_files`` with
its path and reason, and the load goes on.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import AnnotationError, DatasetError, ScanReadError
from . import sixray
from .folders import image_files, subfolders
from .io import probe_scan
from .types import CATEGORIES, NORMAL, THREAT, UNKNOWN, BadFile, Box, ScanRecord

log = logging.getLogger(__name__)

__all__ = ["CATEGORIES", "BadFile", "Box", "Dataset", "ScanRecord", "load_dataset"]


@dataclass
class Dataset:
    root: str
    records: list[ScanRecord]
    bad_files: list[BadFile] = field(default_factory=list)
    layout: str = "folder"

    def __len__(self) -> int:
        return len(self.records)

    @property
    def threats(self) -> list[ScanRecord]:
        return [r for r in self.records if r.label == THREAT]

    @property
    def normals(self) -> list[ScanRecord]:
        return [r for r in self.records if r.label == NORMAL]

    def summary(self) -> dict[str, Any]:
        """The exact keys of ``bagscan info --json``."""
        cats: Counter[str] = Counter()
        for r in self.records:
            cats.update(set(r.categories))
        labels = Counter(r.label for r in self.records)
        return {
            "n_scans": len(self.records),
            "n_threat": labels[THREAT],
            "n_normal": labels[NORMAL],
            "n_unknown": labels[UNKNOWN],
            "categories": {c: cats[c] for c in sorted(cats, key=_cat_order)},
            "n_boxes": sum(len(r.boxes) for r in self.records),
            "bad_files": [{"path": b.path, "reason": b.reason} for b in self.bad_files],
        }


def _cat_order(c: str) -> tuple[int, str]:
    return (CATEGORIES.index(c) if c in CATEGORIES else len(CATEGORIES), c)


def _probe(path: Path, bad: list[BadFile], verify: bool) -> bool:
    if not verify:
        return True
    try:
        probe_scan(path)
        return True
    except ScanReadError as exc:
        log.warning("skipping %s", exc)
        bad.append(BadFile(str(path), exc.reason))
        return False


def _label_from(name: str, csv_labels: dict[str, int] | None,
                boxes: tuple[Box, ...]) -> tuple[str, tuple[str, ...]]:
    """CSV labels win; else boxes; else SIXray's P*/N* naming; else unknown."""
    cats: set[str] = {b.category for b in boxes}
    if csv_labels is not None:
        cats |= {c for c, v in csv_labels.items() if v == 1}
        if cats:
            return THREAT, tuple(sorted(cats, key=_cat_order))
        if all(v == -1 for v in csv_labels.values()):
            return NORMAL, ()
        return UNKNOWN, ()
    if cats:
        return THREAT, tuple(sorted(cats, key=_cat_order))
    if name[:1] == "P":
        return THREAT, ()
    if name[:1] == "N":
        return NORMAL, ()
    return UNKNOWN, ()


def _load_sixray(root: Path, verify: bool) -> Dataset:
    img_dir = sixray.find_dir(root, sixray.IMAGE_DIRS)
    assert img_dir is not None
    ann_dir = sixray.find_dir(root, sixray.ANNOTATION_DIRS)
    bad: list[BadFile] = []
    labels: dict[str, dict[str, int]] = {}
    set_dir = root / sixray.IMAGESET_DIR
    for csv_path in sorted(set_dir.glob("*.csv")) if set_dir.is_dir() else []:
        try:
            labels.update(sixray.parse_imageset_csv(csv_path, bad))
        except AnnotationError as exc:
            bad.append(BadFile(exc.path, exc.reason))
    images = {p.stem: p for p in image_files(img_dir, bad)}
    for name in sorted(set(labels) - set(images)):
        bad.append(BadFile(str(img_dir / f"{name}.jpg"), f"listed in {sixray.IMAGESET_DIR}/ but no image file"))
    records = []
    for name, path in images.items():
        if not _probe(path, bad, verify):
            continue
        boxes: tuple[Box, ...] = ()
        xml = ann_dir / f"{name}.xml" if ann_dir else None
        if xml is not None and xml.is_file():
            try:
                boxes = sixray.parse_voc(xml)
            except AnnotationError as exc:
                bad.append(BadFile(exc.path, exc.reason))
        label, cats = _label_from(name, labels.get(name) if labels else None, boxes)
        records.append(ScanRecord(str(path), name, label, cats, boxes))
    return Dataset(str(root), records, bad, layout="sixray")


def _boxes_beside(image: Path, bad: list[BadFile]) -> tuple[Box, ...]:
    """Boxes from a VOC XML of the same stem beside an image; a bad XML is reported, not fatal."""
    xml = image.with_suffix(".xml")
    if not xml.is_file():
        return ()
    try:
        return sixray.parse_voc(xml)
    except AnnotationError as exc:
        bad.append(BadFile(exc.path, exc.reason))
        return ()


def _load_folder(root: Path, verify: bool) -> Dataset:
    bad: list[BadFile] = []
    records = []
    sub = subfolders(root)
    groups: list[tuple[Path, str | None]]
    if "normal" in sub or "threat" in sub:
        groups = [(sub[k], lbl) for k, lbl in (("normal", NORMAL), ("threat", THREAT)) if k in sub]
        recursive = True
    else:
        groups, recursive = [(root, None)], False
    for folder, forced in groups:
        for path in image_files(folder, bad, recursive):
            if not _probe(path, bad, verify):
                continue
            boxes = _boxes_beside(path, bad)
            if forced is None:
                label, cats = _label_from(path.stem, None, boxes) if boxes else (UNKNOWN, ())
            else:
                label = forced
                cats = tuple(sorted({b.category for b in boxes}, key=_cat_order))
            records.append(ScanRecord(str(path), path.stem, label, cats, boxes))
    return Dataset(str(root), records, bad, layout="folder")


def load_dataset(path: str | Path, verify: bool = True) -> Dataset:
    """Load a SIXray root, a folder (optionally with normal/ and threat/), or one image.

    ``verify`` checks each image's header and trailer (no decoding), so
    truncated and non-image files land in ``bad_files`` instead of failing later.
    """
    p = Path(path)
    try:
        return _load(p, verify)
    except OSError as exc:  # the root itself cannot be looked at (no search permission on a parent)
        raise DatasetError(f"{p}: {exc.strerror or exc}") from exc


def _load(p: Path, verify: bool) -> Dataset:
    if p.is_file():
        bad: list[BadFile] = []
        recs = []
        if _probe(p, bad, verify):
            boxes = _boxes_beside(p, bad)
            label, cats = _label_from(p.stem, None, boxes) if boxes else (UNKNOWN, ())
            recs = [ScanRecord(str(p), p.stem, label, cats, boxes)]
        return Dataset(str(p), recs, bad, layout="file")
    if not p.is_dir():
        raise DatasetError(f"{p}: no such file or folder")
    ds = _load_sixray(p, verify) if sixray.is_sixray_root(p) else _load_folder(p, verify)
    if not ds.records and not ds.bad_files:
        raise DatasetError(f"{p}: no scans found (expected images, a SIXray root, or normal/ and threat/)")
    log.info("loaded %d scans from %s (%s layout, %d bad files)", len(ds), p, ds.layout, len(ds.bad_files))
    return ds
