"""Batteries for models/interpolants (paper 24: stochastic interpolants, their losses, ODE/SDE samplers, the
exact Gaussian-mixture fields; the sample distances are re-exported from theory.common.stats).

Gradients in float64 with a small closed-form field f(x, t) = tanh(x W)(1 + t) standing in for a network:
the interpolant's coefficients and maps (interior t, away from t = ½ for encdec), the four losses and
interpolant_loss in (x0, x1, W) for a fixed key (reparameterised t and z), the drifts, the ODE and the
SDE (fixed key) in the initial points, W and ε, the divergence (second derivatives), the ODE likelihood, the
exact fields and mixture densities in (x, t, means, covariance factors: cov = L Lᵀ keeps finite
differences symmetric). gmm_sample is reparameterised in means and covariance
factors and NoGrad in the weights (categorical draw).
"""
import jax
import jax.numpy as jnp
import numpy as np

from models import interpolants as I
from battery import BadInput, Grad, NoGrad, jit_functional  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("models.interpolants",)

KEY = jax.random.PRNGKey(0)
LINEAR = I.Interpolant("linear", "brownian")
ONE = I.Interpolant("one_sided_trig", "zero")
X0 = np.array([[0.3, -1.1], [0.8, 0.4]])
X1 = np.array([[1.5, 0.2], [-0.6, 0.9]])
Z = np.array([[0.1, 0.7], [-1.2, 0.5]])
W = np.array([[0.7, -0.4], [0.2, 0.9]])
T2 = np.array([0.3, 0.7])
WTS = np.array([0.4, 0.6])
MEANS = np.array([[1.0, 0.0], [-0.5, 1.0]])
CHOL = np.array([[[1.0, 0.0], [0.3, 0.8]], [[0.6, 0.0], [-0.2, 0.9]]])   # cov = L Lᵀ
_J = jnp.asarray
_f = lambda x, t: jnp.tanh(x)
_bad = lambda x, t: x[:, :1]


def _field(w):
  return lambda x, t: jnp.tanh(x @ w) * (1.0 + jnp.reshape(t, (-1, 1)))


def _mix(w=WTS, m=MEANS, c=None):
  c = np.einsum("kij,klj->kil", CHOL, CHOL) if c is None else c
  return I.GaussianMixture(_J(w), _J(m), _J(c))


def _mix_l(w, m, l):
  return I.GaussianMixture(w, m, jnp.einsum("kij,klj->kil", l, l))


_STD = I.gaussian(jnp.zeros(2), jnp.eye(2))
_log_std = lambda x: -0.5 * jnp.sum(x * x, -1) - jnp.log(2 * jnp.pi)

