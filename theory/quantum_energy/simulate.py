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
transform along axis 0 (n butterflies, O(n 4^n)); U_f is a gather (a basis permutation). Both come from the
shared simulator ``theory.common.statevector`` (``walsh_hadamard`` is re-exported here). Because the
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
from jax.experimental import checkify

from kernels.common.checks import check_in_range, is_concrete
from theory.common.statevector import permute_basis, walsh_hadamard

MAX_QUBITS = 10          # per register: 4^10 complex128 amplitudes = 16 MiB
MAX_CLASSICAL_BITS = 24  # collision search keeps a [2^n] table
RUNS_OFFSET = 0.6067     # lim_n (E[R] - n), from sum_{k>=1} 2^-k/(1-2^-k) - 1 = 1.6067 - 1  [V in notes]


def _check_n(n, name: str = "n", hi: int = MAX_QUBITS, lo: int = 2) -> int:
  if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
    raise TypeError(f"{name} must be an int, got {type(n).__name__}")
  if not lo <= int(n) <= hi:
    raise ValueError(f"{name} must be in [{lo}, {hi}], got {n}")
  return int(n)


def _check_s(s, n: int) -> int:
  if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
    raise TypeError(f"s must be an int, got {type(s).__name__}")
  if not 1 <= int(s) < 2 ** n:
    raise ValueError(f"s must be in [1, 2^n - 1] = [1, {2 ** n - 1}], got {s}")
  return int(s)


def _check_table(table, n: int, fn: str = "simon_state") -> jax.Array:
  """table: [2^n] integers with values in [0, 2^n) (ValueError when concrete, a checkify check under jit)."""
  table = jnp.asarray(table)
  if not jnp.issubdtype(table.dtype, jnp.integer):
    raise TypeError(f"table must be an integer array, got dtype {table.dtype}")
  if table.shape != (2 ** n,):
    raise ValueError(f"table must have shape [2^n] = ({2 ** n},), got {table.shape}")
  check_in_range(table, "table", fn, 0, 2 ** n)
  return table.astype(jnp.int32)


def _check_ints(v, name: str, fn: str, ndim: int | None = None) -> jax.Array:
  if isinstance(v, (str, bytes)):
    raise TypeError(f"{fn}: {name} must be an integer array, got {v!r}")
  try:
    v = jnp.asarray(v)
  except TypeError as e:
    raise TypeError(f"{fn}: {name} must be an integer array, got {type(v).__name__}") from e
  if not jnp.issubdtype(v.dtype, jnp.integer):
    raise TypeError(f"{fn}: {name} must be an integer array, got dtype {v.dtype}")
  if ndim is not None and v.ndim != ndim:
    raise ValueError(f"{fn}: {name} must have {ndim} dimension(s), got shape {v.shape}")
  return v


def parity(v: jax.Array) -> jax.Array:
  """Parity (popcount mod 2) of non-negative int32 values, elementwise: [...] -> [...] int32.

  v: integers in [0, 2^31) (TypeError for floats, which would be truncated; ValueError for out-of-range
  values when concrete, a checkify check under jit).
  """
  v = _check_ints(v, "v", "parity")
  if is_concrete(v):
    a = np.asarray(v)
    bad = (a < 0) | (a > np.iinfo(np.int32).max)
    if bad.any():
      idx = tuple(int(i) for i in np.argwhere(bad)[0])
      raise ValueError(f"parity: v: expected values in [0, 2^31), got {a[idx]} at index {idx}")
  else:
    checkify.debug_check(jnp.all(v >= 0), "parity: v: expected values >= 0")
  return jax.lax.population_count(v.astype(jnp.int32)) & 1


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


def apply_oracle(state: jax.Array, table: jax.Array) -> jax.Array:
  """U_f |x>|y> = |x>|y XOR f(x)> as a gather: out[x, y] = state[x, y XOR f(x)] (U_f is an involution).

  state: [2^n, 2^n], table: [2^n] integers in [0, 2^n) -> [2^n, 2^n] (linear in state). Out-of-range table
  values raise ValueError when concrete (a checkify check under jit; unchecked, the gather would clamp).
  """
  state = jnp.asarray(state)
  if state.ndim != 2 or state.shape[0] != state.shape[1] or state.shape[0] < 2 \
      or state.shape[0] & (state.shape[0] - 1):
    raise ValueError(f"apply_oracle: state must have shape [2^n, 2^n] (n >= 1), got {state.shape}")
  if not (jnp.issubdtype(state.dtype, jnp.number)):
    raise TypeError(f"apply_oracle: state must be a numeric array, got dtype {state.dtype}")
  n = state.shape[0].bit_length() - 1
  return _apply_oracle(state, _check_table(table, n, "apply_oracle"))


