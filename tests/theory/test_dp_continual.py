"""Oracle tests for theory.dp_continual (Jain, Raskhodnikova, Sivakumar, Smith, "The Price of Differential
Privacy under Continual Observation", ICML 2023, arXiv:2112.00828).

Oracles: numpy cumulative sums and Python popcounts for the dyadic decomposition; the closed form
``Var = popcount(t) · v`` against Monte Carlo; sensitivities by brute force over every pair of neighbouring
streams of a tiny instance; the Laplace privacy loss computed from the released noisy nodes; the exact
Gaussian δ(ε) recomputed with scipy; Laplace / Gumbel / exponential-mechanism laws (scipy KS tests,
closed-form probabilities, quadrature); Monte Carlo privacy ratios of the sparse-vector mechanism.

Tolerances: Monte Carlo comparisons use 4 standard errors of the Monte Carlo estimate (two-sided false
failure probability 6e-5 per check; at most ~40 checks per test); exact integer arithmetic is compared
exactly (float32 / float64 represent these small counts exactly); float64 closed forms to 1e-9.
"""
from __future__ import annotations

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

import theory.dp_continual as dc
from theory.common import privacy

Z = 4.0


def _all_streams(T: int, d: int) -> np.ndarray:
  """Every stream in {0, 1}^{T×d}: ``[2^{Td}, T, d]``."""
  bits = np.array(list(itertools.product([0.0, 1.0], repeat=T * d)))
  return bits.reshape(-1, T, d)


def _neighbour_pairs(streams: np.ndarray):
  """Index pairs (a, b) of streams that differ in exactly one whole row (event-level neighbours)."""
  n, T, d = streams.shape
  rows = streams.reshape(n, T, d)
  diff_rows = (rows[:, None] != rows[None, :]).any(-1).sum(-1)
  a, b = np.nonzero(diff_rows == 1)
  return a, b


# ---------------------------------------------------------------------------------------------------
# Dyadic decomposition.


@pytest.mark.parametrize("T", [1, 7, 37])
def test_prefix_from_exact_nodes_is_cumsum_and_uses_popcount_nodes(T):
  rng = np.random.default_rng(T)
  x = rng.integers(0, 2, size=(T, 3)).astype(np.float32)
  nodes = dc.node_sums(x)
  assert len(nodes) == T.bit_length()
  # exact node sums assemble into the exact prefix sums (integers: exact in float32)
  np.testing.assert_array_equal(np.asarray(dc.prefix_from_nodes(nodes)), np.cumsum(x, axis=0))
  # with every node set to 1, the release at t counts the nodes it uses: popcount(t) (Python's bin)
  ones = [jnp.ones_like(n) for n in nodes]
  used = np.asarray(dc.prefix_from_nodes(ones))[:, 0]
  np.testing.assert_array_equal(used, [bin(t).count("1") for t in range(1, T + 1)])
  np.testing.assert_array_equal(np.asarray(dc.popcount(jnp.arange(1, T + 1))), used)


def test_node_sums_brute_force():
  """Node k of level h is the sum of rows k·2^h + 1 .. (k+1)·2^h, for every node with right end ≤ T."""
  T = 11
  x = np.random.default_rng(0).random((T, 2)).astype(np.float64)
  with jax.enable_x64(True):
    nodes = dc.node_sums(x)
    for h, level in enumerate(nodes):
      assert level.shape == (T >> h, 2)
      for k in range(T >> h):
        np.testing.assert_allclose(np.asarray(level[k]), x[k * 2**h:(k + 1) * 2**h].sum(0), rtol=1e-12)


# ---------------------------------------------------------------------------------------------------
# Error variance = popcount(t) · per-node variance (Monte Carlo within its standard error).


