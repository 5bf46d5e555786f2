"""train_lib phases: a task that alternates which parameters it trains (bi-level methods such as JEI-DNN)."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from experiments import train_lib
from experiments.configs.common import base_config
from experiments.tasks import Task


class TwoBlocks(Task):
  """Least squares in two parameter blocks; phase 0 trains ``a``, phase 1 trains ``b``, switching every 2 steps.
  The loss also reports the phase it was called with."""
  num_phases = 2

  def init(self, key):
    ka, kb = jax.random.split(key)
    return {"a": jax.random.normal(ka, (3,)), "b": {"w": jax.random.normal(kb, (3,))}}, {}

  def phase(self, step):
    return (step // 2) % 2

  def phase_labels(self, params):
    return {"a": 0, "b": {"w": 1}}

  def loss(self, params, extra, batch, key, phase=0):
    pred = batch["x"] @ params["a"] + batch["x"] ** 2 @ params["b"]["w"]
    value = jnp.mean((pred - batch["y"]) ** 2)
    return value, ({"phase": jnp.float32(phase)}, extra)

  def train_batch(self, step):
    rng = np.random.default_rng((3, step))
    x = rng.normal(size=(self.config.train.batch_size, 3)).astype(np.float32)
    return {"x": x, "y": (x @ np.array([1.0, -2.0, 0.5]) + x[:, 0] ** 2).astype(np.float32)}

  def evaluate(self, params, extra):
    return {"a0": float(params["a"][0])}


def _config():
  c = base_config("hopfield_mil", "smoke")
  c.train.update(dict(total_steps=8, batch_size=8, optimizer="adam", learning_rate=0.05, log_every=1,
                      checkpoint_every=3))
  return c


def _reference(task, cfg):
  """Hand-rolled alternation: a separate Adam per block, updated only in its own phase (numpy copy of the rule)."""
  params, _ = task.init(jax.random.split(jax.random.PRNGKey(cfg.seed))[0])
  params = jax.device_get(params)
  opts = {"a": optax.adam(cfg.train.learning_rate), "b": optax.adam(cfg.train.learning_rate)}
  states = {"a": opts["a"].init(params["a"]), "b": opts["b"].init(params["b"])}
  grad = jax.jit(jax.grad(lambda p, batch: task.loss(p, {}, batch, None)[0]))
  for step in range(cfg.train.total_steps):
    g = grad(params, task.train_batch(step))
    name = "a" if task.phase(step) == 0 else "b"
    upd, states[name] = opts[name].update(g[name], states[name], params[name])
    params = {**params, name: optax.apply_updates(params[name], upd)}
  return params


def test_phases_train_only_their_leaves_and_match_a_hand_rolled_alternation(tmp_path):
  cfg = _config()
  task = TwoBlocks(cfg)
  res = train_lib.train(task, cfg, str(tmp_path / "run"), log=lambda s: None)
  ref = _reference(task, cfg)
  got = jax.device_get(res.state.params)
  np.testing.assert_allclose(got["a"], ref["a"], rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(got["b"]["w"], ref["b"]["w"], rtol=1e-5, atol=1e-6)
  rows = [r for r in train_lib.read_metrics(str(tmp_path / "run")) if "phase" in r]
  assert [r["phase"] for r in rows] == [0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0]
  # one step of phase 0 leaves b (and its Adam state) untouched
  tx0, tx1 = train_lib.phase_optimizers(optax.adam(0.1), task.phase_labels(None), 2)
  p = {"a": jnp.ones(3), "b": {"w": jnp.ones(3)}}
  s = tx0.init(p)
  g = jax.tree.map(jnp.ones_like, p)
  u, s2 = tx0.update(g, s, p)
  assert np.all(np.asarray(u["b"]["w"]) == 0) and np.all(np.asarray(u["a"]) != 0)
  assert jax.tree.all(jax.tree.map(lambda x, y: bool(jnp.all(x == y)), s[1], s2[1]))


def test_phased_run_resumes_exactly(tmp_path):
  cfg = _config()
  full = train_lib.train(TwoBlocks(cfg), cfg, str(tmp_path / "full"), log=lambda s: None)
  train_lib.train(TwoBlocks(cfg), cfg, str(tmp_path / "part"), stop_after=3, log=lambda s: None)
  resumed = train_lib.train(TwoBlocks(cfg), cfg, str(tmp_path / "part"), log=lambda s: None)
  assert resumed.start_step == 3
  for x, y in zip(jax.tree.leaves(jax.device_get(full.state)), jax.tree.leaves(jax.device_get(resumed.state))):
    np.testing.assert_array_equal(x, y)


def test_phase_optimizers_bad_labels():
  with pytest.raises(ValueError, match="phase_optimizers: labels"):
    train_lib.phase_optimizers(optax.sgd(0.1), {"a": 2}, 2)
  with pytest.raises(ValueError, match="phase_optimizers: num_phases"):
    train_lib.phase_optimizers(optax.sgd(0.1), {"a": 0}, 0)
