"""Batteries for kernels/symbolic (paper 23: term interface, rewriters, e-graph, JAX codegen).

Everything but the generated JAX function works on symbolic terms, not arrays: those names are exempt from the
gradient battery. ``build_function``'s output is differentiated against finite differences.
"""
import math

import numpy as np
import sympy as sp

from kernels import symbolic as S
from battery import BadInput, Grad, NoGrad  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("kernels.symbolic",)
_P = "kernels.symbolic."
_x, _y = S.Sym("x"), S.Sym("y")
_e = S.add(S.mul(_x, _y), S.mul(_x, 2))


def _graph():
  g = S.EGraph()
  g.add(_e)
  return g


BAD_INPUTS = [
    BadInput(_P + "Sym", "empty name", lambda: S.Sym(""), match="name"),
    BadInput(_P + "Sym", "int name", lambda: S.Sym(3), match="name"),
    BadInput(_P + "Term", "str argument", lambda: S.Term("+", ("a", _x)), match="args"),
    BadInput(_P + "Term", "arity", lambda: S.Term("sin", (_x, _y)), match="args"),
    BadInput(_P + "Term", "empty op", lambda: S.Term("", (_x,)), match="op"),
    BadInput(_P + "add", "a string", lambda: S.add(_x, "y"), match="xs"),
    BadInput(_P + "mul", "a list", lambda: S.mul(_x, [1]), match="xs"),
    BadInput(_P + "operation", "a leaf", lambda: S.operation(_x), match="x"),
    BadInput(_P + "arguments", "a leaf", lambda: S.arguments(3), match="x"),
    BadInput(_P + "maketerm", "unknown op", lambda: S.maketerm(_e, "gamma", (_x,)), match="op"),
    BadInput(_P + "to_sympy", "a string leaf", lambda: S.to_sympy(S.Term("f", ("a",))) , match="args"),
    BadInput(_P + "to_sympy", "unknown op", lambda: S.to_sympy(S.Term("gamma", (_x,))), match="gamma",
             error=(KeyError, ValueError)),
    BadInput(_P + "from_sympy", "imaginary unit", lambda: S.from_sympy(sp.Symbol("a") + sp.I), match="x"),
    BadInput(_P + "to_tree", "imaginary unit", lambda: S.to_tree(sp.I * sp.Symbol("a")), match="x"),
    BadInput(_P + "to_dict_form", "imaginary unit", lambda: S.to_dict_form(sp.I * sp.Symbol("a")), match="x"),
    BadInput(_P + "Rule", "unbound right-side variable", lambda: S.Rule(S.Pat("+", S.Var("a"), S.Var("b")),
                                                                         S.Pat("*", S.Var("a"), S.Var("c"))),
             match="rhs.*'c'"),
    BadInput(_P + "Rule", "lhs a string", lambda: S.Rule("x + y", S.Var("a")), match="lhs"),
    BadInput(_P + "Rule", "two AC segments", lambda: S.Rule(S.Pat("+", S.Seg("a"), S.Seg("b")), 0, ac=True),
             match="lhs"),
    BadInput(_P + "match", "a string pattern", lambda: list(S.match("x", _x, {})), match="p"),
    BadInput(_P + "Chain", "not a list", lambda: S.Chain(S.simplify), match="rws"),
    BadInput(_P + "RestartedChain", "non-callable entry", lambda: S.RestartedChain([1]), match="rws"),
    BadInput(_P + "Postwalk", "not callable", lambda: S.Postwalk(3), match="rw"),
    BadInput(_P + "Prewalk", "not callable", lambda: S.Prewalk("r"), match="rw"),
    BadInput(_P + "Fixpoint", "max_iter 0", lambda: S.Fixpoint(S.simplify, max_iter=0), match="max_iter"),
    BadInput(_P + "PassThrough", "not callable", lambda: S.PassThrough(None), match="rw"),
    BadInput(_P + "IfElse", "cond not callable", lambda: S.IfElse(True, S.simplify), match="cond"),
    BadInput(_P + "simplify", "rules a rule", lambda: S.simplify(_e, rules=S.SIMPLIFY_RULES[0]), match="rules"),
    BadInput(_P + "expand", "a string inside", lambda: S.expand(S.Term("+", ("a",))), match="args"),
    BadInput(_P + "rewrites_everywhere", "rules of ints", lambda: list(S.rewrites_everywhere(_e, [1])),
             match="rules"),
    BadInput(_P + "binarize", "imaginary unit", lambda: S.binarize(sp.I), match="x"),
    BadInput(_P + "term_cost", "operator missing from the cost table", lambda: S.term_cost(S.Term("gamma", (_x,))),
             match="'gamma' is missing"),
    BadInput(_P + "term_cost", "negative cost", lambda: S.term_cost(_e, {"+": -1, "*": 3}), match="costs"),
    BadInput(_P + "optimize", "operator missing from a user table", lambda: S.optimize(_e, costs={"+": 1}),
             match="'\\*' is missing"),
    BadInput(_P + "optimize", "infinite time cap", lambda: S.optimize(_e, time_limit=math.inf), match="time_limit"),
    BadInput(_P + "EGraph", "NaN node cap", lambda: _graph().saturate(max_nodes=float("nan")), match="max_nodes"),
    BadInput(_P + "EGraph", "fractional max_iter", lambda: _graph().saturate(max_iter=2.5), match="max_iter"),
    BadInput(_P + "EGraph", "a rule with a callable right side",
             lambda: _graph().saturate([S.Rule(S.Var("a"), lambda b, x: x)]), match="rules"),
    BadInput(_P + "build_function", "free symbol outside the arguments", lambda: S.build_function([_e], [[_x]]),
             match="free symbols \\['y'\\]"),
    BadInput(_P + "build_function", "args not symbols", lambda: S.build_function([_e], [["x", "y"]]), match="args"),
    BadInput(_P + "build_function", "repeated symbol", lambda: S.build_function([_e], [[_x, _y], [_x]]),
             match="args"),
    BadInput(_P + "build_function", "no expressions", lambda: S.build_function([], [[_x]]), match="exprs"),
    BadInput(_P + "trace", "fn not callable", lambda: S.trace(3, ("x", 2)), match="fn"),
    BadInput(_P + "trace", "bad spec", lambda: S.trace(lambda x: x, "x"), match="specs"),
    BadInput(_P + "symbolic_array", "n = 0", lambda: S.symbolic_array("x", 0), match="n"),
    BadInput(_P + "mass_action", "species out of range", lambda: S.mass_action("m", 2, [({3: 1}, {})]),
             match="species index"),
    BadInput(_P + "mass_action", "zero stoichiometry", lambda: S.mass_action("m", 2, [({0: 0}, {})]),
             match="stoichiometry"),
    BadInput(_P + "random_network", "one species", lambda: S.random_network(1), match="n_species"),
]

