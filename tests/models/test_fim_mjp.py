"""Oracle tests of models/fim_mjp (paper 27): exact simulation, closed forms, estimators, network invariants."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
import scipy.stats

from models import fim_mjp as M
from models.fim_mjp import baselines as BL
from models.fim_mjp import experiment as E

F3 = np.array([[-0.9, 0.6, 0.3], [0.4, -0.5, 0.1], [0.2, 0.8, -1.0]])
P0 = np.array([0.5, 0.3, 0.2])


def test_expm_and_transitions_match_scipy_and_rows_sum_to_one():
  A = np.random.default_rng(0).normal(size=(6, 4, 4)) * np.array([0.1, 1, 3, 10, 30, 100])[:, None, None]
  with jax.enable_x64(True):
    got = np.asarray(M.expm_batch(jnp.asarray(A)))
    P = np.asarray(M.transition_matrices(F3, np.array([0.0, 0.3, 2.0, 40.0])))
  ref = np.stack([scipy.linalg.expm(a) for a in A])
  np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12 * np.abs(ref).max())
  np.testing.assert_allclose(P, np.stack([scipy.linalg.expm(F3 * t) for t in (0.0, 0.3, 2.0, 40.0)]), atol=1e-12)
  np.testing.assert_allclose(P.sum(-1), 1.0, atol=1e-12)


def test_two_state_closed_forms():
  a, b = 0.7, 0.2
  F = np.array([[-a, a], [b, -b]])
  t = 1.3
  with jax.enable_x64(True):
    P = np.asarray(M.transition_matrices(F, t))
    pi = np.asarray(M.stationary_distribution(F))
  np.testing.assert_allclose(P[0, 1], a / (a + b) * (1 - np.exp(-(a + b) * t)), atol=1e-12)
  np.testing.assert_allclose(pi, np.array([b, a]) / (a + b), atol=1e-12)
  np.testing.assert_allclose(M.relaxation_times(F), [1 / (a + b)], rtol=1e-12)
  np.testing.assert_allclose(M.mean_first_passage_times(F), [[0, 1 / a], [1 / b, 0]], rtol=1e-12)


def test_stationary_law_is_the_null_space_and_mfpt_the_fundamental_matrix_formula():
  with jax.enable_x64(True):
    pi = np.asarray(M.stationary_distribution(F3))
  ns = scipy.linalg.null_space(F3.T)[:, 0]
  np.testing.assert_allclose(pi, ns / ns.sum(), atol=1e-12)
  # independent oracle: fundamental matrix Z = (1 pi^T - F)^-1, m_ij = (Z_jj - Z_ij) / pi_j
  Z = np.linalg.inv(np.outer(np.ones(3), pi) - F3)
  ref = (np.diag(Z)[None, :] - Z) / pi[None, :]
  np.testing.assert_allclose(M.mean_first_passage_times(F3), ref, rtol=1e-10, atol=1e-12)
  lam = np.sort(np.linalg.eigvals(F3).real)[:2]
  np.testing.assert_allclose(np.sort(M.relaxation_times(F3)), np.sort(-1 / lam), rtol=1e-10)


def test_gillespie_holding_times_and_jump_probabilities_monte_carlo():
  rng = np.random.default_rng(1)
  hold = {i: [] for i in range(3)}
  jumps = np.zeros((3, 3))
  for _ in range(60):
    jt, st = M.gillespie(rng, F3, P0, 160.0)
    # only intervals entered before t = 100: P(holding > 60) <= e^-30, so the horizon censors none of them
    for k in range(int(np.sum(jt < 100.0))):
      hold[st[k]].append(jt[k + 1] - jt[k])
      jumps[st[k], st[k + 1]] += 1
  for i in range(3):
    h = np.asarray(hold[i])
    assert abs(h.mean() - 1 / -F3[i, i]) < 4 * h.std() / np.sqrt(len(h))
    n = jumps[i].sum()
    p = np.where(np.arange(3) == i, 0, F3[i]) / -F3[i, i]
    assert np.all(np.abs(jumps[i] / n - p) <= 4 * np.sqrt(p * (1 - p) / n) + 1e-12)


def test_grid_sampler_and_gillespie_agree_with_the_master_equation():
  grid = np.array([0.0, 0.4, 1.5, 4.0])
  n = 3000
  x = np.asarray(M.sample_grid_paths(jax.random.PRNGKey(0), F3, P0, np.broadcast_to(grid, (n, 4))))
  rng = np.random.default_rng(2)
  g = np.stack([M.states_at(*M.gillespie(rng, F3, P0, 4.0), grid) for _ in range(1500)])
  for k, t in enumerate(grid):
    p = P0 @ scipy.linalg.expm(F3 * t)
    for sample in (x[:, k], g[:, k]):
      counts = np.bincount(sample, minlength=3)
      assert scipy.stats.chisquare(counts, p * len(sample)).pvalue > 1e-3
  # two-step joint law of the grid chain: P(x_1 = i, x_2 = j) = (p0 e^{F t1})_i e^{F (t2 - t1)}_ij
  joint = (P0 @ scipy.linalg.expm(F3 * 0.4))[:, None] * scipy.linalg.expm(F3 * 1.1)
  counts = np.zeros((3, 3))
  np.add.at(counts, (x[:, 1], x[:, 2]), 1)
  assert scipy.stats.chisquare(counts.ravel(), joint.ravel() * n).pvalue > 1e-3
  # expm sampler vs Gillespie: homogeneity of the time-4 marginal
  table = np.stack([np.bincount(x[:, 3], minlength=3), np.bincount(g[:, 3], minlength=3)])
  assert scipy.stats.chi2_contingency(table).pvalue > 1e-3


def test_states_at_is_the_last_jump_at_or_before_t():
  np.testing.assert_array_equal(M.states_at([0.0, 1.0, 2.5], [2, 0, 1], [0.0, 0.99, 1.0, 2.4, 2.5, 9.0]),
                                [2, 2, 0, 0, 1, 1])


def test_full_path_mle_closed_form_on_a_hand_made_path():
  # 0 (0..1) -> 1 (1..1.5) -> 0 (1.5..3) -> 2 (3..4), horizon 4
  paths = [(np.array([0.0, 1.0, 1.5, 3.0]), np.array([0, 1, 0, 2]))]
  F = M.full_path_mle(paths, 3, 4.0)
  R = np.array([2.5, 0.5, 1.0])
  ref = np.zeros((3, 3))
  ref[0, 1], ref[1, 0], ref[0, 2] = 1 / R[0], 1 / R[1], 1 / R[0]
  np.testing.assert_allclose(F, ref - np.diag(ref.sum(1)), atol=1e-14)


def test_naive_grid_rates_closed_form():
  s = np.array([[0, 0, 1, 1], [1, 0, 0, 0]])
  t = np.array([[0.0, 1.0, 2.0, 3.0], [0.0, 0.5, 1.0, 1.5]])
  F = BL.naive_grid_rates(s, t, None, 2)
  # from 0: pairs (0->0, 1.0), (0->1, 1.0), (0->0, 0.5), (0->0, 0.5): 1 jump / 3.0; from 1: (1->1, 1), (1->0, .5)
  np.testing.assert_allclose(F, [[-1 / 3, 1 / 3], [1 / 1.5, -1 / 1.5]], atol=1e-14)


def test_grid_mle_recovers_the_rates_on_dense_grids():
  rng = np.random.default_rng(3)
  grid = np.linspace(0, 20, 201)
  s = np.stack([M.states_at(*M.gillespie(rng, F3, P0, 20.0), grid) for _ in range(150)])
  F = BL.grid_mle(s, np.broadcast_to(grid, s.shape), None, 3)
  off = ~np.eye(3, dtype=bool)
  assert np.max(np.abs(F - F3)[off]) < 0.1, F
  # the naive estimator is biased low at coarse spacing; at dt = 0.1 it is close too, but farther than the MLE
  Fn = BL.naive_grid_rates(s, np.broadcast_to(grid, s.shape), None, 3)
  assert np.sqrt(np.mean((F - F3)[off] ** 2)) < np.sqrt(np.mean((Fn - F3)[off] ** 2))


def test_hmm_likelihood_equals_enumeration_over_hidden_paths():
  c, p = 2, 0.2
  F = np.array([[-0.6, 0.6], [0.9, -0.9]])
  obs = np.array([[0, 1, 1]])
  t = np.array([[0.0, 0.7, 1.2]])
  pair = np.ones((1, 2), bool)
  dts, idx = BL._unique_dt(np.diff(t, axis=1), pair)
  init = np.array([0.3, 0.7])
  emis = (1 - p) * np.eye(c) + p / (c - 1) * (1 - np.eye(c))
  theta = np.log(F[~np.eye(2, dtype=bool)])
  with jax.enable_x64(True):
    nll = float(BL._hmm_nll(jnp.asarray(theta), jnp.asarray(dts), jnp.asarray(idx), jnp.asarray(obs),
                            jnp.asarray(pair), jnp.asarray(init), c, jnp.asarray(emis)))
  P1, P2 = scipy.linalg.expm(F * 0.7), scipy.linalg.expm(F * 0.5)
  like = sum(init[a] * emis[a, 0] * P1[a, b] * emis[b, 1] * P2[b, d] * emis[d, 1]
             for a in range(2) for b in range(2) for d in range(2))
  np.testing.assert_allclose(nll, -np.log(like), rtol=1e-12)


def test_flip_labels_rate_and_uniform_targets():
  n = 20000
  s = jnp.zeros(n, jnp.int32)
  y = np.asarray(M.flip_labels(jax.random.PRNGKey(4), s, 4, 0.3))
  frac = np.mean(y != 0)
  assert abs(frac - 0.3) < 4 * np.sqrt(0.3 * 0.7 / n)
  counts = np.bincount(y[y != 0], minlength=4)[1:]
  assert scipy.stats.chisquare(counts).pvalue > 1e-3


@pytest.fixture(scope="module")
def prior_batch():
  # the smoke config's prior and batch size (experiments/configs/fim_mjp.py): one compile shared with its run
  cfg = M.PriorConfig(n_paths=(2, 4), n_obs=(4, 6))
  draws = [M.sample_prior_batch(jax.random.PRNGKey(k), 4, cfg) for k in range(16)]
  return cfg, jax.tree.map(lambda *a: np.concatenate([np.asarray(x) for x in a]), *draws)


def test_prior_draws_are_valid_irreducible_and_padded(prior_batch):
  cfg, b = prior_batch
  for i in range(64):
    n = int(b.n_states[i])
    assert n in cfg.c_choices
    M.check_generator(b.F[i], "test")
    assert np.all(b.F[i][n:] == 0) and np.all(b.F[i][:, n:] == 0)
    reach = np.linalg.matrix_power(np.eye(n) + (b.F[i][:n, :n] > 0), n) > 0
    assert reach.all()
    assert np.all(b.states[i][b.obs_mask[i]] < n) and np.all(b.pi0[i][n:] == 0)
    P, L = b.path_mask[i].sum(), b.obs_mask[i][0].sum()
    assert cfg.n_paths[0] <= P <= cfg.n_paths[1] and cfg.n_obs[0] <= L <= cfg.n_obs[1]
    assert np.all(np.diff(b.times[i], axis=-1) >= 0) and b.times[i].max() <= cfg.horizon + 1e-5
  assert set(np.unique(b.n_states)) == set(cfg.c_choices)
  assert all(np.isclose(cfg.noise_levels, p, atol=1e-6).any() for p in np.unique(b.noise))


_MODEL = M.FIMMJP(c_max=4, hidden=8, n_queries=2, k_dim=8, v_dim=8, decoder_hidden=(16,))


@pytest.fixture(scope="module")
def model_and_batch(prior_batch):
  _, b = prior_batch
  b = jax.tree.map(lambda a: a[:4], b)
  params = _MODEL.init(jax.random.PRNGKey(0), b.states, b.times, b.obs_mask, b.path_mask)
  fwd = jax.jit(lambda st, t, om, pm: _MODEL.apply(params, st, t, om, pm))
  return b, fwd


def test_path_permutation_and_padded_paths_leave_the_output_unchanged(model_and_batch):
  b, fwd = model_and_batch
  out = fwd(b.states, b.times, b.obs_mask, b.path_mask)
  perm = np.random.default_rng(6).permutation(b.states.shape[1])
  out_p = fwd(b.states[:, perm], b.times[:, perm], b.obs_mask[:, perm], b.path_mask[:, perm])
  for k in ("mean", "logstd", "init_logits"):
    np.testing.assert_allclose(out[k], out_p[k], rtol=1e-5, atol=1e-6)
  # garbage in padded paths and padded observations does not matter
  st = np.where(b.obs_mask & b.path_mask[..., None], b.states, 3)
  out_g = fwd(st, b.times, b.obs_mask, b.path_mask)
  for k in ("mean", "logstd", "init_logits"):
    np.testing.assert_allclose(out[k], out_g[k], rtol=1e-5, atol=1e-6)


def test_loss_matches_the_gaussian_nll_and_ignores_padded_states(model_and_batch):
  b, fwd = model_and_batch
  out = fwd(b.states, b.times, b.obs_mask, b.path_mask)
  loss, terms = M.fim_loss(out, b.F, b.adjacency, b.pi0, b.n_states)
  mean, std = np.asarray(out["mean"], np.float64), np.exp(np.asarray(out["logstd"], np.float64))
  nll, miss, cnt, cz = 0.0, 0.0, 0, 0
  ce = []
  for i in range(4):
    n = int(b.n_states[i])
    for r in range(n):
      for c in range(n):
        if r == c:
          continue
        if b.adjacency[i, r, c] > 0:
          nll -= scipy.stats.norm.logpdf(b.F[i, r, c], mean[i, r, c], std[i, r, c])
          cnt += 1
        else:
          miss += float(out["norm"][i]) * (mean[i, r, c] ** 2 + std[i, r, c] ** 2)
          cz += 1
    lg = np.asarray(out["init_logits"][i, :n], np.float64)
    ce.append(scipy.special.logsumexp(lg) - lg[np.argmax(b.pi0[i, :n])])
  ref = nll / cnt + np.mean(ce) + (miss / cz if cz else 0.0)
  np.testing.assert_allclose(float(loss), ref, rtol=1e-4)
  # padded states: any values there change nothing
  F2, A2 = b.F.copy(), b.adjacency.copy()
  for i in range(4):
    n = int(b.n_states[i])
    F2[i, n:, :], A2[i, :, n:] = 7.0, 1.0
  out2 = dict(out, init_logits=jnp.where(jnp.arange(4)[None] >= b.n_states[:, None], 50.0, out["init_logits"]))
  np.testing.assert_allclose(float(M.fim_loss(out2, F2, A2, b.pi0, b.n_states)[0]), float(loss), rtol=1e-6)
  F, p0 = M.predicted_generator(out, b.n_states)
  np.testing.assert_allclose(np.asarray(F).sum(-1), 0.0, atol=1e-5)
  np.testing.assert_allclose(np.asarray(p0).sum(-1), 1.0, atol=1e-6)


def test_metrics_against_hand_computed_values():
  F = np.array([[[-1.0, 1.0, 0], [2.0, -2.0, 0], [0, 0, 0]]])
  Fh = np.array([[[-2.0, 2.0, 0], [2.0, -2.0, 0], [0, 0, 0]]])
  np.testing.assert_allclose(E.relative_rmse(Fh, F, [2]), np.sqrt(0.5) / np.sqrt(2.5))
  # stationary laws (2/3, 1/3) and (1/2, 1/2)
  np.testing.assert_allclose(E.stationary_tv(Fh, F, [2]), 1 / 6, atol=1e-12)
  z = E.z_scores(np.zeros((1, 3, 3)), np.zeros((1, 3, 3)), F, (F > 0).astype(float), [2])
  np.testing.assert_allclose(np.sort(z), [1.0, 2.0])
