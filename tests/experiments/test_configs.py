"""Every experiment config: variants validate, the smoke variant trains, is interrupted, resumes and ends
with exactly the parameters of an uninterrupted run; bad configs fail with the field's name."""
import glob
import importlib.util
import os

import jax
import numpy as np
import pytest

from experiments import tasks, train_lib
from experiments.configs.common import VARIANTS

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG_FILES = sorted(p for p in glob.glob(os.path.join(REPO, "experiments", "configs", "*.py"))
                      if os.path.basename(p) not in ("__init__.py", "common.py"))


def load(path, variant):
  spec = importlib.util.spec_from_file_location(f"_cfg_{os.path.basename(path)[:-3]}", path)
  mod = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(mod)
  return mod.get_config(variant), mod


def test_there_are_configs():
  assert CONFIG_FILES


@pytest.mark.parametrize("path", CONFIG_FILES, ids=os.path.basename)
def test_variants_validate_and_are_documented(path):
  for v in VARIANTS:
    cfg, mod = load(path, v)
    tasks.validate(cfg)
    assert cfg.variant == v
  assert "python -m experiments.main" in mod.__doc__ and "smoke" in mod.__doc__
  with pytest.raises(ValueError, match="variant"):
    load(path, "huge")


@pytest.mark.parametrize("path", CONFIG_FILES, ids=os.path.basename)
def test_smoke_run_interrupted_and_resumed_equals_uninterrupted(path, tmp_path):
  cfg, _ = load(path, "smoke")
  cfg.train.tensorboard = False
  quiet = lambda s: None
  full = train_lib.train(tasks.build_task(cfg), cfg, str(tmp_path / "full"), log=quiet)
  stop = cfg.train.total_steps // 2
  part = train_lib.train(tasks.build_task(cfg), cfg, str(tmp_path / "part"), stop_after=stop, log=quiet)
  assert int(part.state.step) == stop
  resumed = train_lib.train(tasks.build_task(cfg), cfg, str(tmp_path / "part"), log=quiet)
  assert resumed.start_step == stop and int(resumed.state.step) == cfg.train.total_steps
  for a, b in zip(jax.tree.leaves(full.state), jax.tree.leaves(resumed.state)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  assert full.eval_metrics, "the run ends with an evaluation"


@pytest.mark.parametrize("field, value", [
    ("train.learning_rate", -1.0), ("train.total_steps", 0), ("train.optimizer", "adagrad"),
    ("train.warmup_steps", 10_000), ("seed", -3)])
def test_invalid_shared_hyperparameter_names_the_field(field, value):
  cfg, _ = load(CONFIG_FILES[0], "smoke")
  section, _, name = field.rpartition(".")
  (cfg[section] if section else cfg)[name] = value
  with pytest.raises(ValueError, match=f"config.{field}"):
    tasks.build_task(cfg)


def test_invalid_hopfield_hyperparameters_name_the_field():
  cfg, _ = load(os.path.join(REPO, "experiments", "configs", "hopfield.py"), "smoke")
  cfg.model.pooling = "sum"
  with pytest.raises(ValueError, match="config.model.pooling"):
    tasks.build_task(cfg)
  cfg.model.pooling, cfg.model.num_heads = "hopfield", 3
  with pytest.raises(ValueError, match="config.model.num_heads"):
    tasks.build_task(cfg)


@pytest.mark.parametrize("path", CONFIG_FILES, ids=os.path.basename)
def test_small_and_paper_variants_checkpoint_periodically(path):
  """A killed small or paper run loses at most one checkpoint interval, never the whole run."""
  for v in ("small", "paper"):
    t = load(path, v)[0].train
    assert isinstance(t.checkpoint_every, int) and 0 < t.checkpoint_every <= t.total_steps, (v, t.checkpoint_every)
    assert t.total_steps // t.checkpoint_every >= 2, f"{v}: one checkpoint over {t.total_steps} steps"


# The launcher in subprocesses (override errors, kill and resume, logging): tests/experiments/test_runs.py. A
# mistyped override is rejected there by the launcher's own locked config flag (not by a config the test locks).