@pytest.mark.parametrize("noise,T", [("laplace", 16), ("gaussian", 13)])
def test_tree_error_variance_is_popcount_times_node_variance(noise, T):
  d, eps, delta, n = 2, 1.0, 1e-6, 20000
  x = np.random.default_rng(1).integers(0, 2, size=(T, d)).astype(np.float64)
  with jax.enable_x64(True):
    cal = dc.tree_calibration(T, d, eps, delta, noise)
    keys = jax.random.split(jax.random.PRNGKey(7), n)
    est = jax.vmap(lambda k: dc.tree_counter(k, x, eps, delta, noise))(keys)
    err = np.asarray(est) - np.cumsum(x, axis=0)[None]
  # independent node variance: Laplace b = d (L+1)/ε (so 2b²); Gaussian σ² of the calibration (checked below)
  v = 2 * (d * T.bit_length() / eps) ** 2 if noise == "laplace" else cal.scale ** 2
  assert cal.node_variance == pytest.approx(v, rel=1e-12)
  for t in range(1, T + 1):
    pc = bin(t).count("1")
    e = err[:, t - 1, :].ravel()  # the d columns are independent given x: 2n draws
    sq = e ** 2
    assert abs(sq.mean() - pc * v) <= Z * sq.std(ddof=1) / math.sqrt(sq.size), (t, sq.mean(), pc * v)
    assert abs(e.mean()) <= Z * e.std(ddof=1) / math.sqrt(e.size)
  np.testing.assert_allclose(np.asarray(dc.tree_error_variance(jnp.arange(1, T + 1), v)),
                             [bin(t).count("1") * v for t in range(1, T + 1)], rtol=1e-6)


@pytest.mark.parametrize("eps,delta,sens", [(1.0, 1e-7, 3.0), (0.3, 1e-5, 1.0), (4.0, 1e-9, 5.0)])
def test_calibrated_gaussian_sigma_is_exactly_tight(eps, delta, sens):
  """δ(σ) from scipy (Balle & Wang 2018, Thm. 8) equals the target at the returned σ."""
  sigma = dc.calibrated_gaussian_sigma(sens, eps, delta)
  a, c = sens / (2 * sigma), eps * sigma / sens
  got = stats.norm.cdf(a - c) - math.exp(eps) * stats.norm.cdf(-a - c)
  assert got <= delta * (1 + 1e-6)
  assert got >= delta * (1 - 1e-4)


# ---------------------------------------------------------------------------------------------------
# Sensitivities by brute force over all neighbouring streams.


@pytest.mark.parametrize("T,d", [(4, 1), (5, 1), (4, 2), (3, 3)])
def test_sensitivities_brute_force(T, d):
  streams = _all_streams(T, d)
  a, b = _neighbour_pairs(streams)
  nodes = [np.asarray(jnp.concatenate([n.reshape(-1) for n in dc.node_sums(s)])) for s in streams]
  nodes = np.stack(nodes)
  dn = nodes[a] - nodes[b]
  assert np.abs(dn).sum(1).max() == dc.node_l1_sensitivity(T, d) == d * T.bit_length()
  assert (dn ** 2).sum(1).max() == d * T.bit_length()  # squared L2, exact in integers
  assert dc.node_l2_sensitivity(T, d) == pytest.approx(math.sqrt(d * T.bit_length()), rel=1e-15)
  assert dc.tree_calibration(T, d, 1.0).sensitivity == d * T.bit_length()
  cum = np.cumsum(streams, axis=1)                      # [n, T, d]
  # all T prefix vectors (fresh-noise baseline): L1 sensitivity T d; one row (naive): d; final count: d
  assert np.abs(cum[a] - cum[b]).sum((1, 2)).max() == T * d
  assert np.abs(streams[a] - streams[b]).sum((1, 2)).max() == d
  assert np.abs(cum[a, -1] - cum[b, -1]).sum(1).max() == d
  # MaxSum at every t: sensitivity 1 (the Laplace release of the batch and the SVT update)
  f = cum.max(-1)
  assert np.abs(f[a] - f[b]).max() == 1
  assert dc.svt_parameters(T, 1.0, problem="maxsum").sensitivity == 1
  # each column sum (the exponential mechanism's utility): 1
  assert np.abs(cum[a] - cum[b]).max() == 1
  # SumSelect regret max_j S_j(t) − S_ĵ(t) for any fixed ĵ: 2 when d ≥ 2 (attained), 0 when d = 1
  reg = f[..., None] - cum                              # [n, T, j]
  expected = 2 if d >= 2 else 0
  assert np.abs(reg[a] - reg[b]).max() == expected
  assert dc.svt_parameters(T, 1.0, problem="sumselect").sensitivity == 2


