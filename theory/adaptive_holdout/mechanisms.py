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

from theory.common import privacy

Array = jax.Array
NOISES = ("laplace", "gaussian")


def _check_values(name: str, values, ndim: int | None = 2) -> Array:
  values = jnp.asarray(values)
  if not jnp.issubdtype(values.dtype, jnp.floating):
    raise TypeError(f"{name}: expected a floating array, got dtype {values.dtype}")
  if ndim is not None and values.ndim != ndim:
    raise ValueError(f"{name}: expected {ndim} dims ([k queries, n samples]), got shape {values.shape}")
  if values.shape[-1] < 1:
    raise ValueError(f"{name}: expected at least one sample on the last axis, got shape {values.shape}")
  return values


def _check_noise(noise: str) -> None:
  if noise not in NOISES:
    raise ValueError(f"noise: expected one of {NOISES}, got {noise!r}")


def _check_scalar(name: str, value, *, allow_inf: bool = False) -> None:
  """Concrete Python numbers must be >= 0 (finite unless ``allow_inf``); traced values pass through."""
  if isinstance(value, bool):
    raise TypeError(f"{name}: expected a number, got bool")
  if isinstance(value, (int, float)):
    if not value >= 0 or (math.isinf(value) and not allow_inf):
      raise ValueError(f"{name}: expected a {'' if allow_inf else 'finite '}non-negative number, got {value!r}")


def _noise(key: Array, scale, shape, dtype, noise: str) -> Array:
  if noise == "laplace":
    return privacy.laplace_noise(key, scale, shape, dtype)
  return privacy.gaussian_noise(key, scale, shape, dtype)


# ---------------------------------------------------------------------------------------------------
# Empirical, sample splitting, noise addition.


def empirical_answers(values) -> Array:
  """E_S[φ_j] for ``values: [k, n]`` -> ``[k]``."""
  return jnp.mean(_check_values("values", values), axis=-1)


def sample_split_answers(values) -> Array:
  """Query j answered on rows ``[j m, (j + 1) m)`` with ``m = n // k`` (disjoint chunks; the last
  ``n mod k`` rows are unused). ``values: [k, n]`` with ``k <= n`` -> ``[k]``."""
  values = _check_values("values", values)
  k, n = values.shape
  if k > n:
    raise ValueError(f"values: sample splitting needs k <= n (one row per query at least), got k={k}, n={n}")
  m = n // k
  chunks = values[:, :k * m].reshape(k, k, m)           # [query, chunk, row]
  return jnp.mean(chunks[jnp.arange(k), jnp.arange(k)], axis=-1)


def noisy_answers(key: Array, values, scale, noise: str = "laplace") -> Array:
  """E_S[φ_j] + Lap(scale) (``noise="laplace"``) or + N(0, scale²) (``"gaussian"``), independent per
  query. ``values: [k, n]`` -> ``[k]``."""
  values = _check_values("values", values)
  _check_noise(noise)
  _check_scalar("scale", scale)
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


def _check_multipliers(m) -> tuple[float, float, float]:
  if (not isinstance(m, (tuple, list)) or len(m) != 3
      or any(isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0 for v in m)):
    raise ValueError(f"multipliers: expected three non-negative numbers (γ, η, ξ scales in units of σ), got {m!r}")
  return tuple(float(v) for v in m)


def thresholdout_init(key: Array, threshold, sigma, budget, *, noise: str = "laplace",
                      multipliers=PAPER_MULTIPLIERS, dtype=jnp.float32) -> ThresholdoutState:
  """Starts Thresholdout: T̂ = T + γ with γ ~ Lap(2σ) (or N(0, (2σ)²) for ``noise="gaussian"``).

  ``threshold`` T >= 0 (``inf``: never consult the holdout), ``sigma`` σ >= 0, ``budget`` B >= 0.
  ``multipliers``: the scales of (γ, η, ξ) in units of σ; the paper's (2, 4, 1) by default.
  """
  _check_noise(noise)
  mg, _, _ = _check_multipliers(multipliers)
  _check_scalar("threshold", threshold, allow_inf=True)
  _check_scalar("sigma", sigma)
  _check_scalar("budget", budget, allow_inf=True)
  key, k_gamma = jax.random.split(key)
  t_hat = jnp.asarray(threshold, dtype) + _noise(k_gamma, mg * jnp.asarray(sigma, dtype), (), dtype, noise)
  return ThresholdoutState(key, t_hat, jnp.asarray(budget, dtype), jnp.zeros((), jnp.int32))


