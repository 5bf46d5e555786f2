"""Batteries for theory/moe (papers 03/04: Gaussian MoE, EM, Voronoi losses, density distances, Fisher information).

One tiny model (k = 2 experts, d = 1, n = 3 points; the Fisher case uses n = 10 so that its 8 x 8 information is
full rank and its eigenvalues are simple) shared by every case, so the eager primitives compile once. Gradients in
float64, reverse mode; the top-K selection, the Voronoi cells and EM's iterations are piecewise constant and the
examples sit away from their switches. Host-level routines (``fit_em``, ``sweep``, ``loglog_slope``, the validating
constructor ``make_params``) and the gate part of ``sample`` refuse differentiation with a TypeError naming them.
"""
import jax
import numpy as np

from theory import moe as M
from battery import BadInput, Grad, NoGrad  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("theory.moe",)

P = M.MoEParams(beta0=np.array([0.3, 0.0]), beta1=np.array([[1.7], [0.0]]), log_tau=np.asarray(np.log(0.6)),
                a=np.array([[-1.1], [0.8]]), b=np.array([0.4, -0.2]), log_nu=np.log(np.array([0.3, 0.5])))
EST = M.MoEParams(beta0=np.array([0.1, -0.6, 0.05]), beta1=np.array([[1.9], [1.5], [0.1]]),
                  log_tau=np.asarray(np.log(0.55)), a=np.array([[-1.0], [-1.3], [0.9]]), b=np.array([0.5, 0.3, -0.1]),
                  log_nu=np.log(np.array([0.35, 0.25, 0.45])))            # 3 atoms near P's 2: a cell of size 2
X = np.array([[-0.7], [0.2], [0.9]])
Y = np.array([0.5, -0.3, 1.1])
XF = np.linspace(-0.9, 0.9, 10)[:, None]
YF = np.array([0.9, -0.4, 0.7, 0.1, -0.8, 0.3, 1.2, -0.2, 0.5, -1.0])
KEY = jax.random.key(0, impl="rbg")   # XLA RngBitGenerator: compiles far faster than threefry
NS = np.array([10.0, 100.0, 1000.0])
ERR = np.array([[1.0, 1.2], [0.3, 0.35], [0.1, 0.12]])
_bad = lambda **kw: P._replace(**kw)


def _grad_gate_fn(fn, gate, top_k=None):
  return lambda p, x: fn(p, x, gate, top_k)


