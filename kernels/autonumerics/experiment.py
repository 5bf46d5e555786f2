"""The float64 front claim's measurements (paper 02): the validation set, max relative error, best-within-k.

Real, Chen, Ross-Knoop, ... Le. "AutoNumerics-Zero: Automated Discovery of State-of-the-Art Mathematical
Functions". arXiv:2312.08472. Programs are scored against 2^x on (0, 1] in x87 long double
(:func:`kernels.autonumerics.reference.evaluate_reference`); host-side numpy, not differentiable.
"""
from __future__ import annotations

import numpy as np

from kernels.autonumerics.program import Program
from kernels.autonumerics.reference import evaluate_reference, target_exp2


def validation_grid(n: int) -> np.ndarray:
  """``[n + 2000]`` float64: n uniform points of (0, 1] plus 2,000 log-spaced points from 1e-12 to 1 (the notes'
  validation set: the relative error near 0 matters as much as in the bulk)."""
  if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
    raise ValueError(f"validation_grid: n: expected a positive int, got {n!r}")
  return np.concatenate([np.linspace(0, 1, int(n) + 1)[1:], np.logspace(-12, 0, 2000)])


def max_rel_error(programs: Program, x) -> np.ndarray:
  """Max over ``x`` of |p(x) / 2^x - 1| for each program (long-double evaluation; inf where not finite).

  Args:
    programs: a Program with leading batch dims ``[...]`` (or a single program).
    x: ``[M]`` inputs.
  Returns: ``[...]`` float64.
  """
  if not isinstance(programs, Program):
    raise TypeError(f"max_rel_error: programs: expected a Program, got {type(programs).__name__}")
  x = np.asarray(x, np.float64)
  if x.ndim != 1 or x.size < 1 or not np.all(np.isfinite(x)):
    raise ValueError(f"max_rel_error: x: expected a non-empty 1-d array of finite inputs, got shape {x.shape}")
  y = evaluate_reference(programs, x, np.longdouble)
  with np.errstate(all="ignore"):
    e = np.max(np.abs(y / target_exp2(x) - 1), axis=-1).astype(np.float64)
  return np.where(np.isfinite(e), e, np.inf)


def best_within(errors: dict, k: int) -> float:
  """The smallest error among op counts ``<= k`` in ``errors`` (op count -> error); inf if there is none."""
  if not isinstance(errors, dict):
    raise TypeError(f"best_within: errors: expected a dict op count -> error, got {type(errors).__name__}")
  vals = [e for o, e in errors.items() if o <= k]
  return float(min(vals)) if vals else float("inf")
