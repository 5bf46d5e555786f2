"""Gated linear attention: Pallas kernels (forward and backward) under ``jax.custom_vjp``.

Yang, Wang, Shen, Panda, Kim. "Gated Linear Attention Transformers with Hardware-Efficient Training".
ICML 2024. arXiv:2312.06635.

Materialised chunkwise form (paper §3.3 / §4.2–4.3, Alg. "materialization + recompute states"), on
head-major arrays ``[BH, T, K]`` with T a multiple of the chunk C and head dims padded to powers of two.
Default layout ``GLAKernelConfig.intra = "split"`` (as fla splits its kernels):

forward
  1. XLA: ``G`` = chunk-local inclusive cumsum of ``log_g`` (f32).
  2. :func:`chunk_states` — grid ``(BH, K tiles, V tiles)``, ``fori_loop`` over chunks with the K×V state
     block as loop carry: ``h[n] = S_[n]``, ``S_[n+1] = Diag(e^{Gl}) S_[n] + (K ⊙ e^{Gl−G})ᵀ V`` (§4.2). No
     scratch and no reliance on grid order, so it is valid on GPU (parallel programs) as well as TPU.
  3. :func:`chunk_intra` — grid ``(BH, N)``: the intra-chunk scores ``A`` [C, C] once per chunk, with
     secondary chunking (§4.3, Fig. 3): c×c tiles below the diagonal as matmuls anchored at the first
     row of the query sub-chunk, diagonal tiles element-wise in log space (Eq. 4), mask before ``exp``.
  4. :func:`chunk_output_split` — grid ``(BH, N, V tiles)``: ``o = scale·((Q ⊙ e^G) h[n] + A V)``.
backward (states recomputed; ``A`` kept from the forward, f32, C values per token)
  5. :func:`chunk_states` again; 6. :func:`chunk_dstates` — same grid, reverse ``fori_loop``:
     ``dH_{n-1} = Diag(e^{Gl_n}) dH_n + scale (Q_n ⊙ e^{G_n})ᵀ dO_n``, from ``dS_T`` to ``dS_0``;
  7. :func:`chunk_dqk_intra` — grid ``(BH, N)``: ``dA = dO Vᵀ`` tile by tile over the whole value dim, then
     ``dq = scale Σ_s dA_rs k_s e^{G_r−G_s}``, ``dk = scale Σ_r dA_rs q_r e^{G_r−G_s}`` (same sub-chunk split);
  8. :func:`chunk_inter_bwd` — grid ``(BH, N)``, value tiles in a static loop: ``dv = scale Aᵀ dO +
     (K ⊙ e^{Gl−G}) dH``, ``dq += scale (dO hᵀ) ⊙ e^G``, ``dk += (V dHᵀ) ⊙ e^{Gl−G}``;
  9. XLA: gradient w.r.t. the chunk-local cumsum ``dG = q ⊙ dq − k ⊙ dk`` plus ``Σ_v S_end ⊙ dH`` on
     each chunk's last row (§4.3 "memory-efficient dα"); autodiff of the chunk-local cumsum turns it
     into ``d log_g`` (a chunk-local reverse cumsum, as fla does).
``intra = "fused"`` is the first version, kept for comparison: :func:`chunk_output` and :func:`chunk_dqkv`
(grid ``(BH, N, V tiles)``) recompute the scores and the intra-chunk dq, dk in every value tile, and sum
dq, dk partials over tiles.

Backend choice (``backend``): ``"triton"`` on GPU, passed explicitly through
``jax.experimental.pallas.triton.CompilerParams`` (``pallas_call`` without compiler params would pick
Mosaic GPU, which these kernels do not target); ``"tpu"`` (Mosaic) on TPU; on CPU only ``interpret=True``
runs. Kernel constraints honoured for Triton: no scratch, no value slicing (sub-blocks are loaded from
refs), power-of-two block sizes with dot dims ≥ 16, no reverse cumsum, and ``precision=HIGHEST`` on every
f32 dot (Triton would otherwise use TF32). bf16 inputs: the forward kernels cast dot operands to bf16
with f32 accumulation; the backward kernels (state cotangents, dq/dk/dv) keep f32 operands, because
``d log_g = q ⊙ dq − k ⊙ dk`` cancels and bf16 operands there gave 2.4e-2 rel-RMS under strong decay
(fla likewise keeps its intra-chunk dq/dk in f32). Gates, cumsums, exps and states are always f32.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax
from jax.experimental import pallas as pl

from kernels.gla import config as cfg_lib
from kernels.gla import nonfinite

Array = jax.Array
_F32 = jnp.float32

__all__ = ["chunk_dqk_intra", "chunk_dqkv", "chunk_dstates", "chunk_inter_bwd", "chunk_intra", "chunk_output",
           "chunk_output_split", "chunk_states", "gla_pallas", "resolve_backend"]


def resolve_backend(backend: str, interpret: bool) -> str | None:
  """``None`` for interpret mode, else ``"triton"`` / ``"tpu"`` (``"auto"`` from the default backend)."""
  if interpret:
    return None
  if backend == "auto":
    plat = jax.default_backend()
    if plat == "gpu":
      return "triton"
    if plat == "tpu":
      return "tpu"
    raise ValueError(f"backend: Pallas needs a GPU or TPU unless interpret=True; default backend is {plat!r}")
  if backend not in ("triton", "tpu"):
    raise ValueError(f"backend: expected 'auto', 'triton' or 'tpu', got {backend!r}")
  return backend


def _compiler_params(backend: str | None, ndims: int, kc: cfg_lib.GLAKernelConfig) -> Any:
  if backend is None:
    return None
  if backend == "triton":
    from jax.experimental.pallas import triton as pltriton
    return pltriton.CompilerParams(num_warps=kc.num_warps, num_stages=kc.num_stages)
  from jax.experimental.pallas import tpu as pltpu
  return pltpu.CompilerParams(dimension_semantics=("parallel",) * ndims)


def _call(kernel, out_shape, grid, in_specs, out_specs, backend, interpret, kc, name):
  return pl.pallas_call(kernel, out_shape=out_shape, grid=grid, in_specs=in_specs, out_specs=out_specs,
                        interpret=interpret, compiler_params=_compiler_params(backend, len(grid), kc),
                        name=name)


@dataclasses.dataclass(frozen=True)
class _Mm:
  """Operand dtype and precision of the kernels' dots (always f32 accumulation)."""
  dtype: Any
  precision: Any


