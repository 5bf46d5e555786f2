"""Oracle tests for theory.early_warning and theory.common.sde (Boettiger, Ross, Hastings, "Early warning
signals: the charted and uncharted territories", Theor. Ecol. 2013, arXiv:1305.6700).

Oracles: the exact AR(1) mean/variance recursion of Euler–Maruyama on OU and the continuous closed form
(weak order 1); numpy float64 loops for the rolling statistics and the kernel smoother; scipy's Kendall
tau-b (with ties); OU stationary variance σ²/(2θ) and lag-1 autocorrelation e^{−θΔt} on exactly simulated OU
(``theory.common.gaussian_processes.ou_exact``) with the finite-window bias written out; fold points by
natural-parameter continuation with Newton's method; the matrix exponential of a truncated birth–death
generator for the Gillespie simulator; the closed-form AR(1) MLE for the Nelder–Mead OU fit; a fine RK4
solution of the LSN moment ODEs; sklearn's ROC AUC. Monte Carlo checks use 4 standard errors.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
import scipy.stats
from sklearn.metrics import roc_auc_score

from theory import early_warning as E
from theory.common import sde
from theory.common.gaussian_processes import ou_exact

Z = 4.0


# ---------------------------------------------------------------------------------------------------
# Euler–Maruyama (theory.common.sde).


def _ou_drift(x, p):
  return -p["theta"] * x


def _ou_noise(x, p):
  return jnp.broadcast_to(p["sigma"], jnp.shape(x))


@pytest.mark.parametrize("dt", [0.2, 0.05])
def test_euler_maruyama_ou_matches_discrete_recursion_and_weak_order(dt):
  T, sigma, x0, n_paths = 2.0, 0.7, 1.5, 20000
  n = int(round(T / dt))
  theta = np.linspace(0.5, 1.5, n)   # a ramp: step k uses theta_k
  with jax.enable_x64(True):
    xs = np.asarray(sde.euler_maruyama(jax.random.key(1), _ou_drift, _ou_noise, x0,
                                       dict(theta=jnp.asarray(theta), sigma=jnp.full(n, sigma)), dt=dt,
                                       n_paths=n_paths))
  xT = xs[:, -1]
  # exact law of the scheme: x_{k+1} = (1 − θ_k dt) x_k + σ √dt ε_k
  a = 1 - theta * dt
  mean_d, var_d = x0, 0.0
  for ak in a:
    mean_d, var_d = ak * mean_d, ak ** 2 * var_d + sigma ** 2 * dt
  se_mean = math.sqrt(var_d / n_paths)
  se_var = var_d * math.sqrt(2.0 / (n_paths - 1))   # Gaussian sample variance
  assert abs(xT.mean() - mean_d) < Z * se_mean
  assert abs(xT.var(ddof=1) - var_d) < Z * se_var
  # continuous time-varying OU: mean x0 e^{−∫θ}, variance ∫ σ² e^{−2∫_s^T θ} ds (θ piecewise constant)
  mean_c, var_c = x0, 0.0
  for th in theta:
    mean_c *= math.exp(-th * dt)
    var_c = var_c * math.exp(-2 * th * dt) + sigma ** 2 * (1 - math.exp(-2 * th * dt)) / (2 * th)
  # weak order 1: |E_dt − E_exact| ≤ C dt; with θ ≤ 1.5, T = 2 the scheme's bias is ≤ 1.2 dt here
  # (computed from the recursions above at dt = 0.2 and 0.05) plus Monte Carlo error.
  assert abs(xT.mean() - mean_c) < 1.2 * dt * abs(x0) + Z * se_mean
  assert abs(xT.var(ddof=1) - var_c) < 1.2 * dt * var_c + Z * se_var
  assert abs(var_d - var_c) > 0.0  # the scheme is not exact: the bias is real
  assert abs(var_d - var_c) / var_c < 1.2 * dt


def test_euler_maruyama_record_every_subsamples_the_same_path():
  n = 40
  params = dict(theta=jnp.full(n, 1.0), sigma=jnp.full(n, 0.5))
  with jax.enable_x64(True):
    fine = sde.euler_maruyama(jax.random.key(3), _ou_drift, _ou_noise, 0.3, params, dt=0.05, n_paths=3)
    coarse = sde.euler_maruyama(jax.random.key(3), _ou_drift, _ou_noise, 0.3, params, dt=0.05, n_paths=3,
                                record_every=4)
  # float64 arithmetic on identical operations: equal to rounding
  np.testing.assert_allclose(np.asarray(coarse), np.asarray(fine)[:, ::4], rtol=0, atol=1e-14)


def test_euler_maruyama_validates():
  p = dict(theta=jnp.ones(10), sigma=jnp.ones(10))
  with pytest.raises(ValueError, match="dt"):
    sde.euler_maruyama(jax.random.key(0), _ou_drift, _ou_noise, 0.0, p, dt=-1.0)
  with pytest.raises(ValueError, match="record_every"):
    sde.euler_maruyama(jax.random.key(0), _ou_drift, _ou_noise, 0.0, p, dt=0.1, record_every=3)
  with pytest.raises(ValueError, match="params"):
    sde.euler_maruyama(jax.random.key(0), _ou_drift, _ou_noise, 0.0, dict(theta=jnp.ones(10), sigma=jnp.ones(9)),
                       dt=0.1)
  with pytest.raises(TypeError, match="drift"):
    sde.euler_maruyama(jax.random.key(0), None, _ou_noise, 0.0, p, dt=0.1)


# ---------------------------------------------------------------------------------------------------
# Rolling indicators, detrending, Kendall τ.


def _numpy_indicators(resid, raw, w):
  out = {k: [] for k in E.INDICATORS}
  for i in range(len(resid) - w + 1):
    r, x = resid[i:i + w], raw[i:i + w]
    d = r - r.mean()
    m2, m3, m4 = (d ** 2).mean(), (d ** 3).mean(), (d ** 4).mean()
    ac = np.corrcoef(r[:-1], r[1:])[0, 1]
    out["variance"].append(m2)
    out["sd"].append(np.sqrt(m2))
    out["cv"].append(np.sqrt(m2) / x.mean())
    out["ac1"].append(ac)
    out["skewness"].append(m3 / m2 ** 1.5)
    out["kurtosis"].append(m4 / m2 ** 2 - 3)
    out["return_rate"].append(1 - ac)
  return {k: np.array(v) for k, v in out.items()}


def test_rolling_indicators_match_numpy_loop():
  rng = np.random.default_rng(0)
  x = 5.0 + np.cumsum(rng.normal(size=120)) * 0.1 + rng.gamma(2.0, size=120)
  with jax.enable_x64(True):
    trend, resid = E.gaussian_detrend(jnp.asarray(x), 0.3)
    ind = E.rolling_indicators(jnp.asarray(x), 37, bandwidth=0.3)
  # oracle smoother: an explicit double loop over the Gaussian kernel weights
  sk = 0.25 / 0.675 * 0.3 * 120
  tr = np.array([sum(math.exp(-0.5 * ((i - j) / sk) ** 2) * x[j] for j in range(120))
                 / sum(math.exp(-0.5 * ((i - j) / sk) ** 2) for j in range(120)) for i in range(120)])
  np.testing.assert_allclose(np.asarray(trend), tr, rtol=1e-12)   # float64 sums of 120 terms
  ref = _numpy_indicators(x - tr, x, 37)
  for k in E.INDICATORS:
    # float64 power sums of O(1) residuals over <= 120 terms: agreement far below 1e-9
    np.testing.assert_allclose(np.asarray(getattr(ind, k)), ref[k], rtol=1e-9, atol=1e-11, err_msg=k)


def test_rolling_indicators_float32_close_to_float64():
  rng = np.random.default_rng(1)
  x = 10.0 + rng.normal(size=(3, 300))
  ind32 = E.rolling_indicators(jnp.asarray(x, jnp.float32), 0.5)
  ref = [_numpy_indicators(row, row, 150) for row in x]
  for k in ("variance", "ac1", "skewness", "kurtosis"):
    # float32 (eps 6e-8) power sums over 300 centred terms: relative error well below 1e-3
    np.testing.assert_allclose(np.asarray(getattr(ind32, k)), np.stack([r[k] for r in ref]), rtol=1e-3, atol=1e-3)


def test_kendall_tau_matches_scipy_with_ties():
  rng = np.random.default_rng(2)
  x = np.round(rng.normal(size=(5, 60)), 0)    # many ties
  y = np.round(rng.normal(size=(5, 60)) + 0.5 * x, 0)
  with jax.enable_x64(True):
    got = np.asarray(E.kendall_tau(jnp.asarray(x), jnp.asarray(y)))
    got_t = np.asarray(E.kendall_tau(jnp.asarray(x)))
  for i in range(5):
    assert abs(got[i] - scipy.stats.kendalltau(x[i], y[i], variant="b").statistic) < 1e-12
    assert abs(got_t[i] - scipy.stats.kendalltau(x[i], np.arange(60), variant="b").statistic) < 1e-12
  assert float(E.kendall_tau(jnp.arange(30.0) ** 2)) == pytest.approx(1.0, abs=1e-6)
  assert float(E.kendall_tau(-jnp.arange(30.0))) == pytest.approx(-1.0, abs=1e-6)


def test_indicators_on_exact_ou_match_closed_forms():
  theta, sigma, dt, n, paths = 0.5, 0.3, 1.0, 1000, 64
  with jax.enable_x64(True):
    x = ou_exact(jax.random.key(5), theta=theta, sigma=sigma, dt=dt, n_steps=n - 1, mu=2.0, n_paths=paths)
    ind = E.rolling_indicators(x, n)             # one window = the whole series
    fit = E.ar1_fit(x)
  var, ac1 = np.asarray(ind.variance)[:, 0], np.asarray(ind.ac1)[:, 0]
  gamma0, rho = sigma ** 2 / (2 * theta), math.exp(-theta * dt)
  # E[population variance of n points] = γ0 (1 − (1/n)(1 + 2 Σ_k (1 − k/n) ρ^k)) for a stationary series
  k = np.arange(1, n)
  e_var = gamma0 * (1 - (1 + 2 * np.sum((1 - k / n) * rho ** k)) / n)
  assert abs(var.mean() - e_var) < Z * var.std(ddof=1) / math.sqrt(paths)
  # lag-1 autocorrelation estimator: E ≈ ρ − (1 + 3ρ)/n (Kendall 1954; O(1/n²) beyond)
  e_ac = rho - (1 + 3 * rho) / n
  assert abs(ac1.mean() - e_ac) < Z * ac1.std(ddof=1) / math.sqrt(paths) + 2.0 / n ** 2
  phi = np.asarray(fit.phi)
  assert abs(phi.mean() - e_ac) < Z * phi.std(ddof=1) / math.sqrt(paths) + 2.0 / n ** 2


# ---------------------------------------------------------------------------------------------------
# Folds by continuation.


def _continue_branch(f, dfdx, x0, p0, dp, p_max):
  """Natural-parameter continuation with Newton: last parameter value with a converged equilibrium close
  to the previous one (the branch ends at the fold)."""
  x, p = x0, p0
  while p + dp <= p_max:
    y = x
    for _ in range(50):
      y = y - f(y, p + dp) / dfdx(y, p + dp)
    if not (abs(f(y, p + dp)) < 1e-10 and abs(y - x) < 0.2 * max(abs(x), 1.0)):
      return p, x
    x, p = y, p + dp
  return p, x


def test_may_fold_by_continuation():
  r, K, h = 1.0, 10.0, 1.0
  f = lambda x, c: r * x * (1 - x / K) - c * x ** 2 / (x ** 2 + h ** 2)
  dfdx = lambda x, c: r * (1 - 2 * x / K) - c * 2 * x * h ** 2 / (x ** 2 + h ** 2) ** 2
  c_end, x_end = _continue_branch(f, dfdx, 7.7, 1.8, 1e-4, 3.0)
  lower, upper = E.may_folds(r=r, K=K, h=h)
  assert abs(upper.parameter - c_end) < 2e-4 and abs(upper.parameter - 2.6044) < 1e-4
  assert abs(upper.state - x_end) < 0.05       # sqrt(dc)-close to the fold's state
  # lower branch continued downward in c (parameter −c)
  c_low, _ = _continue_branch(lambda x, mc: f(x, -mc), lambda x, mc: dfdx(x, -mc), 0.5, -2.5, 1e-4, -1.0)
  assert abs(lower.parameter - (-c_low)) < 2e-4
  # the equilibria are zeros of the drift
  for x in E.may_equilibria(2.0):
    assert abs(f(x, 2.0)) < 1e-10


def test_may_noise_free_simulation_stays_before_and_collapses_after_fold():
  fold = E.may_folds()[1].parameter
  with jax.enable_x64(True):
    before = E.may_simulate(jax.random.key(0), jnp.full(5000, fold - 0.02), sigma=0.0, dt=0.1, record_every=100)
    after = E.may_simulate(jax.random.key(0), jnp.full(5000, fold + 0.02), sigma=0.0, dt=0.1, record_every=100)
  assert float(before[-1]) > 4.0 and float(after[-1]) < 2.0


def test_ibm_fold_by_continuation():
  e, K, h = 0.5, 1000.0, 200.0
  f = lambda n, a: e * K * n ** 2 / (n ** 2 + h ** 2) - e * n - a
  dfdn = lambda n, a: e * K * 2 * n * h ** 2 / (n ** 2 + h ** 2) ** 2 - e
  a_end, _ = _continue_branch(f, dfdn, 730.0, 100.0, 0.01, 300.0)
  fold = E.ibm_fold(e=e, K=K, h=h)
  assert abs(fold.parameter - a_end) < 0.02 and abs(fold.parameter - 202.1) < 0.05
  np.testing.assert_allclose(E.ibm_equilibria(100.0), [145.2, 730.2], atol=0.1)


def test_ricker_fold_separates_persistence_from_collapse():
  fold = E.ricker_fold()
  F = fold.parameter
  with jax.enable_x64(True):
    before = E.ricker_simulate(jax.random.key(0), jnp.full(3000, F - 0.01), sigma=0.0)
    after = E.ricker_simulate(jax.random.key(0), jnp.full(3000, F + 0.01), sigma=0.0)
  assert float(before[-1]) > 0.8 * fold.state and float(after[-1]) < 0.5 * fold.state
  for x in E.ricker_equilibria(1.0):   # fixed points of the map
    assert abs(x * math.exp(0.75 * (1 - x / 10)) - x ** 2 / (x ** 2 + 0.5625) - x) < 1e-9


# ---------------------------------------------------------------------------------------------------
# Gillespie IBM vs the master equation.


def test_gillespie_matches_master_equation():
  e, K, h, a, n0, T, paths, nmax = 1.0, 20.0, 5.0, 2.0, 10, 1.5, 2000, 120
  with jax.enable_x64(True):
    ns = np.asarray(E.ibm_simulate(jax.random.key(7), jnp.array([a, a, a]), e=e, K=K, h=h, n0=n0,
                                   dt_record=T / 3, n_paths=paths))
  q = np.zeros((nmax + 1, nmax + 1))
  for n in range(nmax + 1):
    b = e * K * n ** 2 / (n ** 2 + h ** 2) if n < nmax else 0.0   # truncation: P(n > 120) is negligible
    d = e * n + a if n > 0 else 0.0
    if n < nmax:
      q[n, n + 1] = b
    if n > 0:
      q[n, n - 1] = d
    q[n, n] = -(b + d)
  p0 = np.zeros(nmax + 1)
  p0[n0] = 1.0
  pT = p0 @ scipy.linalg.expm(q * T)
  states = np.arange(nmax + 1)
  emp = np.bincount(ns[:, -1], minlength=nmax + 1)[:nmax + 1] / paths
  mean, sd = pT @ states, math.sqrt(pT @ states ** 2 - (pT @ states) ** 2)
  assert abs(ns[:, -1].mean() - mean) < Z * sd / math.sqrt(paths)
  # every state probability within 4 binomial standard errors (plus 1/paths for the rare states)
  se = np.sqrt(pT * (1 - pT) / paths)
  assert np.all(np.abs(emp - pT) < Z * se + 1.0 / paths)
  # intermediate recording times: at t = T/3 too
  pt1 = p0 @ scipy.linalg.expm(q * T / 3)
  assert abs(ns[:, 1].mean() - pt1 @ states) < Z * math.sqrt(pt1 @ states ** 2 - (pt1 @ states) ** 2) / math.sqrt(paths)


# ---------------------------------------------------------------------------------------------------
# Likelihood approach.


def test_lsn_with_m_zero_is_exactly_ou():
  with jax.enable_x64(True):
    x = ou_exact(jax.random.key(11), theta=0.8, sigma=0.4, mu=3.0, dt=0.5, n_steps=199)
    t = jnp.arange(200) * 0.5
    R_ou, th_ou, s_ou = 0.8, 3.1, 0.45
    ll_ou = float(jax.jit(E.ou_loglik)(E.OUParams(*(jnp.float64(v) for v in (R_ou, th_ou, s_ou))), x, t))
    sr = R_ou / 2
    lsn = E.LSNParams(*(jnp.float64(v) for v in (sr ** 2, 0.0, th_ou - sr, s_ou / math.sqrt(th_ou))))
    for sub in (1, 5):
      ll_lsn = float(jax.jit(E.lsn_loglik, static_argnums=3)(lsn, x, t, sub))
      # float64, 200 terms of O(1): identical up to rounding
      assert abs(ll_lsn - ll_ou) < 1e-9 * abs(ll_ou)


def test_lsn_moments_solve_the_correct_variance_ode():
  R0, m, theta, sigma, x0, T = 0.5, -0.02, 1.0, 0.3, 1.9, 10.0
  with jax.enable_x64(True):
    p = E.LSNParams(*(jnp.asarray(v, jnp.float64) for v in (R0, m, theta, sigma)))
    mu, var = E.lsn_transition(p, jnp.float64(x0), jnp.float64(0.0), jnp.float64(T), 400)

  def rhs(t, y):   # dμ/dt = 2√R(√R + θ − μ), dV/dt = −4√R V + σ²(√R + θ)
    sr = math.sqrt(R0 + m * t)
    return np.array([2 * sr * (sr + theta - y[0]), -4 * sr * y[1] + sigma ** 2 * (sr + theta)])

  y, hstep = np.array([x0, 0.0]), T / 20000
  for i in range(20000):   # classical RK4, global error ~1e-15 here
    t = i * hstep
    k1 = rhs(t, y); k2 = rhs(t + hstep / 2, y + hstep / 2 * k1)
    k3 = rhs(t + hstep / 2, y + hstep / 2 * k2); k4 = rhs(t + hstep, y + hstep * k3)
    y = y + hstep / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
  # midpoint-frozen R on 400 pieces: O((T/400)^2 · |m|) ≈ 1e-6 relative
  assert abs(float(mu) - y[0]) < 1e-5 * abs(y[0])
  assert abs(float(var) - y[1]) < 1e-5 * y[1]
  # the −2√R V rule of the 2012 reference code would give a clearly different variance
  yb = np.array([x0, 0.0])
  for i in range(20000):
    t = i * hstep
    sr = math.sqrt(R0 + m * t)
    yb = yb + hstep * np.array([0.0, -2 * sr * yb[1] + sigma ** 2 * (sr + theta)])
  assert abs(yb[1] - y[1]) > 0.3 * y[1]


def test_ou_nelder_mead_fit_equals_ar1_closed_form():
  with jax.enable_x64(True):
    x = ou_exact(jax.random.key(12), theta=0.3, sigma=0.5, mu=4.0, dt=1.0, n_steps=299, n_paths=4)
    fit = E.fit_models(x)
    for i in range(4):
      closed, ll = E.ou_ar1_mle(x[i], 1.0)
      # the optimiser reaches the closed-form maximum: log-likelihood to 1e-7 (flat top), parameters to 1e-3
      assert abs(float(fit.ou_loglik[i]) - float(ll)) < 1e-7
      np.testing.assert_allclose([float(fit.ou.R0[i]), float(fit.ou.theta[i]), float(fit.ou.sigma[i])],
                                 [float(closed.R0), float(closed.theta), float(closed.sigma)], rtol=1e-3)
  lr = np.asarray(fit.lr)
  assert np.all(lr >= 0)   # LSN nests OU (m = 0) and starts there


def test_lsn_fit_detects_a_strong_approach():
  with jax.enable_x64(True):
    t = jnp.arange(300.0)
    truth = E.LSNParams(*(jnp.float64(v) for v in (0.3, -0.3 / 320, 2.0, 0.2)))
    xs = E.lsn_simulate(jax.random.key(4), truth, t, 2.5, 4)
    fit = E.fit_models(xs, t)
    null = E.fit_models(ou_exact(jax.random.key(5), theta=float(2 * math.sqrt(0.3)), sigma=0.2 * math.sqrt(2.55),
                                 mu=2.0 + math.sqrt(0.3), dt=1.0, n_steps=299, n_paths=4), t)
  # chi-square(1) under the null: the median null LR is ~0.45; the strong approach gives LR >> that
  assert float(np.median(np.asarray(fit.lr))) > 3 * max(float(np.median(np.asarray(null.lr))), 1.0)
  assert np.all(np.asarray(fit.lsn.m) < 0)


# ---------------------------------------------------------------------------------------------------
# ROC, surrogates.


def test_roc_identical_samples_give_half_and_match_sklearn():
  rng = np.random.default_rng(3)
  s = np.round(rng.normal(size=150), 1)
  r = E.roc(jnp.asarray(s), jnp.asarray(s))
  assert float(r.auc) == 0.5
  null, test = np.round(rng.normal(size=120), 1), np.round(rng.normal(0.7, 1.0, size=90), 1)
  with jax.enable_x64(True):
    r = E.roc(jnp.asarray(null), jnp.asarray(test))
    labels = np.r_[np.zeros(120), np.ones(90)]
    assert abs(float(r.auc) - roc_auc_score(labels, np.r_[null, test])) < 1e-12
    # the curve's trapezoid area equals the Mann–Whitney AUC (ties give diagonal segments)
    assert abs(np.trapezoid(np.asarray(r.tpr), np.asarray(r.fpr)) - float(r.auc)) < 1e-12
    assert 0.02 < float(r.auc_se) < 0.06   # DeLong s.e. of an AUC ~0.7 with ~100 per class is ~0.035


def test_block_bootstrap_blocks_are_circular_segments():
  x = jnp.arange(50.0)
  bs = np.asarray(E.block_bootstrap(jax.random.key(0), x, 7, 20))
  for row in bs:
    for start in range(0, 50, 7):
      seg = row[start:start + 7]
      assert np.all((np.diff(seg) % 50) == 1)   # consecutive samples mod N


def test_ar1_surrogates_reproduce_fitted_autocorrelation():
  with jax.enable_x64(True):
    x = ou_exact(jax.random.key(9), theta=0.2, sigma=1.0, dt=1.0, n_steps=499)
    sur = E.ar1_surrogates(jax.random.key(1), x, 100)
    fit, phis = E.ar1_fit(x), np.asarray(E.ar1_fit(sur).phi)
    # OLS φ̂ bias ≈ −(1 + 3φ)/N ≈ −0.007 at N = 500; plus 4 Monte Carlo s.e.
    assert abs(phis.mean() - float(fit.phi)) < Z * phis.std(ddof=1) / math.sqrt(100) + 0.01
    assert float(E.surrogate_pvalue(10.0, jnp.arange(9.0))) == pytest.approx(0.1)


def test_public_functions_validate_inputs():
  with pytest.raises(ValueError, match="window"):
    E.rolling_indicators(jnp.zeros(20), 30)
  with pytest.raises(ValueError, match="bandwidth"):
    E.gaussian_detrend(jnp.zeros(20), 1.5)
  with pytest.raises(ValueError, match="y"):
    E.kendall_tau(jnp.zeros(20), jnp.zeros(19))
  with pytest.raises(ValueError, match=r"roc: null: expected finite values, got nan at index \(1,\)"):
    E.roc(jnp.array([1.0, jnp.nan]), jnp.array([1.0, 2.0]))
  with pytest.raises(ValueError, match="times"):
    E.fit_models(jnp.ones(10), jnp.zeros(10))
  with pytest.raises(ValueError, match="a"):
    E.ibm_simulate(jax.random.key(0), jnp.array([-1.0]))
  with pytest.raises(TypeError, match="r"):
    E.may_folds(r="1")


# ---------------------------------------------------------------------------------------------------
# Edges: mismatched shapes, non-finite data (eager error with the index; NaN under jit, reported by
# checkify), derivatives that do not exist.


def test_kendall_tau_shape_mismatch_names_x_and_y_and_broadcast_matches_scipy():
  r = np.random.default_rng(40)
  with pytest.raises(ValueError, match=r"kendall_tau: x, y: .*x \(3, 10\) and y \(4, 10\)"):
    E.kendall_tau(np.zeros((3, 10)), np.zeros((4, 10)))
  x, y = r.normal(size=(1, 10)), np.round(r.normal(size=(4, 10)), 1)   # ties in y
  with jax.enable_x64(True):
    tau = np.asarray(E.kendall_tau(x, y))
  for i in range(4):
    assert tau[i] == pytest.approx(scipy.stats.kendalltau(x[0], y[i]).statistic, abs=1e-12)


_SERIES_CALLS = {
    "rolling_indicators": lambda x: E.rolling_indicators(x, 5, bandwidth=0.5),
    "indicator_taus": lambda x: E.indicator_taus(x, 5),
    "gaussian_detrend": lambda x: E.gaussian_detrend(x, 0.5),
    "kendall_tau": lambda x: E.kendall_tau(x),
    "ar1_fit": lambda x: E.ar1_fit(x),
}


@pytest.mark.parametrize("name", sorted(_SERIES_CALLS))
def test_non_finite_series_raise_eagerly_and_poison_only_their_row_under_jit(name):
  """The issue's row: a NaN inside one series. Concrete: ValueError naming x, the function and the index.
  jit: that series' outputs are all NaN, the other series equal the eager result, checkify reports it."""
  from jax.experimental import checkify
  fn = _SERIES_CALLS[name]
  r = np.random.default_rng(41)
  x = 5.0 + np.cumsum(r.normal(size=(2, 12)), -1) * 0.3
  bad = x.copy()
  bad[1, 7] = np.nan
  with pytest.raises(ValueError, match=rf"{name}: x: expected finite values, got nan at index \(1, 7\)"):
    fn(bad)
  inf = x.copy()
  inf[0, 2] = np.inf
  with pytest.raises(ValueError, match=rf"{name}: x: .*index \(0, 2\)"):
    fn(inf)
  eager = jax.tree.leaves(fn(x))
  jitted = jax.jit(fn)
  for arr, row in ((bad, 1), (inf, 0)):
    out = jax.tree.leaves(jitted(jnp.asarray(arr)))
    for o, e in zip(out, eager):
      o, e = np.asarray(o), np.asarray(e)
      assert np.all(np.isnan(o[row])), name
      np.testing.assert_allclose(o[1 - row], e[1 - row], rtol=1e-5, atol=1e-6)
    err, _ = checkify.checkify(jitted)(jnp.asarray(arr))
    assert f"{name}: x: expected finite values" in err.get()
  err, _ = checkify.checkify(jitted)(jnp.asarray(x))
  assert err.get() is None


