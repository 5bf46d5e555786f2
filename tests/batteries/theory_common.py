"""Batteries for theory/common: privacy.py (mechanisms and accounting of papers 05, 10, 31), sde.py
(Euler–Maruyama, paper 20) and gaussian_processes.py (exact OU and circulant embedding, papers 06, 20).

Gradients in float64, reverse mode. The calibrations and accounting functions are differentiated through their
JAX path (0-d JAX inputs; the bisection of ``advanced_composition_epsilon_per_query`` through its implicit
derivative); the noise samplers and mechanisms are reparameterised (``value + scale · z``), so they are
differentiable in the value and the scale given the key; randomized response returns bits and refuses. The SDE
and OU paths are pathwise-differentiable given the key; circulant-embedding samples are √λ-reparameterised
(every eigenvalue of the examples is > 0). Values that cannot be checked under ``jit`` (NaN in ``x0``, a
non-positive-definite embedding) are checked by ``checkify`` (cases named "... under jit").
"""
import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

from theory.common import gaussian_processes as G
from theory.common import privacy as P
from theory.common import sde
from battery import BadInput, Grad, NoGrad  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("theory.common.privacy", "theory.common.sde", "theory.common.gaussian_processes")

KEY = jax.random.key(0, impl="rbg")   # XLA RngBitGenerator: compiles far faster than threefry
f = np.float64


def drift(x, p):          # Ornstein–Uhlenbeck drift with a per-step rate (module-level: a static argument)
  return -p["theta"] * x


def diffusion(x, p):
  return p["s"] + 0.1 * x * x


def bad_drift(x, p):      # returns one value too many
  return jnp.concatenate([x, x])


PARAMS = {"theta": np.array([1.0, 1.5, 0.5, 2.0]), "s": np.array([0.3, 0.2, 0.4, 0.3])}
COV = np.exp(-0.5 * np.arange(4.0))                                 # exp(−|k|/2): a valid embedding
NOT_PD = np.array([1.0, 0.9, 0.0])                                  # |c_k| <= c_0, eigenvalue 1 − 1.8 < 0


def _checked(fun, *args):
  """Runs ``checkify.checkify(jax.jit(fun))`` and raises the error it reports (a ValueError subclass)."""
  err, out = checkify.checkify(jax.jit(fun))(*args)
  err.throw()
  return out


