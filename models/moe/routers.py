"""Gates and routers of a mixture of experts: dense softmax, top-K sparse softmax, dense-to-sparse.

* Dense softmax gate: ``g(x) = softmax(W x + b)``.
* Top-K sparse softmax gate (Nguyen, Akbarian, Yan, Ho, "Statistical Perspective of Top-K Sparse
  Softmax Gating Mixture of Experts", ICLR 2024, arXiv:2309.13850, the gate of their Eq. (1); Shazeer
  et al. 2017): ``g(x) = softmax(TopK(W x + b, K))``, i.e. the softmax over the K selected logits and
  exactly zero for the others.
* Dense-to-sparse (DTS) gate with a learnable temperature (Nguyen, Akbarian, Ho, "Is Temperature Sample
  Efficient for Softmax Gaussian Mixture of Experts?", ICML 2024, arXiv:2401.13875, the linear DTS
  gate; Nie et al. 2021): ``g(x) = softmax(W x / τ + b)``.
* Activation DTS gate (same paper, its proposed remedy): ``g(x) = softmax(σ(W x) / τ + b)`` with a
  nonlinearity σ (``tanh`` by default).

The bias ``b`` (the papers' β₀) sits outside the temperature and the activation, as in the papers.
For top-K the selection ranks the full logits ``W x + b`` (bias included) — the practice of sparse MoE
layers; the top-K paper ranks ``W x`` alone and adds ``b`` after (a documented deviation, see README).
Either temperature gate may also be made sparse by selecting its top K tempered logits.

Functional forms (:func:`gate_logits`, :func:`select_top_k`, :func:`dense_gates`) take arrays; the
Flax module :class:`Router` owns the parameters and returns a :class:`RouterOutput`.
Router arithmetic runs in ``promote(x.dtype, float32)`` (float32 for bf16/f32 inputs, float64 under
x64), the dtype contract's "softmax in float32".

**Non-finite tokens are dropped, not routed.** A token whose input row holds a NaN or ±inf, or whose
logits are not all finite (an overflow), is *dropped*: ``RouterOutput.valid`` is False, its ``index``
is ``-1`` (no expert: it takes no capacity slot in :func:`models.moe.routing.route`) and its ``gates``
are 0; its ``logits`` and ``probs`` are reported as NaN (the router could not score it). Every other
token's outputs are bitwise those of the same batch without it. The cost is two ``jnp.where`` (on the
router input and on the logits), not a second pass: the dropped token's input is replaced by 0 before
the matmul, so the parameter gradients stay finite (for a non-finite *input*; a finite input whose
logits overflow is dropped in the forward pass, but its gradient through τ may be NaN).
:func:`select_top_k` applies the same rule to rows of logits with a non-finite entry.
"""
from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

import numpy as np

from kernels.common.checks import check_in_range

Array = jax.Array
Dtype = Any

__all__ = ["ACTIVATIONS", "GATES", "Router", "RouterOutput", "dense_gates", "gate_logits", "select_top_k"]

GATES = ("softmax", "topk", "temperature", "activation_temperature")

# σ for the activation DTS gate. "identity" reduces it to the linear temperature gate; ReLU (and every
# positively homogeneous σ) keeps the (W, τ) -> (cW, cτ) symmetry the paper's remedy is meant to break.
ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "tanh": jnp.tanh,
    "sigmoid": jax.nn.sigmoid,
    "gelu": jax.nn.gelu,
    "relu": jax.nn.relu,
    "identity": lambda z: z,
}


class RouterOutput(NamedTuple):
  """What a router computed for each token (``...`` = the token dims, e.g. ``[B, L]``).

  Attributes:
    logits: [..., E] the softmax arguments (after activation, temperature and bias).
    probs: [..., E] the dense softmax of ``logits`` (what the load-balancing loss averages).
    index: [..., K] int32 selected experts, in descending logit order (index[..., 0] = argmax);
      -1 for a dropped (non-finite) token.
    gates: [..., K] combine weights of the selected experts: softmax over the K selected logits
      (sums to one; for K = E it is the dense softmax, permuted by ``index``); 0 for a dropped token.
    temperature: [] τ (1 for the gates without a temperature).
    valid: [...] bool, False for a token dropped because its input or logits are not finite (its
      ``logits`` and ``probs`` are NaN, ``index`` -1, ``gates`` 0; see the module docstring).
  """
  logits: Array
  probs: Array
  index: Array
  gates: Array
  temperature: Array
  valid: Array


def _check_array(x: Any, name: str, min_ndim: int = 1) -> None:
  if not hasattr(x, "shape") or not hasattr(x, "dtype"):
    raise TypeError(f"{name}: expected an array, got {type(x).__name__}")
  if x.ndim < min_ndim:
    raise ValueError(f"{name}: expected at least {min_ndim} dims, got shape {tuple(x.shape)}")


