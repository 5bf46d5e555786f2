"""theory/common/stats.py against independent references: scikit-learn's ROC, scipy's matrix square root, brute
force double loops, closed forms of power laws and of normal means."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import linalg
from sklearn import metrics

from theory.common import stats


def test_mean_se_closed_form():
  m, se = stats.mean_se([1.0, 2.0, 3.0, 4.0])
  assert m == 2.5 and se == pytest.approx(math.sqrt(5.0 / 3.0) / 2.0, rel=1e-15)
  m, se = stats.mean_se(np.array([[1.0, 3.0], [2.0, 2.0]]), axis=1)
  np.testing.assert_allclose(m, [2.0, 2.0])
  np.testing.assert_allclose(se, [1.0, 0.0])
  assert stats.mean_se([7.0]) == (7.0, 0.0)


def test_roc_auc_equals_sklearn_and_the_pairwise_brute_force_with_ties():
  rng = np.random.default_rng(0)
  for _ in range(5):
    s = rng.integers(0, 6, size=40).astype(float)      # many ties
    y = rng.integers(0, 2, size=40)
    pos, neg = s[y == 1], s[y == 0]
    brute = np.mean((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :]))
    assert stats.roc_auc(s, y) == pytest.approx(brute, abs=1e-14)
    assert stats.roc_auc(s, y) == pytest.approx(metrics.roc_auc_score(y, s), abs=1e-14)
  assert math.isnan(stats.roc_auc(np.ones(3), np.ones(3)))


def test_roc_curve_matches_sklearn_and_delong_se_by_monte_carlo():
  rng = np.random.default_rng(1)
  null, test = rng.normal(size=30), rng.normal(0.8, 1.0, size=25)
  r = stats.roc_curve(jnp.asarray(null), jnp.asarray(test))
  y = np.r_[np.zeros(30), np.ones(25)]
  assert float(r.auc) == pytest.approx(metrics.roc_auc_score(y, np.r_[null, test]), abs=1e-6)
  fpr, tpr, thr = metrics.roc_curve(y, np.r_[null, test], drop_intermediate=False)
  ours = {float(t): (float(f), float(p)) for t, f, p in zip(np.asarray(r.thresholds), np.asarray(r.fpr),
                                                            np.asarray(r.tpr))}
  for t, f, p in zip(thr[1:], fpr[1:], tpr[1:]):        # sklearn's first threshold is its own +inf stand-in
    np.testing.assert_allclose(ours[float(np.float32(t))], (f, p), atol=1e-6)
  # DeLong s.e. vs the spread of the AUC over independent replicates (500 draws: s.e. of an sd ~ 3 %)
  aucs = [stats.roc_auc(np.r_[a, b], y) for a, b in
          ((rng.normal(size=30), rng.normal(0.8, 1.0, size=25)) for _ in range(500))]
  assert float(r.auc_se) == pytest.approx(np.std(aucs, ddof=1), rel=0.25)
  same = stats.roc_curve(jnp.arange(5.0), jnp.arange(5.0))
  assert float(same.auc) == 0.5


def test_loglog_slope_recovers_a_power_law_and_its_interval_covers():
  rng = np.random.default_rng(2)
  x = np.geomspace(100, 10000, 6)
  covered = 0
  for seed in range(40):
    e = x[:, None] ** -0.5 * rng.lognormal(0.0, 0.3, size=(6, 20))
    s = stats.loglog_slope(x, e, n_boot=400, seed=seed)
    covered += s.lo <= -0.5 <= s.hi
  assert abs(s.slope + 0.5) < 0.1
  assert covered >= 32          # nominal 95 % of 40 = 38; binomial 4 s.e. below is ~32
  exact = stats.loglog_slope(x, np.stack([x ** -1.0] * 3, axis=1))
  assert exact.slope == pytest.approx(-1.0, abs=1e-12) and exact.lo == pytest.approx(-1.0, abs=1e-12)


def test_bootstrap_interval_of_a_mean_matches_the_normal_interval():
  rng = np.random.default_rng(3)
  d = rng.normal(2.0, 1.0, size=400)
  est, lo, hi = stats.bootstrap_interval(d, n_boot=2000)
  half = 1.96 * d.std(ddof=1) / math.sqrt(d.size)
  assert est == pytest.approx(d.mean()) and (hi - lo) / 2 == pytest.approx(half, rel=0.1)
  assert lo < est < hi


def test_frechet_distance_equals_scipy_sqrtm_in_float64():
  rng = np.random.default_rng(4)
  a = rng.normal(size=(50, 4)) @ rng.normal(size=(4, 4))
  b = rng.normal(size=(60, 4)) @ rng.normal(size=(4, 4)) + 0.5
  ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
  ref = np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(ca + cb - 2 * linalg.sqrtm(ca @ cb).real)
  with jax.enable_x64(True):
    got = float(stats.frechet_distance(jnp.asarray(a), jnp.asarray(b)))
    assert got == pytest.approx(ref, rel=1e-10)
    assert abs(float(stats.frechet_distance(jnp.asarray(a), jnp.asarray(a)))) < 1e-10
    # two 1-D Gaussians: (m_a - m_b)^2 + (s_a - s_b)^2
    u = np.array([[0.0], [2.0]])
    v = np.array([[1.0], [7.0]])
    assert float(stats.frechet_distance(jnp.asarray(u), jnp.asarray(v))) == pytest.approx(
        (1.0 - 4.0) ** 2 + (math.sqrt(2.0) - math.sqrt(18.0)) ** 2, rel=1e-12)


def test_sliced_wasserstein_and_mmd_brute_force():
  rng = np.random.default_rng(5)
  x = rng.normal(size=(12, 2))
  c = np.array([0.3, -0.4])
  with jax.enable_x64(True):
    # a translation by c: every 1-D projection moves by theta.c, mean over the half circle of (theta.c)^2 = |c|^2 / 2
    np.testing.assert_allclose(stats.sliced_wasserstein(jnp.asarray(x), jnp.asarray(x + c), num_projections=16),
                               np.linalg.norm(c) / math.sqrt(2), rtol=1e-12)
    y = rng.normal(size=(9, 2)) + 1.0
    k = lambda a, b: math.exp(-np.sum((a - b) ** 2) / (2 * 0.8 ** 2))
    kxx = sum(k(x[i], x[j]) for i in range(12) for j in range(12) if i != j) / (12 * 11)
    kyy = sum(k(y[i], y[j]) for i in range(9) for j in range(9) if i != j) / (9 * 8)
    kxy = sum(k(x[i], y[j]) for i in range(12) for j in range(9)) / (12 * 9)
    np.testing.assert_allclose(stats.mmd(jnp.asarray(x), jnp.asarray(y), bandwidth=0.8), kxx + kyy - 2 * kxy,
                               rtol=1e-12)


def test_host_statistics_refuse_traced_inputs():
  with pytest.raises(TypeError, match="loglog_slope: errors: .*not differentiable"):
    jax.grad(lambda v: stats.loglog_slope(np.array([1.0, 2.0]), v)[0])(jnp.ones((2, 2)))
  with pytest.raises(TypeError, match="not differentiable"):
    jax.grad(lambda s: stats.roc_curve(s[:3], s[3:]).auc)(jnp.arange(6.0))
