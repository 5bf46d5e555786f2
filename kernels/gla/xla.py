"""Gated linear attention: the chunkwise form with secondary-level chunking, in plain jnp (XLA).

Yang, Wang, Shen, Panda, Kim. "Gated Linear Attention Transformers with Hardware-Efficient Training".
ICML 2024. arXiv:2312.06635.

Chunk n holds rows ``nC .. nC+C-1``; ``G`` is the chunk-local inclusive cumulative sum of ``log_g`` and
``Gl`` its last row. Paper §4.2 (chunkwise form, in log space):

* state recurrence ``S_[n+1] = Diag(exp(Gl)) S_[n] + (K_[n] ⊙ exp(Gl − G))ᵀ V_[n]``  -> :func:`chunk_states`
  (a ``lax.scan`` over chunks; ``h[n] = S_[n]``, the state at the chunk's start);
* inter-chunk output ``scale · (Q_[n] ⊙ exp(G)) S_[n]``;
* intra-chunk output ``(P ⊙ M) V_[n]`` with ``P_rs = scale · Σ_k q_rk k_sk exp(G_rk − G_sk)`` (Eq. 4).

Paper §4.3 (secondary-level chunking, Fig. 3) splits the C×C score block into c×c tiles
(:func:`intra_scores`): below-diagonal tiles are ordinary matmuls of ``q ⊙ exp(G − g_a)`` and
``k ⊙ exp(g_a − G)`` with the anchor ``g_a`` = G at the first row of the *query* sub-chunk (both factors
≤ 1, their product is exactly ``exp(G_r − G_s)``); diagonal tiles are formed element-wise in log space
with the causal mask applied before ``exp``. :func:`intra_scores_naive` is the single-level matmul form
``(q ⊙ exp(G)) (k ⊙ exp(−G))ᵀ`` that overflows under strong decay; it is kept only to show why the
sub-chunk split is needed (tests). Gradients are XLA autodiff of this function.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from kernels.gla.reference import acc_dtype

Array = jax.Array
_HI = lax.Precision.HIGHEST

__all__ = ["chunk_states", "gla_chunk_xla", "intra_scores", "intra_scores_naive"]


def chunk_states(k: Array, v: Array, G: Array, h0: Array) -> tuple[Array, Array]:
  """States at every chunk start, and the final state (a scan over chunks).

  Args:
    k, G: [B, H, N, C, K] (G: chunk-local inclusive cumsum of log_g); v: [B, H, N, C, V];
    h0: [B, H, K, V].
  Returns:
    (h: [B, H, N, K, V] with h[:, :, n] the state before chunk n, final state: [B, H, K, V]).
  """
  gl = G[..., -1:, :]                                            # [B, H, N, 1, K]
  kd = k * jnp.exp(gl - G)                                       # decay from row to chunk end (<= 1)
  upd = jnp.einsum("bhnck,bhncv->bhnkv", kd, v, precision=_HI)   # [B, H, N, K, V]
  gam = jnp.exp(gl[..., 0, :])                                   # [B, H, N, K]

  def step(s, xs):
    g, u = xs
    return g[..., None] * s + u, s

  s_final, h = lax.scan(step, h0, (jnp.moveaxis(gam, 2, 0), jnp.moveaxis(upd, 2, 0)))
  return jnp.moveaxis(h, 0, 2), s_final


def intra_scores(q: Array, k: Array, G: Array, sub_chunk: int) -> Array:
  """Causal intra-chunk scores ``A_rs = Σ_k q_rk k_sk exp(G_rk − G_sk)`` (r ≥ s), secondary chunking.

  Args:
    q, k, G: [..., C, K] with C a multiple of ``sub_chunk``.
  Returns:
    A: [..., C, C], zero above the diagonal (no scale applied).
  """
  *lead, C, K = q.shape
  c = sub_chunk
  ns = C // c
  qs, ks, gs = (x.reshape(*lead, ns, c, K) for x in (q, k, G))
  ga = gs[..., :, :1, :]                                         # anchor: first row of each sub-chunk
  # Below-diagonal tiles (j < i): q_i ⊙ exp(G_i − g_a(i)) and k_j ⊙ exp(g_a(i) − G_j), both <= 1.
  qa = qs * jnp.exp(gs - ga)                                     # [..., ns_i, c, K]
  below = (jnp.arange(ns)[:, None] > jnp.arange(ns)[None, :])    # [ns_i, ns_j]
  expo = ga[..., :, None, :, :] - gs[..., None, :, :, :]         # [..., ns_i, ns_j, c, K]
  expo = jnp.where(below[:, :, None, None], expo, -jnp.inf)      # mask before exp
  ka = ks[..., None, :, :, :] * jnp.exp(expo)                    # [..., ns_i, ns_j, c, K]
  a_off = jnp.einsum("...irk,...ijsk->...irjs", qa, ka, precision=_HI)
  # Diagonal tiles, element-wise in log space, mask before exp.
  tri = jnp.arange(c)[:, None] >= jnp.arange(c)[None, :]
  d = gs[..., :, None, :] - gs[..., None, :, :]                  # [..., ns, c_r, c_s, K]
  d = jnp.where(tri[:, :, None], d, -jnp.inf)
  a_diag = jnp.sum(qs[..., :, None, :] * ks[..., None, :, :] * jnp.exp(d), axis=-1)  # [..., ns, c, c]
  a = a_off + jnp.einsum("...irs,ij->...irjs", a_diag, jnp.eye(ns, dtype=a_diag.dtype))
  return a.reshape(*lead, C, C)


def intra_scores_naive(q: Array, k: Array, G: Array) -> Array:
  """Single-level matmul form ``((q ⊙ exp(G)) (k ⊙ exp(−G))ᵀ) ⊙ M``: overflows for strong decay.

  Kept to demonstrate why secondary chunking is needed; not used by any implementation.
  """
  C = q.shape[-2]
  a = jnp.einsum("...rk,...sk->...rs", q * jnp.exp(G), k * jnp.exp(-G), precision=_HI)
  return jnp.where(jnp.tril(jnp.ones((C, C), bool)), a, 0.0)


def gla_chunk_xla(q: Array, k: Array, v: Array, log_g: Array, scale: float,
                  initial_state: Array | None = None, chunk_size: int = 64, sub_chunk: int = 16,
                  naive_intra: bool = False) -> tuple[Array, Array]:
  """Chunkwise GLA (no validation; the public entry is ``kernels.gla.gla(..., impl="xla")``).

  Args:
    q, k, log_g: [B, T, H, K]; v: [B, T, H, V]; initial_state: [B, H, K, V] or None.
    chunk_size: C (a multiple of ``sub_chunk``); T is zero-padded to a multiple of C internally
      (padded rows have k = v = 0 and log_g = 0, so they change neither outputs nor the final state).
    naive_intra: use :func:`intra_scores_naive` (demonstration only).
  Returns:
    (o: [B, T, H, V], final state: [B, H, K, V]) in the accumulation dtype (float32 / float64).
  """
  b, t, h, kd = q.shape
  vd = v.shape[-1]
  dt = acc_dtype(q, k, v, log_g, *(() if initial_state is None else (initial_state,)))
  C = chunk_size
  n = -(-t // C)
  pad = n * C - t

  def prep(x):  # [B, T, H, D] -> [B, H, N, C, D] in dt
    x = jnp.pad(x.astype(dt), ((0, 0), (0, pad), (0, 0), (0, 0)))
    return jnp.transpose(x.reshape(b, n, C, h, x.shape[-1]), (0, 3, 1, 2, 4))

  qc, kc, vc, gc = prep(q), prep(k), prep(v), prep(log_g)
  G = jnp.cumsum(gc, axis=-2)
  h0 = jnp.zeros((b, h, kd, vd), dt) if initial_state is None else initial_state.astype(dt)
  hs, s_final = chunk_states(kc, vc, G, h0)
  o = jnp.einsum("bhnck,bhnkv->bhncv", qc * jnp.exp(G), hs, precision=_HI)
  a = intra_scores_naive(qc, kc, G) if naive_intra else intra_scores(qc, kc, G, sub_chunk)
  o = scale * (o + jnp.einsum("bhnrs,bhnsv->bhnrv", a, vc, precision=_HI))
  o = jnp.transpose(o, (0, 2, 3, 1, 4)).reshape(b, n * C, h, vd)[:, :t]
  return o, s_final
