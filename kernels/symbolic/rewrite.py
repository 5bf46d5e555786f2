"""Classical term rewriting, written once against the term interface (SymbolicUtils' ``@rule`` / ``@acrule``
and its rewriter combinators).

Patterns: :class:`Var` (a slot ``~x``, optionally with a predicate), :class:`Seg` (a segment ``~~xs``
matching any number of consecutive arguments), :class:`Pat` (``op`` applied to sub-patterns), numbers
(literal). A :class:`Rule` ``lhs => rhs`` has a pattern or a callable ``rhs(bindings, x)`` on the right;
``ac=True`` matches ``+``/``*`` arguments as a multiset (associative–commutative matching over n-ary
calls). A rewriter is any callable ``x -> new term | None`` (None: no change). Combinators:

* :class:`Chain` — apply each in turn; :class:`RestartedChain` — restart from the first after a success;
* :class:`Postwalk` / :class:`Prewalk` — apply at every node, children first / node first;
* :class:`Fixpoint` — repeat until nothing changes; :class:`PassThrough` — ``rw(x) or x``;
* :class:`IfElse` — ``yes`` if ``cond(x)`` else ``no``.

``simplify(x)`` applies ``Fixpoint(Postwalk(Chain(SIMPLIFY_RULES)))``. ``expand(x)`` distributes products
and integer powers over sums (then ``simplify`` collects like terms in the tree form; the
coefficient-dictionary form collects while it is built).
"""
from __future__ import annotations

import dataclasses
import itertools
from typing import Any, Callable, Sequence

from kernels.symbolic.terms import arguments, iscall, is_number, maketerm, operation

__all__ = ["Var", "Seg", "Pat", "Rule", "Chain", "RestartedChain", "Postwalk", "Prewalk", "Fixpoint",
           "PassThrough", "IfElse", "simplify", "expand", "SIMPLIFY_RULES", "match", "rewrites_everywhere"]

_P = "kernels.symbolic."


@dataclasses.dataclass(frozen=True)
class Var:
  """Slot variable ``~name``; ``pred(x) -> bool`` restricts what it matches."""
  name: str
  pred: Callable[[Any], bool] | None = None


@dataclasses.dataclass(frozen=True)
class Seg:
  """Segment variable ``~~name``: a run of arguments (a tuple)."""
  name: str


@dataclasses.dataclass(frozen=True)
class Pat:
  """``op(*args)`` with sub-patterns."""
  op: str
  args: tuple

  def __init__(self, op: str, *args):
    object.__setattr__(self, "op", op)
    object.__setattr__(self, "args", tuple(args))


def _vars(p, out: set) -> set:
  if isinstance(p, (Var, Seg)):
    out.add(p.name)
  elif isinstance(p, Pat):
    for a in p.args:
      _vars(a, out)
  return out


def _eq(a, b) -> bool:
  if isinstance(a, tuple) or isinstance(b, tuple):
    return isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b) and all(map(_eq, a, b))
  if is_number(a) and is_number(b):
    return a == b and not (iscall(a) or iscall(b))
  return type(a) is type(b) and a == b


def match(p, x, b: dict, ac: bool = False):
  """All bindings (dicts) under which pattern ``p`` matches term ``x``, extending ``b``."""
  if isinstance(p, Var):
    if p.name in b:
      if _eq(b[p.name], x):
        yield b
    elif p.pred is None or p.pred(x):
      yield {**b, p.name: x}
  elif isinstance(p, Pat):
    if iscall(x) and operation(x) == p.op:
      xs = tuple(arguments(x))
      if ac and p.op in ("+", "*"):
        yield from _match_ac(p.args, xs, b, ac)
      else:
        yield from _match_seq(p.args, xs, b, ac)
  elif is_number(p):
    if is_number(x) and not iscall(x) and x == p:
      yield b
  else:
    raise TypeError(f"{_P}match: p: unexpected pattern {p!r}")


def _match_seq(ps, xs, b, ac):
  if not ps:
    if not xs:
      yield b
    return
  p0 = ps[0]
  if isinstance(p0, Seg):
    for k in range(len(xs) + 1):
      if p0.name in b:
        if not _eq(b[p0.name], xs[:k]):
          continue
        b2 = b
      else:
        b2 = {**b, p0.name: xs[:k]}
      yield from _match_seq(ps[1:], xs[k:], b2, ac)
  elif xs:
    for b2 in match(p0, xs[0], b, ac):
      yield from _match_seq(ps[1:], xs[1:], b2, ac)


