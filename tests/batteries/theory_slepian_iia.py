"""Batteries for theory/slepian_iia (paper 06: Slepian-model IIA of zero-crossing intervals, and its simulators)."""
import jax
import jax.numpy as jnp
import numpy as np

from theory import slepian_iia as S
from battery import BadInput, Grad, NoGrad  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("theory.slepian_iia",)

_P = "theory.slepian_iia."
_KEY = jax.random.PRNGKey(0)
_X = np.array([[0.5, -0.5, -1.0, 0.5, 1.0, -0.5, 0.5],
               [-1.0, 1.0, 0.5, -0.5, -1.0, 1.0, -1.0]])          # two paths, several sign changes
_IV = S.crossing_intervals(_X, 0.1)
_EMPTY = S.crossing_intervals(np.ones((2, 5)), 0.1)             # no crossing: no complete interval
_T = np.array([0.3, 1.7])                                       # times t > 0 (away from the kink of |t| at 0)
_OU = S.ornstein_uhlenbeck()


def _cov_parts(cov):
  return lambda t: (cov.r(t), cov.minus_dr(t), cov.one_minus_r(t))


_USER = S.user_covariance(lambda t: jnp.exp(-t ** 2 / 2) / (1 + t ** 2))   # r(0) = 1, λ₂ = 2; −r′ by autodiff


