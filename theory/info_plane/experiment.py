"""Experiments of the claims (``experiments/claims/info_plane.py``): the information-plane sweep over seeds
(training simulator vmapped over seeds, then binned MI of every layer at every snapshot), the KDE estimates at
chosen snapshots and the single-neuron toy.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import check_key
from theory.info_plane.data import n_train as _n_train, train_mask, twelve_bit_dataset
from theory.info_plane.mi import bin_indices, information_from_codes, kde_information, row_codes, KDEMI
from theory.info_plane.network import (ACTIVATIONS, WIDTHS, _check_train_args, _mixed_logits, hyper, init_network,
                                       layer_outputs, log_epochs, train_run)

_PKG = "theory.info_plane"
RELU_BINNINGS = ("max", "fixed")


def _check_binning(activation, n_bins, relu_binning, fn):
  if activation not in ACTIVATIONS:
    raise ValueError(f"{fn}: activation must be one of {ACTIVATIONS}, got {activation!r}")
  if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 2:
    raise ValueError(f"{fn}: n_bins must be an int >= 2, got {n_bins!r}")
  if relu_binning not in RELU_BINNINGS:
    raise ValueError(f"{fn}: relu_binning must be one of {RELU_BINNINGS}, got {relu_binning!r}")


def _mixed_information(params, x, y, relu, max_bins, n_bins):
  """(i_xt [L], i_ty [L]) of one parameter set (``relu``, ``max_bins`` traced bools); call under x64."""
  h = x
  outs = []
  for w, b in params[:-1]:
    z = h @ w + b
    h = jnp.where(relu, jax.nn.relu(z), jnp.tanh(z))
    outs.append(h)
  w, b = params[-1]
  outs.append(jax.nn.softmax(h @ w + b, axis=-1))
  codes = []
  for l, h in enumerate(outs):
    if l < len(outs) - 1:
      lo = jnp.where(max_bins, jnp.zeros((), h.dtype), -jnp.ones((), h.dtype))
      hi = jnp.where(max_bins, jnp.max(h), jnp.ones((), h.dtype))
    else:
      lo, hi = -1.0, 1.0
    codes.append(row_codes(bin_indices(h, n_bins, lo, hi), n_bins))
  ixt, ity = jax.vmap(information_from_codes, in_axes=(0, None))(jnp.stack(codes), y)
  return ixt, ity


def layer_information(params, activation: str = "tanh", n_bins: int = 30, relu_binning: str = "max"):
  """Binned (I(X;T_l), I(T_l;Y)) in bits for every layer of ``params`` on all 4096 patterns of the 12-bit set
  (returns two numpy arrays [L]). Binning: ``n_bins`` edges on [-1, 1] (tanh layers and the softmax output); ReLU
  hidden layers on [0, max activation of the layer] (``relu_binning="max"``) or on [-1, 1] like tanh
  (``"fixed"``: everything above 1 lands in the last bin)."""
  fn = f"{_PKG}.layer_information"
  _check_binning(activation, n_bins, relu_binning, fn)
  d = twelve_bit_dataset()
  with jax.enable_x64(True):
    a, b = _layer_information_jit(params, jnp.asarray(d.x), jnp.asarray(d.y), jnp.asarray(activation == "relu"),
                                  jnp.asarray(activation == "relu" and relu_binning == "max"), int(n_bins))
    return np.asarray(a), np.asarray(b)


_layer_information_jit = jax.jit(_mixed_information, static_argnums=(5,))


class InfoPlaneSweep(NamedTuple):
  """``epochs: [S]`` snapshot epochs; per seed and snapshot: ``i_xt, i_ty: [seeds, S, L]`` binned bits (layers
  T_1..T_L: hidden layers, then the softmax output), ``train_acc, test_acc, train_loss: [seeds, S]``,
  ``grad_mean, grad_std, weight_norm: [seeds, S, L]`` (minibatch weight-gradient statistics of the epoch before the
  snapshot); ``params``: the snapshot parameters (leaves [seeds, S, ...]); ``masks: [seeds, 4096]`` the training
  rows."""
  epochs: np.ndarray
  i_xt: np.ndarray
  i_ty: np.ndarray
  train_acc: np.ndarray
  test_acc: np.ndarray
  train_loss: np.ndarray
  grad_mean: np.ndarray
  grad_std: np.ndarray
  weight_norm: np.ndarray
  params: tuple
  masks: np.ndarray


def info_plane_sweep(key, n_seeds: int = 20, *, activation: str = "tanh", optimizer: str = "adam",
                     lr: float = 4e-4, batch_size: int = 512, n_epochs: int = 8000, n_snapshots: int = 100,
                     train_fraction: float = 0.8, n_bins: int = 30, relu_binning: str = "max",
                     widths=WIDTHS) -> InfoPlaneSweep:
  """Trains ``n_seeds`` networks (independent split, initialisation and batch order per seed; one jitted
  ``vmap`` of the scan simulator) and measures the information plane at ~``n_snapshots`` log-spaced epochs.

  Defaults are the reference code's (Adam, lr 4e-4, batch 512, 8000 epochs, 80 % training data, 30 bins).
  """
  fn = f"{_PKG}.info_plane_sweep"
  check_key(key, "key", fn)
  if isinstance(n_seeds, bool) or not isinstance(n_seeds, (int, np.integer)) or n_seeds < 1:
    raise ValueError(f"{fn}: n_seeds must be an int >= 1, got {n_seeds!r}")
  _check_binning(activation, n_bins, relu_binning, fn)
  if tuple(widths)[0] != 12:
    raise ValueError(f"{fn}: widths must start with the 12 input bits, got {widths!r}")
  epochs = log_epochs(n_epochs, n_snapshots)
  _check_train_args(activation, optimizer, lr, batch_size, epochs, fn)
  if not isinstance(train_fraction, (float, int)) or isinstance(train_fraction, bool) or not 0 < train_fraction < 1:
    raise ValueError(f"{fn}: train_fraction must be in (0, 1), got {train_fraction!r}")
  nt = _n_train(2 ** 12, train_fraction)
  go, measure = _programs(n_seeds, len(epochs), int(batch_size), nt, tuple(int(w) for w in widths), int(n_bins))
  hp = hyper(activation, optimizer, float(lr), epochs)
  traj, masks = go(jax.random.split(key, n_seeds), hp)
  relu = jnp.asarray(activation == "relu")
  max_bins = jnp.asarray(activation == "relu" and relu_binning == "max")
  with jax.enable_x64(True):
    ixt, ity, tr, te = (np.asarray(v) for v in measure(traj.params, masks, relu, max_bins))
  return InfoPlaneSweep(np.asarray(epochs), ixt, ity, tr, te, np.asarray(traj.train_loss),
                        np.asarray(traj.grad_mean), np.asarray(traj.grad_std), np.asarray(traj.weight_norm),
                        jax.tree.map(np.asarray, traj.params), np.asarray(masks))


@functools.lru_cache(maxsize=8)
def _programs(n_seeds, n_snap, batch_size, nt, widths, n_bins):
  """The jitted training and measuring programs of one sweep shape (cached; activation, optimizer, lr and the
  snapshot epochs are traced, so e.g. the tanh and ReLU sweeps share one compile)."""
  d = twelve_bit_dataset()
  x, y = jnp.asarray(d.x, jnp.float32), jnp.asarray(d.y, jnp.int32)
  frac = nt / d.x.shape[0]

  @jax.jit
  def go(keys, hp):
    def one(k):
      km, ki, kt = jax.random.split(k, 3)
      mask = train_mask(km, d.x.shape[0], frac)
      return train_run(kt, init_network(ki, widths), mask, hp, x, y, nt, batch_size), mask
    return jax.vmap(one)(keys)

  @jax.jit
  def measure(ps, masks, relu, max_bins):
    def per_seed(p_seed, m):
      def per_snap(p):
        ixt, ity = _mixed_information(p, x, y, relu, max_bins, n_bins)
        ok = (jnp.argmax(_mixed_logits(p, x, relu), -1) == y).astype(jnp.float32)
        mf = m.astype(jnp.float32)
        return ixt, ity, jnp.sum(ok * mf) / jnp.sum(mf), jnp.sum(ok * (1 - mf)) / jnp.sum(1 - mf)
      return jax.lax.map(per_snap, p_seed)
    return jax.vmap(per_seed)(ps, masks)

  return go, measure


def snapshot_params(sweep: InfoPlaneSweep, seed: int, snapshot: int):
  """The parameters of one seed at one snapshot index (a tuple of (W, b))."""
  fn = f"{_PKG}.snapshot_params"
  if not isinstance(sweep, InfoPlaneSweep):
    raise TypeError(f"{fn}: sweep must be an InfoPlaneSweep, got {type(sweep).__name__}")
  s, t = sweep.i_xt.shape[:2]
  if not (isinstance(seed, (int, np.integer)) and 0 <= seed < s):
    raise ValueError(f"{fn}: seed must be an int in [0, {s}), got {seed!r}")
  if not (isinstance(snapshot, (int, np.integer)) and -t <= snapshot < t):
    raise ValueError(f"{fn}: snapshot must be an int in [-{t}, {t}), got {snapshot!r}")
  return jax.tree.map(lambda a: jnp.asarray(a[seed, snapshot]), sweep.params)


def kde_layers(params, activation: str = "tanh", sigma2: float = 0.1) -> KDEMI:
  """Saxe et al.'s KDE estimates (bits) for every layer of ``params`` on the 4096 patterns: a KDEMI of [L] arrays."""
  fn = f"{_PKG}.kde_layers"
  if activation not in ACTIVATIONS:
    raise ValueError(f"{fn}: activation must be one of {ACTIVATIONS}, got {activation!r}")
  d = twelve_bit_dataset()
  outs = layer_outputs(params, jnp.asarray(d.x), activation)
  res = [kde_information(h, d.y, sigma2) for h in outs]
  return KDEMI(*(np.asarray([float(getattr(r, f)) for r in res]) for f in KDEMI._fields))


