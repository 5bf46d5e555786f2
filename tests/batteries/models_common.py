"""Batteries for models/common/diffusion.py (VP schedules, time grids, ODE/SDE steppers, TimeMLP; shared by
papers 12 DEIS, 24 stochastic interpolants, 29 RADD).

Gradients in float64: the schedule's coefficients and inverse maps in t, the reparameterised marginal draw,
the grids in (t_min, t_max), the steppers in the state, the field's parameters and the grid, the SDE stepper
for a fixed key, the time features in t and TimeMLP in (x, t, params). The discrete chain's d log ᾱ/dt is
piecewise constant in t: NoGrad.
"""
import jax
import jax.numpy as jnp
import numpy as np

from models.common import diffusion as D
from battery import BadInput, Grad, NoGrad, jit_functional  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("models.common.diffusion",)

KEY = jax.random.PRNGKey(0)
LIN = D.VPSchedule()
COS = D.VPSchedule("cosine")
DISC = D.VPSchedule(num_steps=40)
T3 = np.array([0.23, 0.51, 0.87])
TS = np.array([1.0, 0.6, 0.3, 0.1])
X0 = np.array([[0.3, -1.1], [0.8, 0.4]])
_f = lambda y, t: -y * (1.0 + t)
_mlp = D.TimeMLP(hidden=4, depth=1, emb_dim=4, time_scale=3.0)


def _mlp_params():
  p = jax.eval_shape(_mlp.init, KEY, jnp.ones((2, 2)), jnp.ones(2))   # shapes only: no eager init
  leaves, tree = jax.tree.flatten(p)
  rng = np.random.default_rng(1)
  return jax.tree.unflatten(tree, [0.5 * rng.standard_normal(np.shape(a)) for a in leaves])


