"""Batch benchmark: scans/s and peak memory of ``bagscan batch`` on real SIXray-dev scans.

    python -m benchmarks.batch [--root ../shared/sixray-dev] [--model FILE] [--sizes 100,1000]

Each size runs in a fresh subprocess (engine.batch.run_batch, fsync on, as the CLI runs it), so
peak RSS (``resource.getrusage``) is that run's alone. Scans are taken from the first
max(sizes) of the dev set in order of decreasing pixel count, so every run starts with the
same largest scans: a scan's working set (float32 pixels, patches) is the same in both runs,
and any difference in peak RSS is accumulation. Memory must stay flat: the peak for 1000
scans should match the peak for 100, and RSS after 100 scans should match RSS at the end.
Without ``--model`` a dsa model is trained once (1 epoch on 40 threat-free dev scans, input
64, patch 256) and cached in benchmarks/out/. The dev scans are read in place, never copied.
Prints a table and writes benchmarks/out/batch.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import OUT
from engine.config import GridConfig, TrainConfig
from engine.data import load_dataset

log = logging.getLogger("bench.batch")
ROOT = Path(__file__).resolve().parents[2] / "shared" / "sixray-dev"
GRID = GridConfig(patch=256, stride=256, input_size=64)


def rss_mb() -> float:
    """Current resident set size (Linux /proc), for the warm-vs-end comparison."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def train_model(root: Path, out: Path) -> Path:
    from engine.training import TrainJob, train

    if out.is_file():
        return out
    normals = [r for r in load_dataset(root).records if r.name.startswith("N")][:40]
    cfg = TrainConfig(epochs=1, batch_size=32, max_patches_per_scan=16, val_fraction=0.25, seed=0)
    t0 = time.perf_counter()
    list(train(TrainJob(normals, "dsa", str(out), {}, GRID, cfg, device="cpu")))
    log.info("trained %s in %.0fs", out, time.perf_counter() - t0)
    return out


def child(root: Path, model: Path, n: int, pool: int, out: Path, device: str) -> dict:
    """One batch run in this process over the ``n`` largest of the first ``pool`` scans."""
    from engine.batch import BatchFinished, run_batch
    from engine.data.io import probe_scan
    from engine.events import ScanFailed, ScanScored

    records = load_dataset(root).records[:pool]
    pixels = {r.path: probe_scan(r.path)[0] * probe_scan(r.path)[1] for r in records}
    records = sorted(records, key=lambda r: -pixels[r.path])[:n]
    warm, k, done = 0.0, 0, None
    for ev in run_batch(records, model, out, device=device):
        if isinstance(ev, (ScanScored, ScanFailed)):
            k += 1
            if k == min(100, n):
                warm = rss_mb()
        elif isinstance(ev, BatchFinished):
            done = ev
    assert done is not None
    return {"scans": done.scored + done.failed, "failed": done.failed, "seconds": round(done.seconds, 2),
            "scans_per_s": round(done.scans_per_s, 3),
            "mean_mp": round(sum(pixels[r.path] for r in records) / len(records) / 1e6, 2),
            "max_mp": round(max(pixels[r.path] for r in records) / 1e6, 2), "rss_after_100_mb": round(warm, 1),
            "rss_end_mb": round(rss_mb(), 1), "peak_rss_mb": round(peak_mb(), 1),
            "session_mb": round(out.stat().st_size / 2**20, 2)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=ROOT)
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--sizes", default="100,1000")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--pool", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.child:
        print(json.dumps(child(args.root, args.model, args.child, args.pool, args.out, args.device)))
        return 0
    if not (args.root / "JPEGImage").is_dir():
        print(f"skipped: {args.root} is not present")
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    model = args.model or train_model(args.root, OUT / "batch-bench-model.h5")
    runs = []
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            cmd = [sys.executable, "-m", "benchmarks.batch", "--root", str(args.root), "--model", str(model),
                   "--device", args.device, "--child", str(n), "--pool", str(max(sizes)),
                   "--out", str(Path(tmp) / f"s{n}.h5")]
            res = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=Path(__file__).parents[1])
            runs.append(json.loads(res.stdout.strip().splitlines()[-1]))
            log.info("%s", runs[-1])
    print(f"\n{'scans':>6} {'mean MP':>8} {'scans/s':>8} {'peak RSS MB':>12} {'RSS@100 MB':>11} "
          f"{'RSS end MB':>11} {'file MB':>8}")
    for r in runs:
        print(f"{r['scans']:>6} {r['mean_mp']:>8.2f} {r['scans_per_s']:>8.2f} {r['peak_rss_mb']:>12.0f} "
              f"{r['rss_after_100_mb']:>11.0f} {r['rss_end_mb']:>11.0f} {r['session_mb']:>8.1f}")
    growth = runs[-1]["peak_rss_mb"] - runs[0]["peak_rss_mb"]
    print(f"peak RSS growth from {runs[0]['scans']} to {runs[-1]['scans']} scans: {growth:+.0f} MB")
    result = {"command": "python -m benchmarks.batch " + " ".join(sys.argv[1:]), "model": str(model),
              "device": args.device, "cpus": os.cpu_count(), "load_avg": os.getloadavg(), "runs": runs,
              "peak_rss_growth_mb": round(growth, 1)}
    (OUT / "batch.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