BAD_INPUTS = [
    # Interpolant
    BadInput("models.interpolants.Interpolant", "path", lambda: I.Interpolant("cubic"), match="path"),
    BadInput("models.interpolants.Interpolant", "gamma", lambda: I.Interpolant("linear", "bm"), match="gamma"),
    BadInput("models.interpolants.Interpolant", "a < 0", lambda: I.Interpolant("linear", "a_brownian", -1.0),
             match="Interpolant.a"),
    BadInput("models.interpolants.Interpolant", "a NaN", lambda: I.Interpolant("linear", "a_brownian", float("nan")),
             match="Interpolant.a"),
    BadInput("models.interpolants.Interpolant", "one-sided with noise", lambda: I.Interpolant("one_sided_linear"),
             match="gamma"),
    BadInput("models.interpolants.Interpolant", "trig a >= 4", lambda: I.Interpolant("trig", "a_brownian", 5.0),
             match="Interpolant.a"),
    BadInput("models.interpolants.Interpolant", "x_t without z", lambda: LINEAR.x_t(0.5, _J(X0), _J(X1)), match="z"),
    BadInput("models.interpolants.Interpolant", "x_t x1 shape", lambda: LINEAR.x_t(0.5, _J(X0), _J(X1[:1]), _J(Z)),
             match="x1 expected"),
    BadInput("models.interpolants.Interpolant", "x_t t batch", lambda: LINEAR.x_t(jnp.ones(3), _J(X0), _J(X1), _J(Z)),
             match="t expected"),
    BadInput("models.interpolants.Interpolant", "dx_dt int x0", lambda: LINEAR.dx_dt(
        0.5, jnp.ones((2, 2), jnp.int32), _J(X1), _J(Z)), match="x0", error=TypeError),
    BadInput("models.interpolants.Interpolant", "dI_dt 1-D x0", lambda: LINEAR.dI_dt(0.5, jnp.ones(2), jnp.ones(2)),
             match="x0 expected"),
    # drifts
    BadInput("models.interpolants.forward_drift", "eps < 0", lambda: I.forward_drift(_f, _f, -0.1), match="eps"),
    BadInput("models.interpolants.forward_drift", "eps NaN", lambda: I.forward_drift(_f, _f, float("nan")),
             match="eps"),
    BadInput("models.interpolants.forward_drift", "b not callable", lambda: I.forward_drift(1.0, _f, 0.1),
             match="b expected", error=TypeError),
    BadInput("models.interpolants.backward_drift", "eps str", lambda: I.backward_drift(_f, _f, "0.1"), match="eps"),
    BadInput("models.interpolants.backward_drift", "eps vector", lambda: I.backward_drift(_f, _f, jnp.ones(2)),
             match="eps"),
    BadInput("models.interpolants.backward_drift", "s not callable", lambda: I.backward_drift(_f, None, 0.1),
             match="s expected", error=TypeError),
    # ode_sample / sde_sample
    BadInput("models.interpolants.ode_sample", "num_steps 0", lambda: I.ode_sample(_f, _J(X0), num_steps=0),
             match="num_steps"),
    BadInput("models.interpolants.ode_sample", "t0 > 1", lambda: I.ode_sample(_f, _J(X0), t0=1.5), match="t0"),
    BadInput("models.interpolants.ode_sample", "t0 == t1", lambda: I.ode_sample(_f, _J(X0), t0=0.5, t1=0.5),
             match="t0, t1"),
    BadInput("models.interpolants.ode_sample", "method", lambda: I.ode_sample(_f, _J(X0), method="rk5"),
             match="method"),
    BadInput("models.interpolants.ode_sample", "1-D x", lambda: I.ode_sample(_f, jnp.ones(2)), match="x expected"),
    BadInput("models.interpolants.ode_sample", "b output shape", lambda: I.ode_sample(_bad, _J(X0), num_steps=2),
             match="b expected an output"),
    BadInput("models.interpolants.sde_sample", "method", lambda: I.sde_sample(_f, _f, 0.1, _J(X0), KEY,
             method="milstein"), match="method"),
    BadInput("models.interpolants.sde_sample", "eps < 0", lambda: I.sde_sample(_f, _f, -1.0, _J(X0), KEY),
             match="eps"),
    BadInput("models.interpolants.sde_sample", "key", lambda: I.sde_sample(_f, _f, 0.1, _J(X0), 7), match="key",
             error=TypeError),
    BadInput("models.interpolants.sde_sample", "s output shape", lambda: I.sde_sample(_f, _bad, 0.1, _J(X0), KEY,
             num_steps=2), match="s expected an output"),
    # divergence / ode_log_likelihood
    BadInput("models.interpolants.divergence", "1-D x", lambda: I.divergence(_f, jnp.ones(2), 0.5),
             match="x expected"),
    BadInput("models.interpolants.divergence", "probe shape", lambda: I.divergence(_f, _J(X0), 0.5,
             probe=jnp.ones((2, 3))), match="probe"),
    BadInput("models.interpolants.divergence", "f not callable", lambda: I.divergence(None, _J(X0), 0.5),
             match="f expected", error=TypeError),
    BadInput("models.interpolants.divergence", "f output shape", lambda: I.divergence(_bad, _J(X0), 0.5),
             match="f expected an output"),
    BadInput("models.interpolants.ode_log_likelihood", "t0 >= t1", lambda: I.ode_log_likelihood(
        _f, _log_std, _J(X1), t0=0.8, t1=0.2), match="t0"),
    BadInput("models.interpolants.ode_log_likelihood", "log_rho0 output", lambda: I.ode_log_likelihood(
        _f, lambda x: x, _J(X1), num_steps=2), match="log_rho0"),
    BadInput("models.interpolants.ode_log_likelihood", "method", lambda: I.ode_log_likelihood(
        _f, _log_std, _J(X1), method="leapfrog"), match="method"),
    BadInput("models.interpolants.ode_log_likelihood", "int x1", lambda: I.ode_log_likelihood(
        _f, _log_std, jnp.ones((2, 2), jnp.int32)), match="x1 expected"),
    # exact fields and mixtures
    BadInput("models.interpolants.exact_fields", "interp", lambda: I.exact_fields("linear", _mix(), _mix(), _J(X0),
             0.5), match="interp", error=TypeError),
    BadInput("models.interpolants.exact_fields", "x dim", lambda: I.exact_fields(LINEAR, _mix(), _mix(),
             jnp.ones((2, 3)), 0.5), match="x expected"),
    BadInput("models.interpolants.exact_fields", "t batch", lambda: I.exact_fields(LINEAR, _mix(), _mix(), _J(X0),
             jnp.ones(3)), match="t expected"),
    BadInput("models.interpolants.exact_fields", "gmm1 dim", lambda: I.exact_fields(LINEAR, _mix(), I.gaussian(
        jnp.zeros(3), jnp.eye(3)), _J(X0), 0.5), match="gmm1"),
    BadInput("models.interpolants.exact_fields", "weights do not sum to 1", lambda: I.exact_fields(
        LINEAR, _mix(w=np.array([0.4, 0.4])), _mix(), _J(X0), 0.5), match="gmm0.weights"),
    BadInput("models.interpolants.gaussian", "2-D mean", lambda: I.gaussian(jnp.ones((2, 2)), jnp.eye(2)),
             match="mean"),
    BadInput("models.interpolants.gaussian", "cov shape", lambda: I.gaussian(jnp.ones(2), jnp.eye(3)), match="cov"),
    BadInput("models.interpolants.gaussian", "int mean", lambda: I.gaussian(jnp.ones(2, jnp.int32), jnp.eye(2)),
             match="mean", error=TypeError),
    BadInput("models.interpolants.gmm_log_prob", "x dim", lambda: I.gmm_log_prob(_mix(), jnp.ones((2, 3))),
             match="x expected"),
    BadInput("models.interpolants.gmm_log_prob", "covs shape", lambda: I.gmm_log_prob(_mix(c=np.ones((2, 2))),
             _J(X0)), match="covs"),
    BadInput("models.interpolants.gmm_log_prob", "NaN mean", lambda: I.gmm_log_prob(
        _mix(m=np.array([[np.nan, 0.0], [0.0, 1.0]])), _J(X0)), match="gmm.means"),
    BadInput("models.interpolants.gmm_sample", "n 0", lambda: I.gmm_sample(KEY, _mix(), 0), match="n expected"),
    BadInput("models.interpolants.gmm_sample", "key", lambda: I.gmm_sample(None, _mix(), 3), match="key",
             error=TypeError),
    BadInput("models.interpolants.gmm_sample", "negative weight", lambda: I.gmm_sample(
        KEY, _mix(w=np.array([1.2, -0.2])), 3), match="gmm.weights"),
    BadInput("models.interpolants.ring_mixture", "num_components 0", lambda: I.ring_mixture(0),
             match="num_components"),
    BadInput("models.interpolants.ring_mixture", "std 0", lambda: I.ring_mixture(4, std=0.0), match="std"),
    BadInput("models.interpolants.ring_mixture", "radius NaN", lambda: I.ring_mixture(4, float("nan")),
             match="radius"),
    # losses
    BadInput("models.interpolants.interpolant_loss", "kind", lambda: I.interpolant_loss(
        "w", _f, LINEAR, KEY, _J(X0), _J(X1)), match="kind"),
    BadInput("models.interpolants.interpolant_loss", "x0 vs x1", lambda: I.interpolant_loss(
        "b", _f, LINEAR, KEY, _J(X0), _J(X1[:1])), match="x0, x1"),
    BadInput("models.interpolants.interpolant_loss", "t_min > t_max", lambda: I.interpolant_loss(
        "b", _f, LINEAR, KEY, _J(X0), _J(X1), t_min=0.8, t_max=0.2), match="t_min"),
    BadInput("models.interpolants.interpolant_loss", "field output", lambda: I.interpolant_loss(
        "b", _bad, LINEAR, KEY, _J(X0), _J(X1)), match="field"),
    BadInput("models.interpolants.interpolant_loss", "key", lambda: I.interpolant_loss(
        "b", _f, LINEAR, 3, _J(X0), _J(X1)), match="key", error=TypeError),
    BadInput("models.interpolants.loss_b", "int x0", lambda: I.loss_b(
        _f, LINEAR, KEY, jnp.ones((2, 2), jnp.int32), _J(X1)), match="x0", error=TypeError),
    BadInput("models.interpolants.loss_v", "one-sided", lambda: I.loss_v(_f, ONE, KEY, _J(X0), _J(X1)),
             match="kind 'v'"),
    BadInput("models.interpolants.loss_s", "t_max > 1", lambda: I.loss_s(_f, LINEAR, KEY, _J(X0), _J(X1), t_max=1.5),
             match="t_max"),
    BadInput("models.interpolants.loss_eta", "interp", lambda: I.loss_eta(_f, "linear", KEY, _J(X0), _J(X1)),
             match="interp", error=TypeError),
    BadInput("models.interpolants.sample_times", "n 0", lambda: I.sample_times(KEY, 0, 0.0, 1.0, jnp.float32),
             match="n expected"),
    BadInput("models.interpolants.sample_times", "t_min > t_max", lambda: I.sample_times(
        KEY, 3, 0.9, 0.1, jnp.float32), match="t_min"),
    BadInput("models.interpolants.sample_times", "int dtype", lambda: I.sample_times(KEY, 3, 0.0, 1.0, jnp.int32),
             match="dtype", error=TypeError),
    BadInput("models.interpolants.sample_times", "key", lambda: I.sample_times(jnp.ones(3), 3, 0.0, 1.0,
             jnp.float32), match="key", error=TypeError),
    # experiment
    BadInput("models.interpolants.density_sampler", "unknown", lambda: I.density_sampler("moons"), match="name"),
    BadInput("models.interpolants.checkerboard", "n 0", lambda: I.checkerboard(KEY, 0), match="n expected"),
    BadInput("models.interpolants.off_checkerboard", "3-D points", lambda: I.off_checkerboard(np.ones((2, 3))),
             match="x expected"),
    BadInput("models.interpolants.noise_floor", "pairs 1", lambda: I.noise_floor(I.checkerboard, 4, KEY, pairs=1),
             match="pairs"),
    BadInput("models.interpolants.noise_floor", "target", lambda: I.noise_floor(None, 4, KEY), match="target",
             error=TypeError),
    BadInput("models.interpolants.eps_sweep", "negative eps", lambda: I.eps_sweep(
        _f, _f, I.checkerboard, I.checkerboard, KEY, eps=(-0.1,), n=4, reps=1, num_steps=2), match="eps"),
    BadInput("models.interpolants.eps_sweep", "method", lambda: I.eps_sweep(
        _f, _f, I.checkerboard, I.checkerboard, KEY, eps=(0.0,), n=4, reps=1, num_steps=2, method="rk4"),
        match="method"),
    BadInput("models.interpolants.exact_transport", "interp", lambda: I.exact_transport(
        "linear", _STD, _STD, KEY, n=4, reps=1, num_steps=2), match="interp", error=TypeError),
    BadInput("models.interpolants.exact_transport", "reps 0", lambda: I.exact_transport(
        LINEAR, _STD, _STD, KEY, n=4, reps=0, num_steps=2), match="reps"),
]


