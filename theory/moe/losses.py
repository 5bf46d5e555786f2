"""Voronoi losses between mixing measures, density distances by quadrature, the empirical Fisher information.

Papers: [03] Nguyen, Akbarian, Ho, "Is Temperature Sample Efficient for Softmax Gaussian Mixture of Experts?"
(ICML 2024, arXiv:2401.13875), the losses L_r, D_1, D_2 of its Theorems (linear and activation DTS gates);
[04] Nguyen, Akbarian, Yan, Ho, "Statistical Perspective of Top-K Sparse Softmax Gating Mixture of Experts"
(ICLR 2024, arXiv:2309.13850), its D_1 (exact-specified) and D_2 (over-specified) losses.

Mixing measure G = sum_i exp(beta_0i) delta_{theta_i} with theta_i = (beta_1i, tau, a_i, b_i, nu_i) (tau only for
the temperature / activation gates; with ``ratio=True`` the pair (beta_1i, tau) is replaced by the identifiable
beta_1i / tau). Voronoi cells A_j = {i : ||theta_i - theta*_j|| <= ||theta_i - theta*_l|| for all l}, ties to the
smallest j. Every loss is

  sum_j | sum_{i in A_j} exp(beta_0i) - exp(beta*_0j) |
    + sum_j sum_{i in A_j} exp(beta_0i) sum_groups ||Delta group_ij||^{e(group, |A_j|)}

with the exponents e:
  "L_r"          every group r, whatever |A_j|                                  ([03] minimax loss)
  "D1"           every group 1                                                   ([03], [04] exact-specified)
  "D2_temperature"  |A_j| = 1: 1;  |A_j| > 1: beta_1, tau, a (and beta_1/tau): 2, b: rbar, nu: rbar/2   ([03])
  "D2_topk"      |A_j| = 1: 1;  |A_j| > 1: beta_1: rbar, a: rbar/2, b: rbar, nu: rbar/2                    ([04])
with rbar(|A_j|) = 1, 4, 6 for |A_j| = 1, 2, 3 (``RBAR``; undefined beyond 3: the loss is NaN then).
Both gates use the translation convention of ``theory.moe.model`` (last expert's gate = 0) on both measures.

Differentiation: ``voronoi_loss`` and ``atoms`` run in numpy float64 on concrete inputs and in ``jax.numpy`` (the
inputs' dtype) on traced ones, so they can be differentiated in the estimate wherever the loss is differentiable
(every group difference non-zero; cells are piecewise constant). ``density_distance`` and ``empirical_fisher``
return numpy on concrete inputs and jax arrays when traced (differentiable; the Fisher eigenvalues where they are
simple). Inputs are validated at the boundary (shapes, gate, top_k, n >= 1).
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import is_concrete
from theory.moe.em import gate_vec, with_gate_vec
from theory.moe.model import GATES, MoEParams, check_gate, check_params, log_density


def _concrete(*trees) -> bool:
  return all(is_concrete(leaf) for t in trees for leaf in jax.tree.leaves(t))


def _check_gate_name(gate, fn: str) -> None:
  if not isinstance(gate, str) or gate not in GATES:
    raise ValueError(f"{fn}: gate: expected one of {GATES}, got {gate!r}")

RBAR = (float("nan"), 1.0, 4.0, 6.0)     # rbar(M) for M = |A_j| (index 0 unused)
KINDS = ("L_r", "D1", "D2_temperature", "D2_topk")

# (coefficient of rbar, constant) of each group's exponent inside a multi-atom cell.
_MULTI = {
    "D2_temperature": {"beta1": (0, 2), "tau": (0, 2), "ratio": (0, 2), "a": (0, 2), "b": (1, 0), "nu": (0.5, 0)},
    "D2_topk": {"beta1": (1, 0), "tau": (1, 0), "ratio": (1, 0), "a": (0.5, 0), "b": (1, 0), "nu": (0.5, 0)},
}


class VoronoiLoss(NamedTuple):
  """A Voronoi loss and its parts (leading [R] axis when the estimate is batched).

  Attributes:
    total: [] the loss.
    weight: [] the weight term sum_j |sum_{A_j} exp(beta_0i) - exp(beta*_0j)|.
    groups: [G] the summed parameter terms per group (names in ``atom_groups(gate, ratio)``).
    cell_sizes: [k*] |A_j|.
  """
  total: jax.Array
  weight: jax.Array
  groups: jax.Array
  cell_sizes: jax.Array


def atom_groups(gate: str, ratio: bool = False) -> tuple[str, ...]:
  """Names of the parameter groups of an atom, in order."""
  _check_gate_name(gate, "atom_groups")
  _check_ratio(gate, ratio, "atom_groups")
  if gate in ("temperature", "activation"):
    return ("ratio", "a", "b", "nu") if ratio else ("beta1", "tau", "a", "b", "nu")
  return ("beta1", "a", "b", "nu")


def atoms(params: MoEParams, gate: str, ratio: bool = False) -> tuple[np.ndarray, list[np.ndarray]]:
  """Mixing-measure atoms (numpy float64): (log weights beta_0 [k], group arrays [k, p_g] in ``atom_groups``
  order: beta_1 [k, d], tau [k, 1] (or beta_1 / tau), a [k, d], b [k, 1], nu [k, 1]). Traced inputs give jax
  arrays (differentiable)."""
  check_params(params)
  _check_gate_name(gate, "atoms")
  _check_ratio(gate, ratio, "atoms")
  return _np_atoms(params, gate, ratio, xp=np if _concrete(params) else jnp)


def _check_ratio(gate: str, ratio, fn: str) -> None:
  if not isinstance(ratio, (bool, np.bool_)):
    raise TypeError(f"{fn}: ratio: expected a bool, got {ratio!r}")
  if ratio and gate not in ("temperature", "activation"):
    raise ValueError(f"{fn}: ratio: only for the temperature / activation gates, got gate={gate!r}")


def _voronoi(est: MoEParams, true: MoEParams, gate: str, kind: str, r: float, ratio: bool, xp=np) -> VoronoiLoss:
  """numpy float64 (``xp=np``) or jax.numpy (traced inputs); est fields carry a leading [R] axis."""
  names = atom_groups(gate, ratio)
  lw, ge = _np_atoms(est, gate, ratio, xp)
  lw_s, gt = _np_atoms(true, gate, ratio, xp)
  th, th_s = xp.concatenate(ge, axis=-1), xp.concatenate(gt, axis=-1)         # [R, k, p], [k*, p]
  k_true = th_s.shape[0]
  dist = xp.sum((th[:, :, None, :] - th_s[None, None]) ** 2, axis=-1)        # [R, k, k*]
  cell = xp.argmin(dist, axis=-1)                                             # [R, k] (ties: smallest j)
  onehot = xp.eye(k_true, dtype=lw.dtype)[cell]                               # [R, k, k*]
  w = xp.exp(lw)                                                              # [R, k]
  weight = xp.sum(xp.abs(xp.einsum("rkj,rk->rj", onehot, w) - xp.exp(lw_s)), axis=-1)
  sizes = xp.sum(onehot, axis=1)                                              # [R, k*]
  m = xp.take_along_axis(sizes, cell, axis=1)                                 # [R, k]: |A_j| of each atom's cell
  rbar = xp.asarray(RBAR + (np.nan,), lw.dtype)[xp.clip(m.astype(int), 0, len(RBAR))]
  terms = []
  for name, g_e, g_t in zip(names, ge, gt):
    sq = xp.sum((g_e - g_t[cell]) ** 2, axis=-1)                             # [R, k]
    norm = xp.where(sq > 0, xp.sqrt(xp.where(sq > 0, sq, 1.0)), 0.0)        # sqrt, with a finite derivative at 0
    if kind == "L_r":
      expo = xp.full_like(norm, r)
    elif kind == "D1":
      expo = xp.ones_like(norm)
    else:
      c1, c0 = _MULTI[kind][name]
      expo = xp.where(m > 1, c1 * rbar + c0, 1.0)
    terms.append(xp.sum(w * norm ** expo, axis=-1))
  groups = xp.stack(terms, axis=-1)
  return VoronoiLoss(weight + xp.sum(groups, axis=-1), weight, groups, sizes)


def _np_atoms(params: MoEParams, gate: str, ratio: bool, xp=np):
  conv = (lambda v: np.asarray(v, np.float64)) if xp is np else jnp.asarray
  p = MoEParams(*(conv(v) for v in params))
  tau = xp.exp(p.log_tau)[..., None, None]
  nu = xp.exp(p.log_nu)[..., None]
  if gate in ("temperature", "activation"):
    gate_part = [p.beta1 / tau] if ratio else [p.beta1, xp.broadcast_to(tau, p.b.shape + (1,))]
  else:
    gate_part = [p.beta1]
  return p.beta0, gate_part + [p.a, p.b[..., None], nu]


def voronoi_loss(est: MoEParams, true: MoEParams, gate: str, kind: str = "D1", r: float = 1.0,
                 ratio: bool = False) -> VoronoiLoss:
  """Voronoi loss between a fitted measure ``est`` (k atoms; optionally a leading [R] axis) and ``true`` (k*).

  kind: one of ``KINDS``; r: the exponent of "L_r"; ratio: use beta_1/tau instead of (beta_1, tau)
  (temperature / activation gates only). Evaluated on the host in numpy float64 (a few [R, k, k*] array
  operations: compiling it would cost more than it saves); traced inputs (``jax.grad``) take the same
  formulas in ``jax.numpy``, differentiable where every group difference is non-zero.
  """
  if kind not in KINDS:
    raise ValueError(f"voronoi_loss: kind: expected one of {KINDS}, got {kind!r}")
  if isinstance(r, bool) or not isinstance(r, (int, float, np.number)) or not r > 0:
    raise ValueError(f"voronoi_loss: r: expected a number > 0, got {r!r}")
  _check_gate_name(gate, "voronoi_loss")
  _check_ratio(gate, ratio, "voronoi_loss")
  if not isinstance(est, MoEParams):
    raise TypeError(f"voronoi_loss: est: expected MoEParams, got {type(est).__name__}")
  k_s, d_s = check_params(true)
  host = _concrete(est, true)
  arr = np.asarray if host else jnp.asarray
  batched = np.ndim(est.b) == 2
  probe = MoEParams(*(arr(v)[0] for v in est)) if batched else est
  _, d = check_params(probe)
  if d != d_s:
    raise ValueError(f"voronoi_loss: est: expected input dimension d={d_s} (from true), got {d}")
  if not batched:
    est = MoEParams(*(arr(v)[None] for v in est))
  out = _voronoi(est, true, gate, kind, float(r), bool(ratio), xp=np if host else jnp)
  return out if batched else VoronoiLoss(*(v[0] for v in out))


# ---------------------------------------------------------------------------------------------------
# Density distances.


class DensityDistance(NamedTuple):
  """E_X h(p_est(.|X), p_true(.|X)) and E_X TV(...) (leading [R] axis when batched)."""
  hellinger: jax.Array
  tv: jax.Array


def _density_distance(est, true, gate, top_k, top_k_true, xs, wx, n_y):
  def dens(p, kk, x, y):      # x [m, d], y [m, n_y] -> [m, n_y]
    m = x.shape[0]
    xx = jnp.repeat(x, y.shape[1], axis=0)
    return jnp.exp(log_density(p, xx, y.reshape(-1), gate, kk)).reshape(m, -1)

  def span(p, x):
    mu = x @ p.a.T + p.b
    sd = jnp.exp(0.5 * p.log_nu)
    return jnp.min(mu - 12 * sd, axis=1), jnp.max(mu + 12 * sd, axis=1)

  lo1, hi1 = span(est, xs)
  lo2, hi2 = span(true, xs)
  lo, hi = jnp.minimum(lo1, lo2), jnp.maximum(hi1, hi2)
  t = jnp.linspace(0.0, 1.0, n_y, dtype=xs.dtype)
  y = lo[:, None] + (hi - lo)[:, None] * t[None, :]
  dy = (hi - lo) / (n_y - 1)
  p, q = dens(est, top_k, xs, y), dens(true, top_k_true, xs, y)
  trap = lambda f: dy * (jnp.sum(f, axis=1) - 0.5 * (f[:, 0] + f[:, -1]))   # trapezoid per x
  h = jnp.sqrt(jnp.maximum(0.5 * trap((jnp.sqrt(p) - jnp.sqrt(q)) ** 2), 0.0))
  tv = 0.5 * trap(jnp.abs(p - q))
  return DensityDistance(jnp.sum(wx * h), jnp.sum(wx * tv))


@functools.partial(jax.jit, static_argnums=(2, 7))
def _density_batch(est, true, gate, top_k, top_k_true, xs, wx, n_y):
  return jax.vmap(lambda e: _density_distance(e, true, gate, top_k, top_k_true, xs, wx, n_y))(est)


def density_distance(est: MoEParams, true: MoEParams, gate: str, top_k: int | None = None,
                     top_k_true: int | None = None, x_nodes=None, n_x: int = 256, n_y: int = 801,
                     x_low: float = -1.0, x_high: float = 1.0) -> DensityDistance:
  """Expected Hellinger and total-variation distances between conditional densities, by quadrature.

  E_X h = E_X sqrt(1/2 int (sqrt p_est - sqrt p_true)^2 dy), E_X TV = E_X 1/2 int |p_est - p_true| dy, X uniform.
  The y integral is a trapezoid rule on n_y points spanning every component mean +- 12 sd (spectrally accurate
  for these smooth, vanishing integrands). The X average: for d = 1 the midpoint rule with n_x nodes on
  [x_low, x_high]; otherwise (or when given) the equal-weight average over ``x_nodes: [m, d]`` (e.g. a Monte
  Carlo sample). est may carry a leading [R] axis. top_k / top_k_true: K of the estimate / of the truth
  (top_k_true defaults to top_k).
  """
  if not isinstance(est, MoEParams) or not isinstance(true, MoEParams):
    raise TypeError(f"density_distance: est, true: expected MoEParams, got {type(est).__name__}, "
                    f"{type(true).__name__}")
  host = _concrete(est, true)
  with jax.enable_x64(True):
    est = MoEParams(*(jnp.asarray(v, jnp.float64) for v in est))
    true = MoEParams(*(jnp.asarray(v, jnp.float64) for v in true))
    k_s, d = check_params(true)
    top_k_true = top_k if top_k_true is None else top_k_true
    check_gate(gate, top_k_true, k_s)
    batched = np.ndim(est.b) == 2
    probe = MoEParams(*(v[0] for v in est)) if batched else est
    k_e, d_e = check_params(probe)
    check_gate(gate, top_k, k_e)
    if d_e != d:
      raise ValueError(f"est: expected input dimension d={d}, got {d_e}")
    if isinstance(n_y, bool) or not isinstance(n_y, (int, np.integer)) or n_y < 3:
      raise ValueError(f"n_y: expected an int >= 3, got {n_y!r}")
    if x_nodes is None:
      if d != 1:
        raise ValueError(f"x_nodes: required when d > 1 (got d={d})")
      if isinstance(n_x, bool) or not isinstance(n_x, (int, np.integer)) or n_x < 1:
        raise ValueError(f"n_x: expected a positive int, got {n_x!r}")
      h = (x_high - x_low) / n_x
      xs = (x_low + h * (np.arange(n_x) + 0.5))[:, None]
    else:
      xs = np.asarray(x_nodes, np.float64)
      if xs.ndim != 2 or xs.shape[1] != d or xs.shape[0] < 1:
        raise ValueError(f"x_nodes: expected shape [m >= 1, d={d}], got {xs.shape}")
    wx = np.full(xs.shape[0], 1.0 / xs.shape[0])
    kk = jnp.int32(top_k) if gate == "topk" else None        # traced: one compilation serves every K
    kt = jnp.int32(top_k_true) if gate == "topk" else None
    if not batched:
      est = MoEParams(*(v[None] for v in est))
    out = _density_batch(est, true, gate, kk, kt, jnp.asarray(xs), jnp.asarray(wx), int(n_y))
    conv = np.asarray if host else (lambda v: v)
    return jax.tree.map(conv, out) if batched else jax.tree.map(lambda v: conv(v[0]), out)


# ---------------------------------------------------------------------------------------------------
# Fisher information.


class FisherInfo(NamedTuple):
  """Empirical Fisher information (1/n) sum_i s_i s_i^T of the free coordinates (see ``free_vector``).

  Attributes:
    eigenvalues: [p] ascending.
    min_eigenvector: [p] unit eigenvector of the smallest eigenvalue.
  """
  eigenvalues: jax.Array
  min_eigenvector: jax.Array


def free_vector(params: MoEParams, gate: str) -> jax.Array:
  """Free coordinates: (beta_0[:k-1], beta_1[:k-1] row-major, [log tau,] a row-major, b, log nu): [p]."""
  check_params(params)
  _check_gate_name(gate, "free_vector")
  return jnp.concatenate([gate_vec(params, gate), params.a.ravel(), params.b, params.log_nu])


def with_free_vector(params: MoEParams, v: jax.Array, gate: str) -> MoEParams:
  """Inverse of ``free_vector`` (the reference expert's gate is kept from ``params``); v: [p] floating."""
  k, d = check_params(params)
  _check_gate_name(gate, "with_free_vector")
  ng = gate_vec(params, gate).shape[0]
  p_len = ng + k * d + 2 * k
  if not hasattr(v, "shape") or not hasattr(v, "dtype") or not jnp.issubdtype(v.dtype, jnp.floating):
    raise TypeError(f"with_free_vector: v: expected a floating array, got {getattr(v, 'dtype', type(v).__name__)}")
  if tuple(v.shape) != (p_len,):
    raise ValueError(f"with_free_vector: v: expected shape [{p_len}] (free_vector's length for k={k}, d={d}, "
                     f"gate={gate!r}), got {tuple(v.shape)}")
  p = with_gate_vec(params, v[:ng], gate)
  a = v[ng:ng + k * d].reshape(k, d)
  return p._replace(a=a, b=v[ng + k * d:ng + k * d + k], log_nu=v[ng + k * d + k:])


@functools.partial(jax.jit, static_argnums=(3, 4))
def _fisher(params, x, y, gate, top_k):
  v0 = free_vector(params, gate)
  scores = jax.jacfwd(lambda v: log_density(with_free_vector(params, v, gate), x, y, gate, top_k))(v0)  # [n, p]
  info = scores.T @ scores / x.shape[0]
  e, vec = jnp.linalg.eigh(info)
  return FisherInfo(e, vec[:, 0])


def empirical_fisher(params: MoEParams, x, y, gate: str, top_k: int | None = None) -> FisherInfo:
  """Eigen-decomposition of the empirical Fisher information at ``params`` on (x [n, d], y [n], n >= 1); float64.

  Returns numpy arrays (jax arrays when traced: the eigenvalues are differentiable where they are simple).
  """
  if not isinstance(params, MoEParams):
    raise TypeError(f"empirical_fisher: params: expected MoEParams, got {type(params).__name__}")
  host = _concrete(params, x, y)
  with jax.enable_x64(True):
    params = MoEParams(*(jnp.asarray(v, jnp.float64) for v in params))
    k, d = check_params(params)
    check_gate(gate, top_k, k)
    x, y = jnp.asarray(x, jnp.float64), jnp.asarray(y, jnp.float64)
    if x.ndim != 2 or x.shape[1] != d or y.shape != x.shape[:1]:
      raise ValueError(f"x, y: expected [n, d={d}] and [n], got {x.shape} and {y.shape}")
    if x.shape[0] < 1:
      raise ValueError("empirical_fisher: x, y: expected at least one sample (n >= 1), got n = 0")
    out = _fisher(params, x, y, gate, int(top_k) if gate == "topk" else None)
    return jax.tree.map(np.asarray, out) if host else out
