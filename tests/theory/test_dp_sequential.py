"""Oracle tests for theory.dp_sequential (Liu & Rahimian, "Differentially Private Sequential Learning",
FORC 2025, arXiv:2502.19525).

Oracles: scipy quadrature of the report probability over the Gaussian signal (closed form and public
updates), the ε → ∞ bound |P_ε − Φ| ≤ 1/(εσ√(2π)), the exact large-ℓ limit Δ₋ → −2ε, mirror symmetry,
the ε-DP density-ratio bound on a grid, the exact flip probability ½e^{−ε|s−t|} for both views of the
mechanism (smooth randomized response and Laplace noise before thresholding) by Monte Carlo, brute-force
enumeration of the first three reports for the simulator, the exact law of the first correct report by
Monte Carlo, the Bellman solution by Monte Carlo, the authors' tabulated cascade switch points (paper
file, 3 decimals), and gambler's-ruin cascade probabilities by Monte Carlo.

Tolerances: float64 closed forms vs quadrature at rtol 1e-9 (quad's relative accuracy set to 1e-12;
log-space evaluation of a few O(1) terms); Monte Carlo at 4 standard errors (two-sided false failure
6e-5 per check, fixed keys); the Bellman grid adds its own discretisation error, bounded by the change
between grid sizes G and 2G.
"""
from __future__ import annotations

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

from theory import dp_sequential as D
from theory.dp_sequential import binary as Bn

Z = 4.0


def _quad_report(ell: float, theta: int, sigma: float, eps: float, x: int) -> float:
  """P(x | ℓ, θ) = ∫ φ_σ(s − θ) P(x | s) ds by adaptive quadrature, split at the threshold t(ℓ) (each
  report probability integrated directly, so tiny ones keep their relative accuracy)."""
  t = -0.5 * sigma ** 2 * ell
  dens = stats.norm(theta, sigma).pdf
  flip = (lambda s: 0.0) if math.isinf(eps) else (lambda s: 0.5 * math.exp(-eps * abs(s - t)))
  agree = lambda s: dens(s) * (1 - flip(s))      # the report equals the side of t the signal is on
  disagree = lambda s: dens(s) * flip(s)
  right, left = (agree, disagree) if x == 1 else (disagree, agree)
  return (integrate.quad(right, t, np.inf, epsabs=0, epsrel=1e-12, limit=400)[0]
          + integrate.quad(left, -np.inf, t, epsabs=0, epsrel=1e-12, limit=400)[0])


def _np(tree):
  return jax.tree.map(np.asarray, tree)


# ---------------------------------------------------------------------------------------------------
# Closed forms.


@pytest.mark.parametrize("eps", [0.3, 1.0, 3.0, math.inf])
def test_report_probability_and_increments_match_quadrature(eps):
  sigma = 1.3
  ells = np.array([-12.0, -3.0, -0.4, 0.0, 1.7, 9.0])
  with jax.enable_x64(True):
    lp, lm = _np(D.log_report_probability(jnp.asarray(ells)[:, None], jnp.array([-1, 1]), sigma, eps))
    dp, dm = _np(D.llr_increments(jnp.asarray(ells), sigma, eps))
  qp = np.array([[_quad_report(e, th, sigma, eps, 1) for th in (-1, 1)] for e in ells])
  qm = np.array([[_quad_report(e, th, sigma, eps, -1) for th in (-1, 1)] for e in ells])
  np.testing.assert_allclose(np.exp(lp), qp, rtol=1e-9)
  np.testing.assert_allclose(np.exp(lm), qm, rtol=1e-9)
  np.testing.assert_allclose(qp + qm, 1.0, rtol=1e-12)   # the quadrature itself is consistent
  # Δ± = log-ratios of the quadrature probabilities (θ = +1 over θ = −1); where both are ≈ 1 the oracle's
  # log of a ratio of float64 numbers has absolute error ~1e-16, hence the atol
  np.testing.assert_allclose(dp, np.log(qp[:, 1] / qp[:, 0]), rtol=1e-8, atol=1e-14)
  np.testing.assert_allclose(dm, np.log(qm[:, 1] / qm[:, 0]), rtol=1e-8, atol=1e-14)


