"""RADD: reparameterized absorbing discrete diffusion (time-independent conditionals of clean data).

Ou, Nie, Xue, Zhu, Sun, Li, Li. "Your Absorbing Discrete Diffusion Secretly Models the Conditional
Distributions of Clean Data". ICLR 2025. arXiv:2406.03736.

* :mod:`.modules`: :class:`RADDTransformer`, the bidirectional Transformer ``x_t ↦ log c_θ(x_t)`` with no
  time input.
* :mod:`.process`: noise schedules, the masking forward process, the concrete score (Thm. 1).
* :mod:`.losses`: t-DSE, t-DCE, λ-DCE, k-DCE (AO-ARM) and the exact any-order NLL.
* :mod:`.sampling`: Euler / Tweedie τ-leaping with the cache that skips the network, E-NFE formulas, and
  the ordered AO-ARM sampler.

Importing this package registers small instances with the conformance battery (:mod:`models.registry`).
"""
from __future__ import annotations

import jax

from models.radd.losses import ao_arm_nll, k_dce_loss, lambda_dce_loss, masked_nll, t_dce_loss, t_dse_loss
from models.radd.modules import BidirectionalAttention, RADDBlock, RADDTransformer
from models.radd.process import GeometricNoise, LogLinearNoise, concrete_score, mask_tokens, score_scale
from models.radd.sampling import (CACHE_POLICIES, METHODS, SampleResult, expected_nfe, expected_nfe_uniform,
                                  sample, sample_ordered, unmask_probs)
from models.registry import ModelSpec, register

__all__ = [
    "BidirectionalAttention", "CACHE_POLICIES", "GeometricNoise", "LOSSES", "LogLinearNoise", "METHODS",
    "RADDBlock", "RADDTransformer", "SampleResult", "ao_arm_nll", "concrete_score", "expected_nfe",
    "expected_nfe_uniform", "k_dce_loss", "lambda_dce_loss", "mask_tokens", "masked_nll", "sample",
    "sample_ordered", "score_scale", "t_dce_loss", "t_dse_loss", "unmask_probs",
]

LOSSES = ("lambda_dce", "t_dce", "t_dse", "k_dce")


def _tokens(key: jax.Array) -> tuple[jax.Array]:
  return (jax.random.randint(key, (2, 12), 0, 12),)   # ids 0..10 real, 11 = mask


register(ModelSpec(
    name="radd.RADDTransformer",
    make=lambda: RADDTransformer(vocab_size=11, d_model=16, num_layers=2, num_heads=2, mlp_hidden=24),
    example_args=_tokens,
))
