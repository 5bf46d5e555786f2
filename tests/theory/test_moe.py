"""Oracle tests for theory.moe (papers 03 "Is Temperature Sample Efficient for Softmax Gaussian Mixture of
Experts?", arXiv:2401.13875, and 04 "Statistical Perspective of Top-K Sparse Softmax Gating Mixture of Experts",
arXiv:2309.13850).

Oracles: scipy/numpy float64 mixture densities, a brute-force sort for top-K, the PDE identity
tau du/dtau + beta_1 . grad_beta_1 u = 0 (holds for the linear gate, fails for tanh), the exact (beta_1, tau) scale
symmetry, EM monotonicity and log-lik(MLE) >= log-lik(truth), per-region least squares for top-1 with known
regions, Voronoi-loss invariances and a hand computation, Gaussian closed forms for Hellinger / TV, the Fisher
information's null vector, and Monte Carlo moments within their standard errors.
"""
from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

from theory import moe as M

# The temperature paper's suggested setting (notes 03, section 3) and the top-K setting of the claims.
TEMP = dict(beta0=[-1.0, 0.0], beta1=[[3.0], [0.0]], tau=0.5, a=[[-2.0], [2.0]], b=[1.0, -1.0], nu=[0.09, 0.16])
TOPK = dict(beta0=[0.0, -1.0, 0.0], beta1=[[3.0], [6.0], [0.0]], tau=1.0, a=[[-2.0], [2.0], [0.0]],
            b=[1.0, -1.0, 0.0], nu=[0.09, 0.16, 0.0625])


def _params(spec, **over):
  s = dict(spec, **over)
  with jax.enable_x64(True):
    return M.make_params(s["beta0"], s["beta1"], s["tau"], s["a"], s["b"], s["nu"])


def _np_density(spec, x, y, gate, top_k=None):
  """Independent numpy/scipy float64 mixture density p(y|x) for d = 1: x, y [n] -> [n]."""
  b0, b1 = np.asarray(spec["beta0"]), np.asarray(spec["beta1"])[:, 0]
  s = np.outer(x, b1)
  if gate == "temperature":
    logits = s / spec["tau"] + b0
  elif gate == "activation":
    logits = np.tanh(s) / spec["tau"] + b0
  elif gate == "softmax":
    logits = s + b0
  else:
    order = np.argsort(-s, axis=1, kind="stable")          # brute-force top-K by sorting (stable: lower index wins)
    keep = np.zeros_like(s, bool)
    np.put_along_axis(keep, order[:, :top_k], True, axis=1)
    logits = np.where(keep, s + b0, -np.inf)
  g = np.exp(logits - logits.max(axis=1, keepdims=True))
  g /= g.sum(axis=1, keepdims=True)
  mean = np.outer(x, np.asarray(spec["a"])[:, 0]) + np.asarray(spec["b"])
  return np.sum(g * stats.norm.pdf(y[:, None], mean, np.sqrt(spec["nu"])), axis=1)


# ---------------------------------------------------------------------------------------------------
# Model.


@pytest.mark.parametrize("gate,spec,top_k", [("softmax", TEMP, None), ("temperature", TEMP, None),
                                             ("activation", TEMP, None), ("topk", TOPK, 2), ("topk", TOPK, 1)])
def test_density_matches_scipy_and_integrates_to_one(gate, spec, top_k):
  p = _params(spec)
  rng = np.random.default_rng(0)
  x, y = rng.uniform(-1, 1, 50), rng.normal(0, 2, 50)
  with jax.enable_x64(True):
    got = np.exp(np.asarray(M.log_density(p, jnp.asarray(x[:, None]), jnp.asarray(y), gate, top_k)))
    g = np.asarray(M.gate_probs(p, jnp.asarray(x[:, None]), gate, top_k))
  # float64 evaluation of the same closed form: agreement to rounding (1e-12 relative).
  np.testing.assert_allclose(got, _np_density(spec, x, y, gate, top_k), rtol=1e-12, atol=1e-300)
  np.testing.assert_allclose(g.sum(axis=1), 1.0, atol=1e-14)
  if gate == "topk":
    assert np.all(np.sum(g > 0, axis=1) == top_k)
  with jax.enable_x64(True):
    grid = jnp.linspace(-20, 20, 40001)
    for xi in (-0.7, 0.2):
      mine = np.exp(np.asarray(M.log_density(p, jnp.full((grid.size, 1), xi), grid, gate, top_k)))
      # trapezoid with step 1e-3 on a density whose narrowest component has sd 0.25: error << 1e-8.
      assert abs(np.trapezoid(mine, np.asarray(grid)) - 1.0) < 1e-8


