"""Gated linear attention: the chunkwise form with secondary-level chunking, in plain jnp (XLA).

Yang, Wang, Shen, Panda, Kim. "Gated Linear Attention Transformers with Hardware-Efficient Training".
ICML 2024. arXiv:2312.06635.

Chunk n holds rows ``nC .. nC+C-1``; ``G`` is the chunk-local inclusive cumulative sum of ``log_g``
(:func:`chunk_cumsum`) and ``Gl`` its last row. Paper §4.2 (chunkwise form, in log space):

* state recurrence ``S_[n+1] = Diag(exp(Gl)) S_[n] + (K_[n] ⊙ exp(Gl − G))ᵀ V_[n]``  -> :func:`chunk_states`
  (one batched matmul for the per-chunk updates, then the recurrence over chunks);
* inter-chunk output ``scale · (Q_[n] ⊙ exp(G)) S_[n]``;
* intra-chunk output ``(P ⊙ M) V_[n]`` with ``P_rs = scale · Σ_k q_rk k_sk exp(G_rk − G_sk)`` (Eq. 4).

Paper §4.3 (secondary-level chunking, Fig. 3) splits the C×C score block into c×c tiles
(:func:`intra_scores`). Below-diagonal tile (i, j), i > j, is a matmul with two anchors, the first row
``g_a(i)`` of the query sub-chunk and the last row ``g_b(j)`` of the key sub-chunk:
``exp(G_r − G_s) = exp(G_r − g_a(i)) · exp(g_a(i) − g_b(j)) · exp(g_b(j) − G_s)``; every factor is ≤ 1
(G is non-increasing and row g_b(j) precedes row g_a(i)), so nothing overflows however strong the decay,
and only one exp per key channel is needed per tile pair (the middle factor) instead of one per key row.
Diagonal tiles are formed element-wise in log space with the causal mask applied before ``exp``.
:func:`intra_scores_naive` is the single-level matmul form ``(q ⊙ exp(G)) (k ⊙ exp(−G))ᵀ`` that
overflows under strong decay; it is kept only to show why the sub-chunk split is needed (tests).

CPU layout (:func:`gla_chunk_xla`, measured on a 2-core x86 host with jax 0.10.2). XLA on CPU pays
about 0.7 ms per MiB for every buffer above 32 MiB (a copy of 30 MiB took 4.6 ms, of 33 MiB 22 ms:
fresh pages on every call), runs one large element-wise fusion worse than many small ones, and can run
independent ops of one step concurrently. So the sequence is processed in blocks of whole chunks inside
one ``lax.fori_loop`` that reads slices of the inputs and writes slices of the output
(:func:`_loop_form`; about :data:`BLOCK_ROW_HEADS` rows × heads per block, in :data:`HEAD_SPLIT`
independent groups of heads): a block's chunks are computed in parallel (batched matmuls), the state is
carried from block to block, and every temporary stays small. The chunk and sub-chunk are capped at
:data:`CPU_CHUNK` and :data:`CPU_SUB_CHUNK` (C = 64, c = 16 are GPU tensor-core shapes; on CPU the
c·K exps per row of the diagonal tiles dominate at c = 16). Gradients: autodiff of the fori_loop would
add a full-size input cotangent at every step, so a ``jax.custom_vjp`` runs the forward as above and
differentiates (XLA autodiff) the same computation written as a ``lax.scan`` over blocks
(:func:`_scan_form`), which recomputes the forward. Outputs and gradients are the same function as the
recurrence; only rounding differs.

Edges (:mod:`kernels.gla.nonfinite`): ``log_g`` is floored at -105 (float64: -750) so that gates of exactly
0 keep ``G`` finite; the diagonal tiles are selected to 0 above the diagonal after their product and a
block holding a non-finite value computes its intra-chunk ``A V`` causally (:func:`_intra_av_causal`), so
a NaN / inf at row t reaches rows >= t only.
"""
from __future__ import annotations

