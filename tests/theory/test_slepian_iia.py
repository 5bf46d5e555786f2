"""Oracle tests for theory.common.gaussian_processes and theory.slepian_iia (paper 06, Bengtsson & Podgórski,
arXiv:2401.01805).

Oracles: closed forms (OU transition law, Ornstein–Uhlenbeck persistence (2/π) arcsin e^{−t} through the Doob
transform to Brownian motion, Poisson switching e^{−2λt}, an r whose IIA law is exactly exponential, Rice's
formula), explicitly built circulant matrices (scipy), 50-digit ``decimal`` arithmetic of the direct Slepian-mean
formula, finite differences of arcsin r, scipy quadrature, Monte Carlo of the Slepian model itself, and the
persistence exponents published by Majumdar, Sire, Bray & Cornell (PRL 77, 2867, 1996).

Tolerances: Monte Carlo checks at 4 standard errors (two-sided false-alarm 6e-5 per check, fixed keys);
float64 closed forms at 1e-10–1e-12 (a few dozen rounding errors on O(1) numbers); quadrature at scipy's
default accuracy (≈1.5e-8); grid discretisations at the bound stated next to each check.
"""
from __future__ import annotations

import decimal
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import linalg, stats

from theory import slepian_iia as S
from theory.common import gaussian_processes as G

Z = 4.0


# ---------------------------------------------------------------------------------------------------
# theory.common.gaussian_processes


def test_ou_exact_stationary_variance_and_autocorrelation():
  theta, sigma, dt = 0.7, 1.3, 0.1
  with jax.enable_x64(True):
    x = np.asarray(G.ou_exact(jax.random.PRNGKey(0), theta=theta, sigma=sigma, dt=dt, n_steps=40, n_paths=20000))
  assert x.dtype == np.float64 and x.shape == (20000, 41)
  n = x.shape[0]
  v = sigma ** 2 / (2 * theta)
  for k in (0, 20, 40):   # var of a normal sample: SE = v √(2/n)
    assert abs(x[:, k].var() - v) <= Z * v * math.sqrt(2 / n)
  for lag in (1, 5, 20):   # correlation of a bivariate normal sample: SE ≈ (1 − ρ²)/√n
    rho = math.exp(-theta * dt * lag)
    est = np.corrcoef(x[:, 10], x[:, 10 + lag])[0, 1]
    assert abs(est - rho) <= Z * (1 - rho ** 2) / math.sqrt(n)


def test_ou_exact_time_varying_parameters_match_the_sde_closed_form():
  # θ = θ1 on [0, t1], θ2 on [t1, t1 + t2] from x0 = 2: mean x0 e^{−θ1 t1 − θ2 t2}, variance
  # σ²(1 − e^{−2θ1 t1})/(2θ1) e^{−2θ2 t2} + σ²(1 − e^{−2θ2 t2})/(2θ2) (continuous-time solution of the SDE)
  th1, th2, sig, dt, n1 = 0.5, 2.0, 0.8, 0.05, 30
  theta = np.r_[np.full(n1, th1), np.full(n1, th2)]
  t1 = t2 = n1 * dt
  with jax.enable_x64(True):
    x = np.asarray(G.ou_exact(jax.random.PRNGKey(1), theta=theta, sigma=sig, dt=dt, n_steps=2 * n1, x0=2.0,
                              n_paths=20000))[:, -1]
  mean = 2.0 * math.exp(-th1 * t1 - th2 * t2)
  var = sig ** 2 * (1 - math.exp(-2 * th1 * t1)) / (2 * th1) * math.exp(-2 * th2 * t2) + \
      sig ** 2 * (1 - math.exp(-2 * th2 * t2)) / (2 * th2)
  assert abs(x.mean() - mean) <= Z * math.sqrt(var / x.size)
  assert abs(x.var() - var) <= Z * var * math.sqrt(2 / x.size)
  # θ = 0 is Brownian motion with drift-free increments: Var X_t = σ² t; a time-varying μ is ignored then
  with jax.enable_x64(True):
    b = np.asarray(G.ou_exact(jax.random.PRNGKey(2), theta=0.0, sigma=sig, dt=dt, n_steps=50, x0=0.0,
                              mu=np.linspace(0, 5, 50), n_paths=20000))[:, -1]
  assert abs(b.var() - sig ** 2 * 2.5) <= Z * sig ** 2 * 2.5 * math.sqrt(2 / b.size)
  assert abs(b.mean()) <= Z * sig * math.sqrt(2.5 / b.size)


