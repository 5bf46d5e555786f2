"""The training loop shared by every trained method: resume, step, guard, log, evaluate, checkpoint."""
from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import time
import zlib
from typing import Any, Callable

import jax
import numpy as np
from jax.experimental import multihost_utils

from experiments.train_lib import mesh as mesh_lib
from experiments.train_lib.checkpoint import Checkpoints
from experiments.train_lib.state import TrainState, num_params
from experiments.train_lib.step import make_optimizer, make_train_step, phase_optimizers
from experiments.train_lib.writers import MetricWriter, Progress, read_metrics, truncate_metrics

# Fields of a config that may change between a run and its resumption.
RESUMABLE_CHANGES = ("train.total_steps", "train.log_every", "train.eval_every", "train.checkpoint_every",
                     "train.max_checkpoints", "train.num_devices")


class ConfigError(ValueError):
  """The config cannot run here: the workdir holds another run's config, or the devices do not fit it."""


class NonFiniteError(FloatingPointError):
  """A training metric became NaN or Inf; carries the first offending step and metric."""

  def __init__(self, step: int, metric: str, value: float):
    self.step, self.metric, self.value = step, metric, value
    super().__init__(f"non-finite {metric} = {value} at step {step}; stopped without saving it "
                     f"(the last good checkpoint is kept)")


@dataclasses.dataclass
class TrainResult:
  state: TrainState
  final_metrics: dict[str, float]
  eval_metrics: dict[str, float]
  start_step: int
  steps_per_second: float
  compile_seconds: float


def _flatten(cfg: Any, prefix: str = "") -> dict[str, Any]:
  out = {}
  for k, v in cfg.items():
    if hasattr(v, "items"):
      out.update(_flatten(v, f"{prefix}{k}."))
    else:
      out[f"{prefix}{k}"] = v
  return out


def _sync(name: str) -> None:
  """A barrier across processes (nothing with one process)."""
  if jax.process_count() > 1:
    multihost_utils.sync_global_devices(name)


def _check_config_matches(workdir: str, config: Any) -> None:
  """Writes ``config.json``; on resume, refuses a config that differs in anything but RESUMABLE_CHANGES.

  Every process reads the file before process 0 (re)writes it, so all of them reach the same verdict;
  then every process checks that it sees the file (a workdir on a disk of one host only fails here).
  """
  path = os.path.join(workdir, "config.json")
  now = json.loads(json.dumps(_flatten(config), default=str))
  if os.path.exists(path):
    with open(path, encoding="utf-8") as f:
      before = json.load(f)
    changed = sorted(k for k in set(now) | set(before)
                     if now.get(k) != before.get(k) and k not in RESUMABLE_CHANGES)
    if changed:
      raise ConfigError(f"workdir {workdir} holds a run with another config; differing fields: "
                       f"{', '.join(changed)}. Use a new --workdir.")
  _sync("train_lib: config.json read")
  if jax.process_index() == 0:
    with open(path, "w", encoding="utf-8") as f:
      json.dump(now, f, indent=1, sort_keys=True)
  _sync("train_lib: config.json written")
  if not os.path.exists(path):
    raise ConfigError(f"workdir {workdir}: process {jax.process_index()} does not see the config.json that "
                      f"process 0 wrote; a run of {jax.process_count()} processes needs a workdir on a "
                      f"filesystem every process sees")


def _topology() -> dict[str, Any]:
  return {"processes": jax.process_count(), "devices": jax.device_count(), "platform": jax.default_backend()}


def _note_topology(workdir: str, resumed: bool, log: Callable[[str], None]) -> None:
  """Keeps ``topology.json`` (processes, devices, platform of the last start); says when a resume changes it."""
  path = os.path.join(workdir, "topology.json")
  now = _topology()
  if resumed and os.path.exists(path):
    with open(path, encoding="utf-8") as f:
      before = json.load(f)
    if before != now:
      log(f"resuming a run last started on {before.get('processes')} process(es), {before.get('devices')} "
          f"{before.get('platform')} device(s) on {now['processes']} process(es), {now['devices']} "
          f"{now['platform']} device(s): the state was re-sharded on restore; the global batches are the same")
  _sync("train_lib: topology.json read")
  if jax.process_index() == 0:
    with open(path, "w", encoding="utf-8") as f:
      json.dump(now, f, indent=1, sort_keys=True)


