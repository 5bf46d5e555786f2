"""Gated linear attention: the public op and the decoding step.

Yang, Wang, Shen, Panda, Kim. "Gated Linear Attention Transformers with Hardware-Efficient Training".
ICML 2024. arXiv:2312.06635.

``gla(q, k, v, log_g, ...)`` computes, per batch element and head (paper §4.1, gate ``G_t = α_tᵀ 1``),

  ``S_t = Diag(exp(log_g_t)) S_{t-1} + k_tᵀ v_t``,   ``o_t = scale · q_t S_t``,

with the layout and argument names of the reference library's ``chunk_gla`` (fla): q, k, log_g
``[B, T, H, K]``, v and o ``[B, T, H, V]``, states ``[B, H, K, V]``. Implementations (``impl``):

* ``"reference"`` — :func:`kernels.gla.reference.gla_recurrent` (``lax.scan`` over time; float64 when
  the inputs are float64);
* ``"xla"`` — :func:`kernels.gla.xla.gla_chunk_xla`, the chunkwise form with secondary chunking
  (§4.2–4.3), differentiated by XLA autodiff; the CPU default;
* ``"pallas"`` — :func:`kernels.gla.pallas.gla_pallas`, forward and backward Pallas kernels under
  ``jax.custom_vjp`` (Triton on GPU, Mosaic on TPU, the interpreter on CPU);
* ``"auto"`` — ``"pallas"`` on GPU/TPU, ``"xla"`` on CPU.

:func:`gla_decode_step` is the single-token recurrent update used for decoding.
"""
from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from kernels.common.dispatch import IMPLS, resolve_impl
from kernels.gla import config as cfg_lib
from kernels.gla import pallas as pallas_lib
from kernels.gla import reference, xla

Array = jax.Array

__all__ = ["IMPLS", "gla", "gla_decode_step"]

_FLOATS = (jnp.dtype(jnp.bfloat16), jnp.dtype(jnp.float16), jnp.dtype(jnp.float32), jnp.dtype(jnp.float64))


def _shape_dtype(name: str, x: Any) -> tuple[tuple[int, ...], jnp.dtype]:
  if not hasattr(x, "shape") or not hasattr(x, "dtype"):
    raise TypeError(f"gla: {name}: expected a jax/numpy array, got {type(x).__name__}")
  dt = jnp.dtype(x.dtype)
  if dt not in _FLOATS:
    raise TypeError(f"gla: {name}: expected a floating dtype (bfloat16, float16, float32, float64), got {dt}")
  return tuple(x.shape), dt


def _check_scale(scale: Any, kd: int) -> float:
  if scale is None:
    return kd ** -0.5
  if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale) or scale <= 0:
    raise ValueError(f"gla: scale: expected None or a positive finite Python number, got {scale!r}")
  return float(scale)



