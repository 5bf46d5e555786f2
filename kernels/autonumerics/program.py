"""Fixed-shape straight-line programs, the op counter, and the paper's programs.

Real, Chen, Ross-Knoop, ... Le. "AutoNumerics-Zero: Automated Discovery of State-of-the-Art
Mathematical Functions". 2023/2024. arXiv:2312.08472.

A program is a DAG written as straight-line SSA code over registers (shared by every implementation):

  ``r[0] = x``, ``r[1..K] = consts``, ``r[K+1+i] = op_i(r[a_i], r[b_i], r[c_i])`` for ``i < L``,
  output ``r[out]``; operands must satisfy ``a_i, b_i, c_i < K+1+i`` so the code is always a DAG.

Ops (``OP_*``): ``ADD a+b``, ``SUB a-b``, ``MUL a*b``, ``DIV a/b``, ``FMA a*b+c``, ``SQRT sqrt(a)``.
Unused operands (``b`` of SQRT, ``c`` of all but FMA) are ignored.

Cost (the paper's ``NumInteractionsCostEstimator``, §1.1 of the notes): the number of instructions that
depend on x (directly or through other instructions) *and* are reachable from ``out``; dead code and
constant-only sub-expressions (which fold to a constant) are free. :func:`op_count` computes it with one
forward pass (depends-on-x) and one backward pass (liveness) over the L slots, jit/vmap-able.

A population is the same NamedTuple with a leading ``[P]`` dim on every field.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array

__all__ = ["OP_ADD", "OP_SUB", "OP_MUL", "OP_DIV", "OP_FMA", "OP_SQRT", "OP_NAMES", "N_OPS", "Program",
           "Builder", "validate", "op_count", "op_count_np", "live_slots", "without_dead_code", "stack",
           "to_numpy", "horner", "pade", "paper_programs", "PAPER_ERRORS", "format_program"]

OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_FMA, OP_SQRT = range(6)
OP_NAMES = ("add", "sub", "mul", "div", "fma", "sqrt")
N_OPS = len(OP_NAMES)


class Program(NamedTuple):
  """A straight-line program (or a population of them with a leading [P] dim).

  Attributes:
    ops: [..., L] int32 op codes.
    a, b, c: [..., L] int32 operand registers (``< K + 1 + i`` for slot i).
    out: [...] int32 output register.
    consts: [..., K] float constants (float64 master copies; cast to the evaluation dtype).
  """
  ops: Array
  a: Array
  b: Array
  c: Array
  out: Array
  consts: Array

  @property
  def length(self) -> int:
    return int(self.ops.shape[-1])

  @property
  def n_consts(self) -> int:
    return int(self.consts.shape[-1])


def to_numpy(p: Program) -> Program:
  return Program(*(np.asarray(f) for f in p))


def stack(programs: list[Program]) -> Program:
  """Stacks single programs of equal (L, K) into a population ``[P, ...]``."""
  if not programs:
    raise ValueError("programs: expected at least one program, got an empty list")
  shapes = {(p.length, p.n_consts) for p in programs}
  if len(shapes) != 1:
    raise ValueError(f"programs: expected equal (L, K) for all, got {sorted(shapes)}")
  return Program(*(np.stack([np.asarray(f) for f in fields]) for fields in zip(*programs)))


def validate(p: Program, name: str = "program") -> Program:
  """Checks shapes, dtypes and the DAG condition on the host. Returns numpy fields.

  The integer fields (the program's structure) must be concrete: a traced one raises ``TypeError``. The
  constants may be traced (under ``jit``/``grad``: only their shape and dtype are checked, and they are
  returned as given), so a program can be differentiated or jitted with respect to its constants.
  """
  if not isinstance(p, Program):
    raise TypeError(f"{name}: expected a kernels.autonumerics.Program, got {type(p).__name__}")
  for fname, f in zip(Program._fields[:5], p[:5]):
    if isinstance(f, jax.core.Tracer):
      raise TypeError(f"{name}.{fname}: expected a concrete integer array (the program's structure is "
                      "checked on the host), got a traced value; close over the program's integer fields "
                      "instead of passing them through jit/vmap/grad (consts may be traced)")
  ops, a, b, c, out = (np.asarray(f) for f in p[:5])
  consts = p.consts if isinstance(p.consts, jax.core.Tracer) else np.asarray(p.consts)
  if ops.ndim < 1 or not (ops.shape == a.shape == b.shape == c.shape):
    raise ValueError(f"{name}: ops, a, b, c: expected equal shapes [..., L], got "
                     f"{ops.shape}, {a.shape}, {b.shape}, {c.shape}")
  if out.shape != ops.shape[:-1] or consts.shape[:-1] != ops.shape[:-1]:
    raise ValueError(f"{name}: expected out {ops.shape[:-1]} and consts {ops.shape[:-1]} + [K], got "
                     f"{out.shape} and {consts.shape}")
  for fname, f in (("ops", ops), ("a", a), ("b", b), ("c", c), ("out", out)):
    if not np.issubdtype(f.dtype, np.integer):
      raise TypeError(f"{name}.{fname}: expected an integer dtype, got {f.dtype}")
  if not jnp.issubdtype(consts.dtype, jnp.floating):
    raise TypeError(f"{name}.consts: expected a floating dtype, got {consts.dtype}")
  L, K = ops.shape[-1], consts.shape[-1]
  if ops.size and (ops.min() < 0 or ops.max() >= N_OPS):
    raise ValueError(f"{name}.ops: expected codes in [0, {N_OPS}), got range [{ops.min()}, {ops.max()}]")
  limit = K + 1 + np.arange(L)
  for fname, f in (("a", a), ("b", b), ("c", c)):
    if f.size and (f.min() < 0 or np.any(f >= limit)):
      bad = np.argwhere((f < 0) | (f >= limit))[0]
      raise ValueError(f"{name}.{fname}: expected 0 <= {fname}[i] < K+1+i (K={K}), got {f[tuple(bad)]} at "
                       f"index {tuple(bad)}")
  if out.size and (out.min() < 0 or out.max() >= K + 1 + L):
    raise ValueError(f"{name}.out: expected 0 <= out < K+1+L = {K + 1 + L}, got range [{out.min()}, {out.max()}]")
  return Program(ops.astype(np.int32), a.astype(np.int32), b.astype(np.int32), c.astype(np.int32),
                 out.astype(np.int32), consts)


def _uses(op):
  """(uses b, uses c) masks for op codes."""
  return op != OP_SQRT, op == OP_FMA


def op_count(p: Program) -> Array:
  """Number of x-dependent live instructions (the paper's "interactions"). jit/vmap-able.

  Args:
    p: a program ([L] fields) or population ([P, L]). Concrete programs are validated first
      (:func:`validate`: TypeError / ValueError naming the field); traced ones (inside jit/vmap) are not.
  Returns:
    [] or [P] int32 (an integer count: ``jax.grad`` refuses it; the constants do not enter it).
  """
  if not isinstance(p, Program):
    raise TypeError(f"op_count: p: expected a kernels.autonumerics.Program, got {type(p).__name__}")
  if not any(isinstance(f, jax.core.Tracer) for f in p):
    p = validate(p, "op_count: p")
  return _op_count_jit(jax.tree_util.tree_map(jnp.asarray, p))


@jax.jit
def _op_count_jit(p: Program) -> Array:
  if p.ops.ndim > 1:
    return jax.vmap(_op_count_one)(p)
  return _op_count_one(p)


def _op_count_one(p: Program) -> Array:
  L, K = p.ops.shape[-1], p.consts.shape[-1]
  nreg = K + 1 + L

  def fwd(i, xdep):
    ub, uc = _uses(p.ops[i])
    d = xdep[p.a[i]] | (ub & xdep[p.b[i]]) | (uc & xdep[p.c[i]])
    return xdep.at[K + 1 + i].set(d)

  def bwd(j, live):
    i = L - 1 - j
    li = live[K + 1 + i]
    ub, uc = _uses(p.ops[i])
    return live.at[p.a[i]].max(li).at[p.b[i]].max(li & ub).at[p.c[i]].max(li & uc)

  xdep = jax.lax.fori_loop(0, L, fwd, jnp.zeros((nreg,), bool).at[0].set(True))
  live = jax.lax.fori_loop(0, L, bwd, jnp.zeros((nreg,), bool).at[p.out].set(True))
  return jnp.sum(live[K + 1:] & xdep[K + 1:]).astype(jnp.int32)


def live_slots(p: Program) -> np.ndarray:
  """Host (numpy) liveness: ``[..., L]`` bool, True for the instructions that ``out`` reaches."""
  ops, a, b, c, out = (np.asarray(f) for f in p[:5])
  K, L = np.shape(p.consts)[-1], ops.shape[-1]
  if ops.size == 0:
    return np.zeros(ops.shape, bool)
  ops, a, b, c = (f.reshape(-1, L) for f in (ops, a, b, c))
  rows = np.arange(ops.shape[0])
  live = np.zeros((ops.shape[0], K + 1 + L), bool)
  live[rows, out.reshape(-1)] = True
  for i in reversed(range(L)):
    li = live[:, K + 1 + i]
    live[rows, a[:, i]] |= li
    live[rows, b[:, i]] |= li & (ops[:, i] != OP_SQRT)
    live[rows, c[:, i]] |= li & (ops[:, i] == OP_FMA)
  return live[:, K + 1:].reshape(np.shape(p.ops))


def without_dead_code(p: Program) -> Program:
  """The same program(s) with every dead instruction replaced by ``add(x, x)`` (host; output unchanged).

  Reverse-mode derivatives of the where-chain evaluator need it: a dead ``c / 0`` gets a zero cotangent,
  and ``0 / 0`` in its transpose would turn the constants' gradient into NaN.
  """
  live = live_slots(p)
  ops, a, b, c = (np.where(live, np.asarray(f), fill).astype(np.int32)
                  for f, fill in zip(p[:4], (OP_ADD, 0, 0, 0)))
  return Program(ops, a, b, c, p.out, p.consts)


def op_count_np(p: Program) -> np.ndarray:
  """Host (numpy) op count, the same definition as :func:`op_count`: [] or [P] int."""
  ops, a, b, c, out, consts = (np.asarray(f) for f in p)
  if ops.ndim > 1:
    return np.array([op_count_np(Program(*(f[j] for f in (ops, a, b, c, out, consts))))
                     for j in range(ops.shape[0])])
  L, K = ops.shape[-1], consts.shape[-1]
  dep = [True] + [False] * K
  for i in range(L):
    args = [a[i]] + ([b[i]] if ops[i] != OP_SQRT else []) + ([c[i]] if ops[i] == OP_FMA else [])
    dep.append(any(dep[j] for j in args))
  live = [False] * (K + 1 + L)
  live[int(out)] = True
  for i in reversed(range(L)):
    if live[K + 1 + i]:
      for j in [a[i]] + ([b[i]] if ops[i] != OP_SQRT else []) + ([c[i]] if ops[i] == OP_FMA else []):
        live[j] = True
  return np.int64(sum(live[K + 1 + i] and dep[K + 1 + i] for i in range(L)))


def _check_int(v, name: str, fn: str, lo: int) -> None:
  if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
    raise TypeError(f"{fn}: {name}: expected an int >= {lo}, got {type(v).__name__} {v!r}")
  if v < lo:
    raise ValueError(f"{fn}: {name}: expected an int >= {lo}, got {v}")


class Builder:
  """Hand-encodes a program: ``b = Builder(L, K); c = b.const(2.0); y = b.mul(b.x, c); p = b.build(y)``.

  Register handles are ints; unused slots are filled with dead ``add(x, x)`` and unused constants with 0.
  """

  def __init__(self, length: int, n_consts: int):
    _check_int(length, "length", "Builder", 1)
    _check_int(n_consts, "n_consts", "Builder", 0)
    self.L, self.K = int(length), int(n_consts)
    self.consts: list[float] = []
    self.instr: list[tuple[int, int, int, int]] = []
    self.x = 0

  def const(self, v: float) -> int:
    """A new constant register holding ``v`` (a concrete, finite real number; host-side, not traceable)."""
    if isinstance(v, jax.core.Tracer):
      raise TypeError("Builder.const: v: expected a concrete float, got a traced value (the builder is "
                      "host-side numpy code and not differentiable; differentiate "
                      "kernels.autonumerics.evaluate with respect to programs.consts instead)")
    a = np.asarray(v)
    if a.shape != () or not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
      raise TypeError(f"Builder.const: v: expected a real number, got {type(v).__name__} {v!r}")
    if not math.isfinite(float(v)):
      raise ValueError(f"Builder.const: v: expected a finite value, got {float(v)}")
    if len(self.consts) >= self.K:
      raise ValueError(f"Builder.const: more than K = {self.K} constants (n_consts)")
    self.consts.append(float(v))
    return len(self.consts)

  def _emit(self, op: int, a: int, b: int = 0, c: int = 0) -> int:
    fn = f"Builder.{OP_NAMES[op]}"
    if len(self.instr) >= self.L:
      raise ValueError(f"{fn}: more than L = {self.L} instructions (length)")
    limit = self.K + 1 + len(self.instr)      # registers defined so far: x, the K constants, earlier results
    for rname, r in (("a", a), ("b", b), ("c", c)):
      if isinstance(r, (bool, np.bool_)) or not isinstance(r, (int, np.integer)) or not 0 <= r < limit:
        raise ValueError(f"{fn}: {rname}: expected a register handle (an int in [0, {limit}): b.x, a "
                         f"b.const(...) or an earlier result), got {r!r}")
    self.instr.append((op, int(a), int(b), int(c)))
    return self.K + len(self.instr)

  def add(self, a, b): return self._emit(OP_ADD, a, b)
  def sub(self, a, b): return self._emit(OP_SUB, a, b)
  def mul(self, a, b): return self._emit(OP_MUL, a, b)
  def div(self, a, b): return self._emit(OP_DIV, a, b)
  def fma(self, a, b, c): return self._emit(OP_FMA, a, b, c)
  def sqrt(self, a): return self._emit(OP_SQRT, a)

  def build(self, out: int) -> Program:
    limit = self.K + 1 + len(self.instr)
    if isinstance(out, (bool, np.bool_)) or not isinstance(out, (int, np.integer)) or not 0 <= out < limit:
      raise ValueError(f"Builder.build: out: expected a register handle (an int in [0, {limit})), got {out!r}")
    instr = self.instr + [(OP_ADD, 0, 0, 0)] * (self.L - len(self.instr))
    ops, a, b, c = (np.array(col, np.int32) for col in zip(*instr))
    consts = np.zeros((self.K,), np.float64)
    consts[:len(self.consts)] = self.consts
    return validate(Program(ops, a, b, c, np.int32(out), consts))


def horner(coeffs, length: int = 16, n_consts: int = 8, fma: bool = False) -> Program:
  """``sum_k coeffs[k] x^k`` in Horner form: 2·d instructions (d with ``fma=True``), d = len(coeffs)-1."""
  coeffs = [float(v) for v in coeffs]
  b = Builder(length, n_consts)
  cs = [b.const(v) for v in coeffs]
  acc = cs[-1]
  for ck in reversed(cs[:-1]):
    acc = b.fma(acc, b.x, ck) if fma else b.add(b.mul(acc, b.x), ck)
  return b.build(acc)


def pade(num, den, length: int = 16, n_consts: int = 8) -> Program:
  """``P(x)/Q(x)`` with both in Horner form; ``den`` is made monic (top coefficient 1, so it is free)."""
  num, den = np.asarray(num, np.float64), np.asarray(den, np.float64)
  num, den = num / den[-1], den / den[-1]
  b = Builder(length, n_consts)
  cn = [b.const(v) for v in num]
  cd = [b.const(v) for v in den[:-1]]
  p = cn[-1]
  for ck in reversed(cn[:-1]):
    p = b.add(b.mul(p, b.x), ck)
  q = b.x                       # monic: q = x + d_{m-1}, then q = q*x + d_k
  q = b.add(q, cd[-1])
  for ck in reversed(cd[:-1]):
    q = b.add(b.mul(q, b.x), ck)
  return b.build(b.div(p, q))


# Constants of the paper's Figure-11 programs for 2^x on (0, 1] (as transliterated in alcides/aeon; the
# notes' errors were re-measured at 40 digits on 4,400 points).
PAPER_ERRORS = {2: 4.14e-2, 3: 1.23e-3, 5: 6.34e-6, 10: 3.52e-15}


def paper_programs(length: int = 12, n_consts: int = 6) -> dict[int, Program]:
  """The paper's f2, f3, f5 and f10 (keyed by op count) as programs of ``length`` slots (>= 10, f10's
  instructions) and ``n_consts`` constants (>= 5)."""
  _check_int(length, "length", "paper_programs", 10)
  _check_int(n_consts, "n_consts", "paper_programs", 5)
  progs = {}
  b = Builder(length, n_consts)
  c1, c2 = b.const(-2.1258595374472384), b.const(-2.0413845597733418)
  progs[2] = b.build(b.div(c1, b.add(c2, b.x)))
  b = Builder(length, n_consts)
  c1, c2, c3 = b.const(-8.387819235563974), b.const(1.4427239805682266), b.const(-3.4355225277901402)
  progs[3] = b.build(b.sub(b.div(c1, b.add(c3, b.x)), c2))
  b = Builder(length, n_consts)
  c1, c2 = b.const(25.596749740144819), b.const(17.746150088734609)
  c3, c4 = b.const(-0.99999366143081858), b.const(-8.8505996518073289)
  t = b.add(b.add(c4, b.x), b.div(c1, b.x))
  progs[5] = b.build(b.sub(b.div(c2, t), c3))
  b = Builder(length, n_consts)
  c1, c2, c3 = b.const(15141.981176922711), b.const(-250.55247494972059), b.const(5783.5330096027765)
  c4, c5 = b.const(501.10494991027866), b.const(-0.99999999999999956)
  u = b.add(b.x, b.div(c3, b.x))
  t = b.add(b.add(c2, u), b.div(c1, u))
  v = b.sub(b.div(c4, t), c5)
  v = b.mul(v, v)
  v = b.mul(v, v)
  progs[10] = b.build(b.mul(v, v))
  return progs


def format_program(p: Program) -> str:
  """Readable listing of the live code of one program (constants printed with 17 digits)."""
  ops, a, b, c, out, consts = (np.asarray(f) for f in p)
  K, L = consts.shape[-1], ops.shape[-1]
  live = [False] * (K + 1 + L)
  live[int(out)] = True
  for i in reversed(range(L)):
    if live[K + 1 + i]:
      for j in (a[i], b[i]) + ((c[i],) if ops[i] == OP_FMA else ()):
        live[j] = True

  def name(r):
    return "x" if r == 0 else (f"{consts[r - 1]:.17g}" if r <= K else f"t{r - K - 1}")
  lines = []
  for i in range(L):
    if not live[K + 1 + i]:
      continue
    o = OP_NAMES[ops[i]]
    args = [name(a[i])] + ([name(b[i])] if ops[i] != OP_SQRT else []) + ([name(c[i])] if ops[i] == OP_FMA else [])
    lines.append(f"t{i} = {o}({', '.join(args)})")
  lines.append(f"return {name(int(out))}")
  return "\n".join(lines)
