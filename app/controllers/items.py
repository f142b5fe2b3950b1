"""One row of the screening list: a scan, what the model said, what the officer decided."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.data.types import NORMAL, THREAT, ScanRecord
from engine.scoring import ScanResult

PENDING, SCORING, SCORED, FAILED, CANCELLED = "pending", "scoring", "scored", "failed", "cancelled"


@dataclass
class ScanItem:
    record: ScanRecord
    result: ScanResult | None = None
    state: str = PENDING
    error: str = ""
    decision: str = ""  # "", "clear" or "suspect"

    @property
    def path(self) -> str:
        return self.record.path

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def score(self) -> float | None:
        if self.result is None or not np.isfinite(self.result.score):
            return None
        return float(self.result.score)

    def flagged(self, threshold: float) -> bool | None:
        """None until scored; a scan with no content patches is clear."""
        if self.result is None:
            return None
        return bool(self.result.score >= threshold)

    @property
    def truth(self) -> str:
        """Ground truth as the list shows it: 'Threat (Gun, Knife)', 'Normal' or ''."""
        r = self.record
        if r.label == THREAT:
            return "Threat" + (f" ({', '.join(r.categories)})" if r.categories else "")
        if r.label == NORMAL:
            return "Normal"
        return ""


class LruCache:
    """A small least-recently-used cache (display images: a few MB each)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self._data: OrderedDict[str, Any] = OrderedDict()

    def get(self, key: str) -> Any | None:
        if key not in self._data:
            return None
        self._data.move_to_end(key)
        return self._data[key]

    def put(self, key: str, value: Any) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.capacity:
            self._data.popitem(last=False)

    def __contains__(self, key: str) -> bool:
        return key in self._data

    def clear(self) -> None:
        self._data.clear()