_args = [[S.Sym(f"x{i}") for i in range(3)], [S.Sym(f"k{i}") for i in range(3)]]
_rob = S.trace(S.robertson().rhs, ("x", 3), ("k", 3))
_f = S.build_function(_rob + [S.Term("exp", (S.Sym("x0"),)) / S.Sym("x1")], _args)

GRADIENTS = [
    Grad(_P + "build_function", lambda x, k: _f(x, k), lambda: (np.array([0.7, 1.2, 0.9]), np.array([0.4, 1.1, 0.8])),
         case="generated Robertson RHS + exp/div"),
]

_SYM = "grad: symbolic terms in and out (no array inputs); the generated JAX code is differentiated via build_function"
EXEMPT = {
    _P + n: _SYM for n in ("Sym", "Term", "add", "mul", "operation", "arguments", "maketerm", "to_sympy",
                            "from_sympy", "to_tree", "to_dict_form", "Rule", "match", "Chain", "RestartedChain",
                            "Postwalk", "Prewalk", "Fixpoint", "PassThrough", "IfElse", "simplify", "expand",
                            "rewrites_everywhere", "binarize", "term_cost", "optimize", "EGraph", "trace",
                            "symbolic_array", "mass_action", "random_network")
}
EXEMPT.update({
    _P + "iscall": "a predicate on any object (a non-term is a leaf: False); no arrays",
    _P + "free_symbols": "accepts any object (a non-term is a leaf without symbols); no arrays",
    _P + "DSum": "the dictionary representation's node, built by to_dict_form/maketerm (which check their input)",
    _P + "DProd": "the dictionary representation's node, built by to_dict_form/maketerm (which check their input)",
    _P + "DCall": "the dictionary representation's node, built by to_dict_form/maketerm (which check their input)",
    _P + "Var": "a pattern container; patterns are checked by Rule and match",
    _P + "Seg": "a pattern container; patterns are checked by Rule and match",
    _P + "Pat": "a pattern container; patterns are checked by Rule and match",
    _P + "SaturationReport": "a result container",
    _P + "Workload": "a result container built by mass_action / the named networks",
    _P + "brusselator": "takes no arguments; its right-hand side is differentiated via build_function",
    _P + "robertson": "takes no arguments; its right-hand side is differentiated via build_function",
    _P + "repressilator": "takes no arguments; its right-hand side is differentiated via build_function",
})
