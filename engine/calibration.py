"""Alarm thresholds: the threshold <-> recall <-> false-alarm curve, and the scans it rests on.

Screening is set by the recall it must reach, so the model file carries the score
distributions that turn a recall into a threshold. *Normal statistics* (always; held-out
threat-free validation scans at training time) give the estimated false-alarm rate (FAR)
and the default threshold. *Threat calibration* (optional; ``bagscan calibrate`` on
labelled or TIP scans) gives the threshold for a target recall. A scan is flagged when
``score >= threshold`` (scan score = max over patches); thresholds are float32-representable,
so float32 and float64 comparisons agree. Stored as plain HDF5 (no pickle), with the sha256
of every scan used, so evaluation can warn when it reuses them.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np

from .errors import CalibrationError

log = logging.getLogger(__name__)

#: Without threat calibration the threshold is set where this fraction of normal scans alarms.
DEFAULT_FAR = 0.05
FORMAT_VERSION = 1
SOURCES = ("normal-only", "labelled", "tip")
_ARRAYS = ("normal_patch_scores", "normal_scan_scores", "threat_scan_scores")
_FEW_NORMAL, _FEW_THREAT = 20, 10
NAN = float("nan")


class OperatingPoint(NamedTuple):
    """One point of the curve; what the threshold slider shows."""

    threshold: float
    recall: float
    far: float


def _sorted_scores(values: Any, what: str) -> np.ndarray:
    """Sorted, read-only float64 copy; NaN rejected because it has no place on a threshold axis."""
    a = np.asarray([] if values is None else values, dtype=np.float64).ravel()
    n_nan = int(np.isnan(a).sum())
    if n_nan:
        raise CalibrationError(f"{what}: {n_nan} of {a.size} scores are NaN (a broken model or scan?)")
    if a.size > 1 and not bool(np.all(a[1:] >= a[:-1])):
        a = np.sort(a)
    elif a.flags.writeable:
        a = a.copy()  # never freeze the caller's array
    else:
        return a
    a.flags.writeable = False
    return a


def _at_or_above(sorted_scores: np.ndarray, t: float | np.ndarray) -> float | np.ndarray:
    n = sorted_scores.size
    if n == 0:
        return np.full(np.shape(t), NAN) if np.ndim(t) else NAN
    frac = (n - np.searchsorted(sorted_scores, t, side="left")) / n
    return frac if np.ndim(t) else float(frac)


def _just_above(x: float) -> float:
    """The next float32 above ``x``: ``score >= t`` then excludes x in float32 and float64 alike."""
    with np.errstate(over="ignore"):
        y = float(np.nextafter(np.float32(x), np.float32(np.inf)))
    return y if y > x else float(np.nextafter(x, np.inf))


def _check_fraction(value: float, what: str) -> float:
    v = float(value)
    if not 0.0 <= v <= 1.0:  # also rejects NaN
        raise CalibrationError(f"{what} must lie in [0, 1], not {value}")
    return v


def _hashes(values: Iterable[Any]) -> tuple[str, ...]:
    out = {(v.decode("ascii") if isinstance(v, bytes) else str(v)).strip() for v in values}
    return tuple(sorted(out - {""}))


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


@dataclass(frozen=True, eq=False)
class Calibration:
    """Score distributions plus the operating point in use. Immutable: ``with_*`` return copies.

    ``threshold`` left NaN is filled in: the threshold for ``target_recall`` when there are
    threat scores and a target, else :attr:`default_threshold`.
    """

    normal_patch_scores: np.ndarray
    normal_scan_scores: np.ndarray
    threat_scan_scores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    threshold: float = NAN
    target_recall: float = NAN
    source: str = "normal-only"
    scan_hashes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in _ARRAYS:
            object.__setattr__(self, name, _sorted_scores(getattr(self, name), name.replace("_", " ")))
        if self.source not in SOURCES:
            raise CalibrationError(f"unknown calibration source {self.source!r} (expected one of {SOURCES})")
        object.__setattr__(self, "scan_hashes", _hashes(self.scan_hashes))
        object.__setattr__(self, "target_recall", float(self.target_recall))
        if not math.isnan(self.target_recall):
            _check_fraction(self.target_recall, "target recall")
        t = float(self.threshold)
        if math.isnan(t):
            use_target = self.has_threats and not math.isnan(self.target_recall)
            t = self.threshold_for_recall(self.target_recall) if use_target else self.default_threshold
        object.__setattr__(self, "threshold", t)

    @classmethod
    def normal_only(cls, patch_scores: Any, scan_scores: Any, hashes: Iterable[Any] = ()) -> Calibration:
        """Training-time calibration from held-out normal scans; threshold at :data:`DEFAULT_FAR`."""
        cal = cls(patch_scores, scan_scores, source="normal-only", scan_hashes=tuple(hashes))
        if cal.n_normal < _FEW_NORMAL:
            log.warning("normal calibration rests on %d held-out scans: coarse FAR estimate", cal.n_normal)
        return cal

    @property
    def n_normal(self) -> int:
        return int(self.normal_scan_scores.size)

    @property
    def n_threat(self) -> int:
        return int(self.threat_scan_scores.size)

    @property
    def has_threats(self) -> bool:
        return self.n_threat > 0

    @property
    def achieved_recall(self) -> float:
        """Recall of :attr:`threshold` on the calibration threat scans (NaN without them)."""
        return self.recall_at(self.threshold)

    @property
    def false_alarm_rate(self) -> float:
        """Estimated FAR of :attr:`threshold` on the normal scans (NaN without them)."""
        return self.far_at(self.threshold)

    @property
    def default_threshold(self) -> float:
        """Threshold at an estimated FAR of :data:`DEFAULT_FAR` on normal scans."""
        return self.threshold_for_far(DEFAULT_FAR)

    def far_at(self, threshold: float) -> float:
        """Fraction of normal scans with score >= threshold."""
        return _at_or_above(self.normal_scan_scores, threshold)  # type: ignore[return-value]

    def patch_far_at(self, threshold: float) -> float:
        """Fraction of normal patches with score >= threshold (how often the overlay lights up falsely)."""
        return _at_or_above(self.normal_patch_scores, threshold)  # type: ignore[return-value]

    def recall_at(self, threshold: float) -> float:
        """Fraction of calibration threat scans with score >= threshold."""
        return _at_or_above(self.threat_scan_scores, threshold)  # type: ignore[return-value]

    def threshold_for_far(self, far: float) -> float:
        """The smallest (float32) threshold whose estimated FAR is <= ``far``; inf without normal scans."""
        far = _check_fraction(far, "false-alarm rate")
        s, n = self.normal_scan_scores, self.n_normal
        if n == 0:
            return math.inf
        k = math.floor(far * n + 1e-9)  # normal scans allowed to alarm
        return float(s[0]) if k >= n else _just_above(float(s[n - k - 1]))

    def threshold_for_recall(self, target: float) -> float:
        """The largest threshold flagging at least ``target`` of the threat scans.

        Target 1.0 gives the lowest threat score; a target below 1/n_threat still flags one scan.
        """
        target = _check_fraction(target, "target recall")
        if not self.has_threats:
            raise CalibrationError("no threat scans in this calibration: run `bagscan calibrate` first")
        m = self.n_threat
        k = min(max(math.ceil(target * m - 1e-9), 1), m)  # threat scans that must be flagged
        return float(self.threat_scan_scores[m - k])

    def at_recall(self, target: float) -> OperatingPoint:
        t = self.threshold_for_recall(target)
        return OperatingPoint(t, self.recall_at(t), self.far_at(t))

    @cached_property
    def _curve(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        thr = np.unique(self.threat_scan_scores)[::-1].copy()
        recall = np.asarray(_at_or_above(self.threat_scan_scores, thr), np.float64)
        far = np.asarray(_at_or_above(self.normal_scan_scores, thr), np.float64)
        for a in (thr, recall, far):
            a.flags.writeable = False
        return recall, thr, far

    def curve(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(recall, threshold, far) at every distinct threat score: recall strictly rising,
        threshold falling, FAR never falling. Empty without threat scans. Computed once."""
        return self._curve

    def with_target_recall(self, target: float) -> Calibration:
        return replace(self, threshold=self.threshold_for_recall(target), target_recall=float(target))

    def with_threshold(self, threshold: float) -> Calibration:
        """A hand-picked operating point: no target recall."""
        return replace(self, threshold=float(threshold), target_recall=NAN)

    def overlaps(self, hashes: Iterable[Any]) -> set[str]:
        """Hashes of ``hashes`` that this calibration was fitted on (evaluation on them is biased)."""
        return set(self.scan_hashes).intersection(_hashes(hashes))

    def describe(self) -> str:
        parts = [f"threshold {self.threshold:.6g} ({self.source})"]
        if not math.isnan(self.target_recall):
            parts.append(f"target recall {self.target_recall:.3f}, achieved {self.achieved_recall:.3f} "
                         f"on {self.n_threat} threat scans")
        parts.append(f"estimated FAR {self.false_alarm_rate:.3f} on {self.n_normal} normal scans")
        return "; ".join(parts)

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(attrs, datasets) for an HDF5 group. Hashes go in a dataset, not a JSON attribute,
        because HDF5 attributes are capped at 64 KiB (about 900 hashes)."""
        attrs: dict[str, Any] = {
            "format": FORMAT_VERSION, "source": self.source,
            "threshold": self.threshold, "target_recall": self.target_recall,
            "achieved_recall": self.achieved_recall, "false_alarm_rate": self.false_alarm_rate,
            "default_far": DEFAULT_FAR, "n_threat": self.n_threat, "n_normal": self.n_normal,
            "n_normal_patches": int(self.normal_patch_scores.size),
        }
        arrays = {name: np.array(getattr(self, name), dtype=np.float64) for name in _ARRAYS}
        width = max([64, *(len(h) for h in self.scan_hashes)])
        arrays["scan_hashes"] = np.array([h.encode("utf-8") for h in self.scan_hashes], dtype=f"S{width}")
        return attrs, arrays

    @classmethod
    def from_arrays(cls, attrs: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> Calibration:
        """Rebuild from :meth:`to_arrays` output (as h5py returns it); derived figures are recomputed."""
        fmt = int(attrs.get("format", 1))
        if fmt > FORMAT_VERSION:
            raise CalibrationError(f"calibration format {fmt} is newer than bagscan reads ({FORMAT_VERSION})")
        source = attrs.get("source", "normal-only")
        source = source.decode("utf-8") if isinstance(source, bytes) else str(source)
        hashes = np.asarray(arrays.get("scan_hashes", np.zeros(0, "S64"))).ravel().tolist()
        patches, normals, threats = (np.asarray(arrays.get(name, np.zeros(0)), np.float64) for name in _ARRAYS)
        return cls(patches, normals, threats,
                   threshold=float(attrs.get("threshold", NAN)), source=source, scan_hashes=tuple(hashes),
                   target_recall=float(attrs.get("target_recall", NAN)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Calibration):
            return NotImplemented
        return (all(np.array_equal(getattr(self, n), getattr(other, n)) for n in _ARRAYS)
                and _same(self.threshold, other.threshold) and _same(self.target_recall, other.target_recall)
                and self.source == other.source and self.scan_hashes == other.scan_hashes)


def calibrate(threat_scan_scores: Any, normal_scan_scores: Any, target_recall: float,
              hashes: Iterable[Any] = (), source: str = "labelled", *,
              previous: Calibration | None = None, normal_patch_scores: Any = None) -> Calibration:
    """Threat calibration: the largest threshold reaching ``target_recall`` on the threat scans.

    With ``previous`` (the model's current calibration) its normal patch statistics are kept,
    and its normal scan scores are used when ``normal_scan_scores`` is None or empty; the
    hashes of both are kept, so overlap checks cover every scan behind the numbers.
    ``normal_patch_scores`` replaces the previous patch statistics (needed when the score mix changed).
    """
    if source not in ("labelled", "tip"):
        raise CalibrationError(f"threat calibration source must be 'labelled' or 'tip', not {source!r}")
    threats = _sorted_scores(threat_scan_scores, "threat scan scores")
    if threats.size == 0:
        raise CalibrationError("no threat scans to calibrate on: the data holds no scan labelled as a threat "
                               "(check the labels, or calibrate on TIP scans)")
    target = _check_fraction(target_recall, "target recall")
    normals = _sorted_scores(normal_scan_scores, "normal scan scores")
    if normals.size == 0 and previous is not None:
        normals = previous.normal_scan_scores
    if normal_patch_scores is not None:
        patches = _sorted_scores(normal_patch_scores, "normal patch scores")
    else:
        patches = previous.normal_patch_scores if previous is not None else np.zeros(0)
    all_hashes = (*_hashes(hashes), *(previous.scan_hashes if previous is not None else ()))
    cal = Calibration(patches, normals, threats, target_recall=target, source=source, scan_hashes=all_hashes)
    if cal.n_threat < _FEW_THREAT:
        log.warning("calibrating on only %d threat scans: recall moves in steps of %.0f%%",
                    cal.n_threat, 100.0 / cal.n_threat)
    if cal.n_normal == 0:
        log.warning("no normal scan scores: the false-alarm rate of this threshold is unknown")
    log.info("calibration: %s", cal.describe())
    return cal
