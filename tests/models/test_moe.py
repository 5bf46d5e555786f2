"""Oracle tests for models.moe (papers 03 arXiv:2401.13875 and 04 arXiv:2309.13850: MoE gates and layers).

Oracles are independent of the code under test: numpy float64 formulas of the gates, brute-force
sorting for top-K, a per-token Python loop for capacity routing and for the whole block, hand-computed
losses, a finite difference for the temperature gradient, the exact (W, τ) -> (cW, cτ) symmetry of
the linear temperature gate, and for non-finite tokens the same batch with those tokens removed (bitwise).

Tolerances: float64 checks (scoped ``jax.enable_x64(True)``) at 1e-12 (O(10) flops of O(1) values,
rounding ~1e-16 each); float32 checks at rtol 1e-5 / atol 1e-5 (rounding 6e-8 times sums over D <= 16
and hidden <= 32 terms of O(1) values, plus exp/tanh); discrete outputs (selections, slots, drop
counts) are compared exactly. The finite difference uses step 1e-5 in float64 (truncation O(h²) ~ 1e-10,
cancellation ~1e-16/1e-5 = 1e-11), checked at 1e-7.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from models.moe import (PRIORITIES, LinearExperts, MLPExperts, MoEBlock, Router, dense_gates, expert_capacity,
                        gate_logits, load_balancing_loss, route, router_z_loss, select_top_k)

F64 = 1e-12
F32 = 1e-5


# ---------------------------------------------------------------------------------------------------
# Independent numpy references (float64).


def np_softmax(z: np.ndarray) -> np.ndarray:
  z = z - z.max(-1, keepdims=True)
  e = np.exp(z)
  return e / e.sum(-1, keepdims=True)


def np_gelu_tanh(z: np.ndarray) -> np.ndarray:
  """GELU, tanh approximation (jax.nn.gelu's default)."""
  return 0.5 * z * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (z + 0.044715 * z ** 3)))


NP_ACT = {"tanh": np.tanh, "identity": lambda z: z, "gelu": np_gelu_tanh, "relu": lambda z: np.maximum(z, 0)}


def np_router_logits(p: dict, x: np.ndarray, gate: str, activation: str = "tanh") -> np.ndarray:
  s = x @ np.asarray(p["kernel"], np.float64)
  b = np.asarray(p["bias"], np.float64)
  if gate in ("softmax", "topk"):
    return s + b
  tau = math.exp(float(p["log_temperature"]))
  if gate == "activation_temperature":
    s = NP_ACT[activation](s)
  return s / tau + b


def np_expert(p: dict, kind: str, e: int, v: np.ndarray, act: str = "gelu") -> np.ndarray:
  if kind == "linear":
    return v @ np.asarray(p["kernel"][e], np.float64) + np.asarray(p["bias"][e], np.float64)
  h = NP_ACT[act](v @ np.asarray(p["wi"][e], np.float64) + np.asarray(p["bi"][e], np.float64))
  return h @ np.asarray(p["wo"][e], np.float64) + np.asarray(p["bo"][e], np.float64)


def np_route(sel: np.ndarray, first_gate: np.ndarray, num_experts: int, capacity: int, priority: str
             ) -> np.ndarray:
  """Brute-force slot assignment of one group: sel [S, K] -> slot [S, K] (-1 = dropped)."""
  s, k = sel.shape
  order = list(range(s))
  if priority == "score":
    order = sorted(range(s), key=lambda t: (-first_gate[t], t))
  used = [0] * num_experts
  slot = -np.ones((s, k), np.int64)
  for r in range(k):                       # all first choices, then all second choices, ...
    for t in order:
      e = int(sel[t, r])
      if used[e] < capacity:
        slot[t, r] = used[e]
        used[e] += 1
  return slot


def np_moe_block(variables: dict, x: np.ndarray, *, gate: str, k: int, expert: str, capacity: int,
                 priority: str, gate_activation: str = "tanh", expert_activation: str = "gelu"):
  """Per-token loop reference of MoEBlock: returns (y [B, L, D], slot [B, L, K], sel [B, L, K])."""
  p = variables["params"]
  b, length, d = x.shape
  e = p["router"]["kernel"].shape[1]
  y = np.zeros_like(x)
  slots = np.zeros((b, length, k), np.int64)
  sels = np.zeros((b, length, k), np.int64)
  for row in range(b):
    logits = np_router_logits(p["router"], x[row], gate, gate_activation)
    sel = np.stack([np.argsort(-lg, kind="stable")[:k] for lg in logits])
    gates = np.stack([np_softmax(lg[s]) for lg, s in zip(logits, sel)])
    slot = np_route(sel, gates[:, 0], e, capacity, priority)
    for t in range(length):
      for r in range(k):
        if slot[t, r] >= 0:
          y[row, t] += gates[t, r] * np_expert(p["experts"], expert, int(sel[t, r]), x[row, t],
                                               expert_activation)
    slots[row], sels[row] = slot, sel
  return y, slots, sels


E, D, H = 4, 8, 16   # the shapes every block test uses (parameters are built once, in numpy)


