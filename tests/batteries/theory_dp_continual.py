"""Batteries for theory/dp_continual (paper 10: continual counting by the binary tree, MaxSum / SumSelect through
per-column trees and the sparse-vector mechanism, batch baselines).

Gradients in float64, reverse mode. Given the key, the counters and the trees are affine in the stream (noise
added to sums) and reparameterised in their noise scale (``b = Δ/ε``, the calibrated Gaussian σ: the bisection is
differentiated through the implicit function, δ through log δ so that the finite-difference step stays small
relative to it); MaxSum releases are maxima of those (the example's maxima are unique). Not differentiable (a
``TypeError`` naming the function): the 0/1 stream sampler, the exponential mechanism's column, the sparse-vector
releases and the host-side ``svt_parameters`` (integer numbers of rounds).
"""
import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

from theory import dp_continual as D
from battery import BadInput, Grad, NoGrad  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("theory.dp_continual",)

KEY = jax.random.key(0, impl="rbg")   # XLA RngBitGenerator: compiles far faster than threefry
f = np.float64
X = np.array([[0.3, 0.9], [0.8, 0.1], [0.6, 0.4], [0.2, 0.7], [0.9, 0.5]])   # T = 5, d = 2, in (0, 1)
NODES = [np.ones((5, 2)), np.ones((2, 2)), np.ones((1, 2))]                   # levels of T = 5


def _checked(fun, *args):
  """Runs ``checkify.checkify(jax.jit(fun))`` and raises the error it reports (a ValueError subclass)."""
  err, out = checkify.checkify(jax.jit(fun))(*args)
  err.throw()
  return out


