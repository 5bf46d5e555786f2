"""Pure functions of PGN / TPGN: the fold to a (rows, period) grid, instance normalisation, the HIE map,
the gated fusion and the forecast metrics.

Shapes: a series is ``[B, L, C]`` (batch, time, channels); a folded series is ``[B, R, P, C]`` with
``L = R * P`` and time index ``t = r * P + p`` (row-major, as ``reshape`` in the official code).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import check_finite

NORM_EPS = 1e-5   # added to the biased variance in the instance normalisation (official code)


def _rank(x, n: int, name: str, fn: str, what: str) -> None:
  if jnp.ndim(x) != n:
    raise ValueError(f"{fn}: {name}: expected a rank-{n} array {what}, got shape {jnp.shape(x)}")


def _positive_int(v, name: str, fn: str) -> int:
  if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
    raise ValueError(f"{fn}: {name}: expected a positive int, got {v!r}")
  return int(v)


def fold(x: jax.Array, period: int) -> jax.Array:
  """``[B, L, C] -> [B, L / period, period, C]``: row r holds steps ``r*period .. r*period + period - 1``.

  Raises ValueError when ``L`` is not a multiple of ``period`` (the official code takes ``ceil`` and fails in
  ``reshape``)."""
  period = _positive_int(period, "period", "fold")
  _rank(x, 3, "x", "fold", "[batch, length, channels]")
  b, length, c = x.shape
  if length % period:
    raise ValueError(f"fold: x: expected a length that is a multiple of period={period}, got length {length}")
  return jnp.reshape(x, (b, length // period, period, c))


def unfold(y: jax.Array) -> jax.Array:
  """Inverse of :func:`fold`: ``[B, R, P, C] -> [B, R * P, C]``."""
  _rank(y, 4, "y", "unfold", "[batch, rows, period, channels]")
  b, r, p, c = y.shape
  return jnp.reshape(y, (b, r * p, c))


def instance_norm(x: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
  """Per-series normalisation over the time axis (``norm = 1`` in the official code).

  Returns ``(x_norm, mean, std)`` with ``mean``, ``std`` of shape ``[B, 1, C]``, ``std = sqrt(var + 1e-5)``
  (biased variance); the statistics are stop-gradient (``.detach()`` in the official code)."""
  _rank(x, 3, "x", "instance_norm", "[batch, length, channels]")
  check_finite(x, "x", "instance_norm")
  mean = jax.lax.stop_gradient(jnp.mean(x, axis=1, keepdims=True))
  xc = x - mean
  std = jax.lax.stop_gradient(jnp.sqrt(jnp.var(xc, axis=1, keepdims=True) + NORM_EPS))
  return xc / std, mean, std


def denormalize(y: jax.Array, mean: jax.Array, std: jax.Array) -> jax.Array:
  """Undoes :func:`instance_norm` on a forecast ``[B, L_out, C]``: ``y * std + mean``."""
  _rank(y, 3, "y", "denormalize", "[batch, length, channels]")
  for name, s in (("mean", mean), ("std", std)):
    if jnp.shape(s) != (y.shape[0], 1, y.shape[2]):
      raise ValueError(f"denormalize: {name}: expected shape {(y.shape[0], 1, y.shape[2])}, got {jnp.shape(s)}")
  return y * std + mean


def history_windows(z: jax.Array, window: int) -> jax.Array:
  """``[..., R, F] -> [..., R, window, F]``: entry ``[r, k]`` is ``z[r - window + k]``, zero for a negative index.

  Row ``r`` itself is excluded (the last element is ``z[r - 1]``): the official code left-pads ``window`` zeros
  and drops the last element before a causal convolution of kernel ``window``."""
  window = _positive_int(window, "window", "history_windows")
  if jnp.ndim(z) < 2:
    raise ValueError(f"history_windows: z: expected rank >= 2 [..., steps, features], got shape {jnp.shape(z)}")
  r = z.shape[-2]
  pad = [(0, 0)] * (z.ndim - 2) + [(window, 0), (0, 0)]
  zp = jnp.pad(z, pad)[..., :-1, :]                        # length r + window - 1
  idx = np.arange(r)[:, None] + np.arange(window)[None, :]  # [r, window] into zp
  return jnp.take(zp, idx, axis=-2)


def hie(z: jax.Array, kernel: jax.Array, bias: jax.Array) -> jax.Array:
  """Historical Information Extraction: ``H_r = sum_k W_k z_{r - w + k} + b`` over the ``w`` previous steps.

  Args:
    z: ``[..., R, F]`` inputs.
    kernel: ``[w, F, d]`` (``kernel[k]`` weighs ``z_{r - w + k}``; ``kernel[-1]`` the previous step).
    bias: ``[d]``.
  Returns: ``[..., R, d]``; ``H_r`` depends on ``z_0 .. z_{r-1}`` only.
  """
  if jnp.ndim(kernel) != 3:
    raise ValueError(f"hie: kernel: expected a rank-3 array [window, features, d], got shape {jnp.shape(kernel)}")
  w, f, d = kernel.shape
  if jnp.ndim(z) < 2 or z.shape[-1] != f:
    raise ValueError(f"hie: z: expected [..., steps, {f}] (kernel features), got shape {jnp.shape(z)}")
  if jnp.shape(bias) != (d,):
    raise ValueError(f"hie: bias: expected shape ({d},), got {jnp.shape(bias)}")
  return jnp.einsum("...rkf,kfd->...rd", history_windows(z, w), kernel) + bias


def gated_fusion(gate_pre: jax.Array, history: jax.Array) -> jax.Array:
  """PGN's gate: ``[a; c] = gate_pre``, ``g = sigmoid(a)``, ``h = g * H + (1 - g) * tanh(c)``."""
  d = history.shape[-1]
  if jnp.shape(gate_pre) != jnp.shape(history)[:-1] + (2 * d,):
    raise ValueError(f"gated_fusion: gate_pre: expected shape {jnp.shape(history)[:-1] + (2 * d,)} "
                     f"([..., 2 * d] for history [..., d]), got {jnp.shape(gate_pre)}")
  g = jax.nn.sigmoid(gate_pre[..., :d])
  return g * history + (1.0 - g) * jnp.tanh(gate_pre[..., d:])


def _pair(pred, true, fn):
  if jnp.shape(pred) != jnp.shape(true):
    raise ValueError(f"{fn}: pred: expected the shape of true {jnp.shape(true)}, got {jnp.shape(pred)}")


def mse(pred: jax.Array, true: jax.Array) -> jax.Array:
  """Mean squared error over every element (``utils/metrics.py``: ``np.mean((pred - true) ** 2)``)."""
  _pair(pred, true, "mse")
  return jnp.mean(jnp.square(pred - true))


def mae(pred: jax.Array, true: jax.Array) -> jax.Array:
  """Mean absolute error over every element."""
  _pair(pred, true, "mae")
  return jnp.mean(jnp.abs(pred - true))
