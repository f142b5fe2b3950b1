"""Contact sheet: synthetic scans beside real SIXray threat-free scans, and TIP examples.

    python -m benchmarks.contact_sheet [--sixray ../shared/sixray-dev] [--out docs/synth_vs_real.png]

Top: 8 synthetic threat-free scans (``engine.synth.render_bag`` at the default
size, through JPEG as ``bagscan synth`` writes them) on the left, 8 real
threat-free SIXray scans on the right. Bottom: threats projected (TIP) into
real threat-free scans, shape models and cut-outs from real threat scans, with
their boxes. Everything is a downscaled thumbnail: SIXray is academic-use only
and its files never enter the repository. Also prints generation speed.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from engine.data import read_scan
from engine.synth import DEFAULT_SIZE, ThreatLibrary, project, render_bag
from engine.synth.render import decode_jpeg, encode_jpeg, to_uint8

ROOT = Path(__file__).resolve().parents[1]

CELL_W, CELL_H, GAP = 250, 205, 6
log = logging.getLogger("contact_sheet")


def _thumb(rgb: np.ndarray, boxes: list | None = None) -> np.ndarray:
    """Fit a scan into a cell (aspect kept, white padding), with boxes drawn in red."""
    img = to_uint8(rgb) if rgb.dtype != np.uint8 else rgb
    h, w = img.shape[:2]
    s = min(CELL_W / w, CELL_H / h)
    small = cv2.resize(img, (max(int(w * s), 1), max(int(h * s), 1)), interpolation=cv2.INTER_AREA)
    for b in boxes or []:
        p0 = (int(b.x0 * s), int(b.y0 * s))
        p1 = (int(b.x1 * s), int(b.y1 * s))
        cv2.rectangle(small, p0, p1, (230, 0, 0), 1, cv2.LINE_AA)
    cell = np.full((CELL_H, CELL_W, 3), 255, np.uint8)
    y, x = (CELL_H - small.shape[0]) // 2, (CELL_W - small.shape[1]) // 2
    cell[y : y + small.shape[0], x : x + small.shape[1]] = small
    return cell


def _grid(cells: list[np.ndarray], cols: int) -> np.ndarray:
    rows = []
    for i in range(0, len(cells), cols):
        row = cells[i : i + cols] + [np.full_like(cells[0], 255)] * (cols - len(cells[i : i + cols]))
        rows.append(
            np.hstack(
                [np.pad(c, ((GAP // 2,) * 2, (GAP // 2,) * 2, (0, 0)), constant_values=235) for c in row]
            )
        )
    return np.vstack(rows)


def _title(text: str, width: int) -> np.ndarray:
    bar = np.full((30, width, 3), 255, np.uint8)
    cv2.putText(bar, text, (8, 21), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (30, 30, 30), 1, cv2.LINE_AA)
    return bar


def synthetic(n: int, seed: int) -> tuple[list[np.ndarray], float]:
    """n synthetic threat-free scans through JPEG, and the rate in scans/s (render + encode)."""
    out = []
    t0 = time.perf_counter()
    for i in range(n):
        rgb, _ = render_bag(np.random.default_rng([seed, i]), DEFAULT_SIZE)
        out.append(encode_jpeg(rgb))
    rate = n / (time.perf_counter() - t0)
    return [decode_jpeg(b) for b in out], rate


def real_normals(root: Path, n: int) -> list[Path]:
    files = sorted((root / "JPEGImage").glob("N*.jpg"))
    return [files[int(i)] for i in np.linspace(0, len(files) - 1, n)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sixray", type=Path, default=ROOT.parent / "shared" / "sixray-dev")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "synth_vs_real.png")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not (args.sixray / "JPEGImage").is_dir():
        log.error("%s has no JPEGImage/: the real half of the sheet needs SIXray", args.sixray)
        return 1

    synth, rate = synthetic(8, args.seed)
    log.info("synthetic %dx%d: %.2f scans/s (render + JPEG, one process)", *DEFAULT_SIZE, rate)
    reals = [read_scan(p).pixels for p in real_normals(args.sixray, 8)]

    rng = np.random.default_rng(args.seed)
    shape_lib = ThreatLibrary.synthetic(rng, per_category=2)
    cut_lib = ThreatLibrary.from_dataset(args.sixray, max_per_category=4, seed=args.seed)
    hosts = real_normals(args.sixray, 24)[1::3]
    tips = []
    for i, host_path in enumerate(hosts):
        host = read_scan(host_path).pixels
        lib = shape_lib if i < 4 else cut_lib
        sprite = lib.sample(rng, shape_lib.categories[i] if i < 4 else None)
        shot, box = project(host, sprite, rng)
        tips.append(_thumb(decode_jpeg(encode_jpeg(shot)), [box]))

    left = _grid([_thumb(s) for s in synth], 4)
    right = _grid([_thumb(r) for r in reals], 4)
    top = np.hstack(
        [
            np.vstack([_title("synthetic: bagscan synth (threat-free, default size)", left.shape[1]), left]),
            np.full((left.shape[0] + 30, 12, 3), 255, np.uint8),
            np.vstack([_title("real: SIXray threat-free N*.jpg (sixray-dev)", right.shape[1]), right]),
        ]
    )
    bottom = _grid(tips, 8)
    bottom = np.vstack(
        [
            _title(
                "TIP into real threat-free scans: 4 shape-model threats (left), "
                "4 cut-outs of real SIXray threats (right); red = written box",
                top.shape[1],
            ),
            np.pad(bottom, ((0, 0), (0, top.shape[1] - bottom.shape[1]), (0, 0)), constant_values=255),
        ]
    )
    sheet = np.vstack([top, np.full((10, top.shape[1], 3), 255, np.uint8), bottom])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    ok, png = cv2.imencode(".png", cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    assert ok
    args.out.write_bytes(png.tobytes())
    log.info("wrote %s (%dx%d, %.0f kB)", args.out, sheet.shape[1], sheet.shape[0], len(png) / 1e3)
    return 0


if __name__ == "__main__":
    sys.exit(main())
