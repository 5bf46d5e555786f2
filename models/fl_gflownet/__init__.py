"""Forward-looking GFlowNets (paper 22).

L. Pan, N. Malkin, D. Zhang, Y. Bengio, "Better Training of GFlowNets with Local Credit and Incomplete
Trajectories", ICML 2023, arXiv:2302.01687. Official code (PyTorch): https://github.com/ling-pan/FL-GFN.

* :mod:`.envs`: set generation (``SetEnv``) and the hypergrid (``HyperGrid``), with exact enumeration.
* :mod:`.policy`: the policy MLP ``GFNPolicy`` (masked forward / backward logits and the log flow).
* :mod:`.losses`: TB, DB, SubTB(λ), FL-DB, FL-SubTB on per-trajectory ``Terms`` (log F̃(terminal) = 0 pinned).
* :mod:`.sampling`: ε-uniform trajectory sampling, random prefixes, the terms of a trajectory batch.
* :mod:`.exact`: the exact terminal distribution by DP, exact flows, the product-form set target.
* :mod:`.experiment`: the loss function of a training step, exact L1, vmapped training curves.
"""
from __future__ import annotations

from models.fl_gflownet.envs import (Enumeration, HyperGrid, SetEnv, hypergrid, random_set_energies, set_env)
from models.fl_gflownet.exact import (elementary_symmetric, exact_forward_policy, exact_log_flows, l1_distance,
                                      log_elementary_symmetric, set_target_probs, target_distribution,
                                      terminal_distribution, uniform_log_pb)
from models.fl_gflownet.experiment import (LOGZ_SCALE, exact_l1, init_params, make_loss_fn, make_policy,
                                           steps_to_threshold, train_curves)
from models.fl_gflownet.losses import (LOSSES, Terms, db_loss, db_residuals, gfn_loss, state_log_flows, subtb_loss,
                                       tb_loss)
from models.fl_gflownet.policy import MASK_VALUE, GFNPolicy, masked_log_softmax
from models.fl_gflownet.sampling import Trajectories, sample_trajectories, trajectory_terms, truncate_prefixes

__all__ = [
    "Enumeration", "GFNPolicy", "HyperGrid", "LOGZ_SCALE", "LOSSES", "MASK_VALUE", "SetEnv", "Terms",
    "Trajectories", "db_loss", "db_residuals", "elementary_symmetric", "exact_forward_policy", "exact_l1",
    "exact_log_flows", "gfn_loss", "hypergrid", "init_params", "l1_distance", "log_elementary_symmetric",
    "make_loss_fn", "make_policy", "masked_log_softmax", "random_set_energies", "sample_trajectories", "set_env",
    "set_target_probs", "state_log_flows", "steps_to_threshold", "subtb_loss", "target_distribution", "tb_loss",
    "terminal_distribution", "train_curves", "trajectory_terms", "truncate_prefixes", "uniform_log_pb",
]