def test_ou_exact_validation_and_single_path():
  key = jax.random.PRNGKey(0)
  one = G.ou_exact(key, theta=1.0, sigma=1.0, dt=0.1, n_steps=5)
  assert one.shape == (6,) and bool(jnp.all(jnp.isfinite(one)))
  with pytest.raises(ValueError, match="theta"):
    G.ou_exact(key, theta=-1.0, sigma=1.0, dt=0.1, n_steps=5)
  with pytest.raises(ValueError, match="theta"):
    G.ou_exact(key, theta=0.0, sigma=1.0, dt=0.1, n_steps=5)   # stationary start needs θ0 > 0
  with pytest.raises(ValueError, match=r"sigma.*shape \[5\]"):
    G.ou_exact(key, theta=1.0, sigma=np.ones(4), dt=0.1, n_steps=5)
  with pytest.raises(ValueError, match="dt"):
    G.ou_exact(key, theta=1.0, sigma=1.0, dt=0.0, n_steps=5)
  with pytest.raises(TypeError, match="n_steps"):
    G.ou_exact(key, theta=1.0, sigma=1.0, dt=0.1, n_steps=5.0)
  with pytest.raises(ValueError, match="x0"):
    G.ou_exact(key, theta=1.0, sigma=1.0, dt=0.1, n_steps=5, x0=np.zeros(3), n_paths=2)


def test_circulant_embedding_covariance_matches_target():
  n, N = 12, 30001                      # odd N: the last path is a real part without its imaginary twin
  cov = np.exp(-(np.arange(n) * 0.3) ** 2 / 2) * 0.9 + 0.1 * np.exp(-np.arange(n) * 0.3)
  cov = cov * 2.0                        # variance 2
  with jax.enable_x64(True):
    x = np.asarray(G.circulant_embedding_sample(jax.random.PRNGKey(3), cov, N))
  assert x.shape == (N, n) and x.dtype == np.float64
  emp = np.cov(x, rowvar=False)
  target = linalg.toeplitz(cov)
  # SE of a sample covariance of a bivariate normal: √((σ_i² σ_j² + c_ij²)/N)
  se = np.sqrt((np.outer(np.diag(target), np.diag(target)) + target ** 2) / N)
  assert np.all(np.abs(emp - target) <= Z * se)
  # real and imaginary halves are independent: correlation between consecutive path pairs ~ 0
  c01 = np.corrcoef(x[0:N - 1:2, 0], x[1:N:2, 0])[0, 1]
  assert abs(c01) <= Z / math.sqrt(N / 2)


def test_circulant_embedding_rejects_indefinite_embedding_and_names_min_eigenvalue():
  cov = np.cos(np.arange(10) * 1.0) * np.exp(-np.arange(10) * 0.01)
  row = np.r_[cov, cov[-2:0:-1]]
  lam_min = np.linalg.eigvalsh(linalg.circulant(row)).min()   # oracle: dense symmetric circulant matrix
  assert lam_min < 0
  with pytest.raises(ValueError, match="minimal eigenvalue") as e:
    with jax.enable_x64(True):
      G.circulant_embedding_sample(jax.random.PRNGKey(0), cov, 2)
  assert f"{lam_min:.3e}" in str(e.value)
  with jax.enable_x64(True):
    chk = G.circulant_eigenvalues(cov)
  assert abs(chk.min_eigenvalue - lam_min) <= 1e-10
  with pytest.raises(ValueError, match="cov"):
    G.circulant_embedding_sample(jax.random.PRNGKey(0), np.ones((3, 3)), 2)
  with pytest.raises(ValueError, match="cov"):
    G.circulant_embedding_sample(jax.random.PRNGKey(0), np.array([1.0, 2.0]), 2)
  with pytest.raises(TypeError, match="n_paths"):
    G.circulant_embedding_sample(jax.random.PRNGKey(0), np.array([1.0, 0.5]), 2.0)


# ---------------------------------------------------------------------------------------------------
# Slepian mean m(t)

SMOOTH = [S.diffusion(1), S.diffusion(2), S.diffusion(3), S.random_acceleration(), S.gaussian(1.0),
          S.damped_cosine()]


def _r_numpy(cov, t):
  """Independent numpy forms of r (not the package's)."""
  name = cov.name
  if name.startswith("diffusion"):
    d = int(name[-1])
    return (1 / np.cosh(t / 2)) ** (d / 2)
  if name == "random acceleration":
    return 1.5 * np.exp(-t / 2) - 0.5 * np.exp(-1.5 * t)
  if name.startswith("Gaussian"):
    return np.exp(-t ** 2 / 2)
  return np.exp(-t ** 2 / 8) * np.cos(t)


