"""Continual-release mechanisms for counting, MaxSum and SumSelect, and their batch baselines.

Paper: "The Price of Differential Privacy under Continual Observation", P. Jain, S. Raskhodnikova,
S. Sivakumar, A. Smith, ICML 2023, arXiv:2112.00828.

- Counting baselines: the naive counter (every row + Lap(d/ε), then prefix sums: error ~ √T) and fresh
  noise per prefix (every prefix + Lap(T d/ε): error ~ T), both ε-DP; the batch count ``S(T) + Lap(d/ε)``.
- MaxSum / SumSelect through d per-column trees (one tree over rows ``[0, 1]^d``; node L1 sensitivity
  ``d (L+1)``, L2 ``√(d (L+1))``): ``y_t = max_j Ŝ_j(t)``, ``ĵ_t = argmax_j Ŝ_j(t)`` (post-processing). The
  paper's upper bound ``√d · polylog(T)/ε`` (Gaussian) or ``d · polylog(T)/ε`` (Laplace).
- The sparse-vector mechanism with error ``Õ(T^{1/3}/ε^{2/3})`` (the paper's upper bound, §4; the
  structure — stale output, AboveThreshold test, fresh release on "above", at most c updates, advanced
  composition over the rounds — is the paper's; the constants are this package's choices, see README):
  keep a released value ``y`` (MaxSum) or column ``ĵ`` (SumSelect). Every step asks the query
  ``q_t = f_t − y`` (sensitivity Δ = 1) or ``q_t = max_j S_j(t) − S_ĵ(t)`` (Δ = 2) through AboveThreshold
  (threshold ``ℓ + Lap(2Δ/ε₁)``, query noise ``Lap(4Δ/ε₁)``, ε₁-DP per round); on "above" it releases
  ``f_t + Lap(1/ε₂)`` (Laplace mechanism, MaxSum has sensitivity 1) or the exponential mechanism's column
  (``argmax_j S_j(t) + Gumbel(2/ε₂)``), redraws the threshold noise and counts one round. After ``c``
  rounds it stops updating. Each round is ``ε₀ = ε₁ + ε₂``-DP; c rounds compose to ``(ε, δ)`` by advanced
  composition (or ``cε₀`` basic composition, whichever allows the larger ε₀).
- Batch baselines: ``f_T + Lap(1/ε)`` (MaxSum, error ``|Lap(1/ε)|``, mean ``1/ε``) and the exponential
  mechanism (SumSelect).
"""
from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import no_grad
from theory.common import privacy
from theory.dp_continual.streams import check_epsilon_delta, check_stream
from theory.dp_continual.tree import noisy_tree_release, tree_calibration

Array = jax.Array
PROBLEMS = ("maxsum", "sumselect")
CAP_FACTOR = 2.0  # default c = ⌈2 T/ℓ⌉ + 1 rounds


# ---------------------------------------------------------------------------------------------------
# Counting baselines.


@jax.jit
def _naive(key, x, b):
  return jnp.cumsum(x + b * jax.random.laplace(key, x.shape, x.dtype), axis=0)


def naive_counter(key: Array, stream, epsilon: float) -> Array:
  """ε-DP prefix sums from independently noised rows ``x_t + Lap(d/ε)`` (the row vector has L1
  sensitivity d): ``stream: [T, d]`` → ``[T, d]``; error variance ``2 t (d/ε)²`` at time t."""
  x = check_stream(stream, "naive_counter")
  eps, _ = check_epsilon_delta(epsilon, 0.0, fn="naive_counter")
  return _naive(key, x, privacy.laplace_scale(float(x.shape[1]), eps))


@jax.jit
def _fresh(key, x, b):
  s = jnp.cumsum(x, axis=0)
  return s + b * jax.random.laplace(key, s.shape, x.dtype)


