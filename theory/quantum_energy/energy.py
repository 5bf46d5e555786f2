"""Energy accounting for Simon's problem: finite-step Landauer erasure, quantum upper / classical lower bounds.

Paper: "Energy-Consumption Advantage of Quantum Computation", F. Meier and H. Yamasaki (PRX Energy 2025),
arXiv:2305.11212. The paper bounds the quantum algorithm's energy from above (initialisation by a
finite-step, finite-precision erasure, gates, queries) and any classical algorithm's energy from below
(energy conservation + Landauer's principle per query). Only the abstract was checked against the paper;
the formulas below are the zoo's MODEL of that accounting (tagged [U] in the paper notes), not the paper's
theorems, and every constant is an explicit parameter.

Erasure protocol (``erasure_work``; our derivation): a two-level system (gap E, ground state = the reset
value) in contact with a bath at temperature T; the gap is raised from 0 to E_max in N equal steps, the
system thermalising fully after each step. The work is
  W_N = sum_{k=1}^N (E_k - E_{k-1}) p(E_{k-1}),   p(E) = 1 / (1 + exp(E / k_B T)),          (W_N)
the excited-state population p(E_max) = eps is the residual error, and as N -> infinity
  W_inf = k_B T ln(2 / (1 + exp(-E_max / k_B T))) = k_B T ln(2 (1 - eps))  -> k_B T ln 2.    (W_inf)
W_N >= W_inf (a left Riemann sum of the decreasing p) and W_N - W_inf = O(E_max / N).

Bounds (``quantum_energy_upper``, ``classical_energy_lower``), per instance size n:
  E_Q(n) <= R(n) [2n W_N(eps_init) + G(n) E_gate + E_query],   R(n) = E[runs] (``simulate.expected_runs``),
            G(n) = 2n Hadamards + n^2 CNOTs (a linear oracle f(x) = Mx mod 2 with ker M = {0, s});
  E_C(n) >= Q_C(n, p_succ) b k_B T ln 2,
            Q_C = the least q with q(q-1)/2 + 1 >= p_succ (2^n - 1) (counting argument: q queries without a
            collision rule out at most q(q-1)/2 candidate periods; a guess among the rest succeeds with
            probability <= 1/remaining), b = bits erased per query (>= 1; ``bits_per_query``).
The crossover n* (``crossover``) is the least n from which E_C's lower bound exceeds E_Q's upper bound.
It depends on every parameter in ``EnergyParams``.
"""
from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

from theory.quantum_energy.simulate import expected_runs

BOLTZMANN = 1.380649e-23  # k_B in J/K (exact in the 2019 SI)


class EnergyParams(NamedTuple):
  """Physical parameters of the energy model. Energies are in units of k_B T (multiply by ``kt_joule``).

  temperature: bath temperature T in kelvin (sets k_B T in joules only).
  eps_init: residual error of each qubit initialisation (excited population after erasure), in (0, 1/2).
  erasure_steps: N, the number of gap-raising steps of the initialisation protocol.
  gate_energy: E_gate, energy dissipated per elementary gate (H or CNOT), in k_B T.
  query_energy: E_query, energy per quantum oracle call beyond its gates, in k_B T.
  bits_per_query: b, bits the classical machine must erase / initialise per query (>= 1).
  p_success: the success probability both algorithms must reach.
  """
  temperature: float = 300.0
  eps_init: float = 1e-3
  erasure_steps: int = 100
  gate_energy: float = 100.0
  query_energy: float = 100.0
  bits_per_query: float = 1.0
  p_success: float = 2.0 / 3.0

  @property
  def kt_joule(self) -> float:
    return BOLTZMANN * self.temperature


def _traced(v) -> bool:
  return isinstance(v, jax.core.Tracer)