_j = jit_functional   # one compile per case (tests/batteries/battery.py)


R = ("rev",)   # reverse mode only: one vjp compile per case
_INTERPS = (LINEAR, I.Interpolant("trig", "a_brownian", 0.5), I.Interpolant("encdec", "sinesquared"),
            I.Interpolant("mirror", "bsquared"), I.Interpolant("one_sided_vp", "zero"))


def _interp_maps(t, x0, x1, z):
  """x_t, ∂_t x_t and ∂_t I of five paths covering every γ (they call every coefficient function)."""
  return [(it.x_t(t, x0, x1, z), it.dx_dt(t, x0, x1, z), it.dI_dt(t, x0, x1)) for it in _INTERPS]


def _loss(kind, **kw):
  return _j(lambda x0, x1, w: I.interpolant_loss(kind, _field(w), LINEAR, KEY, x0, x1, t_min=0.1, t_max=0.9, **kw))


GRADIENTS = [
    Grad("models.interpolants.Interpolant", _j(_interp_maps), lambda: (T2, X0, X1, Z),
         case="maps of five paths (interior t)", modes=R),
    Grad("models.interpolants.interpolant_loss", _loss("b", antithetic=True), lambda: (X0, X1, W),
         case="b, antithetic (fixed key)", modes=R),
    Grad("models.interpolants.loss_b", _j(lambda x0, x1, w: I.loss_b(_field(w), ONE, KEY, x0, x1, t_max=0.9)),
         lambda: (X0, X1, W), case="one-sided (fixed key)", modes=R),
    Grad("models.interpolants.loss_v", _j(lambda x0, x1, w: I.loss_v(_field(w), LINEAR, KEY, x0, x1)),
         lambda: (X0, X1, W), case="fixed key", modes=R),
    Grad("models.interpolants.loss_s", _j(lambda x0, x1, w: I.loss_s(_field(w), LINEAR, KEY, x0, x1, t_min=0.1,
         t_max=0.9)), lambda: (X0, X1, W), case="fixed key", modes=R),
    Grad("models.interpolants.loss_eta", _j(lambda x0, x1, w: I.loss_eta(_field(w), LINEAR, KEY, x0, x1)),
         lambda: (X0, X1, W), case="fixed key", modes=R),
    Grad("models.interpolants.sample_times", _j(lambda lo, hi: I.sample_times(KEY, 3, lo, hi, jnp.float64)),
         lambda: (np.asarray(0.1), np.asarray(0.8)), case="in t_min, t_max", modes=R),
    Grad("models.interpolants.forward_drift", _j(lambda x, t, e, w: I.forward_drift(_field(w), _field(w.T), e)(x, t)),
         lambda: (X0, np.asarray(0.4), np.asarray(0.3), W), case="in x, t, eps, params", modes=R),
    Grad("models.interpolants.backward_drift", _j(lambda x, t, e, w: I.backward_drift(_field(w), _field(w.T), e)(
        x, t)), lambda: (X0, np.asarray(0.4), np.asarray(0.3), W), case="in x, t, eps, params", modes=R),
    Grad("models.interpolants.ode_sample", _j(lambda x, w: I.ode_sample(_field(w), x, num_steps=2)),
         lambda: (X0, W), case="rk4 in x, params", modes=R),
    Grad("models.interpolants.sde_sample", _j(lambda x, e, w: I.sde_sample(_field(w), _field(w.T), e, x, KEY,
         t0=0.9, t1=0.1, num_steps=2)), lambda: (X0, np.asarray(0.3), W),
         case="backward, in x, eps, params (fixed key)", modes=R),
    Grad("models.interpolants.divergence", _j(lambda x, t, w: (I.divergence(_field(w), x, t), I.divergence(
        _field(w), x, t, probe=_J(np.sign(Z))))), lambda: (X0, np.asarray(0.4), W),
         case="exact and Hutchinson in x, t, params", modes=R),
    Grad("models.interpolants.ode_log_likelihood", _j(lambda x1, w: I.ode_log_likelihood(
        _field(w), _log_std, x1, num_steps=2, method="heun")), lambda: (X1, W), case="in x1, params", modes=R),
    Grad("models.interpolants.exact_fields", _j(lambda x, t, m, l: I.exact_fields(
        LINEAR, _STD, _mix_l(_J(WTS), m, l), x, t)), lambda: (X0, T2, MEANS, CHOL),
         case="in x, t, means, cov factors", modes=R),
    Grad("models.interpolants.gaussian", _j(lambda m, c: I.gaussian(m, c)), lambda: (MEANS[0], CHOL[0]),
         modes=R),
    Grad("models.interpolants.gmm_log_prob", _j(lambda x, w, m, l: I.gmm_log_prob(_mix_l(w, m, l), x)),
         lambda: (X0, WTS, MEANS, CHOL), case="in x, weights, means, cov factors", modes=R),
    Grad("models.interpolants.gmm_sample", _j(lambda m, l: I.gmm_sample(KEY, _mix_l(_J(WTS), m, l), 3)),
         lambda: (MEANS, CHOL), case="reparameterised in means, cov factors", modes=R),
    NoGrad("models.interpolants.gmm_sample", lambda w: I.gmm_sample(KEY, _mix_l(w, _J(MEANS), _J(CHOL)), 3),
           lambda: (WTS,), match="gmm_sample.*not differentiable", case="categorical draw in weights"),
    Grad("models.interpolants.ring_mixture", _j(lambda r, s, p: I.ring_mixture(3, r, s, phase=p)),
         lambda: (np.asarray(2.0), np.asarray(0.3), np.asarray(0.1)), case="in radius, std, phase", modes=R),
]

_STATS = "re-exported from theory.common.stats (battery: tests/batteries/theory_common_stats.py)"
EXEMPT = {
    "models.interpolants.mmd": _STATS,
    "models.interpolants.projection_directions": _STATS,
    "models.interpolants.sliced_wasserstein": _STATS,
    "models.interpolants.ring8": "a fixed mixture: no arguments (ring_mixture has the cases)",
    "models.interpolants.mix4": "a fixed mixture: no arguments (GaussianMixture, gmm_sample have the cases)",
    "models.interpolants.checkerboard": "grad: a uniform draw from a key and a count; no floating input",
    "models.interpolants.density_sampler": "grad: takes a density name; returns a sampler",
    "models.interpolants.off_checkerboard": "grad: a fraction of points in a set (piecewise constant)",
    "models.interpolants.noise_floor": "grad: host-side SW₂ of fresh draws, returns floats",
    "models.interpolants.eps_sweep": ("grad: host-side sweep returning floats and numpy samples (sde_sample has "
                                      "its Grad cases)"),
    "models.interpolants.exact_transport": ("grad: host-side check returning floats (exact_fields, ode_sample, "
                                            "sde_sample, ode_log_likelihood have their Grad cases)"),
}