def _apply_oracle(state: jax.Array, table: jax.Array) -> jax.Array:
  # U_f is a basis permutation of the flattened two-register state (index x 2^n + y).
  size = state.shape[0]
  x = jnp.arange(size, dtype=jnp.int32)[:, None]
  y = jnp.arange(size, dtype=jnp.int32)[None, :]
  perm = (x * size + (y ^ table[:, None])).reshape(-1)
  return permute_basis(state.reshape(-1), perm).reshape(size, size)


@functools.partial(jax.jit, static_argnums=1)
def _circuit(table: jax.Array, n: int) -> jax.Array:
  size = 2 ** n
  state = jnp.zeros((size, size), jnp.complex128).at[0, 0].set(1.0)
  state = walsh_hadamard(state, n)
  state = _apply_oracle(state, table)
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
  Values of rows and y must lie in [0, 2^n) (ValueError when concrete, a checkify check under jit).
  """
  rows = _check_ints(rows, "rows", "gf2_insert", ndim=1)
  y = _check_ints(y, "y", "gf2_insert", ndim=0)
  n = _check_n(rows.shape[0], "rows.shape[0] (n)", hi=30, lo=1)
  check_in_range(rows, "rows", "gf2_insert", 0, 2 ** n)
  check_in_range(y, "y", "gf2_insert", 0, 2 ** n)
  return _gf2_insert(rows.astype(jnp.int32), y.astype(jnp.int32))


def _gf2_insert(rows: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
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

  With free bit f (the one position without a row), s = 2^f + sum_p bit_f(rows[p]) 2^p. A concrete basis
  must have exactly one zero row (ValueError otherwise); under jit other ranks give a meaningless s.
  """
  rows = _check_ints(rows, "rows", "gf2_null_vector", ndim=1)
  _check_n(rows.shape[0], "rows.shape[0] (n)", hi=30, lo=1)
  if is_concrete(rows):
    zeros = int(np.sum(np.asarray(rows) == 0))
    if zeros != 1:
      raise ValueError(f"gf2_null_vector: rows: expected a rank n-1 basis (exactly one zero row), got {zeros} "
                       "zero rows")
  return _gf2_null_vector(rows.astype(jnp.int32))


def _gf2_null_vector(rows: jax.Array) -> jax.Array:
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
  ys = _check_ints(ys, "ys", "solve_gf2", ndim=1)
  check_in_range(ys, "ys", "solve_gf2", 0, 2 ** n)
  rows, ind = jax.lax.scan(_gf2_insert, jnp.zeros((n,), jnp.int32), ys.astype(jnp.int32))
  return jnp.sum(ind).astype(jnp.int32), _gf2_null_vector(rows)


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
    rows, ind = _gf2_insert(rows, y)
    return k, rows, rank + ind, runs + 1, useless + (~ind)

  init = (key, jnp.zeros((n,), jnp.int32), jnp.int32(0), jnp.int32(0), jnp.int32(0))
  _, rows, _, runs, useless = jax.lax.while_loop(cond, body, init)
  return SimonResult(runs, _gf2_null_vector(rows), useless)


