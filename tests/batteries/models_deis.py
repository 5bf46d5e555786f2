"""Batteries for models/deis (paper 12: exponential-integrator samplers, Gaussian mixtures with an exact noise
predictor, the denoising loss, the residual noise predictor).

Gradients in float64: the deterministic samplers (Euler-in-t, multistep tAB / DDIM, ρRK, the reference
solve) are smooth in the initial noise, the predictor's parameters and (Euler-in-t, ρRK) the grid; the
predictor is a small closed-form network ε(x, t) = tanh(x W)(1 + t). The loss is reparameterised for a
fixed key; the mixture's log density and exact predictor in (x, t, means, stds, weights); gmm_sample in
(means, stds) and NoGrad in the weights (categorical draw). The coefficient tables are host float64 numpy
(quadrature on a concrete grid): NoGrad, a TypeError naming the function when the grid is traced.
"""
import jax
import jax.numpy as jnp
import numpy as np

from models import deis
from battery import BadInput, Grad, NoGrad, jit_functional  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("models.deis",)

KEY = jax.random.PRNGKey(0)
LIN = deis.VPSchedule()
TS = np.array([0.9, 0.5, 0.2, 0.05])              # 3 steps, decreasing, inside (0, 1]
X = np.array([[0.3, -1.1], [0.8, 0.4]])           # [B, D]
W = np.array([[0.7, -0.4], [0.2, 0.9]])
GMM = deis.circle_mixture(3, 2.0, 0.5)
_ANG = 2 * np.pi * np.arange(3) / 3
GMM_NP = (np.full(3, 1 / 3), 2.0 * np.stack([np.cos(_ANG), np.sin(_ANG)], -1), np.full((3, 2), 0.5))  # w, means, stds
CO = deis.tab_coefficients(LIN, TS, 2)            # host table for the multistep case
_eps = lambda x, t: jnp.ones_like(x)
_net = lambda w: (lambda x, t: jnp.tanh(x @ w) * (1.0 + t))
_res = deis.ResidualDenoiser(width=4, depth=1, mult=1, emb_dim=4, time_scale=3.0, skip_init=0.5)
_J = jnp.asarray


def _res_params():
  p = jax.eval_shape(_res.init, KEY, jnp.ones((2, 2)), jnp.ones(2))   # shapes only; random values below
  leaves, tree = jax.tree.flatten(p)
  rng = np.random.default_rng(2)
  return jax.tree.unflatten(tree, [0.4 * rng.standard_normal(np.shape(a)) for a in leaves])


def _mix(w=None, m=None, s=None):
  w0, m0, s0 = GMM_NP
  return deis.GaussianMixture(_J(w0 if w is None else w), _J(m0 if m is None else m), _J(s0 if s is None else s))


