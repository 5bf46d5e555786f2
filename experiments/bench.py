"""Model benchmarks, jitted, with ratios against baselines measured in the same run.

  python -m experiments.bench [--only=hopfield] [--repeats=30] [--out=bench.json]

``hopfield``: the Hopfield layer at one update (projections on, layer norms off) against flax's
``MultiHeadDotProductAttention`` at equal sizes; both compute softmax(beta Q K^T) V with
beta = 1/sqrt(head dim), so the ratio is the cost of the Hopfield layer's generality.
"""
from __future__ import annotations

from typing import Callable

from absl import app, flags

_ONLY = flags.DEFINE_list("only", [], "Benchmarks to run (default: all).")
_REPEATS = flags.DEFINE_integer("repeats", 30, "Timed repeats per case.")
_OUT = flags.DEFINE_string("out", "", "Write the timings as JSON here.")
_SIZES = flags.DEFINE_string("sizes", "8,128,128,4", "batch,length,features,heads for the hopfield bench.")


def bench_hopfield(repeats: int) -> dict:
  import flax.linen as nn
  import jax
  import jax.numpy as jnp

  from kernels.common import benchmark
  from models.hopfield import Hopfield

  b, t, f, h = (int(s) for s in _SIZES.value.split(","))
  x = jax.random.normal(jax.random.PRNGKey(0), (b, t, f), jnp.float32)
  hop = Hopfield(num_heads=h, hidden_size=f, normalize_stored_pattern=False, normalize_state_pattern=False,
                 normalize_pattern_projection=False)
  mha = nn.MultiHeadDotProductAttention(num_heads=h, qkv_features=f, out_features=f)
  hp = hop.init(jax.random.PRNGKey(1), x, x)
  mp = mha.init(jax.random.PRNGKey(2), x, x)

  def grad_of(apply, params):
    return jax.grad(lambda p: jnp.sum(apply(p) ** 2))(params)

  cases = [
      ("flax MHA forward", lambda p, x: mha.apply(p, x, x), (mp, x)),
      ("Hopfield forward", lambda p, x: hop.apply(p, x, x), (hp, x)),
      ("flax MHA grad", lambda p, x: grad_of(lambda q: mha.apply(q, x, x), p), (mp, x)),
      ("Hopfield grad", lambda p, x: grad_of(lambda q: hop.apply(q, x, x), p), (hp, x)),
  ]
  fwd = benchmark.compare(cases[:2], baseline="flax MHA forward", repeats=repeats)
  bwd = benchmark.compare(cases[2:], baseline="flax MHA grad", repeats=repeats)
  title = f"hopfield vs flax attention, B={b} T={t} F={f} H={h}, {jax.default_backend()}"
  print(benchmark.format_table(fwd + bwd, title))
  return {"hopfield_forward": fwd, "hopfield_grad": bwd}


BENCHES: dict[str, Callable[[int], dict]] = {"hopfield": bench_hopfield}


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  unknown = sorted(set(_ONLY.value) - set(BENCHES))
  if unknown:
    raise app.UsageError(f"--only: unknown benchmarks {unknown}; known: {sorted(BENCHES)}")
  from kernels.common import benchmark
  results = {}
  for name in _ONLY.value or BENCHES:
    results.update(BENCHES[name](_REPEATS.value))
  if _OUT.value:
    benchmark.write_json(_OUT.value, results)
    print(f"wrote {_OUT.value}")


if __name__ == "__main__":
  app.run(main)
