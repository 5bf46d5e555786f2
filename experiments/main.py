"""The zoo's launcher: train any registered task from a locked ml_collections config.

  python -m experiments.main --config=experiments/configs/<slug>.py:<variant> --workdir=DIR \
      [--config.train.total_steps=...] [--distributed] [--verbosity=0]

Multi-process (multi-host GPU, TPU pod slice, Slurm, or several processes on one machine): run the
same command in every process with ``--distributed``. ``jax.distributed.initialize`` then finds the
coordinator, the process count and this process's id from the environment (``JAX_COORDINATOR_ADDRESS``
or the cluster: Cloud TPU, Slurm, Open MPI, Kubernetes); ``--coordinator_address``,
``--num_processes`` and ``--process_id`` give them where the cluster does not (they imply
``--distributed``). The workdir must be on a filesystem every process sees; process 0 writes the
metrics, the summary and the progress lines, orbax writes each checkpoint once.

Re-running the same command resumes from the newest checkpoint in DIR (``metrics.jsonl`` is cut back
to that step); re-running a finished run trains nothing and keeps its ``summary.json``. A mistyped
override, a value of the wrong type or a config that fails its checks stops the launcher with one
line naming the field (the nearest valid field for a typo) and exit status 2, before anything
compiles. Progress lines always go to stderr; library INFO logging (orbax, jax, absl) is off unless
``--verbosity=0`` (absl's flag) asks for it.
"""
from __future__ import annotations

import json
import math
import os

from absl import app, flags
from ml_collections import config_flags

from experiments.train_lib import console

PROGRAM = "experiments.main"

_CONFIG = config_flags.DEFINE_config_file("config", None, "Config file, as path.py:variant.", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, metrics and TensorBoard events.")
_DISTRIBUTED = flags.DEFINE_bool("distributed", False, "Call jax.distributed.initialize() (multi-host runs).")
_COORDINATOR = flags.DEFINE_string("coordinator_address", None,
                                   "host:port of process 0's coordinator (default: from the environment).")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "Number of processes (default: from the environment).",
                                      lower_bound=1)
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "This process's id, 0..num_processes-1 (default: from "
                                   "the environment).", lower_bound=0)
flags.mark_flags_as_required(["config", "workdir"])


def _finite_or_none(x: float) -> float | None:
  return x if math.isfinite(x) else None


def _write_json(path: str, obj) -> None:
  """Writes ``obj`` beside ``path`` and renames it over ``path`` (a kill leaves the old or the new file)."""
  tmp = path + ".tmp"
  with open(tmp, "w", encoding="utf-8") as f:
    json.dump(obj, f, indent=1)
    f.flush()
    os.fsync(f.fileno())
  os.replace(tmp, path)


def main(argv):
  if len(argv) > 1:
    console.fail(PROGRAM, f"unexpected arguments: {argv[1:]}")
  # Imported here so `--help` and config errors come before jax starts.
  from experiments import tasks, train_lib
  config, workdir = _CONFIG.value, _WORKDIR.value
  try:
    task_cls = tasks.validate(config)
  except (ValueError, TypeError) as e:
    console.fail(PROGRAM, str(e))
  cluster = dict(coordinator_address=_COORDINATOR.value, num_processes=_NUM_PROCESSES.value,
                 process_id=_PROCESS_ID.value)
  if _DISTRIBUTED.value or any(v is not None for v in cluster.values()):
    try:
      train_lib.initialize_distributed(**cluster)
    except (ValueError, TypeError, RuntimeError) as e:
      console.fail(PROGRAM, f"--distributed: {e}")
  import jax
  chief = jax.process_index() == 0
  if chief:
    console.say(f"devices: {jax.device_count()} ({jax.process_count()} process(es)): {jax.devices()}")
  try:
    task = task_cls(config)
  except (ValueError, TypeError, OSError) as e:  # e.g. a data path that does not exist
    console.fail(PROGRAM, f"{type(e).__name__}: {e}" if isinstance(e, OSError) else str(e))
  try:
    result = train_lib.train(task, config, workdir, log=console.say)
  except train_lib.ConfigError as e:
    console.fail(PROGRAM, str(e))
  except train_lib.NonFiniteError as e:
    console.fail(PROGRAM, str(e), status=1)
  if not chief:  # process 0 writes and prints the summary
    return
  path = os.path.join(workdir, "summary.json")
  if result.start_step >= config.train.total_steps and os.path.exists(path):
    console.say(f"run already complete: {path} kept")
    with open(path, encoding="utf-8") as f:
      print(json.dumps(json.load(f)))
    return
  trained = result.start_step < config.train.total_steps  # else a finished run without its summary
  summary = {"final": result.final_metrics, "eval": result.eval_metrics,
             "steps_per_second": _finite_or_none(result.steps_per_second) if trained else None,
             "compile_seconds": result.compile_seconds if trained else None}
  _write_json(path, summary)
  print(json.dumps(summary))


if __name__ == "__main__":
  app.run(main, flags_parser=console.flags_parser(PROGRAM, config_flag="config"))
