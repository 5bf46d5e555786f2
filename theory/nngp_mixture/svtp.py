"""Sparse variational Student-t process (SVTP) for the categorical likelihood (Lee et al. 2022, Sec. 3.4 and the
official ``spax`` SVSP with the InverseGammaPrior).

Model: sigma^2 ~ IG(a, b); per class c the inducing values u_c = L v_c at I inducing inputs (L L^T = K_zz), with
the whitened prior v_c | sigma^2 ~ N(0, sigma^2 I); f_c(x) | v_c, sigma^2 ~ N(A(x) v_c, sigma^2 (k(x, x) - |A(x)|^2)),
A(x) = k(x, Z) L^{-T}; y ~ Categorical(softmax f(x)).
Variational family: q(sigma^2) = IG(a', b') and q(v_c | sigma^2) = N(m_c, sigma^2 diag S_c), so
  KL(q || p) = sum_c 1/2 [sum S_c - I - sum log S_c + E_q[1/sigma^2] |m_c|^2] + KL(IG(a', b') || IG(a, b)),
E_q[1/sigma^2] = a'/b' (the scaled mean term of the notes). Given sigma^2 the latent is
f_c(x) ~ N(A m_c, sigma^2 (k(x, x) - |A|^2 + sum_j A_j^2 S_cj)); marginally a Student t with 2a' degrees of
freedom and scale (b'/a') times that variance. The ELBO's expected log likelihood is a Monte Carlo average over
sigma^2 = b'/g, g ~ Gamma(a', 1) (implicit reparametrisation gradients) and Gaussian f.
Zoo choice: the whitened parametrisation (diag S in the whitened space), for a well-conditioned optimisation.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.linalg import solve_triangular
from jax.scipy.special import digamma, gammaln

from kernels.common.checks import is_concrete

__all__ = ["SVTPParams", "svtp_init", "svtp_params", "inverse_gamma_kl", "svtp_kl", "svtp_latent", "svtp_elbo",
           "svtp_predict"]

_PKG = "theory.nngp_mixture"


class SVTPParams(NamedTuple):
  """Unconstrained variational parameters: m [I, C]; s_raw [I, C] (S = softplus(s_raw)); a_raw, b_raw []
  (a' = softplus(a_raw), b' = softplus(b_raw))."""
  m: jax.Array
  s_raw: jax.Array
  a_raw: jax.Array
  b_raw: jax.Array


def _softplus_inv(x):
  return x + jnp.log(-jnp.expm1(-x))


def _pos(v, name, fn):
  if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) or not np.isfinite(v) or v <= 0:
    raise ValueError(f"{fn}: {name} must be a finite float > 0, got {v!r}")
  return float(v)


def svtp_init(num_inducing: int, num_classes: int, a: float = 2.0, b: float = 2.0, dtype=jnp.float32) -> SVTPParams:
  """q = the prior: m = 0, S = 1, (a', b') = (a, b)."""
  fn = f"{_PKG}.svtp_init"
  for name, v, lo in (("num_inducing", num_inducing, 1), ("num_classes", num_classes, 2)):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
      raise ValueError(f"{fn}: {name} must be an int >= {lo}, got {v!r}")
  a, b = _pos(a, "a", fn), _pos(b, "b", fn)
  shape = (int(num_inducing), int(num_classes))
  return SVTPParams(jnp.zeros(shape, dtype), jnp.full(shape, _softplus_inv(jnp.asarray(1.0, dtype)), dtype),
                    _softplus_inv(jnp.asarray(a, dtype)), _softplus_inv(jnp.asarray(b, dtype)))


def svtp_params(params: SVTPParams):
  """The constrained values (m, S, a', b')."""
  _check_params(params, f"{_PKG}.svtp_params")
  return params.m, jax.nn.softplus(params.s_raw), jax.nn.softplus(params.a_raw), jax.nn.softplus(params.b_raw)


def _check_params(params, fn):
  if not isinstance(params, SVTPParams):
    raise TypeError(f"{fn}: params must be SVTPParams (svtp_init), got {type(params).__name__}")
  if params.m.ndim != 2 or params.s_raw.shape != params.m.shape:
    raise ValueError(f"{fn}: params.m and params.s_raw must both be [I, C], got {params.m.shape} and "
                     f"{params.s_raw.shape}")


def inverse_gamma_kl(a_q, b_q, a_p, b_p) -> jax.Array:
  """KL(IG(a_q, b_q) || IG(a_p, b_p)) = (a_q - a_p) psi(a_q) - lgamma(a_q) + lgamma(a_p) + a_p (log b_q - log b_p)
  + a_q (b_p - b_q) / b_q (the Gamma KL of the precisions; differentiable)."""
  fn = f"{_PKG}.inverse_gamma_kl"
  for name, v in (("a_q", a_q), ("b_q", b_q), ("a_p", a_p), ("b_p", b_p)):
    if isinstance(v, (str, bytes, bool)) or v is None:
      raise TypeError(f"{fn}: {name} must be a positive number, got {v!r}")
    if is_concrete(v) and not bool(np.all(np.asarray(v) > 0)):
      raise ValueError(f"{fn}: {name} must be > 0, got {np.asarray(v)}")
  return ((a_q - a_p) * digamma(a_q) - gammaln(a_q) + gammaln(a_p) + a_p * (jnp.log(b_q) - jnp.log(b_p))
          + a_q * (b_p - b_q) / b_q)


def svtp_kl(params: SVTPParams, a: float, b: float) -> jax.Array:
  """KL(q(v, sigma^2) || p(v, sigma^2)) summed over the classes: [] (see the module docstring)."""
  fn = f"{_PKG}.svtp_kl"
  _check_params(params, fn)
  a, b = _pos(a, "a", fn), _pos(b, "b", fn)
  m, s, aq, bq = svtp_params(params)
  gauss = 0.5 * (jnp.sum(s) - m.size - jnp.sum(jnp.log(s)) + aq / bq * jnp.sum(m * m))
  return gauss + inverse_gamma_kl(aq, bq, a, b)


def _check_kernels(params, chol_zz, k_xz, k_xx_diag, fn):
  chol_zz, k_xz, k_xx_diag = jnp.asarray(chol_zz), jnp.asarray(k_xz), jnp.asarray(k_xx_diag)
  i = params.m.shape[0]
  if chol_zz.shape != (i, i):
    raise ValueError(f"{fn}: chol_zz must be the [I, I] = ({i}, {i}) Cholesky factor of K_zz, got {chol_zz.shape}")
  if k_xz.ndim != 2 or k_xz.shape[1] != i:
    raise ValueError(f"{fn}: k_xz must have shape [B, I] with I = {i}, got {k_xz.shape}")
  if k_xx_diag.shape != (k_xz.shape[0],):
    raise ValueError(f"{fn}: k_xx_diag must have shape [B] = ({k_xz.shape[0]},), got {k_xx_diag.shape}")
  return chol_zz, k_xz, k_xx_diag


def svtp_latent(params: SVTPParams, chol_zz, k_xz, k_xx_diag):
  """Given sigma^2 = 1, the latent f(x) ~ N(mean, var): chol_zz [I, I], k_xz [B, I], k_xx_diag [B] ->
  (mean [B, C], var [B, C]); the t marginal has scale (b'/a') var and 2a' degrees of freedom."""
  fn = f"{_PKG}.svtp_latent"
  _check_params(params, fn)
  chol_zz, k_xz, k_xx_diag = _check_kernels(params, chol_zz, k_xz, k_xx_diag, fn)
  m, s, _, _ = svtp_params(params)
  a_t = solve_triangular(chol_zz, k_xz.T, lower=True)            # [I, B] = L^{-1} K_zx, A = a_t^T
  base = jnp.maximum(k_xx_diag - jnp.sum(a_t * a_t, 0), 0.0)      # [B]
  return a_t.T @ m, base[:, None] + (a_t * a_t).T @ s


