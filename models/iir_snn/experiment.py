"""Experiment functions of the IIR-SNN claim: the stage schedule, the harder data variant, evaluations.

The staged training itself runs through ``train_lib`` (task ``iir_snn``, one run per stage, each initialised from
the previous stage's parameters); these functions are what the claim calls around those runs.
"""
from __future__ import annotations

import numbers
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from models.common import spiking
from models.iir_snn.modules import ANNMLP, accuracy, snn_model, spikes_per_neuron

_PKG = "models.iir_snn"


def stage_schedule(t_start: int = 5, t_end: int = 1) -> list[int]:
  """The latency-reduction stages t_start, t_start − 1, ..., t_end (the paper: 5 → 4 → 3 → 2 → 1)."""
  for name, v in (("t_start", t_start), ("t_end", t_end)):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
      raise ValueError(f"{_PKG}.stage_schedule: {name}: expected an int >= 1, got {v!r}")
  if t_end > t_start:
    raise ValueError(f"{_PKG}.stage_schedule: t_end: expected <= t_start = {t_start}, got {t_end}")
  return list(range(int(t_start), int(t_end) - 1, -1))


def corrupt(x: np.ndarray, sigma: float, seed: int, *, occlude: float = 0.0) -> np.ndarray:
  """The harder variant: images in [0, 1] plus N(0, σ²) pixel noise, then a fraction ``occlude`` of the pixels of
  each image set to 0, clipped back to [0, 1]; a fixed function of ``seed`` (numpy)."""
  x = np.asarray(x)
  if x.ndim != 2 or not np.issubdtype(x.dtype, np.floating):
    raise ValueError(f"{_PKG}.corrupt: x: expected a floating [N, D] array, got {x.dtype}{list(x.shape)}")
  if not isinstance(sigma, numbers.Real) or sigma < 0:
    raise ValueError(f"{_PKG}.corrupt: sigma: expected a float >= 0, got {sigma!r}")
  if not isinstance(occlude, numbers.Real) or not 0 <= occlude < 1:
    raise ValueError(f"{_PKG}.corrupt: occlude: expected a fraction in [0, 1), got {occlude!r}")
  rng = np.random.default_rng(seed)
  y = x + sigma * rng.standard_normal(x.shape)
  if occlude:
    y = np.where(rng.uniform(size=x.shape) < occlude, 0.0, y)
  return np.clip(y, 0.0, 1.0).astype(x.dtype)


def evaluate_snn(params: dict, x: jax.Array, labels: jax.Array, features: Sequence[int], timesteps: int, *,
                 gamma: float = 0.3) -> dict:
  """Accuracy and spikes per neuron of the SNN ``params`` at ``timesteps`` on ``(x [N, D], labels [N])`` (the leak
  clamped to <= 1, as the network is used)."""
  model = snn_model(features, timesteps, gamma=gamma, use_bias="bias_0" in params)
  logits, out = model.apply({"params": spiking.clamp_leak(params)}, jnp.asarray(x), return_aux=True)
  return {"accuracy": float(accuracy(logits, jnp.asarray(labels))), "spikes_per_neuron": float(spikes_per_neuron(out))}


def evaluate_ann(params: dict, x: jax.Array, labels: jax.Array, features: Sequence[int]) -> dict:
  """Accuracy of the ReLU ANN ``params``."""
  logits = ANNMLP(features=tuple(features), use_bias="bias_0" in params).apply({"params": params}, jnp.asarray(x))
  return {"accuracy": float(accuracy(logits, jnp.asarray(labels)))}