def _match_ac(ps, xs, b, ac):
  segs = [p for p in ps if isinstance(p, Seg)]
  fixed = [p for p in ps if not isinstance(p, Seg)]

  def go(i, used, b):
    if i == len(fixed):
      rest = tuple(x for j, x in enumerate(xs) if j not in used)
      if not segs:
        if not rest:
          yield b
      else:
        s = segs[0]
        if s.name in b:
          if _eq(b[s.name], rest):
            yield b
        else:
          yield {**b, s.name: rest}
      return
    for j, x in enumerate(xs):
      if j not in used:
        for b2 in match(fixed[i], x, b, ac):
          yield from go(i + 1, used | {j}, b2)
  yield from go(0, frozenset(), b)


def instantiate(p, b: dict, exemplar):
  """The right side ``p`` with bindings ``b``, built in ``exemplar``'s representation."""
  if isinstance(p, Var):
    return b[p.name]
  if isinstance(p, Pat):
    args = []
    for a in p.args:
      if isinstance(a, Seg):
        args.extend(b[a.name])
      else:
        args.append(instantiate(a, b, exemplar))
    return maketerm(exemplar, p.op, args)
  return p


class Rule:
  """``lhs => rhs``; ``rhs`` a pattern (its variables must all occur in ``lhs``) or a callable
  ``rhs(bindings, x) -> term | None``; ``where(bindings) -> bool`` is an extra guard; ``ac`` turns on
  associative–commutative matching of ``+`` and ``*``."""

  def __init__(self, lhs, rhs, *, where: Callable[[dict], bool] | None = None, ac: bool = False,
               name: str = ""):
    if not isinstance(lhs, (Pat, Var)) and not is_number(lhs):
      raise TypeError(f"{_P}Rule: lhs: expected a Pat, Var or number, got {type(lhs).__name__}")
    if not callable(rhs):
      unbound = _vars(rhs, set()) - _vars(lhs, set())
      if unbound:
        raise ValueError(f"{_P}Rule: rhs: variables {sorted(unbound)} are not bound by the left side")
    if ac and isinstance(lhs, Pat) and sum(isinstance(a, Seg) for a in lhs.args) > 1:
      raise ValueError(f"{_P}Rule: lhs: an AC pattern takes at most one segment variable per call")
    self.lhs, self.rhs, self.where, self.ac, self.name = lhs, rhs, where, ac, name or repr(lhs)

  def results(self, x):
    """Every rewrite of ``x`` at its root (one per match)."""
    for b in match(self.lhs, x, {}, self.ac):
      if self.where is not None and not self.where(b):
        continue
      y = self.rhs(b, x) if callable(self.rhs) else instantiate(self.rhs, b, x)
      if y is not None:
        yield y

  def __call__(self, x):
    for y in self.results(x):
      return y
    return None

  def __repr__(self):
    return f"Rule({self.name})"


def _check_rw(rw, name, fn):
  if not callable(rw):
    raise TypeError(f"{_P}{fn}: {name}: expected a rewriter (callable x -> term | None), got {type(rw).__name__}")
  return rw


def _check_rws(rws, fn):
  if callable(rws) or not isinstance(rws, (list, tuple)):
    raise TypeError(f"{_P}{fn}: rws: expected a list of rewriters, got {type(rws).__name__}")
  return tuple(_check_rw(r, "rws", fn) for r in rws)


def _changed(x, y) -> bool:
  return y is not None and not _eq(x, y)


class Chain:
  """Apply each rewriter in turn to the running result; None if none changed anything."""

  def __init__(self, rws: Sequence[Callable]):
    self.rws = _check_rws(rws, type(self).__name__)

  def __call__(self, x):
    changed = False
    for rw in self.rws:
      y = rw(x)
      if _changed(x, y):
        x, changed = y, True
    return x if changed else None


class RestartedChain(Chain):
  """Like :class:`Chain`, but after a rewriter succeeds start again from the first one."""

  def __call__(self, x, max_steps: int = 10_000):
    changed = False
    for _ in range(max_steps):
      for rw in self.rws:
        y = rw(x)
        if _changed(x, y):
          x, changed = y, True
          break
      else:
        break
    return x if changed else None


def _rebuild(x, args):
  old = arguments(x)
  if len(old) == len(args) and all(_eq(a, b) for a, b in zip(old, args)):
    return x
  return maketerm(x, operation(x), args)


