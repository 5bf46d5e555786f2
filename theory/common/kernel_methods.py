"""Kernel methods shared by papers 25 (scale mixtures of NNGPs) and 30 (quantum kernels).

Given precomputed kernel matrices (``k_train: [n, n]``, ``k_cross: [m, n]`` between m test and n training
points, ``k_test_diag: [m]``):

* **GP / kernel ridge regression** (:func:`gp_posterior`, :func:`gp_log_marginal`, :func:`kernel_ridge`):
  K_y = K + noise I factored once by Cholesky with a relative jitter; posterior mean k_*^T K_y^{-1} y and
  variance k_** - k_*^T K_y^{-1} k_* (Rasmussen & Williams 2006, Alg. 2.1).
* **Student-t process** (:func:`tp_posterior`, :func:`tp_log_marginal`): the inverse-gamma scale mixture
  sigma^2 ~ IG(a, b), y | sigma^2 ~ N(0, sigma^2 K_y) (observation noise inside the scaled covariance).
  Marginally y is multivariate t with nu = 2a and scale (b/a) K_y; the posterior is
  sigma^2 | y ~ IG(a + n/2, b + beta/2), beta = y^T K_y^{-1} y, and the predictive at a test point is
  Student t with 2a + n degrees of freedom, the GP mean, and scale^2 (b + beta/2)/(a + n/2) (k_** - k_*^T K_y^{-1} k_*)
  (Shah, Wilson & Ghahramani 2014; Lee et al. 2022, "Scale mixtures of neural network Gaussian processes").
* **One-hot Gaussian-likelihood classification** (:func:`onehot_targets`, :func:`gp_classify`): regress the
  (optionally centred) one-hot targets with a GP and take the argmax of the posterior means.
* :func:`psd_repair` (symmetrise, clip negative eigenvalues: the Frobenius-nearest PSD matrix, Higham 1988),
  :func:`kernel_alignment` (Cristianini et al. 2002; optionally centred, Cortes et al. 2012),
  :func:`target_alignment`;
* a **kernel SVM** on a precomputed kernel (:func:`svm_fit`, :func:`svm_decision`): the C-SVC dual
  max sum alpha - 1/2 alpha^T (yy^T o K) alpha, 0 <= alpha_i <= C_i, sum alpha_i y_i = 0, solved by SMO with
  libsvm's second-order working-set selection (Fan, Chen & Lin 2005) in a ``lax.while_loop``; the bias is
  libsvm's (mean of y_i G_i over free vectors, else the midpoint of the bounds), so results match
  ``sklearn.svm.SVC(kernel="precomputed")``. Per-sample bounds C_i = 0 drop a point (cross-validation
  folds as masks, vmappable);
* :func:`rbf_kernel`, :func:`linear_kernel` for classical baselines.

Value checks (square, symmetric, positive definite after the noise) raise ``ValueError`` on concrete inputs;
under ``jit`` a kernel that is not positive definite gives NaN from the Cholesky factor.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.linalg import cho_solve, solve_triangular
from jax.scipy.special import gammaln

from kernels.common.checks import check_finite, is_concrete, no_grad

__all__ = ["GPPosterior", "TPPosterior", "SVMResult", "psd_repair", "cholesky", "gp_posterior", "gp_log_marginal",
           "kernel_ridge", "tp_posterior", "tp_log_marginal", "onehot_targets", "gp_classify", "kernel_alignment",
           "target_alignment", "svm_fit", "svm_decision", "rbf_kernel", "linear_kernel"]

_PKG = "theory.common.kernel_methods"
DEFAULT_JITTER = 1e-10   # relative to the mean of the diagonal


class GPPosterior(NamedTuple):
  """GP posterior at m test points: ``mean: [m] or [m, C]`` (as y), ``var: [m]`` (latent, without noise)."""
  mean: jax.Array
  var: jax.Array


class TPPosterior(NamedTuple):
  """Student-t process predictive at m test points.

  mean: [m] or [m, C]; scale2: [m] squared scale of the latent predictive (variance = scale2 df/(df - 2));
  df: [] degrees of freedom 2a + n; a_post, b_post: [] the inverse-gamma posterior of sigma^2.
  """
  mean: jax.Array
  scale2: jax.Array
  df: jax.Array
  a_post: jax.Array
  b_post: jax.Array


class SVMResult(NamedTuple):
  """A solved C-SVC dual: alpha: [n] in [0, C_i]; bias: [] (f(x) = sum_i alpha_i y_i k(x_i, x) + bias);
  iterations: [] int32 SMO steps; gap: [] the final maximal KKT violation m(alpha) - M(alpha) (<= tol when
  converged)."""
  alpha: jax.Array
  bias: jax.Array
  iterations: jax.Array
  gap: jax.Array


# ---------------------------------------------------------------------------------------------------
# Checks.


def _float(a, name: str, fn: str) -> jax.Array:
  if isinstance(a, (str, bytes)) or a is None:
    raise TypeError(f"{fn}: {name} must be a float array, got {a!r}")
  a = jnp.asarray(a)
  if not jnp.issubdtype(a.dtype, jnp.floating):
    if jnp.issubdtype(a.dtype, jnp.integer):
      return a.astype(jnp.float32)
    raise TypeError(f"{fn}: {name} must be a real float array, got dtype {a.dtype}")
  return a


def _check_square(k, name: str, fn: str, symmetric: bool = True) -> jax.Array:
  k = _float(k, name, fn)
  if k.ndim != 2 or k.shape[0] != k.shape[1] or k.shape[0] < 1:
    raise ValueError(f"{fn}: {name} must be a square [n, n] kernel matrix, got shape {k.shape}")
  check_finite(k, name, fn)
  if symmetric and is_concrete(k):
    a = np.asarray(k, np.float64)
    asym = float(np.max(np.abs(a - a.T)))
    scale = max(1.0, float(np.max(np.abs(a))))
    if asym > 1e-6 * scale:
      raise ValueError(f"{fn}: {name} must be symmetric, got max |K - K^T| = {asym:.3g}")
  return k


def _check_cross(k_cross, n: int, fn: str, name: str = "k_cross") -> jax.Array:
  k_cross = _float(k_cross, name, fn)
  if k_cross.ndim != 2 or k_cross.shape[1] != n:
    raise ValueError(f"{fn}: {name} must have shape [m, n] = [m, {n}] (test x train), got {k_cross.shape}")
  check_finite(k_cross, name, fn)
  return k_cross


def _check_y(y, n: int, fn: str, name: str = "y", ndim=(1, 2)) -> jax.Array:
  y = _float(y, name, fn)
  if y.ndim not in ndim or y.shape[0] != n:
    raise ValueError(f"{fn}: {name} must have shape [n] or [n, C] with n = {n}, got {y.shape}")
  check_finite(y, name, fn)
  return y


def _check_positive(v, name: str, fn: str, allow_zero: bool = False) -> jax.Array:
  if isinstance(v, bool) or isinstance(v, (str, bytes)) or v is None:
    raise TypeError(f"{fn}: {name} must be a real number, got {v!r}")
  a = jnp.asarray(v)
  if not (jnp.issubdtype(a.dtype, jnp.floating) or jnp.issubdtype(a.dtype, jnp.integer)) or a.ndim != 0:
    raise TypeError(f"{fn}: {name} must be a real scalar, got {getattr(a, 'dtype', type(v))} "
                    f"{tuple(a.shape)}")
  if is_concrete(a):
    x = float(a)
    ok = np.isfinite(x) and (x >= 0 if allow_zero else x > 0)
    if not ok:
      raise ValueError(f"{fn}: {name} must be finite and {'>= 0' if allow_zero else '> 0'}, got {x}")
  return a


def _check_pd(chol, name: str, fn: str) -> None:
  if is_concrete(chol) and not bool(np.all(np.isfinite(np.asarray(chol)))):
    raise ValueError(f"{fn}: {name} is not positive definite (the Cholesky factor failed); repair it with "
                     "psd_repair or add noise")


def _jittered(k: jax.Array, noise, jitter: float) -> jax.Array:
  n = k.shape[0]
  scale = jnp.mean(jnp.diag(k))
  return k + (noise + jitter * jnp.abs(scale)) * jnp.eye(n, dtype=k.dtype)


def _check_jitter(jitter, fn: str) -> float:
  if isinstance(jitter, bool) or not isinstance(jitter, (int, float, np.floating)) or not 0 <= jitter < 1:
    raise ValueError(f"{fn}: jitter must be a float in [0, 1), got {jitter!r}")
  return float(jitter)


# ---------------------------------------------------------------------------------------------------
# Linear algebra.


def psd_repair(k: jax.Array) -> jax.Array:
  """The Frobenius-nearest PSD matrix to ``k: [n, n]``: symmetrise, then clip negative eigenvalues to 0.

  Differentiable where the eigenvalues are distinct. A PSD input comes back unchanged up to rounding.
  """
  fn = f"{_PKG}.psd_repair"
  k = _check_square(k, "k", fn, symmetric=False)
  s = 0.5 * (k + k.T)
  w, v = jnp.linalg.eigh(s)
  return (v * jnp.maximum(w, 0.0)) @ v.T


def cholesky(k: jax.Array, noise=0.0, jitter: float = DEFAULT_JITTER) -> jax.Array:
  """Lower Cholesky factor of K + (noise + jitter mean(diag K)) I: [n, n].

  ValueError when concrete and not positive definite; NaN under jit. Differentiable in ``k`` and ``noise``.
  """
  fn = f"{_PKG}.cholesky"
  k = _check_square(k, "k", fn)
  noise = _check_positive(noise, "noise", fn, allow_zero=True)
  chol = jnp.linalg.cholesky(_jittered(k, noise, _check_jitter(jitter, fn)))
  _check_pd(chol, "k + noise I", fn)
  return chol


def _gp_parts(k_train, k_cross, y, noise, jitter, fn):
  k_train = _check_square(k_train, "k_train", fn)
  n = k_train.shape[0]
  k_cross = _check_cross(k_cross, n, fn)
  y = _check_y(y, n, fn)
  noise = _check_positive(noise, "noise", fn, allow_zero=True)
  dtype = jnp.result_type(k_train.dtype, k_cross.dtype, y.dtype)
  k_train, k_cross, y = k_train.astype(dtype), k_cross.astype(dtype), y.astype(dtype)
  chol = jnp.linalg.cholesky(_jittered(k_train, noise, _check_jitter(jitter, fn)))
  _check_pd(chol, "k_train + noise I", fn)
  return k_train, k_cross, y, chol


def _latent_var(chol, k_cross, k_test_diag):
  v = solve_triangular(chol, k_cross.T, lower=True)          # [n, m]
  return k_test_diag - jnp.sum(v * v, axis=0)


def _check_diag(k_test_diag, m: int, fn: str) -> jax.Array:
  d = _float(k_test_diag, "k_test_diag", fn)
  if d.shape != (m,):
    raise ValueError(f"{fn}: k_test_diag must have shape [m] = ({m},), got {d.shape}")
  check_finite(d, "k_test_diag", fn)
  return d


def gp_posterior(k_train, k_cross, k_test_diag, y, noise=1e-6, jitter: float = DEFAULT_JITTER) -> GPPosterior:
  """GP regression posterior at test points (Rasmussen & Williams Alg. 2.1).

  k_train: [n, n]; k_cross: [m, n]; k_test_diag: [m] = k(x_*, x_*); y: [n] or [n, C] (C independent outputs
  sharing the kernel); noise: observation variance >= 0. Returns GPPosterior(mean [m] / [m, C], var [m] of
  the latent f). Differentiable in every float input.
  """
  fn = f"{_PKG}.gp_posterior"
  _, k_cross, y, chol = _gp_parts(k_train, k_cross, y, noise, jitter, fn)
  d = _check_diag(k_test_diag, k_cross.shape[0], fn).astype(k_cross.dtype)
  alpha = cho_solve((chol, True), y)
  return GPPosterior(k_cross @ alpha, _latent_var(chol, k_cross, d))


def kernel_ridge(k_train, k_cross, y, lam) -> jax.Array:
  """Kernel ridge regression predictions k_*^T (K + lam I)^{-1} y: [m] or [m, C] (= the GP mean with noise
  lam > 0; sklearn's ``KernelRidge(alpha=lam, kernel="precomputed")``)."""
  fn = f"{_PKG}.kernel_ridge"
  _check_positive(lam, "lam", fn)
  _, k_cross, y, chol = _gp_parts(k_train, k_cross, y, lam, 0.0, fn)
  return k_cross @ cho_solve((chol, True), y)


def gp_log_marginal(k_train, y, noise=1e-6, jitter: float = DEFAULT_JITTER) -> jax.Array:
  """log N(y; 0, K + noise I), summed over the C columns of y: [] (differentiable)."""
  fn = f"{_PKG}.gp_log_marginal"
  k = _check_square(k_train, "k_train", fn)
  n = k.shape[0]
  _, _, y, chol = _gp_parts(k, jnp.zeros((1, n), k.dtype), y, noise, jitter, fn)
  y2 = y.reshape(n, -1)
  alpha = cho_solve((chol, True), y2)
  c = y2.shape[1]
  logdet = 2.0 * jnp.sum(jnp.log(jnp.diag(chol)))
  return -0.5 * jnp.sum(y2 * alpha) - 0.5 * c * logdet - 0.5 * c * n * jnp.log(2.0 * jnp.pi)


def tp_posterior(k_train, k_cross, k_test_diag, y, a, b, noise=1e-6,
                 jitter: float = DEFAULT_JITTER) -> TPPosterior:
  """Student-t process predictive under sigma^2 ~ IG(a, b), y | sigma^2 ~ N(0, sigma^2 (K + noise I)).

  Shapes as :func:`gp_posterior`; a, b > 0. For y: [n, C] the C columns share one sigma^2 (n C observations
  update the inverse gamma). Returns TPPosterior(mean, scale2, df = 2a + nC, a_post = a + nC/2,
  b_post = b + beta/2). Differentiable in every float input.
  """
  fn = f"{_PKG}.tp_posterior"
  a = _check_positive(a, "a", fn)
  b = _check_positive(b, "b", fn)
  _, k_cross, y, chol = _gp_parts(k_train, k_cross, y, noise, jitter, fn)
  d = _check_diag(k_test_diag, k_cross.shape[0], fn).astype(k_cross.dtype)
  alpha = cho_solve((chol, True), y)
  beta = jnp.sum(y * alpha)
  n_obs = y.size
  a_post = a + 0.5 * n_obs
  b_post = b + 0.5 * beta
  scale2 = (b_post / a_post) * _latent_var(chol, k_cross, d)
  return TPPosterior(k_cross @ alpha, scale2, 2.0 * a_post, a_post, b_post)


def tp_log_marginal(k_train, y, a, b, noise=1e-6, jitter: float = DEFAULT_JITTER) -> jax.Array:
  """log of the multivariate t density of y (nu = 2a, scale (b/a)(K + noise I)): [] (differentiable).

  = lgamma(a + N/2) - lgamma(a) - N/2 log(2 pi b) - C/2 log|K_y| - (a + N/2) log(1 + beta/(2b)), N = nC.
  """
  fn = f"{_PKG}.tp_log_marginal"
  a = _check_positive(a, "a", fn)
  b = _check_positive(b, "b", fn)
  k = _check_square(k_train, "k_train", fn)
  n = k.shape[0]
  _, _, y, chol = _gp_parts(k, jnp.zeros((1, n), k.dtype), y, noise, jitter, fn)
  y2 = y.reshape(n, -1)
  c = y2.shape[1]
  beta = jnp.sum(y2 * cho_solve((chol, True), y2))
  n_obs = n * c
  logdet = 2.0 * jnp.sum(jnp.log(jnp.diag(chol)))
  return (gammaln(a + 0.5 * n_obs) - gammaln(a) - 0.5 * n_obs * jnp.log(2.0 * jnp.pi * b) - 0.5 * c * logdet
          - (a + 0.5 * n_obs) * jnp.log1p(beta / (2.0 * b)))


# ---------------------------------------------------------------------------------------------------
# Classification by one-hot regression.


def _check_labels(labels, num_classes: int, fn: str, n: int | None = None) -> jax.Array:
  labels = jnp.asarray(labels)
  if not jnp.issubdtype(labels.dtype, jnp.integer):
    raise TypeError(f"{fn}: labels must be an integer array of class ids, got dtype {labels.dtype}")
  if labels.ndim != 1 or (n is not None and labels.shape[0] != n):
    raise ValueError(f"{fn}: labels must have shape [n]{f' = ({n},)' if n is not None else ''}, got "
                     f"{labels.shape}")
  if is_concrete(labels):
    a = np.asarray(labels)
    if a.size and (a.min() < 0 or a.max() >= num_classes):
      raise ValueError(f"{fn}: labels must lie in [0, {num_classes}), got min {a.min()} max {a.max()}")
  return labels


def onehot_targets(labels, num_classes: int, center: bool = True, dtype=jnp.float32) -> jax.Array:
  """One-hot regression targets [n, C]: e_{label}, minus 1/C in every entry when ``center`` (zero-mean
  targets, as in the NNGP classification experiments)."""
  fn = f"{_PKG}.onehot_targets"
  if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 2:
    raise ValueError(f"{fn}: num_classes must be an int >= 2, got {num_classes!r}")
  labels = _check_labels(labels, int(num_classes), fn)
  t = jax.nn.one_hot(labels, int(num_classes), dtype=dtype)
  return t - 1.0 / num_classes if center else t


def gp_classify(k_train, k_cross, labels, num_classes: int, noise=1e-2,
                jitter: float = DEFAULT_JITTER) -> tuple[jax.Array, jax.Array]:
  """Gaussian-likelihood classification: GP regression of the centred one-hot targets.

  Returns (scores [m, C] = posterior means, predictions [m] int32 = argmax). Scores are differentiable.
  """
  fn = f"{_PKG}.gp_classify"
  k_train = _check_square(k_train, "k_train", fn)
  if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 2:
    raise ValueError(f"{fn}: num_classes must be an int >= 2, got {num_classes!r}")
  labels = _check_labels(labels, int(num_classes), fn, n=k_train.shape[0])
  y = onehot_targets(labels, int(num_classes), dtype=k_train.dtype)
  _, k_cross, y, chol = _gp_parts(k_train, k_cross, y, noise, jitter, fn)
  scores = k_cross @ cho_solve((chol, True), y)
  return scores, jnp.argmax(scores, axis=1).astype(jnp.int32)


# ---------------------------------------------------------------------------------------------------
# Alignment.


def _center(k):
  n = k.shape[0]
  h = jnp.eye(n, dtype=k.dtype) - 1.0 / n
  return h @ k @ h


def kernel_alignment(k1, k2, centered: bool = False) -> jax.Array:
  """A(K1, K2) = <K1, K2>_F / (||K1||_F ||K2||_F) in [-1, 1] ([] float; centred: both sides H K H first).
  Differentiable (zero-norm inputs give NaN)."""
  fn = f"{_PKG}.kernel_alignment"
  k1 = _check_square(k1, "k1", fn, symmetric=False)
  k2 = _check_square(k2, "k2", fn, symmetric=False)
  if k1.shape != k2.shape:
    raise ValueError(f"{fn}: k1 and k2 must have the same shape, got {k1.shape} and {k2.shape}")
  if centered:
    k1, k2 = _center(k1), _center(k2)
  return jnp.sum(k1 * k2) / jnp.sqrt(jnp.sum(k1 * k1) * jnp.sum(k2 * k2))


def target_alignment(k, y, centered: bool = False) -> jax.Array:
  """Kernel-target alignment A(K, y y^T) for labels y: [n] in {-1, +1} (or any real targets): []."""
  fn = f"{_PKG}.target_alignment"
  k = _check_square(k, "k", fn, symmetric=False)
  y = _check_y(y, k.shape[0], fn, ndim=(1,))
  return kernel_alignment(k, jnp.outer(y, y).astype(k.dtype), centered=centered)


# ---------------------------------------------------------------------------------------------------
# Kernel SVM (C-SVC dual by SMO).


def _check_pm1(y, n: int, fn: str) -> jax.Array:
  y = _float(y, "y", fn)
  if y.shape != (n,):
    raise ValueError(f"{fn}: y must have shape [n] = ({n},), got {y.shape}")
  if is_concrete(y):
    a = np.asarray(y)
    if not np.all((a == 1) | (a == -1)):
      raise ValueError(f"{fn}: y must hold labels in {{-1, +1}}, got values {np.unique(a)[:5]}")
  return y


def svm_fit(k_train, y, C=1.0, tol: float = 1e-6, max_iter: int = 100_000) -> SVMResult:
  """Solves the C-SVC dual on a precomputed kernel by SMO (libsvm's second-order working set).

  k_train: [n, n] symmetric PSD (ValueError for a concrete kernel with an eigenvalue below
  -1e-8 max|K|: repair shot-noise kernels with :func:`psd_repair` first); y: [n] in {-1, +1}; C: > 0, a
  scalar or per-sample bounds [n] >= 0 (C_i = 0 removes point i: it keeps alpha_i = 0 and does not enter the
  bias); tol: stopping gap of the KKT conditions (libsvm's eps; sklearn's default is 1e-3). Runs in the
  kernel's dtype (use float64 for tight tolerances). The solution is piecewise smooth in K with an
  active-set loop: differentiating raises TypeError. vmappable over kernels, labels and C.
  """
  fn = f"{_PKG}.svm_fit"
  k = _check_square(k_train, "k_train", fn)
  n = k.shape[0]
  y = _check_pm1(y, n, fn)
  if isinstance(C, bool) or isinstance(C, (str, bytes)) or C is None:
    raise TypeError(f"{fn}: C must be a positive number or an array [n], got {C!r}")
  c = _float(C, "C", fn)
  if c.ndim not in (0, 1) or (c.ndim == 1 and c.shape != (n,)):
    raise ValueError(f"{fn}: C must be a scalar or have shape [n] = ({n},), got {c.shape}")
  if is_concrete(c):
    cv = np.asarray(c, np.float64)
    bad = (not np.all(np.isfinite(cv))) or (cv.ndim == 0 and cv <= 0) or np.any(cv < 0) or cv.max() <= 0
    if bad:
      raise ValueError(f"{fn}: C must be finite, > 0 (a scalar) or >= 0 with some > 0 (per sample), got "
                       f"{cv if cv.ndim == 0 else (cv.min(), cv.max())}")
  if isinstance(tol, bool) or not isinstance(tol, (int, float, np.floating)) or not tol > 0:
    raise ValueError(f"{fn}: tol must be a float > 0, got {tol!r}")
  if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
    raise ValueError(f"{fn}: max_iter must be an int >= 1, got {max_iter!r}")
  if is_concrete(k):
    w = np.linalg.eigvalsh(np.asarray(k, np.float64))
    if w[0] < -1e-8 * max(1.0, float(np.abs(w).max())):
      raise ValueError(f"{fn}: k_train must be positive semi-definite, got min eigenvalue {w[0]:.3g}; repair "
                       "it with psd_repair")
  dtype = jnp.result_type(k.dtype, y.dtype, c.dtype)
  k = no_grad(k.astype(dtype), f"{fn}: k_train")
  c = jnp.broadcast_to(c.astype(dtype), (n,))
  return _smo(k, y.astype(dtype), c, jnp.asarray(tol, dtype), int(max_iter))


@functools.partial(jax.jit, static_argnums=4)
def _smo(k, y, c, tol, max_iter):
  n = k.shape[0]
  tau = jnp.asarray(1e-12, k.dtype)
  diag = jnp.diag(k)
  big = jnp.asarray(jnp.inf, k.dtype)
  active = c > 0

  def select(alpha, g):
    v = -y * g
    up = active & (((y > 0) & (alpha < c)) | ((y < 0) & (alpha > 0)))
    low = active & (((y > 0) & (alpha > 0)) | ((y < 0) & (alpha < c)))
    i = jnp.argmax(jnp.where(up, v, -big))
    m_val = jnp.where(jnp.any(up), v[i], -big)
    M_val = jnp.min(jnp.where(low, v, big))
    b = m_val - v
    a = diag[i] + diag - 2.0 * k[i]
    a = jnp.where(a > 0, a, tau)
    score = jnp.where(low & (b > 0), -(b * b) / a, big)
    j = jnp.argmin(score)
    return i, j, m_val - M_val, b[j], a[j]

  def cond(carry):
    _, _, it, gap = carry
    return (it < max_iter) & (gap > tol)

  def body(carry):
    alpha, g, it, _ = carry
    i, j, _, b_ij, a_ij = select(alpha, g)
    bound_i = jnp.where(y[i] > 0, c[i] - alpha[i], alpha[i])
    bound_j = jnp.where(y[j] > 0, alpha[j], c[j] - alpha[j])
    t = jnp.minimum(b_ij / a_ij, jnp.minimum(bound_i, bound_j))
    t = jnp.maximum(t, 0.0)
    ai = jnp.where(t >= bound_i, jnp.where(y[i] > 0, c[i], 0.0), alpha[i] + t * y[i])
    aj = jnp.where(t >= bound_j, jnp.where(y[j] > 0, 0.0, c[j]), alpha[j] - t * y[j])
    alpha = alpha.at[i].set(ai).at[j].set(aj)
    g = g + t * y * (k[:, i] - k[:, j])
    gap = select(alpha, g)[2]
    return alpha, g, it + 1, gap

  alpha0 = jnp.zeros((n,), k.dtype)
  g0 = -jnp.ones((n,), k.dtype)
  gap0 = select(alpha0, g0)[2]
  alpha, g, it, gap = jax.lax.while_loop(cond, body, (alpha0, g0, jnp.int32(0), gap0))
  # libsvm's rho: the mean of y_i G_i over free vectors, else the midpoint of the bounds.
  yg = y * g
  at_upper = active & (alpha >= c)
  at_lower = active & (alpha <= 0)
  free = active & ~at_upper & ~at_lower
  ub_mask = (at_upper & (y < 0)) | (at_lower & (y > 0))
  lb_mask = (at_upper & (y > 0)) | (at_lower & (y < 0))
  ub = jnp.min(jnp.where(ub_mask, yg, big))
  lb = jnp.max(jnp.where(lb_mask, yg, -big))
  n_free = jnp.sum(free)
  rho = jnp.where(n_free > 0, jnp.sum(jnp.where(free, yg, 0.0)) / jnp.maximum(n_free, 1), 0.5 * (ub + lb))
  return SVMResult(alpha, -rho, it, gap)


def svm_decision(k_cross, y, result: SVMResult) -> jax.Array:
  """f(x) = sum_i alpha_i y_i k(x_i, x) + bias at m points: k_cross [m, n], y [n] -> [m]
  (predict sign(f); differentiable in ``k_cross``)."""
  fn = f"{_PKG}.svm_decision"
  if not isinstance(result, SVMResult):
    raise TypeError(f"{fn}: result must be an SVMResult from svm_fit, got {type(result).__name__}")
  n = result.alpha.shape[-1]
  k_cross = _check_cross(k_cross, n, fn)
  y = _check_pm1(y, n, fn)
  return k_cross @ (result.alpha * y).astype(k_cross.dtype) + result.bias.astype(k_cross.dtype)


# ---------------------------------------------------------------------------------------------------
# Classical kernels.


def _check_points(x, name: str, fn: str) -> jax.Array:
  x = _float(x, name, fn)
  if x.ndim != 2:
    raise ValueError(f"{fn}: {name} must have shape [N, d], got {x.shape}")
  check_finite(x, name, fn)
  return x


def rbf_kernel(xa, xb, gamma) -> jax.Array:
  """exp(-gamma |a - b|^2): xa [N, d], xb [M, d], gamma > 0 -> [N, M] (differentiable)."""
  fn = f"{_PKG}.rbf_kernel"
  xa = _check_points(xa, "xa", fn)
  xb = _check_points(xb, "xb", fn)
  if xa.shape[1] != xb.shape[1]:
    raise ValueError(f"{fn}: xa and xb must have the same dimension d, got {xa.shape[1]} and {xb.shape[1]}")
  gamma = _check_positive(gamma, "gamma", fn)
  d2 = jnp.sum((xa[:, None, :] - xb[None, :, :]) ** 2, axis=-1)
  return jnp.exp(-gamma * d2)


def linear_kernel(xa, xb) -> jax.Array:
  """xa xb^T: xa [N, d], xb [M, d] -> [N, M] (differentiable)."""
  fn = f"{_PKG}.linear_kernel"
  xa = _check_points(xa, "xa", fn)
  xb = _check_points(xb, "xb", fn)
  if xa.shape[1] != xb.shape[1]:
    raise ValueError(f"{fn}: xa and xb must have the same dimension d, got {xa.shape[1]} and {xb.shape[1]}")
  return xa @ xb.T