def make_params(seed: int, *, expert: str = "mlp", temperature: bool = False, e: int = E, d: int = D,
                h: int = H, router_scale: float = 1.0, dtype=np.float32) -> dict:
  """Random parameters in MoEBlock's layout (checked against ``init`` by eval_shape below).

  Building them in numpy avoids compiling a random initialiser per test (XLA compiles of threefry
  dominate this file's time otherwise); random non-zero biases also exercise every term.
  """
  rng = np.random.default_rng(seed)
  n = lambda *shape, s=1.0: (s * rng.standard_normal(shape)).astype(dtype)
  router = {"kernel": n(d, e, s=router_scale / math.sqrt(d)), "bias": n(e, s=0.3)}
  if temperature:
    router["log_temperature"] = np.asarray(math.log(0.6), dtype)
  if expert == "mlp":
    experts = {"wi": n(e, d, h, s=1 / math.sqrt(d)), "bi": n(e, h, s=0.1), "wo": n(e, h, d, s=1 / math.sqrt(h)),
               "bo": n(e, d, s=0.1)}
  else:
    experts = {"kernel": n(e, d, d, s=1 / math.sqrt(d)), "bias": n(e, d, s=0.1)}
  return {"params": {"router": router, "experts": experts}}


def _apply(module, variables, *args, **kwargs):
  return jax.jit(lambda v, *a: module.apply(v, *a, **kwargs))(variables, *args)


def _x(key: int, shape: tuple[int, ...], dtype=jnp.float32) -> jax.Array:
  return jax.random.normal(jax.random.PRNGKey(key), shape, dtype)


# ---------------------------------------------------------------------------------------------------
# Gates.


def test_topk_with_k_equal_to_num_experts_is_dense_softmax_f64():
  with jax.enable_x64(True):
    logits = 3.0 * _x(0, (5, 7, 6), jnp.float64)
    gates, index = select_top_k(logits, 6)
    dense = np.asarray(dense_gates(gates, index, 6))
    np.testing.assert_allclose(dense, np_softmax(np.asarray(logits)), rtol=F64, atol=F64)


def test_numpy_parameters_have_the_init_layout():
  """make_params mirrors ``init`` (eval_shape: structure, shapes, dtypes; nothing is compiled)."""
  x = jnp.zeros((2, 5, D), jnp.float32)
  for expert in ("mlp", "linear"):
    for gate, k in (("topk", 2), ("temperature", None)):
      block = MoEBlock(num_experts=E, gate=gate, num_selected=k, expert=expert, hidden_features=H)
      abstract = jax.eval_shape(lambda b=block: b.init(jax.random.PRNGKey(0), x))
      mine = make_params(0, expert=expert, temperature=gate == "temperature")
      assert jax.tree.structure(abstract) == jax.tree.structure(mine)
      for a, m in zip(jax.tree.leaves(abstract), jax.tree.leaves(mine)):
        assert a.shape == m.shape and a.dtype == m.dtype


def test_router_topk_all_experts_equals_softmax_router_and_block():
  x = _x(1, (2, 9, D))
  soft = MoEBlock(num_experts=E, gate="softmax", num_selected=None, hidden_features=H, capacity_factor=None)
  top = MoEBlock(num_experts=E, gate="topk", num_selected=E, hidden_features=H, capacity_factor=None)
  v = make_params(0, router_scale=3.0)
  y_soft, a_soft = _apply(soft, v, x)
  y_top, a_top = _apply(top, v, x)
  np.testing.assert_allclose(np.asarray(a_top.router_probs), np.asarray(a_soft.router_probs), rtol=0, atol=0)
  np.testing.assert_allclose(np.asarray(y_top), np.asarray(y_soft), rtol=F32, atol=F32)
  # and the dense gate itself is the float64 softmax of x W + b
  ref = np_softmax(np_router_logits(v["params"]["router"], np.asarray(x, np.float64), "softmax"))
  np.testing.assert_allclose(np.asarray(dense_gates(a_top.gates, a_top.expert_index, E)), ref,
                             rtol=F32, atol=F32)


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_exactly_k_nonzero_weights_at_the_k_largest_logits(k):
  with jax.enable_x64(True):
    logits = 2.0 * _x(2 + k, (40, 5), jnp.float64)
    gates, index = select_top_k(logits, k)
    dense = np.asarray(dense_gates(gates, index, 5))
  lg = np.asarray(logits)
  assert np.all(np.count_nonzero(dense, axis=-1) == k)
  for row, w in zip(lg, dense):
    top = np.argsort(-row, kind="stable")[:k]                 # brute force by sorting
    assert set(np.flatnonzero(w)) == set(top)
    np.testing.assert_allclose(w[top], np_softmax(row[top]), rtol=F64, atol=F64)
  np.testing.assert_allclose(dense.sum(-1), 1.0, rtol=F64, atol=F64)


def _router_params64(seed: int, temperature: bool, scale: float = 1.0) -> dict:
  return jax.tree.map(lambda a: jnp.asarray(a, jnp.float64),
                      make_params(seed, temperature=temperature, router_scale=scale, dtype=np.float64)
                      )["params"]["router"]


