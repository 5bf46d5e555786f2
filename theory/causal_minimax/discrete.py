"""Binary SCMs where h*(S) is exact: the joint is enumerated over all 2^n states and the sup over environments
is a max over every deterministic intervention function J_m: {0,1}^|Pa(m)| -> {0,1}.

The risk is linear in each conditional P^e(X_m = 1 | pa) (each appears once in the factorisation), so the sup
over all environments is attained at a vertex, i.e. a deterministic J. f_S(x_S, x_M) = E[Y | x_S, do(x_M)] is
computed from the truncated factorisation (the product of the non-mutable conditionals). Float64 numpy
(enumeration; no optimisation involved).
"""
from __future__ import annotations

import itertools

import numpy as np

from theory.causal_minimax.graph import ENV, Graph, make_graph, whole_set_optimal, x_m0, k_set

__all__ = ["random_binary_scm", "exact_worst_case"]

MAX_NODES = 12
MAX_MUTABLE_PARENTS = 2


def random_binary_scm(seed: int, n_stable: int = 5, n_mutable: int = 2, p_edge: float = 0.4):
  """A random binary SCM: ``(graph, cpts)`` with ``cpts[v]: [2^|Pa(v)|]`` = P(v = 1 | pa) (pa bits in
  ``graph.pa(v)`` order, first parent = lowest bit), logistic in the parents with weights ±U(1, 3), bias U(-1, 1).
  Mutable nodes have at most 2 parents; Y is never mutable."""
  fn = "random_binary_scm"
  for name, v, lo in (("n_stable", n_stable, 1), ("n_mutable", n_mutable, 1)):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
      raise ValueError(f"{fn}: {name}: expected an int >= {lo}, got {v!r}")
  if 1 + n_stable + n_mutable > MAX_NODES:
    raise ValueError(f"{fn}: n_stable + n_mutable: expected at most {MAX_NODES - 1} covariates, got "
                     f"{n_stable + n_mutable}")
  if not (isinstance(p_edge, (int, float)) and 0 < p_edge <= 1):
    raise ValueError(f"{fn}: p_edge: expected a probability in (0, 1], got {p_edge!r}")
  rng = np.random.default_rng(seed)
  names = ["Y"] + [f"X{i + 1}" for i in range(n_stable)] + [f"M{i + 1}" for i in range(n_mutable)]
  order = [str(v) for v in rng.permutation(names)]
  parents = {}
  for i, v in enumerate(order):
    cand = [u for u in order[:i] if rng.random() < p_edge]
    if v.startswith("M") and len(cand) > MAX_MUTABLE_PARENTS:
      cand = [str(u) for u in rng.choice(cand, MAX_MUTABLE_PARENTS, replace=False)]
    parents[v] = tuple(cand) + ((ENV,) if v.startswith("M") else ())
  g = make_graph(parents, "Y")
  cpts = {}
  for v in g.nodes:
    k = len(g.pa(v))
    w = rng.choice([-1.0, 1.0], k) * rng.uniform(1, 3, k)
    bits = (np.arange(2 ** k)[:, None] >> np.arange(k)[None]) & 1
    cpts[v] = 1 / (1 + np.exp(-(rng.uniform(-1, 1) + bits @ w)))
  return g, cpts


def exact_worst_case(g: Graph, cpts) -> dict:
  """Exact h*(S) for every S ⊆ X_S: ``{subset tuple: h*}`` (max over all deterministic J combinations)."""
  fn = "exact_worst_case"
  if not isinstance(g, Graph):
    raise TypeError(f"{fn}: graph: expected a Graph, got {type(g).__name__}")
  n = len(g.nodes)
  if n > MAX_NODES:
    raise ValueError(f"{fn}: graph: expected at most {MAX_NODES} nodes, got {n}")
  for v in g.nodes:
    c = np.asarray(cpts.get(v, []), np.float64)
    if c.shape != (2 ** len(g.pa(v)),) or np.any(c <= 0) or np.any(c >= 1):
      raise ValueError(f"{fn}: cpts[{v!r}]: expected {2 ** len(g.pa(v))} probabilities in (0, 1)")
  states = (np.arange(2 ** n)[:, None] >> np.arange(n)[None]) & 1       # [2^n, n]
  col = {v: i for i, v in enumerate(g.nodes)}

  def pa_index(v):
    return sum((states[:, col[p]] << j for j, p in enumerate(g.pa(v))), np.zeros(2 ** n, int))

  p_stable = np.ones(2 ** n)
  for v in g.nodes:
    if v not in g.mutable:
      p1 = np.asarray(cpts[v])[pa_index(v)]
      p_stable *= np.where(states[:, col[v]] == 1, p1, 1 - p1)
  y = states[:, col[g.target]].astype(np.float64)
  # indicator of every deterministic J combination: [C, 2^n]
  per_m = []
  for m in g.mutable:
    k = len(g.pa(m))
    idx = pa_index(m)
    tables = (np.arange(2 ** (2 ** k))[:, None] >> np.arange(2 ** k)[None]) & 1   # [T, 2^k]
    per_m.append(tables[:, idx] == states[None, :, col[m]])
  ind = np.ones((1, 2 ** n), bool)
  for a in per_m:
    ind = (ind[:, None] & a[None]).reshape(-1, 2 ** n)
  w = ind * p_stable[None]                                            # [C, 2^n]
  out = {}
  xs = g.stable
  for r in range(len(xs) + 1):
    for s in itertools.combinations(xs, r):
      keep = [col[v] for v in s] + [col[m] for m in g.mutable]
      key = (states[:, keep] << np.arange(len(keep))[None]).sum(1) if keep else np.zeros(2 ** n, int)
      num = np.bincount(key, p_stable * y, minlength=2 ** len(keep))
      den = np.bincount(key, p_stable, minlength=2 ** len(keep))
      f = (num / den)[key]
      out[s] = float(np.max(w @ (y - f) ** 2))
  return out