def _labels(labels, b, c, fn):
  labels = jnp.asarray(labels)
  if not jnp.issubdtype(labels.dtype, jnp.integer) or labels.shape != (b,):
    raise ValueError(f"{fn}: labels must be integer class ids of shape [B] = ({b},), got {labels.dtype} "
                     f"{labels.shape}")
  if is_concrete(labels) and labels.size and (int(labels.min()) < 0 or int(labels.max()) >= c):
    raise ValueError(f"{fn}: labels must lie in [0, {c})")
  return labels


def _samples(key, params, mean, var, num_samples):
  _, _, aq, bq = svtp_params(params)
  k1, k2 = jax.random.split(key)
  g = jax.random.gamma(k1, jnp.broadcast_to(aq, (num_samples,)), dtype=mean.dtype)
  s2 = bq / g                                                      # [S] ~ IG(a', b')
  z = jax.random.normal(k2, (num_samples,) + mean.shape, mean.dtype)
  return mean[None] + jnp.sqrt(s2[:, None, None] * var[None]) * z  # [S, B, C]


def svtp_elbo(key, params: SVTPParams, chol_zz, k_xz, k_xx_diag, labels, num_data: int, a: float, b: float,
              num_samples: int = 8) -> tuple[jax.Array, jax.Array]:
  """Per-datum ELBO of a minibatch: (mean_B E_q[log softmax(f)_y] - KL / num_data, the expected log likelihood
  term) with ``num_samples`` Monte Carlo draws of (sigma^2, f). Differentiable in params (and the kernels)."""
  fn = f"{_PKG}.svtp_elbo"
  _check_params(params, fn)
  chol_zz, k_xz, k_xx_diag = _check_kernels(params, chol_zz, k_xz, k_xx_diag, fn)
  labels = _labels(labels, k_xz.shape[0], params.m.shape[1], fn)
  if isinstance(num_data, bool) or not isinstance(num_data, (int, np.integer)) or num_data < 1:
    raise ValueError(f"{fn}: num_data must be an int >= 1, got {num_data!r}")
  if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or num_samples < 1:
    raise ValueError(f"{fn}: num_samples must be an int >= 1, got {num_samples!r}")
  mean, var = svtp_latent(params, chol_zz, k_xz, k_xx_diag)
  f = _samples(key, params, mean, var, int(num_samples))
  logp = jax.nn.log_softmax(f, -1)
  ell = jnp.mean(jnp.take_along_axis(logp, labels[None, :, None], -1))
  return ell - svtp_kl(params, a, b) / num_data, ell


def svtp_predict(key, params: SVTPParams, chol_zz, k_xz, k_xx_diag, num_samples: int = 64) -> jax.Array:
  """Predictive class probabilities E[softmax f(x)] under the t marginal (sigma^2 ~ IG(a', b')): [B, C]."""
  fn = f"{_PKG}.svtp_predict"
  _check_params(params, fn)
  chol_zz, k_xz, k_xx_diag = _check_kernels(params, chol_zz, k_xz, k_xx_diag, fn)
  if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or num_samples < 1:
    raise ValueError(f"{fn}: num_samples must be an int >= 1, got {num_samples!r}")
  mean, var = svtp_latent(params, chol_zz, k_xz, k_xx_diag)
  return jnp.mean(jax.nn.softmax(_samples(key, params, mean, var, int(num_samples)), -1), 0)
