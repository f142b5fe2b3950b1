"""GUI responsiveness while scoring: event-loop lateness and open-to-overlay time, on the CPU.

    python -m benchmarks.gui_latency [--model FILE] [--data DIR] [--scans 12] [--screenshot PNG]

A QTimer ticks every 10 ms on the GUI thread; each tick records how late it
fired. Ticks taken while the scoring worker is busy give the p50/p99/max the
officer feels during scoring (target p99 < 50 ms). Each scan is then opened
cold (not prefetched: the benchmark jumps PREFETCH_AHEAD + 1 rows each time)
and the time from the request to its overlay on screen is recorded, plus the
time for "Next" when the prefetch had a moment to work.

Without --model a stand-in DSA model (default grid: 256-px patches at 64 px)
is trained briefly on generated bags and cached in benchmarks/out/: its
weights are not tuned for detection, but its cost per scan is the real one.
Without --data, synthetic SIXray-sized bags (engine.synth) are generated.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import OUT
from engine.data.types import NORMAL, THREAT

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]



def make_bags(folder: Path, n: int, seed: int, threat_every: int = 2) -> list[Path]:
    """Synthetic scans; every ``threat_every``-th holds one threat, with a VOC box beside it."""
    from engine.data.io import write_image
    from engine.synth.bags import render_bag

    paths = []
    for i in range(n):
        threat = threat_every > 0 and i % threat_every == 1
        img, boxes = render_bag(np.random.default_rng(seed + i), n_threats=int(threat))
        sub, name = (THREAT, f"P{seed + i:05d}") if threat else (NORMAL, f"N{seed + i:07d}")  # folder = label
        p = folder / sub / f"{name}.jpg"
        write_image(p, img)
        if boxes:
            objs = "".join(f"<object><name>{b.category}</name><bndbox><xmin>{b.x0:.0f}</xmin><ymin>{b.y0:.0f}"
                           f"</ymin><xmax>{b.x1:.0f}</xmax><ymax>{b.y1:.0f}</ymax></bndbox></object>"
                           for b in boxes)
            p.with_suffix(".xml").write_text(f"<annotation><filename>{p.name}</filename>{objs}</annotation>")
        paths.append(p)
    return paths


def standin_model(epochs: int) -> Path:
    """Train (once, cached) a default-grid DSA on generated normal bags, then threat-calibrate it."""
    from engine.config import GridConfig, TrainConfig
    from engine.data import load_dataset
    from engine.evaluation import Scored
    from engine.modelfile import load_model, save_model
    from engine.recalibration import recalibrate
    from engine.scoring import Scorer
    from engine.training import TrainJob, train

    out = OUT / f"gui_latency_dsa_e{epochs}.h5"
    if out.is_file():
        return out
    work = OUT / "gui_latency_train"
    make_bags(work / "train", 40, seed=5000, threat_every=0)
    cfg = TrainConfig(epochs=epochs, batch_size=32, max_patches_per_scan=16, val_fraction=0.25)
    t0 = time.perf_counter()
    job = TrainJob(str(work / "train"), "dsa", str(out), {}, GridConfig(), cfg, device="cpu", resume=True)
    for _ in train(job):  # resume: an interrupted run continues from its checkpoint
        pass
    print(f"trained stand-in model in {time.perf_counter() - t0:.0f} s: {out}")
    make_bags(work / "cal", 16, seed=7000, threat_every=2)
    bundle = load_model(out)
    scorer = Scorer(bundle, device="cpu")
    scored = [Scored(r, scorer.score_scan(r.path)) for r in load_dataset(work / "cal").records]
    save_model(recalibrate(bundle, scored, 0.9).bundle, out)
    return out


def percentile(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q)) if xs else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="model file (default: a cached stand-in DSA)")
    ap.add_argument("--data", help="scans to open (default: generated synthetic bags)")
    ap.add_argument("--scans", type=int, default=12, help="scans to open cold")
    ap.add_argument("--epochs", type=int, default=4, help="epochs for the stand-in model")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads in the worker (default: cores - 1)")
    ap.add_argument("--screenshot", help="also save a window screenshot on a threat scan to this PNG")
    args = ap.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    model = Path(args.model) if args.model else standin_model(args.epochs)
    tmp = Path(tempfile.mkdtemp(prefix="bagscan-gui-bench-"))
    data = Path(args.data) if args.data else tmp / "scans"
    if not args.data:
        make_bags(data, max(args.scans * 3, 6), seed=100)

    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from app.controllers.screening import PREFETCH_AHEAD
    from app.dialogs.error import ErrorReporter
    from app.main_window import MainWindow
    from app.settings import Settings
    from app.views.theme import apply_dark_theme

    app = QApplication.instance() or QApplication([])
    apply_dark_theme(app)  # type: ignore[arg-type]
    settings = Settings(QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat))
    win = MainWindow(settings=settings, reporter=ErrorReporter(show_dialogs=False), device="cpu",
                     operator_provider=lambda: "benchmark", audit_fallback_dir=tmp,
                     worker_threads=args.threads)
    win.resize(1400, 900)
    win.show()
    assert win.load_model(str(model)), win.reporter.reports
    t_open = time.perf_counter()
    assert win.open_paths([str(data)]), win.reporter.reports
    ctl = win.screening

    busy_lags: list[float] = []
    idle_lags: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        lag = (now - last[0]) * 1000.0 - 10.0
        last[0] = now
        (busy_lags if win.worker.is_busy() else idle_lags).append(max(lag, 0.0))

    timer = QTimer()
    timer.setTimerType(timer.timerType().PreciseTimer)
    timer.timeout.connect(tick)

    def spin_until(cond, timeout: float = 60.0) -> None:
        end = time.perf_counter() + timeout
        while not cond() and time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.001)
        if not cond():
            raise TimeoutError("scan did not score in time")

    def shown(path: str) -> bool:
        r = win.scan_view.result
        return r is not None and r.path == path

    cold: list[float] = []
    spin_until(lambda: ctl.current_item is not None and shown(ctl.current_item.path))
    cold.append(time.perf_counter() - t_open)  # includes listing the folder
    spin_until(lambda: not win.worker.is_busy())
    last[0] = time.perf_counter()
    timer.start(10)  # steady state: the window has painted once (fonts, style caches are warm)
    rows = win.scan_list.visible_rows()
    step = PREFETCH_AHEAD + 1
    for row in rows[step::step][: args.scans - 1]:
        t0 = time.perf_counter()
        ctl.go(row)
        spin_until(lambda r=row: shown(ctl.items[r].path))
        cold.append(time.perf_counter() - t0)
        spin_until(lambda: not win.worker.is_busy())  # let the prefetch run (its lags count as busy)
    warm: list[float] = []
    for _ in range(3):
        t0 = time.perf_counter()
        ctl.next()
        spin_until(lambda: shown(ctl.current_item.path))
        warm.append(time.perf_counter() - t0)
    spin_until(lambda: not win.worker.is_busy())
    end = time.perf_counter() + 0.5
    spin_until(lambda: time.perf_counter() > end)  # an idle baseline
    timer.stop()
    secs = [it.result.seconds for it in ctl.items if it.result is not None]

    print(f"device: {win.model_panel.device.text()}; model {model.name}; {len(ctl.items)} scans in list; "
          f"{os.cpu_count()} CPU cores")
    print(f"scoring per scan (worker): median {statistics.median(secs) * 1000:.0f} ms over {len(secs)} scans")
    print(f"event-loop lateness while scoring: p50 {percentile(busy_lags, 50):.1f} ms, "
          f"p99 {percentile(busy_lags, 99):.1f} ms, max {max(busy_lags, default=float('nan')):.1f} ms "
          f"({len(busy_lags)} ticks; target p99 < 50 ms)")
    print(f"event-loop lateness idle:          p50 {percentile(idle_lags, 50):.1f} ms, "
          f"p99 {percentile(idle_lags, 99):.1f} ms ({len(idle_lags)} ticks)")
    print(f"open -> overlay shown, cold:       median {statistics.median(cold) * 1000:.0f} ms, "
          f"max {max(cold) * 1000:.0f} ms ({len(cold)} scans; first includes opening the folder)")
    print(f"next -> overlay shown, prefetched: median {statistics.median(warm) * 1000:.1f} ms")

    if args.screenshot:
        save_screenshot(app, win, Path(args.screenshot))
    win.close()
    return 0


def _overlap(a: tuple, b: tuple) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return iw * ih / max((b[2] - b[0]) * (b[3] - b[1]), 1e-9)


def save_screenshot(app, win, path: Path) -> None:
    """A threat scan with its overlay, after scoring: the picture in docs/.

    Every scan is scored first; the threat scan shown is one where a flagged region
    covers its true box at the calibrated threshold, with the fewest flagged patches
    (a scan the model gets right, as docs show).
    """
    from engine.reporting.regions import merge_regions

    ctl = win.screening

    def pump(cond, timeout: float = 120.0) -> None:
        end = time.perf_counter() + timeout
        while not cond() and time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.005)

    for row in range(len(ctl.items)):
        if ctl.items[row].result is None:
            ctl.go(row)
            pump(lambda r=row: ctl.items[r].result is not None or ctl.items[r].error != "")
    t = ctl.threshold  # the calibration's own operating point
    best, best_key, best_cover = None, (False, -(10**9), -1.0), 0.0
    for row, it in enumerate(ctl.items):
        if not it.record.boxes or it.result is None:
            continue
        regions = merge_regions(it.result.boxes, it.result.scores, t)
        cover = max((_overlap(r.box, it.record.boxes[0].as_list()) for r in regions), default=0.0)
        key = (cover > 0.25, -it.result.n_flagged(t), cover)  # a region on the threat, few flags
        if key > best_key:
            best, best_key, best_cover = row, key, cover
    if best is None:
        print("no scored threat scan with a box: no screenshot")
        return
    ctl.go(best)
    pump(lambda: win.scan_view.result is not None and win.scan_view.result.path == ctl.items[best].path
         and win.scan_view.image is not None)
    b = ctl.items[best].record.boxes[0]
    win.status.pixel.setText(win.scan_view.readout(int((b.x0 + b.x1) / 2), int((b.y0 + b.y1) / 2)))
    pump(lambda: False, timeout=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    win.grab().save(str(path))
    print(f"screenshot: {path} ({ctl.items[best].name}; "
          f"a flagged region covers {best_cover:.0%} of the true box)")


if __name__ == "__main__":
    sys.exit(main())
