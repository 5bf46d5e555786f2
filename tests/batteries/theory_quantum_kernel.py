"""Batteries for theory/quantum_kernel (paper 30: ZZ feature map, fidelity kernel, VQC, ad hoc data).

Float64, reverse mode. Complex states are differentiated through their real and imaginary parts. The shot-noise
kernel, the SPSA trainer (Binomial shot counts) and the sign classifier refuse differentiation; the experiment
and data functions are host numpy code (exempt from the gradient battery)."""
import jax
import jax.numpy as jnp
import numpy as np

from theory import quantum_kernel as QK
from battery import BadInput, Grad, NoGrad  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("theory.quantum_kernel",)
_P = "theory.quantum_kernel."
KEY = jax.random.PRNGKey(0)
X = np.array([[0.3, 1.2], [2.0, 4.5], [5.1, 0.7]])
Y = np.array([1.0, -1.0, 1.0])
THETA = np.linspace(0.1, 2.3, 8).reshape(2, 2, 2)          # depth 1, n = 2
_NOT_DATA = (np.zeros((2, 2)),)


def _ri(z):
  return jnp.stack([z.real, z.imag])


def _params(th, b):
  return QK.VQCParams(th, b)


_HOST = "grad: a host numpy function (float64 numpy out, not traceable)"

BAD_INPUTS = [
    BadInput(_P + "pairs", "unknown entanglement", lambda: QK.pairs(3, "ring"), match="entanglement"),
    BadInput(_P + "pairs", "too many qubits", lambda: QK.pairs(40), match="n must"),
    BadInput(_P + "zz_phases", "int x", lambda: QK.zz_phases(np.array([1, 2])), match="x must"),
    BadInput(_P + "zz_phases", "bad pair", lambda: QK.zz_phases(np.ones(2), [(0, 2)]), match="pair_set"),
    BadInput(_P + "feature_state", "reps 0", lambda: QK.feature_state(np.ones(2), reps=0), match="reps"),
    BadInput(_P + "feature_state", "too many qubits", lambda: QK.feature_state(np.ones(13)), match="too many qubits"),
    BadInput(_P + "feature_states", "1-d xs", lambda: QK.feature_states(np.ones(2)), match="xs must"),
    BadInput(_P + "fidelity_kernel", "qubit mismatch", lambda: QK.fidelity_kernel(np.ones((2, 2)), np.ones((2, 3))),
             match="xa and xb"),
    BadInput(_P + "fidelity_kernel", "nan", lambda: QK.fidelity_kernel(np.array([[np.nan, 1.0]])), match="xa"),
    BadInput(_P + "shot_kernel", "R < 1", lambda: QK.shot_kernel(KEY, np.eye(2), 0), match="shots"),
    BadInput(_P + "shot_kernel", "not in [0, 1]", lambda: QK.shot_kernel(KEY, 2 * np.eye(2), 10), match="k must"),
    BadInput(_P + "shot_kernel", "non-square symmetric", lambda: QK.shot_kernel(KEY, np.ones((2, 3)) / 2, 10),
             match="k must be square"),
    BadInput(_P + "init_params", "negative depth", lambda: QK.init_params(KEY, 2, -1), match="depth"),
    BadInput(_P + "vqc_expectation", "theta shape", lambda: QK.vqc_expectation(_params(np.ones((2, 3, 2)), 0.0), X),
             match="params.theta"),
    BadInput(_P + "vqc_expectation", "not VQCParams", lambda: QK.vqc_expectation((THETA, 0.0), X), match="params"),
    BadInput(_P + "vqc_risk", "labels not +-1", lambda: QK.vqc_risk(_params(THETA, 0.0), X, np.array([1.0, 0, 1])),
             match="y must"),
    BadInput(_P + "vqc_risk", "shots 0", lambda: QK.vqc_risk(_params(THETA, 0.0), X, Y, shots=0), match="shots"),
    BadInput(_P + "vqc_predict", "xs 1-d", lambda: QK.vqc_predict(_params(THETA, 0.0), np.ones(2)), match="xs"),
    BadInput(_P + "train_vqc", "steps 0", lambda: QK.train_vqc(_params(THETA, 0.0), X, Y, steps=0), match="steps"),
    BadInput(_P + "train_vqc", "lr <= 0", lambda: QK.train_vqc(_params(THETA, 0.0), X, Y, lr=-1.0), match="lr"),
    BadInput(_P + "train_vqc_spsa", "c <= 0", lambda: QK.train_vqc_spsa(KEY, _params(THETA, 0.0), X, Y, c=0.0),
             match="c must"),
    BadInput(_P + "ad_hoc_data", "n > 3", lambda: QK.ad_hoc_data(KEY, n=4), match="n must"),
    BadInput(_P + "ad_hoc_data", "gap >= 1", lambda: QK.ad_hoc_data(KEY, gap=1.0), match="gap"),
    BadInput(_P + "ad_hoc_data", "too few cells", lambda: QK.ad_hoc_data(KEY, grid=3, train_per_class=20),
             match="train_per_class"),
    BadInput(_P + "cos_sin_features", "1-d", lambda: QK.cos_sin_features(np.ones(3)), match="xs must"),
    BadInput(_P + "stratified_folds", "too many folds", lambda: QK.stratified_folds(Y, 2), match="folds"),
    BadInput(_P + "cv_accuracy", "kernels 2-d", lambda: QK.cv_accuracy(np.eye(3), Y, [1.0]), match="kernels"),
    BadInput(_P + "cv_accuracy", "C <= 0", lambda: QK.cv_accuracy(np.eye(4)[None], np.array([1., 1, -1, -1]), [0.0],
                                                                  folds=2), match="Cs"),
    BadInput(_P + "qke_vs_baselines", "not AdHocData", lambda: QK.qke_vs_baselines(_NOT_DATA), match="data"),
    BadInput(_P + "shot_noise_sweep", "not AdHocData", lambda: QK.shot_noise_sweep(KEY, _NOT_DATA), match="data"),
    BadInput(_P + "vqc_depth_sweep", "not AdHocData", lambda: QK.vqc_depth_sweep(KEY, _NOT_DATA), match="data"),
    BadInput(_P + "kernel_concentration", "points 1", lambda: QK.kernel_concentration(KEY, points=1), match="points"),
]

