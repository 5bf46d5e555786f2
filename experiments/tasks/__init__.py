"""Trainable tasks: what ``experiments.main`` and ``reproduce`` train through ``train_lib``.

A task turns a config into a model, a loss, a deterministic batch stream (a function of the step, so
a resumed run sees exactly the batches an uninterrupted one would) and an evaluation. Register a new
task in ``TASKS`` (the registry line) and give it a config file in ``experiments/configs/``.
"""
from __future__ import annotations

import abc
import importlib
from typing import Any, Mapping

import jax
import numpy as np

from experiments.configs.common import validate_train

# The registry line: task name -> "module:Class".
TASKS: dict[str, str] = {
    "hopfield_mil": "experiments.tasks.hopfield_mil:HopfieldMIL",
    "gla_lm": "experiments.tasks.gla_lm:GLALM",
    "deis_digits": "experiments.tasks.deis:DigitsDiffusion",
    "radd_lm": "experiments.tasks.radd_lm:RADDLM",
    "interpolants": "experiments.tasks.interpolants:InterpolantFields",
    "quantum_kernel_vqc": "experiments.tasks.quantum_kernel:VQCTask",
    "holomorphic_ep": "experiments.tasks.holomorphic_ep:HolomorphicEP",
    "fp_quant_mlp": "experiments.tasks.fp_quant_scaling:QuantMLPTask",
    "ibp_tightness": "experiments.tasks.ibp_tightness:CertifiedMLP",
    "fl_gflownet": "experiments.tasks.fl_gflownet:FLGFlowNet",
    "jei_dnn": "experiments.tasks.jei_dnn:JEIDNNTask",
    "fim_mjp": "experiments.tasks.fim_mjp:FIMMJPTask",
    "info_plane": "experiments.tasks.info_plane:InfoPlaneMLP",
    "iir_snn": "experiments.tasks.iir_snn:IIRSNN",
    "pgn_forecast": "experiments.tasks.pgn:PGNForecast",
    "sgd_noise": "experiments.tasks.sgd_noise:SGDNoiseMLP",
}


class Task(abc.ABC):
  """Interface used by ``experiments.train_lib.train``."""

  def __init__(self, config: Any):
    self.config = config

  @classmethod
  def validate(cls, config: Any) -> None:
    """Checks the task's own fields (``config.model``, ``config.data``); raises ValueError naming them."""

  @abc.abstractmethod
  def init(self, key: jax.Array) -> tuple[Any, Any]:
    """Returns ``(params, extra)``; ``extra`` holds non-trained variables (``{}`` if none)."""

  @abc.abstractmethod
  def loss(self, params: Any, extra: Any, batch: Any, key: jax.Array) -> tuple[jax.Array, tuple[dict, Any]]:
    """Returns ``(loss, (metrics, new_extra))``; must be jit-compatible."""

  @abc.abstractmethod
  def train_batch(self, step: int) -> Any:
    """The global batch for ``step`` (numpy pytree, leading axis = ``train.batch_size``)."""

  def train_batch_rows(self, step: int, start: int, stop: int) -> Any:
    """Rows ``[start, stop)`` of the global batch for ``step``: what one process of a multi-process run reads
    (``train_lib`` asks each process for its block only). The default cuts them out of :meth:`train_batch`; a
    task that reads data from disk overrides it to read only those rows."""
    return jax.tree.map(lambda a: a[start:stop], self.train_batch(step))

  @abc.abstractmethod
  def evaluate(self, params: Any, extra: Any) -> Mapping[str, float]:
    """Held-out metrics as Python floats."""


def task_class(name: str) -> type[Task]:
  if name not in TASKS:
    raise ValueError(f"config.task: expected one of {sorted(TASKS)}, got {name!r}")
  module, cls = TASKS[name].split(":")
  # TASKS names modules as `experiments.tasks.<slug>`; an installed wheel holds them under `jax_zoo.`
  prefix = __name__[:-len("experiments.tasks")]
  return getattr(importlib.import_module(prefix + module), cls)


def validate(config: Any) -> type[Task]:
  """Checks the whole config (shared train fields, then the task's own); returns the task class."""
  cls = task_class(config.task)
  validate_train(config)
  cls.validate(config)
  return cls


def build_task(config: Any) -> Task:
  """Validates ``config`` and builds its task; nothing is compiled before the checks pass."""
  return validate(config)(config)


def sample_batch(arrays: Mapping[str, np.ndarray], seed: int, step: int, batch_size: int) -> dict[str, np.ndarray]:
  """The rows of ``batch_size`` distinct training examples for ``step``, the same rows of every array.

  The draw is a function of ``(seed, step)`` only, so a resumed run sees the batches an uninterrupted one does.
  """
  n = {len(a) for a in arrays.values()}
  if len(n) != 1:
    raise ValueError(f"sample_batch: arrays: expected one length, got {sorted(n)}")
  idx = np.random.default_rng((seed, step)).choice(n.pop(), batch_size, replace=False)
  return {k: a[idx] for k, a in arrays.items()}
