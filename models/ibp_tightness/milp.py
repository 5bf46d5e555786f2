"""Exact output bounds of small ReLU MLPs over an input box by mixed-integer linear programming (paper 17's
"true" tightness, official ``theory_local_approximation.py``; here with ``scipy.optimize.milp``/HiGHS).

Big-M encoding (Tjeng et al. 2019) of every hidden unit a = ReLU(z) with IBP pre-activation bounds l <= z <= u
and a binary δ: a >= z, a >= 0, a <= z − l (1 − δ), a <= u δ. The affine layers are equalities. Each output
row (a row of C z_L, or a logit) is minimised and maximised over the box: 2 M MILPs per example, so this is
for tiny networks (tests and the small "true tightness" check), float64 numpy throughout, not differentiable.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from models.common import ibp

__all__ = ["exact_bounds", "true_tightness"]

_PKG = "models.ibp_tightness"


def _np_layers(layers):
  return [(np.asarray(w, np.float64), np.asarray(b, np.float64)) for w, b in layers]


def exact_bounds(layers: Sequence[tuple], lower: np.ndarray, upper: np.ndarray, spec: np.ndarray | None = None,
                 ) -> tuple[np.ndarray, np.ndarray]:
  """The exact ``(min, max)`` of each row of ``C f(x)`` over ``x ∈ [lower, upper]`` (one example).

  Args:
    layers: ``[(w [D, H_1], b), ..., (w_L [H, K], b_L)]`` with ReLU between layers.
    lower, upper: the input box ``[D]``.
    spec: ``C: [M, K]`` (default the identity: the logits).
  Returns: ``(lo [M], hi [M])`` in float64.
  """
  from scipy.optimize import Bounds, LinearConstraint, milp
  fn = f"{_PKG}.exact_bounds"
  lo_in, hi_in = np.asarray(lower, np.float64), np.asarray(upper, np.float64)
  if lo_in.ndim != 1 or lo_in.shape != hi_in.shape:
    raise ValueError(f"{fn}: lower, upper: expected two [D] vectors, got {lo_in.shape} and {hi_in.shape}")
  if np.any(lo_in > hi_in):
    raise ValueError(f"{fn}: lower > upper: expected lower <= upper elementwise")
  ibp.mlp_apply(layers, lo_in[None])                               # validates the layers
  L = _np_layers(layers)
  k = L[-1][0].shape[1]
  c_mat = np.eye(k) if spec is None else np.asarray(spec, np.float64)
  if c_mat.ndim != 2 or c_mat.shape[1] != k:
    raise ValueError(f"{fn}: spec: expected [M, {k}] (the last layer has {k} outputs), got shape {c_mat.shape}")
  # IBP pre-activation bounds for the big-M constants (float64 numpy)
  c, r = (hi_in + lo_in) / 2, (hi_in - lo_in) / 2
  pre = []
  for w, b in L[:-1]:
    c, r = c @ w + b, r @ np.abs(w)
    pre.append((c - r, c + r))
    lo_a, hi_a = np.maximum(c - r, 0), np.maximum(c + r, 0)
    c, r = (hi_a + lo_a) / 2, (hi_a - lo_a) / 2
  # variables: x [D], then per hidden layer z [H], a [H], δ [H]
  d = lo_in.size
  sizes = [w.shape[1] for w, _ in L[:-1]]
  n = d + 3 * sum(sizes)
  lb, ub, integ = np.full(n, -np.inf), np.full(n, np.inf), np.zeros(n)
  lb[:d], ub[:d] = lo_in, hi_in
  rows, rlo, rhi = [], [], []
  prev = np.arange(d)
  off = d
  for (w, b), h, (pl, pu) in zip(L[:-1], sizes, pre):
    z, a, dl = off + np.arange(h), off + h + np.arange(h), off + 2 * h + np.arange(h)
    off += 3 * h
    lb[z], ub[z] = pl, pu
    lb[a], ub[a] = 0.0, np.maximum(pu, 0.0)
    lb[dl], ub[dl], integ[dl] = 0.0, 1.0, 1
    for j in range(h):
      row = np.zeros(n); row[z[j]] = 1.0; row[prev] = -w[:, j]     # z = W a_prev + b
      rows.append(row); rlo.append(b[j]); rhi.append(b[j])
      row = np.zeros(n); row[a[j]] = 1.0; row[z[j]] = -1.0          # a - z >= 0
      rows.append(row); rlo.append(0.0); rhi.append(np.inf)
      row = np.zeros(n); row[a[j]] = 1.0; row[z[j]] = -1.0; row[dl[j]] = -pl[j]   # a - z - l δ <= -l
      rows.append(row); rlo.append(-np.inf); rhi.append(-pl[j])
      row = np.zeros(n); row[a[j]] = 1.0; row[dl[j]] = -pu[j]       # a - u δ <= 0
      rows.append(row); rlo.append(-np.inf); rhi.append(0.0)
    prev = a
  cons = LinearConstraint(np.array(rows), np.array(rlo), np.array(rhi)) if rows else None
  w_last, b_last = L[-1]
  out_lo, out_hi = [], []
  for crow in c_mat:
    obj = np.zeros(n)
    obj[prev] = w_last @ crow
    const = float(b_last @ crow)
    vals = []
    for sgn in (1.0, -1.0):
      res = milp(sgn * obj, constraints=cons, integrality=integ, bounds=Bounds(lb, ub),
                 options={"mip_rel_gap": 1e-9})
      if not res.success:
        raise RuntimeError(f"{fn}: the MILP did not solve: {res.message}")
      vals.append(sgn * res.fun + const)
    out_lo.append(vals[0]); out_hi.append(vals[1])
  return np.array(out_lo), np.array(out_hi)


def true_tightness(layers: Sequence[tuple], x: np.ndarray, eps: float, y: np.ndarray | None = None,
                   data_range: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
  """Exact radius / IBP radius per output row (margins when ``y`` is given, elided), ``[B, M]``: the "true"
  tightness of a ReLU network, against which the local linearisation is an approximation."""
  fn = f"{_PKG}.true_tightness"
  x = np.asarray(x, np.float64)
  if x.ndim != 2:
    raise ValueError(f"{fn}: x: expected [B, D], got shape {x.shape}")
  c, r = ibp.input_box(x, eps, *data_range)
  c, r = np.asarray(c, np.float64), np.asarray(r, np.float64)
  k = np.shape(layers[-1][0])[1]
  specs = np.broadcast_to(np.eye(k), (x.shape[0], k, k)) if y is None else np.asarray(
      ibp.margin_spec(np.asarray(y, np.int32), k), np.float64)
  L = _np_layers(layers)
  out = []
  for i in range(x.shape[0]):
    lo, hi = exact_bounds(L, c[i] - r[i], c[i] + r[i], specs[i])
    cb, rb = c[i:i + 1], r[i:i + 1]
    for j, (w, b) in enumerate(L):
      if j == len(L) - 1:
        w, b = w @ specs[i].T, specs[i] @ b
      cb, rb = cb @ w + b, rb @ np.abs(w)
      if j < len(L) - 1:
        l2, u2 = np.maximum(cb - rb, 0), np.maximum(cb + rb, 0)
        cb, rb = (u2 + l2) / 2, (u2 - l2) / 2
    den = rb[0]
    num = (hi - lo) / 2
    out.append(np.where(den > 0, num / np.where(den > 0, den, 1.0), 1.0))
  return np.array(out)
