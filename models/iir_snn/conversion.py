"""ANN → SNN conversion: layer-wise percentile thresholds (the official ``find_threshold``).

Layer by layer, the SNN with the thresholds found so far runs ``search_timesteps`` steps on one batch with direct
encoding, and θ_l is set to the p-th percentile of layer l's input current W o^{l−1}_t + b over every (t, sample,
unit); ``scaling`` multiplies the thresholds found (the official ``scaling_factor`` for low-T operation).
"""
from __future__ import annotations

import numbers
from typing import Any

import jax
import jax.numpy as jnp

from models.common import spiking

_PKG = "models.iir_snn"


def _layers(params: Any, fn: str) -> list:
  if not isinstance(params, dict) or "kernel_0" not in params:
    raise TypeError(f"{_PKG}.{fn}: ann_params: expected a dict with kernel_0, kernel_1, ... (ANNMLP params), got "
                    f"{type(params).__name__}")
  n = 0
  while f"kernel_{n}" in params:
    n += 1
  if n < 2:
    raise ValueError(f"{_PKG}.{fn}: ann_params: expected at least one hidden layer (2 kernels), got {n}")
  return [(jnp.asarray(params[f"kernel_{i}"]), params.get(f"bias_{i}")) for i in range(n)]


def find_thresholds(ann_params: dict, x: jax.Array, *, p: float = 99.7, search_timesteps: int = 100,
                    method: str = "linear") -> list:
  """θ_l for every spiking layer (the percentile of layer l's input current with θ_<l already set), ``x [B, D]``."""
  layers = _layers(ann_params, "find_thresholds")
  if not isinstance(p, numbers.Real) or not 0 < p <= 100:
    raise ValueError(f"{_PKG}.find_thresholds: p: expected a percentile in (0, 100], got {p!r}")
  if isinstance(search_timesteps, bool) or not isinstance(search_timesteps, numbers.Integral) or search_timesteps < 1:
    raise ValueError(f"{_PKG}.find_thresholds: search_timesteps: expected an int >= 1, got {search_timesteps!r}")
  x = jnp.asarray(x)
  if x.ndim != 2 or x.shape[-1] != layers[0][0].shape[0]:
    raise ValueError(f"{_PKG}.find_thresholds: x: expected [B, {layers[0][0].shape[0]}], got shape {x.shape}")
  x_seq = spiking.encode(x.astype(layers[0][0].dtype), int(search_timesteps))
  thetas = []
  for l in range(len(layers) - 1):
    out = spiking.run_mlp(layers[:l + 1], thetas, [1.0] * l, x_seq, record=l)
    theta = spiking.percentile(out.currents, float(p), method)
    thetas.append(jnp.maximum(theta, 1e-6))   # a dead layer (all currents <= 0) would give θ <= 0
  return thetas


def convert(ann_params: dict, x: jax.Array, *, p: float = 99.7, search_timesteps: int = 100, scaling: float = 1.0,
            leak: float = 1.0, method: str = "linear") -> dict:
  """SNN parameters from ANN parameters: the same kernels and biases, ``theta_l = scaling * find_thresholds(...)``,
  ``leak_l = leak`` (λ ∈ (0, 1]). The search runs with λ = 1 (IF), as the official script."""
  if not isinstance(scaling, numbers.Real) or not scaling > 0:
    raise ValueError(f"{_PKG}.convert: scaling: expected a positive float, got {scaling!r}")
  if not isinstance(leak, numbers.Real) or not 0 < leak <= 1:
    raise ValueError(f"{_PKG}.convert: leak: expected a leak in (0, 1], got {leak!r}")
  thetas = find_thresholds(ann_params, x, p=p, search_timesteps=search_timesteps, method=method)
  out = {k: jnp.asarray(v) for k, v in ann_params.items()}
  for l, th in enumerate(thetas):
    out[f"theta_{l}"] = (scaling * th).astype(jnp.float32)
    out[f"leak_{l}"] = jnp.asarray(leak, jnp.float32)
  return out
