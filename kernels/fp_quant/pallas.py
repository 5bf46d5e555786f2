"""The quantiser as Pallas kernels (Triton on GPU, Mosaic on TPU, the interpreter on CPU).

Both kernels run the element rule of :func:`kernels.fp_quant.xla.quantize_elements` (the same jnp code, on
tiles), so in interpret mode they equal the XLA form bit for bit:

* :func:`quantize_rows_pallas` — ``x: [R, K]`` quantised in blocks of ``B`` along the last axis; grid
  ``(R / block_rows, K / B)``, one ``[block_rows, B]`` tile per program: absmax over the tile's rows, the
  float32 scale ``absmax / max``, quantise, multiply back.
* :func:`quantize_scaled_pallas` — one given scale for the whole array (tensor-wise scaling: the absmax is a
  global reduction, done by XLA before the kernel); grid over ``[block_rows, tile_cols]`` tiles.

Rows (and, for the tensor-wise kernel, columns) are zero-padded to whole tiles and the padding cut off.
On Triton every block dimension must be a power of two: per-block ``B`` is (16, 64, 256 ...), a channel-wise
block is the whole row, so its length must be one too (the interpreter takes any length).
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax.experimental import pallas as pl

from kernels.fp_quant import config as cfg_lib
from kernels.fp_quant.formats import FPFormat
from kernels.fp_quant.xla import block_scale, quantize_elements

__all__ = ["quantize_rows_pallas", "quantize_scaled_pallas"]


def _compiler_params(interpret: bool, ndims: int, cfg: cfg_lib.FPQuantKernelConfig):
  if interpret:
    return None
  plat = jax.default_backend()
  if plat == "gpu":
    from jax.experimental.pallas import triton as pltriton
    return pltriton.CompilerParams(num_warps=cfg.num_warps, num_stages=1)
  if plat == "tpu":
    from jax.experimental.pallas import tpu as pltpu
    return pltpu.CompilerParams(dimension_semantics=("parallel",) * ndims)
  raise ValueError(f"quantize (impl='pallas'): interpret: expected True on backend {plat!r} (Pallas compiles for "
                   "GPU/TPU only)")


def _pad_to(x, axis, mult):
  n = x.shape[axis]
  r = (-n) % mult
  if r == 0:
    return x
  pads = [(0, 0)] * x.ndim
  pads[axis] = (0, r)
  return jnp.pad(x, pads)


def _rows_kernel(x_ref, o_ref, *, fmt: FPFormat):
  x = x_ref[...].astype(jnp.float32)
  s = block_scale(jnp.max(jnp.abs(x), axis=1, keepdims=True), fmt.params())
  o_ref[...] = (quantize_elements(x / s, fmt.params()) * s).astype(o_ref.dtype)


def quantize_rows_pallas(x: jax.Array, fmt: FPFormat, block: int, *, interpret: bool,
                         cfg: cfg_lib.FPQuantKernelConfig = cfg_lib.DEFAULT) -> jax.Array:
  """Blocks of ``block`` along the last axis of ``x: [R, K]`` (``K % block == 0``) -> ``[R, K]``, x's dtype."""
  r, k = x.shape
  br = min(cfg.block_rows, 1 << max(0, (r - 1).bit_length()))
  xp = _pad_to(x, 0, br)
  rp = xp.shape[0]
  out = pl.pallas_call(
      functools.partial(_rows_kernel, fmt=fmt),
      out_shape=jax.ShapeDtypeStruct((rp, k), x.dtype),
      grid=(rp // br, k // block),
      in_specs=[pl.BlockSpec((br, block), lambda i, j: (i, j))],
      out_specs=pl.BlockSpec((br, block), lambda i, j: (i, j)),
      interpret=interpret, compiler_params=_compiler_params(interpret, 2, cfg), name="fp_quant_rows",
  )(xp)
  return out[:r]


def _scaled_kernel(s_ref, x_ref, o_ref, *, fmt: FPFormat):
  s = s_ref[...]
  x = x_ref[...].astype(jnp.float32)
  o_ref[...] = (quantize_elements(x / s, fmt.params()) * s).astype(o_ref.dtype)


def quantize_scaled_pallas(x: jax.Array, scale: jax.Array, fmt: FPFormat, *, interpret: bool,
                           cfg: cfg_lib.FPQuantKernelConfig = cfg_lib.DEFAULT) -> jax.Array:
  """Quantises ``x: [R, K]`` with one float32 ``scale`` (shape ``[1, 1]``) -> ``[R, K]``, x's dtype."""
  r, k = x.shape
  br = min(cfg.block_rows, 1 << max(0, (r - 1).bit_length()))
  bc = min(cfg.tile_cols, 1 << max(0, (k - 1).bit_length()))
  xp = _pad_to(_pad_to(x, 0, br), 1, bc)
  rp, kp = xp.shape
  out = pl.pallas_call(
      functools.partial(_scaled_kernel, fmt=fmt),
      out_shape=jax.ShapeDtypeStruct((rp, kp), x.dtype),
      grid=(rp // br, kp // bc),
      in_specs=[pl.BlockSpec((1, 1), lambda i, j: (0, 0)), pl.BlockSpec((br, bc), lambda i, j: (i, j))],
      out_specs=pl.BlockSpec((br, bc), lambda i, j: (i, j)),
      interpret=interpret, compiler_params=_compiler_params(interpret, 2, cfg), name="fp_quant_scaled",
  )(scale.reshape(1, 1).astype(jnp.float32), xp)
  return out[:r, :k]
