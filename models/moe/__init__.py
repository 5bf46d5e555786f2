"""Mixture-of-experts layers: experts, routers (dense, top-K, dense-to-sparse), capacity routing.

Papers 03 and 04 of the zoo:

* H. Nguyen, P. Akbarian, N. Ho, "Is Temperature Sample Efficient for Softmax Gaussian Mixture of
  Experts?", ICML 2024, arXiv:2401.13875 — the dense-to-sparse gate ``softmax(W x / τ + b)`` and the
  activation dense-to-sparse gate ``softmax(σ(W x) / τ + b)``.
* H. Nguyen, P. Akbarian, F. Yan, N. Ho, "Statistical Perspective of Top-K Sparse Softmax Gating
  Mixture of Experts", ICLR 2024, arXiv:2309.13850 — the top-K sparse softmax gate (their Eq. (1)).

Modules: :mod:`.routers` (gates, ``Router``), :mod:`.routing` (capacity, slot assignment with a stated
drop order, load-balancing and z losses), :mod:`.experts` (``MLPExperts``, ``LinearExperts``),
:mod:`.layers` (``MoEBlock``, the Transformer feed-forward replacement). The estimation theory of the
two papers (Gaussian MoE, EM, Voronoi losses) is in ``theory/moe``, not here.
"""
from __future__ import annotations

from models.moe.experts import EXPERT_ACTIVATIONS, LinearExperts, MLPExperts
from models.moe.layers import EXPERTS, MoEAux, MoEBlock
from models.moe.routers import ACTIVATIONS, GATES, Router, RouterOutput, dense_gates, gate_logits, select_top_k
from models.moe.routing import (PRIORITIES, Routing, expert_capacity, load_balancing_loss, route,
                                router_z_loss)

__all__ = [
    "ACTIVATIONS", "EXPERTS", "EXPERT_ACTIVATIONS", "GATES", "LinearExperts", "MLPExperts", "MoEAux", "MoEBlock",
    "PRIORITIES", "Router", "RouterOutput", "Routing", "dense_gates", "expert_capacity", "gate_logits",
    "load_balancing_loss", "route", "router_z_loss", "select_top_k",
]
