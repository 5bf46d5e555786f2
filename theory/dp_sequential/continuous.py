"""Sequential learning with Gaussian private signals and smooth randomized response.

Paper: "Differentially Private Sequential Learning", Yuxin Liu and M. Amin Rahimian (FORC 2025),
arXiv:2502.19525 (later versions: "Privacy-Aware Sequential Learning").

Model. A state θ ∈ {−1, +1} (prior ½ each). Agent n = 1, 2, … draws a private signal s_n ~ N(θ, σ²),
sees the public log-likelihood ratio ℓ_n = log P(θ = +1 | x_1..x_{n−1}) / P(θ = −1 | x_1..x_{n−1})
(ℓ_1 = 0) and reports x_n ∈ {−1, +1}.

- Private LLR of a signal: 2s/σ², so the intended (Bayes) action is a_n = +1 iff s_n > t(ℓ_n) with the
  threshold t(ℓ) = −σ²ℓ/2 (``decision_threshold``).
- Smooth randomized response (the paper's mechanism for continuous signals): report x_n = −a_n with
  probability ½·exp(−ε|s_n − t|), else a_n (``flip_probability``, ``smooth_randomized_response``).
  In distribution this is x_n = sign(s_n + Lap(1/ε) − t): Laplace noise added to the signal before
  thresholding (``laplace_threshold_report``), hence P(x | s)/P(x | s′) ≤ e^{ε|s − s′|}. ε = ∞ is the
  non-private model (no flip).
- Report probability in closed form (the paper's expression, with m = θ − t and d = s − t ~ N(m, σ²)):
    P(x = +1 | ℓ, θ) = Φ(m/σ) − ½e^{−εm + ε²σ²/2}Φ((m − εσ²)/σ) + ½e^{εm + ε²σ²/2}Φ((−m − εσ²)/σ)
  and P(x = −1 | ℓ, θ) is the same function at −m (``log_report_probability``; evaluated in log space
  with ``log_ndtr`` so that ℓ of size 10² stays exact).
- Public update ℓ_{n+1} = ℓ_n + Δ_{x_n}(ℓ_n), Δ_± = log P(x = ±1 | θ = +1, ℓ) / P(x = ±1 | θ = −1, ℓ)
  (``llr_increments``).
- Learning speed: under privacy ℓ_n ≈ (2/(εσ²))·ln n (``private_llr_slope``); without privacy
  ℓ_n ≈ (2√2/σ)·√(ln n) to leading order (``nonprivate_llr_constant``; the approach is slow).
- The first correct report τ = inf{n : x_n = θ} has the exact law P(τ > k) = ∏_{j<k} P(x = −θ | θ, ℓ_j)
  along the deterministic all-wrong path ℓ_{j+1} = ℓ_j + Δ_{−θ}(ℓ_j) (``first_report_survival``). Its
  tail is ∝ k^{−h} with h = 2/(εσ²(1 − e^{−2ε})) (``first_report_tail_exponent``; our leading-order
  derivation: along the wrong path ℓ_k ≈ −(2/(εσ²)) ln k and the hazard is ≈ h/k), so E[τ] < ∞ iff
  h > 1, in particular for every ε ∈ (0, 1] at σ = 1. Without privacy the hazard decays faster than 1/k
  and E[τ] = ∞ (Hann-Caruthers, Martynov, Tamuz 2018).

Simulation: ``simulate`` runs one path with ``lax.scan`` over agents (blocks of ``record_every``
agents, one recorded ℓ per block) and is ``vmap``-ped over path keys by ``simulate_paths``. Everything
runs in float64 inside a scoped ``jax.enable_x64(True)``: the increments at large ℓ are ~e^{−εσ²ℓ/2},
below float32 resolution of ℓ.
"""
from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import log_ndtr

from kernels.common.checks import check_key, no_grad
from theory.common import privacy
from theory.common.privacy import laplace_noise

Array = jax.Array
_LOG_HALF = math.log(0.5)