def check_params(p: EnergyParams) -> EnergyParams:
  """Validates an ``EnergyParams`` (ValueError naming the field); returns it unchanged.

  Fields that are jax tracers (differentiating the energy model in a float field) are not value-checked.
  """
  if not isinstance(p, EnergyParams):
    raise TypeError(f"params must be an EnergyParams, got {type(p).__name__}")
  for name in ("temperature", "eps_init", "gate_energy", "query_energy", "bits_per_query", "p_success"):
    v = getattr(p, name)
    if _traced(v):
      continue
    _real(v, name, "check_params")
    if np.ndim(v) != 0:
      raise ValueError(f"{name} must be a scalar, got shape {np.shape(v)}")
    if not math.isfinite(float(v)):
      raise ValueError(f"{name} must be finite, got {v}")
  t = p.temperature
  if not _traced(t) and not t > 0:
    raise ValueError(f"temperature must be > 0 K, got {p.temperature}")
  if not _traced(p.eps_init) and not 0 < p.eps_init < 0.5:
    raise ValueError(f"eps_init must be in (0, 1/2), got {p.eps_init}")
  if isinstance(p.erasure_steps, bool) or not isinstance(p.erasure_steps, (int, np.integer)) or p.erasure_steps < 1:
    raise ValueError(f"erasure_steps must be an int >= 1, got {p.erasure_steps!r}")
  for name in ("gate_energy", "query_energy"):
    if not _traced(getattr(p, name)) and not getattr(p, name) >= 0:
      raise ValueError(f"{name} must be >= 0 (units of k_B T), got {getattr(p, name)}")
  if not _traced(p.bits_per_query) and not p.bits_per_query >= 1:
    raise ValueError(f"bits_per_query must be >= 1, got {p.bits_per_query}")
  if not _traced(p.p_success) and not 0 < p.p_success <= 1:
    raise ValueError(f"p_success must be in (0, 1], got {p.p_success}")
  return p


def _real(v, name: str, fn: str):
  """A real scalar or array (Python number, numpy or jax, possibly traced); TypeError otherwise."""
  if isinstance(v, (bool, str, bytes)):
    raise TypeError(f"{fn}: {name} must be a real number, got {v!r}")
  try:
    dt = jnp.asarray(v).dtype
  except TypeError as e:
    raise TypeError(f"{fn}: {name} must be a real number or array, got {type(v).__name__}") from e
  if not (jnp.issubdtype(dt, jnp.floating) or jnp.issubdtype(dt, jnp.integer)) or dt == jnp.bool_:
    raise TypeError(f"{fn}: {name} must be real (float or int), got dtype {dt}")


def excited_population(e: jax.Array) -> jax.Array:
  """p(E) = 1 / (1 + exp(E)) with E in units of k_B T (thermal excited population of a two-level system).

  e: real array (ints are promoted to the default float dtype); TypeError for complex / bool / non-numeric.
  """
  _real(e, "e", "excited_population")
  e = jnp.asarray(e)
  if not jnp.issubdtype(e.dtype, jnp.floating):
    e = e.astype(jnp.asarray(0.0).dtype)
  return jax.nn.sigmoid(-e)


def gap_for_error(eps) -> float:
  """E_max / k_B T = ln((1 - eps) / eps): the final gap that leaves residual error eps.

  A Python float for a concrete eps (ValueError unless 0 < eps < 1/2); a float64 jax array, differentiable,
  for a traced eps (the range is then a ``checkify`` check).
  """
  _real(eps, "eps", "gap_for_error")
  if _traced(eps):
    with jax.enable_x64(True):
      e = jnp.asarray(eps, jnp.float64)
      checkify.debug_check(jnp.all((e > 0) & (e < 0.5)), "gap_for_error: eps must be in (0, 1/2)")
      return jnp.log1p(-e) - jnp.log(e)
  eps = float(eps)
  if not 0 < eps < 0.5:
    raise ValueError(f"eps must be in (0, 1/2), got {eps}")
  return math.log((1.0 - eps) / eps)