# ---------------------------------------------------------------------------------------------------------
# Summaries the claims judge (host numpy on a finished sweep).

def _check_sweep(sweep, fn):
  if not isinstance(sweep, InfoPlaneSweep):
    raise TypeError(f"{fn}: sweep must be an InfoPlaneSweep, got {type(sweep).__name__}")


def _check_layers(layers, n_layers, fn):
  ls = tuple(layers)
  if not ls or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 1 <= v <= n_layers
                       for v in ls):
    raise ValueError(f"{fn}: layers must be a non-empty sequence of 1-based layer numbers in [1, {n_layers}], "
                     f"got {layers!r}")
  return np.asarray(ls, np.int64)


class Compression(NamedTuple):
  """Rise and fall of the binned I(X;T) of the chosen ``layers: [K]`` (1-based: T_1 = first hidden layer) over a
  sweep. Per seed: ``peak``, ``final`` I(X;T) and ``drop = peak - final`` (bits) ``[seeds, K]``, ``peak_epoch``
  ``[seeds, K]`` and the final I(T;Y) ``final_ity [seeds, K]``. Of the seed-mean curve ``mean_ixt [S, K]``:
  ``onset_epoch [K]`` (the epoch of its maximum, where compression starts) and ``mean_curve_drop [K]`` (its
  maximum minus its final value)."""
  layers: np.ndarray
  peak: np.ndarray
  final: np.ndarray
  drop: np.ndarray
  peak_epoch: np.ndarray
  final_ity: np.ndarray
  mean_ixt: np.ndarray
  onset_epoch: np.ndarray
  mean_curve_drop: np.ndarray


