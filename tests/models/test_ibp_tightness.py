"""Oracle tests of paper 17 (``models/ibp_tightness``): propagation tightness, MILP exact bounds, losses.

Oracles: vertex enumeration of the exact DLN box (= |∏W| ε); a float64 numpy product of the locally linearised
weights; the sign-consistency condition of 2-layer DLNs over every sign pattern; the ordering
sampled <= MILP exact <= IBP on tiny ReLU nets (and MILP = the vertex box on a net with no ReLU crossing);
box inclusion (SABR's small box inside the full one), sampled losses, PGD inside its box.
"""
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from models.common import ibp
from models import ibp_tightness as M

D, H, K = 5, 6, 3


def _layers(rng, sizes, nonneg=False):
  out = []
  for a, b in zip(sizes[:-1], sizes[1:]):
    w = rng.standard_normal((a, b)) / np.sqrt(a)
    out.append((np.abs(w) if nonneg else w, rng.standard_normal(b) * 0.2))
  return out


def _corners(lo, hi):
  return np.array([np.where(np.array(m, bool), hi, lo) for m in itertools.product((0, 1), repeat=lo.size)])


def _np_mlp(layers, x, relu=True):
  h = x
  for i, (w, b) in enumerate(layers):
    h = h @ w + b
    if relu and i < len(layers) - 1:
      h = np.maximum(h, 0)
  return h


@pytest.fixture(scope="module")
def case():
  rng = np.random.default_rng(0)
  layers = _layers(rng, (D, H, H, K))
  x = rng.uniform(0, 1, (4, D)); x[0, :2] = 0.0; x[1, 3] = 1.0       # some coordinates clipped
  y = np.array([0, 1, 2, 1], np.int32)
  return layers, x, y


@pytest.fixture(scope="module")
def taus(case):
  """Every τ variant of the tests in one compiled program (float64)."""
  layers, x, y = case

  @jax.jit
  def all_taus(layers, x, y):
    t = lambda **kw: M.tightness(layers, x, 0.1, **kw)
    return dict(dln=t(relu_adjust=None), dln_margin=t(relu_adjust=None, y=y), local=t(), local_margin=t(y=y),
                local_margin_noelide=t(y=y, elide=False), dln_margin_noelide=t(relu_adjust=None, y=y, elide=False),
                one=M.tightness(layers[-1:], x[:, :H] if H <= D else jnp.pad(x, ((0, 0), (0, H - D))), 0.1),
                nonneg=M.tightness([(jnp.abs(w), b) for w, b in layers], x, 0.1))
  with jax.enable_x64(True):
    return {k: np.asarray(v) for k, v in all_taus(layers, jnp.asarray(x), jnp.asarray(y)).items()}


def test_dln_tightness_equals_vertex_enumeration(case, taus):
  layers, x, y = case
  lo, hi = np.maximum(x - 0.1, 0), np.minimum(x + 0.1, 1)
  wprod = layers[0][0] @ layers[1][0] @ layers[2][0]
  aprod = np.abs(layers[0][0]) @ np.abs(layers[1][0]) @ np.abs(layers[2][0])
  spec = np.asarray(ibp.margin_spec(jnp.asarray(y), K), np.float64)
  for i in range(x.shape[0]):
    z = _np_mlp(layers, _corners(lo[i], hi[i]), relu=False)           # the exact box of the linear map
    exact = (z.max(0) - z.min(0)) / 2
    e = (hi[i] - lo[i]) / 2
    np.testing.assert_allclose(exact, np.abs(wprod).T @ e, rtol=1e-10)   # = |∏W| ε
    np.testing.assert_allclose(taus["dln"][i], exact / (aprod.T @ e), rtol=1e-10)
    zm = z @ spec[i].T
    exact_m = (zm.max(0) - zm.min(0)) / 2
    elided_den = (np.abs(layers[0][0]) @ np.abs(layers[1][0]) @ np.abs(layers[2][0] @ spec[i].T)).T @ e
    np.testing.assert_allclose(taus["dln_margin"][i], exact_m / elided_den, rtol=1e-10)


