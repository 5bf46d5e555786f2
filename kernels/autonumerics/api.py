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

Derivatives. :func:`exp` and :func:`exp2` are differentiable for ``impl="xla"``, ``"pallas"`` and
``"auto"`` (a ``jax.custom_jvp``: ``d exp(x) = exp(x)·dx`` and ``d exp2(x) = exp2(x)·ln2·dx`` with the
kernel's own output as exp(x); the rule is itself differentiable, so every order works, under ``jit`` and
``vmap`` too). :func:`evaluate` is differentiable with respect to ``x`` and ``programs.consts`` for
``"xla"`` (JAX's derivative of the where-chain), ``"pallas"`` (a ``custom_jvp``: Pallas values, tangents
of the where-chain, which computes the same values) and ``"auto"``. ``impl="reference"`` is numpy code:
under ``jit``/``vmap``/``grad`` it raises ``TypeError`` (use ``"xla"``).
"""
from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import pallas as pl

from kernels.common.dispatch import IMPLS, resolve_impl
from kernels.autonumerics import config as cfg_lib
from kernels.autonumerics import expf
from kernels.autonumerics.pallas import evaluate_pallas
from kernels.autonumerics.program import Program, validate, without_dead_code
from kernels.autonumerics.reference import evaluate_reference
from kernels.autonumerics.xla import evaluate_xla

Array = jax.Array

__all__ = ["IMPLS", "evaluate", "exp", "exp2"]

_EVAL_XLA = jax.jit(evaluate_xla)
LN2 = math.log(2.0)



def _check_interpret(interpret: Any, fn: str) -> None:
  if interpret is not None and not isinstance(interpret, (bool, np.bool_)):
    raise TypeError(f"{fn}: interpret: expected None or a bool, got {type(interpret).__name__} {interpret!r}")


def _not_traceable(fn: str, what: str) -> TypeError:
  return TypeError(f"{fn}: impl='reference' is numpy-only and not traceable (got a traced {what} under "
                   "jit/vmap/grad); use impl='xla' (or 'auto'/'pallas') inside transformations")


def evaluate(programs: Program, x: Any, *, impl: str = "auto", interpret: bool | None = None,
             cfg: cfg_lib.EvalConfig = cfg_lib.DEFAULT) -> Any:
  """Evaluates a population of programs on a grid of inputs.

  Args:
    programs: Program with fields ``[P, L]`` (``out [P]``, ``consts [P, K]``), or one program ``[L]``.
      The constants' dtype is the compute dtype (float64 needs ``jax.enable_x64``). The integer fields
      must be concrete (checked on the host); ``consts`` may be traced (jit / grad with respect to it).
    x: [N] real inputs (cast to the constants' dtype); may be traced except for ``"reference"``. N = 0
      (or P = 0) gives an empty [P, N] result.
    impl: see the module docstring.
    interpret: Pallas interpret mode; None = on CPU.
    cfg: Pallas tile sizes (:class:`kernels.autonumerics.config.EvalConfig`).
  Returns:
    [P, N] (or [N] for one program): a numpy array for ``"reference"``, a jax array otherwise.
    Differentiable in ``x`` and ``programs.consts`` except for ``"reference"`` (see the module docstring).
  Raises:
    ValueError / TypeError naming the argument (impl, interpret, cfg, a program field, x), before anything
    compiles.
  """
  impl = resolve_impl(impl, "evaluate")
  _check_interpret(interpret, "evaluate")
  if not isinstance(cfg, cfg_lib.EvalConfig):
    raise TypeError(f"evaluate: cfg: expected a kernels.autonumerics.config.EvalConfig, got {type(cfg).__name__}")
  p = validate(programs, "evaluate: programs")
  traced_x = isinstance(x, jax.core.Tracer)
  xa = x if traced_x or isinstance(x, jax.Array) else np.asarray(x)
  if xa.ndim != 1:
    raise ValueError(f"evaluate: x: expected a 1-D array [N], got shape {tuple(xa.shape)}")
  if not (jnp.issubdtype(xa.dtype, jnp.floating) or jnp.issubdtype(xa.dtype, jnp.integer)):
    raise TypeError(f"evaluate: x: expected a real (floating or integer) dtype, got {xa.dtype}")
  if impl == "reference":
    if traced_x:
      raise _not_traceable("evaluate", "x")
    if isinstance(p.consts, jax.core.Tracer):
      raise _not_traceable("evaluate", "programs.consts")
    return evaluate_reference(p, np.asarray(xa), np.float64)
  dt = jnp.dtype(p.consts.dtype)
  if dt == jnp.float64 and not jax.config.jax_enable_x64:
    raise TypeError("evaluate: programs.consts: float64 constants need `with jax.enable_x64(True):`")
  # dead code is replaced by add(x, x): the output is unchanged (bitwise), and a dead c / 0 cannot turn a
  # reverse-mode derivative into NaN (0 / 0 in its transpose)
  jp = Program(*(jnp.asarray(f) for f in without_dead_code(p)[:5]), jnp.asarray(p.consts, dt))
  xj = jnp.asarray(xa, dt)
  single = jp.ops.ndim == 1
  if xj.shape[0] == 0 or (not single and jp.ops.shape[0] == 0):
    return jnp.zeros(jp.ops.shape[:-1] + xj.shape, dt)
  if impl == "xla":
    return _EVAL_XLA(jp, xj)
  if single:
    jp = jax.tree_util.tree_map(lambda f: f[None], jp)
  interp = (jax.default_backend() == "cpu") if interpret is None else bool(interpret)
  y = _evaluate_pallas_d(jp, xj, interp, cfg)
  return y[0] if single else y


@functools.partial(jax.custom_jvp, nondiff_argnums=(2, 3))
def _evaluate_pallas_d(programs: Program, x: Array, interpret: bool, cfg: cfg_lib.EvalConfig) -> Array:
  """The Pallas evaluator with a derivative: values from ``pallas_call`` (which has no transpose rule),
  tangents from the where-chain (:func:`evaluate_xla`, the same body and the same values)."""
  return evaluate_pallas(programs, x, interpret=interpret, cfg=cfg)


@_evaluate_pallas_d.defjvp
def _evaluate_pallas_jvp(interpret, cfg, primals, tangents):
  y = _evaluate_pallas_d(*primals, interpret, cfg)
  _, dy = jax.jvp(evaluate_xla, primals, tangents)
  return y, dy


def _check_f32(x: Any, fn: str) -> Array:
  if not hasattr(x, "dtype"):
    raise TypeError(f"{fn}: x: expected a float32 array, got {type(x).__name__}")
  if jnp.dtype(x.dtype) != jnp.float32:
    raise TypeError(f"{fn}: x: expected dtype float32, got {jnp.dtype(x.dtype)} (cast explicitly; this "
                    "function is a float32 kernel)")
  return x


def _check_block(block: Any, fn: str) -> int:
  if isinstance(block, (bool, np.bool_)) or not isinstance(block, (int, np.integer)):
    raise TypeError(f"{fn}: block: expected a positive int, got {type(block).__name__} {block!r}")
  if block < 1:
    raise ValueError(f"{fn}: block: expected a positive int, got {block}")
  return int(block)


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


_BODIES = {"exp": (expf.exp_f32, np.exp), "exp2": (expf.exp2_f32, np.exp2)}
# jit even when called eagerly: op-by-op execution would not fuse a*b + c into FMAs, and the kernel's
# accuracy is measured (and guaranteed) with XLA's fusion (the previous degree-7 kernel: 1.14 ULP eagerly
# vs 0.86 jitted).
_JITTED = {expf.exp_f32: jax.jit(expf.exp_f32), expf.exp2_f32: jax.jit(expf.exp2_f32)}


@functools.lru_cache(maxsize=None)
def _differentiable(fn: str, impl: str, interpret: bool, block: int):
  """``fn``'s kernel for one (impl, interpret, block) as a ``jax.custom_jvp`` (one object per setting)."""
  body = _BODIES[fn][0]
  if impl == "xla":
    primal = _JITTED[body]
  else:
    primal = functools.partial(_pallas_elementwise, body=body, interpret=interpret, block=block)

  @jax.custom_jvp
  def f(x):
    return primal(x)

  @f.defjvp
  def f_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    y = f(x)                          # the kernel's own value; differentiable again (higher orders)
    slope = y if fn == "exp" else y * jnp.float32(LN2)
    return y, slope * dx
  return f


def _dispatch(x: Any, impl: str, fn: str, interpret: bool | None, block: Any) -> Any:
  impl = resolve_impl(impl, fn)
  x = _check_f32(x, fn)
  block = _check_block(block, fn)
  _check_interpret(interpret, fn)
  if impl == "reference":
    if isinstance(x, jax.core.Tracer):
      raise _not_traceable(fn, "x")
    with np.errstate(over="ignore", under="ignore"):
      return jnp.asarray(_BODIES[fn][1](np.asarray(x, np.float64)).astype(np.float32))
  interp = (jax.default_backend() == "cpu") if interpret is None else bool(interpret)
  return _differentiable(fn, impl, interp if impl == "pallas" else False, block if impl == "pallas" else 0)(x)


def exp(x: Array, *, impl: str = "auto", interpret: bool | None = None, block: int = 4096) -> Array:
  """Float32 e^x, < 1 ULP for every x with a finite normal result (x in [-87.33654, 88.72283]).

  Args:
    x: [...] float32 (other dtypes raise TypeError). Larger x -> inf, smaller -> +0 (no subnormal
      results), NaN -> NaN.
    impl: ``"auto"`` | ``"xla"`` | ``"pallas"`` | ``"reference"`` (numpy; TypeError under jit/vmap/grad).
    interpret: Pallas interpret mode (None or a bool); None = on CPU.
    block: elements per Pallas program (a positive int; checked for every impl).
  Returns: [...] float32. Differentiable (``xla``/``pallas``/``auto``, any order): the derivative is the
  kernel's own exp(x), so it is 0 where exp flushes to 0, inf where it overflows and NaN at NaN.
  """
  return _dispatch(x, impl, "exp", interpret, block)


def exp2(x: Array, *, impl: str = "auto", interpret: bool | None = None, block: int = 4096) -> Array:
  """Float32 2^x, < 1 ULP on a stratified sample of x in [-126, 128) (see the README); same contract as
  :func:`exp`, derivative ``exp2(x)·ln2`` (ln2 rounded to float32)."""
  return _dispatch(x, impl, "exp2", interpret, block)
