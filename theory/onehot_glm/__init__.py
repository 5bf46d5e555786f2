"""HMM-GLMs for switching functional connectivity: naive, Gaussian-prior and one-hot (Concrete-prior) variants.

Paper: C. Li, S. H. Kim, C. Rodgers, H. Choi, A. Wu, "One-hot Generalized Linear Model for Switching Brain State
Discovery", ICLR 2024 (official PyTorch code: JerrySoybean/onehot-hmmglm). Poisson GLM emissions with strictly-past
spike history (``model``), log-space forward-backward in ``lax.scan`` (``hmm``), the one-hot parametrisation,
Concrete density and Gumbel-softmax (``priors``), the notes' synthetic generator (``generator``), EM with a
closed-form Pi and Adam M-steps (``em``), recovery metrics after state matching (``metrics``), nitime's real
single-neuron spikes (``data``) and the experiments (``experiment``).
"""
from theory.onehot_glm.data import load_spike_counts, nitime_data_dir
from theory.onehot_glm.em import VARIANTS, FitResult, fit, fit_batch, loglik_per_bin, state_posterior
from theory.onehot_glm.experiment import (METRICS, DemoResult, RecoveryResults, recovery_experiment,
                                          single_neuron_demo)
from theory.onehot_glm.generator import Truth, make_truth, simulate, sticky_transitions
from theory.onehot_glm.hmm import Posterior, forward_backward, hmm_loglik, sample_states, viterbi
from theory.onehot_glm.metrics import Recovery, adjacency_scores, match_states, recovery, weight_correlation
from theory.onehot_glm.model import LINKS, emission_loglik, exp_basis, spike_history
from theory.onehot_glm.priors import CLASSES, concrete_log_density, gumbel_softmax, onehot_weights

__all__ = [
    "CLASSES", "DemoResult", "FitResult", "LINKS", "METRICS", "Posterior", "Recovery", "RecoveryResults", "Truth",
    "VARIANTS", "adjacency_scores", "concrete_log_density", "emission_loglik", "exp_basis", "fit", "fit_batch",
    "forward_backward", "gumbel_softmax", "hmm_loglik", "load_spike_counts", "loglik_per_bin", "make_truth",
    "match_states", "nitime_data_dir", "onehot_weights", "recovery", "recovery_experiment", "sample_states",
    "simulate", "single_neuron_demo", "spike_history", "state_posterior", "sticky_transitions", "viterbi",
    "weight_correlation",
]