@pytest.mark.parametrize("gate", ["softmax", "topk", "temperature", "activation_temperature"])
def test_router_logits_match_the_gate_formulas_f64(gate):
  with jax.enable_x64(True):
    x = _x(3, (3, 4, D), jnp.float64)
    router = Router(num_experts=E, gate=gate, num_selected=2 if gate == "topk" else None,
                    param_dtype=jnp.float64)
    p = _router_params64(1, "temperature" in gate, scale=2.0)
    out = _apply(router, {"params": p}, x)
  p = jax.tree.map(np.asarray, p)
  ref = np_router_logits(p, np.asarray(x), gate)
  np.testing.assert_allclose(np.asarray(out.logits), ref, rtol=F64, atol=F64)
  np.testing.assert_allclose(np.asarray(out.probs), np_softmax(ref), rtol=F64, atol=F64)
  expected_tau = 0.6 if "temperature" in gate else 1.0
  np.testing.assert_allclose(float(out.temperature), expected_tau, rtol=F64)


def test_linear_temperature_gate_has_the_scale_symmetry_and_tanh_breaks_it():
  """softmax(W x / τ + b) depends on (W, τ) only through W / τ (paper 03's PDE, integrated)."""
  with jax.enable_x64(True):
    x = _x(4, (2, 6, D), jnp.float64)
    c = 2.5
    p = _router_params64(2, True, scale=3.0)
    scaled = {**p, "kernel": c * p["kernel"], "log_temperature": p["log_temperature"] + math.log(c)}
    res = {}
    for gate in ("temperature", "activation_temperature"):
      router = Router(num_experts=E, gate=gate, num_selected=None, param_dtype=jnp.float64)
      fwd = jax.jit(lambda q, r=router: jax.vmap(lambda qq: r.apply({"params": qq}, x).probs)(q))
      res[gate] = fwd(jax.tree.map(lambda a, b: jnp.stack([a, b]), p, scaled))
  a, b = res["temperature"]
  np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=F64, atol=F64)
  a, b = res["activation_temperature"]
  assert np.max(np.abs(np.asarray(a) - np.asarray(b))) > 1e-3


def test_temperature_limits_argmax_and_uniform():
  with jax.enable_x64(True):
    x = _x(5, (1, 20, D), jnp.float64)
    router = Router(num_experts=E, gate="temperature", num_selected=None, param_dtype=jnp.float64)
    p = _router_params64(3, True, scale=10.0)
    p = {**p, "bias": jnp.zeros_like(p["bias"])}
    both = jax.tree.map(lambda a: jnp.stack([a, a]), p)
    both["log_temperature"] = jnp.log(jnp.array([1e-4, 1e8]))
    cold, hot = jax.jit(jax.vmap(lambda q: router.apply({"params": q}, x).probs))(both)
  argmax = np.argmax(np.asarray(x[0]) @ np.asarray(p["kernel"]), -1)
  np.testing.assert_allclose(np.asarray(cold[0]), np.eye(E)[argmax], atol=1e-8)
  np.testing.assert_allclose(np.asarray(hot), 1.0 / E, atol=1e-7)   # |Wx| / 1e8 ~ 1e-7


# ---------------------------------------------------------------------------------------------------
# Experts.


@pytest.mark.parametrize("kind", ["mlp", "linear"])
def test_experts_equal_a_per_expert_loop(kind):
  x = _x(6, (E, 5, D))
  mod = MLPExperts(E, hidden_features=H) if kind == "mlp" else LinearExperts(E, features=D)
  p = make_params(4, expert=kind)["params"]["experts"]
  y = np.asarray(_apply(mod, {"params": p}, x))
  for e in range(E):
    for n in range(5):
      ref = np_expert(p, kind, e, np.asarray(x[e, n], np.float64))
      np.testing.assert_allclose(y[e, n], ref, rtol=F32, atol=F32)


def test_experts_are_initialised_independently():
  w = jax.jit(LinearExperts(3, features=4).init)(jax.random.PRNGKey(0), jnp.zeros((3, 2, 64)))
  w = np.asarray(w["params"]["kernel"])                                      # [E, D, O]
  assert not np.allclose(w[0], w[1]) and not np.allclose(w[1], w[2])
  # fan-in variance scaling per expert: var = 1 / D with D = 64 (truncated normal, 768 draws;
  # the sample variance's relative standard error is sqrt(2 / 768) ≈ 0.05, checked at 4 of them)
  np.testing.assert_allclose(w.var(), 1.0 / 64, rtol=0.2)


# ---------------------------------------------------------------------------------------------------
# Capacity routing.


def test_expert_capacity_closed_form():
  assert expert_capacity(6, 2, 4, 1.25) == 4          # ceil(1.25 · 6 · 2 / 4) = ceil(3.75)
  assert expert_capacity(8, 1, 4, 1.0) == 2           # exactly 2, no round-up from float error
  assert expert_capacity(10, 1, 8, 0.1, min_capacity=3) == 3
  assert expert_capacity(5, 2, 2, 4.0) == 5           # never more than S
  assert expert_capacity(7, 3, 4, None) == 7


