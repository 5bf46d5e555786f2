"""Differential privacy under continual observation: the binary-tree counter (Laplace / Gaussian), MaxSum
and SumSelect through per-column trees and through the sparse-vector mechanism, batch baselines.

Paper: "The Price of Differential Privacy under Continual Observation", P. Jain, S. Raskhodnikova,
S. Sivakumar, A. Smith, ICML 2023, arXiv:2112.00828.

The claims' experiments (replicated errors, the crossover dimension) are in :mod:`theory.dp_continual.experiment`.
"""
from theory.dp_continual.experiment import (COUNTING_MECHANISMS, counting_errors, crossover_dimension,
                                            seeded_stream, svt_errors, tree_column_errors)
from theory.dp_continual.mechanisms import (PROBLEMS, MaxSumRelease, SVTParams, SVTRelease, batch_count,
                                            batch_max_sum, batch_sum_select, fresh_prefix_counter,
                                            naive_counter, svt_max_sum, svt_parameters, tree_max_sum)
from theory.dp_continual.streams import (bernoulli_stream, check_stream, max_abs_error, max_sum, prefix_sums,
                                         selection_regret)
from theory.dp_continual.tree import (NOISES, TreeCalibration, calibrated_gaussian_sigma, node_l1_sensitivity,
                                      node_l2_sensitivity, node_sums, num_levels, popcount, prefix_from_nodes,
                                      TreeRelease, tree_calibration, tree_counter, tree_error_variance,
                                      tree_prefix_sums, tree_release)

__all__ = [
    "COUNTING_MECHANISMS", "counting_errors", "crossover_dimension", "seeded_stream", "svt_errors",
    "tree_column_errors", "NOISES", "PROBLEMS", "MaxSumRelease", "SVTParams", "SVTRelease", "TreeCalibration", "batch_count",
    "batch_max_sum", "batch_sum_select", "bernoulli_stream", "calibrated_gaussian_sigma", "check_stream",
    "fresh_prefix_counter", "max_abs_error", "max_sum", "naive_counter", "node_l1_sensitivity",
    "node_l2_sensitivity", "node_sums", "num_levels", "popcount", "prefix_from_nodes", "prefix_sums",
    "selection_regret", "svt_max_sum", "svt_parameters", "tree_calibration", "tree_counter",
    "tree_error_variance", "tree_max_sum", "tree_prefix_sums", "tree_release", "TreeRelease",
]
