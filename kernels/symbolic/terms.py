"""The abstract term interface and its three representations (paper 23, Symbolics.jl / TermInterface.jl).

Interface (``functools.singledispatch`` on the term's type; any type that registers the four works with every
rewriter, the e-graph and code generation):

* ``iscall(x)``: is ``x`` a call (an operation applied to arguments) rather than a leaf;
* ``operation(x)``: the operation's canonical name (``"+"``, ``"*"``, ``"^"``, ``"/"``, ``"-"``, ``"neg"``,
  ``"sin"``, ...), the same string for every representation;
* ``arguments(x)``: a tuple of the arguments;
* ``maketerm(exemplar, op, args)``: a term of ``exemplar``'s representation (TermInterface's ``maketerm`` /
  ``similarterm``).

Representations:

* :class:`Term` — a plain hash-consed tree ``Term(op, args)`` (structurally equal terms are the same object);
  leaves are :class:`Sym` and Python numbers;
* SymPy expressions (an adapter: ``expr.func``/``expr.args``; ``maketerm`` calls the SymPy constructor);
* the coefficient-dictionary form (Symbolics' retrofitted ``Add``/``Mul``): :class:`DSum` stores
  ``const + Σ c_i m_i`` as ``{m_i: c_i}``, :class:`DProd` stores ``c · Π b_j^{e_j}`` as ``{b_j: e_j}``;
  like terms combine as the term is built; other calls are :class:`DCall`.

A leaf (``Sym`` or a number) carries no representation: ``maketerm`` on a leaf exemplar builds a ``Term``.
"""
from __future__ import annotations

import functools
import math
import numbers
import weakref
from typing import Any

__all__ = ["Sym", "Term", "DSum", "DProd", "DCall", "add", "mul", "iscall", "operation", "arguments", "maketerm",
           "is_number", "to_sympy", "from_sympy", "to_dict_form", "to_tree", "free_symbols", "OPS"]

# Known operations: name -> arity (None: n-ary). "-" is binary subtraction, "neg" unary minus.
OPS: dict[str, int | None] = {
    "+": None, "*": None, "^": 2, "/": 2, "-": 2, "neg": 1, "abs": 1, "exp": 1, "log": 1, "log1p": 1,
    "sqrt": 1, "sin": 1, "cos": 1, "tan": 1, "cot": 1, "atan": 1, "acos": 1, "deg2rad": 1, "rad2deg": 1,
    "asind": 1, "acsch": 1}


def is_number(x: Any) -> bool:
  """A numeric leaf (Python/NumPy real number, not bool)."""
  return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _num(x):
  """Normalise NumPy scalars to Python numbers (so hash-consing sees one type per value)."""
  if isinstance(x, numbers.Integral) and not isinstance(x, bool):
    return int(x)
  if isinstance(x, numbers.Real) and not isinstance(x, bool):
    f = float(x)
    return int(f) if f.is_integer() and abs(f) < 2**53 else f
  return x


class _Arith:
  """Operator overloads building tree terms (used by symbolic tracing of numpy-style code)."""
  __slots__ = ()


  def __add__(self, o): return add(self, o)
  def __radd__(self, o): return add(o, self)
  def __sub__(self, o): return Term("-", (self, _lift(o)))
  def __rsub__(self, o): return Term("-", (_lift(o), self))
  def __mul__(self, o): return mul(self, o)
  def __rmul__(self, o): return mul(o, self)
  def __truediv__(self, o): return Term("/", (self, _lift(o)))
  def __rtruediv__(self, o): return Term("/", (_lift(o), self))
  def __pow__(self, o): return Term("^", (self, _lift(o)))
  def __rpow__(self, o): return Term("^", (_lift(o), self))
  def __neg__(self): return Term("neg", (self,))
  def __pos__(self): return self
  # numpy calls these methods for object arrays (np.exp(obj_array) -> element.exp())
  def exp(self): return Term("exp", (self,))
  def log(self): return Term("log", (self,))
  def log1p(self): return Term("log1p", (self,))
  def sqrt(self): return Term("sqrt", (self,))
  def sin(self): return Term("sin", (self,))
  def cos(self): return Term("cos", (self,))
  def tan(self): return Term("tan", (self,))
  def arctan(self): return Term("atan", (self,))
  def __abs__(self): return Term("abs", (self,))


def _lift(x):
  if is_number(x):
    return _num(x)
  if isinstance(x, (Sym, Term)):
    return x
  raise TypeError(f"kernels.symbolic.add/mul/operators: xs: cannot combine a term with {type(x).__name__} {x!r}")


