"""Floating-point quantisation: the public quantiser and the quantised matmul.

Sun, Li, Xie, Han, Wu, Yang, Li, Wang, Li, Xue, Cheng, Tao, Kang, Xu, Wang, Jiang. "Scaling Laws for
Floating-Point Quantization Training". ICML 2025. arXiv:2501.02423.

``quantize(x, fmt, block_size=...)`` simulates ExMy quantisation (round half to even, subnormals, saturation
at the format's largest value) with absmax scaling per block of ``B`` elements along ``axis`` (the GEMM's
contraction dimension), per channel (one block per row/column) or per tensor; scales ``absmax / max`` in
float32, all-zero blocks guarded (scale 1). Implementations (``impl``):

* ``"reference"`` — :mod:`kernels.fp_quant.reference`: numpy, nearest point of the enumerated grid (concrete
  inputs only; not traceable);
* ``"xla"`` — :mod:`kernels.fp_quant.xla`: exponent-bit arithmetic in jnp, the CPU default; the only form that
  takes a traced format (:class:`~kernels.fp_quant.formats.FormatParams`, for a vmap over formats);
* ``"pallas"`` — :mod:`kernels.fp_quant.pallas` (Triton on GPU, Mosaic on TPU, the interpreter on CPU);
* ``"auto"`` — ``"pallas"`` on GPU/TPU, ``"xla"`` on CPU.

All three agree bit for bit (tests/kernels/test_fp_quant.py). ``quantize`` is piecewise constant in ``x``:
differentiating it raises (use :func:`qmatmul`, whose backward is defined).

``qmatmul(x, w, fmt, ...)`` computes ``y = x @ w`` with the six GEMM operands of a linear layer quantised as
``targets`` says (the labels P1–P6 follow the paper's Fig. 3 as the project notes read it; the mapping is
*unverified* against the paper text, see the README):

  forward   y  = x  @ w        P1 = x (blocks along K),   P2 = w (along K)
  backward  dx = dy @ wᵀ       P3 = dy (along N),         P4 = w (along N)
            dw = xᵀ @ dy       P5 = x (along the rows),   P6 = dy (along the rows)

under ``jax.custom_vjp``: ``backward="quantized"`` quantises P3–P6 (those listed) afresh from the
full-precision tensors (the unlisted ones stay full precision); ``backward="ste"`` is the straight-through
estimator (the backward GEMMs use the forward's quantised ``x`` and ``w``, ``dy`` unquantised; P3–P6 must not
be listed). Master weights and accumulation stay float32.
"""
from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import is_concrete, no_grad
from kernels.common.dispatch import IMPLS, resolve_impl
from kernels.fp_quant import config as cfg_lib
from kernels.fp_quant import pallas as pallas_lib
from kernels.fp_quant import reference, xla
from kernels.fp_quant.formats import FormatParams, FPFormat, parse_format

Array = jax.Array

__all__ = ["IMPLS", "TARGETS", "BACKWARDS", "quantize", "qmatmul"]

TARGETS = ("P1", "P2", "P3", "P4", "P5", "P6")
BACKWARDS = ("quantized", "ste")
_FLOATS = (jnp.dtype(jnp.bfloat16), jnp.dtype(jnp.float16), jnp.dtype(jnp.float32), jnp.dtype(jnp.float64))


def _check_array(x: Any, name: str, fn: str) -> Any:
  if not hasattr(x, "shape") or not hasattr(x, "dtype"):
    raise TypeError(f"{fn}: {name}: expected a jax/numpy array, got {type(x).__name__}")
  if jnp.dtype(x.dtype) not in _FLOATS:
    raise TypeError(f"{fn}: {name}: expected a floating dtype (bfloat16, float16, float32, float64), got {x.dtype}")
  if x.size == 0:
    raise ValueError(f"{fn}: {name}: expected a non-empty array, got shape {tuple(x.shape)}")
  return x


