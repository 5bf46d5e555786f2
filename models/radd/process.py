"""The absorbing (masking) forward process of RADD and its concrete score.

Ou, Nie, Xue, Zhu, Sun, Li, Li. "Your Absorbing Discrete Diffusion Secretly Models the Conditional
Distributions of Clean Data". ICLR 2025. arXiv:2406.03736.

* Noise schedules σ(t) with total noise σ̄(t) = ∫₀ᵗ σ: :class:`LogLinearNoise` (σ̄ = −log(1 − (1−ε)t),
  so the masking probability is (1−ε)t; the official default, ε = 1e-3) and :class:`GeometricNoise`
  (σ̄ = σ_min^{1−t} σ_max^t).
* Forward process (paper §2, absorbing transition): every token is replaced by the mask M independently
  with probability ``λ(t) = 1 − e^{−σ̄(t)}`` (:func:`mask_tokens`).
* Concrete score (paper Thm. 1): for x_t with x_tⁱ = M and x̂ = x_t except x̂ⁱ = v ≠ M,
  ``p_t(x̂)/p_t(x_t) = e^{−σ̄}/(1 − e^{−σ̄}) · p₀(xⁱ = v | x_t^UM)`` (:func:`concrete_score`; the scalar is
  :func:`score_scale` ``= 1/expm1(σ̄)``).

Shapes: ``x0, xt: int [B, L]``, ``t: [] or [B]``, conditionals ``log_c: [B, L, V]``; the mask id is V.

Token ids are checked with :func:`kernels.common.checks.check_in_range`: a ``ValueError`` naming the
argument and the first bad index when the ids are concrete, a ``checkify`` check under ``jit``
(``checkify.checkify(jax.jit(f))`` reports it). :func:`mask_tokens` returns integer tokens: it raises
``TypeError`` when differentiated in ``mask_prob`` (the Bernoulli draw is piecewise constant).
"""
from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import check_in_range, is_concrete, no_grad

Array = jax.Array

__all__ = ["GeometricNoise", "LogLinearNoise", "Noise", "concrete_score", "mask_tokens", "score_scale"]


@dataclasses.dataclass(frozen=True)
class LogLinearNoise:
  """σ̄(t) = −log(1 − (1−ε)t), σ(t) = (1−ε)/(1 − (1−ε)t); masking probability λ(t) = (1−ε)t.

  Attributes:
    eps: ε in (0, 1): at t = 1 a token is still unmasked with probability ε (official: 1e-3).
  """
  eps: float = 1e-3

  def __post_init__(self):
    if not (isinstance(self.eps, float) and 0.0 < self.eps < 1.0):
      raise ValueError(f"LogLinearNoise.eps: expected a float in (0, 1), got {self.eps!r}")

  def total(self, t: Array) -> Array:
    """σ̄(t)."""
    return -jnp.log1p(-(1.0 - self.eps) * t)

  def rate(self, t: Array) -> Array:
    """σ(t) = dσ̄/dt."""
    return (1.0 - self.eps) / (1.0 - (1.0 - self.eps) * t)

  def mask_prob(self, t: Array) -> Array:
    """λ(t) = 1 − e^{−σ̄(t)}."""
    return (1.0 - self.eps) * jnp.asarray(t)


@dataclasses.dataclass(frozen=True)
class GeometricNoise:
  """σ̄(t) = σ_min^{1−t} σ_max^t, σ(t) = σ̄(t) log(σ_max/σ_min) (official config: 1e-4, 20)."""
  sigma_min: float = 1e-4
  sigma_max: float = 20.0

  def __post_init__(self):
    for f in ("sigma_min", "sigma_max"):
      v = getattr(self, f)
      if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ValueError(f"GeometricNoise.{f}: expected a finite float, got {v!r}")
    if not (0.0 < self.sigma_min < self.sigma_max):
      raise ValueError(f"GeometricNoise.sigma_min/sigma_max: expected 0 < sigma_min < sigma_max, got "
                       f"{self.sigma_min!r}, {self.sigma_max!r}")

  def total(self, t: Array) -> Array:
    return self.sigma_min ** (1.0 - t) * self.sigma_max ** t

  def rate(self, t: Array) -> Array:
    return self.total(t) * math.log(self.sigma_max / self.sigma_min)

  def mask_prob(self, t: Array) -> Array:
    return -jnp.expm1(-self.total(t))


Noise = LogLinearNoise | GeometricNoise


def check_noise(noise, fn: str = "radd") -> None:
  if not isinstance(noise, (LogLinearNoise, GeometricNoise)):
    raise TypeError(f"{fn}: noise expected a LogLinearNoise or GeometricNoise, got {type(noise).__name__}")


def check_mask_id(mask_id, fn: str) -> None:
  if not isinstance(mask_id, int) or isinstance(mask_id, bool) or mask_id < 1:
    raise ValueError(f"{fn}: mask_id expected a positive int (the vocabulary size V), got {mask_id!r}")


