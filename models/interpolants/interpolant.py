"""Stochastic interpolants x_t = α(t) x₀ + β(t) x₁ + γ(t) z and their time derivatives.

Albergo, Boffi & Vanden-Eijnden, "Stochastic Interpolants: A Unifying Framework for Flows and
Diffusions", 2023, arXiv:2303.08797. Definition 2.1 (the interpolant x_t = I(t, x₀, x₁) + γ(t) z with
I(0) = x₀, I(1) = x₁, γ(0) = γ(1) = 0, γ > 0 on (0, 1), γ² ∈ C²), its spatially linear form
I = α(t) x₀ + β(t) x₁ (Sec. 4), the one-sided interpolants x_t = α(t) z + β(t) x₁ with a Gaussian base
(Sec. 3.2 / 4), and the mirror interpolant x_t = x₁ + γ(t) z (Sec. 3.3).

Paths (``path``):

* two-sided, latent z ~ N(0, I) scaled by γ:
  ``linear`` α = 1 − t, β = t; ``trig`` α = √(1−γ²) cos(πt/2), β = √(1−γ²) sin(πt/2) (variance preserving
  for unit-variance endpoints; needs γ < 1); ``encdec`` (encoder–decoder) α = cos²(πt) 1[t < ½],
  β = cos²(πt) 1[t > ½] (x_{1/2} = γ(½) z, pure noise: use ``gamma="sinesquared"``);
  ``mirror`` α = 0, β = 1 (ρ₀ = ρ₁; x₀ is ignored).
* one-sided (γ ≡ 0, the latent is x₀ ~ N(0, I) itself): ``one_sided_linear`` α = 1 − t, β = t (flow
  matching); ``one_sided_trig`` α = cos(πt/2), β = sin(πt/2); ``one_sided_vp`` α = √(1 − t²), β = t (a
  time change of the variance-preserving diffusion).

γ options (``gamma``): ``brownian`` √(t(1−t)); ``a_brownian`` √(a t(1−t)) (``a`` is the ``a`` field: the
official code's ``a-brownian`` refers to an undefined name, fixed here); ``bsquared`` t(1−t);
``sinesquared`` sin²(πt); ``zero``. γγ̇ is supplied in closed form (finite at the end points where γ̇ is
not), as the official code does.

All coefficient functions take ``t`` of any shape and return the same shape; they and the maps
:meth:`Interpolant.x_t`, :meth:`Interpolant.dx_dt`, :meth:`Interpolant.dI_dt` are differentiable in t and the
samples (away from the end points, where γ̇ and the one-sided VP α̇ blow up, and from t = ½ for ``encdec``).
The maps check that x0, x1 (and z) share one shape ``[B, D]`` and that t is a scalar or ``[B]``.
"""
from __future__ import annotations

import dataclasses
import math
import numbers

import jax
import jax.numpy as jnp

Array = jax.Array

__all__ = ["Interpolant", "PATHS", "GAMMAS", "ONE_SIDED_PATHS"]

TWO_SIDED_PATHS = ("linear", "trig", "encdec", "mirror")
ONE_SIDED_PATHS = ("one_sided_linear", "one_sided_trig", "one_sided_vp")
PATHS = TWO_SIDED_PATHS + ONE_SIDED_PATHS
GAMMAS = ("brownian", "a_brownian", "bsquared", "sinesquared", "zero")
_PI = math.pi


def _as_float(t) -> Array:
  t = jnp.asarray(t)
  return t if jnp.issubdtype(t.dtype, jnp.floating) else t.astype(jnp.asarray(0.0).dtype)


