"""Float32 ULP-error measurement: per-input errors, stratified samples, and the exhaustive chunked sweep.

Real et al. "AutoNumerics-Zero: Automated Discovery of State-of-the-Art Mathematical Functions".
arXiv:2312.08472 (float32 track: < 1 ULP on every input).

Convention: ``ulp(v) = 2^(max(floor(log2|v|), -126) - 23)`` of the *exact* value v (here the float64
reference ``exp(float64(x))``, within 2^-29 ULP of exact), and ``err = |y - v| / ulp(v)``. Near a
power of two this differs by up to 2x from ``np.spacing(float32(v))``, the paper's convention, only on
the side where v rounds up to the power of two.

On XLA CPU denormal inputs read as zero and denormal results are flushed to zero, so the sweep covers
inputs whose result is a finite *normal* number (for exp: x in [-87.33654, 88.72283]).
"""
from __future__ import annotations

import functools
import time
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array

__all__ = ["ulp_of", "ulp_errors", "Sweep", "sweep", "stratified_sample", "float32_range_bits",
           "EXP_LO", "EXP_HI", "EXP2_LO", "EXP2_HI"]

# Smallest / largest float32 x whose exp (exp2) is a finite normal float32.
EXP_LO = float(np.float32(-87.33654))
EXP_HI = float(np.float32(88.72283))
EXP2_LO = -126.0
EXP2_HI = float(np.nextafter(np.float32(128.0), np.float32(0)))


def ulp_of(v: Array) -> Array:
  """ULP of the float32 binade containing the exact value ``v`` (float64), floor-log2 convention."""
  _, e = jnp.frexp(jnp.abs(v))
  return jnp.ldexp(jnp.ones_like(v), jnp.maximum(e - 1, -126) - 23)


def ulp_errors(y: Array, ref: Array) -> Array:
  """|y - ref| / ulp(ref) in float64 (call under ``jax.enable_x64(True)``); non-finite y gives inf."""
  y64 = jnp.asarray(y).astype(jnp.float64)
  ref = jnp.asarray(ref, jnp.float64)
  err = jnp.abs(y64 - ref) / ulp_of(ref)
  return jnp.where(jnp.isfinite(y64), err, jnp.inf)


class Sweep(NamedTuple):
  """Result of an exhaustive sweep: counts, the worst input, and the wall time."""
  count: int            # inputs checked
  max_ulp: float
  worst_x: float
  n_above_half: int     # inputs with err > 0.5 (not correctly rounded)
  n_ge_one: int         # inputs with err >= 1
  seconds: float


def float32_range_bits(lo: float, hi: float) -> list[tuple[int, int]]:
  """Bit-pattern intervals [start, stop) (uint32) of all float32 values in [lo, hi] (denormals included)."""
  lo, hi = np.float32(lo), np.float32(hi)
  if not lo <= hi:
    raise ValueError(f"lo, hi: expected lo <= hi, got {lo}, {hi}")
  bits = lambda v: int(np.array(v, np.float32).view(np.uint32))
  out = []
  if hi >= 0:
    start = 0 if lo <= 0 else bits(lo)
    out.append((start, bits(hi) + 1))
  if lo < 0:
    top = np.float32(-hi) if hi < 0 else np.float32(0.0)   # magnitudes in [top, |lo|], sign bit set
    out.append((0x80000000 + bits(top), 0x80000000 + bits(-lo) + 1))   # includes -0.0 when hi >= 0
  return [(a, b) for a, b in out if b > a]


@functools.partial(jax.jit, static_argnames=("fn", "ref_fn", "chunk"))
def _chunk_stats(start, stop, *, fn, ref_fn, chunk):
  bits = start + jnp.arange(chunk, dtype=jnp.uint32)
  valid = (bits >= start) & (bits < stop)   # the first test catches uint32 wrap-around past 2^32
  x = jax.lax.bitcast_convert_type(bits, jnp.float32)
  x = jnp.where(valid, x, jnp.float32(0.0))
  err = ulp_errors(fn(x), ref_fn(x.astype(jnp.float64)))
  err = jnp.where(valid, err, 0.0)
  i = jnp.argmax(err)
  return (err[i], x[i], jnp.sum(valid & (err > 0.5)), jnp.sum(valid & (err >= 1.0)), jnp.sum(valid))


