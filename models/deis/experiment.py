"""The DEIS experiments: every sampler on every grid and NFE from shared noise, and the exact-score benchmark.

Zhang & Chen, "Fast Sampling of Diffusion Models with Exponential Integrator", ICLR 2023,
arXiv:2204.13902. Used by the ``deis`` claims (``experiments/claims/deis.py``); importable to rerun a sweep
with other methods, grids, NFE budgets or mixtures.

* :func:`sweep_samples`: samples of ``methods × grids × nfes`` from one initial noise ``x`` with one
  compiled program per sampler family and step count (the multistep methods share one program: their
  coefficient tables are padded to 4 columns and passed as arrays; Euler-in-t one; ρRK one per tableau).
* :func:`gmm_sweep`: the paper note's exact-score benchmark: the 8-Gaussian mixture on a circle, linear VP
  schedule, every sampler against a float64 ρRK4 reference solve, which is itself checked against an
  independent RK4 solve of the probability-flow ODE in t.

Both run on the host (numpy results, concrete grids): not differentiable (differentiate
:func:`models.deis.sample` instead).
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from models.common.diffusion import GRIDS, VPSchedule, integrate, time_grid
from models.deis.gmm import circle_mixture, gmm_noise_predictor
from models.deis.samplers import (METHODS, RK_TABLEAUX, coefficients_for, euler_t_sample, multistep_sample,
                                  nfe_per_step, pf_ode_drift, reference_sample, rho_rk_sample)

__all__ = ["sweep_samples", "gmm_sweep"]

_WIDTH = 4   # coefficient columns of the widest multistep method (order 3)


def _check_names(values, known: Sequence[str], name: str, fn: str) -> tuple[str, ...]:
  if isinstance(values, str) or not isinstance(values, (list, tuple)) or not values:
    raise ValueError(f"{fn}: {name} expected a non-empty tuple of names from {tuple(known)}, got {values!r}")
  bad = [v for v in values if v not in known]
  if bad:
    raise ValueError(f"{fn}: {name} expected names from {tuple(known)}, got unknown {bad}")
  return tuple(values)


def _check_counts(values, name: str, fn: str) -> tuple[int, ...]:
  if not isinstance(values, (list, tuple)) or not values or any(
      not isinstance(v, int) or isinstance(v, bool) or v < 1 for v in values):
    raise ValueError(f"{fn}: {name} expected a non-empty tuple of positive ints, got {values!r}")
  return tuple(values)


def _check_t_min(t_min, fn: str) -> float:
  if isinstance(t_min, bool) or not isinstance(t_min, (int, float)) or not 0.0 < t_min < 1.0:
    raise ValueError(f"{fn}: t_min expected a float in (0, 1), got {t_min!r}")
  return float(t_min)


def sweep_samples(eps_fn: Callable, schedule: VPSchedule, x: jax.Array, *, methods: Sequence[str],
                  grids: Sequence[str], nfes: Sequence[int], t_min: float = 1e-3
                  ) -> dict[tuple[str, str, int], tuple[np.ndarray, int]]:
  """Samples every ``(method, grid, nfe)`` from the same initial noise.

  Args:
    eps_fn: the noise predictor ``(x [B, D], t scalar) -> [B, D]``.
    schedule: the VP schedule.
    x: ``[B, D]`` initial noise at t = 1; its dtype is the dtype of the grids, coefficients and samples.
    methods: names from :data:`models.deis.METHODS`; grids: names from ``models.common.diffusion.GRIDS``
      (``power_t`` excluded: it needs a κ); nfes: nominal budgets (RK methods take ⌊nfe / stages⌋ steps;
      budgets below one step are skipped).
    t_min: the last time of every grid.
  Returns:
    ``{(method, grid, nfe): (samples [B, D] numpy, actual NFE)}``.
  """
  fn = "sweep_samples"
  methods = _check_names(methods, METHODS, "methods", fn)
  grids = _check_names(grids, tuple(g for g in GRIDS if g != "power_t"), "grids", fn)
  nfes = _check_counts(nfes, "nfes", fn)
  t_min = _check_t_min(t_min, fn)
  if not isinstance(schedule, VPSchedule):
    raise TypeError(f"{fn}: schedule expected a VPSchedule, got {type(schedule).__name__}")
  if not hasattr(x, "ndim") or x.ndim != 2 or not jnp.issubdtype(x.dtype, jnp.floating):
    raise ValueError(f"{fn}: x expected a float [B, D] array, got {getattr(x, 'shape', type(x).__name__)}")
  if not callable(eps_fn):
    raise TypeError(f"{fn}: eps_fn expected a callable (x, t) -> eps, got {type(eps_fn).__name__}")
  dt = x.dtype
  ms = jax.jit(lambda x, ts, psi, coef: multistep_sample(eps_fn, x, ts, psi, coef))
  eu = jax.jit(lambda x, ts: euler_t_sample(eps_fn, schedule, x, ts))
  rk = jax.jit(lambda x, ts, method: rho_rk_sample(eps_fn, schedule, x, ts, method), static_argnums=2)
  out = {}
  for grid in grids:
    for m in methods:
      for nfe in nfes:
        steps = nfe // nfe_per_step(m)
        if steps < 1:
          continue
        ts = np.asarray(time_grid(schedule, steps, grid, t_min=t_min, dtype=dt))
        if m == "euler_t":
          y = eu(x, jnp.asarray(ts, dt))
        elif m in RK_TABLEAUX:
          y = rk(x, jnp.asarray(ts, dt), m)
        else:
          co = coefficients_for(m, schedule, ts)
          coef = np.zeros((steps, _WIDTH))
          coef[:, :co.coef.shape[1]] = co.coef
          y = ms(x, jnp.asarray(ts, dt), jnp.asarray(co.psi, dt), jnp.asarray(coef, dt))
        out[(m, grid, nfe)] = (np.asarray(y), steps * nfe_per_step(m))
  return out


def gmm_sweep(seed: int, *, batch: int, nfes: Sequence[int], grids: Sequence[str], methods: Sequence[str],
              ref_steps: int, check_steps: int, t_min: float = 1e-3, sample_nfe: int = 10,
              sample_grid: str = "quadratic_t") -> dict:
  """Discretisation errors of every sampler with the exact noise predictor of the DEIS note's mixture.

  Data: 8 equal Gaussians (std 0.3) on the circle of radius 4 in 2-D; linear VP schedule (β₀ = 0.1,
  β₁ = 20); ``batch`` shared x_T ~ N(0, I) from ``PRNGKey(seed)``; float64 throughout. The reference is
  ρRK4 with ``ref_steps`` steps uniform in log ρ; ``ref_err`` is its mean distance to an independent RK4
  solve of the PF-ODE in t (``check_steps`` quadratic-t steps).

  Returns:
    dict with ``errors: {(method, grid, nfe): (mean ‖x̂₀ − x₀^ref‖, its standard error, actual NFE)}``,
    ``ref: [batch, 2]``, ``ref_err`` (float), ``samples: {method: [batch, 2]}`` at ``sample_nfe`` on
    ``sample_grid`` (when swept).
  """
  fn = "gmm_sweep"
  for name, v in (("seed", seed), ("batch", batch), ("ref_steps", ref_steps), ("check_steps", check_steps)):
    if not isinstance(v, int) or isinstance(v, bool) or v < (0 if name == "seed" else 1):
      raise ValueError(f"{fn}: {name} expected a {'non-negative' if name == 'seed' else 'positive'} int, got {v!r}")
  _check_names(methods, METHODS, "methods", fn)
  _check_names(grids, tuple(g for g in GRIDS if g != "power_t"), "grids", fn)
  _check_counts(nfes, "nfes", fn)
  t_min = _check_t_min(t_min, fn)
  with jax.enable_x64(True):
    sched = VPSchedule("linear", 0.1, 20.0)
    gmm = circle_mixture(8, 4.0, 0.3, 2, dtype=jnp.float64)
    eps = lambda x, t: gmm_noise_predictor(gmm, sched, x, t)
    x_t = jax.random.normal(jax.random.PRNGKey(seed), (batch, 2), jnp.float64)
    ref = jax.jit(lambda x: reference_sample(eps, sched, x, t_min=t_min, num_steps=ref_steps))(x_t)
    ts_chk = time_grid(sched, check_steps, "quadratic_t", t_min=t_min, dtype=jnp.float64)
    chk = jax.jit(lambda x: integrate(lambda y, t: pf_ode_drift(sched, eps, y, t), x, ts_chk, "rk4"))(x_t)
    ref_err = float(jnp.mean(jnp.linalg.norm(chk - ref, axis=-1)))
    runs = sweep_samples(eps, sched, x_t, methods=methods, grids=grids, nfes=nfes, t_min=t_min)
  ref = np.asarray(ref)
  errors, samples = {}, {}
  for (m, g, nfe), (y, actual) in runs.items():
    e = np.linalg.norm(y - ref, axis=-1)
    errors[(m, g, nfe)] = (float(e.mean()), float(e.std() / math.sqrt(len(e))), actual)
    if nfe == sample_nfe and g == sample_grid:
      samples[m] = y
  return dict(errors=errors, ref=ref, ref_err=ref_err, samples=samples)
