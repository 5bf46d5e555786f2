"""``python -m kernels.symbolic.bench [--sizes 50,100] [--batch 256]``: per reaction network and method (naive,
e-graph, SymPy cse) the cost-model value, jaxpr equations, compile time and median jitted run time."""
from __future__ import annotations

import argparse

from kernels.common.benchmark import environment
from kernels.symbolic import experiment, networks


def main(argv=None) -> None:
  ap = argparse.ArgumentParser(description=__doc__)
  ap.add_argument("--sizes", default="50,100", help="random network sizes (species), comma separated")
  ap.add_argument("--batch", type=int, default=256)
  ap.add_argument("--repeats", type=int, default=30)
  a = ap.parse_args(argv)
  print(environment())
  ws = [f() for f in networks.CLASSIC] + [networks.random_network(int(s), seed=i)
                                          for i, s in enumerate(a.sizes.split(","))]
  print("| network | method | cost | jaxpr eqns | compile s | median µs |\n|---|---|---|---|---|---|")
  for w in ws:
    r = experiment.network_benchmark(w, batch=a.batch, repeats=a.repeats)
    for m, v in r["methods"].items():
      print(f"| {w.name} | {m} | {v['cost']:.0f} | {v['eqns']} | {v['compile_s']:.2f} | {v['median_s'] * 1e6:.1f} |")


if __name__ == "__main__":
  main()