import itertools
import math

import jax
import jax.numpy as jnp
from jax import lax

from kernels.gla import nonfinite
from kernels.gla.reference import acc_dtype

Array = jax.Array
_HI = lax.Precision.HIGHEST

CPU_CHUNK = 32          # cap on the chunk C used by gla_chunk_xla
CPU_SUB_CHUNK = 4       # cap on the sub-chunk c used by gla_chunk_xla
BLOCK_ROW_HEADS = 1024  # rows × heads per loop step, all head groups together (temporaries stay small)
HEAD_SPLIT = 4          # independent head groups per block when there are >= 2 blocks (ops overlap)
MAX_BLOCK_CHUNKS = 16   # chunks per block at most (the in-block state recurrence is unrolled)

__all__ = ["BLOCK_ROW_HEADS", "CPU_CHUNK", "CPU_SUB_CHUNK", "HEAD_SPLIT", "chunk_cumsum", "chunk_states",
           "gla_chunk_xla", "intra_scores", "intra_scores_naive"]


def chunk_cumsum(g: Array) -> Array:
  """Inclusive cumulative sum over the chunk axis (-2), as C − 1 sequential adds.

  Args:
    g: [..., C, K].
  Returns:
    [..., C, K] (sequential summation order; measured faster than ``jnp.cumsum`` on XLA CPU).
  """
  rows = [g[..., i, :] for i in range(g.shape[-2])]
  return jnp.stack(list(itertools.accumulate(rows)), axis=-2)


def chunk_states(k: Array, v: Array, G: Array, h0: Array) -> tuple[Array, Array]:
  """States at every chunk start and after the last chunk (paper §4.2 state recurrence).

  Args:
    k, G: [X, M, C, K] (G: chunk-local inclusive cumsum of log_g); v: [X, M, C, V]; h0: [X, K, V]
      (X = batch × heads, M consecutive chunks).
  Returns:
    (h: [X, M, K, V] with h[:, m] the state before chunk m, state after chunk M − 1: [X, K, V]).
  """
  x, m, c, kd = k.shape
  vd = v.shape[-1]
  gl = G[..., -1:, :]                                            # [X, M, 1, K]
  kd_t = jnp.swapaxes(k * jnp.exp(gl - G), -1, -2)               # decay row -> chunk end (<= 1), [X, M, K, C]
  # Materialise the transposed factor: XLA CPU's fast matmul path wants a [K, C] x [C, V] operand order.
  kd_t = lax.optimization_barrier(kd_t).reshape(x * m, kd, c)
  upd = jnp.einsum("nkc,ncv->nkv", kd_t, v.reshape(x * m, c, vd), precision=_HI).reshape(x, m, kd, vd)
  gam = jnp.exp(gl[..., 0, :])                                   # [X, M, K] whole-chunk decay
  s = h0
  hs = []
  for i in range(m):                                             # m <= MAX_BLOCK_CHUNKS, unrolled
    hs.append(s)
    s = gam[:, i, :, None] * s + upd[:, i]
  return jnp.stack(hs, axis=1), s


