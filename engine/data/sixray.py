"""SIXray's official layout: JPEGImage/, positive-Annotation/ VOC XML, ImageSet/*.csv.

Class names are matched case-insensitively and reported capitalised; boxes are
floats; a label value is 1 present, -1 absent, 0 unknown.
"""

from __future__ import annotations

import csv
import logging
import xml.etree.ElementTree as ET
from pathlib import Path

from ..errors import AnnotationError
from .types import CATEGORIES, Box, canonical_category

log = logging.getLogger(__name__)

IMAGE_DIRS = ("JPEGImage", "JPEGImages", "images")
ANNOTATION_DIRS = ("positive-Annotation", "Annotation", "Annotations")
IMAGESET_DIR = "ImageSet"


def find_dir(root: Path, names: tuple[str, ...]) -> Path | None:
    for name in names:
        if (root / name).is_dir():
            return root / name
    return None


def is_sixray_root(root: Path) -> bool:
    return find_dir(root, IMAGE_DIRS) is not None and (
        find_dir(root, ANNOTATION_DIRS) is not None or (root / IMAGESET_DIR).is_dir()
    )


def parse_voc(path: str | Path) -> tuple[Box, ...]:
    """Boxes of one VOC XML file; raises AnnotationError naming the file."""
    p = Path(path)
    try:
        tree = ET.parse(p)
    except (ET.ParseError, OSError) as exc:
        raise AnnotationError(p, f"malformed XML ({exc})") from exc
    boxes = []
    for obj in tree.getroot().iter("object"):
        name = (obj.findtext("name") or "").strip()
        bb = obj.find("bndbox")
        if bb is None:
            raise AnnotationError(p, f"object {name!r} has no bndbox")
        try:
            x0, y0, x1, y1 = (float(bb.findtext(k) or "nan") for k in ("xmin", "ymin", "xmax", "ymax"))
        except ValueError as exc:
            raise AnnotationError(p, f"non-numeric box coordinate ({exc})") from exc
        if not (x1 > x0 and y1 > y0):
            raise AnnotationError(p, f"empty or inverted box {x0},{y0},{x1},{y1}")
        boxes.append(Box(canonical_category(name), x0, y0, x1, y1))
    return tuple(boxes)


def parse_imageset_csv(path: str | Path) -> dict[str, dict[str, int]]:
    """``name -> {Category: 1|-1|0}`` from a SIXray label CSV."""
    p = Path(path)
    labels: dict[str, dict[str, int]] = {}
    try:
        with open(p, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if not header or header[0].strip().lower() != "name":
                raise AnnotationError(p, "header must start with 'name'")
            cats = [canonical_category(h) for h in header[1:]]
            for lineno, row in enumerate(reader, start=2):
                if not row or not row[0].strip():
                    continue
                if len(row) != len(header):
                    raise AnnotationError(p, f"line {lineno}: {len(row)} fields, header has {len(header)}")
                try:
                    values = [int(float(v)) for v in row[1:]]
                except ValueError as exc:
                    raise AnnotationError(p, f"line {lineno}: {exc}") from exc
                labels[row[0].strip()] = dict(zip(cats, values, strict=True))
    except OSError as exc:
        raise AnnotationError(p, str(exc)) from exc
    except UnicodeDecodeError as exc:
        raise AnnotationError(p, f"not UTF-8 text ({exc})") from exc
    return labels


def write_voc(path: str | Path, filename: str, width: int, height: int, boxes: tuple[Box, ...] | list[Box],
              depth: int = 3, extra: dict[str, dict[str, str]] | None = None) -> None:
    """Write VOC XML the way SIXray and labelling tools (labelImg, CVAT) read it."""
    from ..fsutil import atomic_write_bytes

    ann = ET.Element("annotation")
    ET.SubElement(ann, "folder").text = "JPEGImage"
    ET.SubElement(ann, "filename").text = filename
    size = ET.SubElement(ann, "size")
    for k, v in (("width", width), ("height", height), ("depth", depth)):
        ET.SubElement(size, k).text = str(v)
    ET.SubElement(ann, "segmented").text = "0"
    for i, b in enumerate(boxes):
        obj = ET.SubElement(ann, "object")
        ET.SubElement(obj, "name").text = b.category
        ET.SubElement(obj, "pose").text = "Unspecified"
        ET.SubElement(obj, "truncated").text = "0"
        ET.SubElement(obj, "difficult").text = "0"
        for key, text in ((extra or {}).get(str(i), {})).items():
            ET.SubElement(obj, key).text = text
        bb = ET.SubElement(obj, "bndbox")
        for key, coord in (("xmin", b.x0), ("ymin", b.y0), ("xmax", b.x1), ("ymax", b.y1)):
            ET.SubElement(bb, key).text = f"{coord:.3f}"
    ET.indent(ann, space="\t")
    atomic_write_bytes(path, ET.tostring(ann, encoding="utf-8"))


__all__ = ["CATEGORIES", "is_sixray_root", "parse_imageset_csv", "parse_voc", "write_voc"]
