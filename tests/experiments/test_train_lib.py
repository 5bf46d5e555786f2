"""The training library: sharding, resume, the non-finite guard, metrics and config checks."""
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from experiments import train_lib
from experiments.configs.common import base_config
from experiments.tasks import Task
from experiments.train_lib import mesh as mesh_lib


class LinearRegression(Task):
  """y = x w* + noise; the loss can be made to blow up at a chosen step to test the guard."""

  def __init__(self, config, nan_at_step=None):
    super().__init__(config)
    rng = np.random.default_rng(0)
    self.w_true = rng.normal(size=(5, 2)).astype(np.float32)
    self.nan_at_step = nan_at_step

  def init(self, key):
    return {"w": jax.random.normal(key, (5, 2)) * 0.1, "b": jnp.zeros(2)}, {"calls": jnp.zeros((), jnp.int32)}

  def loss(self, params, extra, batch, key):
    pred = batch["x"] @ params["w"] + params["b"]
    loss = jnp.mean((pred - batch["y"]) ** 2)
    if self.nan_at_step is not None:
      loss = jnp.where(extra["calls"] + 1 >= self.nan_at_step, jnp.nan, loss)
    return loss, ({"mse": loss}, {"calls": extra["calls"] + 1})

  def train_batch(self, step):
    rng = np.random.default_rng((7, step))
    x = rng.normal(size=(self.config.train.batch_size, 5)).astype(np.float32)
    return {"x": x, "y": x @ self.w_true + 0.01 * rng.normal(size=(len(x), 2)).astype(np.float32)}

  def evaluate(self, params, extra):
    return {"w_error": float(jnp.abs(params["w"] - self.w_true).max())}


def _config(**train):
  c = base_config("hopfield_mil", "smoke")
  c.train.update(dict(total_steps=8, batch_size=8, learning_rate=0.05, log_every=2))
  c.train.update(train)
  return c


def test_sharded_step_equals_single_device_step(devices):
  cfg = _config()
  task = LinearRegression(cfg)
  tx = optax.adam(0.05)
  results = {}
  for n in (1, len(devices)):
    params, extra = task.init(jax.random.PRNGKey(0))  # fresh buffers: the step donates its state
    mesh = mesh_lib.make_mesh(n)
    step = train_lib.make_train_step(task.loss, tx, mesh)
    state = mesh_lib.replicate(train_lib.TrainState.create(params, tx, extra), mesh)
    for s in range(3):
      batch = mesh_lib.shard_batch(task.train_batch(s), mesh)
      if n > 1:  # the batch really is split over the devices
        assert len(batch["x"].sharding.device_set) == n
      state, metrics = step(state, batch, jax.random.PRNGKey(s))
    results[n] = (jax.device_get(state.params), float(metrics["loss"]))
  np.testing.assert_allclose(results[1][0]["w"], results[len(devices)][0]["w"], rtol=2e-6, atol=2e-7)
  np.testing.assert_allclose(results[1][1], results[len(devices)][1], rtol=2e-6)


