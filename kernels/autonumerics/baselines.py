"""Classical baselines for 2^x on [0, 1] at a given op count: Taylor, Padé and minimax (Remez).

Real et al. "AutoNumerics-Zero: Automated Discovery of State-of-the-Art Mathematical Functions".
arXiv:2312.08472 (the paper compares evolved programs with these families at equal op count).

* :func:`taylor_coeffs` — Taylor polynomial of 2^x at 0: ``(ln 2)^k / k!``.
* :func:`pade_coeffs` — Padé ``[m/m]`` of e^z at 0 with z = x ln 2:
  ``P_m(z) = sum_k (2m-k)! m! / ((2m)! k! (m-k)!) z^k``, ``Q_m(z) = P_m(-z)``.
* :func:`remez_relative` — the degree-d polynomial minimising the maximum *relative* error on [lo, hi]
  (Remez exchange with weight 1/f on a dense grid, float64 / long double solves).
* :func:`baseline_programs` — the above encoded as programs (Horner; 2d ops for a degree-d polynomial,
  4m ops for Padé [m/m] with a monic denominator), so op counts come from the same counter as evolved code.
"""
from __future__ import annotations

import math

import numpy as np

from kernels.autonumerics.program import Program, horner, pade

__all__ = ["taylor_coeffs", "pade_coeffs", "remez_relative", "poly_eval", "baseline_programs"]

LN2 = math.log(2.0)


def taylor_coeffs(degree: int) -> np.ndarray:
  """[d+1] coefficients (lowest first) of the Taylor polynomial of 2^x at 0."""
  if degree < 0:
    raise ValueError(f"degree: expected >= 0, got {degree}")
  return np.array([LN2 ** k / math.factorial(k) for k in range(degree + 1)])


def pade_coeffs(m: int) -> tuple[np.ndarray, np.ndarray]:
  """Numerator and denominator ([m+1] each, lowest first, in powers of x) of the [m/m] Padé of 2^x at 0."""
  if m < 1:
    raise ValueError(f"m: expected >= 1, got {m}")
  p = np.array([math.factorial(2 * m - k) * math.factorial(m)
                / (math.factorial(2 * m) * math.factorial(k) * math.factorial(m - k)) for k in range(m + 1)])
  scale = LN2 ** np.arange(m + 1)
  return p * scale, p * scale * (-1.0) ** np.arange(m + 1)


def poly_eval(coeffs, x):
  """Horner evaluation of ``sum_k coeffs[k] x^k`` in x's dtype."""
  y = np.zeros_like(x) + coeffs[-1]
  for ck in coeffs[-2::-1]:
    y = y * x + ck
  return y


def remez_relative(fn, degree: int, lo: float = 0.0, hi: float = 1.0, grid: int = 20001,
                   iters: int = 30, dtype=np.longdouble) -> tuple[np.ndarray, float]:
  """Minimax polynomial for relative error, ``min_p max_x |p(x)/f(x) - 1|`` on [lo, hi].

  Remez exchange: solve ``p(x_i) + (-1)^i E f(x_i) = f(x_i)`` on d+2 reference points, move the points
  to the alternating extrema of the error on a dense Chebyshev grid, repeat until E stops changing.

  Args:
    fn: vectorised function (numpy) evaluated in ``dtype``.
  Returns:
    (coefficients [d+1] lowest first as float64, max relative error on the dense grid).
  """
  if degree < 0 or not hi > lo:
    raise ValueError(f"degree, lo, hi: expected degree >= 0 and hi > lo, got {degree}, {lo}, {hi}")
  t = np.cos(np.pi * np.arange(grid)[::-1] / (grid - 1)).astype(dtype)
  xs = (lo + (hi - lo) * (t + 1) / 2).astype(dtype)
  fx = fn(xs)
  n = degree + 2
  ref = np.cos(np.pi * np.arange(n)[::-1] / (n - 1))
  ref = (lo + (hi - lo) * (ref + 1) / 2).astype(dtype)
  coeffs = None
  for _ in range(iters):
    fr = fn(ref)
    A = np.concatenate([ref[:, None] ** np.arange(degree + 1)[None, :],
                        ((-1.0) ** np.arange(n))[:, None] * fr[:, None]], axis=1)
    sol = np.linalg.solve(A.astype(np.float64), fr.astype(np.float64))
    coeffs = sol[:-1]
    err = poly_eval(coeffs.astype(dtype), xs) / fx - 1
    # alternating extrema: split the grid at sign changes, take the max |err| in each run
    sign = np.sign(err)
    cuts = np.flatnonzero(np.diff(sign) != 0) + 1
    runs = np.split(np.arange(grid), cuts)
    ext = np.array([r[np.argmax(np.abs(err[r]))] for r in runs])
    if len(ext) < n:
      break
    # keep n alternating points containing the global maximum
    while len(ext) > n:
      ends = np.abs(err[ext[[0, -1]]])
      ext = ext[1:] if ends[0] < ends[1] else ext[:-1]
    new_ref = xs[ext]
    if np.allclose(new_ref.astype(np.float64), ref.astype(np.float64), rtol=0, atol=1e-15):
      break
    ref = new_ref
  err = poly_eval(coeffs.astype(dtype), xs) / fx - 1
  return coeffs, float(np.max(np.abs(err)))


def baseline_programs(max_ops: int = 16, length: int = 16, n_consts: int = 10) -> dict[str, dict[int, Program]]:
  """Taylor, Padé and minimax programs for 2^x on [0, 1] with at most ``max_ops`` ops, keyed by op count."""
  out: dict[str, dict[int, Program]] = {"taylor": {}, "minimax": {}, "pade": {}}
  for d in range(1, max_ops // 2 + 1):
    out["taylor"][2 * d] = horner(taylor_coeffs(d), length, n_consts)
    out["minimax"][2 * d] = horner(remez_relative(lambda v: np.exp2(v), d)[0], length, n_consts)
  for m in range(1, max_ops // 4 + 1):
    num, den = pade_coeffs(m)
    out["pade"][4 * m] = pade(num, den, length, n_consts)
  return out