def gla(q: Array, k: Array, v: Array, log_g: Array, *, scale: float | None = None,
        initial_state: Array | None = None, output_final_state: bool = False, chunk_size: int = 64,
        impl: str = "auto") -> tuple[Array, Array | None]:
  """Gated linear attention over a whole sequence.

  Args:
    q, k: [B, T, H, K] queries and keys (bfloat16 / float16 / float32 / float64, same dtype as v).
    v: [B, T, H, V] values.
    log_g: [B, T, H, K] per-key log forget gate, ``log α ≤ 0`` (e.g. ``logsigmoid(x) / 16``); any float
      dtype, used in float32 (float64 with float64 inputs). ``-inf`` (a gate of exactly 0: that key
      channel of the state is reset) and ``0`` (a gate of 1) are valid and give the recurrence's finite
      result; the chunk forms floor log_g at -105 (float64: -750), where ``exp`` is exactly 0
      (``kernels/gla/nonfinite.py``: why, and its precision cost after a zero gate).
    scale: multiplies q; None means ``K ** -0.5``.
    initial_state: [B, H, K, V] state before the first token, or None (zeros).
    output_final_state: also return the state after the last token.
    chunk_size: chunk C of the chunkwise implementations, a power of two in [16, 256]; the chunk used
      is ``min(chunk_size, max(16, next_pow2(T)))`` with sub-chunks of ``min(16, C)``; the XLA path further caps
      them on CPU at ``xla.CPU_CHUNK`` (32) and ``xla.CPU_SUB_CHUNK`` (4), halving C while one chunk of all
      heads exceeds ``xla.BLOCK_ROW_HEADS`` rows (see :func:`kernels.gla.xla.gla_chunk_xla`).
    impl: "auto" | "reference" | "xla" | "pallas".
  Returns:
    (o: [B, T, H, V] in v's dtype, final_state: [B, H, K, V] float32 — float64 for float64 inputs — or
    None unless ``output_final_state``).
  Raises:
    TypeError / ValueError naming the argument for bad types, dtypes, shapes or options.

  Non-finite values (not checked: this is a traced op) behave as in the recurrence, for every impl:
  a NaN / ±inf at position t reaches outputs at positions ≥ t only (causal in values; the outputs
  before t are bit-for-bit those of any finite value at t), and the outputs and final state are
  non-finite exactly where the recurrence's are (NaN where a NaN input reaches; q -> its own row; k or
  a NaN / +inf log_g -> the whole head from t; v -> its value column from t; initial_state -> its value
  column). ``nonfinite.py`` gives the exact pattern; callers wanting an error use
  ``kernels.common.checks.check_finite`` on their inputs.
  """
  qs, qdt = _shape_dtype("q", q)
  ks, kdt = _shape_dtype("k", k)
  vs, vdt = _shape_dtype("v", v)
  gs, _ = _shape_dtype("log_g", log_g)
  if len(qs) != 4:
    raise ValueError(f"gla: q: expected rank 4 [B, T, H, K], got shape {qs}")
  if any(d < 1 for d in qs):
    raise ValueError(f"gla: q: expected every dim of [B, T, H, K] >= 1, got shape {qs}")
  if ks != qs:
    raise ValueError(f"gla: k: expected the shape of q [B, T, H, K] = {qs}, got {ks}")
  if gs != qs:
    raise ValueError(f"gla: log_g: expected the shape of q [B, T, H, K] = {qs}, got {gs}")
  if len(vs) != 4 or vs[:3] != qs[:3] or vs[3] < 1:
    raise ValueError(f"gla: v: expected shape [B, T, H, V] = {qs[:3] + ('V',)} with V >= 1, got {vs}")
  if not (qdt == kdt == vdt):
    raise TypeError(f"gla: q, k, v: expected one dtype, got q {qdt}, k {kdt}, v {vdt}")
  b, _, h, kd = qs
  vd = vs[3]
  if initial_state is not None:
    ss, _ = _shape_dtype("initial_state", initial_state)
    if ss != (b, h, kd, vd):
      raise ValueError(f"gla: initial_state: expected shape [B, H, K, V] = {(b, h, kd, vd)}, got {ss}")
  if not isinstance(output_final_state, bool):
    raise TypeError(f"gla: output_final_state: expected a bool, got {type(output_final_state).__name__}")
  if (isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 16 or chunk_size > 256
      or chunk_size & (chunk_size - 1)):
    raise ValueError(f"gla: chunk_size: expected a power of two in [16, 256], got {chunk_size!r}")
  sc = _check_scale(scale, kd)
  impl = resolve_impl(impl, "gla")
  is64 = jnp.dtype(reference.acc_dtype(q, k, v, log_g)) == jnp.float64
  if impl == "pallas" and is64:
    raise TypeError("gla: q, k, v, log_g: impl='pallas' takes bfloat16/float16/float32 inputs, got float64 "
                    "(use impl='reference' or 'xla' for float64)")

  if impl == "reference":
    o, s = reference.gla_recurrent(q, k, v, log_g, sc, initial_state)
  elif impl == "xla":
    C = cfg_lib.effective_chunk(chunk_size, qs[1])
    o, s = xla.gla_chunk_xla(q, k, v, log_g, sc, initial_state, chunk_size=C,
                             sub_chunk=min(cfg_lib.SUB_CHUNK, C))
  else:
    o, s = pallas_lib.gla_pallas(q, k, v, log_g, sc, initial_state, chunk_size,
                                 interpret=jax.default_backend() == "cpu")
  state_dt = jnp.float64 if is64 else jnp.float32
  return o.astype(vdt), (s.astype(state_dt) if output_final_state else None)


def gla_decode_step(q: Array, k: Array, v: Array, log_g: Array, state: Array | None = None, *,
                    scale: float | None = None) -> tuple[Array, Array]:
  """One recurrent step for decoding: ``S = Diag(exp(log_g)) S + kᵀ v``, ``o = scale · q S``.

  The recurrence's own step: ``log_g = -inf`` resets a key channel exactly, non-finite values propagate
  as IEEE arithmetic gives them (to this step's outputs and every later state).

  Args:
    q, k, log_g: [B, H, K] (the current token); v: [B, H, V];
    state: [B, H, K, V] state before this token (None: zeros).
    scale: None means ``K ** -0.5``.
  Returns:
    (o: [B, H, V] in v's dtype, new state: [B, H, K, V] float32, float64 for float64 inputs).
  """
  qs, qdt = _shape_dtype("q", q)
  ks, kdt = _shape_dtype("k", k)
  vs, vdt = _shape_dtype("v", v)
  gs, _ = _shape_dtype("log_g", log_g)
  if len(qs) != 3:
    raise ValueError(f"gla_decode_step: q: expected rank 3 [B, H, K], got shape {qs}")
  if ks != qs or gs != qs:
    raise ValueError(f"gla_decode_step: k, log_g: expected the shape of q {qs}, got k {ks}, log_g {gs}")
  if len(vs) != 3 or vs[:2] != qs[:2]:
    raise ValueError(f"gla_decode_step: v: expected shape [B, H, V] with [B, H] = {qs[:2]}, got {vs}")
  if not (qdt == kdt == vdt):
    raise TypeError(f"gla_decode_step: q, k, v: expected one dtype, got q {qdt}, k {kdt}, v {vdt}")
  b, h, kd = qs
  if state is None:
    state = jnp.zeros((b, h, kd, vs[2]), jnp.float32)
  else:
    ss, _ = _shape_dtype("state", state)
    if ss != (b, h, kd, vs[2]):
      raise ValueError(f"gla_decode_step: state: expected shape [B, H, K, V] = {(b, h, kd, vs[2])}, got {ss}")
  o, s = reference.gla_step(q, k, v, log_g, state, _check_scale(scale, kd))
  return o.astype(vdt), s
