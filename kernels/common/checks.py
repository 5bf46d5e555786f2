"""Value checks shared by every layer of the zoo (kernels, theory, models may all import this).

Shape and dtype checks raise at trace time. *Value* checks (token ids in range, no NaN in data) can only
raise when the values are known, so every check here follows one policy:

* **concrete inputs** (eager calls, numpy arrays): the check runs at once and raises ``ValueError``
  naming the function, the argument, the first offending index and its value;
* **traced inputs** (under ``jit``/``vmap``/``grad``): the check is a
  :func:`jax.experimental.checkify.debug_check`, a no-op unless the caller wraps the function in
  ``checkify.checkify`` (then ``err.get()`` carries the same message). Functions that use these checks
  document what they compute for invalid values when nobody checks.

:func:`no_grad` marks an input whose derivative does not exist (a sampler's integer-valued output, a
hitting time): differentiating through it raises ``TypeError`` instead of returning a silent zero.
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

__all__ = ["is_concrete", "check_finite", "check_in_range", "check_key", "no_grad"]


def is_concrete(x: Any) -> bool:
  """True when ``x``'s values are known now (not an abstract tracer inside a transformation)."""
  return not isinstance(x, jax.core.Tracer)


def _first_bad(bad: np.ndarray) -> tuple[tuple[int, ...], int]:
  idx = np.argwhere(bad)
  return tuple(int(i) for i in idx[0]), int(idx.shape[0])


def check_finite(x: Any, name: str, fn: str) -> None:
  """Raises ``ValueError`` if ``x`` (concrete) holds NaN or +-inf; a ``debug_check`` when traced."""
  if is_concrete(x):
    a = np.asarray(x)
    if not np.issubdtype(a.dtype, np.inexact):
      return
    bad = ~np.isfinite(a)
    if bad.any():
      idx, n = _first_bad(bad)
      raise ValueError(f"{fn}: {name}: expected finite values, got {a[idx]} at index {idx} "
                       f"({n} non-finite of {a.size})")
  else:
    if jnp.issubdtype(x.dtype, jnp.inexact):
      checkify.debug_check(jnp.all(jnp.isfinite(x)),
                           f"{fn}: {name}: expected finite values, got a NaN or inf")


def check_in_range(x: Any, name: str, fn: str, lo: int, hi: int) -> None:
  """Raises ``ValueError`` unless every value of ``x`` lies in ``[lo, hi)`` (concrete ``x``); a
  ``debug_check`` when traced."""
  if is_concrete(x):
    a = np.asarray(x)
    bad = (a < lo) | (a >= hi)
    if bad.any():
      idx, n = _first_bad(bad)
      raise ValueError(f"{fn}: {name}: expected values in [{lo}, {hi}), got {a[idx]} at index {idx} "
                       f"({n} out of range of {a.size})")
  else:
    checkify.debug_check(jnp.all((x >= lo) & (x < hi)),
                         f"{fn}: {name}: expected values in [{lo}, {hi}), got min {{lo_}} max {{hi_}}",
                         lo_=jnp.min(x), hi_=jnp.max(x))


def check_key(key: Any, name: str, fn: str) -> None:
  """Raises ``TypeError`` unless ``key`` is a PRNG key: a typed key (``jax.random.key``) or a raw
  ``uint32[2]`` key (``jax.random.PRNGKey``)."""
  dt = getattr(key, "dtype", None)
  ok = dt is not None and (jnp.issubdtype(dt, jax.dtypes.prng_key)
                           or (dt == jnp.uint32 and tuple(key.shape) == (2,)))
  if not ok:
    raise TypeError(f"{fn}: {name} expected a PRNG key (jax.random.PRNGKey or jax.random.key), got "
                    f"{getattr(key, 'dtype', type(key).__name__)} {tuple(getattr(key, 'shape', ()))}")


def no_grad(x: Any, what: str) -> Any:
  """Identity on ``x`` whose derivative raises ``TypeError(what ...)``; ``x`` is a float array or tree.

  Use it on the floating inputs of a function whose output has no derivative with respect to them
  (samplers that return counts, hitting times): ``jax.grad``/``jax.jvp`` through it fail loudly.
  """
  return jax.tree.map(lambda leaf: _no_grad_leaf(leaf, what), x)


def _no_grad_leaf(leaf, what):
  if not jnp.issubdtype(jnp.asarray(leaf).dtype, jnp.inexact):
    return leaf
  return _make_no_grad(what)(leaf)


_NO_GRAD_CACHE: dict[str, Any] = {}


def _make_no_grad(what: str):
  f = _NO_GRAD_CACHE.get(what)
  if f is None:
    @jax.custom_jvp
    def f(v):
      return v

    @f.defjvp
    def _jvp(primals, tangents):
      raise TypeError(f"{what} is not differentiable: its value is integer-valued or piecewise "
                      "constant in this input, so a derivative would be a silent zero")

    _NO_GRAD_CACHE[what] = f
  return f
