"""Oracle tests for models.iir_snn (Chowdhury, Rathi & Roy 2021, arXiv:2110.05929).

Oracles: an independent numpy IF simulation and ``numpy.percentile`` for the layer-wise threshold search, a numpy
ReLU MLP for the ANN, numpy cross-entropy, hand counts for spikes per neuron, the corrupted data's statistics
within standard errors, and the save/load round trip of the stage chaining (leaks projected to <= 1).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from models import iir_snn as I
from models.common import spiking as S


@pytest.fixture(scope="module")
def ann():
  model = I.ANNMLP(features=(6, 5, 3))
  x = jax.random.uniform(jax.random.PRNGKey(1), (12, 4))
  p = model.init(jax.random.PRNGKey(0), x)["params"]
  p = {**p, "bias_0": jnp.linspace(-0.1, 0.2, 6), "bias_1": jnp.linspace(0.1, -0.1, 5)}
  return model, p, x


def test_ann_matches_numpy(ann):
  model, p, x = ann
  q = {k: np.asarray(v, np.float64) for k, v in p.items()}
  h = np.maximum(np.asarray(x, np.float64) @ q["kernel_0"] + q["bias_0"], 0)
  h = np.maximum(h @ q["kernel_1"] + q["bias_1"], 0)
  np.testing.assert_allclose(np.asarray(model.apply({"params": p}, x)), h @ q["kernel_2"] + q["bias_2"],
                             rtol=1e-5, atol=1e-6)


def test_thresholds_are_percentiles_of_the_layer_currents(ann):
  _, p, x = ann
  q = {k: np.asarray(v, np.float64) for k, v in p.items()}
  t_search, pct = 12, 90.0
  # numpy IF simulation of layer 0 with its threshold, recording layer 1's currents at every step
  c0 = np.asarray(x, np.float64) @ q["kernel_0"] + q["bias_0"]
  th0 = np.percentile(np.broadcast_to(c0, (t_search,) + c0.shape), pct)
  u, cur1 = np.zeros_like(c0), []
  for _ in range(t_search):
    u = u + c0
    o = (u >= th0).astype(float)
    u = u - th0 * o
    cur1.append(o @ q["kernel_1"] + q["bias_1"])
  th1 = np.percentile(np.stack(cur1), pct)
  got = I.find_thresholds(p, x, p=pct, search_timesteps=t_search)
  np.testing.assert_allclose([float(g) for g in got], [th0, th1], rtol=1e-5)
  conv = I.convert(p, x, p=pct, search_timesteps=t_search, scaling=0.5, leak=0.9)
  np.testing.assert_allclose([float(conv["theta_0"]), float(conv["theta_1"])], [0.5 * th0, 0.5 * th1], rtol=1e-5)
  assert float(conv["leak_0"]) == np.float32(0.9) and float(conv["leak_1"]) == np.float32(0.9)
  np.testing.assert_array_equal(np.asarray(conv["kernel_2"]), np.asarray(p["kernel_2"]))


def test_loss_metrics_and_spike_counts():
  logits = jnp.array([[2.0, 0.5, -1.0], [0.1, 0.3, 0.2]])
  y = jnp.array([0, 2])
  lg = np.asarray(logits, np.float64)
  ref = -np.mean(np.log(np.exp(lg[[0, 1], [0, 2]]) / np.exp(lg).sum(1)))
  np.testing.assert_allclose(float(I.cross_entropy(logits, y)), ref, rtol=1e-6)
  assert float(I.accuracy(logits, y)) == 0.5
  out = S.MLPOutput(logits=logits, spike_counts=[jnp.array([[1.0, 0, 2], [0, 0, 1]]), jnp.array([[3.0], [1.0]])],
                    rates=[], membrane=[])
  assert float(I.spikes_per_neuron(out)) == pytest.approx(((1 + 2 + 3) + (1 + 1)) / 2 / 4)


def test_stage_schedule_and_corrupt_statistics():
  assert I.stage_schedule() == [5, 4, 3, 2, 1] and I.stage_schedule(3, 2) == [3, 2]
  x = np.full((400, 50), 0.5, np.float32)
  a, b = I.corrupt(x, 0.1, 3, occlude=0.2), I.corrupt(x, 0.1, 3, occlude=0.2)
  np.testing.assert_array_equal(a, b)                       # a fixed function of the seed
  zero = a == 0
  assert abs(zero.mean() - 0.2) <= 4 * np.sqrt(0.16 / a.size)
  kept = a[~zero]
  assert abs(kept.mean() - 0.5) <= 4 * 0.1 / np.sqrt(kept.size) and abs(kept.std() - 0.1) < 0.005
  assert a.min() >= 0 and a.max() <= 1


def test_stage_params_round_trip_with_leak_projection(tmp_path, ann):
  from experiments.tasks.iir_snn import load_params, save_params
  _, p, x = ann
  conv = I.convert(p, x, search_timesteps=4)
  conv = {**conv, "leak_0": jnp.float32(1.2)}
  path = str(tmp_path / "stage.npz")
  save_params(conv, path)
  back = load_params(path)
  assert float(back["leak_0"]) == 1.0 and set(back) == set(conv)
  for k in conv:
    if k != "leak_0":
      np.testing.assert_array_equal(np.asarray(back[k]), np.asarray(conv[k]))
  m = I.evaluate_snn(back, x, jnp.zeros(12, jnp.int32), (6, 5, 3), 2)
  assert 0 <= m["accuracy"] <= 1 and m["spikes_per_neuron"] >= 0
