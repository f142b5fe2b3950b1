"""Plain records shared by the dataset loaders."""

from __future__ import annotations

from dataclasses import dataclass, field

CATEGORIES: tuple[str, ...] = ("Gun", "Knife", "Wrench", "Pliers", "Scissors", "Hammer")
_CANON = {c.lower(): c for c in CATEGORIES}

THREAT, NORMAL, UNKNOWN = "threat", "normal", "unknown"


def canonical_category(name: str) -> str:
    """'gun', 'GUN', ' Gun ' -> 'Gun'; unknown names are kept, title-cased."""
    key = name.strip().lower()
    return _CANON.get(key, name.strip().title())


@dataclass(frozen=True)
class Box:
    """A ground-truth box in scan pixels (floats, as SIXray stores them)."""

    category: str
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def area(self) -> float:
        return max(0.0, self.x1 - self.x0) * max(0.0, self.y1 - self.y0)

    def as_list(self) -> list[float]:
        return [self.x0, self.y0, self.x1, self.y1]


@dataclass(frozen=True)
class BadFile:
    """A file that could not be used, and the one-line reason why (named to the user)."""

    path: str
    reason: str


@dataclass(frozen=True)
class ScanRecord:
    """One scan in a dataset: where it is and what is known about it."""

    path: str
    name: str
    label: str = UNKNOWN
    categories: tuple[str, ...] = ()
    boxes: tuple[Box, ...] = field(default=())

    @property
    def is_threat(self) -> bool:
        return self.label == THREAT
