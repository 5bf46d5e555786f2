"""Argument checks shared by the modules of ``theory.onehot_glm`` (messages name the function and the argument)."""
from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

from kernels.common.checks import is_concrete


def check_int(v: Any, name: str, fn: str, lo: int = 1) -> int:
  if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
    raise ValueError(f"{fn}: {name}: expected an int >= {lo}, got {v!r}")
  return int(v)


def check_positive(v: Any, name: str, fn: str) -> float:
  if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) or not np.isfinite(v) or not v > 0:
    raise ValueError(f"{fn}: {name}: expected a finite number > 0, got {v!r}")
  return float(v)


def check_counts(x: Any, name: str, fn: str, ndim_min: int = 2) -> None:
  """Spike counts: a real or integer array with ndim >= ndim_min whose values are finite non-negative integers.

  Concrete arrays raise ``ValueError`` at the first bad value; traced arrays get a ``checkify.debug_check``."""
  dt = getattr(x, "dtype", None)
  if dt is None or not (jnp.issubdtype(dt, jnp.integer) or jnp.issubdtype(dt, jnp.floating)):
    raise TypeError(f"{fn}: {name}: expected an integer or float array of spike counts, got "
                    f"{type(x).__name__} {dt}")
  if x.ndim < ndim_min:
    raise ValueError(f"{fn}: {name}: expected at least {ndim_min} dims ([..., T, N]), got shape {tuple(x.shape)}")
  if is_concrete(x):
    a = np.asarray(x, np.float64)
    bad = ~np.isfinite(a) | (a < 0) | (a != np.round(a))
    if bad.any():
      idx = tuple(int(i) for i in np.argwhere(bad)[0])
      raise ValueError(f"{fn}: {name}: expected non-negative integer spike counts, got {a[idx]!r} at index {idx}")
  else:
    ok = jnp.all((x >= 0) & (x == jnp.round(x)))
    checkify.debug_check(ok, f"{fn}: {name}: expected non-negative integer spike counts")


def check_stochastic(p: Any, name: str, fn: str, n: int | None = None, atol: float = 1e-5) -> None:
  """A row-stochastic [S, S] matrix (concrete: non-negative, rows sum to 1 within ``atol``)."""
  shape = tuple(getattr(p, "shape", ()))
  if len(shape) != 2 or shape[0] != shape[1] or (n is not None and shape[0] != n):
    want = f"[{n}, {n}]" if n is not None else "[S, S]"
    raise ValueError(f"{fn}: {name}: expected a {want} transition matrix, got shape {shape}")
  if is_concrete(p):
    a = np.asarray(p, np.float64)
    if not np.all(np.isfinite(a)) or np.any(a < 0):
      raise ValueError(f"{fn}: {name}: expected finite non-negative probabilities, got min {np.nanmin(a)!r}")
    rs = a.sum(-1)
    bad = np.abs(rs - 1) > atol
    if bad.any():
      i = int(np.argmax(bad))
      raise ValueError(f"{fn}: {name}: expected rows summing to 1, got row {i} summing to {rs[i]!r}")


def check_probs(p: Any, name: str, fn: str, size: int, atol: float = 1e-5) -> None:
  shape = tuple(getattr(p, "shape", ()))
  if shape != (size,):
    raise ValueError(f"{fn}: {name}: expected a [{size}] probability vector, got shape {shape}")
  if is_concrete(p):
    a = np.asarray(p, np.float64)
    if np.any(~np.isfinite(a)) or np.any(a < 0) or abs(a.sum() - 1) > atol:
      raise ValueError(f"{fn}: {name}: expected non-negative probabilities summing to 1, got {a!r}")
