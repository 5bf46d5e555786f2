"""Oracle tests for models.hopfield (Ramsauer et al., arXiv:2008.02217) and the classical baseline.

Tolerances: float64 oracles (under a scoped ``jax.enable_x64(True)``) at 1e-10 (a few hundred flops of O(1)
values, relative rounding ~1e-16 each); float32 checks at 1e-5 (rounding ~6e-8 times O(10) terms and
an exp). Masking checks are exact (padded weights must be exactly 0, outputs bitwise unchanged).
"""
from __future__ import annotations

import functools
import itertools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from models.hopfield import classical
from models.hopfield import functional as F
from models.hopfield import Hopfield, HopfieldLayer, HopfieldPooling, MILClassifier, POOLINGS

F64 = 1e-10


def enable_x64():
  """Scoped float64 (``jax.experimental.enable_x64`` moved to ``jax.enable_x64`` in jax 0.10)."""
  return jax.enable_x64(True)
F32 = 1e-5


# ---------------------------------------------------------------------------------------------------
# Independent numpy references (float64).


def np_softmax(s: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
  if mask is not None:
    s = np.where(mask, s, -np.inf)
  m = np.max(s, axis=-1, keepdims=True)
  e = np.exp(s - m)
  if mask is not None:
    e = np.where(mask, e, 0.0)
  return e / e.sum(-1, keepdims=True)


def np_energy(xi: np.ndarray, x: np.ndarray, beta: float) -> np.ndarray:
  """Eq. (2) for one set: xi [Q, D], x [N, D] (unmasked patterns only) -> [Q]."""
  s = beta * xi @ x.T
  m = s.max(-1, keepdims=True)
  lse = (m + np.log(np.exp(s - m).sum(-1, keepdims=True)))[:, 0]
  big_m = np.max(np.linalg.norm(x, axis=-1))
  return -lse / beta + 0.5 * (xi * xi).sum(-1) + np.log(len(x)) / beta + 0.5 * big_m ** 2


def np_layer_norm(x: np.ndarray, p: dict) -> np.ndarray:
  mu = x.mean(-1, keepdims=True)
  var = ((x - mu) ** 2).mean(-1, keepdims=True)
  return (x - mu) / np.sqrt(var + 1e-5) * np.asarray(p["scale"], np.float64) + np.asarray(
      p["bias"], np.float64)


def np_dense(x: np.ndarray, p: dict) -> np.ndarray:
  return x @ np.asarray(p["kernel"], np.float64) + np.asarray(p["bias"], np.float64)


def np_heads(x: np.ndarray, h: int) -> np.ndarray:  # [B, L, H*d] -> [B, H, L, d]
  b, l, f = x.shape
  return x.reshape(b, l, h, f // h).transpose(0, 2, 1, 3)


def np_projected_layer(params: dict, stored, state, proj, h: int, beta: float, mask=None,
                       steps: int = 0) -> np.ndarray:
  """Default-config Hopfield layer (norms + projections + out projection) from its parameters."""
  stored, state, proj = (np.asarray(a, np.float64) for a in (stored, state, proj))
  k = np_heads(np_dense(np_layer_norm(stored, params["norm_stored_pattern"]),
                        params["stored_pattern_proj"]), h)
  q = np_heads(np_dense(np_layer_norm(state, params["norm_state_pattern"]),
                        params["state_pattern_proj"]), h)
  v = np_heads(np_dense(np_layer_norm(proj, params["norm_pattern_projection"]),
                        params["pattern_projection_proj"]), h)
  m = None if mask is None else np.asarray(mask)[:, None, None, :]
  for _ in range(steps):
    q = np_softmax(beta * q @ k.transpose(0, 1, 3, 2), m) @ k
  z = np_softmax(beta * q @ k.transpose(0, 1, 3, 2), m) @ v  # [B, H, Q, p]
  b, _, ql, _ = z.shape
  z = z.transpose(0, 2, 1, 3).reshape(b, ql, -1)
  return np_dense(z, params["out_proj"])


def _init(module: nn.Module, key: jax.Array, *args, **kwargs):
  """Variables with the module's shapes filled with N(0, 0.5²) float32 values (numpy RNG from ``key``).

  Avoids compiling ``init`` (random initialisers dominate the compile time); the oracle tests hold for
  any parameter values, and non-trivial LayerNorm scales/biases exercise the affine part.
  """
  shapes = jax.eval_shape(lambda k: module.init(k, *args, **kwargs), key)
  r = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel().tolist())
  return jax.tree.map(lambda s: jnp.asarray(0.5 * r.normal(size=s.shape), s.dtype), shapes)


def _jit(fn, **static):
  """``jax.jit`` of a functional entry point with its Python-int options fixed."""
  return jax.jit(functools.partial(fn, **static))


_JITTED: dict = {}


def _apply(module: nn.Module, variables, *args, mutable=False, **kwargs):
  """Jitted ``module.apply`` (cached per module); array keyword arguments are traced."""
  key = (id(module), str(mutable))
  if key not in _JITTED:
    fn = jax.jit(lambda v, a, kw: module.apply(v, *a, mutable=mutable, **kw))
    _JITTED[key] = (module, fn)  # keep the module alive so its id stays unique
  return _JITTED[key][1](variables, args, kwargs)


def _rng(seed: int) -> np.random.Generator:
  return np.random.default_rng(seed)


def _static_hopfield(**kw) -> Hopfield:
  return Hopfield(stored_pattern_as_static=True, state_pattern_as_static=True,
                  pattern_projection_as_static=True, normalize_stored_pattern=False,
                  normalize_state_pattern=False, normalize_pattern_projection=False,
                  disable_out_projection=True, **kw)


# ---------------------------------------------------------------------------------------------------
# Attention equivalence.


@pytest.mark.parametrize("num_heads", [1, 2])
def test_static_layer_is_softmax_attention_float64(num_heads):
  r = _rng(0)
  stored, state, proj = r.normal(size=(2, 5, 4)), r.normal(size=(2, 3, 4)), r.normal(size=(2, 5, 6))
  beta = 0.7
  with enable_x64():
    layer = _static_hopfield(num_heads=num_heads, scaling=beta)
    variables = _init(layer, jax.random.PRNGKey(0), stored, state, proj)
    assert not jax.tree.leaves(variables)  # identity projections, no norms: nothing to learn
    out = np.asarray(_apply(layer, variables, stored, state, proj))
  assert out.dtype == np.float64
  qh, kh, vh = np_heads(state, num_heads), np_heads(stored, num_heads), np_heads(proj, num_heads)
  ref = np_softmax(beta * qh @ kh.transpose(0, 1, 3, 2)) @ vh
  ref = ref.transpose(0, 2, 1, 3).reshape(2, 3, 6)
  np.testing.assert_allclose(out, ref, rtol=0, atol=F64)


def test_static_layer_equals_flax_dot_product_attention():
  r = _rng(1)
  d = 8
  stored, state, proj = (jnp.asarray(r.normal(size=s), jnp.float32)
                         for s in ((2, 6, d), (2, 4, d), (2, 6, 5)))
  layer = _static_hopfield(scaling=1.0 / np.sqrt(d))
  out = _apply(layer, {}, stored, state, proj)
  ref = nn.dot_product_attention(state[:, :, None], stored[:, :, None], proj[:, :, None],
                                 deterministic=True)[:, :, 0]
  np.testing.assert_allclose(np.asarray(out), np.asarray(ref), rtol=0, atol=F32)


def test_default_beta_static_vs_projected():
  assert _static_hopfield().resolve_sizes(4, 4, 4).beta == 1.0  # nothing learned: β = 1
  # Static association space but a learned read-out: the official rule keeps 1/sqrt(head_dim).
  partial = Hopfield(stored_pattern_as_static=True, state_pattern_as_static=True)
  assert partial.resolve_sizes(4, 4, 4).beta == pytest.approx(0.5, abs=1e-15)
  sizes = Hopfield(num_heads=2, hidden_size=8).resolve_sizes(3, 5, 7)
  assert (sizes.head_dim, sizes.pattern, sizes.output) == (4, 8, 5)
  assert sizes.beta == pytest.approx(0.5, abs=1e-15)


def test_multihead_projected_layer_matches_numpy_float64():
  r = _rng(2)
  stored, state, proj = r.normal(size=(2, 5, 6)), r.normal(size=(2, 3, 4)), r.normal(size=(2, 5, 7))
  mask = np.array([[1, 1, 0, 1, 0], [1, 1, 1, 1, 1]], bool)
  layer = Hopfield(num_heads=2, hidden_size=8, pattern_size=6, output_size=5)
  with enable_x64():
    variables = jax.jit(lambda k: layer.init(k, stored, state, proj, key_padding_mask=mask))(
        jax.random.PRNGKey(3))  # the module's own initialisation
    # Perturbed (LayerNorm scale 1 / bias 0 at init would hide the affine part), still float32.
    r4 = _rng(4)
    params = jax.tree.map(lambda p: (p + 0.1 * r4.normal(size=p.shape)).astype(p.dtype),
                          variables["params"])
    out = np.asarray(_apply(layer, {"params": params}, stored, state, proj, key_padding_mask=mask))
  ref = np_projected_layer(params, stored, state, proj, h=2, beta=1 / np.sqrt(4), mask=mask)
  assert out.shape == (2, 3, 5)
  np.testing.assert_allclose(out, ref, rtol=0, atol=F64)
  # float32 run of the same layer agrees within float32 rounding.
  out32 = _apply(layer, {"params": params}, *(jnp.asarray(a, jnp.float32) for a in (stored, state,
                                                                                     proj)),
                      key_padding_mask=mask)
  np.testing.assert_allclose(np.asarray(out32), ref, rtol=0, atol=F32)


# ---------------------------------------------------------------------------------------------------
# Energy.


def test_energy_matches_numpy_with_mask():
  r = _rng(5)
  x, xi = r.normal(size=(3, 7, 5)), r.normal(size=(3, 4, 5))
  mask = r.random((3, 7)) < 0.7
  mask[:, 0] = True
  beta = 0.8
  with enable_x64():
    e = np.asarray(_jit(F.energy)(xi, x, beta, mask))
    e_nomask = np.asarray(_jit(F.energy)(xi, x, beta))
  for b in range(3):
    np.testing.assert_allclose(e[b], np_energy(xi[b], x[b][mask[b]], beta), rtol=0, atol=F64)
    np.testing.assert_allclose(e_nomask[b], np_energy(xi[b], x[b], beta), rtol=0, atol=F64)
  assert np.all(e >= 0)  # E >= ½(‖ξ‖ − M)² >= 0 with the paper's constants


@pytest.mark.parametrize("beta", [0.1, 1.0, 4.0, 16.0])
def test_energy_never_increases_along_updates(beta):
  r = _rng(6)
  x, xi = 1.5 * r.normal(size=(2, 12, 6)), 2.0 * r.normal(size=(2, 8, 6))
  mask = np.ones((2, 12), bool)
  mask[1, 9:] = False
  with enable_x64():
    states, energies = _jit(F.energy_trajectory, num_steps=15)(xi, x, beta, mask=mask)
    manual, update = jnp.asarray(xi), _jit(F.hopfield_update)
    for _ in range(15):
      manual = update(manual, x, beta, mask)
  states, energies = np.asarray(states), np.asarray(energies)
  np.testing.assert_allclose(states[-1], np.asarray(manual), rtol=0, atol=F64)
  increase = np.diff(energies, axis=0)
  assert np.all(increase <= F64 * (1 + np.abs(energies[1:]))), increase.max()
  assert np.any(increase < -1e-3)  # the descent is not vacuous
  assert np.all(energies >= 0)


# ---------------------------------------------------------------------------------------------------
# Limits and fixed points.


def test_small_beta_gives_mean_of_patterns():
  r = _rng(7)
  x, xi = r.normal(size=(2, 9, 4)), r.normal(size=(2, 3, 4))
  mask = np.ones((2, 9), bool)
  mask[0, 5:] = False
  with enable_x64():
    update = _jit(F.hopfield_update)
    at_zero = np.asarray(update(xi, x, 0.0, mask))
    tiny = np.asarray(update(xi, x, 1e-12, mask))
  for b in range(2):
    mean = x[b][mask[b]].mean(0)
    np.testing.assert_allclose(at_zero[b], np.broadcast_to(mean, (3, 4)), rtol=0, atol=F64)
    # First order in β: ξ_new = mean + O(β M³)
    np.testing.assert_allclose(tiny[b], np.broadcast_to(mean, (3, 4)), rtol=0, atol=F64)


def test_large_beta_gives_nearest_pattern():
  r = _rng(8)
  x, xi = r.normal(size=(10, 8)), r.normal(size=(6, 8))
  s = np.sort(xi @ x.T, axis=-1)
  gap = np.min(s[:, -1] - s[:, -2])
  beta = 60.0 / gap  # error <= 2 M N e^{-β gap} ~ 1e-24
  with enable_x64():
    out = np.asarray(_jit(F.hopfield_update)(xi, x, beta))
  np.testing.assert_allclose(out, x[np.argmax(xi @ x.T, axis=-1)], rtol=0, atol=F64)


def test_orthogonal_patterns_are_fixed_points_within_bound():
  r = _rng(9)
  n, d, c, beta = 5, 8, 2.0, 3.0
  basis, _ = np.linalg.qr(r.normal(size=(d, d)))
  x = c * basis[:n]  # orthogonal rows, ‖x_i‖ = M = c, separation Δ = c²
  eps = np.exp(-beta * c ** 2)
  with enable_x64():
    out = np.asarray(_jit(F.hopfield_update)(x, x, beta))
  err = np.linalg.norm(out - x, axis=-1)
  upper = 2 * c * (n - 1) * eps  # the paper's one-step bound 2(N-1) M e^{-βΔ}
  lower = c * (n - 1) * eps / (1 + (n - 1) * eps)  # exact error is M(N-1)ε·sqrt(1+1/(N-1))/(1+(N-1)ε)
  assert np.all(err <= upper) and np.all(err >= lower), (err, lower, upper)


# ---------------------------------------------------------------------------------------------------
# Iteration.


def np_iterate(xi: np.ndarray, x: np.ndarray, beta: float, max_steps: int, eps: float):
  """Per-query reference: update until a step is shorter than eps (keep it) or max_steps."""
  out, steps = xi.copy(), np.zeros(xi.shape[:-1], int)
  for idx in np.ndindex(*xi.shape[:-1]):
    v = xi[idx]
    for _ in range(max_steps):
      new = np_softmax(beta * x[idx[:-1]] @ v) @ x[idx[:-1]]
      steps[idx] += 1
      done = np.linalg.norm(new - v) < eps
      v = new
      if done:
        break
    out[idx] = v
  return out, steps


def test_iterate_stops_at_eps_and_respects_max_steps():
  r = _rng(10)
  x, xi = r.normal(size=(2, 6, 4)), r.normal(size=(2, 5, 4))
  beta, eps = 3.0, 1e-4
  with enable_x64():
    state, steps = _jit(F.iterate, max_steps=50, eps=eps)(xi, x, beta)
    state_s, steps_s = _jit(F.iterate_scan, max_steps=50, eps=eps)(xi, x, beta)
    capped, steps_c = _jit(F.iterate, max_steps=2, eps=eps)(xi, x, beta)
    exact, steps_e = _jit(F.iterate, max_steps=3, eps=0.0)(xi, x, beta)
    same, steps_0 = F.iterate(xi, x, beta, max_steps=0)  # eager path too
  ref, ref_steps = np_iterate(xi, x, beta, 50, eps)
  assert ref_steps.max() < 50 and ref_steps.min() >= 2  # the eps exit is what stopped the loop
  np.testing.assert_array_equal(np.asarray(steps), ref_steps)
  np.testing.assert_allclose(np.asarray(state), ref, rtol=0, atol=F64)
  np.testing.assert_array_equal(np.asarray(steps_s), ref_steps)
  np.testing.assert_allclose(np.asarray(state_s), np.asarray(state), rtol=0, atol=F64)
  np.testing.assert_array_equal(np.asarray(steps_c), 2)
  np.testing.assert_allclose(np.asarray(capped), np_iterate(xi, x, beta, 2, eps)[0], rtol=0,
                             atol=F64)
  np.testing.assert_array_equal(np.asarray(steps_e), 3)
  np.testing.assert_allclose(np.asarray(exact), np_iterate(xi, x, beta, 3, 0.0)[0], rtol=0,
                             atol=F64)
  np.testing.assert_array_equal(np.asarray(steps_0), 0)
  np.testing.assert_array_equal(np.asarray(same), xi)


def test_module_update_steps_equals_manual_updates_then_readout():
  r = _rng(11)
  stored, state = r.normal(size=(2, 5, 6)), r.normal(size=(2, 3, 6))
  mask = np.array([[1, 1, 1, 0, 1], [1, 1, 1, 1, 1]], bool)
  k = 3
  layer = Hopfield(num_heads=2, hidden_size=8, update_steps_max=k, update_steps_eps=0.0, scaling=2.0)
  with enable_x64():
    variables = _init(layer, jax.random.PRNGKey(12), stored, state, key_padding_mask=mask)
    out, inter = _apply(layer, variables, stored, state, key_padding_mask=mask,
                             mutable=["intermediates"])
  ref = np_projected_layer(variables["params"], stored, state, stored, h=2, beta=2.0, mask=mask,
                           steps=k)
  np.testing.assert_allclose(np.asarray(out), ref, rtol=0, atol=F64)
  np.testing.assert_array_equal(np.asarray(inter["intermediates"]["num_steps"][0]), k)
  energies = np.asarray(inter["intermediates"]["energy"][0])  # [k + 1, B, H, Q]
  assert energies.shape == (k + 1, 2, 2, 3)
  assert np.all(np.diff(energies, axis=0) <= F64 * (1 + np.abs(energies[1:])))
  # The iterated layer is differentiable (scan, not while_loop).
  g = jax.grad(lambda p: jnp.sum(_apply(layer, {"params": p}, jnp.asarray(stored, jnp.float32),
                                             jnp.asarray(state, jnp.float32))))(variables["params"])
  assert all(np.all(np.isfinite(np.asarray(a))) for a in jax.tree.leaves(g))


# ---------------------------------------------------------------------------------------------------
# Permutation symmetry.


def test_pooling_permutation_invariant():
  r = _rng(13)
  x = jnp.asarray(r.normal(size=(2, 7, 5)), jnp.float32)
  mask = jnp.asarray(r.random((2, 7)) < 0.7).at[:, 0].set(True)
  perm = r.permutation(7)
  pool = HopfieldPooling(quantity=2, num_heads=1, hidden_size=6)
  variables = _init(pool, jax.random.PRNGKey(14), x, key_padding_mask=mask)
  out = _apply(pool, variables, x, key_padding_mask=mask)
  out_p = _apply(pool, variables, x[:, perm], key_padding_mask=mask[:, perm])
  assert out.shape == (2, 2, 5)
  np.testing.assert_allclose(np.asarray(out_p), np.asarray(out), rtol=0, atol=F32)


def test_self_association_permutation_equivariant():
  r = _rng(15)
  x = jnp.asarray(r.normal(size=(2, 6, 4)), jnp.float32)
  perm = r.permutation(6)
  layer = Hopfield(num_heads=2)
  variables = _init(layer, jax.random.PRNGKey(16), x, x)
  out = _apply(layer, variables, x, x)
  out_p = _apply(layer, variables, x[:, perm], x[:, perm])
  np.testing.assert_allclose(np.asarray(out_p), np.asarray(out)[:, perm], rtol=0, atol=F32)


# ---------------------------------------------------------------------------------------------------
# Masking: exact zeros, garbage padding is invisible.


def _garbage(x: np.ndarray, mask: np.ndarray, value: float) -> np.ndarray:
  return np.where(mask[..., None], x, value).astype(x.dtype)


def test_functional_mask_exact_zero_and_all_masked_rows():
  r = _rng(17)
  x, xi = r.normal(size=(2, 5, 3)).astype(np.float32), r.normal(size=(2, 4, 3)).astype(np.float32)
  mask = np.array([[1, 0, 1, 0, 1], [0, 0, 0, 0, 0]], bool)
  p = np.asarray(_jit(F.association)(xi, 50.0 * x, 1.0, mask))
  assert np.all(p[:, :, ~mask[0]][0] == 0.0) and np.all(p[1] == 0.0)
  np.testing.assert_allclose(p[0].sum(-1), 1.0, rtol=0, atol=F32)
  out = np.asarray(_jit(F.hopfield_update)(xi, x, 1.0, mask))
  np.testing.assert_array_equal(out[1], 0.0)  # documented: all-masked -> zero update, not NaN
  assert np.all(np.isnan(np.asarray(_jit(F.energy)(xi, x, 1.0, mask))[1]))
  g = jax.jit(jax.grad(lambda a: jnp.sum(F.hopfield_update(a, x, 1.0, mask))))(jnp.asarray(xi))
  assert np.all(np.isfinite(np.asarray(g)))


def test_hopfield_padding_gets_zero_weight_and_is_invisible():
  r = _rng(18)
  stored, state = r.normal(size=(2, 6, 5)).astype(np.float32), r.normal(size=(2, 3, 5)).astype(
      np.float32)
  mask = np.array([[1, 1, 0, 1, 0, 0], [0, 1, 1, 1, 1, 1]], bool)
  layer = Hopfield(num_heads=1, hidden_size=6)
  variables = _init(layer, jax.random.PRNGKey(19), stored, state, key_padding_mask=mask)
  out, inter = _apply(layer, variables, stored, state, key_padding_mask=mask,
                      mutable=["intermediates"])
  assoc = np.asarray(inter["intermediates"]["association"][0])  # [B, H, Q, N]
  assert np.all(assoc[np.broadcast_to(~mask[:, None, None, :], assoc.shape)] == 0.0)
  np.testing.assert_allclose(assoc.sum(-1), 1.0, rtol=0, atol=F32)
  for value in (1e6, np.nan):
    out_g = _apply(layer, variables, _garbage(stored, mask, value), state, key_padding_mask=mask)
    np.testing.assert_array_equal(np.asarray(out_g), np.asarray(out))


@pytest.mark.parametrize("pooling", POOLINGS)
def test_mil_padding_invisible(pooling):
  r = _rng(20)
  bags = r.normal(size=(3, 6, 4)).astype(np.float32)
  mask = np.array([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1], [0, 1, 0, 1, 0, 0]], bool)
  model = MILClassifier(pooling=pooling, hidden=8)
  variables = _init(model, jax.random.PRNGKey(21), bags, mask)
  logits, inter = _apply(model, variables, bags, mask, mutable=["intermediates"])
  assert logits.shape == (3,)
  for value in (1e4, -1e4, np.nan):  # large positives would win an unmasked max
    np.testing.assert_array_equal(
        np.asarray(_apply(model, variables, _garbage(bags, mask, value), mask)), np.asarray(logits))
  # A padded bag scores like the same bag without padding (mean divides by the true count, ...).
  for b in range(3):
    real = bags[b][mask[b]][None]
    alone = _apply(model, variables, real, np.ones(real.shape[:2], bool))
    np.testing.assert_allclose(np.asarray(alone)[0], np.asarray(logits)[b], rtol=0, atol=F32)
  weights = inter.get("intermediates", {})  # max pooling sows nothing
  if pooling in ("mean", "attention"):
    w = np.asarray(weights["pool_weights"][0])
    assert np.all(w[~mask] == 0.0)
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=0, atol=F32)
  if pooling == "mean":
    np.testing.assert_allclose(np.asarray(weights["pool_weights"][0])[mask],
                               np.repeat(1 / mask.sum(-1), mask.sum(-1)), rtol=0, atol=F32)
  if pooling == "hopfield":
    a = np.asarray(weights["hopfield_pooling"]["hopfield"]["association"][0])  # [B, H, 1, N]
    assert np.all(a[:, 0, 0][~mask] == 0.0)


