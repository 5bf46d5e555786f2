"""Statistical-query answering mechanisms for adaptive data analysis, and the privacy each implies.

Dwork, Feldman, Hardt, Pitassi, Reingold, Roth. "Preserving Statistical Validity in Adaptive Data
Analysis". STOC 2015, arXiv:1411.2664; Thresholdout from "The reusable holdout: Preserving validity in
adaptive data analysis" (Science 349:636, 2015) and "Generalization in adaptive data analysis and
holdout reuse" (NIPS 2015, arXiv:1506.02629).

A statistical query φ: 𝒳 → [0, 1] is represented by its values on the sample, ``values: [k, n]`` for k
queries (row j = φ_j(x_1..x_n)); the population value is P[φ] = E_{x~P} φ(x), the empirical one
E_S[φ] = (1/n) Σ_i φ(x_i). Mechanisms:

- ``empirical_answers``: E_S[φ_j] (no protection; error Θ(√(k/n)) under adaptivity).
- ``sample_split_answers``: query j answered on its own disjoint chunk of n // k rows (unbiased whatever
  the adaptivity, error ~ √(k/n)).
- ``noisy_answers``: E_S[φ_j] + Lap(b) or + N(0, σ²) (the Laplace / Gaussian mechanism).
- Thresholdout (Science/NIPS form): ``thresholdout_init`` / ``thresholdout_step`` for one adaptive query
  at a time, ``thresholdout`` to scan a sequence. Draw γ ~ Lap(2σ), T̂ = T + γ; per query, if the
  budget is spent output ⊥; draw η ~ Lap(4σ); if |E_{S_h}φ − E_{S_t}φ| > T̂ + η output E_{S_h}φ + ξ with
  ξ ~ Lap(σ), spend one unit of budget and redraw γ; else output E_{S_t}φ.

Privacy with respect to the sample (queries with values in [0, 1], so sensitivity 1/n):
``laplace_answers_privacy`` (ε0 = 1/(nb) per query; basic or advanced composition),
``gaussian_answers_privacy`` (zCDP ρ = k/(2σ²n²) converted to (ε, δ)), ``laplace_scale_for_privacy``
(b = 1/(n ε0) with ε0 from advanced composition, the paper's b ≈ √(k ln(1/δ))/(εn)), and
``thresholdout_privacy`` = (2B/(σ n_h), 0) with respect to the holdout (NIPS 2015, sparse vector).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from kernels.common.checks import no_grad
from theory.common import privacy

Array = jax.Array
NOISES = ("laplace", "gaussian")


def _check_values(name: str, values, ndim: int | None = 2, fn: str | None = None) -> Array:
  at = privacy.at(fn, name)
  values = jnp.asarray(values)
  if not jnp.issubdtype(values.dtype, jnp.floating):
    raise TypeError(f"{at}: expected a floating array, got dtype {values.dtype}")
  if ndim is not None and values.ndim != ndim:
    raise ValueError(f"{at}: expected {ndim} dims ([k queries, n samples]), got shape {values.shape}")
  if values.shape[0] < 1 or values.shape[-1] < 1:
    raise ValueError(f"{at}: expected at least one query and one sample, got shape {values.shape}")
  return values


def _check_noise(noise: str, fn: str | None = None) -> None:
  if noise not in NOISES:
    raise ValueError(f"{privacy.at(fn, 'noise')}: expected one of {NOISES}, got {noise!r}")


def check_scalar(name: str, value, *, allow_inf: bool = False, fn: str | None = None):
  """A number >= 0 (finite unless ``allow_inf``): Python numbers and concrete JAX scalars are range-checked,
  traced values pass through."""
  return privacy.check_nonneg(name, value, allow_inf=allow_inf, fn=fn)


def _noise(key: Array, scale, shape, dtype, noise: str) -> Array:
  if noise == "laplace":
    return privacy.laplace_noise(key, scale, shape, dtype)
  return privacy.gaussian_noise(key, scale, shape, dtype)


# ---------------------------------------------------------------------------------------------------
# Empirical, sample splitting, noise addition.


def empirical_answers(values) -> Array:
  """E_S[φ_j] for ``values: [k, n]`` -> ``[k]`` (linear, differentiable; NaN in a row gives a NaN answer)."""
  return jnp.mean(_check_values("values", values, fn="empirical_answers"), axis=-1)


def sample_split_answers(values) -> Array:
  """Query j answered on rows ``[j m, (j + 1) m)`` with ``m = n // k`` (disjoint chunks; the last
  ``n mod k`` rows are unused). ``values: [k, n]`` with ``k <= n`` -> ``[k]``."""
  values = _check_values("values", values, fn="sample_split_answers")
  k, n = values.shape
  if k > n:
    raise ValueError(f"sample_split_answers: values: sample splitting needs k <= n (one row per query at "
                     f"least), got k={k}, n={n}")
  m = n // k
  chunks = values[:, :k * m].reshape(k, k, m)           # [query, chunk, row]
  return jnp.mean(chunks[jnp.arange(k), jnp.arange(k)], axis=-1)


def noisy_answers(key: Array, values, scale, noise: str = "laplace") -> Array:
  """E_S[φ_j] + Lap(scale) (``noise="laplace"``) or + N(0, scale²) (``"gaussian"``), independent per
  query. ``values: [k, n]`` -> ``[k]``. ``scale``: a number or a JAX scalar (``mean + scale · z``:
  differentiable in ``values`` and ``scale``)."""
  fn = "noisy_answers"
  values = _check_values("values", values, fn=fn)
  _check_noise(noise, fn)
  scale = check_scalar("scale", scale, fn=fn)
  return jnp.mean(values, -1) + _noise(key, scale, values.shape[:1], values.dtype, noise)


# ---------------------------------------------------------------------------------------------------
# Thresholdout.


class ThresholdoutState(NamedTuple):
  """The mechanism's state between queries (all scalars)."""
  key: Array            # PRNG key for the next draws
  noisy_threshold: Array  # T̂ = T + γ
  budget: Array         # remaining budget (float; ⊥ once below 1)
  detections: Array     # int32: number of over-threshold answers so far


