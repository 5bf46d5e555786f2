"""Public API: the population evaluator and the float32 exp / exp2.

Real, Chen, Ross-Knoop, ... Le. "AutoNumerics-Zero: Automated Discovery of State-of-the-Art
Mathematical Functions". arXiv:2312.08472.

* :func:`evaluate` — programs ``[P, L]`` on inputs ``[N]`` -> ``[P, N]``; ``impl``:
  ``"reference"`` (numpy register loop, float64 / long double), ``"xla"`` (jnp where-chain),
  ``"pallas"`` (one ``pallas_call`` over a (P, N) grid; interpreted on CPU), ``"auto"`` (Pallas on
  GPU/TPU, XLA on CPU).
* :func:`exp`, :func:`exp2` — float32 only: rounding by a magic-constant FMA, Cody–Waite range
  reduction, a 6-FMA kernel (exp: evolved by :mod:`kernels.autonumerics.search_f32`, a degree-6
  Horner form; exp2: fitted), 2^n added as an integer to the exponent field, two selects
  for the out-of-range inputs (:mod:`kernels.autonumerics.expf`); ``impl``: ``"xla"``, ``"pallas"``
  (elementwise kernel with the same body), ``"reference"`` (float64 exp rounded to float32, computed with
  numpy; not traceable), ``"auto"``.
"""
from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import pallas as pl

from kernels.autonumerics import config as cfg_lib
from kernels.autonumerics import expf
from kernels.autonumerics.pallas import evaluate_pallas
from kernels.autonumerics.program import Program, validate
from kernels.autonumerics.reference import evaluate_reference
from kernels.autonumerics.xla import evaluate_xla

Array = jax.Array

__all__ = ["IMPLS", "evaluate", "exp", "exp2"]

IMPLS = ("auto", "reference", "xla", "pallas")
_EVAL_XLA = jax.jit(evaluate_xla)


def _resolve(impl: str, fn: str) -> str:
  if impl not in IMPLS:
    raise ValueError(f"{fn}: impl: expected one of {IMPLS}, got {impl!r}")
  if impl == "auto":
    return "pallas" if jax.default_backend() in ("gpu", "tpu") else "xla"
  return impl


def evaluate(programs: Program, x: Any, *, impl: str = "auto", interpret: bool | None = None,
             cfg: cfg_lib.EvalConfig = cfg_lib.DEFAULT) -> Any:
  """Evaluates a population of programs on a grid of inputs.

  Args:
    programs: Program with fields ``[P, L]`` (``out [P]``, ``consts [P, K]``), or one program ``[L]``.
      The constants' dtype is the compute dtype (float64 needs ``jax.enable_x64``).
    x: [N] inputs (cast to the constants' dtype).
    impl: see the module docstring.
    interpret: Pallas interpret mode; None = on CPU.
  Returns:
    [P, N] (or [N] for one program): a numpy array for ``"reference"``, a jax array otherwise.
  """
  impl = _resolve(impl, "evaluate")
  p = validate(programs, "programs")
  xa = np.asarray(x)
  if xa.ndim != 1:
    raise ValueError(f"evaluate: x: expected a 1-D array [N], got shape {xa.shape}")
  if impl == "reference":
    return evaluate_reference(p, xa, np.float64)
  dt = jnp.dtype(p.consts.dtype)
  if dt == jnp.float64 and not jax.config.jax_enable_x64:
    raise TypeError("evaluate: programs.consts: float64 constants need `with jax.enable_x64(True):`")
  jp = Program(*(jnp.asarray(f) for f in p[:5]), jnp.asarray(p.consts, dt))
  xj = jnp.asarray(xa, dt)
  if impl == "xla":
    return _EVAL_XLA(jp, xj)
  single = jp.ops.ndim == 1
  if single:
    jp = jax.tree_util.tree_map(lambda f: f[None], jp)
  interp = (jax.default_backend() == "cpu") if interpret is None else bool(interpret)
  y = evaluate_pallas(jp, xj, interpret=interp, cfg=cfg)
  return y[0] if single else y


def _check_f32(x: Any, fn: str) -> Array:
  if not hasattr(x, "dtype"):
    raise TypeError(f"{fn}: x: expected a float32 array, got {type(x).__name__}")
  if jnp.dtype(x.dtype) != jnp.float32:
    raise TypeError(f"{fn}: x: expected dtype float32, got {jnp.dtype(x.dtype)} (cast explicitly; this "
                    "function is a float32 kernel)")
  return x


def _elementwise_kernel(x_ref, y_ref, *, body):
  y_ref[...] = body(x_ref[...])


@functools.partial(jax.jit, static_argnames=("body", "interpret", "block"))
def _pallas_elementwise(x: Array, *, body, interpret: bool, block: int) -> Array:
  flat = x.reshape(-1)
  n = flat.shape[0]
  blk = min(block, max(n, 1))
  pad = (-n) % blk
  flat = jnp.pad(flat, (0, pad))
  y = pl.pallas_call(functools.partial(_elementwise_kernel, body=body),
                     out_shape=jax.ShapeDtypeStruct(flat.shape, jnp.float32),
                     grid=(flat.shape[0] // blk,),
                     in_specs=[pl.BlockSpec((blk,), lambda i: (i,))],
                     out_specs=pl.BlockSpec((blk,), lambda i: (i,)),
                     interpret=interpret, name="autonumerics_expf")(flat)
  return y[:n].reshape(x.shape)


def _dispatch(x: Any, impl: str, fn: str, body, ref_fn, interpret: bool | None, block: int) -> Any:
  impl = _resolve(impl, fn)
  x = _check_f32(x, fn)
  if impl == "xla":
    # jit even when called eagerly: op-by-op execution would not fuse a*b + c into FMAs, and the
    # kernel's accuracy is measured (and guaranteed) with XLA's fusion (the previous degree-7 kernel:
    # 1.14 ULP eagerly vs 0.86 jitted).
    return _JITTED[body](x)
  if impl == "reference":
    with np.errstate(over="ignore", under="ignore"):
      return jnp.asarray(ref_fn(np.asarray(x, np.float64)).astype(np.float32))
  interp = (jax.default_backend() == "cpu") if interpret is None else bool(interpret)
  return _pallas_elementwise(x, body=body, interpret=interp, block=block)


_JITTED = {expf.exp_f32: jax.jit(expf.exp_f32), expf.exp2_f32: jax.jit(expf.exp2_f32)}


def exp(x: Array, *, impl: str = "auto", interpret: bool | None = None, block: int = 4096) -> Array:
  """Float32 e^x, < 1 ULP for every x with a finite normal result (x in [-87.33654, 88.72283]).

  Args:
    x: [...] float32 (other dtypes raise TypeError). Larger x -> inf, smaller -> +0 (no subnormal
      results), NaN -> NaN.
    impl: ``"auto"`` | ``"xla"`` | ``"pallas"`` | ``"reference"``.
    block: elements per Pallas program.
  Returns: [...] float32.
  """
  return _dispatch(x, impl, "exp", expf.exp_f32, np.exp, interpret, block)


def exp2(x: Array, *, impl: str = "auto", interpret: bool | None = None, block: int = 4096) -> Array:
  """Float32 2^x, < 1 ULP on a stratified sample of x in [-126, 128) (see the README); same contract as :func:`exp`."""
  return _dispatch(x, impl, "exp2", expf.exp2_f32, np.exp2, interpret, block)