@pytest.mark.parametrize("eps", [5.0, 50.0, 500.0])
def test_large_epsilon_approaches_nonprivate(eps):
  """|P_ε(+1) − Φ(m/σ)| = ½|E[sign-weighted e^{−ε|d|}]| ≤ ½E[e^{−ε|d|}] ≤ 1/(εσ√(2π)) (density ≤ 1/(σ√2π))."""
  sigma = 0.8
  ells = np.linspace(-20, 20, 41)
  with jax.enable_x64(True):
    lp, _ = _np(D.log_report_probability(jnp.asarray(ells), 1, sigma, eps))
    lp_inf, _ = _np(D.log_report_probability(jnp.asarray(ells), 1, sigma, math.inf))
  m = 1 + 0.5 * sigma ** 2 * ells
  np.testing.assert_allclose(np.exp(lp_inf), stats.norm.cdf(m / sigma), rtol=1e-12, atol=1e-300)
  assert np.all(np.abs(np.exp(lp) - np.exp(lp_inf)) <= 1 / (eps * sigma * math.sqrt(2 * math.pi)) + 1e-12)


def test_increment_limits_and_mirror_symmetry():
  """Δ₋ → −2ε and Δ₊ → 0 as ℓ → ∞ (the Laplace tails' ratio e^{−2ε}); Δ₊(ℓ) = −Δ₋(−ℓ) (θ ↦ −θ)."""
  eps, sigma = 0.5, 1.0
  ells = np.linspace(-60, 60, 121)
  with jax.enable_x64(True):
    dp, dm = _np(D.llr_increments(jnp.asarray(ells), sigma, eps))
  np.testing.assert_allclose(dp, -dm[::-1], rtol=1e-12, atol=1e-15)
  # at ℓ = 60 the Gaussian corrections are ~Φ(−(31 − εσ²)) and the next Laplace term ~e^{−15}
  assert abs(dm[-1] + 2 * eps) < 1e-6 and 0 < dp[-1] < 1e-6
  # a +1 report is less informative the more the public already believes +1 (flat at 2ε far below 0)
  assert np.all(np.diff(dp) <= 1e-12) and np.all(np.diff(dp[ells > -5]) < 0)


def test_private_report_is_epsilon_dp_in_signal_distance():
  """max_x P(x | s)/P(x | s') ≤ e^{ε|s − s'|} on a grid (P(x = +1 | s) from the flip probability)."""
  eps, t = 0.7, 0.4
  s = np.linspace(-6, 6, 241)
  with jax.enable_x64(True):
    flip = np.asarray(D.flip_probability(jnp.asarray(s), t, eps))
  p_plus = np.where(s > t, 1 - flip, flip)
  for px in (p_plus, 1 - p_plus):
    ratio = np.abs(np.log(px)[:, None] - np.log(px)[None, :])
    assert np.all(ratio <= eps * np.abs(s[:, None] - s[None, :]) + 1e-12)


def test_smooth_randomized_response_equals_laplace_before_thresholding():
  """Both views report +1 with probability 1 − ½e^{−ε(s − t)} (s > t) / ½e^{−ε(t − s)} (s < t): Monte
  Carlo frequencies within 4 SE of the exact value for each signal, and within 4 SE of each other."""
  eps, t, n = 0.8, 0.3, 40000
  s = np.array([-2.0, -0.5, 0.2, 0.35, 1.0, 3.0])
  exact = np.where(s > t, 1 - 0.5 * np.exp(-eps * (s - t)), 0.5 * np.exp(-eps * (t - s)))
  k1, k2 = jax.random.split(jax.random.PRNGKey(3))
  sig = jnp.broadcast_to(jnp.asarray(s, jnp.float32), (n, len(s)))
  action, srr = D.smooth_randomized_response(k1, sig, t, eps)
  lap = D.laplace_threshold_report(k2, sig, t, eps)
  np.testing.assert_array_equal(np.asarray(action[0]), np.where(s > t, 1, -1))
  f_srr, f_lap = (np.mean(np.asarray(r) == 1, axis=0) for r in (srr, lap))
  se = np.sqrt(exact * (1 - exact) / n)
  assert np.all(np.abs(f_srr - exact) <= Z * se)
  assert np.all(np.abs(f_lap - exact) <= Z * se)
  assert np.all(np.abs(f_srr - f_lap) <= Z * np.sqrt(2) * se)
  # without privacy both are the plain threshold rule
  np.testing.assert_array_equal(np.asarray(D.smooth_randomized_response(k1, sig, t, math.inf)[1]),
                                np.asarray(D.laplace_threshold_report(k2, sig, t, math.inf)))


