"""Float32 exp and exp2 (jnp form): one rounding FMA, Cody–Waite, an evolved 6-FMA kernel (degree-6 Horner
form), and the exponent added as an integer; plus the classical pipeline the package shipped before, kept as a baseline.

Real et al. "AutoNumerics-Zero: Automated Discovery of State-of-the-Art Mathematical Functions".
arXiv:2312.08472 (float32 track: < 1 ULP, speed under XLA; range reduction is standard, not searched).

Shipped exp(x) (:func:`exp_f32`), every step one IEEE float32 op under XLA CPU (FMA-contracted):
  1. ``t = x·log2(e) + M`` with M = 1.5·2^23 (one FMA): the addition rounds ``x·log2(e)`` to the
     nearest integer n and leaves ``bits(t) = bits(M) + n`` (|n| < 2^22);
  2. ``m = M - t = -n`` (exact; written ``M - t`` because XLA's simplifier folds ``(a + M) - M``
     to ``a``, which would throw the rounding away);
  3. Cody–Waite ``r = (x + m·C1) + m·C2``, C1 = 0.693359375 (9 bits), C2 = -2.12194440e-4, two FMAs;
  4. kernel ``e^r ≈ p(r)``: the program evolved by the float32 search (:func:`evolved_kernel`, constants
     :data:`EXP_EVOLVED`; 6 FMAs, a degree-6 Horner chain with c_0 = c_1 = 1, descended from the search's
     Horner-6 seed). The package shipped the fitted :data:`EXP_COEFFS6` in the same pipeline before;
  5. ``2^n`` by one integer add into the exponent field, ``bits(y) = bits(p) + (bits(t) << 23)``
     (the shift drops bits(M)'s high bits and leaves n·2^23 in two's complement). This is exact and
     stays a normal float for every x in [EXP_LO, EXP_HI]: at n = 128, x <= EXP_HI gives r < 0 and
     p < 1; at n = -126, x >= EXP_LO gives r > 0 and p >= 1. No clamp and no two-step scaling;
  6. two selects on x: x < EXP_LO -> +0 (no subnormal results, as XLA CPU flushes them anyway),
     x > EXP_HI or NaN -> ``x + inf`` (inf, or the NaN itself).
exp2(x) (:func:`exp2_f32`): ``t = x + M``, ``m = M - t``, ``r = x + m`` (exact), ``2^r ≈ 1 + r·Q(r)``
with Q of degree 5 (:data:`EXP2_COEFFS5`, 6 FMAs), the same integer scaling and selects, x in [-126, 128).

Kernel coefficients. exp: a weighted minimax (Lawson) fit of the kernel's relative error in long double
with c_0 = c_1 = 1 fixed (:func:`fit_kernel`), rounded to float32, then a coordinate search over the
float32 values of c_2..c_6 (±1..32 ULP steps) minimising the maximum ULP error of the *whole* XLA
pipeline on the 100k worst of 8M uniform inputs. exp2: sequential rounding (:func:`fit_kernel_sequential`:
fit all, round the lowest free coefficient to float32, refit the rest, ...), which brings the relative error of the
rounded kernel from 1.6e-8 (all rounded at once) to 3.0e-9. Max ULP on a 1M-point stratified sample
(:func:`kernels.autonumerics.ulp.stratified_sample`): exp with the old degree-6 coefficients
:data:`EXP_COEFFS_DEG6` (c_0, c_1 fitted free, then rounded to 1) 1.03, re-fitted 0.88, searched
0.86-0.88; exp2 0.76 (the previous degree-7 exp2 0.77).

The previous shipped pipeline, :func:`cody_waite_exp` (floor, two-step ``2^n`` scaling, selects for
inf / 0 / NaN; degree-7 kernel :data:`EXP_COEFFS`, 0.8935 ULP exhaustively), is kept as a baseline.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array

__all__ = ["exp_f32", "exp2_f32", "EXP_COEFFS6", "EXP2_COEFFS5", "EXP_COEFFS", "EXP_COEFFS_DEG6", "EXP2_COEFFS",
           "C1", "C2", "LOG2E", "MAGIC", "fit_kernel", "fit_kernel_sequential", "cody_waite_exp", "cody_waite_exp2",
           "shipped_exp", "exp_with_kernel", "reduce_exp", "EXP_EVOLVED",
           "evolved_kernel"]

LOG2E = 1.44269504088896341
C1 = 0.693359375
C2 = -2.12194440e-4
_LO = -87.33654022216797     # smallest float32 with a normal exp
_HI = 88.72283172607422      # largest float32 with a finite exp
_LO2, _HI2 = -126.0, 127.99999237060547

# Previous kernel (baseline :func:`cody_waite_exp`): e^r ≈ sum_k EXP_COEFFS[k] r^k on [-ln2/2, ln2/2],
# degree 7, float32 values, lowest first.
EXP_COEFFS: tuple[float, ...] = (1.0, 1.0, 0.5, 0.1666666567325592, 0.04166622459888458, 0.008333561010658741,
                                 0.0013948183041065931, 0.00019775170949287713)
# A degree-6 fit with c_0, c_1 free, then rounded to 1 (relative error 1.7e-8 after rounding; baseline:
# 1.03 ULP on the sample, > 1 on the full range).
EXP_COEFFS_DEG6: tuple[float, ...] = (1.0, 1.0, 0.49999991059303284, 0.16666419804096222, 0.04166822507977486,
                                      0.008374815806746483, 0.0013836845755577087)
# Previous exp2 kernel (baseline :func:`cody_waite_exp2`): 2^r ≈ 1 + r·Q(r), Q = sum_k EXP2_COEFFS[k] r^k
# on [-1/2, 1/2] (degree 6 in Q, float32 values).
EXP2_COEFFS: tuple[float, ...] = (0.6931471824645996, 0.24022650718688965, 0.055504102259874344,
                                  0.009618038311600685, 0.0013333935057744384, 0.00015466756303794682,
                                  1.5196156709862407e-05)
MAGIC = 12582912.0            # 1.5·2^23: adding it rounds |v| < 2^22 to an integer, kept in the low bits
# Shipped exp kernel: e^r ≈ sum_k EXP_COEFFS6[k] r^k on [-ln2/2, ln2/2] (degree 6, float32, lowest first).
EXP_COEFFS6: tuple[float, ...] = (1.0, 1.0, 0.4999999403953552, 0.1666652113199234, 0.041668374091386795,
                                  0.008368710055947304, 0.001381461275741458)
# Shipped exp2 kernel: 2^r ≈ 1 + r·Q(r), Q = sum_k EXP2_COEFFS5[k] r^k on [-1/2, 1/2] (degree 5 in Q).
EXP2_COEFFS5: tuple[float, ...] = (0.6931471824645996, 0.24022647738456726, 0.05550359934568405,
                                   0.009618505835533142, 0.0013390806270763278, 0.00015326464199461043)


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
  """The previous (classical) float32 exp pipeline with the given kernel, kept as a baseline. x: [...] float32.

  ``n = floor(x·log2(e) + 1/2)`` on x clipped to [EXP_LO, EXP_HI], the same Cody–Waite step, the kernel,
  ``2^n`` in two exact steps ``(p · 2^(n>>1)) · 2^(n - (n>>1))`` (n = 128 does not overflow), then three
  selects (x > EXP_HI -> inf, x < EXP_LO -> 0, NaN -> NaN).
  form: ``"horner"`` -> ``sum_k coeffs[k] r^k``;
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