def test_capacity_overflow_hand_case():
  """Four tokens all choose expert 0 first and expert 1 second; capacity 2 (hand-counted)."""
  index = jnp.array([[0, 1], [0, 1], [0, 1], [0, 1]], jnp.int32)
  gates = jnp.array([[0.6, 0.4], [0.9, 0.1], [0.7, 0.3], [0.8, 0.2]], jnp.float32)
  r = route(index, gates, 3, 2, "position")
  # expert 0 takes tokens 0, 1 (first choices); expert 1 takes tokens 0, 1 (second choices)
  np.testing.assert_array_equal(np.asarray(r.kept), [[1, 1], [1, 1], [0, 0], [0, 0]])
  np.testing.assert_array_equal(np.asarray(r.slot), [[0, 0], [1, 1], [-1, -1], [-1, -1]])
  assert int(r.num_dropped) == 4
  np.testing.assert_array_equal(np.asarray(r.expert_load), [2, 2, 0])
  r = route(index, gates, 3, 2, "score")
  # by first-choice weight: token 1 (0.9), token 3 (0.8) win; tokens 2, 0 dropped
  np.testing.assert_array_equal(np.asarray(r.kept), [[0, 0], [1, 1], [0, 0], [1, 1]])
  np.testing.assert_array_equal(np.asarray(r.slot), [[-1, -1], [0, 0], [-1, -1], [1, 1]])


@pytest.mark.parametrize("priority", ["position", "score"])
@pytest.mark.parametrize("capacity", [1, 3, 12])
def test_route_equals_brute_force(priority, capacity):
  rng = np.random.default_rng(capacity)
  s, k, e = 12, 2, 4
  sel = np.stack([rng.permutation(e)[:k] for _ in range(s)])
  sel[:6, 0] = 1                                     # crowd expert 1 so something overflows
  sel[:6, 1] = np.where(sel[:6, 1] == 1, 0, sel[:6, 1])
  g = rng.dirichlet(np.ones(k), size=s).astype(np.float32)
  r = jax.jit(lambda i, gg: route(i, gg, e, capacity, priority))(jnp.asarray(sel, jnp.int32), jnp.asarray(g))
  slot = np_route(sel, g[:, 0], e, capacity, priority)
  np.testing.assert_array_equal(np.asarray(r.slot), slot)
  np.testing.assert_array_equal(np.asarray(r.kept), slot >= 0)
  assert int(r.num_dropped) == int(np.sum(slot < 0))
  np.testing.assert_array_equal(np.asarray(r.expert_load),
                                [int(np.sum((sel == j) & (slot >= 0))) for j in range(e)])
  # dispatch / combine hold exactly the kept assignments
  disp, comb = np.zeros((s, e, capacity), bool), np.zeros((s, e, capacity))
  for t in range(s):
    for c in range(k):
      if slot[t, c] >= 0:
        disp[t, sel[t, c], slot[t, c]] = True
        comb[t, sel[t, c], slot[t, c]] = g[t, c]
  np.testing.assert_array_equal(np.asarray(r.dispatch), disp)
  np.testing.assert_allclose(np.asarray(r.combine), comb, rtol=0, atol=0)
  if capacity == 1:
    assert int(r.num_dropped) > 0                    # the crowded case does overflow


# ---------------------------------------------------------------------------------------------------
# The block against a per-token loop.


@pytest.mark.parametrize("gate,k,expert,cf,priority", [
    ("topk", 2, "mlp", 0.5, "position"),
    ("topk", 1, "linear", 1.0, "score"),
    ("activation_temperature", 2, "mlp", 0.75, "score"),
    ("temperature", None, "linear", None, "position"),
])
def test_block_equals_per_token_loop(gate, k, expert, cf, priority):
  x = _x(7, (2, 10, D))
  block = MoEBlock(num_experts=E, gate=gate, num_selected=k, expert=expert, hidden_features=H,
                   capacity_factor=cf, priority=priority)
  v = make_params(5, expert=expert, temperature="temperature" in gate, router_scale=4.0)  # decisive routing
  y, aux = _apply(block, v, x)
  kk = E if k is None else k
  cap = expert_capacity(10, kk, E, cf)
  ref, slot, sel = np_moe_block(v, np.asarray(x, np.float64), gate=gate, k=kk, expert=expert,
                                capacity=cap, priority=priority)
  np.testing.assert_array_equal(np.asarray(aux.expert_index), sel)
  np.testing.assert_array_equal(np.asarray(aux.kept), slot >= 0)
  assert int(aux.num_dropped) == int(np.sum(slot < 0)) and int(aux.capacity) == cap
  np.testing.assert_array_equal(np.asarray(aux.expert_load),
                                [int(np.sum((sel == j) & (slot >= 0))) for j in range(E)])
  np.testing.assert_allclose(np.asarray(y), ref, rtol=F32, atol=F32)
  if cf is not None and cf < 1:
    assert int(aux.num_dropped) > 0                  # capacity really binds in these cases


# ---------------------------------------------------------------------------------------------------
# Auxiliary losses.