def test_topk_mask_matches_sort_and_lax_top_k():
  rng = np.random.default_rng(1)
  s = rng.normal(size=(200, 6))
  for k in range(1, 7):
    mask = np.asarray(M.topk_mask(jnp.asarray(s), k))
    _, idx = jax.lax.top_k(jnp.asarray(s), k)
    ref = np.zeros_like(mask)
    np.put_along_axis(ref, np.asarray(idx), True, axis=1)
    np.testing.assert_array_equal(mask, ref)
  ties = np.array([[1.0, 1.0, 1.0, 0.0]])
  np.testing.assert_array_equal(np.asarray(M.topk_mask(jnp.asarray(ties), 2)), [[True, True, False, False]])


def test_topk_with_all_experts_is_softmax_and_temperature_limits():
  p = _params(TOPK)
  x = jnp.linspace(-1, 1, 41)[:, None]
  with jax.enable_x64(True):
    np.testing.assert_allclose(np.asarray(M.gate_probs(p, x, "topk", 3)), np.asarray(M.gate_probs(p, x, "softmax")),
                               atol=1e-15)
    q = _params(TEMP)
    xx = jnp.array([[-0.8], [0.5], [0.9]])
    cold = np.asarray(M.gate_probs(q._replace(log_tau=jnp.log(1e-4)), xx, "temperature"))
    hot = np.asarray(M.gate_probs(q._replace(log_tau=jnp.log(1e8)), xx, "temperature"))
  # tau -> 0: argmax of beta_1 x (expert 0 iff 3x > 0); tau -> inf: exp(beta_0) weights (beta_1 x / tau -> 0).
  np.testing.assert_allclose(cold, [[0, 1], [1, 0], [1, 0]], atol=1e-12)
  w = np.exp([-1.0, 0.0]) / np.exp([-1.0, 0.0]).sum()
  np.testing.assert_allclose(hot, np.tile(w, (3, 1)), atol=1e-7)


def test_pde_identity_holds_for_linear_gate_and_fails_for_tanh():
  """tau du/dtau + beta_1 . grad_beta1 u = 0  <=>  the derivative along (beta_1, log tau) -> (beta_1, 1) vanishes."""
  p = _params(TEMP)
  rng = np.random.default_rng(2)
  with jax.enable_x64(True):
    x = jnp.asarray(rng.uniform(-1, 1, (64, 1)))
    y = jnp.asarray(rng.normal(0, 1.5, 64))

    def directional(gate, fn):
      f = lambda b1, lt: fn(p._replace(beta1=b1, log_tau=lt), gate)
      return np.asarray(jax.jvp(f, (p.beta1, p.log_tau), (p.beta1, jnp.ones_like(p.log_tau)))[1])

    # u = exp(beta_1 x / tau) N(y; a x + b, nu) for expert 0 (the paper's u), and the full log density.
    u = lambda q, gate: (jnp.exp(M.gate_logits(q, x, gate)[:, 0] - q.beta0[0]) * jnp.exp(M.log_expert(q, x, y)[:, 0]))
    logp = lambda q, gate: M.log_density(q, x, y, gate)
    lin_u, tanh_u = directional("temperature", u), directional("activation", u)
    lin_p, tanh_p = directional("temperature", logp), directional("activation", logp)
  # float64: the identity is exact, so the jvp is rounding (values are O(1..100)).
  assert np.max(np.abs(lin_u)) < 1e-10 and np.max(np.abs(lin_p)) < 1e-12
  assert np.max(np.abs(tanh_u)) > 1e-2 and np.max(np.abs(tanh_p)) > 1e-2


