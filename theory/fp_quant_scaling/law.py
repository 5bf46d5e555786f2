"""The unified floating-point quantisation scaling law of Sun et al. (ICML 2025, arXiv:2501.02423), its
critical data size, the optimal exponent/mantissa layout per bit budget, and a fitter.

Law (the paper's unified form; ``B`` the block size of the scaling factors):

  L(N, D, E, M, B) = n / N^α + d / D^β + ε + (D^β / N^α) · log2(B) / (γ (E + 0.5)^δ (M + 0.5)^ν)

Critical data size (∂L/∂D = 0, a minimum since the quantisation term grows as D^β):

  D_crit = [d γ N^α (E + 0.5)^δ (M + 0.5)^ν / log2(B)]^(1 / (2β))

Optimal layout for P bits (1 sign + E + M = P): the quantisation term is smallest where
``δ ln(E + 0.5) + ν ln(M + 0.5)`` is largest; the continuous optimum has ``(E + 0.5) / (M + 0.5) = δ / ν``.

``B`` is a number: per-block scaling uses the block length, channel-wise the contraction length (one block
per row), tensor-wise the tensor's size (:func:`effective_block`); ``B = 1`` makes the term vanish.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import jax.numpy as jnp
import numpy as np

__all__ = ["LawParams", "PAPER_PARAMS", "loss", "quantization_term", "critical_data_size", "optimal_layout",
           "layout_table", "effective_block", "FitResult", "fit_law", "r_squared", "argmin_data_size"]


class LawParams(NamedTuple):
  """The eight constants of the unified law."""
  n: float
  alpha: float
  d: float
  beta: float
  eps: float
  gamma: float
  delta: float
  nu: float


# Fitted constants of the unified law (arXiv:2501.02423 v1, Table 2, as transcribed in the project notes; the
# paper's own critical data sizes for a 1B model, 1730T / 27T / 0.4T tokens for BF16 / E4M3 / E2M1 at B = 128,
# follow from them to the quoted digits: see the README).
PAPER_PARAMS = LawParams(n=69.2343, alpha=0.2368, d=68973.0621, beta=0.5162, eps=1.9061, gamma=11334.5197,
                         delta=3.1926, nu=2.9543)


def _law(xp, N, D, E, M, B, p):
  q = (D ** p.beta / N ** p.alpha) * xp.log2(B) / (p.gamma * (E + 0.5) ** p.delta * (M + 0.5) ** p.nu)
  return p.n / N ** p.alpha + p.d / D ** p.beta + p.eps + q


def _check_params(params, fn):
  if not isinstance(params, LawParams):
    raise TypeError(f"{fn}: params: expected a LawParams, got {type(params).__name__}")
  return params


def _check_positive(name, v, fn):
  a = np.asarray(v, np.float64) if not hasattr(v, "aval") else None
  if a is not None and (not np.all(np.isfinite(a)) or np.any(a <= 0)):
    raise ValueError(f"{fn}: {name}: expected finite values > 0, got {v!r}")


def _check_bits(name, v, fn):
  a = np.asarray(v, np.float64) if not hasattr(v, "aval") else None
  if a is not None and (not np.all(np.isfinite(a)) or np.any(a < 0)):
    raise ValueError(f"{fn}: {name}: expected finite values >= 0, got {v!r}")


def loss(N, D, E, M, B, params: LawParams = PAPER_PARAMS):
  """``L(N, D, E, M, B)`` (broadcasting jnp; N parameters, D tokens, E/M bits, B block size >= 1)."""
  fn = "loss"
  _check_params(params, fn)
  for name, v in (("N", N), ("D", D), ("B", B)):
    _check_positive(name, v, fn)
  for name, v in (("E", E), ("M", M)):
    _check_bits(name, v, fn)
  return _law(jnp, N, D, E, M, B, params)


def quantization_term(N, D, E, M, B, params: LawParams = PAPER_PARAMS):
  """The last term alone: ``L - L(B = 1)``, the loss the quantisation adds."""
  return loss(N, D, E, M, B, params) - loss(N, D, E, M, 1.0, params)


def critical_data_size(N, E, M, B, params: LawParams = PAPER_PARAMS):
  """``D_crit`` (tokens) where ``∂L/∂D = 0``; B > 1 (at B = 1 there is none: returns inf)."""
  fn = "critical_data_size"
  p = _check_params(params, fn)
  _check_positive("N", N, fn)
  _check_positive("B", B, fn)
  for name, v in (("E", E), ("M", M)):
    _check_bits(name, v, fn)
  num = p.d * p.gamma * N ** p.alpha * (E + 0.5) ** p.delta * (M + 0.5) ** p.nu
  lb = jnp.log2(B)
  return jnp.where(lb > 0, (num / jnp.where(lb > 0, lb, 1.0)) ** (1.0 / (2 * p.beta)), jnp.inf)


def argmin_data_size(N, E, M, B, params: LawParams = PAPER_PARAMS, lo: float = 1e6, hi: float = 1e20,
                     points: int = 20001) -> float:
  """Numerical argmin of L over D on a log grid (float64 numpy), refined by golden-section search: the
  oracle for :func:`critical_data_size`."""
  fn = "argmin_data_size"
  _check_params(params, fn)
  _check_positive("N", N, fn)
  _check_positive("B", B, fn)
  for name, v in (("E", E), ("M", M)):
    _check_bits(name, v, fn)
  if not (0 < lo < hi and math.isfinite(hi)):
    raise ValueError(f"{fn}: lo, hi: expected 0 < lo < hi < inf, got {lo!r}, {hi!r}")
  ds = np.logspace(np.log10(lo), np.log10(hi), points)
  f = lambda d: float(_law(np, float(N), d, float(E), float(M), float(B), params))
  vals = _law(np, float(N), ds, float(E), float(M), float(B), params)
  i = int(np.argmin(vals))
  a, b = math.log(ds[max(i - 1, 0)]), math.log(ds[min(i + 1, points - 1)])
  g = (math.sqrt(5) - 1) / 2
  for _ in range(200):
    c, d = b - g * (b - a), a + g * (b - a)
    if f(math.exp(c)) < f(math.exp(d)):
      b = d
    else:
      a = c
  return math.exp((a + b) / 2)


def optimal_layout(bits: int, params: LawParams = PAPER_PARAMS) -> tuple[int, int]:
  """The integer ``(E, M)`` with ``1 + E + M = bits`` that minimises the quantisation term (E, M >= 0)."""
  fn = "optimal_layout"
  p = _check_params(params, fn)
  if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or bits < 2:
    raise ValueError(f"{fn}: bits: expected an int >= 2 (sign + at least one bit), got {bits!r}")
  score = lambda e: p.delta * math.log(e + 0.5) + p.nu * math.log(bits - 1 - e + 0.5)
  return max(((e, bits - 1 - e) for e in range(bits)), key=lambda em: score(em[0]))


def layout_table(bits: Sequence[int] = tuple(range(4, 17)), params: LawParams = PAPER_PARAMS) -> dict[int, str]:
  """``{P: "ExMy"}`` of :func:`optimal_layout` for each bit budget."""
  return {int(b): "E{}M{}".format(*optimal_layout(b, params)) for b in bits}


def effective_block(block, contraction: int, size: int | None = None) -> float:
  """The number the law takes for ``B``: the block length, the contraction length for ``"channel"``, the
  tensor size for ``"tensor"`` (``size`` required)."""
  fn = "effective_block"
  if isinstance(contraction, bool) or not isinstance(contraction, (int, np.integer)) or contraction < 1:
    raise ValueError(f"{fn}: contraction: expected a positive int, got {contraction!r}")
  if block == "channel":
    return float(contraction)
  if block == "tensor":
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
      raise ValueError(f"{fn}: size: expected a positive int for block 'tensor', got {size!r}")
    return float(size)
  if isinstance(block, bool) or not isinstance(block, (int, np.integer)) or block < 1:
    raise ValueError(f"{fn}: block: expected a positive int, 'channel' or 'tensor', got {block!r}")
  return float(block)


# ---------------------------------------------------------------------------------------------------
# Fitting.

class FitResult(NamedTuple):
  params: LawParams
  cost: float            # the best start's robust cost (half the sum of Huber-ised squared residuals)
  rmse: float            # on the fitted runs
  starts: int
  successes: int         # starts that converged


_POSITIVE = ("n", "d", "eps", "gamma")     # fitted in log space; exponents fitted directly (bounded)
_BOUNDS = {"alpha": (0.0, 2.0), "beta": (0.0, 2.0), "delta": (0.0, 10.0), "nu": (0.0, 10.0)}


def _unpack(theta):
  n, d, eps, gamma = np.exp(theta[:4])
  alpha, beta, delta, nu = theta[4:]
  return LawParams(n, alpha, d, beta, eps, gamma, delta, nu)


def fit_law(N, D, E, M, B, L, *, starts: int = 16, seed: int = 0, huber: float = 1e-3,
            init: LawParams | None = None) -> FitResult:
  """Least-squares fit of the eight constants to measured losses ``L`` (1-D arrays of one length).

  Positive scales (n, d, ε, γ) are fitted as logarithms, exponents (α, β, δ, ν) within [0, 2] / [0, 10];
  ``scipy.optimize.least_squares`` with the Huber loss (``f_scale = huber``, as in Chinchilla-style fits) from
  ``starts`` random starts (plus ``init`` if given); the best final cost wins.
  """
  from scipy.optimize import least_squares
  fn = "fit_law"
  arrs = [np.asarray(a, np.float64).ravel() for a in (N, D, E, M, B, L)]
  names = ("N", "D", "E", "M", "B", "L")
  k = arrs[0].size
  for name, a in zip(names, arrs):
    if a.size != k:
      raise ValueError(f"{fn}: {name}: expected {k} values (the length of N), got {a.size}")
    if not np.all(np.isfinite(a)):
      raise ValueError(f"{fn}: {name}: expected finite values, got a NaN or inf")
  if k < 8:
    raise ValueError(f"{fn}: L: expected at least 8 runs for 8 constants, got {k}")
  if isinstance(starts, bool) or not isinstance(starts, int) or starts < 1:
    raise ValueError(f"{fn}: starts: expected a positive int, got {starts!r}")
  if not (huber > 0 and math.isfinite(huber)):
    raise ValueError(f"{fn}: huber: expected a positive finite float, got {huber!r}")
  Nn, Dd, Ee, Mm, Bb, Ll = arrs
  for name, a in (("N", Nn), ("D", Dd), ("B", Bb)):
    if np.any(a <= 0):
      raise ValueError(f"{fn}: {name}: expected values > 0")
  lo = np.array([-20.0] * 4 + [_BOUNDS[k][0] for k in ("alpha", "beta", "delta", "nu")])
  hi = np.array([30.0] * 4 + [_BOUNDS[k][1] for k in ("alpha", "beta", "delta", "nu")])

  def resid(theta):
    return _law(np, Nn, Dd, Ee, Mm, Bb, _unpack(theta)) - Ll

  rng = np.random.default_rng(seed)
  inits = []
  if init is not None:
    inits.append(np.array([math.log(init.n), math.log(init.d), math.log(init.eps), math.log(init.gamma),
                           init.alpha, init.beta, init.delta, init.nu]))
  emin = max(float(np.min(Ll)) * 0.5, 1e-3)
  for _ in range(starts):
    inits.append(np.array([rng.uniform(-2, 8), rng.uniform(-2, 12), math.log(emin * rng.uniform(0.2, 1.0)),
                           rng.uniform(0, 12), rng.uniform(0.05, 0.8), rng.uniform(0.05, 0.8),
                           rng.uniform(0.5, 5), rng.uniform(0.5, 5)]))
  best, ok = None, 0
  for th0 in inits:
    th0 = np.clip(th0, lo + 1e-9, hi - 1e-9)
    try:
      r = least_squares(resid, th0, bounds=(lo, hi), loss="huber", f_scale=huber, max_nfev=3000, x_scale="jac")
    except (ValueError, FloatingPointError):
      continue
    if not np.all(np.isfinite(r.fun)):
      continue
    ok += int(r.success)
    if best is None or r.cost < best.cost:
      best = r
  if best is None:
    raise ValueError(f"{fn}: L: no start gave a finite fit")
  rmse = float(np.sqrt(np.mean(best.fun ** 2)))
  return FitResult(_unpack(best.x), float(best.cost), rmse, len(inits), ok)


def r_squared(y, pred) -> float:
  """``1 - SS_res / SS_tot`` of predictions ``pred`` for ``y``."""
  y = np.asarray(y, np.float64).ravel()
  pred = np.asarray(pred, np.float64).ravel()
  if y.size != pred.size or y.size < 2:
    raise ValueError(f"r_squared: pred: expected {y.size} values (>= 2), got {pred.size}")
  ss = float(np.sum((y - y.mean()) ** 2))
  return 1.0 - float(np.sum((y - pred) ** 2)) / ss if ss > 0 else float("nan")
