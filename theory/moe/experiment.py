"""Rate experiments: near-truth initialisation with n-independent jitter, atom splitting, EM over (n, replication).

Papers: [03] arXiv:2401.13875 (Nguyen, Akbarian, Ho, ICML 2024) and [04] arXiv:2309.13850 (Nguyen, Akbarian, Yan,
Ho, ICLR 2024). Both papers' simulations start EM near the truth; the notes warn that an n-dependent jitter
(0.005 n^-0.083 in the public code) can manufacture an apparent rate, so the jitter scale here never depends on n.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import is_concrete
from theory.moe.em import EMResult, fit_em
from theory.moe.losses import atom_groups, density_distance, free_vector, voronoi_loss, with_free_vector
from theory.moe.model import GATES, MoEParams, check_gate, check_params, log_density, sample_unchecked


def _concrete(*trees) -> bool:
  return all(is_concrete(leaf) for t in trees for leaf in jax.tree.leaves(t))


def jitter(key: jax.Array, params: MoEParams, gate: str, scale: float, reps: int) -> MoEParams:
  """``reps`` copies of params with N(0, scale^2) added to every free coordinate (``losses.free_vector``).

  The reference expert's gate stays at its value. Returns MoEParams with a leading [reps] axis; float64.
  Differentiable in ``params``.
  """
  check_params(params)
  if not isinstance(gate, str) or gate not in GATES:
    raise ValueError(f"jitter: gate: expected one of {GATES}, got {gate!r}")
  if isinstance(scale, bool) or not isinstance(scale, (int, float, np.number)) or not scale >= 0:
    raise ValueError(f"jitter: scale: expected a number >= 0, got {scale!r}")
  if isinstance(reps, bool) or not isinstance(reps, (int, np.integer)) or reps < 1:
    raise ValueError(f"reps: expected a positive int, got {reps!r}")
  with jax.enable_x64(True):
    params = MoEParams(*(jnp.asarray(v, jnp.float64) for v in params))
    check_params(params)
    return _jitter(key, params, gate, jnp.float64(scale), int(reps))


@functools.partial(jax.jit, static_argnums=(2, 4))
def _jitter(key, params, gate, scale, reps):
  v = free_vector(params, gate)
  noise = scale * jax.random.normal(key, (reps, v.shape[0]), v.dtype)
  return jax.vmap(lambda e: with_free_vector(params, v + e, gate))(noise)


def split_atom(params: MoEParams, j: int, m: int = 2) -> MoEParams:
  """Over-specified measure: atom j replaced by m identical copies with weights exp(beta_0j)/m (conserved sum).

  The copies are appended before the last (reference) expert, so the translation convention is kept; j must
  not be the reference expert. Returns a (k + m - 1)-atom MoEParams of numpy float64 arrays (jax arrays when
  traced: it is linear in ``params``, so differentiable).
  """
  k, _ = check_params(params)
  if isinstance(j, bool) or not isinstance(j, (int, np.integer)) or not 0 <= j < k - 1:
    raise ValueError(f"split_atom: j: expected an atom index in [0, k-1) = [0, {k - 1}) (not the reference), "
                     f"got {j!r}")
  if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
    raise ValueError(f"split_atom: m: expected an int >= 1, got {m!r}")
  idx = np.asarray([i for i in range(k - 1) if i != j] + [j] * m + [k - 1])
  conv = (lambda v: np.asarray(v, np.float64)) if _concrete(params) else jnp.asarray
  p = MoEParams(*(conv(v) for v in params))
  shift = np.zeros(idx.shape[0])
  shift[k - 2:k - 2 + m] = -np.log(m)
  return MoEParams(p.beta0[idx] + shift, p.beta1[idx], p.log_tau, p.a[idx], p.b[idx], p.log_nu[idx])


class SweepResult(NamedTuple):
  """Fits over a grid of sample sizes.

  Attributes:
    ns: the sample sizes.
    fits: fits[t] is the batched EMResult of ns[t] (leading [reps] axis).
    loglik_true: [len(ns), reps] mean log-likelihood of the truth on each sample.
  """
  ns: tuple[int, ...]
  fits: list[EMResult]
  loglik_true: np.ndarray


@functools.partial(jax.jit, static_argnums=(3, 4, 5, 6))
def _draw(key, true, n, n_pad, reps, gate, top_k):
  """reps samples of size n_pad; the first n points of each carry weight 1, the rest weight 0."""
  x, y = jax.vmap(lambda kk: sample_unchecked(kk, true, n_pad, gate, top_k, -1.0, 1.0))(jax.random.split(key, reps))
  w = jnp.broadcast_to((jnp.arange(n_pad) < n).astype(x.dtype), (reps, n_pad))
  ll = jax.vmap(lambda a, b, c: jnp.sum(c * log_density(true, a, b, gate, top_k)) / n)(x, y, w)
  return x, y, w, ll


def sweep(key: jax.Array, true: MoEParams, center: MoEParams, gate: str, ns, reps: int, scale: float,
          top_k: int | None = None, top_k_true: int | None = None, max_iter: int = 500,
          tol: float = 1e-10) -> SweepResult:
  """For each n: ``reps`` samples of size n from ``true`` (X ~ U[-1, 1]^d), EM from ``center`` plus
  n-independent N(0, scale^2) jitter.

  top_k: K of the fitted model; top_k_true: K of the truth (defaults to top_k). Every sample is zero-weight
  padded to max(ns), so EM compiles once for the whole grid. Keys are folded per n, so a sample size's results
  do not depend on which other sizes are in the grid. A host-level loop over EM fits: traced ``true``/``center``
  (``jit``, ``jax.grad``) raise TypeError.
  """
  if not _concrete(true, center):
    raise TypeError("sweep: true, center: expected concrete MoEParams, got traced values: sweep is not "
                    "differentiable or traceable (a host loop over EM fits, see fit_em)")
  k_s, _ = check_params(true)
  top_k_true = top_k if top_k_true is None else top_k_true
  check_gate(gate, top_k_true, k_s)
  ns = tuple(int(n) for n in ns)
  if not ns or min(ns) < 1:
    raise ValueError(f"ns: expected positive sample sizes, got {ns}")
  if isinstance(reps, bool) or not isinstance(reps, (int, np.integer)) or reps < 1:
    raise ValueError(f"reps: expected a positive int, got {reps!r}")
  n_pad = max(ns)
  fits, ll_true = [], []
  with jax.enable_x64(True):
    true = MoEParams(*(jnp.asarray(v, jnp.float64) for v in true))
    kt = int(top_k_true) if gate == "topk" else None
    for n in ns:
      kd, kj = jax.random.split(jax.random.fold_in(key, n))
      x, y, w, ll = _draw(kd, true, n, n_pad, int(reps), gate, kt)
      init = jitter(kj, center, gate, scale, reps)
      fits.append(fit_em(x, y, init, gate, top_k, max_iter=max_iter, tol=tol, weights=w))
      ll_true.append(np.asarray(ll))
  return SweepResult(ns, fits, np.stack(ll_true))


# The near-truth protocol both papers' rate claims use: N(0, JITTER^2) on every free coordinate, independent of n;
# EM stops when the mean log-likelihood moves less than TOL.
JITTER = 0.1
TOL = 1e-10


class RateErrors(NamedTuple):
  """Per-fit errors of a :class:`SweepResult` (numpy float64; rows = sample sizes, columns = replications).

  Attributes:
    ns: [N] the sample sizes.
    hellinger: [N, R] E_X Hellinger(p_fit(.|X), p_true(.|X)).
    loss: [N, R] the Voronoi loss ``kind`` between each fit and the truth.
    iters: [N, R] EM iterations run.
    loglik_gap: [N, R] mean log-likelihood of the fit minus that of the truth on the same sample.
    capped: fraction of fits stopped by the iteration cap ``max_iter``.
  """
  ns: np.ndarray
  hellinger: np.ndarray
  loss: np.ndarray
  iters: np.ndarray
  loglik_gap: np.ndarray
  capped: float


def _check_sweep_result(res, fn: str) -> None:
  if not isinstance(res, SweepResult):
    raise TypeError(f"{fn}: res: expected a SweepResult (from theory.moe.sweep), got {type(res).__name__}")
  if not res.fits or not _concrete(*(f.params for f in res.fits)):
    raise TypeError(f"{fn}: res: expected concrete fits, got none or traced values ({fn} is a host-side summary, "
                    "not differentiable)")


def rate_errors(res: SweepResult, true: MoEParams, gate: str, kind: str = "D1", top_k: int | None = None,
                top_k_true: int | None = None, max_iter: int | None = None) -> RateErrors:
  """Summarises a sweep for a rate claim: the density error, a Voronoi loss, EM iterations and likelihood gaps.

  Args:
    res: the output of :func:`sweep`.
    true: the true MoEParams (k* atoms).
    gate, top_k, top_k_true: as passed to :func:`sweep` (``top_k_true`` defaults to ``top_k``).
    kind: the Voronoi loss (``"D1"``, ``"D2"``, ``"D2_topk"``, see ``losses.voronoi_loss``).
    max_iter: the sweep's iteration cap (for ``capped``); None gives capped = NaN.
  Returns: :class:`RateErrors`. Host-side (numpy), not differentiable: traced fits raise TypeError.
  """
  fn = "theory.moe.rate_errors"
  _check_sweep_result(res, fn)
  check_params(true)
  if not isinstance(gate, str) or gate not in GATES:
    raise ValueError(f"{fn}: gate: expected one of {GATES}, got {gate!r}")
  if max_iter is not None and (isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer))
                               or max_iter < 1):
    raise ValueError(f"{fn}: max_iter: expected a positive int or None, got {max_iter!r}")
  top_k_true = top_k if top_k_true is None else top_k_true
  kw = dict(top_k=top_k, top_k_true=top_k_true) if gate == "topk" else {}
  hell = np.stack([np.asarray(density_distance(f.params, true, gate, **kw).hellinger, np.float64) for f in res.fits])
  loss = np.stack([np.asarray(voronoi_loss(f.params, true, gate, kind).total, np.float64) for f in res.fits])
  iters = np.stack([np.asarray(f.n_iter) for f in res.fits])
  gap = np.stack([np.asarray(f.loglik, np.float64) for f in res.fits]) - np.asarray(res.loglik_true, np.float64)
  capped = float(np.mean(iters >= max_iter)) if max_iter is not None else float("nan")
  return RateErrors(np.asarray(res.ns), hell, loss, iters, gap, capped)


class RidgeErrors(NamedTuple):
  """The linear temperature gate's unidentified ridge, per fit ([N, R] numpy float64 each).

  Attributes:
    ridge: |log tau_fit - log tau*|, the position along (c beta_1, c tau) on which the likelihood is flat.
    raw_gate: the beta_1 and tau terms of D_1 (the raw, unidentified parametrisation).
    ratio_gate: the beta_1/tau term of D_1 on the identifiable ratio (``voronoi_loss(..., ratio=True)``).
    ratio_loss: D_1 on the ratio parametrisation (total).
  """
  ridge: np.ndarray
  raw_gate: np.ndarray
  ratio_gate: np.ndarray
  ratio_loss: np.ndarray


def ridge_errors(res: SweepResult, true: MoEParams) -> RidgeErrors:
  """The ridge summaries of a linear-temperature-gate sweep (``gate="temperature"``); see :class:`RidgeErrors`.

  Host-side (numpy), not differentiable: traced fits raise TypeError.
  """
  fn = "theory.moe.ridge_errors"
  _check_sweep_result(res, fn)
  check_params(true)
  gate = "temperature"
  groups = atom_groups(gate)
  d1 = [voronoi_loss(f.params, true, gate, "D1") for f in res.fits]
  rat = [voronoi_loss(f.params, true, gate, "D1", ratio=True) for f in res.fits]
  raw = np.stack([np.asarray(v.groups[:, groups.index("beta1")] + v.groups[:, groups.index("tau")], np.float64)
                  for v in d1])
  log_tau = float(np.asarray(true.log_tau))
  ridge = np.stack([np.abs(np.asarray(f.params.log_tau, np.float64) - log_tau) for f in res.fits])
  return RidgeErrors(ridge, raw, np.stack([np.asarray(v.groups[:, 0], np.float64) for v in rat]),
                     np.stack([np.asarray(v.total, np.float64) for v in rat]))
