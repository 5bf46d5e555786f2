"""Oracle tests for theory.adaptive_holdout (Dwork et al., "Preserving Statistical Validity in Adaptive
Data Analysis", STOC 2015, arXiv:1411.2664; Thresholdout from Science 349:636, 2015).

Oracles: the closed form Φ(√k E[c sign(c + ξ)]) of the correlation attack (and, for the Laplace moment,
scipy quadrature); exact 1/2 for any classifier's accuracy on fresh label-independent data; brute-force
loops on tiny instances; Thresholdout's detection probabilities by quadrature over the Laplace threshold
and query noise. Monte Carlo comparisons use 4 standard errors of the Monte Carlo mean (two-sided
false-failure probability 6e-5 per check); float64 closed forms 1e-9; float32 exact-value checks are
bitwise (the mechanism must return the very training / holdout numbers it was given).
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

import theory.adaptive_holdout as ah
from theory.common import privacy

MC_Z = 4.0


def _within(values, target, z=MC_Z):
  v = np.asarray(values, np.float64)
  se = v.std(ddof=1) / math.sqrt(v.size)
  assert abs(v.mean() - target) <= z * se, (v.mean(), target, se)


# ---------------------------------------------------------------------------------------------------
# Closed form of the price of adaptivity.


@pytest.mark.parametrize("s,b", [(0.02, 0.01), (0.05, 0.05), (1.0, 3.0), (0.3, 0.01)])
def test_laplace_sign_moment_matches_quadrature(s, b):
  """E[c sign(c + ξ)] = E[c (1 − 2 P(ξ < −c))], c ~ N(0, s²), ξ ~ Lap(b), by scipy quadrature."""
  f = lambda c: c * (1 - 2 * stats.laplace(scale=b).cdf(-c)) * stats.norm(scale=s).pdf(c)
  oracle = integrate.quad(f, -12 * s, 12 * s, points=[0.0], epsabs=1e-13)[0]
  with jax.enable_x64(True):
    got = float(ah.sign_correlation(s, b, "laplace"))
    gauss_noise = float(ah.sign_correlation(s, b, "gaussian"))
    none = float(ah.sign_correlation(s, 0.0, "laplace"))
  assert abs(got - oracle) <= 1e-9 * max(1.0, s * s)
  # Gaussian noise by quadrature too, and b = 0 gives E|c| = s √(2/π)
  fg = lambda c: c * (1 - 2 * stats.norm(scale=b).cdf(-c)) * stats.norm(scale=s).pdf(c)
  assert abs(gauss_noise - integrate.quad(fg, -12 * s, 12 * s, points=[0.0], epsabs=1e-13)[0]) <= 1e-9
  assert abs(none - s * math.sqrt(2 / math.pi)) <= 1e-12


@pytest.mark.parametrize("mechanism,scale_sqrt_n", [("empirical", 0.0), ("gaussian", 1.0), ("laplace", 1.0)])
def test_overfit_accuracy_matches_monte_carlo(mechanism, scale_sqrt_n):
  """The adaptively built classifier's accuracy on its own sample is Φ(√(2k/πn)/√(1 + nσ²)) (Gaussian) and
  its Laplace analogue; on fresh data it is 1/2. n = 2000, k = 500 (k/n = 1/4, where the asymptotic
  formula's own error is below 0.001: 200-replication check in the package README), 20 replications;
  tolerance 4 SE of the Monte Carlo mean (SE ≈ 0.002)."""
  n, k = 2000, 500
  scale = scale_sqrt_n / math.sqrt(n)
  res = ah.correlation_attack(jax.random.PRNGKey(11), scale, n=n, k=k, mechanism=mechanism, replications=20,
                              batch_size=10)
  noise = "laplace" if mechanism == "laplace" else "gaussian"
  predicted = float(ah.overfit_accuracy(k, n, scale, noise))
  if mechanism != "laplace":
    assert abs(predicted - stats.norm.cdf(math.sqrt(2 * k / (math.pi * n)) / math.sqrt(1 + scale_sqrt_n ** 2))) < 1e-6
  _within(res.sample_accuracy, predicted)
  _within(res.fresh_accuracy, 0.5)
  assert np.mean(res.sample_accuracy) > 0.59  # far from 1/2: the attack works (≥ 40 SE above)


def test_sample_splitting_is_unbiased_under_adaptivity():
  """With a chunk per query and one for the accuracy query, the reported accuracy is unbiased (1/2)."""
  res = ah.correlation_attack(jax.random.PRNGKey(12), n=2000, k=200, mechanism="split", replications=40,
                              batch_size=20)
  _within(res.sample_accuracy, 0.5)
  _within(res.fresh_accuracy, 0.5)


def test_sample_split_answers_brute_force():
  rng = np.random.default_rng(0)
  values = rng.uniform(size=(3, 11)).astype(np.float32)
  got = np.asarray(ah.sample_split_answers(jnp.asarray(values)))
  m = 11 // 3
  oracle = [values[j, j * m:(j + 1) * m].astype(np.float64).mean() for j in range(3)]
  np.testing.assert_allclose(got, oracle, rtol=1e-6)  # float32 mean of 3 numbers
  np.testing.assert_allclose(np.asarray(ah.empirical_answers(jnp.asarray(values))),
                             values.astype(np.float64).mean(1), rtol=1e-6)


def test_sample_split_unbiased_for_a_known_population_mean():
  """Queries 1{x > t_j} on x ~ N(0, 1): each answer is unbiased for Φ(−t_j)."""
  t = jnp.asarray([-1.0, 0.0, 0.5, 1.5])

  def one(key):
    x = jax.random.normal(key, (400,))
    return ah.sample_split_answers((x[None, :] > t[:, None]).astype(jnp.float32))

  ans = np.asarray(jax.vmap(one)(jax.random.split(jax.random.PRNGKey(13), 2000)))
  for j, tj in enumerate(np.asarray(t)):
    _within(ans[:, j], stats.norm.sf(tj))


def test_noisy_answers_noise_distribution():
  values = jnp.zeros((5000, 3), jnp.float32).at[:, 0].set(1.0)   # E_S = 1/3 for every query
  k1, k2 = jax.random.split(jax.random.PRNGKey(14))
  lap = np.asarray(ah.noisy_answers(k1, values, 0.2, "laplace"), np.float64) - 1 / 3
  gau = np.asarray(ah.noisy_answers(k2, values, 0.2, "gaussian"), np.float64) - 1 / 3
  assert stats.kstest(lap, stats.laplace(scale=0.2).cdf).pvalue > 1e-3
  assert stats.kstest(gau, stats.norm(scale=0.2).cdf).pvalue > 1e-3


# ---------------------------------------------------------------------------------------------------
# Thresholdout.


def test_thresholdout_infinite_threshold_never_spends_budget():
  rng = np.random.default_rng(1)
  tm = jnp.asarray(rng.uniform(size=50), jnp.float32)
  hm = jnp.asarray(rng.uniform(size=50), jnp.float32)
  res = ah.thresholdout(jax.random.PRNGKey(0), tm, hm, threshold=math.inf, sigma=0.05, budget=3)
  np.testing.assert_array_equal(np.asarray(res.values), np.asarray(tm))
  assert not np.any(res.detected) and not np.any(res.bottom)
  assert float(res.state.budget) == 3 and int(res.state.detections) == 0


def test_thresholdout_zero_threshold_without_noise_always_spends_then_bottom():
  """T = 0, σ = 0: every query whose means differ is answered by the holdout mean exactly and costs one
  unit; after B detections every answer is ⊥ (brute-force loop as the oracle)."""
  rng = np.random.default_rng(2)
  tm = rng.uniform(size=8).astype(np.float32)
  hm = rng.uniform(size=8).astype(np.float32)
  budget = 5
  res = ah.thresholdout(jax.random.PRNGKey(0), jnp.asarray(tm), jnp.asarray(hm), threshold=0.0, sigma=0.0,
                        budget=budget)
  left, expect, bottom = budget, [], []
  for a, b in zip(tm, hm):
    if left < 1:
      expect.append(np.nan)
      bottom.append(True)
    else:
      expect.append(b)
      bottom.append(False)
      left -= 1
  np.testing.assert_array_equal(np.asarray(res.values), np.asarray(expect, np.float32))
  np.testing.assert_array_equal(np.asarray(res.bottom), bottom)
  assert int(res.state.detections) == budget and float(res.state.budget) == 0
  # equal means are never over a zero threshold
  same = ah.thresholdout(jax.random.PRNGKey(0), jnp.asarray(tm), jnp.asarray(tm), threshold=0.0, sigma=0.0,
                         budget=budget)
  assert not np.any(same.detected)


def _detect_prob(delta, threshold, sigma):
  """P(Δ > T + γ + η), γ ~ Lap(2σ), η ~ Lap(4σ): quadrature over γ."""
  fg = stats.laplace(scale=2 * sigma).pdf
  fe = stats.laplace(scale=4 * sigma).cdf
  return integrate.quad(lambda g: fg(g) * fe(delta - threshold - g), -60 * sigma, 60 * sigma,
                        points=[0.0, delta - threshold], limit=200)[0]


def test_thresholdout_detection_probability_and_threshold_redraw():
  """One query with |E_h − E_t| = Δ is detected with P(Δ > T + γ + η); two identical queries: both
  detected with probability p² (γ redrawn after a detection), neither with ∫ f_γ (1 − F_η)² (γ kept)."""
  T, sigma, delta, m = 0.04, 0.01, 0.05, 20000
  p = _detect_prob(delta, T, sigma)
  fg = stats.laplace(scale=2 * sigma).pdf
  fe = stats.laplace(scale=4 * sigma).cdf
  p_none = integrate.quad(lambda g: fg(g) * (1 - fe(delta - T - g)) ** 2, -60 * sigma, 60 * sigma,
                          points=[0.0, delta - T], limit=200)[0]
  tm, hm = jnp.zeros(2), jnp.full(2, delta)
  run = jax.jit(jax.vmap(lambda k: ah.thresholdout(k, tm, hm, threshold=T, sigma=sigma, budget=10).detected))
  det = np.asarray(run(jax.random.split(jax.random.PRNGKey(15), m)))
  for est, target in ((det[:, 0].mean(), p), ((det[:, 0] & det[:, 1]).mean(), p * p),
                      ((~det[:, 0] & ~det[:, 1]).mean(), p_none)):
    assert abs(est - target) <= MC_Z * math.sqrt(target * (1 - target) / m), (est, target)
  # the "kept threshold" correlation is real: neither-detected differs from (1 − p)² by > 4 SE
  assert abs(p_none - (1 - p) ** 2) > MC_Z * math.sqrt(p_none * (1 - p_none) / m)


def test_thresholdout_detected_answer_is_holdout_plus_laplace_noise():
  m, sigma = 20000, 0.02
  run = jax.jit(jax.vmap(lambda k: ah.thresholdout(k, jnp.zeros(1), jnp.ones(1), threshold=0.0, sigma=sigma,
                                                   budget=1).values[0]))
  vals = np.asarray(run(jax.random.split(jax.random.PRNGKey(16), m)), np.float64)
  # Δ = 1 is ≥ 12 scales of γ + η above T = 0, so every query is detected (miss prob < 1e-9)
  assert stats.kstest(vals - 1.0, stats.laplace(scale=sigma).cdf).pvalue > 1e-3


def test_thresholdout_step_equals_scan():
  rng = np.random.default_rng(3)
  tm = jnp.asarray(rng.uniform(size=20), jnp.float32)
  hm = tm + jnp.asarray(rng.normal(scale=0.05, size=20), jnp.float32)
  key = jax.random.PRNGKey(7)
  res = ah.thresholdout(key, tm, hm, threshold=0.04, sigma=0.01, budget=4)
  state = ah.thresholdout_init(key, 0.04, 0.01, 4)
  for j in range(20):
    state, ans = ah.thresholdout_step(state, tm[j], hm[j], threshold=0.04, sigma=0.01)
    np.testing.assert_array_equal(np.asarray(ans.value), np.asarray(res.values[j]))
  assert int(state.detections) == int(res.state.detections)


# ---------------------------------------------------------------------------------------------------
# Privacy parameters implied by each mechanism.


def test_privacy_parameters():
  n, k, sigma = 1000, 50, 0.01
  # k Gaussian answers of sensitivity 1/n = one Gaussian of sensitivity √k/n: exact δ(ε) bounds the zCDP one
  eps, delta = ah.gaussian_answers_privacy(sigma, n, k, 1e-6)
  assert privacy.gaussian_delta(sigma, math.sqrt(k) / n, eps) <= 1e-6
  assert ah.laplace_answers_privacy(0.02, n, k) == pytest.approx((k / (n * 0.02), 0.0), rel=1e-12)
  # the Laplace scale for (ε, δ) over k queries: composing its per-query ε gives ε back
  b = ah.laplace_scale_for_privacy(n, k, 1.0, 1e-6)
  assert ah.laplace_answers_privacy(b, n, k, 1e-6).epsilon == pytest.approx(1.0, rel=1e-9)
  assert ah.thresholdout_privacy(sigma, n, 10) == pytest.approx((2 * 10 / (sigma * n), 0.0), rel=1e-12)
  assert math.isinf(ah.empirical_privacy().epsilon)


# ---------------------------------------------------------------------------------------------------
# The Science experiment.


def test_accuracy_tie_convention_brute_force():
  scores = jnp.asarray([[1.0, 0.0], [-2.0, 0.0], [3.0, -1.0]])
  y = jnp.asarray([1.0, 1.0, -1.0])
  # column 0: right, wrong, wrong -> 1/3; column 1: tie, tie, right -> (0.5 + 0.5 + 1)/3
  np.testing.assert_allclose(np.asarray(ah.accuracy(scores, y)), [1 / 3, 2 / 3], rtol=1e-6)


def test_science_experiment_fresh_accuracy_is_half_without_signal():
  """No signal: any classifier's fresh accuracy is 1/2, whatever the analyst did; the standard holdout
  overfits (its holdout accuracy at the largest k is above 1/2 by far more than 4 SE)."""
  n = d = 400
  grid = (0, 4, 8, 16)
  res = ah.science_experiment(jax.random.PRNGKey(21), n=n, d=d, k_grid=grid, replications=24, batch_size=8)
  for curves in (res.standard, res.thresholdout):
    fresh = np.asarray(curves.fresh)
    assert np.all(fresh[:, 0] == 0.5)                       # k = 0: every score is a tie
    _within(fresh[:, 1:].mean(1), 0.5)
  hold = np.asarray(res.standard.holdout[:, -1], np.float64)
  assert hold.mean() - 0.5 > MC_Z * hold.std(ddof=1) / math.sqrt(hold.size)


def test_inputs_are_validated():
  key = jax.random.PRNGKey(0)
  with pytest.raises(ValueError, match="mechanism"):
    ah.correlation_attack(key, n=10, k=2, mechanism="median")
  with pytest.raises(ValueError, match="k"):
    ah.correlation_attack(key, n=10, k=10, mechanism="split")
  with pytest.raises(TypeError, match="n"):
    ah.correlation_attack(key, n=10.0, k=2)
  with pytest.raises(ValueError, match="k_grid"):
    ah.science_experiment(key, n=10, d=5, k_grid=(0, 6), replications=1)
  with pytest.raises(ValueError, match="sigma"):
    ah.science_experiment(key, n=10, d=5, k_grid=(1,), replications=1, sigma=-1.0)
  with pytest.raises(ValueError, match="values"):
    ah.empirical_answers(jnp.zeros(3))
  with pytest.raises(TypeError, match="values"):
    ah.empirical_answers(jnp.zeros((2, 3), jnp.int32))
  with pytest.raises(ValueError, match="threshold"):
    ah.thresholdout_init(key, -1.0, 0.1, 3)
  with pytest.raises(ValueError, match="budget"):
    ah.thresholdout(key, jnp.zeros(2), jnp.zeros(2), threshold=0.1, sigma=0.1)
  with pytest.raises(ValueError, match="noise"):
    ah.noisy_answers(key, jnp.zeros((2, 3)), 0.1, "cauchy")
  with pytest.raises(ValueError, match="multipliers"):
    ah.thresholdout_init(key, 0.1, 0.1, 3, multipliers=(1.0, 2.0))


# ---------------------------------------------------------------------------------------------------
# Derivatives: reparameterised quantities are differentiated, decisions refuse.


def test_thresholdout_init_is_reparameterised_and_answers_refuse_differentiation():
  """T̂ = T + mult_γ·σ·L with L ~ Lap(1) fixed by the key: dT̂/dT = 1 and dT̂/dσ = (T̂ − T)/σ."""
  key = jax.random.PRNGKey(4)
  t, s = 0.2, 0.1
  with jax.enable_x64(True):
    f = lambda t_, s_: ah.thresholdout_init(key, t_, s_, 3.0, dtype=jnp.float64).noisy_threshold
    t_hat = float(f(jnp.float64(t), jnp.float64(s)))
    gt, gs = jax.grad(f, argnums=(0, 1))(jnp.float64(t), jnp.float64(s))
  assert float(gt) == 1.0 and t_hat != t
  assert math.isclose(float(gs), (t_hat - t) / s, rel_tol=1e-12)
  state = ah.thresholdout_init(key, t, s, 3.0)
  with pytest.raises(TypeError, match="thresholdout_step is not differentiable"):
    jax.grad(lambda m: ah.thresholdout_step(state, m, 0.4, threshold=t, sigma=s)[1].value)(0.1)
  with pytest.raises(TypeError, match="accuracy is not differentiable"):
    jax.grad(lambda sc: ah.accuracy(sc, jnp.array([1.0, -1.0])).sum())(jnp.array([0.3, 0.2]))
  with pytest.raises(TypeError, match="correlation_attack is not differentiable"):
    jax.grad(lambda b: ah.correlation_attack(key, b, n=4, k=2, mechanism="laplace").sample_accuracy.sum())(0.1)


def test_laplace_scale_for_privacy_derivative_is_the_implicit_function():
  """b = 1/(n e0) with f(e0) = √(2k ln(1/δ)) e0 + k e0 (e^{e0} − 1) = ε: db/dε = −1/(n e0² f'(e0))."""
  n, k, eps, delta = 1000, 50, 1.0, 1e-6
  e0 = privacy.advanced_composition_epsilon_per_query(eps, k, delta)
  fe = math.sqrt(2 * k * math.log(1 / delta)) + k * (math.expm1(e0) + e0 * math.exp(e0))
  with jax.enable_x64(True):
    g = jax.grad(lambda e: ah.laplace_scale_for_privacy(n, k, e, delta))(jnp.float64(eps))
    b = ah.laplace_scale_for_privacy(n, k, jnp.float64(eps), delta)
  assert math.isclose(float(b), ah.laplace_scale_for_privacy(n, k, eps, delta), rel_tol=1e-12)
  assert math.isclose(float(g), -1 / (n * e0 ** 2 * fe), rel_tol=1e-10)


def test_accuracy_and_attack_inputs_are_validated():
  with pytest.raises(ValueError, match="accuracy: y"):
    ah.accuracy(jnp.zeros((3, 2)), jnp.ones(2))
  with pytest.raises(ValueError, match="overfit_accuracy: k"):
    ah.overfit_accuracy(np.array([10.0, 0.0]), 100)
  with pytest.raises(ValueError, match="sign_correlation: scale"):
    ah.sign_correlation(0.1, np.array([0.1, -0.2]))