BAD_INPUTS = [
    # re-exports of models.common.diffusion (the full cases are in models_common.py)
    BadInput("models.deis.VPSchedule", "kind", lambda: deis.VPSchedule("sigmoid"), match="kind"),
    BadInput("models.deis.time_grid", "num_steps 0", lambda: deis.time_grid(LIN, 0), match="num_steps"),
    BadInput("models.deis.TimeMLP", "1-D x", lambda: deis.TimeMLP(hidden=4, emb_dim=4).init(
        KEY, jnp.ones(2), jnp.ones(2)), match="x expected"),
    # ResidualDenoiser
    BadInput("models.deis.ResidualDenoiser", "1-D x", lambda: _res.init(KEY, jnp.ones(2), jnp.ones(2)),
             match="x expected"),
    BadInput("models.deis.ResidualDenoiser", "int x", lambda: _res.init(KEY, jnp.ones((2, 2), jnp.int32),
             jnp.ones(2)), match="x expected", error=TypeError),
    BadInput("models.deis.ResidualDenoiser", "t batch", lambda: _res.init(KEY, jnp.ones((2, 2)), jnp.ones(3)),
             match="t expected"),
    BadInput("models.deis.ResidualDenoiser", "width 0", lambda: deis.ResidualDenoiser(width=0).init(
        KEY, jnp.ones((2, 2)), jnp.ones(2)), match="width"),
    BadInput("models.deis.ResidualDenoiser", "odd emb_dim", lambda: deis.ResidualDenoiser(width=4, emb_dim=3).init(
        KEY, jnp.ones((2, 2)), jnp.ones(2)), match="emb_dim"),
    # circle_mixture
    BadInput("models.deis.circle_mixture", "num_components 0", lambda: deis.circle_mixture(0),
             match="num_components"),
    BadInput("models.deis.circle_mixture", "dim 1", lambda: deis.circle_mixture(3, dim=1), match="dim"),
    BadInput("models.deis.circle_mixture", "std < 0", lambda: deis.circle_mixture(3, std=-0.1), match="std"),
    BadInput("models.deis.circle_mixture", "std NaN", lambda: deis.circle_mixture(3, std=float("nan")), match="std"),
    BadInput("models.deis.circle_mixture", "radius inf", lambda: deis.circle_mixture(3, float("inf")),
             match="radius"),
    # gmm_log_prob / gmm_noise_predictor / gmm_sample
    BadInput("models.deis.gmm_log_prob", "x dim", lambda: deis.gmm_log_prob(GMM, jnp.ones((2, 3))), match="x expected"),
    BadInput("models.deis.gmm_log_prob", "t without schedule", lambda: deis.gmm_log_prob(GMM, _J(X), t=0.5),
             match="schedule", error=TypeError),
    BadInput("models.deis.gmm_log_prob", "t batch", lambda: deis.gmm_log_prob(GMM, _J(X), LIN, jnp.ones(3)),
             match="t expected"),
    BadInput("models.deis.gmm_log_prob", "weights do not sum to 1", lambda: deis.gmm_log_prob(
        _mix(w=np.array([0.5, 0.4, 0.4])), _J(X)), match="gmm.weights"),
    BadInput("models.deis.gmm_log_prob", "weights vs means", lambda: deis.gmm_log_prob(
        _mix(w=np.array([0.5, 0.5])), _J(X)), match="gmm expected weights"),
    BadInput("models.deis.gmm_log_prob", "1-D means", lambda: deis.gmm_log_prob(_mix(m=np.ones(3)), _J(X)),
             match="gmm.means"),
    BadInput("models.deis.gmm_log_prob", "not a mixture", lambda: deis.gmm_log_prob(GMM_NP, _J(X)), match="gmm",
             error=TypeError),
    BadInput("models.deis.gmm_noise_predictor", "x dim", lambda: deis.gmm_noise_predictor(
        GMM, LIN, jnp.ones((2, 3)), 0.5), match="x expected"),
    BadInput("models.deis.gmm_noise_predictor", "negative std", lambda: deis.gmm_noise_predictor(
        _mix(s=-np.ones((3, 2))), LIN, _J(X), 0.5), match="gmm.stds"),
    BadInput("models.deis.gmm_noise_predictor", "schedule None", lambda: deis.gmm_noise_predictor(
        GMM, None, _J(X), 0.5), match="schedule", error=TypeError),
    BadInput("models.deis.gmm_sample", "n 0", lambda: deis.gmm_sample(KEY, GMM, 0), match="n expected"),
    BadInput("models.deis.gmm_sample", "key", lambda: deis.gmm_sample(3, GMM, 4), match="key", error=TypeError),
    BadInput("models.deis.gmm_sample", "stds vs means", lambda: deis.gmm_sample(KEY, _mix(s=np.ones((3, 3))), 4),
             match="stds"),
    # denoising_loss
    BadInput("models.deis.denoising_loss", "1-D x0", lambda: deis.denoising_loss(_eps, LIN, jnp.ones(2), KEY),
             match="x0"),
    BadInput("models.deis.denoising_loss", "t_min > t_max", lambda: deis.denoising_loss(
        _eps, LIN, _J(X), KEY, t_min=0.5, t_max=0.2), match="t_min"),
    BadInput("models.deis.denoising_loss", "eps_fn output", lambda: deis.denoising_loss(
        lambda x, t: x[:, :1], LIN, _J(X), KEY), match="eps_fn"),
    BadInput("models.deis.denoising_loss", "schedule", lambda: deis.denoising_loss(_eps, "linear", _J(X), KEY),
             match="schedule", error=TypeError),
    BadInput("models.deis.denoising_loss", "key", lambda: deis.denoising_loss(_eps, LIN, _J(X), None),
             match="key", error=TypeError),
    # pf_ode_drift
    BadInput("models.deis.pf_ode_drift", "schedule", lambda: deis.pf_ode_drift(None, _eps, _J(X), 0.5),
             match="schedule", error=TypeError),
    BadInput("models.deis.pf_ode_drift", "eps_fn output", lambda: deis.pf_ode_drift(
        LIN, lambda x, t: x.T[:1], _J(X), 0.5), match="eps_fn"),
    BadInput("models.deis.pf_ode_drift", "vector t", lambda: deis.pf_ode_drift(LIN, _eps, _J(X), jnp.ones(2)),
             match="t expected"),
    # coefficient tables
    BadInput("models.deis.ddim_coefficients", "t = 0 in grid", lambda: deis.ddim_coefficients(
        LIN, np.array([1.0, 0.5, 0.0])), match=r"ts expected values in \(0, 1\]"),
    BadInput("models.deis.ddim_coefficients", "t > 1", lambda: deis.ddim_coefficients(LIN, np.array([1.5, 0.5])),
             match="ts expected values"),
    BadInput("models.deis.ddim_coefficients", "2-D grid", lambda: deis.ddim_coefficients(LIN, np.ones((2, 2))),
             match="ts expected a 1-D"),
    BadInput("models.deis.ddim_coefficients", "NaN in grid", lambda: deis.ddim_coefficients(
        LIN, np.array([1.0, np.nan, 0.1])), match="ts expected finite"),
    BadInput("models.deis.ddim_coefficients", "schedule", lambda: deis.ddim_coefficients("linear", TS),
             match="schedule", error=TypeError),
    BadInput("models.deis.tab_coefficients", "order 4", lambda: deis.tab_coefficients(LIN, TS, 4), match="order"),
    BadInput("models.deis.tab_coefficients", "increasing grid", lambda: deis.tab_coefficients(LIN, TS[::-1], 1),
             match="strictly decreasing"),
    BadInput("models.deis.tab_coefficients", "panels 0", lambda: deis.tab_coefficients(LIN, TS, 1, panels=0),
             match="panels"),
    BadInput("models.deis.rab_coefficients", "order -1", lambda: deis.rab_coefficients(LIN, TS, -1), match="order"),
    BadInput("models.deis.rab_coefficients", "nodes 0", lambda: deis.rab_coefficients(LIN, TS, 1, nodes=0),
             match="nodes"),
    BadInput("models.deis.ipndm_coefficients", "order 5", lambda: deis.ipndm_coefficients(LIN, TS, 5),
             match="order"),
    BadInput("models.deis.ipndm_coefficients", "one-point grid", lambda: deis.ipndm_coefficients(LIN, TS[:1]),
             match="ts expected a 1-D"),
    BadInput("models.deis.coefficients_for", "not multistep", lambda: deis.coefficients_for("euler_t", LIN, TS),
             match="method"),
    BadInput("models.deis.coefficients_for", "tab4", lambda: deis.coefficients_for("tab4", LIN, TS), match="method"),
    BadInput("models.deis.coefficients_for", "repeated time", lambda: deis.coefficients_for(
        "ddim", LIN, np.array([0.9, 0.5, 0.5])), match="strictly decreasing"),
    # samplers
    BadInput("models.deis.multistep_sample", "1-D coef", lambda: deis.multistep_sample(
        _eps, _J(X), _J(TS), _J(CO.psi), _J(CO.coef[:, 0])), match="coef"),
    BadInput("models.deis.multistep_sample", "psi length", lambda: deis.multistep_sample(
        _eps, _J(X), _J(TS), _J(CO.psi[:2]), _J(CO.coef)), match="psi"),
    BadInput("models.deis.multistep_sample", "int x", lambda: deis.multistep_sample(
        _eps, jnp.ones((2, 2), jnp.int32), _J(TS), _J(CO.psi), _J(CO.coef)), match="x expected", error=TypeError),
    BadInput("models.deis.multistep_sample", "eps_fn output", lambda: deis.multistep_sample(
        lambda x, t: x[0], _J(X), _J(TS), _J(CO.psi), _J(CO.coef)), match="eps_fn"),
    BadInput("models.deis.rho_rk_sample", "method", lambda: deis.rho_rk_sample(_eps, LIN, _J(X), TS, "rk5"),
             match="method"),
    BadInput("models.deis.rho_rk_sample", "increasing grid", lambda: deis.rho_rk_sample(_eps, LIN, _J(X), TS[::-1]),
             match="ts expected a strictly decreasing"),
    BadInput("models.deis.rho_rk_sample", "t = 0", lambda: deis.rho_rk_sample(_eps, LIN, _J(X), np.array([0.5, 0.0])),
             match="ts expected values"),
    BadInput("models.deis.euler_t_sample", "non-monotone grid", lambda: deis.euler_t_sample(
        _eps, LIN, _J(X), np.array([0.9, 0.2, 0.5])), match="ts expected a strictly monotone"),
    BadInput("models.deis.euler_t_sample", "1-D x", lambda: deis.euler_t_sample(_eps, LIN, jnp.ones(2), TS),
             match="x expected"),
    BadInput("models.deis.sample", "method", lambda: deis.sample(_eps, LIN, _J(X), TS, "tab9"), match="method"),
    BadInput("models.deis.sample", "traced grid for a multistep method", lambda: jax.jit(
        lambda ts: deis.sample(_eps, LIN, _J(X), ts, "tab2"))(_J(TS)), match="sample: ts is traced",
        error=TypeError),
    BadInput("models.deis.sample", "grid outside (0, 1]", lambda: deis.sample(
        _eps, LIN, _J(X), np.array([1.0, 0.5, 0.0]), "ddim"), match="ts expected values"),
    BadInput("models.deis.nfe_per_step", "method", lambda: deis.nfe_per_step("dpm"), match="method"),
    BadInput("models.deis.reference_sample", "num_steps 0", lambda: deis.reference_sample(
        _eps, LIN, _J(X), num_steps=0), match="num_steps"),
    BadInput("models.deis.reference_sample", "t_min 0", lambda: deis.reference_sample(
        _eps, LIN, _J(X), t_min=0.0, num_steps=2), match="t_min"),
    BadInput("models.deis.reference_sample", "t_max > 1", lambda: deis.reference_sample(
        _eps, LIN, _J(X), t_max=1.2, num_steps=2), match="t_max"),
    # experiment
    BadInput("models.deis.sweep_samples", "unknown method", lambda: deis.sweep_samples(
        _eps, LIN, _J(X), methods=("tab9",), grids=("uniform_t",), nfes=(2,)), match="methods"),
    BadInput("models.deis.sweep_samples", "power_t grid", lambda: deis.sweep_samples(
        _eps, LIN, _J(X), methods=("ddim",), grids=("power_t",), nfes=(2,)), match="grids"),
    BadInput("models.deis.sweep_samples", "nfe 0", lambda: deis.sweep_samples(
        _eps, LIN, _J(X), methods=("ddim",), grids=("uniform_t",), nfes=(0,)), match="nfes"),
    BadInput("models.deis.sweep_samples", "x 1-D", lambda: deis.sweep_samples(
        _eps, LIN, _J(X[0]), methods=("ddim",), grids=("uniform_t",), nfes=(2,)), match="x expected"),
    BadInput("models.deis.gmm_sweep", "batch 0", lambda: deis.gmm_sweep(
        0, batch=0, nfes=(2,), grids=("uniform_t",), methods=("ddim",), ref_steps=4, check_steps=4), match="batch"),
    BadInput("models.deis.gmm_sweep", "t_min 0", lambda: deis.gmm_sweep(
        0, batch=2, nfes=(2,), grids=("uniform_t",), methods=("ddim",), ref_steps=4, check_steps=4, t_min=0.0),
        match="t_min"),
]

