"""Exact samplers of Gaussian processes on a uniform time grid, shared by the zoo's stochastic-process papers.

Used by paper 06 (``theory/slepian_iia``: H. Bengtsson and K. Podgórski, "The Slepian model based independent
interval approximation of persistency and zero-level exceedance distributions", 2024, arXiv:2401.01805) and
paper 20 (``theory/early_warning``: early-warning signals of critical transitions).

- ``ou_exact``: the Ornstein–Uhlenbeck process dX = θ(μ − X) dt + σ dW sampled *exactly* on a uniform grid. Its
  transition over one step of length dt is Gaussian (the AR(1) recursion)

      X_{k+1} = μ_k + a_k (X_k − μ_k) + s_k ε_k,   a_k = exp(−θ_k dt),   s_k² = σ_k² (1 − a_k²) / (2 θ_k),

  with ε_k i.i.d. N(0, 1); the stationary law is N(μ, σ²/(2θ)) and the autocorrelation at lag k is
  exp(−θ dt k). θ, μ, σ may vary from step to step (parameter ramps); θ = 0 gives Brownian increments
  (s_k² = σ_k² dt, the θ → 0 limit).
- ``circulant_embedding_sample``: exact sampling of a stationary Gaussian sequence X_0..X_{n−1} with covariance
  Cov(X_j, X_k) = c_{|j−k|} by embedding the Toeplitz covariance into a circulant matrix of size m = 2(n − 1),
  whose eigenvalues are the FFT of the first row (Dietrich & Newsam 1997, "Fast and exact simulation of
  stationary Gaussian processes through circulant embedding of the covariance matrix", SIAM J. Sci. Comput.
  18:1088; Wood & Chan 1994). One complex FFT yields two independent paths (real and imaginary parts). The
  sampling is exact when every eigenvalue is non-negative; otherwise the function raises and names the
  smallest eigenvalue.
"""
from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

from kernels.common.checks import check_finite

Array = jax.Array
__all__ = ["ou_exact", "EmbeddingCheck", "circulant_eigenvalues", "circulant_embedding_sample"]


# ---------------------------------------------------------------------------------------------------
# Validation helpers.


def _float_dtype():
  """The default float dtype (float64 inside ``jax.enable_x64(True)``, float32 otherwise)."""
  return jnp.asarray(0.0).dtype


def _check_int(name: str, value, minimum: int, fn: str) -> int:
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
    raise TypeError(f"{fn}: {name}: expected an int >= {minimum}, got {type(value).__name__} {value!r}")
  if int(value) < minimum:
    raise ValueError(f"{fn}: {name}: expected an int >= {minimum}, got {value}")
  return int(value)


def _check_param(name: str, value, n_steps: int, *, positive: bool = False, nonneg: bool = False,
                 fn: str = "ou_exact") -> Array:
  """A scalar or a length-``n_steps`` vector of per-step values; returns a ``[n_steps]`` array."""
  if isinstance(value, bool) or value is None:
    raise TypeError(f"{fn}: {name}: expected a real scalar or an array of shape [{n_steps}], got {value!r}")
  try:
    arr = jnp.asarray(value)
  except TypeError as e:
    raise TypeError(f"{fn}: {name}: expected a real scalar or an array of shape [{n_steps}], got "
                    f"{type(value).__name__}") from e
  if arr.dtype == jnp.bool_ or not (jnp.issubdtype(arr.dtype, jnp.floating) or jnp.issubdtype(arr.dtype, jnp.integer)):
    raise TypeError(f"{fn}: {name}: expected real values, got dtype {arr.dtype}")
  if arr.ndim == 0:
    arr = jnp.broadcast_to(arr, (n_steps,))
  elif arr.shape != (n_steps,):
    raise ValueError(f"{fn}: {name}: expected a scalar or shape [{n_steps}] (one value per step), got shape {arr.shape}")
  if not isinstance(arr, jax.core.Tracer):
    a = np.asarray(arr, np.float64)
    if not np.all(np.isfinite(a)):
      raise ValueError(f"{fn}: {name}: expected finite values, got non-finite entries")
    if positive and not np.all(a > 0):
      raise ValueError(f"{fn}: {name}: expected values > 0, got minimum {a.min()!r}")
    if nonneg and not np.all(a >= 0):
      raise ValueError(f"{fn}: {name}: expected values >= 0, got minimum {a.min()!r}")
  return arr.astype(_float_dtype())


# ---------------------------------------------------------------------------------------------------
# Ornstein–Uhlenbeck.