class ThresholdoutAnswer(NamedTuple):
  """One answer: ``value`` (NaN when ⊥), ``bottom`` (budget exhausted), ``detected`` (holdout used)."""
  value: Array
  bottom: Array
  detected: Array


class ThresholdoutResult(NamedTuple):
  """Answers to a sequence of queries: ``values [k]`` (NaN where ⊥), ``bottom [k]``, ``detected [k]``,
  and the final ``state``."""
  values: Array
  bottom: Array
  detected: Array
  state: ThresholdoutState


PAPER_MULTIPLIERS = (2.0, 4.0, 1.0)    # scales of γ, η, ξ in units of σ (Science / NIPS 2015)
REFERENCE_MULTIPLIERS = (0.0, 1.0, 1.0)  # the authors' experiment script: no γ, η and ξ of scale σ


def check_multipliers(m, fn: str | None = None) -> tuple[float, float, float]:
  """The Thresholdout noise multipliers (γ, η, ξ in units of σ) as three finite non-negative numbers, else a
  ValueError naming ``fn`` (package-internal)."""
  if (not isinstance(m, (tuple, list)) or len(m) != 3
      or any(isinstance(v, bool) or not isinstance(v, (int, float)) or not (0 <= v < math.inf) for v in m)):
    raise ValueError(f"{privacy.at(fn, 'multipliers')}: expected three finite non-negative numbers (γ, η, ξ "
                     f"scales in units of σ), got {m!r}")
  return tuple(float(v) for v in m)


def thresholdout_init(key: Array, threshold, sigma, budget, *, noise: str = "laplace",
                      multipliers=PAPER_MULTIPLIERS, dtype=jnp.float32) -> ThresholdoutState:
  """Starts Thresholdout: T̂ = T + γ with γ ~ Lap(2σ) (or N(0, (2σ)²) for ``noise="gaussian"``).

  ``threshold`` T >= 0 (``inf``: never consult the holdout), ``sigma`` σ >= 0, ``budget`` B >= 0.
  ``multipliers``: the scales of (γ, η, ξ) in units of σ; the paper's (2, 4, 1) by default. The noisy
  threshold ``T + γ`` is reparameterised (differentiable in ``threshold`` and ``sigma``); the answers of
  :func:`thresholdout_step` are not.
  """
  fn = "thresholdout_init"
  _check_noise(noise, fn)
  mg, _, _ = check_multipliers(multipliers, fn)
  threshold = check_scalar("threshold", threshold, allow_inf=True, fn=fn)
  sigma = check_scalar("sigma", sigma, fn=fn)
  budget = check_scalar("budget", budget, allow_inf=True, fn=fn)
  try:
    dtype = jnp.dtype(dtype)
  except TypeError as e:
    raise TypeError(f"{fn}: dtype: expected a floating dtype, got {dtype!r}") from e
  if not jnp.issubdtype(dtype, jnp.floating):
    raise TypeError(f"{fn}: dtype: expected a floating dtype, got {dtype}")
  key, k_gamma = jax.random.split(key)
  t_hat = jnp.asarray(threshold, dtype) + _noise(k_gamma, mg * jnp.asarray(sigma, dtype), (), dtype, noise)
  return ThresholdoutState(key, t_hat, jnp.asarray(budget, dtype), jnp.zeros((), jnp.int32))


