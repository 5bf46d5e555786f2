"""Benchmark of gated linear attention against causal softmax attention, with an optional correctness check.

  python -m kernels.gla.bench [--check] [--impls=xla,reference,pallas,softmax] [--tokens=8192]
      [--seq_lens=512,1024,2048,4096,8192] [--heads=4 --head_k=64 --head_v=128] [--dtype=float32]
      [--modes=fwd,fwdbwd] [--repeats=5] [--out=gla_bench.json]

Paper: Yang et al., "Gated Linear Attention Transformers with Hardware-Efficient Training", ICML 2024,
arXiv:2312.06635 (speed claim: comparable to FlashAttention-2 at T = 2048, faster beyond 4096).

For every T in ``--seq_lens`` the batch is ``tokens // T`` (fixed token count), and each implementation
of ``kernels.gla.gla`` and ``jax.nn.dot_product_attention(is_causal=True)`` at equal model width
(d = heads · head_v, softmax heads = d / attn_head_dim) is timed forward and forward+backward
(``jax.vjp`` with a fixed cotangent) with ``kernels.common.benchmark``: compile excluded, median of
``--repeats`` runs, ratio against softmax attention of the same T and mode. The summary reports the
smallest T from which the XLA chunk form beats softmax attention, and whether it beats the scan recurrence
at every T.

``--check`` first compares every implementation (except ``reference``, whose float64 run is the oracle)
with the float64 recurrence on the current backend
(o, final state, and gradients of q, k, v, log_g, initial_state; rel-RMS and max-abs/max-|ref| errors
printed) and the process exits 1 after timing if any exceeds its tolerance.

Floor (GPU; the paper file's §6.5 model, per layer): ``max(tensor FLOPs / --tflops, bytes / --hbm_gbps)``
with, per token and head, fwd FLOPs ``4KV + 2C(K+V)·f`` (f = 0.625), bwd ``10KV + f(6CK + 4CV)``; fwd
bytes ``s(2K + 2V) + 4K + 8KV/C`` (s = input bytes; q, k, v, o, f32 gate, f32 chunk states written and
read once), bwd bytes ``s(2K + 2V) + 4K + s(2K + V) + 4K + 16KV/C`` (inputs, gradients, recomputed states
and state cotangents). Causal softmax floor: ``2·B·H·T²·D`` FLOPs forward, 3.5× that forward+backward.
Ceilings default to the measured H100 (798 TFLOP/s bf16, 3000 GB/s) / H200 (790, 4300) values when the
device name says so; elsewhere no floor is printed unless both flags are given.
"""
from __future__ import annotations

import json
import sys
from typing import Any

from absl import app, flags

_IMPLS = flags.DEFINE_list("impls", ["xla", "reference", "pallas", "softmax"],
                           "Implementations to time: xla, reference, pallas, softmax, and the Pallas "
                           "variants pallas_fused (intra='fused'), pallas_v128 (block_v=128), pallas_t32 "
                           "(block_k = block_v = 32: more programs in the state passes).")
_TOKENS = flags.DEFINE_integer("tokens", 8192, "Tokens per batch (B = tokens // T).")
_SEQ = flags.DEFINE_list("seq_lens", ["512", "1024", "2048", "4096", "8192"], "Sequence lengths T.")
_HEADS = flags.DEFINE_integer("heads", 4, "GLA heads H.")
_HK = flags.DEFINE_integer("head_k", 64, "GLA key head dim K.")
_HV = flags.DEFINE_integer("head_v", 128, "GLA value head dim V (model width d = H·V).")
_AD = flags.DEFINE_integer("attn_head_dim", 128, "Softmax attention head dim (heads = d / this).")
_CHUNK = flags.DEFINE_integer("chunk_size", 64, "Chunk size C of the chunkwise forms.")
_DTYPE = flags.DEFINE_enum("dtype", "float32", ["float32", "bfloat16"], "Input dtype of q, k, v.")
_MODES = flags.DEFINE_list("modes", ["fwd", "fwdbwd"], "fwd and/or fwdbwd.")
_REPEATS = flags.DEFINE_integer("repeats", 5, "Timed repeats per case (median reported).")
_WARMUP = flags.DEFINE_integer("warmup", 1, "Untimed calls after compilation.")
_REF_MAX_T = flags.DEFINE_integer("reference_max_t", 1 << 30, "Skip the scan recurrence above this T.")
_PALLAS_MAX_T_CPU = flags.DEFINE_integer("pallas_max_t_cpu", 0,
                                         "On CPU Pallas runs in interpret mode (about 16 s per forward at "
                                         "8192 tokens): time it only for T <= this (default: never).")
