"""Paper 17: Mao, Müller, Fischer & Vechev, "Understanding Certified Training with Interval Bound Propagation"
(ICLR 2024, arXiv:2306.10426).

Propagation tightness of IBP bounds (:mod:`.tightness`), exact bounds of tiny ReLU networks by MILP
(:mod:`.milp`), the certified-training MLP (:mod:`.network`), the standard / PGD / IBP / SABR losses with the
ramps and the fast initialisation and its regularisers, and IBP certification (:mod:`.training`), and the
experiments the claims run (:mod:`.experiment`). The interval arithmetic itself is :mod:`models.common.ibp`.
"""
from models.ibp_tightness.network import INITS, CertMLP, init_mlp, layers_from_params
from models.ibp_tightness.propagation import RELU_ADJUST, initialization_tightness, tightness
from models.ibp_tightness.milp import exact_bounds, true_tightness
from models.ibp_tightness.training import (certified, cross_entropy, fast_regularizer, ibp_loss, pgd_attack,
                                           pgd_loss, ramp, robustness_metrics, sabr_loss, standard_loss)
from models.ibp_tightness.experiment import METHODS, init_study, depth_slopes, training_loss

__all__ = ["INITS", "CertMLP", "init_mlp", "layers_from_params", "RELU_ADJUST", "initialization_tightness",
           "tightness", "exact_bounds", "true_tightness", "certified", "cross_entropy", "fast_regularizer",
           "ibp_loss", "pgd_attack", "pgd_loss", "ramp", "robustness_metrics", "sabr_loss", "standard_loss",
           "METHODS", "init_study", "depth_slopes", "training_loss"]