def score_scale(sigma_bar: Array) -> Array:
  """e^{−σ̄}/(1 − e^{−σ̄}) = 1/expm1(σ̄) (expm1 keeps it accurate for small σ̄); needs σ̄ > 0.

  A concrete σ̄ <= 0 or non-finite raises ``ValueError``; under ``jit`` σ̄ = 0 gives +inf and σ̄ < 0 a
  negative value (unchecked)."""
  sb = jnp.asarray(sigma_bar)
  if not (jnp.issubdtype(sb.dtype, jnp.floating) or jnp.issubdtype(sb.dtype, jnp.integer)):
    raise TypeError(f"score_scale: sigma_bar expected a real array, got {sb.dtype}")
  if is_concrete(sigma_bar):
    a = np.asarray(sb, np.float64)
    bad = ~(np.isfinite(a) & (a > 0))
    if bad.any():
      idx = tuple(int(i) for i in np.argwhere(bad)[0])
      raise ValueError(f"score_scale: sigma_bar expected finite values > 0, got {a[idx]} at index {idx}")
  return 1.0 / jnp.expm1(sb)


def check_tokens(x: Array, name: str, fn: str, hi: int | None = None) -> None:
  """Raises TypeError/ValueError unless ``x`` is an int [B, L] array; with ``hi``, its ids must lie in
  ``[0, hi)`` (:func:`kernels.common.checks.check_in_range`: eager ``ValueError`` with the index,
  ``checkify`` under jit)."""
  if not hasattr(x, "dtype") or not jnp.issubdtype(x.dtype, jnp.integer):
    raise TypeError(f"{fn}: {name} expected an integer array, got {getattr(x, 'dtype', type(x).__name__)}")
  if x.ndim != 2:
    raise ValueError(f"{fn}: {name} expected shape [B, L], got {tuple(x.shape)}")
  if hi is not None:
    check_in_range(x, name, fn, 0, hi)


def mask_tokens(key: Array, x0: Array, mask_prob: Array, mask_id: int) -> Array:
  """Forward absorbing process: each token becomes ``mask_id`` independently with probability ``mask_prob``.

  Args:
    key: PRNG key.
    x0: int [B, L] tokens in ``[0, mask_id]`` (already-masked tokens stay masked).
    mask_prob: [] or [B] probabilities λ = 1 − e^{−σ̄(t)} in [0, 1] (checked when concrete).
    mask_id: the mask token id (V).
  Returns:
    x_t: int [B, L]. Not differentiable: differentiating in ``mask_prob`` raises ``TypeError``.
  """
  check_mask_id(mask_id, "mask_tokens")
  check_tokens(x0, "x0", "mask_tokens", mask_id + 1)
  lam = jnp.asarray(mask_prob)
  if not (jnp.issubdtype(lam.dtype, jnp.floating) or jnp.issubdtype(lam.dtype, jnp.integer)):
    raise TypeError(f"mask_tokens: mask_prob expected a real array, got {lam.dtype}")
  if lam.ndim > 1 or (lam.ndim == 1 and lam.shape[0] != x0.shape[0]):
    raise ValueError(f"mask_tokens: mask_prob expected a scalar or shape [B={x0.shape[0]}], got {tuple(lam.shape)}")
  if is_concrete(mask_prob):
    a = np.asarray(lam, np.float64)
    if not np.all((a >= 0) & (a <= 1)):
      raise ValueError(f"mask_tokens: mask_prob expected probabilities in [0, 1], got {a.tolist()}")
  lam = no_grad(lam, "models.radd.mask_tokens (Bernoulli masking) in mask_prob")
  lam = jnp.broadcast_to(lam, (x0.shape[0],))
  u = jax.random.uniform(key, x0.shape, dtype=lam.dtype if jnp.issubdtype(lam.dtype, jnp.floating) else jnp.float32)
  return jnp.where(u < lam[:, None], jnp.asarray(mask_id, x0.dtype), x0)


def concrete_score(log_c: Array, xt: Array, sigma_bar: Array, mask_id: int) -> Array:
  """Unmasking ratios ``p_t(x̂)/p_t(x_t)`` from the conditionals (paper Thm. 1).

  Args:
    log_c: [B, L, V] log p₀(xⁱ = v | x_t^UM) (only rows of masked positions matter).
    xt: int [B, L] noisy tokens (``mask_id`` = masked).
    sigma_bar: [] or [B] total noise σ̄(t) > 0.
    mask_id: the mask id (V = log_c.shape[-1]).
  Returns:
    [B, L, V]: at a masked position i, ``score_scale(σ̄) · c_{i,v}``; zero at unmasked positions (reverse
    moves only unmask). Differentiable in ``log_c`` and ``sigma_bar``.
  """
  check_mask_id(mask_id, "concrete_score")
  check_tokens(xt, "xt", "concrete_score", mask_id + 1)
  if not hasattr(log_c, "dtype") or not jnp.issubdtype(log_c.dtype, jnp.floating):
    raise TypeError(f"concrete_score: log_c expected a float array, got {getattr(log_c, 'dtype', type(log_c).__name__)}")
  if log_c.shape != (*xt.shape, mask_id):
    raise ValueError(f"concrete_score: log_c expected shape [B, L, V] = {(*xt.shape, mask_id)}, got "
                     f"{tuple(log_c.shape)}")
  sb = jnp.asarray(sigma_bar)
  if sb.ndim > 1 or (sb.ndim == 1 and sb.shape[0] != xt.shape[0]):
    raise ValueError(f"concrete_score: sigma_bar expected a scalar or shape [B={xt.shape[0]}], got {tuple(sb.shape)}")
  sb = jnp.broadcast_to(jnp.asarray(sigma_bar, log_c.dtype), (xt.shape[0],))
  masked = (xt == mask_id)[..., None]
  return jnp.where(masked, jnp.exp(log_c) * score_scale(sb)[:, None, None], 0.0)