BAD_INPUTS = [
    # VPSchedule
    BadInput("models.common.diffusion.VPSchedule", "kind", lambda: D.VPSchedule("exp"), match="kind"),
    BadInput("models.common.diffusion.VPSchedule", "beta_min > beta_max", lambda: D.VPSchedule(beta_min=30.0),
             match="beta_min"),
    BadInput("models.common.diffusion.VPSchedule", "str beta", lambda: D.VPSchedule(beta_max="20"), match="beta_max"),
    BadInput("models.common.diffusion.VPSchedule", "inf beta", lambda: D.VPSchedule(beta_max=float("inf")),
             match="beta_max"),
    BadInput("models.common.diffusion.VPSchedule", "cosine_s 0", lambda: D.VPSchedule("cosine", cosine_s=0.0),
             match="cosine_s"),
    BadInput("models.common.diffusion.VPSchedule", "num_steps < 0", lambda: D.VPSchedule(num_steps=-1),
             match="num_steps"),
    BadInput("models.common.diffusion.VPSchedule", "discrete beta >= 1", lambda: D.VPSchedule(num_steps=10),
             match="num_steps"),
    BadInput("models.common.diffusion.VPSchedule", "marginal int x0", lambda: LIN.marginal(
        KEY, jnp.ones((2, 2), jnp.int32), 0.5), match="x0", error=TypeError),
    BadInput("models.common.diffusion.VPSchedule", "marginal t batch", lambda: LIN.marginal(
        KEY, jnp.ones((2, 2)), jnp.ones(3)), match="t expected"),
    BadInput("models.common.diffusion.VPSchedule", "marginal key", lambda: LIN.marginal(
        jnp.ones(3), jnp.ones((2, 2)), 0.5), match="key", error=TypeError),
    # time_grid
    BadInput("models.common.diffusion.time_grid", "num_steps 0", lambda: D.time_grid(LIN, 0), match="num_steps"),
    BadInput("models.common.diffusion.time_grid", "kind", lambda: D.time_grid(LIN, 3, "cubic_t"), match="kind"),
    BadInput("models.common.diffusion.time_grid", "t_min 0", lambda: D.time_grid(LIN, 3, t_min=0.0), match="t_min"),
    BadInput("models.common.diffusion.time_grid", "t_max > 1", lambda: D.time_grid(LIN, 3, t_max=1.5), match="t_max"),
    BadInput("models.common.diffusion.time_grid", "t_min > t_max", lambda: D.time_grid(LIN, 3, t_min=0.5, t_max=0.2),
             match="t_min"),
    BadInput("models.common.diffusion.time_grid", "t_min vector", lambda: D.time_grid(
        LIN, 3, t_min=jnp.ones(2) * 0.1), match="t_min"),
    BadInput("models.common.diffusion.time_grid", "power_t without kappa", lambda: D.time_grid(LIN, 3, "power_t"),
             match="kappa"),
    BadInput("models.common.diffusion.time_grid", "edm kappa < 0", lambda: D.time_grid(LIN, 3, "edm", kappa=-1.0),
             match="kappa"),
    BadInput("models.common.diffusion.time_grid", "schedule", lambda: D.time_grid("linear", 3), match="schedule",
             error=TypeError),
    BadInput("models.common.diffusion.time_grid", "int dtype", lambda: D.time_grid(LIN, 3, dtype=jnp.int32),
             match="dtype", error=TypeError),
    # integrate
    BadInput("models.common.diffusion.integrate", "method", lambda: D.integrate(_f, jnp.ones(2), TS, "midpoint"),
             match="method"),
    BadInput("models.common.diffusion.integrate", "ts 2-D", lambda: D.integrate(_f, jnp.ones(2), np.ones((2, 2))),
             match="ts"),
    BadInput("models.common.diffusion.integrate", "ts one point", lambda: D.integrate(_f, jnp.ones(2), TS[:1]),
             match="ts"),
    BadInput("models.common.diffusion.integrate", "ts not monotone", lambda: D.integrate(
        _f, jnp.ones(2), np.array([1.0, 0.5, 0.7])), match=r"ts expected a strictly monotone.*ts\[1\]"),
    BadInput("models.common.diffusion.integrate", "ts NaN", lambda: D.integrate(
        _f, jnp.ones(2), np.array([1.0, np.nan])), match="ts expected finite"),
    BadInput("models.common.diffusion.integrate", "int x", lambda: D.integrate(_f, jnp.ones(2, jnp.int32), TS),
             match="x", error=TypeError),
    BadInput("models.common.diffusion.integrate", "f output shape", lambda: D.integrate(
        lambda y, t: jnp.ones(3), jnp.ones(2), TS), match="f expected an output"),
    BadInput("models.common.diffusion.integrate", "f not callable", lambda: D.integrate(1.0, jnp.ones(2), TS),
             match="f expected a callable", error=TypeError),
    # euler_maruyama
    BadInput("models.common.diffusion.euler_maruyama", "ts one point", lambda: D.euler_maruyama(
        _f, lambda t: 1.0, jnp.ones(2), TS[:1], KEY), match="ts"),
    BadInput("models.common.diffusion.euler_maruyama", "ts repeated", lambda: D.euler_maruyama(
        _f, lambda t: 1.0, jnp.ones(2), np.array([1.0, 0.5, 0.5]), KEY), match="ts expected a strictly monotone"),
    BadInput("models.common.diffusion.euler_maruyama", "key", lambda: D.euler_maruyama(
        _f, lambda t: 1.0, jnp.ones(2), TS, 0), match="key", error=TypeError),
    BadInput("models.common.diffusion.euler_maruyama", "drift output shape", lambda: D.euler_maruyama(
        lambda y, t: jnp.ones(3), lambda t: 1.0, jnp.ones(2), TS, KEY), match="drift"),
    BadInput("models.common.diffusion.euler_maruyama", "diffusion output shape", lambda: D.euler_maruyama(
        _f, lambda t: jnp.ones(3), jnp.ones(2), TS, KEY), match="diffusion"),
    BadInput("models.common.diffusion.euler_maruyama", "diffusion not callable", lambda: D.euler_maruyama(
        _f, 1.0, jnp.ones(2), TS, KEY), match="diffusion", error=TypeError),
    BadInput("models.common.diffusion.euler_maruyama", "int x", lambda: D.euler_maruyama(
        _f, lambda t: 1.0, jnp.ones(2, jnp.int32), TS, KEY), match="x", error=TypeError),
    # sinusoidal_embedding
    BadInput("models.common.diffusion.sinusoidal_embedding", "odd dim", lambda: D.sinusoidal_embedding(
        jnp.ones(2), 7), match="dim"),
    BadInput("models.common.diffusion.sinusoidal_embedding", "dim 0", lambda: D.sinusoidal_embedding(
        jnp.ones(2), 0), match="dim"),
    BadInput("models.common.diffusion.sinusoidal_embedding", "max_period 0", lambda: D.sinusoidal_embedding(
        jnp.ones(2), 4, max_period=0.0), match="max_period"),
    BadInput("models.common.diffusion.sinusoidal_embedding", "complex t", lambda: D.sinusoidal_embedding(
        jnp.ones(2, jnp.complex64), 4), match="t expected", error=TypeError),
    # TimeMLP
    BadInput("models.common.diffusion.TimeMLP", "1-D x", lambda: _mlp.init(KEY, jnp.ones(2), jnp.ones(2)),
             match="x expected"),
    BadInput("models.common.diffusion.TimeMLP", "int x", lambda: _mlp.init(KEY, jnp.ones((2, 2), jnp.int32),
             jnp.ones(2)), match="x expected", error=TypeError),
    BadInput("models.common.diffusion.TimeMLP", "t batch", lambda: _mlp.init(KEY, jnp.ones((2, 2)), jnp.ones(3)),
             match="t expected"),
    BadInput("models.common.diffusion.TimeMLP", "hidden 0", lambda: D.TimeMLP(hidden=0).init(
        KEY, jnp.ones((2, 2)), jnp.ones(2)), match="hidden"),
    BadInput("models.common.diffusion.TimeMLP", "odd emb_dim", lambda: D.TimeMLP(hidden=4, emb_dim=5).init(
        KEY, jnp.ones((2, 2)), jnp.ones(2)), match="emb_dim"),
]