def test_mil_unknown_pooling():
  with pytest.raises(ValueError, match="pooling"):
    MILClassifier(pooling="median").init(jax.random.PRNGKey(0), jnp.zeros((1, 2, 3)),
                                         jnp.ones((1, 2), bool))


def test_hopfield_layer_shapes_and_lookup():
  # With static identity maps, large β and orthogonal lookup patterns, the layer retrieves targets.
  d, n = 4, 3
  layer = HopfieldLayer(quantity=n, lookup_weights_as_separated=True, scaling=50.0,
                        stored_pattern_as_static=True, state_pattern_as_static=True,
                        pattern_projection_as_static=True, normalize_stored_pattern=False,
                        normalize_state_pattern=False, normalize_pattern_projection=False,
                        disable_out_projection=True)
  inputs = jnp.eye(d)[None, :n]  # queries equal the lookup patterns
  variables = _init(layer, jax.random.PRNGKey(22), inputs)
  targets = jax.random.normal(jax.random.PRNGKey(23), (n, d))
  params = {"lookup_weights": jnp.eye(d)[:n], "target_weights": targets}
  out = _apply(layer, {"params": params}, inputs)
  assert jax.tree.map(jnp.shape, variables["params"]) == {"lookup_weights": (n, d),
                                                          "target_weights": (n, d)}
  # error <= 2 (N-1) max‖t‖ e^{-50}: far below float32 rounding
  np.testing.assert_allclose(np.asarray(out[0]), np.asarray(targets), rtol=0, atol=F32)


