"""Maximum-likelihood fit of the Gaussian MoE by EM (Jordan & Jacobs), float64, jit-compiled, vmapped.

Papers: [03] Nguyen, Akbarian, Ho, "Is Temperature Sample Efficient for Softmax Gaussian Mixture of Experts?"
(ICML 2024, arXiv:2401.13875); [04] Nguyen, Akbarian, Yan, Ho, "Statistical Perspective of Top-K Sparse
Softmax Gating Mixture of Experts" (ICLR 2024, arXiv:2309.13850). Both analyse the MLE; neither prescribes
an optimiser. This is a generalised EM:

  E-step   r_ij = g_j(x_i) N(y_i; a_j^T x_i + b_j, nu_j) / p_G(y_i | x_i)
  M-step   experts: weighted least squares for (a_j, b_j) with weights r_ij, and
           nu_j = sum_i r_ij (y_i - a_j^T x_i - b_j)^2 / sum_i r_ij (closed form; an expert with no
           responsibility keeps its parameters);
           gate: one IRLS (Fisher-scoring) step on Q(theta_g) = (1/n) sum_ij r_ij log g_j(x_i; theta_g) over the
           free gate coordinates theta_g = (beta_0[:k-1], beta_1[:k-1], log tau) (the last expert is the
           translation reference; log tau only for the temperature / activation gates). With J_i = d logits_i /
           d theta_g the scoring matrix is F = sum_i w_i J_i^T (diag g_i - g_i g_i^T) J_i (the exact negative
           Hessian when the logits are linear in theta_g), and the step is Levenberg-Marquardt:
           (max(eig F, 0) + lambda)^-1 gradient with lambda = 1e-4 x the largest eigenvalue (the
           linear temperature gate has an exactly flat direction, the (beta_1, tau) scale symmetry), halved
           until Q (with the top-K mask recomputed at the candidate) strictly increases, or not taken. So Q
           never decreases and the log-likelihood is non-decreasing (the usual GEM argument).

Stops when the mean log-likelihood changes by less than ``tol`` or after ``max_iter`` iterations.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import is_concrete
from theory.moe.model import MoEParams, check_gate, check_params, gate_logits, log_joint

DAMPING = 1e-4      # Levenberg-Marquardt damping, relative to the largest curvature
MAX_HALVINGS = 40
NU_FLOOR = 1e-8


class EMResult(NamedTuple):
  """EM output (a leading [R] axis on every field when fitted in a batch).

  Attributes:
    params: the fitted MoEParams.
    loglik: [] final mean log-likelihood (1/n) sum_i log p(y_i | x_i).
    n_iter: [] iterations run.
    trace: [max_iter + 1] mean log-likelihood after 0, 1, ... iterations (NaN after the stop).
  """
  params: MoEParams
  loglik: jax.Array
  n_iter: jax.Array
  trace: jax.Array


def _has_tau(gate: str) -> bool:
  return gate in ("temperature", "activation")


def gate_vec(params: MoEParams, gate: str) -> jax.Array:
  """The free gate coordinates (beta0, beta1 of the non-reference experts, then log tau for DTS gates) as one
  vector (package-internal: EM's gate step and ``losses.free_vector``)."""
  parts = [params.beta0[:-1], params.beta1[:-1].ravel()]
  if _has_tau(gate):
    parts.append(params.log_tau[None])
  return jnp.concatenate(parts)


def with_gate_vec(params: MoEParams, v: jax.Array, gate: str) -> MoEParams:
  """Inverse of :func:`gate_vec`: ``params`` with its free gate coordinates replaced by ``v`` (package-internal)."""
  k, d = params.beta1.shape
  beta0 = jnp.asarray(params.beta0).at[:-1].set(v[:k - 1])
  beta1 = jnp.asarray(params.beta1).at[:-1].set(v[k - 1:(k - 1) * (d + 1)].reshape(k - 1, d))
  log_tau = v[-1] if _has_tau(gate) else params.log_tau
  return params._replace(beta0=beta0, beta1=beta1, log_tau=log_tau)


def _expert_step(params: MoEParams, x, y, r) -> MoEParams:
  n, d = x.shape
  phi = jnp.concatenate([x, jnp.ones((n, 1), x.dtype)], axis=1)            # [n, d+1]
  gram = jnp.einsum("nk,np,nq->kpq", r, phi, phi)                           # [k, d+1, d+1]
  rhs = jnp.einsum("nk,np,n->kp", r, phi, y)                                 # [k, d+1]
  rs = jnp.sum(r, axis=0)                                                    # [k]
  scale = jnp.maximum(jnp.trace(gram, axis1=1, axis2=2), 1.0)
  ridge = 1e-12 * scale[:, None, None] * jnp.eye(d + 1, dtype=x.dtype)
  theta = jnp.linalg.solve(gram + ridge, rhs[..., None])[..., 0]             # [k, d+1]
  resid2 = (y[:, None] - phi @ theta.T) ** 2
  nu = jnp.sum(r * resid2, axis=0) / jnp.maximum(rs, 1e-300)
  ok = rs > 1e-6 * (d + 2)   # an expert the data never route to keeps its parameters
  a = jnp.where(ok[:, None], theta[:, :d], params.a)
  b = jnp.where(ok, theta[:, d], params.b)
  log_nu = jnp.where(ok, jnp.log(jnp.maximum(nu, NU_FLOOR)), params.log_nu)
  return params._replace(a=a, b=b, log_nu=log_nu)


def _gate_step(params: MoEParams, x, r, gate: str, top_k) -> MoEParams:
  """One IRLS (Fisher-scoring) step on the gate part of the EM objective, with step halving.

  r: [n, k] responsibilities already multiplied by the sample weights.
  """
  total = jnp.sum(r)
  logits = lambda v: gate_logits(with_gate_vec(params, v, gate), x, gate, top_k)     # [n, k]

  def q(v):
    lg = jax.nn.log_softmax(logits(v), axis=-1)
    return jnp.sum(jnp.where(r > 0, r * lg, 0.0)) / total

  v0 = gate_vec(params, gate)
  l0 = logits(v0)
  jac = jax.jacfwd(logits)(v0)                                   # [n, k, p]
  g = jax.nn.softmax(l0, axis=-1)                                # [n, k]
  wi = jnp.sum(r, axis=1)                                        # [n]
  grad = jnp.einsum("nk,nkp->p", r - wi[:, None] * g, jac) / total
  mean_j = jnp.einsum("nk,nkp->np", g, jac)                      # [n, p]
  fisher = (jnp.einsum("n,nk,nkp,nkq->pq", wi, g, jac, jac) - jnp.einsum("n,np,nq->pq", wi, mean_j, mean_j)) / total
  e, vecs = jnp.linalg.eigh(0.5 * (fisher + fisher.T))
  lam = DAMPING * jnp.maximum(jnp.max(jnp.abs(e)), 1e-12)
  step = vecs @ ((vecs.T @ grad) / (jnp.maximum(e, 0.0) + lam))  # Levenberg-Marquardt-damped scoring step
  q0 = q(v0)

  def cond(state):
    j, accepted, _ = state
    return (~accepted) & (j < MAX_HALVINGS)

  def body(state):
    j, _, _ = state
    cand = v0 + (0.5 ** j) * step
    qc = q(cand)
    return j + 1, jnp.isfinite(qc) & (qc > q0), cand

  _, accepted, cand = jax.lax.while_loop(cond, body, (jnp.asarray(0), jnp.asarray(False), v0))
  return with_gate_vec(params, jnp.where(accepted, cand, v0), gate)


def _fit(x, y, w, init: MoEParams, gate: str, top_k, max_iter: int, tol: float) -> EMResult:
  wsum = jnp.sum(w)

  def loglik(p):
    return jnp.sum(w * jax.nn.logsumexp(log_joint(p, x, y, gate, top_k), axis=-1)) / wsum

  def body(state):
    t, p, _, ll, trace = state
    lj = log_joint(p, x, y, gate, top_k)
    r = w[:, None] * jnp.exp(lj - jax.nn.logsumexp(lj, axis=-1, keepdims=True))
    p = _expert_step(p, x, y, r)
    p = _gate_step(p, x, r, gate, top_k)
    ll_new = loglik(p)
    return t + 1, p, ll, ll_new, trace.at[t + 1].set(ll_new)

  def cond(state):
    t, _, ll_old, ll, _ = state
    return (t < max_iter) & ((t == 0) | (jnp.abs(ll - ll_old) > tol))

  ll0 = loglik(init)
  trace = jnp.full((max_iter + 1,), jnp.nan, x.dtype).at[0].set(ll0)
  t, p, _, ll, trace = jax.lax.while_loop(cond, body, (jnp.asarray(0), init, ll0, ll0, trace))
  return EMResult(p, ll, t, trace)


@functools.partial(jax.jit, static_argnums=(4, 6))
def _fit_batch(x, y, w, init, gate, top_k, max_iter, tol):
  """top_k is traced (one compilation serves every K); gate and max_iter are static."""
  return jax.vmap(lambda xx, yy, ww, pp: _fit(xx, yy, ww, pp, gate, top_k, max_iter, tol))(x, y, w, init)


def fit_em(x, y, init: MoEParams, gate: str, top_k: int | None = None, max_iter: int = 500,
           tol: float = 1e-10, weights=None) -> EMResult:
  """Fits the MoE by EM from ``init``; float64 (enters ``jax.enable_x64(True)`` itself).

  Single data set: x [n, d], y [n], init fields without batch axis. Replications: x [R, n, d], y [R, n] and
  every init field with a leading [R] axis (vmapped). ``weights`` ([n] or [R, n], >= 0, default all ones)
  weight each sample's log-likelihood; zero weights let samples of different sizes share one padded shape
  (one compilation). The reported log-likelihoods are weighted means sum_i w_i log p(y_i|x_i) / sum_i w_i.
  Returns EMResult of numpy float64 arrays (batched like the inputs).

  A host-level fit: it compiles itself and returns numpy, so it cannot run under ``jit``/``vmap`` and is not
  differentiable (the MLE's derivative in the data would need the implicit function theorem, not unrolled EM):
  traced inputs raise ``TypeError``.
  """
  for name, v in (("x", x), ("y", y), ("init", init), ("weights", weights)):
    if not all(is_concrete(leaf) for leaf in jax.tree.leaves(v)):
      raise TypeError(f"fit_em: {name}: expected concrete arrays, got a traced value: fit_em is not "
                      "differentiable or traceable (a host-level EM fit that compiles itself and returns numpy)")
  if not isinstance(init, MoEParams):
    raise TypeError(f"fit_em: init: expected MoEParams, got {type(init).__name__}")
  with jax.enable_x64(True):
    x = jnp.asarray(x, jnp.float64)
    y = jnp.asarray(y, jnp.float64)
    if x.ndim not in (2, 3) or y.ndim != x.ndim - 1 or y.shape != x.shape[:-1]:
      raise ValueError(f"x, y: expected [n, d] and [n] (or [R, n, d] and [R, n]), got {x.shape} and {y.shape}")
    if y.shape[-1] < 1:
      raise ValueError(f"fit_em: x, y: expected at least one sample (n >= 1), got shapes {x.shape} and {y.shape}")
    w = jnp.ones(y.shape, jnp.float64) if weights is None else jnp.asarray(weights, jnp.float64)
    if w.shape != y.shape:
      raise ValueError(f"weights: expected shape {list(y.shape)} (like y), got {list(w.shape)}")
    if not bool(jnp.all(w >= 0)) or not bool(jnp.all(jnp.sum(w, axis=-1) > 0)):
      raise ValueError("weights: expected non-negative values with a positive sum per data set")
    batched = x.ndim == 3
    init = MoEParams(*(jnp.asarray(v, jnp.float64) for v in init))
    if batched and any(np.shape(v)[:1] != (x.shape[0],) for v in init):
      raise ValueError(f"init: expected a leading replication axis of size R={x.shape[0]} on every field")
    probe = MoEParams(*(v[0] for v in init)) if batched else init
    k, d = check_params(probe)
    check_gate(gate, top_k, k)
    if x.shape[-1] != d:
      raise ValueError(f"x: expected last dimension d={d} (from init.beta1), got {x.shape[-1]}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
      raise ValueError(f"max_iter: expected a positive int, got {max_iter!r}")
    if not tol >= 0:
      raise ValueError(f"tol: expected >= 0, got {tol!r}")
    top_k = jnp.int32(top_k) if gate == "topk" else None
    if not batched:
      res = _fit_batch(x[None], y[None], w[None], MoEParams(*(v[None] for v in init)), gate, top_k,
                       int(max_iter), jnp.float64(tol))
      return jax.tree.map(lambda v: np.asarray(v[0]), res)
    return jax.tree.map(np.asarray, _fit_batch(x, y, w, init, gate, top_k, int(max_iter), jnp.float64(tol)))

