"""Write scans in SIXray's layout, so every reader of real SIXray reads ours unchanged.

``JPEGImage/`` holds ``P#####.jpg`` (threat) and ``N#######.jpg`` (threat-free),
``positive-Annotation/`` a VOC XML per threat scan, ``ImageSet/all.csv`` the
labels ``name,Gun,Knife,Wrench,Pliers,Scissors,Hammer`` with 1 / -1. Anything
else a job wants to remember (a TIP scan's host) goes into a side JSON, because
SIXray's CSV columns are categories only.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from ..data.sixray import write_voc
from ..data.types import CATEGORIES, Box
from ..errors import DatasetError
from ..fsutil import atomic_write, atomic_write_bytes
from .render import JPEG_QUALITY, encode_jpeg

log = logging.getLogger(__name__)

IMAGES, ANNOTATIONS, IMAGESET = "JPEGImage", "positive-Annotation", "ImageSet"
LABELS_CSV = "all.csv"


class SixrayWriter:
    """Adds scans one by one; :meth:`close` writes the label CSV (and the side JSON, if any)."""

    def __init__(self, root: str | Path, quality: int = JPEG_QUALITY, side_json: str | None = None) -> None:
        self.root = Path(root)
        images = self.root / IMAGES
        if images.is_dir() and any(images.iterdir()):
            raise DatasetError(f"{images}: already holds scans; choose an empty or new output folder")
        if self.root.exists() and not self.root.is_dir():
            raise DatasetError(f"{self.root}: exists and is not a folder")
        for sub in (IMAGES, ANNOTATIONS, IMAGESET):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.quality = int(quality)
        self.side_json = side_json
        self.rows: list[tuple[str, set[str]]] = []
        self.extra: dict[str, Any] = {}
        self._n_threat = 0
        self._n_normal = 0
        self.bytes_written = 0

    def add(
        self, rgb: np.ndarray, boxes: list[Box] | tuple[Box, ...], extra: dict[str, Any] | None = None
    ) -> str:
        """Write one scan (float [0, 1] or uint8 RGB); threat when it has boxes. Returns its name."""
        if boxes:
            self._n_threat += 1
            name = f"P{self._n_threat:05d}"
        else:
            self._n_normal += 1
            name = f"N{self._n_normal:07d}"
        data = encode_jpeg(rgb, self.quality)
        atomic_write_bytes(self.root / IMAGES / f"{name}.jpg", data)
        self.bytes_written += len(data)
        if boxes:
            h, w = rgb.shape[:2]
            write_voc(self.root / ANNOTATIONS / f"{name}.xml", f"{name}.jpg", w, h, tuple(boxes))
        self.rows.append((name, {b.category for b in boxes}))
        if extra is not None:
            self.extra[name] = extra
        return name

    @property
    def n_threat(self) -> int:
        return self._n_threat

    @property
    def n_normal(self) -> int:
        return self._n_normal

    def close(self) -> None:
        with atomic_write(self.root / IMAGESET / LABELS_CSV) as fh:
            fh.write("name," + ",".join(CATEGORIES) + "\n")
            for name, cats in self.rows:
                fh.write(name + "," + ",".join("1" if c in cats else "-1" for c in CATEGORIES) + "\n")
        if self.side_json:
            with atomic_write(self.root / self.side_json) as fh:
                json.dump(self.extra, fh, indent=1, sort_keys=True)
                fh.write("\n")
        log.info(
            "wrote %d scans (%d threat, %d threat-free) to %s",
            len(self.rows),
            self._n_threat,
            self._n_normal,
            self.root,
        )

    def __enter__(self) -> SixrayWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.close()  # a cancelled job still leaves a readable dataset of what it wrote


def parse_size(text: str) -> tuple[int, int]:
    """'1268x1038' -> (1268, 1038); raises ValueError on anything else."""
    parts = text.lower().replace("*", "x").split("x")
    if len(parts) != 2:
        raise ValueError(f"size must be WIDTHxHEIGHT, not {text!r}")
    w, h = (int(p) for p in parts)
    if w < 32 or h < 32 or w * h > 64_000_000:
        raise ValueError(f"size {w}x{h} is out of range (32x32 to 64 MP)")
    return w, h