def test_load_balancing_loss_hand_case():
  probs = jnp.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
  first = jnp.array([0, 0, 1, 0])
  # f = (3/4, 1/4), P = (0.65, 0.35): 2 · (0.4875 + 0.0875) = 1.15
  np.testing.assert_allclose(float(load_balancing_loss(probs, first)), 1.15, rtol=F32)
  # uniform router probabilities: 1 whatever the counts
  uni = jnp.full((6, 3), 1.0 / 3.0)
  np.testing.assert_allclose(float(load_balancing_loss(uni, jnp.array([0, 0, 0, 1, 2, 2]))), 1.0, rtol=F32)
  # one-hot routers (f = P): E · Σ f² — its minimum 1 at balanced routing, E when all go to one expert
  eye = jnp.eye(3)
  balanced = eye[jnp.array([0, 1, 2, 0, 1, 2])]
  np.testing.assert_allclose(float(load_balancing_loss(balanced, jnp.argmax(balanced, -1))), 1.0, rtol=F32)
  skew = eye[jnp.array([0, 0, 0, 0, 1, 2])]             # f = (2/3, 1/6, 1/6): 3 · (4/9 + 2/36) = 1.5
  np.testing.assert_allclose(float(load_balancing_loss(skew, jnp.argmax(skew, -1))), 1.5, rtol=F32)
  allone = eye[jnp.zeros(6, jnp.int32)]
  np.testing.assert_allclose(float(load_balancing_loss(allone, jnp.zeros(6, jnp.int32))), 3.0, rtol=F32)


def test_block_losses_match_their_formulas_and_return_aux_false_sows_them():
  x = _x(9, (2, 7, D))
  kw = dict(num_experts=E, hidden_features=H, capacity_factor=0.5, load_balancing_weight=0.1,
            z_loss_weight=0.01)
  v = make_params(7, router_scale=2.0)
  y, aux = _apply(MoEBlock(**kw), v, x)
  logits = np_router_logits(v["params"]["router"], np.asarray(x, np.float64), "topk").reshape(-1, E)
  p = np_softmax(logits)
  f = np.bincount(np.argmax(logits, -1), minlength=E) / len(logits)
  lb = E * np.sum(f * p.mean(0))
  z = np.mean(np.log(np.exp(logits).sum(-1)) ** 2)
  np.testing.assert_allclose(float(aux.load_balancing_loss), lb, rtol=F32)
  np.testing.assert_allclose(float(aux.router_z_loss), z, rtol=F32)
  np.testing.assert_allclose(float(aux.aux_loss), 0.1 * lb + 0.01 * z, rtol=F32)
  with jax.enable_x64(True):
    np.testing.assert_allclose(float(router_z_loss(jnp.zeros((3, 4), jnp.float64))), math.log(4) ** 2, rtol=F64)
  # the drop-in form returns y alone and sows the same aux
  y2, state = _apply(MoEBlock(**kw, return_aux=False), v, x, mutable=["intermediates"])
  np.testing.assert_array_equal(np.asarray(y2), np.asarray(y))
  sown = state["intermediates"]["moe_aux"][0]
  assert int(sown.num_dropped) == int(aux.num_dropped) > 0
  np.testing.assert_array_equal(np.asarray(sown.aux_loss), np.asarray(aux.aux_loss))


# ---------------------------------------------------------------------------------------------------
# Gradients through the router.


@pytest.mark.parametrize("gate,k", [("topk", 2), ("softmax", None), ("temperature", None),
                                    ("activation_temperature", 2)])
def test_gradients_are_finite_and_reach_the_router(gate, k):
  x = _x(10, (2, 6, D))
  block = MoEBlock(num_experts=E, gate=gate, num_selected=k, hidden_features=H, capacity_factor=1.0,
                   z_loss_weight=1e-3)
  v = make_params(8, temperature="temperature" in gate)

  def loss(params):
    y, aux = block.apply({"params": params}, x)
    return jnp.mean(jnp.square(y - 1.0)) + aux.aux_loss

  g = jax.jit(jax.grad(loss))(v["params"])
  for leaf in jax.tree.leaves(g):
    assert np.all(np.isfinite(np.asarray(leaf)))
  assert np.any(np.asarray(g["router"]["kernel"]) != 0)
  assert np.any(np.asarray(g["router"]["bias"]) != 0)
  if "temperature" in gate:
    assert float(g["router"]["log_temperature"]) != 0.0


def test_temperature_gradient_matches_finite_difference_f64():
  with jax.enable_x64(True):
    x = _x(11, (1, 8, D), jnp.float64)
    block = MoEBlock(num_experts=E, gate="activation_temperature", num_selected=None, expert="linear",
                     capacity_factor=None, param_dtype=jnp.float64)
    params = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64),
                          make_params(9, expert="linear", temperature=True, router_scale=2.0,
                                      dtype=np.float64))["params"]

    def loss(log_t):
      p = {**params, "router": {**params["router"], "log_temperature": log_t}}
      y, aux = block.apply({"params": p}, x)
      return jnp.sum(jnp.sin(y)) + aux.load_balancing_loss

    t0 = jnp.asarray(math.log(0.8))
    h = 1e-5
    grad, f = jax.jit(lambda t: (jax.grad(loss)(t), jax.vmap(loss)(jnp.stack([t + h, t - h]))))(t0)
    fd = (float(f[0]) - float(f[1])) / (2 * h)
  assert abs(float(grad)) > 1e-3
  np.testing.assert_allclose(float(grad), fd, rtol=1e-7, atol=1e-9)


