"""An e-graph (equality saturation, egg / Metatheory.jl style) with cost extraction (paper 23, §e-graphs).

* e-nodes ``(op, child class ids)`` are hash-consed (``memo``); leaves are ``("sym", (name,))`` and
  ``("num", (value,))``; n-ary ``+``/``*`` of the input are folded into binary nodes;
* e-classes live in a union–find; :meth:`EGraph.rebuild` restores the congruence invariant (re-canonicalise
  every e-node, merge classes whose nodes collide, repeat to a fixpoint);
* e-matching of a rule's left pattern (:class:`~kernels.symbolic.rewrite.Pat` / ``Var`` / numbers) against
  every class, top-down; all matches of an iteration are collected first, then applied (union with the
  instantiated right side), then the graph is rebuilt;
* :meth:`EGraph.saturate` stops at saturation (no new e-node or merge) or at an iteration, node or time cap
  and reports which (``SaturationReport.status``);
* :meth:`EGraph.extract` picks per class the e-node minimising ``cost(op) + Σ cost(children)`` (a Bellman–Ford
  style fixpoint over the classes) and returns that tree as a :class:`~kernels.symbolic.terms.Term`.

``COSTS`` is SymbolicUtils' table of approximate CPU cycles per operation (the project notes' list); an
operation missing from the cost table raises. ``OPT_RULES`` is SymbolicUtils' optimisation theory (the notes'
list) plus ``x^2 = x·x`` and ``x^3 = x·x²`` and the unit laws, all sound for positive arguments.
"""
from __future__ import annotations

import dataclasses
import math
import time
from typing import Any, Mapping, Sequence

from kernels.symbolic.rewrite import Pat, Rule, Seg, Var
from kernels.symbolic.terms import Sym, Term, arguments, is_number, iscall, operation

__all__ = ["COSTS", "OPT_RULES", "COMM_RULES", "EGraph", "SaturationReport", "term_cost", "binarize",
           "optimize"]

_P = "kernels.symbolic."

# approximate CPU cycles per operation (SymbolicUtils' egraph cost table, as the project notes list it)
COSTS: dict[str, float] = {
    "+": 1, "-": 1, "neg": 1, "abs": 2, "*": 3, "exp": 18, "/": 24, "^": 100, "log1p": 124, "deg2rad": 125,
    "rad2deg": 125, "acos": 127, "asind": 128, "acsch": 133, "sin": 134, "cos": 134, "atan": 135, "tan": 156,
    "cot": 156, "log": 1, "sqrt": 1}
# "log", "sqrt" and "cot" are not in the notes' list; "others 1" there, "cot" given tan's cost here.

_a, _b, _c, _x, _y = Var("a"), Var("b"), Var("c"), Var("x"), Var("y")


def _r(lhs, rhs, name):
  return Rule(lhs, rhs, name=name)


COMM_RULES = (
    _r(Pat("+", _a, _b), Pat("+", _b, _a), "a+b = b+a"),
    _r(Pat("*", _a, _b), Pat("*", _b, _a), "a*b = b*a"),
)
ASSOC_RULES = (
    _r(Pat("+", _a, Pat("+", _b, _c)), Pat("+", Pat("+", _a, _b), _c), "a+(b+c) = (a+b)+c"),
    _r(Pat("+", Pat("+", _a, _b), _c), Pat("+", _a, Pat("+", _b, _c)), "(a+b)+c = a+(b+c)"),
    _r(Pat("*", _a, Pat("*", _b, _c)), Pat("*", Pat("*", _a, _b), _c), "a*(b*c) = (a*b)*c"),
    _r(Pat("*", Pat("*", _a, _b), _c), Pat("*", _a, Pat("*", _b, _c)), "(a*b)*c = a*(b*c)"),
)
FACTOR_RULES = (
    _r(Pat("+", Pat("*", _a, _x), Pat("*", _a, _y)), Pat("*", _a, Pat("+", _x, _y)), "a*x + a*y = a*(x+y)"),
    _r(Pat("*", -1, _a), Pat("neg", _a), "-1*a = -a"),
    _r(Pat("+", _a, Pat("neg", _b)), Pat("-", _a, _b), "a + -b = a - b"),
    _r(Pat("^", _x, -1), Pat("/", 1, _x), "x^-1 = 1/x"),
    _r(Pat("*", Pat("/", 1, _x), _a), Pat("/", _a, _x), "(1/x)*a = a/x"),
    _r(Pat("/", Pat("sin", _x), Pat("cos", _x)), Pat("tan", _x), "sin/cos = tan"),
    _r(Pat("/", Pat("cos", _x), Pat("sin", _x)), Pat("cot", _x), "cos/sin = cot"),
    _r(Pat("+", Pat("^", Pat("sin", _x), 2), Pat("^", Pat("cos", _x), 2)), 1, "sin^2 + cos^2 = 1"),
    _r(Pat("sin", Pat("*", 2, _a)), Pat("*", 2, Pat("*", Pat("sin", _a), Pat("cos", _a))),
       "sin(2a) = 2 sin a cos a"),
    _r(Pat("^", _x, 2), Pat("*", _x, _x), "x^2 = x*x"),
    _r(Pat("^", _x, 3), Pat("*", _x, Pat("^", _x, 2)), "x^3 = x*x^2"),
    _r(Pat("*", 1, _a), _a, "1*a = a"),
    _r(Pat("+", 0, _a), _a, "0+a = a"),
)
OPT_RULES = COMM_RULES + ASSOC_RULES + FACTOR_RULES


