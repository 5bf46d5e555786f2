"""Batteries for models/holomorphic_ep (paper 13): bad inputs and derivatives."""
import jax
import jax.numpy as jnp
import numpy as np

from models import holomorphic_ep as H
from battery import BadInput, Grad  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("models.holomorphic_ep",)

_M = H.EPVectorField(hidden=(3, 3), out_size=2, num_classes=2)
_R = np.random.default_rng(13)
_X = _R.uniform(0, 1, (2, 3)).astype(np.float32)
_Y = np.eye(2, dtype=np.float32)[[0, 1]]
_KEY = jax.random.PRNGKey(0)
_SHAPES = jax.eval_shape(lambda k: _M.init(k, H.zero_state(_M, 2), _X, _Y, 0.0), _KEY)
_P = jax.tree.map(lambda s: 0.5 * _R.normal(size=s.shape), _SHAPES)          # numpy params
_U = {k: 0.3 * _R.normal(size=(2, s)) for k, s in _M.sizes().items()}      # a state (not a fixed point)
_U0 = H.zero_state(_M, 2)

BAD_INPUTS = [
    BadInput("models.holomorphic_ep.activate", "unknown name", lambda: H.activate(jnp.zeros(2), "tanh"),
             match="activate: name"),
    BadInput("models.holomorphic_ep.EPVectorField", "unknown arch",
             lambda: H.EPVectorField(arch="ring").init(_KEY, _U0, _X, _Y), match="arch"),
    BadInput("models.holomorphic_ep.EPVectorField", "dt > 1",
             lambda: H.EPVectorField(hidden=(3, 3), out_size=2, num_classes=2, dt=1.5).init(_KEY, _U0, _X, _Y),
             match="dt"),
    BadInput("models.holomorphic_ep.EPVectorField", "state shape",
             lambda: _M.init(_KEY, H.zero_state(_M, 3), _X, _Y), match=r"u\['l1'\]"),
    BadInput("models.holomorphic_ep.EPVectorField", "labels shape",
             lambda: _M.init(_KEY, _U0, _X, np.zeros((2, 3), np.float32)), match="y"),
    BadInput("models.holomorphic_ep.zero_state", "wrong model", lambda: H.zero_state(None, 2), match="zero_state: model"),
    BadInput("models.holomorphic_ep.flatten_state", "missing key", lambda: H.flatten_state({"l1": jnp.zeros(2)}),
             match="flatten_state: u"),
    BadInput("models.holomorphic_ep.vector_field", "state keys",
             lambda: H.vector_field(_M, _P, {"l1": _U["l1"]}, _X, _Y), match="u"),
    BadInput("models.holomorphic_ep.relax", "steps = 0", lambda: H.relax(_M, _P, _U0, _X, _Y, 0.0, 0), match="steps"),
    BadInput("models.holomorphic_ep.free_phase", "T1 = 0", lambda: H.free_phase(_M, _P, _X, _Y, 0), match="T1"),
    BadInput("models.holomorphic_ep.residual", "rank-1 x", lambda: H.residual(_M, _P, _U, _X[0], _Y), match="x"),
    BadInput("models.holomorphic_ep.check_converged", "no convergence",
             lambda: H.check_converged(_M, _P, _U, _X, _Y, 1e-5), match="did not converge: max residual"),
    BadInput("models.holomorphic_ep.check_converged", "tol <= 0",
             lambda: H.check_converged(_M, _P, _U, _X, _Y, 0.0), match="tol"),
    BadInput("models.holomorphic_ep.cauchy_derivative", "N < 0", lambda: H.cauchy_derivative(jnp.exp, 0.1, -1),
             match="n_points"),
    BadInput("models.holomorphic_ep.cauchy_derivative", "beta = 0 with N >= 1",
             lambda: H.cauchy_derivative(jnp.exp, 0.0, 2), match="beta"),
    BadInput("models.holomorphic_ep.du_dbeta", "T2 = 0", lambda: H.du_dbeta(_M, _P, _U, _X, _Y, 0.1, 2, 0),
             match="T2"),
    BadInput("models.holomorphic_ep.du_dbeta", "N < 0", lambda: H.du_dbeta(_M, _P, _U, _X, _Y, 0.1, -2, 3),
             match="n_points"),
    BadInput("models.holomorphic_ep.hep_gradient", "beta = 0 with N = 1",
             lambda: H.hep_gradient(_M, _P, _U, _X, _Y, 0.0, 1, 3), match="beta"),
    BadInput("models.holomorphic_ep.weight_vjp", "cotangent keys",
             lambda: H.weight_vjp(_M, _P, _U, _X, _Y, {"l1": _U["l1"]}), match="weight_vjp: cotangent"),
    BadInput("models.holomorphic_ep.readout_gradient", "labels shape",
             lambda: H.readout_gradient(_M, _P, _U, _X, np.zeros((2, 5), np.float32)), match="y"),
    BadInput("models.holomorphic_ep.rbp_delta", "steps = 0", lambda: H.rbp_delta(_M, _P, _U, _X, _Y, 0),
             match="steps"),
    BadInput("models.holomorphic_ep.rbp_gradient", "steps = -1", lambda: H.rbp_gradient(_M, _P, _U, _X, _Y, -1),
             match="steps"),
    BadInput("models.holomorphic_ep.bptt_gradient", "T1 = 0", lambda: H.bptt_gradient(_M, _P, _X, _Y, 0),
             match="T1"),
    BadInput("models.holomorphic_ep.online_du_dbeta", "points = 1",
             lambda: H.online_du_dbeta(_M, _P, _U, _X, _Y, 0.1, 1, 2), match="points"),
    BadInput("models.holomorphic_ep.online_du_dbeta", "beta = 0",
             lambda: H.online_du_dbeta(_M, _P, _U, _X, _Y, 0.0, 4, 2), match="beta"),
    BadInput("models.holomorphic_ep.online_gradient", "steps = 0",
             lambda: H.online_gradient(_M, _P, _U, _X, _Y, 0.1, 4, 0), match="steps"),
    BadInput("models.holomorphic_ep.homeostatic_loss", "not a key",
             lambda: H.homeostatic_loss(_M, _P, _U, _X, _Y, np.zeros(3)), match="key", error=TypeError),
    BadInput("models.holomorphic_ep.homeostatic_loss", "n_probes = 0",
             lambda: H.homeostatic_loss(_M, _P, _U, _X, _Y, _KEY, 0), match="n_probes"),
    BadInput("models.holomorphic_ep.jacobian", "state keys", lambda: H.jacobian(_M, _P, {"l1": _U["l1"]}, _X, _Y),
             match="jacobian: u"),
    BadInput("models.holomorphic_ep.jacobian_symmetry", "not square",
             lambda: H.jacobian_symmetry(jnp.zeros((2, 3))), match="jac"),
    BadInput("models.holomorphic_ep.rotate_feedback", "alpha > 90", lambda: H.rotate_feedback(_P, 91.0),
             match="alpha_deg"),
    BadInput("models.holomorphic_ep.rotate_feedback", "alpha < 0", lambda: H.rotate_feedback(_P, -1.0),
             match="alpha_deg"),
    BadInput("models.holomorphic_ep.gradient_cosine", "not a params tree", lambda: H.gradient_cosine({}, {}),
             match="gradient_cosine: g1"),
    BadInput("models.holomorphic_ep.cross_entropy", "shape mismatch",
             lambda: H.cross_entropy(jnp.zeros((2, 3)), jnp.zeros((2, 2))), match="cross_entropy: y"),
    BadInput("models.holomorphic_ep.accuracy", "shape mismatch",
             lambda: H.accuracy(jnp.zeros((2, 3)), jnp.zeros((3, 3))), match="accuracy: y"),
    BadInput("models.holomorphic_ep.init_params", "alpha outside [0, 90]",
             lambda: H.init_params(_M, _KEY, _X, alpha_deg=100.0), match="alpha_deg"),
    BadInput("models.holomorphic_ep.init_params", "gain <= 0", lambda: H.init_params(_M, _KEY, _X, gain=0.0),
             match="gain"),
    BadInput("models.holomorphic_ep.surrogate_loss", "T1 = 0",
             lambda: H.surrogate_loss(_M, _P, _X, _Y, _KEY, beta=0.1, n_points=2, t1=0, t2=2), match="T1"),
    BadInput("models.holomorphic_ep.surrogate_loss", "lam_h < 0",
             lambda: H.surrogate_loss(_M, _P, _X, _Y, _KEY, beta=0.1, n_points=2, t1=2, t2=2, lam_h=-1.0),
             match="lam_h"),
    BadInput("models.holomorphic_ep.bp_loss", "T1 = 0", lambda: H.bp_loss(_M, _P, _X, _Y, t1=0), match="T1"),
    BadInput("models.holomorphic_ep.finite_nudge_sweep", "beta <= 0",
             lambda: H.finite_nudge_sweep(_M, _P, _X, _Y, betas=(0.0,), ns=(1,), t1=2, t2=2, rbp_steps=2),
             match="betas"),
    BadInput("models.holomorphic_ep.finite_nudge_sweep", "no convergence",
             lambda: H.finite_nudge_sweep(_M, _P, _X, _Y, betas=(0.1,), ns=(1,), t1=1, t2=2, rbp_steps=2),
             match="did not converge: max residual"),
    BadInput("models.holomorphic_ep.train_and_track", "unknown method",
             lambda: H.train_and_track(_M, _P, (_X, _Y, _X, _Y), method="fa", epochs=1, batch_size=2,
                                       learning_rate=0.1, momentum=0.0, beta=0.1, n_points=2, t1=2, t2=2),
             match="method"),
    BadInput("models.holomorphic_ep.train_and_track", "T2 = 0",
             lambda: H.train_and_track(_M, _P, (_X, _Y, _X, _Y), method="hep", epochs=1, batch_size=2,
                                       learning_rate=0.1, momentum=0.0, beta=0.1, n_points=2, t1=2, t2=0),
             match="T2"),
    BadInput("models.holomorphic_ep.evaluate", "T1 = 0", lambda: H.evaluate(_M, _P, _X, _Y, t1=0), match="T1"),
]