# ---------------------------------------------------------------------------------------------------
# Bad inputs name the argument.


@pytest.mark.parametrize("kwargs,arg", [
    ({"gate": "sparse"}, "gate"),
    ({"gate": "topk", "num_selected": 5}, "num_selected"),
    ({"gate": "topk", "num_selected": None}, "num_selected"),
    ({"gate": "softmax", "num_selected": 2}, "num_selected"),
    ({"gate": "temperature", "num_selected": None, "init_temperature": 0.0}, "init_temperature"),
    ({"gate": "activation_temperature", "gate_activation": "swish"}, "activation"),
    ({"capacity_factor": -1.0}, "capacity_factor"),
    ({"priority": "random"}, "priority"),
    ({"expert": "conv"}, "expert"),
    ({"num_experts": 0}, "num_experts"),
    ({"load_balancing_weight": -0.1}, "load_balancing_weight"),
])
def test_bad_fields_name_the_argument(kwargs, arg):
  x = _x(12, (1, 4, 8))
  with pytest.raises(ValueError, match=arg):
    MoEBlock(**{"num_experts": 4, **kwargs}).init(jax.random.PRNGKey(0), x)


def test_bad_arrays_name_the_argument():
  block = MoEBlock(num_experts=4)
  with pytest.raises(ValueError, match="x: expected shape"):
    block.init(jax.random.PRNGKey(0), jnp.ones((4, 8)))
  with pytest.raises(TypeError, match="x: expected a floating"):
    block.init(jax.random.PRNGKey(0), jnp.ones((1, 4, 8), jnp.int32))
  with pytest.raises(ValueError, match="k:"):
    select_top_k(jnp.ones((3, 4)), 0)
  with pytest.raises(TypeError, match="index"):
    route(jnp.zeros((3, 2)), jnp.ones((3, 2)), 4, 2)
  with pytest.raises(ValueError, match="capacity"):
    route(jnp.zeros((3, 2), jnp.int32), jnp.ones((3, 2)), 4, 0)
  with pytest.raises(ValueError, match="gates"):
    route(jnp.zeros((3, 2), jnp.int32), jnp.ones((3, 1)), 4, 2)
  with pytest.raises(ValueError, match="bias"):
    gate_logits(jnp.ones((2, 3)), jnp.ones(4))
  with pytest.raises(ValueError, match="first_choice"):
    load_balancing_loss(jnp.ones((4, 3)) / 3, jnp.zeros(5, jnp.int32))
  with pytest.raises(ValueError, match="x: expected shape"):
    MLPExperts(3).init(jax.random.PRNGKey(0), jnp.ones((2, 5, 8)))


# ---------------------------------------------------------------------------------------------------
# Non-finite tokens: dropped, counted, and invisible to every other token.
#
# The oracle is the same batch with the bad tokens *removed* (not replaced: a replacement would take a
# capacity slot and change who else is dropped), at the same capacity C. C is computed from L, so each
# case below uses an L for which C(L) = C(L - 1) (asserted); every other token's routing and output must
# then be bitwise those of the reduced batch.


def _poison(x: np.ndarray, kind: str) -> tuple[np.ndarray, list[tuple[int, int]]]:
  """Makes token 3 of row 0 and token 7 of row 1 non-finite (or, for "overflow", finite but so large
  that the router's logits overflow); returns the batch and the bad positions."""
  x = np.array(x)
  bad = [(0, 3), (1, 7)]
  for b, t in bad:
    if kind == "overflow":
      x[b, t] = 1e38
    else:
      x[b, t, 2] = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf}[kind]
  return x, bad


def _remove(a: np.ndarray, bad: list[tuple[int, int]]) -> np.ndarray:
  return np.stack([np.delete(a[b], [t for bb, t in bad if bb == b], axis=0) for b in range(a.shape[0])])