def test_local_tightness_equals_float64_product_of_the_linearisation(case, taus):
  layers, x, y = case
  e = (np.minimum(x + 0.1, 1) - np.maximum(x - 0.1, 0)) / 2
  spec = np.asarray(ibp.margin_spec(jnp.asarray(y), K), np.float64)
  for i in range(x.shape[0]):
    h, J, A = x[i], np.eye(D), np.eye(D)
    for w, b in layers[:-1]:
      pre = h @ w + b
      mask = (pre >= 0).astype(float)
      J, A = (J @ w) * mask, (A @ np.abs(w)) * mask
      h = np.maximum(pre, 0)
    wl = layers[-1][0] @ spec[i].T
    np.testing.assert_allclose(taus["local_margin"][i], (np.abs(J @ wl).T @ e[i]) / ((A @ np.abs(wl)).T @ e[i]),
                               rtol=1e-10)


def test_tightness_is_one_for_one_layer_and_nonnegative_weights_and_at_most_one(taus):
  np.testing.assert_allclose(taus["one"], 1.0, rtol=1e-12)
  np.testing.assert_allclose(taus["nonneg"], 1.0, rtol=1e-12)
  for k in ("dln", "dln_margin", "local", "local_margin", "local_margin_noelide"):
    assert np.all(taus[k] <= 1 + 1e-12) and np.all(taus[k] > 0), k
  assert np.all(taus["dln"] < 1 - 1e-6)                                # random signs: strictly loose


def test_elision_never_lowers_tightness(taus):
  assert np.all(taus["local_margin"] >= taus["local_margin_noelide"] - 1e-12)
  assert np.all(taus["dln_margin"] >= taus["dln_margin_noelide"] - 1e-12)
  assert np.any(taus["dln_margin"] > taus["dln_margin_noelide"] + 1e-6)


def test_two_layer_dln_is_exact_iff_path_signs_agree():
  """All 2^6 sign patterns of W1: [2 in, 2 hidden] and W2: [2 hidden, 1 out], random magnitudes: τ = 1 iff for
  every input j the two path products W1_jk W2_k share a sign."""
  rng = np.random.default_rng(1)
  pats = np.array(list(itertools.product((-1.0, 1.0), repeat=6)))
  mags = rng.uniform(0.2, 1.0, (len(pats), 6))
  w1 = (pats[:, :4] * mags[:, :4]).reshape(-1, 2, 2)
  w2 = (pats[:, 4:] * mags[:, 4:]).reshape(-1, 2, 1)
  x = np.full((1, 2), 0.5)
  with jax.enable_x64(True):
    tau = np.asarray(jax.jit(jax.vmap(lambda a, b: M.tightness([(a, jnp.zeros(2)), (b, jnp.zeros(1))], x, 0.1,
                                                               relu_adjust=None)[0, 0]))(w1, w2))
  paths = w1 * w2[:, None, :, 0]                                      # [n, j, k]
  consistent = np.all(np.abs(paths.sum(-1)) == np.abs(paths).sum(-1), axis=-1)
  assert consistent.sum() not in (0, len(pats))
  np.testing.assert_array_equal(np.isclose(tau, 1.0, rtol=0, atol=1e-12), consistent)


