"""Batteries for models/common/ibp.py (the interval core of papers 17 and 26).

Gradients in float64, at points away from the kinks of |·|, ReLU, min/max and the clipping of the input box.
"""
import jax
import jax.numpy as jnp
import numpy as np

from models.common import ibp
from battery import BadInput, Grad, NoGrad, jit_functional  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("models.common.ibp",)

_rng = np.random.default_rng(0)
C = np.array([[0.3, -0.2, 0.5], [0.1, 0.4, -0.6]])
R = np.array([[0.1, 0.2, 0.05], [0.3, 0.1, 0.2]])
W = _rng.standard_normal((3, 4))
B = _rng.standard_normal(4) * 0.1
W2 = _rng.standard_normal((4, 3))
B2 = _rng.standard_normal(3) * 0.1
LAYERS = [(W, B), (W2, B2)]
X01 = np.array([[0.3, 0.55, 0.7], [0.2, 0.4, 0.6]])
Y = np.array([0, 2], np.int32)
SPEC = np.asarray(ibp.margin_spec(Y, 3), np.float64)
XL = np.array([[-0.5, 0.2, -0.1]]); XU = XL + np.array([[0.7, 0.3, 0.05]])
WL = _rng.standard_normal((3, 2)); WU = WL + 0.4
P = np.array([[0.2, 0.5, 0.3]]); PU = P + 0.2
F = "models.common.ibp."

BAD_INPUTS = [
    BadInput(F + "box_to_bounds", "negative radius", lambda: ibp.box_to_bounds(jnp.zeros(2), -jnp.ones(2)),
             match="radius"),
    BadInput(F + "box_to_bounds", "shape mismatch", lambda: ibp.box_to_bounds(jnp.zeros(2), jnp.ones(3)),
             match="radius"),
    BadInput(F + "bounds_to_box", "lower > upper", lambda: ibp.bounds_to_box(jnp.ones(2), jnp.zeros(2)),
             match="lower > upper"),
    BadInput(F + "bounds_to_box", "int bounds", lambda: ibp.bounds_to_box(jnp.zeros(2, jnp.int32), jnp.ones(2)),
             match="lower", error=TypeError),
    BadInput(F + "input_box", "eps < 0", lambda: ibp.input_box(jnp.asarray(X01), -0.1), match="eps"),
    BadInput(F + "input_box", "x outside the data range", lambda: ibp.input_box(jnp.full((1, 2), 2.0), 0.1),
             match="x"),
    BadInput(F + "input_box", "lo >= hi", lambda: ibp.input_box(jnp.asarray(X01), 0.1, 1.0, 0.0), match="lo, hi"),
    BadInput(F + "affine", "kernel rows", lambda: ibp.affine(jnp.asarray(C), jnp.asarray(R), jnp.ones((4, 2))),
             match="w"),
    BadInput(F + "affine", "bias shape", lambda: ibp.affine(jnp.asarray(C), jnp.asarray(R), W, jnp.ones(3)),
             match="b"),
    BadInput(F + "affine", "negative radius", lambda: ibp.affine(jnp.asarray(C), -jnp.asarray(R), W), match="radius"),
    BadInput(F + "monotone", "fn not callable", lambda: ibp.monotone(1.0, jnp.asarray(C), jnp.asarray(R)),
             match="fn", error=TypeError),
    BadInput(F + "monotone", "radius shape", lambda: ibp.monotone(jnp.tanh, jnp.asarray(C), jnp.ones(3)),
             match="radius"),
    BadInput(F + "relu", "negative radius", lambda: ibp.relu(jnp.asarray(C), -jnp.asarray(R)), match="radius"),
    BadInput(F + "mlp_apply", "layers not a list", lambda: ibp.mlp_apply(W, jnp.asarray(X01)), match="layers",
             error=TypeError),
    BadInput(F + "mlp_apply", "layer widths", lambda: ibp.mlp_apply([(W, B), (W, B)], jnp.asarray(X01)),
             match=r"layers\[1\]"),
    BadInput(F + "mlp_apply", "x width", lambda: ibp.mlp_apply(LAYERS, jnp.ones((2, 5))), match="x"),
    BadInput(F + "mlp_bounds", "center width", lambda: ibp.mlp_bounds(LAYERS, jnp.ones((2, 5)), jnp.ones((2, 5))),
             match="center"),
    BadInput(F + "mlp_bounds", "spec class count", lambda: ibp.mlp_bounds(
        LAYERS, jnp.asarray(C), jnp.asarray(R), spec=jnp.ones((2, 1, 4))), match="spec"),
    BadInput(F + "margin_spec", "label out of range", lambda: ibp.margin_spec(jnp.array([0, 3]), 3), match="y"),
    BadInput(F + "margin_spec", "num_classes 1", lambda: ibp.margin_spec(jnp.array([0]), 1), match="num_classes"),
    BadInput(F + "margin_spec", "float labels", lambda: ibp.margin_spec(jnp.array([0.0]), 3), match="y",
             error=TypeError),
    BadInput(F + "elide", "wrong class count", lambda: ibp.elide(W2, B2, jnp.ones((2, 2, 4))), match="spec"),
    BadInput(F + "elide", "bias shape", lambda: ibp.elide(W2, jnp.ones(2), jnp.ones((2, 2, 3))), match="w, b"),
    BadInput(F + "worst_case_from_margins", "label shape", lambda: ibp.worst_case_from_margins(
        jnp.ones((2, 2)), jnp.array([0])), match="y"),
    BadInput(F + "worst_case_from_margins", "label out of range", lambda: ibp.worst_case_from_margins(
        jnp.ones((2, 2)), jnp.array([0, 3])), match="y"),
    BadInput(F + "worst_case_logits", "lower > upper", lambda: ibp.worst_case_logits(
        jnp.ones((2, 3)), jnp.zeros((2, 3)), jnp.array([0, 1])), match="lower > upper"),
    BadInput(F + "worst_case_logits", "label out of range", lambda: ibp.worst_case_logits(
        jnp.zeros((2, 3)), jnp.ones((2, 3)), jnp.array([0, 3])), match="y"),
    BadInput(F + "interval_matmul", "x_lower > x_upper", lambda: ibp.interval_matmul(XU, XL, WL, WU),
             match="x_lower > x_upper"),
    BadInput(F + "interval_matmul", "kernel shape", lambda: ibp.interval_matmul(XL, XU, WL.T, WU.T),
             match="w_lower"),
    BadInput(F + "interval_matmul", "w_lower > w_upper", lambda: ibp.interval_matmul(XL, XU, WU, WL),
             match="w_lower > w_upper"),
    BadInput(F + "interval_matmul_nonneg", "negative inputs", lambda: ibp.interval_matmul_nonneg(XL, XU, WL, WU),
             match="x_lower"),
    BadInput(F + "interval_matmul_nonneg", "shape mismatch", lambda: ibp.interval_matmul_nonneg(
        P, jnp.ones((1, 2)), WL, WU), match="x_upper"),
]

