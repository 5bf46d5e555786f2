"""Orbax checkpointing with automatic resume from the workdir."""
from __future__ import annotations

import os
from typing import Any

import jax
import orbax.checkpoint as ocp


class Checkpoints:
  """``workdir/checkpoints`` managed by an orbax ``CheckpointManager``.

  Only states that passed the non-finite guard are saved, so a failed run keeps its last good
  checkpoint; ``max_to_keep`` older ones are kept besides. In a multi-process run every process makes
  one (same directory, on a filesystem all of them see) and orbax writes each checkpoint once: each
  array chunk by one process, the metadata by process 0. A restore takes the shardings of ``target``,
  so a checkpoint resumes on another number of processes or devices.
  """

  def __init__(self, workdir: str, *, max_to_keep: int = 3):
    self.directory = os.path.abspath(os.path.join(workdir, "checkpoints"))
    # cleanup_tmp_directories: a save cut short by a kill leaves a temporary directory; removed at start.
    options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True, cleanup_tmp_directories=True)
    self._manager = ocp.CheckpointManager(self.directory, options=options)

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    return list(self._manager.all_steps())

  def restore(self, target: Any, step: int | None = None) -> Any:
    """Restores ``step`` (default: latest) with the shapes, dtypes and shardings of ``target``."""
    step = self.latest_step() if step is None else step
    if step is None:
      raise FileNotFoundError(f"no checkpoint in {self.directory}")
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, target)
    return self._manager.restore(step, args=ocp.args.StandardRestore(abstract))

  def save(self, step: int, state: Any) -> None:
    if step in self._manager.all_steps():
      return
    self._manager.save(step, args=ocp.args.StandardSave(state), force=True)

  def wait(self) -> None:
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()
