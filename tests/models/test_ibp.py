"""Oracle tests of the interval core ``models/common/ibp.py`` (papers 17, 26).

Oracles: Monte Carlo samples and every corner of the input box (D <= 12) must lie inside the bounds; an affine
map's box is attained at corners (exact); interval products against brute-force enumeration of all corner
combinations (negative inputs included); the fast x >= 0 rule against the general one; worst-case logits
against sampled cross-entropies; the clipped input box against its closed form.
"""
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from models.common import ibp

RNG = np.random.default_rng(0)
D, H, K = 6, 7, 4


def _layers(rng, sizes, scale=1.0):
  return [(rng.standard_normal((a, b)) * scale / np.sqrt(a), rng.standard_normal(b) * 0.3)
          for a, b in zip(sizes[:-1], sizes[1:])]


def _np_mlp(layers, x):
  h = x
  for i, (w, b) in enumerate(layers):
    h = h @ w + b
    if i < len(layers) - 1:
      h = np.maximum(h, 0)
  return h


def _corners(lo, hi):
  return np.array([np.where(np.array(m, bool), hi, lo) for m in itertools.product((0, 1), repeat=lo.size)])


@pytest.fixture(scope="module")
def net():
  rng = np.random.default_rng(1)
  layers = _layers(rng, (D, H, H, K))
  x = rng.uniform(0, 1, (3, D))
  y = np.array([0, 2, 3], np.int32)
  return layers, x, y


def test_mlp_bounds_are_sound_on_samples_and_corners(net):
  layers, x, y = net
  @jax.jit
  def bounds(layers, x, y):
    c, r = ibp.input_box(x, 0.15)
    out = ibp.mlp_bounds(layers, c, r)
    spec = ibp.margin_spec(y, K)
    m = ibp.mlp_bounds(layers, c, r, spec=spec)
    return c, r, out.center - out.radius, out.center + out.radius, m.center - m.radius, m.center + m.radius, spec

  with jax.enable_x64(True):
    c, r, lo, hi, mlo, mhi, spec = map(np.asarray, bounds(layers, jnp.asarray(x), jnp.asarray(y)))
  for i in range(x.shape[0]):
    pts = np.concatenate([c[i] + r[i] * RNG.uniform(-1, 1, (10_000, D)), _corners(c[i] - r[i], c[i] + r[i])])
    z = _np_mlp(layers, pts)
    assert np.all(z >= lo[i] - 1e-12) and np.all(z <= hi[i] + 1e-12)
    marg = z @ spec[i].T
    assert np.all(marg >= mlo[i] - 1e-12) and np.all(marg <= mhi[i] + 1e-12)
    # the sampled range is strictly inside (IBP over-approximates through the ReLU layers)
    assert np.all(z.max(0) <= hi[i] + 1e-12)
  # elision is never looser than |C| applied to the logit box
  naive_r = np.einsum("bmk,bk->bm", np.abs(spec), (hi - lo) / 2)
  assert np.all((mhi - mlo) / 2 <= naive_r + 1e-12)
  assert np.any((mhi - mlo) / 2 < naive_r - 1e-6)


def test_affine_box_is_exact_and_attained():
  rng = np.random.default_rng(2)
  w, b = rng.standard_normal((5, 3)), rng.standard_normal(3)
  c, r = rng.standard_normal(5), rng.uniform(0, 1, 5)
  with jax.enable_x64(True):
    oc, orad = ibp.affine(jnp.asarray(c), jnp.asarray(r), w, b)
  z = _corners(c - r, c + r) @ w + b
  np.testing.assert_allclose(z.max(0), np.asarray(oc + orad), rtol=1e-12)
  np.testing.assert_allclose(z.min(0), np.asarray(oc - orad), rtol=1e-12)


def test_monotone_activation_and_conversions():
  c, r = np.array([-1.0, 0.2, 2.0]), np.array([0.5, 0.5, 0.1])
  with jax.enable_x64(True):
    lo, hi = ibp.box_to_bounds(jnp.asarray(c), jnp.asarray(r))
    c2, r2 = ibp.bounds_to_box(lo, hi)
    tc, tr = ibp.monotone(jnp.tanh, c2, r2)
    rc, rr = ibp.relu(c2, r2)
  np.testing.assert_allclose(np.asarray(c2), c)
  np.testing.assert_allclose(np.asarray(r2), r)
  np.testing.assert_allclose(np.asarray(tc - tr), np.tanh(c - r))
  np.testing.assert_allclose(np.asarray(tc + tr), np.tanh(c + r))
  np.testing.assert_allclose(np.asarray(rc - rr), [0.0, 0.0, 1.9])
  np.testing.assert_allclose(np.asarray(rc + rr), [0.0, 0.7, 2.1])


def test_input_box_is_clipped_to_the_data_range():
  x = np.array([[0.0, 0.02, 0.5, 0.97, 1.0]])
  c, r = ibp.input_box(jnp.asarray(x, jnp.float32), 0.05)
  lo, hi = np.maximum(x - 0.05, 0), np.minimum(x + 0.05, 1)
  np.testing.assert_allclose(np.asarray(r), (hi - lo) / 2, atol=1e-7)
  np.testing.assert_allclose(np.asarray(c), (hi + lo) / 2, atol=1e-7)


