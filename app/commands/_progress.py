"""Render engine events on the terminal: a tqdm bar per job, a line per epoch."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from typing import Any

from tqdm import tqdm

from engine.events import EpochEnded, Progress, ScanFailed, Warn

log = logging.getLogger("bagscan")


def drive(events: Iterable[Any], quiet: bool = False) -> Iterator[Any]:
    """Show progress events; pass every other event through to the caller."""
    bars: dict[str, tqdm] = {}
    try:
        for ev in events:
            if isinstance(ev, Progress):
                if quiet:
                    continue
                bar = bars.get(ev.job)
                if bar is None or bar.total != ev.total:
                    if bar is not None:
                        bar.close()
                    bar = bars[ev.job] = tqdm(total=ev.total, desc=ev.job, unit="it", file=sys.stderr,
                                              leave=False, dynamic_ncols=True)
                bar.n = ev.done
                bar.set_postfix_str(ev.message, refresh=False)
                bar.refresh()
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
