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
from theory.moe.losses import free_vector, with_free_vector
from theory.moe.model import GATES, MoEParams, _sample, check_gate, check_params, log_density


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
  x, y = jax.vmap(lambda kk: _sample(kk, true, n_pad, gate, top_k, -1.0, 1.0))(jax.random.split(key, reps))
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


def loglog_slope(ns, errors: np.ndarray, n_boot: int = 1000, seed: int = 0, level: float = 0.95):
  """Least-squares slope of log(mean error) on log n, with a bootstrap interval over replications.

  errors: [len(ns), reps]. Replications are resampled with replacement within each n (``n_boot`` times) and the
  slope refitted; returns (slope, lo, hi) with the percentile interval at ``level``. A host-side statistic
  (Python floats): traced inputs raise TypeError.
  """
  if not _concrete(ns, errors):
    raise TypeError("loglog_slope: ns, errors: expected concrete arrays, got traced values: loglog_slope is not "
                    "differentiable or traceable (a host-side numpy bootstrap returning Python floats)")
  e = np.asarray(errors, np.float64)
  ns = np.asarray(ns, np.float64)
  if ns.ndim != 1 or not np.all(ns > 0):
    raise ValueError(f"loglog_slope: ns: expected a 1-d array of positive sample sizes, got {ns!r}")
  ln = np.log(ns)
  if e.ndim != 2 or e.shape[0] != ln.shape[0] or e.shape[0] < 2 or e.shape[1] < 1:
    raise ValueError(f"errors: expected [len(ns) >= 2, reps >= 1], got {e.shape}")
  if not np.all(np.isfinite(e)) or not np.all(e >= 0) or not np.all(e.mean(axis=1) > 0):
    raise ValueError("loglog_slope: errors: expected finite values >= 0 with a positive mean for every n")
  if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
    raise ValueError(f"loglog_slope: n_boot: expected a positive int, got {n_boot!r}")
  if not 0 < level < 1:
    raise ValueError(f"loglog_slope: level: expected a float in (0, 1), got {level!r}")
  slope = float(np.polyfit(ln, np.log(e.mean(axis=1)), 1)[0])
  rng = np.random.default_rng(seed)
  idx = rng.integers(0, e.shape[1], size=(n_boot, e.shape[0], e.shape[1]))
  means = np.take_along_axis(e[None], idx, axis=2).mean(axis=2)          # [B, len(ns)]
  lx = ln - ln.mean()
  boots = (np.log(means) - np.log(means).mean(axis=1, keepdims=True)) @ lx / np.sum(lx * lx)
  lo, hi = np.quantile(boots, [(1 - level) / 2, (1 + level) / 2])
  return slope, float(lo), float(hi)
