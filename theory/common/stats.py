"""Statistics that two or more papers use: ROC / AUC, mean and standard error, bootstrap intervals, the
log-log slope of an error curve, and distances between samples (Fréchet, sliced W₂, MMD).

Two kinds of function live here:

* **host statistics** (numpy, float64, Python floats out): :func:`mean_se`, :func:`roc_auc`,
  :func:`bootstrap_interval`, :func:`loglog_slope`. They summarise finished measurements for a report;
  traced inputs raise ``TypeError`` (they are neither traceable nor differentiable).
* **array functions** (jax, jit-able): :func:`roc_curve` (piecewise constant in the scores: differentiating
  raises), :func:`frechet_distance`, :func:`sliced_wasserstein`, :func:`mmd` (differentiable in the samples).

References: the AUC as the Mann–Whitney statistic and its DeLong et al. (1988) standard error; the Fréchet
distance between Gaussians N(m_a, C_a), N(m_b, C_b) = |m_a − m_b|² + tr(C_a + C_b − 2 (C_a^{1/2} C_b C_a^{1/2})^{1/2})
(Dowson & Landau 1982; the FID of Heusel et al. 2017 applies it to network features); sliced W₂ (Rabin, Peyré,
Delon & Bernot 2011); the unbiased MMD² (Gretton et al. 2012, JMLR, Lemma 6).
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import check_finite, check_key, is_concrete, no_grad

Array = jax.Array

__all__ = ["ROC", "Slope", "mean_se", "roc_auc", "roc_curve", "bootstrap_interval", "loglog_slope",
           "frechet_distance", "projection_directions", "sliced_wasserstein", "mmd"]

_PKG = "theory.common.stats"


class ROC(NamedTuple):
  """ROC curve of a score that is larger under the alternative.

  ``thresholds: [n_null + n_test + 1]`` (descending, the first is +inf), ``fpr, tpr`` of the same length
  (share of null / test scores ≥ threshold), ``auc`` = P(test > null) + ½ P(test = null) (Mann–Whitney),
  ``auc_se`` its DeLong standard error.
  """
  thresholds: Array
  fpr: Array
  tpr: Array
  auc: Array
  auc_se: Array


class Slope(NamedTuple):
  """A fitted log-log slope with the percentile bootstrap interval ``[lo, hi]`` at the requested level."""
  slope: float
  lo: float
  hi: float


def _host(fn: str, **arrays) -> list[np.ndarray]:
  out = []
  for name, a in arrays.items():
    if not is_concrete(a):
      raise TypeError(f"{fn}: {name}: expected a concrete array, got a traced value: {fn} is not "
                      "differentiable or traceable (a host-side numpy statistic returning Python floats)")
    out.append(np.asarray(a))
  return out


def _check_level(level, fn: str) -> float:
  if isinstance(level, bool) or not isinstance(level, (int, float, np.floating)) or not 0 < level < 1:
    raise ValueError(f"{fn}: level: expected a float in (0, 1), got {level!r}")
  return float(level)


def _check_count(name: str, v, fn: str, minimum: int = 1) -> int:
  if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
    raise ValueError(f"{fn}: {name}: expected an int >= {minimum}, got {v!r}")
  return int(v)


# ---------------------------------------------------------------------------------------------------
# Host statistics.


def mean_se(values, axis: int | None = None) -> tuple[np.ndarray | float, np.ndarray | float]:
  """Mean and its standard error (sample sd with ``ddof=1`` over ``sqrt(n)``) along ``axis``.

  ``axis=None`` summarises every value (Python floats out); otherwise arrays with ``axis`` removed. A single
  replication has standard error 0 (nothing to estimate it from; the report shows it as such).
  """
  fn = f"{_PKG}.mean_se"
  (v,) = _host(fn, values=values)
  v = v.astype(np.float64)
  if v.size == 0:
    raise ValueError(f"{fn}: values: expected at least one value, got shape {v.shape}")
  n = v.size if axis is None else v.shape[axis]
  mean = v.mean(axis=axis)
  se = v.std(axis=axis, ddof=1) / np.sqrt(n) if n > 1 else np.zeros_like(mean)
  if axis is None:
    return float(mean), float(se)
  return mean, se


def roc_auc(scores, labels) -> float:
  """Area under the ROC curve as the Mann–Whitney U statistic with average ranks for ties.

  ``scores: [n]`` (higher = more positive), ``labels: [n]`` in {0, 1}. NaN when one class is absent.
  """
  fn = f"{_PKG}.roc_auc"
  s, y = _host(fn, scores=scores, labels=labels)
  s, y = s.astype(np.float64).ravel(), y.ravel()
  if s.shape != y.shape:
    raise ValueError(f"{fn}: scores, labels: expected equal lengths, got {s.shape} and {y.shape}")
  if y.size and not np.all((y == 0) | (y == 1)):
    raise ValueError(f"{fn}: labels: expected values in {{0, 1}}, got {np.unique(y)[:5]}")
  check_finite(s, "scores", fn)
  y = y.astype(bool)
  n_pos, n_neg = int(y.sum()), int((~y).sum())
  if n_pos == 0 or n_neg == 0:
    return float("nan")
  order = np.argsort(s, kind="mergesort")
  sorted_s = s[order]
  # average 1-based ranks over runs of ties: each run [i, j] gets (i + j) / 2 + 1
  starts = np.flatnonzero(np.r_[True, sorted_s[1:] != sorted_s[:-1]])
  ends = np.r_[starts[1:], len(s)] - 1
  run = np.repeat(np.arange(len(starts)), ends - starts + 1)
  ranks = np.empty(len(s), np.float64)
  ranks[order] = 0.5 * (starts[run] + ends[run]) + 1.0
  u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
  return float(u / (n_pos * n_neg))


def bootstrap_interval(data, statistic: Callable[[np.ndarray], float] = np.mean, *, n_boot: int = 1000,
                       level: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
  """Percentile bootstrap interval of ``statistic`` over the rows of ``data`` (resampled with replacement).

  Args:
    data: ``[n, ...]`` replications along axis 0 (n >= 2).
    statistic: maps an array shaped like ``data`` to a number (default: the mean over everything).
    n_boot, level, seed: resamples, interval level in (0, 1), numpy seed.
  Returns: ``(estimate on data, lo, hi)``.
  """
  fn = f"{_PKG}.bootstrap_interval"
  (d,) = _host(fn, data=data)
  if d.ndim < 1 or d.shape[0] < 2:
    raise ValueError(f"{fn}: data: expected >= 2 replications along axis 0, got shape {d.shape}")
  if not callable(statistic):
    raise TypeError(f"{fn}: statistic: expected a callable, got {type(statistic).__name__}")
  n_boot = _check_count("n_boot", n_boot, fn)
  level = _check_level(level, fn)
  rng = np.random.default_rng(seed)
  idx = rng.integers(0, d.shape[0], size=(n_boot, d.shape[0]))
  boots = np.array([float(statistic(d[i])) for i in idx])
  lo, hi = np.quantile(boots, [(1 - level) / 2, (1 + level) / 2])
  return float(statistic(d)), float(lo), float(hi)


def loglog_slope(x, errors, *, n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> Slope:
  """Least-squares slope of log(mean error) on log x, with a bootstrap interval over replications.

  Args:
    x: ``[N]`` positive abscissae (sample sizes, step counts, ...), N >= 2.
    errors: ``[N, R]`` non-negative errors, R replications per x; each row's mean must be positive.
      Replications are resampled with replacement within each x (``n_boot`` times) and the slope refitted.
    level: the percentile interval's level.
  Returns: :class:`Slope` (Python floats).
  """
  fn = f"{_PKG}.loglog_slope"
  x, e = _host(fn, x=x, errors=errors)
  x, e = x.astype(np.float64), e.astype(np.float64)
  if x.ndim != 1 or x.shape[0] < 2 or not np.all(x > 0) or not np.all(np.isfinite(x)):
    raise ValueError(f"{fn}: x: expected a 1-d array of >= 2 finite positive values, got {x!r}")
  if e.ndim != 2 or e.shape[0] != x.shape[0] or e.shape[1] < 1:
    raise ValueError(f"{fn}: errors: expected [len(x)={x.shape[0]}, reps >= 1], got {e.shape}")
  if not np.all(np.isfinite(e)) or not np.all(e >= 0) or not np.all(e.mean(axis=1) > 0):
    raise ValueError(f"{fn}: errors: expected finite values >= 0 with a positive mean for every x")
  n_boot = _check_count("n_boot", n_boot, fn)
  level = _check_level(level, fn)
  lx = np.log(x)
  slope = float(np.polyfit(lx, np.log(e.mean(axis=1)), 1)[0])
  rng = np.random.default_rng(seed)
  idx = rng.integers(0, e.shape[1], size=(n_boot, e.shape[0], e.shape[1]))
  means = np.take_along_axis(e[None], idx, axis=2).mean(axis=2)          # [B, N]
  cx = lx - lx.mean()
  # a resample whose mean is 0 at some x (all-zero draws) has no log: it is left out of the interval
  with np.errstate(divide="ignore"):
    lm = np.log(means)
  ok = np.all(np.isfinite(lm), axis=1)
  boots = (lm[ok] - lm[ok].mean(axis=1, keepdims=True)) @ cx / np.sum(cx * cx)
  if boots.size == 0:
    return Slope(slope, float("nan"), float("nan"))
  lo, hi = np.quantile(boots, [(1 - level) / 2, (1 + level) / 2])
  return Slope(slope, float(lo), float(hi))


# ---------------------------------------------------------------------------------------------------
# ROC curve (jax).


@jax.jit
def _roc(null: Array, test: Array) -> ROC:
  allv = jnp.concatenate([null, test])
  thr = jnp.concatenate([jnp.array([jnp.inf], allv.dtype), -jnp.sort(-allv)])
  fpr = jnp.mean(null[None, :] >= thr[:, None], axis=1)
  tpr = jnp.mean(test[None, :] >= thr[:, None], axis=1)
  psi = (test[:, None] > null[None, :]).astype(allv.dtype) + 0.5 * (test[:, None] == null[None, :])
  auc = psi.mean()
  v10, v01 = psi.mean(1), psi.mean(0)   # placement values (DeLong et al. 1988)
  n1, n0 = test.shape[0], null.shape[0]
  var = jnp.var(v10, ddof=1) / n1 + jnp.var(v01, ddof=1) / n0
  return ROC(thresholds=thr, fpr=fpr, tpr=tpr, auc=auc, auc_se=jnp.sqrt(var))


def roc_curve(null, test, *, fn: str = f"{_PKG}.roc_curve") -> ROC:
  """ROC curve, AUC and its DeLong standard error of a statistic that is larger under the alternative.

  Args:
    null: ``[n_null >= 2]`` scores of negatives (null replicates); test: ``[n_test >= 2]`` scores of positives.
    fn: the public name errors report (for packages that expose this under their own name).
  Returns: :class:`ROC`. Identical samples give AUC exactly ½. Non-finite scores: ``ValueError`` naming the
  argument and index when concrete; under ``jit`` they give NaN (a ``checkify`` check reports them). Piecewise
  constant in the scores: differentiating raises ``TypeError``.
  """
  arrs = []
  for name, v in (("null", null), ("test", test)):
    v = jnp.asarray(v)
    if not jnp.issubdtype(v.dtype, jnp.floating):
      v = v.astype(jnp.asarray(0.0).dtype)
    if v.ndim != 1 or v.shape[0] < 2:
      raise ValueError(f"{fn}: null, test: expected 1-D arrays of >= 2 scores, got {name} of shape {v.shape}")
    check_finite(v, name, fn)
    arrs.append(no_grad(v, f"{fn} (ranks, piecewise constant) in {name}"))
  null, test = arrs
  dt = jnp.result_type(null.dtype, test.dtype)
  out = _roc(null.astype(dt), test.astype(dt))
  if is_concrete(null) and is_concrete(test):
    return out
  bad = jnp.any(~jnp.isfinite(null)) | jnp.any(~jnp.isfinite(test))
  nan = lambda v: jnp.where(bad, jnp.nan, v)
  return ROC(out.thresholds, nan(out.fpr), nan(out.tpr), nan(out.auc), nan(out.auc_se))


# ---------------------------------------------------------------------------------------------------
# Distances between samples (jax).


def _float_matrix(name: str, a, fn: str) -> Array:
  a = jnp.asarray(a)
  if not jnp.issubdtype(a.dtype, jnp.floating):
    raise TypeError(f"{fn}: {name} expected a float array, got {a.dtype}")
  return a


def _sqrtm_psd(c: Array) -> Array:
  w, v = jnp.linalg.eigh(0.5 * (c + c.T))
  return (v * jnp.sqrt(jnp.maximum(w, 0.0))) @ v.T


def frechet_distance(fa, fb) -> Array:
  """Fréchet distance between the Gaussians fitted to two feature sets ``fa: [n, F]``, ``fb: [m, F]``.

  ``|m_a − m_b|² + tr C_a + tr C_b − 2 tr (C_a^{1/2} C_b C_a^{1/2})^{1/2}`` with unbiased covariances (the
  FID's formula, on whatever features are given). The matrix roots use symmetric eigendecompositions with
  negative rounding-level eigenvalues clipped to 0, so the value is ≥ 0 up to rounding and jit-able.
  """
  fn = f"{_PKG}.frechet_distance"
  fa, fb = _float_matrix("fa", fa, fn), _float_matrix("fb", fb, fn)
  if fa.ndim != 2 or fb.ndim != 2 or fa.shape[1] != fb.shape[1] or min(fa.shape[0], fb.shape[0]) < 2:
    raise ValueError(f"{fn}: fa, fb: expected [n, F] and [m, F] with n, m >= 2, got {fa.shape} and {fb.shape}")
  check_finite(fa, "fa", fn)
  check_finite(fb, "fb", fn)
  ma, mb = fa.mean(0), fb.mean(0)
  ca = jnp.cov(fa, rowvar=False).reshape(fa.shape[1], fa.shape[1])
  cb = jnp.cov(fb, rowvar=False).reshape(fb.shape[1], fb.shape[1])
  sa = _sqrtm_psd(ca)
  cross = jnp.linalg.eigvalsh(sa @ cb @ sa)
  tr_cross = jnp.sum(jnp.sqrt(jnp.maximum(cross, 0.0)))
  return jnp.sum((ma - mb) ** 2) + jnp.trace(ca) + jnp.trace(cb) - 2.0 * tr_cross


def projection_directions(num: int, dim: int, key: Array | None = None, dtype=None) -> Array:
  """``[num, dim]`` unit directions: for ``dim == 2`` and no key, ``num`` equally spaced angles on the half
  circle (a deterministic quadrature of the circle average); otherwise normalised Gaussian draws."""
  fn = f"{_PKG}.projection_directions"
  if not isinstance(num, int) or isinstance(num, bool) or num < 1:
    raise ValueError(f"{fn}: num expected a positive int, got {num!r}")
  if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
    raise ValueError(f"{fn}: dim expected a positive int, got {dim!r}")
  dtype = dtype or jnp.asarray(0.0).dtype
  if not jnp.issubdtype(dtype, jnp.floating):
    raise TypeError(f"{fn}: dtype expected a float dtype, got {dtype!r}")
  if key is None:
    if dim != 2:
      raise ValueError(f"{fn}: without a key only dim == 2 is deterministic, got dim={dim}")
    ang = jnp.arange(num, dtype=dtype) * (math.pi / num)
    return jnp.stack([jnp.cos(ang), jnp.sin(ang)], axis=-1)
  check_key(key, "key", fn)
  v = jax.random.normal(key, (num, dim), dtype)
  return v / jnp.linalg.norm(v, axis=-1, keepdims=True)


def sliced_wasserstein(x, y, *, num_projections: int = 256, key: Array | None = None) -> Array:
  """Sliced 2-Wasserstein distance (scalar) between the empirical measures of ``x, y: [N, D]`` (equal N).

  SW₂ = (mean over unit directions θ of W₂²(θ·x, θ·y))^{1/2}; the 1-D W₂ between equal-size empirical
  measures is the root mean square difference of the sorted projections. Directions from
  :func:`projection_directions` (deterministic in 2-D when ``key`` is None). Differentiable in the samples
  away from ties (the sort is a permutation).
  """
  fn = f"{_PKG}.sliced_wasserstein"
  x, y = _float_matrix("x", x, fn), _float_matrix("y", y, fn)
  if x.ndim != 2 or x.shape != y.shape or x.shape[0] < 1:
    raise ValueError(f"{fn}: x, y expected equal shapes [N, D], N >= 1, got {x.shape} and {y.shape}")
  if not isinstance(num_projections, int) or isinstance(num_projections, bool) or num_projections < 1:
    raise ValueError(f"{fn}: num_projections expected a positive int, got {num_projections!r}")
  theta = projection_directions(num_projections, x.shape[1], key, x.dtype)
  px = jnp.sort(x @ theta.T, axis=0)
  py = jnp.sort(y @ theta.T, axis=0)
  return jnp.sqrt(jnp.mean((px - py) ** 2))


def mmd(x, y, *, bandwidth: float = 1.0) -> Array:
  """Unbiased MMD² with the kernel k(u, v) = exp(−|u − v|² / (2 bandwidth²)); ``x: [N, D]``, ``y: [M, D]``.

  Differentiable in the samples and in the bandwidth.
  """
  fn = f"{_PKG}.mmd"
  x, y = _float_matrix("x", x, fn), _float_matrix("y", y, fn)
  if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or min(x.shape[0], y.shape[0]) < 2:
    raise ValueError(f"{fn}: x, y expected [N, D] and [M, D] with N, M >= 2, got {x.shape} and {y.shape}")
  if isinstance(bandwidth, bool) or jnp.ndim(bandwidth) != 0:
    raise ValueError(f"{fn}: bandwidth expected a real scalar > 0, got {bandwidth!r}")
  if is_concrete(bandwidth) and not (float(bandwidth) > 0 and math.isfinite(float(bandwidth))):
    raise ValueError(f"{fn}: bandwidth expected a finite float > 0, got {bandwidth!r}")

  def k(a, b):
    d2 = jnp.sum(a * a, 1)[:, None] + jnp.sum(b * b, 1)[None, :] - 2 * a @ b.T
    return jnp.exp(-jnp.maximum(d2, 0.0) / (2 * bandwidth ** 2))

  n, m = x.shape[0], y.shape[0]
  kxx, kyy = k(x, x), k(y, y)
  sxx = (jnp.sum(kxx) - jnp.trace(kxx)) / (n * (n - 1))
  syy = (jnp.sum(kyy) - jnp.trace(kyy)) / (m * (m - 1))
  return sxx + syy - 2 * jnp.mean(k(x, y))
