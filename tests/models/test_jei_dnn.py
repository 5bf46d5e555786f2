"""JEI-DNN (paper 01) against independent oracles: brute force over gate outcomes, hand-counted costs, numpy
float64 formulas, order statistics and Monte Carlo coverage of split conformal prediction."""
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from models import jei_dnn as J

RNG = np.random.default_rng(1)


def test_exit_distribution_equals_brute_force_over_gate_outcomes():
  g = RNG.uniform(0, 1, (7, 4))
  pi = np.asarray(J.exit_distribution(jnp.asarray(g, jnp.float32)), np.float64)
  brute = np.zeros((7, 5))
  for bits in itertools.product([0, 1], repeat=4):  # gate l fires (1) or not; the first firing gate is the exit
    b = np.asarray(bits)
    prob = np.prod(np.where(b == 1, g, 1 - g), axis=1)
    brute[:, int(np.argmax(b)) if b.any() else 4] += prob
  np.testing.assert_allclose(pi, brute, atol=1e-6)
  np.testing.assert_allclose(pi.sum(1), 1.0, atol=1e-6)
  np.testing.assert_array_equal(np.asarray(J.exit_distribution(jnp.ones((2, 4))))[:, 0], 1.0)
  np.testing.assert_array_equal(np.asarray(J.exit_distribution(jnp.zeros((2, 4))))[:, -1], 1.0)


def test_expected_cost_decreases_in_every_gate():
  costs = J.cumulative_costs([3.0, 1, 2, 1, 1], [1.0] * 5, [0.5] * 4)
  g = RNG.uniform(0.05, 0.9, (50, 4))
  base = np.asarray(J.expected_cost(J.exit_distribution(jnp.asarray(g)), costs))
  for l in range(4):
    up = g.copy()
    up[:, l] += 0.05
    assert (np.asarray(J.expected_cost(J.exit_distribution(jnp.asarray(up)), costs)) < base).all()


def test_cumulative_costs_by_hand():
  blocks, heads, gates = J.resmlp_macs(64, 128, 32, 6, 6, 10)
  assert blocks == [64 * 128 + 2 * 128 * 32] + [2 * 128 * 32] * 5 and heads == [1280] * 6 and gates == [4] * 5
  total = 64 * 128 + 6 * 2 * 128 * 32 + 6 * 1280 + 5 * 4
  by_hand = [(64 * 128 + l * (2 * 128 * 32 + 1280 + 4)) / total for l in range(1, 6)] + [1.0]
  np.testing.assert_allclose(np.asarray(J.model_costs(J.JEIDNN(), 64)), by_hand, rtol=1e-6)
  assert J.exit_blocks(6, 3) == (2, 4, 6)
  b3 = J.resmlp_macs(64, 128, 32, 6, 3, 10)[0]
  assert b3 == [64 * 128 + 2 * 8192, 2 * 8192, 2 * 8192]


def test_oracle_exit_targets_and_weights():
  costs = jnp.asarray([0.2, 0.5, 1.0])
  ce = jnp.asarray([[2.0, 1.0, 0.1], [0.3, 0.3, 0.3], [0.5, 0.1, 0.2], [0.9, 0.2, 0.05]])
  np.testing.assert_array_equal(J.oracle_exit(ce, costs, 0.0), [2, 0, 1, 2])     # tie -> earliest
  # lam = 1: 2.2/1.5/1.1; 0.5/0.8/1.3; 0.7/0.6/1.2; 1.1/0.7/1.05
  np.testing.assert_array_equal(J.oracle_exit(ce, costs, 1.0), [2, 0, 1, 1])
  np.testing.assert_array_equal(J.oracle_exit(ce, costs, 1e4), [0, 0, 0, 0])
  t = np.asarray(J.gate_targets(jnp.asarray([0, 1, 2]), 3))
  np.testing.assert_array_equal(t, [[1, 1], [0, 1], [0, 0]])
  assert (np.diff(t, axis=1) >= 0).all()
  ls = RNG.integers(0, 5, 200)
  ls[ls == 3] = 4                                            # gate 3 never the oracle exit: count floored at 0.1
  w = np.asarray(J.positive_weights(jnp.asarray(ls), 5))
  ref = [min(5.0, (200 - max((ls == l).sum(), 0.1)) / max((ls == l).sum(), 0.1)) for l in range(4)]
  np.testing.assert_allclose(w, ref, rtol=1e-6)
  assert w[3] == 5.0


def test_gate_loss_and_features_match_numpy():
  z = RNG.normal(size=(6, 3))
  t = (RNG.uniform(size=(6, 3)) < 0.4).astype(np.float64)
  w = np.array([0.5, 2.0, 5.0])
  s = 1 / (1 + np.exp(-z))
  ref = np.mean(-(t * w * np.log(s) + (1 - t) * np.log(1 - s)))
  np.testing.assert_allclose(float(J.gate_loss(jnp.asarray(z), jnp.asarray(t), jnp.asarray(w))), ref, rtol=1e-5)
  p = RNG.dirichlet(np.ones(5), size=4)
  u = np.asarray(J.gate_features(jnp.asarray(p, jnp.float32)))
  srt = np.sort(p, -1)[:, ::-1]
  q = p ** 2 / (p ** 2).sum(-1, keepdims=True)
  ref = np.stack([srt[:, 0], -(p * np.log(p)).sum(-1), srt[:, 0] - srt[:, 1], -(q * np.log(q)).sum(-1)], -1)
  np.testing.assert_allclose(u, ref, rtol=1e-5, atol=1e-6)
  g = jax.grad(lambda a: J.gate_features(a).sum())(jnp.asarray(p, jnp.float32))
  assert not np.asarray(g).any()                              # detached


