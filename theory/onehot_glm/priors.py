"""The one-hot weight parametrisation, the Concrete (Gumbel-softmax) density and the Gumbel-softmax sampler.

One-hot HMM-GLM: W_s = (A_s[exc] - A_s[inh]) * softplus(theta_s) with A_s[n <- n'] a (relaxed) one-hot vector
over the classes (inh, none, exc), and A_s ~ Concrete(pi_{n <- n'}, tau) under a global, learned, shared pi.
Concrete density (Maddison, Mnih, Teh 2017; Jang, Gu, Poole 2017), k classes, on the first k-1 coordinates of a
point a of the open simplex:

  log p(a) = log Gamma(k) + (k-1) log tau - k logsumexp_i(log pi_i - tau log a_i) + sum_i (log pi_i - (tau+1) log a_i).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from kernels.common.checks import check_key
from theory.onehot_glm._checks import check_positive

CLASSES = ("inh", "none", "exc")


def _concrete(log_a, log_pi, tau):
  k = log_a.shape[-1]
  log_pi = jax.nn.log_softmax(log_pi, axis=-1)
  return (jax.lax.lgamma(jnp.asarray(k, log_a.dtype)) + (k - 1) * jnp.log(tau)
          - k * jax.scipy.special.logsumexp(log_pi - tau * log_a, axis=-1)
          + jnp.sum(log_pi - (tau + 1) * log_a, axis=-1))


def concrete_log_density(a, log_pi, tau: float, eps: float = 1e-6) -> jax.Array:
  """Concrete(pi, tau) log-density at simplex points ``a`` (clipped below at ``eps``, the notes' pitfall).

  Args:
    a: [..., k] points of the simplex (k >= 2); log_pi: [..., k] class log-weights (normalised here; the density
      is invariant to adding a constant); tau: temperature > 0.
  Returns: [...] log-densities with respect to Lebesgue measure on the first k-1 coordinates.
  """
  fn = "concrete_log_density"
  tau = check_positive(tau, "tau", fn)
  eps = check_positive(eps, "eps", fn)
  a, log_pi = jnp.asarray(a), jnp.asarray(log_pi)
  if a.ndim < 1 or a.shape[-1] < 2:
    raise ValueError(f"{fn}: a: expected [..., k] with k >= 2, got shape {tuple(a.shape)}")
  if log_pi.shape[-1:] != a.shape[-1:]:
    raise ValueError(f"{fn}: log_pi: expected a last dim of {a.shape[-1]}, got shape {tuple(log_pi.shape)}")
  dt = jnp.result_type(a.dtype, log_pi.dtype, jnp.float32)
  return _concrete(jnp.log(jnp.maximum(a.astype(dt), eps)), log_pi.astype(dt), tau)


def _gumbel_log_softmax(key, logits, tau):
  g = jax.random.gumbel(key, logits.shape, logits.dtype)
  return jax.nn.log_softmax((logits + g) / tau, axis=-1)


def gumbel_softmax(key, logits, tau: float) -> jax.Array:
  """A relaxed one-hot sample softmax((logits + G) / tau), G iid standard Gumbel: [..., k]. Its argmax is an exact
  Categorical(softmax(logits)) draw for every tau; as tau -> 0 the sample itself becomes one-hot. Differentiable
  in ``logits`` (the reparametrisation the M-step uses)."""
  fn = "gumbel_softmax"
  check_key(key, "key", fn)
  tau = check_positive(tau, "tau", fn)
  logits = jnp.asarray(logits)
  if logits.ndim < 1 or logits.shape[-1] < 2:
    raise ValueError(f"{fn}: logits: expected [..., k] with k >= 2, got shape {tuple(logits.shape)}")
  logits = logits.astype(jnp.result_type(logits.dtype, jnp.float32))
  return jnp.exp(_gumbel_log_softmax(key, logits, tau))


def onehot_weights(a, strength_raw) -> jax.Array:
  """W = (a[..., 2] - a[..., 0]) * softplus(strength_raw): classes (inh, none, exc), positive strengths.

  Args: a: [..., 3] (relaxed) one-hot types; strength_raw: [...] unconstrained strengths.
  Returns: [...] signed weights; differentiable in both.
  """
  a, s = jnp.asarray(a), jnp.asarray(strength_raw)
  if a.ndim < 1 or a.shape[-1] != 3:
    raise ValueError(f"onehot_weights: a: expected [..., 3] over {CLASSES}, got shape {tuple(a.shape)}")
  if s.shape != a.shape[:-1]:
    raise ValueError(f"onehot_weights: strength_raw: expected shape {tuple(a.shape[:-1])}, got {tuple(s.shape)}")
  return (a[..., 2] - a[..., 0]) * jax.nn.softplus(s)
