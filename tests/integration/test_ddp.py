"""`bagscan train` runs unchanged under torchrun: 2 gloo processes on the CPU, rank 0 writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.modelfile import load_model
from tests.integration.test_train_scan import make_data


@pytest.mark.slow
@pytest.mark.parametrize(("model", "config", "port"), [("dsa", '{"base": 8}', 29613), ("threat-map", "{}", 29614)])
def test_torchrun_two_gloo_processes(tmp_path: Path, model: str, config: str, port: int) -> None:
    root = make_data(tmp_path / "d", n_normal=4, n_threat=0)
    out = tmp_path / "ddp.h5"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port", str(port),
           "-m", "app.cli", "-q", "train", str(root), "--model", model, "--out", str(out), "--epochs", "2",
           "--input-size", "64", "--patch", "128", "--batch-size", "4", "--max-patches-per-scan", "6",
           "--model-config", config, "--device", "cpu"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env,
                          cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stderr[-3000:]
    bundle = load_model(out)
    assert [h["epoch"] for h in bundle.history] == [1, 2]
    assert bundle.calibration is not None
