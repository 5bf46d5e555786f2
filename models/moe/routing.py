"""Token routing with per-expert capacity, and the routers' auxiliary losses.

Dispatch/combine tensors follow GShard (Lepikhin et al. 2020, arXiv:2006.16668, Algorithm 2) and the
Switch Transformer (Fedus, Zoph, Shazeer 2021, arXiv:2101.03961): a routing group of S tokens, each
with K selected experts, is sent to E expert buffers of C slots each.

* :func:`expert_capacity`: ``C = max(min_capacity, ceil(capacity_factor · S · K / E))`` (Switch Eq. (3)
  with K choices per token); ``capacity_factor=None`` gives C = S, so nothing is ever dropped.
* :func:`route`: deterministic slot assignment. **Priority order**: all first choices before any second
  choice (choice rank major, GShard), and within a rank tokens in group order (``priority="position"``)
  or by descending first-choice gate weight, ties by position (``priority="score"``, the
  batch-prioritized routing of Riquelme et al. 2021, arXiv:2106.05974). An assignment whose slot
  would be ``>= C`` is dropped: it gets no slot and zero combine weight, and is reported in ``kept`` and
  ``num_dropped``. Remaining weights are not renormalised (a token whose choices are all dropped gets a
  zero output; the Transformer's residual connection carries it).
* :func:`load_balancing_loss`: ``L_aux = E · Σ_e f_e · P_e`` with ``f_e`` the fraction of tokens whose
  **first choice** is expert e (counted before capacity drops) and ``P_e`` the mean router probability
  of e: the Switch Transformer's Eq. (4) without α, which for K > 1 counts first choices as GShard does.
  It equals 1 whenever f or P is uniform; when the router's probabilities are one-hot (f = P) it is
  ``E · Σ_e f_e² >= 1`` with equality exactly at balanced routing.
* :func:`router_z_loss`: ``mean_tokens(logsumexp(logits)²)`` (ST-MoE, Zoph et al. 2022,
  arXiv:2202.08906, Eq. (5)).

**Dropped (non-finite) tokens.** The router marks a token it could not score (a NaN/inf input or
logit) with index ``-1`` (see :mod:`models.moe.routers`). In :func:`route` an assignment with index
-1 is *unrouted*: it takes no slot (so every other assignment gets exactly the slot it gets in the
same group without that token), has ``kept = False``, ``slot = -1``, zero combine weight, and is
counted in ``num_unrouted``, not in ``num_dropped`` (capacity drops only). The two losses take a
``mask`` (True = count the token) and average over the counted tokens only, with ``jnp.where`` on
their inputs so that NaN rows under the mask reach neither the value nor the gradient; with no
counted token they are 0.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from kernels.common.checks import check_in_range

Array = jax.Array

__all__ = ["PRIORITIES", "Routing", "expert_capacity", "load_balancing_loss", "route", "router_z_loss"]

PRIORITIES = ("position", "score")


class Routing(NamedTuple):
  """The slot assignment of one routing group (leading group dims ``...`` when vmapped).

  Attributes:
    dispatch: [S, E, C] bool, token s occupies slot c of expert e.
    combine: [S, E, C] float, the gate weight of that assignment (0 where not dispatched).
    kept: [S, K] bool, choice k of token s got a slot.
    slot: [S, K] int32, its slot in the expert buffer (-1 if dropped or unrouted).
    num_dropped: [] int32, number of (token, choice) assignments dropped for lack of capacity.
    expert_load: [E] int32, slots used per expert (<= C).
    num_unrouted: [] int32, number of (token, choice) assignments with index -1 (a dropped token's
      "no expert"): they take no slot and are not in ``num_dropped``.
  """
  dispatch: Array
  combine: Array
  kept: Array
  slot: Array
  num_dropped: Array
  expert_load: Array
  num_unrouted: Array


def expert_capacity(num_tokens: int, num_selected: int, num_experts: int,
                    capacity_factor: float | None = 1.25, min_capacity: int = 1) -> int:
  """Slots per expert: ``max(min_capacity, ceil(capacity_factor · S · K / E))``, at most S.

  ``capacity_factor=None`` means unlimited (C = S: every token fits in every expert it chose).
  """
  for name, v in (("num_tokens", num_tokens), ("num_selected", num_selected), ("num_experts", num_experts),
                  ("min_capacity", min_capacity)):
    if not isinstance(v, int) or isinstance(v, bool) or v < 1:
      raise ValueError(f"{name}: expected a positive int, got {v!r}")
  if num_selected > num_experts:
    raise ValueError(f"num_selected: expected at most num_experts={num_experts}, got {num_selected}")
  if capacity_factor is None:
    return num_tokens
  if (not isinstance(capacity_factor, (int, float)) or isinstance(capacity_factor, bool)
      or not capacity_factor > 0 or not math.isfinite(capacity_factor)):
    raise ValueError(f"capacity_factor: expected None or a positive finite float, got {capacity_factor!r}")
  c = math.ceil(capacity_factor * num_tokens * num_selected / num_experts - 1e-9)
  return min(num_tokens, max(min_capacity, c))


def route(index: Array, gates: Array, num_experts: int, capacity: int, priority: str = "position") -> Routing:
  """Assigns the (token, choice) pairs of one group to expert slots (see the module docstring).

  Args:
    index: [S, K] int selected experts in [-1, E) (distinct along K), choice 0 = first choice; -1 = no
      expert (unrouted, takes no slot). Checked when concrete; under jit an id outside [-1, E) is
      treated as -1 (``checkify`` reports it).
    gates: [S, K] float combine weights.
    num_experts: E.
    capacity: C slots per expert (a Python int).
    priority: ``"position"`` or ``"score"`` (order of tokens within a choice rank).
  Returns:
    :class:`Routing`. Use ``jax.vmap`` for several groups.
  """
  if not hasattr(index, "shape") or not hasattr(gates, "shape"):
    raise TypeError(f"index, gates: expected arrays, got {type(index).__name__}, {type(gates).__name__}")
  if index.ndim != 2:
    raise ValueError(f"index: expected shape [S, K], got {tuple(index.shape)}")
  if not jnp.issubdtype(index.dtype, jnp.integer):
    raise TypeError(f"index: expected an integer dtype, got {index.dtype}")
  if tuple(gates.shape) != tuple(index.shape):
    raise ValueError(f"gates: expected the shape of index {tuple(index.shape)}, got {tuple(gates.shape)}")
  if not jnp.issubdtype(gates.dtype, jnp.floating):
    raise TypeError(f"gates: expected a floating dtype, got {gates.dtype}")
  if not isinstance(num_experts, int) or isinstance(num_experts, bool) or num_experts < index.shape[1]:
    raise ValueError(f"num_experts: expected an int >= K={index.shape[1]}, got {num_experts!r}")
  if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 1:
    raise ValueError(f"capacity: expected a positive int, got {capacity!r}")
  if priority not in PRIORITIES:
    raise ValueError(f"priority: expected one of {PRIORITIES}, got {priority!r}")
  check_in_range(index, "index", "route", -1, num_experts)
  s, k = index.shape
  onehot = jax.nn.one_hot(index, num_experts, dtype=jnp.int32)          # [S, K, E]
  if priority == "score":
    order = jnp.argsort(-gates[:, 0].astype(jnp.float32), stable=True)   # [S] tokens by priority
  else:
    order = jnp.arange(s)
  ranked = onehot[order].transpose(1, 0, 2).reshape(k * s, num_experts)  # rank-major, then priority
  position = jnp.cumsum(ranked, axis=0) - 1                               # slot if kept
  slot_ranked = jnp.sum(position * ranked, axis=-1).reshape(k, s).T       # [S(ordered), K]
  slot = jnp.zeros((s, k), jnp.int32).at[order].set(slot_ranked.astype(jnp.int32))
  routed = (index >= 0) & (index < num_experts)                           # -1: no expert, no slot
  kept = routed & (slot < capacity)
  slot = jnp.where(kept, slot, -1)
  slot_onehot = jax.nn.one_hot(slot, capacity, dtype=gates.dtype)         # [S, K, C]; -1 -> zeros
  e_onehot = onehot.astype(gates.dtype)
  combine = jnp.einsum("sk,ske,skc->sec", gates, e_onehot, slot_onehot)
  dispatch = jnp.einsum("ske,skc->sec", e_onehot, slot_onehot) > 0
  num_dropped = jnp.sum(routed & ~kept).astype(jnp.int32)
  expert_load = jnp.sum(onehot * kept[..., None], axis=(0, 1)).astype(jnp.int32)
  return Routing(dispatch=dispatch, combine=combine, kept=kept, slot=slot, num_dropped=num_dropped,
                 expert_load=expert_load, num_unrouted=jnp.sum(~routed).astype(jnp.int32))


def _check_mask(mask, shape: tuple[int, ...], fn: str) -> None:
  if mask is None:
    return
  if not hasattr(mask, "shape") or not hasattr(mask, "dtype") or mask.dtype != jnp.bool_:
    raise TypeError(f"{fn}: mask: expected a bool array of shape {shape}, got "
                    f"{getattr(mask, 'dtype', type(mask).__name__)}")
  if tuple(mask.shape) != shape:
    raise ValueError(f"{fn}: mask: expected shape {shape} (the token dims), got {tuple(mask.shape)}")


def load_balancing_loss(probs: Array, first_choice: Array, mask: Array | None = None) -> Array:
  """``E · Σ_e f_e P_e`` over the counted tokens (see the module docstring).

  Args:
    probs: [..., E] router probabilities (rows sum to one).
    first_choice: [...] int, each token's first-choice expert (-1: counted in no ``f_e``).
    mask: [...] bool or None (all tokens): True = count the token. Masked rows may hold NaN.
  Returns:
    [] float32 (float64 for float64 probs); 0 if no token is counted. Differentiable in ``probs``
    (``f`` is a count: no derivative flows through ``first_choice``).
  """
  if not hasattr(probs, "shape") or probs.ndim < 1 or not jnp.issubdtype(probs.dtype, jnp.floating):
    raise TypeError(f"probs: expected a floating array [..., E], got {getattr(probs, 'dtype', type(probs))}")
  if not hasattr(first_choice, "shape") or tuple(first_choice.shape) != tuple(probs.shape[:-1]):
    raise ValueError(f"first_choice: expected shape {tuple(probs.shape[:-1])}, "
                     f"got {tuple(getattr(first_choice, 'shape', ()))}")
  if not jnp.issubdtype(first_choice.dtype, jnp.integer):
    raise TypeError(f"load_balancing_loss: first_choice: expected an integer dtype, got {first_choice.dtype}")
  _check_mask(mask, tuple(probs.shape[:-1]), "load_balancing_loss")
  e = probs.shape[-1]
  ct = jnp.promote_types(probs.dtype, jnp.float32)
  p = probs.reshape(-1, e).astype(ct)
  onehot = jax.nn.one_hot(first_choice.reshape(-1), e, dtype=ct)
  if mask is None:
    return e * jnp.sum(jnp.mean(onehot, axis=0) * jnp.mean(p, axis=0))
  m = mask.reshape(-1, 1)
  n = jnp.maximum(jnp.sum(m), 1).astype(ct)
  f = jnp.sum(jnp.where(m, onehot, 0), axis=0) / n
  return e * jnp.sum(f * (jnp.sum(jnp.where(m, p, 0), axis=0) / n))


def router_z_loss(logits: Array, mask: Array | None = None) -> Array:
  """``mean over the counted tokens of logsumexp(logits)²``; logits: [..., E] -> [] (float32 or wider).

  mask: [...] bool or None (all tokens): True = count the token; masked rows may hold NaN. 0 if no
  token is counted.
  """
  if not hasattr(logits, "shape") or logits.ndim < 1 or not jnp.issubdtype(logits.dtype, jnp.floating):
    raise TypeError(f"logits: expected a floating array [..., E], got {getattr(logits, 'dtype', type(logits))}")
  _check_mask(mask, tuple(logits.shape[:-1]), "router_z_loss")
  lg = logits.astype(jnp.promote_types(logits.dtype, jnp.float32))
  if mask is None:
    return jnp.mean(jnp.square(jax.nn.logsumexp(lg, axis=-1)))
  z = jax.nn.logsumexp(jnp.where(mask[..., None], lg, 0), axis=-1)
  n = jnp.maximum(jnp.sum(mask), 1).astype(lg.dtype)
  return jnp.sum(jnp.where(mask, jnp.square(z), 0)) / n