def test_loglik_scale_symmetry():
  p = _params(TEMP)
  with jax.enable_x64(True):
    x, y = M.sample(jax.random.key(0), p, 500, "temperature")
    base = float(M.log_likelihood(p, x, y, "temperature"))
    for c in (0.3, 2.0, 7.0):
      q = p._replace(beta1=c * p.beta1, log_tau=p.log_tau + jnp.log(c))
      assert abs(float(M.log_likelihood(q, x, y, "temperature")) - base) < 1e-12   # exact symmetry, float64
      assert abs(float(M.log_likelihood(q, x, y, "activation")) - float(M.log_likelihood(p, x, y, "activation"))) > 1e-3


@pytest.mark.parametrize("gate,spec,top_k", [("activation", TEMP, None), ("topk", TOPK, 2)])
def test_sampling_moments_within_standard_error(gate, spec, top_k):
  p = _params(spec)
  n = 40000
  with jax.enable_x64(True):
    x, y = M.sample(jax.random.key(3), p, n, gate, top_k)
    mean = np.asarray(M.regression_mean(p, x, gate, top_k))
  x, y = np.asarray(x)[:, 0], np.asarray(y)
  # X ~ U[-1, 1]: mean 0, s.e. sqrt(1/3 / n).
  assert abs(x.mean()) < 4 * np.sqrt(1 / 3 / n) and x.min() >= -1 and x.max() <= 1
  # E[Y - E[Y|X]] = 0 and the PIT F(Y|X) is U(0, 1) (mean 1/2, s.e. sqrt(1/12/n)).
  resid = y - mean
  assert abs(resid.mean()) < 4 * resid.std() / np.sqrt(n)
  with jax.enable_x64(True):
    g = np.asarray(M.gate_probs(p, jnp.asarray(x[:, None]), gate, top_k))
  mu = np.outer(x, np.asarray(spec["a"])[:, 0]) + np.asarray(spec["b"])
  pit = np.sum(g * stats.norm.cdf(y[:, None], mu, np.sqrt(spec["nu"])), axis=1)
  assert abs(pit.mean() - 0.5) < 4 * np.sqrt(1 / 12 / n)
  assert abs(np.mean(pit < 0.1) - 0.1) < 4 * np.sqrt(0.09 / n)


# ---------------------------------------------------------------------------------------------------
# EM.


@pytest.mark.parametrize("gate,spec,top_k", [("temperature", TEMP, None), ("activation", TEMP, None),
                                             ("topk", TOPK, 2)])
def test_em_monotone_and_beats_truth(gate, spec, top_k):
  true = _params(spec)
  with jax.enable_x64(True):
    keys = jax.random.split(jax.random.key(5), 2)
    x, y = jax.vmap(lambda k: M.sample(k, true, 400, gate, top_k))(keys)
    init = M.jitter(jax.random.key(6), true, gate, 0.2, 2)
    res = M.fit_em(x, y, init, gate, top_k, max_iter=300, tol=1e-11)
    ll_true = np.asarray(jax.vmap(lambda a, b: M.log_likelihood(true, a, b, gate, top_k))(x, y))
    ll_init = np.asarray(jax.vmap(lambda q, a, b: M.log_likelihood(q, a, b, gate, top_k))(init, x, y))
  trace = res.trace
  for r in range(2):
    t = trace[r][np.isfinite(trace[r])]
    assert t.size == res.n_iter[r] + 1 and abs(t[0] - ll_init[r]) < 1e-12
    # GEM: never decreases (float64 rounding of a mean of O(1) terms: 1e-12).
    assert np.all(np.diff(t) >= -1e-12)
    assert abs(t[-1] - res.loglik[r]) < 1e-15
  # The MLE's log-likelihood is at least the truth's on the same sample (EM stopped at a local max near truth).
  assert np.all(res.loglik >= ll_true - 1e-9), (res.loglik, ll_true)


