"""Gates of exactly 0 and non-finite inputs in the chunkwise GLA forms.

Yang, Wang, Shen, Panda, Kim. "Gated Linear Attention Transformers with Hardware-Efficient Training".
ICML 2024. arXiv:2312.06635.

**Zero gates** (``log_g = -inf``, valid: the state channel is reset). The chunk forms work with the
chunk-local cumulative sum ``G`` of ``log_g`` and its differences ``G_r − G_s``; one ``-inf`` makes
``G = -inf`` on every later row of its chunk and ``-inf − (-inf) = NaN``. :func:`floor_gate` (XLA path) and
:func:`clean_gate` (Pallas path) replace ``log_g`` below :func:`log_g_floor` (and ``-inf``) by the floor:
``-105`` for float32 arithmetic, ``-750`` for float64. Why these values:

* *Exact.* ``exp(-105) = 2.5e-46`` is below half the smallest float32 subnormal (``2^-150 = 7.0e-46``),
  so it rounds to exactly 0 even on hardware that keeps subnormals (XLA CPU already flushes them:
  ``exp(-88)`` gives 0 there). Every exponent that contains a floored entry is ``floor + (terms ≤ 0)``,
  so its ``exp`` is 0 whether the entry was ``-105``, ``-1000`` or ``-inf``: for ``log_g ≤ 0`` the clamp
  changes no factor ``exp(G_r − G_s)`` of the computation, it only makes ``G`` finite. Likewise
  ``exp(-750) = 0`` in float64 (smallest subnormal ``4.9e-324 = e^-744.4``).
* *As small as possible.* The floor costs precision only on the rows after a floored entry in the same
  chunk: their ``G`` has magnitude ≥ 105, where a float32 add rounds to ``ulp/2 = 3.8e-6`` (ulp is
  ``2^-17`` on [64, 128)), against about ``6e-8 · |G|`` for ordinary rows. A floor at ``-1e4`` would make it
  ``4.9e-4`` per add (``exp`` relative errors of 1e-3 over a chunk); any floor in [-128, -64] gives the same
  ``2^-17``, and -105 is the mildest value with an exact zero. Finite gates above the floor are passed
  unchanged (bitwise), so inputs without such gates give exactly the results they gave before.
  Measured (float32, B2 T100 H2 K20 V12, against the float64 loop, rel-RMS of o): no zero gates 1.3e-7;
  2 % of the gate entries zero 3e-6 (gate normaliser 16) / 1e-6 (normaliser 1); 30 % zero 2–3e-5 /
  0.8–1.6e-5; every gate zero 7e-8. The scan (``impl="reference"``) needs no floor and stays at 1e-7.
  Exact alternatives (a second array counting the zero gates, carried into every exponent) would cost
  every kernel an extra input and were not taken.

**Non-finite inputs** (NaN or ±inf in q, k, v or the initial state, NaN or +inf in ``log_g``). In the
recurrence ``S_t = Diag(e^{log_g_t}) S_{t-1} + k_tᵀ v_t``, ``o_t = scale · q_t S_t`` non-finite values are
absorbing (``0 · inf = NaN``, ``e^{-inf} · NaN = NaN``) and move forward in time only:

* ``o[b, t, h, j]`` is non-finite iff q[b, t, h, :] has a non-finite entry, or for some t' ≤ t:
  k[b, t', h, :] has one or log_g[b, t', h, :] a NaN / +inf (that key channel of the state is non-finite
  from t' on, and every output sums over key channels), or v[b, t', h, j] is non-finite (value column j),
  or initial_state[b, h, :, j] has a non-finite entry;
* the final state ``[b, h, i, j]`` is non-finite iff some k[b, :, h, i] is non-finite or log_g[b, :, h, i]
  NaN / +inf (key row i), some v[b, :, h, j] is non-finite (value column j), or initial_state[b, h, i, j] is.

The chunk forms mix the rows of a chunk in matmuls: ``A V`` with ``A_rs = 0`` for ``s > r`` still computes
``0 · NaN = NaN`` at row r, and so do the masked entries of the diagonal score tiles with a bad key row, so
a NaN at t reached the rows before t. Both are made causal, with every output non-finite exactly where
the recurrence's is, NaN (not inf) wherever a NaN input reaches, and everything before t bit-for-bit what
any finite value at t gives:

* ``impl="xla"`` lets the values propagate (state recurrence, inter-chunk term, off-diagonal tiles are
  causal as they are) and fixes the two leaks in place, fused into the block's ops: the diagonal tiles
  are selected to 0 above the diagonal *after* the product, and in a block holding a non-finite value
  (a ``lax.cond`` on ``all(isfinite(V))``, so finite inputs run the plain product) the intra-chunk
  product is ``A · clean(V)`` plus the chunk-local running sum of :func:`nan_mark` (V) (exactly 0 before
  the first non-finite value of a column, NaN from it on). An inf may stay inf where the recurrence has
  NaN. Measured cost on the CPU forward: about +5–10 % (kernels/gla/README.md).
* ``impl="pallas"`` (kernels unchanged) runs the kernels on :func:`clean` inputs (fused into the wrapper's
  head-major copies) and :func:`poison` writes NaN over the pattern above (one more read of the inputs, a
  select on the output: cheap next to the kernels on a GPU).
* ``impl="reference"`` is the recurrence itself (``lax.scan``).

Finite inputs give the same outputs and gradients as without these steps: ``where`` selects, and the
added running sum is exactly 0.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

Array = jax.Array

__all__ = ["LOG_G_FLOOR_F32", "LOG_G_FLOOR_F64", "clean", "clean_gate", "floor_gate", "log_g_floor",
           "nan_mark", "poison"]

LOG_G_FLOOR_F32 = -105.0    # exp rounds to exactly 0 in float32 (below 2^-150), magnitude in [64, 128)
LOG_G_FLOOR_F64 = -750.0    # exp rounds to exactly 0 in float64 (below 2^-1075)


def log_g_floor(dtype) -> float:
  """The floor of ``log_g`` for arithmetic in ``dtype``: -750 for float64, -105 otherwise."""
  return LOG_G_FLOOR_F64 if jnp.dtype(dtype) == jnp.float64 else LOG_G_FLOOR_F32


def clean(x: Array) -> Array:
  """``x`` with NaN and ±inf replaced by 0 (gradient 1 at finite entries)."""
  return jnp.where(jnp.isfinite(x), x, jnp.zeros((), x.dtype))


def floor_gate(g: Array) -> Array:
  """``max(log_g, floor)``: ``-inf`` and anything below :func:`log_g_floor` become the floor; NaN and +inf
  pass (they propagate). Gradient 1 above the floor, 0 below it (where the true derivative
  ``exp(log_g) · …`` rounds to 0 too)."""
  return jnp.maximum(g, jnp.asarray(log_g_floor(g.dtype), g.dtype))


def nan_mark(x: Array) -> Array:
  """NaN where ``x`` is NaN or ±inf, exactly 0 elsewhere (no gradient)."""
  return jnp.where(jnp.isfinite(x), jnp.zeros((), x.dtype), jnp.asarray(jnp.nan, x.dtype))


def clean_gate(g: Array) -> Array:
  """``log_g`` with entries at or below :func:`log_g_floor` (``-inf`` included) set to the floor, NaN and
  +inf set to 0 (those rows are poisoned afterwards). Gradient 1 above the floor, 0 at or below it (where
  the true derivative ``exp(log_g) · …`` is 0 in this precision too)."""
  f = jnp.asarray(log_g_floor(g.dtype), g.dtype)
  return jnp.where(g > f, jnp.where(g < jnp.inf, g, jnp.zeros((), g.dtype)),
                   jnp.where(jnp.isnan(g), jnp.zeros((), g.dtype), f))


def poison(o: Array, state: Array | None, q: Array, k: Array, v: Array, log_g: Array,
           initial_state: Array | None) -> tuple[Array, Array | None]:
  """NaN into ``o: [B, T, H, V]`` and ``state: [B, H, K, V]`` exactly where the recurrence over the raw
  inputs (q, k, log_g ``[B, T, H, K]``, v ``[B, T, H, V]``, initial_state ``[B, H, K, V]`` or None) is not
  finite (module docstring). Costs one read of the inputs (fused reductions) and a select on ``o``."""
  t = q.shape[1]
  bad_q = jnp.any(~jnp.isfinite(q), axis=-1)                                   # [B, T, H]
  bad_kg = ~jnp.isfinite(k) | jnp.isnan(log_g) | (log_g == jnp.inf)           # [B, T, H, K]
  bad_v = ~jnp.isfinite(v)                                                     # [B, T, H, V]
  pos = jnp.arange(t, dtype=jnp.int32)[None, :, None]                          # [1, T, 1]
  first = jnp.min(jnp.where(jnp.any(bad_kg, axis=-1), pos, t), axis=1)[..., None]             # [B, H, 1]
  first = jnp.minimum(first, jnp.min(jnp.where(bad_v, pos[..., None], t), axis=1))           # [B, H, V]
  bad_s0 = None
  if initial_state is not None:
    bad_s0 = ~jnp.isfinite(initial_state)                                      # [B, H, K, V]
    first = jnp.where(jnp.any(bad_s0, axis=2), 0, first)
  mask_o = bad_q[..., None] | (pos[..., None] >= first[:, None])               # [B, T, H, V]
  o = jnp.where(mask_o, jnp.asarray(jnp.nan, o.dtype), o)
  if state is not None:
    mask_s = jnp.any(bad_kg, axis=1)[..., None] | jnp.any(bad_v, axis=1)[..., None, :]
    if bad_s0 is not None:
      mask_s = mask_s | bad_s0
    state = jnp.where(mask_s, jnp.asarray(jnp.nan, state.dtype), state)
  return o, state