def _check_format(fmt: Any, fn: str, traced_ok: bool, name: str = "fmt"):
  if isinstance(fmt, FormatParams):
    if not traced_ok:
      raise TypeError(f"{fn}: {name}: a FormatParams (traced format) needs impl='xla', got another impl")
    return fmt
  try:
    return parse_format(fmt)
  except (TypeError, ValueError) as err:
    raise type(err)(f"{fn}: {name}: {err}") from None


def _check_block(block: Any, length: int, pad: bool, fn: str, what: str) -> Any:
  if block in ("channel", "tensor"):
    return block
  if isinstance(block, bool) or not isinstance(block, (int, np.integer)):
    raise ValueError(f"{fn}: block_size: expected a positive int, 'channel' or 'tensor', got {block!r}")
  if block <= 0:
    raise ValueError(f"{fn}: block_size: expected a positive int, 'channel' or 'tensor', got {block}")
  if length % int(block) and not pad:
    raise ValueError(f"{fn}: block_size: expected a divisor of {what} = {length} (or pad=True), got {block}")
  return int(block)


def _check_bool(v: Any, name: str, fn: str) -> bool:
  if not isinstance(v, bool):
    raise TypeError(f"{fn}: {name}: expected a bool, got {type(v).__name__}")
  return v


def _quantize_impl(x, fmt, block, axis, pad, impl, cfg=cfg_lib.DEFAULT):
  """Dispatch after validation (``fmt`` an FPFormat, or FormatParams with impl 'xla')."""
  if impl == "xla" or isinstance(fmt, FormatParams):
    p = fmt if isinstance(fmt, FormatParams) else fmt.params()
    return xla.quantize_blocks(x, p, block, axis, pad)
  if impl == "reference":
    return jnp.asarray(reference.quantize_blocks(np.asarray(x), fmt, block, axis, pad))
  interpret = jax.default_backend() == "cpu"
  dt = x.dtype
  xt = jnp.moveaxis(x.astype(jnp.float32), axis, -1)
  shape = xt.shape
  x2 = xt.reshape(-1, shape[-1])
  if block == "tensor":
    s = xla.block_scale(jnp.max(jnp.abs(x2)), fmt.params())
    out = pallas_lib.quantize_scaled_pallas(x2, s, fmt, interpret=interpret, cfg=cfg)
  else:
    k = shape[-1]
    b = k if block == "channel" else block
    kp = -(-k // b) * b
    xp = jnp.pad(x2, [(0, 0), (0, kp - k)]) if kp != k else x2
    out = pallas_lib.quantize_rows_pallas(xp, fmt, b, interpret=interpret, cfg=cfg)[:, :k]
  return jnp.moveaxis(out.reshape(shape), -1, axis).astype(dt)


_quantize_jit = jax.jit(_quantize_impl, static_argnums=(1, 2, 3, 4, 5))


def quantize(x: Array, fmt, *, block_size="channel", axis: int = -1, pad: bool = False, impl: str = "auto") -> Array:
  """Block-scaled ExMy fake quantisation of ``x`` along ``axis``.

  Args:
    x: any shape, bfloat16 / float16 / float32 / float64 (computed on ``float32(x)``; returned in x's dtype).
    fmt: an :class:`FPFormat`, a name like ``"E4M3"`` or an ``(E, M)`` pair (the default saturation
      convention, see :class:`FPFormat`); or :class:`FormatParams` (possibly traced, ``impl="xla"`` only).
    block_size: a positive int ``B`` dividing the length of ``axis`` (blocks of B consecutive elements along
      it), ``"channel"`` (one block per line along ``axis``) or ``"tensor"`` (one scale).
    axis: the quantised (contraction) axis.
    pad: allow ``B`` not dividing the axis: the last block is zero-padded (zeros leave absmax unchanged).
    impl: ``"auto" | "reference" | "xla" | "pallas"``.
  Returns:
    ``q · s`` with ``q`` on the format's grid and ``s = absmax(block) / max`` (float32), x's shape and dtype.
    NaN stays NaN (and makes its block's scale NaN); ``±inf`` makes its block's scale infinite (the block's
    finite values become 0 or NaN); XLA on CPU flushes float32 subnormals (only E = 8 formats reach them).
  Raises:
    TypeError / ValueError naming the argument; differentiating raises TypeError (piecewise constant).
  """
  fn = "quantize"
  _check_array(x, "x", fn)
  impl = resolve_impl(impl, fn)
  fmt = _check_format(fmt, fn, traced_ok=impl == "xla")
  if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -x.ndim <= axis < max(x.ndim, 1):
    raise ValueError(f"{fn}: axis: expected an int in [-{x.ndim}, {x.ndim}), got {axis!r}")
  _check_bool(pad, "pad", fn)
  axis = int(axis) % max(x.ndim, 1)
  if x.ndim == 0:
    raise ValueError(f"{fn}: x: expected at least 1 dimension, got a scalar")
  block = _check_block(block_size, x.shape[axis], pad, fn, f"x.shape[{axis}]")
  if impl == "reference" and not is_concrete(x):
    raise TypeError(f"{fn}: x: impl='reference' runs numpy on concrete arrays, got a traced array (use 'xla')")
  x = no_grad(x, "quantize: x")
  if impl == "reference":
    return _quantize_impl(x, fmt, block, axis, pad, impl)
  if isinstance(fmt, FormatParams):
    return xla.quantize_blocks(x, fmt, block, axis, pad)
  return _quantize_jit(x, fmt, block, axis, pad, impl)


# ---------------------------------------------------------------------------------------------------
# The quantised matmul.

def _pvec(p: FormatParams) -> Array:
  return jnp.stack([jnp.asarray(v, jnp.float32) for v in p])


def _q(t, static_fmt, pv, block, axis, pad, impl):
  if static_fmt is not None and impl != "xla":
    return _quantize_impl(t, static_fmt, block, axis, pad, impl)
  p = static_fmt.params() if static_fmt is not None else FormatParams(*[pv[i] for i in range(5)])
  return xla.quantize_blocks(t, p, block, axis, pad)


def _dot(a, b):
  return jnp.dot(a, b, precision=jax.lax.Precision.HIGHEST, preferred_element_type=jnp.float32)


@functools.partial(jax.custom_vjp, nondiff_argnums=(4,))
def _qmm(x, w, pf, pb, st):
  y, _ = _qmm_fwd(x, w, pf, pb, st)
  return y


def _qmm_fwd(x, w, pf, pb, st):
  ffmt, bfmt, block, targets, backward, pad, impl = st
  xq = _q(x, ffmt, pf, block, 1, pad, impl) if "P1" in targets else x
  wq = _q(w, ffmt, pf, block, 0, pad, impl) if "P2" in targets else w
  y = _dot(xq, wq)
  res = (xq, wq, pf, pb) if backward == "ste" else (x, w, pf, pb)
  return y, res


def _qmm_bwd(st, res, dy):
  ffmt, bfmt, block, targets, backward, pad, impl = st
  a, b, pf, pb = res
  dy = dy.astype(jnp.float32)
  if backward == "ste":
    dx, dw = _dot(dy, b.T), _dot(a.T, dy)
  else:
    q = lambda t, tgt, axis: _q(t, bfmt, pb, block, axis, pad, impl) if tgt in targets else t
    dx = _dot(q(dy, "P3", 1), q(b, "P4", 1).T)
    dw = _dot(q(a, "P5", 0).T, q(dy, "P6", 0))
  return dx.astype(a.dtype), dw.astype(b.dtype), jnp.zeros_like(pf), jnp.zeros_like(pb)


_qmm.defvjp(_qmm_fwd, _qmm_bwd)
_qmm_jit = jax.jit(_qmm, static_argnums=(4,))


def qmatmul(x: Array, w: Array, fmt, *, block_size="channel", targets=TARGETS, backward: str = "quantized",
            backward_fmt=None, pad: bool = False, impl: str = "auto") -> Array:
  """``x @ w`` with the GEMM operands listed in ``targets`` fake-quantised (forward and backward).

  Args:
    x: [..., K] activations; w: [K, N] weights (floating dtypes; computed in float32).
    fmt: the forward format (as for :func:`quantize`; :class:`FormatParams` needs ``impl="xla"``).
    block_size: B, ``"channel"`` or ``"tensor"``, along each GEMM's contraction dimension (K for P1/P2, N for
      P3/P4, the flattened row count of x for P5/P6); B must divide each quantised contraction length
      unless ``pad``.
    targets: a subset of ``TARGETS`` (``("P1", "P2")`` = weights and activations in the forward only).
    backward: ``"quantized"`` (P3–P6 quantised separately from full-precision tensors) or ``"ste"``.
    backward_fmt: the format of P3–P6 (default ``fmt``).
    pad: zero-pad the last block of each quantised axis.
    impl: ``"auto" | "xla" | "pallas"`` (the quantiser's implementation).
  Returns:
    y: [..., N] float32.
  Raises:
    TypeError / ValueError naming the argument.
  """
  fn = "qmatmul"
  _check_array(x, "x", fn)
  _check_array(w, "w", fn)
  if w.ndim != 2:
    raise ValueError(f"{fn}: w: expected rank 2 [K, N], got shape {tuple(w.shape)}")
  if x.ndim < 1 or x.shape[-1] != w.shape[0]:
    raise ValueError(f"{fn}: x: expected shape [..., K] with K = w.shape[0] = {w.shape[0]}, got {tuple(x.shape)}")
  impl = resolve_impl(impl, fn, ("auto", "xla", "pallas"))
  ffmt = _check_format(fmt, fn, traced_ok=impl == "xla")
  bfmt = ffmt if backward_fmt is None else _check_format(backward_fmt, fn, traced_ok=impl == "xla",
                                                         name="backward_fmt")
  if isinstance(targets, str) or not all(isinstance(t, str) for t in targets):
    raise TypeError(f"{fn}: targets: expected a sequence of labels from {TARGETS}, got {targets!r}")
  targets = tuple(sorted(set(targets)))
  bad = [t for t in targets if t not in TARGETS]
  if bad:
    raise ValueError(f"{fn}: targets: expected labels from {TARGETS}, got {bad}")
  if backward not in BACKWARDS:
    raise ValueError(f"{fn}: backward: expected one of {BACKWARDS}, got {backward!r}")
  if backward == "ste" and any(t in targets for t in ("P3", "P4", "P5", "P6")):
    raise ValueError(f"{fn}: targets: backward='ste' quantises no backward operand, got {targets} (use "
                     f"backward='quantized' or targets within ('P1', 'P2'))")
  _check_bool(pad, "pad", fn)
  lead = x.shape[:-1]
  rows = int(np.prod(lead)) if lead else 1
  k, n = w.shape
  for tgt, length, what in (("P1", k, "K"), ("P2", k, "K"), ("P3", n, "N"), ("P4", n, "N"),
                            ("P5", rows, "the row count of x"), ("P6", rows, "the row count of x")):
    if tgt in targets:
      _check_block(block_size, length, pad, fn, what)
  block = _check_block(block_size, 1, True, fn, "")
  x2 = x.reshape(rows, k).astype(jnp.float32)
  wf = w.astype(jnp.float32)
  ps = [p if isinstance(p, FormatParams) else p.params() for p in (ffmt, bfmt)]
  st = (None if isinstance(ffmt, FormatParams) else ffmt, None if isinstance(bfmt, FormatParams) else bfmt,
        block, targets, backward, pad, impl)
  y = _qmm_jit(x2, wf, _pvec(ps[0]), _pvec(ps[1]), st)
  return y.reshape(lead + (n,))