@pytest.mark.parametrize("cov", SMOOTH, ids=lambda c: c.name)
def test_slepian_mean_is_minus_derivative_of_arcsin_r(cov):
  # m = −(1/√λ₂) d/dt arcsin r; central differences with h = 1e-5 (truncation ~h² ≈ 1e-10, rounding ~1e-11)
  t = np.array([0.3, 1.0, 2.5, 4.0, 7.0])
  h = 1e-5
  fd = -(np.arcsin(_r_numpy(cov, t + h)) - np.arcsin(_r_numpy(cov, t - h))) / (2 * h) / math.sqrt(cov.lambda2)
  np.testing.assert_allclose(np.asarray(S.slepian_mean(cov, t)), fd, rtol=0, atol=1e-8)
  # and the clipped covariance is (2/π) arcsin r
  np.testing.assert_allclose(np.asarray(S.clipped_covariance(cov, t)), 2 / np.pi * np.arcsin(_r_numpy(cov, t)),
                             atol=1e-14)


def _m_decimal(name, t):
  """The direct formula m = −r′/√(λ₂(1 − r²)) in 60-digit decimal arithmetic (no cancellation problem)."""
  D = decimal.Decimal
  with decimal.localcontext() as ctx:
    ctx.prec = 60
    t = D(repr(float(t)))
    if name.startswith("diffusion"):
      d = int(name[-1])
      e = (t / 2).exp()
      sech = 2 / (e + 1 / e)
      r = sech ** (D(d) / 2)
      tanh = (e * e - 1) / (e * e + 1)
      mdr = D(d) / 4 * tanh * r
      lam = D(d) / 8
    elif name == "random acceleration":
      r = D("1.5") * (-t / 2).exp() - D("0.5") * (-D("1.5") * t).exp()
      mdr = D("0.75") * (-t / 2).exp() - D("0.75") * (-D("1.5") * t).exp()
      lam = D("0.75")
    else:   # Gaussian ℓ = 1
      r = (-t * t / 2).exp()
      mdr = t * r
      lam = D(1)
    return float(mdr / (lam * (1 - r * r)).sqrt())


@pytest.mark.parametrize("cov", SMOOTH[:5], ids=lambda c: c.name)
def test_slepian_mean_small_t_is_stable_and_tends_to_one(cov):
  t = np.array([1e-12, 1e-9, 1e-6, 1e-4, 1e-2, 0.5, 20.0])
  m = np.asarray(S.slepian_mean(cov, t))
  ref = np.array([_m_decimal(cov.name, x) for x in t])
  np.testing.assert_allclose(m, ref, rtol=1e-11, atol=0)   # float64 rounding of a few dozen operations
  assert float(S.slepian_mean(cov, 0.0)) == 1.0


def test_slepian_mean_matches_monte_carlo_of_the_slepian_model():
  # X0(t) = R(−r′)/λ₂ + Δ(t), R with density (z/λ₂)e^{−z²/(2λ₂)}, Var Δ = 1 − r² − r′²/λ₂: E sign X0(t) = m(t)
  key = jax.random.PRNGKey(4)
  n = 200000
  for cov, ts in ((S.gaussian(1.0), (0.5, 1.5, 3.0)), (S.random_acceleration(), (0.5, 2.0, 5.0))):
    k1, k2, key = jax.random.split(key, 3)
    lam = cov.lambda2
    R = np.sqrt(lam) * np.sqrt(-2 * np.log(np.asarray(jax.random.uniform(k1, (n,), minval=1e-12), np.float64)))
    W = np.asarray(jax.random.normal(k2, (n, len(ts))), np.float64)
    t = np.asarray(ts)
    r, mdr = _r_numpy(cov, t), np.asarray(cov.minus_dr(jnp.asarray(t)))
    # −r′ from the numpy r by central differences (independent of the package's derivative)
    mdr = -(_r_numpy(cov, t + 1e-6) - _r_numpy(cov, t - 1e-6)) / 2e-6
    x0 = R[:, None] * mdr / lam + np.sqrt(1 - r ** 2 - mdr ** 2 / lam) * W
    s = np.sign(x0)
    est, se = s.mean(0), s.std(0) / math.sqrt(n)
    assert np.all(np.abs(est - np.asarray(S.slepian_mean(cov, t))) <= Z * se), (cov.name, est)


def _gauss_legendre(f, a, b, panels):
  """Composite 20-point Gauss–Legendre quadrature of a vectorised f on [a, b] (exact for degree-39 polynomials per
  panel; for the smooth integrands here the error is far below 1e-10 with panels of width ≤ 1)."""
  x, w = np.polynomial.legendre.leggauss(20)
  edges = np.linspace(a, b, panels + 1)
  mid, half = (edges[1:] + edges[:-1]) / 2, (edges[1:] - edges[:-1]) / 2
  t = (mid[:, None] + half[:, None] * x[None, :]).ravel()
  return float(np.sum(f(t).reshape(panels, 20) * w[None, :] * half[:, None]))


