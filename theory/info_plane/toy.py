"""Saxe et al. (2018)'s single-neuron toy: T = f(w X) with X ~ N(0, 1), binned.

tanh: ``n_bins`` edges on [-1, 1] (the network's binning); as w grows the neuron saturates, mass piles into the two
end bins and the binned I(X;T) = H(T) falls towards 1 bit. ReLU: fixed-width bins of width delta = 2 / (n_bins - 1)
(the tanh bins' width), unbounded above (bin = floor(T / delta)): H(T) keeps growing like log w.

``toy_binned_exact`` gives the infinite-sample value in closed form (bin probabilities are normal-CDF differences
at atanh(edges) / w, resp. k delta / w); ``toy_binned_sample`` the plug-in estimate from ``n`` draws.
"""
from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import ndtr

from kernels.common.checks import check_key
from theory.info_plane.mi import bin_indices, entropy_from_codes

_PKG = "theory.info_plane"
TOY_ACTIVATIONS = ("tanh", "relu")


def _check(ws, activation, n_bins, fn):
  if activation not in TOY_ACTIVATIONS:
    raise ValueError(f"{fn}: activation must be one of {TOY_ACTIVATIONS}, got {activation!r}")
  if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 2:
    raise ValueError(f"{fn}: n_bins must be an int >= 2, got {n_bins!r}")
  w = np.asarray(ws, np.float64)
  if w.ndim > 1 or not np.all(np.isfinite(w)) or not np.all(w > 0):
    raise ValueError(f"{fn}: ws must be finite weights > 0 (scalar or 1-d), got {ws!r}")
  return np.atleast_1d(w)


def tanh_bin_probs(w, n_bins: int = 30) -> jax.Array:
  """P(symbol k), k = 0..n_bins-1, of tanh(w X) binned on ``n_bins`` edges in [-1, 1] (the last symbol, tanh >= 1,
  has probability 0); ``w > 0`` scalar."""
  e = jnp.linspace(-1.0, 1.0, n_bins)
  a = jnp.concatenate([jnp.full((1,), -jnp.inf), jnp.arctanh(e[1:-1]), jnp.full((1,), jnp.inf)])
  cdf = ndtr(a / w)
  return jnp.concatenate([cdf[1:] - cdf[:-1], jnp.zeros((1,), cdf.dtype)])


def relu_bin_probs(w, delta: float, n_max: int) -> jax.Array:
  """P(floor(relu(w X) / delta) = k), k = 0..n_max-1 (the tail beyond n_max is dropped); ``w > 0`` scalar."""
  k = jnp.arange(n_max + 1, dtype=jnp.float64 if jax.config.jax_enable_x64 else jnp.float32)
  cdf = ndtr(k * delta / w)
  p = cdf[1:] - cdf[:-1]
  return p.at[0].add(0.5)


def _h(p):
  return -jnp.sum(jnp.where(p > 0, p * jnp.log2(jnp.where(p > 0, p, 1.0)), 0.0))


def toy_binned_exact(ws, activation: str = "tanh", n_bins: int = 30) -> np.ndarray:
  """The infinite-sample binned I(X;T) = H(T) (bits) of T = f(w X), X ~ N(0, 1), for each w in ``ws`` (float64)."""
  fn = f"{_PKG}.toy_binned_exact"
  w = _check(ws, activation, n_bins, fn)
  delta = 2.0 / (n_bins - 1)
  with jax.enable_x64(True):
    if activation == "tanh":
      return np.asarray(_exact_tanh(jnp.asarray(w), int(n_bins)))
    n_max = int(math.ceil(9.0 * w.max() / delta)) + 2               # P(X > 9) ~ 1e-19
    return np.asarray(_exact_relu(jnp.asarray(w), delta, n_max))


@functools.partial(jax.jit, static_argnums=(1,))
def _exact_tanh(w, n_bins):
  return jax.vmap(lambda v: _h(tanh_bin_probs(v, n_bins)))(w)


@functools.partial(jax.jit, static_argnums=(1, 2))
def _exact_relu(w, delta, n_max):
  return jax.vmap(lambda v: _h(relu_bin_probs(v, delta, n_max)))(w)


def toy_binned_sample(key, ws, activation: str = "tanh", n: int = 4096, n_bins: int = 30) -> np.ndarray:
  """Plug-in binned H(T) (bits) from the same ``n`` draws of X ~ N(0, 1) for every w in ``ws``."""
  fn = f"{_PKG}.toy_binned_sample"
  check_key(key, "key", fn)
  w = _check(ws, activation, n_bins, fn)
  if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
    raise ValueError(f"{fn}: n must be an int >= 2, got {n!r}")
  with jax.enable_x64(True):
    x = jax.random.normal(key, (int(n),), jnp.float64)
    return np.asarray(_toy_sample(x, jnp.asarray(w), activation, int(n_bins)))


@functools.partial(jax.jit, static_argnums=(2, 3))
def _toy_sample(x, w, activation, n_bins):
  delta = 2.0 / (n_bins - 1)

  def one(wi):
    t = wi * x
    if activation == "tanh":
      b = bin_indices(jnp.tanh(t)[:, None], n_bins)[:, 0].astype(jnp.int64)
    else:
      b = jnp.floor(jax.nn.relu(t) / delta).astype(jnp.int64)
    return entropy_from_codes(b)

  return jax.vmap(one)(w)
