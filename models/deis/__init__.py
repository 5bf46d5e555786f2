"""DEIS: fast sampling of diffusion models with exponential integrators.

Zhang & Chen, "Fast Sampling of Diffusion Models with Exponential Integrator", ICLR 2023,
arXiv:2204.13902.

* :mod:`.samplers`: the probability-flow ODE (Eq. 5), Euler-in-t, DDIM, tAB-DEIS (Eq. 14–15),
  ρAB-DEIS and ρRK-DEIS (Eq. 17), iPNDM; float64 quadrature coefficients per grid.
* :mod:`.gmm`: Gaussian mixtures and their exact noise predictor (analytic score).
* :mod:`.loss`: the ε-prediction denoising loss.
* :mod:`.experiment`: :func:`sweep_samples` (every method × grid × NFE from shared noise, one compile per
  sampler family and step count) and :func:`gmm_sweep` (the exact-score benchmark of the claims).
* :mod:`.networks`: :class:`ResidualDenoiser`, the residual adaptive-LayerNorm MLP noise predictor
  (learned skip g(t)·x) trained on digits for the ``deis/digits`` claim.

Shared pieces (schedules, grids, steppers, the time-conditioned MLP) live in
:mod:`models.common.diffusion`.
"""
from __future__ import annotations

from models.common.diffusion import GRIDS, TimeMLP, VPSchedule, time_grid
from models.deis.experiment import gmm_sweep, sweep_samples
from models.deis.gmm import GaussianMixture, circle_mixture, gmm_log_prob, gmm_noise_predictor, gmm_sample
from models.deis.loss import denoising_loss
from models.deis.networks import ResidualDenoiser
from models.deis.samplers import (IPNDM_WEIGHTS, METHODS, RK_TABLEAUX, MultistepCoefficients, coefficients_for,
                                  ddim_coefficients, euler_t_sample, ipndm_coefficients, multistep_sample,
                                  nfe_per_step, pf_ode_drift, rab_coefficients, reference_sample, rho_rk_sample,
                                  sample, tab_coefficients)

__all__ = [
    "GRIDS", "IPNDM_WEIGHTS", "METHODS", "RK_TABLEAUX", "GaussianMixture", "MultistepCoefficients", "ResidualDenoiser", "TimeMLP",
    "VPSchedule", "circle_mixture", "coefficients_for", "ddim_coefficients", "denoising_loss", "euler_t_sample",
    "gmm_log_prob", "gmm_noise_predictor", "gmm_sample", "gmm_sweep", "ipndm_coefficients", "multistep_sample",
    "nfe_per_step", "pf_ode_drift", "rab_coefficients", "reference_sample", "rho_rk_sample", "sample",
    "sweep_samples", "tab_coefficients", "time_grid",
]
