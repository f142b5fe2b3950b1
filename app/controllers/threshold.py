"""The recall-oriented threshold: slider position <-> target <-> threshold, from the calibration.

With threat calibration (``calibration.has_threats``) the slider's scale is the
target recall and the threshold comes from the calibration curve. Without it,
recall cannot be estimated, so the slider sets the false-alarm operating point
from the model's normal statistics instead, and the panel says so. Moving it
only changes a number: flags are recomputed from stored scores, never rescored.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Protocol

from PySide6.QtCore import QObject, Signal

from engine.calibration import Calibration
from engine.errors import CalibrationError

log = logging.getLogger(__name__)

RECALL, FAR, NONE = "recall", "far", "none"
STEPS = 1000  # slider resolution


@dataclass(frozen=True)
class OperatingPoint:
    mode: str
    target: float  # target recall (recall mode) or target FAR (far mode)
    threshold: float
    far: float  # estimated false-alarm rate on normal scans at this threshold
    recall: float  # recall on the calibration threat scans (NaN without them)

    def describe(self) -> str:
        if self.mode == RECALL:
            return f"recall {self.target:.3f}"
        if self.mode == FAR:
            return f"FAR {self.target:.3f}"
        return "no calibration"


class ThresholdLogic:
    """Pure mapping; no Qt widgets, so it is tested with plain calibrations."""

    RECALL_RANGE = (0.5, 1.0)
    FAR_RANGE = (0.0, 0.5)

    def __init__(self, calibration: Calibration | None, fallback_recall: float = 0.95,
                 fallback_far: float = 0.05) -> None:
        self.calibration = calibration
        if calibration is None:
            self.mode, self.range = NONE, (0.0, 1.0)
            self.initial = 0.0
        elif calibration.has_threats:
            self.mode, self.range = RECALL, self.RECALL_RANGE
            tr = calibration.target_recall
            self.initial = tr if not math.isnan(tr) else calibration.recall_at(calibration.threshold)
            if math.isnan(self.initial):
                self.initial = fallback_recall
        else:
            self.mode, self.range = FAR, self.FAR_RANGE
            far = calibration.far_at(calibration.threshold) if calibration.n_normal else fallback_far
            self.initial = far if not math.isnan(far) else fallback_far
        lo, hi = self.range
        self.initial = min(max(self.initial, lo), hi)

    @property
    def note(self) -> str:
        if self.mode == RECALL:
            return "Slider sets the target recall (from threat calibration)."
        if self.mode == FAR:
            return ("No threat calibration: recall cannot be estimated. The slider sets the "
                    "false-alarm operating point, from the model's normal statistics.")
        return "No model calibration: load a model to flag scans."

    def at(self, target: float) -> OperatingPoint:
        cal = self.calibration
        lo, hi = self.range
        target = min(max(float(target), lo), hi)
        if cal is None:
            return OperatingPoint(NONE, target, math.inf, math.nan, math.nan)
        try:
            t = cal.threshold_for_recall(target) if self.mode == RECALL else cal.threshold_for_far(target)
        except CalibrationError as exc:  # defensive: a calibration that cannot answer
            log.warning("threshold for %s: %s", target, exc)
            t = cal.threshold
        return OperatingPoint(self.mode, target, t, cal.far_at(t), cal.recall_at(t))


class ThresholdPanelLike(Protocol):
    def configure(self, mode: str, lo: float, hi: float, note: str) -> None: ...
    def set_target(self, target: float) -> None: ...
    def set_readout(self, point: OperatingPoint, flagged: int, scored: int, total: int) -> None: ...


class ThresholdController(QObject):
    """Keeps the panel, the logic and the current threshold in step."""

    threshold_changed = Signal(float)

    def __init__(self, panel: ThresholdPanelLike) -> None:
        super().__init__()
        self.panel = panel
        self.logic = ThresholdLogic(None)
        self.point = self.logic.at(0.0)
        self._counts = (0, 0, 0)

    @property
    def threshold(self) -> float:
        return self.point.threshold

    def set_calibration(self, calibration: Calibration | None) -> None:
        self.logic = ThresholdLogic(calibration)
        lo, hi = self.logic.range
        self.panel.configure(self.logic.mode, lo, hi, self.logic.note)
        self.set_target(self.logic.initial)

    def set_target(self, target: float) -> None:
        """From the slider or the numeric field: the panel mirrors it and flags update."""
        point = self.logic.at(target)
        changed = point != self.point
        self.point = point
        self.panel.set_target(point.target)
        self.panel.set_readout(point, *self._counts)
        if changed:
            log.debug("operating point %s -> threshold %.4f", point.describe(), point.threshold)
            self.threshold_changed.emit(point.threshold)

    def set_counts(self, flagged: int, scored: int, total: int) -> None:
        """Flagged scans in the current list, recomputed by the screening controller."""
        self._counts = (flagged, scored, total)
        self.panel.set_readout(self.point, flagged, scored, total)

    def reset(self) -> None:
        self.set_target(self.logic.initial)
