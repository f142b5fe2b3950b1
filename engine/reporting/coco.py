"""Flagged regions as COCO detection JSON, which most labelling and detection tools read.

Written from the COCO format's definition: ``images`` (id, file_name, width, height),
``annotations`` (id, image_id, category_id, bbox ``[x, y, width, height]`` in 0-based pixels
from the top-left corner, area, iscrowd 0, plus the region's ``score``) and ``categories``
(id from 1, name, supercategory). ``file_name`` is the scan's path as the session stores it
(absolute), so a tool that joins it to an image folder still finds the file. Streamed into a
temporary file and renamed, so it is whole or absent.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .. import __version__
from ..fsutil import atomic_write
from .flagged import ANOMALY, FlaggedScan, region_class

log = logging.getLogger(__name__)


def write_coco(path: str | Path, flagged: Iterable[FlaggedScan], class_name: str = ANOMALY,
               summary: dict[str, Any] | None = None) -> int:
    """One image per flagged scan, one annotation per region; returns the number of annotations."""
    categories: dict[str, int] = {}
    images: list[dict[str, Any]] = []
    n = 0
    with atomic_write(path, "w") as fh:
        info = {"description": "bagscan flagged regions", "version": __version__,
                "date_created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "threshold": (summary or {}).get("threshold")}
        fh.write('{"info": ' + json.dumps(info) + ',\n"annotations": [')
        for f in flagged:
            s = f.scan
            image_id = len(images) + 1
            images.append({"id": image_id, "file_name": s.path, "width": s.width, "height": s.height})
            for i, r in enumerate(f.regions):
                name = region_class(f, i, class_name)
                cat = categories.setdefault(name, len(categories) + 1)
                x0, y0, x1, y1 = (int(v) for v in r.box)
                ann = {"id": n + 1, "image_id": image_id, "category_id": cat,
                       "bbox": [x0, y0, x1 - x0, y1 - y0], "area": (x1 - x0) * (y1 - y0), "iscrowd": 0,
                       "score": round(float(r.max_score), 6)}
                fh.write(("\n" if n == 0 else ",\n") + json.dumps(ann))
                n += 1
        fh.write("\n],\n\"images\": " + json.dumps(images))
        cats = [{"id": i, "name": name, "supercategory": "threat"} for name, i in categories.items()]
        fh.write(',\n"categories": ' + json.dumps(cats or [{"id": 1, "name": class_name if class_name != "truth"
                                                            else ANOMALY, "supercategory": "threat"}]) + "}\n")
    log.info("wrote %s (%d images, %d annotations)", path, len(images), n)
    return n