def add(*xs):
  """Tree ``+`` with nested sums flattened (no like-term combination: that is the rewriters' job)."""
  out = []
  for x in xs:
    x = _lift(x)
    out.extend(x.args if isinstance(x, Term) and x.op == "+" else (x,))
  return Term("+", tuple(out))


def mul(*xs):
  out = []
  for x in xs:
    x = _lift(x)
    out.extend(x.args if isinstance(x, Term) and x.op == "*" else (x,))
  return Term("*", tuple(out))


class Sym(_Arith):
  """A named symbol (a leaf); interned by name."""
  __slots__ = ("name", "__weakref__")
  _cache: "weakref.WeakValueDictionary[str, Sym]" = weakref.WeakValueDictionary()

  def __new__(cls, name: str):
    if not isinstance(name, str) or not name:
      raise TypeError(f"kernels.symbolic.Sym: name: expected a non-empty str, got {name!r}")
    s = cls._cache.get(name)
    if s is None:
      s = object.__new__(cls)
      s.name = name
      cls._cache[name] = s
    return s

  def __repr__(self):
    return self.name

  def __reduce__(self):
    return (Sym, (self.name,))


class Term(_Arith):
  """A hash-consed call ``op(*args)``: equal structure means the same object (``is``), O(1) hash/equality."""
  __slots__ = ("op", "args", "_hash", "__weakref__")
  _cache: "weakref.WeakValueDictionary[tuple, Term]" = weakref.WeakValueDictionary()

  def __new__(cls, op: str, args):
    if not isinstance(op, str) or not op:
      raise TypeError(f"kernels.symbolic.Term: op: expected a non-empty str, got {op!r}")
    args = tuple(_num(a) for a in args)
    for a in args:
      if not (is_number(a) or isinstance(a, (Sym, Term))):
        raise TypeError(f"kernels.symbolic.Term: args: expected numbers, Sym or Term, got "
                        f"{type(a).__name__} {a!r}")
    ar = OPS.get(op, len(args))
    if ar is not None and ar != len(args):
      raise ValueError(f"kernels.symbolic.Term: args: {op!r} takes {ar} arguments, got {len(args)}")
    key = (op, args, tuple(type(a) for a in args))
    t = cls._cache.get(key)
    if t is None:
      t = object.__new__(cls)
      t.op, t.args, t._hash = op, args, hash(key)
      cls._cache[key] = t
    return t

  def __hash__(self):
    return self._hash

  def __eq__(self, other):
    return self is other

  def __repr__(self):
    if self.op in ("+", "*", "-", "/", "^") and len(self.args) >= 2:
      return "(" + f" {self.op} ".join(map(repr, self.args)) + ")"
    return f"{self.op}({', '.join(map(repr, self.args))})"

  def __reduce__(self):
    return (Term, (self.op, self.args))


# ---------------------------------------------------------------- coefficient-dictionary representation
class _DBase:
  __slots__ = ()

  def __repr__(self):
    return f"{type(self).__name__}<{operation(self)}{arguments(self)}>"


class DCall(_DBase):
  """A non-arithmetic call of the dictionary representation."""
  __slots__ = ("op", "args", "_h")

  def __init__(self, op, args):
    self.op, self.args = op, tuple(args)
    self._h = hash(("DCall", op, self.args))

  def __hash__(self): return self._h
  def __eq__(self, o): return isinstance(o, DCall) and o.op == self.op and o.args == self.args


class DSum(_DBase):
  """``const + Σ coef·m`` with ``terms = {m: coef}`` (m: a leaf, a DProd with coefficient 1, or a DCall)."""
  __slots__ = ("const", "terms", "_h")

  def __init__(self, const, terms: dict):
    self.const, self.terms = const, terms
    self._h = hash(("DSum", const, frozenset(terms.items())))

  def __hash__(self): return self._h
  def __eq__(self, o): return isinstance(o, DSum) and o.const == self.const and o.terms == self.terms


class DProd(_DBase):
  """``coef · Π b^e`` with ``powers = {b: e}`` (numeric exponents)."""
  __slots__ = ("coef", "powers", "_h")

  def __init__(self, coef, powers: dict):
    self.coef, self.powers = coef, powers
    self._h = hash(("DProd", coef, frozenset(powers.items())))

  def __hash__(self): return self._h
  def __eq__(self, o): return isinstance(o, DProd) and o.coef == self.coef and o.powers == self.powers


def _d_split(x):
  """(coefficient, monomial) of a dictionary-form summand."""
  if isinstance(x, DProd) and x.coef != 1:
    return x.coef, _d_prod(1, x.powers)
  return 1, x