# ---------------------------------------------------------------------------------------------------
# Privacy loss of the Laplace tree.


def test_laplace_tree_privacy_loss_bounded_by_epsilon_and_attained():
  """log p(nodes | x) − log p(nodes | x') = Σ_nodes (|z − v'| − |z − v|)/b ≤ ε for every neighbouring pair
  and every output z (sampled from either stream, and at extreme outputs where it equals ε)."""
  T, d, eps = 4, 2, 0.7
  streams = _all_streams(T, d)
  a, b = _neighbour_pairs(streams)
  with jax.enable_x64(True):
    exact = np.stack([np.concatenate([np.asarray(n).ravel() for n in dc.node_sums(s)]) for s in streams])
    b_scale = dc.tree_calibration(T, d, eps).scale
    rng = np.random.default_rng(3)
    sel = rng.choice(len(a), size=400, replace=False)
    worst = -np.inf
    for i, p in enumerate(sel):
      rel = dc.tree_release(jax.random.PRNGKey(i), streams[a[p]], eps)
      z = np.concatenate([np.asarray(n).ravel() for n in rel.nodes])
      loss = np.asarray(privacy.laplace_privacy_loss(z, exact[a[p]], exact[b[p]], b_scale)).sum()
      # the same loss from scipy's Laplace log densities (independent formula)
      ref = (stats.laplace.logpdf(z, exact[a[p]], b_scale) - stats.laplace.logpdf(z, exact[b[p]], b_scale)).sum()
      assert abs(loss - ref) <= 1e-9
      assert loss <= eps + 1e-12
      worst = max(worst, loss)
    # an output beyond both neighbours in the direction of x attains the bound for a full-sensitivity pair
    x0, x1 = np.zeros((T, d)), np.zeros((T, d))
    x1[0] = 1.0
    v0, v1 = (np.concatenate([np.asarray(n).ravel() for n in dc.node_sums(s)]) for s in (x0, x1))
    z = np.where(v1 > v0, v1 + 10.0, v1 - 10.0)
    attained = (stats.laplace.logpdf(z, v1, b_scale) - stats.laplace.logpdf(z, v0, b_scale)).sum()
    assert attained == pytest.approx(eps, rel=1e-12)
  assert worst > 0


# ---------------------------------------------------------------------------------------------------
# Baselines: error laws.


def test_counting_baselines_error_variance():
  """Naive: Var = 2 t (d/ε)²; fresh noise per prefix: Var = 2 (T d/ε)² (Monte Carlo within 4 SE)."""
  T, d, eps, n = 12, 2, 0.5, 20000
  x = np.random.default_rng(2).integers(0, 2, size=(T, d)).astype(np.float64)
  with jax.enable_x64(True):
    keys = jax.random.split(jax.random.PRNGKey(3), n)
    naive = np.asarray(jax.vmap(lambda k: dc.naive_counter(k, x, eps))(keys)) - np.cumsum(x, 0)
    fresh = np.asarray(jax.vmap(lambda k: dc.fresh_prefix_counter(k, x, eps))(keys)) - np.cumsum(x, 0)
  for t in (1, 5, 12):
    for err, v in ((naive, 2 * t * (d / eps) ** 2), (fresh, 2 * (T * d / eps) ** 2)):
      sq = err[:, t - 1].ravel() ** 2
      assert abs(sq.mean() - v) <= Z * sq.std(ddof=1) / math.sqrt(sq.size)


def test_batch_max_sum_error_is_laplace():
  """f_T + Lap(1/ε) − f_T ~ Lap(1/ε) (KS test; mean absolute error 1/ε)."""
  x = np.random.default_rng(4).integers(0, 2, size=(30, 5)).astype(np.float32)
  eps = 0.8
  keys = jax.random.split(jax.random.PRNGKey(5), 5000)
  err = np.asarray(jax.vmap(lambda k: dc.batch_max_sum(k, x, eps))(keys)) - np.cumsum(x, 0)[-1].max()
  assert stats.kstest(err, stats.laplace(scale=1 / eps).cdf).pvalue > 1e-4
  assert abs(np.abs(err).mean() - 1 / eps) <= Z * np.abs(err).std(ddof=1) / math.sqrt(err.size)


