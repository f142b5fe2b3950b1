"""SIXray's official layout: JPEGImage/, positive-Annotation/ VOC XML, ImageSet/*.csv.

Class names are matched case-insensitively and reported capitalised; boxes are
floats; a label value is 1 present, -1 absent, 0 unknown.
"""

from __future__ import annotations

import csv
import logging
import math
import xml.etree.ElementTree as ET
from pathlib import Path

from ..errors import AnnotationError
from .types import CATEGORIES, BadFile, Box, canonical_category

log = logging.getLogger(__name__)

IMAGE_DIRS = ("JPEGImage", "JPEGImages", "images")
ANNOTATION_DIRS = ("positive-Annotation", "Annotation", "Annotations")
IMAGESET_DIR = "ImageSet"


def find_dir(root: Path, names: tuple[str, ...]) -> Path | None:
    for name in names:
        try:
            if (root / name).is_dir():
                return root / name
        except OSError:  # not even stat-able (a root without search permission): not this layout
            continue
    return None


def is_sixray_root(root: Path) -> bool:
    return find_dir(root, IMAGE_DIRS) is not None and (
        find_dir(root, ANNOTATION_DIRS) is not None or find_dir(root, (IMAGESET_DIR,)) is not None
    )


def parse_voc(path: str | Path) -> tuple[Box, ...]:
    """Boxes of one VOC XML file; raises AnnotationError naming the file.

    A box reaching outside the image (or below 0) is clipped to it, with a warning naming the file;
    a coordinate that is not a finite number is an error.
    """
    p = Path(path)
    try:
        tree = ET.parse(p)
    except (ET.ParseError, OSError) as exc:
        raise AnnotationError(p, f"malformed XML ({exc})") from exc
    root = tree.getroot()
    width, height = _size(root)
    boxes = []
    for obj in root.iter("object"):
        name = (obj.findtext("name") or "").strip()
        bb = obj.find("bndbox")
        if bb is None:
            raise AnnotationError(p, f"object {name!r} has no bndbox")
        try:
            x0, y0, x1, y1 = (float(bb.findtext(k) or "nan") for k in ("xmin", "ymin", "xmax", "ymax"))
        except ValueError as exc:
            raise AnnotationError(p, f"non-numeric box coordinate ({exc})") from exc
        if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
            raise AnnotationError(p, f"box coordinate not finite: {x0},{y0},{x1},{y1}")
        cx0, cy0 = max(x0, 0.0), max(y0, 0.0)
        cx1, cy1 = min(x1, width) if width else x1, min(y1, height) if height else y1
        if (cx0, cy0, cx1, cy1) != (x0, y0, x1, y1) and cx1 > cx0 and cy1 > cy0:
            log.warning("%s: box %g,%g,%g,%g of %r lies partly outside the %s image: clipped to %g,%g,%g,%g",
                        p, x0, y0, x1, y1, name, f"{width:g}x{height:g}" if width and height else "stated",
                        cx0, cy0, cx1, cy1)
        if not (cx1 > cx0 and cy1 > cy0):
            what = "outside the image" if x1 > x0 and y1 > y0 else "empty or inverted box"
            raise AnnotationError(p, f"{what}: {x0:g},{y0:g},{x1:g},{y1:g}")
        boxes.append(Box(canonical_category(name), cx0, cy0, cx1, cy1))
    return tuple(boxes)


def _size(root: ET.Element) -> tuple[float, float]:
    """The image size the XML states (0 where it states none, or nonsense)."""
    out = []
    for k in ("width", "height"):
        try:
            v = float(root.findtext(f"size/{k}") or 0)
        except ValueError:
            v = 0.0
        out.append(v if math.isfinite(v) and v > 0 else 0.0)
    return out[0], out[1]


def parse_imageset_csv(path: str | Path, bad: list[BadFile] | None = None) -> dict[str, dict[str, int]]:
    """``name -> {Category: 1|-1|0}`` from a SIXray label CSV.

    A bad row (wrong field count, a value that is not -1, 0 or 1) is dropped and, with ``bad``,
    reported there with its line number; only an unreadable file or header fails the whole CSV.
    """
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
                problem = _row_problem(row, len(header))
                if problem is not None:
                    log.warning("%s: line %d: %s: row dropped", p, lineno, problem)
                    if bad is not None:
                        bad.append(BadFile(str(p), f"line {lineno}: {problem}: row dropped"))
                    continue
                labels[row[0].strip()] = dict(zip(cats, (int(float(v)) for v in row[1:]), strict=True))
    except OSError as exc:
        raise AnnotationError(p, str(exc)) from exc
    except UnicodeDecodeError as exc:
        raise AnnotationError(p, f"not UTF-8 text ({exc})") from exc
    except csv.Error as exc:
        raise AnnotationError(p, f"not a CSV file ({exc})") from exc
    return labels


def _row_problem(row: list[str], n: int) -> str | None:
    if len(row) != n:
        return f"{len(row)} fields, header has {n}"
    for v in row[1:]:
        try:
            x = float(v)
        except ValueError:
            return f"value {v.strip()!r} is not a number"
        if x not in (-1.0, 0.0, 1.0):
            return f"value {v.strip()!r} is not -1, 0 or 1"
    return None


def voc_pixels(b: Box, width: int, height: int) -> tuple[int, int, int, int]:
    """A 0-based half-open pixel box as VOC counts: whole pixels, 1-based, last pixel included, inside."""
    x0, y0 = max(1, int(round(b.x0)) + 1), max(1, int(round(b.y0)) + 1)
    x1, y1 = min(width, int(round(b.x1))), min(height, int(round(b.y1)))
    return x0, y0, max(x0, x1), max(y0, y1)


def write_voc(path: str | Path, filename: str, width: int, height: int, boxes: tuple[Box, ...] | list[Box],
              depth: int = 3, extra: dict[str, dict[str, str]] | None = None, folder: str = "JPEGImage",
              integer: bool = False) -> None:
    """Write VOC XML the way SIXray and labelling tools (labelImg, CVAT) read it.

    ``integer`` writes the devkit's whole 1-based pixel coordinates (exports for other tools);
    without it the floats are kept as SIXray stores them (generated data that loads back as is).
    """
    from ..fsutil import atomic_write_bytes

    ann = ET.Element("annotation")
    ET.SubElement(ann, "folder").text = folder
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
        coords: tuple[float, ...] = voc_pixels(b, width, height) if integer else (b.x0, b.y0, b.x1, b.y1)
        for key, coord in zip(("xmin", "ymin", "xmax", "ymax"), coords, strict=True):
            ET.SubElement(bb, key).text = str(coord) if integer else f"{coord:.3f}"
    ET.indent(ann, space="\t")
    atomic_write_bytes(path, ET.tostring(ann, encoding="utf-8"))


__all__ = ["CATEGORIES", "is_sixray_root", "parse_imageset_csv", "parse_voc", "write_voc"]
