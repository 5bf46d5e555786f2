"""Oracle tests for models.common.diffusion and models.deis (Zhang & Chen, arXiv:2204.13902).

Oracles: numpy float64 re-derivations of the schedules (written from the formulas, not from the code),
central finite differences, scipy adaptive quadrature of the paper's t-integrand for the coefficients,
closed-form flow maps (point mass, Gaussian data), closed-form moments of the Euler–Maruyama chain,
and the posterior variance of ε for Gaussian data (Monte Carlo within its standard error).

Tolerances: float64 closed forms at 1e-10 (a few hundred flops of O(1) values; rounding ~1e-16 each,
amplified at most by 1/σ_min = 1e2); quadrature-vs-quadrature at 1e-9 relative (scipy quad is asked for
1e-12 relative; the Gauss–Legendre side is converged to ~1e-14); finite differences at 1e-6 relative
(step h = 1e-5 gives h² · |f'''| ~ 1e-9 truncation plus 1e-16/h ~ 1e-11 rounding, with margin for the
O(10) derivatives of β-weighted terms); Monte Carlo at 4 standard errors.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate as sint

from models.common import diffusion as D
from models.deis import (GaussianMixture, circle_mixture, coefficients_for, ddim_coefficients,
                         denoising_loss, gmm_log_prob, gmm_noise_predictor, gmm_sample, ipndm_coefficients,
                         nfe_per_step, pf_ode_drift, rab_coefficients, rho_rk_sample, sample, tab_coefficients)

F64 = 1e-10
B0, B1 = 0.1, 20.0


def x64():
  return jax.enable_x64(True)


# ---------------------------------------------------------------------------------------------------
# Independent numpy schedules.


def np_log_alpha_bar_linear(t):
  return -0.5 * t ** 2 * (B1 - B0) - t * B0


def np_beta_linear(t):
  return B0 + t * (B1 - B0)


def np_alpha_bar_cosine(t, s=0.008):
  f = lambda u: np.cos((u + s) / (1 + s) * np.pi / 2) ** 2
  return f(t) / f(0.0)


# ---------------------------------------------------------------------------------------------------
# Schedules.


def test_linear_and_cosine_schedules_match_formulas():
  t = np.linspace(1e-3, 0.99, 37)
  with x64():
    lin, cos = D.VPSchedule("linear"), D.VPSchedule("cosine")
    tj = jnp.asarray(t)
    np.testing.assert_allclose(np.asarray(lin.alpha_bar(tj)), np.exp(np_log_alpha_bar_linear(t)), rtol=F64)
    np.testing.assert_allclose(np.asarray(cos.alpha_bar(tj)), np_alpha_bar_cosine(t), rtol=F64)
    ab = np.exp(np_log_alpha_bar_linear(t))
    np.testing.assert_allclose(np.asarray(lin.sigma(tj)), np.sqrt(1 - ab), rtol=F64)
    np.testing.assert_allclose(np.asarray(lin.rho(tj)), np.sqrt((1 - ab) / ab), rtol=F64)
    np.testing.assert_allclose(np.asarray(lin.log_snr(tj)), np.log(ab / (1 - ab)), rtol=F64, atol=F64)


@pytest.mark.parametrize("sched", [D.VPSchedule("linear"), D.VPSchedule("cosine"),
                                   D.VPSchedule("linear", beta_min=0.5, beta_max=0.5)])
def test_schedule_derivatives_match_finite_differences(sched):
  t = np.linspace(0.01, 0.95, 19)
  h = 1e-5
  with x64():
    tj = jnp.asarray(t)
    for f, df in ((sched.log_alpha_bar, sched.d_log_alpha_bar), (sched.log_snr, sched.d_log_snr),
                  (sched.rho, sched.d_rho)):
      fd = (np.asarray(f(tj + h)) - np.asarray(f(tj - h))) / (2 * h)
      np.testing.assert_allclose(np.asarray(df(tj)), fd, rtol=1e-6)


@pytest.mark.parametrize("sched", [D.VPSchedule("linear"), D.VPSchedule("cosine"),
                                   D.VPSchedule("linear", num_steps=1000), D.VPSchedule("cosine", num_steps=50)])
def test_rho_and_log_snr_inverses_round_trip(sched):
  t = np.linspace(1e-3, 0.98, 41)
  with x64():
    tj = jnp.asarray(t)
    np.testing.assert_allclose(np.asarray(sched.t_from_rho(sched.rho(tj))), t, rtol=1e-9)
    np.testing.assert_allclose(np.asarray(sched.t_from_log_snr(sched.log_snr(tj))), t, rtol=1e-9)


def test_discrete_chain_matches_ddpm_products():
  n = 1000
  betas = np.linspace(B0 / n, B1 / n, n)
  ab = np.cumprod(1 - betas)
  with x64():
    sched = D.VPSchedule("linear", num_steps=n)
    got = np.asarray(sched.alpha_bar(jnp.arange(1, n + 1) / n))
    np.testing.assert_allclose(got, ab, rtol=F64)
    # between integer steps log ᾱ is linear; its slope is log(1 − β_n) · N
    tm = (np.arange(n) + 0.5) / n
    np.testing.assert_allclose(np.asarray(sched.d_log_alpha_bar(jnp.asarray(tm))), np.log1p(-betas) * n, rtol=F64)


def test_schedule_validation():
  with pytest.raises(ValueError, match="kind"):
    D.VPSchedule("sigmoid")
  with pytest.raises(ValueError, match="num_steps"):
    D.VPSchedule(num_steps=-1)
  with pytest.raises(ValueError, match="t_min"):
    D.time_grid(D.VPSchedule(), 4, t_min=0.5, t_max=0.2)
  with pytest.raises(ValueError, match="kind"):
    D.time_grid(D.VPSchedule(), 4, kind="cubic")
  with pytest.raises(ValueError, match="num_steps"):
    D.time_grid(D.VPSchedule(), 0)


# ---------------------------------------------------------------------------------------------------
# Time grids.


def test_time_grids_are_uniform_in_their_variable():
  sched = D.VPSchedule()
  n, tmin = 9, 1e-3
  with x64():
    for kind, kappa, transform in (("uniform_t", None, lambda t: t), ("quadratic_t", None, np.sqrt),
                                   ("power_t", 3.0, np.cbrt)):
      ts = np.asarray(D.time_grid(sched, n, kind, t_min=tmin, kappa=kappa, dtype=jnp.float64))
      u = transform(ts)
      np.testing.assert_allclose(np.diff(u), np.full(n, (u[-1] - u[0]) / n), rtol=1e-9)
    for kind, transform in (("log_rho", np.log), ("edm", lambda r: r ** (1 / 7))):
      ts = np.asarray(D.time_grid(sched, n, kind, t_min=tmin, dtype=jnp.float64))
      ab = np.exp(np_log_alpha_bar_linear(ts))
      u = transform(np.sqrt((1 - ab) / ab))
      np.testing.assert_allclose(np.diff(u), np.full(n, (u[-1] - u[0]) / n), rtol=1e-8)
      assert ts[0] == 1.0 and ts[-1] == tmin and np.all(np.diff(ts) < 0)


# ---------------------------------------------------------------------------------------------------
# Generic steppers.


@pytest.mark.parametrize("method,order", [("euler", 1), ("heun", 2), ("rk4", 4)])
def test_ode_steppers_converge_at_their_order(method, order):
  # x' = cos(t) x has x(t) = x0 exp(sin t - sin t0); errors at N and 2N steps give the order
  with x64():
    f = lambda x, t: jnp.cos(t) * x
    x0 = jnp.asarray([1.0, -2.0])
    exact = np.asarray(x0) * np.exp(np.sin(2.0) - np.sin(0.0))
    errs = []
    for n in (40, 80):
      out = D.integrate(f, x0, jnp.linspace(0.0, 2.0, n + 1), method)
      errs.append(np.max(np.abs(np.asarray(out) - exact)))
    # asymptotic regime: the observed order is within 0.15 of the formal one (next term O(h^{p+1}))
    assert abs(math.log2(errs[0] / errs[1]) - order) < 0.15, errs
    # backwards in time returns to the start (rk4 to its O(h^4) error)
    _, path = D.integrate(f, x0, jnp.linspace(2.0, 0.0, 201), "rk4", return_path=True)
    assert path.shape == (202 - 1, 2)
    np.testing.assert_allclose(np.asarray(path[0]), np.asarray(x0))
    np.testing.assert_allclose(np.asarray(path[-1]), np.asarray(x0) * np.exp(-np.sin(2.0)), rtol=1e-8)


def test_euler_maruyama_matches_its_discrete_moments():
  # dx = -x dt + sqrt(2) dW from x0 = 1: the EM chain x_{k+1} = (1-h) x_k + sqrt(2h) ξ has
  # mean (1-h)^N and variance 2h Σ_k (1-h)^{2k} exactly; Monte Carlo within 4 standard errors
  n_paths, n, h = 20000, 50, 0.02
  with x64():
    out = D.euler_maruyama(lambda x, t: -x, lambda t: jnp.sqrt(2.0), jnp.ones((n_paths,)),
                           jnp.linspace(0.0, n * h, n + 1), jax.random.PRNGKey(3))
  out = np.asarray(out)
  mean, var = (1 - h) ** n, 2 * h * np.sum((1 - h) ** (2 * np.arange(n)))
  assert abs(out.mean() - mean) < 4 * math.sqrt(var / n_paths)
  # variance of the sample variance of a Gaussian: 2 var² / (n − 1)
  assert abs(out.var() - var) < 4 * var * math.sqrt(2 / (n_paths - 1))


def test_sinusoidal_embedding_and_time_mlp():
  t = np.array([0.0, 0.3, 1.0])
  emb = np.asarray(D.sinusoidal_embedding(jnp.asarray(t), 8, scale=10.0))
  freqs = 10_000.0 ** (-np.arange(4) / 4)
  np.testing.assert_allclose(emb, np.concatenate([np.cos(10 * t[:, None] * freqs), np.sin(10 * t[:, None] * freqs)],
                                                 axis=1), rtol=1e-6, atol=1e-6)  # float32 features
  with pytest.raises(ValueError, match="dim"):
    D.sinusoidal_embedding(jnp.asarray(t), 7)
  x = jnp.ones((3, 4))
  mlp0 = D.TimeMLP(hidden=8, depth=2, emb_dim=8, zero_out=True)
  p = mlp0.init(jax.random.PRNGKey(0), x, jnp.asarray(t))
  assert np.all(np.asarray(mlp0.apply(p, x, jnp.asarray(t))) == 0.0)   # zero-initialised read-out
  mlp = D.TimeMLP(hidden=8, depth=2, emb_dim=8)
  p = mlp.init(jax.random.PRNGKey(0), x, jnp.asarray(t))
  out = np.asarray(mlp.apply(p, x, jnp.asarray(t)))
  assert out.shape == (3, 4) and np.min(np.abs(out[0] - out[2])) > 0   # same x, different t


# ---------------------------------------------------------------------------------------------------
# Gaussian mixture noise predictor.


def np_mixture_logp(x, w, mu, var):
  """log Σ_k w_k N(x; mu_k, diag var_k) for one point x [D]."""
  comps = [math.log(wk) - 0.5 * np.sum((x - m) ** 2 / v + np.log(2 * np.pi * v)) for wk, m, v in zip(w, mu, var)]
  m = max(comps)
  return m + math.log(sum(math.exp(c - m) for c in comps))


def test_gmm_noise_predictor_is_scaled_score_of_the_diffused_mixture():
  sched = D.VPSchedule()
  rng = np.random.default_rng(0)
  w = np.array([0.2, 0.5, 0.3])
  mu = rng.normal(size=(3, 2)) * 2
  sd = np.array([[0.3, 0.5], [0.1, 0.1], [1.0, 0.2]])
  x = rng.normal(size=(5, 2)) * 2
  h = 1e-5
  with x64():
    gmm = GaussianMixture(jnp.asarray(w), jnp.asarray(mu), jnp.asarray(sd))
    for t in (0.01, 0.3, 0.9):
      ab = math.exp(np_log_alpha_bar_linear(t))
      var = ab * sd ** 2 + 1 - ab
      eps = np.asarray(gmm_noise_predictor(gmm, sched, jnp.asarray(x), t))
      # per-example times [B] give the same rows as a shared scalar time
      np.testing.assert_allclose(np.asarray(gmm_noise_predictor(gmm, sched, jnp.asarray(x), jnp.full((5,), t))), eps,
                                 rtol=F64, atol=F64)
      np.testing.assert_allclose(np.asarray(gmm_log_prob(gmm, jnp.asarray(x), sched, t)),
                                 [np_mixture_logp(xi, w, math.sqrt(ab) * mu, var) for xi in x], rtol=F64)
      for b in range(len(x)):
        grad = np.array([(np_mixture_logp(x[b] + h * e, w, math.sqrt(ab) * mu, var)
                          - np_mixture_logp(x[b] - h * e, w, math.sqrt(ab) * mu, var)) / (2 * h) for e in np.eye(2)])
        np.testing.assert_allclose(eps[b], -math.sqrt(1 - ab) * grad, rtol=1e-6, atol=1e-8)
  with pytest.raises(ValueError, match="x expected"):
    gmm_noise_predictor(gmm, sched, jnp.ones((2, 3)), 0.5)
  with pytest.raises(TypeError, match="GaussianMixture"):
    gmm_noise_predictor((w, mu, sd), sched, jnp.ones((2, 2)), 0.5)


def test_gmm_sample_moments():
  gmm = circle_mixture(4, radius=2.0, std=0.5)
  xs = np.asarray(jax.jit(lambda k: gmm_sample(k, gmm, 40000))(jax.random.PRNGKey(1)))
  # mean 0 (means symmetric); per-coordinate variance r²/2 + s² = 2.25; 4 standard errors
  se = math.sqrt(2.25 / 40000)
  assert np.all(np.abs(xs.mean(0)) < 4 * se)
  assert np.all(np.abs(xs.var(0) - 2.25) < 4 * 2.25 * math.sqrt(2 / 40000) * 1.5)  # mixture kurtosis < 1.5x normal


# ---------------------------------------------------------------------------------------------------
# Coefficients.

GRID_CASES = [(D.VPSchedule(), "quadratic_t", 1.0), (D.VPSchedule(), "edm", 1.0), (D.VPSchedule(), "uniform_t", 1.0),
              (D.VPSchedule("cosine"), "log_rho", 0.99)]


def _grid(sched, kind, tmax, n=7):
  with x64():
    return np.asarray(D.time_grid(sched, n, kind, t_max=tmax, dtype=jnp.float64))


def _np_sched(sched):
  """(ᾱ(t), −½ d log ᾱ/dt) in numpy from the formulas (finite differences for the cosine derivative
  would lose digits, so its closed form tan is written out here)."""
  if sched.kind == "linear":
    return lambda t: math.exp(np_log_alpha_bar_linear(t)), lambda t: 0.5 * np_beta_linear(t)
  s = sched.cosine_s
  return (lambda t: float(np_alpha_bar_cosine(t, s)),
          lambda t: 0.5 * math.tan((t + s) / (1 + s) * math.pi / 2) * math.pi / (1 + s))


def _quad_tab(sched, ts, i, nodes, j):
  """∫_{t_i}^{t_{i+1}} Ψ(t_{i+1}, τ) k(τ) ℓ_j(τ) dτ by adaptive quadrature in t (the paper's form)."""
  ab, half_beta = _np_sched(sched)
  ab1 = ab(ts[i + 1])

  def f(tau):
    ell = np.prod([(tau - nodes[m]) / (nodes[j] - nodes[m]) for m in range(len(nodes)) if m != j])
    return math.sqrt(ab1 / ab(tau)) * half_beta(tau) / math.sqrt(1 - ab(tau)) * ell

  val, _ = sint.quad(f, ts[i], ts[i + 1], epsabs=1e-15, epsrel=1e-13, limit=400)
  return val


@pytest.mark.parametrize("sched,kind,tmax", GRID_CASES)
def test_order0_quadrature_equals_ddim_closed_form(sched, kind, tmax):
  ts = _grid(sched, kind, tmax)
  ab, _ = _np_sched(sched)
  closed = np.array([math.sqrt(1 - ab(ts[i + 1])) - math.sqrt(ab(ts[i + 1]) / ab(ts[i])) * math.sqrt(1 - ab(ts[i]))
                     for i in range(len(ts) - 1)])
  q = tab_coefficients(sched, ts, 0)
  np.testing.assert_allclose(q.coef[:, 0], closed, rtol=F64)
  np.testing.assert_allclose(ddim_coefficients(sched, ts).coef[:, 0], closed, rtol=F64)
  np.testing.assert_allclose(q.psi, [math.sqrt(ab(ts[i + 1]) / ab(ts[i])) for i in range(len(ts) - 1)], rtol=F64)


@pytest.mark.parametrize("sched,kind,tmax", GRID_CASES[:2] + GRID_CASES[3:])
def test_tab_coefficients_match_adaptive_quadrature_and_rows_sum_to_ddim(sched, kind, tmax):
  ts = _grid(sched, kind, tmax)
  ddim = ddim_coefficients(sched, ts).coef[:, 0]
  for order in (1, 2, 3):
    c = tab_coefficients(sched, ts, order).coef
    np.testing.assert_allclose(c.sum(1), ddim, rtol=F64)  # the Lagrange basis sums to one
    for i in (0, 1, 3, len(ts) - 2):
      r = min(order, i)
      nodes = ts[i - r:i + 1][::-1]
      want = [_quad_tab(sched, ts, i, nodes, j) for j in range(r + 1)]
      np.testing.assert_allclose(c[i, :r + 1], want, rtol=1e-9, atol=1e-12 * np.abs(ddim[i]))
      assert np.all(c[i, r + 1:] == 0)   # warm start: unused history gets exactly zero weight


def test_tab_is_exact_for_noise_polynomial_in_t():
  # ε_θ(x, t) = p(t) (no x dependence), deg p <= r: one tAB-r step equals the exact integral, and
  # the whole sampler (warm start included) is exact for constants
  sched = D.VPSchedule()
  ts = _grid(sched, "quadratic_t", 1.0, n=6)
  rng = np.random.default_rng(4)
  ab, half_beta = _np_sched(sched)
  for order in (1, 2, 3):
    c = tab_coefficients(sched, ts, order).coef
    for i in range(order, len(ts) - 1):
      p = np.polynomial.Polynomial(rng.normal(size=order + 1))
      got = np.sum(c[i, :order + 1] * p(ts[i - np.arange(order + 1)]))
      f = lambda tau: math.sqrt(ab(ts[i + 1]) / ab(tau)) * half_beta(tau) / math.sqrt(1 - ab(tau)) * p(tau)
      want, _ = sint.quad(f, ts[i], ts[i + 1], epsabs=1e-15, epsrel=1e-13, limit=400)
      np.testing.assert_allclose(got, want, rtol=1e-9)
  with x64():
    x = jnp.asarray([[0.3, -1.2]])
    out = sample(lambda x, t: jnp.full_like(x, 0.7), sched, x, ts, "tab3")
    exact = math.sqrt(ab(ts[-1]) / ab(ts[0])) * np.asarray(x) + 0.7 * (
        math.sqrt(1 - ab(ts[-1])) - math.sqrt(ab(ts[-1]) / ab(ts[0])) * math.sqrt(1 - ab(ts[0])))
    np.testing.assert_allclose(np.asarray(out), exact, rtol=F64)


def test_rab_is_exact_for_noise_polynomial_in_rho_and_ipndm_rows():
  sched = D.VPSchedule()
  ts = _grid(sched, "log_rho", 1.0, n=6)
  ab, _ = _np_sched(sched)
  rho = np.array([math.sqrt((1 - ab(t)) / ab(t)) for t in ts])
  ddim = ddim_coefficients(sched, ts).coef[:, 0]
  rng = np.random.default_rng(5)
  for order in (1, 2, 3):
    c = rab_coefficients(sched, ts, order).coef
    np.testing.assert_allclose(c.sum(1), ddim, rtol=F64)
    for i in range(order, len(ts) - 1):
      p = np.polynomial.Polynomial(rng.normal(size=order + 1))
      got = np.sum(c[i, :order + 1] * p(rho[i - np.arange(order + 1)]))
      q = p.integ()
      np.testing.assert_allclose(got, math.sqrt(ab(ts[i + 1])) * (q(rho[i + 1]) - q(rho[i])), rtol=1e-9)
  ip = ipndm_coefficients(sched, ts).coef
  np.testing.assert_allclose(ip.sum(1), ddim, rtol=F64)
  np.testing.assert_allclose(ip[5] / ddim[5], [55 / 24, -59 / 24, 37 / 24, -9 / 24], rtol=F64)


def test_coefficient_validation():
  sched = D.VPSchedule()
  with pytest.raises(ValueError, match="decreasing"):
    tab_coefficients(sched, [0.1, 0.5, 1.0], 1)
  with pytest.raises(ValueError, match="order"):
    tab_coefficients(sched, [1.0, 0.5, 0.1], 4)
  with pytest.raises(ValueError, match="method"):
    coefficients_for("tab", sched, [1.0, 0.5, 0.1])
  with pytest.raises(ValueError, match="method"):
    nfe_per_step("euler")
  assert nfe_per_step("rk_kutta3") == 3 and nfe_per_step("tab3") == 1


# ---------------------------------------------------------------------------------------------------
# Samplers against closed-form flow maps.


def _gaussian_case(mu, sd, d=3, b=6):
  sched = D.VPSchedule()
  gmm = GaussianMixture(jnp.ones((1,)), jnp.full((1, d), mu), jnp.full((1, d), sd))
  x = jax.random.normal(jax.random.PRNGKey(0), (b, d), jnp.float64)
  ab, _ = _np_sched(sched)

  def exact(tmax, tmin):
    # z is fixed along the flow: x_t = √ᾱ μ + √(ᾱ s² + 1 − ᾱ) z
    a1, a0 = ab(tmax), ab(tmin)
    z = (np.asarray(x) - math.sqrt(a1) * mu) / math.sqrt(a1 * sd ** 2 + 1 - a1)
    return math.sqrt(a0) * mu + math.sqrt(a0 * sd ** 2 + 1 - a0) * z

  return sched, (lambda x, t: gmm_noise_predictor(gmm, sched, x, t)), x, exact


def test_point_mass_makes_exponential_integrators_exact():
  with x64():
    sched, eps, x, exact = _gaussian_case(1.3, 0.0)
    want = exact(1.0, 1e-3)
    ts1 = np.array([1.0, 1e-3])
    np.testing.assert_allclose(np.asarray(sample(eps, sched, x, ts1, "ddim")), want, rtol=F64, atol=F64)
    ts = _grid(sched, "quadratic_t", 1.0, n=5)
    for m in ("tab3", "rab3", "ipndm", "rk_kutta3"):   # one of each family (ddim above)
      np.testing.assert_allclose(np.asarray(sample(eps, sched, x, ts, m)), want, rtol=F64, atol=F64, err_msg=m)
    # the baseline is not exact on the same grid (the property is not trivially satisfied)
    assert np.max(np.abs(np.asarray(sample(eps, sched, x, ts, "euler_t")) - want)) > 1e-3


def test_rho_euler_equals_ddim():
  with x64():
    gmm = circle_mixture(dtype=jnp.float64)
    sched = D.VPSchedule()
    eps = lambda x, t: gmm_noise_predictor(gmm, sched, x, t)
    x = jax.random.normal(jax.random.PRNGKey(2), (16, 2), jnp.float64)
    ts = _grid(sched, "edm", 1.0, n=8)
    np.testing.assert_allclose(np.asarray(rho_rk_sample(eps, sched, x, jnp.asarray(ts), "rk_euler")),
                               np.asarray(sample(eps, sched, x, ts, "ddim")), rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("method,order", [("euler_t", 1), ("ddim", 1), ("tab1", 2), ("tab3", 4), ("rab2", 3),
                                          ("rk_kutta3", 3), ("rk4", 4)])
def test_gaussian_flow_map_convergence_order(method, order):
  # exact answer in closed form; errors at N = 40 and 80 steps (log-ρ grid) give the observed order.
  # Tolerance 0.5: at these N the next error term (relative size O(h)) still shifts the log-ratio by
  # up to ~0.4 for the multistep methods, whose warm-start steps are of lower order.
  with x64():
    sched, eps, x, exact = _gaussian_case(0.7, 0.5)
    want = exact(1.0, 1e-3)
    errs = []
    for n in (40, 80):
      ts = _grid(sched, "log_rho", 1.0, n=n)
      errs.append(np.max(np.abs(np.asarray(sample(eps, sched, x, ts, method)) - want)))
  assert abs(math.log2(errs[0] / errs[1]) - order) < 0.5, errs


def test_pf_ode_drift_integrated_in_t_matches_flow_map():
  with x64():
    sched, eps, x, exact = _gaussian_case(-0.4, 0.8)
    ts = _grid(sched, "quadratic_t", 1.0, n=400)
    out = D.integrate(lambda x, t: pf_ode_drift(sched, eps, x, t), x, jnp.asarray(ts), "rk4")
  # RK4 in t on 400 quadratic steps: error ~1e-10 here (checked against 800 steps' halving rate)
  np.testing.assert_allclose(np.asarray(out), exact(1.0, 1e-3), atol=1e-8)


# ---------------------------------------------------------------------------------------------------
# Denoising loss.


def test_denoising_loss_of_exact_predictor_is_posterior_variance():
  # Gaussian data N(μ, s² I): Var(ε | x_t) = ᾱ s²/(ᾱ s² + 1 − ᾱ) per coordinate, so the loss of ε* is its
  # t-average; Monte Carlo over 20000 examples within 4 standard errors
  mu, sd, n = 0.5, 0.6, 20000
  with x64():
    sched = D.VPSchedule()
    gmm = GaussianMixture(jnp.ones((1,)), jnp.full((1, 2), mu), jnp.full((1, 2), sd))
    x0 = gmm_sample(jax.random.PRNGKey(7), gmm, n)

    eps_star = lambda x, t: gmm_noise_predictor(gmm, sched, x, t)   # per-example times t: [B]
    run = jax.jit(lambda scale: denoising_loss(lambda x, t: scale * eps_star(x, t), sched, x0,
                                               jax.random.PRNGKey(8)))
    loss, per = run(1.0)
    worse, _ = run(0.9)
  ab = lambda t: math.exp(np_log_alpha_bar_linear(t))
  want, _ = sint.quad(lambda t: ab(t) * sd ** 2 / (ab(t) * sd ** 2 + 1 - ab(t)), 1e-3, 1.0, epsrel=1e-12)
  want /= 1.0 - 1e-3
  se = float(np.std(np.asarray(per))) / math.sqrt(n)
  assert abs(float(loss) - want) < 4 * se, (float(loss), want, se)
  assert float(worse) > float(loss)   # the minimiser is ε* (same draws, shrunk predictor is worse)
  with pytest.raises(ValueError, match="x0"):
    denoising_loss(eps_star, sched, jnp.ones((3,)), jax.random.PRNGKey(0))


# ---------------------------------------------------------------------------------------------------
# The digits noise predictor (models.deis.networks) and the task's EMA.


def test_residual_denoiser_init_invariants_and_validation():
  from models.deis import ResidualDenoiser
  # numpy inputs: the checks below then compile only the jitted calls
  x = np.random.default_rng(0).standard_normal((5, 6)).astype(np.float32)
  t = np.linspace(0.1, 1.0, 5, dtype=np.float32)
  net = ResidualDenoiser(width=16, depth=2, emb_dim=8, skip_init=0.7)
  p = jax.jit(net.init)(jax.random.PRNGKey(1), x, t)
  apply = jax.jit(net.apply)
  # zero-initialised read-out, gates and skip kernel: the untrained network is exactly skip_init · x
  np.testing.assert_array_equal(np.asarray(apply(p, x, t)), np.float32(0.7) * x)
  # perturb every parameter so all paths are live, then check invariants of a per-example network
  rng = np.random.default_rng(2)
  p = jax.tree.map(lambda l: np.asarray(l) + np.float32(0.3) * rng.standard_normal(l.shape, np.float32), p)
  out = np.asarray(apply(p, x, t))
  perm = np.array([3, 0, 4, 1, 2])
  # no batch coupling: permuting the batch permutes the outputs (float32: same ops per row, 1e-6)
  np.testing.assert_allclose(np.asarray(apply(p, x[perm], t[perm])), out[perm], rtol=1e-5, atol=1e-6)
  # a scalar t is broadcast: same as the [B] vector of that value
  np.testing.assert_allclose(np.asarray(apply(p, x, np.float32(0.4))), np.asarray(apply(p, x, np.full(5, 0.4, np.float32))),
                             rtol=1e-6, atol=1e-6)
  assert np.min(np.abs(out - np.asarray(apply(p, x, 0.5 * t)))) > 0   # conditioned on t (every row)
  # float32 against the same network evaluated in float64 (an independent-precision reference): float32
  # rounding ~6e-8 relative per op, a few hundred ops of O(1) values -> 1e-4 relative with margin
  with x64():
    p64 = jax.tree.map(lambda l: np.asarray(l, np.float64), p)
    out64 = np.asarray(jax.jit(ResidualDenoiser(width=16, depth=2, emb_dim=8, param_dtype=jnp.float64).apply)(
        p64, x.astype(np.float64), t.astype(np.float64)))
  np.testing.assert_allclose(out, out64, rtol=1e-4, atol=1e-4)
  with pytest.raises(ValueError, match="x expected"):
    net.apply(p, x[0], t)
  with pytest.raises(ValueError, match="t expected"):
    net.apply(p, x, jnp.ones((4,)))
  with pytest.raises(TypeError, match="floating"):
    net.apply(p, jnp.ones((5, 6), jnp.int32), t)
  with pytest.raises(ValueError, match="width"):
    ResidualDenoiser(width=0).init(jax.random.PRNGKey(0), x, t)
  with pytest.raises(ValueError, match="emb_dim"):
    ResidualDenoiser(emb_dim=7).init(jax.random.PRNGKey(0), x, t)


def test_residual_denoiser_learns_the_exact_gaussian_noise_predictor():
  # Gaussian data N(μ, s² I): ε*(x, t) = σ (x − α μ) / (α² s² + σ²) in closed form (computed here with
  # numpy, not by the zoo). Train on fresh samples (no overfitting), then measure on 8192 fresh pairs
  # (x_t, t ~ U[1e-3, 1]) the excess error E‖ε_θ − ε*‖²/D against two references: the trivial predictor
  # 0 has excess E‖ε*‖²/D (0.82 here), the Bayes predictor 0. The bound 2e-3 (400× below trivial) is a
  # training-size bound: 1000 Adam steps of batch 128 (128k fresh samples) reach 3.8e-4 and 4.0e-4 with
  # two seeds (6e-4 at 600 steps, 1e-4 at 2000 x 256), so 5× margin; the Monte Carlo s.e. of the
  # estimate is ~1e-5 and enters through the 4 s.e. term. Near t = 1 (measured 2.4e-4 / 2.8e-4): 1e-3.
  import optax

  from models.deis import ResidualDenoiser
  mu = np.array([1.0, -0.5, 0.25, 0.0], np.float32)
  s, dim, batch, steps = 0.5, 4, 128, 1000
  sched = D.VPSchedule("linear", B0, B1)
  net = ResidualDenoiser(width=32, depth=2, emb_dim=16)
  params = jax.jit(net.init)(jax.random.PRNGKey(0), np.zeros((2, dim), np.float32), np.zeros(2, np.float32))["params"]
  tx = optax.adam(optax.schedules.warmup_cosine_decay_schedule(0.0, 3e-3, 100, steps))

  def step(carry, key):
    p, o = carry
    k0, kl = jax.random.split(key)
    x0 = mu + s * jax.random.normal(k0, (batch, dim))
    loss = lambda q: denoising_loss(lambda x, t: net.apply({"params": q}, x, t), sched, x0, kl)[0]
    g = jax.grad(loss)(p)
    u, o = tx.update(g, o, p)
    return (optax.apply_updates(p, u), o), None

  (params, _), _ = jax.jit(lambda p: jax.lax.scan(step, (p, tx.init(p)), jax.random.split(
      jax.random.PRNGKey(1), steps)))(params)

  n = 8192
  rng = np.random.default_rng(3)
  t = rng.uniform(1e-3, 1.0, n)
  log_ab = -0.5 * t ** 2 * (B1 - B0) - t * B0
  a, sig = np.exp(0.5 * log_ab)[:, None], np.sqrt(-np.expm1(log_ab))[:, None]
  x = a * (mu + s * rng.standard_normal((n, dim))) + sig * rng.standard_normal((n, dim))
  eps_star = sig * (x - a * mu) / (a ** 2 * s ** 2 + sig ** 2)
  eps_hat = np.asarray(jax.jit(net.apply)({"params": params}, jnp.asarray(x, jnp.float32), jnp.asarray(t, jnp.float32)),
                       np.float64)
  per = np.sum((eps_hat - eps_star) ** 2, axis=1) / dim
  excess, se = per.mean(), per.std() / math.sqrt(n)
  trivial = np.mean(np.sum(eps_star ** 2, axis=1) / dim)
  assert excess + 4 * se < 2e-3, (excess, se, trivial)
  assert trivial > 400 * 2e-3
  # near t = 1 (where the samplers' first step amplifies the error) ε* ≈ x and the skip makes it easy
  near = t > 0.9
  assert per[near].mean() + 4 * per[near].std() / math.sqrt(near.sum()) < 1e-3, per[near].mean()


def test_task_ema_matches_the_warmup_recursion():
  # constant parameters p: e_n − p = (e_0 − p) ∏_{k<n} d_k with d_k = min(decay, (1+k)/(10+k)) (numpy)
  from experiments.tasks.deis import ema_update
  e0, p, decay = np.array([2.0, -1.0]), np.array([0.5, 0.5]), 0.9
  ema, count = {"w": jnp.asarray(e0, jnp.float32)}, jnp.zeros((), jnp.int32)
  for _ in range(25):
    ema, count = ema_update(ema, count, {"w": jnp.asarray(p, jnp.float32)}, decay)
  prod = np.prod([min(decay, (1 + k) / (10 + k)) for k in range(25)])
  assert int(count) == 25
  np.testing.assert_allclose(np.asarray(ema["w"]), p + (e0 - p) * prod, rtol=1e-5, atol=1e-6)  # float32


# ---------------------------------------------------------------------------------------------------
# models.deis.experiment: the sweeps of the claims.


def test_sweep_samples_matches_the_closed_form_flow_of_gaussian_data_and_the_direct_sampler():
  """Data N(0, s² I): ε*(x, t) = σ_t x / v_t with v_t = ᾱ_t s² + 1 − ᾱ_t (written here from the formula), and
  the PF-ODE map from t = 1 to t_min is x ↦ x √(v_{t_min} / v_1). The sweep's RK4 converges to it, every
  method's error falls as NFE grows, and each entry equals models.deis.sample on the same grid (the
  sweep pads the coefficient tables: an independent path)."""
  from models.deis import sweep_samples
  s2, t_min = 0.25, 1e-3
  with x64():
    sched = D.VPSchedule("linear", B0, B1)
    abar = lambda t: math.exp(-0.5 * t * t * (B1 - B0) - t * B0)
    eps = lambda x, t: jnp.sqrt(1 - sched.alpha_bar(t)) * x / (sched.alpha_bar(t) * s2 + 1 - sched.alpha_bar(t))
    x = jax.random.normal(jax.random.PRNGKey(0), (6, 2), jnp.float64)
    v = lambda t: abar(t) * s2 + 1 - abar(t)
    exact = np.asarray(x) * math.sqrt(v(t_min) / v(1.0))
    out = sweep_samples(eps, sched, x, methods=("euler_t", "ddim", "tab2", "rk4"), grids=("log_rho",),
                        nfes=(4, 16, 256), t_min=t_min)
    for m in ("euler_t", "ddim", "tab2", "rk4"):
      errs = [np.abs(out[(m, "log_rho", n)][0] - exact).max() for n in (4, 16, 256) if (m, "log_rho", n) in out]
      assert all(b < a for a, b in zip(errs, errs[1:])), (m, errs)
    assert ("rk4", "log_rho", 4) in out and out[("rk4", "log_rho", 4)][1] == 4   # one RK4 step = 4 NFE
    assert np.abs(out[("rk4", "log_rho", 256)][0] - exact).max() < 1e-5   # 64 RK4 steps
    ts = np.asarray(D.time_grid(sched, 16, "log_rho", t_min=t_min, dtype=jnp.float64))
    for m in ("ddim", "tab2", "euler_t"):
      np.testing.assert_allclose(out[(m, "log_rho", 16)][0], np.asarray(sample(eps, sched, x, ts, m)), rtol=0,
                                 atol=1e-12)
  with pytest.raises(ValueError, match="sweep_samples: methods"):
    sweep_samples(eps, sched, x, methods=("heun",), grids=("log_rho",), nfes=(4,))


def test_gmm_sweep_reference_is_accurate_and_errors_shrink_with_nfe():
  """The benchmark's reference agrees with the independent PF-ODE solve far below the sampler errors, and
  the errors (mean ± s.e. over x_T) fall with NFE; actual NFE is reported for RK."""
  from models.deis import gmm_sweep
  s = gmm_sweep(0, batch=8, nfes=(6, 24), grids=("log_rho",), methods=("ddim", "rk_heun"), ref_steps=200,
                check_steps=400, sample_nfe=6, sample_grid="log_rho")
  e = s["errors"]
  assert s["ref_err"] < 1e-3 * min(v[0] for v in e.values())
  for m in ("ddim", "rk_heun"):
    assert e[(m, "log_rho", 24)][0] < e[(m, "log_rho", 6)][0]
    assert 0 < e[(m, "log_rho", 24)][1] < e[(m, "log_rho", 24)][0]
  assert e[("rk_heun", "log_rho", 6)][2] == 6 and set(s["samples"]) == {"ddim", "rk_heun"}
  assert s["ref"].shape == (8, 2)