def test_im_losses_warmup_and_official_identity():
  logits = jnp.asarray(RNG.normal(size=(5, 4, 3)), jnp.float32)
  y = jnp.asarray(RNG.integers(0, 3, 5), jnp.int32)
  gates = jnp.asarray(RNG.uniform(0.1, 0.9, (5, 3)), jnp.float32)
  lp = np.asarray(logits, np.float64)
  lp = lp - np.log(np.exp(lp).sum(-1, keepdims=True))
  ce = -lp[np.arange(5), :, np.asarray(y)]
  np.testing.assert_allclose(np.asarray(J.cross_entropies(logits, y)), ce, rtol=1e-5)
  pi = J.exit_distribution(gates)
  np.testing.assert_allclose(float(J.im_loss(logits, y, pi)), np.mean((np.asarray(pi) * ce).sum(1)), rtol=1e-5)
  np.testing.assert_allclose(float(J.warmup_loss(logits, y)), np.mean(ce @ np.array([3.0, 2.0, 1.0, 1.0])), rtol=1e-5)
  # [derived] the official WEIGHTED loss is sum_l CE_l, in value and in gradient
  np.testing.assert_allclose(float(J.official_im_loss(logits, y, gates)), np.mean(ce.sum(1)), rtol=1e-5)
  g_off = jax.grad(lambda z: J.official_im_loss(z, y, gates))(logits)
  g_eq = jax.grad(lambda z: jnp.mean(J.cross_entropies(z, y).sum(1)))(logits)
  np.testing.assert_allclose(np.asarray(g_off), np.asarray(g_eq), rtol=1e-4, atol=1e-6)
  assert not np.asarray(jax.grad(lambda p: J.im_loss(logits, y, p))(pi)).any()   # sg(pi)


def test_exit_rules_match_a_loop():
  g = RNG.uniform(size=(30, 4))
  probs = RNG.dirichlet(np.ones(3) * 0.5, size=(30, 5))
  ge = np.asarray(J.gated_exit(jnp.asarray(g)))
  te = np.asarray(J.threshold_exit(jnp.asarray(probs, jnp.float32), 0.7))
  for b in range(30):
    assert ge[b] == next((l for l in range(4) if g[b, l] >= 0.5), 4)
    assert te[b] == next((l for l in range(4) if probs[b, l].max() >= 0.7), 4)
  np.testing.assert_array_equal(J.gated_exit(jnp.full((1, 4), 0.5)), [0])      # tie rule >= 0.5
  np.testing.assert_allclose(np.asarray(J.take_exit(jnp.asarray(probs), jnp.asarray(te))), probs[np.arange(30), te],
                             rtol=1e-6)


def test_conformal_quantile_is_the_order_statistic_and_covers():
  # numpy's "higher" quantile at level k/n (k = ceil((n+1)(1-alpha)), as the official get_conf_thresh) is the
  # (k+1)-th smallest score for k < n (position ceil(k (n-1)/n) = k, 0-based), the largest for k >= n
  for n, alpha in ((50, 0.1), (99, 0.05), (10, 0.05), (19, 0.05)):
    s = RNG.uniform(size=n)
    k = int(np.ceil((n + 1) * (1 - alpha)))
    assert J.conformal_quantile(s, alpha) == np.sort(s)[min(k, n - 1)]
  # exchangeable scores from a synthetic classifier; coverage averaged over many random splits
  alpha, n_cal, n_test, reps, K = 0.1, 100, 100, 400, 4
  cov = []
  for r in range(reps):
    p = RNG.dirichlet(np.ones(K), size=n_cal + n_test)
    y = np.array([RNG.choice(K, p=row) for row in p])
    ex = RNG.integers(0, 2, n_cal + n_test)                  # two "exits" with their own thresholds
    pe = np.stack([p, p[:, ::-1]], 1)                        # exit 1 sees a permuted classifier
    sc_all = 1 - pe[np.arange(len(y)), :, y]
    sc = sc_all[np.arange(len(y)), ex]
    q = J.per_exit_quantiles(sc[:n_cal], ex[:n_cal], sc_all[:n_cal], alpha)
    sets = J.prediction_sets(pe[np.arange(n_cal, len(y)), ex[n_cal:]], q[ex[n_cal:]])
    cov.append(J.set_metrics(sets, y[n_cal:])[0])
  m, se = np.mean(cov), np.std(cov, ddof=1) / np.sqrt(reps)
  # each exit's threshold uses about n_cal / 2 scores; one order statistic above the textbook one adds at most
  # 1/(n_l + 1) to the textbook interval [1 - alpha, 1 - alpha + 1/(n_l + 1)]
  assert 1 - alpha - 3 * se <= m <= 1 - alpha + 2 / (n_cal / 2 - 10 + 1) + 3 * se


