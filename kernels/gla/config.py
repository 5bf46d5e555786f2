"""Block sizes and launch settings for the GLA kernels.

Chunk C and sub-chunk c follow the reference library (fla ``chunk_gla``): ``C = min(chunk_size,
max(16, next_pow2(T)))``, ``c = min(16, C)``. Head dims are zero-padded to a power of two ≥ 16 inside the
Pallas path (Triton loads/stores and dots need power-of-two sizes with every dot dim ≥ 16).
"""
from __future__ import annotations

import dataclasses

__all__ = ["GLAKernelConfig", "DEFAULT", "effective_chunk", "padded_dim", "SUB_CHUNK"]

SUB_CHUNK = 16


@dataclasses.dataclass(frozen=True)
class GLAKernelConfig:
  """Launch settings of the Pallas kernels (hashable: used as a static argument).

  Attributes:
    num_warps, num_stages: Triton launch parameters (GPU).
    block_v: tile of the value dim (a power of two >= 16). Every kernel gets a grid axis over value
      tiles: the K×V state, its cotangent and the outputs split by value columns (each column block
      of the state evolves on its own), and dq/dk are sums over the tiles. Bounds the on-chip
      footprint, which at K = 128, V = 256 otherwise exceeds an H100's shared memory in the backward.
    block_k: tile of the key dim in the two sequential state passes (states, state cotangents), which
      get a grid axis over key tiles too: each K×V block of the state evolves on its own, so long
      sequences with few heads still launch ``BH · K/block_k · V/block_v`` programs (fla tiles the same way).
    intra: ``"split"`` (default) computes the intra-chunk score matrix ``A`` (and in the backward the
      intra-chunk dq, dk) once per chunk in a kernel without value tiles, then every value tile does
      two matmuls; ``"fused"`` is the first version, which recomputes the scores (c·K exps per token,
      the costly part) in every value tile and sums dq/dk partials over tiles. Kept for comparison.
    f32_dot: algorithm of the f32-operand dots on Triton (the backward's, and all of them for f32
      inputs): ``"tf32x3"`` (three TF32 tensor-core products, about f32 accuracy) or ``"ieee"`` (CUDA-core
      FMA; compiled for sm_90a these dots gave ptxas stack frames of 5–170 KiB per thread). The
      interpreter and TPU always use IEEE f32 (``Precision.HIGHEST``).
  """
  num_warps: int = 4
  num_stages: int = 2
  block_v: int = 64
  block_k: int = 64
  intra: str = "split"
  f32_dot: str = "tf32x3"

  def __post_init__(self):
    for name in ("num_warps", "num_stages"):
      val = getattr(self, name)
      if not isinstance(val, int) or val < 1:
        raise ValueError(f"{name}: expected a positive int, got {val!r}")
    for name in ("block_v", "block_k"):
      bv = getattr(self, name)
      if not isinstance(bv, int) or bv < 16 or bv & (bv - 1):
        raise ValueError(f"{name}: expected a power of two >= 16, got {bv!r}")
    if self.intra not in ("split", "fused"):
      raise ValueError(f"intra: expected 'split' or 'fused', got {self.intra!r}")
    if self.f32_dot not in ("tf32x3", "ieee"):
      raise ValueError(f"f32_dot: expected 'tf32x3' or 'ieee', got {self.f32_dot!r}")

  def value_tile(self, vp: int, backend: str | None = None) -> int:
    """Value tile for a padded value dim ``vp`` (a power of two): ``min(block_v, vp)``, raised to 128 on
    TPU (Mosaic needs the last block dim to be a multiple of 128 or the whole dim)."""
    return _tile(self.block_v, vp, backend)

  def key_tile(self, kp: int, backend: str | None = None) -> int:
    """Key tile of the state passes for a padded key dim ``kp``: ``min(block_k, kp)`` (128 on TPU)."""
    return _tile(self.block_k, kp, backend)


def _tile(block: int, dim: int, backend: str | None) -> int:
  b = min(block, dim)
  if backend == "tpu" and b % 128 and b != dim:
    b = min(128, dim)
  return b


DEFAULT = GLAKernelConfig()


def next_pow2(n: int) -> int:
  return 1 << max(0, (int(n) - 1).bit_length())


def effective_chunk(chunk_size: int, t: int) -> int:
  """Chunk actually used for a sequence of length ``t``: ``min(chunk_size, max(16, next_pow2(t)))``."""
  return min(chunk_size, max(16, next_pow2(t)))


def padded_dim(d: int) -> int:
  """Head dim after padding in the Pallas path: the next power of two, at least 16."""
  return max(16, next_pow2(d))
