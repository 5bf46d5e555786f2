"""Benchmark of the shipped float32 exp against jnp.exp and classical Cody–Waite kernels.

  python -m kernels.autonumerics.bench [--n=16384] [--depth=100] [--repeats=50] [--rounds=3]
      [--impl=xla] [--out=autonumerics_bench.json]

Paper: Real et al., "AutoNumerics-Zero", arXiv:2312.08472 (float32 track: < 1 ULP code that is faster
than the baselines under XLA).

Minimum times are the paper's protocol (minimum over repeats) and the robust figure on a shared
machine; medians are printed beside them. Protocol (the notes' §4, pitfall 4): a single pass over a large array is memory-bound on CPU, so each
function is applied ``--depth`` times in a ``fori_loop`` (``v <- clip(f(v) - 1.25, -1, 1)``) on ``--n``
float32 inputs that stay in cache (:mod:`kernels.autonumerics.speed`). Compile excluded, medians of
``--repeats`` timed calls, ratio against ``jnp.exp`` timed in the same process; the whole table is
measured ``--rounds`` times (interleaved) to expose machine noise. Cases: ``jnp.exp``, the shipped exp
(Cody–Waite + fitted degree-7 kernel, two-step scaling), Cody–Waite + degree-6 minimax (the classical
kernel that is 1.03 ULP), ``jnp.exp2`` and the shipped exp2. ``--impl=pallas`` also times the Pallas
form of the shipped exp (GPU/TPU; interpret mode on CPU is not a speed measurement).
"""
from __future__ import annotations

import json
import statistics

from absl import app, flags

_N = flags.DEFINE_integer("n", 16384, "Elements (kept small so they stay in cache).")
_DEPTH = flags.DEFINE_integer("depth", 100, "Stacked applications per call.")
_REPEATS = flags.DEFINE_integer("repeats", 50, "Timed calls per case (median reported).")
_ROUNDS = flags.DEFINE_integer("rounds", 3, "Times the whole table is measured.")
_IMPL = flags.DEFINE_enum("impl", "xla", ["xla", "pallas"], "Also time the Pallas form (pallas).")
_OUT = flags.DEFINE_string("out", "", "Write results as JSON here.")


def main(argv):
  del argv
  import jax

  from kernels.autonumerics import api, speed
  from kernels.common import benchmark

  cases = speed.exp_cases()
  if _IMPL.value == "pallas":
    cases["autonumerics.exp (Pallas)"] = lambda x: api.exp(x, impl="pallas",
                                                          interpret=jax.default_backend() == "cpu")
  rounds = []
  for r in range(_ROUNDS.value):
    t = speed.time_cases(cases, n=_N.value, depth=_DEPTH.value, repeats=_REPEATS.value, seed=r)
    rounds.append(t)
    print(benchmark.format_table(t, f"round {r + 1}/{_ROUNDS.value} ({jax.devices()[0].device_kind})"))
  scale = 1e9 / (_N.value * _DEPTH.value)
  print("\n| case | ns / element / call (min over rounds) | time ratio vs jnp.exp (min) | "
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
                    "ns_per_element_median": ns_med, "ratio_vs_jnp_exp_median": r_med})
    print(f"| {name} | {ns_min:.3f} | {r_min:.3f} | {ns_med:.3f} | {r_med:.3f} |")
  if _OUT.value:
    with open(_OUT.value, "w", encoding="utf-8") as f:
      json.dump({"environment": benchmark.environment(), "n": _N.value, "depth": _DEPTH.value,
                 "summary": summary, "rounds": [[t.as_dict() for t in rd] for rd in rounds]}, f, indent=1)


if __name__ == "__main__":
  app.run(main)
