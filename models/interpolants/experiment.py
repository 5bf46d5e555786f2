"""The stochastic-interpolant experiments: the 2-D densities, the noise floor of SW₂, the ε sweep of the
learned SDE and the exact-field transport check.

Albergo, Boffi & Vanden-Eijnden, "Stochastic Interpolants: A Unifying Framework for Flows and Diffusions",
2023, arXiv:2303.08797. Used by the training task ``experiments/tasks/interpolants.py`` (its data) and the
``interpolants`` claims; importable to rerun a sweep with other fields, densities, ε or sample sizes.

Distances are the sliced 2-Wasserstein distance of :func:`theory.common.stats.sliced_wasserstein`
(``num_projections`` equally spaced directions on the half circle) between N generated points and N fresh
target points; the *noise floor* is SW₂ between two independent target samples of the same size. A sampler
``(key, n) -> [n, 2]`` stands for each density.

Host-side loops returning floats and numpy arrays: not differentiable (differentiate the samplers in
:mod:`models.interpolants.samplers` instead).
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from models.interpolants.gaussian import GaussianMixture, exact_fields, gmm_log_prob, gmm_sample, ring_mixture
from models.interpolants.interpolant import Interpolant
from models.interpolants.samplers import SDE_METHODS, ode_log_likelihood, ode_sample, sde_sample
from theory.common.stats import sliced_wasserstein

Array = jax.Array
Sampler = Callable[[Array, int], Array]

__all__ = ["DENSITIES", "checkerboard", "ring8", "mix4", "density_sampler", "off_checkerboard", "noise_floor",
           "eps_sweep", "exact_transport"]

DENSITIES = ("gaussian", "checkerboard", "ring8", "mix4")


def _check_n(n, name: str, fn: str, minimum: int = 1) -> int:
  if not isinstance(n, int) or isinstance(n, bool) or n < minimum:
    raise ValueError(f"{fn}: {name} expected an int >= {minimum}, got {n!r}")
  return n


def _check_sampler(f, name: str, fn: str) -> None:
  if not callable(f):
    raise TypeError(f"{fn}: {name} expected a sampler (key, n) -> [n, 2], got {type(f).__name__}")


def checkerboard(key: Array, n: int) -> Array:
  """``[n, 2]`` uniform on the 8 black 2×2 squares of a 4×4 board on [−4, 4]² (cells (i, j), i + j even)."""
  _check_n(n, "n", "checkerboard")
  kc, ku = jax.random.split(key)
  cell = jax.random.randint(kc, (n,), 0, 8)
  i = cell // 2
  j = 2 * (cell % 2) + (i % 2)
  u = jax.random.uniform(ku, (n, 2))
  return jnp.stack([i, j], -1).astype(jnp.float32) * 2.0 - 4.0 + 2.0 * u


def ring8() -> GaussianMixture:
  """8 equal Gaussians (std 0.3) on the circle of radius 3 (float32)."""
  return ring_mixture(8, 3.0, 0.3, dtype=jnp.float32)


def mix4() -> GaussianMixture:
  """4 correlated Gaussians at (±2, ±2), weights 0.4, 0.2, 0.2, 0.2 (float32)."""
  means = jnp.array([[-2.0, -2.0], [2.0, -2.0], [-2.0, 2.0], [2.0, 2.0]], jnp.float32)
  covs = jnp.array([[[0.5, 0.3], [0.3, 0.5]], [[0.5, -0.3], [-0.3, 0.5]], [[0.5, -0.3], [-0.3, 0.5]],
                    [[0.5, 0.3], [0.3, 0.5]]], jnp.float32)
  return GaussianMixture(jnp.array([0.4, 0.2, 0.2, 0.2], jnp.float32), means, covs)


def density_sampler(name: str) -> Sampler:
  """``(key, n) -> [n, 2]`` samples of the density ``name`` (one of :data:`DENSITIES`; ``gaussian`` is
  N(0, I))."""
  if name not in DENSITIES:
    raise ValueError(f"density_sampler: name expected one of {DENSITIES}, got {name!r}")
  if name == "gaussian":
    return lambda k, n: jax.random.normal(k, (n, 2))
  if name == "checkerboard":
    return checkerboard
  gmm = {"ring8": ring8, "mix4": mix4}[name]()
  return lambda k, n: gmm_sample(k, gmm, n)


def off_checkerboard(x) -> float:
  """Fraction of the points ``x: [N, 2]`` outside the support of :func:`checkerboard` (0 for its samples)."""
  x = np.asarray(x)
  if x.ndim != 2 or x.shape[1] != 2 or x.shape[0] < 1:
    raise ValueError(f"off_checkerboard: x expected [N, 2] with N >= 1, got shape {x.shape}")
  ij = np.floor((x + 4.0) / 2.0)
  inside = np.all((ij >= 0) & (ij <= 3), axis=1) & (ij.sum(1) % 2 == 0)
  return float(1.0 - inside.mean())


def _sw(x, y, num_projections: int) -> float:
  return float(sliced_wasserstein(x, y, num_projections=num_projections))


def noise_floor(target: Sampler, n: int, key: Array, *, pairs: int = 5,
                num_projections: int = 256) -> tuple[float, float]:
  """SW₂ between two independent ``n``-point target samples: ``(mean, standard error)`` over ``pairs``
  pairs (keys ``fold_in(key, 2i)`` and ``fold_in(key, 2i + 1)``)."""
  fn = "noise_floor"
  _check_sampler(target, "target", fn)
  _check_n(n, "n", fn)
  _check_n(pairs, "pairs", fn, 2)
  vals = [_sw(target(jax.random.fold_in(key, 2 * i), n), target(jax.random.fold_in(key, 2 * i + 1), n),
              num_projections) for i in range(pairs)]
  return float(np.mean(vals)), float(np.std(vals, ddof=1) / math.sqrt(pairs))


def eps_sweep(b, s, source: Sampler, target: Sampler, key: Array, *, eps: Sequence[float], n: int, reps: int,
              num_steps: int, method: str = "heun", num_projections: int = 256):
  """SW₂ to the target of the forward SDE dX = (b + ε s) dt + √(2ε) dW from ``source`` at each ε.

  One compiled sampler for every ε (ε is an argument). Replication r of ε_i draws its source points, noise
  and fresh target points from ``split(fold_in(fold_in(key, i), r), 3)``.

  Args:
    b, s: fields ``(x [N, 2], t) -> [N, 2]``; source, target: samplers ``(key, n) -> [n, 2]``.
    eps: the diffusion coefficients (0 = the ODE); n: points per sample set; reps: sample sets per ε;
    num_steps: uniform steps on [0, 1]; method: one of ``SDE_METHODS``.
  Returns:
    ``(sw, first, off)``: ``sw[ε] = (mean, standard error over reps)`` (SE 0 when ``reps == 1``),
    ``first[ε]`` the ``[n, 2]`` samples of replication 0, ``off[ε]`` the mean :func:`off_checkerboard`.
  """
  fn = "eps_sweep"
  for name, f in (("b", b), ("s", s)):
    if not callable(f):
      raise TypeError(f"{fn}: {name} expected a field (x, t) -> [N, 2], got {type(f).__name__}")
  _check_sampler(source, "source", fn)
  _check_sampler(target, "target", fn)
  _check_n(n, "n", fn)
  _check_n(reps, "reps", fn)
  _check_n(num_steps, "num_steps", fn)
  if method not in SDE_METHODS:
    raise ValueError(f"{fn}: method expected one of {SDE_METHODS}, got {method!r}")
  if not isinstance(eps, (list, tuple)) or not eps or any(
      isinstance(e, bool) or not isinstance(e, (int, float)) or not e >= 0 for e in eps):
    raise ValueError(f"{fn}: eps expected a non-empty tuple of floats >= 0, got {eps!r}")
  run = jax.jit(lambda e, x, k: sde_sample(b, s, lambda t: e + 0.0 * t, x, k, num_steps=num_steps, method=method))
  out, first, off = {}, {}, {}
  for i, e in enumerate(eps):
    vals, offs = [], []
    for r in range(reps):
      kr = jax.random.fold_in(jax.random.fold_in(key, i), r)
      k0, ks, kt = jax.random.split(kr, 3)
      x = run(jnp.float32(e), source(k0, n), ks)
      vals.append(_sw(x, target(kt, n), num_projections))
      offs.append(off_checkerboard(x))
      if r == 0:
        first[e] = np.asarray(x)
    out[e] = (float(np.mean(vals)), float(np.std(vals, ddof=1) / math.sqrt(reps)) if reps > 1 else 0.0)
    off[e] = float(np.mean(offs))
  return out, first, off


def exact_transport(interp: Interpolant, rho0: GaussianMixture, rho1: GaussianMixture, key: Array, *, n: int,
                    reps: int, num_steps: int, eps: float = 0.5, ode_method: str = "rk4",
                    sde_method: str = "heun", loglik_points: int = 256, num_projections: int = 256,
                    source: Sampler | None = None, target: Sampler | None = None) -> dict:
  """The exact fields b, s of ``interp`` between two Gaussian mixtures: SW₂ of the ODE and the SDE (diffusion
  ``eps``) samples to fresh ρ₁ samples, the noise floor, and the ODE log-likelihood error.

  Replication r uses ``split(fold_in(key, 100 + r), 4)`` (source, SDE noise, two target draws); the floor
  uses ``fold_in(key, 1)``; the likelihood is evaluated at ``min(n, loglik_points)`` ρ₁ samples from
  ``fold_in(key, 3)`` (exact divergence along the ODE) and compared with the exact log ρ₁. ``source`` /
  ``target`` draw the points (default: :func:`gmm_sample` of ``rho0`` / ``rho1``; pass another sampler of
  the same law, e.g. :func:`density_sampler`).

  Returns:
    dict with ``sw = {"ode": [reps], "sde": [reps]}`` (floats), ``floor``, ``floor_se`` and
    ``loglik_mean_abs_err`` (nats).
  """
  fn = "exact_transport"
  if not isinstance(interp, Interpolant):
    raise TypeError(f"{fn}: interp expected an Interpolant, got {type(interp).__name__}")
  for name, g in (("rho0", rho0), ("rho1", rho1)):
    if not isinstance(g, GaussianMixture):
      raise TypeError(f"{fn}: {name} expected a GaussianMixture, got {type(g).__name__}")
  _check_n(n, "n", fn)
  _check_n(reps, "reps", fn)
  _check_n(num_steps, "num_steps", fn)
  _check_n(loglik_points, "loglik_points", fn)
  b = lambda x, t: exact_fields(interp, rho0, rho1, x, t).b
  s = lambda x, t: exact_fields(interp, rho0, rho1, x, t).s
  for name, f in (("source", source), ("target", target)):
    if f is not None:
      _check_sampler(f, name, fn)
  src = source or (lambda k, m: gmm_sample(k, rho0, m))
  tgt = target or (lambda k, m: gmm_sample(k, rho1, m))
  floor, floor_se = noise_floor(tgt, n, jax.random.fold_in(key, 1), num_projections=num_projections)
  ode = jax.jit(lambda x: ode_sample(b, x, num_steps=num_steps, method=ode_method))
  sde = jax.jit(lambda x, k: sde_sample(b, s, eps, x, k, num_steps=num_steps, method=sde_method))
  sw = {"ode": [], "sde": []}
  for r in range(reps):
    k0, ks, kt, kt2 = jax.random.split(jax.random.fold_in(key, 100 + r), 4)
    x0 = src(k0, n)
    sw["ode"].append(_sw(ode(x0), tgt(kt, n), num_projections))
    sw["sde"].append(_sw(sde(x0, ks), tgt(kt2, n), num_projections))
  x1 = tgt(jax.random.fold_in(key, 3), min(n, loglik_points))
  ll = jax.jit(lambda x: ode_log_likelihood(b, lambda y: gmm_log_prob(rho0, y), x, num_steps=num_steps,
                                            method=ode_method).log_prob)(x1)
  ll_err = float(jnp.mean(jnp.abs(ll - gmm_log_prob(rho1, x1))))
  return dict(sw=sw, floor=floor, floor_se=floor_se, loglik_mean_abs_err=ll_err)
