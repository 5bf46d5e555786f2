"""``MoEBlock``: a mixture-of-experts feed-forward layer for Transformers ([B, L, D] in and out).

Gates from Nguyen, Akbarian, Yan, Ho, "Statistical Perspective of Top-K Sparse Softmax Gating Mixture
of Experts", ICLR 2024, arXiv:2309.13850 (top-K sparse softmax, their Eq. (1)) and Nguyen, Akbarian,
Ho, "Is Temperature Sample Efficient for Softmax Gaussian Mixture of Experts?", ICML 2024,
arXiv:2401.13875 (dense-to-sparse gate with a learnable temperature and the activation dense-to-sparse
gate); routing with capacity as in GShard (arXiv:2006.16668) and the Switch Transformer
(arXiv:2101.03961). See :mod:`models.moe.routers` and :mod:`models.moe.routing` for the equations.

The block computes, per token x,

    y(x) = Σ_{k kept} g_k(x) · h_{i_k(x)}(x),

with the router's selected experts ``i_k`` and gates ``g_k`` (:class:`models.moe.routers.Router`), the
slots assigned by :func:`models.moe.routing.route`, and the experts of :mod:`models.moe.experts`.
Each batch row (sequence) is one routing group: capacity counts the L tokens of a row, so a row's
output never depends on the other rows of the batch.

Dispatch and combine are einsums with the one-hot ``[B, L, E, C]`` tensors (GShard's form), so all
experts run as one batched einsum on their ``[E, B·C, D]`` buffers.

**Non-finite tokens.** A one-hot einsum multiplies every token by the zeros of every other token's
slots, and ``0 · NaN = NaN``: one NaN token would poison its whole routing group. So a token whose
input row holds a NaN/±inf (or whose router logits are not finite) is *dropped* before dispatch
(``Router``'s rule, see :mod:`models.moe.routers`): its input is replaced by 0, it is routed to no
expert (index -1) and takes **no capacity slot**, and its output row is NaN (as a position-wise
feed-forward layer would give it). ``aux.valid[b, l]`` is False for it, ``aux.num_nonfinite`` counts
such tokens, and the two losses average over the valid tokens only (finite, with finite parameter
gradients). Capacity C is still computed from L (a static shape). Every other token's output, routing
and slot are therefore bitwise those of the same group with the token removed and the same C. Likewise
a routed token whose expert output is not finite (an overflow) gets a NaN output row without
reaching the others (expert outputs are masked before the combine einsum).
"""
from __future__ import annotations

from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from models.moe.experts import EXPERT_ACTIVATIONS, LinearExperts, MLPExperts
from models.moe.routers import Router
from models.moe.routing import PRIORITIES, expert_capacity, load_balancing_loss, route, router_z_loss

Array = jax.Array
Dtype = Any

__all__ = ["EXPERTS", "MoEAux", "MoEBlock"]

EXPERTS = ("mlp", "linear")


class MoEAux(NamedTuple):
  """Auxiliary outputs of :class:`MoEBlock` (B batch, L length, E experts, K selected).

  Attributes:
    router_logits: [B, L, E] the router's softmax arguments (float32 or wider).
    router_probs: [B, L, E] dense softmax probabilities of the router.
    expert_index: [B, L, K] int32 selected experts (descending logit).
    gates: [B, L, K] combine weights before capacity drops (softmax over the K selected logits).
    kept: [B, L, K] bool, the assignment got a slot (dropped ones contribute nothing).
    num_dropped: [] int32, (token, choice) assignments of valid tokens dropped for lack of capacity, in
      the whole batch.
    expert_load: [E] int32, slots used per expert, summed over the batch rows.
    capacity: [] int32, slots per expert per row, C.
    temperature: [] the router's τ (1 without a temperature).
    load_balancing_loss: [] ``E · Σ f_e P_e`` (first-choice fractions, see :mod:`models.moe.routing`).
    router_z_loss: [] ``mean logsumexp(logits)²``.
    aux_loss: [] ``load_balancing_weight · load_balancing_loss + z_loss_weight · router_z_loss``, to add
      to the training loss.
    valid: [B, L] bool, False for a token dropped because its input (or its router logits) is not
      finite: it was routed nowhere, its output row is NaN, its router logits/probs are NaN, its
      ``expert_index`` -1 and ``gates`` 0; the losses ignore it.
    num_nonfinite: [] int32, the number of such dropped tokens in the batch.
  """
  router_logits: Array
  router_probs: Array
  expert_index: Array
  gates: Array
  kept: Array
  num_dropped: Array
  expert_load: Array
  capacity: Array
  temperature: Array
  load_balancing_loss: Array
  router_z_loss: Array
  aux_loss: Array
  valid: Array
  num_nonfinite: Array