def _mm(dtype, backend: str | None, kc: cfg_lib.GLAKernelConfig) -> _Mm:
  """bf16 operands for bf16 inputs; f32 operands otherwise, as exact as the backend allows: IEEE f32
  (``HIGHEST``) in the interpreter and on TPU; on Triton ``kc.f32_dot`` picks 3×TF32 (tensor cores, about
  f32 accuracy; the default) or IEEE (CUDA-core FMA: ptxas gives such dots large stack frames)."""
  if jnp.dtype(dtype) == jnp.bfloat16:
    return _Mm(jnp.bfloat16, lax.Precision.DEFAULT)
  if backend == "triton" and kc.f32_dot == "tf32x3":
    return _Mm(_F32, lax.DotAlgorithmPreset.TF32_TF32_F32_X3)
  return _Mm(_F32, lax.Precision.HIGHEST)


def _dot(a: Array, b: Array, mm: _Mm, ta: bool = False, tb: bool = False) -> Array:
  """``op(a) @ op(b)`` with f32 accumulation, operands cast to ``mm.dtype``."""
  a, b = a.astype(mm.dtype), b.astype(mm.dtype)
  dims = (((0,) if ta else (1,), (1,) if tb else (0,)), ((), ()))
  return lax.dot_general(a, b, dims, precision=mm.precision, preferred_element_type=_F32)


def _rows(ref, start, size):
  return ref[pl.ds(start, size), :]


def _iota(shape, dim):
  return lax.broadcasted_iota(jnp.int32, shape, dim)


# ---------------------------------------------------------------------------------------------------
# Kernel bodies.


def _states_kernel(k_ref, v_ref, g_ref, h0_ref, h_ref, ht_ref, *, nt, C, mm):
  """One (key tile, value tile) block of the state: ``h_ref[n]`` = state before chunk n."""
  def body(n, s):
    h_ref[n] = s
    t0 = pl.multiple_of(n * C, C)
    g = _rows(g_ref, t0, C)
    gl = _rows(g_ref, t0 + C - 1, 1)                                # [1, bk]
    kd = _rows(k_ref, t0, C).astype(_F32) * jnp.exp(gl - g)          # [C, bk], factors <= 1
    return jnp.exp(gl).T * s + _dot(kd, _rows(v_ref, t0, C), mm, ta=True)

  ht_ref[...] = lax.fori_loop(0, nt, body, h0_ref[...].astype(_F32))


def _diag_scores(qi, gi, k_ref, g_ref, base, c):
  """Diagonal c×c tile ``A_rs = Σ_k q_rk k_sk e^{G_rk − G_sk}`` (r ≥ s), element-wise, one key row at a time."""
  rows = _iota(qi.shape, 0)
  cols = _iota((c, c), 1)

  def body(s, a):
    ks = _rows(k_ref, base + s, 1).astype(_F32)                     # [1, K]
    gs = _rows(g_ref, base + s, 1)
    e = jnp.exp(jnp.where(rows >= s, gi - gs, -jnp.inf))            # mask before exp
    col = jnp.sum(qi * ks * e, axis=1, keepdims=True)               # [c, 1]
    return a + jnp.where(cols == s, col, 0.0)

  return lax.fori_loop(0, c, body, jnp.zeros((c, c), _F32))