def test_non_finite_data_in_the_other_entry_points():
  from jax.experimental import checkify
  key = jax.random.key(0)
  x = 5.0 + 0.3 * np.sin(np.arange(10.0))
  bad = x.copy()
  bad[4] = np.nan
  t = np.arange(10.0)
  ou = E.OUParams(0.5, 5.0, 0.3)
  lsn = E.LSNParams(0.09, -0.002, 4.7, 0.2)
  eager = [lambda v: E.ou_loglik(ou, v, t), lambda v: E.lsn_loglik(lsn, v, t), lambda v: E.fit_models(v, n_iter=5),
           lambda v: E.ar1_surrogates(key, v, 3), lambda v: E.block_bootstrap(key, v, 2, 3),
           lambda v: E.ou_ar1_mle(v, 1.0)]
  for f in eager:
    with pytest.raises(ValueError, match=r"x: expected finite values, got nan at index \(4,\)"):
      f(bad)
    for leaf in jax.tree.leaves(jax.jit(f)(jnp.asarray(bad))):
      assert np.all(np.isnan(np.asarray(leaf)))
  with pytest.raises(ValueError, match=r"times: expected finite values, got nan at index \(4,\)"):
    E.ou_loglik(ou, x, np.where(t == 4, np.nan, t))
  with pytest.raises(ValueError, match=r"surrogate_pvalue: null: .*index \(4,\)"):
    E.surrogate_pvalue(1.0, bad)
  assert np.isnan(float(jax.jit(E.surrogate_pvalue)(1.0, jnp.asarray(bad))))
  res = jax.jit(E.roc)(jnp.asarray(bad), jnp.asarray(x))
  assert np.isnan(float(res.auc)) and np.all(np.isnan(np.asarray(res.tpr)))
  err, _ = checkify.checkify(jax.jit(E.roc))(jnp.asarray(bad), jnp.asarray(x))
  assert "roc: null: expected finite values" in err.get()
  # LSN simulation: infeasible parameters raise when concrete, give NaN paths (and a checkify error) traced
  with pytest.raises(ValueError, match="lsn_simulate: params: infeasible"):
    E.lsn_simulate(key, E.LSNParams(-1.0, 0.0, 1.0, 1.0), t, 5.0, 2)
  sim = jax.jit(lambda r0: E.lsn_simulate(key, E.LSNParams(r0, 0.0, 4.7, 0.2), t, 5.0, 2))
  assert np.all(np.isfinite(np.asarray(sim(0.09)))) and np.all(np.isnan(np.asarray(sim(-1.0))))
  err, _ = checkify.checkify(sim)(-1.0)
  assert "lsn_simulate: params: infeasible" in err.get()


