"""Oracle tests for theory/info_plane (paper 18): the 12-bit data set against the notes' verified counts and an
icosahedral rotation, binned MI against numpy brute force and the identities of a deterministic layer, the KDE
bounds against a float64 numpy loop and their limits, the single-neuron toy against scipy's normal CDF and Monte
Carlo, the trainer against plain gradient descent and Adam's first step, and the init's truncated-normal std."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import norm

from theory import info_plane as IP

H_Y = 0.99916           # the notes' H(Y) for p(y = 1) = 2118 / 4096


@pytest.fixture(scope="module")
def data():
  return IP.twelve_bit_dataset()


def _entropy_np(rows, weights=None):
  _, inv = np.unique(rows, axis=0, return_inverse=True)
  w = np.ones(len(rows)) if weights is None else weights
  p = np.bincount(inv.ravel(), weights=w)
  p = p[p > 0] / p.sum()
  return float(-(p * np.log2(p)).sum())


# ---------------------------------------------------------------------------------------------------------
# data

def test_dataset_counts_match_the_notes(data):
  assert data.x.shape == (4096, 12) and int(data.y.sum()) == 2118
  h = -(2118 / 4096 * math.log2(2118 / 4096) + 1978 / 4096 * math.log2(1978 / 4096))
  assert abs(h - H_Y) < 1e-5
  frac = {k: data.y[data.n_ones == k].mean() for k in range(13)}
  assert all(frac[k] == 0 for k in range(5)) and all(frac[k] == 1 for k in range(8, 13))
  for k, f in ((5, 0.076), (6, 0.576), (7, 0.924)):
    assert abs(frac[k] - f) < 5e-4
  edges, anti = IP.vertex_pairs()
  assert len(edges) == 30 and len(anti) == 6
  assert np.all(np.bincount(edges.ravel(), minlength=12) == 5)


def test_labels_invariant_under_icosahedral_rotations(data):
  v = IP.icosahedron()
  code = (2 ** np.arange(11, -1, -1))
  for axis, angle in ((v[0], 2 * np.pi / 5), ((v[0] + v[1] + v[2]) / 3, 2 * np.pi / 3)):
    a = axis / np.linalg.norm(axis)
    kx = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    r = np.eye(3) + np.sin(angle) * kx + (1 - np.cos(angle)) * kx @ kx
    rv = v @ r.T
    perm = np.argmax(rv @ v.T, axis=1)                 # vertex i -> vertex perm[i]
    assert np.allclose(v[perm], rv, atol=1e-9) and len(set(perm)) == 12
    xp = np.zeros_like(data.x)
    xp[:, perm] = data.x
    np.testing.assert_array_equal(data.y[(xp @ code).astype(int)], data.y)


def test_train_mask_size_and_seeds():
  m = np.stack([np.asarray(IP.train_mask(k)) for k in jax.random.split(jax.random.PRNGKey(0), 2)])
  assert m.shape == (2, 4096) and np.all(m.sum(1) == round(0.8 * 4096))
  assert not np.array_equal(m[0], m[1])


# ---------------------------------------------------------------------------------------------------------
# binned MI

def test_bin_indices_match_np_digitize():
  mids = (np.arange(29) + 0.5) * 2 / 29 - 1
  h = np.concatenate([[-1.0, 1.0, 0.99999], mids, np.random.default_rng(0).uniform(-1.2, 1.2, 200)])
  h = h.astype(np.float32)[:, None]
  ref = np.clip(np.digitize(h.astype(np.float64), np.linspace(-1, 1, 30)) - 1, 0, 29)
  np.testing.assert_array_equal(np.asarray(IP.bin_indices(jnp.asarray(h), 30)), ref)
  assert ref[0, 0] == 0 and ref[1, 0] == 29 and ref[2, 0] == 28


def test_identity_constant_and_injective_layers(data):
  x = data.x
  r = IP.binned_information(x, data.y, n_bins=2, lo=0.0, hi=1.0)          # T = X
  assert abs(float(r.i_xt) - 12.0) < 1e-12 and abs(float(r.i_ty) - H_Y) < 1e-5
  r = IP.binned_information(np.full((4096, 3), 0.3, np.float32), data.y)
  assert float(r.i_xt) == 0.0 and abs(float(r.i_ty)) < 1e-12
  idx = np.arange(4096)
  cols = np.stack([((idx >> (3 * j)) & 7) / 7.0 * 2 - 1 for j in range(4)], 1).astype(np.float32)
  r = IP.binned_information(cols, data.y)                                   # 4 x 3 bits, distinct bins
  assert abs(float(r.i_xt) - 12.0) < 1e-12 and abs(float(r.i_ty) - H_Y) < 1e-5


def test_binned_mi_equals_numpy_brute_force_and_bounds(data):
  rng = np.random.default_rng(1)
  for width in (3, 6):
    h = np.tanh(rng.normal(size=(12, width)).T @ (data.x.T - 0.5) * rng.uniform(0.3, 3)).T.astype(np.float32)
    r = IP.binned_information(h, data.y)
    b = np.clip(np.digitize(h, np.linspace(-1, 1, 30)) - 1, 0, 29)
    hb = _entropy_np(b)
    joint = np.concatenate([b, data.y[:, None]], 1)
    ity = hb + H_Y - _entropy_np(joint)
    assert abs(float(r.i_xt) - hb) < 1e-9 and abs(float(r.i_ty) - ity) < 1e-4
    assert float(r.i_ty) <= min(H_Y, float(r.i_xt)) + 1e-9


def test_entropy_with_weights_and_code_overflow():
  with jax.enable_x64(True):
    codes = jnp.asarray([3, 1, 3, 7, 1, 3], jnp.int64)
    w = jnp.asarray([1.0, 0.0, 2.0, 1.0, 1.0, 0.0])
    assert abs(float(IP.entropy_from_codes(codes, w)) - _entropy_np(np.asarray(codes)[:, None], np.asarray(w))) < 1e-12
    with pytest.raises(ValueError, match="overflows int64"):
      IP.row_codes(jnp.zeros((2, 13), jnp.int32), 30)
  assert IP.max_code_width(30) == 12 and 30 ** 12 < 2 ** 63 < 30 ** 13
  assert IP.max_code_width(2) == 63


# ---------------------------------------------------------------------------------------------------------
# KDE

def _kde_np(h, y, s2):
  d2 = ((h[:, None, :] - h[None, :, :]) ** 2).sum(-1)

  def lm(scale, rows):
    k = np.exp(-d2[np.ix_(rows, rows)] / scale)
    return np.mean(np.log(k.mean(1)))
  out = []
  for scale in (2 * s2, 8 * s2):
    allr = np.arange(len(h))
    ixt = -lm(scale, allr)
    p1 = y.mean()
    hc = -(p1 * lm(scale, np.flatnonzero(y == 1)) + (1 - p1) * lm(scale, np.flatnonzero(y == 0)))
    out += [ixt / np.log(2), (ixt - hc) / np.log(2)]
  return out


def test_kde_matches_numpy_and_limits():
  rng = np.random.default_rng(2)
  h = rng.normal(size=(64, 3))
  y = (rng.uniform(size=64) < 0.4).astype(np.int32)
  with jax.enable_x64(True):
    r = IP.kde_information(jnp.asarray(h), y, 0.3)
    xu, tu, xl, tl = _kde_np(h, y, 0.3)
    np.testing.assert_allclose([r.i_xt_upper, r.i_ty_upper, r.i_xt_lower, r.i_ty_lower], [xu, tu, xl, tl],
                               rtol=1e-10, atol=1e-12)
    assert float(r.i_xt_lower) <= float(r.i_xt_upper)
    small = IP.kde_information(jnp.asarray(h), y, 1e-6)
    assert abs(float(small.i_xt_upper) - 6.0) < 1e-9 and abs(float(small.i_xt_lower) - 6.0) < 1e-9
    big = IP.kde_information(jnp.asarray(h), y, 1e8)
    assert abs(float(big.i_xt_upper)) < 1e-6 and abs(float(big.i_ty_upper)) < 1e-6
    same = IP.kde_information(jnp.ones((64, 3)), y, 0.1)
    assert abs(float(same.i_xt_upper)) < 1e-12 and abs(float(same.i_ty_lower)) < 1e-12


# ---------------------------------------------------------------------------------------------------------
# single-neuron toy

def test_toy_bin_probabilities_closed_form_and_monte_carlo():
  e = np.linspace(-1, 1, 30)
  with jax.enable_x64(True):
    for w in (0.5, 3.0, 20.0):
      p = np.asarray(IP.tanh_bin_probs(jnp.float64(w), 30))
      a = np.concatenate([[-np.inf], np.arctanh(e[1:-1]), [np.inf]])
      np.testing.assert_allclose(p[:-1], np.diff(norm.cdf(a / w)), atol=1e-15)
      assert p[-1] == 0 and abs(p.sum() - 1) < 1e-12
    x = np.random.default_rng(3).normal(size=40000)
    b = np.clip(np.digitize(np.tanh(2.0 * x), e) - 1, 0, 29)
    emp = np.bincount(b, minlength=30) / x.size
    p = np.asarray(IP.tanh_bin_probs(jnp.float64(2.0), 30))
    assert np.all(np.abs(emp - p) <= 4.5 * np.sqrt(p * (1 - p) / x.size) + 1e-12)
    d = 2 / 29
    q = np.asarray(IP.relu_bin_probs(jnp.float64(1.5), d, 400))
    assert abs(q[0] - norm.cdf(d / 1.5)) < 1e-14 and abs(q.sum() - 1) < 1e-12


def test_toy_shapes_exact_vs_sampled():
  ws = np.array([0.1, 1.0, 5.0, 50.0, 1e4])
  t = IP.toy_binned_exact(ws, "tanh")
  assert t[1] > t[0] and t[1] > t[3] and abs(t[-1] - 1.0) < 0.01                 # rises, falls towards 1 bit
  r = IP.toy_binned_exact(ws, "relu")
  assert np.all(np.diff(r) > 0)
  # w <= 5 only: for larger w, tanh(w x) rounds to exactly 1.0 in float64 and lands in the last symbol (the
  # reference code's edge convention), which the real-valued closed form gives probability 0
  s = IP.toy_binned_sample(jax.random.PRNGKey(4), ws[:3], "tanh", n=20000)
  np.testing.assert_allclose(s, t[:3], atol=0.05)
  s = IP.toy_binned_sample(jax.random.PRNGKey(4), ws[:3], "relu", n=20000)
  np.testing.assert_allclose(s, r[:3], atol=0.05)


# ---------------------------------------------------------------------------------------------------------
# network and trainer

def test_init_truncated_normal_std():
  p = IP.init_network(jax.random.PRNGKey(5), (12, 4000, 2))
  w = np.asarray(p[0][0])
  # std of N(0, 1) truncated at +-2: sqrt(1 - 4 phi(2) / (2 Phi(2) - 1))
  sd = math.sqrt(1 - 4 * norm.pdf(2) / (2 * norm.cdf(2) - 1)) / math.sqrt(12)
  assert abs(w.std() / sd - 1) < 0.02 and np.abs(w).max() <= 2 / math.sqrt(12) + 1e-6
  assert np.all(np.asarray(p[0][1]) == 0)


def _gd_reference(p, x, y):
  """Loss and gradients of the tanh MLP + softmax cross-entropy by hand-written float64 backprop."""
  hs = [x]
  for w, b in p[:-1]:
    hs.append(np.tanh(hs[-1] @ w + b))
  z = hs[-1] @ p[-1][0] + p[-1][1]
  z = z - z.max(1, keepdims=True)
  lp = z - np.log(np.exp(z).sum(1, keepdims=True))
  loss = -lp[np.arange(len(y)), y].mean()
  dz = (np.exp(lp) - np.eye(2)[y]) / len(y)
  grads = []
  for l in range(len(p) - 1, -1, -1):
    grads.append((hs[l].T @ dz, dz.sum(0)))
    if l:
      dz = (dz @ p[l][0].T) * (1 - hs[l] ** 2)
  return loss, grads[::-1]


def test_full_batch_sgd_is_gradient_descent_and_adam_first_step(data):
  key = jax.random.PRNGKey(6)
  mask = np.zeros(4096, bool)
  mask[np.random.default_rng(7).choice(4096, 300, replace=False)] = True
  p0 = IP.init_network(key)
  xs, ys = data.x[mask].astype(np.float64), data.y[mask]
  p = [tuple(np.asarray(a, np.float64) for a in l) for l in p0]
  loss0, g0 = _gd_reference(p, xs, ys)
  for _ in range(3):
    _, g = _gd_reference(p, xs, ys)
    p = [(w - 0.5 * gw, b - 0.5 * gb) for (w, b), (gw, gb) in zip(p, g)]
  run = jax.jit(lambda k, q, m, hp: IP.train_run(k, q, m, hp, jnp.asarray(data.x), jnp.asarray(data.y), 300, 300))
  tr = run(key, p0, jnp.asarray(mask), IP.hyper("tanh", "sgd", 0.5, [1, 3]))
  assert abs(float(tr.train_loss[0]) - loss0) < 1e-5
  for l, (w, b) in enumerate(p):
    np.testing.assert_allclose(np.asarray(tr.params[l][0][1]), w, atol=2e-5)
    np.testing.assert_allclose(np.asarray(tr.params[l][1][1]), b, atol=2e-5)
  np.testing.assert_allclose(np.asarray(tr.grad_mean[0]), [np.linalg.norm(gw) for gw, _ in g0], rtol=1e-4)
  assert np.all(np.asarray(tr.grad_std) < 1e-3 * np.asarray(tr.grad_mean) + 1e-7)      # one batch: no spread
  tr = run(key, p0, jnp.asarray(mask), IP.hyper("tanh", "adam", 1e-3, [1, 3]))        # same compiled program
  dw = np.asarray(tr.params[0][0][0]) - np.asarray(p0[0][0])
  g = np.abs(g0[0][0])                       # Adam's first step: lr m_hat / (sqrt(v_hat) + eps) = lr |g| / (|g| + eps)
  np.testing.assert_allclose(np.abs(dw), 1e-3 * g / (g + 1e-8), rtol=5e-3)
  np.testing.assert_array_equal(np.sign(dw), -np.sign(g0[0][0]))


def test_log_epochs():
  e = IP.log_epochs(8000, 400)
  assert e[0] == 1 and e[-1] == 8000 and np.all(np.diff(e) > 0) and 250 < len(e) <= 400


# ---------------------------------------------------------------------------------------------------------
# the sweep (the claim's smoke setting: one compile shared with tests/experiments/test_reproduce.py)

SMOKE = dict(n_seeds=2, activation="tanh", optimizer="adam", lr=4e-4, batch_size=512, n_epochs=6, n_snapshots=3)


@pytest.fixture(scope="module")
def sweep():
  return IP.info_plane_sweep(jax.random.PRNGKey(0), **SMOKE)


def test_sweep_invariants(sweep, data):
  s, t, l = sweep.i_xt.shape
  assert (s, l) == (2, 6) and sweep.i_ty.shape == (s, t, l) and sweep.grad_std.shape == (s, t, l)
  assert np.all(sweep.i_xt <= 12 + 1e-9) and np.all(sweep.i_ty <= np.minimum(sweep.i_xt, H_Y) + 1e-6)
  assert np.all(sweep.masks.sum(1) == round(0.8 * 4096)) and not np.array_equal(sweep.masks[0], sweep.masks[1])
  p = IP.snapshot_params(sweep, 1, -1)
  a, b = IP.layer_information(p, "tanh")
  np.testing.assert_allclose(a, sweep.i_xt[1, -1], atol=1e-9)
  np.testing.assert_allclose(b, sweep.i_ty[1, -1], atol=1e-6)
  # the sweep's accuracy = argmax of the network on its test rows
  pred = np.asarray(jnp.argmax(IP.logits(p, jnp.asarray(data.x)), -1))
  assert abs(sweep.test_acc[1, -1] - np.mean(pred[~sweep.masks[1]] == data.y[~sweep.masks[1]])) < 1e-6


# ---------------------------------------------------------------------------------------------------------
# the claims' summaries (against explicit loops over seeds, snapshots and layers)

def test_compression_and_snr_summaries_match_loops(sweep):
  rng = np.random.default_rng(8)
  ep = np.array([1, 3, 10, 30, 100])
  ixt = rng.uniform(0, 12, size=(3, 5, 6))
  ity = rng.uniform(0, 1, size=(3, 5, 6))
  gm, gs = rng.uniform(0.1, 2, size=(2, 3, 5, 6))
  sw = sweep._replace(epochs=ep, i_xt=ixt, i_ty=ity, grad_mean=gm, grad_std=gs)
  c = IP.compression(sw, layers=(2, 5))
  for k, layer in enumerate((2, 5)):
    for s in range(3):
      curve = [ixt[s, t, layer - 1] for t in range(5)]
      assert c.peak[s, k] == max(curve) and c.final[s, k] == curve[-1]
      assert c.drop[s, k] == max(curve) - curve[-1] and c.peak_epoch[s, k] == ep[curve.index(max(curve))]
      assert c.final_ity[s, k] == ity[s, -1, layer - 1]
    mean = [sum(ixt[s, t, layer - 1] for s in range(3)) / 3 for t in range(5)]
    np.testing.assert_allclose(c.mean_ixt[:, k], mean, rtol=1e-12)
    assert c.onset_epoch[k] == ep[int(np.argmax(mean))]
    assert abs(c.mean_curve_drop[k] - (max(mean) - mean[-1])) < 1e-12
    snr = IP.gradient_snr(sw, layers=(layer,))[:, 0]
    np.testing.assert_allclose(snr, [sum(gm[:, t, layer - 1]) / sum(gs[:, t, layer - 1]) for t in range(5)],
                               rtol=1e-12)


def test_rise_and_fall_against_hand_values():
  r = IP.rise_and_fall([1.0, 3.0, 2.0, 5.0, 1.5, 4.0])
  assert r == IP.RiseFall(4.0, 1.0, 3.5)
  assert IP.rise_and_fall([0.0, 1.0, 2.0]).max_fall == 0.0
  t = IP.toy_binned_exact(np.geomspace(0.1, 1e4, 30), "tanh")                 # the toy's tanh curve falls
  rf = IP.rise_and_fall(t)
  assert rf.peak_minus_first > 0.5 and rf.peak_minus_last > 0.5 and abs(t[-1] - 1.0) < 0.01
