"""The paging experiments of paper 08 (Antoniadis et al., "Paging with Succinct Predictions", ICML 2023,
arXiv:2210.02775): every algorithm on every (k, workload), under noisy and adversarial prediction bits.

``workload`` draws one of the synthetic request sequences (``WORKLOADS``); ``sweep`` runs the baselines
(``BASELINES``), the four followers (``FOLLOWERS``) under the swept noise modes and rates
(``SWEPT_MODES``) and adversarial bits (``ADVERSARIAL``), plus the follower trap, and returns host-side
results; ``max_faults_per_phase`` and ``slope_through_origin`` are the two statistics the claims read.
All costs are fault counts with cold misses included.
"""
from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from theory.paging.predictions import discard_bits, perturb, phase_bits, phase_partition, prediction_errors
from theory.paging.simulate import simulate, simulate_many
from theory.paging.workloads import cyclic, follower_trap, loop_scan, markov_phase, zipf

WORKLOADS: tuple[str, ...] = ("zipf", "loop_scan", "markov_phase", "cyclic")
BASELINES: tuple[str, ...] = ("lru", "fifo", "marker", "rand_marker", "belady")
FOLLOWERS: tuple[str, ...] = ("discard", "discard_robust", "phase", "phase_robust")
SWEPT_MODES: tuple[str, ...] = ("flip", "one_to_zero", "zero_to_one")
ADVERSARIAL: tuple[str, ...] = ("all_zero", "all_one", "invert")
_PKG = "theory.paging"


def _pos_int(v, name: str, fn: str) -> int:
  if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
    raise ValueError(f"{fn}: {name}: expected a positive integer, got {v!r}")
  return int(v)


