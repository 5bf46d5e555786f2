"""Gaussian mixture of experts with linear-Gaussian experts and four gates; exact sampling.

Papers:
  [03] "Is Temperature Sample Efficient for Softmax Gaussian Mixture of Experts?", H. Nguyen, P. Akbarian,
       N. Ho (ICML 2024), arXiv:2401.13875.
  [04] "Statistical Perspective of Top-K Sparse Softmax Gating Mixture of Experts", H. Nguyen, P. Akbarian,
       F. Yan, N. Ho (ICLR 2024), arXiv:2309.13850.

Conditional density (both papers, with expert i = N(y; a_i^T x + b_i, nu_i), nu_i a variance):

  p_G(y | x) = sum_{i=1..k} g_i(x) N(y; a_i^T x + b_i, nu_i)

with the gate g(x) one of (``GATES``):
  "softmax"      g = softmax(beta_1^T x + beta_0)                                   (plain dense softmax)
  "temperature"  g = softmax(beta_1^T x / tau + beta_0)                             ([03] linear dense-to-sparse gate)
  "activation"   g = softmax(tanh(beta_1^T x) / tau + beta_0)                       ([03] activation DTS gate, sigma = tanh)
  "topk"         g = softmax(TopK(beta_1^T x, K; beta_0)),  TopK(v)_i = v_i + beta_0i if v_i is among the K
                 largest entries of v = (beta_1j^T x)_j, else -inf                   ([04] eq. of the top-K gate)

The top-K gate ranks beta_1^T x alone and adds the bias afterwards ([04]'s form; ties go to the lower index).
Softmax is invariant to a common translation of the logits; the zoo's convention fixes the last expert's gate
(beta_0k, beta_1k) = 0, and EM (``theory.moe.em``) never moves it. tau and nu are stored as logs.

All functions are dtype-polymorphic; call them under ``jax.enable_x64(True)`` for float64 (the public entry
points in ``em``/``losses``/``experiment`` enter it themselves).

Inputs are validated at the boundary (shapes and dtypes, at trace time, so also under jit): ``params`` a
``MoEParams`` of consistent shapes, ``x: [n, d]`` floating with d from ``params``, ``y: [n]`` floating, ``gate`` in
``GATES`` and, for "topk", ``top_k`` an int in [1, k] (a traced 0-d integer ``top_k`` is accepted unchecked: outside
[1, k] the gate keeps no or every expert). ``log_likelihood`` needs n >= 1. The functions of this module are
differentiable in ``params`` and ``x`` (the top-K gate's selection is piecewise constant: derivatives flow through
the kept logits); ``sample`` is differentiable (pathwise) in the expert parameters ``a``, ``b``, ``log_nu`` only:
its draws depend on the gate parameters through a categorical choice, so differentiating them raises ``TypeError``
(``kernels.common.checks.no_grad``) instead of returning a silent zero. ``make_params`` is a host-side
constructor (it validates values) and refuses traced inputs.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import is_concrete, no_grad

GATES = ("softmax", "temperature", "activation", "topk")
LOG_2PI = float(np.log(2.0 * np.pi))
DROPPED = -1e30   # logit of an expert the top-K gate drops: exp underflows to exactly 0, gradients stay finite


class MoEParams(NamedTuple):
  """Parameters of a k-expert Gaussian MoE on inputs of dimension d.

  Attributes:
    beta0: [k] gate intercepts.
    beta1: [k, d] gate slopes.
    log_tau: [] log temperature (shared by all experts; ignored by the "softmax" and "topk" gates).
    a: [k, d] expert slopes.
    b: [k] expert intercepts.
    log_nu: [k] log expert variances.
  """
  beta0: jax.Array
  beta1: jax.Array
  log_tau: jax.Array
  a: jax.Array
  b: jax.Array
  log_nu: jax.Array


def make_params(beta0, beta1, tau, a, b, nu, dtype=None) -> MoEParams:
  """MoEParams from natural-scale values (tau, nu > 0); validates shapes.

  beta0: [k], beta1: [k, d], tau: scalar, a: [k, d], b: [k], nu: [k].
  """
  for name, v in (("beta0", beta0), ("beta1", beta1), ("tau", tau), ("a", a), ("b", b), ("nu", nu)):
    if not all(is_concrete(leaf) for leaf in jax.tree.leaves(v)):
      raise TypeError(f"make_params: {name}: expected concrete values (a host-side constructor that validates "
                      "them; it is not traceable or differentiable): build MoEParams(beta0, beta1, log_tau, a, b, "
                      "log_nu) directly to differentiate")
  dtype = dtype or (jnp.float64 if jax.config.jax_enable_x64 else jnp.float32)
  beta0, beta1, a, b, nu = (np.asarray(v, np.float64) for v in (beta0, beta1, a, b, nu))
  if beta0.ndim != 1:
    raise ValueError(f"beta0: expected shape [k], got {beta0.shape}")
  k = beta0.shape[0]
  if beta1.ndim != 2 or beta1.shape[0] != k:
    raise ValueError(f"beta1: expected shape [k={k}, d], got {beta1.shape}")
  d = beta1.shape[1]
  for name, v, shape in (("a", a, (k, d)), ("b", b, (k,)), ("nu", nu, (k,))):
    if v.shape != shape:
      raise ValueError(f"{name}: expected shape {list(shape)}, got {list(v.shape)}")
  if not np.all(nu > 0):
    raise ValueError(f"nu: expected positive variances, got {nu}")
  if not (np.ndim(tau) == 0 and float(tau) > 0):
    raise ValueError(f"tau: expected a positive scalar, got {tau!r}")
  c = lambda v: jnp.asarray(v, dtype)
  return MoEParams(c(beta0), c(beta1), c(np.log(float(tau))), c(a), c(b), c(np.log(nu)))


def check_gate(gate: str, top_k: int | None, k: int) -> None:
  """Validates the gate name and, for "topk", 1 <= top_k <= k."""
  if gate not in GATES:
    raise ValueError(f"gate: expected one of {GATES}, got {gate!r}")
  if gate == "topk":
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or not 1 <= top_k <= k:
      raise ValueError(f"top_k: expected an int in [1, k={k}] for the topk gate, got {top_k!r}")


def check_params(params: MoEParams) -> tuple[int, int]:
  """Validates a MoEParams' shapes; returns (k, d)."""
  if not isinstance(params, MoEParams):
    raise TypeError(f"params: expected MoEParams, got {type(params).__name__}")
  k = np.shape(params.beta0)[0] if np.ndim(params.beta0) == 1 else None
  if k is None:
    raise ValueError(f"params.beta0: expected shape [k], got {np.shape(params.beta0)}")
  if np.ndim(params.beta1) != 2 or np.shape(params.beta1)[0] != k:
    raise ValueError(f"params.beta1: expected shape [k={k}, d], got {np.shape(params.beta1)}")
  d = np.shape(params.beta1)[1]
  for name, shape in (("a", (k, d)), ("b", (k,)), ("log_nu", (k,)), ("log_tau", ())):
    if tuple(np.shape(getattr(params, name))) != shape:
      raise ValueError(f"params.{name}: expected shape {list(shape)}, got {list(np.shape(getattr(params, name)))}")
  return k, d


