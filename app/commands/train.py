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
    lazy_help(p.add_argument("--model", default="dsa", help="a registered model name"), _model_names)
    p.add_argument("--out", required=True, help="model file to write (HDF5)")
    p.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    p.add_argument("--input-size", type=int, default=GridConfig.input_size, help="network input, pixels")
    p.add_argument("--patch", type=int, default=GridConfig.patch, help="patch size in scan pixels")
    p.add_argument("--stride", type=int, default=None, help="grid stride in scan pixels (default: patch)")
    p.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    p.add_argument("--lr", type=float, default=0.0, help="Adam rate (default: the model's recommended one)")
    p.add_argument("--max-patches-per-scan", type=int, default=TrainConfig.max_patches_per_scan)
    p.add_argument("--model-config", default="{}", help='JSON of model options, e.g. \'{"base": 16}\'')
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue from FILE's .ckpt.h5 checkpoint")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from engine.training import TrainJob, train

    from ._progress import drive

    grid = GridConfig(patch=args.patch, stride=args.stride or args.patch, input_size=args.input_size)
    cfg = dataclasses.replace(TrainConfig(), epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                              seed=args.seed, max_patches_per_scan=args.max_patches_per_scan)
    job = TrainJob(data=args.data, model=args.model, out=args.out, model_config=json.loads(args.model_config),
                   grid=grid, train=cfg, score=ScoreConfig(), device=args.device, resume=args.resume)
    for _ in drive(train(job), quiet=args.quiet):
        pass
    print(f"wrote {args.out}")
    return 0