BAD_INPUTS = [
    BadInput(_P + "diffusion", "d 0", lambda: S.diffusion(0), match="d:"),
    BadInput(_P + "diffusion", "float d", lambda: S.diffusion(1.5), match="d:"),
    BadInput(_P + "gaussian", "negative scale", lambda: S.gaussian(-1.0), match="scale"),
    BadInput(_P + "gaussian", "nan scale", lambda: S.gaussian(float("nan")), match="scale"),
    BadInput(_P + "gaussian", "jax array scale", lambda: S.gaussian(jnp.asarray(1.0)), match="scale"),
    BadInput(_P + "damped_cosine", "omega 0", lambda: S.damped_cosine(0.0), match="omega"),
    BadInput(_P + "damped_cosine", "alpha inf", lambda: S.damped_cosine(1.0, float("inf")), match="alpha"),
    BadInput(_P + "ornstein_uhlenbeck", "negative rate", lambda: S.ornstein_uhlenbeck(-1.0), match="rate"),
    BadInput(_P + "user_covariance", "r(0) != 1", lambda: S.user_covariance(lambda t: 2 * jnp.exp(-t ** 2)),
             match=r"r\(0\) = 1"),
    BadInput(_P + "user_covariance", "lambda2 < 0", lambda: S.user_covariance(lambda t: jnp.exp(-t ** 2),
                                                                             lambda2=-1.0), match="lambda2"),
    BadInput(_P + "user_covariance", "not callable", lambda: S.user_covariance(3.0), match="r:"),
    BadInput(_P + "user_covariance", "numpy r (not traceable)",
             lambda: S.user_covariance(lambda t: float(np.exp(-np.asarray(t) ** 2))), match="r:.*traceable"),
    BadInput(_P + "user_covariance", "vector r", lambda: S.user_covariance(lambda t: jnp.ones(2)), match="r:"),
    BadInput(_P + "user_covariance", "decay <= 0", lambda: S.user_covariance(lambda t: jnp.exp(-t ** 2),
                                                                            decay=0.0), match="decay"),
    BadInput(_P + "rice_rate", "lambda2 inf", lambda: S.rice_rate(_OU), match="cov"),
    BadInput(_P + "rice_rate", "not a Covariance", lambda: S.rice_rate("gaussian"), match="cov"),
    BadInput(_P + "mean_interval", "lambda2 inf", lambda: S.mean_interval(_OU), match="cov"),
    BadInput(_P + "clipped_covariance", "negative t", lambda: S.clipped_covariance(S.gaussian(), -1.0), match="t:"),
    BadInput(_P + "clipped_covariance", "complex t", lambda: S.clipped_covariance(S.gaussian(), np.array([1j])),
             match="t:"),
    BadInput(_P + "slepian_mean", "nan t", lambda: S.slepian_mean(S.gaussian(), np.array([0.0, np.nan])),
             match="t:"),
    BadInput(_P + "slepian_mean", "rough cov", lambda: S.slepian_mean(_OU, 1.0), match="cov"),
    BadInput(_P + "validity", "n_grid 2", lambda: S.validity(S.gaussian(), n_grid=2), match="n_grid"),
    BadInput(_P + "validity", "t_max <= 0", lambda: S.validity(S.gaussian(), t_max=-1.0), match="t_max"),
    BadInput(_P + "validity", "tol nan", lambda: S.validity(S.gaussian(), tol=float("nan")), match="tol"),
    BadInput(_P + "persistence_exponent", "n_grid small", lambda: S.persistence_exponent(S.gaussian(), 10),
             match="n_grid"),
    BadInput(_P + "persistence_exponent", "rough cov", lambda: S.persistence_exponent(_OU), match="cov"),
    BadInput(_P + "iia_law", "dt <= 0", lambda: S.iia_law(S.gaussian(), dt=-1.0), match="dt"),
    BadInput(_P + "iia_law", "t_max nan", lambda: S.iia_law(S.gaussian(), t_max=float("nan")), match="t_max"),
    BadInput(_P + "iia_law", "not a Covariance", lambda: S.iia_law(None), match="cov"),
    BadInput(_P + "sample_iia", "n 0", lambda: S.sample_iia(_KEY, S.gaussian(), 0), match="n:"),
    BadInput(_P + "sample_iia", "n_grid 1", lambda: S.sample_iia(_KEY, S.gaussian(), 4, n_grid=1), match="n_grid"),
    BadInput(_P + "switch_laplace", "shape mismatch", lambda: S.switch_laplace(jnp.ones(3), 1.0, jnp.ones(4)),
             match="psi_hat, s"),
    BadInput(_P + "switch_laplace", "mu 0", lambda: S.switch_laplace(jnp.ones(2), 0.0, jnp.ones(2)), match="mu"),
    BadInput(_P + "switch_laplace", "s = 0", lambda: S.switch_laplace(jnp.ones(2), 1.0, jnp.arange(2.0)),
             match="s:"),
    BadInput(_P + "switch_laplace", "string psi", lambda: S.switch_laplace("a", 1.0, 1.0), match="psi_hat"),
    BadInput(_P + "simulate_paths", "dt 0", lambda: S.simulate_paths(_KEY, S.gaussian(), 0.0, 8, 2), match="dt"),
    BadInput(_P + "simulate_paths", "n 1", lambda: S.simulate_paths(_KEY, S.gaussian(), 0.1, 1, 2), match="n:"),
    BadInput(_P + "simulate_paths", "not a Covariance", lambda: S.simulate_paths(_KEY, "r", 0.1, 8, 2),
             match="cov"),
    BadInput(_P + "simulate_intervals", "chunk 0", lambda: S.simulate_intervals(_KEY, S.gaussian(), 0.1, 8, 2, 0),
             match="chunk"),
    BadInput(_P + "simulate_intervals", "no paths", lambda: S.simulate_intervals(_KEY, S.gaussian(), 0.1, 8, 0),
             match="n_paths"),
    BadInput(_P + "concat_intervals", "empty", lambda: S.concat_intervals([]), match="parts"),
    BadInput(_P + "concat_intervals", "two durations", lambda: S.concat_intervals(
        [_IV, _IV._replace(duration=1.0)]), match="duration"),
    BadInput(_P + "crossing_intervals", "rank 1", lambda: S.crossing_intervals(np.zeros(10), 0.1), match="x:"),
    BadInput(_P + "crossing_intervals", "nan in x", lambda: S.crossing_intervals(
        np.where(np.arange(14).reshape(2, 7) == 9, np.nan, _X), 0.1), match=r"x.*index \(1, 2\)"),
    BadInput(_P + "crossing_intervals", "negative dt", lambda: S.crossing_intervals(_X, -0.1), match="dt"),
    BadInput(_P + "crossing_intervals", "int paths", lambda: S.crossing_intervals(np.ones((2, 5), int), 0.1),
             match="x:"),
    BadInput(_P + "crossing_rate", "not Intervals", lambda: S.crossing_rate(_X), match="iv"),
    BadInput(_P + "mean_length", "no intervals", lambda: S.mean_length(_EMPTY), match="iv: no complete"),
    BadInput(_P + "empirical_survival", "nan t", lambda: S.empirical_survival(_IV, [np.nan]), match="t"),
    BadInput(_P + "empirical_survival", "rank-2 t", lambda: S.empirical_survival(_IV, np.ones((2, 2))), match="t:"),
    BadInput(_P + "empirical_survival", "no intervals", lambda: S.empirical_survival(_EMPTY, 0.1), match="iv"),
    BadInput(_P + "tail_exponent", "t_max <= t_min", lambda: S.tail_exponent(_IV, 0.2, 0.1), match="t_max"),
    BadInput(_P + "tail_exponent", "negative t_min", lambda: S.tail_exponent(_IV, -1.0), match="t_min"),
    BadInput(_P + "tail_exponent", "zero exposure", lambda: S.tail_exponent(_IV, 10.0), match="t_min.*exposure"),
    BadInput(_P + "palm_persistence", "rank-2 t", lambda: S.palm_persistence(_IV, np.ones((2, 2))), match="t:"),
    BadInput(_P + "palm_persistence", "no intervals", lambda: S.palm_persistence(_EMPTY, 0.1), match="iv"),
    BadInput(_P + "empirical_clipped_covariance", "one path", lambda: S.empirical_clipped_covariance(_X[:1], 2),
             match=r"x:.*P >= 2"),
    BadInput(_P + "empirical_clipped_covariance", "max_lag >= n", lambda: S.empirical_clipped_covariance(_X, 7),
             match="max_lag"),
    BadInput(_P + "persistence_curve", "negative bridge variance", lambda: S.persistence_curve(_X, -1.0),
             match="bridge_variance"),
    BadInput(_P + "persistence_curve", "inf in x", lambda: S.persistence_curve(np.where(_X > 0.9, np.inf, _X)),
             match="x: expected finite"),
    BadInput(_P + "switching_path", "rank 1", lambda: S.switching_path(np.ones(3), 0.1, 5), match="lengths"),
    BadInput(_P + "switching_path", "negative length", lambda: S.switching_path(-np.ones((1, 9)), 0.1, 5),
             match="lengths"),
    BadInput(_P + "switching_path", "too short", lambda: S.switching_path(np.ones((2, 3)), 0.1, 100),
             match="lengths"),
]

