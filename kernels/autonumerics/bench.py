"""Benchmark of the shipped float32 exp / exp2 against jnp.exp / jnp.exp2 and classical Cody–Waite kernels.

  python -m kernels.autonumerics.bench [--n=16384] [--depth=100] [--repeats=50] [--rounds=3]
      [--one_core=true] [--impl=xla] [--out=autonumerics_bench.json]

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
``--impl=pallas`` also times the Pallas form of the shipped exp (GPU/TPU; interpret mode on CPU is not
a speed measurement).
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
_IMPL = flags.DEFINE_enum("impl", "xla", ["xla", "pallas"], "Also time the Pallas form (pallas).")
_OUT = flags.DEFINE_string("out", "", "Write results as JSON here.")


def _measure(cases, label: str) -> list[dict]:
  import jax

  from kernels.autonumerics import speed
  from kernels.common import benchmark
  rounds = []
  for r in range(_ROUNDS.value):
    t = speed.time_cases(cases, n=_N.value, depth=_DEPTH.value, repeats=_REPEATS.value, seed=r)
    rounds.append(t)
    print(benchmark.format_table(t, f"{label}: round {r + 1}/{_ROUNDS.value} ({jax.devices()[0].device_kind})"))
  scale = 1e9 / (_N.value * _DEPTH.value)
  print(f"\n{label}\n\n| case | ns / element / call (min over rounds) | time ratio vs jnp.exp (min) | "
        "ns / element / call (median of medians) | time ratio vs jnp.exp (median) |")
  print("|---|---|---|---|---|")
  summary = []
  base_min = min(rd[0].min_s for rd in rounds)
  for i, name in enumerate(cases):
    ns_min = min(rd[i].min_s for rd in rounds) * scale
    ns_med = statistics.median(rd[i].median_s for rd in rounds) * scale
    r_min = min(rd[i].min_s for rd in rounds) / base_min
    r_med = statistics.median(rd[i].ratio for rd in rounds)
    summary.append({"case": name, "ns_per_element_min": ns_min, "ratio_vs_jnp_exp_min": r_min,
                    "ns_per_element_median": ns_med, "ratio_vs_jnp_exp_median": r_med,
                    "rounds": [rd[i].as_dict() for rd in rounds]})
    print(f"| {name} | {ns_min:.3f} | {r_min:.3f} | {ns_med:.3f} | {r_med:.3f} |")
  return summary


def main(argv):
  del argv
  import jax

  from kernels.autonumerics import api, speed
  from kernels.common import benchmark

  cases = speed.exp_cases(_ALL_CASES.value)
  if _IMPL.value == "pallas":
    cases["autonumerics.exp (Pallas)"] = lambda x: api.exp(x, impl="pallas",
                                                          interpret=jax.default_backend() == "cpu")
  results = {"all cores": _measure(cases, f"all allowed CPUs ({len(os.sched_getaffinity(0))})")}
  if _ONE_CORE.value:
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
