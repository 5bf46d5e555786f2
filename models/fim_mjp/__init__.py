"""Mini-FIM for Markov jump processes (paper 27: Berghaus, Cvejoski, Seifner, Ojeda, Sánchez, "Foundation
Inference Models for Markov Jump Processes", NeurIPS 2024, arXiv 2406.06419).

* :mod:`models.fim_mjp.mjp`: rate matrices, expm transitions, stationary law, relaxation and first-passage
  times, the exact grid sampler, label-flip noise, Gillespie paths and the full-path MLE;
* :mod:`models.fim_mjp.prior`: the synthetic prior over processes, grids and noise;
* :mod:`models.fim_mjp.model`: the recognition network :class:`FIMMJP` and the official loss;
* :mod:`models.fim_mjp.baselines`: naive grid counts, the grid MLE and the noisy-observation (HMM) MLE;
* :mod:`models.fim_mjp.experiment`: the structured test systems and the evaluation the claim runs.
"""
from models.fim_mjp.baselines import LOG_RATE_BOUNDS, grid_mle, hmm_mle, naive_grid_rates
from models.fim_mjp.model import ENCODERS, FIMMJP, fim_loss, offdiag_index, predicted_generator
from models.fim_mjp.mjp import (check_generator, expm_batch, flip_labels, full_path_mle, generator, gillespie,
                                mean_first_passage_times, relaxation_times, sample_grid_paths, states_at,
                                stationary_distribution, transition_matrices)
from models.fim_mjp.prior import MJPBatch, PriorConfig, sample_prior_batch

__all__ = ["generator", "check_generator", "transition_matrices", "stationary_distribution", "relaxation_times",
           "mean_first_passage_times", "sample_grid_paths", "flip_labels", "gillespie", "states_at",
           "full_path_mle", "PriorConfig", "MJPBatch", "sample_prior_batch", "FIMMJP", "ENCODERS", "fim_loss",
           "predicted_generator", "offdiag_index", "expm_batch", "naive_grid_rates", "grid_mle", "hmm_mle", "LOG_RATE_BOUNDS"]
