"""Rolling-window early-warning indicators, Kendall's τ trend statistic, surrogate nulls and ROC curves.

Paper: C. Boettiger, N. Ross, A. Hastings, "Early warning signals: the charted and uncharted territories",
Theoretical Ecology 6:255–264 (2013), arXiv:1305.6700 — section "Statistical detection" (summary statistics
on a rolling window, Kendall's τ of the indicator against time, ROC curves as the error measure).

Conventions (those of the ``ewstools`` / ``earlywarnings`` packages the paper's field uses):

- Gaussian-kernel detrending with a bandwidth given as a fraction ``bw`` of the series length N: kernel
  standard deviation σ_k = (0.25 / 0.675) · bw · N (the kernel's quartiles sit at ±0.25 · bw · N), Nadaraya–
  Watson weights normalised at the edges; residual = x − trend.
- On each window of width w (start i, points i .. i+w−1) of the residuals: variance m₂ (population, divisor
  w), standard deviation √m₂, skewness m₃ / m₂^{3/2}, excess kurtosis m₄ / m₂² − 3, lag-1 autocorrelation ρ₁
  (Pearson correlation of the w−1 pairs (r_j, r_{j+1}), as pandas' ``Series.autocorr``), return rate
  1 − ρ₁ (per sample; for a linearised system ρ₁ = e^{λΔt}, so 1 − ρ₁ ≈ |λ|Δt falls toward 0 at the fold),
  and coefficient of variation √m₂ / (window mean of the *undetrended* series).
- Kendall's τ-b between an indicator series and time (or any second series), with ties handled as in
  ``scipy.stats.kendalltau``: τ_b = (n_c − n_d) / √((n₀ − n₁)(n₀ − n₂)).

Non-finite data (NaN policy). Every function here checks its series: concrete inputs holding NaN or ±inf
raise ``ValueError`` naming the argument, the function and the first bad index
(``kernels.common.checks.check_finite``). Under ``jit`` / ``vmap`` (traced inputs) the check is a
``checkify`` debug check (``checkify.checkify(jax.jit(f))`` reports it) and the unchecked result is NaN in
*every* floating output of the affected series (each series along the last axis is one unit: other
series of a batch are unaffected), never a partly valid row. Indicator values that are NaN because a
window is constant (zero variance) are a property of the data, not an error: :func:`indicator_taus`
passes them on (their τ is NaN).

Derivatives: the rolling indicators, the detrending, the AR(1) fit, the surrogates and the bootstrap
are differentiable in the series. Kendall's τ, Monte Carlo p-values and ROC curves are piecewise constant
(they depend on the data only through orderings): differentiating them raises ``TypeError`` rather than
returning a zero gradient.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import check_finite, is_concrete, no_grad
from theory.common.stats import ROC, roc_curve

Array = jax.Array
_PKG = "theory.early_warning"

INDICATORS = ("variance", "sd", "cv", "ac1", "skewness", "kurtosis", "return_rate")


class Indicators(NamedTuple):
  """Rolling indicators, each ``[..., N − w + 1]`` (entry i = window starting at sample i)."""
  variance: Array
  sd: Array
  cv: Array
  ac1: Array
  skewness: Array
  kurtosis: Array
  return_rate: Array


def _check_series(name: str, x, min_len: int = 2, fn: str = _PKG, finite: bool = True) -> Array:
  """A real array ``[..., N]`` (N >= ``min_len``) as floats; finite values checked (see the module's NaN
  policy) unless ``finite=False``."""
  if isinstance(x, bool) or x is None:
    raise TypeError(f"{fn}: {name}: expected a real array [..., N], got {x!r}")
  arr = jnp.asarray(x)
  if not (jnp.issubdtype(arr.dtype, jnp.floating) or jnp.issubdtype(arr.dtype, jnp.integer)):
    raise TypeError(f"{fn}: {name}: expected real values, got dtype {arr.dtype}")
  if arr.ndim < 1 or arr.shape[-1] < min_len:
    raise ValueError(f"{fn}: {name}: expected shape [..., N] with N >= {min_len}, got shape {arr.shape}")
  if finite:
    check_finite(x if is_concrete(x) else arr, name, fn)
  return arr.astype(jnp.promote_types(arr.dtype, jnp.result_type(float)))


def _series_bad(*xs: Array) -> Array | None:
  """Per-series flag ``[...]`` of non-finite values (None for concrete inputs, which were checked)."""
  if all(is_concrete(x) for x in xs):
    return None
  bad = None
  for x in xs:
    b = jnp.any(~jnp.isfinite(x), axis=-1)
    bad = b if bad is None else bad | b
  return bad


def _poison(bad: Array | None, tree, extra_dims: int = 1):
  """NaN in every floating leaf where ``bad`` (leaves ``[..., *extra]`` with ``extra_dims`` trailing axes)."""
  if bad is None:
    return tree

  def leaf(v):
    if not jnp.issubdtype(v.dtype, jnp.inexact):
      return v
    b = bad.reshape(bad.shape + (1,) * extra_dims) if extra_dims else bad
    return jnp.where(b, jnp.asarray(jnp.nan, v.dtype), v)

  return jax.tree.map(leaf, tree)


def _check_fraction(name: str, v, lo_open: float = 0.0, hi: float = 1.0, fn: str = _PKG) -> float:
  if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)):
    raise TypeError(f"{fn}: {name}: expected a real number in ({lo_open}, {hi}], got {type(v).__name__} {v!r}")
  if not (lo_open < float(v) <= hi):
    raise ValueError(f"{fn}: {name}: expected a number in ({lo_open}, {hi}], got {v!r}")
  return float(v)


# ---------------------------------------------------------------------------------------------------
# Detrending.


@functools.partial(jax.jit, static_argnames=("sigma_k",))
def _kernel_smooth(x: Array, sigma_k: float) -> Array:
  n = x.shape[-1]
  idx = jnp.arange(n, dtype=x.dtype)
  w = jnp.exp(-0.5 * ((idx[:, None] - idx[None, :]) / sigma_k) ** 2)   # [N(out), N(in)]
  w = w / jnp.sum(w, axis=1, keepdims=True)
  return x @ w.T


def gaussian_detrend(x, bandwidth: float) -> tuple[Array, Array]:
  """Gaussian-kernel smoother trend and residuals.

  Args:
    x: ``[..., N]`` series.
    bandwidth: fraction bw ∈ (0, 1] of N; kernel standard deviation σ_k = (0.25/0.675) · bw · N samples.

  Returns:
    ``(trend, residuals)``, both ``[..., N]`` (NaN for a series with a non-finite value under ``jit``;
    concrete inputs with one raise ``ValueError``).
  """
  fn = f"{_PKG}.gaussian_detrend"
  x = _check_series("x", x, fn=fn)
  bw = _check_fraction("bandwidth", bandwidth, fn=fn)
  return _poison(_series_bad(x), _detrend(x, bw))


def _detrend(x: Array, bw: float) -> tuple[Array, Array]:
  sigma_k = 0.25 / 0.675 * bw * x.shape[-1]
  trend = _kernel_smooth(x, float(sigma_k))
  return trend, x - trend


# ---------------------------------------------------------------------------------------------------
# Rolling statistics via cumulative sums (O(N) per series).


def _window_sums(v: Array, w: int) -> Array:
  """Σ_{j=i}^{i+w−1} v_j for every start i: ``[..., N − w + 1]``."""
  c = jnp.concatenate([jnp.zeros(v.shape[:-1] + (1,), v.dtype), jnp.cumsum(v, axis=-1)], axis=-1)
  return c[..., w:] - c[..., :-w]


@functools.partial(jax.jit, static_argnames=("window",))
def _rolling(resid: Array, raw: Array, window: int) -> Indicators:
  w = window
  # shift-invariant statistics: centre each series first so the power sums do not cancel
  r = resid - jnp.mean(resid, axis=-1, keepdims=True)
  s1, s2, s3, s4 = (_window_sums(r ** k, w) for k in (1, 2, 3, 4))
  mu = s1 / w
  m2 = s2 / w - mu ** 2
  m3 = s3 / w - 3 * mu * s2 / w + 2 * mu ** 3
  m4 = s4 / w - 4 * mu * s3 / w + 6 * mu ** 2 * s2 / w - 3 * mu ** 4
  m2 = jnp.maximum(m2, 0.0)
  # lag-1 pairs (r_j, r_{j+1}), j = i .. i+w−2
  a, b = r[..., :-1], r[..., 1:]
  wp = w - 1
  sa, sb = _window_sums(a, wp), _window_sums(b, wp)
  saa, sbb, sab = _window_sums(a * a, wp), _window_sums(b * b, wp), _window_sums(a * b, wp)
  cov = sab / wp - sa * sb / wp ** 2
  va = jnp.maximum(saa / wp - (sa / wp) ** 2, 0.0)
  vb = jnp.maximum(sbb / wp - (sb / wp) ** 2, 0.0)
  ac1 = cov / jnp.sqrt(va * vb)
  sd = jnp.sqrt(m2)
  raw_mean = _window_sums(raw, w) / w
  return Indicators(variance=m2, sd=sd, cv=sd / raw_mean, ac1=ac1, skewness=m3 / m2 ** 1.5,
                    kurtosis=m4 / m2 ** 2 - 3.0, return_rate=1.0 - ac1)


def rolling_indicators(x, window, *, bandwidth: float | None = None) -> Indicators:
  """Rolling-window indicators of ``x`` after optional Gaussian-kernel detrending.

  Args:
    x: ``[..., N]`` series (the pre-transition part only).
    window: window width, an int ≥ 4 (samples) or a float in (0, 1] (fraction of N, rounded).
    bandwidth: detrending bandwidth fraction (see :func:`gaussian_detrend`); None: no detrending.

  Returns:
    :class:`Indicators`, each ``[..., N − w + 1]``. A series holding NaN / ±inf raises ``ValueError`` (naming
    ``x`` and the index) when concrete; under ``jit`` every indicator of that series is NaN (and
    ``checkify`` reports it).
  """
  fn = f"{_PKG}.rolling_indicators"
  x = _check_series("x", x, min_len=4, fn=fn)
  return _poison(_series_bad(x), _indicators(x, window, bandwidth, fn))


def _indicators(x: Array, window, bandwidth, fn: str) -> Indicators:
  n = x.shape[-1]
  if isinstance(window, bool) or not isinstance(window, (int, float, np.integer, np.floating)):
    raise TypeError(f"{fn}: window: expected an int (samples) or a float fraction of N, got {type(window).__name__}")
  w = int(window) if isinstance(window, (int, np.integer)) else int(round(_check_fraction("window", window, fn=fn) * n))
  if not 4 <= w <= n:
    raise ValueError(f"{fn}: window: expected a width in [4, N = {n}] samples, got {w}")
  if bandwidth is None:
    resid = x
  else:
    _, resid = _detrend(x, _check_fraction("bandwidth", bandwidth, fn=fn))
  return _rolling(resid, x, w)


# ---------------------------------------------------------------------------------------------------
# Kendall's τ-b.


@jax.jit
def _kendall(x: Array, y: Array) -> Array:
  n = x.shape[-1]
  idx = jnp.arange(n)

  def row(i, acc):
    s, nx, ny = acc
    later = (idx > i)
    dx = jnp.sign(x - jax.lax.dynamic_index_in_dim(x, i, -1, keepdims=True))
    dy = jnp.sign(y - jax.lax.dynamic_index_in_dim(y, i, -1, keepdims=True))
    s = s + jnp.sum(jnp.where(later, dx * dy, 0.0), axis=-1)
    nx = nx + jnp.sum(jnp.where(later, dx != 0, False), axis=-1)
    ny = ny + jnp.sum(jnp.where(later, dy != 0, False), axis=-1)
    return s, nx, ny

  zero = jnp.zeros(x.shape[:-1], x.dtype)
  s, nx, ny = jax.lax.fori_loop(0, n, row, (zero, zero, zero))
  return s / jnp.sqrt(nx * ny)


def kendall_tau(x, y=None) -> Array:
  """Kendall's τ-b of ``x`` against ``y`` (default: time 0..N−1) along the last axis.

  Args:
    x: ``[..., N]``.
    y: ``[..., N]`` (broadcast against ``x``) or None for the time index.

  Returns:
    ``[...]`` τ-b in [−1, 1]; NaN when either series is constant. O(N²) time, O(N) memory per series.
    Non-finite values: ``ValueError`` naming the argument and index (concrete), NaN for that series under
    ``jit``. τ is piecewise constant in ``x`` and ``y``: differentiating raises ``TypeError``.
  """
  fn = f"{_PKG}.kendall_tau"
  x = _check_series("x", x, fn=fn)
  if y is None:
    y = jnp.broadcast_to(jnp.arange(x.shape[-1], dtype=x.dtype), x.shape)
  else:
    y = _check_series("y", y, fn=fn)
    if y.shape[-1] != x.shape[-1]:
      raise ValueError(f"{fn}: y: expected the same length N = {x.shape[-1]} as x, got shape {y.shape}")
    try:
      jnp.broadcast_shapes(x.shape, y.shape)
    except ValueError:
      raise ValueError(f"{fn}: x, y: expected batch shapes that broadcast against each other, got x "
                       f"{tuple(x.shape)} and y {tuple(y.shape)}") from None
    x, y = jnp.broadcast_arrays(x, y)
  bad = _series_bad(x, y)
  what = f"{fn} (Kendall's τ, piecewise constant)"
  return _poison(bad, _kendall(no_grad(x, f"{what} in x"), no_grad(y, f"{what} in y")), extra_dims=0)


def indicator_taus(x, window, *, bandwidth: float | None = None) -> Indicators:
  """Kendall τ of every rolling indicator against time: each field ``[...]``.

  ``x``: as :func:`rolling_indicators` (the non-finite check and policy apply to ``x``; an indicator that
  is NaN because a window is constant gives τ NaN). Piecewise constant in ``x``: differentiating raises
  ``TypeError``.
  """
  fn = f"{_PKG}.indicator_taus"
  x = _check_series("x", x, min_len=4, fn=fn)
  ind = _indicators(no_grad(x, f"{fn} (Kendall's τ, piecewise constant) in x"), window, bandwidth, fn)
  taus = Indicators(*(_kendall(v, jnp.broadcast_to(jnp.arange(v.shape[-1], dtype=v.dtype), v.shape))
                      for v in ind))
  return _poison(_series_bad(x), taus, extra_dims=0)


# ---------------------------------------------------------------------------------------------------
# Surrogate and bootstrap nulls.


class AR1Fit(NamedTuple):
  """Least-squares AR(1) fit x_{t+1} − μ = φ (x_t − μ) + s ε_t: each field ``[...]``."""
  mean: Array
  phi: Array
  noise_sd: Array


@jax.jit
def _ar1_fit(x: Array) -> AR1Fit:
  a, b = x[..., :-1], x[..., 1:]
  ma, mb = a.mean(-1, keepdims=True), b.mean(-1, keepdims=True)
  phi = jnp.sum((a - ma) * (b - mb), -1) / jnp.sum((a - ma) ** 2, -1)
  c = mb[..., 0] - phi * ma[..., 0]
  resid = b - c[..., None] - phi[..., None] * a
  return AR1Fit(mean=c / (1 - phi), phi=phi, noise_sd=jnp.sqrt(jnp.mean(resid ** 2, -1)))


def ar1_fit(x) -> AR1Fit:
  """Ordinary-least-squares AR(1) fit along the last axis of ``x: [..., N]`` (the conditional Gaussian MLE);
  non-finite values: the module's NaN policy."""
  x = _check_series("x", x, min_len=3, fn=f"{_PKG}.ar1_fit")
  return _poison(_series_bad(x), _ar1_fit(x), extra_dims=0)


