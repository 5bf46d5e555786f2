"""Differentially private sequential learning: smooth randomized response, public LLR dynamics, stopping
times, binary-signal cascades.

Paper: "Differentially Private Sequential Learning", Yuxin Liu and M. Amin Rahimian (FORC 2025),
arXiv:2502.19525.

The claims' experiments (runs over ε, LLR growth fits, cascade bisection, stopping cells) are in
:mod:`theory.dp_sequential.experiment`.
"""
from theory.dp_sequential import binary
from theory.dp_sequential.binary import (BinaryPaths, cascade_threshold, correct_cascade_probability,
                                         nonprivate_cascade_probability, report_accuracy, switch_point, switch_points)
from theory.dp_sequential.continuous import (ContinuousPaths, FirstReportLaw, decision_threshold, first_report_survival,
                                             first_report_tail_exponent, flip_probability, laplace_threshold_report,
                                             llr_increments, log_report_probability, nonprivate_llr_constant,
                                             private_llr_slope, simulate, simulate_paths, smooth_randomized_response)
from theory.dp_sequential.experiment import (CASCADE_AGENTS, cascade_frequency, continuous_runs, emergent_threshold,
                                             first_report_tail, llr_growth, stopping_cell, switch_point_bisection)
from theory.dp_sequential.stopping import (BellmanSolution, StoppingSample, asymptotic_stopping_time,
                                           bellman_stopping_time, stopping_constant, stopping_times)

__all__ = ["CASCADE_AGENTS", "cascade_frequency", "continuous_runs", "emergent_threshold", "first_report_tail",
           "llr_growth", "stopping_cell", "switch_point_bisection", "BellmanSolution", "BinaryPaths", "ContinuousPaths", "FirstReportLaw", "StoppingSample",
           "asymptotic_stopping_time", "bellman_stopping_time", "binary", "cascade_threshold",
           "correct_cascade_probability", "decision_threshold", "first_report_survival", "first_report_tail_exponent",
           "flip_probability", "laplace_threshold_report", "llr_increments", "log_report_probability",
           "nonprivate_cascade_probability", "nonprivate_llr_constant", "private_llr_slope", "report_accuracy",
           "simulate", "simulate_paths", "smooth_randomized_response", "stopping_constant", "stopping_times",
           "switch_point", "switch_points"]