_j = jit_functional   # one compile per case (tests/batteries/battery.py)


R = ("rev",)   # reverse mode only: one vjp compile per case

_no = lambda fn: f"{fn}: ts is traced"

GRADIENTS = [
    Grad("models.deis.ResidualDenoiser", _j(lambda x, t, p: _res.apply(p, x, t)),
         lambda: (X, np.array([0.2, 0.7]), _res_params()), case="apply in x, t, params", modes=R),
    Grad("models.deis.circle_mixture", _j(lambda r, s: deis.circle_mixture(3, r, s)),
         lambda: (np.asarray(2.0), np.asarray(0.3)), case="in radius, std", modes=R),
    Grad("models.deis.gmm_log_prob", _j(lambda x, t, w, m, s: deis.gmm_log_prob(deis.GaussianMixture(w, m, s), x,
         LIN, t)), lambda: (X, np.array([0.3, 0.6]), *GMM_NP), case="in x, t, weights, means, stds", modes=R),
    Grad("models.deis.gmm_noise_predictor", _j(lambda x, t, m, s: deis.gmm_noise_predictor(
        deis.GaussianMixture(_J(GMM_NP[0]), m, s), LIN, x, t)),
         lambda: (X, np.asarray(0.4), GMM_NP[1], GMM_NP[2]), case="in x, t, means, stds", modes=R),
    Grad("models.deis.gmm_sample", _j(lambda m, s: deis.gmm_sample(KEY, deis.GaussianMixture(_J(GMM_NP[0]), m, s), 4)),
         lambda: (GMM_NP[1], GMM_NP[2]), case="reparameterised in means, stds", modes=R),
    NoGrad("models.deis.gmm_sample", lambda w: deis.gmm_sample(KEY, deis.GaussianMixture(w, _J(GMM_NP[1]),
           _J(GMM_NP[2])), 4), lambda: (GMM_NP[0],), match="gmm_sample.*not differentiable",
           case="categorical draw in weights"),
    Grad("models.deis.denoising_loss", _j(lambda x0, w: deis.denoising_loss(_net(w), LIN, x0, KEY)[0]),
         lambda: (X, W), case="in x0, params (fixed key)", modes=R),
    Grad("models.deis.pf_ode_drift", _j(lambda x, t, w: deis.pf_ode_drift(LIN, _net(w), x, t)),
         lambda: (X, np.asarray(0.4), W), case="in x, t, params", modes=R),
    Grad("models.deis.euler_t_sample", _j(lambda x, w, ts: deis.euler_t_sample(_net(w), LIN, x, ts)),
         lambda: (X, W, TS), case="in x, params, grid", modes=R),
    Grad("models.deis.multistep_sample", _j(lambda x, w, psi, coef: deis.multistep_sample(
        _net(w), x, _J(TS), psi, coef)), lambda: (X, W, CO.psi, CO.coef), case="tab2 in x, params, coefficients",
         modes=R),
    Grad("models.deis.rho_rk_sample", _j(lambda x, w, ts: deis.rho_rk_sample(_net(w), LIN, x, ts, "rk_heun")),
         lambda: (X, W, TS[:3]), case="rk_heun in x, params, grid", modes=R),
    Grad("models.deis.sample", _j(lambda x, w: deis.sample(_net(w), LIN, x, TS, "tab2")), lambda: (X, W),
         case="tab2 in x, params", modes=R),
    Grad("models.deis.reference_sample", _j(lambda x, w: deis.reference_sample(_net(w), LIN, x, t_max=0.9,
         t_min=0.05, num_steps=2)), lambda: (X, W), case="in x, params", modes=R),
    NoGrad("models.deis.ddim_coefficients", lambda ts: deis.ddim_coefficients(LIN, ts).coef, lambda: (TS,),
           match=_no("ddim_coefficients"), case="host table"),
    NoGrad("models.deis.tab_coefficients", lambda ts: deis.tab_coefficients(LIN, ts, 2).coef, lambda: (TS,),
           match=_no("tab_coefficients"), case="host table"),
    NoGrad("models.deis.rab_coefficients", lambda ts: deis.rab_coefficients(LIN, ts, 2).coef, lambda: (TS,),
           match=_no("rab_coefficients"), case="host table"),
    NoGrad("models.deis.ipndm_coefficients", lambda ts: deis.ipndm_coefficients(LIN, ts).coef, lambda: (TS,),
           match=_no("ipndm_coefficients"), case="host table"),
    NoGrad("models.deis.coefficients_for", lambda ts: deis.coefficients_for("tab1", LIN, ts).coef, lambda: (TS,),
           match=_no("coefficients_for"), case="host table"),
]

_SWEEP = ("grad: a host-side sweep over concrete grids returning numpy arrays and floats (differentiate "
          "models.deis.sample, which has its own cases)")
EXEMPT = {
    "models.deis.sweep_samples": _SWEEP,
    "models.deis.gmm_sweep": _SWEEP,
    "models.deis.nfe_per_step": "grad: takes a method name only (no floating input); returns a Python int",
    "models.deis.TimeMLP": "grad: the same object as models.common.diffusion.TimeMLP (re-export), differentiated "
                           "in tests/batteries/models_common.py",
    "models.deis.VPSchedule": "grad: the same object as models.common.diffusion.VPSchedule (re-export), "
                              "differentiated in tests/batteries/models_common.py",
    "models.deis.time_grid": "grad: the same object as models.common.diffusion.time_grid (re-export), "
                             "differentiated in tests/batteries/models_common.py",
}
