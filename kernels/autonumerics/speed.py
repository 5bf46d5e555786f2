"""Stacked, cache-resident timing of float32 elementwise functions (the paper's speed protocol).

Real et al. "AutoNumerics-Zero", arXiv:2312.08472: a candidate is applied ``depth`` times in a loop
(``v <- clip(f(v) - shift, lo, hi)``) on a small array that stays in cache, so the time measures the
function's instructions, not memory traffic (a single streaming pass over a large array is
memory-bound on CPU). Compile time is excluded and the median of the repeats is reported by
:mod:`kernels.common.benchmark`; every ratio is against a baseline timed in the same process.
"""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from kernels.autonumerics import expf
from kernels.common import benchmark

__all__ = ["stacked", "exp_cases", "time_cases"]


def stacked(fn: Callable, depth: int = 100, shift: float = 1.25) -> Callable:
  """``x -> v_depth`` with ``v_{k+1} = clip(fn(v_k) - shift, -1, 1)`` (a ``fori_loop``)."""
  if depth < 1:
    raise ValueError(f"depth: expected >= 1, got {depth}")

  def run(x):
    return jax.lax.fori_loop(0, depth, lambda i, v: jnp.clip(fn(v) - jnp.float32(shift), -1.0, 1.0), x)
  return jax.jit(run)


def exp_cases() -> dict[str, Callable]:
  """The functions the bench and the float32 claim compare (all float32 -> float32)."""
  return {
      "jnp.exp": jnp.exp,
      "autonumerics.exp (CW + fitted deg-7, shipped)": expf.exp_f32,
      "CW + minimax deg 6 (classical, 1.03 ULP)": lambda x: expf.cody_waite_exp(x, expf.EXP_COEFFS_DEG6),
      "jnp.exp2": jnp.exp2,
      "autonumerics.exp2 (shipped)": expf.exp2_f32,
  }


def time_cases(cases: dict[str, Callable], n: int = 16384, depth: int = 100, repeats: int = 20,
               baseline: str = "jnp.exp", seed: int = 0) -> list[benchmark.Timing]:
  """Times each case stacked ``depth`` deep on ``n`` float32 inputs in [-1, 1]; ratio vs ``baseline``."""
  x = jax.random.uniform(jax.random.PRNGKey(seed), (n,), jnp.float32, -1.0, 1.0)
  items = [(name, stacked(fn, depth), (x,)) for name, fn in cases.items()]
  return benchmark.compare(items, baseline=baseline, warmup=2, repeats=repeats)
