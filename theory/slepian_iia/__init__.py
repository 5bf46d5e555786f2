"""Slepian-model independent interval approximation (IIA) of zero-crossing intervals and persistence.

H. Bengtsson and K. Podgórski, "The Slepian model based independent interval approximation of persistency and
zero-level exceedance distributions", 2024, arXiv:2401.01805. See README.md for the equation -> function map.
"""
from theory.slepian_iia.covariances import (Covariance, damped_cosine, diffusion, gaussian, ornstein_uhlenbeck,
                                        random_acceleration, user_covariance)
from theory.slepian_iia.iia import (IIALaw, Validity, clipped_covariance, iia_law, mean_interval, persistence_exponent,
                                rice_rate, sample_iia, slepian_mean, switch_laplace, validity)
from theory.slepian_iia.simulate import (Estimate, Intervals, concat_intervals, crossing_intervals, crossing_rate,
                                     empirical_clipped_covariance, empirical_survival, mean_length, palm_persistence,
                                     persistence_curve, simulate_intervals, simulate_paths, switching_path,
                                     tail_exponent)

__all__ = [
    "Covariance", "damped_cosine", "diffusion", "gaussian", "ornstein_uhlenbeck", "random_acceleration",
    "user_covariance", "IIALaw", "Validity", "clipped_covariance", "iia_law", "mean_interval",
    "persistence_exponent", "rice_rate", "sample_iia", "slepian_mean", "switch_laplace", "validity",
    "Estimate", "Intervals", "concat_intervals", "crossing_intervals", "crossing_rate",
    "empirical_clipped_covariance", "empirical_survival", "mean_length", "palm_persistence", "persistence_curve",
    "simulate_intervals", "simulate_paths", "switching_path", "tail_exponent",
]
