"""Scoring throughput of every registered model on the CPU (a figure, not a test).

One scoring pass per patch is what engine.scoring does: one G forward and D on
x and x_hat (one batched D call), eval mode, ``torch.inference_mode()``. Each
(model, size, variant) is warmed up, then timed over several repeats; the
median is reported. Variants: plain NCHW fp32, channels_last, and bf16 autocast
(channels_last + bf16), to say whether either helps on this CPU.

    python -m benchmarks.throughput --sizes 64 256 --threads 2

Also times a whole 1268x1038 scan (the median SIXray threat-free size) end to end,
file to scores (read + decode, patch grid, batched scoring): with 256-px patches
into a 64-px model (the default) and into a 256-px model (full resolution). The
scan is synthetic (engine.synth) so the figure needs no dataset; the models are
freshly initialised, which costs exactly what a trained one does.

Writes ``benchmarks/out/throughput.json``. ``bench_models(sizes, threads)`` is
the entry point for scripts that add end-to-end scan timing.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from benchmarks import OUT
from engine.models import create_model, gan_models

log = logging.getLogger("benchmarks.throughput")

VARIANTS = ("fp32", "channels_last", "bf16")


def _pass(model: torch.nn.Module, x: torch.Tensor, bf16: bool) -> None:
    """One scoring pass, as engine.scoring runs it."""
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        x_hat = model.netg(x).x_hat
        model.netd(torch.cat([x, x_hat.to(x.dtype)], 0))


def time_model(name: str, size: int, variant: str, batch: int = 32, repeats: int = 5,
               budget_s: float = 20.0, **config: Any) -> dict[str, Any]:
    """Median patches/s of one model and variant; fewer repeats for slow models (``budget_s``)."""
    torch.manual_seed(0)
    model = create_model(name, input_size=size, **config).eval()
    x = torch.rand(batch, model.config.channels, size, size)
    if variant in ("channels_last", "bf16"):
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    bf16 = variant == "bf16"
    with torch.inference_mode():
        t0 = time.perf_counter()
        _pass(model, x, bf16)  # warm-up: oneDNN primitive creation, allocator
        warm = time.perf_counter() - t0
        # A pass slower than the budget (bf16 on a CPU without native bf16) is reported from the
        # warm-up alone, so one hopeless variant cannot hold the whole run for many minutes.
        n = 0 if warm > budget_s else max(1, min(repeats, int(budget_s / max(warm, 1e-3))))
        times: list[float] = [warm] if n == 0 else []
        cpu: list[float] = []
        for _ in range(n):
            t0, c0 = time.perf_counter(), time.process_time()
            _pass(model, x, bf16)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    med = statistics.median(times)
    # CPU seconds per pass are less disturbed by other processes than wall time on a shared machine.
    cpu_med = statistics.median(cpu) if cpu else float("nan")
    return {
        "model": name, "input_size": size, "variant": variant, "batch": batch, "repeats": n,
        "patches_per_s": round(batch / med, 1), "ms_per_patch": round(1000 * med / batch, 3),
        "patches_per_cpu_s": round(batch / cpu_med, 1),
        "params_g": sum(p.numel() for p in model.netg.parameters()),
        "params_d": sum(p.numel() for p in model.netd.parameters()),
        "config": {k: v for k, v in config.items()},
    }


def bench_models(sizes: list[int] | tuple[int, ...] = (64, 256), threads: int = 2,
                 models: list[str] | None = None, variants: tuple[str, ...] = VARIANTS,
                 batch: int = 32, repeats: int = 5) -> dict[str, Any]:
    """Time every model x size x variant in one run; returns a JSON-ready dict with a ``rows`` list."""
    torch.set_num_threads(threads)
    rows: list[dict[str, Any]] = []
    for size in sizes:
        for name in models or gan_models():  # patch throughput; threat-map is timed on whole scans
            for variant in variants:
                row = time_model(name, size, variant, batch, repeats)
                log.info("%-14s %4d px %-13s %8.1f patches/s  %8.1f per CPU-s", name, size, variant,
                         row["patches_per_s"], row["patches_per_cpu_s"])
                rows.append(row)
    return {
        "torch": torch.__version__, "threads": threads, "cpu": platform.processor() or platform.machine(),
        "load_avg_at_start": os.getloadavg(), "rows": rows,
    }


def _median_scan(folder: Path) -> Path:
    """A synthetic 1268x1038 scan written as JPEG, like a scanner's file."""
    import numpy as np

    from engine.synth.bags import render_bag
    from engine.synth.render import encode_jpeg

    pixels, _ = render_bag(np.random.default_rng(7), (1268, 1038), n_threats=1)
    path = folder / "median-1268x1038.jpg"
    path.write_bytes(encode_jpeg(pixels))
    return path


