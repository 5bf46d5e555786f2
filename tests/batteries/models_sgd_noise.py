"""Batteries for models/sgd_noise (paper 21): bad inputs and derivatives."""
import jax
import jax.numpy as jnp
import numpy as np

from models import sgd_noise as S
from battery import BadInput, Grad, NoGrad, jit_functional as _j  # noqa: F401  (loaded beside this file)

PACKAGES = ("models.sgd_noise",)
_P = "models.sgd_noise."

_R = np.random.default_rng(21)
_X = _R.normal(size=(6, 3)).astype(np.float32)
_Y = np.array([1, -1, 1, 1, -1, -1], np.float32)
_W = [_R.normal(size=(3, 4)), _R.normal(size=(4, 4)), _R.normal(size=(4,))]
_KEY = jax.random.PRNGKey(0)
_T = np.array([0.01, 0.1, 1.0])


def _train(**kw):
  args = dict(alpha=1.0, dt=0.1, batch=2, max_steps=10)
  args.update(kw)
  return S.train_until_fit(S.perceptron_apply, jnp.zeros(3), _X, _Y, _KEY, **args)


BAD_INPUTS = [
    BadInput(_P + "normalized_activation", "unknown name", lambda: S.normalized_activation("elu"), match="name"),
    BadInput(_P + "init_mlp", "depth 0", lambda: S.init_mlp(_KEY, 3, 4, 0), match="depth"),
    BadInput(_P + "mlp_apply", "x width", lambda: S.mlp_apply(_W, _X[:, :2]), match="x"),
    BadInput(_P + "mlp_apply", "params", lambda: S.mlp_apply(_W[0], _X), match="params"),
    BadInput(_P + "perceptron_apply", "x width", lambda: S.perceptron_apply(jnp.zeros(2), _X), match="x"),
    BadInput(_P + "scaled_loss", "alpha <= 0", lambda: S.scaled_loss(_X[:, 0], _Y, 0.0), match="alpha"),
    BadInput(_P + "scaled_loss", "unknown loss", lambda: S.scaled_loss(_X[:, 0], _Y, 1.0, "mse2"), match="loss"),
    BadInput(_P + "dt_from_temperature", "T <= 0", lambda: S.dt_from_temperature(0.0, 1, 4), match="temperature"),
    BadInput(_P + "dt_from_temperature", "B <= 0", lambda: S.dt_from_temperature(0.1, 1, 0), match="batch"),
    BadInput(_P + "depleted_sign", "chi <= -1", lambda: S.depleted_sign(_KEY, 4, 2, -1.0), match="chi"),
    BadInput(_P + "depleted_sign", "n = 0", lambda: S.depleted_sign(_KEY, 0, 2, 0.0), match="n"),
    BadInput(_P + "perceptron_test_error", "chi <= -1", lambda: S.perceptron_test_error(1.0, 1.0, -2.0),
             match="chi"),
    BadInput(_P + "perceptron_test_error", "u_perp < 0", lambda: S.perceptron_test_error(1.0, -1.0, 0.0),
             match="u_perp"),
    BadInput(_P + "train_until_fit", "alpha <= 0", lambda: _train(alpha=-1.0), match="alpha"),
    BadInput(_P + "train_until_fit", "dt <= 0", lambda: _train(dt=0.0), match="dt"),
    BadInput(_P + "train_until_fit", "B > P", lambda: _train(batch=7), match="batch"),
    BadInput(_P + "train_until_fit", "step cap < 1", lambda: _train(max_steps=0), match="max_steps"),
    BadInput(_P + "train_until_fit", "labels not +-1", lambda: S.train_until_fit(
        S.perceptron_apply, jnp.zeros(3), _X, 2 * _Y, _KEY, alpha=1.0, dt=0.1, batch=2, max_steps=3), match="y"),
    BadInput(_P + "perceptron_sweep", "T <= 0", lambda: S.perceptron_sweep(
        0, d=3, p=4, chi=0.0, temperatures=[0.0, 1.0], seeds=1, batch=2), match="temperatures"),
    BadInput(_P + "perceptron_sweep", "B > P", lambda: S.perceptron_sweep(
        0, d=3, p=4, chi=0.0, temperatures=[1.0], seeds=1, batch=5), match="batch"),
    BadInput(_P + "plateau_crossing", "factor <= 1", lambda: S.plateau_crossing(_T, [1.0, 2.0, 3.0], 1.0),
             match="factor"),
    BadInput(_P + "plateau_crossing", "decreasing grid", lambda: S.plateau_crossing(_T[::-1], [1.0, 2.0, 3.0], 1.2),
             match="temperatures"),
    BadInput(_P + "tc_slope", "u_norms shape", lambda: S.tc_slope([8, 16], _T, np.ones((2, 3)), 1.2),
             match="u_norms"),
    BadInput(_P + "network_grid", "alpha <= 0", lambda: S.network_grid(
        0, _X, _Y, _X, _Y, alphas=[0.0], temperatures=[0.1], seeds=1, h=4, depth=1, batch=2), match="alphas"),
    BadInput(_P + "network_grid", "x_test width", lambda: S.network_grid(
        0, _X, _Y, _X[:, :2], _Y, alphas=[1.0], temperatures=[0.1], seeds=1, h=4, depth=1, batch=2),
        match="x_test"),
]

GRADIENTS = [
    Grad(_P + "normalized_activation", _j(lambda z: S.normalized_activation("gelu")(z)),
         lambda: (_R.normal(size=5),)),
    Grad(_P + "mlp_apply", _j(lambda w, x: S.mlp_apply(w, x, "tanh")), lambda: (_W, _X)),
    Grad(_P + "perceptron_apply", _j(S.perceptron_apply), lambda: (_R.normal(size=3), _X)),
    Grad(_P + "scaled_loss", _j(lambda o, a: S.scaled_loss(o, jnp.asarray(_Y, o.dtype), a, "shinge")),
         lambda: (np.array([0.1, -0.3, 0.2, 0.05, -0.4, 0.3]), np.float64(1.3))),
    Grad(_P + "dt_from_temperature", _j(lambda t: S.dt_from_temperature(t, 4, 8)), lambda: (np.float64(0.2),)),
    Grad(_P + "perceptron_test_error", _j(lambda a, b: S.perceptron_test_error(a, b, 1.0)),
         lambda: (np.array([0.5, 2.0]), np.array([1.0, 0.7]))),
    NoGrad(_P + "train_until_fit", lambda w: _train_w(w), lambda: (np.zeros(3),),
           match="Reverse-mode differentiation does not work|while_loop", error=(ValueError, TypeError)),
]


def _train_w(w):
  return S.train_until_fit(S.perceptron_apply, w, jnp.asarray(_X, w.dtype), jnp.asarray(_Y, w.dtype), _KEY,
                           alpha=1.0, dt=0.1, batch=2, max_steps=10).w


_HOST = "grad: a host-side sweep or statistic (numpy arrays and Python floats out)"
EXEMPT = {
    _P + "ACTIVATIONS": "constant", _P + "LOSSES": "constant", _P + "SGDResult": "result container",
    _P + "init_mlp": "grad: a sampler (key in, N(0, 1) weights out)",
    _P + "depleted_sign": "grad: a sampler (key in, data out)",
    _P + "perceptron_sweep": _HOST, _P + "network_grid": _HOST, _P + "plateau_crossing": _HOST,
    _P + "tc_slope": _HOST,
}
