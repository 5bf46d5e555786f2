"""Experiments of paper 23: dictionary vs tree terms on polynomial expansion; e-graph optimisation of
reaction-network right-hand sides (cost, jaxpr equations, compile and run time)."""
from __future__ import annotations

import time
from typing import Sequence

import numpy as np

from kernels.symbolic import codegen, egraph, rewrite
from kernels.symbolic.terms import Sym, add, from_sympy, to_dict_form, to_sympy

__all__ = ["poly_expansion_timing", "optimize_exprs", "sympy_cse_exprs", "network_benchmark", "METHODS"]

_P = "kernels.symbolic."
METHODS = ("naive", "egraph", "sympy_cse")


def _count(x) -> int:
  from kernels.symbolic.terms import arguments, iscall, operation
  return len(arguments(x)) if iscall(x) and operation(x) == "+" else 1


def poly_expansion_timing(degrees: Sequence[int], n_vars: int = 3, repeats: int = 3) -> dict:
  """Time ``simplify(expand((1 + x_1 + ... + x_v)^d))`` in the tree and the dictionary representation (the
  same generic rewriters; the tree collects like terms in ``simplify``, the dictionary form while building).

  Returns ``{"degrees", "tree_s", "dict_s" ([len(degrees), repeats] seconds), "terms" (result sizes, equal
  for both forms)}``.
  """
  fn = f"{_P}poly_expansion_timing"
  if not degrees or any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1 for d in degrees):
    raise ValueError(f"{fn}: degrees: expected ints >= 1, got {degrees!r}")
  if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
    raise ValueError(f"{fn}: repeats: expected an int >= 1, got {repeats!r}")
  p = add(1, *[Sym(f"x{i}") for i in range(n_vars)])
  tree_s = np.zeros((len(degrees), repeats))
  dict_s = np.zeros((len(degrees), repeats))
  terms = []
  for i, d in enumerate(degrees):
    for r in range(repeats):
      e = p ** int(d)
      t0 = time.perf_counter()
      a = rewrite.simplify(rewrite.expand(e))
      tree_s[i, r] = time.perf_counter() - t0
      e2 = to_dict_form(e)
      t0 = time.perf_counter()
      b = rewrite.simplify(rewrite.expand(e2))
      dict_s[i, r] = time.perf_counter() - t0
    if _count(a) != _count(b):
      raise RuntimeError(f"{fn}: tree and dictionary results differ in size ({_count(a)} vs {_count(b)})")
    terms.append(_count(a))
  return {"degrees": [int(d) for d in degrees], "tree_s": tree_s, "dict_s": dict_s, "terms": terms}


def optimize_exprs(exprs, *, max_iter: int = 6, max_nodes: int = 3000, time_limit: float = 2.0) -> dict:
  """E-graph-optimise each expression separately (numbers pass through). Returns ``{"exprs", "statuses"}``."""
  out, statuses = [], []
  for e in exprs:
    if isinstance(e, (int, float)):
      out.append(e)
      continue
    t, _, rep = egraph.optimize(e, max_iter=max_iter, max_nodes=max_nodes, time_limit=time_limit)
    out.append(t)
    statuses.append(rep.status)
  return {"exprs": out, "statuses": statuses}


def sympy_cse_exprs(exprs) -> list:
  """SymPy ``cse`` of the expressions, substituted back as a hash-consed DAG (so the emitter computes each
  common subexpression once)."""
  import sympy as sp
  reps, reduced = sp.cse([to_sympy(e) for e in exprs])
  env = {}
  for s, v in reps:
    env[s] = v.xreplace(env)
  return [from_sympy(r.xreplace(env)) if isinstance(r, sp.Basic) else r for r in reduced]


def _median_time(f, args, repeats):
  ts = []
  for _ in range(repeats):
    t0 = time.perf_counter()
    f(*args).block_until_ready()
    ts.append(time.perf_counter() - t0)
  return np.asarray(ts)


