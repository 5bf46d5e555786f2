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

Importing this package registers small instances with the conformance battery (:mod:`models.registry`).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from models.moe.experts import EXPERT_ACTIVATIONS, LinearExperts, MLPExperts
from models.moe.layers import EXPERTS, MoEAux, MoEBlock
from models.moe.routers import ACTIVATIONS, GATES, Router, RouterOutput, dense_gates, gate_logits, select_top_k
from models.moe.routing import (PRIORITIES, Routing, expert_capacity, load_balancing_loss, route,
                                router_z_loss)
from models.registry import ModelSpec, register

__all__ = [
    "ACTIVATIONS", "EXPERTS", "EXPERT_ACTIVATIONS", "GATES", "LinearExperts", "MLPExperts", "MoEAux", "MoEBlock",
    "PRIORITIES", "Router", "RouterOutput", "Routing", "dense_gates", "expert_capacity", "gate_logits",
    "load_balancing_loss", "route", "router_z_loss", "select_top_k",
]


# ---------------------------------------------------------------------------------------------------
# Conformance specs (tiny instances, three gates; Router and the experts are covered as
# submodules, the linear temperature gate by tests/models/test_moe.py).


def _tokens(key: jax.Array) -> tuple[jax.Array]:
  return (jax.random.normal(key, (2, 6, 8), jnp.float32),)


register(ModelSpec(
    name="moe.MoEBlock/topk2",
    make=lambda: MoEBlock(num_experts=4, gate="topk", num_selected=2, hidden_features=16,
                          capacity_factor=1.0, z_loss_weight=1e-3),
    example_args=_tokens,
))
register(ModelSpec(
    name="moe.MoEBlock/softmax_linear",
    make=lambda: MoEBlock(num_experts=3, gate="softmax", num_selected=None, expert="linear",
                          capacity_factor=None),
    example_args=_tokens,
))
register(ModelSpec(
    name="moe.MoEBlock/activation_temperature_top1",
    make=lambda: MoEBlock(num_experts=4, gate="activation_temperature", num_selected=1,
                          hidden_features=16, priority="score", capacity_factor=1.0, return_aux=False),
    example_args=_tokens,
))