# ---------------------------------------------------------------------------------------------------
# Input validation (host-side Python numbers).


def check_sigma(sigma, fn: str | None = None):
  """σ > 0 finite: a Python float, or a 0-d JAX array (range-checked when concrete)."""
  return privacy.check_positive("sigma", sigma, fn=fn)


def check_epsilon(epsilon, fn: str | None = None):
  """ε > 0; ``math.inf`` means no privacy. A Python float, or a 0-d JAX array (range-checked when concrete)."""
  return privacy.check_positive("epsilon", epsilon, allow_inf=True, fn=fn)


def check_theta(theta, fn: str | None = None) -> int:
  if isinstance(theta, bool) or not isinstance(theta, int) or theta not in (-1, 1):
    raise ValueError(f"{privacy.at(fn, 'theta')}: expected the int -1 or +1, got {theta!r}")
  return theta


def check_count(name: str, value, minimum: int = 1, fn: str | None = None) -> int:
  if isinstance(value, bool) or not isinstance(value, int):
    raise TypeError(f"{privacy.at(fn, name)}: expected an int, got {type(value).__name__} {value!r}")
  if value < minimum:
    raise ValueError(f"{privacy.at(fn, name)}: expected an int >= {minimum}, got {value}")
  return value


def _real_array(name: str, value, fn: str) -> Array:
  return privacy.real_array(name, value, fn)


def _float_array(name: str, value, fn: str) -> Array:
  a = _real_array(name, value, fn)
  return a if jnp.issubdtype(a.dtype, jnp.floating) else a.astype(jnp.result_type(float))


def _broadcast(fn: str, **arrays) -> tuple[Array, ...]:
  try:
    return tuple(jnp.broadcast_arrays(*arrays.values()))
  except ValueError:
    shapes = ", ".join(f"{k} {tuple(jnp.shape(a))}" for k, a in arrays.items())
    raise ValueError(f"{fn}: {', '.join(arrays)}: shapes do not broadcast: {shapes}") from None


# ---------------------------------------------------------------------------------------------------
# The mechanism.


def decision_threshold(ell, sigma) -> Array:
  """t(ℓ) = −σ²ℓ/2: the agent intends +1 iff its signal exceeds t (``ell: [...]``)."""
  fn = "decision_threshold"
  return -0.5 * check_sigma(sigma, fn) ** 2 * _float_array("ell", ell, fn)


def _flip(dist: Array, eps) -> Array:
  if isinstance(eps, jax.Array):
    inf = jnp.isinf(eps)
    return jnp.where(inf, 0.0, 0.5 * jnp.exp(-jnp.where(inf, 1.0, eps) * dist))
  if math.isinf(eps):
    return jnp.zeros_like(dist)
  return 0.5 * jnp.exp(-eps * dist)


def flip_probability(signal, threshold, epsilon) -> Array:
  """Smooth randomized response's flip probability ½·exp(−ε|s − t|) (0 when ε = ∞); broadcasting.
  ``epsilon``: a Python number or a JAX scalar (differentiable)."""
  fn = "flip_probability"
  eps = check_epsilon(epsilon, fn)
  s, t = _broadcast(fn, signal=_float_array("signal", signal, fn), threshold=_real_array("threshold", threshold, fn))
  return _flip(jnp.abs(s - t), eps)


def _report_inputs(signal, threshold, epsilon, fn: str):
  eps = check_epsilon(epsilon, fn)
  s, t = _broadcast(fn, signal=jnp.asarray(signal), threshold=jnp.asarray(threshold))
  if not jnp.issubdtype(s.dtype, jnp.floating):
    raise TypeError(f"{fn}: signal: expected a floating array, got dtype {s.dtype}")
  _real_array("threshold", t, fn)
  # the reports are ±1: no derivative in any input
  what = f"theory.dp_sequential.{fn}"
  s, t = no_grad((s, t.astype(s.dtype)), what)
  return s, t, (no_grad(eps, what) if isinstance(eps, jax.Array) else eps)


