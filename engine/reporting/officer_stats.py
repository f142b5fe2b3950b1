"""Per-operator screening statistics, computed from audit-log records alone (so anyone can recompute them).

A record (one JSON line of ``bagscan-audit.jsonl``) is either a real decision on a
real bag (``tip`` absent or null) or a TIP event (``tip: {category, outcome, ...}``):
the officer's answer to a bag with a projected threat. Real decisions give bags
screened, suspects, the hand-search rate and the median time to decision; TIP
events give the TIP hit rate and the misses by category. Periods are UTC calendar
days, ISO weeks or months of the record's ``time``, or the whole log.
"""

from __future__ import annotations

import csv
import logging
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ..data.types import CATEGORIES, canonical_category
from ..fsutil import atomic_write

log = logging.getLogger(__name__)

PERIODS = ("day", "week", "month", "all")
ALL_OPERATORS = "(all operators)"


def period_of(when: datetime, period: str) -> tuple[date, str]:
    """(first day, label) of the period holding ``when`` (UTC): 2026-12-02, 2026-W49, 2026-12 or all."""
    d = when.astimezone(timezone.utc).date()
    if period == "day":
        return d, d.isoformat()
    if period == "week":
        year, week, weekday = d.isocalendar()
        return d - timedelta(days=weekday - 1), f"{year}-W{week:02d}"
    if period == "month":
        return d.replace(day=1), f"{d.year}-{d.month:02d}"
    if period == "all":
        return date.min, "all"
    raise ValueError(f"period must be one of {', '.join(PERIODS)}, not {period!r}")


def _time(rec: Mapping[str, Any]) -> datetime | None:
    try:
        t = datetime.fromisoformat(str(rec["time"]))
    except (KeyError, ValueError):
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)


