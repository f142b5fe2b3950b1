"""The score definition (engine.score_head): hand-computed patch and scan scores on tiny inputs."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from engine.config import ScoreConfig
from engine.errors import ConfigError
from engine.score_head import ScoreHead, Term, scan_score

# recon' = (r - 1) / 2, feat' = f / 0.5, threat' = t + 1; A = 0.5 recon' + 0.5 feat' + 2 threat'
HEAD = ScoreHead((Term("recon", 1.0, 2.0, 0.5), Term("feat", 0.0, 0.5, 0.5), Term("threat", -1.0, 1.0, 2.0)))
RAW = {"recon": np.array([1.0, 3.0, 5.0], np.float32), "feat": np.array([0.0, 1.0, 0.25], np.float32),
       "threat": np.array([-1.0, 0.0, -3.0], np.float32), "attention": np.array([0.9, 0.1, 0.5], np.float32)}


def test_combine_is_the_weighted_sum_of_standardised_terms() -> None:
    # patch 0: 0 + 0 + 0; patch 1: 0.5*1 + 0.5*2 + 2*1 = 3.5; patch 2: 0.5*2 + 0.5*0.5 + 2*(-2) = -2.75
    np.testing.assert_allclose(HEAD.combine(RAW), [0.0, 3.5, -2.75], atol=1e-6)
    assert HEAD.combine(RAW).dtype == np.float32


def test_components_without_a_term_are_ignored_and_missing_ones_refused() -> None:
    two = ScoreHead(HEAD.terms[:2])
    np.testing.assert_allclose(two.combine(RAW), [0.0, 1.5, 1.25], atol=1e-6)  # attention, threat not folded in
    with pytest.raises(ConfigError, match="threat"):
        HEAD.combine({"recon": RAW["recon"], "feat": RAW["feat"]})


def test_scan_aggregates() -> None:
    s = np.array([1.0, 4.0, 2.0, -1.0], np.float32)
    assert scan_score(s) == 4.0
    assert scan_score(s, "top-k-mean", 2) == 3.0  # (4 + 2) / 2
    assert scan_score(s, "top-k-mean", 9) == 1.5  # k above the patch count: all patches
    assert scan_score(np.zeros(0, np.float32)) == -np.inf
    assert ScoreHead(HEAD.terms, "top-k-mean", 3).scan_score(s) == pytest.approx(7.0 / 3)
    with pytest.raises(ConfigError, match="aggregate"):
        ScoreHead(HEAD.terms, "median")


def test_fit_takes_median_and_iqr_of_the_weighted_components_present() -> None:
    raw = {"recon": np.array([0, 1, 2, 3, 4], np.float32), "feat": np.full(5, 7.0, np.float32),
           "attention": np.arange(5, dtype=np.float32)}
    head = ScoreHead.fit(raw, ScoreConfig(eta=0.75, gamma=3.0, aggregate="top-k-mean", top_k=2))
    assert head.names == ("recon", "feat")  # no threat component; attention is never a term
    assert head.terms[0] == Term("recon", 2.0, 2.0, 0.75)  # median 2, IQR 3 - 1
    assert head.terms[1] == Term("feat", 7.0, 1e-8, 0.25)  # a constant component: the smallest scale
    assert (head.aggregate, head.top_k) == ("top-k-mean", 2)


def test_reweighting_makes_a_new_head() -> None:
    four = HEAD.with_weight("threat", 4.0)
    assert HEAD.weight("threat") == 2.0 and four.weight("threat") == 4.0 and four.weight("map") == 0.0
    np.testing.assert_allclose(four.combine(RAW)[1], 0.5 + 1.0 + 4.0, atol=1e-6)
    with pytest.raises(ConfigError, match="no 'map' term"):
        HEAD.with_weight("map", 1.0)


def test_round_trips_through_an_hdf5_group_and_a_dict(tmp_path) -> None:
    head = ScoreHead(HEAD.terms, "top-k-mean", 3)
    with h5py.File(tmp_path / "h.h5", "w") as f:
        g = f.create_group("score_head")
        attrs, arrays = head.to_arrays()
        g.attrs.update(attrs)
        for k, v in arrays.items():
            g.create_dataset(k, data=v)
    with h5py.File(tmp_path / "h.h5") as f:
        g = f["score_head"]
        back = ScoreHead.from_arrays(dict(g.attrs), {k: np.array(v) for k, v in g.items()})
    assert back == head and ScoreHead.from_dict(head.to_dict()) == head
    with pytest.raises(ConfigError):
        ScoreHead.from_dict({"terms": [{"name": "recon", "centre": 0.0, "scale": 0.0, "weight": 1.0}]})
