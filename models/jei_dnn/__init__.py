"""JEI-DNN: jointly-learned exit and inference for an early-exit network.

Regol, Chataoui, Coates, "Jointly-Learned Exit and Inference for a Dynamic Neural Network: JEI-DNN", ICLR 2024,
arXiv:2310.09163 (official code: github.com/networkslab/dynn).

* :mod:`.core`: gate statistics, the product-form exit distribution, cumulative costs, oracle exits and gate targets,
  the IM / gate / warm-up / official losses, test-time exit rules.
* :mod:`.modules`: ``ResMLPBackbone``, ``ExitHeads`` (IMs), ``UncertaintyGates`` (GMs), ``JEIDNN`` (Flax linen).
* :mod:`.metrics`: ECE with equal-mass bins, per-exit split conformal prediction (numpy, host-side).
* :mod:`.experiment`: difficulty digits, splits, the backbone / warm-up / bi-level trainers, the comparison.
"""
from __future__ import annotations

from models.jei_dnn import core, experiment, metrics, modules
from models.jei_dnn.core import (NUM_GATE_FEATURES, cross_entropies, cumulative_costs, exit_distribution,
                                 expected_cost, gate_features, gate_loss, gate_targets, gated_exit, im_loss,
                                 official_im_loss, oracle_exit, positive_weights, take_exit, threshold_exit,
                                 warmup_loss)
from models.jei_dnn.experiment import (DIFFICULTY_LEVELS, GATE_PHASE, IM_PHASE, backbone_features, budget_auc, compare_policies,
                                       difficulty_digits, exit_outputs, model_costs, phase_loss, policy_metrics,
                                       split_indices, train_backbone, train_bilevel, train_ims)
from models.jei_dnn.metrics import (conformal_quantile, ece, per_exit_quantiles, prediction_sets, reliability,
                                    set_metrics)
from models.jei_dnn.modules import JEIDNN, ExitHeads, ResMLPBackbone, UncertaintyGates, exit_blocks, resmlp_macs

__all__ = [
    "DIFFICULTY_LEVELS", "ExitHeads", "GATE_PHASE", "IM_PHASE", "JEIDNN", "NUM_GATE_FEATURES", "ResMLPBackbone",
    "UncertaintyGates", "backbone_features", "budget_auc", "compare_policies", "conformal_quantile", "core", "cross_entropies",
    "cumulative_costs", "difficulty_digits", "ece", "exit_blocks", "exit_distribution", "exit_outputs",
    "expected_cost", "experiment", "gate_features", "gate_loss", "gate_targets", "gated_exit", "im_loss", "metrics",
    "model_costs", "modules", "official_im_loss", "oracle_exit", "per_exit_quantiles", "phase_loss",
    "policy_metrics", "positive_weights", "prediction_sets", "reliability", "resmlp_macs", "set_metrics",
    "split_indices", "take_exit", "threshold_exit", "train_backbone", "train_bilevel", "train_ims", "warmup_loss",
]
