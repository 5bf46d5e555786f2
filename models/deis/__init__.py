"""DEIS: fast sampling of diffusion models with exponential integrators.

Zhang & Chen, "Fast Sampling of Diffusion Models with Exponential Integrator", ICLR 2023,
arXiv:2204.13902.

* :mod:`.samplers`: the probability-flow ODE (Eq. 5), Euler-in-t, DDIM, tAB-DEIS (Eq. 14–15),
  ρAB-DEIS and ρRK-DEIS (Eq. 17), iPNDM; float64 quadrature coefficients per grid.
* :mod:`.gmm`: Gaussian mixtures and their exact noise predictor (analytic score).
* :mod:`.loss`: the ε-prediction denoising loss.
* :mod:`.networks`: :class:`ResidualDenoiser`, the residual adaptive-LayerNorm MLP noise predictor
  (learned skip g(t)·x) trained on digits for the ``deis/digits`` claim.

Shared pieces (schedules, grids, steppers, the time-conditioned MLP) live in
:mod:`models.common.diffusion`. Importing this package registers both networks with the conformance battery.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from models.common.diffusion import GRIDS, TimeMLP, VPSchedule, time_grid
from models.deis.gmm import GaussianMixture, circle_mixture, gmm_log_prob, gmm_noise_predictor, gmm_sample
from models.deis.loss import denoising_loss
from models.deis.networks import ResidualDenoiser
from models.deis.samplers import (IPNDM_WEIGHTS, METHODS, RK_TABLEAUX, MultistepCoefficients, coefficients_for,
                                  ddim_coefficients, euler_t_sample, ipndm_coefficients, multistep_sample,
                                  nfe_per_step, pf_ode_drift, rab_coefficients, reference_sample, rho_rk_sample,
                                  sample, tab_coefficients)
from models.registry import ModelSpec, register

__all__ = [
    "GRIDS", "IPNDM_WEIGHTS", "METHODS", "RK_TABLEAUX", "GaussianMixture", "MultistepCoefficients", "ResidualDenoiser", "TimeMLP",
    "VPSchedule", "circle_mixture", "coefficients_for", "ddim_coefficients", "denoising_loss", "euler_t_sample",
    "gmm_log_prob", "gmm_noise_predictor", "gmm_sample", "ipndm_coefficients", "multistep_sample",
    "nfe_per_step", "pf_ode_drift", "rab_coefficients", "reference_sample", "rho_rk_sample", "sample",
    "tab_coefficients", "time_grid",
]


def _mlp_args(key: jax.Array) -> tuple[jax.Array, jax.Array]:
  kx, kt = jax.random.split(key)
  return jax.random.normal(kx, (3, 4), jnp.float32), jax.random.uniform(kt, (3,), jnp.float32)


register(ModelSpec(
    name="deis.TimeMLP",
    make=lambda: TimeMLP(hidden=16, depth=2, emb_dim=8),
    example_args=_mlp_args,
))
register(ModelSpec(
    name="deis.ResidualDenoiser",
    make=lambda: ResidualDenoiser(width=16, depth=2, mult=2, emb_dim=8, skip_init=0.5),
    example_args=_mlp_args,
))
