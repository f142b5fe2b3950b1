"""Soak: 20,000 repaints of the scan view and a 3,000-page PDF, timed, with memory and None's refcount.

    python benchmarks/soak_paint.py [--repaints 20000] [--pages 3000] [--json benchmarks/out/soak_paint.json]

PySide6 6.12.0 on Python < 3.12 drops a reference to None per void QPainter call; the window then
died after about 11,000 repaints and a 3,000-scan PDF export aborted after 51 s (``none_dealloc``).
The baseline, measured in the same run, is the first 1,000 repaints and a 100-page PDF: a leak or a
slowdown shows as the last chunk's rate, RSS and None count drifting from it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHUNK = 1000


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def soak_repaints(n: int) -> dict:
    from tests.robustness.paint_load import repaint, scan_view

    view = scan_view()
    repaint(view, 20)
    none0, rss0, t0 = sys.getrefcount(None), rss_mb(), time.perf_counter()
    chunks = []
    for done in range(0, n, CHUNK):
        t = time.perf_counter()
        repaint(view, min(CHUNK, n - done))
        chunks.append({"repaints": done + min(CHUNK, n - done), "per_s": min(CHUNK, n - done) /
                       (time.perf_counter() - t), "rss_mb": round(rss_mb(), 1),
                       "none_lost": none0 - sys.getrefcount(None)})
    return {"repaints": n, "seconds": round(time.perf_counter() - t0, 2), "rss_start_mb": round(rss0, 1),
            "baseline_per_s": round(chunks[0]["per_s"], 1), "last_per_s": round(chunks[-1]["per_s"], 1),
            "rss_end_mb": chunks[-1]["rss_mb"], "none_lost": chunks[-1]["none_lost"], "peak_mb": round(peak_mb(), 1)}


def soak_pdf(pages: int, folder: Path) -> dict:
    from app.pdf import write_pdf
    from tests.robustness.paint_load import flagged_pages, summary

    flagged = flagged_pages(folder, pages)
    t = time.perf_counter()
    write_pdf(folder / "base.pdf", summary(100), flagged[:100])
    base = (time.perf_counter() - t) / 101
    none0, t0 = sys.getrefcount(None), time.perf_counter()
    n = write_pdf(folder / "soak.pdf", summary(pages), flagged)
    secs = time.perf_counter() - t0
    return {"pages": n, "seconds": round(secs, 2), "baseline_ms_per_page": round(base * 1000, 2),
            "ms_per_page": round(secs / n * 1000, 2), "mb": round((folder / "soak.pdf").stat().st_size / 1e6, 1),
            "none_lost": none0 - sys.getrefcount(None), "peak_mb": round(peak_mb(), 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repaints", type=int, default=20000)
    ap.add_argument("--pages", type=int, default=3000)
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "out" / "soak_paint.json"))
    args = ap.parse_args()
    import PySide6

    out = {"pyside6": PySide6.__version__, "python": sys.version.split()[0]}
    out["repaint"] = soak_repaints(args.repaints)
    r = out["repaint"]
    print(f"scan view: {r['repaints']} repaints in {r['seconds']} s ({r['baseline_per_s']}/s first {CHUNK}, "
          f"{r['last_per_s']}/s last); RSS {r['rss_start_mb']} -> {r['rss_end_mb']} MB; None refs lost "
          f"{r['none_lost']}")
    with tempfile.TemporaryDirectory() as tmp:
        out["pdf"] = soak_pdf(args.pages, Path(tmp))
    p = out["pdf"]
    print(f"PDF: {p['pages']} pages in {p['seconds']} s ({p['ms_per_page']} ms/page; 100-page baseline "
          f"{p['baseline_ms_per_page']} ms/page), {p['mb']} MB; None refs lost {p['none_lost']}; "
          f"peak RSS {p['peak_mb']} MB")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
