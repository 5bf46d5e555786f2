"""Code generation to JAX and symbolic tracing of numpy-style code (Symbolics' ``build_function`` and tracing).

``build_function(exprs, args)`` walks the terms (any representation) and emits ``jnp`` calls; the result is
``f(*arrays) -> stack of outputs`` (``jax.jit``-ed unless ``jit=False``). Each entry of ``args`` is one
array argument: a list of symbols, symbol ``i`` read as ``array[i]`` (so extra trailing axes, e.g. a batch,
vectorise the generated code). ``cse=True`` emits each distinct (hash-consed) subterm once; ``cse=False``
emits the tree as written (XLA's own CSE may still merge duplicates).

``trace(fn, ("x", n), ("k", m))`` calls numpy-style ``fn`` on object arrays of symbols ``x0..x{n-1}``,
``k0..``; the operators and ``np.exp``/``np.sin``/... on object arrays build tree terms (multiple-dispatch
tracing in the paper; here Python's operator overloading and numpy's object-array method calls).
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from kernels.symbolic.terms import Sym, Term, free_symbols, is_number, to_tree

__all__ = ["build_function", "trace", "symbolic_array", "JNP_OPS"]

_P = "kernels.symbolic."


def _jnp_ops():
  import jax.numpy as jnp

  def _sum(*a):
    out = a[0]
    for v in a[1:]:
      out = out + v
    return out

  def _prod(*a):
    out = a[0]
    for v in a[1:]:
      out = out * v
    return out

  def _pow(a, b):
    if is_number(b) and float(b).is_integer():
      return jnp.power(a, int(b))  # integer_pow
    return jnp.power(a, b)
  return {"+": _sum, "*": _prod, "^": _pow, "/": lambda a, b: a / b, "-": lambda a, b: a - b,
          "neg": lambda a: -a, "abs": jnp.abs, "exp": jnp.exp, "log": jnp.log, "log1p": jnp.log1p,
          "sqrt": jnp.sqrt, "sin": jnp.sin, "cos": jnp.cos, "tan": jnp.tan, "cot": lambda a: 1 / jnp.tan(a),
          "atan": jnp.arctan, "acos": jnp.arccos, "deg2rad": jnp.deg2rad, "rad2deg": jnp.rad2deg,
          "asind": lambda a: jnp.rad2deg(jnp.arcsin(a)), "acsch": lambda a: jnp.arcsinh(1 / a)}


JNP_OPS: dict[str, Callable] = {}


def _arg_groups(args, fn):
  if isinstance(args, (str, Sym)) or not isinstance(args, Sequence) or not args:
    raise TypeError(f"{fn}: args: expected a non-empty list of symbol lists, got {args!r}")
  groups = []
  for g in args:
    g = [g] if isinstance(g, Sym) else list(np.asarray(g, dtype=object).ravel()) if isinstance(g, np.ndarray) \
        else list(g)
    for s in g:
      if not isinstance(s, Sym):
        raise TypeError(f"{fn}: args: expected Sym entries, got {type(s).__name__} {s!r}")
    groups.append(g)
  return groups


def build_function(exprs, args, *, jit: bool = True, cse: bool = True) -> Callable:
  """A JAX function ``f(*arrays) -> jnp.stack([expr_0, expr_1, ...])`` of the terms ``exprs``.

  Raises ``ValueError`` if an expression has a free symbol outside ``args``.
  """
  fn = f"{_P}build_function"
  if not JNP_OPS:
    JNP_OPS.update(_jnp_ops())
  single = not isinstance(exprs, (list, tuple, np.ndarray))
  exprs = [exprs] if single else list(np.asarray(exprs, dtype=object).ravel()) if isinstance(exprs, np.ndarray) \
      else list(exprs)
  if not exprs:
    raise ValueError(f"{fn}: exprs: expected at least one expression")
  groups = _arg_groups(args, fn)
  index = {}
  for gi, g in enumerate(groups):
    for i, s in enumerate(g):
      if s.name in index:
        raise ValueError(f"{fn}: args: symbol {s.name!r} appears twice")
      index[s.name] = (gi, i)
  trees = [to_tree(e) for e in exprs]
  free = set().union(*(free_symbols(t) for t in trees)) - set(index)
  if free:
    raise ValueError(f"{fn}: exprs: free symbols {sorted(free)} are not in the argument list")
  for t in trees:
    _check_ops(t, fn)

  def f(*arrays):
    import jax.numpy as jnp
    if len(arrays) != len(groups):
      raise TypeError(f"{fn}: generated function takes {len(groups)} arrays, got {len(arrays)}")
    memo: dict = {}

    def emit(t):
      if isinstance(t, Sym):
        gi, i = index[t.name]
        return arrays[gi][i]
      if is_number(t):
        return t
      if cse and t in memo:
        return memo[t]
      out = JNP_OPS[t.op](*[emit(a) for a in t.args])
      if cse:
        memo[t] = out
      return out
    outs = [emit(t) for t in trees]
    shape = jnp.broadcast_shapes(*[jnp.shape(o) for o in outs], arrays[0][0].shape if len(arrays[0]) else ())
    dtype = jnp.result_type(*[a for a in arrays])
    return jnp.stack([jnp.broadcast_to(jnp.asarray(o, dtype), shape) for o in outs])

  if jit:
    import jax
    return jax.jit(f)
  return f


def _check_ops(t, fn):
  stack, seen = [t], set()
  while stack:
    x = stack.pop()
    if isinstance(x, Term) and x not in seen:
      seen.add(x)
      if x.op not in JNP_OPS:
        raise ValueError(f"{fn}: exprs: operation {x.op!r} has no jnp translation")
      stack.extend(x.args)


def symbolic_array(name: str, n: int) -> np.ndarray:
  """Object array of ``n`` symbols ``name0 .. name{n-1}``."""
  if not isinstance(name, str) or not name:
    raise TypeError(f"{_P}symbolic_array: name: expected a non-empty str, got {name!r}")
  if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
    raise ValueError(f"{_P}symbolic_array: n: expected an int >= 1, got {n!r}")
  out = np.empty(int(n), dtype=object)
  for i in range(int(n)):
    out[i] = Sym(f"{name}{i}")
  return out


def trace(fn: Callable, *specs: tuple[str, int]) -> list:
  """Call numpy-style ``fn`` on symbolic arrays (one per ``(name, n)`` spec) and return its outputs as a
  flat list of terms (numbers are kept as numbers)."""
  if not callable(fn):
    raise TypeError(f"{_P}trace: fn: expected a callable, got {type(fn).__name__}")
  if not specs:
    raise ValueError(f"{_P}trace: specs: expected at least one (name, n) pair")
  arrays = []
  for s in specs:
    if not (isinstance(s, tuple) and len(s) == 2):
      raise TypeError(f"{_P}trace: specs: expected (name, n) pairs, got {s!r}")
    arrays.append(symbolic_array(*s))
  out = fn(*arrays)
  flat = list(np.asarray(out, dtype=object).ravel())
  for v in flat:
    if not (is_number(v) or isinstance(v, (Sym, Term))):
      raise TypeError(f"{_P}trace: fn returned {type(v).__name__} {v!r}, not a term")
  return [v if not is_number(v) else (int(v) if float(v).is_integer() else float(v)) for v in flat]