@dataclasses.dataclass(frozen=True)
class Interpolant:
  """A spatially linear stochastic interpolant (hashable: usable as a static argument of ``jit``).

  Attributes:
    path: one of :data:`PATHS`.
    gamma: one of :data:`GAMMAS`; must be ``"zero"`` for one-sided paths (their noise is x₀).
    a: the scale of ``a_brownian`` (γ² = a t(1−t)); for ``trig`` it needs a < 4 (γ < 1).
  """
  path: str = "linear"
  gamma: str = "brownian"
  a: float = 1.0

  def __post_init__(self):
    if self.path not in PATHS:
      raise ValueError(f"Interpolant.path: expected one of {PATHS}, got {self.path!r}")
    if self.gamma not in GAMMAS:
      raise ValueError(f"Interpolant.gamma: expected one of {GAMMAS}, got {self.gamma!r}")
    if isinstance(self.a, bool) or not (isinstance(self.a, numbers.Real) and math.isfinite(self.a) and self.a > 0):
      raise ValueError(f"Interpolant.a: expected a positive float, got {self.a!r}")
    if self.one_sided and self.gamma != "zero":
      raise ValueError(f"Interpolant.gamma: one-sided path {self.path!r} needs gamma='zero' (its latent is x0), "
                       f"got {self.gamma!r}")
    if self.path in ("mirror", "encdec") and self.gamma == "zero":
      raise ValueError(f"Interpolant.gamma: path {self.path!r} needs a non-zero gamma, got 'zero'")
    if self.path == "trig" and self.gamma == "a_brownian" and self.a >= 4:
      raise ValueError(f"Interpolant.a: path 'trig' needs gamma < 1, i.e. a < 4, got {self.a!r}")
    if self.path == "trig" and self.gamma == "sinesquared":
      raise ValueError("Interpolant.gamma: path 'trig' needs gamma < 1 on (0, 1); 'sinesquared' reaches 1 at t = 1/2")

  @property
  def one_sided(self) -> bool:
    """True when the base is N(0, I) and x₀ plays the role of the latent (γ ≡ 0)."""
    return self.path in ONE_SIDED_PATHS

  # -- γ ----------------------------------------------------------------------------------------------

  def gamma_fn(self, t) -> Array:
    """γ(t)."""
    t = _as_float(t)
    g = self.gamma
    if g == "brownian":
      return jnp.sqrt(jnp.clip(t * (1 - t), 0.0))
    if g == "a_brownian":
      return jnp.sqrt(jnp.clip(self.a * t * (1 - t), 0.0))
    if g == "bsquared":
      return t * (1 - t)
    if g == "sinesquared":
      return jnp.sin(_PI * t) ** 2
    return jnp.zeros_like(t)

  def gamma_dot(self, t) -> Array:
    """γ̇(t) (infinite at t ∈ {0, 1} for the Brownian choices)."""
    t = _as_float(t)
    g = self.gamma
    if g in ("brownian", "a_brownian"):
      return self.gg_dot(t) / self.gamma_fn(t)
    if g == "bsquared":
      return 1 - 2 * t
    if g == "sinesquared":
      return _PI * jnp.sin(2 * _PI * t)
    return jnp.zeros_like(t)

  def gg_dot(self, t) -> Array:
    """γ(t) γ̇(t) = ½ d(γ²)/dt, in closed form (finite everywhere)."""
    t = _as_float(t)
    g = self.gamma
    if g == "brownian":
      return 0.5 * (1 - 2 * t)
    if g == "a_brownian":
      return 0.5 * self.a * (1 - 2 * t)
    if g == "bsquared":
      return t * (1 - t) * (1 - 2 * t)
    if g == "sinesquared":
      return jnp.sin(_PI * t) ** 2 * _PI * jnp.sin(2 * _PI * t)
    return jnp.zeros_like(t)

  # -- α, β ---------------------------------------------------------------------------------------------

  def alpha(self, t) -> Array:
    """α(t), the coefficient of x₀."""
    t = _as_float(t)
    p = self.path
    if p in ("linear", "one_sided_linear"):
      return 1 - t
    if p == "trig":
      return jnp.sqrt(1 - self.gamma_fn(t) ** 2) * jnp.cos(0.5 * _PI * t)
    if p == "encdec":
      return jnp.where(t < 0.5, jnp.cos(_PI * t) ** 2, 0.0)
    if p == "mirror":
      return jnp.zeros_like(t)
    if p == "one_sided_trig":
      return jnp.cos(0.5 * _PI * t)
    return jnp.sqrt(jnp.clip(1 - t * t, 0.0))  # one_sided_vp

  def beta(self, t) -> Array:
    """β(t), the coefficient of x₁."""
    t = _as_float(t)
    p = self.path
    if p in ("linear", "one_sided_linear", "one_sided_vp"):
      return t
    if p == "trig":
      return jnp.sqrt(1 - self.gamma_fn(t) ** 2) * jnp.sin(0.5 * _PI * t)
    if p == "encdec":
      return jnp.where(t > 0.5, jnp.cos(_PI * t) ** 2, 0.0)
    if p == "mirror":
      return jnp.ones_like(t)
    return jnp.sin(0.5 * _PI * t)  # one_sided_trig

  def alpha_dot(self, t) -> Array:
    """α̇(t)."""
    t = _as_float(t)
    p = self.path
    if p in ("linear", "one_sided_linear"):
      return -jnp.ones_like(t)
    if p == "trig":
      r = jnp.sqrt(1 - self.gamma_fn(t) ** 2)
      return -self.gg_dot(t) / r * jnp.cos(0.5 * _PI * t) - r * 0.5 * _PI * jnp.sin(0.5 * _PI * t)
    if p == "encdec":
      return jnp.where(t < 0.5, -_PI * jnp.sin(2 * _PI * t), 0.0)
    if p == "mirror":
      return jnp.zeros_like(t)
    if p == "one_sided_trig":
      return -0.5 * _PI * jnp.sin(0.5 * _PI * t)
    return -t / jnp.sqrt(1 - t * t)  # one_sided_vp (infinite at t = 1)

  def beta_dot(self, t) -> Array:
    """β̇(t)."""
    t = _as_float(t)
    p = self.path
    if p in ("linear", "one_sided_linear", "one_sided_vp"):
      return jnp.ones_like(t)
    if p == "trig":
      r = jnp.sqrt(1 - self.gamma_fn(t) ** 2)
      return -self.gg_dot(t) / r * jnp.sin(0.5 * _PI * t) + r * 0.5 * _PI * jnp.cos(0.5 * _PI * t)
    if p == "encdec":
      return jnp.where(t > 0.5, -_PI * jnp.sin(2 * _PI * t), 0.0)
    if p == "mirror":
      return jnp.zeros_like(t)
    return 0.5 * _PI * jnp.cos(0.5 * _PI * t)  # one_sided_trig

  # -- the latent of the score / denoiser ------------------------------------------------------------

  def latent_coeff(self, t) -> Array:
    """The coefficient of the Gaussian latent in x_t: γ(t) (two-sided) or α(t) (one-sided). The score is
    s = −η / latent_coeff with η = E[latent | x_t] (the denoiser)."""
    return self.alpha(t) if self.one_sided else self.gamma_fn(t)

  # -- samples --------------------------------------------------------------------------------------------

  def _bt(self, t, x):
    t = _as_float(t)
    return t.reshape(t.shape + (1,) * (x.ndim - t.ndim))

  def _check(self, fn: str, t, x0, x1, z=None) -> None:
    names = ("x0", "x1", "z")
    arrs = (x0, x1, z)
    for name, a in zip(names, arrs):
      if a is None:
        continue
      if not hasattr(a, "dtype") or not jnp.issubdtype(a.dtype, jnp.floating):
        raise TypeError(f"Interpolant.{fn}: {name} expected a float array, got "
                        f"{getattr(a, 'dtype', type(a).__name__)}")
    if x0.ndim != 2:
      raise ValueError(f"Interpolant.{fn}: x0 expected [B, D], got shape {tuple(x0.shape)}")
    for name, a in zip(names[1:], arrs[1:]):
      if a is not None and a.shape != x0.shape:
        raise ValueError(f"Interpolant.{fn}: {name} expected the shape of x0 {tuple(x0.shape)}, got {tuple(a.shape)}")
    tt = jnp.asarray(t)
    if tt.ndim > 1 or (tt.ndim == 1 and tt.shape[0] != x0.shape[0]):
      raise ValueError(f"Interpolant.{fn}: t expected a scalar or [B={x0.shape[0]}], got shape {tuple(tt.shape)}")

  def x_t(self, t, x0: Array, x1: Array, z: Array | None = None) -> Array:
    """x_t = α x₀ + β x₁ + γ z. ``t``: scalar or ``[B]``; ``x0, x1, z: [B, D]`` (``z`` unused and may be
    None for one-sided paths, where x₀ is the latent)."""
    self._check("x_t", t, x0, x1, z)
    tb = self._bt(t, x0)
    out = self.alpha(tb) * x0 + self.beta(tb) * x1
    if not self.one_sided:
      if z is None:
        raise ValueError(f"Interpolant.x_t: two-sided path {self.path!r} needs the latent z, got None")
      out = out + self.gamma_fn(tb) * z
    return out

  def dx_dt(self, t, x0: Array, x1: Array, z: Array | None = None) -> Array:
    """∂_t x_t = α̇ x₀ + β̇ x₁ + γ̇ z, the regression target of the velocity b (Eq. 2.10's integrand)."""
    self._check("dx_dt", t, x0, x1, z)
    tb = self._bt(t, x0)
    out = self.alpha_dot(tb) * x0 + self.beta_dot(tb) * x1
    if not self.one_sided:
      if z is None:
        raise ValueError(f"Interpolant.dx_dt: two-sided path {self.path!r} needs the latent z, got None")
      out = out + self.gamma_dot(tb) * z
    return out

  def dI_dt(self, t, x0: Array, x1: Array) -> Array:
    """∂_t I = α̇ x₀ + β̇ x₁ (the regression target of v, two-sided)."""
    self._check("dI_dt", t, x0, x1)
    tb = self._bt(t, x0)
    return self.alpha_dot(tb) * x0 + self.beta_dot(tb) * x1
