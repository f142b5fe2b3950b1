"""Batch scoring into a session file: schema, failures, resume, decisions, growth, and kill -9."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from app.cli import main
from engine.batch import BatchFinished, BatchPlanned, run_batch
from engine.calibration import Calibration
from engine.config import GridConfig, TrainConfig
from engine.data.sixray import write_voc
from engine.data.types import Box
from engine.errors import SessionFileError
from engine.events import CancelToken, ScanFailed, ScanScored
from engine.modelfile import file_sha256, load_model
from engine.scoring import Scorer
from engine.storage import ScanEntry, SessionMeta, SessionStore
from engine.training import TrainJob, train
from tests.conftest import fake_bag, write_rgb

ROOT = Path(__file__).resolve().parents[2]
GRID = GridConfig(patch=128, stride=128, input_size=64)


def tiny_model(factory: pytest.TempPathFactory) -> Path:
    """One tiny dsa model per test session (shared with test_export through the base temp dir)."""
    out = factory.getbasetemp() / "tiny-model" / "m.h5"
    if not out.is_file():
        for i in range(4):
            write_rgb(out.parent / "normal" / f"n{i}.png", fake_bag(256, 320, seed=50 + i))
        cfg = TrainConfig(epochs=1, batch_size=8, max_patches_per_scan=4, val_fraction=0.25)
        list(train(TrainJob(str(out.parent), "dsa", str(out), {"base": 8}, GRID, cfg, device="cpu",
                            max_batches_per_epoch=2)))
    return out


def make_scans(root: Path, n_normal: int = 4, n_threat: int = 2, size: tuple[int, int] = (256, 320)) -> Path:
    """normal/ and threat/ scans (threats with a VOC box beside), plus a text file and a truncated JPEG."""
    h, w = size
    for i in range(n_normal):
        write_rgb(root / "normal" / f"n{i:02d}.png", fake_bag(h, w, seed=i))
    for i in range(n_threat):
        img = fake_bag(h, w, seed=100 + i)
        img[100:140, 120:200] = (10, 10, 40)
        write_rgb(root / "threat" / f"t{i}.png", img)
        box = Box(("Gun", "Knife")[i % 2], 120, 100, 200, 140)
        write_voc(root / "threat" / f"t{i}.xml", f"t{i}.png", w, h, [box])
    (root / "normal" / "notes.jpg").write_text("this is not an image\n")
    data = write_rgb(root / "full.jpg", fake_bag(h, w, seed=9)).read_bytes()
    (root / "normal" / "trunc.jpg").write_bytes(data[: len(data) // 2])
    return root


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model(tmp_path_factory)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_scans(tmp_path_factory.mktemp("scans"))


@pytest.fixture(scope="module")
def session(model: Path, data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    out = tmp_path_factory.mktemp("session") / "s.h5"
    return out, list(run_batch(data, model, out, device="cpu", durable=False))


def test_batch_stores_results_failures_and_schema(model: Path, data: Path,
                                                  session: tuple[Path, list]) -> None:
    out, events = session
    plan = next(e for e in events if isinstance(e, BatchPlanned))
    assert (plan.total, plan.pending, plan.stored) == (8, 8, 0)
    failed = {Path(e.path).name: e.reason for e in events if isinstance(e, ScanFailed)}
    assert set(failed) == {"notes.jpg", "trunc.jpg"} and "truncated" in failed["trunc.jpg"]
    done = events[-1]
    assert isinstance(done, BatchFinished) and (done.scored, done.failed) == (6, 2)
    results = {Path(e.path).name: e.result for e in events if isinstance(e, ScanScored)}
    bundle = load_model(model)
    # Schema round-trip with plain h5py, as docs/results-schema.md describes it
    with h5py.File(out, "r") as f:
        a = f.attrs
        assert a["format"] == "bagscan-session" and int(a["format_version"]) == 2
        assert a["model_sha256"] == file_sha256(model) and a["model_name"] == "dsa"
        assert json.loads(a["grid_config"])["patch"] == 128 and a["bagscan_version"]
        g = f["calibration"]
        cal = Calibration.from_arrays(dict(g.attrs), {k: np.array(v) for k, v in g.items()})
        assert cal == bundle.calibration
        n = int(f["scans/count"][0])
        assert n == 8
        s = {k: f["scans"][k][:n] for k in f["scans"] if k != "count"}
        assert (s["map_bytes"] == 0).all()  # a GAN stores no threat map
        for i in range(n):
            path = s["path"][i].decode()
            name = Path(path).name
            raw = Path(path).read_bytes()
            assert s["sha256"][i].decode() == hashlib.sha256(raw).hexdigest() and s["size"][i] == len(raw)
            if name in failed:
                assert s["error"][i].decode() == failed[name] and np.isnan(s["score"][i])
                assert s["patch_count"][i] == 0
                continue
            assert s["error"][i] == b"" and s["t_score"][i] > 0 and s["finished"][i] > 0
            r = results[name]
            p0, k = int(s["patch_start"][i]), int(s["patch_count"][i])
            np.testing.assert_array_equal(f["patches/boxes"][p0 : p0 + k], r.boxes)
            np.testing.assert_allclose(f["patches/scores"][p0 : p0 + k], r.scores)
            assert s["score"][i] == pytest.approx(r.score) and (s["width"][i], s["height"][i]) == (320, 256)
            g0, m = int(s["gt_start"][i]), int(s["gt_count"][i])
            if name.startswith("t"):
                assert s["label"][i] == 1 and m == 1 and s["categories"][i] in (b"Gun", b"Knife")
                np.testing.assert_allclose(f["gt/boxes"][g0], [120, 100, 200, 140])
                assert f["gt/category"][g0] == s["categories"][i]
            else:
                assert s["label"][i] == 0 and m == 0
    # The same scores as scoring the scan alone
    direct = Scorer(bundle, device="cpu").score_scan(data / "threat" / "t0.png")
    np.testing.assert_allclose(results["t0.png"].scores, direct.scores, rtol=1e-5, atol=1e-5)
    with SessionStore.open(out) as store:
        summary = store.summary()
        assert (summary["n_scans"], summary["n_ok"], summary["n_failed"]) == (8, 6, 2)
        # The session records the score definition it was scored with (the model's score head).
        assert bundle.score_head is not None and store.meta.score_config == bundle.score_head.to_dict()
        assert [t["name"] for t in store.meta.score_config["terms"]] == ["recon", "feat"]
        t0 = next(r for r in store.iter_results() if r.name == "t0")
        assert t0.label == "threat" and t0.gt_boxes[0].category == "Gun" and len(t0.scores) == len(t0.boxes)


def test_resume_skips_stored_scans_and_never_duplicates(model: Path, tmp_path: Path) -> None:
    data = make_scans(tmp_path / "d", n_normal=3, n_threat=1, size=(128, 160))  # 6 files, 2 of them bad
    out = tmp_path / "r.h5"
    token = CancelToken()
    gen = run_batch(data, model, out, device="cpu", cancel=token, durable=False)
    scored = 0
    for ev in gen:
        if isinstance(ev, (ScanScored, ScanFailed)):
            scored += 1
            if scored == 3:
                gen.close()  # what the GUI's cancel or a closed window does
                break
    with SessionStore.open(out) as store:
        assert len(store) == 3
    events = list(run_batch(data, model, out, device="cpu", durable=False))
    plan = next(e for e in events if isinstance(e, BatchPlanned))
    assert (plan.stored, plan.pending) == (3, 3)
    again = next(e for e in run_batch(data, model, out, device="cpu") if isinstance(e, BatchPlanned))
    assert again.pending == 0 and again.stored == 6
    with SessionStore.open(out) as store:
        shas = [r.sha256 for r in store.iter_results(patches=False)]
        assert len(store) == 6 and len(set(shas)) == 6


def test_other_model_file_is_refused(model: Path, data: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.h5"
    other = tmp_path / "other.h5"
    other.write_bytes(model.read_bytes())
    with h5py.File(other, "a") as f:
        f.attrs["created"] = "another day"
    with SessionStore.create(out, SessionMeta("dsa", file_sha256(model))):
        pass
    with pytest.raises(SessionFileError, match="not this model file"):
        list(run_batch(data, other, out, device="cpu"))


def test_decisions_survive_reopening(tmp_path: Path) -> None:
    out = tmp_path / "d.h5"
    with SessionStore.create(out, SessionMeta("dsa", "0" * 64), durable=False) as store:
        for i in range(3):
            store.append(ScanEntry(path=f"/scans/s{i}.jpg", sha256=f"{i:064x}", score=float(i)))
        store.set_decision(1, "suspect", "alice", 0.5, 3.2, "dsa")
        store.set_decision(f"{2:064x}", "clear", "bob", 0.5, 1.0, "dsa")
        store.set_decision(1, "clear", "alice", 0.6, 7.5, "dsa")  # a change of mind: the latest wins
        with pytest.raises(SessionFileError, match="no scan with sha256"):
            store.set_decision("f" * 64, "clear", "bob", 0.5, 1.0, "dsa")
    with SessionStore.open(out, "r") as store:
        d = store.get_decisions()
        assert set(d) == {1, 2} and d[1].decision == "clear" and d[1].seconds == 7.5 and d[1].threshold == 0.6
        assert d[2].operator == "bob" and d[2].sha256 == f"{2:064x}"
        assert [h.decision for h in store.decision_history()] == ["suspect", "clear", "clear"]
        with pytest.raises(SessionFileError, match="read-only"):
            store.set_decision(0, "clear", "x", 0.0, 0.0, "dsa")
    with h5py.File(out, "r") as f:  # plain h5py sees them too
        assert int(f["decisions/count"][0]) == 3 and f["decisions/decision"][0] == b"suspect"


def test_gui_shares_one_store_with_a_running_batch(model: Path, tmp_path: Path) -> None:
    data = tmp_path / "d"
    for i in range(3):
        write_rgb(data / f"s{i}.png", fake_bag(128, 160, seed=300 + i))
    out = tmp_path / "shared.h5"
    meta = SessionMeta("dsa", file_sha256(model))
    with SessionStore.create(out, meta, load_model(model).calibration) as store:
        with pytest.raises(SessionFileError, match="already open for writing in this process"):
            SessionStore.open(out, "a")
        for ev in run_batch(data, model, store, device="cpu", durable=False):
            if isinstance(ev, ScanScored):  # what the GUI thread does while the worker scores
                store.set_decision(ev.result.sha256, "clear", "officer", 0.5, 1.0, "dsa")
        assert not store.closed and len(store) == 3
    with SessionStore.open(out) as store:
        assert len(store.get_decisions()) == 3 and store.calibration is not None


def test_tables_grow_by_rebuilding_and_keep_every_row(tmp_path: Path) -> None:
    out = tmp_path / "g.h5"
    with SessionStore.create(out, SessionMeta("dsa", "0" * 64), durable=False) as store:
        for i in range(40):  # past the initial 16 rows, 1024 patches, and 64-byte paths
            k = 50
            store.append(ScanEntry(path="/x/" + "p" * (2 * i) + f"{i}.png", sha256=f"{i:064x}",
                                   boxes=np.full((k, 4), i, np.int32), scores=np.full(k, i, np.float32),
                                   gt_boxes=(Box("Gun", 0, 0, i + 1, 1),), categories=("Gun",),
                                   label="threat"))
        for i in range(300):  # past the initial 256 decisions
            store.set_decision(i % 40, "clear", "op", 0.0, float(i), "dsa")
    assert not list(tmp_path.glob(".*.tmp"))
    with SessionStore.open(out) as store:
        rows = list(store.iter_results(block=7))
        assert len(rows) == 40 and all(r.scores.tolist() == [r.index] * 50 for r in rows)
        assert rows[39].path.endswith("p" * 78 + "39.png") and rows[39].gt_boxes[0].x1 == 40
        assert len(list(store.decision_history())) == 300


def test_cli_batch_resumes_a_complete_session(model: Path, data: Path, session: tuple[Path, list],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    out, _ = session
    assert main(["batch", str(data), "--model", str(model), "--out", str(out), "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    assert "0 scored, 0 failed" in captured.out and "8 already in" in captured.err


def _stored(out: Path) -> int:
    try:
        with h5py.File(out, "r", locking=False) as f:
            return int(f["scans/count"][0])
    except (OSError, KeyError):
        return 0


def test_kill_9_mid_batch_loses_only_scans_in_flight(model: Path, tmp_path: Path) -> None:
    data = tmp_path / "many"
    for i in range(30):
        write_rgb(data / f"s{i:02d}.png", fake_bag(128, 160, seed=200 + i))
    out = tmp_path / "k.h5"
    cmd = [sys.executable, "-m", "app.cli", "-q", "batch", str(data), "--model", str(model),
           "--out", str(out), "--device", "cpu"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    while _stored(out) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode() if proc.stderr else ""
    with h5py.File(out, "r") as f:  # opens with plain h5py right after the kill
        n = int(f["scans/count"][0])
        assert 3 <= n < 30
        paths, shas = f["scans/path"][:n], f["scans/sha256"][:n]
        starts, counts = f["scans/patch_start"][:n], f["scans/patch_count"][:n]
        scores = f["patches/scores"][: starts[-1] + counts[-1]]
        for i in range(n):
            assert hashlib.sha256(Path(paths[i].decode()).read_bytes()).hexdigest() == shas[i].decode()
            assert counts[i] > 0 and np.isfinite(scores[starts[i] : starts[i] + counts[i]]).all()
            assert i == 0 or starts[i] == starts[i - 1] + counts[i - 1]
    rerun = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{30 - n} scored, 0 failed" in rerun.stdout
    with SessionStore.open(out) as store:
        shas = [r.sha256 for r in store.iter_results(patches=False)]
        assert len(shas) == 30 and len(set(shas)) == 30
