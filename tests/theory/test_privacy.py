"""Oracle tests for theory.common.privacy (noise mechanisms and accounting shared by papers 05, 10, 31).

Oracles: scipy's Laplace / normal distributions (KS tests, log densities), numerical quadrature of the
Gaussian mechanism's privacy-loss distribution, closed forms of the composition theorems, and Monte
Carlo frequencies within their standard errors. Tolerances: float64 closed forms at 1e-9 (a handful of
operations on O(1) numbers); quadrature at 1e-7 (scipy.quad's default absolute accuracy ~1.5e-8);
Monte Carlo at 4 standard errors (two-sided false-failure probability 6e-5 per check); KS tests at
p > 1e-3 on a fixed key.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

from theory.common import privacy as P


def test_laplace_and_gaussian_samplers_match_their_distributions():
  key = jax.random.PRNGKey(0)
  k1, k2 = jax.random.split(key)
  lap = np.asarray(P.laplace_noise(k1, 0.7, (20000,)), np.float64)
  gau = np.asarray(P.gaussian_noise(k2, 1.3, (20000,)), np.float64)
  assert stats.kstest(lap, stats.laplace(scale=0.7).cdf).pvalue > 1e-3
  assert stats.kstest(gau, stats.norm(scale=1.3).cdf).pvalue > 1e-3
  # zero scale is exactly no noise
  assert np.all(np.asarray(P.laplace_noise(k1, 0.0, (5,))) == 0)


def test_laplace_mechanism_scale_is_sensitivity_over_epsilon():
  out = np.asarray(P.laplace_mechanism(jax.random.PRNGKey(1), jnp.full((20000,), 3.0), 0.5, 0.25), np.float64)
  assert stats.kstest(out - 3.0, stats.laplace(scale=2.0).cdf).pvalue > 1e-3


@pytest.mark.parametrize("eps", [0.1, 1.0, 3.0])
def test_laplace_privacy_loss_bounded_by_epsilon(eps):
  """Density ratio of the Laplace mechanism on neighbouring values (|v − v'| = Δ), from scipy's log
  densities: bounded by ε everywhere and attained outside [v, v']."""
  sens, v, w = 0.3, 1.0, 1.3
  b = P.laplace_scale(sens, eps)
  x = np.linspace(-10, 12, 4001)
  oracle = stats.laplace(loc=v, scale=b).logpdf(x) - stats.laplace(loc=w, scale=b).logpdf(x)
  with jax.enable_x64(True):
    loss = np.asarray(P.laplace_privacy_loss(jnp.asarray(x), v, w, b))
    logd = np.asarray(P.laplace_log_density(jnp.asarray(x), v, b))
  np.testing.assert_allclose(loss, oracle, atol=1e-9)
  np.testing.assert_allclose(logd, stats.laplace(loc=v, scale=b).logpdf(x), atol=1e-9)
  assert np.max(np.abs(loss)) <= eps + 1e-9
  assert np.isclose(np.max(np.abs(loss)), eps, atol=1e-9)


def test_laplace_mechanism_event_probabilities_within_e_epsilon():
  """Monte Carlo: for events {x > t}, P_v / P_v' <= e^ε up to 4 SE of the ratio (delta method)."""
  eps, sens, m = 0.5, 1.0, 200000
  k1, k2 = jax.random.split(jax.random.PRNGKey(2))
  a = np.asarray(P.laplace_mechanism(k1, jnp.zeros(m), sens, eps))
  b = np.asarray(P.laplace_mechanism(k2, jnp.ones(m), sens, eps))
  for t in (-1.0, 0.0, 0.5, 1.0, 2.0):
    pa, pb = np.mean(a > t), np.mean(b > t)
    ratio = pb / pa  # value 1 is more likely to exceed t
    se = ratio * math.sqrt((1 - pa) / (pa * m) + (1 - pb) / (pb * m))
    assert ratio <= math.exp(eps) + 4 * se
    # beyond both values the ratio is exactly e^ε (the bound is tight)
    if t >= 1.0:
      assert abs(ratio - math.exp(eps)) <= 4 * se


def test_randomized_response_frequencies():
  eps, m = 1.2, 100000
  keep = 1 / (1 + math.exp(-eps))
  assert abs(float(P.randomized_response_keep_probability(eps)) - keep) < 1e-6  # float32 sigmoid
  bits = jnp.arange(m) % 2 == 0
  out = np.asarray(P.randomized_response(jax.random.PRNGKey(3), bits, eps))
  assert out.dtype == np.bool_
  bits = np.asarray(bits)
  p1_given1 = np.mean(out[bits])
  p1_given0 = np.mean(out[~bits])
  se = math.sqrt(keep * (1 - keep) / (m / 2))
  assert abs(p1_given1 - keep) <= 4 * se
  assert abs(p1_given0 - (1 - keep)) <= 4 * se
  # integer bits keep their dtype; epsilon = 0 is a fair coin
  ib = P.randomized_response(jax.random.PRNGKey(4), jnp.ones(m, jnp.int32), 0.0)
  assert ib.dtype == jnp.int32 and abs(float(jnp.mean(ib)) - 0.5) <= 4 * 0.5 / math.sqrt(m)


def _delta_by_quadrature(sigma, sens, eps):
  """δ(ε) = E_{x ~ N(0, σ²)} [(1 − e^{ε − L(x)})_+], L(x) = log N(x; 0, σ²) − log N(x; Δ, σ²)."""
  def integrand(x):
    loss = ((x - sens) ** 2 - x ** 2) / (2 * sigma ** 2)
    return stats.norm.pdf(x, scale=sigma) * max(0.0, 1 - math.exp(eps - loss))
  lo = -12 * sigma - 2 * sens
  return integrate.quad(integrand, lo, sens / 2 - eps * sigma ** 2 / sens, limit=200)[0]


@pytest.mark.parametrize("sigma,sens,eps", [(1.0, 1.0, 0.5), (2.0, 0.5, 0.1), (0.7, 1.0, 2.0)])
def test_gaussian_delta_matches_quadrature(sigma, sens, eps):
  assert abs(P.gaussian_delta(sigma, sens, eps) - _delta_by_quadrature(sigma, sens, eps)) < 1e-7


def test_gaussian_privacy_loss_is_the_log_density_ratio_and_gives_the_exact_delta():
  """L(x) against scipy's log densities; then δ(ε) = E_{x ~ N(v, σ²)}[(1 − e^{ε − L(x)})_+] (the hockey-stick
  divergence) by Monte Carlo through L, within 4 SE of the Balle–Wang closed form ``gaussian_delta``."""
  sigma, v, w = 1.3, 0.4, -0.6
  x = np.linspace(-5, 5, 41)
  loss = np.asarray(P.gaussian_privacy_loss(jnp.asarray(x), v, w, sigma), np.float64)
  ref = stats.norm.logpdf(x, v, sigma) - stats.norm.logpdf(x, w, sigma)
  np.testing.assert_allclose(loss, ref, rtol=1e-5, atol=1e-5)
  m = 200000
  with jax.enable_x64(True):
    xs = v + sigma * jax.random.normal(jax.random.PRNGKey(11), (m,), jnp.float64)
    lx = np.asarray(P.gaussian_privacy_loss(xs, v, w, sigma))
  for eps in (0.25, 1.0):
    h = np.maximum(0.0, 1 - np.exp(eps - lx))
    se = h.std(ddof=1) / math.sqrt(m)
    assert abs(h.mean() - P.gaussian_delta(sigma, abs(v - w), eps)) <= 4 * se


@pytest.mark.parametrize("eps,delta", [(0.5, 1e-5), (0.9, 1e-3), (0.1, 1e-6)])
def test_classical_gaussian_calibration_and_zcdp_conversion_are_valid(eps, delta):
  sens = 0.2
  sigma = P.gaussian_sigma(sens, eps, delta)
  assert math.isclose(sigma, sens * math.sqrt(2 * math.log(1.25 / delta)) / eps, rel_tol=1e-12)
  assert P.gaussian_delta(sigma, sens, eps) <= delta
  # zCDP: rho = Δ²/2σ², and its (ε, δ) conversion is a valid (conservative) guarantee
  rho = P.zcdp_of_gaussian(sigma, sens)
  assert math.isclose(rho, sens ** 2 / (2 * sigma ** 2), rel_tol=1e-12)
  e2, d2 = P.zcdp_to_dp(rho, delta)
  assert d2 == delta and P.gaussian_delta(sigma, sens, e2) <= delta


def test_gaussian_mechanism_noise_distribution():
  sigma = P.gaussian_sigma(1.0, 0.5, 1e-5)
  out = np.asarray(P.gaussian_mechanism(jax.random.PRNGKey(5), jnp.zeros(20000), 1.0, 0.5, 1e-5), np.float64)
  assert stats.kstest(out, stats.norm(scale=sigma).cdf).pvalue > 1e-3


def test_composition_closed_forms():
  assert P.basic_composition(0.1, 1e-6, 10) == pytest.approx((1.0, 1e-5), rel=1e-12)
  eps, k, ds = 0.05, 400, 1e-6
  total, dtot = P.advanced_composition(eps, 0.0, k, ds)
  assert total == pytest.approx(math.sqrt(2 * k * math.log(1 / ds)) * eps + k * eps * (math.exp(eps) - 1),
                                rel=1e-12)
  assert dtot == pytest.approx(ds)
  # for many small mechanisms advanced composition beats basic (√k vs k)
  assert total < P.basic_composition(eps, 0.0, k).epsilon
  # the inverse: composing the per-query ε gives the total back
  for target in (0.3, 1.0, 5.0):
    e0 = P.advanced_composition_epsilon_per_query(target, k, ds)
    assert P.advanced_composition(e0, 0.0, k, ds).epsilon == pytest.approx(target, rel=1e-9)


def test_inputs_are_validated():
  with pytest.raises(ValueError, match="epsilon"):
    P.laplace_scale(1.0, 0.0)
  with pytest.raises(ValueError, match="epsilon"):
    P.gaussian_sigma(1.0, 1.5, 1e-5)
  with pytest.raises(ValueError, match="delta"):
    P.gaussian_sigma(1.0, 0.5, 0.0)
  with pytest.raises(TypeError, match="k"):
    P.basic_composition(0.1, 0.0, 2.5)
  with pytest.raises(ValueError, match="delta_slack"):
    P.advanced_composition(0.1, 0.0, 3, 0.0)
  with pytest.raises(TypeError, match="bits"):
    P.randomized_response(jax.random.PRNGKey(0), jnp.zeros(3), 1.0)
  with pytest.raises(ValueError, match="scale"):
    P.laplace_noise(jax.random.PRNGKey(0), -1.0, (2,))


# ---------------------------------------------------------------------------------------------------
# JAX scalars: the same values as the host path, analytic derivatives, no derivative for randomized response.


def test_jax_scalar_path_matches_the_host_values():
  with jax.enable_x64(True):
    j = jnp.float64
    pairs = [
        (P.laplace_scale(j(0.5), j(0.8)), P.laplace_scale(0.5, 0.8)),
        (P.gaussian_sigma(j(0.2), j(0.5), j(1e-5)), P.gaussian_sigma(0.2, 0.5, 1e-5)),
        (P.zcdp_of_gaussian(j(1.5), j(0.7)), P.zcdp_of_gaussian(1.5, 0.7)),
        (P.zcdp_to_dp(j(0.1), j(1e-5)).epsilon, P.zcdp_to_dp(0.1, 1e-5).epsilon),
        (P.basic_composition(j(0.1), j(1e-6), 10).delta, P.basic_composition(0.1, 1e-6, 10).delta),
        (P.advanced_composition(j(0.05), j(0.0), 400, j(1e-6)).epsilon, P.advanced_composition(0.05, 0.0, 400, 1e-6).epsilon),
    ]
    for sigma, sens, eps in ((1.0, 1.0, 0.5), (2.0, 0.5, 0.1), (0.7, 1.0, 2.0), (0.3, 1.0, 20.0)):
      pairs.append((P.gaussian_delta(j(sigma), j(sens), j(eps)), P.gaussian_delta(sigma, sens, eps)))
    for target in (0.3, 1.0, 5.0):   # the lax bisection (to full precision) vs the host bisection
      pairs.append((P.advanced_composition_epsilon_per_query(j(target), 400, j(1e-6)),
                    P.advanced_composition_epsilon_per_query(target, 400, 1e-6)))
    for got, want in pairs:
      assert isinstance(got, jax.Array) and isinstance(want, float)
      assert math.isclose(float(got), want, rel_tol=1e-12, abs_tol=1e-300), (got, want)


def test_gaussian_delta_derivative_is_the_closed_form():
  """dδ/dσ = −Δ φ(a − c)/σ² (a = Δ/2σ, c = εσ/Δ: the φ terms of both Φ's combine since e^ε φ(−a − c) =
  φ(a − c)) and dδ/dε = −e^ε Φ(−a − c)."""
  sigma, sens, eps = 1.3, 0.8, 0.6
  a, c = sens / (2 * sigma), eps * sigma / sens
  with jax.enable_x64(True):
    ds, de = jax.grad(P.gaussian_delta, argnums=(0, 2))(jnp.float64(sigma), jnp.float64(sens), jnp.float64(eps))
  assert math.isclose(float(ds), -sens * stats.norm.pdf(a - c) / sigma ** 2, rel_tol=1e-12)
  assert math.isclose(float(de), -math.exp(eps) * stats.norm.cdf(-a - c), rel_tol=1e-12)


def test_per_query_epsilon_derivative_is_the_implicit_function():
  """e(T, δ') solves f(e) = √(2k ln(1/δ')) e + k e (e^e − 1) = T: de/dT = 1/f'(e) and
  de/dδ' = −(∂f/∂δ')/f'(e) with ∂f/∂δ' = −e √(2k) / (2 δ' √(ln(1/δ'))) (implicit-function theorem)."""
  k, target, ds = 400, 1.0, 1e-6
  e = P.advanced_composition_epsilon_per_query(target, k, ds)
  fe = math.sqrt(2 * k * math.log(1 / ds)) + k * (math.expm1(e) + e * math.exp(e))
  f_ds = -e * math.sqrt(2 * k) / (2 * ds * math.sqrt(math.log(1 / ds)))
  with jax.enable_x64(True):
    gt, gd = jax.grad(P.advanced_composition_epsilon_per_query, argnums=(0, 2))(jnp.float64(target), k,
                                                                                 jnp.float64(ds))
  assert math.isclose(float(gt), 1 / fe, rel_tol=1e-10)
  assert math.isclose(float(gd), -f_ds / fe, rel_tol=1e-10)


def test_randomized_response_refuses_differentiation():
  with pytest.raises(TypeError, match="randomized_response is not differentiable"):
    jax.grad(lambda e: jnp.sum(P.randomized_response(jax.random.PRNGKey(0), jnp.ones(3, jnp.int32), e) * e))(1.0)
  # its keep probability is smooth (the logistic function) and keeps float64 under enable_x64
  with jax.enable_x64(True):
    g = jax.grad(P.randomized_response_keep_probability)(jnp.float64(0.4))
  q = 1 / (1 + math.exp(-0.4))
  assert g.dtype == jnp.float64 and math.isclose(float(g), q * (1 - q), rel_tol=1e-14)


def test_traced_values_are_not_range_checked_but_concrete_jax_scalars_are():
  """Concrete JAX scalars are range-checked like Python numbers; under jit an out-of-range value passes
  (the documented policy: inside jit/grad the caller owns the range)."""
  with pytest.raises(ValueError, match="laplace_scale: epsilon"):
    P.laplace_scale(1.0, jnp.float32(-1.0))
  out = jax.jit(lambda e: P.laplace_scale(1.0, e))(jnp.float32(-1.0))
  assert float(out) == -1.0