# ---------------------------------------------------------------------------------------------------
# Classical binary Hopfield network.


def _pm1(r: np.random.Generator, shape) -> np.ndarray:
  return np.where(r.random(shape) < 0.5, -1.0, 1.0).astype(np.float32)


def test_classical_patterns_are_fixed_points_and_corrupted_recall():
  r = _rng(24)
  d, n = 64, 3  # load 0.05 << 0.14
  x = _pm1(r, (n, d))
  w = classical.hebbian_weights(x)
  assert np.all(np.diag(np.asarray(w)) == 0) and np.allclose(w, np.asarray(w).T)
  # Independent stability check: every unit agrees with its Hebbian field.
  assert np.all(np.sign(x @ np.asarray(w, np.float64)) == x)
  recall = _jit(classical.recall, max_sweeps=20)
  out, sweeps = recall(w, x, jax.random.PRNGKey(0))
  np.testing.assert_array_equal(np.asarray(out), x)
  np.testing.assert_array_equal(np.asarray(sweeps), 1)
  noisy = x.copy()
  for i in range(n):
    noisy[i, r.choice(d, size=6, replace=False)] *= -1  # ~10% corrupted bits
  out, sweeps = recall(w, noisy, jax.random.PRNGKey(1))
  np.testing.assert_array_equal(np.asarray(out), x)
  assert np.all(np.asarray(sweeps) < 20)
  np.testing.assert_allclose(np.asarray(classical.overlaps(out, x)).diagonal(), 1.0)


