"""Metrics to ``metrics.jsonl`` (and TensorBoard event files when tensorboardX is installed), progress lines."""
from __future__ import annotations

import datetime
import json
import math
import os
import time
from typing import Any, Callable, Mapping


class MetricWriter:
  """Appends one JSON object per call to ``workdir/metrics.jsonl``; mirrors scalars to TensorBoard."""

  def __init__(self, workdir: str, *, tensorboard: bool = True):
    os.makedirs(workdir, exist_ok=True)
    self.path = os.path.join(workdir, "metrics.jsonl")
    self._file = open(self.path, "a", encoding="utf-8")
    self._tb = None
    if tensorboard:
      try:
        from tensorboardX import SummaryWriter  # optional dependency (extra "report")
      except ImportError:
        SummaryWriter = None
      if SummaryWriter is not None:
        self._tb = SummaryWriter(os.path.join(workdir, "tensorboard"))

  def write(self, step: int, metrics: Mapping[str, Any]) -> None:
    row = {"step": int(step), **{k: _to_py(v) for k, v in metrics.items()}}
    self._file.write(json.dumps(row) + "\n")
    self._file.flush()
    if self._tb is not None:
      for k, v in row.items():
        if k != "step" and isinstance(v, (int, float)):
          self._tb.add_scalar(k, v, int(step))

  def close(self) -> None:
    self._file.close()
    if self._tb is not None:
      self._tb.close()


def _to_py(v: Any) -> Any:
  try:
    f = float(v)
  except (TypeError, ValueError):
    return v
  return f if math.isfinite(f) else str(f)


def read_metrics(workdir: str) -> list[dict]:
  path = os.path.join(workdir, "metrics.jsonl")
  if not os.path.exists(path):
    return []
  with open(path, encoding="utf-8") as f:
    return [json.loads(line) for line in f if line.strip()]


class Progress:
  """Formats ``step i/n | metrics | steps/s | ETA`` lines from wall time between calls."""

  def __init__(self, total_steps: int, start_step: int = 0, log: Callable[[str], None] = print):
    self.total, self.log = total_steps, log
    self._t0, self._s0 = time.perf_counter(), start_step

  def reset_clock(self, step: int) -> None:
    """Restarts the rate measurement (after compilation, so steps/s is not diluted by it)."""
    self._t0, self._s0 = time.perf_counter(), step

  def __call__(self, step: int, metrics: Mapping[str, float]) -> None:
    dt = time.perf_counter() - self._t0
    rate = (step - self._s0) / dt if dt > 0 and step > self._s0 else float("nan")
    eta = (self.total - step) / rate if rate == rate and rate > 0 else float("nan")
    eta_s = str(datetime.timedelta(seconds=round(eta))) if eta == eta else "?"
    shown = " | ".join(f"{k} {v:.4g}" for k, v in sorted(metrics.items()) if isinstance(v, float))
    self.log(f"step {step}/{self.total} | {shown} | {rate:.1f} steps/s | ETA {eta_s}")