def smooth_randomized_response(key: Array, signal, threshold, epsilon) -> tuple[Array, Array]:
  """Intended actions a = sign(s − t) and reports x = −a w.p. ½e^{−ε|s − t|}, else a.

  signal, threshold: [...] (broadcast). Returns ``(action, report)``: [...] int32 in {−1, +1} (differentiating
  raises a ``TypeError``).
  """
  s, t, eps = _report_inputs(signal, threshold, epsilon, "smooth_randomized_response")
  action = jnp.where(s > t, 1, -1).astype(jnp.int32)
  flip = jax.random.uniform(key, s.shape, s.dtype) < _flip(jnp.abs(s - t), eps)
  return action, jnp.where(flip, -action, action)


def laplace_threshold_report(key: Array, signal, threshold, epsilon) -> Array:
  """The Laplace view of smooth randomized response: sign(s + Lap(1/ε) − t) (int32 in {−1, +1}; differentiating
  raises a ``TypeError``).

  Uses the shared Laplace sampler of ``theory.common.privacy``; ε = ∞ adds no noise.
  """
  s, t, eps = _report_inputs(signal, threshold, epsilon, "laplace_threshold_report")
  if isinstance(eps, jax.Array):
    scale = jnp.where(jnp.isinf(eps), 0.0, 1.0 / eps)
  else:
    scale = 0.0 if math.isinf(eps) else 1.0 / eps
  noise = laplace_noise(key, scale, s.shape, s.dtype)
  return jnp.where(s + noise > t, 1, -1).astype(jnp.int32)


# ---------------------------------------------------------------------------------------------------
# Closed-form report probabilities and public updates.


def log_p_plus(m: Array, sigma, eps) -> Array:
  """log P(x = +1) when s − t ~ N(m, σ²): log-space form of the closed form in the module docstring.

  ``sigma``, ``eps`` may be traced; ``eps = inf`` (also traced) gives the non-private log Φ(m/σ), so one
  compilation serves every ε.
  """
  z = m / sigma
  log_phi = log_ndtr(z)
  private = jnp.isfinite(eps)
  eps = jnp.where(private, eps, 1.0)   # a finite stand-in on the non-private branch (result discarded)
  es2 = eps * sigma * sigma
  half_var = 0.5 * eps * es2
  # A = E[1{d > 0}(1 − ½e^{−εd})] = Φ(m/σ)·(1 − r), r = ½E[e^{−εd} | d > 0] ∈ (0, ½]
  log_r = _LOG_HALF - eps * m + half_var + log_ndtr(z - eps * sigma) - log_phi
  log_a = log_phi + jnp.log1p(-jnp.exp(jnp.minimum(log_r, _LOG_HALF)))
  # B = E[1{d < 0}·½e^{εd}]
  log_b = _LOG_HALF + eps * m + half_var + log_ndtr(-z - eps * sigma)
  return jnp.where(private, jnp.logaddexp(log_a, log_b), log_phi)


def log_report_probability(ell, theta, sigma, epsilon) -> tuple[Array, Array]:
  """``(log P(x = +1 | ℓ, θ), log P(x = −1 | ℓ, θ))``; ``ell``, ``theta`` broadcast ([...]).

  Computed in the dtype of ``ell`` (pass float64 under ``jax.enable_x64(True)`` for large |ℓ|). ``sigma``,
  ``epsilon``: Python numbers or JAX scalars (smooth in ℓ, θ, σ, ε).
  """
  fn = "log_report_probability"
  sigma, eps = check_sigma(sigma, fn), check_epsilon(epsilon, fn)
  ell = _float_array("ell", ell, fn)
  theta = _real_array("theta", theta, fn)
  ell, theta = _broadcast(fn, ell=ell, theta=theta)
  m = theta.astype(ell.dtype) + 0.5 * sigma * sigma * ell   # m = θ − t(ℓ)
  return log_p_plus(m, sigma, eps), log_p_plus(-m, sigma, eps)