BAD_INPUTS = [
    BadInput("theory.dp_continual.seeded_stream", "negative seed", lambda: D.seeded_stream(-1, 4, 1),
             match="seeded_stream: seed"),
    BadInput("theory.dp_continual.counting_errors", "int key", lambda: D.counting_errors(0, X, 1.0, 1e-6, 2),
             match="counting_errors: key", error=TypeError),
    BadInput("theory.dp_continual.counting_errors", "delta 0", lambda: D.counting_errors(KEY, X, 1.0, 0.0, 2),
             match="counting_errors: delta"),
    BadInput("theory.dp_continual.svt_errors", "reps 0", lambda: D.svt_errors(KEY, X, 1.0, 1e-6, 0),
             match="svt_errors: reps"),
    BadInput("theory.dp_continual.tree_column_errors", "dims beyond the stream", lambda: D.tree_column_errors(
        KEY, X, 1.0, 1e-5, (3,), 2), match="tree_column_errors: dims"),
    BadInput("theory.dp_continual.crossover_dimension", "shapes", lambda: D.crossover_dimension(
        (1, 2), (1.0,), 1.0), match="crossover_dimension: dims, tree_error"),
    BadInput("theory.dp_continual.check_stream", "above 1", lambda: D.check_stream(np.array([[0.0], [2.0]])),
             match=r"check_stream: stream.*index \(1, 0\)"),
    BadInput("theory.dp_continual.check_stream", "NaN", lambda: D.check_stream(np.array([0.0, np.nan])),
             match="check_stream: stream"),
    BadInput("theory.dp_continual.check_stream", "3-D", lambda: D.check_stream(np.zeros((2, 2, 2))),
             match="check_stream: stream"),
    BadInput("theory.dp_continual.check_stream", "empty", lambda: D.check_stream(np.zeros((0, 2))),
             match="check_stream: stream"),
    BadInput("theory.dp_continual.check_stream", "str", lambda: D.check_stream(np.array(["a", "b"])),
             match="check_stream: stream", error=TypeError),
    BadInput("theory.dp_continual.bernoulli_stream", "rates > 1", lambda: D.bernoulli_stream(KEY, 5, 2, rates=1.5),
             match="bernoulli_stream: rates"),
    BadInput("theory.dp_continual.bernoulli_stream", "rates length", lambda: D.bernoulli_stream(
        KEY, 5, 2, rates=np.ones(3) / 2), match="bernoulli_stream: rates"),
    BadInput("theory.dp_continual.bernoulli_stream", "horizon 0", lambda: D.bernoulli_stream(KEY, 0, 2),
             match="bernoulli_stream: horizon"),
    BadInput("theory.dp_continual.prefix_sums", "negative entry", lambda: D.prefix_sums(-X),
             match="prefix_sums: stream"),
    BadInput("theory.dp_continual.max_sum", "3-D", lambda: D.max_sum(np.zeros((2, 2, 1))), match="max_sum: stream"),
    BadInput("theory.dp_continual.selection_regret", "selected length", lambda: D.selection_regret(
        X, np.zeros(2, np.int32)), match="selection_regret: selected"),
    BadInput("theory.dp_continual.selection_regret", "column out of range", lambda: D.selection_regret(
        X, np.array([0, 1, 2, 0, 1])), match=r"selection_regret: selected.*\[0, 2\).*index \(2,\)"),
    BadInput("theory.dp_continual.selection_regret", "column out of range under jit", lambda: _checked(
        lambda s: D.selection_regret(X, s), np.array([0, 1, -1, 0, 1])), match="selection_regret: selected",
        error=checkify.JaxRuntimeError),
    BadInput("theory.dp_continual.max_abs_error", "shapes", lambda: D.max_abs_error(np.zeros(3), np.zeros(4)),
             match="max_abs_error: released, target"),
    BadInput("theory.dp_continual.max_abs_error", "str", lambda: D.max_abs_error(np.array(["a"]), np.zeros(1)),
             match="max_abs_error: released", error=TypeError),
    BadInput("theory.dp_continual.naive_counter", "epsilon < 0", lambda: D.naive_counter(KEY, X, -1.0),
             match="naive_counter: epsilon"),
    BadInput("theory.dp_continual.naive_counter", "str epsilon", lambda: D.naive_counter(KEY, X, "1"),
             match="naive_counter: epsilon", error=TypeError),
    BadInput("theory.dp_continual.fresh_prefix_counter", "inf epsilon", lambda: D.fresh_prefix_counter(
        KEY, X, np.inf), match="fresh_prefix_counter: epsilon"),
    BadInput("theory.dp_continual.fresh_prefix_counter", "stream", lambda: D.fresh_prefix_counter(
        KEY, X + 1, 1.0), match="fresh_prefix_counter: stream"),
    BadInput("theory.dp_continual.batch_count", "NaN epsilon", lambda: D.batch_count(KEY, X, np.nan),
             match="batch_count: epsilon"),
    BadInput("theory.dp_continual.batch_max_sum", "epsilon 0", lambda: D.batch_max_sum(KEY, X, 0.0),
             match="batch_max_sum: epsilon"),
    BadInput("theory.dp_continual.batch_sum_select", "stream", lambda: D.batch_sum_select(KEY, np.zeros((0, 2)), 1.0),
             match="batch_sum_select: stream"),
    BadInput("theory.dp_continual.tree_max_sum", "gaussian without delta", lambda: D.tree_max_sum(KEY, X, 1.0),
             match="tree_calibration: delta"),
    BadInput("theory.dp_continual.tree_max_sum", "stream", lambda: D.tree_max_sum(KEY, np.ones((2, 2, 2)), 1.0, 1e-5),
             match="tree_max_sum: stream"),
    BadInput("theory.dp_continual.svt_parameters", "problem", lambda: D.svt_parameters(10, 1.0, problem="median"),
             match="svt_parameters: problem"),
    BadInput("theory.dp_continual.svt_parameters", "max_updates 0", lambda: D.svt_parameters(
        10, 1.0, threshold=1.0, max_updates=0), match="svt_parameters: max_updates"),
    BadInput("theory.dp_continual.svt_parameters", "horizon 0", lambda: D.svt_parameters(0, 1.0),
             match="svt_parameters: horizon"),
    BadInput("theory.dp_continual.svt_parameters", "test_fraction 1", lambda: D.svt_parameters(
        10, 1.0, test_fraction=1.0), match="svt_parameters: test_fraction"),
    BadInput("theory.dp_continual.svt_parameters", "delta 1", lambda: D.svt_parameters(10, 1.0, 1.0),
             match="svt_parameters: delta"),
    BadInput("theory.dp_continual.svt_max_sum", "negative threshold", lambda: D.svt_max_sum(
        KEY, X, 1.0, threshold=-1.0), match="svt_parameters: threshold"),
    BadInput("theory.dp_continual.svt_max_sum", "stream", lambda: D.svt_max_sum(KEY, X * np.nan, 1.0),
             match="svt_max_sum: stream"),
    BadInput("theory.dp_continual.calibrated_gaussian_sigma", "delta 0", lambda: D.calibrated_gaussian_sigma(
        1.0, 1.0, 0.0), match="calibrated_gaussian_sigma: delta"),
    BadInput("theory.dp_continual.calibrated_gaussian_sigma", "sensitivity 0", lambda: D.calibrated_gaussian_sigma(
        0.0, 1.0, 1e-5), match="calibrated_gaussian_sigma: sensitivity"),
    BadInput("theory.dp_continual.calibrated_gaussian_sigma", "epsilon inf", lambda: D.calibrated_gaussian_sigma(
        1.0, np.inf, 1e-5), match="calibrated_gaussian_sigma: epsilon"),
    BadInput("theory.dp_continual.tree_calibration", "noise", lambda: D.tree_calibration(8, 1, 1.0, 0.0, "cauchy"),
             match="tree_calibration: noise"),
    BadInput("theory.dp_continual.tree_calibration", "dim 0", lambda: D.tree_calibration(8, 0, 1.0),
             match="tree_calibration: dim"),
    BadInput("theory.dp_continual.tree_calibration", "horizon float", lambda: D.tree_calibration(8.0, 1, 1.0),
             match="tree_calibration: horizon", error=TypeError),
    BadInput("theory.dp_continual.num_levels", "horizon 0", lambda: D.num_levels(0), match="num_levels: horizon"),
    BadInput("theory.dp_continual.node_l1_sensitivity", "dim 0", lambda: D.node_l1_sensitivity(8, 0),
             match="node_l1_sensitivity: dim"),
    BadInput("theory.dp_continual.node_l2_sensitivity", "horizon -1", lambda: D.node_l2_sensitivity(-1),
             match="node_l2_sensitivity: horizon"),
    BadInput("theory.dp_continual.popcount", "float t", lambda: D.popcount(np.ones(3)), match="popcount: t",
             error=TypeError),
    BadInput("theory.dp_continual.tree_error_variance", "t 0", lambda: D.tree_error_variance(np.arange(3), 1.0),
             match=r"tree_error_variance: t.*index \(0,\)"),
    BadInput("theory.dp_continual.tree_error_variance", "t 0 under jit", lambda: _checked(
        lambda t: D.tree_error_variance(t, 1.0), np.arange(3)), match="tree_error_variance: t",
        error=checkify.JaxRuntimeError),
    BadInput("theory.dp_continual.tree_error_variance", "negative variance", lambda: D.tree_error_variance(
        np.arange(1, 4), -1.0), match="tree_error_variance: node_variance"),
    BadInput("theory.dp_continual.tree_error_variance", "shapes", lambda: D.tree_error_variance(
        np.arange(1, 4), np.ones(2)), match="tree_error_variance: t, node_variance"),
    BadInput("theory.dp_continual.node_sums", "stream", lambda: D.node_sums(np.full(3, 1.5)), match="node_sums: stream"),
    BadInput("theory.dp_continual.prefix_from_nodes", "empty", lambda: D.prefix_from_nodes([]),
             match="prefix_from_nodes: nodes", error=TypeError),
    BadInput("theory.dp_continual.prefix_from_nodes", "levels", lambda: D.prefix_from_nodes(NODES[:2]),
             match="prefix_from_nodes: nodes"),
    BadInput("theory.dp_continual.prefix_from_nodes", "level shape", lambda: D.prefix_from_nodes(
        [NODES[0], np.ones((3, 2)), NODES[2]]), match=r"prefix_from_nodes: nodes\[1\]"),
    BadInput("theory.dp_continual.tree_prefix_sums", "negative scale", lambda: D.tree_prefix_sums(KEY, X, -1.0),
             match="tree_prefix_sums: scale"),
    BadInput("theory.dp_continual.tree_prefix_sums", "vector scale", lambda: D.tree_prefix_sums(KEY, X, jnp.ones(2)),
             match="tree_prefix_sums: scale"),
    BadInput("theory.dp_continual.tree_prefix_sums", "noise", lambda: D.tree_prefix_sums(KEY, X, 1.0, "cauchy"),
             match="tree_prefix_sums: noise"),
    BadInput("theory.dp_continual.tree_release", "stream", lambda: D.tree_release(KEY, X - 1, 1.0),
             match="tree_release: stream"),
    BadInput("theory.dp_continual.tree_release", "gaussian delta 0", lambda: D.tree_release(
        KEY, X, 1.0, 0.0, "gaussian"), match="tree_calibration: delta"),
    BadInput("theory.dp_continual.tree_counter", "epsilon < 0", lambda: D.tree_counter(KEY, X, -1.0),
             match="tree_calibration: epsilon"),
    BadInput("theory.dp_continual.tree_counter", "noise", lambda: D.tree_counter(KEY, X, 1.0, 0.0, "cauchy"),
             match="tree_calibration: noise"),
]

