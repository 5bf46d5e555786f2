"""The continual-learning driver: trains task after task, carries the method's state, checkpoints every task
boundary and resumes mid-sequence.

A :class:`Method` is three functions over a **carry** (a pytree of arrays with fixed shapes: parameters,
optimiser state, and whatever the method keeps between tasks: a Fisher matrix, bases, subspaces, a replay
buffer, prototypes, posterior samples, embeddings):

* ``init(key, sequence) -> carry``;
* ``train_task(carry, sequence, t, key) -> carry``: learns task ``t`` (it may read earlier tasks, e.g. a joint
  upper bound, but a sequential method should only read ``sequence.tasks[t]``);
* ``predict(carry, x) -> [n, C]`` scores (logits or log-probabilities).

:func:`run_sequence` evaluates every task after every training task (``A[i, j]``, with the class masks of
:meth:`TaskSequence.class_mask`) and saves ``{carry, A}`` through orbax (the ``Checkpoints`` manager of
``experiments.train_lib``) after each task; a rerun in the same workdir restores the last boundary and
continues, which gives exactly the carry and matrix of an uninterrupted run (the key for task ``t`` is
``fold_in(PRNGKey(seed), t)``, so nothing depends on where the run was cut).
"""
from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Callable, NamedTuple

import jax
import numpy as np

from experiments.continual.metrics import acc, accuracy, bwt
from experiments.continual.tasks import TaskSequence

__all__ = ["Method", "ContinualResult", "run_sequence", "evaluate", "task_key"]


@dataclasses.dataclass(frozen=True)
class Method:
  """A continual-learning method (see the module docstring)."""
  name: str
  init: Callable[[jax.Array, TaskSequence], Any]
  train_task: Callable[[Any, TaskSequence, int, jax.Array], Any]
  predict: Callable[[Any, np.ndarray], Any]


class ContinualResult(NamedTuple):
  """``matrix: [T, T]`` accuracies (NaN above the diagonal), ACC, BWT (NaN for one task), the final carry,
  the task the run started at (0, or the boundary it resumed from) and the tasks it trained."""
  matrix: np.ndarray
  acc: float
  bwt: float
  carry: Any
  start_task: int
  trained_tasks: tuple[int, ...]


def task_key(seed: int, t: int) -> jax.Array:
  """The key of task ``t``: ``fold_in(PRNGKey(seed), t)`` (resume-safe)."""
  return jax.random.fold_in(jax.random.PRNGKey(seed), t)


def evaluate(method: Method, carry, sequence: TaskSequence, after_task: int) -> np.ndarray:
  """``[T]``: the accuracy on every task's test set after training ``after_task`` (NaN above it)."""
  if not isinstance(after_task, (int, np.integer)) or not 0 <= after_task < sequence.num_tasks:
    raise ValueError(f"evaluate: after_task: expected an int in [0, {sequence.num_tasks}), got {after_task!r}")
  row = np.full(sequence.num_tasks, np.nan)
  for j, task in enumerate(sequence.tasks[:after_task + 1]):
    scores = np.asarray(method.predict(carry, task.x_test))
    row[j] = accuracy(scores, task.y_test, sequence.class_mask(after_task, j))
  return row


def _as_arrays(tree):
  """numpy scalars -> 0-d arrays (orbax saves arrays, not numpy scalars), so a carry has one form whether it
  was restored or not."""
  return jax.tree.map(lambda a: np.asarray(a) if isinstance(a, (np.generic, int, float, bool)) else a, tree)


def run_sequence(method: Method, sequence: TaskSequence, *, seed: int = 0, workdir: str | None = None,
                 stop_after: int | None = None, log: Callable[[str], None] = lambda s: None) -> ContinualResult:
  """Trains ``method`` on ``sequence`` task after task.

  Args:
    method: the :class:`Method`.
    sequence: the tasks.
    seed: the run's seed: ``init`` gets ``task_key(seed, T)``, task ``t`` gets ``task_key(seed, t)``.
    workdir: if given, ``{carry, A}`` is checkpointed at every task boundary in ``workdir/checkpoints`` (step =
      tasks done) and a rerun resumes from the newest one; ``workdir/continual.json`` keeps the matrix.
    stop_after: stop after this many tasks are done (to test interruption); None runs them all.
    log: progress lines.
  """
  if not isinstance(method, Method):
    raise TypeError(f"run_sequence: method: expected a Method, got {type(method).__name__}")
  if not isinstance(sequence, TaskSequence):
    raise TypeError(f"run_sequence: sequence: expected a TaskSequence, got {type(sequence).__name__}")
  n = sequence.num_tasks
  if stop_after is not None and not 0 <= stop_after <= n:
    raise ValueError(f"run_sequence: stop_after: expected an int in [0, {n}], got {stop_after!r}")
  carry = _as_arrays(method.init(task_key(seed, n), sequence))
  matrix = np.full((n, n), np.nan)
  start = 0
  ckpt = None
  if workdir is not None:
    from experiments.train_lib import Checkpoints
    ckpt = Checkpoints(workdir, max_to_keep=2)
    latest = ckpt.latest_step()
    if latest is not None:
      restored = ckpt.restore({"carry": carry, "matrix": matrix})
      carry, matrix, start = restored["carry"], np.asarray(restored["matrix"]), int(latest)
      log(f"{method.name}: resumed after task {start}/{n}")
  end = n if stop_after is None else max(start, stop_after)
  trained = []
  try:
    for t in range(start, end):
      carry = _as_arrays(method.train_task(carry, sequence, t, task_key(seed, t)))
      matrix[t] = evaluate(method, carry, sequence, t)
      trained.append(t)
      log(f"{method.name}: task {t + 1}/{n} " + " ".join(f"{v:.3f}" for v in matrix[t, :t + 1]))
      if ckpt is not None:
        ckpt.save(t + 1, {"carry": carry, "matrix": matrix})
  finally:
    if ckpt is not None:
      ckpt.close()
  done = end
  a = matrix[:done, :done]
  res = ContinualResult(matrix, acc(a) if done else float("nan"), bwt(a) if done >= 2 else float("nan"),
                        carry, start, tuple(trained))
  if workdir is not None:
    with open(os.path.join(workdir, "continual.json"), "w") as f:
      json.dump({"method": method.name, "sequence": sequence.name, "tasks_done": done,
                 "matrix": [[None if np.isnan(v) else float(v) for v in r] for r in matrix],
                 "acc": res.acc, "bwt": res.bwt}, f)
  return res