GRADIENTS = [
    Grad(_P + "diffusion", _cov_parts(S.diffusion(2)), lambda: (_T,)),
    Grad(_P + "random_acceleration", _cov_parts(S.random_acceleration()), lambda: (_T,)),
    Grad(_P + "gaussian", _cov_parts(S.gaussian(1.5)), lambda: (_T,)),
    Grad(_P + "damped_cosine", _cov_parts(S.damped_cosine()), lambda: (_T,)),
    Grad(_P + "ornstein_uhlenbeck", _cov_parts(S.ornstein_uhlenbeck(2.0)), lambda: (_T,)),
    Grad(_P + "user_covariance", _cov_parts(_USER), lambda: (_T,)),
    Grad(_P + "rice_rate", lambda lam: S.rice_rate(S.gaussian()._replace(lambda2=lam)), lambda: (np.float64(1.25),)),
    Grad(_P + "mean_interval", lambda lam: S.mean_interval(S.gaussian()._replace(lambda2=lam)),
         lambda: (np.float64(1.25),)),
    Grad(_P + "clipped_covariance", lambda t: S.clipped_covariance(S.diffusion(1), t), lambda: (_T,)),
    Grad(_P + "slepian_mean", lambda t: S.slepian_mean(S.random_acceleration(), t), lambda: (_T,)),
    Grad(_P + "switch_laplace", S.switch_laplace, lambda: (np.array([0.6, 0.3]), np.float64(2.0),
                                                          np.array([0.5, 1.5]))),
    NoGrad(_P + "validity", lambda tm: S.validity(S.gaussian(), tm, n_grid=11).min_m, lambda: (np.float64(5.0),)),
    NoGrad(_P + "iia_law", lambda dt: S.iia_law(S.gaussian(), dt).mean, lambda: (np.float64(0.01),)),
    NoGrad(_P + "simulate_paths", lambda dt: S.simulate_paths(_KEY, S.gaussian(), dt, 8, 2),
           lambda: (np.float64(0.1),)),
    NoGrad(_P + "simulate_intervals", lambda dt: S.simulate_intervals(_KEY, S.gaussian(), dt, 8, 2).lengths,
           lambda: (np.float64(0.1),)),
    NoGrad(_P + "concat_intervals", lambda L: S.concat_intervals([_IV._replace(lengths=L)]).lengths,
           lambda: (np.nan_to_num(_IV.lengths, nan=0.0),)),
    NoGrad(_P + "crossing_intervals", lambda x: S.crossing_intervals(x, 0.1).lengths, lambda: (_X,)),
    NoGrad(_P + "crossing_rate", lambda d: S.crossing_rate(_IV._replace(duration=d)).mean,
           lambda: (np.float64(0.6),)),
    NoGrad(_P + "mean_length", lambda L: S.mean_length(_IV._replace(lengths=L)).mean,
           lambda: (np.nan_to_num(_IV.lengths, nan=0.0),)),
    NoGrad(_P + "empirical_survival", lambda t: S.empirical_survival(_IV, t).mean, lambda: (np.array([0.05]),)),
    NoGrad(_P + "tail_exponent", lambda t0: S.tail_exponent(_IV, t0).mean, lambda: (np.float64(0.05),)),
    NoGrad(_P + "palm_persistence", lambda t: S.palm_persistence(_IV, t).mean, lambda: (np.array([0.05]),)),
    NoGrad(_P + "empirical_clipped_covariance", lambda x: S.empirical_clipped_covariance(x, 2).mean,
           lambda: (_X,)),
    NoGrad(_P + "persistence_curve", lambda x: S.persistence_curve(x, 0.1).mean, lambda: (_X,)),
    NoGrad(_P + "switching_path", lambda L: S.switching_path(L, 0.1, 5), lambda: (np.ones((2, 3)),)),
]

EXEMPT = {
    _P + "random_acceleration": "bad-input: takes no arguments",
    _P + "persistence_exponent": "grad: no floating inputs (cov is a static Covariance, n_grid an int)",
    _P + "sample_iia": "grad: integer inputs only (key, n, n_grid; cov is a static Covariance)",
}
