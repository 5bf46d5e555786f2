"""GLA layer, block and language model (paper 07) against independent oracles.

Oracles: a float64 numpy per-step loop built from the module's own parameters (layer and softmax
baseline), the recurrence identity parallel == step-by-step decoding, causality (bit-identical past
outputs), the closed-form parameter count of the reference library's conventions (and the paper file's
341.7M / 1365.5M), and RoPE's relative-position invariant.
"""
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import checkify

from models.gla import (CONFIGS, PAPER_PARAMS_M, Block, CausalSelfAttention, GatedLinearAttention,
                        GLATransformer, SoftmaxTransformer, count_params, make_model, rope, swiglu_width)


def _spread_params(params, key, std=0.3):
  """Replaces every weight by N(0, std²) (norm scales by 1 + N(0, 0.1²)), so gates and outputs are O(1)."""
  leaves, tree = jax.tree.flatten_with_path(params)
  keys = jax.random.split(key, len(leaves))
  out = []
  for (path, x), k in zip(leaves, keys):
    if "scale" in jax.tree_util.keystr(path):
      out.append(1.0 + 0.1 * jax.random.normal(k, x.shape, x.dtype))
    else:
      out.append(std * jax.random.normal(k, x.shape, x.dtype))
  return jax.tree.unflatten(tree, out)


def _np(x):
  return np.asarray(x, np.float64)


def _logsigmoid(z):
  return -np.logaddexp(0.0, -z)


def _rmsnorm(x, scale, eps):
  return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * scale


def _swish(z):
  return z / (1.0 + np.exp(-z))


def _gla_layer_f64(p, x, num_heads, eps, normalizer=16.0):
  """float64 per-step loop of the GLA layer from its parameters (an independent re-derivation)."""
  x = _np(x)
  b, t, _ = x.shape
  q, k, v = (x @ _np(p[n]["kernel"]) for n in ("q_proj", "k_proj", "v_proj"))
  z = (x @ _np(p["gk_proj_0"]["kernel"])) @ _np(p["gk_proj_1"]["kernel"]) + _np(p["gk_proj_1"]["bias"])
  log_g = _logsigmoid(z) / normalizer
  r = x @ _np(p["g_proj"]["kernel"])
  dk, dv = q.shape[-1], v.shape[-1]
  hk, hv = dk // num_heads, dv // num_heads
  split = lambda a, hd: a.reshape(b, t, num_heads, hd)
  q, k, log_g, v, r = split(q, hk), split(k, hk), split(log_g, hk), split(v, hv), split(r, hv)
  s = np.zeros((b, num_heads, hk, hv))
  o = np.zeros((b, t, num_heads, hv))
  for i in range(t):
    s = np.exp(log_g[:, i])[..., None] * s + k[:, i, :, :, None] * v[:, i, :, None, :]
    o[:, i] = hk ** -0.5 * np.einsum("bhk,bhkv->bhv", q[:, i], s)
  o = _rmsnorm(o, _np(p["g_norm"]["scale"]), eps) * _swish(r)
  return o.reshape(b, t, dv) @ _np(p["o_proj"]["kernel"]), s


# float32 forward of a depth-1 layer on O(1) inputs: relative error ~ 1e-6 per op, a few hundred ops deep
# along T = 37 steps -> 2e-5 of the output scale is a safe bound set by float32 rounding.
F32_TOL = 2e-5


@pytest.mark.parametrize("impl", ["xla", "reference", "pallas"])
def test_layer_matches_float64_per_step_oracle(impl):
  layer = GatedLinearAttention(num_heads=2, chunk_size=16, impl=impl)
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 37, 16))
  params = _spread_params(jax.jit(layer.init)(jax.random.PRNGKey(1), x)["params"], jax.random.PRNGKey(2))
  y, state = jax.jit(lambda p, x: layer.apply({"params": p}, x, return_state=True))(params, x)
  y_ref, s_ref = _gla_layer_f64(params, x, num_heads=2, eps=1e-5)
  scale = np.abs(y_ref).max()
  np.testing.assert_allclose(_np(y), y_ref, atol=F32_TOL * scale, rtol=0)
  np.testing.assert_allclose(_np(state), s_ref, atol=F32_TOL * np.abs(s_ref).max(), rtol=0)
  assert state.dtype == jnp.float32


