"""Simon's problem: a state-vector simulator, the quantum algorithm end to end, classical collision search.

Paper: "Energy-Consumption Advantage of Quantum Computation", F. Meier and H. Yamasaki (PRX Energy 2025),
arXiv:2305.11212. The paper's separation is proved for Simon's problem; this module simulates the two
algorithms whose query counts the energy bounds (``theory.quantum_energy.energy``) multiply.

Problem: f: {0,1}^n -> {0,1}^n with a hidden s != 0 such that f(x) = f(y) <=> y in {x, x XOR s}. An
oracle is its lookup table ``table: [2^n] int32`` (x is an integer; bit i of x is qubit / bit i).

Quantum algorithm (one run): |0>^n |0>^n -> H^{(x)n} on register 1 -> U_f|x>|y> = |x>|y XOR f(x)> ->
H^{(x)n} on register 1 -> measure register 1. The outcome y is uniform on s^perp = {y : y.s = 0 mod 2}
(probability 2^-(n-1) each). Repeat until n-1 outcomes are linearly independent over GF(2); s is the one
nonzero vector of their null space. Expected number of runs (``expected_runs``, m = n-1):
  E[R] = sum_{i=0}^{m-1} 1 / (1 - 2^(i-m))    (a sum of independent geometric waiting times),
which tends to n + 0.6067 (``RUNS_OFFSET``).

Classical algorithm: query distinct uniformly random inputs until two outputs coincide (then s = x1 XOR x2).
Survival (``collision_survival``): P(no collision after q queries) = prod_{i=1}^{q-1} (1 - i/(2^n - i));
E[Q] = sum_q P(Q > q) ~ sqrt(pi 2^n / 2).

The state is a [2^n (register 1), 2^n (register 2)] complex128 array; H^{(x)n} is a fast Walsh-Hadamard
transform along axis 0 (n butterflies, O(n 4^n)); U_f is a gather (a basis permutation). Because the
circuit is deterministic until the measurement, one state-vector evaluation gives the exact outcome
distribution of every run with that oracle; runs are then independent draws from it.
"""
from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

MAX_QUBITS = 10          # per register: 4^10 complex128 amplitudes = 16 MiB
MAX_CLASSICAL_BITS = 24  # collision search keeps a [2^n] table
RUNS_OFFSET = 0.6067     # lim_n (E[R] - n), from sum_{k>=1} 2^-k/(1-2^-k) - 1 = 1.6067 - 1  [V in notes]


def _check_n(n, name: str = "n", hi: int = MAX_QUBITS) -> int:
  if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
    raise TypeError(f"{name} must be an int, got {type(n).__name__}")
  if not 2 <= int(n) <= hi:
    raise ValueError(f"{name} must be in [2, {hi}], got {n}")
  return int(n)


def _check_s(s, n: int) -> int:
  if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
    raise TypeError(f"s must be an int, got {type(s).__name__}")
  if not 1 <= int(s) < 2 ** n:
    raise ValueError(f"s must be in [1, 2^n - 1] = [1, {2 ** n - 1}], got {s}")
  return int(s)


def _check_table(table, n: int) -> jax.Array:
  table = jnp.asarray(table)
  if not jnp.issubdtype(table.dtype, jnp.integer):
    raise TypeError(f"table must be an integer array, got dtype {table.dtype}")
  if table.shape != (2 ** n,):
    raise ValueError(f"table must have shape [2^n] = ({2 ** n},), got {table.shape}")
  return table.astype(jnp.int32)


def parity(v: jax.Array) -> jax.Array:
  """Parity (popcount mod 2) of non-negative int32 values, elementwise: [...] -> [...] int32."""
  return jax.lax.population_count(jnp.asarray(v, jnp.int32)) & 1


# ---------------------------------------------------------------------------------------------------
# Oracles.