GRADIENTS = [
    Grad("theory.dp_continual.check_stream", D.check_stream, lambda: (X,)),
    NoGrad("theory.dp_continual.bernoulli_stream", lambda r: D.bernoulli_stream(KEY, 4, 2, r, jnp.float64),
           lambda: (np.array([0.3, 0.6]),), match="bernoulli_stream is not differentiable"),
    Grad("theory.dp_continual.prefix_sums", D.prefix_sums, lambda: (X,)),
    Grad("theory.dp_continual.max_sum", D.max_sum, lambda: (X,)),
    Grad("theory.dp_continual.selection_regret", lambda x: D.selection_regret(x, jnp.array([0, 0, 1, 1, 0])),
         lambda: (X,)),
    Grad("theory.dp_continual.max_abs_error", D.max_abs_error,
         lambda: (np.array([[0.1, 0.9, 0.4], [0.2, -0.5, 0.3]]), np.array([0.0, 0.2, 0.1]))),
    Grad("theory.dp_continual.naive_counter", lambda x, e: D.naive_counter(KEY, x, e), lambda: (X, f(0.8))),
    Grad("theory.dp_continual.fresh_prefix_counter", lambda x, e: D.fresh_prefix_counter(KEY, x, e),
         lambda: (X, f(0.8))),
    Grad("theory.dp_continual.batch_count", lambda x, e: D.batch_count(KEY, x, e), lambda: (X, f(0.8))),
    Grad("theory.dp_continual.batch_max_sum", lambda x, e: D.batch_max_sum(KEY, x, e), lambda: (X, f(0.8))),
    NoGrad("theory.dp_continual.batch_sum_select", lambda x: D.batch_sum_select(KEY, x, 1.0), lambda: (X,),
           match="batch_sum_select is not differentiable"),
    Grad("theory.dp_continual.tree_max_sum", lambda x: D.tree_max_sum(KEY, x, 1.0, 1e-5).value, lambda: (X,)),
    NoGrad("theory.dp_continual.svt_parameters", lambda e: D.svt_parameters(16, e).threshold, lambda: (f(1.0),),
           match="svt_parameters.*not differentiable"),
    NoGrad("theory.dp_continual.svt_max_sum", lambda x: D.svt_max_sum(KEY, x, 1.0)[0], lambda: (X,),
           match="svt_max_sum is not differentiable"),
    Grad("theory.dp_continual.calibrated_gaussian_sigma", lambda s, e, ld: D.calibrated_gaussian_sigma(
        s, e, jnp.exp(ld)), lambda: (f(1.5), f(0.7), f(np.log(1e-5)))),
    Grad("theory.dp_continual.tree_calibration", lambda e: D.tree_calibration(8, 2, e)[1:3], lambda: (f(0.7),)),
    Grad("theory.dp_continual.tree_error_variance", lambda v: D.tree_error_variance(jnp.arange(1, 6), v),
         lambda: (f(2.5),)),
    Grad("theory.dp_continual.node_sums", D.node_sums, lambda: (X,)),
    Grad("theory.dp_continual.prefix_from_nodes", D.prefix_from_nodes,
         lambda: ([np.linspace(0, 1, 10).reshape(5, 2), np.array([[0.3, 0.1], [0.7, 0.2]]), np.array([[0.5, 0.9]])],)),
    Grad("theory.dp_continual.tree_prefix_sums", lambda x, b: D.tree_prefix_sums(KEY, x, b), lambda: (X, f(0.6))),
    Grad("theory.dp_continual.tree_release", lambda x: tuple(D.tree_release(KEY, x, 1.0)[:2]), lambda: (X,)),
    Grad("theory.dp_continual.tree_counter", lambda x, e: D.tree_counter(KEY, x, e), lambda: (X, f(0.8))),
]

EXEMPT = {
    "theory.dp_continual.seeded_stream": "grad: integer inputs only (seed, horizon, dim)",
    "theory.dp_continual.counting_errors": "grad: host-side experiment returning numpy summaries of sampled runs (counts, maxima, fitted slopes)",
    "theory.dp_continual.svt_errors": "grad: host-side experiment returning numpy summaries of sampled runs (counts, maxima, fitted slopes)",
    "theory.dp_continual.tree_column_errors": "grad: host-side experiment returning numpy summaries of sampled runs (counts, maxima, fitted slopes)",
    "theory.dp_continual.crossover_dimension": "grad: host-side float64 interpolation of finished measurements",
    "theory.dp_continual.num_levels": "grad: integer inputs only",
    "theory.dp_continual.node_l1_sensitivity": "grad: integer inputs only",
    "theory.dp_continual.node_l2_sensitivity": "grad: integer inputs only",
    "theory.dp_continual.popcount": "grad: integer inputs only",
}