# ---------------------------------------------------------------------------------------------------
# Simulator (one compilation per privacy flag: 20000 paths × 40 agents, ℓ recorded after every agent).

PATHS, AGENTS = 20000, 40


@pytest.fixture(scope="module")
def private_paths():
  return _np(D.simulate_paths(jax.random.PRNGKey(11), PATHS, AGENTS, sigma=1.0, epsilon=2.0, record_every=1))


@pytest.fixture(scope="module")
def nonprivate_paths():
  return _np(D.simulate_paths(jax.random.PRNGKey(12), PATHS, AGENTS, sigma=1.0, epsilon=math.inf, record_every=1))


def _exact_three_reports(sigma, eps):
  """Brute force over the 8 report sequences of agents 1..3: ℓ_4 and its probability under θ = +1."""
  out = {}
  with jax.enable_x64(True):
    for xs in itertools.product((1, -1), repeat=3):
      ell, prob = 0.0, 1.0
      for x in xs:
        lp, lm = D.log_report_probability(jnp.float64(ell), 1, sigma, eps)
        lp_n, lm_n = D.log_report_probability(jnp.float64(ell), -1, sigma, eps)
        prob *= math.exp(float(lp if x == 1 else lm))
        ell += float((lp - lp_n) if x == 1 else (lm - lm_n))   # Bayes' rule, from the probabilities
      out[round(ell, 9)] = out.get(round(ell, 9), 0.0) + prob
  return out


@pytest.mark.parametrize("which", ["private", "nonprivate"])
def test_simulated_llr_after_three_agents_matches_enumeration(which, request):
  paths = request.getfixturevalue(f"{which}_paths")
  eps = 2.0 if which == "private" else math.inf
  exact = _exact_three_reports(1.0, eps)
  got = np.round(paths.llr[:, 2], 9)
  assert set(np.unique(got)) <= set(exact)            # only the 8 enumerated values occur
  for value, prob in exact.items():
    freq = np.mean(got == value)
    assert abs(freq - prob) <= Z * math.sqrt(prob * (1 - prob) / PATHS) + 1e-12, (value, freq, prob)


@pytest.mark.parametrize("which", ["private", "nonprivate"])
def test_first_correct_report_matches_exact_law(which, request):
  paths = request.getfixturevalue(f"{which}_paths")
  eps = 2.0 if which == "private" else math.inf
  law = _np(D.first_report_survival(AGENTS, 1.0, eps))
  tau = np.where(paths.first_correct_report == 0, AGENTS + 1, paths.first_correct_report)
  for k in (1, 2, 3, 5, 10, 20, 39):
    p = law.survival[k]
    freq = np.mean(tau > k)
    assert abs(freq - p) <= Z * math.sqrt(p * (1 - p) / PATHS), (k, freq, p)
  if which == "nonprivate":   # actions are reports
    np.testing.assert_array_equal(paths.first_correct_action, paths.first_correct_report)
    np.testing.assert_array_equal(paths.wrong_actions, paths.wrong_reports)
  # the LLR is the log-likelihood ratio of the reports: E[e^{−ℓ} | θ = +1] = 1 (a martingale), after 3 agents
  lr = np.exp(-paths.llr[:, 2])
  assert abs(lr.mean() - 1) <= Z * lr.std() / math.sqrt(PATHS)