def compression(sweep: InfoPlaneSweep, layers=(3, 4, 5)) -> Compression:
  """The :class:`Compression` summary of ``sweep`` for ``layers`` (1-based layer numbers)."""
  fn = f"{_PKG}.compression"
  _check_sweep(sweep, fn)
  ls = _check_layers(layers, sweep.i_xt.shape[-1], fn)
  ixt = np.asarray(sweep.i_xt, np.float64)[:, :, ls - 1]                # [seeds, S, K]
  ity = np.asarray(sweep.i_ty, np.float64)[:, :, ls - 1]
  ep = np.asarray(sweep.epochs)
  peak, final = ixt.max(1), ixt[:, -1]
  m = ixt.mean(0)                                                      # [S, K]
  return Compression(ls, peak, final, peak - final, ep[ixt.argmax(1)], ity[:, -1], m, ep[m.argmax(0)],
                     m.max(0) - m[-1])


def gradient_snr(sweep: InfoPlaneSweep, layers=(3, 4, 5)) -> np.ndarray:
  """Signal-to-noise ratio of the minibatch weight gradients ``[S, K]`` per snapshot epoch and layer: the
  seed-mean of |mean_b g_b| over the seed-mean of sqrt(trace Cov_b g_b) (the two curves the paper plots, averaged
  over runs as in its figure). > 1: drift phase; < 1: diffusion phase."""
  fn = f"{_PKG}.gradient_snr"
  _check_sweep(sweep, fn)
  ls = _check_layers(layers, sweep.grad_mean.shape[-1], fn)
  gm = np.asarray(sweep.grad_mean, np.float64)[:, :, ls - 1].mean(0)
  gs = np.asarray(sweep.grad_std, np.float64)[:, :, ls - 1].mean(0)
  return gm / np.where(gs > 0, gs, np.nan)


class RiseFall(NamedTuple):
  """Of a curve v_0..v_n: ``peak_minus_first = max v - v_0``, ``peak_minus_last = max v - v_n`` and
  ``max_fall = max_i (max_{j <= i} v_j - v_i)`` (the largest fall below the running maximum)."""
  peak_minus_first: float
  peak_minus_last: float
  max_fall: float


def rise_and_fall(values) -> RiseFall:
  """The :class:`RiseFall` of a finite 1-d curve ``values`` (e.g. the toy's I(X;T) against w)."""
  fn = f"{_PKG}.rise_and_fall"
  v = np.asarray(values, np.float64)
  if v.ndim != 1 or v.size < 1 or not np.all(np.isfinite(v)):
    raise ValueError(f"{fn}: values must be a non-empty finite 1-d array, got shape {v.shape}")
  return RiseFall(float(v.max() - v[0]), float(v.max() - v[-1]), float(np.max(np.maximum.accumulate(v) - v)))