def binarize(x):
  """Any representation -> a tree :class:`Term` whose ``+``/``*`` calls are binary (left fold)."""
  memo: dict = {}

  def go(t):
    k = id(t)
    if k in memo:
      return memo[k][1]
    if iscall(t):
      op, args = operation(t), [go(a) for a in arguments(t)]
      if op in ("+", "*") and len(args) > 2:
        out = args[0]
        for a in args[1:]:
          out = Term(op, (out, a))
      elif op in ("+", "*") and len(args) == 1:
        out = args[0]
      else:
        out = Term(op, tuple(args))
    elif isinstance(t, Sym) or is_number(t):
      out = t
    elif getattr(t, "is_Symbol", False):
      out = Sym(t.name)
    elif getattr(t, "is_Number", False):
      out = int(t) if t.is_Integer else float(t)
    else:
      raise TypeError(f"{_P}binarize: x: unexpected leaf {type(t).__name__} {t!r}")
    memo[k] = (t, out)
    return out
  return go(x)


def _check_costs(costs, fn):
  if not isinstance(costs, Mapping):
    raise TypeError(f"{fn}: costs: expected a mapping op -> cost, got {type(costs).__name__}")
  for k, v in costs.items():
    if not is_number(v) or not math.isfinite(v) or v < 0:
      raise ValueError(f"{fn}: costs: cost of {k!r} must be a finite number >= 0, got {v!r}")
  return costs


def _op_cost(costs, op, fn):
  try:
    return costs[op]
  except KeyError:
    raise ValueError(f"{fn}: costs: operation {op!r} is missing from the cost table") from None


def term_cost(x, costs: Mapping[str, float] = COSTS) -> float:
  """Tree cost of ``x`` (any representation): ``cost(op)·(k−1)`` for an n-ary ``+``/``*`` with k arguments
  (= its binary fold), ``cost(op)`` otherwise, plus the children; leaves cost 0. Shared subterms count
  every time they occur (the tree, not the DAG)."""
  fn = f"{_P}term_cost"
  _check_costs(costs, fn)
  memo: dict = {}

  def go(t):
    k = id(t)
    if k in memo:
      return memo[k][1]
    if iscall(t):
      op, args = operation(t), arguments(t)
      c = _op_cost(costs, op, fn) * (max(len(args) - 1, 1) if op in ("+", "*") else 1)
      c += sum(go(a) for a in args)
    else:
      c = 0.0
    memo[k] = (t, c)
    return c
  return float(go(x))


@dataclasses.dataclass
class SaturationReport:
  status: str        # "saturated" | "iteration_limit" | "node_limit" | "time_limit"
  iterations: int
  nodes: int
  classes: int
  seconds: float