def _check_top_k(top_k, k: int, fn: str) -> None:
  """top_k: a Python int in [1, k], or a 0-d integer array (checked when concrete)."""
  if hasattr(top_k, "dtype") and np.ndim(top_k) == 0 and jnp.issubdtype(top_k.dtype, jnp.integer):
    if not is_concrete(top_k) or 1 <= int(top_k) <= k:
      return
  elif not isinstance(top_k, bool) and isinstance(top_k, (int, np.integer)) and 1 <= top_k <= k:
    return
  raise ValueError(f"{fn}: top_k: expected an int in [1, k={k}] for the topk gate, got {top_k!r}")


def _check_gate_k(gate, top_k, k: int, fn: str) -> None:
  if not isinstance(gate, str) or gate not in GATES:
    raise ValueError(f"{fn}: gate: expected one of {GATES}, got {gate!r}")
  if gate == "topk":
    _check_top_k(top_k, k, fn)


def _check_float(v, name: str, fn: str) -> None:
  if not hasattr(v, "shape") or not hasattr(v, "dtype"):
    raise TypeError(f"{fn}: {name}: expected an array, got {type(v).__name__}")
  if not jnp.issubdtype(v.dtype, jnp.floating):
    raise TypeError(f"{fn}: {name}: expected a floating dtype, got {v.dtype}")