def test_top1_known_regions_is_per_region_least_squares():
  """K = 1 on the top-K truth (beta_1 = 3, 6, 0): x > 0 selects expert 1 only, x < 0 expert 2 only, expert 0
  never. Each x uses one expert with weight 1, so one EM step's expert update is OLS + residual variance per
  region, and the never-selected expert keeps its parameters."""
  true = _params(TOPK)
  with jax.enable_x64(True):
    keys = jax.random.split(jax.random.key(7), 2)
    x, y = jax.vmap(lambda k: M.sample(k, true, 400, "topk", 1))(keys)   # same shapes as the EM test: one compile
    zero = true._replace(a=jnp.zeros((3, 1)), b=jnp.zeros(3), log_nu=jnp.zeros(3))
    init = M.MoEParams(*(jnp.stack([v, v]) for v in zero))
    # Converges after the first iteration (the responsibilities are the region indicators); same static
    # arguments as the EM test, so no new compilation.
    res = M.fit_em(x, y, init, "topk", 1, max_iter=300, tol=1e-11)
  for rep in range(2):
    xr, yr = np.asarray(x[rep])[:, 0], np.asarray(y[rep])
    for expert, region in ((1, xr > 0), (2, xr <= 0)):
      design = np.stack([xr[region], np.ones(region.sum())], axis=1)
      coef, *_ = np.linalg.lstsq(design, yr[region], rcond=None)
      var = np.mean((yr[region] - design @ coef) ** 2)
      # float64 normal equations vs QR least squares on ~200 points: agree to ~1e-10.
      np.testing.assert_allclose([res.params.a[rep, expert, 0], res.params.b[rep, expert]], coef, atol=1e-10)
      np.testing.assert_allclose(np.exp(res.params.log_nu[rep, expert]), var, rtol=1e-9)
    assert res.params.b[rep, 0] == 0.0 and res.params.a[rep, 0, 0] == 0.0 and res.params.log_nu[rep, 0] == 0.0
  # The gate cannot move: with K = 1 the likelihood does not depend on beta_0 / the in-region beta_1.
  np.testing.assert_allclose(res.params.beta1, np.stack([true.beta1] * 2))


# ---------------------------------------------------------------------------------------------------
# Voronoi losses.


def _perturbed(spec, eps, gate):
  with jax.enable_x64(True):
    true = _params(spec)
    return true, M.jitter(jax.random.key(11), true, gate, eps, 1)


@pytest.mark.parametrize("gate,spec", [("temperature", TEMP), ("activation", TEMP), ("topk", TOPK)])
def test_voronoi_zero_at_truth_and_permutation_invariant(gate, spec):
  true, est = _perturbed(spec, 0.05, gate)
  est = M.MoEParams(*(np.asarray(v[0]) for v in est))
  kinds = [("D1", False), ("L_r", False), ("D2_temperature", False), ("D2_topk", False)]
  if gate != "topk":
    kinds.append(("D1", True))
  k = len(spec["b"])
  for kind, ratio in kinds:
    assert float(M.voronoi_loss(true, true, gate, kind, r=2.0, ratio=ratio).total) == 0.0
    base = float(M.voronoi_loss(est, true, gate, kind, r=2.0, ratio=ratio).total)
    assert base > 0
    for perm in itertools.permutations(range(k)):
      perm = np.asarray(perm)
      pe = est._replace(beta0=est.beta0[perm], beta1=est.beta1[perm], a=est.a[perm], b=est.b[perm],
                        log_nu=est.log_nu[perm])
      assert abs(float(M.voronoi_loss(pe, true, gate, kind, r=2.0, ratio=ratio).total) - base) < 1e-14


@pytest.mark.parametrize("gate,spec", [("temperature", TEMP), ("activation", TEMP), ("topk", TOPK)])
def test_voronoi_vanishes_for_split_atom_with_conserved_weight(gate, spec):
  true = _params(spec)
  for m in (2, 3):
    split = M.split_atom(true, 0, m)
    assert split.b.shape[0] == len(spec["b"]) + m - 1
    for kind in M.KINDS:
      out = M.voronoi_loss(split, true, gate, kind)
      assert abs(float(out.total)) < 1e-15
      assert sorted(np.asarray(out.cell_sizes).tolist()) == sorted([m] + [1] * (len(spec["b"]) - 1))
  # Not conserved: weight term = the excess weight exactly.
  bad = split._replace(beta0=split.beta0 + np.log(2.0) * (np.arange(split.b.shape[0]) == 0))
  w0 = np.exp(float(split.beta0[0]))
  assert abs(float(M.voronoi_loss(bad, true, gate, "D1").total) - w0) < 1e-12