_j = jit_functional   # one compile per case (tests/batteries/battery.py)


R = ("rev",)   # reverse mode only (what training uses): one vjp compile per case


def _schedules(t, r, x0):
  """The schedule maps at once (one compile): the linear schedule's coefficients, the cosine and discrete (t off
  its knots) schedules through log-SNR and ρ, the inverse maps, and the reparameterised marginal draw."""
  return (LIN.alpha(t), LIN.sigma(t), LIN.log_snr(t), LIN.d_log_snr(t), LIN.rho(t), LIN.d_rho(t), COS.log_snr(t),
          COS.d_rho(t), DISC.rho(t + 0.004), LIN.t_from_rho(r), COS.t_from_log_snr(jnp.log(r)),
          LIN.marginal(KEY, x0, t[:2])[0])


GRADIENTS = [
    Grad("models.common.diffusion.VPSchedule", _j(_schedules), lambda: (T3, np.array([0.05, 0.7, 3.0]), X0),
         case="coefficients, inverses, marginal", modes=R),
    NoGrad("models.common.diffusion.VPSchedule", lambda t: DISC.d_log_alpha_bar(t), lambda: (T3,),
           match="piecewise constant", case="discrete d_log_alpha_bar"),
    Grad("models.common.diffusion.time_grid", _j(lambda lo, hi: (
        D.time_grid(LIN, 2, "quadratic_t", t_min=lo, t_max=hi), D.time_grid(LIN, 2, "log_rho", t_min=lo, t_max=hi),
        D.time_grid(COS, 2, "edm", t_min=lo, t_max=hi))), lambda: (np.asarray(0.01), np.asarray(0.9)),
         case="in t_min, t_max", modes=R, eps=1e-6),   # the default step 1e-4 is 1% of t_min: truncation error
    Grad("models.common.diffusion.integrate", _j(lambda x, a, ts: D.integrate(
        lambda y, t: -a * y * (1.0 + t) + jnp.sin(y), x, ts, "rk4")), lambda: (X0, np.asarray(0.7), TS[:3]),
         case="rk4 in x, params, grid", modes=R),
    Grad("models.common.diffusion.euler_maruyama", _j(lambda x, a, g: D.euler_maruyama(
        lambda y, t: -a * y * (1.0 + t), lambda t: g * (1.0 + t), x, TS[:3], KEY)),
         lambda: (X0, np.asarray(0.7), np.asarray(0.4)), case="fixed key", modes=R),
    Grad("models.common.diffusion.sinusoidal_embedding", _j(lambda t: D.sinusoidal_embedding(t, 4, scale=3.0)),
         lambda: (T3,), modes=R),
    Grad("models.common.diffusion.TimeMLP", _j(lambda x, t, p: _mlp.apply(p, x, t)),
         lambda: (X0, np.array([0.2, 0.7]), _mlp_params()), case="apply in x, t, params", modes=R),
]

EXEMPT = {}
