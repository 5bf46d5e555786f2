"""Adaptive-overfitting experiments (paper 05: Dwork, Feldman, Hardt, Pitassi, Reingold, Roth,
"Preserving Statistical Validity in Adaptive Data Analysis", STOC 2015, arXiv:1411.2664; the
reusable-holdout experiment of Dwork et al., Science 349:636, 2015).

``correlation_attack``: the price of adaptivity. k correlation queries c_j = E_S[x_j y] answered by a
mechanism (empirical, Gaussian or Laplace noise, sample splitting), then the adaptive query "accuracy
of sign(Σ_j sign(a_j) x_j)" evaluated on the sample that answered it (and on a fresh sample). With no
signal the truth is 1/2; the empirical answer follows ``analytic.overfit_accuracy``.

``science_experiment``: the Science paper's feature-selection analyst. Training, holdout and fresh
sets of n rows x ~ N(0, I_d), labels y = ±1 uniform; with signal the first ``signal_features``
coordinates are shifted by y · ``signal_strength``/√n. The analyst computes c_t = X_tᵀy/n and asks the
holdout for c_h = X_hᵀy/n (empirically for the standard holdout, through Thresholdout otherwise), keeps
features with |c_t| > 1/√n and |c_h| > 1/√n of equal sign, ranks them by |c_t| and, for each k of the
grid, builds sign(Σ_{top k} sign(c_{t,j}) x_j) and asks for its holdout accuracy (through the same
Thresholdout instance, whose budget is shared).

Conventions: a prediction score of exactly 0 (no feature, k = 0) counts as half correct, so k = 0 gives
accuracy 1/2 exactly (the reference script hard-codes 0.5). Replications run under ``lax.map`` with
``batch_size`` (vmap in chunks, bounding memory at 3·n·d floats per replication in a chunk).
"""
from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from kernels.common.checks import no_grad
from theory.adaptive_holdout import mechanisms as M
from theory.common import privacy

Array = jax.Array
ATTACK_MECHANISMS = ("empirical", "gaussian", "laplace", "split")


def _check_int(name: str, value, minimum: int = 1, fn: str | None = None) -> int:
  at = privacy.at(fn, name)
  if isinstance(value, bool) or not isinstance(value, int):
    raise TypeError(f"{at}: expected an int, got {type(value).__name__} {value!r}")
  if value < minimum:
    raise ValueError(f"{at}: expected an int >= {minimum}, got {value}")
  return value


def _check_batch_size(batch_size, fn: str):
  if batch_size is not None:
    _check_int("batch_size", batch_size, 1, fn)
  return batch_size


def accuracy(scores: Array, y: Array) -> Array:
  """Fraction of rows with sign(score) = y, a zero score counting 1/2. ``scores: [n, ...]`` (float),
  ``y: [n]`` (±1) -> ``[...]``. Piecewise constant in ``scores``: differentiating raises a ``TypeError``."""
  fn = "accuracy"
  scores, y = jnp.asarray(scores), jnp.asarray(y)
  if not jnp.issubdtype(scores.dtype, jnp.floating):
    raise TypeError(f"{fn}: scores: expected a floating array, got dtype {scores.dtype}")
  if scores.ndim < 1 or scores.shape[0] < 1:
    raise ValueError(f"{fn}: scores: expected shape [n, ...] with n >= 1, got {scores.shape}")
  if y.dtype == jnp.bool_ or not (jnp.issubdtype(y.dtype, jnp.floating) or jnp.issubdtype(y.dtype, jnp.integer)):
    raise TypeError(f"{fn}: y: expected ±1 labels (float or int), got dtype {y.dtype}")
  if y.shape != scores.shape[:1]:
    raise ValueError(f"{fn}: y: expected shape [n] = [{scores.shape[0]}] (one label per row of scores), got {y.shape}")
  scores = no_grad(scores, "theory.adaptive_holdout.accuracy")
  y = y.reshape(y.shape + (1,) * (scores.ndim - 1))
  correct = jnp.where(scores == 0, 0.5, (jnp.sign(scores) == y).astype(scores.dtype))
  return jnp.mean(correct, axis=0)


def _labels(key: Array, n: int) -> Array:
  return jax.random.rademacher(key, (n,), jnp.float32)


# ---------------------------------------------------------------------------------------------------
# The correlation attack.


class AttackResult(NamedTuple):
  """Per replication ``[R]``: the classifier's accuracy on the rows that answer the accuracy query
  (all of S, or the reserved last chunk for sample splitting; noise-free) and on a fresh sample."""
  sample_accuracy: Array
  fresh_accuracy: Array