@functools.partial(jax.jit, static_argnums=2)
def _work(e_max, n_steps, length):
  # Padded to a static power-of-two length so sweeps over N compile O(log N) times.
  k = jnp.arange(length, dtype=jnp.float64)
  de = e_max / n_steps
  return jnp.sum(jnp.where(k < n_steps, de * excited_population(k * de), 0.0))


def _check_e_max(e_max, fn: str) -> None:
  _real(e_max, "e_max", fn)
  if _traced(e_max):
    checkify.debug_check(jnp.all(e_max > 0), f"{fn}: e_max must be > 0 (units of k_B T)")
    return
  if jnp.ndim(e_max) != 0:
    raise ValueError(f"{fn}: e_max must be a scalar, got shape {jnp.shape(e_max)}")
  if not (math.isfinite(float(e_max)) and float(e_max) > 0):
    raise ValueError(f"e_max must be > 0 and finite (units of k_B T), got {e_max}")


def erasure_work(e_max, n_steps: int) -> float:
  """W_N in units of k_B T for the N-step protocol raising the gap to e_max (units of k_B T); float64.

  A Python float for a concrete e_max; a float64 jax scalar (differentiable in e_max) for a traced one.
  """
  if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
    raise ValueError(f"n_steps must be an int >= 1, got {n_steps!r}")
  _check_e_max(e_max, "erasure_work")
  with jax.enable_x64(True):
    length = 1 << max(int(n_steps) - 1, 1).bit_length()
    w = _work(jnp.asarray(e_max, jnp.float64), jnp.float64(n_steps), length)
    return w if _traced(e_max) else float(w)


def erasure_work_limit(e_max) -> float:
  """W_inf / k_B T = ln(2 / (1 + exp(-e_max))) (quasi-static limit); -> ln 2 as e_max -> infinity.

  A Python float for a concrete e_max; a float64 jax scalar (differentiable) for a traced one.
  """
  _check_e_max(e_max, "erasure_work_limit")
  if _traced(e_max):
    with jax.enable_x64(True):
      return math.log(2.0) - jnp.log1p(jnp.exp(-jnp.asarray(e_max, jnp.float64)))
  return math.log(2.0) - math.log1p(math.exp(-float(e_max)))


def _check_bits(n, fn: str, hi: int | None = None) -> int:
  if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
    raise TypeError(f"{fn}: n must be an int, got {type(n).__name__}")
  if n < 1 or (hi is not None and n > hi):
    raise ValueError(f"{fn}: n must be in [1, {hi if hi is not None else 'inf'}], got {n}")
  return int(n)


def gate_count(n: int) -> int:
  """G(n) = 2n Hadamards + n^2 CNOTs (linear oracle), per run. n: int >= 1."""
  n = _check_bits(n, "gate_count")
  return 2 * n + n * n


def classical_queries_lower(n: int, p_success: float) -> int:
  """Q_C: the least q with q(q-1)/2 + 1 >= p_success (2^n - 1) (our counting bound, see module doc).

  n: int in [1, 60]; p_success in (0, 1]. Integer-valued: a traced p_success raises TypeError.
  """
  n = _check_bits(n, "classical_queries_lower", 60)
  if _traced(p_success):
    raise TypeError("classical_queries_lower: p_success: the query count is an integer (piecewise constant in "
                    "p_success), so it is not differentiable; got a jax tracer")
  _real(p_success, "p_success", "classical_queries_lower")
  if not 0 < float(p_success) <= 1:
    raise ValueError(f"classical_queries_lower: p_success must be in (0, 1], got {p_success}")
  target = p_success * (2.0 ** n - 1.0) - 1.0
  if target <= 0:
    return 1
  q = int(math.ceil(0.5 + math.sqrt(0.25 + 2.0 * target)))
  while q > 1 and (q - 1) * (q - 2) / 2.0 >= target:   # exact least q, guarding float rounding
    q -= 1
  while q * (q - 1) / 2.0 < target:
    q += 1
  return q