def test_milp_bounds_sit_between_samples_and_ibp():
  rng = np.random.default_rng(2)
  layers = _layers(rng, (4, 5, 5, 3))
  x = rng.uniform(0.2, 0.8, 4)
  lo, hi = x - 0.15, x + 0.15
  spec = np.array([[1.0, -1.0, 0.0], [1.0, 0.0, -1.0]])
  elo, ehi = M.exact_bounds(layers, lo, hi, spec)
  pts = np.concatenate([lo + (hi - lo) * rng.uniform(size=(20_000, 4)), _corners(lo, hi)])
  z = _np_mlp(layers, pts) @ spec.T
  with jax.enable_x64(True):
    b = ibp.mlp_bounds(layers, jnp.asarray((lo + hi) / 2)[None], jnp.asarray((hi - lo) / 2)[None],
                       spec=jnp.asarray(spec)[None])
    ilo, ihi = np.asarray(b.center - b.radius)[0], np.asarray(b.center + b.radius)[0]
  assert np.all(ilo <= elo + 1e-9) and np.all(elo <= z.min(0) + 1e-9)
  assert np.all(z.max(0) <= ehi + 1e-9) and np.all(ehi <= ihi + 1e-9)
  assert np.all(ehi - z.max(0) < 0.05 * (ehi - elo))                  # samples nearly reach the exact bound
  # with non-negative weights and inputs every unit stays active: the net is linear, MILP = vertex box
  pos = [(np.abs(w), np.abs(b)) for w, b in layers]
  elo, ehi = M.exact_bounds(pos, lo, hi)
  zc = _np_mlp(pos, _corners(lo, hi))
  np.testing.assert_allclose(elo, zc.min(0), rtol=1e-7)
  np.testing.assert_allclose(ehi, zc.max(0), rtol=1e-7)
  tt = M.true_tightness(pos, x[None], 0.15)
  np.testing.assert_allclose(tt, 1.0, rtol=1e-7)


def test_initialization_formula():
  assert M.initialization_tightness(64, 2) == pytest.approx(np.sqrt(np.pi / 128))
  assert M.initialization_tightness(64, 3, relu=True) == pytest.approx(np.pi / 64)
  assert M.initialization_tightness(8, 1) == 1.0


def test_losses_certification_and_attacks(case):
  layers, x, y = case
  key = jax.random.PRNGKey(0)

  @jax.jit
  def run(layers, x, y):
    c, r = ibp.input_box(x, 0.1)
    adv = M.pgd_attack(layers, c - r, c + r, y, key, steps=10)
    ibp1, _ = M.ibp_loss(layers, x, y, 0.1, 1.0)
    ibp0, _ = M.ibp_loss(layers, x, y, 0.1, 0.0)
    sabr, sb = M.sabr_loss(layers, x, y, 0.1, 0.3, key, steps=5)
    pgd = M.pgd_loss(layers, x, y, 0.1, key, steps=10)
    std = M.standard_loss(layers, x, y)
    cert = M.certified(layers, x, y, 0.1)
    cert0 = M.certified(layers, x, y, 0.0)
    return c, r, adv, ibp1, ibp0, sabr, pgd, std, cert, cert0
  with jax.enable_x64(True):
    c, r, adv, ibp1, ibp0, sabr, pgd, std, cert, cert0 = map(np.asarray, run(layers, jnp.asarray(x), jnp.asarray(y)))
  assert np.all(adv >= c - r - 1e-12) and np.all(adv <= c + r + 1e-12)
  ce = lambda z, yy: np.mean(np.log(np.exp(z).sum(-1)) - z[np.arange(len(yy)), yy])
  np.testing.assert_allclose(ibp0, std, rtol=1e-12)
  np.testing.assert_allclose(std, ce(_np_mlp(layers, x), y), rtol=1e-10)
  assert std <= pgd + 1e-12 and pgd <= ibp1 + 1e-12                   # clean <= attacked <= worst-case bound
  assert sabr <= ibp1 + 1e-12                                        # the small box lies inside the full box
  # certified at ε = 0 iff correctly classified; certification at ε implies no sampled counterexample
  np.testing.assert_array_equal(cert0, np.argmax(_np_mlp(layers, x), -1) == y)
  rng = np.random.default_rng(3)
  for i in np.flatnonzero(cert):
    pts = c[i] + r[i] * rng.uniform(-1, 1, (5000, D))
    assert np.all(np.argmax(_np_mlp(layers, pts), -1) == y[i])