def _bits(v: Array) -> Array:
  return jax.lax.bitcast_convert_type(v, jnp.int32)


def _add_exponent(p: Array, t: Array) -> Array:
  """p · 2^n with ``bits(t) = bits(MAGIC) + n``: one integer add into p's exponent field (see step 5)."""
  return jax.lax.bitcast_convert_type(_bits(p) + (_bits(t) << 23), jnp.float32)


def _specials(x: Array, y: Array, lo: float, hi: float) -> Array:
  f32 = jnp.float32
  y = jnp.where(x < f32(lo), f32(0.0), y)
  return jnp.where(x <= f32(hi), y, x + f32(jnp.inf))      # x > hi -> inf; NaN -> NaN


def exp_with_kernel(x: Array, kernel) -> Array:
  """The shipped exp pipeline (steps 1–3, 5, 6 of the module doc) around any kernel ``p(r) ≈ e^r``.

  x: [...] float32; kernel: float32 [...] -> [...] (r in about [-ln2/2, ln2/2]). Used by the float32
  search (:mod:`kernels.autonumerics.search_f32`) to score candidate kernels inside the real pipeline.
  """
  r, t = reduce_exp(x)
  return _specials(x, _add_exponent(kernel(r), t), _LO, _HI)


def reduce_exp(x: Array) -> tuple[Array, Array]:
  """Steps 1–3 of the module doc: ``(r, t)`` with ``r ≈ x - n·ln2`` (float32) and ``bits(t) = bits(MAGIC) + n``."""
  f32 = jnp.float32
  t = x * f32(LOG2E) + f32(MAGIC)
  m = f32(MAGIC) - t
  r = x + m * f32(C1)
  r = r + m * f32(C2)
  return r, t


def shipped_exp(x: Array, coeffs: tuple[float, ...] = EXP_COEFFS6) -> Array:
  """The exp pipeline (steps 1–6 of the module doc) with the given Horner kernel. x: [...] float32."""
  return exp_with_kernel(x, lambda r: _horner(coeffs, r))