def _d_prod(coef, powers: dict):
  powers = {b: e for b, e in powers.items() if e != 0}
  if coef == 0:
    return 0
  if not powers:
    return _num(coef)
  if coef == 1 and len(powers) == 1:
    (b, e), = powers.items()
    if e == 1:
      return b
  return DProd(_num(coef), powers)


def d_add(args):
  const, terms = 0, {}
  for a in args:
    if is_number(a):
      const += a
    elif isinstance(a, DSum):
      const += a.const
      for m, c in a.terms.items():
        terms[m] = terms.get(m, 0) + c
    else:
      c, m = _d_split(a)
      terms[m] = terms.get(m, 0) + c
  terms = {m: _num(c) for m, c in terms.items() if c != 0}
  const = _num(const)
  if not terms:
    return const
  if const == 0 and len(terms) == 1:
    (m, c), = terms.items()
    return m if c == 1 else d_mul([c, m])
  return DSum(const, terms)


def d_mul(args):
  coef, powers = 1, {}
  for a in args:
    if is_number(a):
      coef *= a
    elif isinstance(a, DProd):
      coef *= a.coef
      for b, e in a.powers.items():
        powers[b] = powers.get(b, 0) + e
    else:
      powers[a] = powers.get(a, 0) + 1
  return _d_prod(_num(coef), {b: _num(e) for b, e in powers.items()})


def d_pow(b, e):
  if is_number(b) and is_number(e):
    return _num(b ** e)
  if is_number(e):
    if e == 0:
      return 1
    if isinstance(b, DProd) and float(e).is_integer():
      return _d_prod(_num(b.coef ** e), {k: _num(v * e) for k, v in b.powers.items()})
    return _d_prod(1, {b: _num(e)})
  return DCall("^", (b, e))


# ---------------------------------------------------------------- the interface
@functools.singledispatch
def iscall(x) -> bool:
  """Is ``x`` a call (has an operation and arguments)? Leaves: symbols and numbers."""
  return False


@functools.singledispatch
def operation(x) -> str:
  raise TypeError(f"kernels.symbolic.operation: x: expected a call, got {type(x).__name__} {x!r}")


@functools.singledispatch
def arguments(x) -> tuple:
  raise TypeError(f"kernels.symbolic.arguments: x: expected a call, got {type(x).__name__} {x!r}")


@functools.singledispatch
def maketerm(exemplar, op: str, args):
  """A term of ``exemplar``'s representation; leaves (and unregistered types) give a tree :class:`Term`."""
  return _tree_make(op, args)


def _tree_make(op, args):
  if op not in OPS:
    raise ValueError(f"kernels.symbolic.maketerm: op: unknown operation {op!r}")
  args = tuple(args)
  if op in ("+", "*") and len(args) <= 1:
    return args[0] if args else (0 if op == "+" else 1)
  return Term(op, args)


@iscall.register
def _(x: Term): return True
@operation.register
def _(x: Term): return x.op
@arguments.register
def _(x: Term): return x.args
@maketerm.register
def _(x: Term, op, args): return _tree_make(op, args)


@iscall.register(DCall)
@iscall.register(DSum)
@iscall.register(DProd)
def _(x): return True


@operation.register
def _(x: DCall): return x.op
@operation.register
def _(x: DSum): return "+"


@operation.register
def _(x: DProd):
  if x.coef == 1 and len(x.powers) == 1:
    return "^"
  return "*"


@arguments.register
def _(x: DCall): return x.args
@arguments.register
def _(x: DSum):
  out = [x.const] if x.const != 0 else []
  return tuple(out + [m if c == 1 else d_mul([c, m]) for m, c in x.terms.items()])


@arguments.register
def _(x: DProd):
  if x.coef == 1 and len(x.powers) == 1:
    (b, e), = x.powers.items()
    return (b, e)
  out = [x.coef] if x.coef != 1 else []
  return tuple(out + [b if e == 1 else _d_prod(1, {b: e}) for b, e in x.powers.items()])


def _dict_make(op, args):
  args = tuple(args)
  if op == "+":
    return d_add(args)
  if op == "*":
    return d_mul(args)
  if op == "^":
    return d_pow(*args)
  if op == "neg":
    return d_mul([-1, args[0]])
  if op == "-":
    return d_add([args[0], d_mul([-1, args[1]])])
  if op not in OPS:
    raise ValueError(f"kernels.symbolic.maketerm: op: unknown operation {op!r}")
  return DCall(op, args)


for _t in (DCall, DSum, DProd):
  maketerm.register(_t)(lambda x, op, args: _dict_make(op, args))


