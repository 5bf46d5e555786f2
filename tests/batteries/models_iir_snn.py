"""Batteries for models/iir_snn (paper 11). Accuracy, the threshold search and spike counts go through the step
function (piecewise constant): NoGrad where differentiating would be meaningless, exempt where the value is a
host float; the loss and the ANN are checked against finite differences in float64."""
import jax
import jax.numpy as jnp
import numpy as np

from models import iir_snn as I
from models.common import spiking as S
from battery import BadInput, Grad, NoGrad, jit_functional  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("models.iir_snn",)

F = "models.iir_snn."
KEY = jax.random.PRNGKey(0)
_ANN = I.ANNMLP(features=(4, 3))
X = np.random.default_rng(0).uniform(size=(5, 3))
_P = _ANN.init(KEY, jnp.ones((1, 3)))["params"]
LOGITS = np.array([[0.3, -0.2, 1.1], [0.5, 0.4, -0.6]])
Y = np.array([2, 0], np.int32)


def _ann(x):
  return _ANN.apply({"params": jax.tree.map(lambda a: a.astype(x.dtype), _P)}, x)


BAD_INPUTS = [
    BadInput(F + "ANNMLP", "x rank", lambda: _ANN.init(KEY, jnp.ones(3)), match="x"),
    BadInput(F + "ANNMLP", "no layers", lambda: I.ANNMLP(features=()).init(KEY, jnp.ones((1, 3))), match="features"),
    BadInput(F + "snn_model", "T < 1", lambda: I.snn_model((4, 3), 0), match="timesteps"),
    BadInput(F + "cross_entropy", "float labels", lambda: I.cross_entropy(jnp.ones((2, 3)), jnp.ones(2)),
             match="labels"),
    BadInput(F + "cross_entropy", "logits rank", lambda: I.cross_entropy(jnp.ones(3), jnp.zeros(3, jnp.int32)),
             match="logits"),
    BadInput(F + "accuracy", "label shape", lambda: I.accuracy(jnp.ones((2, 3)), jnp.zeros(3, jnp.int32)),
             match="labels"),
    BadInput(F + "spikes_per_neuron", "not an MLPOutput", lambda: I.spikes_per_neuron(jnp.ones(3)), match="out",
             error=TypeError),
    BadInput(F + "find_thresholds", "p out of range", lambda: I.find_thresholds(_P, X, p=0.0), match="p"),
    BadInput(F + "find_thresholds", "x width", lambda: I.find_thresholds(_P, jnp.ones((2, 5))), match="x"),
    BadInput(F + "find_thresholds", "not ANN params", lambda: I.find_thresholds([1], X), match="ann_params",
             error=TypeError),
    BadInput(F + "find_thresholds", "search T < 1", lambda: I.find_thresholds(_P, X, search_timesteps=0),
             match="search_timesteps"),
    BadInput(F + "convert", "leak > 1", lambda: I.convert(_P, X, leak=1.5), match="leak"),
    BadInput(F + "convert", "scaling <= 0", lambda: I.convert(_P, X, scaling=0.0), match="scaling"),
    BadInput(F + "stage_schedule", "t_end > t_start", lambda: I.stage_schedule(2, 3), match="t_end"),
    BadInput(F + "stage_schedule", "T < 1", lambda: I.stage_schedule(0, 0), match="t_start"),
    BadInput(F + "corrupt", "sigma < 0", lambda: I.corrupt(np.ones((2, 2)), -1.0, 0), match="sigma"),
    BadInput(F + "corrupt", "occlude 1", lambda: I.corrupt(np.ones((2, 2)), 0.1, 0, occlude=1.0), match="occlude"),
    BadInput(F + "evaluate_snn", "T < 1", lambda: I.evaluate_snn(_P, X, Y, (4, 3), 0), match="timesteps"),
    BadInput(F + "evaluate_ann", "label shape", lambda: I.evaluate_ann(_P, X, Y, (4, 3)), match="labels"),
]

GRADIENTS = [
    Grad(F + "ANNMLP", jit_functional(_ann), lambda: (X,), case="input (away from ReLU kinks)"),
    Grad(F + "cross_entropy", jit_functional(lambda lg: I.cross_entropy(lg, jnp.asarray(Y))), lambda: (LOGITS,)),
    Grad(F + "snn_model", jit_functional(lambda k: I.snn_model((4, 3), 2, theta_init=0.3).apply(
        {"params": {**jax.tree.map(lambda a: a.astype(k.dtype), I.snn_model((4, 3), 2).init(KEY, jnp.ones((1, 3)))
                                   ["params"]), "kernel_1": k}}, jnp.asarray(X, k.dtype))),
         lambda: (np.asarray(_P["kernel_1"]),), case="readout kernel (spikes fixed)"),
]

EXEMPT = {
    F + "accuracy": "grad: an arg-max count (piecewise constant in the logits)",
    F + "spikes_per_neuron": "grad: a count of spikes (piecewise constant; its surrogate gradient is the core's, see "
                         "models_common_spiking)",
    F + "find_thresholds": "grad: a host-side initialisation (percentiles of spiking currents), never differentiated",
    F + "convert": "grad: a host-side initialisation (percentiles of spiking currents), never differentiated",
    F + "stage_schedule": "grad: integer schedule",
    F + "corrupt": "grad: numpy data generator",
    F + "evaluate_snn": "grad: returns host floats (accuracy, spike counts)",
    F + "evaluate_ann": "grad: returns host floats (accuracy)",
}