def test_batch_count_error_is_laplace():
  x = np.random.default_rng(8).integers(0, 2, size=(20, 3)).astype(np.float32)
  keys = jax.random.split(jax.random.PRNGKey(9), 3000)
  err = np.asarray(jax.vmap(lambda k: dc.batch_count(k, x, 2.0))(keys)) - x.sum(0)
  assert stats.kstest(err.ravel(), stats.laplace(scale=3 / 2.0).cdf).pvalue > 1e-4


def test_batch_sum_select_is_the_exponential_mechanism():
  """P(ĵ = j) = exp(ε S_j/2) / Σ_k exp(ε S_k/2): frequencies within 4 SE."""
  x = np.zeros((6, 3), np.float32)
  x[:4, 0] = 1
  x[:2, 1] = 1  # S = (4, 2, 0)
  eps, n = 1.0, 40000
  keys = jax.random.split(jax.random.PRNGKey(6), n)
  sel = np.asarray(jax.vmap(lambda k: dc.batch_sum_select(k, x, eps))(keys))
  w = np.exp(eps * np.array([4.0, 2.0, 0.0]) / 2)
  p = w / w.sum()
  for j in range(3):
    f = (sel == j).mean()
    assert abs(f - p[j]) <= Z * math.sqrt(p[j] * (1 - p[j]) / n)


# ---------------------------------------------------------------------------------------------------
# Sparse-vector mechanism.


def test_svt_first_step_trigger_probability_matches_quadrature():
  """At t = 1 with q_1 = f_1 − 0 = 1: P(update) = P(1 + ν ≥ ℓ + ρ), ν ~ Lap(4Δ/ε₁), ρ ~ Lap(2Δ/ε₁), by
  quadrature over ρ (an independent check of the noise scales and of the comparison)."""
  x = np.ones((3, 2), np.float32)
  ell, n = 6.0, 40000
  rel, p = jax.vmap(lambda k: dc.svt_max_sum(k, x, 2.0, 0.0, threshold=ell, max_updates=3)[0])(
      jax.random.split(jax.random.PRNGKey(11), n)), dc.svt_parameters(3, 2.0, 0.0, threshold=ell, max_updates=3)
  assert p.query_scale == pytest.approx(4 / (0.75 * 2.0 / 3)) and p.threshold_scale == pytest.approx(p.query_scale / 2)
  nu, rho = stats.laplace(scale=p.query_scale), stats.laplace(scale=p.threshold_scale)
  prob = integrate.quad(lambda r: nu.sf(ell + r - 1) * rho.pdf(r), -np.inf, np.inf, epsabs=1e-12)[0]
  freq = np.asarray(rel.updated[:, 0]).mean()
  assert abs(freq - prob) <= Z * math.sqrt(prob * (1 - prob) / n)


def test_svt_limit_cases_and_update_cap():
  x = np.random.default_rng(12).integers(0, 2, size=(64, 4)).astype(np.float32)
  f = np.cumsum(x, 0).max(1)
  # a huge threshold never updates: the output stays at the public start value 0
  rel, _ = dc.svt_max_sum(jax.random.PRNGKey(0), x, 1.0, 0.0, threshold=1e9, max_updates=5)
  assert int(rel.updates) == 0 and np.all(np.asarray(rel.value) == 0)
  # ℓ = 0 with negligible noise (huge ε) on a stream whose MaxSum grows by 1 per step (q_t = 1 > 0):
  # updates at each of the first c steps, then none; the output freezes at f_c (+ noise of scale ≈ 1e-5)
  ones = np.ones((64, 4), np.float32)
  rel, p = dc.svt_max_sum(jax.random.PRNGKey(1), ones, 1e6, 0.0, threshold=0.0, max_updates=7)
  ups = np.asarray(rel.updated)
  assert int(rel.updates) == 7 and ups[:7].all() and not ups[7:].any()
  np.testing.assert_allclose(np.asarray(rel.value)[:7], np.arange(1, 8), atol=1e-2)
  assert np.all(np.abs(np.asarray(rel.value)[6:] - 7) < 1e-2)
  # the default parameters never exceed the cap on a stream whose MaxSum grows by 1 at every step
  ones = np.ones((2000, 3), np.float32)
  assert f[-1] > 0
  keys = jax.random.split(jax.random.PRNGKey(2), 20)
  p = dc.svt_parameters(2000, 1.0, 1e-6)
  rels = jax.vmap(lambda k: dc.svt_max_sum(k, ones, 1.0, 1e-6)[0])(keys)
  assert np.all(np.asarray(rels.updates) <= p.max_updates)
  assert np.all(np.asarray(rels.updated).sum(1) == np.asarray(rels.updates))


