"""Sequential learning with binary private signals and randomized response: information cascades.

Paper: "Differentially Private Sequential Learning", Yuxin Liu and M. Amin Rahimian (FORC 2025),
arXiv:2502.19525 (the binary-signal section: privacy hinders learning; cascade thresholds jump at
specific ε).

Model. θ ∈ {−1, +1} (prior ½); agent n gets a private bit s_n = θ with probability p ∈ (½, 1) (else −θ),
whose LLR is ±L_p, L_p = log(p/(1 − p)). The public LLR ℓ_n comes from the reports x_1..x_{n−1}.

- Before a cascade (|ℓ_n| ≤ L_p) the Bayes action is the own signal (ties, |ℓ| = L_p against the
  signal, follow the signal, as in the non-private cascade with threshold 2) and the agent reports it
  through ε-DP randomized response: flipped with probability u = 1/(1 + e^ε) (the shared
  ``theory.common.privacy.randomized_response``). A report is then correct with probability
  q = p(1 − u) + (1 − p)u (``report_accuracy``) and moves ℓ by ±L_q, L_q = log(q/(1 − q)).
- Once |ℓ| > L_p the action no longer depends on the signal (a cascade): it is reported as is (a constant
  needs no noise) and ℓ freezes.
- So the net count of ± reports is a ±1 random walk (up-probability q under θ = +1) absorbed at ±k,
  k(ε) = min{d : d·L_q > L_p} (``cascade_threshold``), and by gambler's ruin
  P(correct cascade) = 1/(1 + ((1 − q)/q)^k) (``correct_cascade_probability``). Non-private: q = p, k = 2.
- k(ε) steps from k − 1 up to k as ε decreases through ε_k, where (k − 1)·L_q = L_p:
  q* = 1/(1 + α^{1/(k−1)}), α = (1 − p)/p, u* = (p − q*)/(2p − 1), ε_k = log((1 − u*)/u*)
  (``switch_point``; algebraically the same as the transition formula of the authors' released script).
  k(ε) = k − 1 for ε > ε_k and k on (ε_{k+1}, ε_k]. P(correct cascade) jumps up at each ε_k as ε decreases,
  so it is not monotone in ε, but it stays below the non-private p²/(p² + (1 − p)²).

``simulate`` runs the agents with the Bayesian rule above (``lax.scan`` over agents, float64 public LLR;
the threshold k is not used there, it emerges from the comparison |ℓ| ≤ L_p) and ``simulate_paths``
``vmap``s it over keys.
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
from theory.common.privacy import randomized_response
from theory.dp_sequential.continuous import checked_key, check_count, check_epsilon, check_theta

Array = jax.Array
_TIE = 1e-9   # relative tolerance of the tie |ℓ| = L_p (ℓ is a float sum of ±L_q)


def check_p(p, fn: str | None = None):
  """p in (½, 1): a Python float, or a 0-d JAX array (range-checked when concrete)."""
  return privacy.check_real("p", p, fn, lambda v: 0.5 < v < 1.0, "a signal accuracy in (0.5, 1)")


def _flip(eps, ops):
  if ops is privacy.HOST:
    return 0.0 if math.isinf(eps) else math.exp(-eps) / (1.0 + math.exp(-eps))
  return jax.nn.sigmoid(-eps)    # 0 at ε = ∞


def flip_probability(epsilon):
  """u = 1/(1 + e^ε): randomized response's flip probability (0 for ε = ∞); host float64 (JAX scalars:
  a JAX scalar, differentiable)."""
  eps = check_epsilon(epsilon, "flip_probability")
  return _flip(eps, privacy.ops_for(eps))


def _accuracy(eps, p, ops):
  u = _flip(eps, ops)
  return p * (1.0 - u) + (1.0 - p) * u


def report_accuracy(epsilon, p):
  """q = p(1 − u) + (1 − p)u: probability that a pre-cascade report equals θ."""
  fn = "report_accuracy"
  eps, p = check_epsilon(epsilon, fn), check_p(p, fn)
  return _accuracy(eps, p, privacy.ops_for(eps, p))


def _threshold(eps, p, ops):
  q = _accuracy(eps, p, ops)
  ratio = ops.log(p / (1 - p)) / ops.log(q / (1 - q))
  if ops is privacy.HOST:
    return int(math.floor(ratio * (1 + _TIE))) + 1
  return jax.lax.stop_gradient(jnp.floor(ratio * (1 + _TIE))).astype(jnp.int32) + 1


def cascade_threshold(epsilon, p):
  """k(ε) = min{d ≥ 1 : d·L_q > L_p}: the net number of reports that starts a cascade (an int; an int32 JAX
  scalar for JAX inputs, whose derivative raises a ``TypeError``)."""
  fn = "cascade_threshold"
  eps, p = check_epsilon(epsilon, fn), check_p(p, fn)
  ops = privacy.ops_for(eps, p)
  if ops is privacy.JAX:
    eps, p = no_grad((jnp.asarray(eps), jnp.asarray(p)), f"theory.dp_sequential.{fn}")
  return _threshold(eps, p, ops)


def correct_cascade_probability(epsilon, p):
  """Gambler's ruin: 1/(1 + ((1 − q)/q)^k) with k = k(ε) (smooth in ε and p between the switch points)."""
  fn = "correct_cascade_probability"
  eps, p = check_epsilon(epsilon, fn), check_p(p, fn)
  ops = privacy.ops_for(eps, p)
  q = _accuracy(eps, p, ops)
  return 1.0 / (1.0 + ((1 - q) / q) ** _threshold(eps, p, ops))


