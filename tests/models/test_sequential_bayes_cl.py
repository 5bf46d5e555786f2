"""Paper 35 (sequential Bayes CL) against independent oracles: BLR sequential = batch (any order), HMC on a
Gaussian target within Monte Carlo error, ProtoCL streamed = batch closed form (order-free) with a normalised
predictive, the JAX mixture log density = scikit-learn's score_samples, the flat MLP = a numpy forward pass."""
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import multivariate_normal

from models import sequential_bayes_cl as S
from models.sequential_bayes_cl import experiment as E


def test_blr_sequential_equals_batch_in_any_order():
  rng = np.random.default_rng(0)
  tasks = [(rng.normal(size=(n, 3)), rng.normal(size=n)) for n in (5, 40, 12)]
  with jax.enable_x64(True):
    prior = S.Gaussian(jnp.asarray([0.3, -0.1, 0.2]), jnp.asarray(np.diag([2.0, 1.0, 0.5])))
    phi = np.concatenate([t[0] for t in tasks])
    y = np.concatenate([t[1] for t in tasks])
    # the batch posterior in numpy (normal equations), independent of the code's solve
    prec = np.asarray(prior.precision) + phi.T @ phi / 0.25
    mean = np.linalg.inv(prec) @ (np.asarray(prior.precision) @ np.asarray(prior.mean) + phi.T @ y / 0.25)
    for order in itertools.permutations(range(3)):
      post = S.blr_sequential(prior, [tasks[i] for i in order], 0.25)[-1]
      np.testing.assert_allclose(post.precision, prec, rtol=1e-13, atol=1e-12)
      np.testing.assert_allclose(post.mean, mean, rtol=1e-11, atol=1e-12)
    m, v = S.blr_predict(post, phi[:2], 0.25)
    np.testing.assert_allclose(v, np.einsum("nd,de,ne->n", phi[:2], np.linalg.inv(prec), phi[:2]) + 0.25, rtol=1e-10)


def _gauss_logp(q, args):
  mean, prec = args
  d = q - mean
  return -0.5 * d @ prec @ d


def test_hmc_gaussian_target_mean_and_covariance_within_mc_error():
  # target: a correlated 3-D Gaussian (a BLR posterior shape)
  cov = np.array([[1.0, 0.6, -0.2], [0.6, 0.8, 0.1], [-0.2, 0.1, 0.5]])
  mean = np.array([1.0, -2.0, 0.5])
  prec = np.linalg.inv(cov)
  res = S.hmc_sample(jax.random.PRNGKey(0), _gauss_logp, jnp.zeros((8, 3)),
                     args=(jnp.asarray(mean, jnp.float32), jnp.asarray(prec, jnp.float32)), step_size=0.1,
                     num_leapfrog=10, num_burnin=300, num_samples=1500)
  acc = np.asarray(res.accept_rate)
  assert np.all((acc > 0.45) & (acc < 0.95)), acc
  s = np.asarray(res.samples, np.float64)          # [8, 1500, 3]
  # Monte Carlo error from batch means: 8 chains x 10 batches of 150
  def mc_check(stat, target):
    b = stat.reshape(8, 10, 150, *stat.shape[2:]).mean(2).reshape(80, *stat.shape[2:])
    se = b.std(0, ddof=1) / np.sqrt(80)
    z = np.abs(b.mean(0) - target) / se
    assert np.all(z < 4.5), (b.mean(0), target, z)
  mc_check(s, mean)
  d = s - mean
  mc_check(d[..., :, None] * d[..., None, :], cov)


def test_leapfrog_is_reversible_and_nearly_energy_preserving():
  prec = jnp.asarray(np.diag([1.0, 4.0]))
  grad = jax.grad(lambda q: -0.5 * q @ prec @ q)
  with jax.enable_x64(True):
    prec = jnp.asarray(np.diag([1.0, 4.0]))
    grad = jax.grad(lambda q: -0.5 * q @ prec @ q)
    q0, p0 = jnp.array([0.3, -0.5]), jnp.array([1.0, 0.2])
    q1, p1 = S.leapfrog(grad, q0, p0, 0.05, 40)
    q2, p2 = S.leapfrog(grad, q1, -p1, 0.05, 40)
    np.testing.assert_allclose(q2, q0, atol=1e-12)
    np.testing.assert_allclose(-p2, p0, atol=1e-12)
    h = lambda q, p: 0.5 * q @ prec @ q + 0.5 * p @ p  # noqa: E731
    assert abs(float(h(q1, p1) - h(q0, p0))) < 5e-3


def test_protocl_streamed_posterior_equals_batch_closed_form_any_order():
  rng = np.random.default_rng(1)
  c, d, n = 3, 4, 30
  with jax.enable_x64(True):
    prior = {"mu0": jnp.asarray(rng.normal(size=(c, d))), "log_lam0": jnp.asarray(rng.normal(size=c)),
             "log_alpha0": jnp.asarray(np.full(c, 0.78)), "log_sigma": jnp.asarray(-0.3)}
    phi, y = rng.normal(size=(n, d)), rng.integers(0, c, n)
    lam0, s2 = np.exp(np.asarray(prior["log_lam0"])), np.exp(-0.6)
    for perm in (np.arange(n), rng.permutation(n), rng.permutation(n)):
      post = S.stream_posterior(prior, jnp.asarray(phi[perm]), jnp.asarray(y[perm]))
      for k in range(c):
        nk = np.sum(y == k)
        lam = lam0[k] + nk / s2
        mu = (lam0[k] * np.asarray(prior["mu0"])[k] + phi[y == k].sum(0) / s2) / lam
        np.testing.assert_allclose(post.lam[k], lam, rtol=1e-12)
        np.testing.assert_allclose(post.mean[k], mu, rtol=1e-11, atol=1e-12)
        np.testing.assert_allclose(np.exp(post.log_alpha[k]), np.exp(0.78) + nk, rtol=1e-12)
    b = S.batch_posterior(prior, jnp.asarray(phi), jnp.asarray(y))
    for u, v in zip(b, post):
      np.testing.assert_allclose(u, v, rtol=1e-11, atol=1e-12)


