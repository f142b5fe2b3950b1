"""Flagged regions as tables: CSV and JSON, one row per region, streamed and written atomically.

Rows are produced one flagged scan at a time and written straight into a temporary file
that is renamed over the target at the end, so a large session never sits in memory and a
failure never leaves half a table.
"""

from __future__ import annotations

import csv
import json
import logging
import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..fsutil import atomic_write
from .flagged import FlaggedScan

log = logging.getLogger(__name__)

COLUMNS: tuple[str, ...] = (
    "scan", "name", "path", "sha256", "region", "x0", "y0", "x1", "y1", "max_score", "mean_score",
    "n_patches", "scan_score", "gt_label", "gt_category", "decision", "operator",
)


def region_rows(flagged: Iterable[FlaggedScan]) -> Iterator[dict[str, Any]]:
    """One dict per region, keys :data:`COLUMNS`; region numbers start at 1 in score order,
    as on the overlay. ``gt_category`` and ``decision`` are None when unknown."""
    for f in flagged:
        s = f.scan
        for k, (r, cat) in enumerate(zip(f.regions, f.gt_categories, strict=True), start=1):
            x0, y0, x1, y1 = r.box
            yield {
                "scan": s.index, "name": s.name, "path": s.path, "sha256": s.sha256, "region": k,
                "x0": x0, "y0": y0, "x1": x1, "y1": y1, "max_score": round(r.max_score, 6),
                "mean_score": round(r.mean_score, 6), "n_patches": r.n_patches,
                "scan_score": round(s.score, 6),
                "gt_label": s.label, "gt_category": cat,
                "decision": f.decision.decision if f.decision else None,
                "operator": f.decision.operator if f.decision else None,
            }


def write_csv(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    """CSV with a header row; None is written as an empty field. Returns the row count."""
    n = 0
    with atomic_write(path, "w") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        for row in rows:
            w.writerow({k: "" if v is None else v for k, v in row.items()})
            n += 1
    return n


def clean(value: Any) -> Any:
    """JSON-safe: NaN and infinities become None (strict JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


def write_json(path: str | Path, rows: Iterable[dict[str, Any]],
               summary: dict[str, Any] | None = None) -> int:
    """``{"summary": {...}, "columns": [...], "regions": [{...}, ...]}``, streamed. Returns the row count."""
    n = 0
    with atomic_write(path, "w") as fh:
        fh.write('{\n"summary": ' + json.dumps(clean(summary or {}), allow_nan=False))
        fh.write(',\n"columns": ' + json.dumps(list(COLUMNS)) + ',\n"regions": [')
        for row in rows:
            fh.write(("\n" if n == 0 else ",\n") + json.dumps(clean(row), allow_nan=False))
            n += 1
        fh.write("\n]}\n")
    return n