BAD_INPUTS = [
    # privacy: noise and mechanisms
    BadInput("theory.common.privacy.laplace_noise", "negative scale", lambda: P.laplace_noise(KEY, -1.0, (2,)),
             match="laplace_noise: scale"),
    BadInput("theory.common.privacy.laplace_noise", "int dtype", lambda: P.laplace_noise(KEY, 1.0, (2,), jnp.int32),
             match="laplace_noise: dtype", error=TypeError),
    BadInput("theory.common.privacy.laplace_noise", "shape", lambda: P.laplace_noise(KEY, 1.0, (2, -1)),
             match="laplace_noise: shape", error=TypeError),
    BadInput("theory.common.privacy.gaussian_noise", "inf sigma", lambda: P.gaussian_noise(KEY, np.inf, (2,)),
             match="gaussian_noise: sigma"),
    BadInput("theory.common.privacy.gaussian_noise", "vector sigma", lambda: P.gaussian_noise(KEY, jnp.ones(2), (2,)),
             match="gaussian_noise: sigma"),
    BadInput("theory.common.privacy.laplace_scale", "epsilon 0", lambda: P.laplace_scale(1.0, 0.0),
             match="laplace_scale: epsilon"),
    BadInput("theory.common.privacy.laplace_scale", "NaN epsilon", lambda: P.laplace_scale(1.0, np.nan),
             match="laplace_scale: epsilon"),
    BadInput("theory.common.privacy.laplace_scale", "str sensitivity", lambda: P.laplace_scale("1", 1.0),
             match="laplace_scale: sensitivity", error=TypeError),
    BadInput("theory.common.privacy.laplace_mechanism", "epsilon < 0", lambda: P.laplace_mechanism(
        KEY, np.zeros(2), 1.0, -1.0), match="laplace_scale: epsilon"),
    BadInput("theory.common.privacy.laplace_mechanism", "bool value", lambda: P.laplace_mechanism(
        KEY, np.ones(2, bool), 1.0, 1.0), match="laplace_mechanism: value", error=TypeError),
    BadInput("theory.common.privacy.gaussian_sigma", "epsilon >= 1", lambda: P.gaussian_sigma(1.0, 1.5, 1e-5),
             match="gaussian_sigma: epsilon"),
    BadInput("theory.common.privacy.gaussian_sigma", "delta 0", lambda: P.gaussian_sigma(1.0, 0.5, 0.0),
             match="gaussian_sigma: delta"),
    BadInput("theory.common.privacy.gaussian_sigma", "delta 1", lambda: P.gaussian_sigma(1.0, 0.5, 1.0),
             match="gaussian_sigma: delta"),
    BadInput("theory.common.privacy.gaussian_mechanism", "delta > 1", lambda: P.gaussian_mechanism(
        KEY, np.zeros(2), 1.0, 0.5, 1.5), match="gaussian_sigma: delta"),
    BadInput("theory.common.privacy.gaussian_mechanism", "str value", lambda: P.gaussian_mechanism(
        KEY, np.array(["a"]), 1.0, 0.5, 1e-5), match="gaussian_mechanism: value", error=TypeError),
    BadInput("theory.common.privacy.randomized_response_keep_probability", "epsilon < 0",
             lambda: P.randomized_response_keep_probability(-1.0), match="randomized_response_keep_probability: epsilon"),
    BadInput("theory.common.privacy.randomized_response_keep_probability", "bool epsilon",
             lambda: P.randomized_response_keep_probability(np.array(True)), match="epsilon", error=TypeError),
    BadInput("theory.common.privacy.randomized_response", "float bits", lambda: P.randomized_response(
        KEY, np.zeros(3), 1.0), match="randomized_response: bits", error=TypeError),
    BadInput("theory.common.privacy.randomized_response", "epsilon < 0", lambda: P.randomized_response(
        KEY, np.zeros(3, np.int32), -0.5), match="randomized_response: epsilon"),
    # privacy: densities and losses
    BadInput("theory.common.privacy.laplace_log_density", "scale 0", lambda: P.laplace_log_density(0.0, 0.0, 0.0),
             match="laplace_log_density: scale"),
    BadInput("theory.common.privacy.laplace_log_density", "shapes", lambda: P.laplace_log_density(
        np.zeros(3), np.zeros(2), 1.0), match="laplace_log_density: x, loc, scale"),
    BadInput("theory.common.privacy.laplace_privacy_loss", "negative scale", lambda: P.laplace_privacy_loss(
        0.0, 0.0, 1.0, -1.0), match="laplace_privacy_loss: scale"),
    BadInput("theory.common.privacy.laplace_privacy_loss", "shapes", lambda: P.laplace_privacy_loss(
        np.zeros(3), np.zeros(2), 1.0, 1.0), match="laplace_privacy_loss: x, value"),
    BadInput("theory.common.privacy.gaussian_privacy_loss", "sigma 0", lambda: P.gaussian_privacy_loss(
        0.0, 0.0, 1.0, 0.0), match="gaussian_privacy_loss: sigma"),
    BadInput("theory.common.privacy.gaussian_privacy_loss", "str sigma", lambda: P.gaussian_privacy_loss(
        0.0, 0.0, 1.0, np.array(["1"])), match="gaussian_privacy_loss: sigma", error=TypeError),
    BadInput("theory.common.privacy.gaussian_delta", "sigma 0", lambda: P.gaussian_delta(0.0, 1.0, 0.5),
             match="gaussian_delta: sigma"),
    BadInput("theory.common.privacy.gaussian_delta", "epsilon < 0", lambda: P.gaussian_delta(1.0, 1.0, -0.5),
             match="gaussian_delta: epsilon"),
    # privacy: accounting
    BadInput("theory.common.privacy.basic_composition", "k 0", lambda: P.basic_composition(0.1, 0.0, 0),
             match="basic_composition: k"),
    BadInput("theory.common.privacy.basic_composition", "float k", lambda: P.basic_composition(0.1, 0.0, 2.5),
             match="basic_composition: k", error=TypeError),
    BadInput("theory.common.privacy.basic_composition", "delta 1", lambda: P.basic_composition(0.1, 1.0, 2),
             match="basic_composition: delta"),
    BadInput("theory.common.privacy.advanced_composition", "delta_slack 0", lambda: P.advanced_composition(
        0.1, 0.0, 3, 0.0), match="advanced_composition: delta_slack"),
    BadInput("theory.common.privacy.advanced_composition", "inf epsilon", lambda: P.advanced_composition(
        np.inf, 0.0, 3, 1e-6), match="advanced_composition: epsilon"),
    BadInput("theory.common.privacy.advanced_composition_epsilon_per_query", "total 0",
             lambda: P.advanced_composition_epsilon_per_query(0.0, 3, 1e-6),
             match="advanced_composition_epsilon_per_query: total_epsilon"),
    BadInput("theory.common.privacy.advanced_composition_epsilon_per_query", "vector total",
             lambda: P.advanced_composition_epsilon_per_query(jnp.ones(2), 3, 1e-6),
             match="advanced_composition_epsilon_per_query: total_epsilon"),
    BadInput("theory.common.privacy.advanced_composition_epsilon_per_query", "k 0",
             lambda: P.advanced_composition_epsilon_per_query(1.0, 0, 1e-6),
             match="advanced_composition_epsilon_per_query: k"),
    BadInput("theory.common.privacy.zcdp_of_gaussian", "sigma < 0", lambda: P.zcdp_of_gaussian(-1.0, 1.0),
             match="zcdp_of_gaussian: sigma"),
    BadInput("theory.common.privacy.zcdp_to_dp", "rho 0", lambda: P.zcdp_to_dp(0.0, 1e-5), match="zcdp_to_dp: rho"),
    BadInput("theory.common.privacy.zcdp_to_dp", "delta 0", lambda: P.zcdp_to_dp(0.1, 0.0), match="zcdp_to_dp: delta"),
    # sde
    BadInput("theory.common.sde.euler_maruyama", "dt 0", lambda: sde.euler_maruyama(
        KEY, drift, diffusion, 0.0, PARAMS, dt=0.0), match="euler_maruyama: dt"),
    BadInput("theory.common.sde.euler_maruyama", "drift not callable", lambda: sde.euler_maruyama(
        KEY, 1.0, diffusion, 0.0, PARAMS, dt=0.1), match="euler_maruyama: drift", error=TypeError),
    BadInput("theory.common.sde.euler_maruyama", "drift output shape", lambda: sde.euler_maruyama(
        KEY, bad_drift, diffusion, np.zeros(2), PARAMS, dt=0.1), match="euler_maruyama: drift"),
    BadInput("theory.common.sde.euler_maruyama", "no params", lambda: sde.euler_maruyama(
        KEY, drift, diffusion, 0.0, {}, dt=0.1), match="euler_maruyama: params"),
    BadInput("theory.common.sde.euler_maruyama", "leading axes differ", lambda: sde.euler_maruyama(
        KEY, drift, diffusion, 0.0, {"theta": np.ones(4), "s": np.ones(3)}, dt=0.1), match="euler_maruyama: params"),
    BadInput("theory.common.sde.euler_maruyama", "record_every does not divide", lambda: sde.euler_maruyama(
        KEY, drift, diffusion, 0.0, PARAMS, dt=0.1, record_every=3), match="euler_maruyama: params.*record_every"),
    BadInput("theory.common.sde.euler_maruyama", "n_paths 0", lambda: sde.euler_maruyama(
        KEY, drift, diffusion, 0.0, PARAMS, dt=0.1, n_paths=0), match="euler_maruyama: n_paths"),
    BadInput("theory.common.sde.euler_maruyama", "lower str", lambda: sde.euler_maruyama(
        KEY, drift, diffusion, 0.0, PARAMS, dt=0.1, lower="0"), match="euler_maruyama: lower", error=TypeError),
    BadInput("theory.common.sde.euler_maruyama", "NaN x0", lambda: sde.euler_maruyama(
        KEY, drift, diffusion, np.nan, PARAMS, dt=0.1), match=r"euler_maruyama: x0.*finite"),
    BadInput("theory.common.sde.euler_maruyama", "NaN params under jit", lambda: _checked(
        lambda th: sde.euler_maruyama(KEY, drift, diffusion, 0.0, {"theta": th, "s": PARAMS["s"]}, dt=0.1),
        np.array([1.0, np.nan, 1.0, 1.0])), match="euler_maruyama: params", error=checkify.JaxRuntimeError),
    # gaussian_processes
    BadInput("theory.common.gaussian_processes.ou_exact", "theta < 0", lambda: G.ou_exact(
        KEY, theta=-1.0, sigma=1.0, dt=0.1, n_steps=3, x0=0.0), match="ou_exact: theta"),
    BadInput("theory.common.gaussian_processes.ou_exact", "n_steps 0", lambda: G.ou_exact(
        KEY, theta=1.0, sigma=1.0, dt=0.1, n_steps=0, x0=0.0), match="ou_exact: n_steps"),
    BadInput("theory.common.gaussian_processes.ou_exact", "dt 0", lambda: G.ou_exact(
        KEY, theta=1.0, sigma=1.0, dt=0.0, n_steps=3), match="ou_exact: dt"),
    BadInput("theory.common.gaussian_processes.ou_exact", "sigma length", lambda: G.ou_exact(
        KEY, theta=1.0, sigma=np.ones(2), dt=0.1, n_steps=3), match="ou_exact: sigma"),
    BadInput("theory.common.gaussian_processes.ou_exact", "x0 per path", lambda: G.ou_exact(
        KEY, theta=1.0, sigma=1.0, dt=0.1, n_steps=3, x0=np.zeros(3), n_paths=2), match="ou_exact: x0"),
    BadInput("theory.common.gaussian_processes.ou_exact", "NaN mu", lambda: G.ou_exact(
        KEY, theta=1.0, sigma=1.0, dt=0.1, n_steps=3, mu=np.nan), match="ou_exact: mu"),
    BadInput("theory.common.gaussian_processes.ou_exact", "stationary start with theta 0", lambda: G.ou_exact(
        KEY, theta=0.0, sigma=1.0, dt=0.1, n_steps=3), match="ou_exact: theta"),
    BadInput("theory.common.gaussian_processes.ou_exact", "inf x0", lambda: G.ou_exact(
        KEY, theta=1.0, sigma=1.0, dt=0.1, n_steps=3, x0=np.inf), match="ou_exact: x0"),
    BadInput("theory.common.gaussian_processes.circulant_eigenvalues", "2-D cov", lambda: G.circulant_eigenvalues(
        np.ones((2, 2))), match="circulant_eigenvalues: cov"),
    BadInput("theory.common.gaussian_processes.circulant_eigenvalues", "cov[0] <= 0", lambda: G.circulant_eigenvalues(
        np.array([0.0, 0.0])), match="circulant_eigenvalues: cov"),
    BadInput("theory.common.gaussian_processes.circulant_eigenvalues", "pad < 0", lambda: G.circulant_eigenvalues(
        COV, pad=-1), match="circulant_eigenvalues: pad"),
    BadInput("theory.common.gaussian_processes.circulant_eigenvalues", "bad cov under jit", lambda: _checked(
        lambda c: G.circulant_eigenvalues(c).eigenvalues, np.array([1.0, 2.0])), match="circulant_eigenvalues: cov",
        error=checkify.JaxRuntimeError),
    BadInput("theory.common.gaussian_processes.circulant_embedding_sample", "not positive definite",
             lambda: G.circulant_embedding_sample(KEY, NOT_PD, 2), match="circulant_embedding_sample: cov"),
    BadInput("theory.common.gaussian_processes.circulant_embedding_sample", "not positive definite under jit",
             lambda: _checked(lambda c: G.circulant_embedding_sample(KEY, c, 2), NOT_PD),
             match="circulant_embedding_sample: cov", error=checkify.JaxRuntimeError),
    BadInput("theory.common.gaussian_processes.circulant_embedding_sample", "n_paths 0",
             lambda: G.circulant_embedding_sample(KEY, COV, 0), match="circulant_embedding_sample: n_paths"),
    BadInput("theory.common.gaussian_processes.circulant_embedding_sample", "rtol 1",
             lambda: G.circulant_embedding_sample(KEY, COV, 2, rtol=1.0), match="circulant_embedding_sample: rtol"),
]