def test_voronoi_matches_hand_computation():
  """k* = 2 truth, 3 fitted atoms: two near atom 0 (cell size 2), one at atom 1 shifted in b only."""
  true = _params(TOPK, beta0=[0.5, 0.0], beta1=[[2.0], [0.0]], a=[[-2.0], [2.0]], b=[1.0, -1.0], nu=[0.09, 0.16])
  d_b1, d_a, d_b, d_nu, d_b1c = 0.1, -0.2, 0.05, 0.01, 0.03
  est = M.MoEParams(beta0=np.array([0.5 - np.log(2) + 0.1, 0.5 - np.log(2), 0.2]),
                    beta1=np.array([[2.0 + d_b1], [2.0], [0.0 + d_b1c]]), log_tau=np.asarray(true.log_tau),
                    a=np.array([[-2.0 + d_a], [-2.0], [2.0]]), b=np.array([1.0 + d_b, 1.0, -1.0]),
                    log_nu=np.log(np.array([0.09 + d_nu, 0.09, 0.16])))
  w = np.exp(np.asarray(est.beta0))
  weight = abs(w[0] + w[1] - np.exp(0.5)) + abs(w[2] - 1.0)
  single = w[2] * d_b1c                                      # atom 2: only beta_1 moved, |A_1| = 1 -> exponent 1
  rb = 4.0                                                   # rbar(2)
  d2_topk = weight + single + w[0] * (d_b1 ** rb + abs(d_a) ** (rb / 2) + d_b ** rb + d_nu ** (rb / 2))
  d1 = weight + single + w[0] * (d_b1 + abs(d_a) + d_b + d_nu)
  got = M.voronoi_loss(est, true, "topk", "D2_topk")
  assert abs(float(got.total) - d2_topk) < 1e-13 and abs(float(M.voronoi_loss(est, true, "topk", "D1").total) - d1) < 1e-13
  np.testing.assert_array_equal(got.cell_sizes, [2, 1])
  # temperature D2: beta_1, tau, a squared; b^rbar; nu^(rbar/2) (tau equal here).
  d2_t = weight + single + w[0] * (d_b1 ** 2 + d_a ** 2 + d_b ** rb + d_nu ** (rb / 2))
  assert abs(float(M.voronoi_loss(est, true, "temperature", "D2_temperature").total) - d2_t) < 1e-13


# ---------------------------------------------------------------------------------------------------
# Density distances and Fisher information.


def test_hellinger_and_tv_match_gaussian_closed_forms():
  """k = 1 (one expert, trivial gate): p(.|x) = N(a x + b, nu); closed forms integrated over x ~ U[-1, 1]."""
  one = lambda a, b, nu: _params(dict(beta0=[0.0], beta1=[[0.0]], tau=1.0, a=[[a]], b=[b], nu=[nu]))
  p, q = one(1.0, 0.2, 0.09), one(1.3, 0.1, 0.09)
  r = one(1.0, 0.2, 0.25)
  s1 = 0.3
  h_closed = lambda dm, s2: np.sqrt(1 - np.sqrt(2 * s1 * s2 / (s1 ** 2 + s2 ** 2)) * np.exp(-dm ** 2 / (4 * (s1 ** 2 + s2 ** 2))))
  h_pq = integrate.quad(lambda x: h_closed(0.3 * x - 0.1, 0.3), -1, 1, points=[1 / 3])[0] / 2
  tv_pq = integrate.quad(lambda x: 2 * stats.norm.cdf(abs(0.3 * x - 0.1) / (2 * s1)) - 1, -1, 1, points=[1 / 3])[0] / 2
  h_pr = h_closed(0.0, 0.5)
  got = M.density_distance(q, p, "softmax", n_x=512, n_y=1601)
  # midpoint rule in x (a kink at x = 1/3 costs O(h^2) ~ 1e-5) and spectral trapezoid in y.
  assert abs(float(got.hellinger) - h_pq) < 2e-5 and abs(float(got.tv) - tv_pq) < 2e-5
  assert abs(float(M.density_distance(r, p, "softmax").hellinger) - h_pr) < 1e-9
  assert float(M.density_distance(p, p, "softmax").hellinger) == 0.0


