"""Experts of a mixture of experts, with parameters stacked on a leading expert axis.

* :class:`LinearExperts`: ``h_e(x) = A_e x + b_e`` — the linear (Gaussian-mean) experts of both papers
  (Nguyen et al., arXiv:2401.13875 and arXiv:2309.13850: ``N(y; a_iᵀx + b_i, ν_i)``; here the mean).
* :class:`MLPExperts`: ``h_e(x) = W2_e φ(W1_e x + c1_e) + c2_e``, the feed-forward expert of sparse
  Transformer MoE layers (Switch Transformer, GShard).

Both take expert-major inputs ``x: [E, N, D]`` (N tokens in each expert's buffer) and apply all experts
at once with one einsum (no Python loop over experts). Each expert's kernel is initialised
independently (variance scaling with the expert axis as a batch axis), biases at zero.
"""
from __future__ import annotations

from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

Array = jax.Array
Dtype = Any

__all__ = ["EXPERT_ACTIVATIONS", "LinearExperts", "MLPExperts"]

EXPERT_ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "gelu": jax.nn.gelu,
    "relu": jax.nn.relu,
    "silu": jax.nn.silu,
    "tanh": jnp.tanh,
}


def _kernel_init() -> nn.initializers.Initializer:
  return nn.initializers.variance_scaling(1.0, "fan_in", "truncated_normal", in_axis=-2, out_axis=-1,
                                          batch_axis=(0,))


def _check_x(x: Any, num_experts: int) -> None:
  if not hasattr(x, "shape") or not hasattr(x, "dtype"):
    raise TypeError(f"x: expected an array, got {type(x).__name__}")
  if x.ndim != 3 or x.shape[0] != num_experts:
    raise ValueError(f"x: expected shape [E={num_experts}, N, D], got {tuple(x.shape)}")
  if not jnp.issubdtype(x.dtype, jnp.floating):
    raise TypeError(f"x: expected a floating dtype, got {x.dtype}")


def _check_pos(v: Any, name: str, optional: bool = False) -> None:
  if optional and v is None:
    return
  if not isinstance(v, int) or isinstance(v, bool) or v < 1:
    raise ValueError(f"{name}: expected a positive int{' or None' if optional else ''}, got {v!r}")


class LinearExperts(nn.Module):
  """E affine experts. Parameters ``kernel: [E, D, O]``, ``bias: [E, O]``.

  Attributes:
    num_experts: E.
    features: O (None: D, the input width).
    use_bias: include ``b_e``.
    dtype: compute dtype (None: the input's); param_dtype: parameter dtype.
  """
  num_experts: int
  features: int | None = None
  use_bias: bool = True
  dtype: Dtype | None = None
  param_dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x: Array) -> Array:
    """x: [E, N, D] -> [E, N, O]; expert e is applied to row ``x[e]``."""
    _check_pos(self.num_experts, "num_experts")
    _check_pos(self.features, "features", optional=True)
    _check_x(x, self.num_experts)
    d = x.shape[-1]
    o = self.features or d
    dt = self.dtype or x.dtype
    kernel = self.param("kernel", _kernel_init(), (self.num_experts, d, o), self.param_dtype)
    y = jnp.einsum("end,edo->eno", x.astype(dt), kernel.astype(dt))
    if self.use_bias:
      y = y + self.param("bias", nn.initializers.zeros, (self.num_experts, o), self.param_dtype
                         ).astype(dt)[:, None, :]
    return y


class MLPExperts(nn.Module):
  """E two-layer MLP experts. Parameters ``wi: [E, D, H]``, ``bi: [E, H]``, ``wo: [E, H, O]``, ``bo: [E, O]``.

  Attributes:
    num_experts: E.
    hidden_features: H (None: 4 D).
    features: O (None: D).
    activation: φ, a key of :data:`EXPERT_ACTIVATIONS`.
    use_bias: include the biases.
    dtype: compute dtype (None: the input's); param_dtype: parameter dtype.
  """
  num_experts: int
  hidden_features: int | None = None
  features: int | None = None
  activation: str = "gelu"
  use_bias: bool = True
  dtype: Dtype | None = None
  param_dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x: Array) -> Array:
    """x: [E, N, D] -> [E, N, O]; expert e is applied to row ``x[e]``."""
    _check_pos(self.num_experts, "num_experts")
    _check_pos(self.hidden_features, "hidden_features", optional=True)
    _check_pos(self.features, "features", optional=True)
    if self.activation not in EXPERT_ACTIVATIONS:
      raise ValueError(f"activation: expected one of {tuple(EXPERT_ACTIVATIONS)}, got {self.activation!r}")
    _check_x(x, self.num_experts)
    e, d = self.num_experts, x.shape[-1]
    h = self.hidden_features or 4 * d
    o = self.features or d
    dt = self.dtype or x.dtype
    wi = self.param("wi", _kernel_init(), (e, d, h), self.param_dtype)
    wo = self.param("wo", _kernel_init(), (e, h, o), self.param_dtype)
    z = jnp.einsum("end,edh->enh", x.astype(dt), wi.astype(dt))
    if self.use_bias:
      z = z + self.param("bi", nn.initializers.zeros, (e, h), self.param_dtype).astype(dt)[:, None, :]
    z = EXPERT_ACTIVATIONS[self.activation](z)
    y = jnp.einsum("enh,eho->eno", z, wo.astype(dt))
    if self.use_bias:
      y = y + self.param("bo", nn.initializers.zeros, (e, o), self.param_dtype).astype(dt)[:, None, :]
    return y
