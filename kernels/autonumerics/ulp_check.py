"""Exhaustive float32 ULP check of the shipped exp (or exp2, or a baseline), in chunks.

  nice python -m kernels.autonumerics.ulp_check [--fn=exp] [--lo=-87.33654] [--hi=88.72283]
      [--chunk_log2=24] [--out=ulp.json] [--quiet]

Real et al. "AutoNumerics-Zero", arXiv:2312.08472 (float32 track: < 1 ULP on every input).

Every float32 x in [lo, hi] (both signs; by default every input whose exp is a finite normal float32,
2,237,668,968 values) is evaluated by the jitted function, compared with ``exp(float64(x))`` (float64 exp
is within 2^-29 float32 ULP of exact) and ``err = |y - ref| / ulp(ref)`` with the floor-log2 ULP
convention of :mod:`kernels.autonumerics.ulp`. Prints the counts, the maximum and the worst input, and
exits 1 when the maximum is >= 1 ULP. About 2–7 minutes on 2 (shared) CPU cores for the full exp range; it is
CPU-heavy: run it with ``nice`` and not in tests.

--fn: ``exp`` / ``exp2`` (the shipped kernels, XLA form), ``jnp.exp`` / ``jnp.exp2`` (XLA's),
``exp_pallas`` / ``exp2_pallas`` (the shipped kernels' Pallas form: on a GPU this checks the code that
the backend compiles, whose floating-point contraction may differ from XLA's), ``cw6`` / ``cw7`` (the classical pipeline, :func:`kernels.autonumerics.expf.cody_waite_exp`, with the
degree-6 / degree-7 kernels; ``cw7`` was the shipped exp before), ``exp2_prev`` (the previous exp2).
"""
from __future__ import annotations

import json
import sys

import jax.numpy as jnp

from kernels.autonumerics import api, expf, ulp

FNS = {
    "exp": (expf.exp_f32, jnp.exp, ulp.EXP_LO, ulp.EXP_HI),
    "exp2": (expf.exp2_f32, jnp.exp2, ulp.EXP2_LO, ulp.EXP2_HI),
    "jnp.exp": (jnp.exp, jnp.exp, ulp.EXP_LO, ulp.EXP_HI),
    "jnp.exp2": (jnp.exp2, jnp.exp2, ulp.EXP2_LO, ulp.EXP2_HI),
    "cw6": (lambda x: expf.cody_waite_exp(x, expf.EXP_COEFFS_DEG6), jnp.exp, ulp.EXP_LO, ulp.EXP_HI),
    "cw7": (lambda x: expf.cody_waite_exp(x, expf.EXP_COEFFS), jnp.exp, ulp.EXP_LO, ulp.EXP_HI),
    "exp2_prev": (expf.cody_waite_exp2, jnp.exp2, ulp.EXP2_LO, ulp.EXP2_HI),
    # the Pallas forms (compiled on GPU/TPU; in the interpreter on CPU, where they are slow)
    "exp_pallas": (lambda x: api.exp(x, impl="pallas"), jnp.exp, ulp.EXP_LO, ulp.EXP_HI),
    "exp2_pallas": (lambda x: api.exp2(x, impl="pallas"), jnp.exp2, ulp.EXP2_LO, ulp.EXP2_HI),
}


def check(fn_name: str, lo: float | None = None, hi: float | None = None, chunk_log2: int = 24, out: str = "",
          quiet: bool = False) -> int:
  """Runs the sweep of ``FNS[fn_name]`` on [lo, hi] (default: its normal-result range), prints the summary and
  returns the exit status (0 when the maximum is < 1 ULP)."""
  if fn_name not in FNS:
    raise ValueError(f"ulp_check: fn: expected one of {sorted(FNS)}, got {fn_name!r}")
  args = type("Args", (), dict(fn=fn_name, lo=lo, hi=hi, chunk_log2=chunk_log2, out=out, quiet=quiet))
  fn, ref, lo, hi = FNS[args.fn]
  lo = lo if args.lo is None else args.lo
  hi = hi if args.hi is None else args.hi
  print(f"exhaustive ULP check of {args.fn} on every float32 in [{lo!r}, {hi!r}], chunks of 2^{args.chunk_log2}")
  res = ulp.sweep(fn, lo, hi, ref_fn=ref, chunk_log2=args.chunk_log2, log=None if args.quiet else print)
  print(f"checked {res.count:,} inputs in {res.seconds:.1f} s")
  print(f"max error {res.max_ulp:.6f} ULP at x = {res.worst_x!r} ({res.worst_x:.9g})")
  print(f"inputs with error > 0.5 ULP (not correctly rounded): {res.n_above_half:,} "
        f"({100 * res.n_above_half / max(res.count, 1):.3f} %)")
  print(f"inputs with error >= 1 ULP: {res.n_ge_one:,}")
  ok = res.max_ulp < 1.0
  print("PASS: < 1 ULP everywhere" if ok else "FAIL: >= 1 ULP somewhere")
  if args.out:
    with open(args.out, "w", encoding="utf-8") as f:
      json.dump({"fn": args.fn, "lo": lo, "hi": hi, **res._asdict(), "pass": ok}, f, indent=1)
  return 0 if ok else 1


def _cli() -> None:
  """The command line (absl flags, defined only when this module runs as a program)."""
  from absl import app, flags
  flags.DEFINE_enum("fn", "exp", sorted(FNS), "the function checked")
  flags.DEFINE_float("lo", None, "smallest input (default: the normal-result range)")
  flags.DEFINE_float("hi", None, "largest input")
  flags.DEFINE_integer("chunk_log2", 24, "inputs per jitted chunk, log2")
  flags.DEFINE_string("out", "", "write the result as JSON here")
  flags.DEFINE_bool("quiet", False, "no per-chunk progress lines")
  f = flags.FLAGS
  app.run(lambda argv: sys.exit(check(f.fn, f.lo, f.hi, f.chunk_log2, f.out, f.quiet)))


if __name__ == "__main__":
  _cli()
