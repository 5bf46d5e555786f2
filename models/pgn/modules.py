"""Flax linen modules: the PGN layer, TPGN (with the long-only / short-only ablations) and the baselines
(DLinear, NLinear, a GRU encoder with a linear head).

Every forecaster is called as ``model(x, marks) -> [B, pred_len, C]`` with ``x: [B, seq_len, C]`` and the
time marks ``marks: [B, seq_len, d_time]`` (the baselines DLinear / NLinear ignore the marks, as officially).
Initialisation follows PyTorch's ``Conv1d`` / ``Linear`` default (weights and biases ~ U(+-1/sqrt(fan_in))),
since the official models are PyTorch and TPGN's widths are tiny (d_model = 2 for ETTh1).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import flax.linen as nn
import numpy as np

from kernels.common.checks import check_finite
from models.pgn.functional import denormalize, gated_fusion, hie, instance_norm

BRANCHES = ("both", "long", "short")


def _torch_kernel():
  return nn.initializers.variance_scaling(1.0 / 3.0, "fan_in", "uniform")   # U(+-1/sqrt(fan_in))


def _torch_bias(fan_in: int):
  bound = 1.0 / np.sqrt(fan_in)

  def init(key, shape, dtype=jnp.float32):
    return jax.random.uniform(key, shape, dtype, -bound, bound)
  return init


def _dense(features: int, fan_in: int, name: str) -> nn.Dense:
  return nn.Dense(features, kernel_init=_torch_kernel(), bias_init=_torch_bias(fan_in), name=name)


def _check_int(v, name: str, owner: str, lo: int = 1) -> None:
  if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
    raise ValueError(f"{owner}: {name}: expected an int >= {lo}, got {v!r}")


def _check_series(x, marks, seq_len: int, n_channels: int, d_time: int | None, owner: str) -> None:
  if jnp.ndim(x) != 3 or x.shape[1] != seq_len or x.shape[2] != n_channels:
    raise ValueError(f"{owner}: x: expected [batch, seq_len={seq_len}, n_channels={n_channels}], "
                     f"got shape {jnp.shape(x)}")
  if d_time is not None:
    if marks is None or jnp.ndim(marks) != 3 or marks.shape[:2] != x.shape[:2] or marks.shape[2] != d_time:
      raise ValueError(f"{owner}: marks: expected [batch={x.shape[0]}, seq_len={seq_len}, d_time={d_time}], "
                       f"got shape {None if marks is None else jnp.shape(marks)}")
    check_finite(marks, "marks", owner)
  check_finite(x, "x", owner)


class PGN(nn.Module):
  """One PGN layer over the steps axis (``-2``) of ``z: [..., R, F]``; returns every hidden state ``[..., R, d]``.

  HIE: ``H_r = W_h [z_{r-w}; ...; z_{r-1}] + b_h`` (zero-padded, row r excluded), then the gate
  ``[a; c] = W_g [z_r; H_r] + b_g`` and ``h_r = sigmoid(a) * H_r + (1 - sigmoid(a)) * tanh(c)``. Every step is
  computed at once (no recurrence): the path from ``z_{r'}`` to ``h_r`` has length 1 for every ``r' < r``.

  Attributes:
    features: ``d``.
    window: ``w``, the number of previous steps HIE sees; ``None`` = all (``R - 1``, TPGN's choice).
  """
  features: int
  window: int | None = None

  @nn.compact
  def __call__(self, z: jax.Array) -> jax.Array:
    _check_int(self.features, "features", "PGN")
    if jnp.ndim(z) < 2:
      raise ValueError(f"PGN: z: expected rank >= 2 [..., steps, features], got shape {jnp.shape(z)}")
    r, f = z.shape[-2:]
    w = r - 1 if self.window is None else self.window
    if self.window is None and r < 2:
      raise ValueError(f"PGN: z: expected at least 2 steps (HIE sees the R - 1 previous ones), got {r}")
    _check_int(w, "window", "PGN")
    d = self.features
    kernel = self.param("hie_kernel", _torch_kernel(), (w, f, d))
    bias = self.param("hie_bias", _torch_bias(w * f), (d,))
    history = hie(z, kernel, bias)
    gate = _dense(2 * d, f + d, "gate")(jnp.concatenate([z, history], axis=-1))
    return gated_fusion(gate, history)


class _TPGNChannel(nn.Module):
  """TPGN on one channel's grid ``z: [B, R, P, F]`` (value and marks per cell) -> ``[B, R' * P]``."""
  pred_rows: int
  d_model: int
  branches: str

  @nn.compact
  def __call__(self, z):
    b, r, p, f = z.shape
    d = self.d_model
    feats = []
    if self.branches in ("both", "short"):
      # short-term: each row (one period, a patch) embedded, then the R row embeddings aggregated
      e = _dense(d, p * f, "row_embed")(jnp.reshape(z, (b, r, p * f)))        # [B, R, d]
      g = _dense(d, r * d, "row_global")(jnp.reshape(e, (b, r * d)))          # [B, d]
      feats.append(jnp.broadcast_to(g[:, None, :], (b, p, d)))
    if self.branches in ("both", "long"):
      # long-term: PGN down each column (same phase of successive periods), weights shared over columns
      h = PGN(d, name="pgn")(jnp.swapaxes(z, 1, 2))                           # [B, P, R, d]
      feats.append(_dense(d, r * d, "row_aggregate")(jnp.reshape(h, (b, p, r * d))))   # [B, P, d]
    y = _dense(self.pred_rows, d * len(feats), "head")(jnp.concatenate(feats, axis=-1))   # [B, P, R']
    return jnp.reshape(jnp.swapaxes(y, 1, 2), (b, self.pred_rows * p))


class TPGN(nn.Module):
  """Temporal PGN forecaster (official ``models/TPGN.py``), per-channel weights (vmapped, stacked parameters).

  ``x: [B, seq_len, C]`` is folded to ``R = seq_len / period`` rows of ``period`` steps; each cell carries
  ``[x, marks]``. Long-term branch: PGN along the rows of every column, then a linear map over the R hidden
  states. Short-term branch: a linear row (patch) embedding, then a linear map over the R rows (broadcast to
  every column). Head: ``[short; long] -> R'`` future rows per column, unfolded to ``pred_len``.

  Attributes:
    seq_len, pred_len: multiples of ``period``; ``seq_len >= 2 * period`` when the long branch is used.
    period: ``P`` (24 for hourly data).
    d_model: ``d``.
    n_channels: ``C`` (independent weights per channel, the official grouped convolutions).
    d_time: number of time-mark features (4 for 'h' timeF marks; 0: none).
    norm: instance normalisation of each input window (undone on the output).
    branches: ``"both"`` (TPGN), ``"long"`` (official ``need_short=0``) or ``"short"`` (ablation).
  """
  seq_len: int
  pred_len: int
  period: int = 24
  d_model: int = 8
  n_channels: int = 1
  d_time: int = 4
  norm: bool = True
  branches: str = "both"

  def _validate(self):
    for name in ("seq_len", "pred_len", "period", "d_model", "n_channels"):
      _check_int(getattr(self, name), name, "TPGN")
    _check_int(self.d_time, "d_time", "TPGN", lo=0)
    for name in ("seq_len", "pred_len"):
      if getattr(self, name) % self.period:
        raise ValueError(f"TPGN: {name}: expected a multiple of period={self.period}, got {getattr(self, name)}")
    if self.branches not in BRANCHES:
      raise ValueError(f"TPGN: branches: expected one of {BRANCHES}, got {self.branches!r}")
    if self.branches != "short" and self.seq_len < 2 * self.period:
      raise ValueError(f"TPGN: seq_len: expected >= 2 * period = {2 * self.period} (the long branch needs two "
                       f"rows), got {self.seq_len}")

  @nn.compact
  def __call__(self, x: jax.Array, marks: jax.Array | None = None) -> jax.Array:
    self._validate()
    _check_series(x, marks, self.seq_len, self.n_channels, self.d_time or None, "TPGN")
    b, length, c = x.shape
    if self.norm:
      x, mean, std = instance_norm(x)
    rows, p = length // self.period, self.period
    z = jnp.reshape(jnp.moveaxis(x, 2, 0), (c, b, rows, p, 1))                 # [C, B, R, P, 1]
    if self.d_time:
      m = jnp.reshape(marks, (b, rows, p, self.d_time)).astype(z.dtype)
      z = jnp.concatenate([z, jnp.broadcast_to(m, (c,) + m.shape)], axis=-1)  # [C, B, R, P, 1 + d_time]
    per_channel = nn.vmap(_TPGNChannel, variable_axes={"params": 0}, split_rngs={"params": True},
                          in_axes=0, out_axes=0)
    y = per_channel(self.pred_len // self.period, self.d_model, self.branches, name="channels")(z)
    y = jnp.moveaxis(y, 0, 2)                                                     # [B, pred_len, C]
    return denormalize(y, mean, std) if self.norm else y


def moving_average(x: jax.Array, kernel: int) -> jax.Array:
  """DLinear's trend: a moving average of odd width ``kernel`` along time, edges padded by repetition."""
  _check_int(kernel, "kernel", "moving_average")
  if kernel % 2 == 0:
    raise ValueError(f"moving_average: kernel: expected an odd width, got {kernel}")
  if jnp.ndim(x) != 3:
    raise ValueError(f"moving_average: x: expected [batch, length, channels], got shape {jnp.shape(x)}")
  h = (kernel - 1) // 2
  xp = jnp.concatenate([jnp.repeat(x[:, :1], h, axis=1), x, jnp.repeat(x[:, -1:], h, axis=1)], axis=1)
  c = jnp.cumsum(jnp.pad(xp, ((0, 0), (1, 0), (0, 0))), axis=1)
  return (c[:, kernel:] - c[:, :-kernel]) / kernel


class DLinear(nn.Module):
  """DLinear (Zeng et al. 2023, official ``models/DLinear.py``, ``individual=False``): moving-average trend
  (kernel 25) + seasonal remainder, one linear map over time each, shared by the channels; marks unused."""
  seq_len: int
  pred_len: int
  n_channels: int = 1
  kernel: int = 25

  @nn.compact
  def __call__(self, x: jax.Array, marks: jax.Array | None = None) -> jax.Array:
    for name in ("seq_len", "pred_len", "n_channels"):
      _check_int(getattr(self, name), name, "DLinear")
    _check_series(x, None, self.seq_len, self.n_channels, None, "DLinear")
    trend = moving_average(x, self.kernel)
    seasonal = x - trend
    lin = lambda v, name: jnp.swapaxes(_dense(self.pred_len, self.seq_len, name)(jnp.swapaxes(v, 1, 2)), 1, 2)
    return lin(seasonal, "seasonal") + lin(trend, "trend")


class NLinear(nn.Module):
  """NLinear (official ``models/NLinear.py``): subtract the last value, one linear map over time, add it back."""
  seq_len: int
  pred_len: int
  n_channels: int = 1

  @nn.compact
  def __call__(self, x: jax.Array, marks: jax.Array | None = None) -> jax.Array:
    for name in ("seq_len", "pred_len", "n_channels"):
      _check_int(getattr(self, name), name, "NLinear")
    _check_series(x, None, self.seq_len, self.n_channels, None, "NLinear")
    last = jax.lax.stop_gradient(x[:, -1:, :])
    y = _dense(self.pred_len, self.seq_len, "linear")(jnp.swapaxes(x - last, 1, 2))
    return jnp.swapaxes(y, 1, 2) + last


class GRUForecaster(nn.Module):
  """RNN baseline: a GRU over the ``seq_len`` steps of ``[x_t, marks_t]`` (channels independent, shared weights),
  its last hidden state mapped linearly to the ``pred_len`` future values; optional instance normalisation.
  The information path from step t to the forecast has length ``seq_len - t`` (the recurrence)."""
  seq_len: int
  pred_len: int
  hidden: int = 32
  n_channels: int = 1
  d_time: int = 4
  norm: bool = True

  @nn.compact
  def __call__(self, x: jax.Array, marks: jax.Array | None = None) -> jax.Array:
    for name in ("seq_len", "pred_len", "hidden", "n_channels"):
      _check_int(getattr(self, name), name, "GRUForecaster")
    _check_int(self.d_time, "d_time", "GRUForecaster", lo=0)
    _check_series(x, marks, self.seq_len, self.n_channels, self.d_time or None, "GRUForecaster")
    b, length, c = x.shape
    if self.norm:
      x, mean, std = instance_norm(x)
    u = jnp.reshape(jnp.moveaxis(x, 2, 0), (c * b, length, 1))
    if self.d_time:
      m = jnp.broadcast_to(marks[None].astype(u.dtype), (c,) + marks.shape).reshape(c * b, length, self.d_time)
      u = jnp.concatenate([u, m], axis=-1)
    h0 = jnp.zeros((c * b, self.hidden), u.dtype)                                 # carry in the input dtype
    carry = nn.RNN(nn.GRUCell(self.hidden), return_carry=True, name="rnn")(u, initial_carry=h0)[0]
    y = _dense(self.pred_len, self.hidden, "head")(carry)
    y = jnp.moveaxis(jnp.reshape(y, (c, b, self.pred_len)), 0, 2)
    return denormalize(y, mean, std) if self.norm else y
