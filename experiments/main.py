"""The zoo's launcher: train any registered task from a locked ml_collections config.

  python -m experiments.main --config=experiments/configs/<slug>.py:<variant> --workdir=DIR \
      [--config.train.total_steps=...] [--distributed]

Re-running the same command resumes from the newest checkpoint in DIR. A mistyped override fails
before anything runs (the config is locked), and the config is checked before anything compiles.
"""
from __future__ import annotations

import json
import os

from absl import app, flags, logging
from ml_collections import config_flags

_CONFIG = config_flags.DEFINE_config_file("config", None, "Config file, as path.py:variant.", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, metrics and TensorBoard events.")
_DISTRIBUTED = flags.DEFINE_bool("distributed", False, "Call jax.distributed.initialize() (multi-host runs).")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  # Imported here so `--help` and config errors come before jax starts.
  from experiments import tasks, train_lib
  config = _CONFIG.value
  task_cls = tasks.validate(config)
  if _DISTRIBUTED.value:
    train_lib.initialize_distributed()
  import jax
  logging.info("devices: %s", jax.devices())
  task = task_cls(config)
  result = train_lib.train(task, config, _WORKDIR.value, log=lambda s: logging.info("%s", s))
  summary = {"final": result.final_metrics, "eval": result.eval_metrics,
             "steps_per_second": result.steps_per_second, "compile_seconds": result.compile_seconds}
  with open(os.path.join(_WORKDIR.value, "summary.json"), "w", encoding="utf-8") as f:
    json.dump(summary, f, indent=1)
  print(json.dumps(summary))


if __name__ == "__main__":
  app.run(main)
