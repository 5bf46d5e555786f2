"""Oracle tests for kernels/symbolic (paper 23): SymPy as the independent algebra oracle, brute force over
rewrites for extraction optimality, numpy float64 evaluation and ``sympy.lambdify(..., "numpy")`` for codegen."""
import numpy as np
import pytest
import sympy as sp

from kernels import symbolic as S
from kernels.symbolic import egraph as E
from kernels.symbolic import experiment, networks

x, y, z, a, b, c = map(S.Sym, "xyzabc")
REPS = {"tree": lambda t: t, "dict": S.to_dict_form, "sympy": S.to_sympy}


def _same(u, v):
  return sp.simplify(S.to_sympy(u) - S.to_sympy(v)) == 0


@pytest.mark.parametrize("rep", list(REPS))
def test_interface_roundtrip(rep):
  e = S.add(S.mul(3, x, y), S.Term("sin", (x,)), 2)
  t = REPS[rep](e)
  assert S.iscall(t) and S.operation(t) == "+"
  assert _same(S.maketerm(t, S.operation(t), S.arguments(t)), e)
  assert not S.iscall(x) and not S.iscall(3)


def test_hash_consing():
  assert S.Term("+", (x, y)) is S.add(x, y)
  assert S.Term("*", (x, 1)) is not S.Term("*", (x, 1.5))


@pytest.mark.parametrize("expr", [
    S.add(S.mul(x, 1), 0, S.mul(2, x), S.mul(3, x, y), S.mul(y, x)),
    S.add(S.Term("sin", (x,)) ** 2, y, S.Term("cos", (x,)) ** 2),
    S.mul(x, x, y ** 2, 0.5, 2),
])
def test_simplify_agrees_on_three_representations(expr):
  outs = {k: S.to_sympy(S.simplify(f(expr))) for k, f in REPS.items()}
  oracle = sp.simplify(S.to_sympy(expr))
  for k, v in outs.items():
    assert sp.simplify(v - oracle) == 0, k
  # the rewriters, not SymPy's constructor, applied sin^2 + cos^2 = 1: the tree result has no sin left
  assert "sin" not in repr(S.simplify(S.add(S.Term("sin", (x,)) ** 2, S.Term("cos", (x,)) ** 2)))


def test_ac_rule_with_segment_and_predicate():
  u, v, w = S.Var("u", lambda t: str(t) == "a"), S.Var("v"), S.Var("w")
  r = S.Rule(S.Pat("+", S.Seg("xs"), S.Pat("*", u, v), S.Pat("*", u, w)),
             S.Pat("+", S.Seg("xs"), S.Pat("*", u, S.Pat("+", v, w))), ac=True)
  e = S.add(S.mul(b, a), y, S.mul(a, c))
  for rep, f in REPS.items():
    out = r(f(e))
    assert out is not None and _same(out, e), rep
    assert sp.count_ops(S.to_sympy(out)) < sp.count_ops(S.to_sympy(e)), rep  # it factored a out
  assert r(S.add(S.mul(b, x), y, S.mul(x, c))) is None  # the predicate refuses u = x


def test_combinators():
  inc = S.Rule(S.Var("v", lambda v: isinstance(v, int) and v < 3), lambda bnd, t: bnd["v"] + 1)
  assert S.Fixpoint(inc)(0) == 3 and S.Fixpoint(inc)(5) is None and S.PassThrough(inc)(5) == 5
  assert S.Chain([inc, inc])(0) == 2 and S.RestartedChain([inc])(0) == 3
  neg_to_mul = S.Rule(S.Pat("neg", S.Var("u")), S.Pat("*", -1, S.Var("u")))
  e = S.Term("neg", (S.Term("neg", (x,)),))
  assert S.Postwalk(neg_to_mul)(e) is S.Term("*", (-1, S.Term("*", (-1, x))))
  assert S.Prewalk(neg_to_mul)(e) is S.Term("*", (-1, S.Term("*", (-1, x))))
  assert S.IfElse(lambda t: S.iscall(t), lambda t: 1)(x) is None and S.IfElse(S.iscall, lambda t: 1)(e) == 1


def test_expand_dict_and_tree_agree_with_sympy():
  p = S.add(1, x, y) ** 4
  for f in (lambda t: t, S.to_dict_form):
    out = S.simplify(S.expand(f(p)))
    assert sp.expand(S.to_sympy(out) - sp.expand(S.to_sympy(p))) == 0
  r = experiment.poly_expansion_timing([2, 3], n_vars=2, repeats=1)
  assert r["terms"] == [6, 10]  # C(v + d, d)


def _cost_sp(e):
  return E.term_cost(E.binarize(e))


def test_extraction_equals_brute_force_minimum():
  rules = E.COMM_RULES + (E.FACTOR_RULES[0],)
  for e in [S.Term("/", (S.add(S.mul(a, b), S.mul(a, c)), S.add(S.mul(x, y), S.mul(x, z)))),
            S.add(S.mul(a, b), S.mul(b, c)), S.mul(S.add(a, b), S.add(S.mul(x, a), S.mul(a, y)))]:
    start = E.binarize(e)
    seen, frontier = {start}, [start]
    while frontier:  # BFS over one-step rewrites (the rule subset terminates up to commutation)
      nxt = []
      for t in frontier:
        for u in S.rewrites_everywhere(t, rules):
          if u not in seen and len(seen) < 20000:
            seen.add(u)
            nxt.append(u)
      frontier = nxt
    brute = min(E.term_cost(t) for t in seen)
    t, cost, rep = E.optimize(e, rules, max_iter=50)
    assert rep.status == "saturated"
    assert cost == brute == E.term_cost(t)
    assert _same(t, e)
  t, cost, _ = E.optimize(S.Term("/", (S.add(S.mul(a, b), S.mul(a, c)), S.add(S.mul(x, y), S.mul(x, z)))), rules)
  assert cost == 24 + 2 * 3 + 2 * 1


