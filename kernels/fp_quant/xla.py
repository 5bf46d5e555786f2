"""The portable jnp quantiser (the CPU default): round-to-nearest-even onto an ExMy grid, block absmax scaling.

Element rule (``quantize_elements``), for a float32 ``y`` and a format ``(M, e_min, e_max, max)``:

  e = clip(floor(log2 |y|), e_min, e_max)       (read from the float32 exponent field)
  q = round_half_even(y · 2^(M - e)) · 2^(e - M),   then clip to [-max, max]

Every step is exact in float32 (powers of two are built from exponent bits and applied in two halves so
that no factor leaves float32's normal range), so the result is the format value nearest to ``y``, ties to
the even code, saturating at ``±max``. Limits, all documented in the package README: float32 subnormals
are flushed to zero by XLA on CPU (only formats with ``E = 8`` have grid points there); ``inf`` saturates
to ``±max``; NaN stays NaN.

Block scaling (``quantize_blocks``) splits the quantised axis into blocks of ``B`` elements, takes
``s = absmax(block) · float32(1 / max)`` in float32 (``s = 1`` for an all-zero block), quantises ``x / s``
and returns ``q · s``: each block's absmax element lands on ``±max · s``. The scale is a product, not a
quotient, because XLA rewrites division by a constant into a multiplication and its CPU float32 division is
not correctly rounded (``x / s`` may be 1 ulp off the IEEE quotient; the quantised value changes only when
that ulp straddles a rounding midpoint).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from kernels.fp_quant.formats import FormatParams

__all__ = ["UNSCALED_ABOVE", "block_scale", "quantize_elements", "quantize_blocks", "pow2"]


def pow2(k: jax.Array) -> jax.Array:
  """``2^k`` in float32 for int32 ``k`` in [-126, 127], built from the exponent bits (exact)."""
  return lax.bitcast_convert_type((k + 127) << 23, jnp.float32)


def _mul_pow2(x: jax.Array, k: jax.Array) -> jax.Array:
  """``x · 2^k`` for int32 ``k`` in [-252, 254], as two exact power-of-two factors."""
  k1 = k // 2
  return (x * pow2(k1)) * pow2(k - k1)


def quantize_elements(y: jax.Array, p: FormatParams) -> jax.Array:
  """Nearest value of the format ``p`` to each float32 ``y`` (round half to even, saturating)."""
  y = y.astype(jnp.float32)
  m = jnp.asarray(p.man_bits, jnp.int32)
  e_min = jnp.asarray(p.e_min, jnp.int32)
  e_max = jnp.asarray(p.e_max, jnp.int32)
  maxv = jnp.asarray(p.max_value, jnp.float32)
  field = (lax.bitcast_convert_type(y, jnp.int32) >> 23) & 0xFF
  e = jnp.clip(field - 127, e_min, e_max)
  t = _mul_pow2(y, m - e)
  r = jnp.round(t)                             # jnp.round: half to even, = the even code when M >= 1
  # M = 0: a tie between 2^e and 2^(e+1) goes to the even code, i.e. the even exponent field e + 1 - e_min
  tie = (m == 0) & (jnp.abs(t) == 1.5)
  odd_field = ((e + 1 - e_min) & 1) == 1
  r = jnp.where(tie, jnp.sign(t) * jnp.where(odd_field, jnp.float32(2), jnp.float32(1)), r)
  q = _mul_pow2(r, e - m)
  return jnp.clip(q, -maxv, maxv)


UNSCALED_ABOVE = 2.0 ** 64   # formats with max beyond this (E >= 8) are applied without a scale


def block_scale(amax: jax.Array, p: FormatParams) -> jax.Array:
  """``s = amax · float32(1 / max)`` (a product, exactly rounded on every backend; ``1 / max`` is rounded once
  from float64 where ``max`` is static), ``s = 1`` where ``amax == 0`` and for formats with
  ``max > UNSCALED_ABOVE`` (E = 8: they span float32's exponent range, their scale would be a float32
  subnormal, which XLA flushes to zero)."""
  if isinstance(p.max_value, (int, float)):
    if p.max_value > UNSCALED_ABOVE:
      return jnp.ones_like(amax)
    inv = jnp.float32(1.0 / float(p.max_value))
    wide = False
  else:
    maxv = jnp.asarray(p.max_value, jnp.float32)
    inv = jnp.float32(1) / jnp.minimum(maxv, jnp.float32(UNSCALED_ABOVE))
    wide = maxv > UNSCALED_ABOVE
  return jnp.where((amax > 0) & jnp.logical_not(wide), amax * inv, jnp.float32(1))


def _block_view(x: jax.Array, block, axis: int, pad: bool, fn: str):
  """Moves ``axis`` last and reshapes to ``[..., K / B, B]`` (zero-padding when ``pad``)."""
  xt = jnp.moveaxis(x, axis, -1)
  k = xt.shape[-1]
  b = k if block == "channel" else int(block)
  kp = -(-k // b) * b
  if kp != k:
    if not pad:   # api checks first; this guards direct calls
      raise ValueError(f"{fn}: block_size: expected a divisor of the quantised axis length {k}, got {b}")
    xt = jnp.pad(xt, [(0, 0)] * (xt.ndim - 1) + [(0, kp - k)])
  return xt.reshape(xt.shape[:-1] + (kp // b, b)), k


def quantize_blocks(x: jax.Array, p: FormatParams, block="channel", axis: int = -1, pad: bool = False) -> jax.Array:
  """Block-scaled fake quantisation of ``x`` along ``axis`` (``block``: an int B, ``"channel"`` or ``"tensor"``).

  ``p`` may hold traced arrays (vmap over formats); ``p.enabled == 0`` returns ``x`` unchanged. Computes in
  float32 and returns ``x``'s dtype.
  """
  dt = x.dtype
  xf = x.astype(jnp.float32)
  if block == "tensor":
    s = block_scale(jnp.max(jnp.abs(xf)), p)
    out = quantize_elements(xf / s, p) * s
  else:
    axis = axis % x.ndim
    xb, k = _block_view(xf, block, axis, pad, "quantize")
    s = block_scale(jnp.max(jnp.abs(xb), axis=-1, keepdims=True), p)
    qb = quantize_elements(xb / s, p) * s
    out = qb.reshape(qb.shape[:-2] + (-1,))[..., :k]
    out = jnp.moveaxis(out, -1, axis)
  out = jnp.where(jnp.asarray(p.enabled, jnp.float32) > 0, out, xf)
  return out.astype(dt)