def test_model_simulators_under_jit():
  key = jax.random.key(1)
  c = jnp.full(4, 2.0)
  may = jax.jit(lambda c: E.may_simulate(key, c, record_every=1, x0=5.0))
  np.testing.assert_allclose(np.asarray(may(c)), np.asarray(E.may_simulate(key, c, record_every=1, x0=5.0)),
                             rtol=1e-6)
  assert np.all(np.isnan(np.asarray(may(c.at[2].set(jnp.inf)))))   # inf c used to clip silently to 0
  with pytest.raises(ValueError, match="may_simulate: x0: required when c is traced"):
    jax.jit(lambda c: E.may_simulate(key, c, record_every=1))(c)
  ric = jax.jit(lambda f: E.ricker_simulate(key, f, x0=5.0))
  assert np.all(np.isnan(np.asarray(ric(jnp.array([0.1, jnp.nan])))))
  ibm = jax.jit(lambda a: E.ibm_simulate(key, a, n0=3, K=5.0, h=2.0))
  assert np.all(np.asarray(ibm(jnp.array([0.5, -1.0]))) == -1)
  assert np.all(np.asarray(ibm(jnp.array([0.5, 0.2]))) >= 0)
  with pytest.raises(ValueError, match=r"ibm_simulate: a: expected harvest rates >= 0, got -1.0 at index \(1,\)"):
    E.ibm_simulate(key, np.array([0.5, -1.0]))