def test_ramp_and_fast_regularizer():
  vals = [float(M.ramp(s, 100, 0.1, 0.5, 0.0, 2.0)) for s in (0, 10, 30, 50, 90)]
  np.testing.assert_allclose(vals, [0.0, 0.0, 1.0, 2.0, 2.0], atol=1e-6)
  # one hidden layer with a hand-computed regulariser: centres (2, -1, 1, -2), radii 0.5 everywhere, input radius 1
  c = jnp.array([[2.0, -1.0, 1.0, -2.0]]); r = jnp.full((1, 4), 0.5)
  b = ibp.MLPBounds(c, r, ((c, r),))
  reg = float(M.fast_regularizer(b, jnp.ones((1, 3)), 0.0, 1.0, reference=0.5, lam=1.0))
  # tightness term relu(0.5 - 1/0.5)/0.5 = 0; active {2, 1} mean 3/4, inactive {-1,-2} mean -3/4: ratio 1;
  # variances about the mean 0: 5 and 5: ratio 1 -> relu term 0
  assert reg == pytest.approx(0.0, abs=1e-7)
  b2 = ibp.MLPBounds(c, jnp.full((1, 4), 4.0), ((c * jnp.array([1.0, 1, 1, 0.1]), jnp.full((1, 4), 0.5)),))
  # centres (2, -1, 1, -0.2) ± 0.5: active {2, 1}, inactive {-1} (-0.2 + 0.5 > 0 is unstable): means 3/4 and
  # -1/4 -> ratio 3; variances about the mean 0.45: 1.55² + 0.55² over 1.45²
  mr, vr = 3.0, (1.55 ** 2 + 0.55 ** 2) / 1.45 ** 2
  want = (max(0.5 - min(mr, 1 / mr), 0) + max(0.5 - min(vr, 1 / vr), 0)) / 0.5
  assert float(M.fast_regularizer(b2, jnp.ones((1, 3)), 0.25, 1.0, lam=1.0)) == pytest.approx(0.75 * want, rel=1e-5)


def test_certmlp_sows_the_bounds_of_the_functional_core():
  model = M.CertMLP(widths=(8, 8), num_classes=3, init_scheme="fast")
  x = jnp.asarray(np.random.default_rng(4).uniform(0, 1, (2, 5)), jnp.float32)
  y = jnp.array([0, 2])
  params = model.init(jax.random.PRNGKey(1), x)["params"]
  logits, state = model.apply({"params": params}, x, y, eps=0.1, mutable=["intermediates"])
  layers = M.layers_from_params(params)
  np.testing.assert_allclose(logits, ibp.mlp_apply(layers, x), rtol=1e-6)
  c, r = ibp.input_box(x, 0.1)
  m = ibp.mlp_bounds(layers, c, r, spec=ibp.margin_spec(y, 3))
  lo, hi = state["intermediates"]["margin_bounds"][0]
  np.testing.assert_allclose(lo, m.center - m.radius, rtol=1e-6)
  np.testing.assert_allclose(hi, m.center + m.radius, rtol=1e-6)
  assert state["intermediates"]["logit_bounds"][0][0].shape == (2, 3)


def test_bad_inputs():
  layers = [(jnp.ones((3, 2)), jnp.zeros(2))]
  x = jnp.full((1, 3), 0.5)
  with pytest.raises(ValueError, match="eps"):
    M.tightness(layers, x, -0.1)
  with pytest.raises(ValueError, match="kappa"):
    M.ibp_loss(layers, x, jnp.array([0]), 0.1, 1.5)
  with pytest.raises(ValueError, match="lam"):
    M.sabr_loss(layers, x, jnp.array([0]), 0.1, 1.0, jax.random.PRNGKey(0))
  with pytest.raises(ValueError, match="spec"):
    M.exact_bounds(layers, np.zeros(3), np.ones(3), np.ones((1, 3)))
  with pytest.raises(ValueError, match="y"):
    M.tightness(layers, x, 0.1, y=jnp.array([5]))