@functools.partial(jax.jit, static_argnames=("n_paths", "draw_x0"))
def _ou_core(key: Array, theta: Array, sigma: Array, mu: Array, dt: Array, x0: Array, *, n_paths: int,
             draw_x0: bool) -> Array:
  k0, k1 = jax.random.split(key)
  dtype = theta.dtype
  if draw_x0:
    # stationary law of the first step's parameters: N(μ_0, σ_0² / (2 θ_0))
    x0 = mu[0] + sigma[0] / jnp.sqrt(2 * theta[0]) * jax.random.normal(k0, (n_paths,), dtype)
  else:
    x0 = jnp.broadcast_to(x0, (n_paths,)).astype(dtype)
  a = jnp.exp(-theta * dt)
  th_safe = jnp.where(theta > 0, theta, 1.0)
  # s² = σ² (1 − e^{−2θdt}) / (2θ), written with expm1 (no cancellation for small θdt); σ² dt at θ = 0
  var = jnp.where(theta > 0, -jnp.expm1(-2 * th_safe * dt) / (2 * th_safe), dt) * sigma ** 2
  s = jnp.sqrt(var)
  eps = jax.random.normal(k1, (theta.shape[0], n_paths), dtype)

  def step(x, inp):
    a_k, m_k, s_k, e_k = inp
    x = m_k + a_k * (x - m_k) + s_k * e_k
    return x, x

  _, xs = jax.lax.scan(step, x0, (a, mu, s, eps))
  return jnp.concatenate([x0[None], xs], axis=0).T   # [n_paths, n_steps + 1]


def ou_exact(key: Array, *, theta, sigma, dt: float, n_steps: int, x0=None, mu=0.0,
             n_paths: int | None = None) -> Array:
  """Exact Ornstein–Uhlenbeck paths dX = θ(μ − X) dt + σ dW on the grid t_k = k dt, k = 0..n_steps.

  Step k (from t_k to t_{k+1}) uses θ_k, μ_k, σ_k: X_{k+1} = μ_k + e^{−θ_k dt}(X_k − μ_k) + s_k ε_k with
  s_k² = σ_k²(1 − e^{−2θ_k dt})/(2θ_k) (σ_k² dt when θ_k = 0, Brownian motion). No discretisation error.

  Args:
    key: PRNG key.
    theta: mean-reversion rate θ ≥ 0, scalar or ``[n_steps]`` (per step).
    sigma: noise amplitude σ ≥ 0, scalar or ``[n_steps]``.
    dt: step length > 0 (a Python number).
    n_steps: number of steps (≥ 1, a Python int); paths have n_steps + 1 points. θ, σ, μ, x0 may be traced
      (call ``ou_exact`` inside ``jit``/``vmap`` over keys or parameters); their ranges are then not checked.
    x0: starting value (scalar or ``[n_paths]``); None draws X_0 from the stationary law N(μ_0, σ_0²/(2θ_0))
      (needs θ_0 > 0).
    mu: long-run mean μ, scalar or ``[n_steps]``.
    n_paths: number of independent paths; None returns a single path.

  Returns:
    ``[n_paths, n_steps + 1]`` (or ``[n_steps + 1]`` when ``n_paths`` is None) in the default float dtype
    (float64 under ``jax.enable_x64(True)``). Reparameterised (X depends smoothly on θ, σ, μ, x0 given the
    key): differentiable in every floating input. Non-finite concrete inputs raise.
  """
  fn = "ou_exact"
  n_steps = _check_int("n_steps", n_steps, 1, fn)
  single = n_paths is None
  n = 1 if single else _check_int("n_paths", n_paths, 1, fn)
  if isinstance(dt, bool) or not isinstance(dt, (int, float, np.floating, np.integer)):
    raise TypeError(f"{fn}: dt: expected a positive real number, got {type(dt).__name__} {dt!r}")
  if not (math.isfinite(float(dt)) and float(dt) > 0):
    raise ValueError(f"{fn}: dt: expected a finite number > 0, got {dt!r}")
  th = _check_param("theta", theta, n_steps, nonneg=True)
  sg = _check_param("sigma", sigma, n_steps, nonneg=True)
  m = _check_param("mu", mu, n_steps)
  draw = x0 is None
  if draw:
    if not isinstance(th, jax.core.Tracer) and not float(th[0]) > 0:
      raise ValueError(f"{fn}: theta: x0=None draws from the stationary law, which needs theta[0] > 0, "
                       f"got {float(th[0])}")
    x0_arr = jnp.zeros((), _float_dtype())
  else:
    x0_in = jnp.asarray(x0)
    if x0_in.dtype == jnp.bool_ or not (jnp.issubdtype(x0_in.dtype, jnp.floating)
                                        or jnp.issubdtype(x0_in.dtype, jnp.integer)):
      raise TypeError(f"{fn}: x0: expected real values, got dtype {x0_in.dtype}")
    x0_arr = x0_in.astype(_float_dtype())
    if x0_arr.ndim > 1 or (x0_arr.ndim == 1 and x0_arr.shape[0] != n):
      raise ValueError(f"{fn}: x0: expected a scalar or shape [{n}] (one value per path), got shape {x0_arr.shape}")
    check_finite(x0_arr, "x0", fn)
  out = _ou_core(key, th, sg, m, jnp.asarray(float(dt), _float_dtype()), x0_arr, n_paths=n, draw_x0=draw)
  return out[0] if single else out