def _output_kernel(q_ref, k_ref, v_ref, g_ref, h_ref, o_ref, *, C, c, scale, mm):
  h = h_ref[...]
  for i in range(C // c):
    qi = _rows(q_ref, i * c, c).astype(_F32)
    gi = _rows(g_ref, i * c, c)
    ga = _rows(g_ref, i * c, 1)                                     # anchor: first row of sub-chunk i
    acc = _dot(qi * jnp.exp(gi), h, mm)                             # inter-chunk
    qa = qi * jnp.exp(gi - ga)
    for j in range(i):                                              # below-diagonal tiles
      kb = _rows(k_ref, j * c, c).astype(_F32) * jnp.exp(ga - _rows(g_ref, j * c, c))
      acc += _dot(_dot(qa, kb, mm, tb=True), _rows(v_ref, j * c, c), mm)
    a = _diag_scores(qi, gi, k_ref, g_ref, i * c, c)
    acc += _dot(a, _rows(v_ref, i * c, c), mm)
    o_ref[pl.ds(i * c, c), :] = (scale * acc).astype(o_ref.dtype)


def _dstates_kernel(q_ref, do_ref, g_ref, dht_ref, dh_ref, dh0_ref, *, nt, C, scale, mm):
  """Reverse pass over chunks for one (key tile, value tile) block: ``dh_ref[n]`` = dL/d(state after chunk n)."""
  def body(m, dh):
    n = nt - 1 - m
    dh_ref[n] = dh
    t0 = pl.multiple_of(n * C, C)
    gl = _rows(g_ref, t0 + C - 1, 1)
    qg = _rows(q_ref, t0, C).astype(_F32) * jnp.exp(_rows(g_ref, t0, C))
    return jnp.exp(gl).T * dh + scale * _dot(qg, _rows(do_ref, t0, C), mm, ta=True)

  dh0_ref[...] = lax.fori_loop(0, nt, body, dht_ref[...].astype(_F32))


def _dqkv_kernel(q_ref, k_ref, v_ref, g_ref, h_ref, dh_ref, do_ref, dq_ref, dk_ref, dv_ref,
                 *, C, c, scale, mm):
  ns = C // c
  h, dh = h_ref[...], dh_ref[...]
  gl = _rows(g_ref, C - 1, 1)
  cols = _iota((c, c), 1)
  for i in range(ns):                                               # dq of query sub-chunk i
    qi = _rows(q_ref, i * c, c).astype(_F32)
    gi, ga, doi = _rows(g_ref, i * c, c), _rows(g_ref, i * c, 1), _rows(do_ref, i * c, c)
    dq = _dot(doi, h, mm, tb=True) * jnp.exp(gi)
    acc = jnp.zeros_like(dq)
    for j in range(i):
      kb = _rows(k_ref, j * c, c).astype(_F32) * jnp.exp(ga - _rows(g_ref, j * c, c))
      acc += _dot(_dot(doi, _rows(v_ref, j * c, c), mm, tb=True), kb, mm)
    dq += acc * jnp.exp(gi - ga)
    da = _dot(doi, _rows(v_ref, i * c, c), mm, tb=True)             # [r, s]
    rows = _iota(qi.shape, 0)

    def dq_body(s, acc, da=da, gi=gi, rows=rows, base=i * c):
      col = jnp.sum(jnp.where(cols == s, da, 0.0), axis=1, keepdims=True)   # dA[:, s]
      e = jnp.exp(jnp.where(rows >= s, gi - _rows(g_ref, base + s, 1), -jnp.inf))
      return acc + col * _rows(k_ref, base + s, 1).astype(_F32) * e

    dq = lax.fori_loop(0, c, dq_body, dq)
    dq_ref[pl.ds(i * c, c), :] = scale * dq
  for j in range(ns):                                               # dk, dv of key sub-chunk j
    kj = _rows(k_ref, j * c, c).astype(_F32)
    gj, vj, doj = _rows(g_ref, j * c, c), _rows(v_ref, j * c, c), _rows(do_ref, j * c, c)
    dec = jnp.exp(gl - gj)
    dv = _dot(kj * dec, dh, mm)
    dk = _dot(vj, dh, mm, tb=True) * dec
    for i in range(j + 1, ns):
      gi, ga, doi = _rows(g_ref, i * c, c), _rows(g_ref, i * c, 1), _rows(do_ref, i * c, c)
      qa = _rows(q_ref, i * c, c).astype(_F32) * jnp.exp(gi - ga)
      eb = jnp.exp(ga - gj)
      a = _dot(qa, kj * eb, mm, tb=True)                            # [c_i, c_j]
      dv += scale * _dot(a, doi, mm, ta=True)
      dk += scale * _dot(_dot(doi, vj, mm, tb=True), qa, mm, ta=True) * eb
    a = _diag_scores(_rows(q_ref, j * c, c).astype(_F32), gj, k_ref, g_ref, j * c, c)
    dv += scale * _dot(a, doj, mm, ta=True)
    dat = _dot(vj, doj, mm, tb=True)                                # [s, r] = dA[r, s]
    rows = _iota(kj.shape, 0)

    def dk_body(r, acc, dat=dat, gj=gj, rows=rows, base=j * c):
      col = jnp.sum(jnp.where(cols == r, dat, 0.0), axis=1, keepdims=True)  # dA[r, :] as a column
      e = jnp.exp(jnp.where(rows <= r, _rows(g_ref, base + r, 1) - gj, -jnp.inf))
      return acc + col * _rows(q_ref, base + r, 1).astype(_F32) * e

    dk = lax.fori_loop(0, c, lambda r, acc: dk_body(r, acc), jnp.zeros_like(dk)) * scale + dk
    dk_ref[pl.ds(j * c, c), :] = dk
    dv_ref[pl.ds(j * c, c), :] = dv


def _intra_kernel(q_ref, k_ref, g_ref, a_ref, *, C, c, mm):
  """Intra-chunk scores ``A_rs = Σ_k q_rk k_sk e^{G_rk − G_sk}`` (r ≥ s; zero above), no scale, f32 [C, C]."""
  ns = C // c
  for i in range(ns):
    qi = _rows(q_ref, i * c, c).astype(_F32)
    gi, ga = _rows(g_ref, i * c, c), _rows(g_ref, i * c, 1)          # anchor: first row of sub-chunk i
    qa = qi * jnp.exp(gi - ga)
    for j in range(ns):
      if j < i:                                                     # below the diagonal: a matmul
        kb = _rows(k_ref, j * c, c).astype(_F32) * jnp.exp(ga - _rows(g_ref, j * c, c))
        tile = _dot(qa, kb, mm, tb=True)
      elif j == i:                                                  # diagonal: element-wise, log space
        tile = _diag_scores(qi, gi, k_ref, g_ref, i * c, c)
      else:
        tile = jnp.zeros((c, c), _F32)
      a_ref[pl.ds(i * c, c), pl.ds(j * c, c)] = tile


def _output_split_kernel(q_ref, v_ref, g_ref, h_ref, a_ref, o_ref, *, scale, mm):
  """``o = scale · ((Q ⊙ e^G) h + A V)`` for one chunk and value tile."""
  qg = q_ref[...].astype(_F32) * jnp.exp(g_ref[...])
  acc = _dot(qg, h_ref[...], mm) + _dot(a_ref[...], v_ref[...], mm)
  o_ref[...] = (scale * acc).astype(o_ref.dtype)


def _dqk_intra_kernel(q_ref, k_ref, v_ref, g_ref, do_ref, dq_ref, dk_ref, *, C, c, scale, mm_in, mm32):
  """Intra-chunk dq, dk (f32) of one chunk: ``dA = dO Vᵀ`` tile by tile over the whole value dim, then
  ``dq_r = scale Σ_{s≤r} dA_rs k_s e^{G_r−G_s}``, ``dk_s = scale Σ_{r≥s} dA_rs q_r e^{G_r−G_s}`` with the
  same sub-chunk split as the forward (anchored matmuls below the diagonal, log space on it)."""
  ns = C // c
  cols = _iota((c, c), 1)

  def da_tile(i, j):                                                # dA[i-block, j-block], exact products
    return _dot(_rows(do_ref, i * c, c), _rows(v_ref, j * c, c), mm_in, tb=True)

  for i in range(ns):
    qi = _rows(q_ref, i * c, c).astype(_F32)
    gi, ga = _rows(g_ref, i * c, c), _rows(g_ref, i * c, 1)
    acc = jnp.zeros(qi.shape, _F32)
    for j in range(i):
      kb = _rows(k_ref, j * c, c).astype(_F32) * jnp.exp(ga - _rows(g_ref, j * c, c))
      acc += _dot(da_tile(i, j), kb, mm32)
    dq = acc * jnp.exp(gi - ga)
    da = da_tile(i, i)
    rows = _iota(qi.shape, 0)

    def dq_body(s, acc, da=da, gi=gi, rows=rows, base=i * c):
      col = jnp.sum(jnp.where(cols == s, da, 0.0), axis=1, keepdims=True)   # dA[:, s]
      e = jnp.exp(jnp.where(rows >= s, gi - _rows(g_ref, base + s, 1), -jnp.inf))
      return acc + col * _rows(k_ref, base + s, 1).astype(_F32) * e

    dq_ref[pl.ds(i * c, c), :] = scale * lax.fori_loop(0, c, dq_body, dq)
  for j in range(ns):
    kj = _rows(k_ref, j * c, c).astype(_F32)
    gj = _rows(g_ref, j * c, c)
    dk = jnp.zeros(kj.shape, _F32)
    for i in range(j + 1, ns):
      gi, ga = _rows(g_ref, i * c, c), _rows(g_ref, i * c, 1)
      qa = _rows(q_ref, i * c, c).astype(_F32) * jnp.exp(gi - ga)
      dk += _dot(da_tile(i, j), qa, mm32, ta=True) * jnp.exp(ga - gj)
    dat = _dot(_rows(v_ref, j * c, c), _rows(do_ref, j * c, c), mm_in, tb=True)   # [s, r] = dA[r, s]
    rows = _iota(kj.shape, 0)

    def dk_body(r, acc, dat=dat, gj=gj, rows=rows, base=j * c):
      col = jnp.sum(jnp.where(cols == r, dat, 0.0), axis=1, keepdims=True)  # dA[r, :] as a column
      e = jnp.exp(jnp.where(rows <= r, _rows(g_ref, base + r, 1) - gj, -jnp.inf))
      return acc + col * _rows(q_ref, base + r, 1).astype(_F32) * e

    dk_ref[pl.ds(j * c, c), :] = scale * lax.fori_loop(0, c, dk_body, dk)


def _inter_bwd_kernel(k_ref, v_ref, g_ref, h_ref, dh_ref, do_ref, a_ref, dqi_ref, dki_ref,
                      dq_ref, dk_ref, dv_ref, *, C, nv, bv, scale, mm32):
  """One chunk, all value tiles in a static loop (so dq, dk need no partial sums over tiles):
  ``dv = scale Aᵀ dO + (K ⊙ e^{Gl−G}) dH``, ``dq = dq_intra + scale (dO hᵀ) ⊙ e^G``,
  ``dk = dk_intra + (V dHᵀ) ⊙ e^{Gl−G}``."""
  kd = k_ref[...].astype(_F32) * jnp.exp(_rows(g_ref, C - 1, 1) - g_ref[...])   # K ⊙ e^{Gl − G}
  a = a_ref[...]
  dq = jnp.zeros(kd.shape, _F32)
  dk = jnp.zeros(kd.shape, _F32)
  for j in range(nv):
    cs = pl.ds(j * bv, bv)
    doj, vj, hj, dhj = do_ref[:, cs], v_ref[:, cs], h_ref[:, cs], dh_ref[:, cs]
    dv_ref[:, cs] = scale * _dot(a, doj, mm32, ta=True) + _dot(kd, dhj, mm32)
    dq += _dot(doj, hj, mm32, tb=True)
    dk += _dot(vj, dhj, mm32, tb=True)
  g = g_ref[...]                                                    # reloaded: fewer live registers
  dq_ref[...] = dqi_ref[...] + scale * dq * jnp.exp(g)
  dk_ref[...] = dki_ref[...] + dk * jnp.exp(_rows(g_ref, C - 1, 1) - g)


# ---------------------------------------------------------------------------------------------------
# pallas_call wrappers (arrays head-major [BH, T, D], T a multiple of C, D a power of two >= 16).



def _state_specs(t: int, nt: int, bk: int, bv: int):
  """BlockSpecs of the state passes, grid (BH, key tiles, value tiles)."""
  kspec = pl.BlockSpec((None, t, bk), lambda b, i, j: (b, 0, i))
  vspec = pl.BlockSpec((None, t, bv), lambda b, i, j: (b, 0, j))
  sspec = pl.BlockSpec((None, bk, bv), lambda b, i, j: (b, i, j))
  hspec = pl.BlockSpec((None, nt, bk, bv), lambda b, i, j: (b, 0, i, j))
  return kspec, vspec, sspec, hspec


def chunk_states(k: Array, v: Array, G: Array, h0: Array, *, C: int, interpret: bool = False,
                 backend: str = "auto", kc: cfg_lib.GLAKernelConfig = cfg_lib.DEFAULT) -> tuple[Array, Array]:
  """States at each chunk start and the final state; grid (BH, key tiles, value tiles).

  Args:
    k, G: [BH, T, K]; v: [BH, T, V]; h0: [BH, K, V] f32; C: chunk (T % C == 0).
  Returns:
    (h: [BH, N, K, V] f32, h[:, n] = state before chunk n; final state [BH, K, V] f32).
  """
  bh, t, kp = k.shape
  vp = v.shape[-1]
  nt = t // C
  be = resolve_backend(backend, interpret)
  bk, bv = kc.key_tile(kp, be), kc.value_tile(vp, be)
  kern = functools.partial(_states_kernel, nt=nt, C=C, mm=_mm(v.dtype, be, kc))
  kspec, vspec, sspec, hspec = _state_specs(t, nt, bk, bv)
  return _call(kern, (jax.ShapeDtypeStruct((bh, nt, kp, vp), _F32), jax.ShapeDtypeStruct((bh, kp, vp), _F32)),
               (bh, kp // bk, vp // bv), [kspec, vspec, kspec, sspec], [hspec, sspec],
               be, interpret, kc, "gla_chunk_states")(k, v, G, h0)


def chunk_output(q: Array, k: Array, v: Array, G: Array, h: Array, *, C: int, c: int, scale: float,
                 interpret: bool = False, backend: str = "auto",
                 kc: cfg_lib.GLAKernelConfig = cfg_lib.DEFAULT) -> Array:
  """Output of every chunk (inter + intra with secondary chunking), the scores recomputed in every value
  tile (``intra="fused"``). q, k, G: [BH, T, K]; v: [BH, T, V]; h: [BH, N, K, V]. Returns o: [BH, T, V]
  in v's dtype."""
  bh, t, kp = q.shape
  vp = v.shape[-1]
  be = resolve_backend(backend, interpret)
  bv = kc.value_tile(vp, be)
  kern = functools.partial(_output_kernel, C=C, c=c, scale=scale, mm=_mm(v.dtype, be, kc))
  kspec = pl.BlockSpec((None, C, kp), lambda b, n, j: (b, n, 0))
  vspec = pl.BlockSpec((None, C, bv), lambda b, n, j: (b, n, j))
  hspec = pl.BlockSpec((None, None, kp, bv), lambda b, n, j: (b, n, 0, j))
  return _call(kern, jax.ShapeDtypeStruct((bh, t, vp), v.dtype), (bh, t // C, vp // bv),
               [kspec, kspec, vspec, kspec, hspec], vspec,
               be, interpret, kc, "gla_chunk_output")(q, k, v, G, h)


def chunk_dstates(q: Array, do: Array, G: Array, dht: Array, *, C: int, scale: float,
                  interpret: bool = False, backend: str = "auto",
                  kc: cfg_lib.GLAKernelConfig = cfg_lib.DEFAULT) -> tuple[Array, Array]:
  """Cotangents of the state at each chunk end (reverse loop) and of the initial state; grid as
  :func:`chunk_states`.

  Args:
    q, G: [BH, T, K]; do: [BH, T, V]; dht: [BH, K, V] (cotangent of the final state).
  Returns:
    (dh: [BH, N, K, V] f32, dh[:, n] = dL/d(state after chunk n); dh0: [BH, K, V] f32).
  """
  bh, t, kp = q.shape
  vp = do.shape[-1]
  nt = t // C
  be = resolve_backend(backend, interpret)
  bk, bv = kc.key_tile(kp, be), kc.value_tile(vp, be)
  kern = functools.partial(_dstates_kernel, nt=nt, C=C, scale=scale, mm=_mm(_F32, be, kc))
  kspec, vspec, sspec, hspec = _state_specs(t, nt, bk, bv)
  return _call(kern, (jax.ShapeDtypeStruct((bh, nt, kp, vp), _F32), jax.ShapeDtypeStruct((bh, kp, vp), _F32)),
               (bh, kp // bk, vp // bv), [kspec, vspec, kspec, sspec], [hspec, sspec],
               be, interpret, kc, "gla_chunk_dstates")(q, do, G, dht)


def chunk_dqkv(q: Array, k: Array, v: Array, G: Array, h: Array, dh: Array, do: Array, *, C: int, c: int,
               scale: float, interpret: bool = False, backend: str = "auto",
               kc: cfg_lib.GLAKernelConfig = cfg_lib.DEFAULT) -> tuple[Array, Array, Array]:
  """dq, dk: [BH, T, K] f32 and dv: [BH, T, V] f32 of every chunk (grid (BH, N, V tiles), parallel;
  ``intra="fused"``).

  dq and dk are linear in the value columns (through ``dO hᵀ``, ``V dHᵀ`` and ``dA = dO Vᵀ``), so each
  value tile writes its partial sums to its own slab of a ``[NV, BH, T, K]`` buffer, summed here.
  """
  bh, t, kp = q.shape
  vp = v.shape[-1]
  be = resolve_backend(backend, interpret)
  bv = kc.value_tile(vp, be)
  nv = vp // bv
  kern = functools.partial(_dqkv_kernel, C=C, c=c, scale=scale, mm=_mm(_F32, be, kc))
  kspec = pl.BlockSpec((None, C, kp), lambda b, n, j: (b, n, 0))
  vspec = pl.BlockSpec((None, C, bv), lambda b, n, j: (b, n, j))
  hspec = pl.BlockSpec((None, None, kp, bv), lambda b, n, j: (b, n, 0, j))
  pspec = pl.BlockSpec((None, None, C, kp), lambda b, n, j: (j, b, n, 0))
  outs = (jax.ShapeDtypeStruct((nv, bh, t, kp), _F32), jax.ShapeDtypeStruct((nv, bh, t, kp), _F32),
          jax.ShapeDtypeStruct((bh, t, vp), _F32))
  dq, dk, dv = _call(kern, outs, (bh, t // C, nv),
                     [kspec, kspec, vspec, kspec, hspec, hspec, vspec], [pspec, pspec, vspec],
                     be, interpret, kc, "gla_chunk_dqkv")(q, k, v, G, h, dh, do)
  return jnp.sum(dq, axis=0), jnp.sum(dk, axis=0), dv


def chunk_intra(q: Array, k: Array, G: Array, *, C: int, c: int, interpret: bool = False, backend: str = "auto",
                kc: cfg_lib.GLAKernelConfig = cfg_lib.DEFAULT) -> Array:
  """Intra-chunk score matrices, once per chunk (grid (BH, N)). q, k, G: [BH, T, K].
  Returns A: [BH, T, C] f32, rows nC..nC+C-1 = chunk n's ``A_rs`` (r ≥ s, zero above; no scale)."""
  bh, t, kp = q.shape
  be = resolve_backend(backend, interpret)
  kern = functools.partial(_intra_kernel, C=C, c=c, mm=_mm(q.dtype, be, kc))
  kspec = pl.BlockSpec((None, C, kp), lambda b, n: (b, n, 0))
  aspec = pl.BlockSpec((None, C, C), lambda b, n: (b, n, 0))
  return _call(kern, jax.ShapeDtypeStruct((bh, t, C), _F32), (bh, t // C), [kspec, kspec, kspec], aspec,
               be, interpret, kc, "gla_chunk_intra")(q, k, G)


def chunk_output_split(q: Array, v: Array, G: Array, h: Array, A: Array, *, C: int, scale: float,
                       interpret: bool = False, backend: str = "auto",
                       kc: cfg_lib.GLAKernelConfig = cfg_lib.DEFAULT) -> Array:
  """``o = scale · ((Q ⊙ e^G) h + A V)``, grid (BH, N, value tiles). q, G: [BH, T, K]; v: [BH, T, V];
  h: [BH, N, K, V]; A: [BH, T, C]. Returns o: [BH, T, V] in v's dtype."""
  bh, t, kp = q.shape
  vp = v.shape[-1]
  be = resolve_backend(backend, interpret)
  bv = kc.value_tile(vp, be)
  kern = functools.partial(_output_split_kernel, scale=scale, mm=_mm(v.dtype, be, kc))
  kspec = pl.BlockSpec((None, C, kp), lambda b, n, j: (b, n, 0))
  vspec = pl.BlockSpec((None, C, bv), lambda b, n, j: (b, n, j))
  hspec = pl.BlockSpec((None, None, kp, bv), lambda b, n, j: (b, n, 0, j))
  aspec = pl.BlockSpec((None, C, C), lambda b, n, j: (b, n, 0))
  return _call(kern, jax.ShapeDtypeStruct((bh, t, vp), v.dtype), (bh, t // C, vp // bv),
               [kspec, vspec, kspec, hspec, aspec], vspec, be, interpret, kc, "gla_chunk_output")(q, v, G, h, A)


def chunk_dqk_intra(q: Array, k: Array, v: Array, G: Array, do: Array, *, C: int, c: int, scale: float,
                    interpret: bool = False, backend: str = "auto",
                    kc: cfg_lib.GLAKernelConfig = cfg_lib.DEFAULT) -> tuple[Array, Array]:
  """Intra-chunk dq, dk: [BH, T, K] f32, grid (BH, N). q, k, G: [BH, T, K]; v, do: [BH, T, V]."""
  bh, t, kp = q.shape
  vp = v.shape[-1]
  be = resolve_backend(backend, interpret)
  kern = functools.partial(_dqk_intra_kernel, C=C, c=c, scale=scale, mm_in=_mm(v.dtype, be, kc),
                           mm32=_mm(_F32, be, kc))
  kspec = pl.BlockSpec((None, C, kp), lambda b, n: (b, n, 0))
  vspec = pl.BlockSpec((None, C, vp), lambda b, n: (b, n, 0))
  outs = (jax.ShapeDtypeStruct((bh, t, kp), _F32),) * 2
  return _call(kern, outs, (bh, t // C), [kspec, kspec, vspec, kspec, vspec], [kspec, kspec],
               be, interpret, kc, "gla_chunk_dqk_intra")(q, k, v, G, do)


def chunk_inter_bwd(k: Array, v: Array, G: Array, h: Array, dh: Array, do: Array, A: Array, dq_intra: Array,
                    dk_intra: Array, *, C: int, scale: float, interpret: bool = False, backend: str = "auto",
                    kc: cfg_lib.GLAKernelConfig = cfg_lib.DEFAULT) -> tuple[Array, Array, Array]:
  """Final dq, dk: [BH, T, K] f32 and dv: [BH, T, V] f32, grid (BH, N); the value tiles are a static loop
  inside each program. h, dh: [BH, N, K, V]; A: [BH, T, C]; dq_intra, dk_intra from :func:`chunk_dqk_intra`."""
  bh, t, kp = k.shape
  vp = v.shape[-1]
  be = resolve_backend(backend, interpret)
  bv = kc.value_tile(vp, be)
  kern = functools.partial(_inter_bwd_kernel, C=C, nv=vp // bv, bv=bv, scale=scale, mm32=_mm(_F32, be, kc))
  kspec = pl.BlockSpec((None, C, kp), lambda b, n: (b, n, 0))
  vspec = pl.BlockSpec((None, C, vp), lambda b, n: (b, n, 0))
  hspec = pl.BlockSpec((None, None, kp, vp), lambda b, n: (b, n, 0, 0))
  aspec = pl.BlockSpec((None, C, C), lambda b, n: (b, n, 0))
  outs = (jax.ShapeDtypeStruct((bh, t, kp), _F32), jax.ShapeDtypeStruct((bh, t, kp), _F32),
          jax.ShapeDtypeStruct((bh, t, vp), _F32))
  return _call(kern, outs, (bh, t // C), [kspec, vspec, kspec, hspec, hspec, vspec, aspec, kspec, kspec],
               [kspec, kspec, vspec], be, interpret, kc, "gla_chunk_inter_bwd")(
                   k, v, G, h, dh, do, A, dq_intra, dk_intra)


# ---------------------------------------------------------------------------------------------------
# custom_vjp core and the padded/transposed entry.


def _forward(q, k, v, G, h0, static):
  C, c, scale, interpret, backend, kc = static
  kw = dict(interpret=interpret, backend=backend, kc=kc)
  h, ht = chunk_states(k, v, G, h0, C=C, **kw)
  if kc.intra == "fused":
    return chunk_output(q, k, v, G, h, C=C, c=c, scale=scale, **kw), ht, None
  A = chunk_intra(q, k, G, C=C, c=c, **kw)
  return chunk_output_split(q, v, G, h, A, C=C, scale=scale, **kw), ht, A


@functools.partial(jax.custom_vjp, nondiff_argnums=(5,))
def _core(q, k, v, G, h0, static):
  o, ht, _ = _forward(q, k, v, G, h0, static)
  return o, ht


def _core_fwd(q, k, v, G, h0, static):
  o, ht, A = _forward(q, k, v, G, h0, static)
  return (o, ht), (q, k, v, G, h0, A)        # A (f32, C per token) is kept, as fla does; h is recomputed


def _core_bwd(static, res, cts):
  C, c, scale, interpret, backend, kc = static
  kw = dict(interpret=interpret, backend=backend, kc=kc)
  q, k, v, G, h0, A = res
  do, dht = cts
  do = do.astype(v.dtype)
  bh, t, kp = q.shape
  nt = t // C
  h, ht = chunk_states(k, v, G, h0, C=C, **kw)
  dh, dh0 = chunk_dstates(q, do, G, dht.astype(_F32), C=C, scale=scale, **kw)
  if kc.intra == "fused":
    dq, dk, dv = chunk_dqkv(q, k, v, G, h, dh, do, C=C, c=c, scale=scale, **kw)
  else:
    dqi, dki = chunk_dqk_intra(q, k, v, G, do, C=C, c=c, scale=scale, **kw)
    dq, dk, dv = chunk_inter_bwd(k, v, G, h, dh, do, A, dqi, dki, C=C, scale=scale, **kw)
  # d/dG: q ⊙ dq − k ⊙ dk on every row, plus Σ_v S_end ⊙ dH on each chunk's last row.
  dG = q.astype(_F32) * dq - k.astype(_F32) * dk
  s_end = jnp.concatenate([h[:, 1:], ht[:, None]], axis=1)          # state after chunk n: [BH, N, K, V]
  last = jnp.sum(s_end * dh, axis=-1)                               # [BH, N, K]
  dG = (dG.reshape(bh, nt, C, kp).at[:, :, C - 1, :].add(last)).reshape(bh, t, kp)
  return dq.astype(q.dtype), dk.astype(k.dtype), dv.astype(v.dtype), dG, dh0


_core.defvjp(_core_fwd, _core_bwd)


def gla_pallas(q: Array, k: Array, v: Array, log_g: Array, scale: float, initial_state: Array | None = None,
               chunk_size: int = 64, *, interpret: bool = False, backend: str = "auto",
               kc: cfg_lib.GLAKernelConfig = cfg_lib.DEFAULT) -> tuple[Array, Array]:
  """GLA through the Pallas kernels (no validation; the public entry is ``kernels.gla.gla``).

  Args:
    q, k, log_g: [B, T, H, K]; v: [B, T, H, V]; initial_state: [B, H, K, V] or None.
    chunk_size: upper bound on C (power of two ≥ 16); C = min(chunk_size, max(16, next_pow2(T))).
    interpret: run the kernels in the Pallas interpreter (CPU). backend: "auto" | "triton" | "tpu"
      (explicit values are what cross-lowering from a CPU host uses).
  Returns:
    (o: [B, T, H, V] in v's dtype, final state: [B, H, K, V] float32).
  """
  b, t, hh, kd = q.shape
  vd = v.shape[-1]
  C = cfg_lib.effective_chunk(chunk_size, t)
  c = min(cfg_lib.SUB_CHUNK, C)
  kp, vp = cfg_lib.padded_dim(kd), cfg_lib.padded_dim(vd)
  nt = -(-t // C)
  tp = nt * C

  def prep(x, d, dtype, clean=nonfinite.clean):  # [B, T, H, D] -> [BH, Tp, Dp], fused into the copy
    x = jnp.transpose(x, (0, 2, 1, 3)).reshape(b * hh, t, x.shape[-1])
    x = clean(x.astype(dtype))
    return jnp.pad(x, ((0, 0), (0, tp - t), (0, d - x.shape[-1])))

  # Zero gates and non-finite values (kernels/gla/nonfinite.py): the kernels see finite inputs and
  # log_g >= the float32 floor; the outputs are poisoned below.
  in_dt = jnp.promote_types(q.dtype, jnp.promote_types(k.dtype, v.dtype))
  qd, kd_, vd_ = prep(q, kp, in_dt), prep(k, kp, in_dt), prep(v, vp, in_dt)
  g = prep(log_g, kp, _F32, nonfinite.clean_gate)
  G = jnp.cumsum(g.reshape(b * hh, nt, C, kp), axis=2).reshape(b * hh, tp, kp)
  if initial_state is None:
    h0 = jnp.zeros((b * hh, kp, vp), _F32)
  else:
    h0 = jnp.pad(nonfinite.clean(initial_state.astype(_F32)).reshape(b * hh, kd, vd),
                 ((0, 0), (0, kp - kd), (0, vp - vd)))
  static = (C, c, float(scale), bool(interpret), backend, kc)
  o, ht = _core(qd, kd_, vd_, G, h0, static)
  o = jnp.transpose(o[:, :t, :vd].reshape(b, hh, t, vd), (0, 2, 1, 3)).astype(v.dtype)
  return nonfinite.poison(o, ht[:, :kd, :vd].reshape(b, hh, kd, vd), q, k, v, log_g, initial_state)