@functools.partial(jax.jit, static_argnames=("n", "n_surrogates"))
def _ar1_surrogates(key: Array, fit: AR1Fit, n: int, n_surrogates: int) -> Array:
  k0, k1 = jax.random.split(key)
  phi = jnp.clip(fit.phi, -0.999, 0.999)
  sd0 = fit.noise_sd / jnp.sqrt(1 - phi ** 2)
  x0 = fit.mean + sd0 * jax.random.normal(k0, (n_surrogates,), fit.mean.dtype)
  eps = fit.noise_sd * jax.random.normal(k1, (n - 1, n_surrogates), fit.mean.dtype)

  def step(x, e):
    x = fit.mean + phi * (x - fit.mean) + e
    return x, x

  _, xs = jax.lax.scan(step, x0, eps)
  return jnp.concatenate([x0[None], xs], 0).T


def ar1_surrogates(key: Array, x, n_surrogates: int) -> Array:
  """Stationary AR(1) surrogates of a 1-D series (the "no trend" null of the indicator tests).

  Fits :func:`ar1_fit` to ``x: [N]`` and simulates ``[n_surrogates, N]`` stationary paths with the fitted
  mean, φ and innovation sd (the first point drawn from the stationary law). Differentiable in ``x``
  (pathwise, given the key); non-finite ``x``: the module's NaN policy (all surrogates NaN under ``jit``).
  """
  fn = f"{_PKG}.ar1_surrogates"
  x = _check_series("x", x, min_len=3, fn=fn)
  if x.ndim != 1:
    raise ValueError(f"{fn}: x: expected a 1-D series [N], got shape {x.shape}")
  if isinstance(n_surrogates, bool) or not isinstance(n_surrogates, (int, np.integer)) or n_surrogates < 1:
    raise ValueError(f"{fn}: n_surrogates: expected an int >= 1, got {n_surrogates!r}")
  out = _ar1_surrogates(key, _ar1_fit(x), x.shape[0], int(n_surrogates))
  return _poison(_series_bad(x), out, extra_dims=2)