@pytest.mark.parametrize("cov", SMOOTH[:5], ids=lambda c: c.name)
def test_integral_of_m_is_half_the_mean_interval(cov):
  # to t = 400 the neglected tail is below e^{−100}; m is smooth on each panel [k/2, (k + 1)/2] (random
  # acceleration's m has m′(0+) ≠ 0, which does not matter for a one-sided rule)
  val = _gauss_legendre(lambda t: np.asarray(S.slepian_mean(cov, t)), 0.0, 400.0, 800)
  assert abs(val - S.mean_interval(cov) / 2) <= 1e-9 * S.mean_interval(cov)
  assert S.rice_rate(cov) == pytest.approx(1 / S.mean_interval(cov), rel=1e-15)


def test_validity_flags_damped_cosine_only():
  for cov in SMOOTH[:5]:
    assert S.validity(cov).valid, cov.name
  v = S.validity(S.damped_cosine())
  assert not v.valid
  # paper's example r = e^{−t²/8} cos t: m dips to ≈ −0.23 and first increases near t ≈ 3.4 (notes, [V])
  assert -0.24 < v.min_m < -0.22 and 3.3 < v.first_increase < 3.5
  # m < 0 exactly where −r′ < 0: first root of sin t + (t/4) cos t = 0 after 0 (scipy brentq on (π/2, π))
  from scipy import optimize
  root = optimize.brentq(lambda t: math.sin(t) + t / 4 * math.cos(t), math.pi / 2, math.pi)
  assert abs(v.first_negative - root) <= v.t[1] - v.t[0]
  # a slowly oscillating cosine is invalid too (r < 0 beyond 5π, so r must increase back to 0 where m ~ 1e-15)
  assert not S.validity(S.damped_cosine(0.1, 0.25)).valid
  # equivalent condition: arcsin r convex on (0, ∞) — second differences of arcsin r change sign at the same place
  t = v.t[1:]
  a = np.arcsin(_r_numpy(S.damped_cosine(), np.r_[t[0] - (t[1] - t[0]), t]))
  second = np.diff(a, 2)
  assert np.any(second < -1e-12)
  assert abs(t[np.nonzero(second < -1e-12)[0][0]] - v.first_increase) < 3 * (t[1] - t[0])
  with pytest.raises(ValueError, match="not valid"):
    S.persistence_exponent(S.damped_cosine())
  with pytest.raises(ValueError, match="λ₂"):
    S.slepian_mean(S.ornstein_uhlenbeck(), 1.0)
  with pytest.raises(TypeError, match="cov"):
    S.slepian_mean(lambda t: t, 1.0)
  with pytest.raises(ValueError, match="t >= 0"):
    S.slepian_mean(S.gaussian(), -1.0)


# ---------------------------------------------------------------------------------------------------
# IIA law, exponent, persistence


def test_persistence_exponents_match_published_iia_values_and_solve_the_equation():
  # Majumdar, Sire, Bray, Cornell (1996), IIA column: 0.1203, 0.1862, 0.2358 (d = 1, 2, 3); RAP 0.2647 (notes)
  for cov, pub in ((S.diffusion(1), 0.1203), (S.diffusion(2), 0.1862), (S.diffusion(3), 0.2358),
                   (S.random_acceleration(), 0.2647)):
    th = S.persistence_exponent(cov)
    assert abs(th - pub) <= 5e-5 + 1e-12, (cov.name, th)   # published to 4 decimals
    # to t = 600 the neglected tail is ~e^{−(κ−θ)600} < 1e-30 (κ = d/4 resp. 1/2); independent Gauss–Legendre
    val = th * _gauss_legendre(lambda t: np.exp(th * t) * np.asarray(S.slepian_mean(cov, t)), 0.0, 600.0, 1200)
    assert abs(val - 1) <= 1e-5   # θ from a trapezoid grid (error ~1e-7 in θ) moves θ∫e^{θt}m by ≲ 1e-5


def _exponential_law_cov(lam2=1.0):
  """r(t) = cos((π/2)(1 − e^{−κt})), κ = 2√λ₂/π, for which m(t) = e^{−κt} exactly and the IIA law of T is
  Exp(κ/2); 1 − r = 2 sin²((π/4)(1 − e^{−κt}))."""
  kappa = 2 * math.sqrt(lam2) / math.pi
  r = lambda t: jnp.cos(jnp.pi / 2 * (-jnp.expm1(-kappa * t)))  # noqa: E731
  omr = lambda t: 2 * jnp.sin(jnp.pi / 4 * (-jnp.expm1(-kappa * t))) ** 2  # noqa: E731
  return S.user_covariance(r, one_minus_r=omr, decay=kappa, name="exp-law"), kappa


