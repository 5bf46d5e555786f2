"""Gaussian mixture of experts: gates, exact sampling, EM, Voronoi losses, density distances, Fisher information.

Papers: "Is Temperature Sample Efficient for Softmax Gaussian Mixture of Experts?", H. Nguyen, P. Akbarian,
N. Ho (ICML 2024), arXiv:2401.13875; "Statistical Perspective of Top-K Sparse Softmax Gating Mixture of
Experts", H. Nguyen, P. Akbarian, F. Yan, N. Ho (ICLR 2024), arXiv:2309.13850.
"""
from theory.common.stats import loglog_slope
from theory.moe.em import EMResult, fit_em
from theory.moe.experiment import (JITTER, TOL, RateErrors, RidgeErrors, SweepResult, jitter, rate_errors, ridge_errors,
                                  split_atom, sweep)
from theory.moe.losses import (KINDS, RBAR, DensityDistance, FisherInfo, VoronoiLoss, atom_groups, atoms,
                               density_distance, empirical_fisher, free_vector, voronoi_loss, with_free_vector)
from theory.moe.model import (DROPPED, GATES, MoEParams, check_gate, check_params, expert_means, gate_logits,
                              gate_probs, log_density, log_expert, log_gate, log_joint, log_likelihood, make_params,
                              regression_mean, sample, topk_mask)

__all__ = ["DROPPED", "GATES", "KINDS", "RBAR", "DensityDistance", "EMResult", "FisherInfo", "JITTER", "MoEParams",
           "RateErrors", "RidgeErrors", "SweepResult", "TOL", "VoronoiLoss", "atom_groups", "atoms", "check_gate",
           "check_params", "density_distance", "empirical_fisher", "expert_means", "fit_em", "free_vector",
           "gate_logits", "gate_probs", "jitter", "log_density", "log_expert", "log_gate", "log_joint",
           "log_likelihood", "loglog_slope", "make_params", "rate_errors", "regression_mean", "ridge_errors",
           "sample", "split_atom", "sweep", "topk_mask", "voronoi_loss", "with_free_vector"]