# Shipped exp kernel, EVOLVED by the float32 track of the search (:mod:`kernels.autonumerics.search_f32`):
#   nice python -m kernels.autonumerics.search_f32 --seed=0 --generations=99 --n_sample=12288 --out=DIR
# 99 generations x 128 children from the seeds f = x, Horner-5, Horner-6 and Estrin-6 (float64 minimax
# constants), fitness = the whole exp's max ULP on a float32 sample + replay; the winner (6 FMAs, depth 6)
# descends from the Horner-6 seed; its constants were then coordinate-searched (±k float32 ULPs) inside
# this pipeline on 24M inputs and validated on 48M others (0.8805 ULP there; EXP_COEFFS6: 0.8846).
# Listing of the evolved program (x = r), lowest coefficient first in EXP_EVOLVED:
#   t0 = fma(0.0013836206635460258, x, 0.008374854922294617); t1 = fma(t0, x, 0.04166838899254799)
#   t2 = fma(t1, x, 0.16666454076766968); t3 = fma(t2, x, 0.49999991059303284)
#   t4 = fma(t3, x, 1); t5 = fma(t4, x, 1); return t5
EXP_EVOLVED: tuple[float, ...] = (1.0, 1.0, 0.49999991059303284, 0.16666454076766968,
                                 0.04166838899254799, 0.008374854922294617, 0.0013836206635460258)


def evolved_kernel(r: Array) -> Array:
  """The evolved kernel e^r ≈ p(r) on [-ln2/2, ln2/2], written out as the search printed it (6 FMAs).

  r: [...] float32. Each ``a * b + c`` below is one fused FMA under XLA CPU (every product has one use).
  """
  f32 = jnp.float32
  t0 = f32(0.0013836206635460258) * r + f32(0.008374854922294617)
  t1 = t0 * r + f32(0.04166838899254799)
  t2 = t1 * r + f32(0.16666454076766968)
  t3 = t2 * r + f32(0.49999991059303284)
  t4 = t3 * r + f32(1.0)
  return t4 * r + f32(1.0)


def exp_f32(x: Array) -> Array:
  """The shipped float32 exp (jnp form): the pipeline of the module doc around :func:`evolved_kernel`."""
  return exp_with_kernel(x, evolved_kernel)


def exp2_f32(x: Array) -> Array:
  """The shipped float32 exp2 (jnp form): n = round(x) by the MAGIC add, exact r, degree-6 kernel."""
  f32 = jnp.float32
  t = x + f32(MAGIC)
  m = f32(MAGIC) - t
  r = x + m
  p = f32(1.0) + r * _horner(EXP2_COEFFS5, r)
  return _specials(x, _add_exponent(p, t), _LO2, _HI2)


def cody_waite_exp2(x: Array) -> Array:
  """The previous exp2 (baseline): round, degree-7 kernel :data:`EXP2_COEFFS`, two-step scaling, selects."""
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


def fit_kernel_sequential(kind: str, degree: int, grid: int = 6001, iters: int = 400) -> tuple[float, ...]:
  """Float32 kernel coefficients by sequential rounding (long double, weighted minimax by Lawson).

  The free coefficients are fitted together, the lowest one is rounded to float32 and frozen, the rest are
  re-fitted, and so on: later coefficients absorb the rounding of earlier ones. kind ``"exp"``: e^r on
  [-ln2/2, ln2/2] with c_0 = c_1 = 1 fixed; ``"exp2"``: 2^r ≈ 1 + r·Q(r) on [-1/2, 1/2], returns Q's
  coefficients (degree - 1 in Q). Returns float32 values (as Python floats), lowest power first.
  """
  if kind not in ("exp", "exp2"):
    raise ValueError(f"kind: expected 'exp' or 'exp2', got {kind!r}")
  if not 2 <= degree <= 12:
    raise ValueError(f"degree: expected 2..12, got {degree}")
  ld = np.longdouble
  h = ld(math.log(2.0)) / 2 if kind == "exp" else ld(0.5)
  t = np.concatenate([np.cos(np.pi * (np.arange(grid) + 0.5) / grid).astype(ld) * h, [-h, h]])
  f = np.exp(t) if kind == "exp" else np.exp2(t)
  fixed = {0: ld(1), 1: ld(1)} if kind == "exp" else {0: ld(1)}
  pows = list(range(len(fixed), degree + 1))
  for i in range(len(pows)):
    free = pows[i:]
    base = sum(c * t ** k for k, c in fixed.items())
    a = np.stack([t ** k / f for k in free], 1).astype(np.float64)
    b = ((f - base) / f).astype(np.float64)
    s = np.max(np.abs(a), axis=0)
    a = a / s
    w = np.full(len(t), 1.0 / len(t))
    best = (np.inf, None)
    for _ in range(iters):
      sw = np.sqrt(w)
      sol = np.linalg.lstsq(a * sw[:, None], b * sw, rcond=None)[0]
      e = np.abs(a @ sol - b)
      if e.max() < best[0]:
        best = (e.max(), sol / s)
      w = w * e
      w = w / w.sum()
    fixed[free[0]] = ld(np.float32(best[1][0]))
  coeffs = [float(fixed[k]) for k in sorted(fixed)]
  return tuple(coeffs) if kind == "exp" else tuple(coeffs[1:])
