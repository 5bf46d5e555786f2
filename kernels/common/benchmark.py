"""Timing helper used by every benchmark script of the zoo (kernels/<op>/bench.py, experiments/bench.py).

Compile time is measured separately (``jit(...).lower(...).compile()``), the compiled function is
warmed up, every call is closed with ``jax.block_until_ready``, and the median of the repeats is
reported; ratios are always against a baseline measured in the same process.
"""
from __future__ import annotations

import dataclasses
import json
import platform
import statistics
import time
from typing import Any, Callable, Sequence

import jax


@dataclasses.dataclass
class Timing:
  name: str
  compile_s: float
  median_s: float
  min_s: float
  max_s: float
  repeats: int
  ratio: float = float("nan")  # median / baseline median (lower is faster)

  def as_dict(self) -> dict[str, Any]:
    return dataclasses.asdict(self)


def time_fn(name: str, fn: Callable, *args: Any, warmup: int = 3, repeats: int = 20,
            min_time_s: float = 0.0) -> Timing:
  """Times ``fn(*args)``. ``fn`` is jitted here unless it already is; compile time is reported apart.

  Args:
    warmup: calls of the compiled function before timing.
    repeats: timed calls (at least); more are run until ``min_time_s`` of timed work has accumulated.
  """
  if warmup < 0 or repeats < 1:
    raise ValueError(f"warmup, repeats: expected warmup >= 0 and repeats >= 1, got {warmup}, {repeats}")
  jitted = fn if hasattr(fn, "lower") else jax.jit(fn)
  t = time.perf_counter()
  compiled = jitted.lower(*args).compile()
  compile_s = time.perf_counter() - t
  for _ in range(warmup):
    jax.block_until_ready(compiled(*args))
  times: list[float] = []
  while len(times) < repeats or sum(times) < min_time_s:
    t = time.perf_counter()
    jax.block_until_ready(compiled(*args))
    times.append(time.perf_counter() - t)
  return Timing(name, compile_s, statistics.median(times), min(times), max(times), len(times))


def compare(cases: Sequence[tuple[str, Callable, tuple]], baseline: str, **kwargs: Any) -> list[Timing]:
  """Times every ``(name, fn, args)`` case in this process and fills ``ratio`` against ``baseline``."""
  names = [c[0] for c in cases]
  if baseline not in names:
    raise ValueError(f"baseline: expected one of {names}, got {baseline!r}")
  timings = [time_fn(name, fn, *args, **kwargs) for name, fn, args in cases]
  base = timings[names.index(baseline)].median_s
  for t in timings:
    t.ratio = t.median_s / base
  return timings


def format_table(timings: Sequence[Timing], title: str = "") -> str:
  rows = [f"{title}" if title else "", "| case | median (ms) | min (ms) | compile (s) | ratio vs baseline |",
          "|---|---|---|---|---|"]
  for t in timings:
    rows.append(f"| {t.name} | {t.median_s * 1e3:.3f} | {t.min_s * 1e3:.3f} | {t.compile_s:.2f} | {t.ratio:.3f} |")
  return "\n".join(r for r in rows if r)


def environment() -> dict[str, Any]:
  return {"jax": jax.__version__, "backend": jax.default_backend(),
          "devices": [d.device_kind for d in jax.devices()], "machine": platform.machine(),
          "python": platform.python_version()}


def write_json(path: str, results: dict[str, Sequence[Timing]]) -> None:
  payload = {"environment": environment(),
             "benchmarks": {k: [t.as_dict() for t in v] for k, v in results.items()}}
  with open(path, "w", encoding="utf-8") as f:
    json.dump(payload, f, indent=1)