def thresholdout_step(state: ThresholdoutState, train_mean, holdout_mean, *, threshold, sigma,
                      noise: str = "laplace", multipliers=PAPER_MULTIPLIERS
                      ) -> tuple[ThresholdoutState, ThresholdoutAnswer]:
  """Answers one query from its training mean E_{S_t}φ and holdout mean E_{S_h}φ (scalars).

  Budget spent (B < 1): ⊥. Otherwise with η ~ Lap(4σ): if |E_{S_h}φ − E_{S_t}φ| > T̂ + η, answer
  E_{S_h}φ + ξ, ξ ~ Lap(σ), B ← B − 1 and T̂ ← T + γ', γ' ~ Lap(2σ); else answer E_{S_t}φ.
  (Scales of γ, η, ξ: ``multipliers`` · σ.) The answer switches between the training and the holdout mean
  on noisy comparisons (and the budget is a count): differentiating raises a ``TypeError``.
  """
  fn = "thresholdout_step"
  if not isinstance(state, ThresholdoutState):
    raise TypeError(f"{fn}: state: expected a ThresholdoutState (from thresholdout_init), got "
                    f"{type(state).__name__}")
  _check_noise(noise, fn)
  mg, me, mx = check_multipliers(multipliers, fn)
  check_scalar("threshold", threshold, allow_inf=True, fn=fn)
  check_scalar("sigma", sigma, fn=fn)
  dtype = state.noisy_threshold.dtype
  for name, v in (("train_mean", train_mean), ("holdout_mean", holdout_mean)):
    a = jnp.asarray(v)
    if a.dtype == jnp.bool_ or not (jnp.issubdtype(a.dtype, jnp.floating) or jnp.issubdtype(a.dtype, jnp.integer)):
      raise TypeError(f"{fn}: {name}: expected a real scalar, got dtype {a.dtype}")
    if a.ndim != 0:
      raise ValueError(f"{fn}: {name}: expected a scalar (one query), got shape {a.shape}")
  train_mean, holdout_mean = jnp.asarray(train_mean, dtype), jnp.asarray(holdout_mean, dtype)
  sigma, threshold = jnp.asarray(sigma, dtype), jnp.asarray(threshold, dtype)
  train_mean, holdout_mean, sigma, threshold, t_hat, budget = no_grad(
      (train_mean, holdout_mean, sigma, threshold, state.noisy_threshold, state.budget),
      "theory.adaptive_holdout.thresholdout_step")
  state = state._replace(noisy_threshold=t_hat, budget=budget)
  key, k_eta, k_xi, k_gamma = jax.random.split(state.key, 4)
  eta = _noise(k_eta, me * sigma, (), dtype, noise)
  xi = _noise(k_xi, mx * sigma, (), dtype, noise)
  gamma = _noise(k_gamma, mg * sigma, (), dtype, noise)
  bottom = state.budget < 1
  over = jnp.abs(holdout_mean - train_mean) > state.noisy_threshold + eta
  detected = over & ~bottom
  value = jnp.where(bottom, jnp.nan, jnp.where(detected, holdout_mean + xi, train_mean))
  new = ThresholdoutState(
      key=key,
      noisy_threshold=jnp.where(detected, threshold + gamma, state.noisy_threshold),
      budget=state.budget - detected.astype(dtype),
      detections=state.detections + detected.astype(jnp.int32))
  return new, ThresholdoutAnswer(value, bottom, detected)


def thresholdout(key_or_state, train_means, holdout_means, *, threshold, sigma, budget=None,
                 noise: str = "laplace", multipliers=PAPER_MULTIPLIERS) -> ThresholdoutResult:
  """Thresholdout over a sequence of queries (``lax.scan``), in order.

  ``key_or_state``: a PRNG key (a fresh mechanism with ``budget``) or a ``ThresholdoutState`` to
  continue (``budget`` must then be None). ``train_means, holdout_means: [k]``. Not differentiable (see
  :func:`thresholdout_step`): differentiating raises a ``TypeError``.
  """
  fn = "thresholdout"
  train_means, holdout_means = jnp.asarray(train_means), jnp.asarray(holdout_means)
  for name, a in (("train_means", train_means), ("holdout_means", holdout_means)):
    if a.dtype == jnp.bool_ or not (jnp.issubdtype(a.dtype, jnp.floating) or jnp.issubdtype(a.dtype, jnp.integer)):
      raise TypeError(f"{fn}: {name}: expected a real array, got dtype {a.dtype}")
  if train_means.ndim != 1 or holdout_means.shape != train_means.shape:
    raise ValueError(f"{fn}: train_means, holdout_means: expected equal [k] shapes, got {train_means.shape} and "
                     f"{holdout_means.shape}")
  _check_noise(noise, fn)
  check_multipliers(multipliers, fn)
  if isinstance(key_or_state, ThresholdoutState):
    if budget is not None:
      raise ValueError(f"{fn}: budget: must be None when continuing from a ThresholdoutState")
    state = key_or_state
  else:
    if budget is None:
      raise ValueError(f"{fn}: budget: required when starting from a key")
    dtype = train_means.dtype if jnp.issubdtype(train_means.dtype, jnp.floating) else jnp.float32
    state = thresholdout_init(key_or_state, threshold, sigma, budget, noise=noise, multipliers=multipliers,
                              dtype=dtype)

  def body(s, tm_hm):
    return thresholdout_step(s, tm_hm[0], tm_hm[1], threshold=threshold, sigma=sigma, noise=noise,
                             multipliers=multipliers)

  state, ans = jax.lax.scan(body, state, (train_means, holdout_means))
  return ThresholdoutResult(ans.value, ans.bottom, ans.detected, state)


