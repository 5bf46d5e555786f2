"""kernels/fp_quant against independent oracles: ml_dtypes casts, the enumerated grid (every code a fixed point,
midpoints to the even code), the relative-error bound, block-scaling invariants, bitwise agreement of the
reference / XLA / Pallas (interpret) forms, and the quantised matmul's backward against explicit formulas."""
import itertools

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest

from kernels.fp_quant import FormatParams, FPFormat, parse_format, qmatmul, quantize, stack_formats
from kernels.fp_quant import reference, xla

_qe = jax.jit(jax.vmap(lambda y, p: xla.quantize_elements(y, FormatParams(*p))))


def _bits(a):
  return np.asarray(a, np.float32).view(np.int32)


ML_FORMATS = [("E4M3", ml_dtypes.float8_e4m3fn), ("E5M2", ml_dtypes.float8_e5m2), ("E3M4", ml_dtypes.float8_e3m4),
              ("E2M3", ml_dtypes.float6_e2m3fn), ("E3M2", ml_dtypes.float6_e3m2fn),
              ("E2M1", ml_dtypes.float4_e2m1fn)]


def test_max_values_match_ml_dtypes():
  for name, dt in ML_FORMATS:
    assert parse_format(name).max_value == float(ml_dtypes.finfo(dt).max), name


def test_quantiser_equals_ml_dtypes_casts():
  """Zero mismatches on 100k log-uniform values per format (clipped to ±max), one vmapped compile."""
  rng = np.random.default_rng(0)
  fmts = [parse_format(n) for n, _ in ML_FORMATS]
  n = 100_000
  xs = []
  for f in fmts:
    x = rng.standard_normal(n) * np.exp(rng.uniform(-14, 12, n))
    xs.append(np.clip(x, -f.max_value, f.max_value).astype(np.float32))
  xs = np.stack(xs)
  got = _qe(jnp.asarray(xs), stack_formats(fmts))
  for i, (name, dt) in enumerate(ML_FORMATS):
    want = xs[i].astype(dt).astype(np.float32)
    assert np.array_equal(_bits(got[i]), _bits(want)), (name, int((_bits(got[i]) != _bits(want)).sum()))
    assert np.array_equal(_bits(reference.quantize_elements(xs[i], fmts[i])), _bits(want)), name


SMALL = [FPFormat(e, m) for e in range(5) for m in range(5) if (e, m) != (0, 0)]


def _padded_grids():
  grids = [reference.grid(f) for f in SMALL]
  width = max(len(g) for g in grids)
  return grids, width


def test_every_code_is_a_fixed_point_and_midpoints_round_to_even():
  """All E, M <= 4 (24 formats, both conventions' default): grid points map to themselves, midpoints of
  neighbouring points to the neighbour with the even code; one compile for all formats."""
  grids, width = _padded_grids()
  pts = np.stack([np.pad(g, (0, width - len(g)), mode="edge") for g in grids]).astype(np.float32)
  mids = ((pts[:, :-1] + pts[:, 1:]) / 2).astype(np.float32)
  P = stack_formats(SMALL)
  q_pts = np.asarray(_qe(jnp.asarray(np.concatenate([pts, -pts], 1)), P))
  q_mid = np.asarray(_qe(jnp.asarray(mids), P))
  for i, (f, g) in enumerate(zip(SMALL, grids)):
    k = len(g)
    assert np.array_equal(q_pts[i, :k], g.astype(np.float32)), str(f)
    assert np.array_equal(q_pts[i, width:width + k], -g.astype(np.float32)), str(f)
    even = np.where(np.arange(k - 1) % 2 == 0, g[:-1], g[1:]).astype(np.float32)
    assert np.array_equal(q_mid[i, :k - 1], even), str(f)


