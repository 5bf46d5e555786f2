"""Generative dynamics of stochastic interpolants: the probability-flow ODE, forward and backward SDEs
with a tunable diffusion ε, and the likelihood along the ODE.

Albergo, Boffi & Vanden-Eijnden, "Stochastic Interpolants: A Unifying Framework for Flows and
Diffusions", 2023, arXiv:2303.08797, Sec. 2.3 (Theorem 2.8 / Corollary 2.10):

* transport equation ∂_t ρ + ∇·(b ρ) = 0, hence the ODE Ẋ = b(t, X) carries ρ₀ to ρ₁ (and back);
* forward Fokker–Planck ∂_t ρ + ∇·(b_F ρ) = ε Δρ with b_F = b + ε s: the SDE
  dX = b_F(t, X) dt + √(2ε) dW run forward from X₀ ~ ρ₀;
* backward Fokker–Planck ∂_t ρ + ∇·(b_B ρ) = −ε Δρ with b_B = b − ε s: the SDE
  dY = b_B(t, Y) dt + √(2ε) dW̄ run backward in time from Y₁ ~ ρ₁ (the step Y ← Y − b_B |Δt| + √(2ε|Δt|) ξ);
* likelihood along the ODE: log ρ₁(X₁) = log ρ₀(X₀) − ∫₀¹ ∇·b(t, X_t) dt, the divergence by the exact
  Jacobian trace (D forward-mode products) or Hutchinson's estimator E_v[vᵀ (∂b/∂x) v] with Rademacher v.

ε may be a float or a function of t (e.g. vanishing at the end points). The SDE steppers are
Euler–Maruyama and a stochastic Heun step (predictor x̃ = x + f h + g ΔW, corrector with the trapezoidal
drift and the same ΔW; the noise is additive, so this is the standard improved Euler for SDEs).

Fields are callables ``(x: [B, D], t: scalar) -> [B, D]``, applied row-wise (row i of the output depends
only on row i of x: the divergence uses this); their output shapes are checked abstractly before they
run. ε is a float or scalar array >= 0 (checked when concrete) or a function of t. For a fixed key the
SDE increments are reparameterised, so every sampler here and the likelihood are differentiable in the
initial points, ε and the fields' parameters.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import check_key, is_concrete
from models.common.diffusion import STEPPERS, check_field_output, integrate

Array = jax.Array
Field = Callable[[Array, Array], Array]

__all__ = ["SDE_METHODS", "ode_sample", "sde_sample", "divergence", "LogLikelihood", "ode_log_likelihood",
           "forward_drift", "backward_drift"]

SDE_METHODS = ("euler_maruyama", "heun")


def _grid(t0: float, t1: float, num_steps: int, dtype, fn: str) -> Array:
  if not isinstance(num_steps, int) or isinstance(num_steps, bool) or num_steps < 1:
    raise ValueError(f"{fn}: num_steps expected a positive int, got {num_steps!r}")
  for name, v in (("t0", t0), ("t1", t1)):
    if isinstance(v, bool) or not (isinstance(v, (int, float)) and 0.0 <= v <= 1.0):
      raise ValueError(f"{fn}: {name} expected a float in [0, 1], got {v!r}")
  if t0 == t1:
    raise ValueError(f"{fn}: t0, t1 expected distinct end points, got {t0!r} twice")
  return jnp.linspace(t0, t1, num_steps + 1, dtype=dtype)


def _check_x(x, fn: str, name: str = "x"):
  x = jnp.asarray(x)
  if x.ndim != 2 or not jnp.issubdtype(x.dtype, jnp.floating):
    raise ValueError(f"{fn}: {name} expected a float array [B, D], got shape {x.shape} dtype {x.dtype}")
  return x


def _eps_fn(eps, fn: str) -> Callable[[Array], Array]:
  if callable(eps):
    return eps
  ok = not isinstance(eps, bool) and (isinstance(eps, (int, float)) or (
      hasattr(eps, "dtype") and jnp.ndim(eps) == 0 and jnp.issubdtype(eps.dtype, jnp.floating)))
  if ok and is_concrete(eps):
    ok = bool(np.isfinite(float(eps)) and float(eps) >= 0)
  if not ok:
    raise ValueError(f"{fn}: eps expected a finite float >= 0 (or a scalar float array) or a function of t, got {eps!r}")
  return lambda t: jnp.asarray(eps, jnp.asarray(t).dtype)


def _check_fields(fn: str, **fields) -> None:
  for name, f in fields.items():
    if not callable(f):
      raise TypeError(f"{fn}: {name} expected a callable field (x, t) -> [B, D], got {type(f).__name__}")


def forward_drift(b: Field, s: Field, eps) -> Field:
  """b_F = b + ε s (``eps``: a float or scalar array >= 0, or a function of t)."""
  _check_fields("forward_drift", b=b, s=s)
  e = _eps_fn(eps, "forward_drift")
  return lambda x, t: b(x, t) + e(t) * s(x, t)


def backward_drift(b: Field, s: Field, eps) -> Field:
  """b_B = b − ε s (``eps``: a float or scalar array >= 0, or a function of t)."""
  _check_fields("backward_drift", b=b, s=s)
  e = _eps_fn(eps, "backward_drift")
  return lambda x, t: b(x, t) - e(t) * s(x, t)


def ode_sample(b: Field, x: Array, *, t0: float = 0.0, t1: float = 1.0, num_steps: int = 100,
               method: str = "rk4", return_path: bool = False):
  """Integrates Ẋ = b(t, X) from ``t0`` to ``t1`` (either direction) on a uniform grid.

  Args:
    b: the velocity field.
    x: ``[B, D]`` samples of ρ_{t0}.
    t0, t1: start and end times in [0, 1].
    num_steps: grid intervals.
    method: ``euler``, ``heun`` or ``rk4`` (:func:`models.common.diffusion.integrate`).
    return_path: also return ``[num_steps + 1, B, D]``.
  """
  x = _check_x(x, "ode_sample")
  if method not in STEPPERS:
    raise ValueError(f"ode_sample: method expected one of {STEPPERS}, got {method!r}")
  ts = _grid(t0, t1, num_steps, x.dtype, "ode_sample")
  check_field_output(b, x, ts[0], "b", "ode_sample")
  return integrate(b, x, ts, method, return_path=return_path)


def sde_sample(b: Field, s: Field, eps, x: Array, key: Array, *, t0: float = 0.0, t1: float = 1.0,
               num_steps: int = 100, method: str = "euler_maruyama", return_path: bool = False):
  """Integrates the forward SDE (t0 < t1: drift b + ε s) or the backward SDE (t0 > t1: drift b − ε s,
  time running down) with diffusion √(2ε).

  Args:
    b, s: velocity and score fields.
    eps: ε >= 0 (float) or ``t -> ε(t)``; ε = 0 gives the ODE (Euler for ``euler_maruyama``, Heun for
      ``heun``).
    x: ``[B, D]`` samples of ρ_{t0}.
    key: PRNG key (one split per step).
    t0, t1: start and end times in [0, 1]; the direction picks the forward or backward equation.
    num_steps: grid intervals (2 evaluations of b and s per step for ``heun``).
    method: ``euler_maruyama`` or ``heun``.
    return_path: also return ``[num_steps + 1, B, D]``.
  """
  x = _check_x(x, "sde_sample")
  if method not in SDE_METHODS:
    raise ValueError(f"sde_sample: method expected one of {SDE_METHODS}, got {method!r}")
  check_key(key, "key", "sde_sample")
  ts = _grid(t0, t1, num_steps, x.dtype, "sde_sample")
  check_field_output(b, x, ts[0], "b", "sde_sample")
  check_field_output(s, x, ts[0], "s", "sde_sample")
  e = _eps_fn(eps, "sde_sample")
  drift = forward_drift(b, s, eps) if t1 > t0 else backward_drift(b, s, eps)
  keys = jax.random.split(key, num_steps)

  def body(x, inp):
    ta, tb, k = inp
    h = tb - ta
    dw = jnp.sqrt(2.0 * e(ta) * jnp.abs(h)) * jax.random.normal(k, x.shape, x.dtype)
    fa = drift(x, ta)
    if method == "euler_maruyama":
      x = x + h * fa + dw
    else:
      xp = x + h * fa + dw
      x = x + 0.5 * h * (fa + drift(xp, tb)) + dw
    return x, (x if return_path else None)

  out, path = jax.lax.scan(body, x, (ts[:-1], ts[1:], keys))
  if return_path:
    return out, jnp.concatenate([x[None], path], axis=0)
  return out


def divergence(f: Field, x: Array, t, *, probe: Array | None = None) -> Array:
  """∇·f at each row of ``x: [B, D]`` -> ``[B]``: the exact trace (D Jacobian-vector products with the
  basis vectors) or, given ``probe: [B, D]`` (Rademacher or Gaussian), Hutchinson's vᵀ (∂f/∂x) v.
  Differentiable in x, t and the parameters f closes over (second derivatives of f)."""
  x = _check_x(x, "divergence")
  if not callable(f):
    raise TypeError(f"divergence: f expected a callable field (x, t) -> [B, D], got {type(f).__name__}")
  check_field_output(f, x, t, "f", "divergence")
  if probe is not None:
    if not hasattr(probe, "shape") or tuple(probe.shape) != tuple(x.shape):
      raise ValueError(f"divergence: probe expected the shape of x {tuple(x.shape)}, got "
                       f"{getattr(probe, 'shape', type(probe).__name__)}")
    if not jnp.issubdtype(probe.dtype, jnp.floating):
      raise TypeError(f"divergence: probe expected a float array, got {probe.dtype}")
    probe = jnp.asarray(probe, x.dtype)
  g = lambda y: f(y, t)
  if probe is not None:
    _, jv = jax.jvp(g, (x,), (probe,))
    return jnp.sum(jv * probe, axis=-1)
  d = x.shape[-1]
  eye = jnp.eye(d, dtype=x.dtype)

  def one(i):
    _, jv = jax.jvp(g, (x,), (jnp.broadcast_to(eye[i], x.shape),))
    return jv[:, i]

  return jnp.sum(jax.vmap(one)(jnp.arange(d)), axis=0)


class LogLikelihood(NamedTuple):
  """``log_prob: [B]`` = log ρ₁(x₁) estimated along the ODE; ``x0: [B, D]`` the pulled-back points;
  ``delta_log: [B]`` = −∫₀¹ ∇·b dt along each path."""
  log_prob: Array
  x0: Array
  delta_log: Array


def ode_log_likelihood(b: Field, log_rho0: Callable[[Array], Array], x1: Array, *, num_steps: int = 100,
                       method: str = "rk4", hutchinson_key: Array | None = None, t0: float = 0.0,
                       t1: float = 1.0) -> LogLikelihood:
  """log ρ_{t1}(x1) by integrating (X, ℓ) backward from ``t1`` to ``t0`` with Ẋ = b, ℓ̇ = ∇·b, ℓ(t1) = 0:
  log ρ_{t1}(x1) = log ρ_{t0}(X_{t0}) + ℓ(t0) (= log ρ₀(X₀) − ∫ ∇·b dt).

  Args:
    b: the velocity field.
    log_rho0: ``[B, D] -> [B]`` log density at ``t0``.
    x1: ``[B, D]`` points.
    num_steps, method: the ODE grid and stepper.
    hutchinson_key: if given, the divergence is Hutchinson's estimator with one Rademacher probe per
      point held fixed along the path (unbiased for the log-likelihood); otherwise the exact trace.
  """
  x1 = _check_x(x1, "ode_log_likelihood", "x1")
  if method not in STEPPERS:
    raise ValueError(f"ode_log_likelihood: method expected one of {STEPPERS}, got {method!r}")
  if not t0 < t1:
    raise ValueError(f"ode_log_likelihood: expected t0 < t1, got t0={t0!r}, t1={t1!r}")
  if not callable(log_rho0):
    raise TypeError(f"ode_log_likelihood: log_rho0 expected a callable [B, D] -> [B], got {type(log_rho0).__name__}")
  lp = jax.eval_shape(log_rho0, x1)
  if getattr(lp, "shape", None) != x1.shape[:1]:
    raise ValueError(f"ode_log_likelihood: log_rho0 expected an output of shape [B] = {x1.shape[:1]}, got "
                     f"{getattr(lp, 'shape', type(lp).__name__)}")
  check_field_output(b, x1, jnp.asarray(t1, x1.dtype), "b", "ode_log_likelihood")
  probe = None
  if hutchinson_key is not None:
    check_key(hutchinson_key, "hutchinson_key", "ode_log_likelihood")
    probe = jax.random.rademacher(hutchinson_key, x1.shape, x1.dtype)
  d = x1.shape[1]

  def aug(y, t):
    x = y[:, :d]
    return jnp.concatenate([b(x, t), divergence(b, x, t, probe=probe)[:, None]], axis=-1)

  y1 = jnp.concatenate([x1, jnp.zeros((x1.shape[0], 1), x1.dtype)], axis=-1)
  y0 = integrate(aug, y1, _grid(t1, t0, num_steps, x1.dtype, "ode_log_likelihood"), method)
  x0, ell = y0[:, :d], y0[:, d]
  return LogLikelihood(log_prob=log_rho0(x0) + ell, x0=x0, delta_log=ell)