def time_scan(name: str, input_size: int, patch: int = 256, repeats: int = 7, **config: Any) -> dict[str, Any]:
    """Median wall time to score one median-size scan from its file, as ``bagscan scan`` does."""
    import tempfile

    import numpy as np

    from engine.config import GridConfig, ScoreConfig, TrainConfig
    from engine.modelfile import ModelBundle
    from engine.score_head import ScoreHead, Term
    from engine.scoring import Scorer, raw_components

    torch.manual_seed(0)
    model = create_model(name, input_size=input_size, **config).eval()
    if model.produces_map:  # one term; its statistics do not change the time
        head = ScoreHead((Term("map", 0.0, 1.0, 1.0),))
    else:
        sample = np.random.default_rng(0).random((8, 3, input_size, input_size), dtype=np.float32)
        head = ScoreHead.fit(raw_components(model, sample, torch.device("cpu")), ScoreConfig())  # terms it outputs
    bundle = ModelBundle(name, model, GridConfig(patch=patch, stride=patch, input_size=input_size),
                         TrainConfig(), head)
    scorer = Scorer(bundle, device="cpu")
    with tempfile.TemporaryDirectory() as tmp:
        path = _median_scan(Path(tmp))
        res = scorer.score_scan(path)  # warm-up
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            res = scorer.score_scan(path)
            times.append(time.perf_counter() - t0)
    return {"model": name, "input_size": input_size, "patch": patch, "patches": int(len(res.scores)),
            "scan_s_median": round(statistics.median(times), 4), "scan_s_min": round(min(times), 4)}


def bench_scans(threads: int = 2, models: list[str] | None = None,
                sizes: tuple[int, ...] = (64, 256)) -> list[dict[str, Any]]:
    torch.set_num_threads(threads)
    rows = []
    for size in sizes:
        for name in models or ["dsa"]:
            row = time_scan(name, size)
            log.info("%-14s %4d px  whole 1268x1038 scan %.3f s (%d patches)", name, size,
                     row["scan_s_median"], row["patches"])
            rows.append(row)
    return rows


def format_table(result: dict[str, Any]) -> str:
    """Patches/s (wall) and patches per CPU-second per model and size, one column per variant."""
    cells: dict[tuple[str, int], dict[str, float]] = {}
    for r in result["rows"]:
        c = cells.setdefault((r["model"], r["input_size"]), {})
        c[r["variant"]] = r["patches_per_s"]
        c[r["variant"] + " /cpu-s"] = r["patches_per_cpu_s"]
    variants = [v + suffix for suffix in ("", " /cpu-s") for v in VARIANTS
                if any(v in c for c in cells.values())]
    lines = [f"| model | px | {' | '.join(variants)} |", "| --- | ---: |" + " ---: |" * len(variants)]
    for (name, size), c in cells.items():
        lines.append(f"| {name} | {size} | " + " | ".join(f"{c.get(v, float('nan')):.1f}" for v in variants)
                     + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 256])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", nargs="+", default=None)
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--scan-models", nargs="*", default=["threat-map", "dsa", "skip-ganomaly"],
                    help="models timed end to end on a whole median scan (none: skip)")
    ap.add_argument("--out", type=Path, default=OUT / "throughput.json")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    result = bench_models(args.sizes, args.threads, args.models, tuple(args.variants), args.batch,
                          args.repeats)
    result["whole_scan"] = bench_scans(args.threads, args.scan_models, tuple(args.sizes)) if args.scan_models else []
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"patches/s, CPU, {args.threads} threads, batch {args.batch}, median of up to {args.repeats} "
          f"(load at start {result['load_avg_at_start'][0]:.2f})")
    print(format_table(result))
    for r in result["whole_scan"]:
        print(f"whole 1268x1038 scan, file to scores: {r['model']} {r['patch']}-px patches into {r['input_size']} px: "
              f"{r['scan_s_median']:.3f} s median ({r['patches']} patches)")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
