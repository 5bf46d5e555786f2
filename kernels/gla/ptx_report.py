"""Compiles the GLA Pallas kernels for an NVIDIA GPU on a host without one and reports their resources.

  python -m kernels.gla.ptx_report [--layouts=split,fused] [--tiles=64x64,32x32] [--num_warps=4]
      [--f32_dot=tf32x3] [--batch=1 --seq_len=2048 --heads=4 --head_k=128 --head_v=256] [--dtype=bfloat16]
      [--arch=9.0] [--out=ptx_report.json]

Paper: Yang et al., "Gated Linear Attention Transformers with Hardware-Efficient Training", ICML 2024,
arXiv:2312.06635 (the chunkwise kernels of §4.2–4.3).

For each kernel of one forward+backward of ``kernels.gla.pallas.gla_pallas`` (lowered for the ``cuda``
platform, Triton backend), the Triton module is compiled to PTX by the Triton compiler inside the JAX CUDA
plugin, and ``ptxas -v`` assembles the PTX for ``sm_<arch>a``: the table gives the grid, the shared memory
Triton allocates, and ptxas's registers per thread, stack frame and spill stores. This answers "does it fit
and does it spill" without a device (the first, untiled backward needed 272 KiB of shared memory on an
H100, found only on the device). It says nothing about speed.

Needs packages the zoo does not depend on: the JAX CUDA plugin of the installed jax version
(``pip install "jax[cuda12]==<jax version>"`` pulls ``jax-cuda12-plugin`` and ``jax-cuda12-pjrt``) and
``nvidia-cuda-nvcc-cu12`` (for ``ptxas``). It uses JAX internals (the Pallas Triton lowering hook and the
plugin's ``compile_triton_to_asm``), checked with jax 0.10.2; on other versions it may need adapting.
"""
from __future__ import annotations

import glob
import io
import json
import os
import re
import subprocess
import tempfile
from typing import Any

import argparse


class UsageError(RuntimeError):
  pass


def _ptxas() -> str:
  import nvidia.cuda_nvcc  # type: ignore[import-not-found]  (a namespace package: no __file__)
  found = [p for d in nvidia.cuda_nvcc.__path__ for p in glob.glob(os.path.join(d, "bin", "ptxas"))]
  if not found:
    raise UsageError("ptxas not found: pip install nvidia-cuda-nvcc-cu12")
  return found[0]


def _plugin():
  """(c_api capsule, compile function) of the JAX CUDA plugin, loaded without a CUDA driver."""
  from jax._src.lib import xla_client
  try:
    import jax_plugins.xla_cuda12 as plugin  # type: ignore[import-not-found]
    from jax_cuda12_plugin import cuda_plugin_extension as ext  # type: ignore[import-not-found]
  except ImportError as e:
    raise UsageError(f"the JAX CUDA plugin is not installed ({e}): pip install 'jax[cuda12]==<jax version>'")
  c_api = xla_client.load_pjrt_plugin_dynamically(
      "cuda", os.path.join(os.path.dirname(plugin.__file__), "xla_cuda_plugin.so"))
  return c_api, ext.compile_triton_to_asm


def capture_triton_modules(fn, *args) -> list[tuple[str, bytes, Any]]:
  """Lowers ``jax.jit(fn)(*args)`` for ``cuda`` and returns (kernel name, Triton bytecode, grid) per
  Pallas kernel, in lowering order."""
  import jax
  from jax._src.pallas.triton import pallas_call_registration as reg
  captured = []
  orig = reg.lowering.lower_jaxpr_to_triton_module

  def hook(jaxpr, grid_mapping, *a, **k):
    res = orig(jaxpr, grid_mapping, *a, **k)
    buf = io.BytesIO()
    res.module.operation.write_bytecode(buf)
    captured.append((jaxpr.debug_info.func_name, buf.getvalue(), list(res.grid)))
    return res

  reg.lowering.lower_jaxpr_to_triton_module = hook
  try:
    jax.jit(fn).trace(*args).lower(lowering_platforms=("cuda",))
  finally:
    reg.lowering.lower_jaxpr_to_triton_module = orig
  return captured


def _assemble(ptxas: str, ptx: str, arch: str) -> dict[str, Any]:
  with tempfile.TemporaryDirectory() as tmp:
    src = os.path.join(tmp, "k.ptx")
    with open(src, "w", encoding="utf-8") as f:
      f.write(ptx)
    out = subprocess.run([ptxas, f"-arch=sm_{arch.replace('.', '')}a", "-v", src, "-o",
                          os.path.join(tmp, "k.cubin")], capture_output=True, text=True, check=False)
  text = out.stderr + out.stdout
  num = lambda pat: int(m.group(1)) if (m := re.search(pat, text)) else None
  return {"ptxas_ok": out.returncode == 0, "registers": num(r"Used (\d+) registers"),
          "stack_bytes": num(r"(\d+) bytes stack frame"), "spill_store_bytes": num(r"(\d+) bytes spill stores"),
          "ptxas_error": "" if out.returncode == 0 else text[-500:]}


