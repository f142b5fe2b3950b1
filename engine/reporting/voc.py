"""Flagged regions as Pascal VOC, in the layout labelling tools (labelImg, CVAT) and SIXray use.

``DIR/Annotations/<scan>.xml`` holds one object per region (class ``Anomaly`` unless mapped), with its scores in
extra fields that parsers ignore; ``DIR/JPEGImages/`` holds the scans themselves (hard links
where the file system allows) and ``DIR/ImageSets/Main/default.txt`` lists them, so an
investigator opens DIR, corrects the boxes and class names, and the folder loads back
through :func:`engine.data.load_dataset` as training or calibration data.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from ..data.sixray import write_voc
from ..data.types import Box
from ..fsutil import atomic_write
from .flagged import ANOMALY, FlaggedScan, region_class
from .staging import staged_dir, unique_stem

log = logging.getLogger(__name__)

IMAGES = "JPEGImages"


def _place_image(src: Path, dest: Path) -> bool:
    if not src.is_file():
        log.warning("%s: scan file not found; its VOC file is written without the image", src)
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dest)
    except OSError:
        shutil.copy2(src, dest)
    return True


def write_voc_dir(out_dir: str | Path, flagged: Iterable[FlaggedScan], images: bool = True,
                  class_name: str = ANOMALY) -> int:
    """One VOC XML per flagged scan; returns the number of XML files.

    Boxes are whole 1-based pixels, last pixel included (the devkit's convention); ``<folder>`` is
    ``JPEGImages``, where the scans are placed; ``class_name`` is the class of every region, or
    ``"truth"`` for the ground-truth category a region overlaps (``Anomaly`` where there is none).
    """
    used: set[str] = set()
    stems: list[str] = []
    with staged_dir(out_dir) as tmp:
        for f in flagged:
            s = f.scan
            stem = unique_stem(s.name, used, s.index)
            suffix = Path(s.path).suffix.lower() or ".jpg"
            boxes = [Box(region_class(f, i, class_name), *(float(v) for v in r.box))
                     for i, r in enumerate(f.regions)]
            extra = {str(i): {"score": f"{r.max_score:.6f}", "mean_score": f"{r.mean_score:.6f}",
                              "n_patches": str(r.n_patches)} for i, r in enumerate(f.regions)}
            write_voc(tmp / "Annotations" / f"{stem}.xml", f"{stem}{suffix}", s.width, s.height, boxes,
                      extra=extra, folder=IMAGES, integer=True)
            if images:
                _place_image(Path(s.path), tmp / IMAGES / f"{stem}{suffix}")
            stems.append(stem)
        with atomic_write(tmp / "ImageSets" / "Main" / "default.txt") as fh:
            fh.write("".join(f"{s}\n" for s in stems))
    return len(stems)