def _diag_tiles(qs: Array, ks: Array, gs: Array) -> Array:
  """Diagonal c×c tiles in log space: ``Σ_k q_rk k_sk exp(G_rk − G_sk)`` for r ≥ s, else 0.

  Args:
    qs, ks, gs: [X, ns, c, K].
  Returns:
    [X, ns, c_r, c_s].
  """
  c = qs.shape[-2]
  keep = jnp.arange(c)[None, :] >= jnp.arange(c)[:, None]         # [s, r]: r >= s
  d = gs[..., None, :, :] - gs[..., :, None, :]                  # [X, ns, s, r, K] = G_r − G_s
  e = jnp.exp(jnp.where(keep[:, :, None], d, -jnp.inf))          # mask before exp (no inf·0)
  a = jnp.einsum("xisrk,xisk->xirs", qs[..., None, :, :] * e, ks, precision=_HI)
  return jnp.where(keep.T, a, jnp.zeros((), a.dtype))            # and after: 0·NaN of a later key row


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
  x = 1
  for d in lead:
    x *= d
  qs, ks, gs = (y.reshape(x, ns, c, K) for y in (q, k, G))
  a_d = _diag_tiles(qs, ks, gs)                                  # [X, ns, c, c]
  ga = gs[:, :, 0, :]                                            # [X, ns, K] first row of each sub-chunk
  gb = gs[:, :, -1, :]                                           # [X, ns, K] last row
  qa = qs * jnp.exp(gs - ga[:, :, None, :])                      # exp(G_r − g_a(i)) <= 1
  kb = ks * jnp.exp(gb[:, :, None, :] - gs)                      # exp(g_b(j) − G_s) <= 1
  cols = []
  for j in range(ns):                                            # key sub-chunk j: one column of tiles
    parts = [a_d[:, j]]
    if j:
      parts.insert(0, jnp.zeros((x, j * c, c), q.dtype))
    if j < ns - 1:
      mid = jnp.exp(ga[:, j + 1:] - gb[:, j:j + 1])              # [X, ns-1-j, K], exp(g_a(i) − g_b(j)) <= 1
      lhs = (qa[:, j + 1:] * mid[:, :, None, :]).reshape(x, (ns - 1 - j) * c, K)
      parts.append(jnp.einsum("xrk,xsk->xrs", lhs, kb[:, j], precision=_HI))
    cols.append(jnp.concatenate(parts, axis=1) if len(parts) > 1 else parts[0])
  a = jnp.concatenate(cols, axis=2) if ns > 1 else cols[0]       # [X, C, C]
  return a.reshape(*lead, C, C)


def intra_scores_naive(q: Array, k: Array, G: Array) -> Array:
  """Single-level matmul form ``((q ⊙ exp(G)) (k ⊙ exp(−G))ᵀ) ⊙ M``: overflows for strong decay.

  Kept to demonstrate why secondary chunking is needed; not used by any implementation.
  """
  C = q.shape[-2]
  a = jnp.einsum("...rk,...sk->...rs", q * jnp.exp(G), k * jnp.exp(-G), precision=_HI)
  return jnp.where(jnp.tril(jnp.ones((C, C), bool)), a, 0.0)


