"""Oracle tests for theory.common.kernel_methods: sklearn (SVC and KernelRidge on precomputed kernels), scipy
(multivariate normal / t densities, the matrix square root, 1-D quadrature over sigma^2), numpy float64 solves."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
import scipy.linalg
import scipy.stats
from sklearn.kernel_ridge import KernelRidge
from sklearn.svm import SVC

from theory.common import kernel_methods as km


def _problem(seed=0, n=30, m=7, d=2):
  rng = np.random.default_rng(seed)
  x, xs = rng.normal(size=(n, d)), rng.normal(size=(m, d))
  k = lambda a, b: np.exp(-0.5 * ((a[:, None] - b[None]) ** 2).sum(-1))
  y = np.sin(2 * x[:, 0]) + 0.1 * rng.normal(size=n)
  return k(x, x), k(xs, x), np.ones(m), y, x


def test_gp_posterior_and_log_marginal_match_dense_float64():
  k, kc, kd, y, _ = _problem()
  noise = 0.05
  ky = k + noise * np.eye(len(y))
  with jax.enable_x64(True):
    post = km.gp_posterior(k, kc, kd, y, noise, jitter=0.0)
    lml = float(km.gp_log_marginal(k, y, noise, jitter=0.0))
    kr = np.asarray(km.kernel_ridge(k, kc, y, noise))
  np.testing.assert_allclose(np.asarray(post.mean), kc @ np.linalg.solve(ky, y), rtol=1e-9)
  np.testing.assert_allclose(np.asarray(post.var), kd - np.einsum("ij,ji->i", kc, np.linalg.solve(ky, kc.T)),
                             atol=1e-10)
  assert abs(lml - scipy.stats.multivariate_normal(np.zeros(len(y)), ky).logpdf(y)) < 1e-8
  np.testing.assert_allclose(kr, KernelRidge(alpha=noise, kernel="precomputed").fit(k, y).predict(kc), rtol=1e-8)


def test_student_t_marginal_and_predictive_against_scipy_and_quadrature():
  k, kc, kd, y, _ = _problem(1, n=12, m=3)
  a, b, noise = 2.5, 1.7, 0.1
  ky = k + noise * np.eye(len(y))
  with jax.enable_x64(True):
    lml = float(km.tp_log_marginal(k, y, a, b, noise, jitter=0.0))
    tp = km.tp_posterior(k, kc, kd, y, a, b, noise, jitter=0.0)
    gp = km.gp_posterior(k, kc, kd, y, noise, jitter=0.0)
  ref = scipy.stats.multivariate_t(np.zeros(len(y)), (b / a) * ky, df=2 * a).logpdf(y)
  assert abs(lml - ref) < 1e-8
  # predictive density of f_* at a point = integral over sigma^2 of N(f; mu, sigma^2 s) IG(sigma^2; a', b')
  s, mu = float(gp.var[0]), float(gp.mean[0])
  beta = y @ np.linalg.solve(ky, y)
  a1, b1 = a + len(y) / 2, b + beta / 2
  assert abs(float(tp.a_post) - a1) < 1e-12 and abs(float(tp.b_post) - b1) < 1e-9
  for f in (mu - 0.3, mu + 0.05, mu + 1.0):
    quad = scipy.integrate.quad(lambda v: scipy.stats.norm.pdf(f, mu, np.sqrt(v * s))
                                * scipy.stats.invgamma.pdf(v, a1, scale=b1), 0, np.inf, limit=200)[0]
    t = scipy.stats.t.pdf(f, df=float(tp.df), loc=float(tp.mean[0]), scale=np.sqrt(float(tp.scale2[0])))
    assert abs(quad - t) < 1e-7 * max(1.0, t)


def test_onehot_classification_equals_kernel_ridge_per_class():
  k, kc, _, _, x = _problem(2)
  labels = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)
  with jax.enable_x64(True):
    scores, pred = km.gp_classify(k, kc, labels, 3, noise=0.1, jitter=0.0)
    targets = np.asarray(km.onehot_targets(labels, 3, dtype=jnp.float64))
  np.testing.assert_allclose(targets.sum(1), 0.0, atol=1e-15)
  ref = KernelRidge(alpha=0.1, kernel="precomputed").fit(k, targets).predict(kc)
  np.testing.assert_allclose(np.asarray(scores), ref, rtol=1e-8, atol=1e-12)
  np.testing.assert_array_equal(np.asarray(pred), ref.argmax(1))


def test_psd_repair_is_the_higham_projection_and_alignment_invariants():
  rng = np.random.default_rng(3)
  a = rng.normal(size=(8, 8))
  a = a + a.T
  # Higham (1988): the Frobenius-nearest PSD matrix to symmetric A is (A + (A^2)^{1/2}) / 2
  ref = 0.5 * (a + np.real(scipy.linalg.sqrtm(a @ a)))
  with jax.enable_x64(True):
    rep = np.asarray(km.psd_repair(a))
    np.testing.assert_allclose(rep, ref, atol=1e-9)
    assert np.linalg.eigvalsh(rep).min() > -1e-12
    k, _, _, _, _ = _problem()
    np.testing.assert_allclose(np.asarray(km.psd_repair(k)), k, atol=1e-12)     # PSD in, unchanged
    assert abs(float(km.kernel_alignment(k, 3.0 * k)) - 1.0) < 1e-12
    k2 = rng.normal(size=k.shape)
    direct = np.sum(k * k2) / np.linalg.norm(k) / np.linalg.norm(k2)
    assert abs(float(km.kernel_alignment(k, k2)) - direct) < 1e-12
    y = np.sign(rng.normal(size=k.shape[0]))
    assert abs(float(km.target_alignment(np.outer(y, y), y)) - 1.0) < 1e-12
    h = np.eye(len(y)) - 1.0 / len(y)
    kc, yc = h @ k @ h, h @ np.outer(y, y) @ h
    ref_c = np.sum(kc * yc) / np.linalg.norm(kc) / np.linalg.norm(yc)
    assert abs(float(km.target_alignment(k, y, centered=True)) - ref_c) < 1e-12


@pytest.mark.parametrize("C", [0.3, 10.0])
def test_svm_matches_sklearn_precomputed_svc(C):
  k, kc, _, _, x = _problem(4, n=40, m=10)
  y = np.where(x[:, 0] + 0.3 * x[:, 1] > 0.1, 1.0, -1.0)
  y[:3] *= -1                                               # not separable: some alpha at C
  with jax.enable_x64(True):
    res = km.svm_fit(k, y, C, tol=1e-10)
    f = np.asarray(km.svm_decision(np.vstack([k, kc]), y, res))
  ref = SVC(kernel="precomputed", C=C, tol=1e-10).fit(k, y)
  np.testing.assert_allclose(f, ref.decision_function(np.vstack([k, kc])), atol=1e-6)
  alpha = np.zeros(len(y))
  alpha[ref.support_] = np.abs(ref.dual_coef_[0])
  q = np.outer(y, y) * k
  dual = lambda a: a.sum() - 0.5 * a @ q @ a                # alpha need not be unique (K nearly singular)
  assert abs(dual(np.asarray(res.alpha)) - dual(alpha)) < 1e-8 * abs(dual(alpha))
  assert np.all(np.asarray(res.alpha) >= 0) and np.all(np.asarray(res.alpha) <= C)
  assert abs(float(np.sum(np.asarray(res.alpha) * y))) < 1e-10       # the equality constraint
  assert float(res.gap) <= 1e-10


def test_svm_per_sample_bounds_drop_points():
  k, _, _, _, x = _problem(5, n=24)
  y = np.where(x[:, 0] > 0, 1.0, -1.0)
  keep = np.arange(24) % 3 != 0
  with jax.enable_x64(True):
    res = km.svm_fit(k, y, np.where(keep, 5.0, 0.0), tol=1e-10)
  ref = SVC(kernel="precomputed", C=5.0, tol=1e-10).fit(k[np.ix_(keep, keep)], y[keep])
  assert np.all(np.asarray(res.alpha)[~keep] == 0)
  f = k[:, keep] @ (np.asarray(res.alpha)[keep] * y[keep]) + float(res.bias)
  np.testing.assert_allclose(f, ref.decision_function(k[:, keep]), atol=1e-6)


def test_bad_inputs():
  with pytest.raises(ValueError, match="svm_fit: k_train must be positive semi-definite"):
    km.svm_fit(np.array([[1.0, 2.0], [2.0, 1.0]]), np.array([1.0, -1.0]))
  with pytest.raises(ValueError, match="gp_posterior: k_train"):
    km.gp_posterior(np.ones((2, 3)), np.ones((1, 3)), np.ones(1), np.ones(2))
  with pytest.raises(ValueError, match="tp_posterior: a"):
    km.tp_posterior(np.eye(2), np.ones((1, 2)), np.ones(1), np.ones(2), 0.0, 1.0)
