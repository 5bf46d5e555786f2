"""Stacked, cache-resident timing of float32 elementwise functions (the paper's speed protocol).

Real et al. "AutoNumerics-Zero", arXiv:2312.08472: a candidate is applied ``depth`` times in a loop
(``v <- clip(f(v) - shift, lo, hi)``) on a small array that stays in cache, so the time measures the
function's instructions, not memory traffic (a single streaming pass over a large array is
memory-bound on CPU). Compile time is excluded and the median of the repeats is reported by
:mod:`kernels.common.benchmark`; every ratio is against a baseline timed in the same process.

XLA CPU may split one elementwise fusion into parallel tasks on its intra-op thread pool when its cost
model finds it expensive enough (it does so for the shipped exp's fusion on 16,384 elements, and not
for ``jnp.exp``'s). :func:`one_core_bench` runs the same protocol in a child process that may use one
CPU only, where XLA compiles every case as a single task: the speed per core.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from typing import Callable

import jax
import jax.numpy as jnp

from kernels.autonumerics import expf
from kernels.common import benchmark

__all__ = ["stacked", "stacked_pallas", "exp_cases", "time_cases", "one_core_bench", "SHIPPED_EXP", "SHIPPED_EXP2"]

SHIPPED_EXP = "autonumerics.exp (shipped: CW + evolved 6-FMA kernel, integer 2^n)"
SHIPPED_EXP2 = "autonumerics.exp2 (shipped)"


def stacked(fn: Callable, depth: int = 100, shift: float = 1.25, unroll: bool = False) -> Callable:
  """``x -> v_depth`` with ``v_{k+1} = clip(fn(v_k) - shift, -1, 1)`` (a ``fori_loop``).

  ``unroll=True`` unrolls the loop, so XLA fuses the whole chain into one elementwise kernel: the GPU
  protocol, where a rolled loop would launch one kernel per step and time the launches.
  """
  if depth < 1:
    raise ValueError(f"depth: expected >= 1, got {depth}")

  def run(x):
    return jax.lax.fori_loop(0, depth, lambda i, v: jnp.clip(fn(v) - jnp.float32(shift), -1.0, 1.0), x,
                             unroll=bool(unroll))
  return jax.jit(run)


def stacked_pallas(fn: Callable, depth: int = 100, shift: float = 1.25, block: int = 4096,
                   interpret: bool = False) -> Callable:
  """The same chain inside one Pallas kernel: each program loads a block, applies
  ``v <- clip(fn(v) - shift, -1, 1)`` ``depth`` times (unrolled) and stores it once.

  ``fn`` must be traceable inside a kernel body (``expf.exp_f32``, ``jnp.exp`` — which the Triton
  backend lowers to its own exp). Input length must be a multiple of ``block``.
  """
  import functools

  from jax.experimental import pallas as pl
  if depth < 1:
    raise ValueError(f"depth: expected >= 1, got {depth}")

  def kernel(x_ref, y_ref):
    v = x_ref[...]
    for _ in range(depth):
      v = jnp.clip(fn(v) - jnp.float32(shift), -1.0, 1.0)
    y_ref[...] = v

  def run(x):
    if x.shape[0] % block:
      raise ValueError(f"x: expected a length that is a multiple of block={block}, got {x.shape[0]}")
    return pl.pallas_call(kernel, out_shape=jax.ShapeDtypeStruct(x.shape, jnp.float32),
                          grid=(x.shape[0] // block,), in_specs=[pl.BlockSpec((block,), lambda i: (i,))],
                          out_specs=pl.BlockSpec((block,), lambda i: (i,)), interpret=interpret,
                          name="stacked_exp")(x)
  return jax.jit(functools.partial(run))


def exp_cases(all_cases: bool = True) -> dict[str, Callable]:
  """The functions the bench and the float32 claim compare (all float32 -> float32); ``jnp.exp`` first.

  ``all_cases=False``: only ``jnp.exp`` and the shipped exp.
  """
  cases = {
      "jnp.exp": jnp.exp,
      SHIPPED_EXP: expf.exp_f32,
      "same pipeline, fitted Horner-6 (EXP_COEFFS6, shipped before)": lambda x: expf.shipped_exp(x, expf.EXP_COEFFS6),
      "previous exp (CW + deg 7, floor, two-step 2^n, 3 selects)": lambda x: expf.cody_waite_exp(x, expf.EXP_COEFFS),
      "CW + minimax deg 6, classical pipeline (1.03 ULP)": lambda x: expf.cody_waite_exp(x, expf.EXP_COEFFS_DEG6),
      "jnp.exp2": jnp.exp2,
      SHIPPED_EXP2: expf.exp2_f32,
      "previous exp2 (deg 7, round, two-step 2^n)": expf.cody_waite_exp2,
  }
  return cases if all_cases else {k: cases[k] for k in ("jnp.exp", SHIPPED_EXP)}


def time_cases(cases: dict[str, Callable], n: int = 16384, depth: int = 100, repeats: int = 20,
               baseline: str = "jnp.exp", seed: int = 0, unroll: bool = False,
               pallas_cases: dict[str, Callable] | None = None, interpret: bool = False) -> list[benchmark.Timing]:
  """Times each case stacked ``depth`` deep on ``n`` float32 inputs in [-1, 1]; ratio vs ``baseline``.

  ``pallas_cases``: functions stacked inside one Pallas kernel (:func:`stacked_pallas`), timed in the
  same run (names should say so).
  """
  x = jax.random.uniform(jax.random.PRNGKey(seed), (n,), jnp.float32, -1.0, 1.0)
  items = [(name, stacked(fn, depth, unroll=unroll), (x,)) for name, fn in cases.items()]
  items += [(name, stacked_pallas(fn, depth, interpret=interpret), (x,))
            for name, fn in (pallas_cases or {}).items()]
  return benchmark.compare(items, baseline=baseline, warmup=2, repeats=repeats)


def one_core_bench(cpu: int, rounds: int, repeats: int, n: int = 16384, depth: int = 100,
                   all_cases: bool = True, timeout_s: float = 900.0) -> list[dict]:
  """Runs ``python -m kernels.autonumerics.bench`` in a child process restricted to CPU ``cpu`` from its start.

  XLA CPU sizes its thread pool, and so its parallel split of a fusion, from the CPUs the process may use
  when the client starts; pinning an already running process would keep the split (both tasks then share
  one core). The child compiles every case as one task, so this measures the speed per core.
  Returns the child's summary rows (``case``, ``ns_per_element_min``, ``ratio_vs_jnp_exp_min``, ...).
  """
  if not hasattr(os, "sched_setaffinity"):
    raise RuntimeError("one_core_bench: needs os.sched_setaffinity (Linux)")
  if cpu not in os.sched_getaffinity(0):
    raise ValueError(f"cpu: expected one of the allowed CPUs {sorted(os.sched_getaffinity(0))}, got {cpu}")
  with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "bench.json")
    bench = __name__.rpartition(".")[0] + ".bench"    # `jax_zoo.kernels.autonumerics.bench` in a wheel
    args = [bench, "--one_core=false", f"--rounds={rounds}", f"--repeats={repeats}",
            f"--n={n}", f"--depth={depth}", f"--all_cases={str(all_cases).lower()}", f"--out={out}"]
    # the child restricts itself before it imports JAX (no preexec_fn: forking a threaded JAX process is unsafe)
    boot = (f"import os, runpy, sys; os.sched_setaffinity(0, {{{int(cpu)}}}); sys.argv = {args!r}; "
            f"runpy.run_module({bench!r}, run_name='__main__')")
    subprocess.run([sys.executable, "-c", boot], check=True, capture_output=True, timeout=timeout_s)
    with open(out, encoding="utf-8") as f:
      return json.load(f)["results"]["all cores"]