def simon_oracle(key: jax.Array, n: int, s: int) -> jax.Array:
  """A random Simon oracle with period s: f(x) = pi(min(x, x XOR s)) for a uniform permutation pi.

  Exactly 2-to-1 with f(x) = f(y) <=> y in {x, x XOR s}. Returns table: [2^n] int32.
  """
  n = _check_n(n, hi=MAX_CLASSICAL_BITS)
  s = _check_s(s, n)
  x = jnp.arange(2 ** n, dtype=jnp.int32)
  perm = jax.random.permutation(key, 2 ** n).astype(jnp.int32)
  return perm[jnp.minimum(x, x ^ s)]


def random_period(key: jax.Array, n: int) -> jax.Array:
  """A uniform s in {1, ..., 2^n - 1}: [] int32."""
  n = _check_n(n, hi=MAX_CLASSICAL_BITS)
  return jax.random.randint(key, (), 1, 2 ** n, dtype=jnp.int32)


# ---------------------------------------------------------------------------------------------------
# State-vector simulator.


def walsh_hadamard(state: jax.Array, n: int) -> jax.Array:
  """H^{(x)n} on axis 0 by the fast Walsh-Hadamard transform (n butterflies, normalised, an involution).

  state: [2^n, M] -> [2^n, M]. Bit i of the row index is qubit i; the ordering is irrelevant to the
  result because every qubit gets the same H.
  """
  m = state.shape[1]
  for i in range(n):
    v = state.reshape(2 ** (n - 1 - i), 2, 2 ** i, m)
    a, b = v[:, 0], v[:, 1]
    state = jnp.stack([a + b, a - b], axis=1).reshape(2 ** n, m) / math.sqrt(2.0)
  return state


def apply_oracle(state: jax.Array, table: jax.Array) -> jax.Array:
  """U_f |x>|y> = |x>|y XOR f(x)> as a gather: out[x, y] = state[x, y XOR f(x)] (U_f is an involution).

  state: [2^n, 2^n], table: [2^n] int32 -> [2^n, 2^n].
  """
  size = state.shape[0]
  x = jnp.arange(size, dtype=jnp.int32)[:, None]
  y = jnp.arange(size, dtype=jnp.int32)[None, :]
  return state[x, y ^ table[:, None]]


@functools.partial(jax.jit, static_argnums=1)
def _circuit(table: jax.Array, n: int) -> jax.Array:
  size = 2 ** n
  state = jnp.zeros((size, size), jnp.complex128).at[0, 0].set(1.0)
  state = walsh_hadamard(state, n)
  state = apply_oracle(state, table)
  return walsh_hadamard(state, n)


def simon_state(table: jax.Array, n: int) -> jax.Array:
  """Final state of one Simon run before measurement: [2^n (reg. 1), 2^n (reg. 2)] complex128."""
  n = _check_n(n)
  with jax.enable_x64(True):
    return _circuit(_check_table(table, n), n)


def outcome_probabilities(table: jax.Array, n: int) -> jax.Array:
  """Exact distribution of the register-1 measurement, from the state vector: [2^n] float64."""
  with jax.enable_x64(True):
    state = simon_state(table, n)
    return jnp.sum(jnp.abs(state) ** 2, axis=1)


# ---------------------------------------------------------------------------------------------------
# GF(2) elimination.


def _xor_reduce(v: jax.Array, n: int) -> jax.Array:
  """XOR of v: [K] int32 (values < 2^n) as per-bit parities (batchable, unlike a custom lax.reduce)."""
  bits = jnp.arange(n, dtype=jnp.int32)
  par = jnp.sum((v[:, None] >> bits) & 1, axis=0) & 1
  return jnp.sum(par << bits).astype(jnp.int32)