def test_fisher_singular_for_linear_gate_only():
  true = _params(TEMP)
  with jax.enable_x64(True):
    x, y = M.sample(jax.random.key(8), true, 3000, "temperature")
  lin = M.empirical_fisher(true, x, y, "temperature")
  act = M.empirical_fisher(true, x, y, "activation")
  # Null vector of the symmetry: d/dc at c = 1 of (c beta_1, log tau + log c) = (beta_1 = 3, log tau = 1), normalised.
  v = np.zeros(lin.min_eigenvector.shape[0])
  v[1], v[2] = 3.0, 1.0      # free vector: (beta0_0, beta1_0, log tau, a, b, log nu)
  v /= np.linalg.norm(v)
  assert lin.eigenvalues[0] < 1e-12 * lin.eigenvalues[-1]
  assert abs(abs(float(lin.min_eigenvector @ v)) - 1.0) < 1e-8
  assert act.eigenvalues[0] > 1e-4 * act.eigenvalues[-1]


# ---------------------------------------------------------------------------------------------------
# Helpers and validation.


def test_loglog_slope_recovers_power_law():
  ns = np.geomspace(300, 30000, 8)
  rng = np.random.default_rng(0)
  errs = 2.0 * ns[:, None] ** -0.5 * np.exp(0.05 * rng.normal(size=(8, 200)))
  slope, lo, hi = M.loglog_slope(ns, errs)
  # multiplicative noise sd 0.05 over 200 reps: mean-log error ~ 0.004 per point, slope error ~ 0.002.
  assert abs(slope + 0.5) < 0.01 and lo < -0.5 < hi and hi - lo < 0.05


def test_inputs_are_validated():
  p = _params(TEMP)
  with pytest.raises(ValueError, match="gate"):
    M.sample(jax.random.key(0), p, 10, "relu")
  with pytest.raises(ValueError, match="top_k"):
    M.sample(jax.random.key(0), p, 10, "topk", 3)
  with pytest.raises(ValueError, match="nu"):
    M.make_params([0.0], [[0.0]], 1.0, [[0.0]], [0.0], [-1.0])
  with pytest.raises(ValueError, match="kind"):
    M.voronoi_loss(p, p, "temperature", "D3")
  with pytest.raises(ValueError, match="ratio"):
    M.voronoi_loss(p, p, "softmax", "D1", ratio=True)
  with pytest.raises(ValueError, match="x, y"):
    M.fit_em(np.zeros((5, 1)), np.zeros(4), p, "temperature")
  with pytest.raises(ValueError, match="weights"):
    M.fit_em(np.zeros((5, 1)), np.zeros(5), p, "temperature", weights=-np.ones(5))
  with pytest.raises(TypeError, match="params"):
    M.check_params((1, 2))


# ---------------------------------------------------------------------------------------------------
# Differentiation policy (the battery tests/batteries/theory_moe.py checks every gradient against finite
# differences; here: the exact pathwise derivatives of the sampler, the traced = host evaluation of the losses,
# and the refusals).


def test_sample_pathwise_derivatives_and_gate_refusal():
  """y_i = a_z x_i + b_z + exp(log_nu_z / 2) eps_i: dy_i/db_j = 1[z_i = j] (one-hot rows) and
  dy_i/dlog_nu_z = (y_i - a_z x_i - b_z) / 2, exactly; the gate parameters enter only through z (refused)."""
  p = _params(TEMP)
  with jax.enable_x64(True):
    draw = jax.jit(lambda b, lnu: M.sample(jax.random.key(4), p._replace(b=b, log_nu=lnu), 50, "temperature")[1])
    y = np.asarray(draw(p.b, p.log_nu))
    jb, jn = (np.asarray(j) for j in jax.jacrev(draw, argnums=(0, 1))(p.b, p.log_nu))
    x, _ = M.sample(jax.random.key(4), p, 50, "temperature")
    with pytest.raises(TypeError, match="sample in the gate parameters"):
      jax.grad(lambda b1: M.sample(jax.random.key(4), p._replace(beta1=b1), 50, "temperature")[1].sum())(p.beta1)
  assert set(np.unique(jb)) == {0.0, 1.0} and np.all(jb.sum(axis=1) == 1.0)
  z = np.argmax(jb, axis=1)
  assert 0 < z.sum() < 50                                   # both experts drawn
  mean = np.asarray(x)[:, 0] * np.asarray(p.a)[z, 0] + np.asarray(p.b)[z]
  np.testing.assert_allclose(jn[np.arange(50), z], 0.5 * (y - mean), rtol=1e-12, atol=1e-14)
  assert np.all(jn[np.arange(50), 1 - z] == 0.0)


