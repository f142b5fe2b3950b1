"""Typed events that long engine jobs yield, and the token that cancels them.

Jobs are plain generators: a front-end iterates them (the CLI in the main
thread, the GUI in a worker) and decides how to show each event.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .data.types import BadFile
from .errors import Cancelled

if TYPE_CHECKING:  # a type only: scoring imports events, so no import at run time
    from .scoring import ScanResult


class CancelToken:
    """A thread-safe flag that jobs poll between units of work."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled by the user")


def check(token: CancelToken | None) -> None:
    """Raise :class:`Cancelled` when ``token`` is set; ``None`` never cancels."""
    if token is not None:
        token.raise_if_cancelled()


@dataclass(frozen=True)
class Progress:
    job: str
    done: int
    total: int
    message: str = ""


@dataclass(frozen=True)
class EpochEnded:
    epoch: int
    epochs: int
    losses: dict[str, float]
    val_score: float
    seconds: float
    patches_per_s: float


@dataclass(frozen=True)
class ScanScored:
    path: str
    result: ScanResult


@dataclass(frozen=True)
class ScanFailed(BadFile):
    """A scan a job could not read or score (``path``, one-line ``reason``); the job goes on."""


@dataclass(frozen=True)
class Warn:
    message: str