def test_relative_error_bound_on_normals():
  """|Q(x) - x| <= 2^(-M-1) |x| for |x| in the normal range [2^e_min, max]."""
  rng = np.random.default_rng(1)
  fmts = [f for f in SMALL if f.exp_bits >= 1]
  xs = []
  for f in fmts:
    lo, hi = np.log2(2.0 ** f.e_min), np.log2(f.max_value)
    xs.append((rng.choice([-1, 1], 4000) * 2.0 ** rng.uniform(lo, hi, 4000)).astype(np.float32))
  xs = np.stack(xs)
  q = np.asarray(_qe(jnp.asarray(xs), stack_formats(fmts)), np.float64)
  for i, f in enumerate(fmts):
    rel = np.abs(q[i] - xs[i]) / np.abs(xs[i])
    assert rel.max() <= 2.0 ** (-f.man_bits - 1), (str(f), rel.max())


def test_saturation_and_nonfinite():
  f = parse_format("E4M3")
  x = jnp.asarray([1e4, -1e4, 449.0, np.inf, -np.inf, np.nan], jnp.float32)
  q = np.asarray(jax.jit(lambda v: xla.quantize_elements(v, f.params()))(x))
  assert np.array_equal(q[:5], [448, -448, 448, 448, -448]) and np.isnan(q[5])


@pytest.fixture(scope="module")
def data():
  rng = np.random.default_rng(2)
  x = (rng.standard_normal((24, 128)) * np.exp(rng.uniform(-4, 4, (24, 128)))).astype(np.float32)
  x[3, 16:32] = 0.0       # an all-zero block
  return x


CASES = [("E1M1", 16), ("E2M1", 64), ("E4M3", "channel"), ("E5M2", "tensor"), ("E3M2", 32), ("E8M7", 16)]
PALLAS_CASES = (("E2M1", 64), ("E4M3", "channel"), ("E5M2", "tensor"))


def test_reference_xla_pallas_bitwise_equal(data):
  """The Pallas forms run in interpret mode on CPU: one compile per (format, block) program."""
  for name, block in CASES:
    r = quantize(data, name, block_size=block, impl="reference")
    x = quantize(data, name, block_size=block, impl="xla")
    assert np.array_equal(_bits(r), _bits(x)), (name, block)
    if (name, block) in PALLAS_CASES:
      p = quantize(data, name, block_size=block, impl="pallas")
      assert np.array_equal(_bits(p), _bits(x)), (name, block)
  # another axis and padding (the last block zero-padded)
  for impl in ("reference", "xla"):
    a = quantize(data, "E2M1", block_size=8, axis=0, pad=False, impl=impl)
    b = quantize(data[:20], "E2M1", block_size=8, axis=0, pad=True, impl=impl)
    assert np.array_equal(_bits(a), _bits(quantize(data, "E2M1", block_size=8, axis=0, impl="reference")))
    padded = np.concatenate([data[:20], np.zeros((4, 128), np.float32)])
    want = quantize(padded, "E2M1", block_size=8, axis=0, impl="reference")[:20]
    assert np.array_equal(_bits(b), _bits(want)), impl


def test_block_absmax_maps_to_max_and_zero_blocks(data):
  for name, block in CASES[:-1]:
    f = parse_format(name)
    q = np.asarray(quantize(data, name, block_size=block, impl="xla"))
    b = data.shape[1] if block in ("channel", "tensor") else block
    xb = data.reshape(24, -1, b)
    qb = q.reshape(24, -1, b)
    if block == "tensor":
      xb, qb = data.reshape(1, 1, -1), q.reshape(1, 1, -1)
    amax = np.abs(xb).max(-1)
    s = np.where(amax > 0, amax * np.float32(1 / f.max_value), 1).astype(np.float32)
    idx = np.abs(xb).argmax(-1)
    top = np.take_along_axis(qb, idx[..., None], -1)[..., 0]
    sign = np.sign(np.take_along_axis(xb, idx[..., None], -1)[..., 0])
    live = amax > 0
    assert np.array_equal(top[live], (sign * np.float32(f.max_value) * s)[live].astype(np.float32)), name
    assert np.all(np.isfinite(q)) and np.all(np.abs(q) <= np.abs(data).max() * (1 + 1e-6))
  q = np.asarray(quantize(data, "E2M1", block_size=16, impl="xla"))
  assert np.all(q[3, 16:32] == 0)


