"""Paging with one-bit predictions: cache simulators, prediction bits, workloads.

Paper: "Paging with Succinct Predictions", A. Antoniadis, J. Boyar, M. Eliáš, L. M. Favrholdt,
R. Hoeksma, K. S. Larsen, A. Polak, B. Simon (ICML 2023), arXiv:2210.02775.
"""
from theory.paging.experiment import (ADVERSARIAL, BASELINES, FOLLOWERS, SWEPT_MODES, WORKLOADS,
                                      max_faults_per_phase, slope_through_origin, sweep, workload)
from theory.paging.predictions import (NOISE_MODES, Errors, PhasePartition, discard_bits, perturb,
                                       phase_bits, phase_partition, prediction_errors)
from theory.paging.simulate import (ALGORITHMS, NEEDS_BITS, RANDOMISED, SimResult, next_use, simulate,
                                    simulate_many)
from theory.paging.workloads import cyclic, follower_trap, load_trace, loop_scan, markov_phase, zipf

__all__ = ["ADVERSARIAL", "ALGORITHMS", "BASELINES", "FOLLOWERS", "NEEDS_BITS", "NOISE_MODES", "RANDOMISED",
           "SWEPT_MODES", "WORKLOADS", "Errors", "PhasePartition", "SimResult", "cyclic", "discard_bits",
           "follower_trap", "load_trace", "loop_scan", "markov_phase", "max_faults_per_phase", "next_use", "perturb",
           "phase_bits", "phase_partition", "prediction_errors", "simulate", "simulate_many", "slope_through_origin",
           "sweep", "workload", "zipf"]