def _check_xy(params: MoEParams, x, y, fn: str) -> tuple[int, int]:
  """Validates params, x [n, d] and (unless None) y [n]; returns (k, d)."""
  k, d = check_params(params)
  _check_float(x, "x", fn)
  if x.ndim != 2 or x.shape[1] != d:
    raise ValueError(f"{fn}: x: expected shape [n, d={d}] (d from params.beta1), got {tuple(x.shape)}")
  if y is not None:
    _check_float(y, "y", fn)
    if tuple(y.shape) != (x.shape[0],):
      raise ValueError(f"{fn}: y: expected shape [n={x.shape[0]}] (like x's rows), got {tuple(y.shape)}")
  return k, d


def topk_mask(scores: jax.Array, top_k: int) -> jax.Array:
  """Boolean mask of the top_k largest scores along the last axis (ties: lower index first).

  scores: [..., k] floating -> [..., k] bool with exactly top_k True per row (a selection: bool, so jax.grad
  refuses it).
  """
  _check_float(scores, "scores", "topk_mask")
  if scores.ndim < 1:
    raise ValueError(f"topk_mask: scores: expected shape [..., k], got {tuple(scores.shape)}")
  _check_top_k(top_k, scores.shape[-1], "topk_mask")
  k = scores.shape[-1]
  idx = jnp.arange(k)
  si, sj = scores[..., :, None], scores[..., None, :]
  beats = (sj > si) | ((sj == si) & (idx[None, :] < idx[:, None]))   # [..., i, j]: j ranks above i
  return jnp.sum(beats, axis=-1) < top_k


def gate_logits(params: MoEParams, x: jax.Array, gate: str, top_k: int | None = None) -> jax.Array:
  """Gate logits (log of unnormalised gate weights); ``DROPPED`` (-1e30) for experts the top-K gate drops.

  x: [n, d] -> [n, k].
  """
  _check_gate_input(params, x, gate, top_k, "gate_logits")
  return _logits(params, x, gate, top_k)


def _check_gate_input(params, x, gate, top_k, fn: str) -> None:
  k, _ = _check_xy(params, x, None, fn)
  _check_gate_k(gate, top_k, k, fn)


def _logits(params: MoEParams, x: jax.Array, gate: str, top_k) -> jax.Array:
  s = x @ params.beta1.T                                        # [n, k]
  if gate == "softmax":
    return s + params.beta0
  if gate == "temperature":
    return s / jnp.exp(params.log_tau) + params.beta0
  if gate == "activation":
    return jnp.tanh(s) / jnp.exp(params.log_tau) + params.beta0
  if gate == "topk":
    return jnp.where(topk_mask(s, top_k), s + params.beta0, DROPPED)
  raise ValueError(f"gate: expected one of {GATES}, got {gate!r}")


def log_gate(params: MoEParams, x: jax.Array, gate: str, top_k: int | None = None) -> jax.Array:
  """log g(x): [n, d] -> [n, k] (rows log-sum-exp to 0; about -1e30 where the top-K gate drops an expert)."""
  _check_gate_input(params, x, gate, top_k, "log_gate")
  return jax.nn.log_softmax(_logits(params, x, gate, top_k), axis=-1)


def gate_probs(params: MoEParams, x: jax.Array, gate: str, top_k: int | None = None) -> jax.Array:
  """g(x): [n, d] -> [n, k], rows sum to 1."""
  _check_gate_input(params, x, gate, top_k, "gate_probs")
  return jax.nn.softmax(_logits(params, x, gate, top_k), axis=-1)


def expert_means(params: MoEParams, x: jax.Array) -> jax.Array:
  """a_i^T x + b_i: [n, d] -> [n, k]."""
  _check_xy(params, x, None, "expert_means")
  return x @ params.a.T + params.b


def log_expert(params: MoEParams, x: jax.Array, y: jax.Array) -> jax.Array:
  """log N(y; a_i^T x + b_i, nu_i): x [n, d], y [n] -> [n, k]."""
  _check_xy(params, x, y, "log_expert")
  resid = y[:, None] - expert_means(params, x)
  return -0.5 * (LOG_2PI + params.log_nu + resid ** 2 * jnp.exp(-params.log_nu))