def thresholdout_step(state: ThresholdoutState, train_mean, holdout_mean, *, threshold, sigma,
                      noise: str = "laplace", multipliers=PAPER_MULTIPLIERS
                      ) -> tuple[ThresholdoutState, ThresholdoutAnswer]:
  """Answers one query from its training mean E_{S_t}φ and holdout mean E_{S_h}φ (scalars).

  Budget spent (B < 1): ⊥. Otherwise with η ~ Lap(4σ): if |E_{S_h}φ − E_{S_t}φ| > T̂ + η, answer
  E_{S_h}φ + ξ, ξ ~ Lap(σ), B ← B − 1 and T̂ ← T + γ', γ' ~ Lap(2σ); else answer E_{S_t}φ.
  (Scales of γ, η, ξ: ``multipliers`` · σ.)
  """
  _check_noise(noise)
  mg, me, mx = _check_multipliers(multipliers)
  dtype = state.noisy_threshold.dtype
  train_mean, holdout_mean = jnp.asarray(train_mean, dtype), jnp.asarray(holdout_mean, dtype)
  sigma = jnp.asarray(sigma, dtype)
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
      noisy_threshold=jnp.where(detected, jnp.asarray(threshold, dtype) + gamma, state.noisy_threshold),
      budget=state.budget - detected.astype(dtype),
      detections=state.detections + detected.astype(jnp.int32))
  return new, ThresholdoutAnswer(value, bottom, detected)


def thresholdout(key_or_state, train_means, holdout_means, *, threshold, sigma, budget=None,
                 noise: str = "laplace", multipliers=PAPER_MULTIPLIERS) -> ThresholdoutResult:
  """Thresholdout over a sequence of queries (``lax.scan``), in order.

  ``key_or_state``: a PRNG key (a fresh mechanism with ``budget``) or a ``ThresholdoutState`` to
  continue (``budget`` must then be None). ``train_means, holdout_means: [k]``.
  """
  train_means, holdout_means = jnp.asarray(train_means), jnp.asarray(holdout_means)
  if train_means.ndim != 1 or holdout_means.shape != train_means.shape:
    raise ValueError(f"train_means, holdout_means: expected equal [k] shapes, got {train_means.shape} and "
                     f"{holdout_means.shape}")
  if isinstance(key_or_state, ThresholdoutState):
    if budget is not None:
      raise ValueError("budget: must be None when continuing from a ThresholdoutState")
    state = key_or_state
  else:
    if budget is None:
      raise ValueError("budget: required when starting from a key")
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


def laplace_answers_privacy(scale: float, n: int, k: int, delta_slack: float | None = None
                            ) -> privacy.PrivacyParams:
  """k Laplace answers ``E_S φ + Lap(b)``: each is ε0 = 1/(n b)-DP; basic composition (kε0, 0), or with
  ``delta_slack`` the better of basic and advanced composition."""
  eps0 = 1.0 / (privacy._check_count("n", n) * privacy._check_positive("scale", scale))
  basic = privacy.basic_composition(eps0, 0.0, k)
  if delta_slack is None:
    return basic
  adv = privacy.advanced_composition(eps0, 0.0, k, delta_slack)
  return adv if adv.epsilon < basic.epsilon else basic


def laplace_scale_for_privacy(n: int, k: int, epsilon: float, delta: float) -> float:
  """Laplace scale b making k answers (ε, δ)-DP by advanced composition: b = 1/(n ε0) with ε0 the largest
  per-query ε whose k-fold composition (slack δ) stays within ε (≈ √(8k ln(1/δ)) / (ε n) for small ε)."""
  privacy._check_count("n", n)
  return 1.0 / (n * privacy.advanced_composition_epsilon_per_query(epsilon, k, delta))


def gaussian_answers_privacy(sigma: float, n: int, k: int, delta: float) -> privacy.PrivacyParams:
  """k Gaussian answers ``E_S φ + N(0, σ²)``: ρ = k/(2σ²n²)-zCDP, reported as (ε, δ)-DP."""
  rho = k * privacy.zcdp_of_gaussian(sigma, 1.0 / privacy._check_count("n", n))
  return privacy.zcdp_to_dp(rho, delta)


def thresholdout_privacy(sigma: float, n_holdout: int, budget: float) -> privacy.PrivacyParams:
  """Thresholdout is (2B/(σ n_h), 0)-DP with respect to the holdout (NIPS 2015): each over-threshold
  answer costs 1/(σ n_h) for the sparse-vector test and 1/(σ n_h) for the Laplace answer."""
  s = privacy._check_positive("sigma", sigma)
  nh = privacy._check_count("n_holdout", n_holdout)
  b = privacy._check_positive("budget", budget)
  return privacy.PrivacyParams(2 * b / (s * nh), 0.0)
