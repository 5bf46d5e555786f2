"""Float32 exp and exp2: Cody–Waite range reduction, a fitted kernel, two-step 2^n scaling (jnp form).

Real et al. "AutoNumerics-Zero: Automated Discovery of State-of-the-Art Mathematical Functions".
arXiv:2312.08472 (float32 track: < 1 ULP, speed under XLA; range reduction is standard, not searched).

exp(x), for x in [EXP_LO, EXP_HI] (finite normal results):
  1. ``n = floor(x·log2(e) + 1/2)``, n in [-126, 128];
  2. ``r = (x - n·C1) - n·C2`` with C1 = 0.693359375 (9 bits, n·C1 exact) and C2 = -2.12194440e-4
     (Cody–Waite; XLA CPU fuses each step into an FMA), |r| <= ln2/2 (+ rounding);
  3. kernel ``e^r ≈ sum_k c_k r^k``, degree 7, Horner form (every step an FMA under XLA CPU) with
     c_0 = c_1 = 1 (:data:`EXP_COEFFS`);
  4. ``2^n`` in two exact steps, ``(p · 2^(n>>1)) · 2^(n - (n>>1))``, so n = 128 does not overflow;
  5. x > EXP_HI -> inf, x < EXP_LO -> 0 (the flushed value of a subnormal result), NaN -> NaN.
exp2(x): ``n = round(x)``, ``r = x - n`` (exact), kernel ``2^r ≈ 1 + r·Q(r)``, Q of degree 6
(:data:`EXP2_COEFFS`), the same scaling; x in [-126, 128).

The kernel coefficients are *fitted*, not evolved (a deviation from the paper, see the README): a
weighted minimax (Lawson) fit of the kernel's relative error in long double, rounded to float32
(:func:`fit_kernel`; the tuples below are its output). Measured on a 853k-point stratified sample
(max ULP): degree-6 Horner 1.03 (fails), degree-7 Horner 0.857 (shipped); the form
``1 + (r + r²P(r))`` is *worse* under FMA contraction (degree 6: 0.995, degree 7: 0.975), because the
rounding of ``r + r²P`` is not absorbed by a final FMA.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array

__all__ = ["exp_f32", "exp2_f32", "EXP_COEFFS", "EXP_COEFFS_DEG6", "EXP2_COEFFS", "C1", "C2", "LOG2E", "fit_kernel",
           "cody_waite_exp"]

LOG2E = 1.44269504088896341
C1 = 0.693359375
C2 = -2.12194440e-4
_LO = -87.33654022216797     # smallest float32 with a normal exp
_HI = 88.72283172607422      # largest float32 with a finite exp
_LO2, _HI2 = -126.0, 127.99999237060547

# e^r ≈ sum_k EXP_COEFFS[k] r^k on [-ln2/2, ln2/2] (degree 7, float32 values, lowest first).
EXP_COEFFS: tuple[float, ...] = (1.0, 1.0, 0.5, 0.1666666567325592, 0.04166622459888458, 0.008333561010658741,
                                 0.0013948183041065931, 0.00019775170949287713)
# The degree-6 fit (baseline: 1.03 ULP on the sample, > 1 on the full range).
EXP_COEFFS_DEG6: tuple[float, ...] = (1.0, 1.0, 0.49999991059303284, 0.16666419804096222, 0.04166822507977486,
                                      0.008374815806746483, 0.0013836845755577087)
# 2^r ≈ 1 + r·Q(r), Q = sum_k EXP2_COEFFS[k] r^k on [-1/2, 1/2] (degree 6 in Q, float32 values).
EXP2_COEFFS: tuple[float, ...] = (0.6931471824645996, 0.24022650718688965, 0.055504102259874344,
                                  0.009618038311600685, 0.0013333935057744384, 0.00015466756303794682,
                                  1.5196156709862407e-05)


def _horner(coeffs, r):
  acc = jnp.asarray(coeffs[-1], r.dtype)
  for ck in coeffs[-2::-1]:
    acc = acc * r + jnp.asarray(ck, r.dtype)
  return acc


def _scale(p: Array, n: Array) -> Array:
  """p · 2^n in two exact steps (n int32 in [-126, 128])."""
  n1 = n >> 1
  n2 = n - n1
  s1 = jax.lax.bitcast_convert_type((n1 + 127) << 23, jnp.float32)
  s2 = jax.lax.bitcast_convert_type((n2 + 127) << 23, jnp.float32)
  return (p * s1) * s2


def cody_waite_exp(x: Array, coeffs, form: str = "horner") -> Array:
  """Float32 exp with the given kernel coefficients (see module doc). x: [...] float32.

  form: ``"horner"`` -> ``sum_k coeffs[k] r^k`` (the shipped form);
        ``"r2"`` -> ``1 + (r + r²P(r))`` with ``coeffs`` = P (measured worse, kept for comparison).
  """
  f32 = jnp.float32
  xc = jnp.clip(x, f32(_LO), f32(_HI))
  n = jnp.floor(xc * f32(LOG2E) + f32(0.5))
  r = xc - n * f32(C1)
  r = r - n * f32(C2)
  if form == "r2":
    p = f32(1.0) + (r + (r * r) * _horner(coeffs, r))
  else:
    p = _horner(coeffs, r)
  y = _scale(p, n.astype(jnp.int32))
  y = jnp.where(x > f32(_HI), f32(jnp.inf), jnp.where(x < f32(_LO), f32(0.0), y))
  return jnp.where(x != x, x, y)


def exp_f32(x: Array) -> Array:
  """The shipped float32 exp (jnp form): Cody–Waite + the degree-7 kernel :data:`EXP_COEFFS`."""
  return cody_waite_exp(x, EXP_COEFFS)


def exp2_f32(x: Array) -> Array:
  """The shipped float32 exp2 (jnp form)."""
  f32 = jnp.float32
  xc = jnp.clip(x, f32(_LO2), f32(_HI2))
  n = jnp.round(xc)
  r = xc - n
  p = f32(1.0) + r * _horner(EXP2_COEFFS, r)
  y = _scale(p, n.astype(jnp.int32))
  y = jnp.where(x > f32(_HI2), f32(jnp.inf), jnp.where(x < f32(_LO2), f32(0.0), y))
  return jnp.where(x != x, x, y)


def fit_kernel(kind: str, degree: int, grid: int = 4001, iters: int = 300) -> np.ndarray:
  """Weighted minimax fit (Lawson iterations, long double) of the kernel's free coefficients.

  kind ``"exp"``: P with e^r ≈ 1 + r + r²P(r) on [-ln2/2, ln2/2] (degree-2 terms .. r^degree);
  kind ``"exp2"``: Q with 2^r ≈ 1 + r Q(r) on [-1/2, 1/2] (r^1 .. r^degree);
  kind ``"exp_horner"``: all coefficients of a degree-``degree`` polynomial for e^r.
  The objective is the relative error of the full kernel. Returns float64 coefficients, lowest first.
  """
  ld = np.longdouble
  h = ld(math.log(2.0)) / 2 if kind != "exp2" else ld(0.5)
  t = np.cos(np.pi * (np.arange(grid) + 0.5) / grid).astype(ld) * h
  if kind == "exp":
    f = np.exp(t)
    basis = t[:, None] ** (np.arange(degree - 1)[None, :] + 2)
    rhs = f - 1 - t
  elif kind == "exp2":
    f = np.exp2(t)
    basis = t[:, None] ** (np.arange(degree)[None, :] + 1)
    rhs = f - 1
  elif kind == "exp_horner":
    f = np.exp(t)
    basis = t[:, None] ** np.arange(degree + 1)[None, :]
    rhs = f
  else:
    raise ValueError(f"kind: expected 'exp', 'exp2' or 'exp_horner', got {kind!r}")
  A = (basis / f[:, None]).astype(np.float64)
  bvec = (rhs / f).astype(np.float64)
  # scale columns for conditioning
  s = np.max(np.abs(A), axis=0)
  A = A / s
  w = np.ones(grid) / grid
  sol = None
  for _ in range(iters):
    sw = np.sqrt(w)
    sol = np.linalg.lstsq(A * sw[:, None], bvec * sw, rcond=None)[0]
    e = np.abs(A @ sol - bvec)
    w = w * e
    w = w / w.sum()
  return sol / s
