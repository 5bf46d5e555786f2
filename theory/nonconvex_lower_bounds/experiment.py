"""The experiments of paper 28's claims (the classical mechanism behind the quantum lower bounds), as functions a
user can rerun with other parameters.

* :func:`epsilon_for_length` — the ε at which the (Δ, L, ε) instance has a chain of a given length T(ε);
* :func:`gd_chain_run` — GD from 0 on that instance: iterations to ε-stationarity, queries to reveal the chain,
  the largest progress jump per query;
* :func:`prober_run` — the greedy zero-respecting prober on the Bernoulli chain against NegBin(T, p);
* :func:`sgd_chain_run` — SGD with the Bernoulli oracle at p ∝ ε², against the T/p lower bound;
* :func:`rotated_comparison` — GD and SGD on the chain hidden in random directions against the plain chain.

Results are dicts of Python numbers (and host numpy arrays where stated).
"""
from __future__ import annotations

import math

import jax
import numpy as np
from scipy import stats

from kernels.common.checks import check_key
from theory.nonconvex_lower_bounds.chain import random_orthonormal, scale_chain
from theory.nonconvex_lower_bounds.simulate import (first_below, gradient_descent, probe_hitting_times, sgd,
                                                    stochastic_chain_probability, unit_chain)

# T(ε) = ⌊ΔL/(CHAIN_CONSTANT·ε²)⌋ for the (Δ, L, ε) instance (48·ℓ₁ with ℓ₁ = 152; see scale_chain).
CHAIN_CONSTANT = 48.0 * 152.0


def _positive(name: str, v, fn: str) -> float:
  if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
    raise TypeError(f"{fn}: {name}: expected a positive number, got {type(v).__name__} {v!r}")
  if not (0 < float(v) < math.inf):
    raise ValueError(f"{fn}: {name}: expected a positive finite number, got {v!r}")
  return float(v)


def _count(name: str, v, fn: str, minimum: int = 1) -> int:
  if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
    raise TypeError(f"{fn}: {name}: expected an int, got {type(v).__name__} {v!r}")
  if v < minimum:
    raise ValueError(f"{fn}: {name}: expected an int >= {minimum}, got {v}")
  return int(v)


def epsilon_for_length(delta: float, lipschitz: float, length: int) -> float:
  """The ε with T(ε) = ``length`` for the (Δ, L) class: ``√(ΔL / (48·152·(length + 1/2)))`` (slightly inside the
  floor, so that ``scale_chain(Δ, L, ε).T == length``)."""
  fn = "epsilon_for_length"
  delta, lipschitz = _positive("delta", delta, fn), _positive("lipschitz", lipschitz, fn)
  length = _count("length", length, fn)
  return math.sqrt(delta * lipschitz / (CHAIN_CONSTANT * (length + 0.5)))


def gd_chain_run(delta: float, lipschitz: float, epsilon: float) -> dict:
  """GD from 0 (step 1/L, float64) on the (Δ, L, ε) zero-chain instance for ``90·T + 1500`` queries.

  Returns a dict: ``T`` (chain length), ``iters`` (first query with ‖∇f‖ ≤ ε, -1 if never), ``reach`` (first
  query at which all T links are revealed, -1 if never), ``jump`` (largest increase of the progress prog_{1/2} in
  one query: ≤ 1 for a zero-respecting method), ``large`` (‖∇f‖ > 2ε at every query before the last link),
  ``progress`` and ``grad_norm`` (``[queries + 1]`` numpy arrays).
  """
  fn = "gd_chain_run"
  epsilon = _positive("epsilon", epsilon, fn)
  ch = scale_chain(delta, lipschitz, epsilon)
  tr = gradient_descent(ch, 90 * ch.T + 1500)
  gn, prog = np.asarray(tr.grad_norm), np.asarray(tr.progress)
  reach = int(np.argmax(prog >= ch.T)) if prog[-1] >= ch.T else -1
  return dict(T=int(ch.T), iters=int(first_below(gn, epsilon)), reach=reach, jump=int(np.max(np.diff(prog))),
              large=bool(np.all(gn[prog < ch.T] > 2 * epsilon)), progress=prog, grad_norm=gn)


def prober_run(key, length: int, p: float, reps: int) -> dict:
  """The greedy zero-respecting prober on the Bernoulli chain (:func:`probe_hitting_times`, at most
  ``50·T/p`` queries) against NegBin(T, p) (successes needed: T; the number of queries is T + failures).

  Returns a dict: ``mean``, ``se``, ``expected`` (T/p), ``var`` (sample variance) and ``var_nb`` (NegBin's),
  ``ks`` (the Kolmogorov distance between the empirical CDF and NegBin's on the integers of the sample's range),
  ``dkw`` (the DKW band at α = 1e-3 for ``reps`` samples), ``reached`` (every replication revealed the chain)
  and ``times`` (``[reps]`` sorted numpy hitting times).
  """
  fn = "prober_run"
  check_key(key, "key", fn)
  length, reps = _count("length", length, fn), _count("reps", reps, fn, 2)
  p = _positive("p", p, fn)
  if p > 1:
    raise ValueError(f"{fn}: p: expected a probability in (0, 1], got {p!r}")
  h = probe_hitting_times(key, length, p, reps, int(50 * length / p))
  times = np.sort(np.asarray(h.times))
  dist = stats.nbinom(length, p, loc=length)
  grid = np.arange(times.min(), times.max() + 1)
  ks = float(np.max(np.abs(np.searchsorted(times, grid, side="right") / len(times) - dist.cdf(grid))))
  return dict(mean=float(h.mean), se=float(h.se), expected=length / p, var=float(np.var(times, ddof=1)),
              var_nb=float(dist.var()), ks=ks, dkw=math.sqrt(math.log(2 / 1e-3) / (2 * len(times))),
              reached=bool(np.all(h.reached)), times=times)