def test_first_report_tail_exponent_matches_exact_law():
  """The exact law's local log-log slope at k ~ 10^5 approaches −h, h = 2/(εσ²(1 − e^{−2ε})); the
  approach is O(1/ln k) (the wrong-path LLR has an O(1) offset), so 5 % is allowed at k = 10^5."""
  for eps in (0.5, 1.0):
    law = _np(D.first_report_survival(100_000, 1.0, eps))
    k = np.array([50_000, 100_000])
    slope = np.diff(np.log(law.survival[k]))[0] / np.diff(np.log(k))[0]
    h = D.first_report_tail_exponent(eps, 1.0)
    assert abs(-slope - h) <= 0.05 * h, (eps, slope, h)
    assert law.partial_mean[-1] - law.partial_mean[-2] < 1e-4 * law.partial_mean[-1]   # converged mean


# ---------------------------------------------------------------------------------------------------
# Stopping time.


def test_bellman_matches_monte_carlo():
  b, eps, n = 2.0, 1.0, 20000
  sol = D.bellman_stopping_time(b, 1.0, eps, grid_size=1601)
  fine, grid_err = float(sol.at_zero), float(sol.grid_error)
  mc = _np(D.stopping_times(jax.random.PRNGKey(5), b, n, 1.0, eps, cap=100_000))
  assert mc.stopped.all()
  se = mc.time.std() / math.sqrt(n)
  assert grid_err < se   # the grid is fine enough for this comparison
  assert abs(mc.time.mean() - fine) <= Z * se + grid_err, (mc.time.mean(), se, fine, grid_err)
  # τ_B ≥ 1 and the first report can only stop when |Δ±(0)| ≥ B
  assert mc.time.min() >= 1


# ---------------------------------------------------------------------------------------------------
# Binary signals.

# switch points ε_3..ε_6 tabulated in the paper file from the authors' released `transition` formula
PAPER_SWITCH = {0.7: (1.158, 0.733, 0.540, 0.429), 0.55: (1.102, 0.695, 0.513, 0.407),
                0.9: (1.466, 0.940, 0.697, 0.554)}


@pytest.mark.parametrize("p", sorted(PAPER_SWITCH))
def test_switch_points_match_paper_and_threshold_definition(p):
  eps_k = Bn.switch_points(p, 6)
  np.testing.assert_allclose(eps_k, PAPER_SWITCH[p], atol=5e-4)   # the table has 3 decimals
  for k, e in zip(range(3, 7), eps_k):   # k(ε) = k − 1 just above ε_k, k at and just below
    assert Bn.cascade_threshold(e * (1 + 1e-6), p) == k - 1
    assert Bn.cascade_threshold(e * (1 - 1e-6), p) == k
  assert Bn.cascade_threshold(math.inf, p) == 2
  assert Bn.correct_cascade_probability(math.inf, p) == pytest.approx(Bn.nonprivate_cascade_probability(p), rel=1e-12)


def test_binary_simulation_cascades_match_gamblers_ruin():
  """Emergent cascade threshold (Bayesian agents, no k in the simulator) = k(ε) on both sides of each
  switch point, and P(correct cascade) = 1/(1 + ((1 − q)/q)^k) within 4 SE."""
  p, n = 0.7, 4000
  eps_k = Bn.switch_points(p, 5)
  grid = [math.inf, 3.0] + [e * f for e in eps_k for f in (1.01, 0.99)]
  for i, eps in enumerate(grid):
    r = _np(Bn.simulate_paths(jax.random.PRNGKey(100 + i), n, 300, p, eps))
    assert np.all(r.cascade_time > 0)
    np.testing.assert_array_equal(r.net_reports, Bn.cascade_threshold(eps, p))
    prob = Bn.correct_cascade_probability(eps, p)
    freq = np.mean(r.cascade_action == 1)
    assert abs(freq - prob) <= Z * math.sqrt(prob * (1 - prob) / n), (eps, freq, prob)
  # privacy lowers the correct-cascade probability below the non-private value at every ε on the grid
  assert all(Bn.correct_cascade_probability(e, p) < Bn.nonprivate_cascade_probability(p) for e in grid[1:])