class EGraph:
  """Hash-consed e-nodes over a union–find of e-classes."""

  def __init__(self):
    self.parent: list[int] = []
    self.nodes: dict[int, set] = {}      # canonical class id -> its e-nodes
    self.memo: dict[tuple, int] = {}     # canonical e-node -> class id
    self.dirty = False

  # -- union-find
  def find(self, a: int) -> int:
    p = self.parent
    while p[a] != a:
      p[a] = p[p[a]]
      a = p[a]
    return a

  def _canon(self, node):
    op, args = node
    if op in ("sym", "num"):
      return node
    return (op, tuple(self.find(c) for c in args))

  def add_node(self, node) -> int:
    node = self._canon(node)
    c = self.memo.get(node)
    if c is not None:
      return self.find(c)
    c = len(self.parent)
    self.parent.append(c)
    self.nodes[c] = {node}
    self.memo[node] = c
    return c

  def add(self, x) -> int:
    """Add a term (any representation; ``+``/``*`` folded to binary) and return its class id."""
    memo: dict = {}

    def go(t):
      k = id(t)
      if k in memo:
        return memo[k][1]
      if isinstance(t, Sym):
        c = self.add_node(("sym", (t.name,)))
      elif is_number(t) and not iscall(t):
        c = self.add_node(("num", (float(t) if not float(t).is_integer() else int(t),)))
      elif iscall(t):
        op, args = operation(t), [go(a) for a in arguments(t)]
        if op in ("+", "*") and len(args) != 2:
          if not args:
            raise ValueError(f"{_P}EGraph.add: x: empty {op!r} call")
          c = args[0]
          for a in args[1:]:
            c = self.add_node((op, (c, a)))
        else:
          c = self.add_node((op, tuple(args)))
      elif getattr(t, "is_Symbol", False):
        c = self.add_node(("sym", (t.name,)))
      else:
        raise TypeError(f"{_P}EGraph.add: x: unexpected leaf {type(t).__name__} {t!r}")
      memo[k] = (t, c)
      return c
    return go(x)

  def union(self, a: int, b: int) -> bool:
    a, b = self.find(a), self.find(b)
    if a == b:
      return False
    if len(self.nodes[a]) < len(self.nodes[b]):
      a, b = b, a
    self.parent[b] = a
    self.nodes[a] |= self.nodes.pop(b)
    self.dirty = True
    return True

  def rebuild(self) -> None:
    """Restore congruence: re-canonicalise all e-nodes; colliding nodes merge their classes; repeat."""
    while True:
      merged = False
      memo: dict = {}
      for cid in list(self.nodes):
        for node in list(self.nodes.get(cid, ())):
          n = self._canon(node)
          other = memo.get(n)
          if other is not None and self.find(other) != self.find(cid):
            self.union(other, cid)
            merged = True
          memo[n] = self.find(other if other is not None else cid)
      self.memo = memo
      for cid in list(self.nodes):
        self.nodes[cid] = {self._canon(n) for n in self.nodes[cid]}
      if not merged:
        break
    self.dirty = False

  @property
  def n_nodes(self) -> int:
    return len(self.memo)

  # -- e-matching
  def ematch(self, p, cid: int, b: dict):
    cid = self.find(cid)
    if isinstance(p, Var):
      if p.name in b:
        if self.find(b[p.name]) == cid:
          yield b
      else:
        yield {**b, p.name: cid}
    elif isinstance(p, Pat):
      for op, args in list(self.nodes[cid]):
        if op == p.op and len(args) == len(p.args):
          yield from self._match_args(p.args, args, b)
    elif is_number(p):
      if ("num", (p,)) in self.nodes[cid]:
        yield b

  def _match_args(self, ps, cs, b):
    if not ps:
      yield b
      return
    for b2 in self.ematch(ps[0], cs[0], b):
      yield from self._match_args(ps[1:], cs[1:], b2)

  def instantiate(self, p, b: dict) -> int:
    if isinstance(p, Var):
      return self.find(b[p.name])
    if isinstance(p, Pat):
      return self.add_node((p.op, tuple(self.instantiate(a, b) for a in p.args)))
    if is_number(p):
      return self.add_node(("num", (p,)))
    raise TypeError(f"{_P}EGraph.instantiate: p: unexpected pattern {p!r}")

  def saturate(self, rules: Sequence[Rule] = OPT_RULES, *, max_iter: int = 8, max_nodes: int = 10_000,
               time_limit: float = 10.0) -> SaturationReport:
    """Apply ``rules`` until nothing changes or a cap is hit; the report says which."""
    fn = f"{_P}EGraph.saturate"
    _check_rules(rules, fn)
    max_iter = _check_cap(max_iter, "max_iter", fn, integer=True)
    max_nodes = _check_cap(max_nodes, "max_nodes", fn, integer=True)
    time_limit = _check_cap(time_limit, "time_limit", fn)
    t0 = time.perf_counter()
    status, it = "iteration_limit", 0
    for it in range(1, max_iter + 1):
      matches = []
      for r in rules:
        for cid in list(self.nodes):
          for b in self.ematch(r.lhs, cid, {}):
            matches.append((r, cid, b))
        if time.perf_counter() - t0 > time_limit:
          break
      before = self.n_nodes
      changed = False
      stop = None
      for r, cid, b in matches:
        changed |= self.union(cid, self.instantiate(r.rhs, b))
        if self.n_nodes > max_nodes:
          stop = "node_limit"
          break
      self.rebuild()
      changed |= self.n_nodes != before
      if stop:
        status = stop
        break
      if not changed:
        status = "saturated"
        break
      if time.perf_counter() - t0 > time_limit:
        status = "time_limit"
        break
    return SaturationReport(status, it, self.n_nodes, len(self.nodes), time.perf_counter() - t0)

  # -- extraction
  def extract(self, cid: int, costs: Mapping[str, float] = COSTS) -> tuple[Any, float]:
    """The cheapest term of class ``cid`` under ``costs`` (a tree Term) and its cost."""
    fn = f"{_P}EGraph.extract"
    _check_costs(costs, fn)
    for nodes in self.nodes.values():
      for op, _ in nodes:
        if op not in ("sym", "num"):
          _op_cost(costs, op, fn)
    best: dict[int, tuple[float, tuple]] = {}
    changed = True
    while changed:
      changed = False
      for c, nodes in self.nodes.items():
        for node in nodes:
          op, args = node
          if op in ("sym", "num"):
            v = 0.0
          else:
            if any(self.find(a) not in best for a in args):
              continue
            v = costs[op] + sum(best[self.find(a)][0] for a in args)
          if c not in best or v < best[c][0] - 1e-12:
            best[c] = (v, node)
            changed = True
    memo: dict = {}

    def build(c):
      c = self.find(c)
      if c in memo:
        return memo[c]
      op, args = best[c][1]
      if op == "sym":
        out = Sym(args[0])
      elif op == "num":
        out = args[0]
      else:
        out = Term(op, tuple(build(a) for a in args))
      memo[c] = out
      return out
    cid = self.find(cid)
    return build(cid), best[cid][0]


