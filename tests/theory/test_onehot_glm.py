"""Oracle tests for theory/onehot_glm (paper 19): brute-force path enumeration, closed forms, quadrature, Monte Carlo."""
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import logsumexp
from sklearn.metrics import balanced_accuracy_score, f1_score

from theory import onehot_glm as G


def _enumerate(log_lik, Pi, p0):
  """float64 numpy: log p(x), gamma, xi by summing over all S^T paths."""
  t_len, s = log_lik.shape
  paths = np.array(list(itertools.product(range(s), repeat=t_len)))
  lp = np.log(p0)[paths[:, 0]] + log_lik[np.arange(t_len), paths].sum(1)
  lp = lp + np.log(Pi)[paths[:, :-1], paths[:, 1:]].sum(1)
  ll = logsumexp(lp)
  w = np.exp(lp - ll)
  gamma = np.zeros((t_len, s))
  xi = np.zeros((t_len - 1, s, s))
  for t in range(t_len):
    np.add.at(gamma[t], paths[:, t], w)
  for t in range(t_len - 1):
    np.add.at(xi[t], (paths[:, t], paths[:, t + 1]), w)
  return ll, gamma, xi


@pytest.mark.parametrize("s,t_len", [(3, 5), (2, 6), (1, 4)])
def test_forward_backward_matches_path_enumeration(s, t_len):
  rng = np.random.default_rng(s * 10 + t_len)
  log_lik = rng.normal(0, 2, (t_len, s))
  Pi = rng.dirichlet(np.ones(s), s)
  p0 = rng.dirichlet(np.ones(s))
  ll, gamma, xi = _enumerate(log_lik, Pi, p0)
  with jax.enable_x64(True):
    post = G.forward_backward(jnp.asarray(log_lik), jnp.asarray(Pi), jnp.asarray(p0))
    np.testing.assert_allclose(float(post.loglik), ll, rtol=0, atol=1e-10)
    np.testing.assert_allclose(np.asarray(post.gamma), gamma, atol=1e-10)
    np.testing.assert_allclose(np.asarray(post.xi), xi, atol=1e-10)
    np.testing.assert_allclose(float(G.hmm_loglik(jnp.asarray(log_lik), jnp.asarray(Pi), jnp.asarray(p0))), ll,
                               atol=1e-10)
    z = np.asarray(G.viterbi(jnp.asarray(log_lik), jnp.asarray(Pi), jnp.asarray(p0)))
  paths = np.array(list(itertools.product(range(s), repeat=t_len)))
  lp = (np.log(p0)[paths[:, 0]] + log_lik[np.arange(t_len), paths].sum(1)
        + np.log(Pi)[paths[:, :-1], paths[:, 1:]].sum(1))
  np.testing.assert_array_equal(z, paths[np.argmax(lp)])


def test_posteriors_normalised_on_long_extreme_sequences():
  """Log space: 2000 bins with log-likelihoods of size ~100 (a probability-space recursion underflows)."""
  rng = np.random.default_rng(0)
  log_lik = rng.normal(-100, 30, (2, 2000, 3))
  Pi = G.sticky_transitions(3)
  with jax.enable_x64(True):
    post = G.forward_backward(jnp.asarray(log_lik), jnp.asarray(Pi))
    g, xi = np.asarray(post.gamma), np.asarray(post.xi)
    assert np.all(np.isfinite(post.loglik))
    np.testing.assert_allclose(g.sum(-1), 1.0, atol=1e-10)
    np.testing.assert_allclose(xi.sum(-1), g[:, :-1], atol=1e-10)
    np.testing.assert_allclose(xi.sum(-2), g[:, 1:], atol=1e-10)


def test_history_impulse_response_and_basis():
  phi = G.exp_basis(5, 1.0)
  np.testing.assert_allclose(phi.sum(), 1.0, atol=1e-14)                 # dt = 1: dt * sum phi = 1
  np.testing.assert_allclose(phi[1:] / phi[:-1], np.exp(-1.0), rtol=1e-13)
  x = np.zeros((12, 2))
  x[3, 0] = 1.0
  with jax.enable_x64(True):
    h = np.asarray(G.spike_history(jnp.asarray(x), jnp.asarray(phi)))
  want = np.zeros((12, 2))
  want[4:9, 0] = phi                                                     # t0 + 1 .. t0 + K get phi_1 .. phi_K
  np.testing.assert_allclose(h, want, atol=1e-15)


def _glm_loglik_np(x, W, b, phi):
  """Independent float64 single-state Poisson GLM: history by np.convolve, rates by the logistic."""
  t_len, n = x.shape
  h = np.stack([np.convolve(x[:, j], np.r_[0.0, phi])[:t_len] for j in range(n)], 1)
  f = 1 / (1 + np.exp(-(b + h @ W.T)))
  return stats.poisson.logpmf(x, f).sum()