# ---------------------------------------------------------------------------------------------------
# Input validation.


def test_inputs_are_validated():
  key = jax.random.PRNGKey(0)
  with pytest.raises(ValueError, match="epsilon"):
    D.llr_increments(0.0, 1.0, 0.0)
  with pytest.raises(TypeError, match="epsilon"):
    D.llr_increments(0.0, 1.0, "1")
  with pytest.raises(ValueError, match="sigma"):
    D.log_report_probability(0.0, 1, -1.0, 1.0)
  with pytest.raises(ValueError, match="theta"):
    D.simulate(key, 10, 1.0, 1.0, theta=0)
  with pytest.raises(ValueError, match="n_agents"):
    D.simulate_paths(key, 2, 10, record_every=3)
  with pytest.raises(TypeError, match="key"):
    D.simulate(0, 10)
  with pytest.raises(ValueError, match="threshold"):
    D.bellman_stopping_time(-1.0)
  with pytest.raises(ValueError, match="grid_size"):
    D.bellman_stopping_time(1.0, grid_size=3)
  with pytest.raises(ValueError, match="grid_size"):
    D.bellman_stopping_time(1.0, grid_size=400)
  with pytest.raises(ValueError, match="p"):
    Bn.simulate_paths(key, 2, 10, 0.4, 1.0)
  with pytest.raises(ValueError, match="k"):
    Bn.switch_point(2, 0.7)
  with pytest.raises(TypeError, match="signal"):
    D.smooth_randomized_response(key, jnp.arange(3), 0.0, 1.0)
  with pytest.raises(ValueError, match="epsilon"):
    D.stopping_constant(math.inf)


# ---------------------------------------------------------------------------------------------------
# Derivatives and traced inputs.


def _quad_report_derivatives(ell: float, theta: int, sigma: float, eps: float) -> tuple[float, float, float]:
  """(P, ∂P/∂ε, ∂P/∂σ) of P(x = +1 | ℓ, θ) by quadrature. With d = s − t, t = −σ²ℓ/2, P = E[h(d)] where
  h(d) = 1{d > 0}(1 − ½e^{−εd}) + 1{d < 0}½e^{εd} (continuous at 0): ∂h/∂ε = ½ d e^{−ε|d|}, and with
  s = θ + σz, ∂P/∂σ = E[h'(d)(z + σℓ)] with h'(d) = ½ε e^{−ε|d|}."""
  t = -0.5 * sigma ** 2 * ell
  dens = stats.norm(theta, sigma).pdf
  h = lambda s: (1 - 0.5 * math.exp(-eps * (s - t))) if s > t else 0.5 * math.exp(eps * (s - t))
  dh_de = lambda s: 0.5 * (s - t) * math.exp(-eps * abs(s - t))
  dh_ds = lambda s: 0.5 * eps * math.exp(-eps * abs(s - t)) * ((s - theta) / sigma + sigma * ell)
  quad = lambda g: sum(integrate.quad(lambda s: dens(s) * g(s), a, b, epsabs=0, epsrel=1e-12, limit=400)[0]
                       for a, b in ((-np.inf, t), (t, np.inf)))
  return quad(h), quad(dh_de), quad(dh_ds)


