"""Officer statistics replayed from a synthetic audit log: every figure against a hand count."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from app.audit import AuditLog, read_records
from engine.reporting.officer_stats import ALL_OPERATORS, compute, hit_rate_series, plot_hit_rate, write_csv

# (operator, time, key pressed, seconds, TIP category or None, TIP outcome)
LOG = [
    ("ann", "2026-11-29T23:59:00+00:00", "clear", 2.0, None, None),  # Sunday: ISO week 48, November
    ("ann", "2026-11-30T08:00:00+00:00", "clear", 4.0, None, None),
    ("ann", "2026-11-30T08:01:00+00:00", "suspect", 6.0, None, None),
    ("ann", "2026-11-30T08:02:00+00:00", "suspect", 3.0, "Gun", "hit"),
    ("ann", "2026-11-30T08:03:00+00:00", "clear", 5.0, "Knife", "miss"),
    ("ann", "2026-12-01T00:30:00+01:00", "clear", 10.0, None, None),  # 23:30 UTC on 30 November
    ("bob", "2026-12-01T09:00:00+00:00", "suspect", 1.0, None, None),
    ("bob", "2026-12-01T09:01:00+00:00", "suspect", 3.0, None, None),
    ("bob", "2026-12-01T09:02:00+00:00", "clear", 7.0, "Gun", "miss"),
    ("bob", "2026-12-01T09:03:00+00:00", "suspect", 2.0, "Gun", "hit"),
    ("bob", "2026-12-01T09:04:00+00:00", "clear", 4.0, "Knife", "miss"),
    ("bob", "2026-12-01T09:05:00+00:00", "clear", 5.0, None, None),
]


@pytest.fixture
def records(tmp_path: Path) -> list[dict]:
    log = AuditLog(tmp_path / "bagscan-audit.jsonl")
    for who, when, key, secs, cat, outcome in LOG:
        tip = None if cat is None else {"category": cat, "outcome": outcome, "box": [1, 2, 30, 40]}
        log.append({"decision": key, "scan": f"/s/{when}.png", "operator": who, "seconds_to_decision": secs,
                    "time": when, "tip": tip})
    log.append({"decision": "clear", "operator": "ann", "seconds_to_decision": 1.0})  # no time
    log.append({"decision": "clear", "operator": "", "time": LOG[0][1]})  # no operator
    with open(log.path, "a") as fh:
        fh.write('{"decision": "sus')  # a torn last line: read_records drops it
    return read_records(log.path)


def _row(table, operator: str, period: str):
    (row,) = [r for r in table.rows if r.operator == operator and r.period == period]
    return row


def test_per_day(records: list[dict]) -> None:
    t = compute(records, "day")
    assert t.skipped == 2
    assert [(r.operator, r.period) for r in t.rows] == [("ann", "2026-11-29"), ("ann", "2026-11-30"),
                                                       ("bob", "2026-12-01")]
    a0, a1, b = t.rows
    assert (a0.bags, a0.suspects, a0.hand_search_rate, a0.median_seconds) == (1, 0, 0.0, 2.0)
    assert (a0.tip_shown, a0.tip_hit_rate, a0.tip_misses_by_category) == (0, None, {})
    # ann on 30 Nov: clear 4 s, suspect 6 s, clear 10 s (00:30+01:00) ; TIP Gun hit 3 s, Knife miss 5 s
    assert (a1.bags, a1.suspects, a1.hand_search_rate, a1.median_seconds) == (3, 1, pytest.approx(1 / 3), 6.0)
    assert (a1.tip_shown, a1.tip_hits, a1.tip_misses, a1.tip_hit_rate) == (2, 1, 1, 0.5)
    assert a1.tip_misses_by_category == {"Knife": 1} and a1.tip_median_seconds == 4.0
    # bob: suspect 1, suspect 3, clear 5 ; TIP Gun miss 7, Gun hit 2, Knife miss 4
    assert (b.bags, b.suspects, b.hand_search_rate, b.median_seconds) == (3, 2, pytest.approx(2 / 3), 3.0)
    assert (b.tip_shown, b.tip_hits, b.tip_hit_rate) == (3, 1, pytest.approx(1 / 3))
    assert b.tip_misses_by_category == {"Gun": 1, "Knife": 1} and b.tip_median_seconds == 4.0
    assert b.tip_shown_by_category == {"Gun": 2, "Knife": 1}
    assert hit_rate_series(t) == {"ann": [(date(2026, 11, 30), 0.5)],
                                  "bob": [(date(2026, 12, 1), pytest.approx(1 / 3))]}


def test_per_week_and_month(records: list[dict]) -> None:
    w = compute(records, "week")
    assert [(r.operator, r.period, r.start, r.bags) for r in w.rows] == [
        ("ann", "2026-W48", date(2026, 11, 23), 1), ("ann", "2026-W49", date(2026, 11, 30), 3),
        ("bob", "2026-W49", date(2026, 11, 30), 3)]
    m = compute(records, "month")
    ann = _row(m, "ann", "2026-11")
    assert (ann.bags, ann.suspects, ann.hand_search_rate, ann.median_seconds) == (4, 1, 0.25, 5.0)
    assert (ann.tip_shown, ann.tip_hits) == (2, 1)
    assert _row(m, "bob", "2026-12").bags == 3


def test_whole_log_with_all_operators_and_one_operator(records: list[dict]) -> None:
    t = compute(records, "all", total=True)
    assert [r.operator for r in t.rows] == ["ann", "bob", ALL_OPERATORS]
    every = t.rows[-1]
    # bags 2 4 6 10 1 3 5: median 4; suspects 6 (ann), 1 and 3 (bob)
    assert (every.bags, every.suspects, every.hand_search_rate, every.median_seconds) == (7, 3,
                                                                                          pytest.approx(3 / 7), 4.0)
    assert (every.tip_shown, every.tip_hits, every.tip_hit_rate) == (5, 2, 0.4)
    assert every.tip_misses_by_category == {"Knife": 2, "Gun": 1} and every.tip_median_seconds == 4.0
    assert t.rows[0].start == date(2026, 11, 29) and t.rows[1].start == date(2026, 12, 1)  # first record
    only = compute(records, "all", operator="bob")
    assert [r.operator for r in only.rows] == ["bob"] and only.rows[0].bags == 3
    with pytest.raises(ValueError):
        compute(records, "fortnight")


def test_csv_and_plot(records: list[dict], tmp_path: Path) -> None:
    t = compute(records, "day", total=True)
    out = write_csv(t, tmp_path / "stats.csv")
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 6  # ann on 2 days, bob on 1, all operators on 3
    bob = next(r for r in rows if r["operator"] == "bob")
    assert bob["period"] == "2026-12-01" and bob["bags_screened"] == "3" and bob["suspects"] == "2"
    assert bob["hand_search_rate"] == "0.6667" and bob["median_seconds"] == "3.000"
    assert (bob["tip_shown"], bob["tip_hits"], bob["tip_misses"], bob["tip_hit_rate"]) == ("3", "1", "2", "0.3333")
    assert (bob["tip_misses_Gun"], bob["tip_misses_Knife"], bob["tip_misses_Wrench"]) == ("1", "1", "0")
    assert next(r for r in rows if r["period"] == "2026-11-29")["tip_hit_rate"] == ""  # no TIP: blank
    png = plot_hit_rate(t, tmp_path / "hit_rate.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_the_command_line_gives_the_same_figures(records: list[dict], tmp_path: Path, capsys) -> None:
    from app.cli import main

    log = tmp_path / "bagscan-audit.jsonl"  # the fixture's log, torn line and all
    assert main(["stats", str(log), "--per", "all", "--csv", str(tmp_path / "all.csv")]) == 0
    out = capsys.readouterr().out.splitlines()
    bob = next(line for line in out if line.startswith("bob"))
    assert bob.split()[:9] == ["bob", "all", "3", "2", "66.7%", "3.0", "3", "1", "33.3%"]
    assert bob.endswith("Gun 1, Knife 1") and "2 records without a time" in out[-2]
    assert (tmp_path / "all.csv").read_text() == write_csv(compute(records, "all", total=True),
                                                           tmp_path / "again.csv").read_text()
    assert main(["stats", str(tmp_path / "nope.jsonl")]) == 1
