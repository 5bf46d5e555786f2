"""Paper 21: Sclocchi, Geiger, Wyart, "Dissecting the Effects of SGD Noise in Distinct Regimes of Deep Learning"
(ICML 2023, arXiv:2301.13703): the mean-field MLP and the perceptron trained by SGD until every point is fitted,
at temperature T = dt / (h B), with data depleted near the decision boundary. See README.md.
"""
from models.sgd_noise.core import (ACTIVATIONS, LOSSES, SGDResult, depleted_sign, dt_from_temperature, init_mlp,
                                   mlp_apply, normalized_activation, perceptron_apply, perceptron_test_error,
                                   scaled_loss, train_until_fit)
from models.sgd_noise.experiment import network_grid, perceptron_sweep, plateau_crossing, tc_slope

__all__ = ["ACTIVATIONS", "LOSSES", "SGDResult", "depleted_sign", "dt_from_temperature", "init_mlp", "mlp_apply",
           "normalized_activation", "perceptron_apply", "perceptron_test_error", "scaled_loss", "train_until_fit",
           "network_grid", "perceptron_sweep", "plateau_crossing", "tc_slope"]