def test_margin_spec_and_worst_case_logits():
  y = np.array([0, 3, 1], np.int32)
  with jax.enable_x64(True):
    spec = np.asarray(ibp.margin_spec(jnp.asarray(y), 4))
  for i, yi in enumerate(y):
    others = [k for k in range(4) if k != yi]
    for m, k in enumerate(others):
      want = np.zeros(4); want[yi] = 1; want[k] = -1
      np.testing.assert_array_equal(spec[i, m], want)
  rng = np.random.default_rng(3)
  z = rng.standard_normal((3, 4))
  margins = np.einsum("bmk,bk->bm", spec, z)
  with jax.enable_x64(True):
    zbar = np.asarray(ibp.worst_case_from_margins(jnp.asarray(margins), jnp.asarray(y)))
  np.testing.assert_allclose(zbar, z - z[np.arange(3), y][:, None], atol=1e-12)   # zero radius: shifted logits
  with jax.enable_x64(True):
    np.testing.assert_array_equal(np.asarray(ibp.worst_case_logits(jnp.asarray(z), jnp.asarray(z), y)), z)


def test_worst_case_cross_entropy_bounds_sampled_losses(net):
  layers, x, y = net
  @jax.jit
  def worst(layers, x, y):
    c, r = ibp.input_box(x, 0.1)
    m = ibp.mlp_bounds(layers, c, r, spec=ibp.margin_spec(y, K))
    out = ibp.mlp_bounds(layers, c, r)
    return (c, r, ibp.worst_case_from_margins(m.center - m.radius, y),
            ibp.worst_case_logits(out.center - out.radius, out.center + out.radius, y))

  with jax.enable_x64(True):
    c, r, zbar, zw = map(np.asarray, worst(layers, jnp.asarray(x), jnp.asarray(y)))
  ce = lambda z, yy: np.log(np.exp(z).sum(-1)) - z[np.arange(len(yy)), yy]
  for i in range(x.shape[0]):
    pts = c[i] + r[i] * RNG.uniform(-1, 1, (5000, D))
    losses = ce(_np_mlp(layers, pts), np.full(5000, y[i]))
    assert losses.max() <= ce(zbar[i:i + 1], y[i:i + 1])[0] + 1e-12
    assert ce(zbar[i:i + 1], y[i:i + 1])[0] <= ce(zw[i:i + 1], y[i:i + 1])[0] + 1e-12   # elided is tighter


def _brute_product(xl, xu, wl, wu):
  """min / max of x @ W over all corners of the x box and the W box (exact for a bilinear form)."""
  d, h = wl.shape
  lo, hi = np.full(h, np.inf), np.full(h, -np.inf)
  for xm in itertools.product((0, 1), repeat=d):
    xv = np.where(np.array(xm, bool), xu, xl)
    for wm in itertools.product((0, 1), repeat=d * h):
      wv = np.where(np.array(wm, bool).reshape(d, h), wu, wl)
      z = xv @ wv
      lo, hi = np.minimum(lo, z), np.maximum(hi, z)
  return lo, hi


def test_interval_matmul_general_rule_is_exact_with_negative_inputs():
  rng = np.random.default_rng(4)
  d, h = 2, 2
  xl = rng.uniform(-1, 0.5, d); xu = xl + rng.uniform(0, 1.5, d)     # boxes crossing 0 and negative ones
  wl = rng.standard_normal((d, h)); wu = wl + rng.uniform(0, 1, (d, h))
  with jax.enable_x64(True):
    lo, hi = ibp.interval_matmul(xl, xu, wl, wu)
  blo, bhi = _brute_product(xl, xu, wl, wu)
  np.testing.assert_allclose(np.asarray(lo), blo, rtol=1e-12)
  np.testing.assert_allclose(np.asarray(hi), bhi, rtol=1e-12)
  # sampled weights and inputs (negative included) stay inside, batched
  xs = xl + (xu - xl) * rng.uniform(size=(4000, d))
  ws = wl + (wu - wl) * rng.uniform(size=(4000, d, h))
  z = np.einsum("nd,ndh->nh", xs, ws)
  assert np.all(z >= np.asarray(lo) - 1e-12) and np.all(z <= np.asarray(hi) + 1e-12)


def test_interval_matmul_fast_rule_equals_general_rule_for_nonnegative_inputs():
  rng = np.random.default_rng(5)
  xl = rng.uniform(0, 1, (3, 5)); xu = xl + rng.uniform(0, 1, (3, 5))
  wl = rng.standard_normal((5, 4)); wu = wl + rng.uniform(0, 1, (5, 4))
  with jax.enable_x64(True):
    g = ibp.interval_matmul(xl, xu, wl, wu)
    f = ibp.interval_matmul_nonneg(xl, xu, wl, wu)
    # point intervals reduce to the plain product
    p = ibp.interval_matmul(xl, xl, wl, wl)
  np.testing.assert_allclose(np.asarray(f[0]), np.asarray(g[0]), rtol=1e-12, atol=1e-12)
  np.testing.assert_allclose(np.asarray(f[1]), np.asarray(g[1]), rtol=1e-12, atol=1e-12)
  np.testing.assert_allclose(np.asarray(p[0]), xl @ wl, rtol=1e-12)
  np.testing.assert_allclose(np.asarray(p[1]), xl @ wl, rtol=1e-12)
  with pytest.raises(ValueError, match="x_lower"):
    ibp.interval_matmul_nonneg(xl - 2.0, xu, wl, wu)


def test_bad_inputs_name_the_argument():
  with pytest.raises(ValueError, match="eps"):
    ibp.input_box(jnp.ones((1, 2)) * 0.5, -0.1)
  with pytest.raises(ValueError, match="lower > upper"):
    ibp.bounds_to_box(jnp.ones(2), jnp.zeros(2))
  with pytest.raises(ValueError, match="w"):
    ibp.affine(jnp.ones((2, 3)), jnp.ones((2, 3)), jnp.ones((4, 2)))
  with pytest.raises(ValueError, match="spec"):
    ibp.elide(jnp.ones((3, 4)), jnp.ones(4), jnp.ones((2, 3, 5)))