BAD_INPUTS = [
    BadInput("theory.moe.check_gate", "gate name", lambda: M.check_gate("relu", None, 2), match="gate"),
    BadInput("theory.moe.check_gate", "top_k > k", lambda: M.check_gate("topk", 3, 2), match="top_k"),
    BadInput("theory.moe.check_gate", "top_k 0", lambda: M.check_gate("topk", 0, 2), match="top_k"),
    BadInput("theory.moe.check_params", "not MoEParams", lambda: M.check_params(tuple(P)), match="params",
             error=TypeError),
    BadInput("theory.moe.check_params", "mismatched expert counts", lambda: M.check_params(_bad(a=np.zeros((3, 1)))),
             match=r"params\.a"),
    BadInput("theory.moe.make_params", "nu <= 0", lambda: M.make_params([0.0], [[0.0]], 1.0, [[0.0]], [0.0], [0.0]),
             match="nu"),
    BadInput("theory.moe.make_params", "tau <= 0", lambda: M.make_params([0.0], [[0.0]], 0.0, [[0.0]], [0.0], [1.0]),
             match="tau"),
    BadInput("theory.moe.make_params", "beta1 rank", lambda: M.make_params([0.0], [0.0], 1.0, [[0.0]], [0.0], [1.0]),
             match="beta1"),
    BadInput("theory.moe.topk_mask", "top_k > k", lambda: M.topk_mask(np.ones((2, 3)), 4), match="top_k"),
    BadInput("theory.moe.topk_mask", "int scores", lambda: M.topk_mask(np.ones((2, 3), np.int32), 1),
             match="scores", error=TypeError),
    BadInput("theory.moe.topk_mask", "0-d scores", lambda: M.topk_mask(np.ones(()), 1), match="scores"),
    BadInput("theory.moe.gate_logits", "x rank", lambda: M.gate_logits(P, Y, "softmax"), match="x"),
    BadInput("theory.moe.gate_logits", "x width", lambda: M.gate_logits(P, np.ones((3, 2)), "softmax"),
             match=r"x: expected shape \[n, d=1\]"),
    BadInput("theory.moe.gate_logits", "int x", lambda: M.gate_logits(P, np.ones((3, 1), np.int32), "softmax"),
             match="x", error=TypeError),
    BadInput("theory.moe.gate_logits", "gate name", lambda: M.gate_logits(P, X, "sparse"), match="gate"),
    BadInput("theory.moe.gate_logits", "topk without top_k", lambda: M.gate_logits(P, X, "topk"), match="top_k"),
    BadInput("theory.moe.log_gate", "top_k > k", lambda: M.log_gate(P, X, "topk", 3), match="log_gate: top_k"),
    BadInput("theory.moe.gate_probs", "params that do not match", lambda: M.gate_probs(
        _bad(beta1=np.zeros((3, 1))), X, "softmax"), match=r"params\.beta1"),
    BadInput("theory.moe.expert_means", "x rank", lambda: M.expert_means(P, np.ones((1, 3, 1))), match="x"),
    BadInput("theory.moe.log_expert", "y length", lambda: M.log_expert(P, X, Y[:2]), match="y"),
    BadInput("theory.moe.log_joint", "int y", lambda: M.log_joint(P, X, np.ones(3, np.int32), "softmax"),
             match="y", error=TypeError),
    BadInput("theory.moe.log_density", "gate name", lambda: M.log_density(P, X, Y, "relu"), match="log_density: gate"),
    BadInput("theory.moe.log_density", "y rank", lambda: M.log_density(P, X, Y[:, None], "softmax"), match="y"),
    BadInput("theory.moe.log_likelihood", "n = 0", lambda: M.log_likelihood(P, np.zeros((0, 1)), np.zeros(0),
             "softmax"), match="n >= 1"),
    BadInput("theory.moe.regression_mean", "x width", lambda: M.regression_mean(P, np.ones((3, 2)), "softmax"),
             match="x"),
    BadInput("theory.moe.sample", "n = 0", lambda: M.sample(KEY, P, 0, "softmax"), match="n"),
    BadInput("theory.moe.sample", "gate name", lambda: M.sample(KEY, P, 3, "relu"), match="gate"),
    BadInput("theory.moe.sample", "empty interval", lambda: M.sample(KEY, P, 3, "softmax", x_low=1.0, x_high=1.0),
             match="x_low"),
    BadInput("theory.moe.fit_em", "n = 0", lambda: M.fit_em(np.zeros((0, 1)), np.zeros(0), P, "softmax"),
             match="n >= 1"),
    BadInput("theory.moe.fit_em", "x, y mismatch", lambda: M.fit_em(X, Y[:2], P, "softmax"), match="x, y"),
    BadInput("theory.moe.fit_em", "x width", lambda: M.fit_em(np.ones((3, 2)), Y, P, "softmax"), match="x"),
    BadInput("theory.moe.fit_em", "negative weights", lambda: M.fit_em(X, Y, P, "softmax", weights=-np.ones(3)),
             match="weights"),
    BadInput("theory.moe.fit_em", "init type", lambda: M.fit_em(X, Y, tuple(P), "softmax"), match="init",
             error=TypeError),
    BadInput("theory.moe.fit_em", "max_iter 0", lambda: M.fit_em(X, Y, P, "softmax", max_iter=0), match="max_iter"),
    BadInput("theory.moe.fit_em", "top_k > k", lambda: M.fit_em(X, Y, P, "topk", 3), match="top_k"),
    BadInput("theory.moe.jitter", "scale < 0", lambda: M.jitter(KEY, P, "softmax", -0.1, 2), match="scale"),
    BadInput("theory.moe.jitter", "reps 0", lambda: M.jitter(KEY, P, "softmax", 0.1, 0), match="reps"),
    BadInput("theory.moe.jitter", "gate name", lambda: M.jitter(KEY, P, "relu", 0.1, 2), match="gate"),
    BadInput("theory.moe.split_atom", "reference atom", lambda: M.split_atom(P, 1, 2), match="j"),
    BadInput("theory.moe.split_atom", "m = 0", lambda: M.split_atom(P, 0, 0), match="m"),
    BadInput("theory.moe.sweep", "n = 0", lambda: M.sweep(KEY, P, P, "softmax", [0, 10], 1, 0.1), match="ns"),
    BadInput("theory.moe.sweep", "reps 0", lambda: M.sweep(KEY, P, P, "softmax", [10], 0, 0.1), match="reps"),
    BadInput("theory.moe.sweep", "top_k > k", lambda: M.sweep(KEY, P, P, "topk", [10], 1, 0.1, top_k=3),
             match="top_k"),
    BadInput("theory.moe.loglog_slope", "errors shape", lambda: M.loglog_slope(NS, ERR[:2]), match="errors"),
    BadInput("theory.moe.loglog_slope", "negative errors", lambda: M.loglog_slope(NS, -ERR), match="errors"),
    BadInput("theory.moe.loglog_slope", "level", lambda: M.loglog_slope(NS, ERR, level=1.5), match="level"),
    BadInput("theory.moe.loglog_slope", "ns <= 0", lambda: M.loglog_slope(np.array([0.0, 1.0, 2.0]), ERR),
             match="x: expected"),
    BadInput("theory.moe.rate_errors", "not a SweepResult", lambda: M.rate_errors([], P, "softmax"),
             error=TypeError, match="res: expected a SweepResult"),
    BadInput("theory.moe.ridge_errors", "not a SweepResult", lambda: M.ridge_errors(None, P),
             error=TypeError, match="res: expected a SweepResult"),
    BadInput("theory.moe.atom_groups", "gate name", lambda: M.atom_groups("relu"), match="gate"),
    BadInput("theory.moe.atom_groups", "ratio without temperature", lambda: M.atom_groups("softmax", True),
             match="ratio"),
    BadInput("theory.moe.atoms", "gate name", lambda: M.atoms(P, "relu"), match="gate"),
    BadInput("theory.moe.atoms", "ratio without temperature", lambda: M.atoms(P, "topk", ratio=True), match="ratio"),
    BadInput("theory.moe.voronoi_loss", "kind", lambda: M.voronoi_loss(EST, P, "temperature", "D3"), match="kind"),
    BadInput("theory.moe.voronoi_loss", "r <= 0", lambda: M.voronoi_loss(EST, P, "temperature", "L_r", r=0.0),
             match="r:"),
    BadInput("theory.moe.voronoi_loss", "est dimension", lambda: M.voronoi_loss(
        EST._replace(beta1=np.zeros((3, 2)), a=np.zeros((3, 2))), P, "temperature"), match="est"),
    BadInput("theory.moe.voronoi_loss", "gate name", lambda: M.voronoi_loss(EST, P, "relu"), match="gate"),
    BadInput("theory.moe.density_distance", "n_y < 3", lambda: M.density_distance(EST, P, "softmax", n_y=2),
             match="n_y"),
    BadInput("theory.moe.density_distance", "no x nodes", lambda: M.density_distance(EST, P, "softmax",
             x_nodes=np.zeros((0, 1))), match="x_nodes"),
    BadInput("theory.moe.density_distance", "est dimension", lambda: M.density_distance(
        EST._replace(beta1=np.zeros((3, 2)), a=np.zeros((3, 2))), P, "softmax"), match="est"),
    BadInput("theory.moe.density_distance", "top_k > k", lambda: M.density_distance(EST, P, "topk", top_k=4,
             top_k_true=1), match="top_k"),
    BadInput("theory.moe.empirical_fisher", "n = 0", lambda: M.empirical_fisher(P, np.zeros((0, 1)), np.zeros(0),
             "softmax"), match="n >= 1"),
    BadInput("theory.moe.empirical_fisher", "x, y mismatch", lambda: M.empirical_fisher(P, X, Y[:2], "softmax"),
             match="x, y"),
    BadInput("theory.moe.free_vector", "gate name", lambda: M.free_vector(P, "relu"), match="gate"),
    BadInput("theory.moe.free_vector", "not MoEParams", lambda: M.free_vector(tuple(P), "softmax"), match="params",
             error=TypeError),
    BadInput("theory.moe.with_free_vector", "v length", lambda: M.with_free_vector(P, np.zeros(5), "softmax"),
             match=r"v: expected shape \[8\]"),
    BadInput("theory.moe.with_free_vector", "int v", lambda: M.with_free_vector(P, np.zeros(8, np.int32), "softmax"),
             match="v", error=TypeError),
]

