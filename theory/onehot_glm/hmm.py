"""Log-space forward-backward (E-step), the forward marginal likelihood and the Markov state sampler.

The chain: p(z_1) = p0 (uniform by default), p(z_{t+1} = j | z_t = i) = Pi[i, j]. Every recursion is a
``lax.scan`` over bins in log space (``logsumexp``), so long sequences do not underflow.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp

from kernels.common.checks import check_key, no_grad
from theory.onehot_glm._checks import check_int, check_probs, check_stochastic


class Posterior(NamedTuple):
  """Forward-backward output.

  Attributes:
    loglik: [...] log p(x_{1:T}) (the marginal likelihood).
    gamma: [..., T, S] p(z_t = s | x_{1:T}).
    xi: [..., T-1, S, S] p(z_t = i, z_{t+1} = j | x_{1:T}).
  """
  loglik: jax.Array
  gamma: jax.Array
  xi: jax.Array


def _log(p):
  return jnp.log(jnp.where(p > 0, p, 1.0)) + jnp.where(p > 0, 0.0, -jnp.inf)


def _forward(log_lik, log_pi, log_p0):
  a0 = log_p0 + log_lik[0]

  def step(a, ll):
    a = ll + logsumexp(a[:, None] + log_pi, axis=0)
    return a, a
  _, rest = jax.lax.scan(step, a0, log_lik[1:])
  return jnp.concatenate([a0[None], rest], axis=0)


def _fb(log_lik, log_pi, log_p0):
  alpha = _forward(log_lik, log_pi, log_p0)
  ll = logsumexp(alpha[-1])

  def step(b, ll_next):
    b = logsumexp(log_pi + (ll_next + b)[None, :], axis=1)
    return b, b
  b_last = jnp.zeros_like(alpha[-1])
  _, bs = jax.lax.scan(step, b_last, log_lik[1:], reverse=True)
  beta = jnp.concatenate([bs, b_last[None]], axis=0)
  gamma = jnp.exp(alpha + beta - ll)
  log_xi = alpha[:-1, :, None] + log_pi[None] + (log_lik[1:] + beta[1:])[:, None, :] - ll
  return Posterior(ll, gamma, jnp.exp(log_xi))


def _batched(f, log_lik, *args):
  for _ in range(log_lik.ndim - 2):
    f = jax.vmap(f, in_axes=(0,) + (None,) * len(args))
  return f(log_lik, *args)


def _prep(log_lik, Pi, p0, fn):
  log_lik = jnp.asarray(log_lik)
  if log_lik.ndim < 2 or log_lik.shape[-2] < 1:
    raise ValueError(f"{fn}: log_lik: expected [..., T, S] with T >= 1, got shape {tuple(log_lik.shape)}")
  s = log_lik.shape[-1]
  check_stochastic(Pi, "Pi", fn, s)
  dt = jnp.result_type(log_lik.dtype, jnp.float32)
  if p0 is None:
    log_p0 = jnp.full((s,), -jnp.log(float(s)), dt)
  else:
    check_probs(p0, "p0", fn, s)
    log_p0 = _log(jnp.asarray(p0, dt))
  return log_lik.astype(dt), _log(jnp.asarray(Pi, dt)), log_p0


def forward_backward(log_lik, Pi, p0=None) -> Posterior:
  """Posterior state marginals of an HMM with per-bin log-likelihoods, in log space.

  Args:
    log_lik: [..., T, S] log p(x_t | z_t = s) (any leading batch dims: sequences are independent).
    Pi: [S, S] row-stochastic transition matrix; p0: [S] initial law (default uniform).
  Returns: :class:`Posterior` (loglik [...], gamma [..., T, S], xi [..., T-1, S, S]); differentiable in log_lik.
  """
  ll, lp, l0 = _prep(log_lik, Pi, p0, "forward_backward")
  return _batched(_fb, ll, lp, l0)


def hmm_loglik(log_lik, Pi, p0=None) -> jax.Array:
  """log p(x_{1:T}) by the forward algorithm (log space): [...]; differentiable in log_lik and Pi."""
  ll, lp, l0 = _prep(log_lik, Pi, p0, "hmm_loglik")
  return _batched(lambda a, b, c: logsumexp(_forward(a, b, c)[-1]), ll, lp, l0)


def viterbi(log_lik, Pi, p0=None) -> jax.Array:
  """The most probable state path argmax_z p(z | x): int32 [..., T] (max-product in log space, ``lax.scan``)."""
  ll, lp, l0 = _prep(log_lik, Pi, p0, "viterbi")
  ll = no_grad(ll, "viterbi: log_lik (an argmax path)")

  def one(log_lik, log_pi, log_p0):
    def step(d, x):
      m = d[:, None] + log_pi
      return x + jnp.max(m, 0), jnp.argmax(m, 0)
    d0 = log_p0 + log_lik[0]
    d, back = jax.lax.scan(step, d0, log_lik[1:])
    last = jnp.argmax(d)

    def bstep(z, bp):
      return bp[z], z
    z0, zs = jax.lax.scan(bstep, last, back, reverse=True)
    return jnp.concatenate([z0[None], zs]).astype(jnp.int32)
  return _batched(one, ll, lp, l0)


def sample_states(key, Pi, n_bins: int, n_seq: int = 1, p0=None) -> jax.Array:
  """Markov chains z: int32 [n_seq, n_bins] with z_1 ~ p0 (default uniform) and rows of ``Pi`` as transitions."""
  fn = "sample_states"
  check_key(key, "key", fn)
  n_bins = check_int(n_bins, "n_bins", fn)
  n_seq = check_int(n_seq, "n_seq", fn)
  check_stochastic(Pi, "Pi", fn)
  s = Pi.shape[0]
  if p0 is not None:
    check_probs(p0, "p0", fn, s)
  Pi = no_grad(jnp.asarray(Pi, jnp.float32), f"{fn}: Pi (integer-valued samples)")
  log_pi = _log(Pi)
  log_p0 = jnp.full((s,), -jnp.log(float(s))) if p0 is None else _log(jnp.asarray(p0, jnp.float32))
  k0, k1 = jax.random.split(key)
  z0 = jax.random.categorical(k0, log_p0, shape=(n_seq,))

  def step(z, k):
    z = jax.random.categorical(k, log_pi[z])
    return z, z
  _, zs = jax.lax.scan(step, z0, jax.random.split(k1, n_bins - 1))
  return jnp.concatenate([z0[None], zs], axis=0).T.astype(jnp.int32)
