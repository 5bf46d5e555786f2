"""Pallas kernel evaluating a whole population of programs on a grid of inputs in one call.

Real et al. "AutoNumerics-Zero: Automated Discovery of State-of-the-Art Mathematical Functions".
arXiv:2312.08472.

Grid ``(P / block_p, N / block_n)``; BlockSpecs ``(block_p, L)`` for ops/a/b/c, ``(block_p, 1)`` for out,
``(block_p, K)`` for the constants, ``(1, block_n)`` for x and ``(block_p, block_n)`` for the output. The
body is :func:`kernels.autonumerics.xla.eval_block`, so on CPU (``interpret=True``) the result is
bitwise equal to the jnp evaluator. Float64 programs run only where the backend has float64 (CPU
interpret, GPU); TPU Mosaic has none.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax.experimental import pallas as pl

from kernels.autonumerics import config as cfg_lib
from kernels.autonumerics.program import Program
from kernels.autonumerics.xla import eval_block

Array = jax.Array

__all__ = ["evaluate_pallas"]


def _kernel(ops_ref, a_ref, b_ref, c_ref, out_ref, k_ref, x_ref, y_ref, *, ops_set):
  y_ref[...] = eval_block(ops_ref[...], a_ref[...], b_ref[...], c_ref[...], out_ref[...], k_ref[...],
                          x_ref[...], ops_set)


def _pad(v: Array, axis: int, mult: int) -> Array:
  n = v.shape[axis]
  extra = (-n) % mult
  if extra == 0:
    return v
  widths = [(0, 0)] * v.ndim
  widths[axis] = (0, extra)
  return jnp.pad(v, widths, mode="edge")


@functools.partial(jax.jit, static_argnames=("interpret", "cfg", "ops_set"))
def evaluate_pallas(programs: Program, x: Array, *, interpret: bool = False,
                    cfg: cfg_lib.EvalConfig = cfg_lib.DEFAULT,
                    ops_set: tuple[int, ...] = tuple(range(6))) -> Array:
  """Evaluates programs ``[P, L]`` on inputs ``x: [N]`` -> ``[P, N]`` (constants' dtype) in one pallas_call.

  Args:
    interpret: run the kernel in the Pallas interpreter (required on CPU).
    cfg: tile sizes; P and N are padded up to whole tiles (edge values) and the padding is cut off.
  """
  P, L = programs.ops.shape
  K = programs.consts.shape[1]
  N = x.shape[0]
  bp, bn = min(cfg.block_p, P), min(cfg.block_n, N)
  fields = [_pad(f, 0, bp) for f in (programs.ops, programs.a, programs.b, programs.c)]
  out = _pad(programs.out[:, None], 0, bp)
  consts = _pad(programs.consts, 0, bp)
  xp = _pad(x.astype(programs.consts.dtype)[None, :], 1, bn)
  Pp, Np = consts.shape[0], xp.shape[1]
  row = lambda w: pl.BlockSpec((bp, w), lambda i, j: (i, 0))
  y = pl.pallas_call(
      functools.partial(_kernel, ops_set=ops_set),
      out_shape=jax.ShapeDtypeStruct((Pp, Np), programs.consts.dtype),
      grid=(Pp // bp, Np // bn),
      in_specs=[row(L), row(L), row(L), row(L), row(1), row(K), pl.BlockSpec((1, bn), lambda i, j: (0, j))],
      out_specs=pl.BlockSpec((bp, bn), lambda i, j: (i, j)),
      interpret=interpret, name="autonumerics_population_eval",
  )(*fields, out, consts, xp)
  return y[:P, :N]