@functools.partial(jax.jit, static_argnames=("n", "k", "mechanism", "n_fresh"))
def _attack_one(key, scale, *, n, k, mechanism, n_fresh):
  kx, ky, kn, kfx, kfy = jax.random.split(key, 5)
  x = jax.random.normal(kx, (n, k), jnp.float32)
  y = _labels(ky, n)
  values = (x * y[:, None]).T                                 # [k, n]: φ_j(x_i, y_i) = x_ij y_i
  if mechanism == "split":
    m = n // (k + 1)                                          # k query chunks + one for the accuracy query
    answers = M.sample_split_answers(values[:, :k * m])
    x_eval, y_eval = x[k * m:], y[k * m:]
  else:
    if mechanism == "empirical":
      answers = M.empirical_answers(values)
    else:
      answers = M.noisy_answers(kn, values, scale, mechanism)
    x_eval, y_eval = x, y
  w = jnp.sign(answers)                                       # [k]
  xf = jax.random.normal(kfx, (n_fresh, k), jnp.float32)
  yf = _labels(kfy, n_fresh)
  return AttackResult(accuracy(x_eval @ w, y_eval), accuracy(xf @ w, yf))


def correlation_attack(key: Array, scale=0.0, *, n: int, k: int, mechanism: str = "empirical",
                       replications: int = 1, n_fresh: int | None = None,
                       batch_size: int | None = None) -> AttackResult:
  """Runs the correlation attack ``replications`` times; returns ``AttackResult`` of ``[R]`` arrays.

  ``scale``: the noise σ (Gaussian) or b (Laplace) for ``mechanism in ("gaussian", "laplace")``.
  ``mechanism="split"`` answers query j on its own chunk of n // (k + 1) rows and the accuracy query on
  the remaining rows. ``n_fresh`` (default n): size of the fresh sample. The outputs are accuracies
  (piecewise constant in ``scale``): differentiating raises a ``TypeError``.
  """
  fn = "correlation_attack"
  if mechanism not in ATTACK_MECHANISMS:
    raise ValueError(f"{fn}: mechanism: expected one of {ATTACK_MECHANISMS}, got {mechanism!r}")
  n, k = _check_int("n", n, 2, fn), _check_int("k", k, 1, fn)
  r = _check_int("replications", replications, 1, fn)
  n_fresh = n if n_fresh is None else _check_int("n_fresh", n_fresh, 1, fn)
  if mechanism == "split" and n // (k + 1) < 1:
    raise ValueError(f"{fn}: k: sample splitting needs n // (k + 1) >= 1, got n={n}, k={k}")
  scale = M.check_scalar("scale", scale, fn=fn)
  batch_size = _check_batch_size(batch_size, fn)
  keys = jax.random.split(key, r)
  scale = no_grad(jnp.asarray(scale, jnp.float32), f"theory.adaptive_holdout.{fn}")
  one = functools.partial(_attack_one, scale=scale, n=n, k=k, mechanism=mechanism, n_fresh=n_fresh)
  return jax.lax.map(one, keys, batch_size=batch_size)


# ---------------------------------------------------------------------------------------------------
# The Science experiment.


class HoldoutCurves(NamedTuple):
  """Accuracies ``[R, K]`` over the k grid: on training, as reported for the holdout (the empirical
  holdout accuracy, or Thresholdout's answer; NaN where ⊥), and on fresh data."""
  train: Array
  holdout: Array
  fresh: Array


class ScienceResult(NamedTuple):
  """``standard`` and ``thresholdout`` curves ``[R, K]``; ``selected_*: [R]`` features that passed the
  selection step; ``detections: [R]`` over-threshold answers (budget spent) of Thresholdout over the d
  correlation and K accuracy queries; ``bottoms: [R]`` queries answered ⊥."""
  standard: HoldoutCurves
  thresholdout: HoldoutCurves
  selected_standard: Array
  selected_thresholdout: Array
  detections: Array
  bottoms: Array


def _draw(key, n, d, n_signal, shift):
  kx, ky = jax.random.split(key)
  y = _labels(ky, n)
  x = jax.random.normal(kx, (n, d), jnp.float32)
  if n_signal:
    x = x.at[:, :n_signal].add(shift * y[:, None])
  return x, y


def _select_weights(c_train, c_holdout, k_grid, cut):
  """Weights ``[d, K]``: sign(c_t) on the top-k (by |c_t|) features that pass the selection step."""
  d = c_train.shape[0]
  sel = ((c_train > cut) & (c_holdout > cut)) | ((c_train < -cut) & (c_holdout < -cut))
  score = jnp.where(sel, jnp.abs(c_train), -jnp.inf)
  order = jnp.argsort(-score, stable=True)
  rank = jnp.zeros(d, jnp.int32).at[order].set(jnp.arange(d, dtype=jnp.int32))
  include = sel[:, None] & (rank[:, None] < k_grid[None, :])
  return jnp.where(include, jnp.sign(c_train)[:, None], 0.0), jnp.sum(sel)