def _check_cap(v, name, fn, integer=False):
  if isinstance(v, bool) or not is_number(v) or not math.isfinite(v) or v <= 0:
    raise ValueError(f"{fn}: {name}: expected a finite number > 0, got {v!r}")
  if integer and not float(v).is_integer():
    raise ValueError(f"{fn}: {name}: expected an integer, got {v!r}")
  return int(v) if integer else float(v)


def _check_rules(rules, fn):
  if isinstance(rules, Rule) or not isinstance(rules, Sequence):
    raise TypeError(f"{fn}: rules: expected a sequence of Rule, got {type(rules).__name__}")
  for r in rules:
    if not isinstance(r, Rule):
      raise TypeError(f"{fn}: rules: expected Rule entries, got {type(r).__name__}")
    if callable(r.rhs) or r.ac or r.where is not None or any(isinstance(a, Seg) for a in _pat_leaves(r.lhs)):
      raise ValueError(f"{fn}: rules: {r.name}: e-graph rules need a pattern right side, no segment "
                       "variables, no guard and no AC flag")
    if isinstance(r.lhs, Var) and r.lhs.pred is not None:
      raise ValueError(f"{fn}: rules: {r.name}: predicates are not supported in e-graph rules")


def _pat_leaves(p):
  if isinstance(p, Pat):
    for a in p.args:
      yield a
      yield from _pat_leaves(a)


def optimize(x, rules: Sequence[Rule] = OPT_RULES, costs: Mapping[str, float] = COSTS, *, max_iter: int = 8,
             max_nodes: int = 10_000, time_limit: float = 10.0):
  """Saturate an e-graph seeded with ``x`` and extract the cheapest equivalent term.

  Returns ``(term, cost, report)``; ``cost <= term_cost(binarize(x))`` always (the input stays in its class).
  """
  fn = f"{_P}optimize"
  _check_costs(costs, fn)
  g = EGraph()
  root = g.add(x)
  rep = g.saturate(rules, max_iter=max_iter, max_nodes=max_nodes, time_limit=time_limit)
  t, c = g.extract(root, costs)
  return t, c, rep
