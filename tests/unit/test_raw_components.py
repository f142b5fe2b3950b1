"""engine.scoring.raw_components on a stub model whose outputs are known by construction."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from engine.models.base import AnomalyGAN, DiscOutput, GenOutput


class _HalfG(nn.Module):
    """x_hat = x / 2; with ``attention`` an attention logit of 0 everywhere (sigmoid 0.5)."""

    def __init__(self, attention: bool) -> None:
        super().__init__()
        self.attention = attention

    def forward(self, x: torch.Tensor) -> GenOutput:
        att = torch.zeros(len(x), 1, *x.shape[2:]) if self.attention else None
        return GenOutput(x * 0.5, attention_logit=att)


class _IdentityD(nn.Module):
    """features f(x) = x; threat logit = 10 * mean(x) when ``threat``."""

    def __init__(self, threat: bool) -> None:
        super().__init__()
        self.threat = threat

    def forward(self, x: torch.Tensor) -> DiscOutput:
        m = x.flatten(1).mean(1)
        return DiscOutput(m, x, 10.0 * m if self.threat else None)


class _Stub(AnomalyGAN):
    def __init__(self, threat: bool, attention: bool) -> None:
        super().__init__()
        self.netg, self.netd = _HalfG(attention), _IdentityD(threat)


def _patches() -> np.ndarray:
    # Patch i is constant at v_i: recon = feat = mean |v - v/2| = v/2; threat = 10 v.
    return np.stack([np.full((3, 8, 8), v, np.float32) for v in (0.0, 0.2, 0.8)])


def test_recon_and_feat_only_for_a_plain_model() -> None:
    from engine.scoring import raw_components

    raw = raw_components(_Stub(False, False), _patches(), torch.device("cpu"), batch_size=2)
    assert set(raw) == {"recon", "feat"}
    np.testing.assert_allclose(raw["recon"], [0.0, 0.1, 0.4], atol=1e-7)
    np.testing.assert_allclose(raw["feat"], [0.0, 0.1, 0.4], atol=1e-7)


def test_threat_and_attention_when_the_model_outputs_them() -> None:
    from engine.scoring import raw_components

    raw = raw_components(_Stub(True, True), _patches(), torch.device("cpu"), batch_size=2)
    assert set(raw) == {"recon", "feat", "threat", "attention"}
    np.testing.assert_allclose(raw["threat"], [0.0, 2.0, 8.0], atol=1e-6)  # D saw only x for the threat logit
    np.testing.assert_allclose(raw["attention"], [0.5, 0.5, 0.5], atol=1e-7)