def llr_increment(ell: Array, x: Array, sigma, eps) -> Array:
  """Δ_x(ℓ) = x·g(x·σ²ℓ/2), g(y) = log P₊(m = 1 + y) − log P₊(m = −1 + y)."""
  y = x * (0.5 * sigma * sigma) * ell
  return x * (log_p_plus(1.0 + y, sigma, eps) - log_p_plus(-1.0 + y, sigma, eps))


def llr_increments(ell, sigma, epsilon) -> tuple[Array, Array]:
  """``(Δ₊(ℓ), Δ₋(ℓ))``: the public LLR's change after a report +1 / −1; ``ell: [...]`` (smooth in ℓ, σ, ε)."""
  fn = "llr_increments"
  sigma, eps = check_sigma(sigma, fn), check_epsilon(epsilon, fn)
  ell = _float_array("ell", ell, fn)
  one = jnp.ones_like(ell)
  return llr_increment(ell, one, sigma, eps), llr_increment(ell, -one, sigma, eps)


def _private_only(value, eps, ops):
  """``value(eps)`` for finite ε, 0 for ε = ∞ (a Python float or a JAX scalar)."""
  if ops is privacy.HOST:
    return 0.0 if math.isinf(eps) else value(eps)
  inf = jnp.isinf(eps)
  return jnp.where(inf, 0.0, value(jnp.where(inf, 1.0, eps)))


def private_llr_slope(epsilon, sigma) -> float:
  """Predicted slope of ℓ_n against ln n under privacy: 2/(εσ²) (0 for ε = ∞)."""
  fn = "private_llr_slope"
  eps, sigma = check_epsilon(epsilon, fn), check_sigma(sigma, fn)
  return _private_only(lambda e: 2.0 / (e * sigma * sigma), eps, privacy.ops_for(eps, sigma))


def nonprivate_llr_constant(sigma) -> float:
  """Leading-order constant c of the non-private ℓ_n ≈ c·√(ln n): 2√2/σ (from dℓ/dn ≈ e^{−σ²ℓ²/8})."""
  return 2.0 * math.sqrt(2.0) / check_sigma(sigma, "nonprivate_llr_constant")


def first_report_tail_exponent(epsilon, sigma) -> float:
  """h = 2/(εσ²(1 − e^{−2ε})): P(first correct report > k) ∝ k^{−h} under privacy (0 for ε = ∞)."""
  fn = "first_report_tail_exponent"
  eps, sigma = check_epsilon(epsilon, fn), check_sigma(sigma, fn)
  ops = privacy.ops_for(eps, sigma)
  return _private_only(lambda e: 2.0 / (e * sigma * sigma * -ops.expm1(-2.0 * e)), eps, ops)


# ---------------------------------------------------------------------------------------------------
# Exact law of the first correct report.


class FirstReportLaw(NamedTuple):
  """Exact law of τ = inf{n : x_n = θ} (the first correct report), k = 0..K.

  survival: [K + 1] float64, P(τ > k) (survival[0] = 1).
  wrong_path_llr: [K + 1] float64, ℓ_{k+1} after k wrong reports (ℓ along the all-wrong path, θ = +1).
  partial_mean: [K + 1] float64, Σ_{j ≤ k} P(τ > j) (→ E[τ] as k → ∞ when it is finite).
  """
  survival: Array
  wrong_path_llr: Array
  partial_mean: Array


@functools.partial(jax.jit, static_argnames=("horizon",))
def _first_report_law(sigma: Array, epsilon: Array, *, horizon: int):
  def step(ell, _):
    log_wrong = log_p_plus(-(1.0 + 0.5 * sigma * sigma * ell), sigma, epsilon)  # P(x = −1 | θ = +1, ℓ)
    return ell + llr_increment(ell, -jnp.ones_like(ell), sigma, epsilon), (ell, log_wrong)

  last, (ells, log_wrong) = jax.lax.scan(step, jnp.zeros((), sigma.dtype), None, length=horizon)
  log_surv = jnp.concatenate([jnp.zeros((1,), jnp.float64), jnp.cumsum(log_wrong)])
  ells = jnp.concatenate([ells, last[None]])
  surv = jnp.exp(log_surv)
  return FirstReportLaw(surv, ells, jnp.cumsum(surv))