def mean_over_processes(metrics: dict[str, float]) -> dict[str, float]:
  """The mean of each metric over the processes (float64; the value itself where all processes agree).

  Every process must report the same names. A task that evaluates its share of a held-out set
  (equal shares) gets the mean over the whole set; one that evaluates everything in every process
  gets its value back unchanged.
  """
  if jax.process_count() == 1:
    return dict(metrics)
  keys = sorted(metrics)
  head = np.asarray([zlib.crc32(json.dumps(keys).encode()), len(keys)], np.uint32)
  heads = np.asarray(multihost_utils.process_allgather(head))
  if not (heads == heads[0]).all():
    raise RuntimeError(f"evaluate: the processes returned different metric names (process "
                       f"{jax.process_index()}: {keys})")
  if not keys:
    return {}
  vals = np.asarray([float(metrics[k]) for k in keys], np.float64)
  # float64 bits travel as uint32 pairs: with x64 off jax would round a float64 array to float32.
  bits = np.asarray(multihost_utils.process_allgather(vals.view(np.uint32)), np.uint32)
  table = np.ascontiguousarray(bits).view(np.float64).reshape(jax.process_count(), len(keys))
  same = (table == table[0]).all(axis=0)
  return {k: float(table[0, i]) if same[i] else float(np.mean(table[:, i])) for i, k in enumerate(keys)}


class _NoWriter:
  """What processes other than 0 write: nothing (process 0 writes metrics.jsonl and TensorBoard)."""

  def write(self, step: int, metrics: Any) -> None:
    pass

  def close(self) -> None:
    pass


