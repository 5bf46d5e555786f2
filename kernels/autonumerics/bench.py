"""Benchmark of the shipped float32 exp / exp2 against jnp.exp / jnp.exp2 and classical Cody–Waite kernels.

  python -m kernels.autonumerics.bench [--n=16384] [--depth=100] [--repeats=50] [--rounds=3]
      [--one_core=true] [--impl=xla] [--unroll=auto] [--out=autonumerics_bench.json]

Paper: Real et al., "AutoNumerics-Zero", arXiv:2312.08472 (float32 track: < 1 ULP code that is faster
than the baselines under XLA).

Protocol (the notes' §4, pitfall 4): a single pass over a large array is memory-bound on CPU, so each
function is applied ``--depth`` times in a ``fori_loop`` (``v <- clip(f(v) - 1.25, -1, 1)``) on ``--n``
float32 inputs that stay in cache (:mod:`kernels.autonumerics.speed`). Compile excluded, ``--repeats``
timed calls per case, the whole table measured ``--rounds`` times (interleaved) to expose machine
noise, ratios against ``jnp.exp`` timed in the same process. Minimum times are the paper's protocol
(minimum over repeats) and the robust figure on a shared machine; medians are printed beside them.
With ``--one_core`` (default) the table is measured a second time in a child process that may use one
CPU only (:func:`kernels.autonumerics.speed.one_core_bench`): XLA CPU splits the shipped exp's fusion
into two parallel tasks when it may use two CPUs (not ``jnp.exp``'s), and the one-core table is the
speed per core, every case compiled as one task.
On a GPU use a large ``--n`` (e.g. 2^24: the data need not fit a cache there, the unrolled chain is
compute-bound) and the default ``--unroll=auto``, which unrolls the stacked loop so XLA fuses it into one
kernel (a rolled loop would time one kernel launch per step); ``--one_core`` applies to CPUs only.
``--impl=pallas`` also times ``jnp.exp`` and the shipped exp's body each stacked inside one Pallas kernel
(GPU/TPU; interpret mode on CPU is not a speed measurement).
"""
from __future__ import annotations

import json
import os
import statistics

from absl import app, flags

_N = flags.DEFINE_integer("n", 16384, "Elements (kept small so they stay in cache).")
_DEPTH = flags.DEFINE_integer("depth", 100, "Stacked applications per call.")
_REPEATS = flags.DEFINE_integer("repeats", 50, "Timed calls per case (median reported).")
_ROUNDS = flags.DEFINE_integer("rounds", 3, "Times the whole table is measured.")
_ONE_CORE = flags.DEFINE_bool("one_core", True, "Also measure in a child process restricted to one CPU.")
_ALL_CASES = flags.DEFINE_bool("all_cases", True, "Every case; false: jnp.exp and the shipped exp only.")
_UNROLL = flags.DEFINE_enum("unroll", "auto", ["auto", "true", "false"],
                            "Unroll the stacked loop into one fused kernel (auto: on GPU/TPU, where a rolled "
                            "loop launches one kernel per step).")
_IMPL = flags.DEFINE_enum("impl", "xla", ["xla", "pallas"], "Also time the Pallas form (pallas).")
_OUT = flags.DEFINE_string("out", "", "Write results as JSON here.")


def _measure(cases, label: str, pallas_cases=None) -> list[dict]:
  import jax

  from kernels.autonumerics import speed
  from kernels.common import benchmark
  rounds = []
  for r in range(_ROUNDS.value):
    t = speed.time_cases(cases, n=_N.value, depth=_DEPTH.value, repeats=_REPEATS.value, seed=r,
                         unroll=_unroll(), pallas_cases=pallas_cases,
                         interpret=jax.default_backend() == "cpu")
    rounds.append(t)
    print(benchmark.format_table(t, f"{label}: round {r + 1}/{_ROUNDS.value} ({jax.devices()[0].device_kind})"))
  scale = 1e9 / (_N.value * _DEPTH.value)
  print(f"\n{label}\n\n| case | ns / element / call (min over rounds) | time ratio vs jnp.exp (min) | "
        "ns / element / call (median of medians) | time ratio vs jnp.exp (median) |")
  print("|---|---|---|---|---|")
  summary = []
  base_min = min(rd[0].min_s for rd in rounds)
  for i, name in enumerate([*cases, *(pallas_cases or {})]):
    ns_min = min(rd[i].min_s for rd in rounds) * scale
    ns_med = statistics.median(rd[i].median_s for rd in rounds) * scale
    r_min = min(rd[i].min_s for rd in rounds) / base_min
    r_med = statistics.median(rd[i].ratio for rd in rounds)
    summary.append({"case": name, "ns_per_element_min": ns_min, "ratio_vs_jnp_exp_min": r_min,
                    "ns_per_element_median": ns_med, "ratio_vs_jnp_exp_median": r_med,
                    "rounds": [rd[i].as_dict() for rd in rounds]})
    print(f"| {name} | {ns_min:.3f} | {r_min:.3f} | {ns_med:.3f} | {r_med:.3f} |")
  return summary


def _unroll() -> bool:
  import jax
  return jax.default_backend() != "cpu" if _UNROLL.value == "auto" else _UNROLL.value == "true"


def main(argv):
  del argv
  import jax
  import jax.numpy as jnp

  from kernels.autonumerics import speed
  from kernels.common import benchmark

  from kernels.autonumerics import expf
  cases = speed.exp_cases(_ALL_CASES.value)
  pallas_cases = None
  if _IMPL.value == "pallas":
    # the whole stacked chain inside one Pallas kernel, for jnp.exp (the backend's own exp lowering)
    # and the shipped body alike
    pallas_cases = {"jnp.exp inside one Pallas kernel": jnp.exp,
                    "autonumerics exp body inside one Pallas kernel": expf.exp_f32}
  on_cpu = jax.default_backend() == "cpu"
  label = (f"all allowed CPUs ({len(os.sched_getaffinity(0))})" if on_cpu else
           f"{jax.default_backend()} {jax.devices()[0].device_kind}")
  print(f"n = {_N.value}, depth = {_DEPTH.value}, unrolled: {_unroll()}")
  results = {"all cores": _measure(cases, label, pallas_cases)}
  if _ONE_CORE.value and on_cpu:
    cpu = min(os.sched_getaffinity(0))
    rows = speed.one_core_bench(cpu, _ROUNDS.value, _REPEATS.value, _N.value, _DEPTH.value, _ALL_CASES.value)
    results["one core"] = rows
    print(f"\nchild process restricted to CPU {cpu} (every case one task)\n\n| case | ns / element / call (min) "
          "| time ratio vs jnp.exp (min) | ns / element / call (median) | time ratio vs jnp.exp (median) |")
    print("|---|---|---|---|---|")
    for row in rows:
      print(f"| {row['case']} | {row['ns_per_element_min']:.3f} | {row['ratio_vs_jnp_exp_min']:.3f} | "
            f"{row['ns_per_element_median']:.3f} | {row['ratio_vs_jnp_exp_median']:.3f} |")
  if _OUT.value:
    with open(_OUT.value, "w", encoding="utf-8") as f:
      json.dump({"environment": benchmark.environment(), "n": _N.value, "depth": _DEPTH.value,
                 "results": results}, f, indent=1)


if __name__ == "__main__":
  app.run(main)