GRADIENTS = [
    Grad(_P + "zz_phases", QK.zz_phases, lambda: (X[0],)),
    Grad(_P + "feature_state", lambda x: _ri(QK.feature_state(x)), lambda: (X[1],)),
    Grad(_P + "feature_states", lambda x: _ri(QK.feature_states(x)), lambda: (X,)),
    Grad(_P + "fidelity_kernel", lambda a, b: QK.fidelity_kernel(a, b), lambda: (X, X[:2] + 0.3)),
    NoGrad(_P + "shot_kernel", lambda k: QK.shot_kernel(KEY, k, 10, symmetric=False), lambda: (np.full((2, 2), 0.5),)),
    Grad(_P + "vqc_expectation", lambda th, x: QK.vqc_expectation(_params(th, jnp.zeros((), th.dtype)), x),
         lambda: (THETA, X)),
    Grad(_P + "vqc_risk", lambda th, b: QK.vqc_risk(_params(th, b), X, Y), lambda: (THETA, np.float64(0.1))),
    NoGrad(_P + "vqc_predict", lambda th: QK.vqc_predict(_params(th, jnp.zeros((), th.dtype)), X), lambda: (THETA,)),
    NoGrad(_P + "train_vqc_spsa", lambda th: QK.train_vqc_spsa(KEY, _params(th, jnp.zeros((), th.dtype)), X, Y,
                                                               steps=2).params, lambda: (THETA,)),
    Grad(_P + "cos_sin_features", QK.cos_sin_features, lambda: (X,)),
]

EXEMPT = {
    _P + "pairs": "grad: integer input (a qubit count) and a tuple of pairs out",
    _P + "train_vqc": ("grad: a training loop (Adam steps in a lax.scan) whose step differentiates vqc_risk, "
                       "checked above; reverse mode through the whole loop works but costs a ~9 s compile"),
    _P + "init_params": "grad: draws angles from a key; no float input",
    _P + "ad_hoc_data": _HOST,
    _P + "stratified_folds": _HOST,
    _P + "cv_accuracy": _HOST,
    _P + "qke_vs_baselines": _HOST,
    _P + "shot_noise_sweep": _HOST,
    _P + "vqc_depth_sweep": _HOST,
    _P + "kernel_concentration": _HOST,
}