@dataclass
class OfficerStats:
    """One operator in one period."""

    operator: str
    period: str  # label: 2026-12-02, 2026-W49, 2026-12 or all
    start: date  # the period's first day (the whole log: the day of its first record)
    bags: int = 0  # real bags decided
    suspects: int = 0
    tip_shown: int = 0  # TIP bags answered
    tip_hits: int = 0
    tip_shown_by_category: dict[str, int] = field(default_factory=dict)
    tip_misses_by_category: dict[str, int] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list, repr=False)  # real decisions
    tip_seconds: list[float] = field(default_factory=list, repr=False)

    @property
    def hand_search_rate(self) -> float | None:
        return self.suspects / self.bags if self.bags else None

    @property
    def tip_misses(self) -> int:
        return self.tip_shown - self.tip_hits

    @property
    def tip_hit_rate(self) -> float | None:
        return self.tip_hits / self.tip_shown if self.tip_shown else None

    @property
    def median_seconds(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds else None

    @property
    def tip_median_seconds(self) -> float | None:
        return statistics.median(self.tip_seconds) if self.tip_seconds else None

    def add(self, rec: Mapping[str, Any]) -> None:
        seconds = rec.get("seconds_to_decision")
        tip = rec.get("tip")
        if tip:
            cat = canonical_category(str(tip.get("category", "unknown")))
            hit = tip.get("outcome") == "hit"
            self.tip_shown += 1
            self.tip_hits += hit
            self.tip_shown_by_category[cat] = self.tip_shown_by_category.get(cat, 0) + 1
            if not hit:
                self.tip_misses_by_category[cat] = self.tip_misses_by_category.get(cat, 0) + 1
            if isinstance(seconds, int | float):
                self.tip_seconds.append(float(seconds))
            return
        self.bags += 1
        self.suspects += rec.get("decision") == "suspect"
        if isinstance(seconds, int | float):
            self.seconds.append(float(seconds))


@dataclass
class StatsTable:
    """The rows (operator, then period start), plus how many records could not be used and why."""

    period: str
    rows: list[OfficerStats]
    skipped: int = 0

    @property
    def categories(self) -> list[str]:
        """SIXray's categories, then any other the log names."""
        seen = {c for r in self.rows for c in r.tip_shown_by_category}
        return [c for c in CATEGORIES] + sorted(seen - set(CATEGORIES))

    def operators(self) -> list[str]:
        return list(dict.fromkeys(r.operator for r in self.rows))


def compute(records: Iterable[Mapping[str, Any]], period: str = "day", operator: str | None = None,
            total: bool = False) -> StatsTable:
    """Statistics per operator and period (``operator`` keeps one; ``total`` adds all operators' rows)."""
    period_of(datetime.now(timezone.utc), period)  # a bad period name fails before any work
    rows: dict[tuple[str, date], OfficerStats] = {}
    skipped = 0
    for rec in records:
        when = _time(rec)
        who = str(rec.get("operator") or "")
        if when is None or not who or rec.get("decision") not in ("clear", "suspect"):
            skipped += 1
            continue
        if operator is not None and who != operator:
            continue
        start, label = period_of(when, period)
        day = when.astimezone(timezone.utc).date()
        for name in (who, ALL_OPERATORS) if total else (who,):
            row = rows.get((name, start))
            if row is None:
                row = rows[(name, start)] = OfficerStats(name, label, day if period == "all" else start)
            row.start = min(row.start, day) if period == "all" else start  # the whole log: its first day
            row.add(rec)
    if skipped:
        log.warning("officer statistics: %d audit records without a time, an operator or a decision "
                    "left out", skipped)
    order = sorted(rows, key=lambda k: (k[0] == ALL_OPERATORS, k[0], k[1]))
    return StatsTable(period, [rows[k] for k in order], skipped)


def hit_rate_series(table: StatsTable) -> dict[str, list[tuple[date, float]]]:
    """Per operator: (period start, TIP hit rate) for each period with TIP bags, in time order."""
    out: dict[str, list[tuple[date, float]]] = {}
    for r in table.rows:
        if r.tip_hit_rate is not None:
            out.setdefault(r.operator, []).append((r.start, r.tip_hit_rate))
    return out


def _cell(v: float | None, digits: int = 4) -> str:
    return "" if v is None else f"{v:.{digits}f}"


def csv_rows(table: StatsTable) -> tuple[list[str], list[list[str]]]:
    """Header and rows as text, the same for the CSV file and the dialog's table."""
    cats = table.categories
    head = ["operator", "period", "bags_screened", "suspects", "hand_search_rate", "median_seconds",
            "tip_shown", "tip_hits", "tip_misses", "tip_hit_rate", "tip_median_seconds"]
    head += [f"tip_misses_{c}" for c in cats]
    body = []
    for r in table.rows:
        body.append([r.operator, r.period, str(r.bags), str(r.suspects), _cell(r.hand_search_rate),
                     _cell(r.median_seconds, 3), str(r.tip_shown), str(r.tip_hits), str(r.tip_misses),
                     _cell(r.tip_hit_rate), _cell(r.tip_median_seconds, 3)]
                    + [str(r.tip_misses_by_category.get(c, 0)) for c in cats])
    return head, body


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def text_lines(table: StatsTable) -> list[str]:
    """The table as fixed-width lines (misses by category last), for the terminal and the PDF."""
    out = [f"{'operator':<18}{'period':<12}{'bags':>6}{'susp.':>7}{'search':>8}{'med. s':>8}"
           f"{'TIP':>5}{'hits':>6}{'hit rate':>10}   misses by category"]
    for r in table.rows:
        misses = ", ".join(f"{c} {n}" for c, n in sorted(r.tip_misses_by_category.items())) or "-"
        med = "-" if r.median_seconds is None else f"{r.median_seconds:.1f}"
        out.append(f"{r.operator[:17]:<18}{r.period:<12}{r.bags:>6}{r.suspects:>7}{_pct(r.hand_search_rate):>8}"
                   f"{med:>8}{r.tip_shown:>5}{r.tip_hits:>6}{_pct(r.tip_hit_rate):>10}   {misses}")
    return out


def write_csv(table: StatsTable, path: str | Path) -> Path:
    """One row per operator and period; written atomically (whole or absent)."""
    head, body = csv_rows(table)
    p = Path(path)
    with atomic_write(p, "w", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(head)
        w.writerows(body)
    log.info("wrote %s (%d rows)", p, len(body))
    return p


def hit_rate_figure(table: StatsTable) -> Any:
    """TIP hit rate per period, one line per operator (a matplotlib Figure on an Agg canvas)."""
    from .plots import _figure

    fig = _figure(7.0, 3.2)
    ax = fig.add_subplot()
    series = hit_rate_series(table)
    for name, points in series.items():
        xs = np.array([d.isoformat() for d, _ in points], dtype="datetime64[D]")
        ax.plot(xs, [100 * v for _, v in points], marker="o", lw=1.5, label=name)
    if not series:
        ax.text(0.5, 0.5, "no TIP bags in this log", ha="center", va="center", transform=ax.transAxes)
    ax.set(ylim=(-3, 103), ylabel="TIP hit rate (%)", title=f"TIP hit rate per {table.period}")
    ax.grid(alpha=0.3)
    if series:
        ax.legend(fontsize=8, loc="lower left")
        fig.autofmt_xdate()
    return fig


def plot_hit_rate(table: StatsTable, path: str | Path) -> Path:
    """:func:`hit_rate_figure` as a PNG, written atomically."""
    from .plots import _save

    return _save(hit_rate_figure(table), path)