def test_iia_law_closed_form_exponential_case():
  cov, kappa = _exponential_law_cov()
  assert cov.lambda2 == pytest.approx(1.0, rel=1e-12)   # λ₂ by autodiff: (π/2)² κ² = 1
  t = np.array([0.1, 1.0, 3.0, 10.0])
  np.testing.assert_allclose(np.asarray(S.slepian_mean(cov, t)), np.exp(-kappa * t), rtol=1e-12)
  assert S.persistence_exponent(cov) == pytest.approx(kappa / 2, rel=1e-6)   # θ/(κ − θ) = 1
  law = S.iia_law(cov)
  # grid dt = μ/2000: rounding H to the grid changes S_T by O(dt²) ≈ 2.5e-6 relative
  np.testing.assert_allclose(law.survival_at(t), np.exp(-kappa * t / 2), rtol=1e-5)
  np.testing.assert_allclose(law.persistence_at(t), np.exp(-kappa * t / 2), rtol=1e-5)   # Palm: μκ/2 = 1
  assert law.mean == pytest.approx(S.mean_interval(cov), rel=1e-5)
  x = np.asarray(S.sample_iia(jax.random.PRNGKey(5), cov, 20000))
  assert stats.kstest(x, stats.expon(scale=2 / kappa).cdf).pvalue > 1e-3


def test_iia_law_sampler_and_survival_agree_for_diffusion():
  cov = S.diffusion(2)
  law = S.iia_law(cov)
  assert law.mean == pytest.approx(S.mean_interval(cov), rel=1e-4)   # E T = μ (discretisation O(dt²))
  x = np.asarray(S.sample_iia(jax.random.PRNGKey(6), cov, 40000))
  assert abs(x.mean() - S.mean_interval(cov)) <= Z * x.std() / math.sqrt(x.size)
  t = np.array([2.0, 6.0, 15.0, 25.0])
  p = law.survival_at(t)
  emp = (x[:, None] > t).mean(0)
  assert np.all(np.abs(emp - p) <= Z * np.sqrt(p * (1 - p) / x.size))
  # the survival of T decays at θ_IIA: log-slope between 60 and 90
  slope = -np.log(law.survival_at(90.0) / law.survival_at(60.0)) / 30
  assert slope == pytest.approx(law.theta, rel=1e-3)


def test_switch_process_with_iia_intervals_has_mean_m_and_clipped_covariance_of_the_gaussian():
  # The paper's matching: a switch process started at 0 with IIA intervals has mean m(t); the stationary one has
  # clipped covariance (2/π) arcsin r(t) (classical IIA, A′ = −(2/μ) m).
  cov = S.gaussian(1.0)
  P, K, dt, n = 1600, 40, 0.05, 80
  draws = np.asarray(S.sample_iia(jax.random.PRNGKey(7), cov, 2 * P * K))
  lengths = draws[:P * K].reshape(P, K)
  s = np.asarray(S.switching_path(lengths, dt, n))
  t = np.arange(n) * dt
  est, se = s.mean(0), s.std(0) / math.sqrt(P)
  # at the first grid times almost no path has switched yet and the plug-in SE can be 0; floor it at 1/P, the
  # resolution of a mean of P signs
  assert np.all(np.abs(est - np.asarray(S.slepian_mean(cov, t))) <= Z * np.maximum(se, 1 / P))
  long = np.asarray(S.switching_path(draws[P * K:].reshape(16, 4000), dt, 20000))   # 1000 time units per path
  cc = S.empirical_clipped_covariance(long[:, 2000:], 60)
  target = np.asarray(S.clipped_covariance(cov, np.arange(61) * dt))
  assert np.all(np.abs(cc.mean - target) <= Z * cc.se + 1e-12)


def test_poisson_switching_recovers_exponential_clipped_covariance():
  lam, dt = 0.8, 0.05
  lengths = np.asarray(jax.random.exponential(jax.random.PRNGKey(9), (16, 3000)), np.float64) / lam
  s = np.asarray(S.switching_path(lengths, dt, 40000))
  cc = S.empirical_clipped_covariance(s, 50)
  target = np.exp(-2 * lam * np.arange(51) * dt)
  assert np.all(np.abs(cc.mean - target) <= Z * cc.se + 1e-12)
  # the Laplace identity: ψ̂ = λ/(λ + s), μ = 1/λ gives Â(s) = 1/(2λ + s)
  sv = np.array([0.1, 1.0, 7.0])
  with jax.enable_x64(True):
    a = np.asarray(S.switch_laplace(jnp.asarray(lam / (lam + sv)), 1 / lam, jnp.asarray(sv)))
  np.testing.assert_allclose(a, 1 / (2 * lam + sv), rtol=1e-12)