def test_protocl_predictive_is_normalised():
  # d = 1: sum over classes of p(phi, y), integrated over phi, is 1
  with jax.enable_x64(True):
    prior = S.init_prior(3, 1, log_sigma=-0.5)
    prior["mu0"] = jnp.asarray([[-1.0], [0.5], [2.0]])
    post = S.batch_posterior(prior, jnp.asarray([[0.1], [0.3], [1.9]]), jnp.asarray([0, 1, 2]))
    grid = np.linspace(-12, 14, 20001)[:, None]
    dens = np.exp(np.asarray(S.log_joint(post, jnp.asarray(grid), S.noise_var(prior)))).sum(1)
    assert np.trapezoid(dens, grid[:, 0]) == pytest.approx(1.0, abs=1e-8)
    lp = S.class_log_probs(post, jnp.asarray(grid[::1000]), S.noise_var(prior), jnp.asarray([True, False, True]))
    np.testing.assert_allclose(jax.nn.logsumexp(lp, axis=1), 0.0, atol=1e-12)
    assert np.all(np.isneginf(np.asarray(lp)[:, 1]))


def test_gmm_log_density_matches_sklearn_score_samples_and_em_matches_sklearn_fit():
  from sklearn.mixture import GaussianMixture
  rng = np.random.default_rng(2)
  x = np.concatenate([rng.normal(size=(200, 3)) * [0.3, 0.5, 0.2] + m for m in ([0, 0, 0], [3, 1, 0], [0, 4, 2])])
  sk = GaussianMixture(3, covariance_type="full", random_state=0).fit(x)
  g = S.GMM(np.log(sk.weights_), sk.means_, sk.precisions_cholesky_)
  with jax.enable_x64(True):
    ours = S.gmm_log_density(S.GMM(*(jnp.asarray(a) for a in g)), jnp.asarray(x))
    np.testing.assert_allclose(ours, sk.score_samples(x), rtol=1e-10, atol=1e-10)
    fit, ll = S.fit_gmm(x, 3, seed=0)
    assert ll == pytest.approx(sk.score(x), abs=1e-3)
    np.testing.assert_allclose(np.mean(S.gmm_log_density(S.GMM(*(jnp.asarray(a) for a in fit)), jnp.asarray(x))),
                               ll, rtol=1e-9)
    mm = S.moment_match(x, reg_covar=0.0)
    ref = multivariate_normal(x.mean(0), np.cov(x.T, bias=True)).logpdf(x[:5])
    np.testing.assert_allclose(S.gmm_log_density(S.GMM(*(jnp.asarray(a) for a in mm)), jnp.asarray(x[:5])), ref,
                               rtol=1e-10)
    best, bics = S.fit_gmm_bic(x, (1, 2, 3, 4))
    assert min(bics, key=bics.get) == 3 == len(best.log_weights)
    iso = S.isotropic_prior(3, 10.0)
    np.testing.assert_allclose(S.gmm_log_density(S.GMM(*(jnp.asarray(a) for a in S.pad_gmm(iso, 3))),
                                                 jnp.asarray(x[:4])),
                               multivariate_normal(np.zeros(3), np.eye(3) / 10).logpdf(x[:4]), rtol=1e-12)


def test_mlp_on_flat_parameters_matches_numpy():
  sizes = (2, 10, 10, 2)
  assert S.num_params(sizes) == 162
  theta = S.init_flat(jax.random.PRNGKey(0), sizes)
  x = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
  t = np.asarray(theta)
  w1, b1 = t[:20].reshape(2, 10), t[20:30]
  w2, b2 = t[30:130].reshape(10, 10), t[130:140]
  w3, b3 = t[140:160].reshape(10, 2), t[160:162]
  ref = np.maximum(np.maximum(x @ w1 + b1, 0) @ w2 + b2, 0) @ w3 + b3
  np.testing.assert_allclose(S.mlp_logits(theta, jnp.asarray(x), sizes), ref, rtol=1e-5, atol=1e-6)
  pred = S.predictive(jnp.stack([theta, 2 * theta]), jnp.asarray(x), sizes)
  np.testing.assert_allclose(jnp.exp(pred).sum(1), 1.0, rtol=1e-6)


def test_toy_tasks_geometry():
  tasks = S.toy_tasks(50, 50, seed=0)
  assert len(tasks) == 5
  for k, (xtr, ytr, xte, yte) in enumerate(tasks):
    assert xtr.shape == (100, 2) and ytr.sum() == 50
    np.testing.assert_allclose(xtr[ytr == 0].mean(0), S.BLOB_CENTRES[k], atol=4 * S.BLOB_STDS[k].max() / 7)
