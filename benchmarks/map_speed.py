"""File-to-map time of trained model files on one median-size scan (a figure, not a test).

    python -m benchmarks.map_speed MODEL.h5 [MODEL.h5 ...] [--threads 2] [--repeats 15] [--views 1,4]

The scan is benchmarks.throughput's synthetic 1268 x 1038 bag (the median SIXray threat-free size),
written as a JPEG so the time includes reading and decoding, as ``bagscan scan`` does. Each model is
warmed up once, then timed ``--repeats`` times; the median and the spread are printed beside the
load average, since a busy machine slows every row alike. Writes benchmarks/out/map_speed.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.map_views import set_views
from benchmarks.sixray_dev import OUT
from benchmarks.throughput import _median_scan as median_scan
from engine.modelfile import load_model
from engine.scoring import Scorer

log = logging.getLogger("map_speed")
def time_model(model: str, scan: Path, repeats: int, views: int = 0) -> dict:
    bundle = load_model(model)
    if views:  # a threat-map file scored at another view count
        set_views(bundle, views)
    scorer = Scorer(bundle, device="cpu")
    scorer.score_scan(scan)  # warm-up: allocator, kernels
    secs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = scorer.score_scan(scan)
        secs.append(time.perf_counter() - t0)
    return {"model": model, "model_name": bundle.name, "input_size": bundle.grid.input_size,
            "views": getattr(bundle.model.config, "views", 1),
            "median_s": statistics.median(secs), "min_s": min(secs), "max_s": max(secs),
            "has_map": getattr(result, "threat_map", None) is not None}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--views", default="0", help="N,N,...: time each threat-map file at these view counts "
                    "(0: as the file says)")
    ap.add_argument("--out", type=Path, default=OUT / "map_speed.json")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        scan = median_scan(Path(tmp))
        rows = [time_model(m, scan, args.repeats, int(v)) for m in args.models for v in args.views.split(",")]
    load = os.getloadavg()
    for r in rows:
        print(f"{r['model_name']:12s} input {r['input_size']:3d} views {r['views']}  median {r['median_s']:.3f} s  "
              f"(min {r['min_s']:.3f}, max {r['max_s']:.3f})  map {r['has_map']}  {r['model']}")
    print(f"threads {args.threads}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"threads": args.threads, "loadavg": load, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
