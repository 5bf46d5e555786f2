"""Device meshes for data-parallel training: the same code on 1 or N devices, one or many processes.

Multi-process runs (one process per host, or per GPU) start with :func:`initialize_distributed`; the
mesh then spans the devices of every process, ordered by process, so process ``p`` holds one
contiguous block of rows of each global batch (:func:`process_rows`) and only that block is read and
placed on its devices (:func:`shard_local_batch`).
"""
from __future__ import annotations

from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

DATA_AXIS = "data"

_distributed_initialized = False


def initialize_distributed(coordinator_address: str | None = None, num_processes: int | None = None,
                           process_id: int | None = None, initialization_timeout: int | None = None) -> None:
  """Calls ``jax.distributed.initialize`` once, before anything starts a jax backend.

  Arguments left None are found by jax: ``JAX_COORDINATOR_ADDRESS`` (and ``JAX_COORDINATOR_PORT``,
  ``JAX_LOCAL_DEVICE_IDS``) from the environment, the rest from the cluster it detects (Cloud TPU
  pod slices, Slurm, Open MPI, Kubernetes). On CPU the processes talk through gloo collectives
  (jax's default). ``initialization_timeout``: seconds to wait for every process (jax's default 300).
  """
  global _distributed_initialized
  if _distributed_initialized:
    return
  if num_processes is not None and (not isinstance(num_processes, int) or num_processes < 1):
    raise ValueError(f"initialize_distributed: num_processes expected a positive int, got {num_processes!r}")
  if process_id is not None and (not isinstance(process_id, int) or process_id < 0 or
                                 (num_processes is not None and process_id >= num_processes)):
    raise ValueError(f"initialize_distributed: process_id expected an int in [0, num_processes="
                     f"{num_processes}), got {process_id!r}")
  kwargs = {} if initialization_timeout is None else {"initialization_timeout": int(initialization_timeout)}
  jax.distributed.initialize(coordinator_address=coordinator_address, num_processes=num_processes,
                             process_id=process_id, **kwargs)
  _distributed_initialized = True


def make_mesh(num_devices: int | None = None, name: str = "num_devices") -> Mesh:
  """A 1-D data-parallel mesh over the first ``num_devices`` devices (all devices by default).

  Devices are ordered by (process, id), so each process's devices form one block of the data axis.
  In a multi-process run the mesh must hold every device (``num_devices`` 0, None or the total):
  a process without a device in the mesh would have nothing to compute. ``name`` is how errors call
  the argument (``config.train.num_devices``).
  """
  devices = sorted(jax.devices(), key=lambda d: (d.process_index, d.id))
  if num_devices is None or num_devices <= 0:
    num_devices = len(devices)
  if num_devices > len(devices):
    raise ValueError(f"{name}: expected at most {len(devices)} (the visible devices), got {num_devices}")
  if jax.process_count() > 1 and num_devices != len(devices):
    raise ValueError(f"{name}: expected 0 (all) or {len(devices)} in a run of {jax.process_count()} processes "
                     f"(every process needs devices in the mesh), got {num_devices}")
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


def process_rows(mesh: Mesh, batch_size: int) -> tuple[int, int]:
  """``(start, stop)``: the rows of a global batch of ``batch_size`` that this process's devices hold.

  One process: ``(0, batch_size)``. The block is contiguous because :func:`make_mesh` orders the
  devices by process; a mesh built otherwise that splits a process's rows raises ValueError.
  """
  check_batch_size(batch_size, mesh)
  index_map = batch_sharding(mesh).addressable_devices_indices_map((batch_size,))
  spans = sorted((idx[0].indices(batch_size)[:2] for idx in index_map.values()))
  if any(a != b for (_, b), (a, _) in zip(spans, spans[1:])):
    raise ValueError(f"process_rows: the devices of process {jax.process_index()} hold rows {spans}, "
                     f"not one contiguous block; build the mesh with make_mesh")
  return spans[0][0], spans[-1][1]


def shard_local_batch(local: Any, mesh: Mesh, batch_size: int) -> Any:
  """Assembles the global batch from each process's block of rows (numpy pytree, batch axis first).

  ``local`` holds the rows :func:`process_rows` names (all rows with one process); the result is
  split over the data axis. With one process this is ``device_put`` with the batch sharding.
  """
  sharding = batch_sharding(mesh)
  start, stop = process_rows(mesh, batch_size)

  def put(x):
    x = np.asarray(x)
    if x.ndim == 0 or x.shape[0] != stop - start:
      raise ValueError(f"batch: expected leading dim {stop - start} (rows {start}..{stop - 1} of the global "
                       f"batch of {batch_size}), got shape {x.shape}")
    if jax.process_count() == 1:
      return jax.device_put(x, sharding)
    return jax.make_array_from_process_local_data(sharding, x, (batch_size, *x.shape[1:]))

  return jax.tree.map(put, local)


def shard_batch(batch: Any, mesh: Mesh) -> Any:
  """Places the global batch (numpy pytree, batch axis first; the same in every process) on the mesh.

  Each process keeps only its block of rows (:func:`process_rows`); see :func:`shard_local_batch`.
  """
  leaves = jax.tree.leaves(batch)
  if not leaves:
    raise ValueError("shard_batch: batch expected a pytree with at least one array, got an empty tree")
  n = int(np.shape(leaves[0])[0])
  try:
    start, stop = process_rows(mesh, n)
  except ValueError as e:
    raise ValueError(f"shard_batch: batch {e}") from None
  return shard_local_batch(jax.tree.map(lambda x: np.asarray(x)[start:stop], batch), mesh, n)


def replicate(tree: Any, mesh: Mesh) -> Any:
  return jax.device_put(tree, replicated(mesh))