def sgd_chain_run(key, epsilon: float, sigma: float, reps: int) -> dict:
  """SGD (step 1/L from 0) with the Bernoulli oracle on the (1, 1, ε) instance, p = p(ε) from
  :func:`stochastic_chain_probability` (oracle variance ≤ σ²), at most ``20·T/p + 200·T`` queries.

  Returns a dict: ``eps``, ``T``, ``p``, ``bound`` (T/p: the expected queries of any zero-respecting method),
  ``mean`` and ``se`` of the queries to ‖∇f‖ ≤ ε, ``tol`` (4 × the larger of ``se`` and NegBin's
  √(T(1 − p))/(p√reps): SGD's queries dominate NegBin(T, p), so its Monte Carlo error is at least that) and
  ``reached`` (every replication reached ε).
  """
  fn = "sgd_chain_run"
  check_key(key, "key", fn)
  epsilon, sigma = _positive("epsilon", epsilon, fn), _positive("sigma", sigma, fn)
  reps = _count("reps", reps, fn, 2)
  ch = scale_chain(1.0, 1.0, epsilon)
  p = stochastic_chain_probability(epsilon, sigma)
  r = sgd(key, ch, p, reps, int(20 * ch.T / p + 200 * ch.T))
  nb_se = math.sqrt(ch.T * (1 - p)) / p / math.sqrt(reps)
  return dict(eps=epsilon, T=int(ch.T), p=float(p), bound=ch.T / p, mean=float(r.mean), se=float(r.se),
              tol=4 * max(float(r.se), nb_se), reached=bool(np.all(r.reached)))


def rotated_comparison(key, length: int, dims, steps: int, p: float, reps: int) -> dict:
  """GD and SGD on the unit chain f̄_T(Uᵀx), U Haar-random ``d × T`` (key ``fold_in(key, d)``), against the plain
  chain, for each d in ``dims``.

  GD runs ``steps`` queries; SGD (Bernoulli oracle with probability ``p``, ``reps`` replications, at most
  ``50·T/p`` queries) uses the same draws (``fold_in(key, 7)``) on both. Returns a dict: ``plain_iters``
  (GD queries to ‖∇f‖ ≤ 1/2), ``plain_progress`` (numpy ``[steps + 1]``), ``plain_sgd_mean`` and ``rows``: per d,
  ``d``, ``n`` (GD queries to 1/2), ``prog_diff`` (queries where the progress along u_i differs from the plain
  run's), ``off`` (max ‖x − UUᵀx‖), ``gn_rel`` (max relative difference of ‖∇f‖), ``sgd_mean``,
  ``sgd_maxdiff`` (max per-replication difference of SGD queries) and ``prog`` (numpy progress).
  """
  fn = "rotated_comparison"
  check_key(key, "key", fn)
  length, steps, reps = _count("length", length, fn), _count("steps", steps, fn), _count("reps", reps, fn, 2)
  dims = list(dims) if isinstance(dims, (tuple, list)) else None
  if not dims or any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < length for d in dims):
    raise ValueError(f"{fn}: dims: expected a non-empty list of ints >= length = {length}, got {dims!r}")
  ch = unit_chain(length)
  plain = gradient_descent(ch, steps)
  plain_n = int(first_below(plain.grad_norm, 0.5))
  plain_prog = np.asarray(plain.progress)
  sgd_key = jax.random.fold_in(key, 7)
  plain_sgd = sgd(sgd_key, ch, p, reps, int(50 * ch.T / p))
  rows = []
  for d in dims:
    with jax.enable_x64(True):
      u = random_orthonormal(jax.random.fold_in(key, int(d)), int(d), length)
    tr = gradient_descent(ch, steps, u=u)
    prog = np.asarray(tr.progress)
    r = sgd(sgd_key, ch, p, reps, int(50 * ch.T / p), u=u)
    dq = np.abs(np.asarray(r.queries) - np.asarray(plain_sgd.queries))
    rows.append(dict(d=int(d), n=int(first_below(tr.grad_norm, 0.5)), prog_diff=int(np.sum(prog != plain_prog)),
                     off=float(np.max(np.asarray(tr.off_chain))),
                     gn_rel=float(np.max(np.abs(np.asarray(tr.grad_norm) / np.asarray(plain.grad_norm) - 1))),
                     sgd_mean=float(r.mean), sgd_maxdiff=int(dq.max()), prog=prog))
  return dict(plain_iters=plain_n, plain_progress=plain_prog, plain_sgd_mean=float(plain_sgd.mean), rows=rows)