def test_svt_privacy_accounting():
  """Pure DP: c rounds of ε₀ = ε/c; approximate DP: the advanced-composition guarantee equals the target."""
  p = dc.svt_parameters(1000, 1.0, 0.0, threshold=50.0, max_updates=40)
  assert p.eps_round == pytest.approx(1 / 40) and p.total.epsilon == pytest.approx(1.0)
  assert p.eps_test + p.eps_release == pytest.approx(p.eps_round)
  q = dc.svt_parameters(10**6, 1.0, 1e-7, threshold=100.0, max_updates=2000)
  total = privacy.advanced_composition(q.eps_round, 0.0, 2000, 1e-7)
  assert q.eps_round > 1 / 2000 and total.epsilon == pytest.approx(1.0, rel=1e-6)
  # explicit formula (Dwork & Roth, Thm. 3.20), independent of the shared helper
  e0, k = q.eps_round, 2000
  assert math.sqrt(2 * k * math.log(1e7)) * e0 + k * e0 * math.expm1(e0) == pytest.approx(1.0, rel=1e-6)


@pytest.mark.parametrize("problem", ["maxsum", "sumselect"])
def test_svt_event_probabilities_within_e_epsilon(problem):
  """Pure ε-DP by Monte Carlo on a tiny neighbouring pair: for the event 'number of updates = k' (and
  'first update at t'), P(E | x) ≤ e^ε P(E | x') + 4 SE, both directions."""
  T, eps = 6, 1.0
  x = np.zeros((T, 2), np.float32)
  x[:, 0] = 1
  x2 = x.copy()
  x2[0] = [0.0, 1.0]  # neighbours: row 1 replaced
  n = 60000
  kw = dict(threshold=1.0, max_updates=3)

  def events(stream, seed):
    keys = jax.random.split(jax.random.PRNGKey(seed), n)
    rel = jax.vmap(lambda k: dc.svt_max_sum(k, stream, eps, 0.0, problem, **kw)[0])(keys)
    ups = np.asarray(rel.updated)
    first = np.where(ups.any(1), ups.argmax(1), T)
    return np.asarray(rel.updates), first

  (ca, fa), (cb, fb) = events(x, 21), events(x2, 22)
  for A, B in (((ca, fa), (cb, fb)), ((cb, fb), (ca, fa))):
    for va, vb, values in ((A[0], B[0], range(4)), (A[1], B[1], range(T + 1))):
      for v in values:
        pa, pb = (va == v).mean(), (vb == v).mean()
        se = math.sqrt(pa * (1 - pa) / n + math.exp(2 * eps) * pb * (1 - pb) / n)
        assert pa <= math.exp(eps) * pb + Z * se + 1e-12, (v, pa, pb)


def test_svt_sumselect_releases_near_argmax_on_a_clear_leader():
  """With a leading column that wins by far, the exponential mechanism's releases pick it (regret 0 after
  the first update); the regret helper agrees with a numpy computation."""
  T = 400
  x = np.zeros((T, 3), np.float32)
  x[:, 1] = 1
  x[::3, 0] = 1
  rel, _ = dc.svt_max_sum(jax.random.PRNGKey(4), x, 5.0, 1e-6, "sumselect")
  sel = np.asarray(rel.selected)
  reg = np.asarray(dc.selection_regret(x, rel.selected))
  s = np.cumsum(x, 0)
  np.testing.assert_array_equal(reg, s.max(1) - s[np.arange(T), sel])
  assert int(rel.updates) >= 1
  assert np.all(sel[np.asarray(rel.updated).argmax():] == 1)


# ---------------------------------------------------------------------------------------------------
# Continual release is causal; MaxSum from trees is post-processing.