# ---------------------------------------------------------------------------------------------------
# Circulant embedding.


class EmbeddingCheck(NamedTuple):
  """Eigenvalues of the circulant embedding: ``eigenvalues: [m]``, ``min_eigenvalue``, ``max_eigenvalue``."""
  eigenvalues: Array
  min_eigenvalue: float
  max_eigenvalue: float


def _validate_cov(cov, fn: str) -> Array:
  if cov is None or isinstance(cov, (bool, str)):
    raise TypeError(f"{fn}: cov: expected a 1-D array of covariance values c_0..c_(n-1), got {cov!r}")
  c = jnp.asarray(cov)
  if c.dtype == jnp.bool_ or (not jnp.issubdtype(c.dtype, jnp.floating) and not jnp.issubdtype(c.dtype, jnp.integer)):
    raise TypeError(f"{fn}: cov: expected real values, got dtype {c.dtype}")
  if c.ndim != 1 or c.shape[0] < 2:
    raise ValueError(f"{fn}: cov: expected a 1-D array of length >= 2 (c_0..c_(n-1)), got shape {c.shape}")
  if isinstance(c, jax.core.Tracer):
    checkify.debug_check(jnp.all(jnp.isfinite(c)) & (c[0] > 0) & (jnp.max(jnp.abs(c)) <= c[0] * (1 + 1e-12)),
                         f"{fn}: cov: expected finite values with cov[0] > 0 and |cov[k]| <= cov[0]")
    return c.astype(_float_dtype())
  a = np.asarray(c, np.float64)
  if not np.all(np.isfinite(a)):
    raise ValueError(f"{fn}: cov: expected finite covariance values, got non-finite entries")
  if not a[0] > 0:
    raise ValueError(f"{fn}: cov: expected a positive variance cov[0] > 0, got {a[0]!r}")
  if np.max(np.abs(a)) > a[0] * (1 + 1e-12):
    raise ValueError(f"{fn}: cov: |cov[k]| must not exceed cov[0] = {a[0]!r} for a covariance, got max "
                     f"{np.max(np.abs(a))!r}")
  return c.astype(_float_dtype())


@jax.jit
def _embedding_eigenvalues(c: Array) -> Array:
  row = jnp.concatenate([c, c[-2:0:-1]])   # [m], m = 2(n − 1): c_0, ..., c_{n−1}, c_{n−2}, ..., c_1
  return jnp.real(jnp.fft.fft(row))


def _eigenvalues(cov, pad: int, fn: str) -> EmbeddingCheck:
  pad = _check_int("pad", pad, 0, fn)
  c = _validate_cov(cov, fn)
  if pad:
    c = jnp.concatenate([c, jnp.zeros((pad,), c.dtype)])
  lam = _embedding_eigenvalues(c)
  if isinstance(lam, jax.core.Tracer):
    return EmbeddingCheck(lam, jnp.min(lam), jnp.max(lam))
  return EmbeddingCheck(lam, float(jnp.min(lam)), float(jnp.max(lam)))


def circulant_eigenvalues(cov, pad: int = 0) -> EmbeddingCheck:
  """Eigenvalues of the circulant embedding of ``cov`` (after appending ``pad`` zeros); the embedding gives an
  exact sampler iff all are ≥ 0.

  Args:
    cov: ``[n]`` covariance values c_0..c_{n−1} on a uniform grid. May be traced (under ``jit``/``grad``: the
      eigenvalues are linear in ``cov``); then ``min_eigenvalue``/``max_eigenvalue`` are JAX scalars and the
      value checks are ``checkify`` checks.
    pad: number of zeros appended to ``cov`` before embedding (see ``circulant_embedding_sample``).
  """
  return _eigenvalues(cov, pad, "circulant_eigenvalues")