class Postwalk:
  """Rewrite the children first, then the node (``rw`` applied once per node, result kept if changed)."""

  def __init__(self, rw: Callable):
    self.rw = _check_rw(rw, "rw", type(self).__name__)

  def __call__(self, x):
    memo: dict = {}
    y = self._walk(x, memo)
    return y if _changed(x, y) else None

  def _walk(self, x, memo):
    k = (type(x), x) if _hashable(x) else None
    if k is not None and k in memo:
      return memo[k]
    if iscall(x):
      x2 = _rebuild(x, [self._walk(a, memo) for a in arguments(x)])
    else:
      x2 = x
    y = self.rw(x2)
    out = y if y is not None else x2
    if k is not None:
      memo[k] = out
    return out


class Prewalk(Postwalk):
  """Rewrite the node first, then its (new) children."""

  def _walk(self, x, memo):
    k = (type(x), x) if _hashable(x) else None
    if k is not None and k in memo:
      return memo[k]
    y = self.rw(x)
    x2 = y if y is not None else x
    out = _rebuild(x2, [self._walk(a, memo) for a in arguments(x2)]) if iscall(x2) else x2
    if k is not None:
      memo[k] = out
    return out


def _hashable(x) -> bool:
  try:
    hash(x)
    return True
  except TypeError:
    return False


class Fixpoint:
  """Apply ``rw`` until it reports no change (at most ``max_iter`` times)."""

  def __init__(self, rw: Callable, max_iter: int = 1000):
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
      raise ValueError(f"{_P}Fixpoint: max_iter: expected an int >= 1, got {max_iter!r}")
    self.rw, self.max_iter = _check_rw(rw, "rw", "Fixpoint"), max_iter

  def __call__(self, x):
    changed = False
    for _ in range(self.max_iter):
      y = self.rw(x)
      if not _changed(x, y):
        break
      x, changed = y, True
    return x if changed else None


class PassThrough:
  """``rw(x)`` if it changes ``x``, else ``x`` itself (never None)."""

  def __init__(self, rw: Callable):
    self.rw = _check_rw(rw, "rw", "PassThrough")

  def __call__(self, x):
    y = self.rw(x)
    return y if y is not None else x


class IfElse:
  """``yes(x)`` where ``cond(x)``, else ``no(x)``."""

  def __init__(self, cond: Callable[[Any], bool], yes: Callable, no: Callable = lambda x: None):
    self.cond, self.yes, self.no = (_check_rw(cond, "cond", "IfElse"), _check_rw(yes, "yes", "IfElse"),
                                    _check_rw(no, "no", "IfElse"))

  def __call__(self, x):
    return self.yes(x) if self.cond(x) else self.no(x)


# ---------------------------------------------------------------- default rule set
_num = lambda x: is_number(x) and not iscall(x)
_XS = Seg("xs")
_X, _Y = Var("x"), Var("y")
_C = Var("c", _num)


def _split_coef(t):
  """(numeric coefficient, rest) of a summand, via the interface."""
  if iscall(t) and operation(t) == "*":
    args = arguments(t)
    nums = [a for a in args if _num(a)]
    if nums:
      c = 1
      for a in nums:
        c = c * a
      rest = [a for a in args if not _num(a)]
      return c, (rest[0] if len(rest) == 1 else maketerm(t, "*", rest)) if rest else 1
  return 1, t


def _key(t):
  if iscall(t) and operation(t) in ("+", "*"):
    return (operation(t), frozenset(_multiset(map(_key, arguments(t)))))
  if iscall(t):
    return (operation(t), tuple(map(_key, arguments(t))))
  return ("leaf", type(t).__name__ if not _num(t) else "num", t)


def _multiset(keys):
  out: dict = {}
  for k in keys:
    out[k] = out.get(k, 0) + 1
  return out.items()


def _flatten(b, x):
  op = operation(x)
  args = arguments(x)
  if not any(iscall(a) and operation(a) == op for a in args):
    return None
  out = []
  for a in args:
    out.extend(arguments(a) if iscall(a) and operation(a) == op else (a,))
  return maketerm(x, op, out)


def _collect_sum(b, x):
  """Fold numbers and combine like terms ``c·m + d·m -> (c+d)·m`` (AC: order-free keys)."""
  args = arguments(x)
  const, groups, order = 0, {}, []
  nconst = 0
  for a in args:
    if _num(a):
      const, nconst = const + a, nconst + 1
      continue
    c, m = _split_coef(a)
    k = _key(m)
    if k not in groups:
      groups[k] = [0, m]
      order.append(k)
    groups[k][0] += c
  if nconst <= (1 if const != 0 else 0) and len(order) == len(args) - nconst:
    return None
  out = [const] if const != 0 else []
  for k in order:
    c, m = groups[k]
    if c == 0:
      continue
    out.append(m if c == 1 else maketerm(x, "*", [c, m]))
  return maketerm(x, "+", out)