_CHECK = flags.DEFINE_bool("check", False, "Check every implementation against the float64 recurrence first.")
_CHECK_CASES = flags.DEFINE_list("check_cases", ["0", "1", "2", "3"],
                                 "Which of the check's shapes to run (indices into bench.CHECK_CASES).")
_CHECK_DTYPES = flags.DEFINE_list("check_dtypes", ["float32", "bfloat16"], "dtypes of the check.")
_ATTN_IMPL = flags.DEFINE_string("attn_impl", "auto",
                                 "dot_product_attention implementation: auto (cudnn on GPU for bf16), xla, cudnn.")
_TFLOPS = flags.DEFINE_float("tflops", 0.0, "Matmul ceiling for the floor (TFLOP/s); 0 = by device name.")
_HBM = flags.DEFINE_float("hbm_gbps", 0.0, "Copy bandwidth for the floor (GB/s); 0 = by device name.")
_OUT = flags.DEFINE_string("out", "", "Write results as JSON here.")

_CEILINGS = {"H100": (798.0, 3000.0), "H200": (790.0, 4300.0)}


def _rel(a, b) -> tuple[float, float]:
  import numpy as np
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  rms = float(np.sqrt(np.mean((a - b) ** 2) / max(np.mean(b ** 2), 1e-300)))
  mx = float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))
  return rms, mx


# (B, T, H, K, V, gate normaliser): T not a multiple of the chunk, K not a power of two, strong decay, T = 1
CHECK_CASES = [(2, 300, 2, 64, 64, 16.0), (1, 130, 3, 100, 72, 1.0), (1, 200, 2, 64, 128, 0.1),
               (2, 1, 2, 32, 32, 16.0), (1, 500, 2, 128, 256, 1.0)]
PALLAS_VARIANTS = {"pallas": {}, "pallas_fused": {"intra": "fused"}, "pallas_v128": {"block_v": 128},
                   "pallas_t32": {"block_k": 32, "block_v": 32}}


def gla_fn(impl: str, chunk_size: int = 64):
  """``(q, k, v, log_g, h0) -> (o, final state)`` for an implementation name of this bench."""
  from kernels.gla import config as cfg_lib
  from kernels.gla import gla
  from kernels.gla import pallas as pallas_lib
  if impl in PALLAS_VARIANTS and impl != "pallas":
    import jax
    kc = cfg_lib.GLAKernelConfig(**PALLAS_VARIANTS[impl])
    interp = jax.default_backend() == "cpu"
    return lambda q, k, v, g, h0=None: pallas_lib.gla_pallas(q, k, v, g, q.shape[-1] ** -0.5, h0, chunk_size,
                                                             interpret=interp, kc=kc)
  return lambda q, k, v, g, h0=None: gla(q, k, v, g, initial_state=h0, output_final_state=True,
                                         chunk_size=chunk_size, impl=impl)