def test_traced_losses_equal_the_host_evaluation_and_host_routines_refuse_tracing():
  true, est = _perturbed(TOPK, 0.05, "topk")
  est = M.split_atom(M.MoEParams(*(np.asarray(v[0]) for v in est)), 1, 2)     # 4 atoms: a cell of size 2
  with jax.enable_x64(True):
    traced = jax.jit(lambda e: M.voronoi_loss(e, true, "topk", "D2_topk"))(est)
    host = M.voronoi_loss(est, true, "topk", "D2_topk")
    assert isinstance(host.total, (np.ndarray, np.floating)) and isinstance(traced.total, jax.Array)
    for a, b in zip(traced, host):
      np.testing.assert_allclose(np.asarray(a), b, rtol=1e-13, atol=1e-15)
    assert float(host.total) > 0 and sorted(host.cell_sizes.tolist()) == [1, 1, 2]
    with pytest.raises(TypeError, match="grad requires real-valued outputs"):   # a bool selection
      jax.grad(lambda s: M.topk_mask(s, 2)[0, 0])(jnp.ones((2, 3)))
    with pytest.raises(TypeError, match="fit_em: init: .*not differentiable"):
      jax.grad(lambda v: M.fit_em(np.zeros((4, 1)), np.zeros(4), true._replace(b=v), "topk", 2).loglik)(true.b)
    with pytest.raises(TypeError, match="loglog_slope: .*not differentiable"):
      jax.grad(lambda v: M.loglog_slope(np.array([1.0, 2.0]), v)[0])(jnp.ones((2, 2)))


def test_rate_and_ridge_errors_vanish_at_the_truth_and_measure_the_ridge():
  # Oracle: fits placed by hand. At the truth every error is 0; on the likelihood-flat ridge (c beta_1, log tau +
  # log c) the identifiable beta_1/tau term stays 0 while the ridge coordinate is |log c| exactly.
  true = _params(TEMP)
  cs = np.array([1.0, 2.0, 0.5])
  fits = M.MoEParams(*(np.stack([np.asarray(v, np.float64)] * 3) for v in true))
  fits = fits._replace(beta1=cs[:, None, None] * fits.beta1, log_tau=fits.log_tau + np.log(cs))
  em = M.EMResult(fits, np.zeros(3), np.array([5, 7, 9]), np.zeros((3, 2)))
  res = M.SweepResult((10, 20), [em, em._replace(params=M.MoEParams(*(np.stack([np.asarray(v, np.float64)] * 3)
                                                                      for v in true)))], np.zeros((2, 3)))
  r = M.ridge_errors(res, true)
  np.testing.assert_allclose(r.ridge[0], np.abs(np.log(cs)), atol=1e-12)
  np.testing.assert_allclose(r.ratio_gate, 0.0, atol=1e-12)
  assert r.raw_gate[0, 0] < 1e-12 and np.all(r.raw_gate[0, 1:] > 0.1) and np.all(r.raw_gate[1] < 1e-12)
  e = M.rate_errors(res, true, "temperature", max_iter=7)
  np.testing.assert_allclose(e.hellinger, 0.0, atol=1e-9)      # the density is the truth's on the whole ridge
  np.testing.assert_allclose(e.loss[1], 0.0, atol=1e-12)
  assert e.capped == pytest.approx(4 / 6) and e.ns.tolist() == [10, 20] and e.loglik_gap.shape == (2, 3)