_j = jax.jit
R = ("rev",)

GRADIENTS = [
    Grad("models.holomorphic_ep.activate", _j(lambda u: H.activate(u, "sigmoid")), lambda: (_R.normal(size=5),),
         modes=R),
    Grad("models.holomorphic_ep.EPVectorField", _j(lambda p, u: _M.apply(p, u, _X, _Y, 0.3)[:2]),
         lambda: (_P, _U), modes=R),
    Grad("models.holomorphic_ep.vector_field", _j(lambda p, u: H.vector_field(_M, p, u, _X, _Y, 0.3)),
         lambda: (_P, _U), modes=R),
    Grad("models.holomorphic_ep.relax", _j(lambda p, u: H.relax(_M, p, u, _X, _Y, 0.2, 2)), lambda: (_P, _U),
         modes=R),
    Grad("models.holomorphic_ep.residual", _j(lambda p, u: H.residual(_M, p, u, _X, _Y)), lambda: (_P, _U),
         modes=R),
    Grad("models.holomorphic_ep.homeostatic_loss", _j(lambda p: H.homeostatic_loss(_M, p, _U, _X, _Y, _KEY, 2)),
         lambda: (_P,), modes=R),
    Grad("models.holomorphic_ep.jacobian_symmetry", _j(H.jacobian_symmetry), lambda: (_R.normal(size=(4, 4)),),
         modes=R),
    Grad("models.holomorphic_ep.cross_entropy", _j(H.cross_entropy), lambda: (_R.normal(size=(2, 3)),
                                                                              np.eye(3)[[0, 2]]), modes=R),
    Grad("models.holomorphic_ep.gradient_cosine", _j(H.gradient_cosine), lambda: (_P, jax.tree.map(
        lambda a: a + 0.3 * _R.normal(size=a.shape), _P)), modes=R),
    Grad("models.holomorphic_ep.flatten_state", _j(H.flatten_state), lambda: (_U,), modes=R),
    Grad("models.holomorphic_ep.bp_loss", _j(lambda p: H.bp_loss(_M, p, _X, _Y, t1=2)[0]), lambda: (_P,), modes=R),
]

