"""Device meshes for data-parallel training: the same code on 1 or N devices, one or many hosts."""
from __future__ import annotations

from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

DATA_AXIS = "data"

_distributed_initialized = False


def initialize_distributed(coordinator_address: str | None = None, num_processes: int | None = None,
                           process_id: int | None = None) -> None:
  """Calls ``jax.distributed.initialize`` once (multi-host runs; arguments may come from the cluster env)."""
  global _distributed_initialized
  if _distributed_initialized:
    return
  jax.distributed.initialize(coordinator_address=coordinator_address, num_processes=num_processes,
                             process_id=process_id)
  _distributed_initialized = True


def make_mesh(num_devices: int | None = None, name: str = "num_devices") -> Mesh:
  """A 1-D data-parallel mesh over the first ``num_devices`` devices (all devices by default).

  ``name`` is how errors call the argument (``train.num_devices`` from a config).
  """
  devices = jax.devices()
  if num_devices is None or num_devices <= 0:
    num_devices = len(devices)
  if num_devices > len(devices):
    raise ValueError(f"{name}: expected at most {len(devices)} (the visible devices), got {num_devices}")
  return Mesh(np.asarray(devices[:num_devices]), (DATA_AXIS,))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def batch_sharding(mesh: Mesh) -> NamedSharding:
  """Leading (batch) dimension split over the data axis, the rest replicated."""
  return NamedSharding(mesh, P(DATA_AXIS))


def check_batch_size(batch_size: int, mesh: Mesh, name: str = "batch_size") -> None:
  n = mesh.devices.size
  if batch_size % n:
    raise ValueError(f"{name}: expected a multiple of the number of devices ({n}), got {batch_size}")


def shard_batch(batch: Any, mesh: Mesh) -> Any:
  """Places the global batch (numpy pytree, batch axis first) on the mesh, split along the batch axis.

  Every process computes the same global batch (tasks make batches as a function of the step).
  Single process: ``device_put`` with the batch sharding. Multi-process: each process keeps its
  contiguous block of rows (devices are ordered by process) and the global array is assembled with
  ``make_array_from_process_local_data``.
  """
  sharding = batch_sharding(mesh)
  n_proc = jax.process_count()
  if n_proc == 1:
    return jax.device_put(batch, sharding)
  pid = jax.process_index()

  def local(x):
    x = np.asarray(x)
    if x.shape[0] % n_proc:
      raise ValueError(f"batch: leading dim {x.shape[0]} is not divisible by the {n_proc} processes")
    n = x.shape[0] // n_proc
    return jax.make_array_from_process_local_data(sharding, x[pid * n:(pid + 1) * n], x.shape)

  return jax.tree.map(local, batch)


def replicate(tree: Any, mesh: Mesh) -> Any:
  return jax.device_put(tree, replicated(mesh))