def network_benchmark(w, *, batch: int = 256, repeats: int = 30, rounds: int = 5, seed: int = 0,
                      rk4_steps: int = 0, max_iter: int = 6, max_nodes: int = 3000, time_limit: float = 2.0) -> dict:
  """Benchmark one workload: per method (naive traced code, e-graph extraction, SymPy cse) the tree cost of
  the outputs (``egraph.term_cost``), the jaxpr equation count, compile time, and ``rounds`` interleaved rounds
  of ``repeats`` timed calls of the jitted RHS on ``[n, batch]`` positive inputs (round medians kept, the
  pairs for a bootstrap). Also checks the three agree (float64 not needed: float32 inputs, max relative
  difference reported). ``rk4_steps > 0`` also times an RK4 solve in ``lax.fori_loop``.
  """
  import jax
  import jax.numpy as jnp
  n, m = w.n_species, w.n_params
  exprs = codegen.trace(w.rhs, ("x", n), ("k", m))
  args = [[Sym(f"x{i}") for i in range(n)], [Sym(f"k{r}") for r in range(m)]]
  t0 = time.perf_counter()
  opt = optimize_exprs(exprs, max_iter=max_iter, max_nodes=max_nodes, time_limit=time_limit)
  t_opt = time.perf_counter() - t0
  t0 = time.perf_counter()
  cse = sympy_cse_exprs(exprs)
  t_cse = time.perf_counter() - t0
  variants = {"naive": (exprs, False), "egraph": (opt["exprs"], False), "sympy_cse": (cse, True)}
  rng = np.random.default_rng(seed)
  x = jnp.asarray(rng.uniform(0.5, 1.5, (n, batch)), jnp.float32)
  k = jnp.asarray(rng.uniform(0.5, 1.5, (m,)), jnp.float32)
  out, fns = {}, {}
  for name, (es, cse_flag) in variants.items():
    f = codegen.build_function(es, args, jit=False, cse=cse_flag)
    eqns = len(jax.make_jaxpr(f)(x, k).jaxpr.eqns)
    jf = jax.jit(f)
    t0 = time.perf_counter()
    compiled = jf.lower(x, k).compile()
    comp = time.perf_counter() - t0
    y = compiled(x, k)
    y.block_until_ready()
    fns[name] = compiled
    cost = float(sum(egraph.term_cost(e) for e in es if not isinstance(e, (int, float))))
    out[name] = {"cost": cost, "eqns": eqns, "compile_s": comp, "y": np.asarray(y), "round_medians": []}
  for _ in range(rounds):
    for name in METHODS:
      out[name]["round_medians"].append(float(np.median(_median_time(fns[name], (x, k), repeats))))
  ref = out["naive"]["y"]
  for name in METHODS:
    d = out[name].pop("y")
    out[name]["max_rel_diff"] = float(np.max(np.abs(d - ref) / np.maximum(np.abs(ref), 1e-6)))
    out[name]["median_s"] = float(np.median(out[name]["round_medians"]))
  if rk4_steps:
    h = 1e-3
    for name in METHODS:
      g = fns[name]
      f = codegen.build_function(variants[name][0], args, jit=False, cse=variants[name][1])

      def solve(x0, k, f=f):
        def step(_, y):
          k1 = f(y, k); k2 = f(y + h / 2 * k1, k); k3 = f(y + h / 2 * k2, k); k4 = f(y + h * k3, k)
          return y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        return jax.lax.fori_loop(0, rk4_steps, step, x0)
      s = jax.jit(solve).lower(x, k).compile()
      s(x, k).block_until_ready()
      out[name]["rk4_s"] = float(np.median(_median_time(s, (x, k), max(3, repeats // 5))))
  return {"name": w.name, "n_species": n, "n_params": m, "methods": out, "egraph_statuses": opt["statuses"],
          "egraph_seconds": t_opt, "cse_seconds": t_cse}
