"""Augmented causal graphs (an environment node E -> X_M), the paper's graph quantities, d-separation and the
equivalence classes of stable subsets by Markov boundaries.

Paper: "Which Invariance Should We Transfer? A Causal Minimax Learning Approach", M. Liu, X. Zheng, X. Sun,
F. Fang, Y. Wang (ICML 2023), arXiv:2107.01876.

A graph is given by ``parents: {node: (parent, ...)}``; the reserved name ``"E"`` (``ENV``) marks the mutable
variables X_M (its children). Quantities (the reference ``graphparser``):
  X_M^0 = X_M ∩ Ch(Y),  K = De(X_M^0) \\ X_M^0,  whole stable set optimal if K ∩ Ch(Y) = ∅,
  X_do* = X_M^0 ∪ (De(X_M^0) \\ Ch(Y)),  regenerated in the do* samples: K ∩ Ch(Y).
De(.) here is the set of proper descendants. d-separation is decided on the moral graph of the ancestral set
(Lauritzen); Markov boundaries of Y within a subset S by greedy removal (unique: d-separation is a compositional
graphoid); two subsets are equivalent when their boundaries coincide (same predictor E[Y | x_S, do(x_M)]).
"""
from __future__ import annotations

import dataclasses
import itertools
from typing import Iterable, Mapping, Sequence

__all__ = ["ENV", "Graph", "make_graph", "x_m0", "k_set", "whole_set_optimal", "do_star_set", "regenerated_set",
           "d_separated", "markov_boundary", "stable_dag", "equivalence_classes"]

ENV = "E"


@dataclasses.dataclass(frozen=True)
class Graph:
  """A validated DAG over ``nodes`` (topological order) with the target and the mutable set.

  Attributes:
    nodes: every node except E, in a topological order.
    parents: tuple of parent tuples aligned with ``nodes`` (E excluded).
    target: Y.
    mutable: the children of E (X_M), in ``nodes`` order.
  """
  nodes: tuple[str, ...]
  parents: tuple[tuple[str, ...], ...]
  target: str
  mutable: tuple[str, ...]

  def pa(self, v: str) -> tuple[str, ...]:
    return self.parents[self.nodes.index(v)]

  def children(self, v: str) -> tuple[str, ...]:
    return tuple(u for u, p in zip(self.nodes, self.parents) if v in p)

  def descendants(self, vs: Iterable[str]) -> frozenset[str]:
    """Proper descendants of the set ``vs`` (nodes reachable by a directed path of length >= 1)."""
    out, stack = set(), [c for v in vs for c in self.children(v)]
    while stack:
      u = stack.pop()
      if u not in out:
        out.add(u)
        stack.extend(self.children(u))
    return frozenset(out)

  @property
  def stable(self) -> tuple[str, ...]:
    """X_S: the covariates that are neither the target nor mutable."""
    return tuple(v for v in self.nodes if v != self.target and v not in self.mutable)

  @property
  def covariates(self) -> tuple[str, ...]:
    """X_S then X_M: the input order of every predictor."""
    return self.stable + self.mutable


def make_graph(parents: Mapping[str, Sequence[str]], target: str) -> Graph:
  """Validates ``parents`` (``{node: parents}``, E among a node's parents marks it mutable) and returns a Graph.

  Raises ValueError for an unknown parent, a cycle, E -> Y, a node named E, or an unknown target."""
  fn = "make_graph"
  if not isinstance(parents, Mapping):
    raise TypeError(f"{fn}: parents: expected a mapping node -> parents, got {type(parents).__name__}")
  names = [str(v) for v in parents]
  if ENV in names:
    raise ValueError(f"{fn}: parents: {ENV!r} is the environment node and cannot be a variable")
  if not isinstance(target, str) or target not in names:
    raise ValueError(f"{fn}: target: expected one of the nodes {sorted(names)}, got {target!r}")
  pa = {}
  for v, ps in parents.items():
    if isinstance(ps, str):
      raise TypeError(f"{fn}: parents[{v!r}]: expected a sequence of node names, got the string {ps!r}")
    ps = tuple(ps)
    for p in ps:
      if p != ENV and p not in parents:
        raise ValueError(f"{fn}: parents[{v!r}]: unknown node {p!r}; known: {sorted(names)} and {ENV!r}")
    if len(set(ps)) != len(ps):
      raise ValueError(f"{fn}: parents[{v!r}]: repeated parent in {ps}")
    pa[v] = ps
  if ENV in pa[target]:
    raise ValueError(f"{fn}: parents: E -> {target} is not allowed: the target's mechanism must be stable "
                     f"(E points to the mutable covariates only)")
  order, state = [], {}

  def visit(v, path):
    if state.get(v) == 1:
      cyc = path[path.index(v):] + [v]
      raise ValueError(f"{fn}: parents: expected an acyclic graph, found the cycle {' -> '.join(reversed(cyc))}")
    if state.get(v) == 2:
      return
    state[v] = 1
    for p in pa[v]:
      if p != ENV:
        visit(p, path + [v])
    state[v] = 2
    order.append(v)

  for v in names:
    visit(v, [])
  mutable = tuple(v for v in order if ENV in pa[v])
  return Graph(tuple(order), tuple(tuple(p for p in pa[v] if p != ENV) for v in order), target, mutable)


def _check_graph(g, fn: str) -> Graph:
  if not isinstance(g, Graph):
    raise TypeError(f"{fn}: graph: expected a Graph (make_graph), got {type(g).__name__}")
  return g