# ---------------------------------------------------------------------------------------------------
# Simulation oracles


def test_simulated_gaussian_process_rice_rate_mean_interval_and_clipped_covariance():
  cov, dt = S.gaussian(1.0), 0.01      # dt √λ₂ = 0.01: missed double crossings ~1e-5 of the rate
  x = np.asarray(S.simulate_paths(jax.random.PRNGKey(10), cov, dt, 2 ** 15, 16))
  iv = S.crossing_intervals(x, dt)
  rate, mlen = S.crossing_rate(iv), S.mean_length(iv)
  assert abs(rate.mean - S.rice_rate(cov)) <= Z * rate.se
  assert abs(mlen.mean - S.mean_interval(cov)) <= Z * mlen.se
  cc = S.empirical_clipped_covariance(x, 300)
  target = np.asarray(S.clipped_covariance(cov, np.arange(301) * dt))
  assert np.all(np.abs(cc.mean - target) <= Z * cc.se + 1e-12)
  # positive and negative excursions alternate
  k = int(iv.counts[0])
  assert np.all(iv.positive[0, 1:k] != iv.positive[0, :k - 1])


def test_ornstein_uhlenbeck_persistence_is_two_over_pi_arcsin():
  # X(t) = e^{−t} W(e^{2t}); no zero in [0, t] ⇔ W has no zero in [1, e^{2t}]: P0(t) = (2/π) arcsin e^{−t}
  dt, n = 0.01, 150
  with jax.enable_x64(True):
    x = np.asarray(G.ou_exact(jax.random.PRNGKey(11), theta=1.0, sigma=math.sqrt(2.0), dt=dt, n_steps=n,
                              n_paths=10000))
  # Brownian-bridge correction with σ² dt = 2 dt; the OU bridge differs from it by O(θ dt) = 1 % of an already
  # small crossing probability, far below the Monte Carlo SE
  p = S.persistence_curve(x, bridge_variance=2.0 * dt)
  t = np.arange(n + 1) * dt
  exact = 2 / np.pi * np.arcsin(np.exp(-t))
  idx = np.arange(10, n + 1, 10)
  assert np.all(np.abs(p.mean[idx] - exact[idx]) <= Z * p.se[idx])
  # one-sided: P(X > 0 on [0, t]) = (1/π) arcsin e^{−t}, the same paths restricted to X0 > 0
  pos = x[:, 0] > 0
  w = np.asarray(S.persistence_curve(x[pos], bridge_variance=2.0 * dt).mean) * pos.mean()
  se = np.sqrt(w * (1 - w) / x.shape[0])
  assert np.all(np.abs(w[idx] - exact[idx] / 2) <= Z * se[idx])
  # the same law from the circulant-embedding simulator (OU covariance e^{−|t|})
  y = np.asarray(S.simulate_paths(jax.random.PRNGKey(12), S.ornstein_uhlenbeck(), dt, 2 * n, 6000))[:, :n + 1]
  q = S.persistence_curve(y, bridge_variance=2.0 * dt)
  assert np.all(np.abs(q.mean[idx] - exact[idx]) <= Z * q.se[idx])


