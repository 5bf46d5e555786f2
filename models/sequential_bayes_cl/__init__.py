"""Paper 35: Kessler, Cobb, Rudner, Zohren and Roberts, "On Sequential Bayesian Inference for Continual
Learning", Entropy 25(6):884, 2023 (arXiv 2301.01828).

* :mod:`~models.sequential_bayes_cl.hmc`: HMC (leapfrog + Metropolis-Hastings, dual-averaging step adaptation,
  vmapped chains);
* :mod:`~models.sequential_bayes_cl.gmm`: Gaussian-mixture log density in JAX, EM + BIC, moment matching;
* :mod:`~models.sequential_bayes_cl.bnn`: the 2-10-10-2 BNN on a flat parameter vector, the toy blobs;
* :mod:`~models.sequential_bayes_cl.blr`: conjugate Bayesian linear regression;
* :mod:`~models.sequential_bayes_cl.protocl`: ProtoCL (encoder, conjugate prototypes, Dirichlet counts);
* :mod:`~models.sequential_bayes_cl.experiment`: the three experiments (method functions for the continual
  harness, the BLR study).
"""
from models.sequential_bayes_cl.blr import Gaussian, blr_posterior, blr_predict, blr_sequential, poly_features
from models.sequential_bayes_cl.bnn import (BLOB_CENTRES, BLOB_STDS, init_flat, log_likelihood, log_posterior,
                                            mlp_logits, num_params, predictive, toy_blobs, toy_tasks)
from models.sequential_bayes_cl.gmm import (GMM, fit_gmm, fit_gmm_bic, gmm_log_density, gmm_num_params,
                                            isotropic_prior, moment_match, pad_gmm, trim_gmm)
from models.sequential_bayes_cl.hmc import HMCResult, hmc_sample, leapfrog
from models.sequential_bayes_cl.protocl import (Encoder, Posterior, batch_posterior, class_log_probs, class_stats,
                                                init_prior, log_joint, nll, noise_var, posterior_from_stats,
                                                prior_posterior, stream_posterior)

__all__ = ["Gaussian", "blr_posterior", "blr_predict", "blr_sequential", "poly_features", "BLOB_CENTRES",
           "BLOB_STDS", "init_flat", "log_likelihood", "log_posterior", "mlp_logits", "num_params", "predictive",
           "toy_blobs", "toy_tasks", "GMM", "fit_gmm", "fit_gmm_bic", "gmm_log_density", "gmm_num_params",
           "isotropic_prior", "moment_match", "pad_gmm", "trim_gmm", "HMCResult", "hmc_sample", "leapfrog",
           "Encoder", "Posterior", "batch_posterior", "class_log_probs", "class_stats", "init_prior", "log_joint",
           "nll", "noise_var", "posterior_from_stats", "prior_posterior", "stream_posterior"]
