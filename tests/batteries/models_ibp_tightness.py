"""Batteries for models/ibp_tightness (paper 17): tightness, MILP bounds, losses, the MLP, the experiments."""
import jax
import jax.numpy as jnp
import numpy as np

from models import ibp_tightness as M
from battery import BadInput, Grad, NoGrad, jit_functional  # noqa: F401

PACKAGES = ("models.ibp_tightness",)

_rng = np.random.default_rng(0)
LAYERS = [(_rng.standard_normal((3, 4)), _rng.standard_normal(4) * 0.1),
          (_rng.standard_normal((4, 3)), _rng.standard_normal(3) * 0.1)]
X = np.array([[0.3, 0.55, 0.7], [0.2, 0.4, 0.6]])
Y = np.array([0, 2], np.int32)
KEY = jax.random.PRNGKey(0)
F = "models.ibp_tightness."
_j = jit_functional
R_ = ("rev",)
_bad_layers = [(np.ones((3, 2)), np.zeros(2)), (np.ones((3, 2)), np.zeros(2))]

BAD_INPUTS = [
    BadInput(F + "init_mlp", "sizes", lambda: M.init_mlp(KEY, (3,)), match="sizes"),
    BadInput(F + "init_mlp", "init", lambda: M.init_mlp(KEY, (3, 2), "xavier"), match="init"),
    BadInput(F + "layers_from_params", "not params", lambda: M.layers_from_params([1]), match="params"),
    BadInput(F + "CertMLP", "init_scheme", lambda: M.CertMLP(init_scheme="x").init(KEY, jnp.ones((1, 3))),
             match="init"),
    BadInput(F + "initialization_tightness", "width 0", lambda: M.initialization_tightness(0, 2), match="width"),
    BadInput(F + "tightness", "eps < 0", lambda: M.tightness(LAYERS, X, -0.1), match="eps"),
    BadInput(F + "tightness", "relu_adjust", lambda: M.tightness(LAYERS, X, 0.1, relu_adjust="shrink"),
             match="relu_adjust"),
    BadInput(F + "tightness", "layer shapes", lambda: M.tightness(_bad_layers, X, 0.1), match="layers"),
    BadInput(F + "exact_bounds", "lower > upper", lambda: M.exact_bounds(LAYERS, np.ones(3), np.zeros(3)),
             match="lower > upper"),
    BadInput(F + "exact_bounds", "spec class count", lambda: M.exact_bounds(LAYERS, np.zeros(3), np.ones(3),
                                                                             np.ones((1, 4))), match="spec"),
    BadInput(F + "true_tightness", "x 1-D", lambda: M.true_tightness(LAYERS, X[0], 0.1), match="x"),
    BadInput(F + "certified", "labels", lambda: M.certified(LAYERS, X, np.array([0]), 0.1), match="y"),
    BadInput(F + "cross_entropy", "labels", lambda: M.cross_entropy(jnp.ones((2, 3)), jnp.ones(2)), match="y"),
    BadInput(F + "standard_loss", "x 1-D", lambda: M.standard_loss(LAYERS, X[0], Y), match="x"),
    BadInput(F + "pgd_attack", "steps 0", lambda: M.pgd_attack(LAYERS, X, X + 0.1, Y, KEY, steps=0), match="steps"),
    BadInput(F + "pgd_attack", "key", lambda: M.pgd_attack(LAYERS, X, X + 0.1, Y, 0), match="key", error=TypeError),
    BadInput(F + "pgd_loss", "eps < 0", lambda: M.pgd_loss(LAYERS, X, Y, -0.1, KEY), match="eps"),
    BadInput(F + "ibp_loss", "kappa > 1", lambda: M.ibp_loss(LAYERS, X, Y, 0.1, 1.5), match="kappa"),
    BadInput(F + "sabr_loss", "lam = 1", lambda: M.sabr_loss(LAYERS, X, Y, 0.1, 1.0, KEY), match="lam"),
    BadInput(F + "fast_regularizer", "bounds type", lambda: M.fast_regularizer((1, 2), jnp.ones(2), 0.1, 0.1),
             match="bounds", error=TypeError),
    BadInput(F + "ramp", "start > end", lambda: M.ramp(1, 10, 0.6, 0.5), match="start"),
    BadInput(F + "robustness_metrics", "labels", lambda: M.robustness_metrics(LAYERS, X, np.array([0]), 0.1, KEY),
             match="y"),
    BadInput(F + "init_study", "kinds", lambda: M.init_study(KEY, X, (4,), (2,), 1, 0.1, kinds=("cnn",)),
             match="kinds"),
    BadInput(F + "depth_slopes", "one depth", lambda: M.depth_slopes((2,), np.ones((1, 2))), match="tau"),
    BadInput(F + "training_loss", "method", lambda: M.training_loss("crown", LAYERS, X, Y, KEY, eps=0.1),
             match="method"),
]