@pytest.mark.parametrize("gate,k,cf,priority,kind", [
    ("topk", 2, 0.5, "position", "nan"),                    # C = 3 for L = 10 and 9: capacity binds
    ("topk", 1, 1.0, "score", "inf"),                       # C = 3 (ceil 2.5, ceil 2.25)
    ("softmax", None, 0.8, "position", "-inf"),             # dense gate, K = E = 4: C = 8 (ceil 8, ceil 7.2)
    ("activation_temperature", 2, 0.5, "score", "overflow"),
])
def test_nonfinite_token_is_dropped_and_the_others_are_bitwise_unchanged(gate, k, cf, priority, kind):
  length = 10
  kk = E if k is None else k
  cap = expert_capacity(length, kk, E, cf)
  assert cap == expert_capacity(length - 1, kk, E, cf)
  block = MoEBlock(num_experts=E, gate=gate, num_selected=k, hidden_features=H, capacity_factor=cf,
                   priority=priority, z_loss_weight=1e-2)
  v = make_params(13, temperature="temperature" in gate, router_scale=4.0)
  if kind == "overflow":   # a positive kernel column: logit 0 = 8 · 1e38 · 0.5 / τ overflows to inf
    v["params"]["router"]["kernel"][:, 0] = 0.5
  x, bad = _poison(np.asarray(_x(14, (2, length, D))), kind)
  y, aux = _apply(block, v, jnp.asarray(x))
  y_ref, aux_ref = _apply(block, v, jnp.asarray(_remove(x, bad)))
  y, y_ref = np.asarray(y), np.asarray(y_ref)

  valid = np.ones((2, length), bool)
  for b, t in bad:
    valid[b, t] = False
  np.testing.assert_array_equal(np.asarray(aux.valid), valid)
  assert int(aux.num_nonfinite) == 2
  for b, t in bad:                                         # the dropped token: NaN out, routed nowhere
    assert np.all(np.isnan(y[b, t]))
    assert np.all(np.asarray(aux.expert_index)[b, t] == -1) and np.all(np.asarray(aux.gates)[b, t] == 0)
    assert not np.any(np.asarray(aux.kept)[b, t])
    assert np.all(np.isnan(np.asarray(aux.router_logits)[b, t]))
  # every other token: bitwise the reduced batch (values, routing, slots, counts)
  np.testing.assert_array_equal(_remove(y, bad), y_ref)
  assert np.all(np.isfinite(y_ref))
  for name in ("router_logits", "router_probs", "expert_index", "gates", "kept"):
    np.testing.assert_array_equal(_remove(np.asarray(getattr(aux, name)), bad), np.asarray(getattr(aux_ref, name)))
  for name in ("num_dropped", "expert_load", "capacity", "temperature"):
    np.testing.assert_array_equal(np.asarray(getattr(aux, name)), np.asarray(getattr(aux_ref, name)))
  if cf < 1:
    assert int(aux.num_dropped) > 0                        # capacity binds: the comparison is not vacuous
  # the losses ignore the dropped tokens (the sums run over 20 vs 18 rows: equal to rounding)
  for name in ("load_balancing_loss", "router_z_loss", "aux_loss"):
    got, ref = float(getattr(aux, name)), float(getattr(aux_ref, name))
    assert math.isfinite(got)
    np.testing.assert_allclose(got, ref, rtol=F32)
  assert int(aux_ref.num_nonfinite) == 0 and np.all(np.asarray(aux_ref.valid))


@pytest.mark.parametrize("gate,k,cf", [("topk", 2, 0.5), ("activation_temperature", None, 0.8)])
def test_nonfinite_token_gives_finite_parameter_gradients_equal_to_the_reduced_batch_f64(gate, k, cf):
  """d/dparams of (loss over the valid tokens + aux_loss) with a NaN token = that of the batch without it."""
  length = 10
  with jax.enable_x64(True):
    block = MoEBlock(num_experts=E, gate=gate, num_selected=k, hidden_features=H, capacity_factor=cf,
                     z_loss_weight=1e-2, param_dtype=jnp.float64)
    params = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64),
                          make_params(15, temperature="temperature" in gate, dtype=np.float64))["params"]
    x, bad = _poison(np.asarray(_x(16, (2, length, D), jnp.float64)), "nan")

    def loss(p, xx):
      y, aux = block.apply({"params": p}, xx)
      return jnp.sum(jnp.where(aux.valid[..., None], jnp.sin(y), 0.0)) + aux.aux_loss

    grad = jax.jit(jax.grad(loss))
    g = grad(params, jnp.asarray(x))
    g_ref = grad(params, jnp.asarray(_remove(x, bad)))
  for a, b in zip(jax.tree.leaves(g), jax.tree.leaves(g_ref)):
    assert np.all(np.isfinite(np.asarray(a)))
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=F64, atol=F64)
  assert np.any(np.asarray(g["router"]["kernel"]) != 0)


def test_expert_overflow_stays_in_its_token():
  """A valid token whose expert output overflows gets a NaN row; the others are bitwise those of the
  batch with that token replaced (a zero router kernel makes every token's routing the same, so the
  replacement changes nobody's slot)."""
  block = MoEBlock(num_experts=E, gate="topk", num_selected=2, expert="linear", capacity_factor=1.0)
  v = make_params(17, expert="linear")
  v["params"]["router"]["kernel"][:] = 0.0                # routing = the bias alone, for every token
  v["params"]["experts"]["kernel"][:, :, 0] = 1.0          # output 0 = sum of the inputs (+ bias)
  x = np.array(_x(18, (1, 8, D)))
  x_big = x.copy()
  x_big[0, 0] = 3e38                                       # finite; 8 · 3e38 overflows to inf
  y, aux = _apply(block, v, jnp.asarray(x_big))
  y_ref, aux_ref = _apply(block, v, jnp.asarray(x))
  y, y_ref = np.asarray(y), np.asarray(y_ref)
  assert bool(aux.valid[0, 0]) and np.all(np.asarray(aux.kept)[0, 0])   # routed, took its slots
  assert np.all(np.isnan(y[0, 0]))
  np.testing.assert_array_equal(y[0, 1:], y_ref[0, 1:])
  assert np.all(np.isfinite(y_ref)) and int(aux.num_dropped) > 0
  np.testing.assert_array_equal(np.asarray(aux.kept), np.asarray(aux_ref.kept))


