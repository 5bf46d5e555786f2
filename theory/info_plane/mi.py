"""Mutual-information estimators of the information plane.

* Binning (Shwartz-Ziv & Tishby 2017, the reference repository ``ravidziv/IDNNs``): each activation is replaced by
  its bin among ``n_bins`` equally spaced edges on ``[lo, hi]`` (``np.digitize`` convention: symbol k holds
  ``edges[k] <= h < edges[k + 1]``, values at or above ``hi`` get the last symbol, values below ``lo`` the first);
  a layer state is the tuple of bin ids, encoded as one int64 mixed-radix row code ``sum_j b_j n_bins^j`` and
  counted by a sort. Because T is a deterministic function of X and X is uniform over distinct patterns,
  I(X;T) = H(T) and I(T;Y) = H(T) - sum_y p(y) H(T | Y = y) (plug-in entropies, bits).
* KDE (Saxe et al. 2018, Kolchinsky & Tracey pairwise-distance bounds for a Gaussian mixture with noise variance
  sigma^2 around each of the P layer vectors): I(X;T) <= -(1/P) sum_i ln[(1/P) sum_j exp(-|h_i - h_j|^2 / (2 sigma^2))]
  and the Bhattacharyya lower bound with 8 sigma^2 in the exponent; I(T;Y) = H(T) - sum_y p(y) H(T | Y = y) with
  the same bound on each entropy (the d/2 ln(2 pi e sigma^2) constants cancel). Returned in bits.

Row codes need 64-bit integers: the public functions run under a scoped ``jax.enable_x64`` (the ``*_codes`` and
``entropy_*`` helpers are for callers already inside one).
"""
from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import check_finite, is_concrete

_PKG = "theory.info_plane"
INT64_MAX = 2 ** 63 - 1
LN2 = math.log(2.0)


def _check_bins(n_bins, fn):
  if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 2:
    raise ValueError(f"{fn}: n_bins must be an int >= 2, got {n_bins!r}")


def max_code_width(n_bins: int) -> int:
  """The largest layer width whose row codes ``n_bins^width - 1`` fit in int64."""
  _check_bins(n_bins, f"{_PKG}.max_code_width")
  w = 0
  while int(n_bins) ** (w + 1) - 1 <= INT64_MAX:
    w += 1
  return w


def _check_width(width, n_bins, fn):
  if int(n_bins) ** int(width) - 1 > INT64_MAX:
    raise ValueError(f"{fn}: a layer of width {width} with n_bins={n_bins} needs codes up to {n_bins}^{width} - 1, "
                     f"which overflows int64 (at most width {max_code_width(n_bins)})")


def _check_h(h, fn, name="h"):
  if not hasattr(h, "ndim") or h.ndim != 2 or not jnp.issubdtype(h.dtype, jnp.floating):
    raise ValueError(f"{fn}: {name} must be a float array [N, width], got "
                     f"{getattr(h, 'dtype', type(h).__name__)} {tuple(getattr(h, 'shape', ()))}")
  check_finite(h, name, fn)


def _check_labels(y, n, fn):
  if not hasattr(y, "ndim") or y.ndim != 1 or y.shape[0] != n:
    raise ValueError(f"{fn}: y must be a 1-d label array of length {n}, got shape {tuple(getattr(y, 'shape', ()))}")
  if is_concrete(y):
    a = np.asarray(y)
    if not np.all((a == 0) | (a == 1)):
      bad = np.unique(a[(a != 0) & (a != 1)])[:5]
      raise ValueError(f"{fn}: y must hold binary labels in {{0, 1}}, got values {bad.tolist()}")


def bin_indices(h, n_bins: int = 30, lo=-1.0, hi=1.0) -> jax.Array:
  """Bin ids [N, width] int32 in [0, n_bins) of ``h: [N, width]`` for ``n_bins`` edges on [lo, hi] (``lo``/``hi``
  scalars, possibly traced, hi > lo)."""
  fn = f"{_PKG}.bin_indices"
  _check_bins(n_bins, fn)
  lo = jnp.asarray(lo, h.dtype)
  hi = jnp.asarray(hi, h.dtype)
  edges = lo + (hi - lo) * (jnp.arange(n_bins, dtype=h.dtype) / (n_bins - 1))
  k = jnp.sum(h[..., None] >= edges, axis=-1) - 1
  return jnp.clip(k, 0, n_bins - 1).astype(jnp.int32)


def row_codes(b, n_bins: int) -> jax.Array:
  """int64 codes [N] of integer rows ``b: [N, width]`` in [0, n_bins): ``sum_j b_j n_bins^j`` (requires x64)."""
  fn = f"{_PKG}.row_codes"
  _check_bins(n_bins, fn)
  if b.ndim != 2:
    raise ValueError(f"{fn}: b must be [N, width], got shape {tuple(b.shape)}")
  _check_width(b.shape[1], n_bins, fn)
  if not jax.config.jax_enable_x64:
    raise ValueError(f"{fn}: int64 row codes need x64: call inside `with jax.enable_x64(True)`")
  radix = jnp.asarray([int(n_bins) ** j for j in range(b.shape[1])], jnp.int64)
  return jnp.sum(b.astype(jnp.int64) * radix, axis=1)


