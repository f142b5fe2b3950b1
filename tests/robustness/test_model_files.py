"""Bad model files: each is refused with one line naming the file and the reason, never a traceback.

Every case edits a copy of a good model with plain h5py, the way a damaged or hostile file would
look, and loads it through ``bagscan scan --model``. The NaN and zero-scale cases would otherwise
pass every bag as clear.
"""

from __future__ import annotations

import json
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest

from tests.robustness.helpers import bagscan, expect_error

PAYLOAD = pickle.dumps(print)  # what a pickle bomb looks like; never unpickled


def _first_weight(f: h5py.File) -> str:
    return next(k for k in f["weights"] if f["weights"][k].ndim >= 2)


def version_text(f: h5py.File) -> None:
    f.attrs["format_version"] = "1.0-beta"


def void_weight(f: h5py.File) -> None:
    k = _first_weight(f)
    del f["weights"][k]
    f["weights"][k] = np.void(PAYLOAD)


def string_weight(f: h5py.File) -> None:
    k = _first_weight(f)
    del f["weights"][k]
    f["weights"].create_dataset(k, data=np.array([b"a", b"b"]))


def to_v1(f: h5py.File, eta: object = 0.9) -> None:
    """The same model in the version-1 layout: /score_stats attributes and a score_config attribute."""
    g = f["score_head"]
    names = [n.decode() for n in g["name"][()]]
    stats = {f"{n}_{k}": float(g[src][i]) for i, n in enumerate(names) for k, src in (("median", "centre"),
                                                                                        ("scale", "scale"))}
    del f["score_head"]
    f.attrs["format_version"] = 1
    f.attrs["score_config"] = json.dumps({"eta": eta, "batch_size": 64, "aggregate": "max", "extra": {}})
    s = f.create_group("score_stats")
    for k, v in stats.items():
        s.attrs[k] = v


def pickled_stat(f: h5py.File) -> None:
    to_v1(f)
    f["score_stats"].attrs["recon_scale"] = np.void(PAYLOAD)


def pickled_term(f: h5py.File) -> None:
    del f["score_head"]["scale"]
    f["score_head"]["scale"] = np.void(PAYLOAD)


def config_list(f: h5py.File) -> None:
    f.attrs["model_config"] = json.dumps([8, 16])


def no_name(f: h5py.File) -> None:
    del f.attrs["model_name"]


def text_eta(f: h5py.File) -> None:
    to_v1(f, eta="high")


def text_weight(f: h5py.File) -> None:
    del f["score_head"]["weight"]
    f["score_head"]["weight"] = np.array([b"high"] * len(f["score_head"]["name"]))


def external_link(f: h5py.File) -> None:
    k = _first_weight(f)
    del f["weights"][k]
    f["weights"][k] = h5py.ExternalLink("elsewhere.h5", "/w")


def huge_widths(f: h5py.File) -> None:
    cfg = json.loads(f.attrs["model_config"])
    widths = ("base", "max_width", "d_base", "d_max_width")  # 40 GB of weights if allocated
    f.attrs["model_config"] = json.dumps({**cfg, **{k: 100000 for k in widths if k in cfg}})


def nan_weights(f: h5py.File) -> None:
    for k in f["weights"]:
        ds = f["weights"][k]
        if ds.dtype.kind == "f" and k.startswith("netg"):
            ds[...] = np.nan


def zero_scale(f: h5py.File) -> None:
    f["score_head"]["scale"][0] = 0.0


def zero_scale_v1(f: h5py.File) -> None:
    to_v1(f)
    f["score_stats"].attrs["recon_scale"] = 0.0


CASES: dict[str, tuple[Callable[[h5py.File], None], str]] = {
    "format_version 1.0-beta": (version_text, r"format_version '1\.0-beta' is not a number"),
    "void weight holding a pickle": (void_weight, r"weight '.+' holds void \(opaque bytes\), not numbers"),
    "weight of strings": (string_weight, r"weight '.+' holds byte strings, not numbers"),
    "score stat holding pickle bytes (v1)": (pickled_stat, r"score_stats\.recon_scale is not a number"),
    "score term scale holding pickle bytes": (pickled_term, r"score_head/scale holds \|V\d+ values, not numbers"),
    "model_config a list": (config_list, r"'model_config' must be a JSON object, not list"),
    "missing model_name": (no_name, r"missing attribute 'model_name'"),
    "non-numeric eta (v1)": (text_eta, r"score_config\.eta is 'high', not a float"),
    "non-numeric term weight": (text_weight, r"score_head/weight holds \|S4 values, not numbers"),
    "external link among the weights": (external_link, r"is a link to another file \(elsewhere\.h5\): refused"),
    "all widths 100000": (huge_widths, r"weights do not match model_config \([\d,]+ parameters\)"),
    "NaN generator weights": (nan_weights, r"self-check failed: the model's score output is not finite"),
    "zero score scale": (zero_scale, r"bad score definition: score term 'recon': .*scale > 0"),
    "zero score scale (v1)": (zero_scale_v1, r"score_stats\.recon_scale is 0\.0: a score scale must be above zero"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_model_file_is_refused_with_one_line(case: str, model: Path, scans: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    edit, reason = CASES[case]
    bad = tmp_path / "bad.h5"
    shutil.copy(model, bad)
    with h5py.File(bad, "r+") as f:
        edit(f)
    res = bagscan(capsys, "scan", "--model", bad, scans / "s0.png")
    line = expect_error(res, 1, bad, reason)
    assert line.count(str(bad)) == 1  # named once, not once per layer
    assert "RuntimeWarning" not in res.err and "flagged" not in res.out  # nothing was scored
    print(f"CASE model file, {case}: {line}")
