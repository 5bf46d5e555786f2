"""Gated linear attention: the recurrent form, a short float64-capable oracle.

Yang, Wang, Shen, Panda, Kim. "Gated Linear Attention Transformers with Hardware-Efficient Training".
ICML 2024. arXiv:2312.06635.

Recurrence (paper §4.1, the diagonal gate ``G_t = α_tᵀ 1``), per batch element and head:

  ``S_t = Diag(α_t) S_{t-1} + k_tᵀ v_t``,  ``o_t = scale · q_t S_t``,  ``α_t = exp(log_g_t)``

with ``S_t: [K, V]``. :func:`gla_recurrent` runs it with ``lax.scan`` over time; :func:`gla_step` is one
step of it (the decoding update). Arithmetic is float32, or float64 when an input is float64 (run under a
scoped ``jax.enable_x64(True)``), so the same function is the tests' float64 oracle.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

Array = jax.Array

__all__ = ["gla_recurrent", "gla_step"]


def acc_dtype(*xs: Array) -> jnp.dtype:
  """float32, or float64 when an input is float64."""
  return jnp.promote_types(jnp.result_type(*xs), jnp.float32)


def gla_step(q: Array, k: Array, v: Array, log_g: Array, state: Array, scale: float
             ) -> tuple[Array, Array]:
  """One recurrent step (no validation; see ``kernels.gla.gla_decode_step`` for the public form).

  Args:
    q, k, log_g: [B, H, K]; v: [B, H, V]; state: [B, H, K, V] (the state before this step).
    scale: multiplies q.
  Returns:
    (o: [B, H, V] in the accumulation dtype, new state: [B, H, K, V] in the accumulation dtype).
  """
  dt = acc_dtype(q, k, v, log_g, state)
  q, k, v, log_g, state = (x.astype(dt) for x in (q, k, v, log_g, state))
  state = jnp.exp(log_g)[..., None] * state + k[..., :, None] * v[..., None, :]
  o = scale * jnp.einsum("bhk,bhkv->bhv", q, state, precision=lax.Precision.HIGHEST)
  return o, state


def gla_recurrent(q: Array, k: Array, v: Array, log_g: Array, scale: float,
                  initial_state: Array | None = None) -> tuple[Array, Array]:
  """The recurrence over time with ``lax.scan``.

  Args:
    q, k, log_g: [B, T, H, K]; v: [B, T, H, V]; initial_state: [B, H, K, V] or None (zeros).
    scale: multiplies q.
  Returns:
    (o: [B, T, H, V], final state: [B, H, K, V]), both in the accumulation dtype (float32 / float64).
  """
  b, _, h, kd = q.shape
  vd = v.shape[-1]
  dt = acc_dtype(q, k, v, log_g, *(() if initial_state is None else (initial_state,)))
  s0 = (jnp.zeros((b, h, kd, vd), dt) if initial_state is None else initial_state.astype(dt))

  def step(s, xs):
    o, s = gla_step(*xs, s, scale)
    return s, o

  xs = tuple(jnp.moveaxis(x, 1, 0) for x in (q, k, v, log_g))
  s_final, o = lax.scan(step, s0, xs)
  return jnp.moveaxis(o, 0, 1), s_final