def test_single_state_is_a_poisson_glm_with_finite_difference_gradient():
  rng = np.random.default_rng(1)
  x = rng.poisson(0.4, (40, 3)).astype(np.float64)
  W = rng.normal(0, 0.5, (3, 3))
  b = rng.normal(0, 0.3, 3)
  phi = G.exp_basis()
  with jax.enable_x64(True):
    def ll(W, b):
      h = G.spike_history(jnp.asarray(x), jnp.asarray(phi))
      return G.hmm_loglik(G.emission_loglik(jnp.asarray(x), h, W[None], b), jnp.ones((1, 1)))
    np.testing.assert_allclose(float(ll(jnp.asarray(W), jnp.asarray(b))), _glm_loglik_np(x, W, b, phi),
                               rtol=1e-12)
    gW, gb = jax.grad(ll, argnums=(0, 1))(jnp.asarray(W), jnp.asarray(b))
  eps = 1e-6
  for (i, j) in [(0, 1), (2, 0), (1, 1)]:
    d = np.zeros_like(W)
    d[i, j] = eps
    fd = (_glm_loglik_np(x, W + d, b, phi) - _glm_loglik_np(x, W - d, b, phi)) / (2 * eps)
    np.testing.assert_allclose(float(gW[i, j]), fd, rtol=1e-6)
  fd = (_glm_loglik_np(x, W, b + np.array([eps, 0, 0]), phi) - _glm_loglik_np(x, W, b - np.array([eps, 0, 0]),
                                                                               phi)) / (2 * eps)
  np.testing.assert_allclose(float(gb[0]), fd, rtol=1e-6)


def test_relabelling_states_keeps_the_likelihood():
  rng = np.random.default_rng(2)
  x = rng.poisson(0.5, (2, 30, 4)).astype(np.float64)
  W = rng.normal(0, 0.7, (3, 4, 4))
  b = rng.normal(0, 0.3, 4)
  Pi = rng.dirichlet(np.ones(3) * 2, 3)
  perm = np.array([2, 0, 1])
  with jax.enable_x64(True):
    h = G.spike_history(jnp.asarray(x), jnp.asarray(G.exp_basis()))
    a = G.hmm_loglik(G.emission_loglik(jnp.asarray(x), h, W, b), Pi)
    c = G.hmm_loglik(G.emission_loglik(jnp.asarray(x), h, W[perm], b), Pi[perm][:, perm])
    np.testing.assert_allclose(np.asarray(a), np.asarray(c), rtol=1e-13)


@pytest.mark.parametrize("tau,pi1", [(0.2, 0.3), (1.0, 0.5), (0.5, 0.9)])
def test_concrete_density_k2_integrates_to_one(tau, pi1):
  log_pi = np.log([pi1, 1 - pi1])
  with jax.enable_x64(True):
    # u = sigmoid(y), du = u (1 - u) dy: a smooth integrand on the real line (the density has a^(tau-1) ends)
    def g(y):
      u, v = jax.nn.sigmoid(y), jax.nn.sigmoid(-y)
      return jnp.exp(G.concrete_log_density(jnp.stack([u, v]), jnp.asarray(log_pi), tau, eps=1e-300)) * u * v
    f = jax.jit(g)
    val, err = integrate.quad(lambda y: float(f(y)), -300, 300, points=[0.0], limit=400, epsabs=1e-11)
  np.testing.assert_allclose(val, 1.0, atol=1e-6)


def test_gumbel_softmax_argmax_frequencies_and_small_tau_limit():
  pi = np.array([0.15, 0.6, 0.25])
  n = 20000
  keys = jax.random.split(jax.random.PRNGKey(0), 2)
  a = np.asarray(G.gumbel_softmax(keys[0], jnp.broadcast_to(jnp.log(pi), (n, 3)), 0.5))
  freq = np.bincount(a.argmax(1), minlength=3) / n
  se = np.sqrt(pi * (1 - pi) / n)
  assert np.all(np.abs(freq - pi) < 4 * se), (freq, pi)
  b = np.asarray(G.gumbel_softmax(keys[1], jnp.broadcast_to(jnp.log(pi), (n, 3)), 0.01))
  assert np.mean(b.max(1) > 0.99) > 0.97                                 # near one-hot as tau -> 0
  np.testing.assert_allclose(b.mean(0), pi, atol=4 * se.max() + 0.005)


def test_sticky_chain_dwell_times_geometric_mean_50_and_uniform_occupancy():
  z = np.asarray(G.sample_states(jax.random.PRNGKey(3), G.sticky_transitions(3, 0.98), 4000, 100))
  runs = []
  for row in z:
    change = np.flatnonzero(np.diff(row)) + 1
    lengths = np.diff(change)                                            # complete runs only (drop censored ends)
    runs.append(lengths)
  runs = np.concatenate(runs)
  m, se = runs.mean(), runs.std(ddof=1) / np.sqrt(runs.size)
  assert abs(m - 50.0) < 4 * se, (m, se)
  np.testing.assert_allclose(np.var(runs, ddof=1), 0.98 / 0.02 ** 2, rtol=0.1)   # geometric variance p/q^2
  occ = np.bincount(z.ravel(), minlength=3) / z.size
  np.testing.assert_allclose(occ, 1 / 3, atol=0.02)


