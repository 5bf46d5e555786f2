"""RADD: reparameterized absorbing discrete diffusion (time-independent conditionals of clean data).

Ou, Nie, Xue, Zhu, Sun, Li, Li. "Your Absorbing Discrete Diffusion Secretly Models the Conditional
Distributions of Clean Data". ICLR 2025. arXiv:2406.03736.

* :mod:`.modules`: :class:`RADDTransformer`, the bidirectional Transformer ``x_t ↦ log c_θ(x_t)`` with no
  time input.
* :mod:`.process`: noise schedules, the masking forward process, the concrete score (Thm. 1).
* :mod:`.losses`: t-DSE, t-DCE, λ-DCE, k-DCE (AO-ARM) and the exact any-order NLL.
* :mod:`.sampling`: Euler / Tweedie τ-leaping with the cache that skips the network, E-NFE formulas, and
  the ordered AO-ARM sampler.
* :mod:`.experiment`: the claims' sweeps: :func:`nfe_sweep` (cached-sampler NFE vs E-NFE),
  :func:`sampling_time`, :func:`loss_estimates` (the five bounds on the same windows), :func:`sequence_loss`.
"""
from __future__ import annotations

from models.radd.experiment import LOSSES, loss_estimates, nfe_sweep, sampling_time, sequence_loss
from models.radd.losses import ao_arm_nll, k_dce_loss, lambda_dce_loss, masked_nll, t_dce_loss, t_dse_loss
from models.radd.modules import BidirectionalAttention, RADDBlock, RADDTransformer
from models.radd.process import GeometricNoise, LogLinearNoise, concrete_score, mask_tokens, score_scale
from models.radd.sampling import (CACHE_POLICIES, METHODS, SampleResult, expected_nfe, expected_nfe_uniform,
                                  sample, sample_ordered, unmask_probs)

__all__ = [
    "BidirectionalAttention", "CACHE_POLICIES", "GeometricNoise", "LOSSES", "LogLinearNoise", "METHODS",
    "RADDBlock", "RADDTransformer", "SampleResult", "ao_arm_nll", "concrete_score", "expected_nfe",
    "expected_nfe_uniform", "k_dce_loss", "lambda_dce_loss", "mask_tokens", "masked_nll", "sample",
    "sample_ordered", "score_scale", "t_dce_loss", "t_dse_loss", "unmask_probs",
    "loss_estimates", "nfe_sweep", "sampling_time", "sequence_loss",
]