def test_report_probability_derivatives_in_sigma_and_epsilon_match_quadrature():
  """d log P(x = +1)/dε and /dσ through the JAX-scalar path (the Grad battery checks them only against finite
  differences) against quadrature of the differentiated integrand."""
  sigma, eps = 1.2, 0.7
  ells = [-2.0, 0.0, 1.5]
  with jax.enable_x64(True):
    f = lambda e, s, ell: D.log_report_probability(ell, 1, s, e)[0]
    ge, gs = jax.vmap(jax.grad(f, argnums=(0, 1)), in_axes=(None, None, 0))(
        jnp.float64(eps), jnp.float64(sigma), jnp.asarray(ells))
    value = np.asarray(jax.vmap(lambda ell: f(jnp.float64(eps), jnp.float64(sigma), ell))(jnp.asarray(ells)))
  for i, ell in enumerate(ells):
    p, dp_de, dp_ds = _quad_report_derivatives(ell, 1, sigma, eps)
    assert math.isclose(math.exp(value[i]), p, rel_tol=1e-9)
    assert math.isclose(float(ge[i]), dp_de / p, rel_tol=1e-8, abs_tol=1e-12)
    assert math.isclose(float(gs[i]), dp_ds / p, rel_tol=1e-8, abs_tol=1e-12)


def test_closed_forms_take_jax_scalars_and_match_the_host_values():
  """The JAX-scalar path of each closed form equals its host (math) value; ε = ∞ gives the same limits."""
  with jax.enable_x64(True):
    j = jnp.float64
    pairs = [
        (D.private_llr_slope(j(0.7), j(1.2)), D.private_llr_slope(0.7, 1.2)),
        (D.private_llr_slope(j(math.inf), j(1.2)), 0.0),
        (D.first_report_tail_exponent(j(0.7), j(1.2)), D.first_report_tail_exponent(0.7, 1.2)),
        (D.first_report_tail_exponent(j(math.inf), j(1.2)), 0.0),
        (D.nonprivate_llr_constant(j(1.2)), 2 * math.sqrt(2) / 1.2),
        (D.stopping_constant(j(0.7), j(1.2)), D.stopping_constant(0.7, 1.2)),
        (D.asymptotic_stopping_time(j(3.0), j(0.7), j(1.2)), D.asymptotic_stopping_time(3.0, 0.7, 1.2)),
        (D.report_accuracy(j(0.8), j(0.7)), D.report_accuracy(0.8, 0.7)),
        (D.report_accuracy(j(math.inf), j(0.7)), 0.7),
        (D.correct_cascade_probability(j(0.5), j(0.7)), D.correct_cascade_probability(0.5, 0.7)),
        (D.cascade_threshold(j(0.5), j(0.7)), D.cascade_threshold(0.5, 0.7)),
        (D.nonprivate_cascade_probability(j(0.7)), D.nonprivate_cascade_probability(0.7)),
    ]
    for got, want in pairs:
      assert math.isclose(float(got), want, rel_tol=1e-13, abs_tol=1e-300), (got, want)
    np.testing.assert_allclose(np.asarray(D.switch_points(j(0.7), 6)), D.switch_points(0.7, 6), rtol=1e-13)
    law = D.first_report_survival(6, j(1.0), j(0.5))
  host = D.first_report_survival(6, 1.0, 0.5)
  np.testing.assert_allclose(np.asarray(law.survival), np.asarray(host.survival), rtol=1e-13)


def test_simulators_refuse_differentiation_and_run_under_jit():
  key = jax.random.PRNGKey(0)
  with jax.enable_x64(True):
    with pytest.raises(TypeError, match="simulate_paths is not differentiable"):
      jax.grad(lambda s: D.simulate_paths(key, 2, 4, s, 1.0).llr.sum())(jnp.float64(1.0))
    with pytest.raises(TypeError, match="cascade_threshold is not differentiable"):
      jax.grad(lambda e: D.cascade_threshold(e, 0.7).astype(float) * e)(jnp.float64(1.0))
    # a traced σ without differentiation is fine: same paths as the Python number
    traced = jax.jit(lambda s: D.simulate_paths(key, 2, 6, s, 0.5).llr)(jnp.float64(1.0))
  np.testing.assert_array_equal(np.asarray(traced), np.asarray(D.simulate_paths(key, 2, 6, 1.0, 0.5).llr))


# ---------------------------------------------------------------------------------------------------
# experiment.py: the claims' experiments.