def first_report_survival(horizon: int, sigma: float, epsilon: float) -> FirstReportLaw:
  """P(τ > k) for k = 0..horizon, τ the first correct report (θ = +1; θ = −1 is the mirror image).

  τ > k iff the first k reports are all wrong, and the public LLR along that event is deterministic, so
  P(τ > k) = ∏_{j<k} P(x = −1 | θ = +1, ℓ_j) with ℓ_{j+1} = ℓ_j + Δ₋(ℓ_j), ℓ_0 = 0 (``lax.scan``, float64).
  ``sigma``, ``epsilon``: Python numbers or JAX scalars (the law is smooth in both).
  """
  fn = "first_report_survival"
  horizon = check_count("horizon", horizon, fn=fn)
  sigma, eps = check_sigma(sigma, fn), check_epsilon(epsilon, fn)
  with jax.enable_x64(True):
    return _first_report_law(jnp.asarray(sigma, jnp.float64), jnp.asarray(eps, jnp.float64), horizon=horizon)


# ---------------------------------------------------------------------------------------------------
# Simulation.


class ContinuousPaths(NamedTuple):
  """Simulated paths (leading dims ``[...]`` = the key batch; ``[]`` for one path).

  llr: [..., n_agents // record_every] float64, ℓ_{n+1} after agents n = record_every, 2·record_every, …
  first_correct_action: [...] int32, inf{n : a_n = θ} (0 if none within the horizon: censored).
  first_correct_report: [...] int32, inf{n : x_n = θ} (0 if censored).
  wrong_actions: [...] int32, #{n : a_n ≠ θ} within the horizon.
  wrong_reports: [...] int32, #{n : x_n ≠ θ} within the horizon.
  """
  llr: Array
  first_correct_action: Array
  first_correct_report: Array
  wrong_actions: Array
  wrong_reports: Array


def _simulate(key: Array, sigma: Array, epsilon: Array, theta: Array, *, n_blocks: int, record_every: int):
  zero = jnp.zeros((), jnp.int32)

  def agent(carry, noise):
    ell, n, fca, fcr, wa, wr = carry
    z, u = noise
    s = theta + sigma * z
    t = -0.5 * sigma * sigma * ell
    a = jnp.where(s > t, 1, -1)
    flip = u < flip_prob(s - t, epsilon)
    x = jnp.where(flip, -a, a)
    n = n + 1
    fca = jnp.where((fca == 0) & (a == theta), n, fca)
    fcr = jnp.where((fcr == 0) & (x == theta), n, fcr)
    ell = ell + llr_increment(ell, x.astype(ell.dtype), sigma, epsilon)
    return (ell, n, fca, fcr, wa + (a != theta), wr + (x != theta)), None

  def block(carry, b):
    kz, ku = jax.random.split(jax.random.fold_in(key, b))
    noise = (jax.random.normal(kz, (record_every,), jnp.float64),
             jax.random.uniform(ku, (record_every,), jnp.float64))
    carry, _ = jax.lax.scan(agent, carry, noise)
    return carry, carry[0]

  init = (jnp.zeros((), jnp.float64), zero, zero, zero, zero, zero)
  (_, _, fca, fcr, wa, wr), llr = jax.lax.scan(block, init, jnp.arange(n_blocks))
  return ContinuousPaths(llr, fca, fcr, wa, wr)