def test_train_resume_is_exact_and_writes_metrics(tmp_path):
  cfg = _config(checkpoint_every=3)
  full = train_lib.train(LinearRegression(cfg), cfg, str(tmp_path / "full"), log=lambda s: None)
  lines = []
  part = train_lib.train(LinearRegression(cfg), cfg, str(tmp_path / "part"), stop_after=5, log=lines.append)
  assert int(part.state.step) == 5
  resumed = train_lib.train(LinearRegression(cfg), cfg, str(tmp_path / "part"), log=lines.append)
  assert resumed.start_step == 5 and int(resumed.state.step) == 8
  assert any(l.startswith("resumed from step 5") for l in lines)
  for a, b in zip(jax.tree.leaves(full.state), jax.tree.leaves(resumed.state)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  # metrics.jsonl: one row per log step, TensorBoard events, progress lines with rate and ETA
  rows = [r for r in train_lib.read_metrics(str(tmp_path / "full")) if "loss" in r]
  assert [r["step"] for r in rows] == [2, 4, 6, 8]
  assert rows[-1]["loss"] < rows[0]["loss"]
  assert any(n.startswith("events") for n in os.listdir(tmp_path / "full" / "tensorboard"))
  assert any("steps/s" in l and "ETA" in l for l in lines)
  assert "eval/w_error" in full.eval_metrics
  # re-running a finished run changes nothing and reports its evaluation
  again = train_lib.train(LinearRegression(cfg), cfg, str(tmp_path / "part"), log=lines.append)
  assert again.start_step == 8 and int(again.state.step) == 8
  assert again.eval_metrics == resumed.eval_metrics
  assert again.final_metrics == resumed.final_metrics != {}  # read back from metrics.jsonl, not emptied
  # the interrupted run logged its stop step 5 too; otherwise the rows are the uninterrupted run's
  part_rows = train_lib.read_metrics(str(tmp_path / "part"))
  assert [r for r in part_rows if r["step"] != 5] == train_lib.read_metrics(str(tmp_path / "full"))


def test_resume_with_more_total_steps_equals_the_longer_run(tmp_path):
  """total_steps may grow on resume; with a constant schedule the extended run is the longer run."""
  long = _config(total_steps=8)
  full = train_lib.train(LinearRegression(long), long, str(tmp_path / "full"), log=lambda s: None)
  short = _config(total_steps=4)
  train_lib.train(LinearRegression(short), short, str(tmp_path / "part"), log=lambda s: None)
  lines = []
  ext = train_lib.train(LinearRegression(long), long, str(tmp_path / "part"), log=lines.append)
  assert ext.start_step == 4 and any(l.startswith("resumed from step 4") for l in lines)
  for a, b in zip(jax.tree.leaves(full.state), jax.tree.leaves(ext.state)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  train_rows = lambda d: [r for r in train_lib.read_metrics(str(d)) if "loss" in r]
  assert train_rows(tmp_path / "part") == train_rows(tmp_path / "full")


def test_truncate_metrics_drops_rows_after_the_step_and_torn_lines(tmp_path):
  rows = [{"step": s, "loss": 1.0 / s} for s in (2, 4, 6)] + [{"step": 4, "eval/x": 0.5}]
  path = tmp_path / "metrics.jsonl"
  text = "".join(json.dumps(r) + "\n" for r in rows)
  path.write_text(text + '{"step": 8, "lo')  # a line cut short by a kill
  assert train_lib.truncate_metrics(str(tmp_path), 4) == 2  # the row of step 6 and the torn line
  assert train_lib.read_metrics(str(tmp_path)) == [rows[0], rows[1], rows[3]]
  assert os.listdir(tmp_path) == ["metrics.jsonl"]  # replaced by rename: no temporary left
  assert train_lib.truncate_metrics(str(tmp_path), 4) == 0
  assert train_lib.truncate_metrics(str(tmp_path), 0) == 3 and path.read_text() == ""
  assert train_lib.truncate_metrics(str(tmp_path / "absent"), 3) == 0


def test_nonfinite_guard_names_step_and_keeps_last_good_checkpoint(tmp_path):
  cfg = _config(checkpoint_every=2, log_every=1)
  with pytest.raises(train_lib.NonFiniteError) as err:
    train_lib.train(LinearRegression(cfg, nan_at_step=5), cfg, str(tmp_path), log=lambda s: None)
  assert err.value.step == 5 and err.value.metric in ("loss", "mse", "grad_norm")
  assert "step 5" in str(err.value)
  ckpts = train_lib.Checkpoints(str(tmp_path))
  assert ckpts.latest_step() == 4
  good = ckpts.restore(_abstract_state(cfg))
  assert all(np.all(np.isfinite(np.asarray(x))) for x in jax.tree.leaves(good.params))
  ckpts.close()


def _abstract_state(cfg):
  task = LinearRegression(cfg)
  params, extra = task.init(jax.random.PRNGKey(0))
  return mesh_lib.replicate(train_lib.TrainState.create(params, train_lib.make_optimizer(cfg.train), extra),
                            mesh_lib.make_mesh())


def test_resume_with_a_different_config_is_refused(tmp_path):
  cfg = _config()
  train_lib.train(LinearRegression(cfg), cfg, str(tmp_path), stop_after=2, log=lambda s: None)
  cfg.train.learning_rate = 0.01
  with pytest.raises(train_lib.ConfigError, match="train.learning_rate"):
    train_lib.train(LinearRegression(cfg), cfg, str(tmp_path), log=lambda s: None)
  with open(tmp_path / "config.json") as f:
    assert json.load(f)["train.learning_rate"] == 0.05


def test_batch_size_must_divide_devices(tmp_path, devices):
  cfg = _config(batch_size=6)
  with pytest.raises(train_lib.ConfigError, match="config.train.batch_size"):
    train_lib.train(LinearRegression(cfg), cfg, str(tmp_path), log=lambda s: None)
  cfg = _config(num_devices=len(devices) + 1)
  with pytest.raises(train_lib.ConfigError, match="config.train.num_devices"):
    train_lib.train(LinearRegression(cfg), cfg, str(tmp_path), log=lambda s: None)
  assert not os.path.exists(tmp_path / "config.json")  # a run that cannot start does not claim the workdir