# Every differentiated function is jitted (one compile for the function and one for its vjp, instead of one per
# eager primitive) and checked in reverse mode only: this is what keeps the file within its time budget.
_j = jax.jit
R = ("rev",)

GRADIENTS = [
    Grad("theory.moe.gate_logits", _j(_grad_gate_fn(M.gate_logits, "activation")), lambda: (P, X), modes=R),
    Grad("theory.moe.log_gate", _j(_grad_gate_fn(M.log_gate, "temperature")), lambda: (P, X), modes=R),
    Grad("theory.moe.gate_probs", _j(_grad_gate_fn(M.gate_probs, "softmax")), lambda: (P, X), modes=R),
    Grad("theory.moe.regression_mean", _j(_grad_gate_fn(M.regression_mean, "activation")), lambda: (P, X),
         modes=R),
    Grad("theory.moe.expert_means", _j(M.expert_means), lambda: (P, X), modes=R),
    Grad("theory.moe.log_expert", _j(M.log_expert), lambda: (P, X, Y), modes=R),
    Grad("theory.moe.log_joint", _j(lambda p, x, y: M.log_joint(p, x, y, "temperature")), lambda: (P, X, Y),
         modes=R),
    Grad("theory.moe.log_density", _j(lambda p, x, y: M.log_density(p, x, y, "topk", 1)), lambda: (P, X, Y),
         modes=R, case="topk"),
    Grad("theory.moe.log_likelihood", _j(lambda p, x, y: M.log_likelihood(p, x, y, "activation")),
         lambda: (P, X, Y), modes=R),
    Grad("theory.moe.free_vector", _j(lambda p: M.free_vector(p, "temperature")), lambda: (P,), modes=R),
    Grad("theory.moe.with_free_vector", _j(lambda p, v: M.with_free_vector(p, v, "temperature")),
         lambda: (P, np.linspace(-1.0, 1.0, 9)), modes=R),
    Grad("theory.moe.atoms", _j(lambda p: M.atoms(p, "temperature")), lambda: (P,), modes=R),
    Grad("theory.moe.voronoi_loss", _j(lambda e: M.voronoi_loss(e, P, "temperature", "D2_temperature")[:3]),
         lambda: (EST,), modes=R, case="D2_temperature"),
    Grad("theory.moe.split_atom", _j(lambda p: M.split_atom(p, 0, 2)), lambda: (P,), modes=R),
    Grad("theory.moe.jitter", _j(lambda p: M.jitter(KEY, p, "temperature", 0.1, 2)), lambda: (P,), modes=R),
    Grad("theory.moe.sample", _j(lambda a, b, log_nu: M.sample(KEY, P._replace(a=a, b=b, log_nu=log_nu), 3,
                                                                "softmax")[1]),
         lambda: (P.a, P.b, P.log_nu), modes=R, case="expert parameters (pathwise)"),
    NoGrad("theory.moe.sample", lambda b1: M.sample(KEY, P._replace(beta1=b1), 3, "softmax")[1], lambda: (P.beta1,),
           match="sample in the gate parameters.*not differentiable", case="gate parameters"),
    Grad("theory.moe.density_distance", _j(lambda e: M.density_distance(e, P, "softmax", n_x=3, n_y=9)),
         lambda: (EST,), modes=R),
    Grad("theory.moe.empirical_fisher", _j(lambda y: M.empirical_fisher(P, XF, y, "softmax").eigenvalues),
         lambda: (YF,), modes=R, case="eigenvalues"),
    NoGrad("theory.moe.fit_em", lambda x: M.fit_em(x, Y, P, "softmax", max_iter=2).loglik, lambda: (X,),
           match="fit_em: x.*not differentiable"),
    NoGrad("theory.moe.sweep", lambda t: M.sweep(KEY, t, P, "softmax", [3], 1, 0.1).loglik_true, lambda: (P,),
           match="sweep.*not differentiable"),
    NoGrad("theory.moe.loglog_slope", lambda e: M.loglog_slope(NS, e)[0], lambda: (ERR,),
           match="loglog_slope.*not differentiable"),
    NoGrad("theory.moe.make_params", lambda nu: M.make_params([0.0, 0.0], [[1.0], [0.0]], 1.0, [[0.0], [1.0]],
                                                              [0.0, 0.0], nu), lambda: (np.array([0.3, 0.5]),),
           match="make_params: nu.*not traceable or differentiable"),
]

EXEMPT = {
    "theory.moe.rate_errors": "grad: a host-side numpy summary of a SweepResult of EM fits (no array argument)",
    "theory.moe.ridge_errors": "grad: a host-side numpy summary of a SweepResult of EM fits (no array argument)",
    "theory.moe.check_gate": "grad: no floating inputs (a gate name and ints); returns None",
    "theory.moe.check_params": "grad: a shape check returning Python ints (k, d)",
    "theory.moe.atom_groups": "grad: takes a gate name, returns group names",
    "theory.moe.topk_mask": "grad: returns a bool selection mask, so jax.grad refuses it (tested in "
                            "tests/theory/test_moe.py); the battery's weighted sum skips non-float outputs",
}