def test_derivatives_exist_only_where_they_are_not_silent_zeros():
  """Rolling variance: d m₂ / d x_j = 2 (x_j − x̄_w) / w on its window (closed form, float64); Kendall's τ,
  p-values, ROC, the Nelder–Mead fits, integer simulators and the host root finders refuse jax.grad."""
  with jax.enable_x64(True):
    x = jnp.asarray(np.random.default_rng(42).normal(size=9))
    g = np.asarray(jax.grad(lambda v: E.rolling_indicators(v, 4).variance[2])(x))
    w = np.asarray(x)[2:6]
    expect = np.zeros(9)
    expect[2:6] = 2 * (w - w.mean()) / 4
    np.testing.assert_allclose(g, expect, rtol=0, atol=1e-12)
    refuse = [lambda v: E.kendall_tau(v), lambda v: E.indicator_taus(v, 4).variance,
              lambda v: E.roc(v[:4], v[4:]).auc, lambda v: E.surrogate_pvalue(v[0], v[1:]),
              lambda v: E.fit_models(v + 5.0, n_iter=2).lr,
              lambda v: E.ibm_simulate(jax.random.key(0), jnp.abs(v[:2]), n0=3, K=5.0, h=2.0).astype(v.dtype),
              lambda v: jnp.asarray(E.may_equilibria(v[0])), lambda v: jnp.asarray(E.ricker_fold(r=v[0])[0])]
    for f in refuse:
      with pytest.raises(TypeError, match="not differentiable"):
        jax.grad(lambda v: jnp.sum(f(v)))(x)