def run_check(impls: list[str], case_ids: list[int] | None = None,
              dtypes: tuple[str, ...] = ("float32", "bfloat16")) -> tuple[list[dict], bool]:
  """Every implementation vs the float64 recurrence (forward, final state, all gradients)."""
  import jax
  import jax.numpy as jnp

  cases = [CHECK_CASES[i] for i in (range(len(CHECK_CASES) - 1) if case_ids is None else case_ids)]
  tol = {"float32": (2e-5, 1e-4), "bfloat16": (6e-3, 1.5e-2)}
  rows, ok = [], True
  for (b, t, h, kd, vd, norm) in cases:
    ks = jax.random.split(jax.random.PRNGKey(t + kd), 7)
    q32 = jax.random.normal(ks[0], (b, t, h, kd))
    k32 = jax.random.normal(ks[1], (b, t, h, kd))
    v32 = jax.random.normal(ks[2], (b, t, h, vd))
    g = jax.nn.log_sigmoid(jax.random.normal(ks[3], (b, t, h, kd))) / norm
    h0 = jax.random.normal(ks[4], (b, h, kd, vd))
    do32 = jax.random.normal(ks[5], (b, t, h, vd))
    dht = jax.random.normal(ks[6], (b, h, kd, vd))
    for dname in dtypes:
      dt = jnp.dtype(dname)
      q, k, v, do = (x.astype(dt) for x in (q32, k32, v32, do32))

      def loss(q, k, v, g, h0, impl):
        o, s = gla_fn(impl)(q, k, v, g, h0)
        return jnp.sum(o.astype(jnp.float32 if o.dtype != jnp.float64 else o.dtype) * do.astype(o.dtype)
                       ) + jnp.sum(s * dht.astype(s.dtype)), (o, s)

      with jax.enable_x64(True):
        args64 = [x.astype(jnp.float64) for x in (q, k, v, g, h0)]
        (_, (o_ref, s_ref)), g_ref = jax.jit(jax.value_and_grad(
            lambda *a: loss(*a, "reference"), argnums=(0, 1, 2, 3, 4), has_aux=True))(*args64)
      for impl in impls:
        if impl == "softmax":
          continue
        try:
          (_, (o, s)), grads = jax.jit(jax.value_and_grad(
              lambda *a: loss(*a, impl), argnums=(0, 1, 2, 3, 4), has_aux=True))(q, k, v, g, h0)
        except Exception as e:  # noqa: BLE001 — report a backend failure as a failed check, go on
          ok = False
          rows.append({"shape": [b, t, h, kd, vd], "dtype": dname, "impl": impl, "pass": False,
                       "error": f"{type(e).__name__}: {str(e)[:2000]}"})
          print(f"check B,T,H,K,V={b},{t},{h},{kd},{vd} {dname} {impl}: ERROR {type(e).__name__}: "
                f"{str(e)[:1500]}", flush=True)
          continue
        errs = {"o": _rel(o, o_ref), "final_state": _rel(s, s_ref)}
        for n, a, r in zip(("dq", "dk", "dv", "dlog_g", "dh0"), grads, g_ref):
          errs[n] = _rel(a, r)
        tf, tg = tol[dname]
        bad = [n for n, (rms, _) in errs.items() if not rms <= (tf if n in ("o", "final_state") else tg)]
        ok &= not bad
        row = {"shape": [b, t, h, kd, vd], "gate_normalizer": norm, "dtype": dname, "impl": impl,
               "rel_rms": {n: e[0] for n, e in errs.items()}, "max_rel": {n: e[1] for n, e in errs.items()},
               "pass": not bad}
        rows.append(row)
        worst = max(errs.items(), key=lambda kv: kv[1][0])
        print(f"check B,T,H,K,V={b},{t},{h},{kd},{vd} norm={norm:g} {dname:8s} {impl:9s} "
              f"max rel-RMS {worst[1][0]:.2e} ({worst[0]}), max |err|/max|ref| "
              f"{max(e[1] for e in errs.values()):.2e}  {'PASS' if not bad else 'FAIL ' + ','.join(bad)}",
              flush=True)
  return rows, ok