@functools.partial(jax.jit, static_argnames=("n", "n_pairs"))
def _ce_core(key: Array, lam: Array, *, n: int, n_pairs: int) -> Array:
  m = lam.shape[0]
  k1, k2 = jax.random.split(key)
  scale = jnp.sqrt(jnp.maximum(lam, 0.0) / m)                       # [m]
  xi = jax.random.normal(k1, (n_pairs, m), lam.dtype) + 1j * jax.random.normal(k2, (n_pairs, m), lam.dtype)
  w = jnp.fft.fft(scale * xi, axis=-1)[:, :n]                       # [n_pairs, n]; Cov(Re) = Cov(Im) = C
  return jnp.concatenate([jnp.real(w), jnp.imag(w)], axis=0)       # [2 n_pairs, n]


def circulant_embedding_sample(key: Array, cov, n_paths: int, *, pad: int = 0, rtol: float = 1e-10) -> Array:
  """Exact samples of a stationary Gaussian sequence with Cov(X_j, X_k) = cov[|j − k|] (circulant embedding).

  The n × n Toeplitz covariance is embedded in the circulant matrix with first row
  (c_0, …, c_{n−1}, c_{n−2}, …, c_1) of size m = 2(n − 1); its eigenvalues λ are the FFT of that row. With
  ξ = ξ₁ + iξ₂ standard complex normal, FFT(√(λ/m) ξ) has real and imaginary parts that are independent with
  covariance exactly the circulant matrix, whose leading n × n block is the Toeplitz covariance.

  Args:
    key: PRNG key.
    cov: ``[n]`` covariance values c_0..c_{n−1} (n ≥ 2) at lags 0, dt, …, (n − 1)dt. Concrete: the embedding's
      eigenvalues are checked on the host before sampling (which is jit-compiled). Traced (under ``jit`` or
      ``grad``): the checks are ``checkify`` checks, and an unchecked embedding with negative eigenvalues
      samples with them clipped to 0 (not the requested covariance). The samples are √λ-reparameterised:
      differentiable in ``cov`` where every eigenvalue is > 0.
    n_paths: number of independent paths (≥ 1).
    pad: append this many zeros to ``cov`` before embedding and return only the first n points. This makes the
      embedding larger; it reproduces the covariance exactly only if the true covariance is zero beyond lag
      n − 1 (use it when cov has decayed to ~0). The exact way to pad is to pass ``cov`` on a longer grid and
      slice the result.
    rtol: eigenvalues in [−rtol·λ_max, 0) are rounding noise and are set to 0; anything more negative raises.

  Returns:
    ``[n_paths, n]`` in the default float dtype (float64 under ``jax.enable_x64(True)``).

  Raises:
    ValueError: if the embedding is not non-negative definite; the message names the minimal eigenvalue.
  """
  fn = "circulant_embedding_sample"
  n_paths = _check_int("n_paths", n_paths, 1, fn)
  if isinstance(rtol, bool) or not isinstance(rtol, (int, float)) or not (0 <= rtol < 1):
    raise ValueError(f"{fn}: rtol: expected a number in [0, 1), got {rtol!r}")
  chk = _eigenvalues(cov, pad, fn)
  n = int(jnp.shape(cov)[0])
  if isinstance(chk.min_eigenvalue, jax.core.Tracer):
    checkify.debug_check(chk.min_eigenvalue >= -rtol * chk.max_eigenvalue,
                         f"{fn}: cov: the circulant embedding is not non-negative definite: minimal eigenvalue "
                         "{lo} (max {hi})", lo=chk.min_eigenvalue, hi=chk.max_eigenvalue)
  elif chk.min_eigenvalue < -rtol * chk.max_eigenvalue:
    raise ValueError(
        f"{fn}: cov: the circulant embedding (size {chk.eigenvalues.shape[0]}) is not non-negative definite: "
        f"minimal eigenvalue {chk.min_eigenvalue:.3e} (max {chk.max_eigenvalue:.3e}, tolerance {rtol:g} relative). "
        "Pass the covariance on a longer grid (and keep the first n points), or pad=... zeros if it has decayed.")
  out = _ce_core(key, chk.eigenvalues, n=n, n_pairs=(n_paths + 1) // 2)
  return out[:n_paths]