def test_classical_energy_never_increases_across_sweeps():
  r = _rng(25)
  d, n = 32, 6
  x = _pm1(r, (n, d))
  w = classical.hebbian_weights(x)
  w64 = np.asarray(w, np.float64)
  s0 = _pm1(r, (d,))
  key = jax.random.PRNGKey(2)
  sweep = jax.jit(classical.async_sweep)
  s = jnp.asarray(s0)
  energies = [float(-0.5 * s0 @ w64 @ s0)]
  for t in range(30):
    s, changed = sweep(w, s, jax.random.fold_in(key, t))
    s64 = np.asarray(s, np.float64)
    energies.append(float(-0.5 * s64 @ w64 @ s64))
    if not changed:
      break
  assert not changed
  # Entries k/32 are exact in float32 and float64: the energies are exact.
  assert np.all(np.diff(energies) <= 0.0), np.diff(energies)
  assert energies[-1] < energies[0]
  np.testing.assert_allclose(float(classical.energy(w, s)), energies[-1], rtol=0, atol=F32)
  # recall runs the same sweeps (unit order of sweep t from fold_in(key, t)).
  final, sweeps = _jit(classical.recall)(w, s0, key)
  np.testing.assert_array_equal(np.asarray(final), np.asarray(s))
  assert int(sweeps) == len(energies) - 1