# ---------------------------------------------------------------------------------------------------
# Privacy implied by each mechanism (queries with values in [0, 1]: sensitivity 1/n).


def empirical_privacy() -> privacy.PrivacyParams:
  """Empirical answers (and sample splitting) give no differential privacy: (∞, 0)."""
  return privacy.PrivacyParams(math.inf, 0.0)


def laplace_answers_privacy(scale, n: int, k: int, delta_slack=None) -> privacy.PrivacyParams:
  """k Laplace answers ``E_S φ + Lap(b)``: each is ε0 = 1/(n b)-DP; basic composition (kε0, 0), or with
  ``delta_slack`` the better of basic and advanced composition. ``scale``/``delta_slack``: Python numbers
  (Python floats out) or JAX scalars (differentiable)."""
  fn = "laplace_answers_privacy"
  eps0 = 1.0 / (privacy.check_count("n", n, fn) * privacy.check_positive("scale", scale, fn=fn))
  k = privacy.check_count("k", k, fn)
  basic = privacy.basic_composition(eps0, 0.0, k)
  if delta_slack is None:
    return basic
  delta_slack = privacy.check_delta("delta_slack", delta_slack, allow_zero=False, fn=fn)
  adv = privacy.advanced_composition(eps0, 0.0, k, delta_slack)
  ops = privacy.ops_for(eps0, delta_slack)
  better = adv.epsilon < basic.epsilon
  return privacy.PrivacyParams(ops.where(better, adv.epsilon, basic.epsilon), ops.where(better, adv.delta, basic.delta))


def laplace_scale_for_privacy(n: int, k: int, epsilon, delta):
  """Laplace scale b making k answers (ε, δ)-DP by advanced composition: b = 1/(n ε0) with ε0 the largest
  per-query ε whose k-fold composition (slack δ) stays within ε (≈ √(8k ln(1/δ)) / (ε n) for small ε).
  JAX scalars ``epsilon``/``delta``: differentiable (implicit function of the composition bound)."""
  fn = "laplace_scale_for_privacy"
  n = privacy.check_count("n", n, fn)
  k = privacy.check_count("k", k, fn)
  epsilon = privacy.check_positive("epsilon", epsilon, fn=fn)
  delta = privacy.check_delta("delta", delta, allow_zero=False, fn=fn)
  return 1.0 / (n * privacy.advanced_composition_epsilon_per_query(epsilon, k, delta))


def gaussian_answers_privacy(sigma, n: int, k: int, delta) -> privacy.PrivacyParams:
  """k Gaussian answers ``E_S φ + N(0, σ²)``: ρ = k/(2σ²n²)-zCDP, reported as (ε, δ)-DP."""
  fn = "gaussian_answers_privacy"
  n, k = privacy.check_count("n", n, fn), privacy.check_count("k", k, fn)
  sigma = privacy.check_positive("sigma", sigma, fn=fn)
  delta = privacy.check_delta("delta", delta, allow_zero=False, fn=fn)
  return privacy.zcdp_to_dp(k * privacy.zcdp_of_gaussian(sigma, 1.0 / n), delta)


def thresholdout_privacy(sigma, n_holdout: int, budget) -> privacy.PrivacyParams:
  """Thresholdout is (2B/(σ n_h), 0)-DP with respect to the holdout (NIPS 2015): each over-threshold
  answer costs 1/(σ n_h) for the sparse-vector test and 1/(σ n_h) for the Laplace answer."""
  fn = "thresholdout_privacy"
  s = privacy.check_positive("sigma", sigma, fn=fn)
  nh = privacy.check_count("n_holdout", n_holdout, fn)
  b = privacy.check_positive("budget", budget, fn=fn)
  eps = 2 * b / (s * nh)
  return privacy.PrivacyParams(eps, 0.0 if privacy.ops_for(s, b) is privacy.HOST else jnp.zeros_like(eps))