_j = jit_functional
R_ = ("rev",)

GRADIENTS = [
    Grad(F + "box_to_bounds", _j(ibp.box_to_bounds), lambda: (C, R), modes=R_),
    Grad(F + "bounds_to_box", _j(ibp.bounds_to_box), lambda: (C - R, C + R), modes=R_),
    Grad(F + "input_box", _j(lambda x, e: ibp.input_box(x, e)), lambda: (X01, np.asarray(0.1)), modes=R_),
    Grad(F + "affine", _j(lambda c, r, w, b: ibp.affine(c, r, w, b)), lambda: (C, R, W, B), modes=R_),
    Grad(F + "monotone", _j(lambda c, r: ibp.monotone(jnp.tanh, c, r)), lambda: (C, R), modes=R_),
    Grad(F + "relu", _j(ibp.relu), lambda: (C, 0.5 * R), modes=R_),
    Grad(F + "mlp_apply", _j(lambda l, x: ibp.mlp_apply(l, x)), lambda: (LAYERS, X01), modes=R_),
    Grad(F + "mlp_bounds", _j(lambda l, c, r: tuple(ibp.mlp_bounds(l, c, r, spec=SPEC))[:2]),
         lambda: (LAYERS, X01, R), modes=R_),
    Grad(F + "elide", _j(lambda w, b, s: ibp.elide(w, b, s)), lambda: (W2, B2, SPEC), modes=R_),
    Grad(F + "worst_case_from_margins", _j(lambda m: ibp.worst_case_from_margins(m, Y)),
         lambda: (np.array([[0.3, -0.2], [0.5, 0.1]]),), modes=R_),
    Grad(F + "worst_case_logits", _j(lambda l, u: ibp.worst_case_logits(l, u, Y)), lambda: (C - R, C + R), modes=R_),
    Grad(F + "interval_matmul", _j(ibp.interval_matmul), lambda: (XL, XU, WL, WU), modes=R_),
    Grad(F + "interval_matmul_nonneg", _j(ibp.interval_matmul_nonneg), lambda: (P, PU, WL, WU), modes=R_),
]

EXEMPT = {
    F + "margin_spec": "grad: integer labels in, a constant 0/±1 matrix out: nothing to differentiate",
}