def test_classical_brute_force_local_minima():
  """d = 10 (entries k/10 are inexact: ties must survive rounding), all 2^10 initial states."""
  r = _rng(28)
  d, n = 10, 4
  x = _pm1(r, (n, d))
  w = classical.hebbian_weights(x)
  couplings = (x.T @ x).astype(np.int64) - n * np.eye(d, dtype=np.int64)  # d·W, exact integers
  states = np.array(list(itertools.product([-1.0, 1.0], repeat=d)), np.float32)
  out, sweeps = _jit(classical.recall, max_sweeps=50)(w, states, jax.random.PRNGKey(3))
  out, sweeps = np.asarray(out).astype(np.int64), np.asarray(sweeps)
  assert np.all(sweeps < 50)
  # Flipping unit i changes E by 2 s_i h_i: a local minimum has s_i (C s)_i >= 0 for every i.
  field = out @ couplings.T
  assert np.all(out * field >= 0)
  # The fixed points of the dynamics are exactly the local minima (ties keep their value).
  s_int = states.astype(np.int64)
  is_min = np.all(s_int * (s_int @ couplings.T) >= 0, axis=-1)
  unchanged = np.all(np.asarray(out) == s_int, axis=-1) & (sweeps == 1)
  np.testing.assert_array_equal(unchanged, is_min)
  assert np.any((s_int @ couplings.T)[is_min] == 0)  # ties occur among the minima: rule exercised
  # Energy of the result is never above the start.
  e0 = -0.5 * np.einsum("bi,ij,bj->b", s_int, couplings, s_int)
  e1 = -0.5 * np.einsum("bi,ij,bj->b", out, couplings, out)
  assert np.all(e1 <= e0)