def _collect_prod(b, x):
  """Fold numbers, ``0·x -> 0``, and combine powers ``x^a · x^b -> x^(a+b)`` (numeric exponents)."""
  args = arguments(x)
  coef, groups, order, nconst = 1, {}, [], 0
  for a in args:
    if _num(a):
      coef, nconst = coef * a, nconst + 1
      continue
    if iscall(a) and operation(a) == "^" and _num(arguments(a)[1]):
      base, e = arguments(a)
    else:
      base, e = a, 1
    k = _key(base)
    if k not in groups:
      groups[k] = [0, base]
      order.append(k)
    groups[k][0] += e
  if coef == 0:
    return 0
  if nconst <= (1 if coef != 1 else 0) and len(order) == len(args) - nconst:
    return None
  out = [coef] if coef != 1 else []
  for k in order:
    e, base = groups[k]
    if e == 0:
      continue
    out.append(base if e == 1 else maketerm(x, "^", [base, e]))
  return maketerm(x, "*", out)


def _fold_pow(b, x):
  base, e = b["x"], b["c"]
  if e == 1:
    return base
  if e == 0:
    return 1
  if _num(base):
    return base ** e
  return None


def _sq(op, v):
  return Pat("^", Pat(op, v), 2)


SIMPLIFY_RULES = (
    Rule(Pat("+", _XS), _flatten, name="flatten +"),
    Rule(Pat("*", _XS), _flatten, name="flatten *"),
    Rule(Pat("+", _XS), _collect_sum, name="collect +"),
    Rule(Pat("*", _XS), _collect_prod, name="collect *"),
    Rule(Pat("^", _X, _C), _fold_pow, name="x^0, x^1, c^d"),
    Rule(Pat("+", _XS, _sq("sin", _X), _sq("cos", _X)), Pat("+", _XS, 1), ac=True, name="sin^2 + cos^2"),
    Rule(Pat("neg", _X), Pat("*", -1, _X), name="-x = -1*x"),
    Rule(Pat("-", _X, _Y), Pat("+", _X, Pat("*", -1, _Y)), name="x - y = x + -1*y"),
)


def simplify(x, rules: Sequence[Callable] = SIMPLIFY_RULES, max_iter: int = 100):
  """``Fixpoint(Postwalk(Chain(rules)))`` applied to ``x`` (any representation)."""
  if callable(rules) or not isinstance(rules, (list, tuple)):
    raise TypeError(f"{_P}simplify: rules: expected a list of rewriters, got {type(rules).__name__}")
  return PassThrough(Fixpoint(Postwalk(Chain(rules)), max_iter))(x)


def _product_of(x, factors):
  """Distribute the product of ``factors`` (args lists of sums, or single factors) into a sum."""
  pieces = [arguments(a) if iscall(a) and operation(a) == "+" else (a,) for a in factors]
  terms = []
  for combo in itertools.product(*pieces):
    flat = []
    for f in combo:
      flat.extend(arguments(f) if iscall(f) and operation(f) == "*" else (f,))
    terms.append(maketerm(x, "*", flat))
  return maketerm(x, "+", terms)


def _distribute(b, x):
  args = arguments(x)
  if not any(iscall(a) and operation(a) == "+" for a in args):
    return None
  return _product_of(x, args)


def _int_pow(b, x):
  base, n = arguments(x)[0], int(b["n"])
  acc = base
  for _ in range(n - 1):  # pairwise, so the dictionary form collects after every step
    acc = _product_of(x, [acc, base])
  return acc


_EXPAND = Chain([Rule(Pat("*", _XS), _distribute, name="distribute"),
                 Rule(Pat("^", Pat("+", _XS), Var("n", lambda v: _num(v) and float(v).is_integer() and v > 1)),
                      _int_pow, name="(a+b)^n")])


def expand(x):
  """Distribute products and positive integer powers over sums, children first (one postwalk)."""
  return PassThrough(Postwalk(_EXPAND))(x)


def rewrites_everywhere(x, rules: Sequence[Rule]):
  """Every term reachable from ``x`` by ONE application of one rule at one position (for brute force)."""
  if isinstance(rules, Rule) or not all(isinstance(r, Rule) for r in rules):
    raise TypeError(f"{_P}rewrites_everywhere: rules: expected a sequence of Rule")
  for r in rules:
    yield from r.results(x)
  if iscall(x):
    args = list(arguments(x))
    for i, a in enumerate(args):
      for y in rewrites_everywhere(a, rules):
        yield maketerm(x, operation(x), args[:i] + [y] + args[i + 1:])