def log_joint(params: MoEParams, x: jax.Array, y: jax.Array, gate: str, top_k: int | None = None) -> jax.Array:
  """log g_i(x) + log N(y; expert i): [n, k] (about -1e30 for dropped experts)."""
  _check_gate_k(gate, top_k, _check_xy(params, x, y, "log_joint")[0], "log_joint")
  return log_gate(params, x, gate, top_k) + log_expert(params, x, y)


def log_density(params: MoEParams, x: jax.Array, y: jax.Array, gate: str, top_k: int | None = None) -> jax.Array:
  """log p_G(y | x): x [n, d], y [n] -> [n]."""
  _check_gate_k(gate, top_k, _check_xy(params, x, y, "log_density")[0], "log_density")
  return jax.nn.logsumexp(log_joint(params, x, y, gate, top_k), axis=-1)


def log_likelihood(params: MoEParams, x: jax.Array, y: jax.Array, gate: str, top_k: int | None = None) -> jax.Array:
  """Mean conditional log-likelihood (1/n) sum_i log p_G(y_i | x_i): [] (n >= 1)."""
  _check_gate_k(gate, top_k, _check_xy(params, x, y, "log_likelihood")[0], "log_likelihood")
  if x.shape[0] < 1:
    raise ValueError("log_likelihood: x, y: expected at least one sample (n >= 1), got n = 0")
  return jnp.mean(log_density(params, x, y, gate, top_k))


def regression_mean(params: MoEParams, x: jax.Array, gate: str, top_k: int | None = None) -> jax.Array:
  """E[Y | x] = sum_i g_i(x) (a_i^T x + b_i): [n, d] -> [n]."""
  _check_gate_input(params, x, gate, top_k, "regression_mean")
  return jnp.sum(jax.nn.softmax(_logits(params, x, gate, top_k), axis=-1) * (x @ params.a.T + params.b), axis=-1)


def sample(key: jax.Array, params: MoEParams, n: int, gate: str, top_k: int | None = None,
           x_low: float = -1.0, x_high: float = 1.0) -> tuple[jax.Array, jax.Array]:
  """Exact draws (X, Y): X ~ U[x_low, x_high]^d, Z | X ~ Categorical(g(X)), Y | X, Z ~ N(a_Z^T X + b_Z, nu_Z).

  Returns x: [n, d], y: [n] in params' dtype. n must be a positive int (static). Differentiable (pathwise) in
  ``params.a``, ``params.b``, ``params.log_nu``; differentiating in the gate parameters (beta0, beta1, log_tau)
  raises TypeError: the draws depend on them only through the categorical choice of Z (piecewise constant).
  """
  k, d = check_params(params)
  check_gate(gate, top_k, k)
  if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
    raise ValueError(f"n: expected a positive int, got {n!r}")
  if not x_low < x_high:
    raise ValueError(f"x_low, x_high: expected x_low < x_high, got {x_low}, {x_high}")
  what = "theory.moe.sample in the gate parameters (beta0, beta1, log_tau)"
  params = params._replace(beta0=no_grad(params.beta0, what), beta1=no_grad(params.beta1, what),
                           log_tau=no_grad(params.log_tau, what))
  return sample_unchecked(key, params, int(n), gate, top_k, float(x_low), float(x_high))


@functools.partial(jax.jit, static_argnums=(2, 3, 4, 5, 6))
def sample_unchecked(key, params, n, gate, top_k, x_low, x_high):
  """:func:`sample` without its argument checks and gate-gradient guard (package-internal: the jitted body that
  ``experiment.sweep`` vmaps over replications). Returns ``(x [n, d], y [n])``."""
  d = params.beta1.shape[1]
  dtype = params.b.dtype
  kx, kz, ke = jax.random.split(key, 3)
  x = jax.random.uniform(kx, (n, d), dtype, x_low, x_high)
  z = jax.random.categorical(kz, gate_logits(params, x, gate, top_k), axis=-1)
  mean = jnp.take_along_axis(expert_means(params, x), z[:, None], axis=-1)[:, 0]
  y = mean + jnp.exp(0.5 * params.log_nu[z]) * jax.random.normal(ke, (n,), dtype)
  return x, y