# ---------------------------------------------------------------------------------------------------
# The experiment drivers (theory.early_warning.experiment).


def test_textbook_tau_pvalue_matches_scipy_asymptotic_kendall_test():
  from scipy import stats
  rng = np.random.default_rng(20)
  for n in (10, 57):
    x, y = rng.normal(size=n), rng.normal(size=n) + 0.3 * np.arange(n) / n
    res = stats.kendalltau(x, y, method="asymptotic")
    np.testing.assert_allclose(E.textbook_tau_pvalue(res.statistic, n), res.pvalue, rtol=1e-9)
  with pytest.raises(ValueError, match="textbook_tau_pvalue: tau"):
    E.textbook_tau_pvalue(1.5, 10)


def test_selection_windows_end_gap_samples_before_the_first_crossing():
  xs = np.arange(5 * 30, dtype=float).reshape(5, 30)
  first = np.array([20, -1, 7, 29, -1])
  shifted = first >= 0
  sel, cmp_ = E.selection_windows(xs, shifted, first, 6, 2, seed=0)
  # run 2 crosses too early (7 < 6 + 2 + 1); runs 0 and 3 give windows [first - 8, first - 2)
  np.testing.assert_array_equal(sel, np.stack([xs[0, 12:18], xs[3, 21:27]]))
  assert cmp_.shape == (2, 6)
  for w, run in zip(cmp_, (1, 4)):                       # contiguous pieces of the never-shifted runs
    assert w[0] >= xs[run, 0] and w[-1] <= xs[run, -1] and np.all(np.diff(w) == 1)
  with pytest.raises(ValueError, match="selection_windows: length"):
    E.selection_windows(xs, shifted, first, 30, 0, seed=0)


def test_ramp_and_shift_data_against_equilibria():
  """Without noise the null stays at the upper equilibrium; with noise the first crossing found is the first
  sample below the unstable equilibrium (the middle root)."""
  key = jax.random.PRNGKey(4)
  ramp, null = E.ramp_data(key, 40, 2, sigma=0.0)
  assert ramp.shape == null.shape == (2, 40)
  np.testing.assert_allclose(null, E.may_equilibria(1.8)[-1], rtol=1e-5)
  assert np.all(np.diff(ramp[0]) < 1e-6)                  # grazing rises: the stock only falls
  xs, thr, shifted, first = E.shift_data(key, 300, 6, sigma=0.8)
  assert thr == pytest.approx(E.may_equilibria(2.4)[1])
  for i in range(6):
    below = np.nonzero(xs[i] < thr)[0]
    assert shifted[i] == (below.size > 0) and first[i] == (below[0] if below.size else -1)
  with pytest.raises(ValueError, match="shift_data: c"):
    E.shift_data(key, 10, 2, c=1.0)