def simulate(key: Array, n_agents: int, sigma: float = 1.0, epsilon: float = math.inf, theta: int = 1,
             record_every: int = 1) -> ContinuousPaths:
  """One path of ``n_agents`` agents with smooth randomized response (ε = ∞: non-private).

  ``n_agents`` must be a multiple of ``record_every``; ℓ is recorded after every ``record_every`` agents.
  Float64 (scoped). Returns a :class:`ContinuousPaths` with scalar counters.
  """
  fn = "simulate"
  n_agents, record_every = check_count("n_agents", n_agents, fn=fn), check_count("record_every", record_every, fn=fn)
  if n_agents % record_every:
    raise ValueError(f"{fn}: n_agents: expected a multiple of record_every={record_every}, got {n_agents}")
  keys = checked_key(key, fn)[None]
  with jax.enable_x64(True):
    out = _simulate_batch(keys, *traced_params(sigma, epsilon, theta, fn), n_blocks=n_agents // record_every,
                          record_every=record_every)
    return jax.tree.map(lambda a: a[0], out)


def simulate_paths(key: Array, n_paths: int, n_agents: int, sigma: float = 1.0, epsilon: float = math.inf,
                   theta: int = 1, record_every: int = 1) -> ContinuousPaths:
  """``n_paths`` independent paths (``vmap`` over split keys); fields gain a leading ``[paths]`` dim."""
  fn = "simulate_paths"
  n_paths, n_agents = check_count("n_paths", n_paths, fn=fn), check_count("n_agents", n_agents, fn=fn)
  record_every = check_count("record_every", record_every, fn=fn)
  if n_agents % record_every:
    raise ValueError(f"{fn}: n_agents: expected a multiple of record_every={record_every}, got {n_agents}")
  key = checked_key(key, fn)
  with jax.enable_x64(True):
    params = traced_params(sigma, epsilon, theta, fn)
  keys = jax.random.split(key, n_paths)
  with jax.enable_x64(True):
    return _simulate_batch(keys, *params, n_blocks=n_agents // record_every, record_every=record_every)


def traced_params(sigma, epsilon, theta, fn: str) -> tuple[Array, Array, Array]:
  """Validated parameters as float64 scalars (one compilation serves every σ, ε ≤ ∞ and θ). The simulators
  and the Bellman solver that use them have discrete decisions (reports, stopping, grid cells):
  differentiating with respect to σ or ε raises a ``TypeError`` naming ``fn``."""
  sigma, eps, theta = check_sigma(sigma, fn), check_epsilon(epsilon, fn), check_theta(theta, fn)
  vals = jnp.asarray(sigma, jnp.float64), jnp.asarray(eps, jnp.float64)
  if any(isinstance(v, jax.Array) for v in (sigma, eps)):
    vals = no_grad(vals, f"theory.dp_sequential.{fn}")
  return (*vals, jnp.float64(theta))


def flip_prob(distance: Array, eps: Array) -> Array:
  """½e^{−ε|distance|} for a traced ε, 0 where ε = ∞ (internal; ``flip_probability`` is the public form)."""
  private = jnp.isfinite(eps)
  return jnp.where(private, 0.5 * jnp.exp(-jnp.where(private, eps, 1.0) * jnp.abs(distance)), 0.0)


@functools.partial(jax.jit, static_argnames=("n_blocks", "record_every"))
def _simulate_batch(keys: Array, sigma: Array, epsilon: Array, theta: Array, **kw):
  return jax.vmap(lambda k: _simulate(k, sigma, epsilon, theta, **kw))(keys)


def checked_key(key, fn: str | None = None) -> Array:
  """``key`` if it is a single PRNG key (``jax.random.key`` or ``PRNGKey``): a ``TypeError`` naming ``fn`` and
  ``key`` otherwise (:func:`kernels.common.checks.check_key`), a ``ValueError`` for a batch of typed keys."""
  check_key(key, "key", fn or "checked_key")
  if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) and key.shape != ():
    raise ValueError(f"{privacy.at(fn, 'key')}: expected a single key, got shape {key.shape}")
  return key
