"""Flax layers with floating-point-quantised GEMMs (paper 32: Sun et al., "Scaling Laws for Floating-Point
Quantization Training", ICML 2025, arXiv:2501.02423).

``QuantDense`` is ``nn.Dense`` whose matmul runs through :func:`kernels.fp_quant.qmatmul`: the operands named
in ``targets`` (P1–P6: forward x and w, the input-gradient GEMM's dy and w, the weight-gradient GEMM's x and
dy) are fake-quantised to an ExMy format with absmax scaling per block of ``block_size`` along each GEMM's
contraction dimension. Master weights, bias, accumulation and the loss stay float32. The format is static
(``fmt``) or passed at call time as :class:`kernels.fp_quant.FormatParams` (possibly traced: a vmap over
formats trains several precisions in one program).

``QuantMLP`` is the toy model of the reproduction: input -> QuantDense(hidden) -> GELU -> Dense(out), the
hidden layer's GEMMs quantised, the readout (the "LM head") in full precision unless ``quantize_head``.
"""
from __future__ import annotations

from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from kernels.fp_quant import TARGETS, FormatParams, qmatmul

__all__ = ["QuantDense", "QuantMLP"]


class QuantDense(nn.Module):
  """A dense layer ``y = Q(x) @ Q(W) + b`` with quantised forward and backward GEMM operands.

  Attributes:
    features: output width.
    fmt: an FPFormat / name like ``"E4M3"`` / ``(E, M)``; None = full precision (unless ``qparams`` is given).
    block_size: B, ``"channel"`` or ``"tensor"`` along each contraction dimension.
    targets: which of P1–P6 are quantised (``kernels.fp_quant.TARGETS``).
    backward: ``"quantized"`` or ``"ste"`` (see :func:`kernels.fp_quant.qmatmul`).
    pad: zero-pad the last block when B does not divide a contraction length (default True: batch sizes vary).
    impl: the quantiser's implementation (``"xla"`` is used whenever ``qparams`` is given).
  Call: ``x: [..., K]``, optional ``qparams: FormatParams`` -> ``[..., features]`` float32.
  """
  features: int
  fmt: Any = None
  block_size: Any = "channel"
  targets: tuple = TARGETS
  backward: str = "quantized"
  pad: bool = True
  use_bias: bool = True
  impl: str = "auto"
  param_dtype: Any = jnp.float32
  kernel_init: Callable = nn.initializers.lecun_normal()
  bias_init: Callable = nn.initializers.zeros

  @nn.compact
  def __call__(self, x: jax.Array, qparams: FormatParams | None = None) -> jax.Array:
    if isinstance(self.features, bool) or not isinstance(self.features, int) or self.features < 1:
      raise ValueError(f"QuantDense: features: expected a positive int, got {self.features!r}")
    if not hasattr(x, "shape") or x.ndim < 1:
      raise ValueError(f"QuantDense: x: expected an array [..., K], got {type(x).__name__}")
    if qparams is not None and not isinstance(qparams, FormatParams):
      raise TypeError(f"QuantDense: qparams: expected None or a FormatParams, got {type(qparams).__name__}")
    kernel = self.param("kernel", self.kernel_init, (x.shape[-1], self.features), self.param_dtype)
    fmt, impl = (qparams, "xla") if qparams is not None else (self.fmt, self.impl)
    if fmt is None:
      y = jnp.dot(x.astype(jnp.float32), kernel, precision=jax.lax.Precision.HIGHEST)
    else:
      y = qmatmul(x, kernel, fmt, block_size=self.block_size, targets=self.targets, backward=self.backward,
                  pad=self.pad, impl=impl)
    if self.use_bias:
      y = y + self.param("bias", self.bias_init, (self.features,), self.param_dtype)
    return y


class QuantMLP(nn.Module):
  """``x -> QuantDense(hidden) -> GELU -> Dense(out)``: the toy model of the quantised-training sweep.

  Call: ``x: [B, d_in]``, optional ``qparams``, optional ``hidden_mask: [hidden]`` (1 = live unit) ->
  logits ``[B, out]`` float32. A 0/1 mask, with the masked units' weights zero, makes this exactly the
  narrower network (its gradients vanish on masked units; zero columns leave every block absmax unchanged), so
  several widths train in one vmapped program.
  """
  hidden: int
  out: int
  fmt: Any = None
  block_size: Any = "channel"
  targets: tuple = TARGETS
  backward: str = "quantized"
  quantize_head: bool = False
  impl: str = "auto"

  @nn.compact
  def __call__(self, x: jax.Array, qparams: FormatParams | None = None,
               hidden_mask: jax.Array | None = None) -> jax.Array:
    kw = dict(fmt=self.fmt, block_size=self.block_size, targets=self.targets, backward=self.backward,
              impl=self.impl)
    h = nn.gelu(QuantDense(self.hidden, name="hidden", **kw)(x, qparams))
    if hidden_mask is not None:
      h = h * hidden_mask
    if self.quantize_head:
      return QuantDense(self.out, name="head", **kw)(h, qparams)
    return QuantDense(self.out, name="head")(h)