def _check_float(x: Any, name: str, min_ndim: int = 1) -> None:
  _check_array(x, name, min_ndim)
  if not jnp.issubdtype(x.dtype, jnp.floating):
    raise TypeError(f"{name}: expected a floating dtype, got {x.dtype}")


def gate_logits(scores: Array, bias: Array | None = None, *, temperature: Array | float | None = None,
                activation: str | None = None) -> Array:
  """The softmax arguments ``σ(scores) / τ + bias`` (each part optional).

  Args:
    scores: [..., E] linear scores ``W x``.
    bias: [E] or None.
    temperature: τ > 0 (a scalar, checked when it is a Python number; an array is not checked) or None
      (no division).
    activation: a key of :data:`ACTIVATIONS` or None (no activation).
  Returns:
    [..., E] logits, in ``scores``' dtype.
  """
  _check_float(scores, "scores")
  if isinstance(temperature, (bool, np.bool_)) or (
      isinstance(temperature, (int, float, np.number)) and not temperature > 0):
    raise ValueError(f"gate_logits: temperature: expected a positive scalar or None, got {temperature!r}")
  z = scores
  if activation is not None:
    if activation not in ACTIVATIONS:
      raise ValueError(f"activation: expected one of {tuple(ACTIVATIONS)}, got {activation!r}")
    z = ACTIVATIONS[activation](z)
  if temperature is not None:
    z = z / jnp.asarray(temperature, z.dtype)
  if bias is not None:
    if tuple(jnp.shape(bias)) != (scores.shape[-1],):
      raise ValueError(f"bias: expected shape ({scores.shape[-1]},) = [E], got {tuple(jnp.shape(bias))}")
    z = z + jnp.asarray(bias, z.dtype)
  return z


def select_top_k(logits: Array, k: int) -> tuple[Array, Array]:
  """Top-K sparse softmax: the K largest logits and the softmax over them.

  A row with a non-finite logit (NaN, ±inf) is dropped: its index is -1 and its gates 0 (and no NaN
  reaches the other rows or the gradient). ``index`` is an integer selection: it has no derivative;
  ``gates`` are differentiable in the selected logits.

  Args:
    logits: [..., E] floating.
    k: number of selected experts, 1 <= k <= E.
  Returns:
    (gates [..., K] (sum to one, descending), index [..., K] int32). Ties go to the lower expert index.
  """
  _check_float(logits, "logits")
  e = logits.shape[-1]
  if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= e:
    raise ValueError(f"k: expected an int in [1, {e}] (the number of experts), got {k!r}")
  valid = jnp.all(jnp.isfinite(logits), axis=-1, keepdims=True)
  vals, index = jax.lax.top_k(jnp.where(valid, logits, 0), k)
  gates = jnp.where(valid, jax.nn.softmax(vals, axis=-1), 0)
  return gates, jnp.where(valid, index, -1).astype(jnp.int32)


def dense_gates(gates: Array, index: Array, num_experts: int) -> Array:
  """Scatter per-choice gates back to a dense ``[..., E]`` weight matrix (zero for unselected experts).

  Args:
    gates: [..., K] weights; index: [..., K] int expert ids in [-1, E) (distinct along K; -1, a dropped
      token's "no expert", contributes nothing). Checked when concrete; under jit an id outside
      [-1, E) also contributes nothing (``checkify`` reports it).
    num_experts: E.
  Returns:
    [..., E] in ``gates``' dtype.
  """
  _check_float(gates, "gates")
  _check_array(index, "index")
  if not jnp.issubdtype(index.dtype, jnp.integer):
    raise TypeError(f"dense_gates: index: expected an integer dtype, got {index.dtype}")
  if tuple(index.shape) != tuple(gates.shape):
    raise ValueError(f"index: expected the shape of gates {tuple(gates.shape)}, got {tuple(index.shape)}")
  if not isinstance(num_experts, int) or isinstance(num_experts, bool) or num_experts < 1:
    raise ValueError(f"dense_gates: num_experts: expected a positive int, got {num_experts!r}")
  check_in_range(index, "index", "dense_gates", -1, num_experts)
  onehot = jax.nn.one_hot(index, num_experts, dtype=gates.dtype)          # [..., K, E]
  return jnp.einsum("...k,...ke->...e", gates, onehot)


