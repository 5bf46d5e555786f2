"""Simon's-problem sweeps behind paper 14's claims: quantum runs and classical collision queries over n.

Paper: "Energy-Consumption Advantage of Quantum Computation", F. Meier and H. Yamasaki (PRX Energy 2025),
arXiv:2305.11212. Each n gets its own key (``fold_in(key, n)``), so a row does not depend on the other n in the
grid. Rows are dicts of Python numbers (host-side summaries; not differentiable).
"""
from __future__ import annotations

import math

import jax
import numpy as np

from theory.quantum_energy.simulate import (MAX_CLASSICAL_BITS, MAX_QUBITS, birthday_queries, collision_search,
                                            expected_queries, expected_runs, outcome_probabilities,
                                            queries_variance, random_period, runs_variance, simon, simon_oracle)


def _check_grid(fn: str, ns, lo: int, hi: int) -> tuple[int, ...]:
  try:
    out = tuple(ns)
  except TypeError:
    raise TypeError(f"{fn}: ns: expected a sequence of ints, got {type(ns).__name__}") from None
  if not out or any(isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not lo <= n <= hi for n in out):
    raise ValueError(f"{fn}: ns: expected a non-empty sequence of ints in [{lo}, {hi}], got {ns!r}")
  return tuple(int(n) for n in out)


def _check_reps(fn: str, name: str, reps) -> int:
  if isinstance(reps, bool) or not isinstance(reps, (int, np.integer)) or reps < 2:
    raise ValueError(f"{fn}: {name}: expected an int >= 2 (a standard error needs two executions), got {reps!r}")
  return int(reps)


def simon_sweep(key: jax.Array, ns, reps: int) -> list[dict]:
  """For each n: a random period s and Simon oracle, the exact outcome law and ``reps`` executions of Simon's
  algorithm on the 2n-qubit state vector.

  Args:
    key: a PRNG key. ns: qubits per register, each in [2, MAX_QUBITS]. reps: executions per n (>= 2).
  Returns: one dict per n with ``n``, ``s``, ``max_prob_dev`` (max |p(y) - 2^-(n-1) 1[y.s = 0]|), ``norm_dev``
    (|sum p - 1|), ``recovered`` (fraction of executions returning s), ``mean``/``se`` of the runs, the closed
    form ``exact`` (E[R]) and ``exact_sd`` (its sd), ``reps`` and ``useless`` (mean runs with a dependent outcome).
  """
  fn = "theory.quantum_energy.simon_sweep"
  ns = _check_grid(fn, ns, 2, MAX_QUBITS)
  reps = _check_reps(fn, "reps", reps)
  rows = []
  for n in ns:
    k_s, k_f, k_run = jax.random.split(jax.random.fold_in(key, n), 3)
    s = int(random_period(k_s, n))
    table = simon_oracle(k_f, n, s)
    probs = np.asarray(outcome_probabilities(table, n))
    perp = np.array([bin(y & s).count("1") % 2 for y in range(2 ** n)]) == 0
    res = simon(k_run, table, n, reps=reps)
    runs = np.asarray(res.runs, np.float64)
    rows.append(dict(n=n, s=s, max_prob_dev=float(np.max(np.abs(probs - perp * 2.0 ** -(n - 1)))),
                     norm_dev=abs(float(probs.sum()) - 1.0), recovered=float(np.mean(np.asarray(res.s_hat) == s)),
                     mean=float(runs.mean()), se=float(runs.std(ddof=1) / math.sqrt(runs.size)),
                     exact=expected_runs(n), exact_sd=math.sqrt(runs_variance(n)), reps=int(runs.size),
                     useless=float(np.mean(np.asarray(res.useless)))))
  return rows


def collision_sweep(key: jax.Array, ns, reps: int, reps_large: int | None = None, large_from: int = 15) -> list[dict]:
  """For each n: a random period s and oracle, and ``reps`` classical random-query collision searches
  (``reps_large`` for n >= ``large_from``, where each search costs ~2^(n/2) queries).

  Returns: one dict per n with ``n``, ``s``, ``mean``/``se`` of the queries, ``reps``, the survival-product mean
    ``exact`` and sd ``exact_sd``, ``birthday`` (sqrt(pi 2^n / 2)) and ``recovered`` (fraction returning s).
  """
  fn = "theory.quantum_energy.collision_sweep"
  ns = _check_grid(fn, ns, 2, MAX_CLASSICAL_BITS)
  reps = _check_reps(fn, "reps", reps)
  reps_large = reps if reps_large is None else _check_reps(fn, "reps_large", reps_large)
  if isinstance(large_from, bool) or not isinstance(large_from, (int, np.integer)):
    raise TypeError(f"{fn}: large_from: expected an int, got {type(large_from).__name__}")
  rows = []
  for n in ns:
    k_s, k_f, k_run = jax.random.split(jax.random.fold_in(key, n), 3)
    s = int(random_period(k_s, n))
    table = simon_oracle(k_f, n, s)
    r = reps if n < large_from else reps_large
    res = collision_search(k_run, table, n, reps=r)
    q = np.asarray(res.queries, np.float64)
    rows.append(dict(n=n, s=s, mean=float(q.mean()), se=float(q.std(ddof=1) / math.sqrt(r)), reps=r,
                     exact=expected_queries(n), exact_sd=math.sqrt(queries_variance(n)),
                     birthday=float(birthday_queries(n)), recovered=float(np.mean(np.asarray(res.s_hat) == s))))
  return rows
