"""The training loop shared by every trained method: resume, step, guard, log, evaluate, checkpoint."""
from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from typing import Any, Callable

import jax

from experiments.train_lib import mesh as mesh_lib
from experiments.train_lib.checkpoint import Checkpoints
from experiments.train_lib.state import TrainState, num_params
from experiments.train_lib.step import make_optimizer, make_train_step
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


def _check_config_matches(workdir: str, config: Any) -> None:
  """Writes ``config.json``; on resume, refuses a config that differs in anything but RESUMABLE_CHANGES."""
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
  with open(path, "w", encoding="utf-8") as f:
    json.dump(now, f, indent=1, sort_keys=True)


def train(task: Any, config: Any, workdir: str, *, stop_after: int | None = None,
          log: Callable[[str], None] = print) -> TrainResult:
  """Trains ``task`` as ``config.train`` says, resuming from the newest checkpoint in ``workdir``.

  On resume from step s, the rows of ``metrics.jsonl`` after s (logged by the interrupted run after
  its checkpoint) are dropped and TensorBoard is told to hide them, so every step appears once.
  Re-running a finished run trains nothing: it reports the logged final metrics and a fresh
  evaluation.

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
  os.makedirs(workdir, exist_ok=True)
  _check_config_matches(workdir, config)
  tx = make_optimizer(tc)
  init_key, train_key = jax.random.split(jax.random.PRNGKey(config.seed))

  def init_state():
    params, extra = task.init(init_key)
    return TrainState.create(params, tx, extra)

  state = jax.jit(init_state, out_shardings=mesh_lib.replicated(mesh))()
  ckpts = Checkpoints(workdir, max_to_keep=tc.max_checkpoints)
  start = ckpts.latest_step()
  if start is not None:
    state = ckpts.restore(state, start)
    log(f"resumed from step {start} in {ckpts.directory}")
  else:
    start = 0
    log(f"new run in {workdir}: {num_params(state.params):,} parameters, {mesh.devices.size} device(s)")
  start = int(start)
  dropped = truncate_metrics(workdir, start)
  if dropped:
    log(f"metrics.jsonl: dropped {dropped} row(s) logged after step {start} by the interrupted run")

  step_fn = make_train_step(task.loss, tx, mesh)
  writer = MetricWriter(workdir, tensorboard=tc.tensorboard, start_step=start)
  progress = Progress(tc.total_steps, start, log)
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
      batch = mesh_lib.shard_batch(task.train_batch(step), mesh)
      key = jax.random.fold_in(train_key, step)
      t = time.perf_counter()
      state, metrics = step_fn(state, batch, key)
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
        eval_metrics = {f"eval/{k}": float(v) for k, v in task.evaluate(state.params, state.extra).items()}
        writer.write(done, eval_metrics)
        log(f"step {done} eval | " + " | ".join(f"{k} {v:.4g}" for k, v in eval_metrics.items()))
      if (tc.checkpoint_every and done % tc.checkpoint_every == 0) or is_last:
        last = flush_and_check() or last
        ckpts.save(done, state)
    steps_run = end - start
    if steps_run <= 0 and start >= tc.total_steps:  # re-run of a finished run: report its evaluation
      last = {k: v for r in read_metrics(workdir) if r.get("step") == start
              for k, v in r.items() if k != "step" and not k.startswith("eval/") and isinstance(v, float)}
      eval_metrics = {f"eval/{k}": float(v) for k, v in task.evaluate(state.params, state.extra).items()}
      log(f"run already complete at step {start}; eval | "
          + " | ".join(f"{k} {v:.4g}" for k, v in eval_metrics.items()))
  finally:
    ckpts.close()
    writer.close()
  rate = (steps_run - 1) / (time.perf_counter() - t_run) if steps_run > 1 else float("nan")
  return TrainResult(state=state, final_metrics=last, eval_metrics=eval_metrics, start_step=start,
                     steps_per_second=rate, compile_seconds=compile_s)