class Router(nn.Module):
  """A learned gate over ``num_experts`` experts; returns a :class:`RouterOutput`.

  Parameters: ``kernel: [D, E]`` (W, truncated normal with variance ``0.1 / D``, the Switch
  Transformer's small router init), ``bias: [E]`` (b, zeros; absent if ``use_bias=False``), and for
  the temperature gates a scalar ``log_temperature`` (τ = exp(log τ) > 0, initialised at
  ``log(init_temperature)``). No randomness (RNG stream ``params`` only).

  Attributes:
    num_experts: E.
    gate: one of :data:`GATES`.
    num_selected: K. None: all E experts (dense). Required for ``"topk"``; must be None or E for
      ``"softmax"``; optional for the temperature gates (top-K of the tempered logits).
    activation: σ of ``"activation_temperature"`` (a key of :data:`ACTIVATIONS`).
    init_temperature: initial τ of the temperature gates.
    learn_temperature: if False, τ stays ``init_temperature`` (no parameter).
    use_bias: include b.
    param_dtype: parameter dtype.
  """
  num_experts: int
  gate: str = "topk"
  num_selected: int | None = 2
  activation: str = "tanh"
  init_temperature: float = 1.0
  learn_temperature: bool = True
  use_bias: bool = True
  param_dtype: Dtype = jnp.float32

  def resolved_k(self) -> int:
    """The number of selected experts K after validating the fields."""
    e = self.num_experts
    if not isinstance(e, int) or isinstance(e, bool) or e < 1:
      raise ValueError(f"num_experts: expected a positive int, got {e!r}")
    if self.gate not in GATES:
      raise ValueError(f"gate: expected one of {GATES}, got {self.gate!r}")
    k = self.num_selected
    if k is not None and (not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= e):
      raise ValueError(f"num_selected: expected None or an int in [1, {e}] (num_experts), got {k!r}")
    if self.gate == "topk" and k is None:
      raise ValueError("num_selected: the 'topk' gate needs an int K in [1, num_experts], got None")
    if self.gate == "softmax" and k not in (None, e):
      raise ValueError(f"num_selected: the dense 'softmax' gate selects all {e} experts; expected None "
                       f"or {e}, got {k!r} (use gate='topk' for a sparse gate)")
    if self.gate == "activation_temperature" and self.activation not in ACTIVATIONS:
      raise ValueError(f"activation: expected one of {tuple(ACTIVATIONS)}, got {self.activation!r}")
    if self.gate in ("temperature", "activation_temperature"):
      t = self.init_temperature
      if not isinstance(t, (int, float)) or isinstance(t, bool) or not t > 0:
        raise ValueError(f"init_temperature: expected a positive float, got {t!r}")
    return e if k is None else k

  @nn.compact
  def __call__(self, x: Array) -> RouterOutput:
    """x: [..., D] tokens -> :class:`RouterOutput` with token dims ``...``."""
    _check_float(x, "x")
    k = self.resolved_k()
    e = self.num_experts
    ct = jnp.promote_types(x.dtype, jnp.float32)
    kernel = self.param("kernel", nn.initializers.variance_scaling(0.1, "fan_in", "truncated_normal"),
                        (x.shape[-1], e), self.param_dtype)
    bias = self.param("bias", nn.initializers.zeros, (e,), self.param_dtype) if self.use_bias else None
    finite_x = jnp.all(jnp.isfinite(x), axis=-1)                         # [...]: a NaN token is dropped
    xs = jnp.where(finite_x[..., None], x, 0).astype(ct)                  # (0 keeps the gradients finite)
    scores = jnp.einsum("...d,de->...e", xs, kernel.astype(ct), precision=jax.lax.Precision.HIGHEST)
    temperature = jnp.ones((), ct)
    activation = None
    if self.gate in ("temperature", "activation_temperature"):
      init = math.log(self.init_temperature)
      if self.learn_temperature:
        log_t = self.param("log_temperature", nn.initializers.constant(init), (), self.param_dtype)
        temperature = jnp.exp(log_t.astype(ct))
      else:
        temperature = jnp.asarray(self.init_temperature, ct)
      if self.gate == "activation_temperature":
        activation = self.activation
    logits = gate_logits(scores, None if bias is None else bias.astype(ct),
                         temperature=None if self.gate in ("softmax", "topk") else temperature,
                         activation=activation)
    valid = finite_x & jnp.all(jnp.isfinite(logits), axis=-1)
    safe = jnp.where(valid[..., None], logits, 0)
    nan = jnp.asarray(jnp.nan, logits.dtype)
    probs = jnp.where(valid[..., None], jax.nn.softmax(safe, axis=-1), nan)
    logits = jnp.where(valid[..., None], logits, nan)
    gates, index = select_top_k(logits, k)          # a NaN row: index -1, gates 0
    return RouterOutput(logits=logits, probs=probs, index=index, gates=gates, temperature=temperature,
                        valid=valid)
