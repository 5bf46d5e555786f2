"""Metrics to ``metrics.jsonl`` (and TensorBoard event files when tensorboardX is installed), progress lines."""
from __future__ import annotations

import datetime
import itertools
import json
import math
import os
import socket
import struct
import time
from typing import Any, Callable, Mapping


class MetricWriter:
  """Appends one JSON object per call to ``workdir/metrics.jsonl``; mirrors scalars to TensorBoard.

  Every write reaches the operating system before ``write`` returns (the JSON line is flushed, the
  TensorBoard event written synchronously and flushed), so a run killed at any point (SIGKILL
  included) keeps everything it logged. The event goes first, so the event file never has fewer steps
  than ``metrics.jsonl``. When ``workdir/tensorboard`` already holds event files (a resumed or
  restarted run), the new file starts with a TensorBoard purge marker at ``start_step + 1``: the
  steps the interrupted run logged after its checkpoint are hidden, as ``metrics.jsonl`` drops them
  (:func:`truncate_metrics`).
  """

  def __init__(self, workdir: str, *, tensorboard: bool = True, start_step: int = 0):
    os.makedirs(workdir, exist_ok=True)
    self.path = os.path.join(workdir, "metrics.jsonl")
    self._file = open(self.path, "a", encoding="utf-8")
    self._tb = _EventFile.open(os.path.join(workdir, "tensorboard"), start_step) if tensorboard else None

  def write(self, step: int, metrics: Mapping[str, Any]) -> None:
    row = {"step": int(step), **{k: _to_py(v) for k, v in metrics.items()}}
    if self._tb is not None:
      self._tb.scalars(int(step), {k: v for k, v in row.items() if k != "step" and isinstance(v, (int, float))})
    self._file.write(json.dumps(row) + "\n")
    self._file.flush()

  def close(self) -> None:
    self._file.close()
    if self._tb is not None:
      self._tb.close()


_EVENT_FILE_COUNT = itertools.count()


class _EventFile:
  """A TensorBoard event file written synchronously: TFRecord framing of tensorboardX's ``Event`` protos.

  tensorboardX's ``SummaryWriter`` hands events to a background thread through a queue and flushes
  every ``flush_secs``; a killed process loses what is still queued. Here each record is written in
  one call and flushed to the operating system before returning (no fsync: a killed process loses
  nothing, a lost machine may).
  """

  @classmethod
  def open(cls, logdir: str, start_step: int) -> "_EventFile | None":
    try:  # optional dependency (extra "report")
      from tensorboardX.proto import event_pb2, summary_pb2
      from tensorboardX.record_writer import masked_crc32c
    except ImportError:
      return None
    return cls(logdir, start_step, event_pb2, summary_pb2, masked_crc32c)

  def __init__(self, logdir, start_step, event_pb2, summary_pb2, masked_crc32c):
    os.makedirs(logdir, exist_ok=True)
    earlier = any(".tfevents." in n for n in os.listdir(logdir))
    now = time.time()
    # Sorted after every earlier file of this directory (TensorBoard reads them in name order).
    name = (f"events.out.tfevents.{int(now)}.{socket.gethostname()}.{time.time_ns()}.{os.getpid()}."
            f"{next(_EVENT_FILE_COUNT)}")
    self.path = os.path.join(logdir, name)
    self._Event, self._Summary, self._crc = event_pb2.Event, summary_pb2.Summary, masked_crc32c
    self._file = open(self.path, "wb")
    self._write(self._Event(wall_time=now, step=int(start_step), file_version="brain.Event:2"))
    if earlier:  # TensorBoard hides the events of earlier files with step >= this one
      self._write(self._Event(wall_time=now, step=int(start_step) + 1,
                              session_log=event_pb2.SessionLog(status=event_pb2.SessionLog.START)))

  def _write(self, event) -> None:
    data = event.SerializeToString()
    header = struct.pack("<Q", len(data))
    self._file.write(header + struct.pack("<I", self._crc(header)) + data + struct.pack("<I", self._crc(data)))
    self._file.flush()

  def scalars(self, step: int, values: Mapping[str, float]) -> None:
    if values:
      summary = self._Summary(value=[self._Summary.Value(tag=k, simple_value=float(v)) for k, v in values.items()])
      self._write(self._Event(wall_time=time.time(), step=int(step), summary=summary))

  def close(self) -> None:
    self._file.close()


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


def truncate_metrics(workdir: str, step: int) -> int:
  """Drops the rows of ``workdir/metrics.jsonl`` with a step after ``step``; returns how many went.

  A resumed run restarts from its checkpoint at ``step``; the rows the interrupted run logged after
  it would otherwise appear twice. A line cut short by a kill is dropped too. The file is replaced
  atomically (written beside it, synced, renamed), so a kill during the rewrite leaves either the
  old or the new file.
  """
  path = os.path.join(workdir, "metrics.jsonl")
  if not os.path.exists(path):
    return 0
  with open(path, encoding="utf-8", errors="replace") as f:
    text = f.read()
  keep, dropped = [], 0
  for line in text.splitlines():
    if not line.strip():
      continue
    try:
      row = json.loads(line)
      ok = isinstance(row, dict) and int(row["step"]) <= step
    except (ValueError, KeyError, TypeError):
      ok = False
    if ok:
      keep.append(line)
    else:
      dropped += 1
  if dropped == 0 and (not text or text.endswith("\n")):
    return 0
  tmp = path + ".tmp"
  with open(tmp, "w", encoding="utf-8") as f:
    f.write("".join(line + "\n" for line in keep))
    f.flush()
    os.fsync(f.fileno())
  os.replace(tmp, path)
  return dropped


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