def main(argv: list[str] | None = None) -> int:
  ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  ap.add_argument("--layouts", default="split,fused", help="GLAKernelConfig.intra values")
  ap.add_argument("--tiles", default="64x64", help="block_k x block_v pairs, comma-separated")
  ap.add_argument("--num_warps", type=int, default=4)
  ap.add_argument("--num_stages", type=int, default=2)
  ap.add_argument("--f32_dot", default="tf32x3", choices=["tf32x3", "ieee"])
  ap.add_argument("--batch", type=int, default=1)
  ap.add_argument("--seq_len", type=int, default=2048)
  ap.add_argument("--heads", type=int, default=4)
  ap.add_argument("--head_k", type=int, default=128)
  ap.add_argument("--head_v", type=int, default=256)
  ap.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float32"])
  ap.add_argument("--arch", default="9.0", help="compute capability (9.0 = Hopper; ptxas gets sm_90a)")
  ap.add_argument("--out", default="", help="write the rows as JSON here")
  args = ap.parse_args(argv)
  import jax
  import jax.numpy as jnp

  from kernels.gla import config as cfg_lib
  from kernels.gla import pallas as pallas_lib

  ptxas = _ptxas()
  c_api, compile_fn = _plugin()
  dt = jnp.dtype(args.dtype)
  b, t, h, kd, vd = args.batch, args.seq_len, args.heads, args.head_k, args.head_v
  sds = [jax.ShapeDtypeStruct((b, t, h, kd), dt)] * 2 + [
      jax.ShapeDtypeStruct((b, t, h, vd), dt), jax.ShapeDtypeStruct((b, t, h, kd), jnp.float32),
      jax.ShapeDtypeStruct((b, h, kd, vd), jnp.float32)]
  rows = []
  print(f"B={b} T={t} H={h} K={kd} V={vd} {dt.name}, sm_{args.arch.replace('.', '')}a, "
        f"num_warps={args.num_warps}, f32 dots {args.f32_dot}, jax {jax.__version__}\n")
  print("| layout | block_k x block_v | kernel | grid | shared memory KiB | registers | stack B | spill stores B |")
  print("|---|---|---|---|---|---|---|---|")
  for layout in args.layouts.split(','):
    for tile in args.tiles.split(','):
      bk, bv = (int(x) for x in tile.split("x"))
      kc = cfg_lib.GLAKernelConfig(intra=layout, block_k=bk, block_v=bv, num_warps=args.num_warps,
                                   num_stages=args.num_stages, f32_dot=args.f32_dot)

      def loss(q, k, v, g, h0, kc=kc):
        o, s = pallas_lib.gla_pallas(q, k, v, g, kd ** -0.5, h0, backend="triton", kc=kc)
        return jnp.sum(o.astype(jnp.float32)) + jnp.sum(s)

      seen = set()
      for name, module, grid in capture_triton_modules(jax.value_and_grad(loss, argnums=(0, 1, 2, 3, 4)), *sds):
        if name in seen:                                   # the states kernel runs twice (recomputed)
          continue
        seen.add(name)
        row = {"layout": layout, "block_k": bk, "block_v": bv, "kernel": name, "grid": grid}
        try:
          res = compile_fn(c_api, module, args.arch, kc.num_warps, 1, kc.num_stages)
          row.update(smem_bytes=int(res.smem_bytes), **_assemble(ptxas, res.asm, args.arch))
        except Exception as e:  # noqa: BLE001 — a kernel that does not compile is a result, not a crash
          row.update(error=f"{type(e).__name__}: {str(e)[:500]}")
        rows.append(row)
        if "error" in row:
          print(f"| {layout} | {bk}x{bv} | {name} | {grid} | COMPILE FAILED: {row['error'][:120]} | | | |")
        else:
          print(f"| {layout} | {bk}x{bv} | {name} | {grid} | {row['smem_bytes'] / 1024:.1f} | {row['registers']} | "
                f"{row['stack_bytes']} | {row['spill_store_bytes']} |" + ("" if row["ptxas_ok"] else " PTXAS FAILED"),
                flush=True)
  if args.out:
    with open(args.out, "w", encoding="utf-8") as f:
      json.dump({"jax": jax.__version__, "shape": [b, t, h, kd, vd], "dtype": dt.name, "rows": rows}, f, indent=1)
  return 0 if all("error" not in r and r["ptxas_ok"] for r in rows) else 1


if __name__ == "__main__":
  raise SystemExit(main())