class EnergyCurves(NamedTuple):
  """Energies in units of k_B T per n (multiply by ``params.kt_joule`` for joules).

  n: [K] int; quantum_upper, classical_lower: [K] float64; init_work: [] per-qubit initialisation W_N;
  runs: [K] expected quantum runs; classical_queries: [K] Q_C.
  """
  n: np.ndarray
  quantum_upper: np.ndarray
  classical_lower: np.ndarray
  init_work: float
  runs: np.ndarray
  classical_queries: np.ndarray


def energy_curves(ns, params: EnergyParams = EnergyParams()) -> EnergyCurves:
  """E_Q upper and E_C lower bounds (units of k_B T) for each n in ``ns``.

  The quantum algorithm's runs are its expected number R(n); to succeed with probability p_success one
  may instead stop after ceil(R / (1 - p_success)) runs (Markov) -- ``quantum_upper`` uses that stopping
  time so both sides meet the same p_success.

  Differentiable in the float fields eps_init, gate_energy, query_energy, bits_per_query (the curves are
  then jax arrays); p_success enters through a ceiling and integer query counts, so a traced p_success
  raises TypeError; erasure_steps is an int.
  """
  params = check_params(params)
  if _traced(params.p_success):
    raise TypeError("energy_curves: p_success: it sets integer run and query counts (piecewise constant), so the "
                    "curves are not differentiable in it; got a jax tracer")
  ns = np.asarray(ns)
  if ns.ndim != 1 or ns.size == 0 or not np.issubdtype(ns.dtype, np.integer) or ns.min() < 2 or ns.max() > 60:
    raise ValueError(f"ns must be a non-empty 1-D integer array in [2, 60], got {ns!r}")
  runs = np.array([expected_runs(int(n)) for n in ns])
  budget = runs if params.p_success >= 1 else np.ceil(runs / (1.0 - params.p_success))
  gates = np.array([gate_count(int(n)) for n in ns])
  q_c = np.array([classical_queries_lower(int(n), params.p_success) for n in ns], np.float64)
  if any(_traced(v) for v in params):
    with jax.enable_x64(True):
      w = erasure_work(gap_for_error(params.eps_init), int(params.erasure_steps))
      f64 = lambda v: jnp.asarray(v, jnp.float64)  # noqa: E731
      per_run = 2 * ns * f64(w) + gates * f64(params.gate_energy) + f64(params.query_energy)
      e_c = q_c * f64(params.bits_per_query) * math.log(2.0)
      return EnergyCurves(ns, budget * per_run, e_c, w, runs, q_c)
  w = erasure_work(gap_for_error(params.eps_init), int(params.erasure_steps))
  per_run = 2 * ns * w + gates * params.gate_energy + params.query_energy
  e_c = q_c * params.bits_per_query * math.log(2.0)
  return EnergyCurves(ns, budget * per_run, e_c, w, runs, q_c)


def crossover(params: EnergyParams = EnergyParams(), n_max: int = 60) -> int | None:
  """n*: least n <= n_max with E_C_lower(m) > E_Q_upper(m) for every m in [n, n_max]; None if none.

  n_max: int in [2, 60]. Integer-valued: traced parameters raise TypeError (never a silent zero).
  """
  if isinstance(params, EnergyParams):
    for name, v in zip(EnergyParams._fields, params):
      if _traced(v):
        raise TypeError(f"crossover: params.{name}: the crossover n* is an integer, so it is not differentiable; "
                        "got a jax tracer (differentiate energy_curves instead)")
  if isinstance(n_max, bool) or not isinstance(n_max, (int, np.integer)) or not 2 <= n_max <= 60:
    raise ValueError(f"crossover: n_max must be an int in [2, 60], got {n_max!r}")
  c = energy_curves(np.arange(2, n_max + 1), params)
  adv = c.classical_lower > c.quantum_upper
  if not adv[-1]:
    return None
  idx = len(adv) - 1
  while idx > 0 and adv[idx - 1]:
    idx -= 1
  return int(c.n[idx])