def fresh_prefix_counter(key: Array, stream, epsilon: float) -> Array:
  """ε-DP prefix sums with fresh noise ``Lap(T d/ε)`` on each (the T prefix vectors have L1 sensitivity
  ≤ T d): ``stream: [T, d]`` → ``[T, d]``."""
  x = check_stream(stream, "fresh_prefix_counter")
  eps, _ = check_epsilon_delta(epsilon, 0.0, fn="fresh_prefix_counter")
  return _fresh(key, x, privacy.laplace_scale(float(x.shape[0] * x.shape[1]), eps))


def batch_count(key: Array, stream, epsilon: float) -> Array:
  """Batch baseline: the final counts ``S(T) + Lap(d/ε)``: ``[d]``."""
  x = check_stream(stream, "batch_count")
  eps, _ = check_epsilon_delta(epsilon, 0.0, fn="batch_count")
  return privacy.laplace_mechanism(key, x.sum(axis=0), float(x.shape[1]), eps)


def batch_max_sum(key: Array, stream, epsilon: float) -> Array:
  """Batch MaxSum: ``max_j S_j(T) + Lap(1/ε)`` (MaxSum has sensitivity 1): scalar."""
  x = check_stream(stream, "batch_max_sum")
  eps, _ = check_epsilon_delta(epsilon, 0.0, fn="batch_max_sum")
  return privacy.laplace_mechanism(key, jnp.max(x.sum(axis=0)), 1.0, eps)


def batch_sum_select(key: Array, stream, epsilon: float) -> Array:
  """Batch SumSelect by the exponential mechanism with utility ``S_j(T)`` (sensitivity 1):
  ``P(j) ∝ exp(ε S_j(T)/2)``, sampled as ``argmax_j S_j(T) + Gumbel(2/ε)``: int scalar (differentiating it
  raises a ``TypeError``)."""
  x = check_stream(stream, "batch_sum_select")
  eps, _ = check_epsilon_delta(epsilon, 0.0, fn="batch_sum_select")
  x, eps = no_grad((x, eps), "theory.dp_continual.batch_sum_select")
  s = x.sum(axis=0)
  return jnp.argmax(s + (2.0 / eps) * jax.random.gumbel(key, s.shape, s.dtype))


# ---------------------------------------------------------------------------------------------------
# Per-column trees.


class MaxSumRelease(NamedTuple):
  value: Array     # [T] released MaxSum estimate y_t
  selected: Array  # [T] int, released column ĵ_t (SumSelect)


def tree_max_sum(key: Array, stream, epsilon: float, delta: float = 0.0, noise: str = "gaussian") -> MaxSumRelease:
  """MaxSum / SumSelect from d per-column binary trees (one noisy tree over the rows ``[0, 1]^d``):
  ``y_t = max_j Ŝ_j(t)``, ``ĵ_t = argmax_j Ŝ_j(t)``. ``stream: [T, d]``. ε-DP (Laplace) or (ε, δ)-DP
  (Gaussian). ``value`` is piecewise linear in the stream (differentiable where the max is unique)."""
  x = check_stream(stream, "tree_max_sum")
  cal = tree_calibration(x.shape[0], x.shape[1], epsilon, delta, noise)
  s = noisy_tree_release(key, x, cal.scale, noise)[0]
  return MaxSumRelease(jnp.max(s, axis=1), jnp.argmax(s, axis=1).astype(jnp.int32))


# ---------------------------------------------------------------------------------------------------
# The sparse-vector mechanism.


class SVTParams(NamedTuple):
  """Parameters of the sparse-vector mechanism (host floats)."""
  problem: str
  threshold: float        # ℓ
  max_updates: int        # c
  eps_round: float        # ε₀ = ε₁ + ε₂ per round
  eps_test: float         # ε₁ (AboveThreshold)
  eps_release: float      # ε₂ (Laplace / exponential mechanism)
  sensitivity: float      # Δ of the tested query (1 MaxSum, 2 SumSelect)
  threshold_scale: float  # 2Δ/ε₁
  query_scale: float      # 4Δ/ε₁
  release_scale: float    # 1/ε₂ (Laplace b) or 2/ε₂ (Gumbel scale)
  total: privacy.PrivacyParams  # the guarantee of c rounds


