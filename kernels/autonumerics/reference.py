"""Float64 (or x87 long double) reference evaluator of straight-line programs: a plain register loop.

Real et al. "AutoNumerics-Zero: Automated Discovery of State-of-the-Art Mathematical Functions".
arXiv:2312.08472.

Short and readable on purpose: it is the oracle the jnp and Pallas evaluators are tested against.
Register semantics are those of :mod:`kernels.autonumerics.program`; IEEE special values propagate
(x = 0 in ``c/x`` gives inf, and ``c/inf`` gives 0, as in the paper's f10 at x = 0).
"""
from __future__ import annotations

import numpy as np

from kernels.autonumerics.program import OP_ADD, OP_DIV, OP_FMA, OP_MUL, OP_SQRT, OP_SUB, Program, validate

__all__ = ["evaluate_reference", "target_exp2"]


def evaluate_reference(programs: Program, x, dtype=np.float64) -> np.ndarray:
  """Evaluates every program on every input with numpy in ``dtype`` (float64 or np.longdouble).

  Args:
    programs: one program ([L] fields) or a population ([P, L]).
    x: [N] inputs.
  Returns:
    [N] (one program) or [P, N] values in ``dtype``; FMA is ``a*b + c`` rounded twice (no fused op in
    numpy), which is exact enough for a float64 oracle of float64/float32 code.
  """
  p = validate(programs, "programs")
  x = np.asarray(x, dtype)
  if x.ndim != 1:
    raise ValueError(f"x: expected a 1-D array [N], got shape {x.shape}")
  single = p.ops.ndim == 1
  ops, a, b, c, out, consts = (np.atleast_1d(f) if single and f.ndim == 0 else (f[None] if single else f)
                               for f in p)
  res = np.empty((ops.shape[0], x.shape[0]), dtype)
  K, L = consts.shape[-1], ops.shape[-1]
  with np.errstate(all="ignore"):
    for j in range(ops.shape[0]):
      regs = [x] + [np.full_like(x, consts[j, k]) for k in range(K)]
      for i in range(L):
        u, v, w, op = regs[a[j, i]], regs[b[j, i]], regs[c[j, i]], ops[j, i]
        if op == OP_ADD:
          r = u + v
        elif op == OP_SUB:
          r = u - v
        elif op == OP_MUL:
          r = u * v
        elif op == OP_DIV:
          r = u / v
        elif op == OP_FMA:
          r = u * v + w
        elif op == OP_SQRT:
          r = np.sqrt(u)
        else:  # validate() rules this out
          raise AssertionError(op)
        regs.append(r)
      res[j] = regs[out[j]]
  return res[0] if single else res


def target_exp2(x, dtype=np.longdouble) -> np.ndarray:
  """2^x in ``dtype`` (x87 80-bit long double by default: 64-bit mantissa, as the paper's float80 labels)."""
  return np.exp2(np.asarray(x, dtype))