def _ece_loop(conf, corr, n_bins):
  edges = np.quantile(conf, np.linspace(0, 1, n_bins + 1))
  tot = 0.0
  for b in range(n_bins):
    inner = edges[1:-1]
    members = [i for i in range(len(conf)) if np.sum(inner < conf[i]) == b]
    if members:
      tot += len(members) * abs(np.mean(corr[members]) - np.mean(conf[members]))
  return tot / len(conf)


def test_ece_against_a_direct_computation_and_closed_forms():
  conf = RNG.uniform(0.2, 1, 300)
  corr = (RNG.uniform(size=300) < conf ** 2).astype(float)
  np.testing.assert_allclose(J.ece(conf, corr), _ece_loop(conf, corr, 15), rtol=1e-12)
  p = RNG.uniform(size=200_000)
  assert J.ece(p, (RNG.uniform(size=p.size) < p).astype(float)) < 0.01          # calibrated
  corr = np.zeros(1000)
  corr[:730] = 1
  np.testing.assert_allclose(J.ece(np.ones(1000), corr), 1 - 0.73, rtol=1e-12)


def test_budget_auc_by_hand():
  # points (0.5, 0.6) and (1.0, 0.8) on [0.3, 1]: 0 on [0.3, 0.5), 0.6 on [0.5, 1), 0.8 at 1
  got = J.budget_auc([0.5, 1.0], [0.6, 0.8], n_grid=70001)
  np.testing.assert_allclose(got, (0.6 * 0.5) / 0.7, atol=1e-4)


@pytest.fixture(scope="module")
def tiny():
  model = J.JEIDNN(width=8, bottleneck=4, n_blocks=3, num_exits=3, num_classes=3)
  x = jnp.asarray(RNG.normal(size=(6, 5)), jnp.float32)
  params = jax.jit(model.init)(jax.random.PRNGKey(0), x)["params"]
  params = jax.tree.map(lambda a: a + 0.3 * jnp.asarray(RNG.normal(size=a.shape), a.dtype), params)
  return model, params, x, jnp.asarray(RNG.integers(0, 3, 6), jnp.int32)


def test_module_wiring_and_phase_gradients(tiny):
  model, params, x, y = tiny
  out = jax.jit(model.apply)({"params": params}, x)
  feats, final = jax.jit(lambda p, a: model.apply(p, a, method=J.JEIDNN.features))({"params": params}, x)
  _, logits_bb = jax.jit(J.ResMLPBackbone(8, 4, 3, 3).apply)({"params": params["backbone"]}, x)
  np.testing.assert_allclose(np.asarray(out["logits"][:, -1]), np.asarray(logits_bb), rtol=1e-6)
  im = np.einsum("bld,ldk->blk", np.asarray(feats[:, :2]), np.asarray(params["ims"]["kernel"])) + np.asarray(
      params["ims"]["bias"])
  np.testing.assert_allclose(np.asarray(out["logits"][:, :2]), im, rtol=1e-5, atol=1e-6)
  u = np.asarray(J.gate_features(jax.nn.softmax(jnp.asarray(im), -1)))
  ref = (u * np.asarray(params["gates"]["kernel"])).sum(-1) + np.asarray(params["gates"]["bias"])
  np.testing.assert_allclose(np.asarray(out["gate_logits"]), ref, rtol=1e-5, atol=1e-6)
  costs = J.model_costs(model, 5)
  for phase, frozen in ((J.IM_PHASE, "gates"), (J.GATE_PHASE, "ims")):
    g = jax.jit(jax.grad(lambda p: J.phase_loss(model, p, feats, final, y, phase=phase, lam=0.1, costs=costs)[0]))(
        params)
    assert not any(np.asarray(a).any() for a in jax.tree.leaves(g[frozen]))
    assert any(np.asarray(a).any() for a in jax.tree.leaves(g["ims" if frozen == "gates" else "gates"]))


def test_difficulty_digits_and_splits():
  x = RNG.uniform(size=(4000, 16)).astype(np.float32)
  xs, ys, lv = J.difficulty_digits(x, np.zeros(4000, np.int32), 3)
  np.testing.assert_array_equal(xs[lv == 0], x[lv == 0])
  for i, m in enumerate(J.DIFFICULTY_LEVELS[1:], 1):
    sd = (xs[lv == i] - x[lv == i]).std()
    assert abs(sd - m * x.std()) < 0.03 * m * x.std()
  xo, _, lo = J.difficulty_digits(x, np.zeros(4000, np.int32), 3, mode="occlusion")
  zeroed = ((xo == 0) & (x != 0)).sum(1)
  np.testing.assert_array_equal(zeroed[lo == 3], 16)          # side round(2 * 2) = 4 on a 4 x 4 image
  sp = J.split_indices(101, 0)
  allidx = np.concatenate(list(sp.values()))
  assert sorted(allidx.tolist()) == list(range(101))