def _round_epsilon(epsilon: float, delta: float, c: int) -> float:
  basic = epsilon / c
  if delta <= 0:
    return basic
  return max(basic, privacy.advanced_composition_epsilon_per_query(epsilon, c, delta))


def svt_parameters(horizon: int, epsilon: float, delta: float = 0.0, problem: str = "maxsum",
                   threshold: float | None = None, max_updates: int | None = None,
                   test_fraction: float = 0.75) -> SVTParams:
  """Noise scales of :func:`svt_max_sum` for a stream of length ``horizon``.

  Defaults (this package's choice; the paper fixes them only up to constants): ``ℓ`` is the fixed point
  of ``ℓ = 2 (ln T + 1) · query_scale(c(ℓ))`` with ``c(ℓ) = ⌈2T/ℓ⌉ + 1`` rounds. The query noise's maximum
  over a round is about ``query_scale · ln T ≤ ℓ/2``, so a round lasts at least ``ℓ/2`` steps even when the
  tested quantity grows by 1 at every step (MaxSum and the regret grow by at most 1 per step), and c rounds
  suffice. Since ``query_scale ∝ 1/ε₀ ∝ √c ∝ √(T/ℓ)`` once advanced composition applies, the fixed point is
  ``ℓ ≍ T^{1/3} (ln T · √ln(1/δ) / ε)^{2/3}`` and the error ``≈ ℓ``. ``test_fraction`` is ε₁/ε₀.

  Returns: :class:`SVTParams` (the guarantee of the c rounds in ``total``).
  """
  fn = "svt_parameters"
  if problem not in PROBLEMS:
    raise ValueError(f"{fn}: problem: expected one of {PROBLEMS}, got {problem!r}")
  if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
    raise ValueError(f"{fn}: horizon: expected a positive int, got {horizon!r}")
  eps, delta = check_epsilon_delta(epsilon, delta, fn=fn, concrete=True)
  for name, v in (("threshold", threshold), ("test_fraction", test_fraction)):
    if privacy.is_traced(v):
      raise TypeError(f"{fn}: {name}: expected a concrete number, got a traced value: {fn} is a host-side "
                      "calibration with integer outputs (rounds) and is not differentiable")
  if not (isinstance(test_fraction, (int, float)) and not isinstance(test_fraction, bool) and 0 < test_fraction < 1):
    raise ValueError(f"{fn}: test_fraction: expected a number in (0, 1), got {test_fraction!r}")
  sens = 1.0 if problem == "maxsum" else 2.0
  T = int(horizon)

  def scales(ell, c):
    e0 = _round_epsilon(eps, delta, c)
    e1 = test_fraction * e0
    return e0, e1, e0 - e1

  if threshold is None:
    # fixed point of ℓ = 2 (ln T + 1) · query_scale(c(ℓ)): the query noise's maximum over the ≤ T steps of
    # a round is ≈ query_scale · ln T ≤ ℓ/2, so a round lasts ≥ ℓ/2 steps even when MaxSum grows by 1 per
    # step and c = ⌈2T/ℓ⌉ + 1 rounds suffice (query_scale ∝ √c ∝ ℓ^{-1/2}: the iteration contracts)
    ell = 1.0
    for _ in range(200):
      c = max_updates if max_updates is not None else max(1, math.ceil(CAP_FACTOR * T / ell) + 1)
      _, e1, _ = scales(ell, c)
      new = 2 * (math.log(T) + 1.0) * 4 * sens / e1
      if abs(new - ell) <= 1e-9 * new:
        break
      ell = new
    threshold = float(ell)
  if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not (0 <= threshold < math.inf):
    raise ValueError(f"{fn}: threshold: expected a finite non-negative number, got {threshold!r}")
  if max_updates is None:
    max_updates = max(1, math.ceil(CAP_FACTOR * T / max(threshold, 1.0)) + 1)
  if isinstance(max_updates, bool) or not isinstance(max_updates, (int, np.integer)) or max_updates < 1:
    raise ValueError(f"{fn}: max_updates: expected a positive int, got {max_updates!r}")
  c = int(max_updates)
  e0, e1, e2 = scales(threshold, c)
  total = (privacy.PrivacyParams(c * e0, 0.0) if delta == 0 or e0 == eps / c
           else privacy.advanced_composition(e0, 0.0, c, delta))
  rel = 1.0 / e2 if problem == "maxsum" else 2.0 / e2
  return SVTParams(problem, float(threshold), c, e0, e1, e2, sens, 2 * sens / e1, 4 * sens / e1, rel, total)


