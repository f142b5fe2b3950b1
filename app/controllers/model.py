"""The model in use: loading a model file and scoring one scan with cancel and progress.

:class:`EngineBackend` is what the scoring worker calls. It scores the same way
``engine.scoring.Scorer.score_scan`` does (same grid, same ``score_arrays``,
whose per-patch scores do not depend on batching) but one batch at a time, so a
cancel takes effect within a batch and the status bar can show patch progress.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine.calibration import Calibration
from engine.data.io import Scan, read_scan
from engine.device import describe
from engine.events import CancelToken
from engine.modelfile import ModelBundle, load_model
from engine.score_head import ScoreHead
from engine.scoring import ScanResult, Scorer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelInfo:
    """What the window shows about the model: name, file, device, calibration and score definition."""

    name: str
    path: str
    device: str
    calibration: Calibration | None
    score_head: ScoreHead | None = None

    @property
    def score_text(self) -> str:
        return self.score_head.describe() if self.score_head is not None else "—"

    @property
    def calibration_text(self) -> str:
        cal = self.calibration
        if cal is None:
            return "none (no threshold stored)"
        if cal.has_threats:
            return f"{cal.source}: {cal.n_threat} threat + {cal.n_normal} normal scans"
        return f"normal statistics only ({cal.n_normal} held-out normal scans)"


def device_label(device: str, threads: int) -> str:
    """On CPU the worker sets its own torch threads (fewer than cores), so the label shows those."""
    if not device.startswith("CPU"):
        return device
    return f"CPU ({threads} scoring thread{'s' if threads != 1 else ''})"


class EngineBackend:
    """One model on one device; used only from the scoring worker thread after construction."""

    def __init__(self, scorer: Scorer) -> None:
        self.scorer = scorer
        self.bundle: ModelBundle = scorer.bundle
        self.info = ModelInfo(self.bundle.name, self.bundle.path, describe(scorer.device),
                              self.bundle.calibration, scorer.head)

    @classmethod
    def from_file(cls, path: str | Path, device: str = "auto") -> EngineBackend:
        """Load a model file (raises ModelFileError naming the file and the reason)."""
        bundle = load_model(path)
        return cls(Scorer(bundle, device=device))

    def read(self, path: str) -> Scan:
        return read_scan(path)

    def score(self, scan: Scan, cancel: CancelToken, progress: Callable[[int, int], None]) -> ScanResult:
        return self.scorer.score_scan(scan, cancel=cancel, progress=progress)