def test_releases_are_causal():
  rng = np.random.default_rng(13)
  x = rng.integers(0, 2, size=(50, 3)).astype(np.float32)
  y = x.copy()
  y[30:] = 1 - y[30:]
  k = jax.random.PRNGKey(0)
  for fn in (lambda s: dc.tree_max_sum(k, s, 1.0, 1e-6).value,
             lambda s: dc.svt_max_sum(k, s, 1.0, 1e-6, threshold=5.0, max_updates=20)[0].value):
    np.testing.assert_array_equal(np.asarray(fn(x))[:30], np.asarray(fn(y))[:30])


def test_tree_max_sum_is_max_of_tree_counts():
  x = np.random.default_rng(14).integers(0, 2, size=(40, 5)).astype(np.float32)
  k = jax.random.PRNGKey(3)
  counts = np.asarray(dc.tree_counter(k, x, 1.0, 1e-6, "gaussian"))
  rel = dc.tree_max_sum(k, x, 1.0, 1e-6, "gaussian")
  np.testing.assert_array_equal(np.asarray(rel.value), counts.max(1))
  np.testing.assert_array_equal(np.asarray(rel.selected), counts.argmax(1))


# ---------------------------------------------------------------------------------------------------
# Input validation.


def test_input_validation():
  k = jax.random.PRNGKey(0)
  with pytest.raises(ValueError, match="stream"):
    dc.tree_counter(k, np.array([[0.0], [2.0]]), 1.0)
  with pytest.raises(ValueError, match="stream"):
    dc.tree_counter(k, np.zeros((2, 2, 2)), 1.0)
  with pytest.raises(TypeError, match="stream"):
    dc.check_stream(np.array(["a", "b"]))
  with pytest.raises(ValueError, match="epsilon"):
    dc.tree_counter(k, np.zeros(4), -1.0)
  with pytest.raises(TypeError, match="epsilon"):
    dc.naive_counter(k, np.zeros(4), "1")
  with pytest.raises(ValueError, match="delta"):
    dc.tree_counter(k, np.zeros(4), 1.0, 0.0, "gaussian")
  with pytest.raises(ValueError, match="noise"):
    dc.tree_counter(k, np.zeros(4), 1.0, 0.0, "cauchy")
  with pytest.raises(ValueError, match="problem"):
    dc.svt_parameters(10, 1.0, 0.0, problem="median")
  with pytest.raises(ValueError, match="max_updates"):
    dc.svt_parameters(10, 1.0, 0.0, threshold=1.0, max_updates=0)
  with pytest.raises(ValueError, match="rates"):
    dc.bernoulli_stream(k, 5, 2, rates=1.5)
  with pytest.raises(ValueError, match="horizon"):
    dc.num_levels(0)
  with pytest.raises(ValueError, match="selected"):
    dc.selection_regret(np.zeros((3, 2)), np.zeros(2, np.int32))


# ---------------------------------------------------------------------------------------------------
# JAX scalars and derivatives.


def test_calibrated_sigma_jax_path_and_implicit_derivatives():
  """The lax bisection gives the host σ (host stops at 1e-10 relative), and its derivatives are those of the
  implicit function δ(σ; Δ, ε) = δ, with scipy's closed forms ∂δ/∂σ = −Δ φ(a − c)/σ², ∂δ/∂ε = −e^ε Φ(−a − c)
  (a = Δ/2σ, c = εσ/Δ): dσ/dδ = 1/(∂δ/∂σ), dσ/dε = −(∂δ/∂ε)/(∂δ/∂σ); σ* is proportional to Δ (δ depends on
  σ/Δ only), so dσ/dΔ = σ/Δ."""
  sens, eps, delta = 1.7, 0.6, 1e-5
  host = dc.calibrated_gaussian_sigma(sens, eps, delta)
  with jax.enable_x64(True):
    args = (jnp.float64(sens), jnp.float64(eps), jnp.float64(delta))
    sigma = float(dc.calibrated_gaussian_sigma(*args))
    g_sens, g_eps, g_delta = (float(g) for g in jax.grad(dc.calibrated_gaussian_sigma, argnums=(0, 1, 2))(*args))
  assert math.isclose(sigma, host, rel_tol=2e-10)
  a, c = sens / (2 * sigma), eps * sigma / sens
  d_sigma = -sens * stats.norm.pdf(a - c) / sigma ** 2
  d_eps = -math.exp(eps) * stats.norm.cdf(-a - c)
  assert math.isclose(g_delta, 1 / d_sigma, rel_tol=1e-8)
  assert math.isclose(g_eps, -d_eps / d_sigma, rel_tol=1e-8)
  assert math.isclose(g_sens, sigma / sens, rel_tol=1e-8)


