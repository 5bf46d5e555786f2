"""jnp evaluator of a population of straight-line programs (the "where-chain" form).

Real et al. "AutoNumerics-Zero: Automated Discovery of State-of-the-Art Mathematical Functions".
arXiv:2312.08472.

Every operand is picked by comparing its register index with the static register numbers (a chain of
``where``), all ops are computed and the result is selected by op code; the L slots are unrolled
statically. No dynamic register indexing or scatter, so the same body (:func:`eval_block`) is also the
Pallas kernel body. Selects sit between instructions, so XLA can only fuse ``a*b + c`` inside an FMA
instruction (never across instructions), which keeps the jnp and Pallas forms bitwise equal on CPU.

Derivatives (with respect to x and the constants) are JAX's own through the chain. Reverse mode sends a
zero cotangent into every op that is computed but not selected, and ``0 · (a non-finite partial)`` is
NaN: an unselected ``u / v`` at v = 0 or ``sqrt(u)`` at u <= 0 would poison the gradient of the selected
op. :func:`eval_block` therefore feeds DIV a divisor of 1 and SQRT an operand of 1 in the slots where they
are not selected (the selected values are unchanged, bitwise). Non-finite values that the program really
computes (``c / x`` at x = 0) still give non-finite or NaN derivatives, as the math does; dead code that
computes them is harmless only once removed (``kernels.autonumerics.evaluate`` replaces dead instructions
by ``add(x, x)`` on the host, :func:`kernels.autonumerics.program.without_dead_code`).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from kernels.autonumerics.program import OP_ADD, OP_DIV, OP_FMA, OP_MUL, OP_SQRT, OP_SUB, Program

Array = jax.Array

__all__ = ["eval_block", "evaluate_xla", "eval_one", "eval_one_gather"]


_OPS = (OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_FMA, OP_SQRT)


def _select(idx: Array, regs: list[Array]) -> Array:
  """regs[idx] for a per-program index ``idx: [P, 1]`` by a where-chain over the static registers."""
  v = regs[0]
  for j in range(1, len(regs)):
    v = jnp.where(idx == j, regs[j], v)
  return v


def eval_block(ops: Array, a: Array, b: Array, c: Array, out: Array, consts: Array, x: Array,
               ops_set: tuple[int, ...] = (OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_FMA, OP_SQRT)) -> Array:
  """Evaluates a block of programs on a block of inputs.

  Args:
    ops, a, b, c: [P, L] int32; out: [P, 1] int32; consts: [P, K] (the compute dtype); x: [1, N].
    ops_set: op codes that may occur (others are not computed; a static pruning of the select chain).
  Returns:
    [P, N] in consts' dtype.
  """
  P, L = ops.shape
  K = consts.shape[1]
  N = x.shape[-1]
  dt = consts.dtype
  regs = [jnp.broadcast_to(x.astype(dt), (P, N))]
  regs += [jnp.broadcast_to(consts[:, k:k + 1], (P, N)) for k in range(K)]
  for i in range(L):
    op = ops[:, i:i + 1]
    u = _select(a[:, i:i + 1], regs)
    v = _select(b[:, i:i + 1], regs)
    codes = [k for k in sorted(_OPS) if k in ops_set]
    guard = len(codes) > 1
    cands = {OP_ADD: lambda: u + v, OP_SUB: lambda: u - v, OP_MUL: lambda: u * v,
             OP_DIV: lambda: u / (jnp.where(op == OP_DIV, v, 1) if guard else v),
             OP_FMA: lambda: u * v + _select(c[:, i:i + 1], regs),
             OP_SQRT: lambda: jnp.sqrt(jnp.where(op == OP_SQRT, u, 1) if guard else u)}
    r = cands[codes[0]]()
    for k in codes[1:]:
      r = jnp.where(op == k, cands[k](), r)
    regs.append(r)
  return _select(out, regs)


def evaluate_xla(programs: Program, x: Array, ops_set: tuple[int, ...] | None = None) -> Array:
  """Population evaluator in plain jnp: programs ``[P, L]`` (or one program ``[L]``) on x ``[N]``.

  Returns [P, N] (or [N]) in the constants' dtype. jit-able (``ops_set`` static).
  """
  single = programs.ops.ndim == 1
  p = jax.tree_util.tree_map(lambda f: f[None] if single else f, programs)
  ops_set = tuple(range(6)) if ops_set is None else tuple(ops_set)
  y = eval_block(p.ops, p.a, p.b, p.c, p.out[:, None], p.consts, jnp.asarray(x)[None, :], ops_set)
  return y[0] if single else y


def eval_one(ops: Array, a: Array, b: Array, c: Array, out: Array, consts: Array, x: Array,
             ops_set: tuple[int, ...] = tuple(range(6))) -> Array:
  """One program ([L] fields, consts [K]) on x [N] -> [N]; the form differentiated by ``jacfwd``."""
  return eval_block(ops[None], a[None], b[None], c[None], out[None, None], consts[None], x[None, :],
                    ops_set)[0]


def eval_one_gather(ops: Array, a: Array, b: Array, c: Array, out: Array, consts: Array, x: Array,
                    ops_set: tuple[int, ...] = tuple(range(6))) -> Array:
  """One program on x [N] with registers in an array and dynamic row reads (``lax.fori_loop``).

  The same arithmetic as :func:`eval_block` (hence the same values), but a much smaller graph: the
  search differentiates it with ``jacfwd`` inside ``vmap`` and ``scan``, where the unrolled
  where-chain took minutes to compile.
  """
  L, K, N = ops.shape[0], consts.shape[0], x.shape[0]
  dt = consts.dtype
  regs = jnp.zeros((K + 1 + L, N), dt)
  regs = regs.at[0].set(x.astype(dt))
  regs = regs.at[1:K + 1].set(jnp.broadcast_to(consts[:, None], (K, N)))

  def body(i, regs):
    u = jax.lax.dynamic_index_in_dim(regs, a[i], keepdims=False)
    v = jax.lax.dynamic_index_in_dim(regs, b[i], keepdims=False)
    w = jax.lax.dynamic_index_in_dim(regs, c[i], keepdims=False)
    op = ops[i]
    cands = {OP_ADD: lambda: u + v, OP_SUB: lambda: u - v, OP_MUL: lambda: u * v, OP_DIV: lambda: u / v,
             OP_FMA: lambda: u * v + w, OP_SQRT: lambda: jnp.sqrt(u)}
    codes = [k for k in sorted(cands) if k in ops_set]
    r = cands[codes[0]]()
    for k in codes[1:]:
      r = jnp.where(op == k, cands[k](), r)
    return jax.lax.dynamic_update_index_in_dim(regs, r, K + 1 + i, 0)

  regs = jax.lax.fori_loop(0, L, body, regs)
  return jax.lax.dynamic_index_in_dim(regs, out, keepdims=False)