def test_palm_relation_on_simulated_paths():
  # P0(t) from windows starting at fixed times equals (1/μ)∫_t^∞ P(T > s) ds from the intervals (exact for any
  # stationary process); both sides are estimated from independent simulations here, so compare within 4 SE
  cov, dt = S.random_acceleration(), 0.02
  x = np.asarray(S.simulate_paths(jax.random.PRNGKey(13), cov, dt, 2 ** 15, 16))
  iv = S.crossing_intervals(x, dt)
  # windows of length 10 starting every 20 time units (nearly independent starts)
  w = x[:, : (x.shape[1] // 1000) * 1000].reshape(-1, 1000)[:, :501]
  direct = S.persistence_curve(w)
  t = np.array([1.0, 3.0, 6.0])
  palm = S.palm_persistence(iv, t)
  idx = (t / dt).astype(int)
  # same paths on both sides, so the two estimates are positively correlated: the SE of their difference is at
  # most √(se_d² + se_p²) (the independent case)
  assert np.all(np.abs(direct.mean[idx] - palm.mean) <= Z * np.sqrt(direct.se[idx] ** 2 + palm.se ** 2))
  # and P0 from the IIA law (Palm applied to the IIA interval law) approximates it (the IIA is not exact: 0.02)
  law = S.iia_law(cov)
  assert np.all(np.abs(law.persistence_at(t) - palm.mean) <= 0.02)


def test_tail_exponent_estimator_on_exponential_intervals():
  # censored-exponential MLE on [a, b]: exponential intervals of rate 0.3 give 0.3 within 4 SE
  L = np.asarray(jax.random.exponential(jax.random.PRNGKey(14), (20, 5000)), np.float64) / 0.3
  iv = S.Intervals(L, np.zeros_like(L, bool), np.full(20, 5000), np.full(20, 5001), float(L.sum(1).max()))
  e = S.tail_exponent(iv, 2.0, 12.0)
  assert abs(e.mean - 0.3) <= Z * e.se
  s = S.empirical_survival(iv, np.array([1.0, 5.0]))
  assert np.all(np.abs(s.mean - np.exp(-0.3 * np.array([1.0, 5.0]))) <= Z * s.se)


def test_boundary_validation_names_the_argument():
  with pytest.raises(ValueError, match="r\\(0\\) = 1"):
    S.user_covariance(lambda t: 2 * jnp.exp(-t ** 2))
  with pytest.raises(ValueError, match="lambda2"):
    S.user_covariance(lambda t: jnp.exp(-t ** 2), lambda2=-1.0)
  with pytest.raises(TypeError, match="r:"):
    S.user_covariance(3.0)
  with pytest.raises(ValueError, match="d:"):
    S.diffusion(0)
  with pytest.raises(ValueError, match="x:"):
    S.crossing_intervals(np.zeros(10), 0.1)
  with pytest.raises(ValueError, match="dt"):
    S.crossing_intervals(np.zeros((2, 10)), -0.1)
  with pytest.raises(ValueError, match="max_lag"):
    S.empirical_clipped_covariance(np.ones((2, 10)), 10)
  with pytest.raises(ValueError, match="lengths"):
    S.switching_path(np.ones((2, 3)), 0.1, 100)
  with pytest.raises(ValueError, match="n:"):
    S.sample_iia(jax.random.PRNGKey(0), S.gaussian(), 0)
  with pytest.raises(ValueError, match="not valid"):
    S.sample_iia(jax.random.PRNGKey(0), S.damped_cosine(), 10)


# ---------------------------------------------------------------------------------------------------
# Derivatives, values under jit, edges (issue "Correct at the edges").


@pytest.mark.parametrize("cov", SMOOTH + [S.ornstein_uhlenbeck()], ids=lambda c: c.name)
def test_covariance_derivatives_match_differences_of_an_independent_r(cov):
  t = np.array([0.3, 1.0, 2.5])
  h = 1e-5
  r_np = (lambda x: np.exp(-x)) if cov.name.startswith("Ornstein") else (lambda x: _r_numpy(cov, x))
  with jax.enable_x64(True):
    tt = jnp.asarray(t)
    mdr = np.asarray(cov.minus_dr(tt))
    omr = np.asarray(cov.one_minus_r(tt))
    auto = np.asarray(jax.vmap(jax.grad(cov.r))(tt))
  # central differences: truncation h²|r'''|/6 ≲ 1e-10, rounding 1e-16/h = 1e-11
  np.testing.assert_allclose(mdr, -(r_np(t + h) - r_np(t - h)) / (2 * h), rtol=0, atol=1e-9)
  np.testing.assert_allclose(omr, 1 - r_np(t), rtol=0, atol=1e-14)
  np.testing.assert_allclose(auto, -mdr, rtol=0, atol=1e-14)   # autodiff of r = the hand-written −(−r′)


@pytest.mark.parametrize("cov", SMOOTH[:5:2] + [S.random_acceleration()], ids=lambda c: c.name)
def test_slepian_mean_and_clipped_covariance_are_differentiable_in_t(cov):
  t = np.array([0.2, 1.3, 4.0])
  h = 1e-5
  with jax.enable_x64(True):
    dm = np.asarray(jax.vmap(jax.grad(lambda x: S.slepian_mean(cov, x)))(jnp.asarray(t)))
    da = np.asarray(jax.vmap(jax.grad(lambda x: S.clipped_covariance(cov, x)))(jnp.asarray(t)))
  m = np.array([_m_decimal(cov.name, x) for x in t])
  fd = np.array([(_m_decimal(cov.name, x + h) - _m_decimal(cov.name, x - h)) / (2 * h) for x in t])
  # differences of the 60-digit formula (rounded to float64): truncation h²|m'''|/6 ≲ 1e-10, rounding 1e-11
  np.testing.assert_allclose(dm, fd, rtol=0, atol=1e-9)
  # A = (2/π) arcsin r  =>  A′ = (2/π) r′/√(1 − r²) = −(2/μ) m (the IIA matching identity)
  np.testing.assert_allclose(da, -2 / S.mean_interval(cov) * m, rtol=1e-12, atol=0)
  with jax.enable_x64(True):
    lam = cov.lambda2
    assert float(jax.grad(lambda l: S.rice_rate(cov._replace(lambda2=l)))(lam)) == pytest.approx(
        1 / (2 * math.pi * math.sqrt(lam)), rel=1e-14)


def test_times_are_checked_eagerly_and_by_checkify_under_jit():
  from jax.experimental import checkify
  cov = S.gaussian()
  with pytest.raises(ValueError, match="t: expected times t >= 0"):
    S.slepian_mean(cov, np.array([0.5, -1.0]))
  f = checkify.checkify(jax.jit(lambda t: S.slepian_mean(cov, t)))
  err, _ = f(jnp.array([0.5, -1.0]))
  assert "t >= 0" in err.get()
  err, out = f(jnp.array([0.5, 1.0]))
  assert err.get() is None
  np.testing.assert_allclose(np.asarray(out), [_m_decimal(cov.name, 0.5), _m_decimal(cov.name, 1.0)], rtol=1e-6)


def test_host_side_functions_refuse_tracers_and_non_finite_paths():
  x = np.array([[0.5, -0.5, -1.0, 0.5, 1.0], [-1.0, 1.0, 0.5, -0.5, -1.0]])
  with pytest.raises(TypeError, match="crossing_intervals.*numpy-based.*not differentiable"):
    jax.grad(lambda x: jnp.sum(S.crossing_intervals(x, 0.1).lengths))(jnp.asarray(x))
  with pytest.raises(TypeError, match="iia_law.*not differentiable"):
    jax.grad(lambda dt: S.iia_law(S.gaussian(), dt).mean)(0.01)
  with pytest.raises(TypeError, match="scale.*not differentiable"):
    jax.grad(lambda s: S.gaussian(s).r(1.0))(1.0)
  with pytest.raises(TypeError, match="scale"):
    S.gaussian(jnp.asarray(1.0))           # was an 'unhashable type' error from the cache
  bad = x.copy()
  bad[1, 3] = np.nan
  with pytest.raises(ValueError, match=r"x: expected finite.*index \(1, 3\)"):
    S.crossing_intervals(bad, 0.1)
  with pytest.raises(ValueError, match=r"x:.*P >= 2"):
    S.persistence_curve(x[:1])


def test_no_intervals_and_zero_exposure_raise_instead_of_nan():
  empty = S.crossing_intervals(np.ones((3, 6)), 0.1)
  rate = S.crossing_rate(empty)
  assert float(rate.mean) == 0.0                  # no crossing is a valid rate
  for fn in (lambda: S.mean_length(empty), lambda: S.empirical_survival(empty, 0.1),
             lambda: S.palm_persistence(empty, 0.1), lambda: S.tail_exponent(empty, 0.1)):
    with pytest.raises(ValueError, match="iv: no complete intervals"):
      fn()
  iv = S.crossing_intervals(np.array([[0.5, -0.5, -1.0, 0.5, 1.0, -0.5]] * 2), 0.1)
  with pytest.raises(ValueError, match="t_min.*exposure"):
    S.tail_exponent(iv, 5.0)


def test_simulate_intervals_in_chunks_equals_the_intervals_of_each_chunk_joined():
  """Chunking only bounds memory: chunk c is simulate_paths(fold_in(key, c)), and joining pads with NaN / False."""
  key, cov, dt, n = jax.random.PRNGKey(21), S.gaussian(), 0.05, 400
  iv = S.simulate_intervals(key, cov, dt, n, 5, chunk=2)
  rows = [S.crossing_intervals(np.asarray(S.simulate_paths(jax.random.fold_in(key, c), cov, dt, n, m)), dt)
          for c, m in ((0, 2), (2, 2), (4, 1))]
  np.testing.assert_array_equal(iv.counts, np.concatenate([r.counts for r in rows]))
  np.testing.assert_array_equal(iv.crossings, np.concatenate([r.crossings for r in rows]))
  assert iv.lengths.shape == (5, max(r.lengths.shape[1] for r in rows)) and iv.duration == (n - 1) * dt
  for p, (r, i) in enumerate([(rows[0], 0), (rows[0], 1), (rows[1], 0), (rows[1], 1), (rows[2], 0)]):
    k = int(r.counts[i])
    np.testing.assert_array_equal(iv.lengths[p, :k], r.lengths[i, :k])
    np.testing.assert_array_equal(iv.positive[p, :k], r.positive[i, :k])
    w = r.lengths.shape[1]                                                       # the padding starts at w
    assert np.all(np.isnan(iv.lengths[p, k:])) and not np.any(iv.positive[p, w:])
  # the statistics see one path set: mean length = total interval time / number of intervals
  np.testing.assert_allclose(S.mean_length(iv).mean, np.nansum(iv.lengths) / iv.counts.sum(), rtol=1e-12)