GRADIENTS = [
    # privacy: reparameterised noise and mechanisms
    Grad("theory.common.privacy.laplace_noise", lambda b: P.laplace_noise(KEY, b, (3,), jnp.float64), lambda: (f(0.7),)),
    Grad("theory.common.privacy.gaussian_noise", lambda s: P.gaussian_noise(KEY, s, (3,), jnp.float64),
         lambda: (f(1.3),)),
    Grad("theory.common.privacy.laplace_scale", P.laplace_scale, lambda: (f(0.5), f(0.8))),
    Grad("theory.common.privacy.laplace_mechanism", lambda v, e: P.laplace_mechanism(KEY, v, 1.0, e),
         lambda: (np.array([0.2, -1.0]), f(0.8))),
    Grad("theory.common.privacy.gaussian_sigma", lambda s, e, ld: P.gaussian_sigma(s, e, jnp.exp(ld)),
         lambda: (f(0.5), f(0.6), f(np.log(1e-3)))),
    Grad("theory.common.privacy.gaussian_mechanism", lambda v, e, ld: P.gaussian_mechanism(KEY, v, 1.0, e, jnp.exp(ld)),
         lambda: (np.array([0.2, -1.0]), f(0.6), f(np.log(1e-3)))),
    Grad("theory.common.privacy.randomized_response_keep_probability", P.randomized_response_keep_probability,
         lambda: (np.array([0.3, 1.2]),)),
    NoGrad("theory.common.privacy.randomized_response",
           lambda e: P.randomized_response(KEY, jnp.array([0, 1, 1], jnp.int32), e), lambda: (f(1.0),),
           match="randomized_response is not differentiable"),
    # privacy: closed forms
    Grad("theory.common.privacy.laplace_log_density", P.laplace_log_density,
         lambda: (np.array([-0.4, 1.7]), f(0.3), f(0.9))),
    Grad("theory.common.privacy.laplace_privacy_loss", P.laplace_privacy_loss,
         lambda: (np.array([-0.4, 0.6, 1.7]), f(0.3), f(1.1), f(0.9))),
    Grad("theory.common.privacy.gaussian_privacy_loss", P.gaussian_privacy_loss,
         lambda: (np.array([-0.4, 1.7]), f(0.3), f(1.1), f(0.9))),
    Grad("theory.common.privacy.gaussian_delta", P.gaussian_delta, lambda: (f(1.2), f(1.0), f(0.5))),
    Grad("theory.common.privacy.basic_composition", lambda e, d: P.basic_composition(e, d, 4),
         lambda: (f(0.3), f(0.1))),
    # δ-like arguments (1e-4 .. 1e-5) are differentiated through log δ, so that the finite-difference step is
    # small relative to them
    Grad("theory.common.privacy.advanced_composition", lambda e, ld, ls: P.advanced_composition(
        e, jnp.exp(ld), 10, jnp.exp(ls)), lambda: (f(0.1), f(np.log(1e-4)), f(np.log(1e-5)))),
    Grad("theory.common.privacy.advanced_composition_epsilon_per_query",
         lambda t, ls: P.advanced_composition_epsilon_per_query(t, 10, jnp.exp(ls)), lambda: (f(1.0), f(np.log(1e-5)))),
    Grad("theory.common.privacy.zcdp_of_gaussian", P.zcdp_of_gaussian, lambda: (f(1.5), f(0.7))),
    Grad("theory.common.privacy.zcdp_to_dp", lambda r, ld: P.zcdp_to_dp(r, jnp.exp(ld)), lambda: (f(0.1), f(np.log(1e-5)))),
    # sde / gaussian_processes: pathwise derivatives given the key
    Grad("theory.common.sde.euler_maruyama", lambda x0, p: sde.euler_maruyama(
        KEY, drift, diffusion, x0, p, dt=0.1), lambda: (f(0.5), PARAMS)),
    Grad("theory.common.gaussian_processes.ou_exact", lambda th, sg, mu, x0: G.ou_exact(
        KEY, theta=th, sigma=sg, mu=mu, x0=x0, dt=0.1, n_steps=3, n_paths=2),
        lambda: (np.array([1.0, 0.5, 2.0]), f(0.8), f(0.3), np.array([0.1, -0.4]))),
    Grad("theory.common.gaussian_processes.circulant_eigenvalues",
         lambda c: G.circulant_eigenvalues(c, pad=1).eigenvalues, lambda: (COV,)),
    Grad("theory.common.gaussian_processes.circulant_embedding_sample",
         lambda c: G.circulant_embedding_sample(KEY, c, 3), lambda: (COV,)),
]

EXEMPT = {}