def test_generator_sparsity_and_mean_rate():
  tr = G.make_truth(jax.random.PRNGKey(4), 5, 20)
  t = np.asarray(tr.types)
  assert np.all(np.diagonal(t, axis1=1, axis2=2) == 0)
  off = ~np.eye(20, dtype=bool)
  frac = np.mean(t[:, off] != 0)
  assert abs(frac - 0.2) < 0.05                                           # E[1 - pi_none] = 0.2
  assert abs(np.mean(t[:, off] == 1) - np.mean(t[:, off] == -1)) < 0.04
  # W = 0: Poisson(sigmoid(b)) counts, mean within 4 s.e.
  flat = G.Truth(jnp.zeros((1, 3, 3)), jnp.array([-1.0, 0.0, 1.0]), jnp.ones((1, 1)), jnp.zeros((1, 3, 3), int),
                 jnp.ones((3, 3, 3)) / 3)
  x, _ = G.simulate(jax.random.PRNGKey(5), flat, 3000, 2)
  lam = 1 / (1 + np.exp(-np.array([-1.0, 0.0, 1.0])))
  np.testing.assert_array_less(np.abs(np.asarray(x).mean((0, 1)) - lam), 4 * np.sqrt(lam / 6000))


def test_metrics_match_permutation_and_sklearn():
  rng = np.random.default_rng(5)
  z = rng.integers(0, 3, 500)
  perm = np.array([1, 2, 0])
  zh = perm[z].copy()
  zh[:40] = rng.integers(0, 3, 40)
  np.testing.assert_array_equal(G.match_states(z, zh, 3), perm)
  t = rng.integers(-1, 2, (3, 6, 6))
  e = np.where(rng.random(t.shape) < 0.3, rng.integers(-1, 2, t.shape), t)
  bal, f1 = G.adjacency_scores(t, e)
  np.testing.assert_allclose(bal, balanced_accuracy_score(t.ravel(), e.ravel()), atol=1e-12)
  np.testing.assert_allclose(f1, f1_score(t.ravel(), e.ravel(), average="macro"), atol=1e-12)


def test_em_pi_stays_stochastic_and_likelihood_increases():
  """S = 2 truth with strong couplings, tiny one-hot fit: Pi and the learned prior are distributions and the
  training marginal likelihood increases from the first E-step to the last."""
  tr = G.make_truth(jax.random.PRNGKey(6), 2, 4, strength_scale=20.0)
  x, z = G.simulate(jax.random.PRNGKey(7), tr, 300, 2)
  res = G.fit(jax.random.PRNGKey(8), x, 2, "onehot", n_iter=3, n_mstep=10, lr=0.05)
  np.testing.assert_allclose(np.asarray(res.Pi).sum(1), 1.0, atol=1e-5)
  assert float(res.loglik[-1]) > float(res.loglik[0])
  p = np.asarray(res.prior)
  np.testing.assert_allclose(p.sum(-1), 1.0, atol=1e-5)


def test_nitime_format_loader(tmp_path):
  f = tmp_path / "grasshopper_spike_times1.txt"
  f.write_text("# header line\n# another\n1000\n4999\n5000\n9999999\n12000000\n")
  c = G.load_spike_counts(1, bin_ms=5.0, path=str(tmp_path))
  assert c.shape == (2000, 1)
  assert c[0, 0] == 2 and c[1, 0] == 1 and c[1999, 0] == 1 and c.sum() == 4   # 12 s is past the 10 s recording
  with pytest.raises(FileNotFoundError, match="path"):
    G.load_spike_counts(1, path=str(tmp_path / "nope"))


@pytest.mark.parametrize("call,match", [
    (lambda: G.spike_history(np.array([[1.0], [-1.0]]), G.exp_basis()), "non-negative integer"),
    (lambda: G.spike_history(np.array([[1.0], [0.5]]), G.exp_basis()), "non-negative integer"),
    (lambda: G.exp_basis(0), "window"),
    (lambda: G.fit(jax.random.PRNGKey(0), np.ones((1, 5, 2)), 0, "naive"), "n_states"),
    (lambda: G.forward_backward(np.zeros((4, 2)), np.array([[0.5, 0.6], [0.5, 0.5]])), "Pi"),
    (lambda: G.concrete_log_density(np.array([0.5, 0.5]), np.zeros(2), 0.0), "tau"),
    (lambda: G.gumbel_softmax(jax.random.PRNGKey(0), np.zeros(3), -1.0), "tau"),
])
def test_bad_input(call, match):
  with pytest.raises((ValueError, TypeError), match=match):
    call()
