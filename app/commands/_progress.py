"""Render engine events on the terminal: a tqdm bar per job, a line per epoch.

Every command renders through :func:`drive`, so bars look and behave the same
everywhere; tqdm and the engine's events are imported on first use, not while
the parser is built.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any

log = logging.getLogger("bagscan")


def _per_job(option: Any, job: str, default: Any) -> Any:
    """An option given once for every job, or per job name as a mapping/collection."""
    if isinstance(option, Mapping):
        return option.get(job, default)
    if isinstance(option, (set, frozenset, list, tuple)):
        return job in option
    return option


def drive(events: Iterable[Any], quiet: bool = False, unit: str | Mapping[str, str] = "it",
          leave: bool | Collection[str] = False, smoothing: float = 0.3) -> Iterator[Any]:
    """Show progress events; pass every other event through to the caller.

    ``unit`` names what a job counts (one string, or a mapping job -> unit); ``leave``
    says which finished bars stay on screen (True, False, or a collection of job names).
    A bar closes as soon as its job reaches its total, so a finished phase (hashing,
    say) never lingers above the next one.
    """
    from tqdm import tqdm

    from engine.events import EpochEnded, Progress, ScanFailed, Warn

    bars: dict[str, tqdm] = {}
    try:
        for ev in events:
            if isinstance(ev, Progress):
                if quiet:
                    continue
                bar = bars.get(ev.job)
                if bar is None or bar.total != ev.total or ev.done < bar.n:
                    if bar is not None:
                        bar.close()
                    bar = bars[ev.job] = tqdm(
                        total=ev.total, desc=ev.job, unit=_per_job(unit, ev.job, "it"), file=sys.stderr,
                        leave=bool(_per_job(leave, ev.job, False)), dynamic_ncols=True, smoothing=smoothing)
                if ev.message:
                    bar.set_postfix_str(ev.message, refresh=False)
                bar.update(ev.done - bar.n)  # update(), not n=: tqdm's rate and ETA come from updates
                if ev.total and ev.done >= ev.total:
                    bars.pop(ev.job).close()
                continue
            if isinstance(ev, EpochEnded):
                losses = " ".join(f"{k}={v:.4f}" for k, v in ev.losses.items())
                eta = ev.seconds * (ev.epochs - ev.epoch)
                tqdm.write(f"epoch {ev.epoch}/{ev.epochs}  {losses}  val={ev.val_score:.5f}  "
                           f"{ev.patches_per_s:.0f} patches/s  {ev.seconds:.1f}s  ETA {eta:.0f}s", file=sys.stderr)
            elif isinstance(ev, Warn):
                log.warning("%s", ev.message)
            elif isinstance(ev, ScanFailed):
                tqdm.write(f"error: {ev.path}: {ev.reason}", file=sys.stderr)
            yield ev
    finally:
        for bar in bars.values():
            bar.close()