def test_classical_ties_keep_their_value_despite_rounding():
  """d = 20: float32 fields of exact ties come out as ±6e-8; tied minima must still be fixed points."""
  r = _rng(4)
  d, n = 20, 6
  x = _pm1(r, (n, d))
  couplings = (x.T @ x).astype(np.int64) - n * np.eye(d, dtype=np.int64)

  def descend(s):  # exact integer asynchronous dynamics
    changed = True
    while changed:
      changed = False
      for i in r.permutation(d):
        if s[i] * (couplings[i] @ s) < 0:
          s[i], changed = -s[i], True
    return s

  minima = np.array([descend(np.where(r.random(d) < 0.5, -1, 1)) for _ in range(100)])
  tied = minima[np.any(minima @ couplings.T == 0, axis=-1)]
  assert len(tied) > 10
  out, sweeps = _jit(classical.recall, max_sweeps=5)(classical.hebbian_weights(x),
                                                     tied.astype(np.float32), jax.random.PRNGKey(5))
  np.testing.assert_array_equal(np.asarray(out), tied)
  np.testing.assert_array_equal(np.asarray(sweeps), 1)


# ---------------------------------------------------------------------------------------------------
# Bad inputs.


def test_bad_inputs_raise_value_error_naming_the_argument():
  key = jax.random.PRNGKey(0)
  stored, state = jnp.zeros((2, 5, 4)), jnp.zeros((2, 3, 4))
  with pytest.raises(ValueError, match=r"stored_pattern: expected rank 3 \[B, N, D\], got shape \(4, 5\)"):
    Hopfield().init(key, jnp.zeros((4, 5)), state)
  with pytest.raises(ValueError, match="state_pattern"):
    Hopfield().init(key, stored, jnp.zeros((3, 3, 4)))
  with pytest.raises(ValueError, match="key_padding_mask"):
    Hopfield().init(key, stored, state, key_padding_mask=jnp.ones((2, 4), bool))
  with pytest.raises(ValueError, match="pattern_projection"):
    Hopfield().init(key, stored, state, jnp.zeros((2, 6, 4)))
  with pytest.raises(ValueError, match="num_heads"):
    Hopfield(num_heads=3, hidden_size=8).init(key, stored, state)
  with pytest.raises(ValueError, match="update_steps_max"):
    Hopfield(update_steps_max=-1).init(key, stored, state)
  with pytest.raises(ValueError, match="stored_pattern"):
    Hopfield(stored_pattern_as_static=True).init(key, jnp.zeros((2, 5, 6)), state)
  with pytest.raises(ValueError, match="inputs"):
    HopfieldPooling().init(key, jnp.zeros((5, 4)))
  with pytest.raises(ValueError, match="mask"):
    MILClassifier(pooling="mean").init(key, jnp.zeros((2, 5, 3)), jnp.ones((2, 4), bool))
  with pytest.raises(ValueError, match="mask"):
    F.hopfield_update(state, stored, 1.0, jnp.ones((2, 4), bool))
  with pytest.raises(ValueError, match="stored"):
    F.energy(state, jnp.zeros((2, 5, 3)), 1.0)
  with pytest.raises(ValueError, match="max_steps"):
    F.iterate(state, stored, 1.0, max_steps=-2)
  with pytest.raises(ValueError, match="weights"):
    classical.recall(jnp.zeros((3, 4)), jnp.ones(3), key)


# ---------------------------------------------------------------------------------------------------
# Edges: β, empty stored sets, integer patterns, non-differentiable sign dynamics.

_BETA_CALLS = {
    "association": (lambda s, x, b: F.association(s, x, b), False),
    "hopfield_update": (lambda s, x, b: F.hopfield_update(s, x, b), False),
    "iterate": (lambda s, x, b: F.iterate(s, x, b, max_steps=2)[0], False),
    "iterate_scan": (lambda s, x, b: F.iterate_scan(s, x, b, max_steps=2)[0], False),
    "energy": (lambda s, x, b: F.energy(s, x, b), True),
    "energy_trajectory": (lambda s, x, b: F.energy_trajectory(s, x, b, num_steps=2)[1], True),
}


