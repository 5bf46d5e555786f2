"""Experiments of paper 27 at small scale: evaluation cells, structured test systems, metrics.

The claim (``experiments/claims/fim_mjp.py``) trains one mini-FIM network on the prior and evaluates it,
zero-shot, against the classical estimators of :mod:`models.fim_mjp.baselines` on

* *cells*: fresh prior draws with a fixed number of paths ``P``, observations per path ``L`` (a regular
  grid on ``[0, horizon]``) and label-flip probability (:func:`make_cell`);
* *structured systems* (:data:`TEST_SYSTEMS`): a 2-state folder, a 3-state ion-channel-like chain and a
  4-state biased ring ratchet (:func:`system_batch`).

Metrics per process (:func:`relative_rmse`, :func:`stationary_tv`) and the calibration of the predicted
per-rate standard deviations (:func:`z_scores`); :func:`evaluate` runs every method on one batch and times
one inference of each.
"""
from __future__ import annotations

import time
from typing import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from models.fim_mjp import baselines
from models.fim_mjp.mjp import _flip, _grid_paths, check_generator
from models.fim_mjp.prior import MJPBatch, PriorConfig, sample_prior_batch

__all__ = ["TEST_SYSTEMS", "make_cell", "system_batch", "relative_rmse", "stationary_tv", "z_scores",
           "prior_mean_rates", "evaluate", "METHODS"]


def _ring(n, fwd, bwd):
  F = np.zeros((n, n))
  for i in range(n):
    F[i, (i + 1) % n] = fwd
    F[i, (i - 1) % n] += bwd
  return F - np.diag(F.sum(1))


# name -> rate matrix (time unit: the prior's; horizon 10)
TEST_SYSTEMS: dict[str, np.ndarray] = {
    # two-state folder: unfolded -> folded 0.8, folded -> unfolded 0.3
    "folder2": np.array([[-0.8, 0.8], [0.3, -0.3]]),
    # ion-channel-like chain C1 <-> C2 <-> O (no direct C1 <-> O link)
    "channel3": np.array([[-0.5, 0.5, 0.0], [0.2, -1.2, 1.0], [0.0, 0.6, -0.6]]),
    # ring ratchet: forward 1.0, backward 0.25
    "ratchet4": _ring(4, 1.0, 0.25),
}

METHODS = ("fim", "grid_mle", "hmm_mle", "naive", "prior_mean")


def make_cell(key, n: int, *, n_paths: int, n_obs: int, noise: float, cfg: PriorConfig = PriorConfig(),
              grid: str = "regular") -> MJPBatch:
  """``n`` prior processes, each with exactly ``n_paths`` paths of ``n_obs`` observations on a ``grid``
  (``"regular"`` | ``"random"``) and label-flip probability ``noise``; everything else from ``cfg``."""
  if grid not in ("regular", "random"):
    raise ValueError(f"make_cell: grid: expected 'regular' or 'random', got {grid!r}")
  c = cfg._replace(n_paths=(n_paths, n_paths), n_obs=(n_obs, n_obs), noise_levels=(float(noise),),
                   grid_kinds=(grid,))
  return sample_prior_batch(key, n, c, p_max=n_paths, l_max=n_obs)