@functools.partial(jax.jit, static_argnames=("n", "d", "k_grid", "n_signal", "noise", "multipliers"))
def _science_one(key, shift, threshold, sigma, budget, *, n, d, k_grid, n_signal, noise, multipliers):
  kt, kh, kf, km = jax.random.split(key, 4)
  (xt, yt), (xh, yh), (xf, yf) = (_draw(k, n, d, n_signal, shift) for k in (kt, kh, kf))
  ks = jnp.asarray(k_grid, jnp.int32)
  cut = 1.0 / math.sqrt(n)
  ct, ch = xt.T @ yt / n, xh.T @ yh / n                       # [d] training / holdout correlations

  def curves(w):
    return accuracy(xt @ w, yt), accuracy(xh @ w, yh), accuracy(xf @ w, yf)

  w_std, sel_std = _select_weights(ct, ch, ks, cut)
  std = HoldoutCurves(*curves(w_std))
  # Thresholdout: the holdout correlations the analyst sees (NaN = ⊥ never passes the selection)
  res = M.thresholdout(km, ct, ch, threshold=threshold, sigma=sigma, budget=budget, noise=noise,
                       multipliers=multipliers)
  w_thr, sel_thr = _select_weights(ct, res.values, ks, cut)
  tr, ho, fr = curves(w_thr)
  rep = M.thresholdout(res.state, tr, ho, threshold=threshold, sigma=sigma, noise=noise, multipliers=multipliers)
  bottoms = jnp.sum(res.bottom) + jnp.sum(rep.bottom)
  return ScienceResult(std, HoldoutCurves(tr, rep.values, fr), sel_std, sel_thr, rep.state.detections, bottoms)


def science_experiment(key: Array, *, n: int, d: int, k_grid, replications: int, signal_features: int = 0,
                       signal_strength: float = 6.0, threshold: float | None = None,
                       sigma: float | None = None, budget: float = math.inf, noise: str = "laplace",
                       multipliers=M.PAPER_MULTIPLIERS, batch_size: int | None = None) -> ScienceResult:
  """The reusable-holdout experiment (see the module docstring), ``replications`` times.

  ``k_grid``: tuple of ints in [0, d]. ``signal_features`` coordinates get the shift
  y · ``signal_strength``/√n (the reference: 20 features, strength 6). Thresholdout defaults: threshold
  4/√n, ``sigma`` 1/√n (Laplace scales 2σ, 4σ, σ for γ, η, ξ; ``multipliers`` changes them:
  ``mechanisms.REFERENCE_MULTIPLIERS`` with ``noise="gaussian"`` is the authors' script), unlimited
  ``budget``. The outputs are accuracies and counts: differentiating raises a ``TypeError``.
  """
  fn = "science_experiment"
  n, d = _check_int("n", n, 2, fn), _check_int("d", d, 1, fn)
  r = _check_int("replications", replications, 1, fn)
  signal_features = _check_int("signal_features", signal_features, 0, fn)
  if signal_features > d:
    raise ValueError(f"{fn}: signal_features: expected at most d={d}, got {signal_features}")
  try:
    k_grid = tuple(k_grid)
  except TypeError:
    raise TypeError(f"{fn}: k_grid: expected a sequence of ints, got {type(k_grid).__name__}") from None
  if not k_grid or any(isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= d for k in k_grid):
    raise ValueError(f"{fn}: k_grid: expected a non-empty sequence of ints in [0, d={d}], got {k_grid!r}")
  if noise not in M.NOISES:
    raise ValueError(f"{fn}: noise: expected one of {M.NOISES}, got {noise!r}")
  threshold = 4.0 / math.sqrt(n) if threshold is None else threshold
  sigma = 1.0 / math.sqrt(n) if sigma is None else sigma
  vals = {name: M.check_scalar(name, v, allow_inf=inf_ok, fn=fn) for name, v, inf_ok in (
      ("threshold", threshold, True), ("sigma", sigma, False), ("budget", budget, True),
      ("signal_strength", signal_strength, False))}
  ss = vals.pop("signal_strength")   # shift = strength/√n, rounded once to float32 for Python numbers
  vals["shift"] = ss / math.sqrt(n) if not isinstance(ss, jax.Array) else ss.astype(jnp.float32) / math.sqrt(n)
  vals = no_grad({k: jnp.asarray(v, jnp.float32) for k, v in vals.items()}, f"theory.adaptive_holdout.{fn}")
  one = functools.partial(
      _science_one, shift=vals["shift"], threshold=vals["threshold"],
      sigma=vals["sigma"], budget=vals["budget"], n=n, d=d, k_grid=k_grid,
      n_signal=signal_features, noise=noise, multipliers=M.check_multipliers(multipliers, fn))
  return jax.lax.map(one, jax.random.split(key, r), batch_size=_check_batch_size(batch_size, fn))