@pytest.mark.parametrize("name", sorted(_BETA_CALLS))
def test_invalid_beta_raises_eagerly_and_is_nan_under_jit(name):
  """Concrete β: ValueError naming beta. Traced β: checkify reports it, and the unchecked output is NaN
  in every entry (never a finite wrong value), while a valid traced β equals the eager result."""
  from jax.experimental import checkify
  fn, positive = _BETA_CALLS[name]
  r = _rng(31)
  x, xi = jnp.asarray(r.normal(size=(4, 3)), jnp.float32), jnp.asarray(r.normal(size=(2, 3)), jnp.float32)
  bad = [-1.0, np.inf, np.nan] + ([0.0] if positive else [])
  for b in bad:
    with pytest.raises(ValueError, match=rf"{name}: beta: expected a finite number {'>' if positive else '>='} 0"):
      fn(xi, x, b)
  with pytest.raises(ValueError, match="beta: expected a scalar"):
    fn(xi, x, jnp.ones(2))
  jitted = jax.jit(lambda b: fn(xi, x, b))
  for b in bad:
    assert np.all(np.isnan(np.asarray(jitted(jnp.float32(b))))), b
    err, _ = checkify.checkify(jitted)(jnp.float32(b))
    assert f"{name}: beta: expected" in err.get(), b
  np.testing.assert_allclose(np.asarray(jitted(jnp.float32(0.7))), np.asarray(fn(xi, x, 0.7)), rtol=0, atol=F32)
  err, _ = checkify.checkify(jitted)(jnp.float32(0.7))
  assert err.get() is None
  if not positive:  # β = 0 is valid for the update: the mean of the patterns (closed form)
    out = np.asarray(F.hopfield_update(xi, x, 0.0))
    np.testing.assert_allclose(out, np.broadcast_to(np.asarray(x).mean(0), out.shape), rtol=0, atol=F32)


def test_empty_stored_set_raises_naming_stored():
  """N = 0 has nothing to retrieve: every entry point raises naming the stored argument (an all-masked
  row is the runtime empty set, tested in test_functional_mask_exact_zero_and_all_masked_rows)."""
  xi, empty = jnp.zeros((2, 3)), jnp.zeros((0, 3))
  for name, (fn, _) in _BETA_CALLS.items():
    with pytest.raises(ValueError, match=rf"{name}: stored: expected at least one stored pattern"):
      fn(xi, empty, 1.0)
  key = jax.random.PRNGKey(0)
  with pytest.raises(ValueError, match="stored_pattern: expected at least one stored pattern"):
    Hopfield().init(key, jnp.zeros((2, 0, 3)), jnp.zeros((2, 1, 3)))
  with pytest.raises(ValueError, match="inputs: expected a set of at least one element"):
    HopfieldPooling().init(key, jnp.zeros((2, 0, 3)))
  with pytest.raises(ValueError, match="bags: expected at least one instance"):
    MILClassifier(pooling="mean").init(key, jnp.zeros((2, 0, 3)), jnp.zeros((2, 0), bool))


@pytest.mark.parametrize("scaling", [-1.0, 0.0, float("inf"), float("nan")])
def test_module_scaling_must_be_a_positive_finite_beta(scaling):
  key = jax.random.PRNGKey(0)
  stored, state = jnp.zeros((1, 3, 4)), jnp.zeros((1, 2, 4))
  with pytest.raises(ValueError, match="scaling: expected None or a finite β > 0"):
    Hopfield(scaling=scaling).init(key, stored, state)
  with pytest.raises(ValueError, match="scaling"):
    HopfieldPooling(scaling=scaling).init(key, stored)
  with pytest.raises(ValueError, match="scaling"):
    MILClassifier(scaling=scaling).init(key, stored, jnp.ones((1, 3), bool))
  with pytest.raises(ValueError, match="layer_norm_eps"):
    Hopfield(layer_norm_eps=0.0).init(key, stored, state)
  with pytest.raises(ValueError, match="init_std"):
    HopfieldLayer(init_std=-1.0).init(key, state)


def test_integer_patterns_are_promoted_not_truncated():
  """±1 integer patterns give the float result (the read-out used to be cast back to int, i.e. 0)."""
  r = _rng(32)
  x = np.where(r.random((5, 6)) < 0.5, -1, 1)
  xi = np.where(r.random((3, 6)) < 0.5, -1, 1)
  out = F.hopfield_update(jnp.asarray(xi, jnp.int32), jnp.asarray(x, jnp.int32), 0.3)
  assert out.dtype == jnp.float32
  np.testing.assert_allclose(np.asarray(out), np_softmax(0.3 * xi @ x.T) @ x, rtol=0, atol=F32)
  state, _ = F.iterate(jnp.asarray(xi, jnp.int32), jnp.asarray(x, jnp.int32), 0.3, max_steps=1, eps=0.0)
  np.testing.assert_allclose(np.asarray(state), np_softmax(0.3 * xi @ x.T) @ x, rtol=0, atol=F32)
  with pytest.raises(TypeError, match="state: expected real"):
    F.hopfield_update(jnp.ones((1, 6), bool), jnp.asarray(x), 1.0)


