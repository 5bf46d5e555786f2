"""Scale mixtures of neural network Gaussian processes.

Paper: "Scale Mixtures of Neural Network Gaussian Processes", Hyungi Lee, Eunggu Yun, Hongseok Yang, Juho Lee
(ICLR 2022), arXiv:2107.01408. Fully connected NNGP kernels, the inverse-gamma mixture (Student-t process)
through ``theory.common.kernel_methods``, a Burr XII mixture by importance sampling, evidence fits, one-hot
Gaussian-likelihood classification and the sparse variational t process (SVTP) for the categorical likelihood.
"""
from theory.nngp_mixture.classify import argmax_probabilities, expected_calibration_error, predictive_entropy
from theory.nngp_mixture.data import (CORRUPTIONS, ClassSplit, Split, corrupt_images, covariate_shift_split,
                                      held_out_class_split, regression_split, synthetic_regression)
from theory.nngp_mixture.experiment import ClassificationRun, RegressionRun, classification_run, regression_run
from theory.nngp_mixture.svtp import (SVTPParams, inverse_gamma_kl, svtp_elbo, svtp_init, svtp_kl, svtp_latent,
                                      svtp_params, svtp_predict)
from theory.nngp_mixture.nngp import ACTIVATIONS, nngp_kernel, nngp_kernel_diag, sample_network_outputs
from theory.nngp_mixture.mixture import (GPFit, ISPredictive, TPFit, burr_logpdf, fit_gp, fit_tp, gaussian_logpdf,
                                         gp_predictive_logpdf, importance_predictive, inverse_gamma_logpdf,
                                         sample_burr, sample_inverse_gamma, sample_mixture, student_t_logpdf,
                                         tp_predictive_logpdf)

__all__ = ["ACTIVATIONS", "CORRUPTIONS", "ClassSplit", "ClassificationRun", "GPFit", "ISPredictive", "RegressionRun",
           "SVTPParams", "Split", "TPFit", "argmax_probabilities", "burr_logpdf", "classification_run", "corrupt_images",
           "covariate_shift_split", "expected_calibration_error", "fit_gp", "fit_tp", "gaussian_logpdf",
           "gp_predictive_logpdf", "held_out_class_split", "importance_predictive", "inverse_gamma_logpdf",
           "nngp_kernel", "nngp_kernel_diag", "predictive_entropy", "regression_run", "regression_split",
           "sample_burr", "sample_inverse_gamma", "sample_mixture", "sample_network_outputs", "student_t_logpdf",
           "svtp_elbo", "svtp_init", "svtp_kl", "svtp_latent", "svtp_params", "svtp_predict", "inverse_gamma_kl",
           "synthetic_regression", "tp_predictive_logpdf"]