_EST = ("grad: returns a gradient estimate (an update direction); training never differentiates it: the surrogate "
        "loss stops its gradient")
EXEMPT = {
    "models.holomorphic_ep.ACTIVATIONS": "constant",
    "models.holomorphic_ep.ARCHITECTURES": "constant",
    "models.holomorphic_ep.STATE_KEYS": "constant",
    "models.holomorphic_ep.zero_state": "grad: zeros of the model's shapes; no floating input",
    "models.holomorphic_ep.free_phase": "grad: relax from u = 0 (covered by the relax case) and differentiated "
                                        "through by bptt_gradient, whose value tests/models checks against RBP",
    "models.holomorphic_ep.check_converged": "grad: a check that raises or returns a float (not traced)",
    "models.holomorphic_ep.cauchy_derivative": "grad: takes a Python callable; a derivative estimator, not a "
                                               "differentiable layer (oracle-tested on polynomials and exp)",
    "models.holomorphic_ep.du_dbeta": _EST,
    "models.holomorphic_ep.hep_gradient": _EST,
    "models.holomorphic_ep.weight_vjp": _EST,
    "models.holomorphic_ep.readout_gradient": _EST,
    "models.holomorphic_ep.rbp_delta": _EST,
    "models.holomorphic_ep.rbp_gradient": _EST,
    "models.holomorphic_ep.bptt_gradient": _EST,
    "models.holomorphic_ep.online_du_dbeta": _EST,
    "models.holomorphic_ep.online_gradient": _EST,
    "models.holomorphic_ep.jacobian": "grad: a Jacobian (forward mode) for the symmetry diagnostic; the loss "
                                      "that trains the Jacobian is homeostatic_loss (its own case)",
    "models.holomorphic_ep.rotate_feedback": "grad: an initialisation (linear in the kernels, sin/cos of a fixed "
                                             "angle); never differentiated",
    "models.holomorphic_ep.accuracy": "grad: an argmax count (piecewise constant)",
    "models.holomorphic_ep.init_params": "grad: draws parameters from a key",
    "models.holomorphic_ep.surrogate_loss": "grad: its gradient is by design sg(hEP) + lam_h grad L_h (tested against "
                                            "hep_gradient and homeostatic_loss in tests/models), not the derivative "
                                            "of its value",
    "models.holomorphic_ep.finite_nudge_sweep": "grad: an experiment returning cosines as Python floats",
    "models.holomorphic_ep.train_and_track": "grad: an experiment (a training loop) returning Python lists",
    "models.holomorphic_ep.evaluate": "grad: diagnostics (accuracy, cosines) of a trained network",
}