def test_extraction_never_raises_cost_and_commutativity_keeps_it():
  w = networks.random_network(6, seed=3)
  for e in S.trace(w.rhs, ("x", 6), ("k", w.n_params)):
    if isinstance(e, (int, float)):
      continue
    c0 = _cost_sp(e)
    assert E.optimize(e, max_iter=3)[1] <= c0
    assert E.optimize(e, E.COMM_RULES, max_iter=4)[1] == c0


def test_caps_stop_saturation():
  e = S.add(*[S.mul(S.Sym(f"u{i}"), S.Sym(f"v{i}")) for i in range(6)])
  g = E.EGraph(); g.add(e)
  assert g.saturate(max_iter=2).status == "iteration_limit"
  g = E.EGraph(); g.add(e)
  rep = g.saturate(max_iter=100, max_nodes=200)
  assert rep.status == "node_limit"
  g = E.EGraph(); g.add(e)
  assert g.saturate(max_iter=1000, max_nodes=10**7, time_limit=0.05).status == "time_limit"


@pytest.fixture(scope="module")
def network_exprs():
  w = networks.random_network(12, seed=1)
  exprs = S.trace(w.rhs, ("x", 12), ("k", w.n_params))
  return w, exprs, experiment.optimize_exprs(exprs, max_iter=4, max_nodes=1500)["exprs"], experiment.sympy_cse_exprs(exprs)


def test_optimized_rhs_equals_naive_float64(network_exprs):
  w, naive, opt, cse = network_exprs
  rng = np.random.default_rng(0)
  xv, kv = rng.uniform(0.1, 3.0, (12, 16)), rng.uniform(0.1, 3.0, w.n_params)
  ref = w.rhs(xv, kv)  # numpy evaluation of the hand-written code
  syms = [sp.Symbol(f"x{i}") for i in range(12)] + [sp.Symbol(f"k{r}") for r in range(w.n_params)]
  vals = list(xv) + list(kv)
  for es in (naive, opt, cse):
    got = np.stack([np.broadcast_to(sp.lambdify(syms, S.to_sympy(e), "numpy")(*vals), (16,)) for e in es])
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


def test_codegen_equals_lambdify_and_cse_shrinks_jaxpr(network_exprs):
  import jax
  w, naive, opt, cse = network_exprs
  args = [[S.Sym(f"x{i}") for i in range(12)], [S.Sym(f"k{r}") for r in range(w.n_params)]]
  syms = [sp.Symbol(s.name) for g in args for s in g]
  rng = np.random.default_rng(2)
  with jax.enable_x64(True):
    xv, kv = rng.uniform(0.1, 3.0, (12, 8)), rng.uniform(0.1, 3.0, w.n_params)
    extra = [S.Term("sin", (x,)) / S.Term("exp", (y,)) - x ** 3, S.Term("atan", (x,)) * S.Term("log", (y,))]
    f = S.build_function(list(opt) + extra, [args[0] + [x, y], args[1]])
    xa = np.concatenate([xv, rng.uniform(0.2, 0.9, (2, 8))])
    got = np.asarray(f(xa, kv))
    allsyms = [sp.Symbol(f"x{i}") for i in range(12)] + [sp.Symbol("x"), sp.Symbol("y")] + syms[12:]
    vals = list(xa) + list(kv)
    want = np.stack([np.broadcast_to(sp.lambdify(allsyms, S.to_sympy(e), "numpy")(*vals), (8,))
                     for e in list(opt) + extra])
    np.testing.assert_allclose(got, want, rtol=1e-12)
    n_plain = len(jax.make_jaxpr(S.build_function(cse, args, jit=False, cse=False))(xv, kv).jaxpr.eqns)
    n_cse = len(jax.make_jaxpr(S.build_function(cse, args, jit=False, cse=True))(xv, kv).jaxpr.eqns)
    assert n_cse < n_plain


def test_trace_matches_numpy_and_classic_networks():
  for w in (networks.brusselator(), networks.robertson(), networks.repressilator()):
    es = S.trace(w.rhs, ("x", w.n_species), ("k", w.n_params))
    xv, kv = np.linspace(0.3, 1.7, w.n_species), np.linspace(0.5, 1.1, w.n_params)
    f = S.build_function(es, [S.symbolic_array("x", w.n_species), S.symbolic_array("k", w.n_params)], jit=False)
    np.testing.assert_allclose(np.asarray(f(xv, kv)), w.rhs(xv, kv), rtol=1e-5)
  # Robertson conserves mass: the three rates sum to 0 symbolically
  es = S.trace(networks.robertson().rhs, ("x", 3), ("k", 3))
  assert sp.simplify(sum(S.to_sympy(e) for e in es)) == 0
