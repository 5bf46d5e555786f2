"""Tests of kernels/gla (paper 07, Yang et al. 2024, arXiv:2312.06635) against independent oracles.

Oracles: an explicit float64 NumPy loop over time (the recurrence written out, no JAX), finite
differences (``jax.test_util.check_grads``) for the float64 recurrence's gradients, invariants
(causality, split-and-carry equals one pass) and backend lowering. Every implementation ("reference",
"xla", "pallas" in interpret mode) is checked against the same oracles.

Tolerances. float32 inputs: outputs and states within 1e-5 rel-RMS (float32 eps 1.2e-7 accumulated over
≤ a few hundred terms per output; observed ≤ 1.5e-6 even at gate normaliser 0.1); gradients within 1e-4
(the gate gradient is a difference q⊙dq − k⊙dk of larger terms, reverse-summed over time; observed
≤ 1e-5). bfloat16 inputs: 5e-3 rel-RMS against the float64 oracle fed the bf16-rounded inputs — the
output itself is rounded to bf16 (relative step 2^-8, RMS ≈ 2^-8/√3 ≈ 2.3e-3 at most), observed 1.7–3e-3.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from kernels.gla import gla, gla_decode_step
from kernels.gla import config as gla_config
from kernels.gla import pallas as gla_pallas
from kernels.gla import reference, xla

IMPLS = ("reference", "xla", "pallas")


def _np_gla(q, k, v, g, scale, h0=None):
  """float64 NumPy loop: S_t = diag(exp g_t) S_{t-1} + k_tᵀ v_t, o_t = scale q_t S_t."""
  q, k, v, g = (np.asarray(x, np.float64) for x in (q, k, v, g))
  b, t, h, kd = q.shape
  s = np.zeros((b, h, kd, v.shape[-1])) if h0 is None else np.asarray(h0, np.float64).copy()
  o = np.zeros(v.shape)
  for i in range(t):
    s = np.exp(g[:, i])[..., None] * s + k[:, i][..., :, None] * v[:, i][..., None, :]
    o[:, i] = scale * np.einsum("bhk,bhkv->bhv", q[:, i], s)
  return o, s


def _np_gla_vjp(q, k, v, g, scale, h0, do, dht):
  """float64 NumPy adjoint of the loop above for ``L = Σ do·o + Σ dht·S_T``: (dq, dk, dv, dlog_g, dh0).

  Backwards over t with ``dS`` the cotangent of S_t: ``dS += scale q_tᵀ do_t``; ``dq_t = scale S_t do_t``,
  ``dk_t = dS v_t``, ``dv_t = dSᵀ k_t``, ``dlog_g_t = α_t ⊙ Σ_v dS ⊙ S_{t-1}``, then ``dS ← α_t ⊙ dS``.
  A gate of 0 (α = 0) gives ``dlog_g = 0`` and cuts ``dS``, as the derivative of ``e^{log_g}`` says."""
  q, k, v, g, h0, do, dht = (np.asarray(x, np.float64) for x in (q, k, v, g, h0, do, dht))
  t = q.shape[1]
  a = np.exp(g)
  states = [h0]
  for i in range(t):
    states.append(a[:, i][..., None] * states[-1] + k[:, i][..., :, None] * v[:, i][..., None, :])
  ds = dht.copy()
  dq, dk, dv, dg = np.zeros(q.shape), np.zeros(k.shape), np.zeros(v.shape), np.zeros(g.shape)
  for i in reversed(range(t)):
    ds = ds + scale * q[:, i][..., :, None] * do[:, i][..., None, :]
    dq[:, i] = scale * np.einsum("bhkv,bhv->bhk", states[i + 1], do[:, i])
    dk[:, i] = np.einsum("bhkv,bhv->bhk", ds, v[:, i])
    dv[:, i] = np.einsum("bhkv,bhk->bhv", ds, k[:, i])
    dg[:, i] = a[:, i] * np.einsum("bhkv,bhkv->bhk", ds, states[i])
    ds = a[:, i][..., None] * ds
  return dq, dk, dv, dg, ds


def _inputs(shape, norm=16.0, seed=0, dtype=jnp.float32):
  b, t, h, kd, vd = shape
  ks = jax.random.split(jax.random.PRNGKey(seed), 7)
  q = jax.random.normal(ks[0], (b, t, h, kd)).astype(dtype)
  k = jax.random.normal(ks[1], (b, t, h, kd)).astype(dtype)
  v = jax.random.normal(ks[2], (b, t, h, vd)).astype(dtype)
  g = jax.nn.log_sigmoid(jax.random.normal(ks[3], (b, t, h, kd))) / norm    # fla's gate, log α <= 0
  h0 = jax.random.normal(ks[4], (b, h, kd, vd))
  do = jax.random.normal(ks[5], (b, t, h, vd))
  dht = jax.random.normal(ks[6], (b, h, kd, vd))
  return q, k, v, g, h0, do, dht


def _rel(a, b) -> float:
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  return float(np.sqrt(np.mean((a - b) ** 2) / np.mean(b ** 2)))


def _loss(q, k, v, g, h0, do, dht, impl, chunk_size=64):
  o, s = gla(q, k, v, g, initial_state=h0, output_final_state=True, impl=impl, chunk_size=chunk_size)
  return jnp.sum(o.astype(s.dtype) * do.astype(s.dtype)) + jnp.sum(s * dht.astype(s.dtype)), (o, s)


@functools.lru_cache(maxsize=None)
def _vg_fn(impl: str, chunk_size: int = 64):
  """One jitted value-and-grad per implementation (same shapes reuse the compiled executable)."""
  return jax.jit(jax.value_and_grad(functools.partial(_loss, impl=impl, chunk_size=chunk_size),
                                    argnums=(0, 1, 2, 3, 4), has_aux=True))


def _value_and_grads(impl, args, chunk_size=64):
  (_, (o, s)), grads = _vg_fn(impl, chunk_size)(*args)
  return o, s, grads


def _f64_grads(args):
  """Gradients of the float64 recurrence (itself checked against NumPy and finite differences below)."""
  with jax.enable_x64(True):
    a64 = [jnp.asarray(np.asarray(x, np.float64)) for x in args]
    return [np.asarray(x) for x in _value_and_grads("reference", a64)[2]]


@functools.lru_cache(maxsize=None)
def _fwd_fn(impl: str):
  return jax.jit(lambda q, k, v, g, h0: gla(q, k, v, g, initial_state=h0, output_final_state=True, impl=impl))


# ---------------------------------------------------------------------------------------------------
# The float64 recurrence against the NumPy loop and finite differences.


def test_reference_float64_matches_numpy_loop():
  q, k, v, g, h0, _, _ = _inputs((2, 23, 3, 5, 4), norm=1.0)
  with jax.enable_x64(True):
    run = jax.jit(reference.gla_recurrent, static_argnums=4)
    o, s = run(*(jnp.asarray(np.asarray(x, np.float64)) for x in (q, k, v, g)), 0.7,
               jnp.asarray(np.asarray(h0, np.float64)))
    assert o.dtype == jnp.float64
  o_np, s_np = _np_gla(q, k, v, g, 0.7, h0)
  np.testing.assert_allclose(o, o_np, rtol=1e-12, atol=1e-12)   # float64 round-off
  np.testing.assert_allclose(s, s_np, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("impl", ["reference", "xla"])
def test_float64_gradients_match_finite_differences(impl):
  q, k, v, g, h0, _, _ = _inputs((1, 19, 1, 3, 2), norm=1.0, seed=3)
  with jax.enable_x64(True):
    args = [jnp.asarray(np.asarray(x, np.float64)) for x in (q, k, v, g, h0)]

    def f(q, k, v, g, h0):
      o, s = gla(q, k, v, g, initial_state=h0, output_final_state=True, impl=impl, chunk_size=16)
      return jnp.sum(jnp.sin(o)) + jnp.sum(s ** 2)

    check_grads(jax.jit(f), args, order=1, modes=["rev"], eps=1e-6, atol=1e-6, rtol=1e-6)  # f64 central differences


# ---------------------------------------------------------------------------------------------------
# Every implementation: forward, final state and all gradients against the float64 oracles.

SHAPES = {  # (B, T, H, K, V)
    "reference": [(2, 100, 2, 20, 12), (1, 1, 1, 16, 16)],
    "xla": [(2, 100, 2, 20, 12), (1, 1, 1, 16, 16), (1, 15, 3, 60, 40)],
    "pallas": [(2, 100, 2, 20, 12), (1, 1, 1, 16, 16)],
}


@pytest.mark.parametrize("impl,shape", [(i, s) for i in IMPLS for s in SHAPES[i]])
def test_forward_state_and_gradients_match_float64(impl, shape):
  args = _inputs(shape, norm=1.0, seed=sum(shape))
  q, k, v, g, h0, do, dht = args
  o, s, grads = _value_and_grads(impl, args)
  assert o.dtype == jnp.float32 and s.dtype == jnp.float32 and o.shape == v.shape
  o_np, s_np = _np_gla(q, k, v, g, shape[3] ** -0.5, h0)
  assert _rel(o, o_np) < 1e-5 and _rel(s, s_np) < 1e-5, (_rel(o, o_np), _rel(s, s_np))
  for name, a, r in zip(("dq", "dk", "dv", "dlog_g", "dh0"), grads, _f64_grads(args)):
    assert np.isfinite(np.asarray(a)).all(), name
    assert _rel(a, r) < 1e-4, (name, _rel(a, r))


def test_xla_many_blocks_and_head_groups_match_float64(monkeypatch):
  """The XLA path's CPU layout: several blocks of chunks carried by the loop, in independent head groups
  (xla.HEAD_SPLIT), under strong decay; forward, state and gradients vs float64. Blocks are made small
  (64 rows × heads) so a short sequence spans 4 of them (a shape no other test uses: the jit cache keys
  on shapes, not on the patched constant)."""
  monkeypatch.setattr(xla, "BLOCK_ROW_HEADS", 64)
  monkeypatch.setattr(xla, "HEAD_SPLIT", 2)
  shape = (1, 100, 2, 16, 8)                 # C = 32 (B·H·C = 64): one chunk per block, 4 blocks, 2 head groups
  args = _inputs(shape, norm=0.1, seed=21)
  q, k, v, g, h0, do, dht = args
  o, s, grads = _value_and_grads("xla", args)
  o_np, s_np = _np_gla(q, k, v, g, shape[3] ** -0.5, h0)
  assert _rel(o, o_np) < 1e-5 and _rel(s, s_np) < 1e-5, (_rel(o, o_np), _rel(s, s_np))
  for name, a, r in zip(("dq", "dk", "dv", "dlog_g", "dh0"), grads, _f64_grads(args)):
    assert _rel(a, r) < 1e-4, (name, _rel(a, r))               # same float32 bounds as every other case


@pytest.mark.parametrize("intra", ["split", "fused"])
def test_pallas_key_and_value_tiles_match_float64(intra):
  """Several value tiles (V = 40 padded to 64, tiles of 16) and key tiles in the state passes (K = 20
  padded to 32, tiles of 16), for both intra-chunk layouts: the per-tile states, the static loop over
  value tiles (split) or the dq/dk partial sums over tiles (fused) must give the same forward, state
  and gradients as the float64 recurrence."""
  shape = (1, 50, 2, 20, 40)
  args = _inputs(shape, norm=1.0, seed=3)
  q, k, v, g, h0, do, dht = args
  kc = gla_config.GLAKernelConfig(block_v=16, block_k=16, intra=intra)
  assert kc.value_tile(gla_config.padded_dim(shape[4])) == 16       # 4 value tiles
  assert kc.key_tile(gla_config.padded_dim(shape[3])) == 16         # 2 key tiles

  def loss(q, k, v, g, h0):
    o, s = gla_pallas.gla_pallas(q, k, v, g, shape[3] ** -0.5, h0, 32, interpret=True, kc=kc)
    return jnp.sum(o * do) + jnp.sum(s * dht), (o, s)

  (_, (o, s)), grads = jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2, 3, 4), has_aux=True))(
      q, k, v, g, h0)
  o_np, s_np = _np_gla(q, k, v, g, shape[3] ** -0.5, h0)
  assert _rel(o, o_np) < 1e-5 and _rel(s, s_np) < 1e-5, (_rel(o, o_np), _rel(s, s_np))
  for name, a, r in zip(("dq", "dk", "dv", "dlog_g", "dh0"), grads, _f64_grads(args)):
    assert _rel(a, r) < 1e-4, (name, _rel(a, r))              # same float32 bound as the untiled cases


def test_kernel_config_rejects_bad_tiles_and_layouts():
  with pytest.raises(ValueError, match="block_v"):
    gla_config.GLAKernelConfig(block_v=24)
  with pytest.raises(ValueError, match="block_k"):
    gla_config.GLAKernelConfig(block_k=8)
  with pytest.raises(ValueError, match="intra"):
    gla_config.GLAKernelConfig(intra="tiled")
  with pytest.raises(ValueError, match="f32_dot"):
    gla_config.GLAKernelConfig(f32_dot="tf32")


@pytest.mark.parametrize("impl", ["xla", "pallas"])
def test_bfloat16_inputs_with_float32_accumulation(impl):
  args = _inputs((1, 30, 2, 20, 12), norm=1.0, seed=5, dtype=jnp.bfloat16)   # C = 32: a cheaper compile
  q, k, v, g, h0, do, dht = args
  o, s, grads = _value_and_grads(impl, args)
  assert o.dtype == jnp.bfloat16 and s.dtype == jnp.float32
  o_np, s_np = _np_gla(q, k, v, g, 20 ** -0.5, h0)                # oracle fed the bf16-rounded inputs
  assert _rel(o, o_np) < 5e-3 and _rel(s, s_np) < 5e-3, (_rel(o, o_np), _rel(s, s_np))
  for name, a, r in zip(("dq", "dk", "dv", "dlog_g", "dh0"), grads, _f64_grads(args)):
    assert _rel(a, r) < 5e-3, (name, _rel(a, r))


# ---------------------------------------------------------------------------------------------------
# Strong decay (fla's gate normaliser 0.1) and why the sub-chunk split is needed.


@pytest.mark.parametrize("impl", ["xla", "pallas"])
def test_strong_decay_is_finite_and_accurate(impl):
  args = _inputs((2, 100, 2, 20, 12), norm=0.1, seed=11)   # 64-step gate sums reach about -600
  q, k, v, g, h0, do, dht = args
  assert float(jnp.min(jnp.sum(g[:, :64], axis=1))) < -200
  o, s, grads = _value_and_grads(impl, args)
  o_np, s_np = _np_gla(q, k, v, g, 20 ** -0.5, h0)
  assert _rel(o, o_np) < 1e-5 and _rel(s, s_np) < 1e-5
  for name, a, r in zip(("dq", "dk", "dv", "dlog_g", "dh0"), grads, _f64_grads(args)):
    assert np.isfinite(np.asarray(a)).all(), name
    assert _rel(a, r) < 1e-4, (name, _rel(a, r))


def test_single_level_chunking_overflows_under_strong_decay_where_secondary_does_not():
  """``(q⊙e^G)(k⊙e^{-G})ᵀ`` needs e^{-G} with G down to about -600: it overflows float32 (max e^88)."""
  for norm, naive_finite in ((16.0, True), (0.1, False)):
    q, k, v, g, h0, _, _ = _inputs((1, 64, 2, 32, 16), norm=norm, seed=2)
    o_np, _ = _np_gla(q, k, v, g, 0.25, h0)
    run = jax.jit(xla.gla_chunk_xla, static_argnames=("scale", "chunk_size", "sub_chunk", "naive_intra"))
    o_sec, _ = run(q, k, v, g, scale=0.25, initial_state=h0, chunk_size=64, sub_chunk=16)
    o_naive, _ = run(q, k, v, g, scale=0.25, initial_state=h0, chunk_size=64, naive_intra=True)
    assert _rel(o_sec, o_np) < 1e-5
    assert bool(jnp.isfinite(o_naive).all()) == naive_finite, norm
    if naive_finite:
      assert _rel(o_naive, o_np) < 1e-5


# ---------------------------------------------------------------------------------------------------
# Gates of exactly 0 and 1; non-finite inputs (kernels/gla/nonfinite.py).

EDGE_SHAPE = (2, 24, 2, 5, 3)      # chunk 16: two chunks (the second padded), zero gates in both


def _edge_gate_inputs():
  q, k, v, g, h0, do, dht = _inputs(EDGE_SHAPE, norm=1.0, seed=13)
  g = np.array(g)
  g[:, 3] = -np.inf                  # every channel: a reset, as at a document boundary
  g[0, 9, 1, 2] = -np.inf            # one key channel of one head
  g[1, 16, 0, :3] = -np.inf          # the first row of the second chunk
  g[1, 20:23, 1, 1] = -np.inf        # three in a row (their floors add up inside the chunk)
  g[:, 10:14, 0] = 0.0               # gates of exactly 1 (no decay)
  g[0, 17:24, 1, 4] = 0.0
  return q, k, v, jnp.asarray(g), h0, do, dht


def test_numpy_adjoint_matches_float64_autodiff():
  """The NumPy adjoint (oracle of the next test) against autodiff of the float64 recurrence, itself
  checked against finite differences above; finite gates, so both are defined everywhere."""
  args = _inputs((1, 7, 2, 3, 2), norm=1.0, seed=4)
  q, k, v, g, h0, do, dht = args
  for a, r in zip(_np_gla_vjp(q, k, v, g, 3 ** -0.5, h0, do, dht), _f64_grads(args)):
    np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-12)     # float64 round-off


@pytest.mark.parametrize("impl", IMPLS)
def test_zero_and_unit_gates_match_float64_recurrence(impl):
  """log_g = -inf (gate 0: the key channel is reset) and log_g = 0 (gate 1), mixed with ordinary gates:
  forward, final state and all five gradients against the float64 loop and its NumPy adjoint.

  Tolerance: the chunk forms floor log_g at -105 (nonfinite.py), so on rows after a floored entry in the
  same chunk the cumulative sum has magnitude in [64, 128) and every add rounds to at most 2^-18 = 3.8e-6
  (against 6e-8·|G| on other rows). Fewer than 16 such adds lie between two rows of a chunk of 16, so an
  exponent is off by < 6e-5 at worst and, as independent roundings, by about 4·3.8e-6 = 1.5e-5 typically;
  with the few affected rows here that bounds rel-RMS errors by 2e-5 (observed: reference <= 1e-7; xla
  and pallas <= 1.2e-6 forward, <= 1.7e-6 in the gradients, against ~1e-7 without zero gates).
  Gradients of log_g at -inf entries are 0 (exact:
  d e^{log_g} = e^{log_g} d log_g = 0) and are compared like every other entry."""
  args = _edge_gate_inputs()
  q, k, v, g, h0, do, dht = args
  o, s, grads = _value_and_grads(impl, args, chunk_size=16)
  o_np, s_np = _np_gla(q, k, v, g, 5 ** -0.5, h0)
  assert np.isfinite(np.asarray(o)).all() and np.isfinite(np.asarray(s)).all()
  assert _rel(o, o_np) < 2e-5 and _rel(s, s_np) < 2e-5, (_rel(o, o_np), _rel(s, s_np))
  ref = _np_gla_vjp(q, k, v, g, 5 ** -0.5, h0, do, dht)
  for name, a, r in zip(("dq", "dk", "dv", "dlog_g", "dh0"), grads, ref):
    assert np.isfinite(np.asarray(a)).all(), name
    assert _rel(a, r) < 2e-5, (name, _rel(a, r))
  dg = np.asarray(grads[3])
  np.testing.assert_array_equal(dg[np.isneginf(np.asarray(g))], 0.0)


def _f64_loop_nonfinite(q, k, v, g, h0):
  with np.errstate(invalid="ignore", over="ignore"):
    return _np_gla(q, k, v, g, 5 ** -0.5, h0)


@pytest.mark.parametrize("impl", IMPLS)
def test_nonfinite_input_is_causal_in_values(impl):
  """A NaN or ±inf at t0 = 5 in one input: outputs before t0 are bit-for-bit those of the same input with
  a finite value there (same compiled program), the other sequence of the batch is untouched, and the
  outputs and final state are non-finite exactly where the float64 loop's are, and NaN there for a NaN
  input (nonfinite.py lists the pattern: q -> row t0; k, NaN/+inf log_g -> the whole head from t0; v -> its
  value column from t0; initial state -> its value column at every t); finite entries match the loop."""
  q, k, v, g, h0, _, _ = _inputs(EDGE_SHAPE, norm=1.0, seed=17)
  run = _fwd_fn(impl)
  o_base, _ = (np.asarray(x) for x in run(q, k, v, g, h0))
  t0, at = 5, (1, 5, 0, 1)
  cases = [("q", np.nan), ("k", np.inf), ("v", np.nan), ("v", -np.inf), ("log_g", np.nan), ("log_g", np.inf),
           ("initial_state", np.nan)]
  for name, val in cases:
    a = dict(q=q, k=k, v=v, log_g=g, initial_state=h0)
    a[name] = a[name].at[(1, 0, 2, 1) if name == "initial_state" else at].set(val)
    o, s = (np.asarray(x) for x in run(*a.values()))
    o64, s64 = _f64_loop_nonfinite(*a.values())
    np.testing.assert_array_equal(~np.isfinite(o), ~np.isfinite(o64), err_msg=name)
    np.testing.assert_array_equal(~np.isfinite(s), ~np.isfinite(s64), err_msg=name)
    if np.isnan(val):                                                          # NaN in: NaN exactly there
      np.testing.assert_array_equal(np.isnan(o), ~np.isfinite(o64), err_msg=name)
    assert np.isfinite(o64[:, :t0]).all() or name == "initial_state"
    if name != "initial_state":
      np.testing.assert_array_equal(o[:, :t0], o_base[:, :t0], err_msg=name)   # causal, bit for bit
    np.testing.assert_array_equal(o[0], o_base[0], err_msg=name)               # other sequence untouched
    fin = np.isfinite(o64)
    assert _rel(o[fin], o64[fin]) < 1e-5, (name, _rel(o[fin], o64[fin]))


# ---------------------------------------------------------------------------------------------------
# Invariants: causality, split-and-carry, decoding.


@pytest.mark.parametrize("impl", IMPLS)
def test_causality_outputs_before_t_bit_identical(impl):
  q, k, v, g, h0, _, _ = _inputs((2, 100, 2, 20, 12), norm=1.0, seed=7)
  t0 = 37                                            # inside a chunk and inside a sub-chunk (guards anchors)
  bump = lambda x, key: x.at[:, t0:].add(jax.random.normal(key, x[:, t0:].shape))
  ks = jax.random.split(jax.random.PRNGKey(99), 4)
  q2, k2, v2 = bump(q, ks[0]), bump(k, ks[1]), bump(v, ks[2])
  g2 = g.at[:, t0:].set(jax.nn.log_sigmoid(jax.random.normal(ks[3], g[:, t0:].shape)) * 3.0)
  f = _fwd_fn(impl)
  o1, o2 = np.asarray(f(q, k, v, g, h0)[0]), np.asarray(f(q2, k2, v2, g2, h0)[0])
  np.testing.assert_array_equal(o1[:, :t0], o2[:, :t0])
  assert not np.allclose(o1[:, t0:], o2[:, t0:])


@pytest.mark.parametrize("impl", IMPLS)
def test_split_with_carried_state_equals_one_pass(impl):
  q, k, v, g, h0, _, _ = _inputs((2, 100, 2, 20, 12), norm=1.0, seed=8)
  t1 = 50                                                     # both halves share one compiled executable
  run = _fwd_fn(impl)
  o, s = run(q, k, v, g, h0)
  oa, sa = run(q[:, :t1], k[:, :t1], v[:, :t1], g[:, :t1], h0)
  ob, sb = run(q[:, t1:], k[:, t1:], v[:, t1:], g[:, t1:], sa)
  assert _rel(jnp.concatenate([oa, ob], axis=1), o) < 1e-5   # float32: different chunk boundaries only
  assert _rel(sb, s) < 1e-5


def test_decode_step_equals_recurrence_and_parallel_form():
  q, k, v, g, h0, _, _ = _inputs((2, 100, 2, 20, 12), norm=1.0, seed=9)
  o_np, s_np = _np_gla(q, k, v, g, 20 ** -0.5, h0)
  step = jax.jit(gla_decode_step)
  s = h0
  outs = []
  for t in range(q.shape[1]):
    o_t, s = step(q[:, t], k[:, t], v[:, t], g[:, t], s)
    outs.append(o_t)
  o = jnp.stack(outs, axis=1)
  assert s.dtype == jnp.float32
  assert _rel(o, o_np) < 1e-6 and _rel(s, s_np) < 1e-6       # float32, one step at a time
  o_par, _ = _fwd_fn("xla")(q, k, v, g, h0)
  assert _rel(o, o_par) < 1e-5


def test_auto_is_xla_on_cpu():
  q, k, v, g, h0, _, _ = _inputs((2, 100, 2, 20, 12), seed=10)
  a = jax.jit(lambda *x: gla(*x[:4], initial_state=x[4], output_final_state=True))(q, k, v, g, h0)[0]
  b = _fwd_fn("xla")(q, k, v, g, h0)[0]
  np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------------------------------
# Input validation.


def test_errors_name_the_argument():
  q, k, v, g, h0, _, _ = _inputs((1, 8, 2, 4, 3))
  cases = [
      (lambda: gla(q[0], k, v, g), ValueError, "q: expected rank 4"),
      (lambda: gla(q, k[:, :4], v, g), ValueError, "k: expected the shape of q"),
      (lambda: gla(q, k, v, g[..., :2]), ValueError, "log_g: expected the shape of q"),
      (lambda: gla(q, k, v[:, :, :1], g), ValueError, "v: expected shape"),
      (lambda: gla(q, k.astype(jnp.bfloat16), v, g), TypeError, "q, k, v: expected one dtype"),
      (lambda: gla(q.astype(jnp.int32), k, v, g), TypeError, "q: expected a floating dtype"),
      (lambda: gla([[1.0]], k, v, g), TypeError, "q: expected a jax/numpy array"),
      (lambda: gla(q, k, v, g, initial_state=h0[..., :2]), ValueError, "initial_state: expected shape"),
      (lambda: gla(q, k, v, g, chunk_size=48), ValueError, "chunk_size: expected a power of two"),
      (lambda: gla(q, k, v, g, impl="triton"), ValueError, "impl: expected one of"),
      (lambda: gla(q, k, v, g, scale=-1.0), ValueError, "scale: expected None or a positive"),
      (lambda: gla(q, k, v, g, output_final_state=1), TypeError, "output_final_state: expected a bool"),
      (lambda: gla_decode_step(q[:, 0], k[:, 0], v[:, 0], g[:, 0], h0[:, :1]), ValueError, "state: expected"),
  ]
  for fn, exc, msg in cases:
    with pytest.raises(exc, match=msg):
      fn()
  with jax.enable_x64(True):
    q64 = jnp.asarray(np.asarray(q, np.float64))
    with pytest.raises(TypeError, match="impl='pallas' takes"):
      gla(q64, q64, q64[..., :3], q64, impl="pallas")


# ---------------------------------------------------------------------------------------------------
# Backend lowering from this CPU host (Triton for GPU, Mosaic for TPU): forward and backward kernels.


@pytest.mark.parametrize("intra,n_kernels", [("split", 7), ("fused", 5)])
@pytest.mark.parametrize("backend,platform,marker", [("triton", "cuda", "__gpu$xla.gpu.triton"),
                                                     ("tpu", "tpu", "tpu_custom_call")])
def test_pallas_kernels_lower_for_gpu_and_tpu(backend, platform, marker, intra, n_kernels):
  b, t, h, kd, vd = 1, 100, 2, 60, 256                       # T and K padded inside the op
  kc = gla_config.GLAKernelConfig(intra=intra)
  sds = [jax.ShapeDtypeStruct((b, t, h, kd), jnp.bfloat16)] * 2 + [
      jax.ShapeDtypeStruct((b, t, h, vd), jnp.bfloat16), jax.ShapeDtypeStruct((b, t, h, kd), jnp.float32),
      jax.ShapeDtypeStruct((b, h, kd, vd), jnp.float32)]

  def f(q, k, v, g, h0):
    o, s = gla_pallas.gla_pallas(q, k, v, g, 0.125, h0, backend=backend, kc=kc)
    return jnp.sum(o.astype(jnp.float32)) + jnp.sum(s)

  text = jax.jit(jax.value_and_grad(f, argnums=(0, 1, 2, 3, 4))).trace(*sds).lower(
      lowering_platforms=(platform,)).as_text()
  # split: states, intra, output, states again, dstates, dqk_intra, inter_bwd; fused: states, output,
  # states again, dstates, dqkv
  assert text.count(marker) >= n_kernels, text.count(marker)
