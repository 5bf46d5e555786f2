"""Zero-chain hard instances for finding stationary points (paper 28).

C. Zhang and T. Li, "Quantum Lower Bounds for Finding Stationary Points of Nonconvex Functions", ICML 2023,
arXiv:2212.03906; the classical constructions they extend: Carmon, Duchi, Hinder, Sidford (2020),
arXiv:1710.11606, and Arjevani, Carmon, Duchi, Foster, Srebro, Woodworth (2019), arXiv:1912.02365.

The claims' experiments (GD / SGD / prober runs against ε, the rotated comparison) are in
:mod:`theory.nonconvex_lower_bounds.experiment`.
"""
from theory.nonconvex_lower_bounds.chain import (GRAD_INF_BOUND, LIPSCHITZ_GRAD, VALUE_GAP_PER_LINK, ScaledChain,
                                                 hard_gradient, hard_value, phi, progress, psi,
                                                 random_orthonormal, rotated_progress, rotated_value, scale_chain,
                                                 scaled_value)
from theory.nonconvex_lower_bounds.experiment import (CHAIN_CONSTANT, epsilon_for_length, gd_chain_run, prober_run,
                                                      rotated_comparison, sgd_chain_run)
from theory.nonconvex_lower_bounds.oracle import ORACLE_THRESHOLD, bernoulli_gradient, stochastic_gradient
from theory.nonconvex_lower_bounds.simulate import (GDTrace, HittingTimes, SGDResult, first_below,
                                                    gradient_descent, probe_hitting_times, sgd,
                                                    stochastic_chain_probability, unit_chain)

__all__ = [
    "GRAD_INF_BOUND", "LIPSCHITZ_GRAD", "VALUE_GAP_PER_LINK", "ORACLE_THRESHOLD", "ScaledChain", "GDTrace",
    "HittingTimes", "SGDResult", "psi", "phi", "hard_value", "hard_gradient", "progress", "scale_chain",
    "scaled_value", "random_orthonormal", "rotated_value", "rotated_progress", "bernoulli_gradient",
    "stochastic_gradient", "gradient_descent", "first_below", "sgd", "probe_hitting_times",
    "stochastic_chain_probability", "unit_chain", "CHAIN_CONSTANT", "epsilon_for_length", "gd_chain_run",
    "prober_run", "sgd_chain_run", "rotated_comparison",
]
