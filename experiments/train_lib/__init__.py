"""Training library used by every trained method of the zoo.

``train(task, config, workdir)`` runs a data-parallel jitted step over a ``jax.sharding.Mesh``
(1 device or N; multi-host through ``jax.distributed``: each process reads its rows of every batch,
process 0 writes the metrics, evaluation is averaged over the processes), resumes from the newest orbax checkpoint in
the workdir, writes ``metrics.jsonl`` (and TensorBoard event files when tensorboardX is installed;
both flushed at every write and cut back to the checkpoint on resume), prints progress with steps/s
and ETA, and stops on a non-finite metric naming the step (keeping the last good checkpoint).

The names below load their module on first use (PEP 562), so ``experiments.train_lib.console``
(the launchers' flag parsing and logging) imports without jax: a command-line error is reported
before jax, flax and orbax load.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_EXPORTS = {
    "Checkpoints": "checkpoint",
    "ConfigError": "loop", "NonFiniteError": "loop", "TrainResult": "loop", "mean_over_processes": "loop",
    "train": "loop",
    "batch_sharding": "mesh", "initialize_distributed": "mesh", "make_mesh": "mesh", "process_rows": "mesh",
    "replicated": "mesh", "shard_batch": "mesh", "shard_local_batch": "mesh",
    "TrainState": "state", "num_params": "state",
    "make_optimizer": "step", "make_train_step": "step", "phase_optimizers": "step",
    "MetricWriter": "writers", "Progress": "writers", "read_metrics": "writers", "truncate_metrics": "writers",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
  if name not in _EXPORTS:
    raise AttributeError(f"module 'experiments.train_lib' has no attribute {name!r}")
  value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
  globals()[name] = value
  return value


def __dir__():
  return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:
  from experiments.train_lib.checkpoint import Checkpoints
  from experiments.train_lib.loop import ConfigError, NonFiniteError, TrainResult, mean_over_processes, train
  from experiments.train_lib.mesh import (batch_sharding, initialize_distributed, make_mesh, process_rows,
                                          replicated, shard_batch, shard_local_batch)
  from experiments.train_lib.state import TrainState, num_params
  from experiments.train_lib.step import make_optimizer, make_train_step, phase_optimizers
  from experiments.train_lib.writers import MetricWriter, Progress, read_metrics, truncate_metrics
