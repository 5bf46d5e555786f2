"""Benchmark: quantised matmul (forward, and forward + backward) against the plain matmul, per quantiser impl.

  python -m kernels.fp_quant.bench [--m=1024] [--k=1024] [--n=1024] [--fmt=E4M3] [--block=64]
      [--impls=xla,pallas] [--repeats=20] [--out=fp_quant_bench.json]

Cases, timed in one process (kernels.common.benchmark: compile excluded, medians, ratios against the plain
``x @ w`` forward / its forward + backward): ``qmatmul`` with all six GEMM operands quantised (P1–P6) and with
the forward operands only (P1, P2, straight-through backward), for each impl in ``--impls``. On CPU the
Pallas form runs in interpret mode (a correctness path, not a speed measurement); it is skipped unless
``--impls`` names it.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
from absl import app, flags

_M = flags.DEFINE_integer("m", 1024, "Rows of x (tokens).")
_K = flags.DEFINE_integer("k", 1024, "Contraction length.")
_N = flags.DEFINE_integer("n", 1024, "Output width.")
_FMT = flags.DEFINE_string("fmt", "E4M3", "Format name.")
_BLOCK = flags.DEFINE_string("block", "64", "Block size: an int, 'channel' or 'tensor'.")
_IMPLS = flags.DEFINE_list("impls", ["xla"], "Quantiser impls to time (xla, pallas).")
_REPEATS = flags.DEFINE_integer("repeats", 20, "Timed calls per case.")
_OUT = flags.DEFINE_string("out", "", "Write the results as JSON here.")


def main(argv):
  del argv
  from kernels.common import benchmark
  from kernels.fp_quant import qmatmul
  block = _BLOCK.value if _BLOCK.value in ("channel", "tensor") else int(_BLOCK.value)
  kx, kw = jax.random.split(jax.random.PRNGKey(0))
  x = jax.random.normal(kx, (_M.value, _K.value), jnp.float32)
  w = jax.random.normal(kw, (_K.value, _N.value), jnp.float32) / _K.value ** 0.5
  hi = jax.lax.Precision.HIGHEST
  plain = lambda a, b: jnp.dot(a, b, precision=hi)
  grad = lambda f: jax.grad(lambda a, b: jnp.sum(f(a, b) ** 2), (0, 1))
  fwd = [("plain x @ w", plain, (x, w))]
  bwd = [("plain x @ w", grad(plain), (x, w))]
  for impl in _IMPLS.value:
    full = lambda a, b, impl=impl: qmatmul(a, b, _FMT.value, block_size=block, impl=impl)
    ste = lambda a, b, impl=impl: qmatmul(a, b, _FMT.value, block_size=block, targets=("P1", "P2"), backward="ste",
                                          impl=impl)
    fwd += [(f"qmatmul P1-P6 ({impl})", full, (x, w)), (f"qmatmul P1,P2 ({impl})", ste, (x, w))]
    bwd += [(f"qmatmul P1-P6 ({impl})", grad(full), (x, w)), (f"qmatmul P1,P2 ste ({impl})", grad(ste), (x, w))]
  dev = jax.devices()[0].device_kind
  shape = f"{_M.value}x{_K.value} @ {_K.value}x{_N.value}, {_FMT.value}, B = {_BLOCK.value}, {dev}"
  tf = benchmark.compare(fwd, "plain x @ w", repeats=_REPEATS.value)
  tb = benchmark.compare(bwd, "plain x @ w", repeats=_REPEATS.value)
  print(benchmark.format_table(tf, f"forward: {shape}"))
  print()
  print(benchmark.format_table(tb, f"forward + backward: {shape}"))
  if _OUT.value:
    benchmark.write_json(_OUT.value, {"forward": tf, "forward_backward": tb})


if __name__ == "__main__":
  app.run(main)
