"""``bagscan train DATA --model NAME --out FILE``: train on threat-free scans only."""

from __future__ import annotations

import argparse
import dataclasses
import json

from engine.config import GridConfig, ScoreConfig, TrainConfig

from ._util import LazyHelpFormatter, lazy_help


def _model_names() -> str:
    from engine.models import list_models  # imports torch: only when `bagscan train --help` is printed

    return f"one of: {', '.join(list_models())} (default: %(default)s)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model on the threat-free scans of DATA",
                       formatter_class=LazyHelpFormatter)
    p.add_argument("data", help="SIXray root or folder; only its threat-free scans are used")
    lazy_help(p.add_argument("--model", default="threat-map", help="a registered model name; threat-map is "
                             "detector v2, the dense threat map (benchmarks/RESULTS.md)"), _model_names)
    p.add_argument("--out", required=True, help="model file to write (HDF5)")
    p.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    p.add_argument("--input-size", type=int, default=GridConfig.input_size, help="network input, pixels")
    p.add_argument("--patch", type=int, default=GridConfig.patch, help="patch size in scan pixels")
    p.add_argument("--stride", type=int, default=None, help="grid stride in scan pixels (default: patch)")
    p.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    p.add_argument("--lr", type=float, default=0.0, help="Adam rate (default: the model's recommended one)")
    p.add_argument("--lr-d", type=float, default=0.0, help="D's Adam rate (default: the model's recommended one)")
    p.add_argument("--max-patches-per-scan", type=int, default=TrainConfig.max_patches_per_scan)
    p.add_argument("--model-config", default="{}", help='JSON of model options, e.g. \'{"base": 16}\'')
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue from FILE's .ckpt.h5 checkpoint")
    tip = p.add_argument_group("threat image projection (TIP)", "threat-map always projects synthetic shape-model "
                               "threats into training crops and learns their exact masks; the GAN models do so with "
                               "--tip (D's threat head learns them, G's target stays the clean patch). Never pass "
                               "scans you evaluate.")
    tip.add_argument("--tip", action="store_true", help="GAN models: project synthetic shape-model threats")
    tip.add_argument("--tip-library", metavar="DIR", help="labelled threat scans (SIXray root or folder with VOC "
                     "boxes) whose boxed threats are cut out and projected, with the synthetic ones; threat-map "
                     "also learns their real threats from the boxes (recommended whenever you have one)")
    tip.add_argument("--hard-augment", action="store_true", help="synthetic anomalies with known masks (rotation, "
                     "tile permutation, colour jitter, CutMix); on by default for models whose attention map "
                     "learns from the masks (two-stage)")
    tip.add_argument("--w-tip", type=float, default=0.0, help="weight of the augmentation loss (threat head or "
                     "attention; default 1 when augmenting)")
    tip.add_argument("--semi", action="store_true", help="also show the library's real threat patches to the threat "
                     "head as positives (never to G), and its threat-free patches as negatives")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from engine.training import TrainJob, train
    from engine.training.augmentation import training_augmentation

    from ._progress import drive

    grid = GridConfig(patch=args.patch, stride=args.stride or args.patch, input_size=args.input_size)
    cfg = dataclasses.replace(TrainConfig(), epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                              lr_d=args.lr_d, w_tip=args.w_tip, seed=args.seed,
                              max_patches_per_scan=args.max_patches_per_scan)
    from engine.models import produces_map

    model_config = json.loads(args.model_config)
    library = _tip_library(args)
    augmenter = None
    if not produces_map(args.model):  # a map model always projects threats, in its own loop
        augmenter, model_config, cfg = training_augmentation(
            args.model, model_config, cfg, grid, tip=args.tip, tip_threats=library, semi=args.semi,
            hard=args.hard_augment)
    elif not library and not args.quiet:
        print("note: no --tip-library: training on synthetic projected threats only; a labelled folder of "
              "real threat scans from your scanner (not ones you evaluate) makes the map markedly better")
    job = TrainJob(data=args.data, model=args.model, out=args.out, model_config=model_config,
                   grid=grid, train=cfg, score=ScoreConfig(), device=args.device, resume=args.resume,
                   augmenter=augmenter, tip_threats=library)
    for _ in drive(train(job), quiet=args.quiet):
        pass
    print(f"wrote {args.out}")
    return 0


def _tip_library(args: argparse.Namespace) -> list:
    """The boxed threat scans of --tip-library, with errors in the flags' own words."""
    from engine.data import load_dataset
    from engine.errors import DatasetError
    from engine.models import produces_map

    if args.semi and not args.tip_library and not produces_map(args.model):
        raise DatasetError("--semi needs --tip-library (the labelled threat scans it learns from)")
    if not args.tip_library:
        return []
    threats = [r for r in load_dataset(args.tip_library).threats if r.boxes]
    if not threats:
        raise DatasetError(f"{args.tip_library}: no threat scans with boxes to use as a TIP library")
    return threats