def x_m0(g: Graph) -> tuple[str, ...]:
  """X_M^0 = X_M ∩ Ch(Y): the mutable children of the target."""
  g = _check_graph(g, "x_m0")
  ch = set(g.children(g.target))
  return tuple(v for v in g.mutable if v in ch)


def k_set(g: Graph) -> tuple[str, ...]:
  """K = De(X_M^0) \\ X_M^0."""
  g = _check_graph(g, "k_set")
  m0 = x_m0(g)
  de = g.descendants(m0)
  return tuple(v for v in g.nodes if v in de and v not in m0)


def whole_set_optimal(g: Graph) -> bool:
  """The paper's graphical condition K ∩ Ch(Y) = ∅ (True also when X_M^0 = ∅)."""
  g = _check_graph(g, "whole_set_optimal")
  return not (set(k_set(g)) & set(g.children(g.target)))


def do_star_set(g: Graph) -> tuple[str, ...]:
  """X_do* = X_M^0 ∪ (De(X_M^0) \\ Ch(Y)): the columns permuted jointly to build do* samples."""
  g = _check_graph(g, "do_star_set")
  m0 = set(x_m0(g))
  de = g.descendants(m0)
  ch = set(g.children(g.target))
  return tuple(v for v in g.nodes if v in m0 or (v in de and v not in ch))


def regenerated_set(g: Graph) -> tuple[str, ...]:
  """K ∩ Ch(Y): the nodes regenerated from their structural equations after the permutation (topological)."""
  g = _check_graph(g, "regenerated_set")
  ch = set(g.children(g.target))
  return tuple(v for v in k_set(g) if v in ch)


def _as_set(vs, g: Graph, name: str, fn: str) -> frozenset[str]:
  if isinstance(vs, str):
    vs = (vs,)
  out = frozenset(vs)
  bad = sorted(v for v in out if v not in g.nodes)
  if bad:
    raise ValueError(f"{fn}: {name}: unknown nodes {bad}; known: {list(g.nodes)}")
  return out


def d_separated(g: Graph, xs, ys, zs=()) -> bool:
  """True iff every node of ``xs`` is d-separated from every node of ``ys`` given ``zs`` in ``g`` (E dropped).

  Moral graph of the ancestral set of xs ∪ ys ∪ zs, nodes of zs removed, then reachability."""
  fn = "d_separated"
  g = _check_graph(g, fn)
  x, y, z = (_as_set(v, g, n, fn) for v, n in ((xs, "xs"), (ys, "ys"), (zs, "zs")))
  if x & y:
    return False
  x, y = x - z, y - z
  if not x or not y:
    return True
  anc, stack = set(), list(x | y | z)
  while stack:
    v = stack.pop()
    if v not in anc:
      anc.add(v)
      stack.extend(g.pa(v))
  adj = {v: set() for v in anc}
  for v in anc:
    ps = g.pa(v)
    for p in ps:
      adj[v].add(p)
      adj[p].add(v)
    for a, b in itertools.combinations(ps, 2):
      adj[a].add(b)
      adj[b].add(a)
  seen, stack = set(x), list(x)
  while stack:
    v = stack.pop()
    for u in adj[v]:
      if u in z or u in seen:
        continue
      if u in y:
        return False
      seen.add(u)
      stack.append(u)
  return True


def markov_boundary(g: Graph, subset, target: str | None = None) -> tuple[str, ...]:
  """The Markov boundary of the target within ``subset``: the smallest R ⊆ S with Y ⊥ S \\ R | R (greedy
  removal; unique in a DAG). Returned in ``g.nodes`` order."""
  fn = "markov_boundary"
  g = _check_graph(g, fn)
  y = g.target if target is None else target
  if y not in g.nodes:
    raise ValueError(f"{fn}: target: unknown node {y!r}")
  s = _as_set(subset, g, "subset", fn)
  if y in s:
    raise ValueError(f"{fn}: subset: must not contain the target {y!r}")
  r = set(s)
  changed = True
  while changed:
    changed = False
    for v in sorted(r, key=g.nodes.index):
      if d_separated(g, {y}, (s - r) | {v}, r - {v}):
        r.discard(v)
        changed = True
  return tuple(v for v in g.nodes if v in r)


def stable_dag(g: Graph) -> Graph:
  """The subgraph induced on {Y} ∪ X_S (the distribution of the stable variables under do(X_M))."""
  g = _check_graph(g, "stable_dag")
  keep = set(g.stable) | {g.target}
  return make_graph({v: tuple(p for p in g.pa(v) if p in keep) for v in g.nodes if v in keep}, g.target)


def equivalence_classes(g: Graph) -> tuple[tuple[tuple[str, ...], tuple[tuple[str, ...], ...]], ...]:
  """Equivalence classes of the subsets of X_S by brute force: ``((boundary, members), ...)``.

  Each S ⊆ X_S is mapped to the Markov boundary of Y within S in the stable DAG; subsets with one boundary
  induce one predictor. The boundary is the class's smallest member (its representative). Classes are sorted by
  (size, order) of the boundary; members by (size, order)."""
  g = _check_graph(g, "equivalence_classes")
  sg = stable_dag(g)
  xs = g.stable
  groups: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
  for k in range(len(xs) + 1):
    for s in itertools.combinations(xs, k):
      groups.setdefault(markov_boundary(sg, s), []).append(s)
  key = lambda t: (len(t), [xs.index(v) for v in t])
  return tuple((b, tuple(sorted(m, key=key))) for b, m in sorted(groups.items(), key=lambda kv: key(kv[0])))
