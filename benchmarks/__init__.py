"""Benchmarks: run as ``python -m benchmarks.NAME``; each prints its figures and writes JSON under OUT."""

import os as _os
from pathlib import Path as _Path

#: Where benchmarks write their JSON, models and caches: benchmarks/out, or $BAGSCAN_BENCH_OUT (the smoke
#: test points it at a temporary folder, so a test run never touches the recorded results).
OUT = _Path(_os.environ.get("BAGSCAN_BENCH_OUT") or _Path(__file__).resolve().parent / "out")