def test_functional_routing_with_unrouted_tokens():
  """select_top_k drops a non-finite row (index -1, gates 0); route gives -1 no slot and every other
  assignment the brute-force slot of the group without those tokens; dense_gates ignores -1; the losses
  with a mask equal their closed forms over the counted tokens, with finite gradients."""
  rng = np.random.default_rng(19)
  s, k, e, cap = 12, 2, 4, 2
  logits = rng.standard_normal((s, e)).astype(np.float32)
  logits[:5, 1] += 3.0                                     # crowd expert 1 so that capacity binds
  logits[2, 0], logits[9, 3] = np.nan, np.inf
  gates, index = select_top_k(jnp.asarray(logits), k)
  keep = np.ones(s, bool)
  keep[[2, 9]] = False
  ref_g, ref_i = select_top_k(jnp.asarray(logits[keep]), k)
  np.testing.assert_array_equal(np.asarray(index)[~keep], -1)
  np.testing.assert_array_equal(np.asarray(gates)[~keep], 0)
  np.testing.assert_array_equal(np.asarray(index)[keep], np.asarray(ref_i))
  np.testing.assert_array_equal(np.asarray(gates)[keep], np.asarray(ref_g))
  np.testing.assert_array_equal(np.asarray(dense_gates(gates, index, e))[~keep], 0)
  for priority in PRIORITIES:
    r = route(index, gates, e, cap, priority)
    slot = np_route(np.asarray(ref_i), np.asarray(ref_g)[:, 0], e, cap, priority)
    np.testing.assert_array_equal(np.asarray(r.slot)[keep], slot)
    np.testing.assert_array_equal(np.asarray(r.slot)[~keep], -1)
    assert not np.any(np.asarray(r.kept)[~keep]) and not np.any(np.asarray(r.dispatch)[~keep])
    assert int(r.num_unrouted) == 4 and int(r.num_dropped) == int(np.sum(slot < 0)) > 0
    np.testing.assert_array_equal(np.asarray(r.expert_load),
                                  [int(np.sum((np.asarray(ref_i) == j) & (slot >= 0))) for j in range(e)])
  # masked losses: NaN rows under the mask reach neither the value nor the gradient
  with jax.enable_x64(True):
    lg = jnp.asarray(logits, jnp.float64)
    mask = jnp.asarray(keep)
    probs = jnp.where(mask[:, None], jax.nn.softmax(jnp.where(mask[:, None], lg, 0)), jnp.nan)
    first = jnp.asarray(np.asarray(index)[:, 0])
    p_ok = np_softmax(logits[keep].astype(np.float64))
    f = np.bincount(np.asarray(index)[keep, 0], minlength=e) / keep.sum()
    np.testing.assert_allclose(float(load_balancing_loss(probs, first, mask)), e * np.sum(f * p_ok.mean(0)),
                               rtol=F64)
    z_ref = np.mean(np.log(np.exp(logits[keep].astype(np.float64)).sum(-1)) ** 2)
    np.testing.assert_allclose(float(router_z_loss(lg, mask)), z_ref, rtol=F64)
    gz = np.asarray(jax.grad(router_z_loss)(lg, mask))
    gp = np.asarray(jax.grad(load_balancing_loss)(probs, first, mask))
    assert np.all(np.isfinite(gz)) and np.all(gz[~keep] == 0) and np.any(gz[keep] != 0)
    assert np.all(np.isfinite(gp)) and np.all(gp[~keep] == 0)
    none = jnp.zeros(s, bool)
    assert float(router_z_loss(lg, none)) == 0.0 and float(load_balancing_loss(probs, first, none)) == 0.0


def test_expert_ids_are_checked_eagerly_and_by_checkify_under_jit():
  from jax.experimental import checkify
  index = jnp.array([[0, 1], [4, 2]], jnp.int32)         # 4 is not an expert of E = 4
  gates = jnp.full((2, 2), 0.5)
  with pytest.raises(ValueError, match=r"route: index: .*\[-1, 4\).*index \(1, 0\)"):
    route(index, gates, 4, 2)
  with pytest.raises(ValueError, match=r"dense_gates: index: .*\[-1, 4\)"):
    dense_gates(gates, index, 4)
  err, r = checkify.checkify(jax.jit(lambda i, g: route(i, g, 4, 2)))(index, gates)
  with pytest.raises(checkify.JaxRuntimeError, match="route: index"):
    err.throw()
  # what an unchecked jit call computes: the out-of-range id is unrouted (no slot), as -1 would be
  np.testing.assert_array_equal(np.asarray(r.kept), [[True, True], [False, True]])
  assert int(r.num_unrouted) == 1 and int(r.num_dropped) == 0
  err, _ = checkify.checkify(jax.jit(lambda i, g: route(i, g, 4, 2)))(jnp.clip(index, 0, 3), gates)
  assert err.get() is None