def test_parameterisation_shapes_follow_the_paper():
  d = 64
  params = jax.jit(GatedLinearAttention().init)(jax.random.PRNGKey(0), jnp.zeros((1, 4, d)))["params"]
  shapes = jax.tree.map(lambda a: a.shape, params)
  # d_k = d/2, d_v = d, rank-16 gate (first without bias, second with), per-head norm of d_v / 4 (4 heads)
  assert shapes["q_proj"]["kernel"] == (d, d // 2) and shapes["k_proj"]["kernel"] == (d, d // 2)
  assert shapes["v_proj"]["kernel"] == (d, d) and shapes["g_proj"]["kernel"] == (d, d)
  assert shapes["o_proj"]["kernel"] == (d, d)
  assert shapes["gk_proj_0"] == {"kernel": (d, 16)}
  assert shapes["gk_proj_1"] == {"kernel": (16, d // 2), "bias": (d // 2,)}
  assert shapes["g_norm"]["scale"] == (d // 4,)
  assert all("bias" not in shapes[n] for n in ("q_proj", "k_proj", "v_proj", "g_proj", "o_proj"))
  # init: weights N(0, 0.02²) (sample std of the 64x64 v_proj kernel within 4 standard errors), zero bias
  w = np.asarray(params["v_proj"]["kernel"]).ravel()
  assert abs(w.std() - 0.02) < 4 * 0.02 / math.sqrt(2 * w.size)
  np.testing.assert_array_equal(np.asarray(params["gk_proj_1"]["bias"]), 0.0)
  # ≈ 4d² parameters: 2 · d·d/2 + 3d² plus the tiny gate and norm
  n = sum(a.size for a in jax.tree.leaves(params))
  assert n == 4 * d * d + d * 16 + 16 * d // 2 + d // 2 + d // 4


@pytest.mark.parametrize("normalizer", [16.0, 1.0])
def test_forget_gate_is_sigmoid_to_the_power_one_over_tau(normalizer):
  layer = GatedLinearAttention(num_heads=2, gate_logit_normalizer=normalizer, chunk_size=16)
  x = jax.random.normal(jax.random.PRNGKey(3), (2, 9, 16))
  params = _spread_params(jax.jit(layer.init)(jax.random.PRNGKey(1), x)["params"], jax.random.PRNGKey(4), std=0.3)
  _, inter = layer.apply({"params": params}, x, mutable=["intermediates"])
  log_g = _np(inter["intermediates"]["log_g"][0])                 # [B, T, H, K]
  # α = exp(log_g) ∈ (0, 1)  <=>  log_g finite and < 0 (exp(log_g) itself may round to 1.0 in float32)
  assert np.all(np.isfinite(log_g)) and np.all(log_g < 0)
  assert log_g.min() < -0.1 / normalizer  # some gates really forget (not all saturated at 1)
  # log α = logsigmoid(x W1 W2 + b) / τ, i.e. α = σ(·)^(1/τ), with the logits computed here in float64
  z = (_np(x) @ _np(params["gk_proj_0"]["kernel"])) @ _np(params["gk_proj_1"]["kernel"]) \
      + _np(params["gk_proj_1"]["bias"])
  # float32 logits of magnitude ~ 5 carry absolute error ~1e-6; d logsigmoid(z) / logsigmoid(z) is at most
  # ~|z|·1e-6 relative -> 5e-4 relative is a float32 bound with a wide margin
  np.testing.assert_allclose(log_g.reshape(z.shape), _logsigmoid(z) / normalizer, rtol=5e-4, atol=1e-7)


def _lm(mixer="gla", **kw):
  base = dict(vocab_size=13, d_model=32, num_layers=2, num_heads=2, mlp_hidden=48, chunk_size=16, mixer=mixer)
  return GLATransformer(**{**base, **kw})


@pytest.fixture(scope="module")
def lm_gla():
  """An untied GLA LM with O(1) random parameters and its jitted parallel forward (shared by two tests)."""
  model = _lm(tie_embeddings=False)
  tokens = jax.random.randint(jax.random.PRNGKey(0), (2, 41), 0, 13)
  params = _spread_params(jax.jit(model.init)(jax.random.PRNGKey(1), tokens)["params"], jax.random.PRNGKey(2),
                          std=0.2)
  return model, tokens, {"params": params}, jax.jit(model.apply)


def test_lm_parallel_forward_equals_recurrent_decoding(lm_gla):
  model, tokens, v, apply = lm_gla
  parallel = apply(v, tokens)
  step = jax.jit(lambda v, t, s: model.apply(v, t, s, method="decode_step"))
  states, outs = model.initial_states(2), []
  for t in range(tokens.shape[1]):
    logits, states = step(v, tokens[:, t], states)
    outs.append(logits)
  recurrent = jnp.stack(outs, axis=1)
  # chunked (C = 16, 3 chunks) vs one-step updates, both float32: differences are rounding only
  scale = float(jnp.abs(parallel).max())
  assert scale > 1.0  # O(1) logits, not a near-zero comparison
  np.testing.assert_allclose(np.asarray(recurrent), np.asarray(parallel), atol=1e-5 * scale, rtol=0)
  # prefill 23 tokens in parallel, then continue step by step from the carried states
  prefill = jax.jit(lambda v, t, s: model.apply(v, t, states=s, return_states=True))
  pre, st = prefill(v, tokens[:, :23], model.initial_states(2))
  rest = []
  for t in range(23, tokens.shape[1]):
    logits, st = step(v, tokens[:, t], st)
    rest.append(logits)
  cont = jnp.concatenate([pre, jnp.stack(rest, 1)], axis=1)
  np.testing.assert_allclose(np.asarray(cont), np.asarray(parallel), atol=1e-5 * scale, rtol=0)
  for s_dec, s_pre in zip(states, st):
    np.testing.assert_allclose(np.asarray(s_dec), np.asarray(s_pre), atol=1e-5 * float(jnp.abs(s_pre).max()))


def test_softmax_kv_cache_decoding_equals_parallel_forward():
  """The baseline's KV-cache path (prefill, then one token at a time) against its own parallel forward,
  which is itself checked against a float64 causal-attention loop below; and the overflow guard."""
  model = _lm("softmax", tie_embeddings=False)
  tokens = jax.random.randint(jax.random.PRNGKey(3), (2, 21), 0, 13)
  params = _spread_params(jax.jit(model.init)(jax.random.PRNGKey(4), tokens)["params"], jax.random.PRNGKey(5),
                          std=0.2)
  v = {"params": params}
  parallel = jax.jit(model.apply)(v, tokens)
  scale = float(jnp.abs(parallel).max())
  assert scale > 1.0
  step = jax.jit(lambda v, t, s: model.apply(v, t, s, method="decode_step"))
  prefill = jax.jit(lambda v, t, s: model.apply(v, t, states=s, return_states=True))
  pre, caches = prefill(v, tokens[:, :8], model.initial_states(2, max_len=24))
  assert [int(c.length) for c in caches] == [8] * len(caches)
  rest = []
  for t in range(8, tokens.shape[1]):
    logits, caches = step(v, tokens[:, t], caches)
    rest.append(logits)
  cont = jnp.concatenate([pre, jnp.stack(rest, 1)], axis=1)
  # same float32 math on the same positions, masked cache rows contribute exact zeros: rounding only
  np.testing.assert_allclose(np.asarray(cont), np.asarray(parallel), atol=1e-5 * scale, rtol=0)
  _, part = prefill(v, tokens[:, :3], model.initial_states(2, max_len=4))
  over, _ = prefill(v, tokens[:, 3:5], part)            # 3 cached + 2 new > capacity 4: detected under jit
  assert np.isnan(np.asarray(over)).all()
  with pytest.raises(ValueError, match="initial_state"):
    prefill(v, tokens[:, :5], model.initial_states(2, max_len=4))


def _check_causal(apply, tokens):
  base = np.asarray(apply(tokens))
  for t in (0, 17, tokens.shape[1] - 1):  # inside the first chunk, mid-sequence, last position
    changed = tokens.at[0, t].set((tokens[0, t] + 1) % 13)
    out = np.asarray(apply(changed))
    np.testing.assert_array_equal(out[:, :t], base[:, :t])
    assert np.abs(out[:, t] - base[:, t]).max() > 1e-3  # the change is visible from t on


def test_gla_lm_is_causal(lm_gla):
  model, tokens, v, apply = lm_gla
  _check_causal(lambda t: apply(v, t), tokens)


def test_softmax_lm_is_causal():
  model = _lm("softmax")
  tokens = jax.random.randint(jax.random.PRNGKey(5), (2, 40), 0, 13)
  params = _spread_params(jax.jit(model.init)(jax.random.PRNGKey(1), tokens)["params"], jax.random.PRNGKey(6),
                          std=0.2)
  apply = jax.jit(model.apply)
  _check_causal(lambda t: apply({"params": params}, t), tokens)


def _attention_f64(p, x, num_heads, theta=10000.0):
  x = _np(x)
  b, t, d = x.shape
  dh = d // num_heads
  q, k, v = (x @ _np(p[n]["kernel"]) for n in ("q_proj", "k_proj", "v_proj"))
  q, k, v = (a.reshape(b, t, num_heads, dh) for a in (q, k, v))
  inv = theta ** (-np.arange(0, dh, 2) / dh)
  ang = np.arange(t)[:, None] * inv[None]
  c, s = np.cos(ang)[None, :, None], np.sin(ang)[None, :, None]

  def rot(a):
    a1, a2 = a[..., : dh // 2], a[..., dh // 2:]
    return np.concatenate([a1 * c - a2 * s, a2 * c + a1 * s], -1)

  q, k = rot(q), rot(k)
  out = np.zeros((b, t, num_heads, dh))
  for i in range(t):  # position i attends to 0..i
    sc = np.einsum("bhd,bjhd->bhj", q[:, i], k[:, : i + 1]) / math.sqrt(dh)
    w = np.exp(sc - sc.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    out[:, i] = np.einsum("bhj,bjhd->bhd", w, v[:, : i + 1])
  return out.reshape(b, t, d) @ _np(p["o_proj"]["kernel"])


def test_softmax_baseline_matches_float64_causal_attention():
  layer = CausalSelfAttention(num_heads=2)
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 21, 16))
  params = _spread_params(jax.jit(layer.init)(jax.random.PRNGKey(1), x)["params"], jax.random.PRNGKey(2))
  y = jax.jit(layer.apply)({"params": params}, x)
  ref = _attention_f64(params, x, 2)
  np.testing.assert_allclose(_np(y), ref, atol=F32_TOL * np.abs(ref).max(), rtol=0)


def test_rope_scores_depend_only_on_relative_position():
  q = jax.random.normal(jax.random.PRNGKey(0), (1, 1, 1, 8))
  k = jax.random.normal(jax.random.PRNGKey(1), (1, 1, 1, 8))
  score = lambda m, n: float(jnp.sum(rope(q, jnp.array([m])) * rope(k, jnp.array([n]))))
  # float32 sin/cos of angles up to ~50 rad: absolute error ~1e-5 on O(1) scores
  assert score(3, 1) == pytest.approx(score(12, 10), abs=1e-4)
  assert score(0, 0) == pytest.approx(float(jnp.sum(q * k)), abs=1e-5)
  assert abs(score(5, 1) - score(5, 2)) > 1e-3


def _closed_form_count(v, d, layers, tied, rank=16, heads=4):
  """Reference-library conventions: GLA layer 2·d·d/2 + 3d² + gate (d·r + r·d/2 + d/2) + norm d/H;
  SwiGLU 3·d·w; two norms per block; final norm; embedding (and an untied head)."""
  w = swiglu_width(d)
  attn = 2 * d * (d // 2) + 3 * d * d + d * rank + rank * (d // 2) + d // 2 + d // heads
  per_layer = attn + 3 * d * w + 2 * d
  return v * d * (1 if tied else 2) + layers * per_layer + d


def test_named_configs_parameter_counts_match_the_paper():
  assert swiglu_width(1024) == 2816 and swiglu_width(2048) == 5632
  for name, paper_m in (("340M", 341.7), ("1.3B", 1365.5)):
    c = CONFIGS[name]
    n = count_params(make_model(name))
    assert n == _closed_form_count(c["vocab_size"], c["d_model"], c["num_layers"], c["tie_embeddings"])
    assert round(n / 1e6, 1) == paper_m == PAPER_PARAMS_M[name]
  # the softmax baseline at the same width and depth differs only by the GLA gate and per-head norm
  n_gla, n_sm = count_params(make_model("340M")), count_params(make_model("340M", mixer="softmax"))
  assert 0 < n_gla - n_sm == 24 * (1024 * 16 + 16 * 512 + 512 + 256)


def _abstract(fn, *args, **kw):
  """Traces ``fn`` without computing (the checks run at trace time)."""
  return jax.eval_shape(functools.partial(fn, **kw), *args)


def test_bad_inputs_raise_errors_naming_the_argument():
  layer = GatedLinearAttention(num_heads=2, chunk_size=16)
  x = jnp.zeros((1, 5, 16))
  v = jax.eval_shape(layer.init, jax.random.PRNGKey(0), x)
  with pytest.raises(ValueError, match="x"):
    _abstract(layer.apply, v, jnp.zeros((5, 16)))
  with pytest.raises(TypeError, match="x"):
    _abstract(layer.apply, v, jnp.zeros((1, 5, 16), jnp.int32))
  with pytest.raises(ValueError, match="initial_state"):
    _abstract(layer.apply, v, x, initial_state=jnp.zeros((1, 2, 8, 4)))
  with pytest.raises(ValueError, match="impl"):
    jax.eval_shape(GatedLinearAttention(impl="cuda").init, jax.random.PRNGKey(0), x)
  with pytest.raises(ValueError, match="expand_k"):
    jax.eval_shape(GatedLinearAttention(num_heads=3).init, jax.random.PRNGKey(0), x)
  with pytest.raises(ValueError, match="num_heads"):
    jax.eval_shape(CausalSelfAttention(num_heads=3).init, jax.random.PRNGKey(0), x)
  with pytest.raises(ValueError, match="mixer"):
    jax.eval_shape(Block(mixer="mamba").init, jax.random.PRNGKey(0), x)
  model = _lm()
  tokens = jnp.zeros((2, 8), jnp.int32)
  mv = jax.eval_shape(model.init, jax.random.PRNGKey(0), tokens)
  with pytest.raises(TypeError, match="tokens"):
    _abstract(model.apply, mv, tokens.astype(jnp.float32))
  with pytest.raises(ValueError, match="tokens"):
    _abstract(model.apply, mv, tokens[0])
  with pytest.raises(ValueError, match="states"):
    _abstract(model.apply, mv, tokens, states=model.initial_states(2)[:1])
  with pytest.raises(ValueError, match="token"):
    _abstract(model.apply, mv, tokens, model.initial_states(2), method="decode_step")
  with pytest.raises(ValueError, match="d_model"):
    jax.eval_shape(_lm(d_model=0).init, jax.random.PRNGKey(0), tokens)
  sm = SoftmaxTransformer(vocab_size=13, d_model=32, num_layers=1, num_heads=2, mlp_hidden=48)
  with pytest.raises(ValueError, match="max_len"):
    sm.initial_states(2)
  with pytest.raises(ValueError, match="max_len"):
    sm.initial_states(2, max_len=0)
  with pytest.raises(ValueError, match="mixer"):
    jax.eval_shape(_lm(mixer="rnn").init, jax.random.PRNGKey(0), tokens)


# ---------------------------------------------------------------------------------------------------
# Edges: token ids out of range, non-finite values (causal in values).


def _small_lm(mixer):
  return GLATransformer(vocab_size=11, d_model=16, num_layers=1, num_heads=2, mlp_hidden=24, chunk_size=16,
                        mixer=mixer)


@pytest.mark.parametrize("mixer", ["gla", "softmax"])
def test_token_ids_out_of_range(mixer):
  """Concrete ids: ValueError naming tokens and the index (apply, init, decode_step); under jit a checkify
  check; unchecked under jit the bad id embeds as NaN: that sequence's logits are NaN from its position
  on, bit-for-bit those of a valid id before it, and the other sequence is untouched."""
  model = _small_lm(mixer)
  tokens = jax.random.randint(jax.random.PRNGKey(0), (2, 12), 0, 11)
  v = model.init(jax.random.PRNGKey(1), tokens)                        # concrete tokens: init runs the check
  for bad in (11, -1):
    wrong = tokens.at[1, 7].set(bad)
    with pytest.raises(ValueError, match=r"tokens: expected values in \[0, 11\).* at index \(1, 7\)"):
      model.apply(v, wrong)
    with pytest.raises(ValueError, match="tokens"):
      model.init(jax.random.PRNGKey(1), wrong)
  with pytest.raises(ValueError, match=r"token: expected values in \[0, 11\)"):
    model.apply(v, jnp.array([3, 11]), model.initial_states(2, max_len=4), method="decode_step")
  apply = jax.jit(model.apply)
  err, _ = checkify.checkify(apply)(v, tokens.at[1, 7].set(11))
  with pytest.raises(Exception, match="tokens"):
    err.throw()
  err_ok, _ = checkify.checkify(apply)(v, tokens)
  err_ok.throw()                                                        # valid ids: no error
  base = np.asarray(apply(v, tokens))
  for bad in (11, -1, 2 ** 30):
    out = np.asarray(apply(v, tokens.at[1, 7].set(bad)))
    assert np.isnan(out[1, 7:]).all(), bad                              # conditions on the bad id
    np.testing.assert_array_equal(out[1, :7], base[1, :7])              # exact before it
    np.testing.assert_array_equal(out[0], base[0])                      # other sequence untouched


def test_recurrent_decoding_with_a_bad_token_under_jit_gives_nan_from_there_on():
  model = _small_lm("gla")
  tokens = jax.random.randint(jax.random.PRNGKey(2), (2, 4), 0, 11)
  v = model.init(jax.random.PRNGKey(1), tokens)
  step = jax.jit(lambda v, t, s: model.apply(v, t, s, method="decode_step"))
  states = model.initial_states(2)
  logits, states = step(v, jnp.array([3, 11]), states)
  assert np.isnan(np.asarray(logits[1])).all() and np.isfinite(np.asarray(logits[0])).all()
  logits, states = step(v, jnp.array([3, 4]), states)                  # the state carries the bad token
  assert np.isnan(np.asarray(logits[1])).all() and np.isfinite(np.asarray(logits[0])).all()


@pytest.mark.parametrize("make", [lambda: GatedLinearAttention(num_heads=2, chunk_size=16, impl="xla"),
                                  lambda: GatedLinearAttention(num_heads=2, chunk_size=16, impl="reference"),
                                  lambda: GatedLinearAttention(num_heads=2, chunk_size=16, impl="pallas"),
                                  lambda: CausalSelfAttention(num_heads=2)],
                         ids=["gla-xla", "gla-reference", "gla-pallas", "softmax"])
def test_mixers_are_causal_in_values(make):
  """A NaN / inf input at t0 = 5 of one sequence: outputs before t0 bit-for-bit those with a finite value
  there, NaN from t0 on (every projection of x_t0 is non-finite: the recurrence / attention is NaN from
  there on), the other sequence untouched. The bug this guards: the chunk matmuls (and p·v) computed
  0·NaN for the future positions, so t < t0 turned NaN as well."""
  layer = make()
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 20, 16))
  params = jax.jit(layer.init)(jax.random.PRNGKey(1), x)
  apply = jax.jit(layer.apply)
  base = np.asarray(apply(params, x))
  for val in (np.nan, np.inf):
    out = np.asarray(apply(params, x.at[1, 5, 3].set(val)))
    np.testing.assert_array_equal(out[1, :5], base[1, :5])
    assert np.isnan(out[1, 5:]).all(), val
    np.testing.assert_array_equal(out[0], base[0])


def test_float64_modules_compute_in_float64():
  """dtype=None promotes: float64 inputs give float64 arithmetic throughout (norms, gates, RoPE, softmax),
  checked against the float64 per-step oracle of the GLA layer to float64 round-off."""
  layer = GatedLinearAttention(num_heads=2, chunk_size=16, impl="reference")
  with jax.enable_x64(True):
    x = jax.random.normal(jax.random.PRNGKey(0), (1, 9, 16), jnp.float64)
    p = _spread_params(layer.init(jax.random.PRNGKey(1), x)["params"], jax.random.PRNGKey(2))
    p = jax.tree.map(lambda a: a.astype(jnp.float64), p)
    y = layer.apply({"params": p}, x)
    assert y.dtype == jnp.float64
    y_ref, _ = _gla_layer_f64(p, x, num_heads=2, eps=1e-5)
    np.testing.assert_allclose(np.asarray(y), y_ref, rtol=1e-10, atol=1e-12 * np.abs(y_ref).max())
    q = jax.random.normal(jax.random.PRNGKey(3), (1, 3, 1, 8), jnp.float64)
    assert rope(q, jnp.arange(3)).dtype == jnp.float64