def system_batch(key, F, n: int, *, n_paths: int, n_obs: int, noise: float, c_max: int,
                 horizon: float = 10.0) -> MJPBatch:
  """``n`` independent data sets of the fixed system ``F: [C, C]`` (``C <= c_max``, padded), started from
  its stationary law, observed on a regular grid with label flips ``noise``."""
  check_generator(F, "system_batch")
  c = np.shape(F)[0]
  if c > c_max or c < 2:
    raise ValueError(f"system_batch: F: expected 2 <= C <= c_max={c_max} states, got C = {c}")
  if not 0 <= noise < 1:
    raise ValueError(f"system_batch: noise: expected a probability in [0, 1), got {noise!r}")
  Fp = np.zeros((c_max, c_max))
  Fp[:c, :c] = F
  from models.fim_mjp.mjp import stationary_distribution
  pi = np.zeros(c_max)
  pi[:c] = np.clip(np.asarray(stationary_distribution(np.asarray(F, np.float64))), 0, None)
  pi /= pi.sum()
  times = jnp.broadcast_to(jnp.linspace(0.0, horizon, n_obs), (n_paths, n_obs)).astype(jnp.float32)
  Fj, pj = jnp.asarray(Fp, jnp.float32), jnp.asarray(pi, jnp.float32)

  def one(k):
    k1, k2 = jax.random.split(k)
    clean = _grid_paths(k1, Fj, pj, times)
    return clean, _flip(k2, clean, jnp.int32(c), jnp.float32(noise))

  clean, noisy = jax.jit(jax.vmap(one))(jax.random.split(key, n))
  adj = ((Fp > 0) & ~np.eye(c_max, dtype=bool)).astype(np.float32)
  rep = lambda a: jnp.broadcast_to(jnp.asarray(a), (n,) + np.shape(a))  # noqa: E731
  return MJPBatch(F=rep(Fp.astype(np.float32)), adjacency=rep(adj), pi0=rep(pi.astype(np.float32)),
                  n_states=jnp.full((n,), c, jnp.int32), times=rep(times), states=noisy, clean=clean,
                  path_mask=jnp.ones((n, n_paths), bool), obs_mask=jnp.ones((n, n_paths, n_obs), bool),
                  noise=jnp.full((n,), noise, jnp.float32))


def _valid_pairs(n, c):
  v = np.arange(c)[None] < np.asarray(n)[:, None]
  return v[:, :, None] & v[:, None, :] & ~np.eye(c, dtype=bool)[None]


def relative_rmse(F_hat, F, n_states) -> np.ndarray:
  """Per process: ``sqrt(mean (F_hat - F)^2) / sqrt(mean F^2)`` over the off-diagonal entries of the valid
  ``n_states x n_states`` block. ``F_hat, F: [B, C, C]``; returns ``[B]``."""
  Fh, Ft = np.asarray(F_hat, np.float64), np.asarray(F, np.float64)
  if Fh.shape != Ft.shape or Fh.ndim != 3:
    raise ValueError(f"relative_rmse: F_hat, F: expected equal shapes [B, C, C], got {Fh.shape} and {Ft.shape}")
  m = _valid_pairs(n_states, Ft.shape[-1])
  num = np.sqrt(np.sum(np.where(m, (Fh - Ft) ** 2, 0), (1, 2)) / m.sum((1, 2)))
  den = np.sqrt(np.sum(np.where(m, Ft ** 2, 0), (1, 2)) / m.sum((1, 2)))
  return num / np.maximum(den, 1e-12)


def _stationary_np(F):
  c = F.shape[0]
  A = F.T.copy()
  A[-1] = 1.0
  b = np.zeros(c)
  b[-1] = 1.0
  try:
    p = np.linalg.lstsq(A, b, rcond=None)[0]
  except np.linalg.LinAlgError:
    return np.full(c, 1.0 / c)
  p = np.clip(p, 0, None)
  return p / p.sum() if p.sum() > 0 else np.full(c, 1.0 / c)


def stationary_tv(F_hat, F, n_states) -> np.ndarray:
  """Per process: total-variation distance between the stationary laws of ``F_hat`` and ``F`` on the valid
  block (``[B, C, C]`` each; returns ``[B]``)."""
  Fh, Ft = np.asarray(F_hat, np.float64), np.asarray(F, np.float64)
  out = []
  for a, b, n in zip(Fh, Ft, np.asarray(n_states)):
    out.append(0.5 * np.abs(_stationary_np(a[:n, :n]) - _stationary_np(b[:n, :n])).sum())
  return np.asarray(out)


def z_scores(mean, logstd, F, adjacency, n_states) -> np.ndarray:
  """``(F - mean) / exp(logstd)`` over the existing links (``adjacency > 0``) of the valid blocks, flattened."""
  m = _valid_pairs(n_states, np.shape(F)[-1]) & (np.asarray(adjacency) > 0)
  z = (np.asarray(F, np.float64) - np.asarray(mean, np.float64)) / np.exp(np.asarray(logstd, np.float64))
  return z[m]


