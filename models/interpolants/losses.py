"""The quadratic objectives of stochastic interpolants (their unique minimisers are the drifts).

Albergo, Boffi & Vanden-Eijnden, "Stochastic Interpolants: A Unifying Framework for Flows and
Diffusions", 2023, arXiv:2303.08797, Sec. 2.2 (Theorem 2.7 and the objectives beside it; the notes
number the velocity and score losses Eq. 2.12 and 2.15), with t ~ U[t_min, t_max] and the expectation
over the coupling (x₀, x₁) and z ~ N(0, I):

  L_b(b̂) = E[ ½|b̂(t, x_t)|² − (∂_t I + γ̇ z) · b̂(t, x_t) ]       minimiser b = E[∂_t x_t | x_t]
  L_v(v̂) = E[ ½|v̂(t, x_t)|² − ∂_t I · v̂(t, x_t) ]               minimiser v = E[∂_t I | x_t]
  L_s(ŝ) = E[ ½|ŝ(t, x_t)|² + γ⁻¹ z · ŝ(t, x_t) ]                 minimiser s = ∇ log ρ(t, ·)
  L_η(η̂) = E[ ½|η̂(t, x_t)|² − z · η̂(t, x_t) ]                    minimiser η = E[z | x_t] = −γ s

For one-sided interpolants (x_t = α x₀ + β x₁, x₀ ~ N(0, I)) the latent is x₀ and γ is replaced by α
(s = −E[x₀ | x_t] / α). At the optimum L_b(b) = −½ E|b(t, x_t)|², and L_b(b̂) − L_b(b) = ½ E|b̂ − b|².

``antithetic=True`` evaluates each sample at x_t^± = I ± γ z (one-sided: ±α x₀ + β x₁) and averages the
two losses (the official code's variance reduction; the expectation is unchanged because z and −z have
the same law, and the 1/γ blow-up of the score loss becomes a finite difference).

A field is a callable ``(x: [B, D], t: [B]) -> [B, D]`` (e.g. a bound :class:`~models.common.diffusion.
TimeMLP` apply); its output shape is checked (abstractly) before it runs. For a fixed key t and z are
reparameterised draws, so every loss is differentiable in x0, x1 and the field's parameters.
"""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from kernels.common.checks import check_key, is_concrete
from models.interpolants.interpolant import Interpolant

Array = jax.Array
Field = Callable[[Array, Array], Array]

__all__ = ["LOSSES", "interpolant_loss", "loss_b", "loss_v", "loss_s", "loss_eta", "sample_times"]

LOSSES = ("b", "v", "s", "eta")


def sample_times(key: Array, n: int, t_min: float, t_max: float, dtype) -> Array:
  """``[n]`` times uniform on [t_min, t_max] (t = t_min + (t_max − t_min) u: differentiable in the end
  points, which are checked, t_min < t_max, when concrete)."""
  check_key(key, "key", "sample_times")
  if not isinstance(n, int) or isinstance(n, bool) or n < 1:
    raise ValueError(f"sample_times: n expected a positive int, got {n!r}")
  try:
    ok = jnp.issubdtype(dtype, jnp.floating)
  except TypeError:
    ok = False
  if not ok:
    raise TypeError(f"sample_times: dtype expected a float dtype, got {dtype!r}")
  for name, v in (("t_min", t_min), ("t_max", t_max)):
    if isinstance(v, bool) or jnp.ndim(v) != 0:
      raise ValueError(f"sample_times: {name} expected a real scalar, got {v!r}")
  if is_concrete(t_min) and is_concrete(t_max) and not float(t_min) < float(t_max):
    raise ValueError(f"sample_times: expected t_min < t_max, got t_min={t_min!r}, t_max={t_max!r}")
  return jax.random.uniform(key, (n,), dtype, t_min, t_max)


def _per_sample(kind: str, interp: Interpolant, field: Field, t: Array, x0: Array, x1: Array, z: Array,
                sign: float) -> Array:
  tb = t[:, None]
  if interp.one_sided:
    lat, coeff, lat_dot = x0 * sign, interp.alpha(tb), interp.alpha_dot(tb)
    xt = coeff * lat + interp.beta(tb) * x1
    d_i = lat_dot * lat + interp.beta_dot(tb) * x1
    target_b = d_i
  else:
    lat, coeff = z * sign, interp.gamma_fn(tb)
    xt = interp.alpha(tb) * x0 + interp.beta(tb) * x1 + coeff * lat
    d_i = interp.alpha_dot(tb) * x0 + interp.beta_dot(tb) * x1
    target_b = d_i + interp.gamma_dot(tb) * lat
  f = field(xt, t)
  sq = 0.5 * jnp.sum(f * f, axis=-1)
  if kind == "b":
    return sq - jnp.sum(target_b * f, -1)
  if kind == "v":
    return sq - jnp.sum(d_i * f, -1)
  if kind == "s":
    return sq + jnp.sum(lat * f, -1) / coeff[:, 0]
  return sq - jnp.sum(lat * f, -1)  # eta