def test_mechanisms_differentiable_in_the_stream_and_refusing_where_discrete():
  """Given the key the tree release is the exact prefix sums plus fixed noise: its derivative in the stream is
  the cumulative-sum matrix. The sparse-vector releases, the 0/1 sampler and svt_parameters refuse."""
  key = jax.random.PRNGKey(0)
  x = np.array([[0.3, 0.9], [0.8, 0.1], [0.6, 0.4], [0.2, 0.7], [0.9, 0.5]])
  jac = np.asarray(jax.jacobian(lambda s: dc.tree_counter(key, s, 1.0)[:, 0])(jnp.asarray(x)))   # [T, T, d]
  np.testing.assert_array_equal(jac[:, :, 0], np.tril(np.ones((5, 5))))
  np.testing.assert_array_equal(jac[:, :, 1], 0.0)
  with pytest.raises(TypeError, match="svt_max_sum is not differentiable"):
    jax.grad(lambda s: dc.svt_max_sum(key, s, 1.0)[0].value.sum())(jnp.asarray(x))
  with pytest.raises(TypeError, match="bernoulli_stream is not differentiable"):
    jax.grad(lambda r: dc.bernoulli_stream(key, 4, 2, r).sum())(jnp.array([0.3, 0.6]))
  with pytest.raises(TypeError, match="svt_parameters.*not differentiable"):
    jax.grad(lambda e: dc.svt_parameters(16, e).threshold)(1.0)
  # the Laplace calibration is differentiable: b = d (L + 1)/ε
  g = jax.grad(lambda e: dc.tree_calibration(8, 2, e).scale)(jnp.float32(0.5))
  assert math.isclose(float(g), -2 * 4 / 0.25, rel_tol=1e-6)


def test_value_checks_under_jit_are_checkify_checks():
  """Out-of-range ids and times raise eagerly and are reported by checkify under jit."""
  from jax.experimental import checkify
  x = np.zeros((3, 2))
  with pytest.raises(ValueError, match=r"selection_regret: selected.*index \(1,\)"):
    dc.selection_regret(x, np.array([0, 2, 1]))
  err, _ = checkify.checkify(jax.jit(dc.selection_regret))(x, jnp.array([0, 2, 1]))
  assert "selection_regret: selected" in str(err.get())
  err, _ = checkify.checkify(jax.jit(dc.selection_regret))(x, jnp.array([0, 1, 1]))
  assert err.get() is None
  err, _ = checkify.checkify(jax.jit(dc.tree_error_variance))(jnp.array([0, 1, 2]), 1.0)
  assert "tree_error_variance: t" in str(err.get())


# ---------------------------------------------------------------------------------------------------
# experiment.py: the claims' replicated errors and the crossover dimension.


def test_counting_errors_batch_fresh_and_per_t_variance_match_closed_forms():
  T, eps, reps = 16, 1.0, 3000
  x = dc.seeded_stream(3, T, 1)
  assert x.shape == (T, 1) and set(np.unique(np.asarray(x))) <= {0.0, 1.0}
  errs, sq = dc.counting_errors(jax.random.PRNGKey(5), x, eps, 1e-6, reps)
  assert errs.shape == (reps, 5) and sq.shape == (reps, T) and np.all(errs >= 0)
  mean, se = errs.mean(0), errs.std(0, ddof=1) / math.sqrt(reps)
  # batch: |Lap(1/ε)| has mean 1/ε; fresh: max over t of T i.i.d. |Lap(T/ε)| has mean (T/ε) H_T
  assert abs(mean[4] - 1 / eps) <= Z * se[4]
  assert abs(mean[3] - T / eps * np.sum(1.0 / np.arange(1, T + 1))) <= Z * se[3]
  # Laplace tree: E[(ŷ_t − S_t)²] = popcount(t) · 2b², b = (L + 1)/ε
  b = (T.bit_length()) / eps
  pred = np.array([bin(t).count("1") for t in range(1, T + 1)]) * 2 * b * b
  msq, msq_se = sq.mean(0), sq.std(0, ddof=1) / math.sqrt(reps)
  assert np.all(np.abs(msq - pred) <= Z * msq_se)
  # the tree's max-over-t error column is the max of the per-t errors of the same draws
  np.testing.assert_allclose(errs[:, 0] ** 2, sq.max(1), rtol=1e-5)