def entropy_from_codes(codes, weights=None) -> jax.Array:
  """Plug-in entropy (bits) of the distribution putting mass ``weights: [N]`` (default uniform; normalised here)
  on the values ``codes: [N]``; jit-friendly (sort and segment sums)."""
  n = codes.shape[0]
  w = jnp.ones((n,), jnp.float64 if jax.config.jax_enable_x64 else jnp.float32) if weights is None else weights
  order = jnp.argsort(codes)
  c, ws = codes[order], w[order]
  new = jnp.concatenate([jnp.ones((1,), bool), c[1:] != c[:-1]])
  run = jnp.cumsum(new) - 1
  mass = jax.ops.segment_sum(ws, run, num_segments=n)
  p = mass / jnp.sum(ws)
  return -jnp.sum(jnp.where(p > 0, p * jnp.log2(jnp.where(p > 0, p, 1.0)), 0.0))


def information_from_codes(codes, y) -> tuple[jax.Array, jax.Array]:
  """(I(X;T), I(T;Y)) in bits for deterministic T with row ``codes: [N]`` of N equiprobable distinct inputs
  and binary labels ``y: [N]``."""
  yf = y.astype(jnp.float64 if jax.config.jax_enable_x64 else jnp.float32)
  h = entropy_from_codes(codes)
  p1 = jnp.mean(yf)
  h1 = entropy_from_codes(codes, yf)
  h0 = entropy_from_codes(codes, 1.0 - yf)
  return h, h - p1 * h1 - (1.0 - p1) * h0


class BinnedMI(NamedTuple):
  """Binned information estimates in bits: i_xt = H(T) = I(X;T), i_ty = I(T;Y)."""
  i_xt: jax.Array
  i_ty: jax.Array


def binned_information(h, y, n_bins: int = 30, lo=-1.0, hi=1.0) -> BinnedMI:
  """I(X;T) and I(T;Y) (bits) of a layer ``h: [N, width]`` over N equiprobable distinct inputs with binary labels
  ``y: [N]``, by binning into ``n_bins`` edges on [lo, hi] (see the module docstring). Runs in a scoped x64."""
  fn = f"{_PKG}.binned_information"
  _check_bins(n_bins, fn)
  _check_h(h, fn)
  _check_labels(y, h.shape[0], fn)
  _check_width(h.shape[1], n_bins, fn)
  with jax.enable_x64(True):
    return BinnedMI(*_binned(jnp.asarray(h), jnp.asarray(y), int(n_bins), jnp.asarray(lo, h.dtype),
                             jnp.asarray(hi, h.dtype)))


@functools.partial(jax.jit, static_argnums=(2,))
def _binned(h, y, n_bins, lo, hi):
  return information_from_codes(row_codes(bin_indices(h, n_bins, lo, hi), n_bins), y)


def _log_mean_kernel(d2, scale, mask_i=None, mask_j=None):
  """(1/P) sum_i ln[(1/P) sum_j exp(-d2_ij / scale)] over the rows/columns kept by the masks."""
  a = -d2 / scale
  if mask_j is not None:
    a = jnp.where(mask_j[None, :], a, -jnp.inf)
    nj = jnp.sum(mask_j)
  else:
    nj = d2.shape[1]
  row = jax.scipy.special.logsumexp(a, axis=1) - jnp.log(nj)
  if mask_i is not None:
    return jnp.sum(jnp.where(mask_i, row, 0.0)) / jnp.sum(mask_i)
  return jnp.mean(row)


class KDEMI(NamedTuple):
  """KDE estimates in bits: upper (pairwise KL) and lower (Bhattacharyya) bounds on I(X;T), and I(T;Y) from the
  same entropy bounds (``i_ty_upper`` uses the KL form, ``i_ty_lower`` the Bhattacharyya form)."""
  i_xt_upper: jax.Array
  i_xt_lower: jax.Array
  i_ty_upper: jax.Array
  i_ty_lower: jax.Array


def kde_information(h, y, sigma2: float = 0.1) -> KDEMI:
  """Saxe et al.'s KDE estimates (bits) for a layer ``h: [N, width]`` with added Gaussian noise of variance
  ``sigma2`` (> 0) and binary labels ``y: [N]``; builds the [N, N] distance matrix."""
  fn = f"{_PKG}.kde_information"
  _check_h(h, fn)
  _check_labels(y, h.shape[0], fn)
  if not isinstance(sigma2, (float, int)) or isinstance(sigma2, bool) or not sigma2 > 0 or not math.isfinite(sigma2):
    raise ValueError(f"{fn}: sigma2 must be a finite float > 0, got {sigma2!r}")
  return _kde(jnp.asarray(h), jnp.asarray(y), float(sigma2))


@jax.jit
def _kde(h, y, sigma2):
  sq = jnp.sum(h * h, axis=1)
  d2 = jnp.maximum(sq[:, None] + sq[None, :] - 2.0 * h @ h.T, 0.0)
  m1 = y == 1
  m0 = ~m1
  p1 = jnp.mean(m1.astype(h.dtype))
  out = []
  for scale in (2.0 * sigma2, 8.0 * sigma2):
    ixt = -_log_mean_kernel(d2, scale)
    l1 = jnp.where(p1 > 0, _log_mean_kernel(d2, scale, m1, m1), 0.0)
    l0 = jnp.where(p1 < 1, _log_mean_kernel(d2, scale, m0, m0), 0.0)
    hc = -(p1 * l1 + (1 - p1) * l0)
    out.append((ixt, ixt - hc))
  (xu, tu), (xl, tl) = out
  return KDEMI(xu / LN2, xl / LN2, tu / LN2, tl / LN2)