def train(task: Any, config: Any, workdir: str, *, stop_after: int | None = None,
          log: Callable[[str], None] = print) -> TrainResult:
  """Trains ``task`` as ``config.train`` says, resuming from the newest checkpoint in ``workdir``.

  On resume from step s, the rows of ``metrics.jsonl`` after s (logged by the interrupted run after
  its checkpoint) are dropped and TensorBoard is told to hide them, so every step appears once.
  Re-running a finished run trains nothing: it reports the logged final metrics and a fresh
  evaluation.

  Multi-process runs (after ``initialize_distributed``): every process runs this function with the
  same arguments and a workdir on a filesystem all of them see. The mesh spans every device; each
  process reads only its block of rows of every global batch: ``task.train_batch_rows(step, start,
  stop)`` when the task has it (rows ``start:stop`` of ``train_batch(step)``, read alone), else the
  block is cut from ``train_batch(step)``. Orbax writes each checkpoint once (each array by one
  process); process 0 alone writes ``config.json``, ``metrics.jsonl``, TensorBoard and progress lines.
  ``task.evaluate`` runs in every process and each metric is averaged over the processes
  (:func:`mean_over_processes`) before it is written. A checkpoint restores on another number of
  processes or devices (re-sharded; ``topology.json`` records the last start and the resume says
  what changed).

  Phases (optional; e.g. a bi-level method that alternates which parameters it trains): a task with a
  method ``phase(step) -> int`` (a function of the step, so a resumed run is in the same phase), an int
  attribute ``num_phases`` and ``phase_labels(params) -> pytree of ints`` (which phase trains each leaf; called
  on the ``jax.eval_shape`` of ``init``'s params) gets one jitted step per phase: ``task.loss`` is called with
  the keyword ``phase=p``, and only phase ``p``'s leaves (and their optimizer state) change
  (:func:`~experiments.train_lib.step.phase_optimizers`). Tasks without ``phase`` train as before.

  Args:
    task: an ``experiments.tasks.Task`` (init, loss, train_batch, evaluate).
    config: the run's ``ml_collections.ConfigDict`` (already validated).
    workdir: holds ``checkpoints/``, ``metrics.jsonl``, ``tensorboard/`` and ``config.json``.
    stop_after: stop (and checkpoint) once this step is reached, as an interruption would.
    log: where progress lines go.
  """
  tc = config.train
  # Device checks before config.json is written: a run that cannot start must not claim the workdir.
  try:
    mesh = mesh_lib.make_mesh(tc.num_devices, "config.train.num_devices")
    mesh_lib.check_batch_size(tc.batch_size, mesh, "config.train.batch_size")
  except ValueError as e:
    raise ConfigError(str(e)) from None
  chief = jax.process_index() == 0
  say = log if chief else (lambda line: None)
  os.makedirs(workdir, exist_ok=True)
  _check_config_matches(workdir, config)
  tx = make_optimizer(tc)
  init_key, train_key = jax.random.split(jax.random.PRNGKey(config.seed))

  def init_state():
    params, extra = task.init(init_key)
    return TrainState.create(params, tx, extra)

  phase_of = getattr(task, "phase", None)
  if phase_of is not None:
    num_phases = getattr(task, "num_phases", None)
    labels = task.phase_labels(jax.eval_shape(lambda: task.init(init_key)[0]))
    txs = phase_optimizers(tx, labels, num_phases)
    tx = txs[0]  # every phase's optimizer has the same init
  state = jax.jit(init_state, out_shardings=mesh_lib.replicated(mesh))()
  ckpts = Checkpoints(workdir, max_to_keep=tc.max_checkpoints)
  start = ckpts.latest_step()
  source = getattr(task, "source", None)
  if isinstance(source, str) and source:
    say(f"data: {source}")
  if start is not None:
    state = ckpts.restore(state, start)
    say(f"resumed from step {start} in {ckpts.directory}")
  else:
    start = 0
    say(f"new run in {workdir}: {num_params(state.params):,} parameters, {mesh.devices.size} device(s)"
        + (f" in {jax.process_count()} processes" if jax.process_count() > 1 else ""))
  start = int(start)
  _note_topology(workdir, start > 0, say)
  dropped = truncate_metrics(workdir, start) if chief else 0
  if dropped:
    say(f"metrics.jsonl: dropped {dropped} row(s) logged after step {start} by the interrupted run")

  if phase_of is None:
    step_fns = [make_train_step(task.loss, tx, mesh)]
  else:
    step_fns = [make_train_step(functools.partial(task.loss, phase=p), txs[p], mesh) for p in range(num_phases)]

  def step_fn_of(step: int):
    if phase_of is None:
      return step_fns[0]
    p = phase_of(step)
    if not isinstance(p, (int, np.integer)) or not 0 <= int(p) < num_phases:
      raise ValueError(f"task.phase({step}): expected an int in [0, {num_phases}), got {p!r}")
    return step_fns[int(p)]
  writer = MetricWriter(workdir, tensorboard=tc.tensorboard, start_step=start) if chief else _NoWriter()
  progress = Progress(tc.total_steps, start, say)
  row_start, row_stop = mesh_lib.process_rows(mesh, tc.batch_size)
  read_rows = getattr(task, "train_batch_rows", None)

  def batch_of(step: int):
    if read_rows is not None:
      local = read_rows(step, row_start, row_stop)
    else:
      local = jax.tree.map(lambda x: x[row_start:row_stop], task.train_batch(step))
    return mesh_lib.shard_local_batch(local, mesh, tc.batch_size)

  def evaluate() -> dict[str, float]:
    return mean_over_processes({f"eval/{k}": float(v) for k, v in task.evaluate(state.params, state.extra).items()})
  end = tc.total_steps if stop_after is None else min(tc.total_steps, stop_after)
  pending: list[tuple[int, dict]] = []  # device metrics not yet checked, so steps don't sync
  last: dict[str, float] = {}
  eval_metrics: dict[str, float] = {}
  compile_s, t_run, steps_run = 0.0, 0.0, 0

  def flush_and_check() -> dict[str, float]:
    nonlocal pending
    host = jax.device_get(pending)
    pending = []
    out = {}
    for s, m in host:
      for k, v in m.items():
        if not math.isfinite(float(v)):
          raise NonFiniteError(s, k, float(v))
      out = {k: float(v) for k, v in m.items()}
    return out

  try:
    for step in range(start, end):
      batch = batch_of(step)
      key = jax.random.fold_in(train_key, step)
      t = time.perf_counter()
      state, metrics = step_fn_of(step)(state, batch, key)
      pending.append((step + 1, metrics))
      if step == start:
        jax.block_until_ready(metrics)
        compile_s = time.perf_counter() - t
        progress.reset_clock(step + 1)
        t_run = time.perf_counter()
      done = step + 1
      is_last = done == end
      if done % tc.log_every == 0 or is_last:
        last = flush_and_check()
        writer.write(done, last)
        progress(done, last)
      if (tc.eval_every and done % tc.eval_every == 0) or done == tc.total_steps:
        last = flush_and_check() or last
        eval_metrics = evaluate()
        writer.write(done, eval_metrics)
        say(f"step {done} eval | " + " | ".join(f"{k} {v:.4g}" for k, v in eval_metrics.items()))
      if (tc.checkpoint_every and done % tc.checkpoint_every == 0) or is_last:
        last = flush_and_check() or last
        ckpts.save(done, state)
    steps_run = end - start
    if steps_run <= 0 and start >= tc.total_steps:  # re-run of a finished run: report its evaluation
      last = {k: v for r in read_metrics(workdir) if r.get("step") == start
              for k, v in r.items() if k != "step" and not k.startswith("eval/") and isinstance(v, float)}
      eval_metrics = evaluate()
      say(f"run already complete at step {start}; eval | "
          + " | ".join(f"{k} {v:.4g}" for k, v in eval_metrics.items()))
  finally:
    ckpts.close()
    writer.close()
  rate = (steps_run - 1) / (time.perf_counter() - t_run) if steps_run > 1 else float("nan")
  return TrainResult(state=state, final_metrics=last, eval_metrics=eval_metrics, start_step=start,
                     steps_per_second=rate, compile_seconds=compile_s)