def test_continuous_runs_are_the_simulator_with_one_seed_per_epsilon():
  # the shapes of the simulator fixtures above (one compilation)
  n, runs = D.continuous_runs(2, PATHS, AGENTS, 1.0, [2.0, math.inf])
  np.testing.assert_array_equal(n, np.arange(1, AGENTS + 1))
  assert list(runs) == [2.0, math.inf] and runs[2.0].llr.shape == (PATHS, AGENTS)
  direct = D.simulate_paths(jax.random.PRNGKey(2001), PATHS, AGENTS, 1.0, math.inf)
  np.testing.assert_array_equal(runs[math.inf].llr, np.asarray(direct.llr))
  with pytest.raises(ValueError, match="continuous_runs: epsilons"):
    D.continuous_runs(0, 3, 20, 1.0, [])


def test_llr_growth_of_exact_log_and_sqrt_log_curves():
  n = np.arange(10, 2001, 10)
  offsets = np.array([[0.0], [0.3], [-1.2]])
  g = D.llr_growth(n, 3.0 * np.log(n)[None] + offsets, fit_from=100)
  assert g["slope"] == pytest.approx(3.0, abs=1e-9) and g["slope_se"] == pytest.approx(0.0, abs=1e-9)
  np.testing.assert_allclose(g["mean"], 3.0 * np.log(n) - 0.3, atol=1e-12)
  flat = D.llr_growth(n, np.repeat(2.0 * np.sqrt(np.log(n))[None], 2, 0), fit_from=100)
  assert flat["flat_ratio"] == pytest.approx(1.0, abs=1e-12)
  with pytest.raises(ValueError, match="llr_growth: n, llr"):
    D.llr_growth(n, np.zeros((1, n.size)), fit_from=100)


def test_first_report_tail_exponent_and_nonprivate_divergence():
  r = D.first_report_tail(10**4, 1.0, 1.0)
  assert abs(-r["slope"] - r["h"]) <= 0.05 * r["h"] and r["slope"] < -1 and math.isfinite(r["tail"])
  assert r["mean"] >= r["mean_k1"] >= 1.0      # Σ_{k ≤ K} P(τ > k) ≥ P(τ > 0) = 1, increasing in K
  np_ = D.first_report_tail(10**4, 1.0, math.inf)
  assert np_["slope"] > -1 and np_["k_s_ratio"] > 1 and np_["tail"] == math.inf


def test_switch_point_bisection_finds_the_tabulated_switch_point():
  key = jax.random.PRNGKey(3)
  pred = float(Bn.switch_points(0.7, 3)[0])
  r = D.switch_point_bisection(key, 0.7, pred, 3, steps=6)
  assert r["low_threshold"] >= 3 and r["high_threshold"] <= 2
  assert abs(r["measured"] - pred) <= r["width"] and abs(r["measured"] - 1.158) <= r["width"] + 5e-4
  miss = D.switch_point_bisection(key, 0.7, 3.0, 3, steps=2)       # no change of threshold in [2.7, 3.3]
  assert math.isnan(miss["measured"])
  with pytest.raises(ValueError, match="switch_point_bisection: width"):
    D.switch_point_bisection(key, 0.7, pred, 3, steps=2, width=1.5)


def test_cascade_frequency_is_the_gamblers_ruin_probability():
  paths, p, eps = 4000, 0.7, 1.5           # the shapes of the cascade test above (one compilation)
  r = D.cascade_frequency(jax.random.PRNGKey(4), p, eps, paths, n_agents=300)
  q = Bn.correct_cascade_probability(eps, p)
  assert r["all_formed"] and abs(r["correct"] - q) <= Z * math.sqrt(q * (1 - q) / paths)


def test_stopping_cell_monte_carlo_matches_bellman():
  # the shapes of test_bellman_matches_monte_carlo (one compilation), another key
  c = D.stopping_cell(jax.random.PRNGKey(6), 2.0, 20000, 1.0, 1.0, 1601, cap=100_000)
  assert c["stopped"] == 1.0 and abs(c["mc_mean"] - c["bellman"]) <= Z * c["mc_se"] + c["grid_error"]