def test_classical_sign_dynamics_refuse_differentiation_polynomials_do_not():
  r = _rng(33)
  x = np.where(r.random((3, 8)) < 0.5, -1.0, 1.0)
  w = classical.hebbian_weights(x)
  key = jax.random.PRNGKey(0)
  with pytest.raises(TypeError, match="not differentiable"):
    jax.grad(lambda s: classical.recall(w, s, key)[0].sum())(jnp.asarray(x[0]))
  with pytest.raises(TypeError, match="not differentiable"):
    jax.grad(lambda ww: classical.async_sweep(ww, jnp.asarray(x[0]), key)[0].sum())(w)
  with enable_x64():
    # d/ds of -1/2 sᵀWs is -W s (W symmetric); d/ds of x·s/d is x/d: float64 closed forms
    s = jnp.asarray(r.normal(size=8))
    w64 = classical.hebbian_weights(x, jnp.float64)
    np.testing.assert_allclose(np.asarray(jax.grad(lambda v: classical.energy(w64, v))(s)),
                               -np.asarray(w64) @ np.asarray(s), rtol=0, atol=F64)
    np.testing.assert_allclose(np.asarray(jax.grad(lambda v: classical.overlaps(v, x)[1])(s)), x[1] / 8,
                               rtol=0, atol=F64)
    assert classical.overlaps(s, x).dtype == jnp.float64
  with pytest.raises(ValueError, match="tie_rtol"):
    classical.recall(w, jnp.asarray(x[0]), key, tie_rtol=-1.0)
  with pytest.raises(ValueError, match="patterns: expected d >= 1"):
    classical.hebbian_weights(np.zeros((3, 0)))
  np.testing.assert_array_equal(np.asarray(classical.hebbian_weights(np.zeros((0, 4)))), 0.0)  # empty memory


def test_iterate_is_differentiable_in_both_modes_like_iterate_scan():
  """The early-exit loop has a custom_jvp: its forward and reverse derivatives equal iterate_scan's, and
  with eps = 0 (exactly k updates) both match central finite differences of the float64 numpy loop."""
  r = _rng(34)
  x, xi = r.normal(size=(5, 3)), r.normal(size=(2, 3))
  mask = np.array([True, True, False, True, True])
  with enable_x64():
    f = lambda a, b: F.iterate(a, x, b, max_steps=3, eps=1e-3, mask=mask)[0]       # noqa: E731
    g = lambda a, b: F.iterate_scan(a, x, b, max_steps=3, eps=1e-3, mask=mask)[0]  # noqa: E731
    xi_j, v = jnp.asarray(xi), jnp.asarray(r.normal(size=xi.shape))
    for fun in (jax.jacfwd, jax.jacrev):
      np.testing.assert_allclose(np.asarray(fun(f, argnums=(0, 1))(xi_j, 0.8)[0]),
                                 np.asarray(fun(g, argnums=(0, 1))(xi_j, 0.8)[0]), rtol=0, atol=F64)
    exact = lambda a: F.iterate(a, x, 0.8, max_steps=3, eps=0.0)[0]  # noqa: E731
    _, tangent = jax.jvp(exact, (xi_j,), (v,))

    def np_loop(a):
      for _ in range(3):
        a = np_softmax(0.8 * a @ x.T) @ x
      return a

    h = 1e-6
    fd = (np_loop(xi + h * np.asarray(v)) - np_loop(xi - h * np.asarray(v))) / (2 * h)
    np.testing.assert_allclose(np.asarray(tangent), fd, rtol=0, atol=1e-8)
    cot = jax.grad(lambda a: jnp.sum(exact(a) * v))(xi_j)
    np.testing.assert_allclose(float(jnp.sum(cot * v)), float(np.sum(fd * np.asarray(v))), rtol=1e-7)


# ---------------------------------------------------------------------------------------------------
# The retrieval experiment (models.hopfield.experiment).


def test_corrupt_flips_exactly_the_requested_bits_of_a_stored_pattern():
  from models.hopfield import corrupt, random_patterns
  x = random_patterns(jax.random.PRNGKey(1), 5, 40)
  assert set(np.unique(np.asarray(x))) == {-1.0, 1.0}
  targets, queries = corrupt(jax.random.PRNGKey(2), x, 64, 0.1)
  t, q, xs = np.asarray(targets), np.asarray(queries), np.asarray(x)
  assert all(any((row == p).all() for p in xs) for row in t)      # every target is a stored pattern
  np.testing.assert_array_equal((t != q).sum(1), np.full(64, 4))  # round(0.1 * 40) bits flipped each


def test_modern_retrieval_against_a_float64_numpy_update_and_both_beta_limits():
  """Same keys, an independent numpy softmax update: success, error and participation agree; β → 0 averages
  globally (participation → N) and large β retrieves at a load where the classical network cannot."""
  from models.hopfield import classical_retrieval, corrupt, modern_retrieval, random_patterns
  n, d, nq, flip, beta = 48, 24, 32, 0.1, 0.15   # small β: a partial retrieval, errors well above float32 noise
  key = jax.random.PRNGKey(5)
  s, err, pr = modern_retrieval(key, beta, n=n, d=d, n_queries=nq, flip=flip)
  kp, kq = jax.random.split(key)
  x = random_patterns(kp, n, d)
  targets, queries = (np.asarray(v, np.float64) for v in corrupt(kq, x, nq, flip))
  xs = np.asarray(x, np.float64)
  logits = beta * queries @ xs.T
  p = np.exp(logits - logits.max(1, keepdims=True))
  p /= p.sum(1, keepdims=True)
  out = p @ xs
  np.testing.assert_allclose(float(s), np.mean(np.mean(np.sign(out) == targets, 1) >= 0.95), atol=1e-6)
  np.testing.assert_allclose(float(err), np.mean(np.linalg.norm(out - targets, axis=1) / np.sqrt(d)), rtol=1e-4)
  np.testing.assert_allclose(float(pr), np.mean(1 / np.sum(p ** 2, 1) / n), rtol=1e-4)
  assert float(modern_retrieval(key, 1e-6, n=n, d=d, n_queries=nq, flip=flip)[2]) > 0.999
  load = dict(n=n, d=d, n_queries=nq, flip=flip)                  # N/d = 2, far beyond 0.14 (one compilation)
  assert float(modern_retrieval(key, 8.0, **load)[0]) == 1.0
  assert float(classical_retrieval(key, **load)) < 0.2
