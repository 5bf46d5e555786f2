"""Oracle tests for theory.nngp_mixture (Lee, Yun, Yang & Lee, "Scale mixtures of neural network Gaussian
processes", ICLR 2022, arXiv:2107.01408).

Oracles: random finite-width networks (Monte Carlo output covariance within standard errors); Cho & Saul's
order-1 arc-cosine kernel and Williams' arcsine kernel written independently in numpy; a Gauss-Hermite quadrature
of the erf recursion; the ReLU diagonal fixed point; sampling sigma^2 then f (covariance b/(a-1) K, scipy's
multivariate t density, 1-D quadrature of the mixture density); the t predictive against 1-D quadrature over
sigma^2 of Bayes' rule; the GP limit a -> infinity; importance sampling against the closed form; scipy's Burr XII,
inverse gamma and t distributions; brute-force evidence maximisation; exact two-class argmax probabilities.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
import scipy.optimize
import scipy.stats

from theory import nngp_mixture as NM
from theory.common import kernel_methods as km

RNG = np.random.default_rng(0)
X = RNG.normal(size=(4, 3))


def _x64(f):
  @functools.wraps(f)
  def wrapped(*a, **k):
    with jax.enable_x64(True):
      return f(*a, **k)
  return wrapped


# ---------------------------------------------------------------------------------------------------
# Kernels.


def _mc_check(f, k, allowance):
  n = f.shape[0]
  prod = f[:, :, None] * f[:, None, :]
  emp, se = prod.mean(0), prod.std(0) / np.sqrt(n)
  scale = np.sqrt(np.outer(np.diag(k), np.diag(k)))
  assert np.all(np.abs(emp - k) <= 4.5 * se + allowance * scale), (emp, k, se)
  return np.max(np.abs(emp - k) / scale)


def test_kernel_matches_random_wide_networks():
  x = X.astype(np.float32)
  # depth 2 ReLU: finite width (128) biases the covariance by O(1/width); allow 3 % of the scale beside 4.5 s.e.
  kw = dict(depth=2, activation="relu", w_std=1.5, b_std=0.3, last_w_std=1.2, last_b_std=0.1)
  f = np.asarray(NM.sample_network_outputs(jax.random.PRNGKey(1), x, n_nets=1500, width=128, chunk=1500, **kw),
                 np.float64)
  rel = _mc_check(f, np.asarray(NM.nngp_kernel(X, **kw)), 0.03)
  assert rel < 0.08
  # depth 1 erf: the output covariance equals the kernel at any width (no allowance); the same program with
  # IG(4, 3) last-layer scales gives b/(a-1) K (the scale-mixture initialisation).
  kw = dict(depth=1, activation="erf", w_std=2.0, b_std=0.5, last_w_std=1.0, last_b_std=0.2)
  k = np.asarray(NM.nngp_kernel(X, **kw))
  f = np.asarray(NM.sample_network_outputs(jax.random.PRNGKey(2), x, n_nets=4000, width=64, chunk=4000, **kw),
                 np.float64)
  _mc_check(f, k, 0.0)
  s2 = scipy.stats.invgamma(4.0, scale=3.0).rvs(4000, random_state=3).astype(np.float32)
  f = np.asarray(NM.sample_network_outputs(jax.random.PRNGKey(4), x, n_nets=4000, width=64, chunk=4000,
                                           scale2=s2, **kw), np.float64)
  _mc_check(f, 3.0 / (4.0 - 1.0) * k, 0.0)


def _cho_saul(x, y):
  nx, ny = np.linalg.norm(x, axis=1), np.linalg.norm(y, axis=1)
  cos = np.clip((x @ y.T) / np.outer(nx, ny), -1, 1)
  th = np.arccos(cos)
  return np.outer(nx, ny) * (np.sin(th) + (np.pi - th) * np.cos(th)) / np.pi


@_x64
def test_one_relu_layer_is_cho_saul_order_1():
  y = RNG.normal(size=(5, 3))
  sw, lw = 1.7, 0.8
  k = np.asarray(NM.nngp_kernel(X, y, depth=1, activation="relu", w_std=sw, last_w_std=lw))
  np.testing.assert_allclose(k, lw ** 2 * sw ** 2 / (2 * 3) * _cho_saul(X, y), rtol=1e-12, atol=1e-14)


def _williams(x, y, sb2, sw2):
  d = x.shape[1]
  xt, yt = np.c_[np.ones(len(x)), x], np.c_[np.ones(len(y)), y]
  sig = np.diag(np.r_[sb2, np.full(d, sw2 / d)])
  num = 2 * xt @ sig @ yt.T
  den = np.sqrt(np.outer(1 + 2 * np.einsum("ij,jk,ik->i", xt, sig, xt), 1 + 2 * np.einsum("ij,jk,ik->i", yt, sig, yt)))
  return 2 / np.pi * np.arcsin(num / den)


def _erf_layer_quadrature(kxy, kxx, kyy, nodes=200):
  t, w = np.polynomial.hermite_e.hermegauss(nodes)          # weight exp(-t^2/2)
  w = w / np.sqrt(2 * np.pi)
  out = np.zeros_like(kxy)
  for i in range(kxy.shape[0]):
    for j in range(kxy.shape[1]):
      c = np.array([[kxx[i], kxy[i, j]], [kxy[i, j], kyy[j]]])
      ev, vec = np.linalg.eigh(c)
      l = vec * np.sqrt(np.maximum(ev, 0.0))                 # l l^T = c (also for the singular diagonal case)
      u = l[0, 0] * t[:, None] + l[0, 1] * t[None, :]
      v = l[1, 0] * t[:, None] + l[1, 1] * t[None, :]
      out[i, j] = np.sum(w[:, None] * w[None, :] * scipy.special.erf(u) * scipy.special.erf(v))
  return out


@_x64
def test_erf_is_williams_and_the_recursion_matches_quadrature():
  y = RNG.normal(size=(3, 3))
  k = np.asarray(NM.nngp_kernel(X, y, depth=1, activation="erf", w_std=1.3, b_std=0.6))
  np.testing.assert_allclose(k, _williams(X, y, 0.36, 1.69), rtol=1e-12)
  # two erf layers by bivariate Gauss-Hermite quadrature of E[erf(u) erf(v)] at each layer
  sw2, sb2, lw2, lb2 = 2.0, 0.3, 0.7, 0.1
  kw = dict(depth=2, activation="erf", w_std=np.sqrt(sw2), b_std=np.sqrt(sb2), last_w_std=np.sqrt(lw2),
            last_b_std=np.sqrt(lb2))
  k1 = sb2 + sw2 * (X @ y.T) / 3
  kx, ky = sb2 + sw2 * np.sum(X * X, 1) / 3, sb2 + sw2 * np.sum(y * y, 1) / 3
  e = lambda a, b, c: _erf_layer_quadrature(a, b, c)
  k2 = sb2 + sw2 * e(k1, kx, ky)
  kx2 = sb2 + sw2 * np.diag(e(np.diag(kx), kx, kx))
  ky2 = sb2 + sw2 * np.diag(e(np.diag(ky), ky, ky))
  ref = lb2 + lw2 * e(k2, kx2, ky2)
  np.testing.assert_allclose(np.asarray(NM.nngp_kernel(X, y, **kw)), ref, rtol=1e-9)


@_x64
@pytest.mark.parametrize("depth", [1, 3])
def test_relu_diagonal_fixed_point(depth):
  sw, lw = 1.9, 1.1
  kd = np.asarray(NM.nngp_kernel_diag(X, depth=depth, activation="relu", w_std=sw, last_w_std=lw))
  ref = lw ** 2 / 2 * (sw ** 2 / 2) ** (depth - 1) * sw ** 2 * np.sum(X * X, 1) / 3
  np.testing.assert_allclose(kd, ref, rtol=1e-12)
  np.testing.assert_allclose(np.diag(np.asarray(NM.nngp_kernel(X, depth=depth, activation="relu", w_std=sw,
                                                                 last_w_std=lw))), ref, rtol=1e-12)


# ---------------------------------------------------------------------------------------------------
# The inverse-gamma mixture.

K4 = np.asarray([[1.0, 0.5, 0.2, 0.1], [0.5, 1.2, 0.3, 0.0], [0.2, 0.3, 0.9, 0.4], [0.1, 0.0, 0.4, 1.1]])


@_x64
def test_mixture_sampling_covariance_and_multivariate_t_density():
  a, b = 4.0, 3.0
  s2 = NM.sample_inverse_gamma(jax.random.PRNGKey(0), a, b, (40000,))
  assert scipy.stats.kstest(np.asarray(s2), scipy.stats.invgamma(a, scale=b).cdf).pvalue > 1e-3
  f = np.asarray(NM.sample_mixture(jax.random.PRNGKey(1), K4, s2))
  _mc_check(f, b / (a - 1) * K4, 0.0)
  f0 = np.array([0.3, -1.2, 2.5, 0.7])
  lp = float(km.tp_log_marginal(K4, f0, a, b, noise=0.0, jitter=0.0))
  ref = scipy.stats.multivariate_t(np.zeros(4), b / a * K4, df=2 * a).logpdf(f0)
  np.testing.assert_allclose(lp, ref, rtol=1e-10)
  dens = lambda s: scipy.stats.multivariate_normal(np.zeros(4), s * K4).pdf(f0) * scipy.stats.invgamma(
      a, scale=b).pdf(s)
  quad = scipy.integrate.quad(dens, 0, np.inf, limit=200)[0]
  np.testing.assert_allclose(lp, np.log(quad), rtol=1e-7)


def _problem(n=6, m=3, seed=0):
  r = np.random.default_rng(seed)
  x = r.normal(size=(n + m, 2))
  kk = np.exp(-0.5 * np.sum((x[:, None] - x[None]) ** 2, -1)) + 0.1
  y = r.normal(size=n + m) * 1.3
  return kk[:n, :n], kk[n:, :n], np.diag(kk)[n:], y[:n], y[n:]


@_x64
def test_t_predictive_equals_quadrature_of_bayes_rule():
  k, kx, kd, y, yt = _problem()
  a, b, e = 1.5, 0.8, 0.2
  post = km.tp_posterior(k, kx, kd, y, a, b, e, jitter=0.0)
  lp = np.asarray(NM.tp_predictive_logpdf(yt, post, e))
  ky = k + e * np.eye(len(y))
  mu = kx @ np.linalg.solve(ky, y)
  v = kd - np.einsum("ij,ji->i", kx, np.linalg.solve(ky, kx.T)) + e
  like = lambda s: scipy.stats.multivariate_normal(np.zeros(len(y)), s * ky).pdf(y) * scipy.stats.invgamma(
      a, scale=b).pdf(s)
  z = scipy.integrate.quad(like, 0, np.inf, limit=200)[0]
  for j in range(len(yt)):
    num = scipy.integrate.quad(lambda s: like(s) * scipy.stats.norm(mu[j], np.sqrt(s * v[j])).pdf(yt[j]), 0, np.inf,
                               limit=200)[0]
    np.testing.assert_allclose(lp[j], np.log(num / z), rtol=1e-7)


@_x64
def test_gp_limit_of_the_t_process():
  k, kx, kd, y, yt = _problem(seed=1)
  s0, e = 0.7, 0.1
  gp = km.gp_posterior(s0 * k, s0 * kx, s0 * kd, y, s0 * e)
  ref = np.asarray(NM.gp_predictive_logpdf(yt, gp, s0 * e))
  errs = []
  for a in (1e1, 1e3, 1e5, 1e7):
    tp = km.tp_posterior(k, kx, kd, y, a, a * s0, e)
    errs.append(np.max(np.abs(np.asarray(NM.tp_predictive_logpdf(yt, tp, e)) - ref)))
  # O(1/a): each factor 100 in a cuts the error by about 100
  assert all(e2 < e1 / 30 for e1, e2 in zip(errs[1:], errs[2:])) and errs[-1] < 2e-4, errs


@_x64
def test_importance_sampling_converges_to_the_closed_form():
  k, kx, kd, y, yt = _problem(seed=2)
  a, b, e = 3.0, 2.0, 0.3
  ref = np.asarray(NM.tp_predictive_logpdf(yt, km.tp_posterior(k, kx, kd, y, a, b, e), e))
  errs = []
  draws = scipy.stats.invgamma(a, scale=b).rvs(200000, random_state=5)
  for s in (100, 200000):
    isp = NM.importance_predictive(draws[:s], k, kx, kd, y, yt, e)
    errs.append(np.max(np.abs(np.asarray(isp.logpdf) - ref)))
  assert errs[1] < 5e-3 and errs[1] < errs[0], errs
  assert float(isp.ess) > 1000
  # the IS mean of sigma^2 (v + e) is the t predictive variance (b_post / (a_post - 1)) (v + e)
  tp = km.tp_posterior(k, kx, kd, y, a, b, e)
  var = (np.asarray(tp.scale2) + float(tp.b_post / tp.a_post) * e) * float(tp.a_post / (tp.a_post - 1))
  np.testing.assert_allclose(np.asarray(isp.var), var, rtol=2e-2)


@_x64
def test_burr_sampler_and_density_match_scipy():
  c, d, sc = 2.0, 1.5, 0.7
  x = np.asarray(NM.sample_burr(jax.random.PRNGKey(0), c, d, (20000,), scale=sc))
  ref = scipy.stats.burr12(c, d, scale=sc)
  assert scipy.stats.kstest(x, ref.cdf).pvalue > 1e-3
  pts = np.array([0.05, 0.3, 1.0, 4.0])
  np.testing.assert_allclose(np.asarray(NM.burr_logpdf(pts, c, d, sc)), ref.logpdf(pts), rtol=1e-12)
  np.testing.assert_allclose(np.asarray(NM.inverse_gamma_logpdf(pts, 2.5, 1.5)),
                             scipy.stats.invgamma(2.5, scale=1.5).logpdf(pts), rtol=1e-12)
  np.testing.assert_allclose(np.asarray(NM.student_t_logpdf(pts, 0.2, 1.7, 5.0)),
                             scipy.stats.t(5.0, 0.2, np.sqrt(1.7)).logpdf(pts), rtol=1e-12)
  np.testing.assert_allclose(np.asarray(NM.gaussian_logpdf(pts, 0.2, 1.7)),
                             scipy.stats.norm(0.2, np.sqrt(1.7)).logpdf(pts), rtol=1e-12)


@_x64
def test_evidence_fits_against_brute_force():
  k, _, _, _, _ = _problem(n=12, seed=3)
  # y drawn from the model N(0, 0.5 (K + 0.2 I)), so the evidence has an interior optimum
  y = np.linalg.cholesky(0.5 * (k + 0.2 * np.eye(12))) @ np.random.default_rng(4).normal(size=12)
  g = NM.fit_gp(k, y)
  scale = np.mean(np.diag(k))
  neg = lambda z: -float(km.gp_log_marginal(np.exp(z[0]) * k, y, np.exp(z[0] + z[1]), jitter=0.0))
  r = scipy.optimize.minimize(neg, np.zeros(2), method="Nelder-Mead", options=dict(xatol=1e-9, fatol=1e-12,
                                                                                   maxiter=4000))
  np.testing.assert_allclose(g.log_evidence, -r.fun, atol=1e-6)
  np.testing.assert_allclose([g.scale2, g.noise], [np.exp(r.x[0]), np.exp(r.x[1])], rtol=1e-3)
  assert 1e-6 * scale <= g.noise <= 10 * scale
  t = NM.fit_tp(k, y)
  np.testing.assert_allclose(t.log_evidence, float(km.tp_log_marginal(k, y, t.a, t.b, t.noise, jitter=0.0)),
                             rtol=1e-10)
  # the t evidence never exceeds the best GP evidence, and the free a runs to its bound (the GP limit)
  assert t.log_evidence <= g.log_evidence + 1e-9 and t.log_evidence > g.log_evidence - 1e-2
  np.testing.assert_allclose(t.a, 1e4, rtol=1e-6)
  t2 = NM.fit_tp(k, y, a=2.0)
  assert t2.a == 2.0
  ev = lambda bb, ee: float(km.tp_log_marginal(k, y, 2.0, bb, ee, jitter=0.0))
  best = ev(t2.b, t2.noise)
  np.testing.assert_allclose(best, t2.log_evidence, rtol=1e-10)
  for fb, fe in ((1.05, 1.0), (1 / 1.05, 1.0), (1.0, 1.05), (1.0, 1 / 1.05)):
    assert ev(t2.b * fb, t2.noise * fe) <= best + 1e-9


# ---------------------------------------------------------------------------------------------------
# Classification helpers and data.


@_x64
def test_argmax_probabilities_two_classes_exact():
  mean = np.array([[0.0, 0.5], [1.0, -0.2], [0.3, 0.3]])
  var = np.array([0.5, 1.0, 2.0])
  n = 20000
  p = np.asarray(NM.argmax_probabilities(jax.random.PRNGKey(0), mean, var, None, n))
  exact = scipy.stats.norm.cdf((mean[:, 1] - mean[:, 0]) / np.sqrt(2 * var))
  np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-12)
  assert np.all(np.abs(p[:, 1] - exact) <= 4.5 * np.sqrt(exact * (1 - exact) / n) + 1e-12)
  # t predictive: sigma^2 ~ IG(a, b) shared by both outputs: P = E_s[Phi(dmu / sqrt(2 s v))]
  a, b = 2.0, 1.5
  s2 = scipy.stats.invgamma(a, scale=b).rvs(n, random_state=6)
  p = np.asarray(NM.argmax_probabilities(jax.random.PRNGKey(2), mean, var, s2, n))
  ig = scipy.stats.invgamma(a, scale=b)
  for i in range(3):
    dm = mean[i, 1] - mean[i, 0]
    ex = scipy.integrate.quad(lambda s: ig.pdf(s) * scipy.stats.norm.cdf(dm / np.sqrt(2 * s * var[i])), 0, np.inf)[0]
    assert abs(p[i, 1] - ex) <= 4.5 * np.sqrt(ex * (1 - ex) / n) + 1e-12


def test_ece_and_entropy_by_hand():
  probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
  labels = np.array([0, 1, 1, 0])
  # 2 bins: [0, .5] empty; (.5, 1]: conf mean .75, accuracy 3/4
  assert NM.expected_calibration_error(probs, labels, bins=2) == pytest.approx(0.0)
  # 10 bins: .9 (acc 1, gap .1), .8 (acc 0, .8), .7 (acc 1, .3), .6 (acc 1, .4) -> mean .4
  assert NM.expected_calibration_error(probs, labels, bins=10) == pytest.approx(0.4)
  np.testing.assert_allclose(np.asarray(NM.predictive_entropy(np.r_[probs, [[1.0, 0.0]]])),
                             np.r_[scipy.stats.entropy(probs.T), 0.0], rtol=1e-6)


def test_data_generators_and_splits():
  x, y = NM.synthetic_regression("syn-t", 0)
  assert x.shape == (300, 1) and y.shape == (300,)
  xn, yn = NM.synthetic_regression("syn-normal", 1)
  assert xn.shape == (100, 1) and np.all(np.diff(xn[:, 0]) > 0)
  s = NM.regression_split(x, y, 0)
  assert s.x_train.shape == (240, 1) and abs(s.y_train.mean()) < 1e-12 and abs(s.y_train.std() - 1) < 1e-12
  cs = NM.covariate_shift_split(np.c_[x, y], y, 0, 0.2)
  assert cs.x_test[:, 0].min() >= cs.x_train[:, 0].max()
  r = np.random.default_rng(0)
  imgs = r.uniform(size=(30, 64))
  labels = np.repeat(np.arange(10), 3)
  sp = NM.held_out_class_split(imgs, labels, (1, 4, 8), 0.34, 0)
  assert sp.kept == (0, 2, 3, 5, 6, 7, 9) and len(sp.x_ood) == 9
  assert set(sp.labels_train.tolist()) <= set(range(7)) and len(sp.x_train) + len(sp.x_test) == 21
  occ = NM.corrupt_images(imgs, "occlusion", 0.5, seed=1)
  changed = (occ != imgs).reshape(30, 8, 8)
  assert np.all(changed.sum((1, 2)) == 16) and np.all(occ[changed.reshape(30, 64)] == 0)
  imp = NM.corrupt_images(np.full((200, 64), 0.5), "impulse", 0.25, seed=2)
  frac = np.mean(imp != 0.5)
  assert abs(frac - 0.25) < 0.02 and set(np.unique(imp)) <= {0.0, 0.5, 1.0}
  gau = NM.corrupt_images(imgs, "gaussian", 0.3, seed=3)
  assert gau.min() >= 0 and gau.max() <= 1 and np.std(gau - imgs) > 0.15


# ---------------------------------------------------------------------------------------------------
# SVTP.


def _svtp_problem():
  r = np.random.default_rng(7)
  z, x = r.normal(size=(4, 2)), r.normal(size=(5, 2))
  kf = lambda p, q: np.exp(-0.5 * np.sum((p[:, None] - q[None]) ** 2, -1))
  kzz = kf(z, z) + 1e-6 * np.eye(4)
  params = NM.SVTPParams(jnp.asarray(r.normal(size=(4, 3))), jnp.asarray(r.normal(size=(4, 3))),
                         jnp.asarray(1.3), jnp.asarray(0.4))
  return params, kzz, kf(x, z), np.ones(5)


@_x64
def test_inverse_gamma_kl_and_svtp_kl_against_integrals():
  aq, bq, ap, bp = 3.0, 2.0, 1.5, 0.7
  q, p = scipy.stats.invgamma(aq, scale=bq), scipy.stats.invgamma(ap, scale=bp)
  ref = scipy.integrate.quad(lambda s: q.pdf(s) * (q.logpdf(s) - p.logpdf(s)), 0, np.inf, limit=200)[0]
  np.testing.assert_allclose(float(NM.inverse_gamma_kl(aq, bq, ap, bp)), ref, rtol=1e-8)
  params, *_ = _svtp_problem()
  m, s, a1, b1 = (np.asarray(v) for v in NM.svtp_params(params))
  # E_q[log q(v | s2) q(s2) - log p(v | s2) p(s2)] by Monte Carlo (independent scipy densities)
  n = 20000
  s2 = scipy.stats.invgamma(a1, scale=b1).rvs(n, random_state=8)
  v = m[None] + np.sqrt(s2[:, None, None] * s[None]) * np.random.default_rng(9).normal(size=(n,) + m.shape)
  lq = scipy.stats.norm(m[None], np.sqrt(s2[:, None, None] * s[None])).logpdf(v).sum((1, 2))
  lp = scipy.stats.norm(0.0, np.sqrt(s2[:, None, None])).logpdf(v).sum((1, 2))
  d = lq - lp + scipy.stats.invgamma(a1, scale=b1).logpdf(s2) - scipy.stats.invgamma(2.0, scale=1.5).logpdf(s2)
  kl = float(NM.svtp_kl(params, 2.0, 1.5))
  assert abs(d.mean() - kl) <= 4.5 * d.std() / np.sqrt(n), (d.mean(), kl)


@_x64
def test_svtp_latent_and_elbo_against_dense_formulas():
  params, kzz, kxz, kxx = _svtp_problem()
  m, s, a1, b1 = (np.asarray(v) for v in NM.svtp_params(params))
  chol = np.linalg.cholesky(kzz)
  mean, var = (np.asarray(v) for v in NM.svtp_latent(params, chol, kxz, kxx))
  proj = kxz @ np.linalg.inv(kzz)                                  # K_xz K_zz^-1
  np.testing.assert_allclose(mean, proj @ chol @ m, rtol=1e-9)
  for c in range(3):
    cov = np.diag(kxx) - proj @ kxz.T + proj @ chol @ np.diag(s[:, c]) @ chol.T @ proj.T
    np.testing.assert_allclose(var[:, c], np.diag(cov), rtol=1e-8)
  labels = np.array([0, 2, 1, 1, 0])
  n = 8000
  elbo, ell = NM.svtp_elbo(jax.random.PRNGKey(0), params, chol, kxz, kxx, labels, 50, 2.0, 1.5, n)
  np.testing.assert_allclose(float(elbo), float(ell) - float(NM.svtp_kl(params, 2.0, 1.5)) / 50, rtol=1e-12)
  s2 = scipy.stats.invgamma(a1, scale=b1).rvs(n, random_state=10)
  f = mean[None] + np.sqrt(s2[:, None, None] * var[None]) * np.random.default_rng(11).normal(size=(n, 5, 3))
  lsm = f - scipy.special.logsumexp(f, -1, keepdims=True)
  per = lsm[:, np.arange(5), labels].mean(1)
  assert abs(per.mean() - float(ell)) <= 4.5 * np.sqrt(2) * per.std() / np.sqrt(n)
  probs = np.asarray(NM.svtp_predict(jax.random.PRNGKey(1), params, chol, kxz, kxx, n))
  np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-12)
  np.testing.assert_allclose(probs, np.exp(lsm).mean(0), atol=0.03)