def workload(name: str, key: jax.Array, length: int, n_pages: int, k: int, zipf_alpha: float = 1.0) -> jax.Array:
  """One request sequence ``[length]`` of ids in ``[0, n_pages)`` for cache size ``k``.

  ``zipf``: Zipf(``zipf_alpha``) over ``n_pages``; ``loop_scan``: a loop of k + max(1, k // 5) pages
  (just over the cache) mixed with scans; ``markov_phase``: 6 working sets of 1.5 k pages, switching with
  probability 0.005 per request; ``cyclic``: the cycle over k + 1 pages (LRU's worst case; ``key`` unused).
  """
  fn = f"{_PKG}.workload"
  if name not in WORKLOADS:
    raise ValueError(f"{fn}: name: expected one of {WORKLOADS}, got {name!r}")
  k = _pos_int(k, "k", fn)
  if name == "zipf":
    return zipf(key, length, n_pages, zipf_alpha)
  if name == "loop_scan":
    return loop_scan(key, length, n_pages, k + max(1, k // 5))
  if name == "markov_phase":
    return markov_phase(key, length, n_pages, n_states=6, set_size=k + k // 2, p_switch=0.005)
  return cyclic(length, k + 1)


def max_faults_per_phase(faults, phase) -> int:
  """The largest number of faults inside one k-phase over all runs.

  ``faults: [R, T]`` bool (one row per run), ``phase: [T]`` int phase index of each request (from
  ``phase_partition``) -> int.
  """
  fn = f"{_PKG}.max_faults_per_phase"
  f, ph = np.asarray(faults), np.asarray(phase)
  if f.ndim != 2 or f.dtype != np.bool_:
    raise ValueError(f"{fn}: faults: expected a bool array [R, T], got dtype {f.dtype} shape {f.shape}")
  if ph.shape != f.shape[1:] or not np.issubdtype(ph.dtype, np.integer) or (ph.size and ph.min() < 0):
    raise ValueError(f"{fn}: phase: expected non-negative int phase indices [T] = [{f.shape[1]}], got dtype "
                     f"{ph.dtype} shape {ph.shape}")
  if f.size == 0:
    return 0
  n_ph = int(ph.max()) + 1
  counts = np.stack([np.bincount(ph, weights=r, minlength=n_ph) for r in f.astype(np.float64)])
  return int(counts.max())


def slope_through_origin(x, y) -> tuple[float, float]:
  """Least-squares slope b of ``y ≈ b x`` (no intercept) and its standard error.

  ``x, y: [n]`` -> ``(b, se)`` with b = Σxy / Σx², se = √(s² / Σx²), s² = Σ(y − bx)² / max(n − 1, 1);
  both NaN when Σx² = 0 (no error was made).
  """
  fn = f"{_PKG}.slope_through_origin"
  x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
  if x.ndim != 1 or x.shape != y.shape:
    raise ValueError(f"{fn}: x, y: expected equal 1-D shapes, got {x.shape} and {y.shape}")
  sxx = float(np.sum(x * x))
  if sxx == 0:
    return float("nan"), float("nan")
  b = float(np.sum(x * y) / sxx)
  s2 = float(np.sum((y - b * x) ** 2) / max(len(x) - 1, 1))
  return b, float(np.sqrt(s2 / sxx))


def sweep(seed: int, ks: Sequence[int], length: int, n_pages: int, reps: int, rates: Sequence[float],
          zipf_alpha: float = 1.0) -> dict:
  """Every algorithm on every (k, workload) under every swept noise mode and rate and adversarial bits.

  Keys come from ``PRNGKey(seed)`` (workload ``w`` at cache size ``k``: ``fold_in(key, 1000 k + w)``); each
  instance is simulated ``reps`` times (random keys for the randomised rules, fresh noisy bits per draw).

  Returns ``{"rows": [...]}`` (host numbers, one row per (k, workload) and one follower-trap row per k):
    ``k, workload, opt`` (Belady's cost), ``sum_c`` (Σ c_i, new pages per k-phase), ``n_phases``, ``distinct``;
    ``base[alg]``: ``[reps]`` costs of each baseline (zero bits);
    ``noisy[(mode, rate, follower)]``: ``cost, eta0, eta1`` ``[reps]`` and ``outside_opt`` (faults outside the
    fixed Belady run's fault set, summed over draws);
    ``adversarial[(mode, follower)]``: ``cost [reps]`` and ``max_per_phase`` (``max_faults_per_phase``).
  The follower-trap rows (``workload = "follower_trap"``) have ``k, opt, n_phases`` and
  ``adversarial[("trap", a)]`` for the two discard followers.
  """
  fn = f"{_PKG}.sweep"
  if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
    raise TypeError(f"{fn}: seed: expected an int, got {type(seed).__name__} {seed!r}")
  ks = tuple(ks)
  if not ks:
    raise ValueError(f"{fn}: ks: expected at least one cache size, got {ks!r}")
  ks = tuple(_pos_int(k, "ks", fn) for k in ks)
  length, n, reps = _pos_int(length, "length", fn), _pos_int(n_pages, "n_pages", fn), _pos_int(reps, "reps", fn)
  rates = tuple(float(r) for r in rates)
  if not rates or not all(0.0 <= r <= 1.0 for r in rates):
    raise ValueError(f"{fn}: rates: expected flip probabilities in [0, 1], got {rates!r}")
  if n <= max(ks) + max(1, max(ks) // 5):
    raise ValueError(f"{fn}: n_pages: expected more than the largest loop k + max(1, k // 5) = "
                     f"{max(ks) + max(1, max(ks) // 5)} pages, got {n}")
  key = jax.random.PRNGKey(seed)
  out = []
  for k in ks:
    for wi, w in enumerate(WORKLOADS):
      kw = jax.random.fold_in(key, 1000 * k + wi)
      pages = workload(w, kw, length, n, k, zipf_alpha)
      batch = jnp.broadcast_to(pages, (reps, pages.shape[0]))
      keys = jax.random.split(jax.random.fold_in(kw, 1), reps)
      true = {"discard": discard_bits(pages, k, n_pages=n), "phase": phase_bits(pages, k, n_pages=n)}
      part = phase_partition(pages, k, n_pages=n)
      zeros = jnp.zeros_like(batch)
      base = {a: np.asarray(simulate_many(batch, k, a, bits=zeros, keys=keys, n_pages=n).cost) for a in BASELINES}
      opt_faults = np.asarray(simulate(pages, k, "belady", n_pages=n).faults)
      row = dict(k=k, workload=w, opt=int(base["belady"][0]), sum_c=int(part.new.sum()),
                 n_phases=int(part.n_phases), distinct=int(len(np.unique(np.asarray(pages)))),
                 base={a: v.tolist() for a, v in base.items()}, noisy={}, adversarial={})
      for mi, mode in enumerate(SWEPT_MODES):
        for ri, rate in enumerate(rates):
          nk = jax.random.split(jax.random.fold_in(kw, 100 * (mi + 1) + ri), reps)
          for a in FOLLOWERS:
            tb = true[a.split("_")[0]]
            pred = jax.vmap(lambda kk: perturb(kk, tb, mode, rate))(nk)
            res = simulate_many(batch, k, a, bits=pred, keys=keys, n_pages=n)
            e = prediction_errors(pred, jnp.broadcast_to(tb, pred.shape))
            f = np.asarray(res.faults)
            row["noisy"][(mode, rate, a)] = dict(
                cost=np.asarray(res.cost).tolist(), eta0=np.asarray(e.eta0).tolist(),
                eta1=np.asarray(e.eta1).tolist(), outside_opt=int(np.sum(f & ~opt_faults[None, :])))
      for mode in ADVERSARIAL:
        for a in FOLLOWERS:
          tb = true[a.split("_")[0]]
          pred = jnp.broadcast_to(perturb(kw, tb, mode), batch.shape)
          res = simulate_many(batch, k, a, bits=pred, keys=keys, n_pages=n)
          row["adversarial"][(mode, a)] = dict(
              cost=np.asarray(res.cost).tolist(),
              max_per_phase=max_faults_per_phase(np.asarray(res.faults), np.asarray(part.phase)))
      out.append(row)
    # the follower trap (its own bits; the universe is k + 1 pages)
    tp, tbits = follower_trap(length, k)
    tpart = phase_partition(tp, k, n_pages=n)
    tbatch = jnp.broadcast_to(tp, (reps, tp.shape[0]))
    tkeys = jax.random.split(jax.random.fold_in(key, 77 + k), reps)
    trap = dict(k=k, workload="follower_trap", opt=int(simulate(tp, k, "belady", n_pages=n).cost),
                n_phases=int(tpart.n_phases), adversarial={})
    for a in ("discard", "discard_robust"):
      res = simulate_many(tbatch, k, a, bits=jnp.broadcast_to(tbits, tbatch.shape), keys=tkeys, n_pages=n)
      trap["adversarial"][("trap", a)] = dict(
          cost=np.asarray(res.cost).tolist(),
          max_per_phase=max_faults_per_phase(np.asarray(res.faults), np.asarray(tpart.phase)))
    out.append(trap)
  return {"rows": out}
