"""Scale mixtures of (NN)GPs: scale priors, the inverse-gamma (Student-t process) closed forms, importance
sampling for generic priors, and evidence fits of the hyperparameters.

Model (Lee et al. 2022, Sec. 3): sigma^2 ~ H, f | sigma^2 ~ GP(0, sigma^2 K), y = f + e with
e ~ N(0, sigma^2 noise I): the observation noise sits inside the sigma^2-scaled covariance, so with
H = IG(a, b) the model is conjugate: y ~ multivariate t (nu = 2a, scale (b/a) K_y), K_y = K + noise I;
sigma^2 | y ~ IG(a + n/2, b + y^T K_y^{-1} y / 2); y_* | y ~ t_{2a+n}(k_*^T K_y^{-1} y,
(b + beta/2)/(a + n/2) (k_** - k_*^T K_y^{-1} k_* + noise)). The closed forms live in
``theory.common.kernel_methods`` (:func:`tp_posterior`, :func:`tp_log_marginal`); this module adds the priors,
the predictive densities of y_*, self-normalised importance sampling over sigma^2 for any prior (Burr XII), and
the type-II maximum-likelihood fits (GP: output scale and noise; t process: a, b and noise).
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.linalg import cho_solve, solve_triangular
from jax.scipy.special import gammaln, logsumexp

from kernels.common.checks import check_finite, is_concrete, no_grad
from theory.common import kernel_methods as km

__all__ = ["GPFit", "TPFit", "ISPredictive", "inverse_gamma_logpdf", "sample_inverse_gamma", "burr_logpdf",
           "sample_burr", "sample_mixture", "gaussian_logpdf", "student_t_logpdf", "gp_predictive_logpdf",
           "tp_predictive_logpdf", "importance_predictive", "fit_gp", "fit_tp"]

_PKG = "theory.nngp_mixture"


def _pos(v, name, fn):
  if isinstance(v, bool) or isinstance(v, (str, bytes)) or v is None:
    raise TypeError(f"{fn}: {name} must be a positive real number, got {v!r}")
  a = jnp.asarray(v)
  if not (jnp.issubdtype(a.dtype, jnp.floating) or jnp.issubdtype(a.dtype, jnp.integer)):
    raise TypeError(f"{fn}: {name} must be a positive real number, got dtype {a.dtype}")
  if is_concrete(a) and not bool(np.all(np.isfinite(np.asarray(a)) & (np.asarray(a) > 0))):
    raise ValueError(f"{fn}: {name} must be finite and > 0, got {np.asarray(a)}")
  return a


def _arr(v, name, fn):
  if isinstance(v, (str, bytes)) or v is None:
    raise TypeError(f"{fn}: {name} must be a float array, got {v!r}")
  a = jnp.asarray(v)
  if jnp.issubdtype(a.dtype, jnp.integer):
    a = a.astype(jnp.float32)
  if not jnp.issubdtype(a.dtype, jnp.floating):
    raise TypeError(f"{fn}: {name} must be a real float array, got dtype {a.dtype}")
  check_finite(a, name, fn)
  return a


def _shape(shape, fn):
  if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
    shape = (int(shape),)
  if not isinstance(shape, tuple) or not all(isinstance(s, (int, np.integer)) and s >= 0 for s in shape):
    raise ValueError(f"{fn}: shape must be a tuple of non-negative ints, got {shape!r}")
  return shape


# ---------------------------------------------------------------------------------------------------
# Scale priors.


def inverse_gamma_logpdf(s2, a, b) -> jax.Array:
  """log IG(s2; a, b) = a log b - lgamma(a) - (a + 1) log s2 - b / s2 (elementwise; s2 > 0)."""
  fn = f"{_PKG}.inverse_gamma_logpdf"
  s2 = _arr(s2, "s2", fn)
  a, b = _pos(a, "a", fn), _pos(b, "b", fn)
  return a * jnp.log(b) - gammaln(a) - (a + 1.0) * jnp.log(s2) - b / s2


def sample_inverse_gamma(key, a, b, shape=()) -> jax.Array:
  """sigma^2 = b / g with g ~ Gamma(a, 1): [*shape] (reparametrised: differentiable in a and b)."""
  fn = f"{_PKG}.sample_inverse_gamma"
  a, b = _pos(a, "a", fn), _pos(b, "b", fn)
  shape = _shape(shape, fn)
  dtype = jnp.result_type(a.dtype, b.dtype, jnp.float32)
  return _inverse_gamma(key, a.astype(dtype), b.astype(dtype), shape)


@functools.partial(jax.jit, static_argnums=3)
def _inverse_gamma(key, a, b, shape):
  return b / jax.random.gamma(key, a, shape, a.dtype)


def burr_logpdf(x, c, d, scale=1.0) -> jax.Array:
  """Burr type XII log density of x / scale: log(c d / scale) + (c - 1) log(x/scale) - (d + 1) log(1 + (x/scale)^c)
  (CDF 1 - (1 + (x/scale)^c)^-d; tail ~ x^{-(c d + 1)}, heavier than any inverse gamma with a > c d)."""
  fn = f"{_PKG}.burr_logpdf"
  x = _arr(x, "x", fn)
  c, d, scale = _pos(c, "c", fn), _pos(d, "d", fn), _pos(scale, "scale", fn)
  z = x / scale
  return jnp.log(c * d / scale) + (c - 1.0) * jnp.log(z) - (d + 1.0) * jnp.log1p(z ** c)


def sample_burr(key, c, d, shape=(), scale=1.0) -> jax.Array:
  """Burr XII draws by inversion: scale ((1 - u)^{-1/d} - 1)^{1/c}, u ~ U(0, 1): [*shape] (differentiable in c,
  d, scale)."""
  fn = f"{_PKG}.sample_burr"
  c, d, scale = _pos(c, "c", fn), _pos(d, "d", fn), _pos(scale, "scale", fn)
  shape = _shape(shape, fn)
  dtype = jnp.result_type(c.dtype, d.dtype, jnp.float32)
  u = jax.random.uniform(key, shape, dtype, minval=jnp.finfo(dtype).tiny, maxval=1.0)
  return scale * jnp.expm1(-jnp.log(u) / d) ** (1.0 / c)        # 1 - u ~ U(0, 1)


def sample_mixture(key, k, s2) -> jax.Array:
  """Draws f = sqrt(sigma_i^2) L z_i, z_i ~ N(0, I), L L^T = K: k [n, n] PSD, s2 [S] scale draws -> [S, n]
  (the scale mixture of N(0, sigma^2 K) given draws from any scale prior). A sampler: no derivative."""
  fn = f"{_PKG}.sample_mixture"
  chol = km.cholesky(k, 0.0, 1e-10)
  s2 = _arr(s2, "s2", fn)
  if s2.ndim != 1:
    raise ValueError(f"{fn}: s2 must have shape [S], got {s2.shape}")
  chol = no_grad(chol, f"{fn}: k")
  z = jax.random.normal(key, (s2.shape[0], chol.shape[0]), chol.dtype)
  return jnp.sqrt(s2)[:, None] * (z @ chol.T)


# ---------------------------------------------------------------------------------------------------
# Predictive densities.


def gaussian_logpdf(y, loc, var) -> jax.Array:
  """log N(y; loc, var) elementwise (broadcasting)."""
  fn = f"{_PKG}.gaussian_logpdf"
  y, loc, var = _arr(y, "y", fn), _arr(loc, "loc", fn), _arr(var, "var", fn)
  return -0.5 * (jnp.log(2.0 * jnp.pi * var) + (y - loc) ** 2 / var)


def student_t_logpdf(y, loc, scale2, df) -> jax.Array:
  """log t_df(y; loc, scale^2) elementwise: lgamma((df+1)/2) - lgamma(df/2) - log(pi df scale2)/2
  - (df+1)/2 log(1 + (y - loc)^2 / (df scale2))."""
  fn = f"{_PKG}.student_t_logpdf"
  y, loc, scale2 = _arr(y, "y", fn), _arr(loc, "loc", fn), _arr(scale2, "scale2", fn)
  df = _pos(df, "df", fn)
  return (gammaln(0.5 * (df + 1.0)) - gammaln(0.5 * df) - 0.5 * jnp.log(jnp.pi * df * scale2)
          - 0.5 * (df + 1.0) * jnp.log1p((y - loc) ** 2 / (df * scale2)))


def _check_post_y(y_test, mean, fn):
  y_test = _arr(y_test, "y_test", fn)
  if y_test.shape != mean.shape:
    raise ValueError(f"{fn}: y_test must have the predictive mean's shape {tuple(mean.shape)}, got {y_test.shape}")
  return y_test


def gp_predictive_logpdf(y_test, post: km.GPPosterior, noise) -> jax.Array:
  """log N(y_*; mean, var + noise) per test value: y_test [m] or [m, C] (as ``post.mean``), ``post`` from
  ``kernel_methods.gp_posterior``."""
  fn = f"{_PKG}.gp_predictive_logpdf"
  if not isinstance(post, km.GPPosterior):
    raise TypeError(f"{fn}: post must be a kernel_methods.GPPosterior, got {type(post).__name__}")
  y_test = _check_post_y(y_test, post.mean, fn)
  noise = km._check_positive(noise, "noise", fn, allow_zero=True)
  var = post.var + noise
  var = var[:, None] if post.mean.ndim == 2 else var
  return gaussian_logpdf(y_test, post.mean, var)


def tp_predictive_logpdf(y_test, post: km.TPPosterior, noise) -> jax.Array:
  """log t_{df}(y_*; mean, scale2 + (b_post/a_post) noise) per test value (the noise is sigma^2-scaled like the
  latent): y_test as ``post.mean``; ``post`` from ``kernel_methods.tp_posterior``."""
  fn = f"{_PKG}.tp_predictive_logpdf"
  if not isinstance(post, km.TPPosterior):
    raise TypeError(f"{fn}: post must be a kernel_methods.TPPosterior, got {type(post).__name__}")
  y_test = _check_post_y(y_test, post.mean, fn)
  noise = km._check_positive(noise, "noise", fn, allow_zero=True)
  s2 = post.scale2 + post.b_post / post.a_post * noise
  s2 = s2[:, None] if post.mean.ndim == 2 else s2
  return student_t_logpdf(y_test, post.mean, s2, post.df)


class ISPredictive(NamedTuple):
  """Self-normalised importance-sampling predictive: logpdf [m] log p(y_* | y); mean [m] (the GP mean, shared by
  every sigma^2); var [m] the predictive variance of y_*; log_weights [S] normalised; ess [] effective sample
  size 1 / sum w^2."""
  logpdf: jax.Array
  mean: jax.Array
  var: jax.Array
  log_weights: jax.Array
  ess: jax.Array


def importance_predictive(s2, k_train, k_cross, k_test_diag, y, y_test, noise,
                          jitter: float = km.DEFAULT_JITTER) -> ISPredictive:
  """p(y_* | y) = int N(y_*; mu_*, sigma^2 (v_* + noise)) p(sigma^2 | y) d sigma^2 by self-normalised importance
  sampling with prior draws s2 [S] ~ H and weights w_k ∝ N(y; 0, sigma_k^2 K_y) (any scale prior H).

  k_train [n, n], k_cross [m, n], k_test_diag [m], y [n], y_test [m]. Differentiable in every float input.
  """
  fn = f"{_PKG}.importance_predictive"
  s2 = _arr(s2, "s2", fn)
  if s2.ndim != 1 or s2.shape[0] < 1:
    raise ValueError(f"{fn}: s2 must have shape [S] with S >= 1, got {s2.shape}")
  if is_concrete(s2) and not bool(np.all(np.asarray(s2) > 0)):
    raise ValueError(f"{fn}: s2 must be > 0 (draws of sigma^2)")
  _, k_cross, y, chol = km._gp_parts(k_train, k_cross, y, noise, jitter, fn)
  if y.ndim != 1:
    raise ValueError(f"{fn}: y must have shape [n], got {y.shape}")
  d = km._check_diag(k_test_diag, k_cross.shape[0], fn).astype(k_cross.dtype)
  y_test = _arr(y_test, "y_test", fn)
  if y_test.shape != (k_cross.shape[0],):
    raise ValueError(f"{fn}: y_test must have shape [m] = ({k_cross.shape[0]},), got {y_test.shape}")
  n = y.shape[0]
  alpha = cho_solve((chol, True), y)
  beta = jnp.sum(y * alpha)
  s2 = s2.astype(k_cross.dtype)
  logw = -0.5 * n * jnp.log(s2) - 0.5 * beta / s2            # constants cancel in the normalisation
  logw = logw - logsumexp(logw)
  mean = k_cross @ alpha
  v = solve_triangular(chol, k_cross.T, lower=True)
  var_f = d - jnp.sum(v * v, axis=0) + noise
  comp = gaussian_logpdf(y_test[None, :], mean[None, :], s2[:, None] * var_f[None, :])   # [S, m]
  logpdf = logsumexp(logw[:, None] + comp, axis=0)
  w = jnp.exp(logw)
  return ISPredictive(logpdf, mean, jnp.sum(w * s2) * var_f, logw, 1.0 / jnp.sum(w * w))


# ---------------------------------------------------------------------------------------------------
# Type-II maximum likelihood (host functions, float64 numpy).


class GPFit(NamedTuple):
  """GP evidence fit y ~ N(0, scale2 (K + noise I)): scale2 (the readout variance multiplier), noise (relative to
  the kernel; the observation variance is scale2 noise) and the maximised log evidence."""
  scale2: float
  noise: float
  log_evidence: float


class TPFit(NamedTuple):
  """t-process evidence fit (sigma^2 ~ IG(a, b), y | sigma^2 ~ N(0, sigma^2 (K + noise I))): a, b, noise and the
  maximised log evidence."""
  a: float
  b: float
  noise: float
  log_evidence: float


def _eig_parts(k, y, fn):
  k = km._check_square(k, "k", fn)
  n = k.shape[0]
  y = km._check_y(y, n, fn)
  kk = np.asarray(k, np.float64)
  lam, u = np.linalg.eigh(0.5 * (kk + kk.T))
  if lam[0] < -1e-8 * max(1.0, abs(lam[-1])):
    raise ValueError(f"{fn}: k must be positive semi-definite, got min eigenvalue {lam[0]:.3g}")
  yy = np.asarray(y, np.float64).reshape(n, -1)
  proj2 = np.sum((u.T @ yy) ** 2, axis=1)                     # [n]: sum over the C columns
  return np.maximum(lam, 0.0), proj2, yy.shape[1], float(np.mean(np.diag(kk)))


def _noise_bounds(noise_bounds, fn):
  lo, hi = (float(v) for v in noise_bounds)
  if not 0 < lo < hi:
    raise ValueError(f"{fn}: noise_bounds must be (lo, hi) with 0 < lo < hi, got {noise_bounds!r}")
  return lo, hi


def fit_gp(k, y, noise_bounds=(1e-6, 10.0)) -> GPFit:
  """Maximises log N(y; 0, s^2 (K + e I)) over s^2 (in closed form: s^2 = y^T (K + eI)^{-1} y / N) and e (bounded
  1-D search in log e; the bounds are relative to mean(diag K)). k: [n, n] PSD; y: [n] or [n, C] (C columns
  share s^2 and e). A host function (numpy float64 out)."""
  import scipy.optimize
  fn = f"{_PKG}.fit_gp"
  lam, p2, c, scale = _eig_parts(k, y, fn)
  lo, hi = _noise_bounds(noise_bounds, fn)
  n_obs = lam.shape[0] * c

  def neg(log_e):
    ev = lam + np.exp(log_e) * scale
    q = np.sum(p2 / ev)
    s2 = q / n_obs
    return 0.5 * n_obs * np.log(2 * np.pi * s2) + 0.5 * c * np.sum(np.log(ev)) + 0.5 * n_obs

  grid = np.linspace(np.log(lo), np.log(hi), 41)
  i = int(np.argmin([neg(g) for g in grid]))
  a, b = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
  r = scipy.optimize.minimize_scalar(neg, bounds=(a, b), method="bounded", options={"xatol": 1e-6})
  e = float(np.exp(r.x)) * scale
  s2 = float(np.sum(p2 / (lam + e)) / n_obs)
  return GPFit(s2, e, float(-r.fun))


def fit_tp(k, y, noise_bounds=(1e-6, 10.0), a_bounds=(0.1, 1e4), a=None) -> TPFit:
  """Maximises the multivariate-t evidence (``kernel_methods.tp_log_marginal``) over (a, b, e): b in closed form
  (b = a y^T K_y^{-1} y / N at the optimum for fixed a, e), then (log a, log e) by L-BFGS-B within the bounds
  (noise relative to mean(diag K)); ``a`` given: a is fixed and only (b, e) are fitted. Shapes as :func:`fit_gp`.
  A host function.

  Note: for any (a, b) the t evidence is an average of Gaussian evidences over sigma^2, so it never exceeds the GP
  evidence at the best scale (:func:`fit_gp`); it approaches it as a -> infinity with b/a fixed. A free a therefore
  runs to its upper bound (the GP limit) unless the bound stops it."""
  import scipy.optimize
  from scipy.special import gammaln as sgammaln
  fn = f"{_PKG}.fit_tp"
  lam, p2, c, scale = _eig_parts(k, y, fn)
  lo, hi = _noise_bounds(noise_bounds, fn)
  alo, ahi = (float(v) for v in a_bounds)
  if not 0 < alo < ahi:
    raise ValueError(f"{fn}: a_bounds must be (lo, hi) with 0 < lo < hi, got {a_bounds!r}")
  n_obs = lam.shape[0] * c
  fixed = a is not None
  if fixed:
    a = float(_pos(a, "a", fn))

  def parts(z):
    a_, e = (a if fixed else np.exp(z[0])), np.exp(z[-1]) * scale
    ev = lam + e
    q = np.sum(p2 / ev)
    b = a_ * q / n_obs
    return a_, b, e, q, ev

  def neg(z):
    a_, b, e, q, ev = parts(z)
    ll = (sgammaln(a_ + 0.5 * n_obs) - sgammaln(a_) - 0.5 * n_obs * np.log(2 * np.pi * b)
          - 0.5 * c * np.sum(np.log(ev)) - (a_ + 0.5 * n_obs) * np.log1p(q / (2 * b)))
    return -ll

  bounds = [(np.log(lo), np.log(hi))] if fixed else [(np.log(alo), np.log(ahi)), (np.log(lo), np.log(hi))]
  starts = [((le,) if fixed else (np.log(2.0), le)) for le in np.linspace(np.log(lo), np.log(hi), 9)]
  best = min(starts, key=neg)
  r = scipy.optimize.minimize(neg, np.asarray(best), method="L-BFGS-B", bounds=bounds)
  a, b, e, _, _ = parts(r.x)
  return TPFit(float(a), float(b), float(e), float(-r.fun))