def prior_mean_rates(key, cfg: PriorConfig, n: int = 2048) -> np.ndarray:
  """The prior's mean rate matrix for each number of states: ``[c_max + 1, c_max, c_max]`` (index C; zero
  for C not in the prior), from ``n`` prior draws (observations are not used)."""
  b = sample_prior_batch(key, n, cfg._replace(n_paths=(1, 1), n_obs=(2, 2)), p_max=1, l_max=2)
  F, ns = np.asarray(b.F, np.float64), np.asarray(b.n_states)
  out = np.zeros((cfg.c_max + 1, cfg.c_max, cfg.c_max))
  for c in set(ns.tolist()):
    off = F[ns == c] * (1 - np.eye(cfg.c_max))
    mean = off.mean(0)
    out[c] = mean - np.diag(mean.sum(1))
  return out


def evaluate(predict: Callable[[MJPBatch], tuple], batch: MJPBatch, *,
             methods: Sequence[str] = METHODS, prior_mean: np.ndarray | None = None,
             max_iter: int = 200) -> Mapping[str, dict]:
  """Every method on every process of ``batch``.

  Args:
    predict: ``batch -> (F_mean [B, C, C], logstd [B, C, C])``, the network's (jitted) inference; it is
      called once to warm up, then timed on the whole batch (seconds per process = total / B).
    batch: :class:`MJPBatch`.
    methods: a subset of :data:`METHODS` (``"prior_mean"`` needs ``prior_mean`` from :func:`prior_mean_rates`;
      ``"hmm_mle"`` is skipped when the batch is noise-free: it equals ``"grid_mle"``).
    max_iter: L-BFGS-B iterations of the MLEs.
  Returns: ``{method: {"F": [B, C, C], "rmse": [B], "tv": [B], "seconds": per-process seconds}}``, plus
    ``"fim"["z"]`` (z-scores on existing links).
  """
  unknown = set(methods) - set(METHODS)
  if unknown:
    raise ValueError(f"evaluate: methods: expected a subset of {METHODS}, got {sorted(unknown)}")
  if "prior_mean" in methods and prior_mean is None:
    raise ValueError("evaluate: prior_mean: expected the prior's mean rates for method 'prior_mean', got None")
  b = jax.tree.map(np.asarray, batch)
  B, c = b.F.shape[0], b.F.shape[-1]
  out = {}
  noisy = bool(np.any(b.noise > 0))
  for meth in methods:
    if meth == "hmm_mle" and not noisy:
      continue
    t0 = time.perf_counter()
    if meth == "fim":
      jax.block_until_ready(predict(batch))
      t0 = time.perf_counter()
      mean, logstd = jax.block_until_ready(predict(batch))
      secs = (time.perf_counter() - t0) / B
      mean, logstd = np.asarray(mean, np.float64), np.asarray(logstd, np.float64)
      Fh = mean * (1 - np.eye(c))
      Fh = Fh - np.eye(c) * Fh.sum(-1, keepdims=True)
      out["fim"] = {"F": Fh, "seconds": secs, "z": z_scores(mean, logstd, b.F, b.adjacency, b.n_states)}
    elif meth == "prior_mean":
      out[meth] = {"F": prior_mean[b.n_states], "seconds": 0.0}
    else:
      Fh, times = np.zeros((B, c, c)), []
      for i in range(B):
        n = int(b.n_states[i])
        args = (b.states[i], b.times[i], b.obs_mask[i] & b.path_mask[i][:, None], n)
        if meth == "naive":
          f = lambda: baselines.naive_grid_rates(*args)  # noqa: E731
        elif meth == "grid_mle":
          f = lambda: baselines.grid_mle(*args, max_iter=max_iter)  # noqa: E731
        else:
          f = lambda: baselines.hmm_mle(*args, float(b.noise[i]), max_iter=max_iter)  # noqa: E731
        if i == 0:
          f()   # compile outside the timing
        t0 = time.perf_counter()
        Fh[i, :n, :n] = f()
        times.append(time.perf_counter() - t0)
      out[meth] = {"F": Fh, "seconds": float(np.median(times))}
    out[meth]["rmse"] = relative_rmse(out[meth]["F"], b.F, b.n_states)
    out[meth]["tv"] = stationary_tv(out[meth]["F"], b.F, b.n_states)
  return out