def interpolant_loss(kind: str, field: Field, interp: Interpolant, key: Array, x0: Array, x1: Array, *,
                     t_min: float = 0.0, t_max: float = 1.0, antithetic: bool = False,
                     per_sample: bool = False) -> Array:
  """Monte Carlo estimate of L_kind over the pairs ``x0, x1: [B, D]`` (one t and one z per pair).

  Args:
    kind: ``"b"``, ``"v"``, ``"s"`` or ``"eta"``.
    field: ``(x: [B, D], t: [B]) -> [B, D]``.
    interp: the interpolant.
    key: PRNG key (split into t and z).
    x0, x1: ``[B, D]`` samples of the coupling (for one-sided interpolants x0 ~ N(0, I), the latent).
    t_min, t_max: t ~ U[t_min, t_max]; keep away from the end points where γ⁻¹, α⁻¹ or γ̇ blow up.
    antithetic: average the losses at ±z (±x₀ one-sided).
    per_sample: return the ``[B]`` per-pair losses instead of their mean.

  Returns:
    a scalar (float32 or float64 as the inputs), or ``[B]``.
  """
  if kind not in LOSSES:
    raise ValueError(f"interpolant_loss: kind expected one of {LOSSES}, got {kind!r}")
  if not isinstance(interp, Interpolant):
    raise TypeError(f"interpolant_loss: interp expected an Interpolant, got {type(interp).__name__}")
  if not callable(field):
    raise TypeError(f"interpolant_loss: field expected a callable (x, t) -> [B, D], got {type(field).__name__}")
  check_key(key, "key", "interpolant_loss")
  x0, x1 = jnp.asarray(x0), jnp.asarray(x1)
  for name, a in (("x0", x0), ("x1", x1)):
    if not jnp.issubdtype(a.dtype, jnp.floating):
      raise TypeError(f"interpolant_loss: {name} expected a float array, got {a.dtype}")
  if x0.ndim != 2 or x0.shape != x1.shape:
    raise ValueError(f"interpolant_loss: x0, x1 expected equal shapes [B, D], got {x0.shape} and {x1.shape}")
  for name, v in (("t_min", t_min), ("t_max", t_max)):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
      raise TypeError(f"interpolant_loss: {name} expected a float, got {type(v).__name__}")
  if not 0.0 <= t_min < t_max <= 1.0:
    raise ValueError(f"interpolant_loss: expected 0 <= t_min < t_max <= 1, got t_min={t_min!r}, t_max={t_max!r}")
  if kind == "v" and interp.one_sided:
    raise ValueError("interpolant_loss: kind 'v' is the two-sided E[dI/dt | x_t]; for one-sided paths use 'b'")
  out = jax.eval_shape(field, x0, jax.ShapeDtypeStruct(x0.shape[:1], x0.dtype))
  if getattr(out, "shape", None) != x0.shape:
    raise ValueError(f"interpolant_loss: field expected an output of shape {tuple(x0.shape)} (that of x0), got "
                     f"{getattr(out, 'shape', type(out).__name__)}")
  kt, kz = jax.random.split(key)
  t = sample_times(kt, x0.shape[0], t_min, t_max, x0.dtype)
  z = jax.random.normal(kz, x0.shape, x0.dtype)
  ell = _per_sample(kind, interp, field, t, x0, x1, z, 1.0)
  if antithetic:
    ell = 0.5 * (ell + _per_sample(kind, interp, field, t, x0, x1, z, -1.0))
  return ell if per_sample else jnp.mean(ell)


def loss_b(field: Field, interp: Interpolant, key: Array, x0: Array, x1: Array, **kw) -> Array:
  """L_b, the velocity objective (see :func:`interpolant_loss`)."""
  return interpolant_loss("b", field, interp, key, x0, x1, **kw)


def loss_v(field: Field, interp: Interpolant, key: Array, x0: Array, x1: Array, **kw) -> Array:
  """L_v, the objective of v = E[∂_t I | x_t] (two-sided)."""
  return interpolant_loss("v", field, interp, key, x0, x1, **kw)


def loss_s(field: Field, interp: Interpolant, key: Array, x0: Array, x1: Array, **kw) -> Array:
  """L_s, the score objective (see :func:`interpolant_loss`)."""
  return interpolant_loss("s", field, interp, key, x0, x1, **kw)


def loss_eta(field: Field, interp: Interpolant, key: Array, x0: Array, x1: Array, **kw) -> Array:
  """L_η, the denoiser objective (see :func:`interpolant_loss`)."""
  return interpolant_loss("eta", field, interp, key, x0, x1, **kw)
