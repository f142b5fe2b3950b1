"""Fuzz: 300 byte flips or truncations of a model file and 300 of a session file.

Each damaged file must load (flips inside weights or score columns can leave a valid file) or fail
with an EngineError, which the CLI prints as one line, within 10 s; any other exception would reach
the user as a traceback. The mutations are seeded, so a failure names a case that reproduces.
The model is a small GANomaly (quick to rebuild) so the 600 cases fit CI's two-minute budget.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from engine.config import GridConfig, TrainConfig
from engine.errors import EngineError
from engine.modelfile import ModelBundle, load_model, save_model
from engine.models import create_model
from engine.score_head import ScoreHead, Term
from engine.storage import ScanEntry, SessionMeta, SessionStore
from tests.robustness.fuzz import mutate

CASES, LIMIT_S = 300, 10.0


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    torch.manual_seed(0)
    head = ScoreHead((Term("recon", 0.1, 0.05, 0.9), Term("feat", 0.1, 0.05, 0.1)))
    bundle = ModelBundle("ganomaly", create_model("ganomaly", base=4), GridConfig(), TrainConfig(), head)
    p = tmp_path_factory.mktemp("fuzz") / "m.h5"
    save_model(bundle, p)
    load_model(p)  # the undamaged file loads
    return p


@pytest.fixture(scope="module")
def session_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("fuzz") / "s.h5"
    rng = np.random.default_rng(0)
    with SessionStore.create(p, SessionMeta("dsa", "0" * 64), durable=False) as store:
        for i in range(20):
            k = int(rng.integers(1, 12))
            store.append(ScanEntry(path=f"/scans/s{i:03d}.png", sha256=f"{i:064x}", width=512, height=512,
                                   score=float(rng.normal()), boxes=rng.integers(0, 512, (k, 4)).astype(np.int32),
                                   scores=rng.normal(size=k).astype(np.float32), error="" if i % 7 else "bad"))
        store.set_decision(0, "clear", "alice", 1.0, 2.0, "dsa")
    return p


def read_model(p: Path) -> None:
    load_model(p)


def read_session(p: Path) -> None:
    with SessionStore.open(p) as store:
        for r in store.iter_results():
            assert len(r.boxes) == len(r.scores)
        store.summary()
        store.get_decisions()
        _ = store.calibration


@pytest.mark.parametrize("what", ["model", "session"])
def test_damaged_files_load_or_fail_cleanly(what: str, model_file: Path, session_file: Path,
                                            tmp_path: Path) -> None:
    src, read = (model_file, read_model) if what == "model" else (session_file, read_session)
    data = src.read_bytes()
    outcomes: Counter[str] = Counter()
    slowest = 0.0
    for k in range(CASES):
        damaged, label = mutate(data, k)
        p = tmp_path / f"case{k}.h5"
        p.write_bytes(damaged)
        t0 = time.perf_counter()
        try:
            read(p)
            outcomes["loaded"] += 1
        except EngineError as exc:
            assert str(exc).startswith(str(p)), f"case {k} ({label}): the message does not name the file: {exc}"
            outcomes["clear error"] += 1
        except Exception as exc:  # noqa: BLE001 - this is what the test looks for
            pytest.fail(f"{what} case {k} ({label}): {type(exc).__name__}: {exc} would be a traceback")
        dt = time.perf_counter() - t0
        slowest = max(slowest, dt)
        assert dt < LIMIT_S, f"case {k} ({label}) took {dt:.1f} s"
        p.unlink()
    assert sum(outcomes.values()) == CASES and outcomes["clear error"] > 0
    print(f"FUZZ {what}: {dict(outcomes)}, slowest {slowest:.2f} s")