def nonprivate_cascade_probability(p):
  """p²/(p² + (1 − p)²): the ε = ∞ value (q = p, k = 2)."""
  p = check_p(p, "nonprivate_cascade_probability")
  return p * p / (p * p + (1 - p) ** 2)


def _switch_point(k: int, p, ops):
  alpha = (1 - p) / p
  q_star = 1.0 / (1.0 + alpha ** (1.0 / (k - 1)))
  u_star = (p - q_star) / (2 * p - 1)
  return ops.log((1 - u_star) / u_star)


def switch_point(k: int, p):
  """ε_k: for ε > ε_k the cascade threshold is at most k − 1, at ε = ε_k it becomes k (k ≥ 3)."""
  fn = "switch_point"
  k, p = check_count("k", k, 3, fn=fn), check_p(p, fn)
  return _switch_point(k, p, privacy.ops_for(p))


def switch_points(p, k_max: int = 6):
  """[ε_3, …, ε_{k_max}] (decreasing): a numpy array (a JAX array for a JAX ``p``)."""
  fn = "switch_points"
  p = check_p(p, fn)
  ks = range(3, check_count("k_max", k_max, 3, fn=fn) + 1)
  ops = privacy.ops_for(p)
  if ops is privacy.JAX:
    return jnp.stack([_switch_point(k, p, ops) for k in ks])
  return np.array([_switch_point(k, p, ops) for k in ks])


class BinaryPaths(NamedTuple):
  """Simulated paths (leading dims ``[...]`` = the key batch).

  cascade_action: [...] int32, the action of the cascade (±1), 0 if none formed within the horizon.
  cascade_time: [...] int32, the first agent in the cascade (0 if none).
  net_reports: [...] int32, |ℓ|/L_q when the cascade formed (the emergent threshold), 0 if none.
  correct_reports: [...] int32, number of reports equal to θ.
  """
  cascade_action: Array
  cascade_time: Array
  net_reports: Array
  correct_reports: Array


@functools.partial(jax.jit, static_argnames=("n_agents",))
def _simulate(keys, p, epsilon, l_p, l_q, theta, *, n_agents: int):
  def one(key):
    def agent(carry, n):
      ell, c_act, c_time, net, correct = carry
      ks, kr = jax.random.split(jax.random.fold_in(key, n))
      sig = jnp.where(jax.random.bernoulli(ks, p), theta, -theta)
      informative = jnp.abs(ell) <= l_p * (1 + _TIE)
      action = jnp.where(informative, sig, jnp.sign(ell).astype(jnp.int32))
      noisy = 2 * randomized_response(kr, (action > 0).astype(jnp.int32), epsilon.astype(jnp.float32)) - 1
      report = jnp.where(informative, noisy, action)
      starts = (~informative) & (c_time == 0)
      c_act = jnp.where(starts, action, c_act)
      c_time = jnp.where(starts, n + 1, c_time)
      net = jnp.where(starts, jnp.round(jnp.abs(ell) / l_q).astype(jnp.int32), net)
      ell = ell + jnp.where(informative, report * l_q, 0.0)
      return (ell, c_act, c_time, net, correct + (report == theta)), None

    zero = jnp.zeros((), jnp.int32)
    (_, c_act, c_time, net, correct), _ = jax.lax.scan(agent, (jnp.zeros((), jnp.float64), zero, zero, zero, zero),
                                                       jnp.arange(n_agents, dtype=jnp.int32))
    return BinaryPaths(c_act, c_time, net, correct)

  return jax.vmap(one)(keys)


def simulate_paths(key: Array, n_paths: int, n_agents: int, p: float, epsilon=math.inf, theta: int = 1) -> BinaryPaths:
  """``n_paths`` independent runs of ``n_agents`` agents (``vmap`` over keys, ``lax.scan`` over agents)."""
  fn = "binary.simulate_paths"
  n_paths, n_agents = check_count("n_paths", n_paths, fn=fn), check_count("n_agents", n_agents, fn=fn)
  for name, v in (("p", p), ("epsilon", epsilon)):
    if privacy.is_traced(v):
      raise TypeError(f"{fn}: {name}: expected a concrete number, got a traced value: the simulated cascades "
                      "are integer-valued and not differentiable")
  p, eps, theta = float(check_p(p, fn)), float(check_epsilon(epsilon, fn)), check_theta(theta, fn)
  q = report_accuracy(eps, p)
  keys = jax.random.split(checked_key(key, fn), n_paths)
  with jax.enable_x64(True):
    return _simulate(keys, jnp.float64(p), jnp.float64(min(eps, 1e3)), jnp.float64(math.log(p / (1 - p))),
                     jnp.float64(math.log(q / (1 - q))), jnp.int32(theta), n_agents=n_agents)