def gf2_insert(rows: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
  """Adds y to a reduced row-echelon basis over GF(2).

  rows: [n] int32, rows[p] = the basis vector with leading bit p, or 0 (none); every basis vector is 0 at
  the other vectors' leading bits. y: [] int32. Returns (rows', independent: [] bool).
  """
  n = rows.shape[0]
  bits = jnp.arange(n, dtype=jnp.int32)
  # Reduce y by every row whose leading bit y has (order-free: rows are 0 at each other's leading bits).
  hit = ((y >> bits) & 1).astype(bool) & (rows != 0)
  y = y ^ _xor_reduce(jnp.where(hit, rows, 0), n)
  independent = y != 0
  lead = jnp.where(independent, 31 - jax.lax.clz(jnp.maximum(y, 1)), 0)
  # Clear the new leading bit from the other rows, then store y.
  clear = independent & (((rows >> lead) & 1) == 1)
  rows = jnp.where(clear, rows ^ y, rows)
  rows = jnp.where(independent & (bits == lead), y, rows)
  return rows, independent


def gf2_null_vector(rows: jax.Array) -> jax.Array:
  """The nonzero null vector of a rank n-1 reduced basis (``gf2_insert``'s form): [] int32 with rows.s = 0.

  With free bit f (the one position without a row), s = 2^f + sum_p bit_f(rows[p]) 2^p.
  """
  n = rows.shape[0]
  bits = jnp.arange(n, dtype=jnp.int32)
  free = jnp.argmin(rows != 0).astype(jnp.int32)
  contrib = jnp.where(rows != 0, ((rows >> free) & 1) << bits, 0)
  return (1 << free) | jnp.sum(contrib).astype(jnp.int32)


def solve_gf2(ys: jax.Array, n: int) -> tuple[jax.Array, jax.Array]:
  """Rank and null vector of a list of GF(2) vectors: ys [K] int32 -> (rank [] int32, s [] int32).

  s is meaningful only when rank = n - 1.
  """
  n = _check_n(n, hi=30)
  ys = jnp.asarray(ys, jnp.int32)
  rows, ind = jax.lax.scan(gf2_insert, jnp.zeros((n,), jnp.int32), ys)
  return jnp.sum(ind).astype(jnp.int32), gf2_null_vector(rows)


# ---------------------------------------------------------------------------------------------------
# Simon's algorithm end to end.


class SimonResult(NamedTuple):
  """One execution of Simon's algorithm (leading dims: replications).

  runs: [] int32, quantum runs (= oracle queries) until rank n-1.
  s_hat: [] int32, the recovered period.
  useless: [] int32, runs whose outcome was already in the span (y = 0 included).
  """
  runs: jax.Array
  s_hat: jax.Array
  useless: jax.Array


@functools.partial(jax.jit, static_argnums=(2, 3))
def _simon_sample(key, logp, n, max_runs):
  def cond(c):
    _, _, rank, runs, _ = c
    return (rank < n - 1) & (runs < max_runs)

  def body(c):
    k, rows, rank, runs, useless = c
    k, sub = jax.random.split(k)
    y = jax.random.categorical(sub, logp).astype(jnp.int32)
    rows, ind = gf2_insert(rows, y)
    return k, rows, rank + ind, runs + 1, useless + (~ind)

  init = (key, jnp.zeros((n,), jnp.int32), jnp.int32(0), jnp.int32(0), jnp.int32(0))
  _, rows, _, runs, useless = jax.lax.while_loop(cond, body, init)
  return SimonResult(runs, gf2_null_vector(rows), useless)


def simon(key: jax.Array, table: jax.Array, n: int, reps: int = 1, max_runs: int | None = None) -> SimonResult:
  """Simon's algorithm on oracle ``table``, ``reps`` independent executions (vmap over keys).

  Each run's outcome is drawn from the exact state-vector distribution (``outcome_probabilities``).
  Returns SimonResult with fields of shape [reps].
  """
  n = _check_n(n)
  if not isinstance(reps, int) or reps < 1:
    raise ValueError(f"reps must be a positive int, got {reps!r}")
  max_runs = 64 * n if max_runs is None else max_runs
  if not isinstance(max_runs, int) or max_runs < n - 1:
    raise ValueError(f"max_runs must be an int >= n - 1 = {n - 1}, got {max_runs!r}")
  with jax.enable_x64(True):
    p = outcome_probabilities(table, n)
    # Outcomes off s^perp have probability 0 up to float64 rounding (~1e-16): never sampled.
    logp = jnp.where(p > 1e-12, jnp.log(jnp.maximum(p, 1e-300)), -jnp.inf)
    keys = jax.random.split(key, reps)
    return jax.vmap(lambda k: _simon_sample(k, logp, n, max_runs))(keys)


def expected_runs(n: int) -> float:
  """Closed form E[R] = sum_{i=0}^{m-1} 1/(1 - 2^(i-m)), m = n - 1."""
  n = _check_n(n, hi=60)
  m = n - 1
  return float(sum(1.0 / (1.0 - 2.0 ** (i - m)) for i in range(m)))


def runs_variance(n: int) -> float:
  """Var[R] = sum_i (1 - p_i) / p_i^2 with p_i = 1 - 2^(i-m) (independent geometric stages)."""
  n = _check_n(n, hi=60)
  m = n - 1
  return float(sum(2.0 ** (i - m) / (1.0 - 2.0 ** (i - m)) ** 2 for i in range(m)))


# ---------------------------------------------------------------------------------------------------
# Classical collision search.


class CollisionResult(NamedTuple):
  """Classical random-query collision search (leading dims: replications).

  queries: [] int32, oracle queries until the first repeated output.
  s_hat: [] int32, x1 XOR x2 of the colliding pair.
  """
  queries: jax.Array
  s_hat: jax.Array


@jax.jit
def _collide(key, table):
  size = table.shape[0]
  order = jax.random.permutation(key, size).astype(jnp.int32)   # distinct random queries
  out = table[order]
  pos = jnp.arange(size, dtype=jnp.int32)
  first = jnp.full((size,), size, jnp.int32).at[out].min(pos)     # first query returning each value
  repeated = first[out] < pos
  j = jnp.min(jnp.where(repeated, pos, size))
  s_hat = order[j] ^ order[first[out[j]]]
  return CollisionResult(j + 1, s_hat)


def collision_search(key: jax.Array, table: jax.Array, n: int, reps: int = 1) -> CollisionResult:
  """Queries distinct uniform inputs until an output repeats; ``reps`` executions. Fields: [reps]."""
  n = _check_n(n, hi=MAX_CLASSICAL_BITS)
  if not isinstance(reps, int) or reps < 1:
    raise ValueError(f"reps must be a positive int, got {reps!r}")
  table = _check_table(table, n)
  # Vectorised in batches of at most 2^22 table entries in flight (bounded memory for large n).
  batch = max(1, min(reps, 2 ** 22 // 2 ** n))
  return jax.lax.map(lambda k: _collide(k, table), jax.random.split(key, reps), batch_size=batch)


def collision_survival(n: int, q_max: int | None = None) -> np.ndarray:
  """P(no collision after q distinct random queries), q = 0..q_max: prod_{i=1}^{q-1} (1 - i/(2^n - i)).

  Returns [q_max + 1] float64 (q_max defaults to 2^(n-1) + 1, where it is 0).
  """
  n = _check_n(n, hi=40)
  size = 2.0 ** n
  q_max = 2 ** (n - 1) + 1 if q_max is None else q_max
  if not isinstance(q_max, int) or q_max < 0:
    raise ValueError(f"q_max must be a non-negative int, got {q_max!r}")
  i = np.arange(1, max(q_max, 1), dtype=np.float64)
  factors = np.clip(1.0 - i / (size - i), 0.0, None)
  return np.concatenate([[1.0], np.cumprod(np.concatenate([[1.0], factors]))])[: q_max + 1]


def expected_queries(n: int) -> float:
  """E[Q] = sum_{q>=0} P(Q > q), from ``collision_survival``."""
  return float(np.sum(collision_survival(n)))


def queries_variance(n: int) -> float:
  """Var[Q] = sum_q (2q + 1) P(Q > q) - E[Q]^2."""
  surv = collision_survival(n)
  q = np.arange(surv.size, dtype=np.float64)
  return float(np.sum((2 * q + 1) * surv) - np.sum(surv) ** 2)


def birthday_queries(n) -> np.ndarray:
  """The asymptotic form sqrt(pi 2^n / 2)."""
  return np.sqrt(np.pi * 2.0 ** np.asarray(n, np.float64) / 2.0)
