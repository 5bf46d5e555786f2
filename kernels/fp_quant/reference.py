"""The oracle quantiser: numpy, float64, by enumerating the format's grid (no bit tricks).

:func:`grid` lists every non-negative value of a format by its codes (exponent field, mantissa field), in
code order, which is also increasing order; :func:`quantize_elements` rounds each value to the nearest grid
point by binary search, a tie going to the even code (an even code index = an even mantissa LSB), and
saturates at ``±max``. :func:`quantize_blocks` applies the block scaling with the same float32 scale rule as
``xla.py`` (``s = absmax · float32(1 / max)``, ``x / s`` in float32, IEEE division here), so the two agree bit for bit.

Grids up to ``E + M <= 20`` bits are enumerated (about a million points).
"""
from __future__ import annotations

import functools

import numpy as np

from kernels.fp_quant.formats import FPFormat

__all__ = ["grid", "quantize_elements", "quantize_blocks", "MAX_GRID_BITS"]

MAX_GRID_BITS = 20


@functools.lru_cache(maxsize=64)
def grid(fmt: FPFormat) -> np.ndarray:
  """Every finite non-negative value of ``fmt`` up to ``fmt.max_value``, increasing (float64)."""
  e, m = fmt.exp_bits, fmt.man_bits
  if e + m > MAX_GRID_BITS:
    raise ValueError(f"reference.grid: fmt: expected E + M <= {MAX_GRID_BITS} for enumeration, got {fmt}")
  if e == 0:
    return np.arange(2 ** m, dtype=np.float64)
  vals = []
  b = fmt.bias
  for field in range(2 ** e):
    for man in range(2 ** m):
      if field == 0:
        v = (man / 2 ** m) * 2.0 ** (1 - b)                   # subnormals
      else:
        v = (1 + man / 2 ** m) * 2.0 ** (field - b)
      vals.append(v)
  g = np.asarray(vals)
  return g[g <= fmt.max_value]                                 # drops reserved / NaN codes


def quantize_elements(y, fmt: FPFormat) -> np.ndarray:
  """Nearest grid value to each ``y`` (float64 math), ties to the even code, saturating at ``±max``."""
  y = np.asarray(y, np.float64)
  g = grid(fmt)
  a = np.minimum(np.abs(y), g[-1])
  hi = np.clip(np.searchsorted(g, a, side="left"), 1, len(g) - 1)
  lo = hi - 1
  dl, dh = a - g[lo], g[hi] - a
  pick_hi = (dh < dl) | ((dh == dl) & (hi % 2 == 0))
  idx = np.where(pick_hi, hi, lo)
  idx = np.where(a == g[0], 0, idx)
  out = np.copysign(g[idx], y)
  return np.where(np.isnan(y), np.nan, out)


def quantize_blocks(x, fmt: FPFormat, block="channel", axis: int = -1, pad: bool = False) -> np.ndarray:
  """Block-scaled fake quantisation (numpy); see ``xla.quantize_blocks`` for the rule."""
  x = np.asarray(x)
  dt = x.dtype
  xf = x.astype(np.float32)
  inv = np.float32(1.0 / fmt.max_value)
  if fmt.max_value > 2.0 ** 64:          # E = 8: applied without a scale (xla.UNSCALED_ABOVE)
    return quantize_elements(xf, fmt).astype(np.float32).astype(dt)
  if block == "tensor":
    amax = np.float32(np.max(np.abs(xf)))
    s = amax * inv if amax > 0 else np.float32(1)
    return (quantize_elements(xf / s, fmt).astype(np.float32) * s).astype(dt)
  xt = np.moveaxis(xf, axis, -1)
  k = xt.shape[-1]
  b = k if block == "channel" else int(block)
  kp = -(-k // b) * b
  if kp != k:
    if not pad:
      raise ValueError(f"reference.quantize_blocks: block_size: expected a divisor of {k}, got {b}")
    xt = np.concatenate([xt, np.zeros(xt.shape[:-1] + (kp - k,), np.float32)], -1)
  xb = xt.reshape(xt.shape[:-1] + (kp // b, b))
  amax = np.max(np.abs(xb), axis=-1, keepdims=True)
  s = np.where(amax > 0, amax * inv, np.float32(1)).astype(np.float32)
  qb = (quantize_elements((xb / s).astype(np.float32), fmt).astype(np.float32) * s).astype(np.float32)
  out = qb.reshape(qb.shape[:-2] + (kp,))[..., :k]
  return np.moveaxis(out, -1, axis).astype(dt)