def _plan(b: int, t: int, h: int, chunk_size: int, sub_chunk: int, naive_intra: bool
          ) -> tuple[int, int, int, int]:
  """Chunk C, sub-chunk c, chunks per block m and number of blocks nb for a [B, T, H, ·] problem."""
  C = chunk_size
  if not naive_intra:
    C = min(C, CPU_CHUNK)
    while C > 16 and b * h * C > BLOCK_ROW_HEADS:              # one chunk of all heads overfills a block
      C //= 2
  c = min(sub_chunk, CPU_SUB_CHUNK, C)
  n = -(-t // C)                                                 # chunks
  m = max(1, min(n, MAX_BLOCK_CHUNKS, BLOCK_ROW_HEADS // (b * h * C)))
  nb = -(-n // m)                                                # blocks
  m = -(-n // nb)                                                # balance: padding < one chunk per block
  return C, c, m, nb


def _intra_av(a: Array, v: Array) -> Array:
  """Intra-chunk ``A V``: a: [N, C, C], v: [N, C, V]."""
  return jnp.einsum("nrs,nsv->nrv", a, v, precision=_HI)


def _intra_av_causal(a: Array, v: Array) -> Array:
  """``A V`` for a block with a non-finite value: ``A_rs = 0`` for s > r would still give ``0 · NaN = NaN``
  at row r, so the product runs on finite values and the chunk-local running sum of NaN marks (exactly 0
  before the first non-finite value of a column) makes column j NaN on rows r >= s only, as in the
  recurrence (kernels/gla/nonfinite.py). Taken through ``lax.cond`` only by blocks that need it."""
  return _intra_av(a, nonfinite.clean(v)) + chunk_cumsum(nonfinite.nan_mark(v))


def _block(q: Array, k: Array, v: Array, g: Array, s: Array, scale: float, C: int, c: int,
           naive_intra: bool) -> tuple[Array, Array]:
  """One block of m = R / C consecutive chunks, all B·H heads at once.

  Args:
    q, k, g: [B, R, H, K]; v: [B, R, H, V]; s: [B·H, K, V] the state before the block.
  Returns:
    (state after the block: [B·H, K, V], o: [B, R, H, V]).
  """
  b, r, h, kd = q.shape
  vd = v.shape[-1]
  m = r // C
  g = nonfinite.floor_gate(g)                                    # log_g = -inf (gate 0) -> the floor
  heads_major = lambda y: jnp.transpose(y, (0, 2, 1, 3)).reshape(b * h, m, C, y.shape[-1])
  qc, kc, vc, gc = (heads_major(y) for y in (q, k, v, g))      # [BH, m, C, D]
  G = chunk_cumsum(gc)
  hs, s = chunk_states(kc, vc, G, s)                             # [BH, m, K, V]
  flat = lambda y: y.reshape(b * h * m, *y.shape[2:])
  qc, kc, vc, G, hs = (flat(y) for y in (qc, kc, vc, G, hs))
  a = intra_scores_naive(qc, kc, G) if naive_intra else intra_scores(qc, kc, G, c)
  o = (jnp.einsum("nck,nkv->ncv", qc * jnp.exp(G), hs, precision=_HI)   # inter-chunk
       + lax.cond(jnp.all(jnp.isfinite(vc)), _intra_av, _intra_av_causal, a, vc))   # intra-chunk
  return s, jnp.transpose((scale * o).reshape(b, h, r, vd), (0, 2, 1, 3))


def _loop_form(q: Array, k: Array, v: Array, g: Array, s0: Array, scale: float, C: int, c: int,
               nb: int, naive_intra: bool) -> tuple[Array, Array]:
  """Forward: ``fori_loop`` over blocks reading slices of the inputs and writing slices of the output.

  No input is copied and every temporary is one block's worth (the fastest forward on CPU). Its
  autodiff would accumulate full-size input cotangents at every step, so :func:`gla_chunk_xla`
  differentiates :func:`_scan_form` instead.
  """
  b, tp, h, _ = q.shape
  R = tp // nb
  split = HEAD_SPLIT if nb > 1 and not naive_intra else 1       # one block: nothing to overlap
  gh = math.gcd(h, split)                                        # head groups: split H, then B
  gb = math.gcd(b, split // gh)
  hh, bb = h // gh, b // gb

  def body(i, carry):
    s, o = carry
    blk = [lax.dynamic_slice_in_dim(y, i * R, R, axis=1) for y in (q, k, v, g)]
    s4 = s.reshape(b, h, *s.shape[1:])
    rows, states = [], []
    for j in range(gb):                                          # independent groups of heads: XLA's
      bs = slice(j * bb, (j + 1) * bb)                           # executor runs their ops concurrently
      cols = []
      for jj in range(gh):
        hs_ = slice(jj * hh, (jj + 1) * hh)
        sj, oj = _block(*(y[bs, :, hs_] for y in blk), s4[bs, hs_].reshape(bb * hh, *s.shape[1:]),
                        scale, C, c, naive_intra)
        states.append(sj.reshape(bb, hh, *s.shape[1:]))
        cols.append(oj)
      rows.append(jnp.concatenate(cols, 2) if gh > 1 else cols[0])
    oc = jnp.concatenate(rows, 0) if gb > 1 else rows[0]
    st = [jnp.concatenate(states[j * gh:(j + 1) * gh], 1) for j in range(gb)]
    s = jnp.concatenate(st, 0).reshape(s.shape) if len(states) > 1 else states[0].reshape(s.shape)
    return s, lax.dynamic_update_slice_in_dim(o, oc, i * R, axis=1)

  return lax.fori_loop(0, nb, body, (s0, jnp.zeros((b, tp, h, v.shape[-1]), q.dtype)))[::-1]


def _scan_form(q: Array, k: Array, v: Array, g: Array, s0: Array, scale: float, C: int, c: int,
               nb: int, naive_intra: bool) -> tuple[Array, Array]:
  """The same computation as a ``lax.scan`` over blocks of the inputs (blocks as scanned operands and
  outputs), whose autodiff stores one block of cotangents per step. Used for gradients."""
  b, tp, h, _ = q.shape
  R = tp // nb
  to_blocks = lambda y: jnp.moveaxis(y.reshape(b, nb, R, h, y.shape[-1]), 1, 0)   # [nb, B, R, H, D]

  def body(s, xs):
    return _block(*xs, s, scale, C, c, naive_intra)

  s, o = lax.scan(body, s0, tuple(to_blocks(y) for y in (q, k, v, g)))
  return jnp.moveaxis(o, 0, 1).reshape(b, tp, h, v.shape[-1]), s


def gla_chunk_xla(q: Array, k: Array, v: Array, log_g: Array, scale: float,
                  initial_state: Array | None = None, chunk_size: int = 64, sub_chunk: int = 16,
                  naive_intra: bool = False) -> tuple[Array, Array]:
  """Chunkwise GLA (no validation; the public entry is ``kernels.gla.gla(..., impl="xla")``).

  Args:
    q, k, log_g: [B, T, H, K]; v: [B, T, H, V]; initial_state: [B, H, K, V] or None.
    chunk_size, sub_chunk: the chunk C and sub-chunk c asked for (powers of two, c ≤ C). On CPU the chunk
      used is ``min(chunk_size, CPU_CHUNK)``, halved (not below 16) while one chunk of all B·H heads
      exceeds :data:`BLOCK_ROW_HEADS` rows, and the sub-chunk ``min(sub_chunk, CPU_SUB_CHUNK, C)``
      (module docstring). T is zero-padded to whole blocks of chunks internally (padded rows have
      k = v = 0 and log_g = 0, so they change neither outputs nor the final state).
    naive_intra: use :func:`intra_scores_naive` with the chunk exactly as asked (demonstration only).
  Returns:
    (o: [B, T, H, V], final state: [B, H, K, V]) in the accumulation dtype (float32 / float64).
    The forward runs :func:`_loop_form`; gradients are XLA autodiff of :func:`_scan_form` (a
    ``jax.custom_vjp`` that recomputes the forward in that form), the same function.
  """
  b, t, h, kd = q.shape
  vd = v.shape[-1]
  dt = acc_dtype(q, k, v, log_g, *(() if initial_state is None else (initial_state,)))
  C, c, m, nb = _plan(b, t, h, chunk_size, sub_chunk, naive_intra)
  pad = nb * m * C - t

  def prep(y):  # [B, T, H, D] -> [B, T_pad, H, D] in dt
    y = y.astype(dt)
    return jnp.pad(y, ((0, 0), (0, pad), (0, 0), (0, 0))) if pad else y

  s0 = (jnp.zeros((b * h, kd, vd), dt) if initial_state is None
        else initial_state.astype(dt).reshape(b * h, kd, vd))
  static = (scale, C, c, nb, naive_intra)

  @jax.custom_vjp
  def run(q, k, v, g, s0):
    return _loop_form(q, k, v, g, s0, *static)

  def run_fwd(q, k, v, g, s0):
    return _loop_form(q, k, v, g, s0, *static), (q, k, v, g, s0)

  def run_bwd(res, ct):
    return jax.vjp(lambda *a: _scan_form(*a, *static), *res)[1](ct)

  run.defvjp(run_fwd, run_bwd)
  o, s = run(prep(q), prep(k), prep(v), prep(log_g), s0)
  return (o[:, :t] if pad else o), s.reshape(b, h, kd, vd)