def test_whole_size_block_is_per_tensor(data):
  flat = data.reshape(-1)
  a = quantize(flat, "E3M2", block_size=flat.size, impl="xla")
  b = quantize(data, "E3M2", block_size="tensor", impl="xla")
  c = quantize(flat, "E3M2", block_size="channel", impl="xla")
  assert np.array_equal(_bits(a), _bits(np.asarray(b).reshape(-1))) and np.array_equal(_bits(a), _bits(c))


def test_traced_formats_equal_static(data):
  fmts = [parse_format(n) for n in ("E1M1", "E2M1", "E4M3", "E8M7")] + [None]
  out = jax.jit(jax.vmap(lambda p: xla.quantize_blocks(jnp.asarray(data), FormatParams(*p), 16, -1)))(
      stack_formats(fmts))
  for i, f in enumerate(fmts):
    want = data if f is None else quantize(data, f, block_size=16, impl="xla")
    assert np.array_equal(_bits(out[i]), _bits(want)), str(f)


def test_qmatmul_backward_matches_explicit_operands():
  rng = np.random.default_rng(3)
  x = rng.standard_normal((32, 64)).astype(np.float32)
  w = rng.standard_normal((64, 16)).astype(np.float32)
  dy = rng.standard_normal((32, 16)).astype(np.float32)
  f = "E2M1"
  Q = lambda t, axis: np.asarray(quantize(t, f, block_size=16, axis=axis, impl="reference"), np.float64)
  for impl in ("xla",):
    y, (dx, dw) = jax.jit(lambda a, b, c: (lambda out: (out[0], out[1](c)))(
        jax.vjp(lambda a_, b_: qmatmul(a_, b_, f, block_size=16, impl=impl), a, b)))(x, w, dy)
    np.testing.assert_allclose(y, Q(x, 1) @ Q(w, 0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dx, Q(dy, 1) @ Q(w, 1).T, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dw, Q(x, 0).T @ Q(dy, 0), rtol=1e-5, atol=1e-5)
  # straight-through: the backward reuses the forward's quantised operands, dy full precision
  dx, dw = jax.jit(jax.grad(lambda a, b, c: jnp.sum(c * qmatmul(a, b, f, block_size=16, targets=("P1", "P2"),
                                                                  backward="ste")), (0, 1)))(x, w, dy)
  np.testing.assert_allclose(dx, dy @ Q(w, 0).T, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(dw, Q(x, 1).T @ dy, rtol=1e-5, atol=1e-5)
  # only P5 quantised: the forward and dx are exact, dw uses the quantised x along the rows
  y = qmatmul(x, w, f, block_size=16, targets=("P5",))
  dx, dw = jax.jit(jax.grad(lambda a, b, c: jnp.sum(c * qmatmul(a, b, f, block_size=16, targets=("P5",))),
                            (0, 1)))(x, w, dy)
  np.testing.assert_allclose(y, x.astype(np.float64) @ w, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(dx, dy.astype(np.float64) @ w.T, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(dw, Q(x, 0).T @ dy, rtol=1e-5, atol=1e-5)


def test_bad_inputs_name_the_argument(data):
  with pytest.raises(ValueError, match="exp_bits"):
    FPFormat(-1, 2)
  with pytest.raises(ValueError, match="1 \\+ E \\+ M <= 32"):
    FPFormat(8, 24)
  with pytest.raises(ValueError, match="convention"):
    FPFormat(4, 3, "ocp")
  with pytest.raises(ValueError, match="block_size"):
    quantize(data, "E4M3", block_size=48)
  with pytest.raises(ValueError, match="block_size"):
    quantize(data, "E4M3", block_size=0)
  with pytest.raises(TypeError, match="x"):
    quantize(data.astype(np.int32), "E4M3")
