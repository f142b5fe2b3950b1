"""``bagscan stats AUDIT.jsonl ...``: per-operator screening and TIP statistics from audit logs alone.

The same figures as the window's Statistics dialog (both call
:func:`engine.reporting.officer_stats.compute`), so a supervisor's report can be
recomputed from the logs by anyone, anywhere.
"""

from __future__ import annotations

import argparse

PERIODS = ("day", "week", "month", "all")  # engine.reporting.officer_stats.PERIODS (not imported: start-up)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stats", help="per-operator statistics (bags, suspects, TIP hit rate) from audit logs")
    p.add_argument("logs", nargs="+", help="audit logs (bagscan-audit.jsonl)")
    p.add_argument("--per", choices=PERIODS, default="day", help="period (UTC days, ISO weeks, months, all)")
    p.add_argument("--operator", default=None, help="only this operator")
    p.add_argument("--csv", default=None, metavar="OUT", help="write the table as CSV")
    p.add_argument("--pdf", default=None, metavar="OUT", help="write a PDF report (table and hit-rate plot)")
    p.add_argument("--plot", default=None, metavar="OUT", help="write the TIP hit-rate plot as PNG")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.audit import read_records
    from engine.errors import ConfigError
    from engine.reporting.officer_stats import compute, plot_hit_rate, text_lines, write_csv

    missing = [p for p in args.logs if not Path(p).is_file()]
    if missing:
        raise ConfigError(f"{missing[0]}: no such audit log")
    records = [r for p in args.logs for r in read_records(p)]
    table = compute(records, args.per, args.operator, total=args.operator is None)
    for line in text_lines(table):
        print(line)
    if table.skipped:
        print(f"({table.skipped} records without a time, an operator or a decision left out)")
    if args.csv:
        print(f"wrote {write_csv(table, args.csv)}")
    if args.plot:
        print(f"wrote {plot_hit_rate(table, args.plot)}")
    if args.pdf:
        from app.pdf_stats import write_stats_pdf

        pages = write_stats_pdf(args.pdf, table, [str(p) for p in args.logs])
        print(f"wrote {args.pdf} ({pages} page{'s' if pages != 1 else ''})")
    return 0