class SVTRelease(NamedTuple):
  value: Array     # [T] released MaxSum estimate (MaxSum; the last released noisy max)
  selected: Array  # [T] int released column (SumSelect)
  updated: Array   # [T] bool, a round ended (fresh release) at t
  updates: Array   # int scalar, number of rounds used (≤ c)


@functools.partial(jax.jit, static_argnames=("problem",))
def svt_release(key, x, threshold, max_updates, threshold_scale, query_scale, release_scale, problem):
  """Package-internal core of :func:`svt_max_sum` on a validated ``x: [T, d]`` with explicit parameters (the
  fields of :class:`SVTParams`, JAX scalars allowed, so one compile serves many horizons' parameters). No
  checks; for experiments that vmap over keys."""
  T, d = x.shape
  dt = x.dtype
  k0, kq, kr, kv, kj = jax.random.split(key, 5)
  rho0 = threshold_scale * jax.random.laplace(k0, (), dt)
  # Fresh noise for every step, drawn up front in one call each (a step uses its own draws only; the
  # redrawn threshold noise and the release noise are consumed only at the steps that end a round).
  nus = query_scale * jax.random.laplace(kq, (T,), dt)
  rhos = threshold_scale * jax.random.laplace(kr, (T,), dt)
  rels = release_scale * jax.random.laplace(kv, (T,), dt)
  steps = jnp.arange(T)

  def step(carry, inp):
    s, y, j, rho, count = carry
    xt, nu, rho_new, rel, t = inp
    s = s + xt
    f = jnp.max(s)
    q = f - y if problem == "maxsum" else f - s[j]
    above = (q + nu >= threshold + rho) & (count < max_updates)
    if problem == "maxsum":
      y = jnp.where(above, f + rel, y)
    else:
      g = jax.random.gumbel(jax.random.fold_in(kj, t), (d,), dt)
      j = jnp.where(above, jnp.argmax(s + release_scale * g).astype(jnp.int32), j)
    rho = jnp.where(above, rho_new, rho)
    count = count + above.astype(jnp.int32)
    return (s, y, j, rho, count), (y, j, above)

  init = (jnp.zeros((d,), dt), jnp.zeros((), dt), jnp.zeros((), jnp.int32), rho0, jnp.zeros((), jnp.int32))
  (_, _, _, _, count), (ys, js, ups) = jax.lax.scan(step, init, (x, nus, rhos, rels, steps))
  return SVTRelease(ys, js, ups, count)


def svt_max_sum(key: Array, stream, epsilon: float, delta: float = 0.0, problem: str = "maxsum",
                threshold: float | None = None, max_updates: int | None = None,
                test_fraction: float = 0.75) -> tuple[SVTRelease, SVTParams]:
  """The sparse-vector continual mechanism for MaxSum (``problem="maxsum"``) or SumSelect
  (``"sumselect"``): ``stream: [T, d]`` → (:class:`SVTRelease` with ``[T]`` outputs, :class:`SVTParams`).
  ``(ε, δ)``-DP (ε-DP for δ = 0) by composition over at most ``c`` rounds (``lax.scan`` over t with a fresh
  key per step). Defaults of ``threshold`` / ``max_updates`` from :func:`svt_parameters`. The releases follow the
  test's discrete decisions (rounds, selected columns): differentiating raises a ``TypeError``."""
  x = no_grad(check_stream(stream, "svt_max_sum"), "theory.dp_continual.svt_max_sum")
  p = svt_parameters(x.shape[0], epsilon, delta, problem, threshold, max_updates, test_fraction)
  return svt_release(key, x, p.threshold, p.max_updates, p.threshold_scale, p.query_scale, p.release_scale, problem), p