def block_bootstrap(key: Array, x, block: int, n_boot: int) -> Array:
  """Circular block bootstrap of a 1-D series: ``[n_boot, N]`` built from blocks of ``block`` consecutive
  (circularly wrapped) samples with uniform random starts. Differentiable in ``x`` (a gather); non-finite
  ``x``: the module's NaN policy (every replicate NaN under ``jit``)."""
  fn = f"{_PKG}.block_bootstrap"
  x = _check_series("x", x, fn=fn)
  if x.ndim != 1:
    raise ValueError(f"{fn}: x: expected a 1-D series [N], got shape {x.shape}")
  n = x.shape[0]
  if isinstance(block, bool) or not isinstance(block, (int, np.integer)) or not 1 <= block <= n:
    raise ValueError(f"{fn}: block: expected an int in [1, N = {n}], got {block!r}")
  if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
    raise ValueError(f"{fn}: n_boot: expected an int >= 1, got {n_boot!r}")
  n_blocks = -(-n // block)
  starts = jax.random.randint(key, (n_boot, n_blocks), 0, n)
  idx = (starts[..., None] + jnp.arange(block)) % n
  return _poison(_series_bad(x), x[idx.reshape(n_boot, -1)[:, :n]], extra_dims=2)


def surrogate_pvalue(observed, null) -> Array:
  """One-sided Monte Carlo p-value (1 + #{null ≥ observed}) / (1 + n_null) along the last axis of
  ``null: [..., n_null]`` for ``observed: [...]`` (broadcast against ``null``'s batch dims). Non-finite
  values: ``ValueError`` naming the argument and index (concrete), NaN under ``jit``. A count, so
  piecewise constant: differentiating raises ``TypeError``."""
  fn = f"{_PKG}.surrogate_pvalue"
  null = _check_series("null", null, min_len=1, fn=fn)
  if isinstance(observed, bool) or not jnp.issubdtype(jnp.result_type(observed), jnp.number) or \
      jnp.issubdtype(jnp.result_type(observed), jnp.complexfloating):
    raise TypeError(f"{fn}: observed: expected real values, got {observed!r}")
  obs = jnp.asarray(observed, null.dtype)
  try:
    batch = jnp.broadcast_shapes(obs.shape, null.shape[:-1])
  except ValueError:
    raise ValueError(f"{fn}: observed, null: expected observed's shape to broadcast with null's batch "
                     f"shape {tuple(null.shape[:-1])} [..., n_null], got observed {tuple(obs.shape)}") from None
  check_finite(observed if is_concrete(observed) else obs, "observed", fn)
  what = f"{fn} (a count, piecewise constant)"
  p = (1.0 + jnp.sum(no_grad(null, f"{what} in null") >= no_grad(obs, f"{what} in observed")[..., None], -1)) \
      / (1.0 + null.shape[-1])
  if is_concrete(null) and is_concrete(obs):
    return p
  bad = jnp.broadcast_to(jnp.any(~jnp.isfinite(null), -1), batch) | jnp.broadcast_to(~jnp.isfinite(obs), batch)
  return jnp.where(bad, jnp.nan, p)


# ---------------------------------------------------------------------------------------------------
# ROC.


def roc(null, test) -> ROC:
  """ROC curve and AUC of a statistic that is larger under the alternative.

  Args:
    null: ``[n_null]`` statistic on null replicates (no approaching transition).
    test: ``[n_test]`` statistic on test replicates.

  Returns:
    :class:`ROC`; identical samples give AUC exactly ½. Non-finite scores: ``ValueError`` naming the
    argument and index (concrete; drop NaN indicators first); under ``jit`` ``fpr``, ``tpr``, ``auc`` and
    ``auc_se`` are NaN. Piecewise constant in the scores: differentiating raises ``TypeError``.
  """
  fn = f"{_PKG}.roc"
  null = _check_series("null", null, fn=fn)
  test = _check_series("test", test, fn=fn)
  if null.ndim != 1 or test.ndim != 1:
    raise ValueError(f"{fn}: null, test: expected 1-D arrays, got shapes {null.shape} and {test.shape}")
  return roc_curve(null, test, fn=fn)