def _floors(b, t, h, kd, vd, C, s_bytes, attn_heads, attn_d, tflops, gbps) -> dict[str, float]:
  f = 0.625
  tok = b * t * h
  fl_f = tok * (4 * kd * vd + 2 * C * (kd + vd) * f)
  fl_b = tok * (10 * kd * vd + f * (6 * C * kd + 4 * C * vd))
  by_f = tok * (s_bytes * (2 * kd + 2 * vd) + 4 * kd + 8 * kd * vd / C)
  by_b = tok * (s_bytes * (2 * kd + 2 * vd) + 4 * kd + s_bytes * (2 * kd + vd) + 4 * kd + 16 * kd * vd / C)
  fwd = max(fl_f / (tflops * 1e12), by_f / (gbps * 1e9))
  fwdbwd = max((fl_f + fl_b) / (tflops * 1e12), (by_f + by_b) / (gbps * 1e9))
  att = 2.0 * b * attn_heads * t * t * attn_d / (tflops * 1e12)
  return {"gla_fwd": fwd, "gla_fwdbwd": fwdbwd, "softmax_fwd": att, "softmax_fwdbwd": 3.5 * att}


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  known = {"xla", "reference", "softmax", *PALLAS_VARIANTS}
  impls = [i.strip() for i in _IMPLS.value]
  if set(impls) - known:
    raise app.UsageError(f"--impls: unknown {sorted(set(impls) - known)}; known: {sorted(known)}")
  if set(_MODES.value) - {"fwd", "fwdbwd"}:
    raise app.UsageError(f"--modes: expected fwd and/or fwdbwd, got {_MODES.value}")
  width = _HEADS.value * _HV.value
  if width % _AD.value:
    raise app.UsageError(f"--attn_head_dim: must divide the width heads*head_v = {width}")
  seq = [int(s) for s in _SEQ.value]
  for t in seq:
    if t < 1 or _TOKENS.value % t:
      raise app.UsageError(f"--seq_lens: each T must divide --tokens={_TOKENS.value}, got {t}")

  import jax
  import jax.numpy as jnp

  from kernels.common import benchmark

  env = benchmark.environment()
  print(f"jax {jax.__version__}, backend {env['backend']}, devices {env['devices']}", flush=True)
  on_cpu = jax.default_backend() == "cpu"
  if on_cpu and any(i.startswith("pallas") for i in impls):
    print(f"note: Pallas runs in interpret mode on CPU (timed only for T <= {_PALLAS_MAX_T_CPU.value}; "
          "it is still checked by --check)")
  payload: dict[str, Any] = {"environment": env, "flags": {
      "impls": impls, "tokens": _TOKENS.value, "seq_lens": seq, "heads": _HEADS.value, "head_k": _HK.value,
      "head_v": _HV.value, "attn_head_dim": _AD.value, "chunk_size": _CHUNK.value, "dtype": _DTYPE.value,
      "repeats": _REPEATS.value}}
  check_ok = True
  if _CHECK.value:
    payload["check"], check_ok = run_check([i for i in impls if i not in ("softmax", "reference")],
                                           [int(c) for c in _CHECK_CASES.value], tuple(_CHECK_DTYPES.value))

  tflops, gbps = _TFLOPS.value, _HBM.value
  kind = " ".join(env["devices"])
  for name, (tf, bw) in _CEILINGS.items():
    if name in kind:
      tflops, gbps = tflops or tf, gbps or bw
  have_floor = tflops > 0 and gbps > 0
  dt = jnp.dtype(_DTYPE.value)
  hk, hv, hh = _HK.value, _HV.value, _HEADS.value
  ah, ad = width // _AD.value, _AD.value
  attn_impl = _ATTN_IMPL.value
  if attn_impl == "auto":
    attn_impl = "cudnn" if (jax.default_backend() == "gpu" and dt == jnp.bfloat16) else "xla"

  rows = []
  for t in seq:
    b = _TOKENS.value // t
    ks = jax.random.split(jax.random.PRNGKey(t), 8)
    q = jax.random.normal(ks[0], (b, t, hh, hk), dt)
    k = jax.random.normal(ks[1], (b, t, hh, hk), dt)
    v = jax.random.normal(ks[2], (b, t, hh, hv), dt)
    lg = jax.nn.log_sigmoid(jax.random.normal(ks[3], (b, t, hh, hk), jnp.float32)) / 16.0
    do = jax.random.normal(ks[4], (b, t, hh, hv), dt)
    aq = jax.random.normal(ks[5], (b, t, ah, ad), dt)
    ak = jax.random.normal(ks[6], (b, t, ah, ad), dt)
    av = jax.random.normal(ks[7], (b, t, ah, ad), dt)
    cases: dict[str, dict[str, tuple]] = {"fwd": {}, "fwdbwd": {}}
    for impl in impls:
      if impl == "reference" and t > _REF_MAX_T.value:
        continue
      if impl.startswith("pallas") and on_cpu and t > _PALLAS_MAX_T_CPU.value:
        continue
      if impl == "softmax":
        fwd = lambda q, k, v, _i=attn_impl: jax.nn.dot_product_attention(q, k, v, is_causal=True, implementation=(
            None if _i == "xla" else _i))
        cases["fwd"]["softmax"] = (fwd, (aq, ak, av))
        cases["fwdbwd"]["softmax"] = (lambda q, k, v, f=fwd: jax.vjp(f, q, k, v)[1](av), (aq, ak, av))
      else:
        fwd = lambda q, k, v, g, _f=gla_fn(impl, _CHUNK.value): _f(q, k, v, g)[0]
        cases["fwd"][impl] = (fwd, (q, k, v, lg))
        cases["fwdbwd"][impl] = (lambda q, k, v, g, f=fwd: jax.vjp(f, q, k, v, g)[1](do), (q, k, v, lg))
    fl = (_floors(b, t, hh, hk, hv, min(_CHUNK.value, max(16, t)), dt.itemsize, ah, ad, tflops, gbps)
          if have_floor else None)
    for mode in _MODES.value:
      timings = {}
      for name, (fn, args) in cases[mode].items():
        try:
          timings[name] = benchmark.time_fn(name, fn, *args, warmup=_WARMUP.value, repeats=_REPEATS.value)
        except Exception as e:  # noqa: BLE001 — a backend may reject one case (e.g. cuDNN); report, go on
          print(f"T={t} {mode} {name}: FAILED {type(e).__name__}: {str(e)[:300]}", flush=True)
      base = timings.get("softmax")
      for name, tm in timings.items():
        tm.ratio = tm.median_s / base.median_s if base else float("nan")
        row = {"T": t, "B": b, "mode": mode, "impl": name, "median_ms": tm.median_s * 1e3,
               "min_ms": tm.min_s * 1e3, "compile_s": tm.compile_s, "ratio_vs_softmax": tm.ratio,
               "repeats": tm.repeats}
        if fl is not None:
          floor = fl[("softmax_" if name == "softmax" else "gla_") + mode]
          row["floor_ms"] = floor * 1e3
          row["fraction_of_floor"] = floor / tm.median_s
        rows.append(row)
        print(f"T={t:6d} B={b:4d} {mode:6s} {name:9s} {tm.median_s * 1e3:10.3f} ms  ratio vs softmax "
              f"{tm.ratio:7.3f}" + (f"  floor {row['floor_ms']:.3f} ms ({row['fraction_of_floor']:.1%})"
                                    if fl is not None else ""), flush=True)
  payload["rows"] = rows

  # One table, and the summary the issue asks for.
  print(f"\nGLA H={hh} K={hk} V={hv} vs causal softmax {ah}x{ad}, {_TOKENS.value} tokens, {dt.name}, "
        f"{env['backend']} {kind}, jax {jax.__version__}, softmax impl {attn_impl}")
  hdr = "| T | B | impl | " + " | ".join(f"{m} ms | {m} ratio" for m in _MODES.value)
  hdr += " | fwd floor ms | fwdbwd floor ms |" if have_floor else " |"
  print(hdr)
  print("|" + "---|" * (hdr.count("|") - 1))
  for t in seq:
    for impl in impls:
      cells = []
      fl_cells = []
      for m in _MODES.value:
        r = next((r for r in rows if r["T"] == t and r["impl"] == impl and r["mode"] == m), None)
        cells += [f"{r['median_ms']:.3f}", f"{r['ratio_vs_softmax']:.3f}"] if r else ["-", "-"]
        if have_floor and r:
          fl_cells.append(f"{r['floor_ms']:.3f}")
      if all(c == "-" for c in cells):
        continue
      line = f"| {t} | {_TOKENS.value // t} | {impl} | " + " | ".join(cells)
      line += (" | " + " | ".join(fl_cells) + " |") if have_floor else " |"
      print(line)
  summary: dict[str, Any] = {}
  for m in _MODES.value:
    med = lambda impl, t: next((r["median_ms"] for r in rows if r["T"] == t and r["impl"] == impl
                                and r["mode"] == m), None)
    for fast in ("xla", *[i for i in impls if i.startswith("pallas")]):
      pairs = [(t, med(fast, t), med("softmax", t)) for t in seq]
      pairs = [p for p in pairs if p[1] is not None and p[2] is not None]
      if pairs:
        cross = None
        for i, (t, _, _) in enumerate(pairs):
          if all(a < s for _, a, s in pairs[i:]):
            cross = t
            break
        summary[f"{fast}_beats_softmax_from_T_{m}"] = cross
        print(f"{m}: {fast} beats softmax attention from T = {cross} on" if cross else
              f"{m}: {fast} does not beat softmax attention at the largest T measured")
    pairs = [(t, med("xla", t), med("reference", t)) for t in seq]
    pairs = [p for p in pairs if p[1] is not None and p[2] is not None]
    if pairs:
      every = all(a < r for _, a, r in pairs)
      summary[f"xla_beats_reference_every_T_{m}"] = every
      print(f"{m}: xla beats the scan recurrence at every T: {every} "
            f"(ratios {', '.join(f'{t}: {r / a:.1f}x' for t, a, r in pairs)})")
  payload["summary"] = summary
  payload["check_passed"] = check_ok
  if _OUT.value:
    with open(_OUT.value, "w", encoding="utf-8") as f:
      json.dump(payload, f, indent=1)
    print(f"wrote {_OUT.value}")
  if not check_ok:
    print("CHECK FAILED: see the check lines above", file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
  app.run(main)
