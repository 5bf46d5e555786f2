"""Stochastic interpolants: flows and diffusions between arbitrary densities.

Albergo, Boffi & Vanden-Eijnden, "Stochastic Interpolants: A Unifying Framework for Flows and
Diffusions", 2023, arXiv:2303.08797.

* :mod:`.interpolant`: x_t = α(t) x₀ + β(t) x₁ + γ(t) z (linear, trig, encoder–decoder, mirror; one-sided
  linear / trig / VP) with α̇, β̇, γ̇ and γγ̇ (Def. 2.1, Sec. 3–4).
* :mod:`.losses`: the quadratic objectives L_b, L_v, L_s, L_η (Sec. 2.2), with antithetic sampling.
* :mod:`.samplers`: the probability-flow ODE, forward / backward SDEs with diffusion ε (b_F = b + ε s,
  b_B = b − ε s; Sec. 2.3), the likelihood along the ODE (exact trace or Hutchinson).
* :mod:`.gaussian`: exact b, v, s, η and log ρ for Gaussian-mixture end points (the test oracle).
* :mod:`.experiment`: the 2-D densities (checkerboard, ring8, mix4), the SW₂ noise floor, the ε sweep of
  the SDE and the exact-field transport check used by the claims.
* sliced Wasserstein and MMD between sample sets: re-exported from :mod:`theory.common.stats`.

The fields are learned with :class:`models.common.diffusion.TimeMLP` (registered in the conformance
battery by :mod:`models.deis.conformance`); this package defines no Flax module of its own.
"""
from __future__ import annotations

from theory.common.stats import mmd, projection_directions, sliced_wasserstein
from models.interpolants.experiment import (DENSITIES, checkerboard, density_sampler, eps_sweep, exact_transport,
                                            mix4, noise_floor, off_checkerboard, ring8)
from models.interpolants.gaussian import (ExactFields, GaussianMixture, exact_fields, gaussian, gmm_log_prob,
                                          gmm_sample, ring_mixture)
from models.interpolants.interpolant import GAMMAS, ONE_SIDED_PATHS, PATHS, Interpolant
from models.interpolants.losses import (LOSSES, interpolant_loss, loss_b, loss_eta, loss_s, loss_v,
                                        sample_times)
from models.interpolants.samplers import (SDE_METHODS, LogLikelihood, backward_drift, divergence,
                                          forward_drift, ode_log_likelihood, ode_sample, sde_sample)

__all__ = [
    "DENSITIES", "checkerboard", "density_sampler", "eps_sweep", "exact_transport", "mix4", "noise_floor",
    "off_checkerboard", "ring8",
    "GAMMAS", "LOSSES", "ONE_SIDED_PATHS", "PATHS", "SDE_METHODS", "ExactFields", "GaussianMixture",
    "Interpolant", "LogLikelihood", "backward_drift", "divergence", "exact_fields", "forward_drift", "gaussian",
    "gmm_log_prob", "gmm_sample", "interpolant_loss", "loss_b", "loss_eta", "loss_s", "loss_v", "mmd",
    "ode_log_likelihood", "ode_sample", "projection_directions", "ring_mixture", "sample_times", "sde_sample",
    "sliced_wasserstein",
]
