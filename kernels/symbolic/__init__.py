"""Symbolic numerics: a term interface, rewriters, an e-graph with cost extraction, JAX code generation
(paper 23).

Gowda, Ma, Cheli, Gwóźdź, Shah, Edelman, Rackauckas, "High-performance symbolic-numerics via multiple
dispatch", arXiv:2105.03949 (Symbolics.jl / SymbolicUtils.jl).
"""
from kernels.symbolic.codegen import build_function, symbolic_array, trace
from kernels.symbolic.egraph import (COMM_RULES, COSTS, OPT_RULES, EGraph, SaturationReport, binarize, optimize,
                                     term_cost)
from kernels.symbolic.networks import (Workload, brusselator, mass_action, random_network, repressilator,
                                       robertson)
from kernels.symbolic.rewrite import (SIMPLIFY_RULES, Chain, Fixpoint, IfElse, PassThrough, Pat, Postwalk,
                                      Prewalk, RestartedChain, Rule, Seg, Var, expand, match, rewrites_everywhere,
                                      simplify)
from kernels.symbolic.terms import (DCall, DProd, DSum, Sym, Term, add, arguments, free_symbols, from_sympy, iscall,
                                    maketerm, mul, operation, to_dict_form, to_sympy, to_tree)

__all__ = ["COMM_RULES", "COSTS", "OPT_RULES", "SIMPLIFY_RULES", "EGraph", "SaturationReport", "Workload", "Sym",
           "Term", "DSum", "DProd", "DCall", "Var", "Seg", "Pat", "Rule", "Chain", "RestartedChain", "Postwalk",
           "Prewalk", "Fixpoint", "PassThrough", "IfElse", "iscall", "operation", "arguments", "maketerm", "add",
           "mul", "to_sympy", "from_sympy", "to_tree", "to_dict_form", "free_symbols", "simplify", "expand", "match",
           "rewrites_everywhere", "binarize", "term_cost", "optimize", "build_function", "trace",
           "symbolic_array", "mass_action", "brusselator", "robertson", "repressilator", "random_network"]