def simon(key: jax.Array, table: jax.Array, n: int, reps: int = 1, max_runs: int | None = None) -> SimonResult:
  """Simon's algorithm on oracle ``table``, ``reps`` independent executions (vmap over keys).

  Each run's outcome is drawn from the exact state-vector distribution (``outcome_probabilities``).
  Returns SimonResult with fields of shape [reps].
  """
  n = _check_n(n)
  if isinstance(reps, bool) or not isinstance(reps, int) or reps < 1:
    raise ValueError(f"reps must be a positive int, got {reps!r}")
  max_runs = 64 * n if max_runs is None else max_runs
  if isinstance(max_runs, bool) or not isinstance(max_runs, int) or max_runs < n - 1:
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
  if isinstance(reps, bool) or not isinstance(reps, int) or reps < 1:
    raise ValueError(f"reps must be a positive int, got {reps!r}")
  table = _check_table(table, n, "collision_search")
  # Vectorised in batches of at most 2^22 table entries in flight (bounded memory for large n).
  batch = max(1, min(reps, 2 ** 22 // 2 ** n))
  return jax.lax.map(lambda k: _collide(k, table), jax.random.split(key, reps), batch_size=batch)


_MAX_SURVIVAL = 2 ** 27   # entries of a survival table (1 GiB of float64)


def collision_survival(n: int, q_max: int | None = None) -> np.ndarray:
  """P(no collision after q distinct random queries), q = 0..q_max: prod_{i=1}^{q-1} (1 - i/(2^n - i)).

  Returns [q_max + 1] float64 (q_max defaults to 2^(n-1) + 1, where it is 0). Host-side numpy; integer
  inputs only. ValueError if the table would exceed 2^27 entries (pass a smaller q_max).
  """
  n = _check_n(n, hi=40)
  size = 2.0 ** n
  q_max = 2 ** (n - 1) + 1 if q_max is None else q_max
  if isinstance(q_max, bool) or not isinstance(q_max, (int, np.integer)) or q_max < 0:
    raise ValueError(f"q_max must be a non-negative int, got {q_max!r}")
  if q_max + 1 > _MAX_SURVIVAL:
    raise ValueError(f"q_max: the survival table would hold {q_max + 1} entries (> 2^27); pass q_max <= "
                     f"{_MAX_SURVIVAL - 1} (the survival is below 1e-19 beyond q = {_negligible_q(n)})")
  q_max = int(q_max)
  i = np.arange(1, max(q_max, 1), dtype=np.float64)
  factors = np.clip(1.0 - i / (size - i), 0.0, None)
  return np.concatenate([[1.0], np.cumprod(np.concatenate([[1.0], factors]))])[: q_max + 1]


def _negligible_q(n: int) -> int:
  """A q from which P(Q > q) <= exp(-q(q-1)/2^(n+1)) < 5e-20 (so the tail adds < 1e-19 relative to E[Q])."""
  return min(2 ** (n - 1) + 1, int(math.ceil(math.sqrt(89.0 * 2.0 ** n))) + 2)


def expected_queries(n: int) -> float:
  """E[Q] = sum_{q>=0} P(Q > q), from ``collision_survival`` (summed to where the survival is below 5e-20,
  so n up to 40 stays small). Integer input only."""
  n = _check_n(n, hi=40)
  return float(np.sum(collision_survival(n, _negligible_q(n))))


def queries_variance(n: int) -> float:
  """Var[Q] = sum_q (2q + 1) P(Q > q) - E[Q]^2 (same truncation as ``expected_queries``)."""
  n = _check_n(n, hi=40)
  surv = collision_survival(n, _negligible_q(n))
  q = np.arange(surv.size, dtype=np.float64)
  return float(np.sum((2 * q + 1) * surv) - np.sum(surv) ** 2)


def birthday_queries(n) -> np.ndarray:
  """The asymptotic form sqrt(pi 2^n / 2), elementwise in real n >= 0.

  numpy float64 for concrete n; a float64 jax array, differentiable in n, for a traced n.
  """
  if isinstance(n, bool):
    raise TypeError(f"birthday_queries: n must be real, got {n!r}")
  if isinstance(n, jax.core.Tracer):
    with jax.enable_x64(True):
      x = jnp.asarray(n, jnp.float64)
      checkify.debug_check(jnp.all(x >= 0), "birthday_queries: n must be >= 0")
      return jnp.sqrt(jnp.pi / 2.0) * jnp.exp2(x / 2.0)
  try:
    a = np.asarray(n)
  except Exception as e:  # noqa: BLE001
    raise TypeError(f"birthday_queries: n must be a real number or array, got {type(n).__name__}") from e
  if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
    raise TypeError(f"birthday_queries: n must be real (int or float), got dtype {a.dtype}")
  a = a.astype(np.float64)
  if not np.all(np.isfinite(a) & (a >= 0)):
    raise ValueError(f"birthday_queries: n must be finite and >= 0, got {n!r}")
  return np.sqrt(np.pi * 2.0 ** a / 2.0)