def _bounds():
  from models.common import ibp
  c = np.array([[2.0, -1.0, 1.0, -0.2]])
  return (c, np.full((1, 4), 0.5), c, np.array([[0.5, 0.3, 0.2, 9.0]]))


def _reg(c, r, c2, r2):
  from models.common import ibp
  return M.fast_regularizer(ibp.MLPBounds(c, r, ((c2, r2),)), jnp.ones((1, 3)), 0.02, 0.05)


GRADIENTS = [
    Grad(F + "layers_from_params", _j(lambda p: M.layers_from_params(p)),
         lambda: ({"w0": LAYERS[0][0], "b0": LAYERS[0][1]},), modes=R_),
    Grad(F + "CertMLP", _j(lambda p, x: M.CertMLP(widths=(4,), num_classes=3).apply({"params": p}, x)),
         lambda: ({"w0": LAYERS[0][0], "b0": LAYERS[0][1], "w1": LAYERS[1][0], "b1": LAYERS[1][1]}, X), modes=R_),
    Grad(F + "tightness", _j(lambda l, e: M.tightness(l, X, e, y=Y)), lambda: (LAYERS, np.asarray(0.1)), modes=R_),
    Grad(F + "cross_entropy", _j(lambda z: M.cross_entropy(z, Y)), lambda: (X,), modes=R_),
    Grad(F + "standard_loss", _j(lambda l, x: M.standard_loss(l, x, Y)), lambda: (LAYERS, X), modes=R_),
    Grad(F + "pgd_loss", _j(lambda l: M.pgd_loss(l, X, Y, 0.1, KEY, steps=3)), lambda: (LAYERS,), modes=R_),
    Grad(F + "ibp_loss", _j(lambda l, x: M.ibp_loss(l, x, Y, 0.1, 0.7)[0]), lambda: (LAYERS, X), modes=R_),
    Grad(F + "sabr_loss", _j(lambda l: M.sabr_loss(l, X, Y, 0.1, 0.3, KEY, steps=3)[0]), lambda: (LAYERS,),
         modes=R_),
    Grad(F + "fast_regularizer", _j(_reg), _bounds, modes=R_),
    Grad(F + "ramp", _j(lambda s: M.ramp(s, 10, 0.1, 0.5, 0.0, 2.0)), lambda: (np.asarray(3.3),), modes=R_),
    Grad(F + "training_loss", _j(lambda l: M.training_loss("ibp", l, X, Y, KEY, eps=0.04, kappa=0.8,
                                                           fast_reg=0.5)[0]), lambda: (LAYERS,), modes=R_),
]

EXEMPT = {
    F + "init_mlp": "grad: a random initialiser: a key and integer sizes in, no float input",
    F + "initialization_tightness": "grad: integer width and depth in, a Python float out",
    F + "exact_bounds": "grad: a MILP solved by scipy/HiGHS on float64 numpy arrays: no derivative",
    F + "true_tightness": "grad: built on the scipy MILP (exact_bounds): no derivative",
    F + "certified": "grad: a boolean per example",
    F + "pgd_attack": "grad: the attack point is gradient-stopped by design (PGD training does not differentiate "
                      "through the attack); its loss is covered by pgd_loss",
    F + "robustness_metrics": "grad: accuracies (counts) for evaluation",
    F + "init_study": "grad: random initialisations from a key, numpy results",
    F + "depth_slopes": "grad: a numpy least-squares fit for reporting",
}
