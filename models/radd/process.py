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
"""
from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

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


def check_noise(noise) -> None:
  if not isinstance(noise, (LogLinearNoise, GeometricNoise)):
    raise TypeError(f"noise: expected a LogLinearNoise or GeometricNoise, got {type(noise).__name__}")


def score_scale(sigma_bar: Array) -> Array:
  """e^{−σ̄}/(1 − e^{−σ̄}) = 1/expm1(σ̄) (expm1 keeps it accurate for small σ̄)."""
  return 1.0 / jnp.expm1(sigma_bar)


def check_tokens(x: Array, name: str, vocab_size: int | None = None, *, allow_mask: bool = True) -> None:
  """Raises TypeError/ValueError unless ``x`` is an int [B, L] array (values checked when concrete)."""
  if not hasattr(x, "dtype") or not jnp.issubdtype(x.dtype, jnp.integer):
    raise TypeError(f"{name}: expected an integer array, got {getattr(x, 'dtype', type(x).__name__)}")
  if x.ndim != 2:
    raise ValueError(f"{name}: expected shape [B, L], got {tuple(x.shape)}")
  if vocab_size is not None and not isinstance(x, jax.core.Tracer):
    hi = vocab_size if allow_mask else vocab_size - 1
    xn = np.asarray(x)
    lo_v, hi_v = int(xn.min()), int(xn.max())
    if lo_v < 0 or hi_v > hi:
      raise ValueError(f"{name}: expected ids in [0, {hi}]{' (the mask id is ' + str(vocab_size) + ')' if allow_mask else ''}, "
                       f"got values in [{lo_v}, {hi_v}]")


def mask_tokens(key: Array, x0: Array, mask_prob: Array, mask_id: int) -> Array:
  """Forward absorbing process: each token becomes ``mask_id`` independently with probability ``mask_prob``.

  Args:
    key: PRNG key.
    x0: int [B, L] clean tokens.
    mask_prob: [] or [B] probabilities λ = 1 − e^{−σ̄(t)} in [0, 1].
    mask_id: the mask token id (V).
  Returns:
    x_t: int [B, L].
  """
  check_tokens(x0, "x0")
  lam = jnp.asarray(mask_prob)
  if lam.ndim > 1 or (lam.ndim == 1 and lam.shape[0] != x0.shape[0]):
    raise ValueError(f"mask_prob: expected a scalar or shape [B={x0.shape[0]}], got {tuple(lam.shape)}")
  lam = jnp.broadcast_to(lam, (x0.shape[0],))
  u = jax.random.uniform(key, x0.shape, dtype=lam.dtype if jnp.issubdtype(lam.dtype, jnp.floating) else jnp.float32)
  return jnp.where(u < lam[:, None], jnp.asarray(mask_id, x0.dtype), x0)


def concrete_score(log_c: Array, xt: Array, sigma_bar: Array, mask_id: int) -> Array:
  """Unmasking ratios ``p_t(x̂)/p_t(x_t)`` from the conditionals (paper Thm. 1).

  Args:
    log_c: [B, L, V] log p₀(xⁱ = v | x_t^UM) (only rows of masked positions matter).
    xt: int [B, L] noisy tokens (``mask_id`` = masked).
    sigma_bar: [] or [B] total noise σ̄(t) > 0.
    mask_id: the mask id (V).
  Returns:
    [B, L, V]: at a masked position i, ``score_scale(σ̄) · c_{i,v}``; zero at unmasked positions (reverse
    moves only unmask).
  """
  check_tokens(xt, "xt")
  if log_c.ndim != 3 or log_c.shape[:2] != xt.shape:
    raise ValueError(f"log_c: expected shape [B, L, V] with [B, L] = {tuple(xt.shape)}, got {tuple(log_c.shape)}")
  sb = jnp.broadcast_to(jnp.asarray(sigma_bar, log_c.dtype), (xt.shape[0],))
  masked = (xt == mask_id)[..., None]
  return jnp.where(masked, jnp.exp(log_c) * score_scale(sb)[:, None, None], 0.0)