def test_svt_errors_are_those_of_the_public_mechanism_and_batch_is_laplace():
  T, reps, eps, delta = 32, 400, 1.0, 1e-6
  x = dc.seeded_stream(1, T, 3)
  key = jax.random.PRNGKey(8)
  e, b, u, prm = dc.svt_errors(key, x, eps, delta, reps)
  assert prm == dc.svt_parameters(T, eps, delta)
  assert np.all(u <= prm.max_updates) and np.all(u >= 0)
  f = np.asarray(dc.max_sum(x))
  for r, k in enumerate(jax.random.split(key, reps)[:2]):
    k1, _ = jax.random.split(k)
    rel, _ = dc.svt_max_sum(k1, x, eps, delta)
    assert e[r] == pytest.approx(float(np.max(np.abs(np.asarray(rel.value) - f))), rel=1e-6)
    assert u[r] == int(rel.updates)
  assert abs(b.mean() - 1 / eps) <= Z * b.std(ddof=1) / math.sqrt(reps)


def test_tree_column_errors_match_the_public_trees_and_the_one_node_closed_form():
  eps, delta = 1.0, 1e-5
  x = dc.seeded_stream(2, 8, 4)
  key = jax.random.PRNGKey(9)
  errs = dc.tree_column_errors(key, x, eps, delta, (1, 4), 2)
  s = np.cumsum(np.asarray(x), axis=0)
  for r, k in enumerate(jax.random.split(key, 2)):
    for i, d in enumerate((1, 4)):
      scale = dc.tree_calibration(8, d, eps, delta, "gaussian").scale
      est = np.asarray(dc.tree_prefix_sums(jax.random.fold_in(k, i), x[:, :d], float(np.float32(scale)), "gaussian"))
      assert errs[r, i] == pytest.approx(float(np.max(np.abs(est.max(1) - s[:, :d].max(1)))), rel=1e-5, abs=1e-5)
  # T = 1, d = 1: one node, the error is |σ z| with mean σ √(2/π)
  reps = 4000
  one = dc.tree_column_errors(jax.random.PRNGKey(4), np.ones((1, 1)), eps, delta, [1], reps)[:, 0]
  sigma = dc.tree_calibration(1, 1, eps, delta, "gaussian").scale
  assert abs(one.mean() - sigma * math.sqrt(2 / math.pi)) <= Z * one.std(ddof=1) / math.sqrt(reps)


def test_crossover_dimension_of_exact_power_laws():
  tree = lambda d: 10.0 * np.sqrt(np.asarray(d, float))
  ds = (1, 8, 64, 512)
  d_star, ex = dc.crossover_dimension(ds, tree(ds), 10 * math.sqrt(20.0))
  assert d_star == pytest.approx(20.0, rel=1e-12) and not ex
  d_star, ex = dc.crossover_dimension((1, 4), tree((1, 4)), 100.0)        # beyond the grid: extrapolated
  assert d_star == pytest.approx(100.0, rel=1e-12) and ex
  d_star, ex = dc.crossover_dimension((4, 16), tree((4, 16)), 10.0)       # below the grid
  assert d_star == pytest.approx(1.0, rel=1e-12) and ex
  with pytest.raises(ValueError, match="crossover_dimension: dims, tree_error"):
    dc.crossover_dimension((4, 2), (1.0, 2.0), 1.0)
  with pytest.raises(ValueError, match="crossover_dimension: svt_error"):
    dc.crossover_dimension((1, 2), (1.0, 2.0), -1.0)