def sweep(fn: Callable[[Array], Array], lo: float, hi: float, ref_fn: Callable[[Array], Array] = jnp.exp,
          chunk_log2: int = 24, log: Callable[[str], None] | None = None) -> Sweep:
  """Exhaustive ULP check of a float32 function on every float32 in [lo, hi], in chunks of 2^chunk_log2.

  Args:
    fn: float32 [n] -> float32 [n] (jit-able; called inside a jitted chunk).
    ref_fn: float64 reference of the same function.
  """
  if not 10 <= chunk_log2 <= 28:
    raise ValueError(f"chunk_log2: expected 10..28, got {chunk_log2}")
  chunk = 1 << chunk_log2
  t0 = time.perf_counter()
  best = (-1.0, float("nan"))
  n_half = n_one = count = 0
  with jax.enable_x64(True):
    for a, b in float32_range_bits(lo, hi):
      for s in range(a, b, chunk):
        e, xw, h, o, c = _chunk_stats(jnp.uint32(s), jnp.uint32(min(s + chunk, b)) if min(s + chunk, b) < 2**32
                                      else jnp.uint32(2**32 - 1), fn=fn, ref_fn=ref_fn, chunk=chunk)
        e, xw = float(e), float(xw)
        n_half, n_one, count = n_half + int(h), n_one + int(o), count + int(c)
        if e > best[0]:
          best = (e, xw)
        if log is not None:
          log(f"  chunk {s:#010x}: max {e:.4f} at {xw:.9g} (checked {count:,}, {time.perf_counter() - t0:.0f} s)")
  return Sweep(count, best[0], best[1], n_half, n_one, time.perf_counter() - t0)


def stratified_sample(key: Array, n_random: int, lo: float, hi: float, period: float | None = None) -> Array:
  """A float32 sample of [lo, hi] for ULP checks: random bit patterns (uniform over float32 values, so
  every binade is represented), uniform values, both range ends with their 64 neighbours, ±2^k and their
  neighbours for every power of two in range, and (if ``period`` is given, e.g. ln 2) the points
  ``(k + 1/2)·period`` where round-to-nearest range reduction switches n, with neighbours.

  Returns: [M] float32, sorted, unique, all in [lo, hi].
  """
  lo32, hi32 = np.float32(lo), np.float32(hi)
  k1, k2 = jax.random.split(key)
  parts = []
  ranges = float32_range_bits(lo, hi)
  sizes = np.array([b - a for a, b in ranges], np.float64)
  which = np.asarray(jax.random.choice(k1, len(ranges), (n_random,), p=jnp.asarray(sizes / sizes.sum())))
  u = np.asarray(jax.random.uniform(k2, (2, n_random), jnp.float32))
  starts = np.array([a for a, _ in ranges], np.float64)[which]
  bits = (starts + np.floor(u[0] * sizes[which])).astype(np.uint64).astype(np.uint32)
  parts.append(bits.view(np.float32))
  parts.append((lo32 + (hi32 - lo32) * u[1]).astype(np.float32))
  anchors = [lo32, hi32, np.float32(0.0)]
  for k in range(-126, 128):
    for s in (1.0, -1.0):
      v = np.float32(s * 2.0 ** k)
      if lo32 <= v <= hi32:
        anchors.append(v)
  if period is not None:
    for k in range(int(np.floor(lo / period)) - 1, int(np.ceil(hi / period)) + 1):
      anchors.append(np.float32((k + 0.5) * period))
  anchors = np.array(anchors, np.float32)
  steps = np.arange(-64, 65)
  neigh = (anchors.view(np.int32)[:, None].astype(np.int64) + np.where(anchors[:, None] < 0, -1, 1) * steps)
  neigh = np.concatenate([neigh.ravel(), (np.int64(0x80000000) + np.arange(64)).ravel()])
  parts.append((neigh % 2**32).astype(np.uint32).view(np.float32))
  x = np.concatenate(parts)
  x = x[np.isfinite(x) & (x >= lo32) & (x <= hi32)]
  return jnp.asarray(np.unique(x))