# ---------------------------------------------------------------- SymPy adapter
def _sympy_tables():
  import sympy as sp
  fwd = {sp.Add: "+", sp.Mul: "*", sp.Pow: "^", sp.exp: "exp", sp.log: "log", sp.sin: "sin", sp.cos: "cos",
         sp.tan: "tan", sp.cot: "cot", sp.atan: "atan", sp.acos: "acos", sp.Abs: "abs", sp.acsch: "acsch"}
  back = {v: k for k, v in fwd.items()}
  back.update({"sqrt": sp.sqrt, "neg": lambda a: -a, "-": lambda a, b: a - b, "/": lambda a, b: a / b,
               "log1p": lambda a: sp.log(1 + a), "deg2rad": lambda a: a * sp.pi / 180,
               "rad2deg": lambda a: a * 180 / sp.pi, "asind": lambda a: sp.asin(a) * 180 / sp.pi})
  return sp, fwd, back


_SP = None


def _sp():
  global _SP
  if _SP is None:
    _SP = _sympy_tables()
  return _SP


def _register_sympy():
  import sympy as sp

  @iscall.register(sp.Basic)
  def _(x):
    return bool(x.args) and not x.is_Atom

  @operation.register(sp.Basic)
  def _(x):
    name = _sp()[1].get(x.func)
    if name is None:
      raise ValueError(f"kernels.symbolic.operation: x: SymPy function {x.func} has no canonical name")
    return name

  @arguments.register(sp.Basic)
  def _(x):
    return tuple(_from_sp_num(a) for a in x.args)

  @maketerm.register(sp.Basic)
  def _(x, op, args):
    if op in ("+", "*") and len(args) <= 1:
      return sp.sympify(args[0] if args else (0 if op == "+" else 1))
    back = _sp()[2]
    if op not in back:
      raise ValueError(f"kernels.symbolic.maketerm: op: {op!r} has no SymPy constructor")
    return back[op](*[sp.sympify(a) for a in args])


def _from_sp_num(a):
  return a  # SymPy numbers stay SymPy numbers inside SymPy terms


try:  # SymPy is the optional extra `symbolic`
  _register_sympy()
except ImportError:  # pragma: no cover
  pass


# ---------------------------------------------------------------- conversions
def _walk(x, leaf, make, memo):
  key = id(x)
  if key in memo:
    return memo[key][1]
  if iscall(x):
    out = make(operation(x), [_walk(a, leaf, make, memo) for a in arguments(x)])
  else:
    out = leaf(x)
  memo[key] = (x, out)
  return out


def to_sympy(x):
  """Any representation -> a SymPy expression (the common form the tests compare in)."""
  sp, _, back = _sp()

  def leaf(v):
    if isinstance(v, Sym):
      return sp.Symbol(v.name)
    if isinstance(v, sp.Basic):
      return v
    if is_number(v):
      return sp.Integer(v) if isinstance(_num(v), int) else sp.Float(v)
    raise TypeError(f"kernels.symbolic.to_sympy: x: unexpected leaf {type(v).__name__} {v!r}")
  return _walk(x, leaf, lambda op, args: back[op](*args), {})


def _leaf_from_sympy(v):
  sp = _sp()[0]
  if isinstance(v, sp.Symbol):
    return Sym(v.name)
  if isinstance(v, sp.Integer):
    return int(v)
  if isinstance(v, sp.Rational):
    return float(v)
  if isinstance(v, sp.Float):
    return float(v)
  if is_number(v):
    return _num(v)
  if isinstance(v, (Sym, Term, _DBase)):
    return v
  if v is sp.pi:
    return math.pi
  raise TypeError(f"kernels.symbolic.from_sympy: x: unsupported SymPy leaf {v!r}")


def from_sympy(x):
  """A SymPy expression -> a tree :class:`Term` (``a^-1`` stays ``^``)."""
  return _walk(x, _leaf_from_sympy, _tree_make, {})


def to_tree(x):
  """Any representation -> a tree :class:`Term`."""
  return _walk(x, _leaf_from_sympy, _tree_make, {})


def to_dict_form(x):
  """Any representation -> the coefficient-dictionary form."""
  return _walk(x, _leaf_from_sympy, _dict_make, {})


def free_symbols(x) -> set:
  """Names of the symbols in ``x`` (any representation)."""
  out, seen, stack = set(), set(), [x]
  while stack:
    t = stack.pop()
    if id(t) in seen:
      continue
    seen.add(id(t))
    if iscall(t):
      stack.extend(arguments(t))
    elif isinstance(t, Sym):
      out.add(t.name)
    elif hasattr(t, "is_Symbol") and t.is_Symbol:
      out.add(t.name)
  return out