class MoEBlock(nn.Module):
  """Mixture-of-experts feed-forward block: ``x: [B, L, D] -> y: [B, L, D]`` (and a :class:`MoEAux`).

  Submodules: ``router`` (:class:`Router`) and ``experts`` (:class:`MLPExperts` or
  :class:`LinearExperts`). RNG streams: ``params`` only (routing is deterministic).

  Attributes:
    num_experts: E.
    gate: ``"softmax"`` (dense), ``"topk"``, ``"temperature"`` (linear DTS), ``"activation_temperature"``.
    num_selected: K (None: all experts; required for ``"topk"``).
    gate_activation: σ of the activation DTS gate.
    init_temperature: initial τ of the temperature gates; learn_temperature: τ is a parameter.
    expert: ``"mlp"`` or ``"linear"``.
    hidden_features: MLP expert width (None: 4 D).
    expert_activation: MLP expert nonlinearity.
    capacity_factor: slots per expert = ``ceil(capacity_factor · L · K / E)`` (None: L, no drops).
    min_capacity: lower bound on the slots per expert.
    priority: ``"position"`` or ``"score"``, the order in which tokens of one choice rank take slots.
    load_balancing_weight, z_loss_weight: weights of ``MoEAux.aux_loss`` (0 disables a term).
    return_aux: return ``(y, aux)``; if False return ``y`` alone (a drop-in feed-forward layer) and
      sow ``aux`` into ``("intermediates", "moe_aux")``.
    dtype: compute dtype of the experts (None: the input's); param_dtype: parameter dtype.
  """
  num_experts: int = 4
  gate: str = "topk"
  num_selected: int | None = 2
  gate_activation: str = "tanh"
  init_temperature: float = 1.0
  learn_temperature: bool = True
  expert: str = "mlp"
  hidden_features: int | None = None
  expert_activation: str = "gelu"
  capacity_factor: float | None = 1.25
  min_capacity: int = 1
  priority: str = "position"
  load_balancing_weight: float = 1e-2
  z_loss_weight: float = 0.0
  return_aux: bool = True
  dtype: Dtype | None = None
  param_dtype: Dtype = jnp.float32

  def _check_fields(self) -> None:
    if self.expert not in EXPERTS:
      raise ValueError(f"expert: expected one of {EXPERTS}, got {self.expert!r}")
    if self.expert == "mlp" and self.expert_activation not in EXPERT_ACTIVATIONS:
      raise ValueError(f"expert_activation: expected one of {tuple(EXPERT_ACTIVATIONS)}, "
                       f"got {self.expert_activation!r}")
    if self.priority not in PRIORITIES:
      raise ValueError(f"priority: expected one of {PRIORITIES}, got {self.priority!r}")
    for name in ("load_balancing_weight", "z_loss_weight"):
      v = getattr(self, name)
      if not isinstance(v, (int, float)) or isinstance(v, bool) or not v >= 0:
        raise ValueError(f"{name}: expected a float >= 0, got {v!r}")

  @nn.compact
  def __call__(self, x: Array) -> tuple[Array, MoEAux] | Array:
    """Applies the block.

    Args:
      x: [B, L, D] floating tokens.
    Returns:
      ``(y [B, L, D], aux)`` with ``aux`` a :class:`MoEAux`, or ``y`` alone if ``return_aux=False``.
    """
    if not hasattr(x, "shape") or not hasattr(x, "dtype"):
      raise TypeError(f"x: expected an array, got {type(x).__name__}")
    if x.ndim != 3:
      raise ValueError(f"x: expected shape [B, L, D], got {tuple(x.shape)}")
    if not jnp.issubdtype(x.dtype, jnp.floating):
      raise TypeError(f"x: expected a floating dtype, got {x.dtype}")
    self._check_fields()
    router = Router(num_experts=self.num_experts, gate=self.gate, num_selected=self.num_selected,
                    activation=self.gate_activation, init_temperature=self.init_temperature,
                    learn_temperature=self.learn_temperature, param_dtype=self.param_dtype, name="router")
    k = router.resolved_k()
    b, length, d = x.shape
    e = self.num_experts
    capacity = expert_capacity(length, k, e, self.capacity_factor, self.min_capacity)
    dt = self.dtype or x.dtype

    r = router(x)
    routing = jax.vmap(lambda i, g: route(i, g, e, capacity, self.priority))(r.index, r.gates)

    # A dropped (non-finite) token takes no slot; its input is zeroed too, since 0 · NaN = NaN in the
    # one-hot dispatch einsum would reach every slot of its row.
    xs = jnp.where(r.valid[..., None], x, 0).astype(dt)
    hi = jax.lax.Precision.HIGHEST  # one-hot gathers/scatters: keep them exact on accelerators
    buffers = jnp.einsum("blec,bld->ebcd", routing.dispatch.astype(dt), xs, precision=hi)
    if self.expert == "mlp":
      experts = MLPExperts(e, hidden_features=self.hidden_features, features=d,
                           activation=self.expert_activation, dtype=dt, param_dtype=self.param_dtype,
                           name="experts")
    else:
      experts = LinearExperts(e, features=d, dtype=dt, param_dtype=self.param_dtype, name="experts")
    out = experts(buffers.reshape(e, b * capacity, d)).reshape(e, b, capacity, d)
    # an overflowing expert output would leak the same way through the combine einsum (0 · inf): mask
    # it, and give the tokens that used such a slot a NaN row instead.
    finite_out = jnp.all(jnp.isfinite(out), axis=-1)                      # [E, B, C]
    out = jnp.where(finite_out[..., None], out, 0)
    y = jnp.einsum("blec,ebcd->bld", routing.combine.astype(dt), out, precision=hi)
    bad_slot = jnp.any(routing.dispatch & ~finite_out.transpose(1, 0, 2)[:, None], axis=(2, 3))  # [B, L]
    y = jnp.where((r.valid & ~bad_slot)[..., None], y, jnp.asarray(jnp.nan, y.dtype))

    lb = load_balancing_loss(r.probs, r.index[..., 0], mask=r.valid)
    z = router_z_loss(r.logits, mask=r.valid)
    aux = MoEAux(
        router_logits=r.logits, router_probs=r.probs, expert_index=r.index, gates=r.gates,
        kept=routing.kept, num_dropped=jnp.sum(routing.num_dropped).astype(jnp.int32),
        expert_load=jnp.sum(routing.expert_load, axis=0).astype(jnp.int32),
        capacity=jnp.asarray(capacity, jnp.int32), temperature=r.temperature,
        load_balancing_loss=lb, router_z_loss=z,
        aux_loss=self.load_balancing_weight * lb + self.z_loss_weight * z,
        valid=r.valid, num_nonfinite=jnp.sum(~r.valid).astype(jnp.int32))
    y = y.astype(dt)
    if self.return_aux:
      return y, aux
    self.sow("intermediates", "moe_aux", aux)
    return y
