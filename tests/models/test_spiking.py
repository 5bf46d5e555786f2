"""Oracle tests for models.common.spiking (the spiking core of papers 11 and 34).

Oracles: exact rational arithmetic for the IF neuron (dyadic inputs, so float32 is exact), the LIF closed form
between spikes in float64, a numpy step-activation MLP for T = 1, the surrogate's formula, hand-derived surrogate
derivatives in θ and λ, the rate-coding limit with a derived O(1/T) bound, ``numpy.percentile``, and Monte Carlo
within standard errors for the encodings and dropout masks.
"""
from __future__ import annotations

from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from models.common import spiking as S


def test_if_constant_input_counts_and_charge_exact():
  # theta in {1, 0.75}, I = k/16 * theta in [0, theta]: dyadic, so every float32 operation is exact.
  t_steps = 16
  for theta in (1.0, 0.75):
    currents = np.array([k / 16 * theta for k in range(17)], np.float32)
    spikes, u_t = S.run_neuron(jnp.broadcast_to(currents, (t_steps, 17)), theta, 1.0)
    spikes, u_t = np.asarray(spikes), np.asarray(u_t)
    assert set(np.unique(spikes)) <= {0.0, 1.0}
    counts = np.cumsum(spikes, axis=0)
    for j, i in enumerate(currents):
      for t in range(1, t_steps + 1):
        assert counts[t - 1, j] == int(Fraction(t) * Fraction(float(i)) / Fraction(theta) // 1)
      assert theta * counts[-1, j] + u_t[j] == t_steps * float(i)     # charge conservation, exact


def _lif_closed_form(i, lam, theta, t_steps):
  """Event-driven: between spikes U_t = λ^k U_post + I (1 − λ^k)/(1 − λ); spike at the first k with U >= θ."""
  traj, spikes, u_post, t0 = [], [], 0.0, 0
  while t0 < t_steps:
    k = np.arange(1, t_steps - t0 + 1)
    u = lam ** k * u_post + i * (1 - lam ** k) / (1 - lam)
    hit = np.nonzero(u >= theta)[0]
    stop = hit[0] + 1 if hit.size else len(k)
    for j in range(stop):
      fired = j == stop - 1 and hit.size > 0
      traj.append(u[j] - theta * fired)
      spikes.append(float(fired))
    u_post, t0 = traj[-1], t0 + stop
  return np.array(traj), np.array(spikes)


def test_lif_matches_closed_form_between_spikes():
  with jax.enable_x64(True):
    t_steps, lam, theta = 40, 0.9, 1.0
    currents = np.array([0.05, 0.12, 0.25, 0.6, 1.3])
    cur = jnp.broadcast_to(jnp.asarray(currents), (t_steps, 5))

    def body(u, i):
      u, o = S.neuron_step(u, i, theta, lam)
      return u, (u, o)
    _, (traj, spikes) = jax.lax.scan(body, jnp.zeros(5), cur)
    for j, i in enumerate(currents):
      ref_u, ref_o = _lif_closed_form(i, lam, theta, t_steps)
      np.testing.assert_array_equal(np.asarray(spikes[:, j]), ref_o)
      np.testing.assert_allclose(np.asarray(traj[:, j]), ref_u, rtol=0, atol=1e-12)
    assert float(spikes[:, 0].sum()) == 0.0 and float(spikes[:, -1].sum()) > 10   # below I(1-λ)... and above


@pytest.fixture(scope="module")
def mlp_t1():
  model = S.SpikingMLP(features=(7, 5, 3), timesteps=1, theta_init=0.4, leak_init=0.8)
  x = jax.random.normal(jax.random.PRNGKey(1), (6, 4))
  params = model.init(jax.random.PRNGKey(0), x)["params"]
  params = {**params, "bias_0": jnp.linspace(-0.3, 0.3, 7), "bias_1": jnp.linspace(0.2, -0.2, 5)}
  return model, params, x


def test_t1_snn_equals_step_mlp(mlp_t1):
  model, p, x = mlp_t1
  logits, aux = model.apply({"params": p}, x, return_aux=True)
  q = {k: np.asarray(v, np.float64) for k, v in p.items()}
  h = (np.asarray(x, np.float64) @ q["kernel_0"] + q["bias_0"] >= q["theta_0"]).astype(float)
  h2 = (h @ q["kernel_1"] + q["bias_1"] >= q["theta_1"]).astype(float)
  ref = h2 @ q["kernel_2"] + q["bias_2"]
  np.testing.assert_allclose(np.asarray(logits), ref, rtol=1e-5, atol=1e-5)
  np.testing.assert_array_equal(np.asarray(aux.spike_counts[0]), h)
  np.testing.assert_array_equal(np.asarray(aux.spike_counts[1]), h2)


def test_surrogate_backward_is_formula_and_forward_binary():
  z = jnp.linspace(-2.5, 2.5, 101)
  c = jnp.cos(jnp.arange(101.0))
  for gamma in (0.3, 1.0):
    out = S.spike(z, gamma)
    assert set(np.unique(np.asarray(out))) == {0.0, 1.0}
    np.testing.assert_array_equal(np.asarray(out), (np.asarray(z) >= 0).astype(np.float32))
    g = jax.grad(lambda v: jnp.sum(c * S.spike(v, gamma)))(z)
    ref = np.asarray(c) * gamma * np.maximum(0, 1 - np.abs(np.asarray(z)))
    np.testing.assert_allclose(np.asarray(g), ref, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(np.asarray(S.surrogate_grad(z, gamma)), ref / np.asarray(c), rtol=1e-6, atol=1e-7)


def test_theta_and_leak_gradients_match_hand_derivation():
  # One neuron, readout weight w3, constant current i, T = 2: logits = w3 (o1 + o2),
  #   U1 = i, o1 = H(z1), z1 = i/θ − 1;  U2 = λ (i − θ o1) + i, z2 = U2/θ − 1.
  #   d/dθ = w3 [s(z1)(−i/θ²) + s(z2)(dU2/dθ /θ − U2/θ²)],  dU2/dθ = −λ (o1 + θ ds(o1)) with do1/dθ = s(z1)(−i/θ²);
  #   d/dλ = w3 s(z2) (i − θ o1)/θ.
  with jax.enable_x64(True):
    gamma, w3 = 0.3, 1.7
    for i, theta, lam in ((0.8, 1.0, 0.9), (1.1, 1.0, 0.7), (0.6, 0.5, 0.95)):
      def f(th, lm):
        out = S.run_mlp([(jnp.array([[i]]), None), (jnp.array([[w3]]), None)], [th], [lm],
                        jnp.ones((2, 1, 1)), gamma=gamma)
        return out.logits[0, 0]
      gt, gl = jax.grad(f, argnums=(0, 1))(jnp.float64(theta), jnp.float64(lam))
      s = lambda z: gamma * max(0.0, 1 - abs(z))
      z1 = i / theta - 1
      o1 = float(z1 >= 0)
      do1 = s(z1) * (-i / theta ** 2)
      u2 = lam * (i - theta * o1) + i
      z2 = u2 / theta - 1
      du2 = -lam * (o1 + theta * do1)
      ref_t = w3 * (do1 + s(z2) * (du2 / theta - u2 / theta ** 2))
      ref_l = w3 * s(z2) * (i - theta * o1) / theta
      assert abs(float(gt) - ref_t) < 1e-12 and abs(float(gl) - ref_l) < 1e-12
      assert ref_t != 0 and ref_l != 0


@pytest.fixture(scope="module")
def mlp_t3(mlp_t1):
  _, p, x = mlp_t1
  return S.SpikingMLP(features=(7, 5, 3), timesteps=3, theta_init=0.4, leak_init=0.8, dropout=0.5), p, x


def test_module_theta_and_leak_receive_gradients(mlp_t3):
  model, p, x = mlp_t3
  g = jax.grad(lambda q: jnp.sum(jnp.cos(model.apply({"params": q}, x))))(p)
  for k in ("theta_0", "theta_1", "leak_0", "leak_1"):
    assert np.isfinite(float(g[k])) and float(g[k]) != 0.0, k


def test_one_dropout_mask_per_pass(mlp_t3):
  # Dropout acts on the spikes after they fire, so layer 0's counts with dropout = (counts without) x mask when
  # the mask is the same at every step: ratios 0 or 1/(1 - 0.5) = 2; a per-step mask would give 2k/n, 0 < k < n.
  model, p, x = mlp_t3
  x = jnp.abs(x) * 2.0                   # enough input that most layer-0 units fire more than once
  _, plain = model.apply({"params": p}, x, return_aux=True)
  _, drop = model.apply({"params": p}, x, deterministic=False, return_aux=True, rngs={"dropout": jax.random.PRNGKey(7)})
  c_plain, c_drop = np.asarray(plain.spike_counts[0]), np.asarray(drop.spike_counts[0])
  fired = c_plain > 1
  assert fired.sum() > 8
  assert set(np.unique(np.round(c_drop[fired] / c_plain[fired], 5))) == {0.0, 2.0}


def test_rates_converge_to_clipped_relu_over_theta():
  # IF (λ = 1), θ_1 = max ANN activation of layer 1, θ_2 = max(a2)/θ_1 (the current layer 2 sees when its input
  # spikes stand for a1/θ_1). Layer 1: |rate − clip(a1/θ1)| <= 1/T exactly (⌊T a/θ⌋/T). Layer 2: the cumulative
  # input deviates from T·c_j by less than 2 S_j (S_j = Σ_i |W2_ij|: each input count is within 1 + t/T of t r1),
  # so rate error <= (2 + 4 S_j/θ_2)/T (the membrane stays within [−2 S_j, θ_2 + 2 S_j]).
  with jax.enable_x64(True):
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, (20, 6))
    w1, w2 = rng.normal(0, 0.6, (6, 8)), rng.normal(0, 0.5, (8, 5))
    a1 = np.maximum(x @ w1, 0)
    th1 = a1.max()
    a2 = np.maximum(a1 @ w2, 0)
    th2 = a2.max() / th1
    bound2 = (2 + 4 * np.abs(w2).sum(0).max() / th2)
    errs = []
    for t_steps in (64, 1024):
      out = S.run_mlp([(jnp.asarray(w1), None), (jnp.asarray(w2), None), (jnp.ones((5, 1)), None)], [th1, th2],
                      [1.0, 1.0], S.encode(jnp.asarray(x), t_steps))
      e1 = np.abs(np.asarray(out.rates[1]) - np.clip(a1 / th1, 0, 1)).max()
      e2 = np.abs(np.asarray(out.rates[2]) - np.clip(a2 / a2.max(), 0, 1)).max()
      assert e1 <= 1 / t_steps + 1e-12
      assert e2 * t_steps <= bound2
      errs.append(e2)
    assert errs[-1] < errs[0] / 4     # 16x the steps: at least 4x smaller


def test_percentile_matches_numpy():
  x = np.random.default_rng(0).normal(size=(37, 11)).astype(np.float32)
  for p in (0.0, 12.5, 50.0, 90.0, 99.7, 100.0):
    for method in ("linear", "nearest"):
      ref = np.percentile(x.astype(np.float64), p, method=method)
      np.testing.assert_allclose(float(S.percentile(jnp.asarray(x), p, method)), ref, rtol=1e-6, atol=1e-6)


def test_encodings_and_dropout_masks_monte_carlo():
  x = jnp.linspace(0.0, 1.0, 11)
  direct = S.encode(x, 4)
  np.testing.assert_array_equal(np.asarray(direct), np.tile(np.asarray(x), (4, 1)))
  t_steps = 4000
  rate = np.asarray(S.encode(x, t_steps, "rate", jax.random.PRNGKey(0)))
  assert set(np.unique(rate)) <= {0.0, 1.0}
  se = np.sqrt(np.asarray(x) * (1 - np.asarray(x)) / t_steps)
  assert np.all(np.abs(rate.mean(0) - np.asarray(x)) <= 4 * se + 1e-12)
  m = np.asarray(S.dropout_masks(jax.random.PRNGKey(1), [(200, 50)], 0.2)[0])
  assert set(np.round(np.unique(m), 6)) <= {0.0, 1.25}
  keep = (m > 0).mean()
  assert abs(keep - 0.8) <= 4 * np.sqrt(0.16 / m.size)


def test_weighted_rate_and_exp_weights():
  s = (np.random.default_rng(4).uniform(size=(7, 3, 2)) < 0.4).astype(np.float32)
  w = np.asarray(S.exp_weights(7, dt=0.05, tau=1.0))
  np.testing.assert_allclose(w, np.exp(-(7 * 0.05 - np.arange(1, 8) * 0.05) / 1.0), rtol=1e-6)
  ref = np.einsum("t,tij->ij", w, s) / w.sum()
  np.testing.assert_allclose(np.asarray(S.weighted_rate(jnp.asarray(s), jnp.asarray(w))), ref, rtol=1e-6)
  np.testing.assert_allclose(np.asarray(S.weighted_rate(jnp.asarray(s))), s.mean(0), rtol=1e-6)


def test_clamp_and_straight_through_leak():
  p = {"leak_0": jnp.float32(1.3), "leak_1": jnp.float32(0.7), "theta_0": jnp.float32(2.0)}
  c = S.clamp_leak(p)
  assert float(c["leak_0"]) == 1.0 and float(c["leak_1"]) == np.float32(0.7) and float(c["theta_0"]) == 2.0
  g = jax.grad(lambda q: 3.0 * S.use_leak(q)["leak_0"] + S.use_leak(q)["leak_1"])(p)
  assert float(S.use_leak(p)["leak_0"]) == 1.0
  assert float(g["leak_0"]) == 3.0 and float(g["leak_1"]) == 1.0


@pytest.mark.parametrize("call, match", [
    (lambda: S.run_neuron(jnp.ones((0, 2)), 1.0), "currents"),
    (lambda: S.run_neuron(jnp.ones((3, 2)), 0.0), "theta"),
    (lambda: S.run_neuron(jnp.ones((3, 2)), 1.0, 1.5), "leak"),
    (lambda: S.run_neuron(jnp.ones((3, 2)), 1.0, 0.0), "leak"),
    (lambda: S.encode(jnp.ones(3), 0), "timesteps"),
    (lambda: S.SpikingMLP(features=(3, 2), timesteps=0).init(jax.random.PRNGKey(0), jnp.ones((1, 2))), "timesteps"),
])
def test_bad_inputs_name_the_argument(call, match):
  with pytest.raises(ValueError, match=match):
    call()
