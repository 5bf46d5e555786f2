"""Oracle tests for theory.quantum_energy (Meier & Yamasaki, "Energy-Consumption Advantage of Quantum
Computation", arXiv:2305.11212).

Oracles: exact probabilities of Simon's measurement (2^-(n-1) on s^perp, 0 elsewhere), a dense Kronecker
Hadamard matrix, brute-force GF(2) rank / null space, brute-force enumeration of all query orders for the
collision survival, the geometric-sum closed form for the runs and its Monte Carlo standard error, and the
Landauer integral's closed form. Float64 tolerances: 1e-12 for O(4^n) sums of unit-norm amplitudes.
"""
from __future__ import annotations

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from theory import quantum_energy as Q


def _dot(a, b):
  return bin(a & b).count("1") % 2


# ---------------------------------------------------------------------------------------------------
# State-vector simulator.


@pytest.mark.parametrize("n,s", [(2, 3), (3, 5), (5, 18), (8, 129)])
def test_outcomes_uniform_on_s_perp(n, s):
  table = Q.simon_oracle(jax.random.key(n), n, s)
  with jax.enable_x64(True):
    state = np.asarray(Q.simon_state(table, n))
  probs = np.sum(np.abs(state) ** 2, axis=1)
  expected = np.array([2.0 ** -(n - 1) if _dot(y, s) == 0 else 0.0 for y in range(2 ** n)])
  # float64, O(4^n) terms of magnitude <= 1: rounding far below 1e-12.
  np.testing.assert_allclose(probs, expected, atol=1e-12)
  assert abs(np.sum(np.abs(state) ** 2) - 1.0) < 1e-12


def test_oracle_is_two_to_one_with_period():
  n, s = 6, 37
  table = np.asarray(Q.simon_oracle(jax.random.key(3), n, s))
  for x in range(2 ** n):
    same = [y for y in range(2 ** n) if table[y] == table[x]]
    assert sorted(same) == sorted({x, x ^ s})


def test_walsh_hadamard_matches_dense_kron_and_is_involution():
  n = 4
  h = np.array([[1, 1], [1, -1]]) / np.sqrt(2)
  dense = h
  for _ in range(n - 1):
    dense = np.kron(dense, h)
  rng = np.random.default_rng(0)
  v = rng.normal(size=(2 ** n, 3)) + 1j * rng.normal(size=(2 ** n, 3))
  with jax.enable_x64(True):
    out = np.asarray(Q.walsh_hadamard(jnp.asarray(v), n))
    back = np.asarray(Q.walsh_hadamard(jnp.asarray(out), n))
  np.testing.assert_allclose(out, dense @ v, atol=1e-12)  # float64 rounding
  np.testing.assert_allclose(back, v, atol=1e-12)


def test_oracle_is_the_xor_permutation():
  n = 3
  table = np.asarray(Q.simon_oracle(jax.random.key(1), n, 6))
  rng = np.random.default_rng(1)
  psi = rng.normal(size=(8, 8))
  with jax.enable_x64(True):
    out = np.asarray(Q.apply_oracle(jnp.asarray(psi), jnp.asarray(table)))
  ref = np.zeros_like(psi)
  for x in range(8):
    for y in range(8):
      ref[x, y ^ table[x]] += psi[x, y]   # U_f |x>|y> = |x>|y xor f(x)>
  np.testing.assert_array_equal(out, ref)


# ---------------------------------------------------------------------------------------------------
# GF(2) elimination and Simon's algorithm.


def _brute_rank_and_null(ys, n):
  span = {0}
  for y in ys:
    span |= {v ^ y for v in span}
  rank = int(round(math.log2(len(span))))
  null = [s for s in range(1, 2 ** n) if all(_dot(y, s) == 0 for y in ys)]
  return rank, null


def test_gf2_solver_against_brute_force():
  rng = np.random.default_rng(2)
  n = 6
  checked = 0
  for _ in range(60):
    ys = rng.integers(0, 2 ** n, size=rng.integers(1, 9))
    rank, s_hat = Q.solve_gf2(jnp.asarray(ys, jnp.int32), n)
    b_rank, b_null = _brute_rank_and_null([int(y) for y in ys], n)
    assert int(rank) == b_rank
    if b_rank == n - 1:
      assert b_null == [int(s_hat)]
      checked += 1
  assert checked > 0


def test_simon_recovers_s_and_runs_match_closed_form():
  n, s, reps = 6, 45, 3000
  table = Q.simon_oracle(jax.random.key(5), n, s)
  res = Q.simon(jax.random.key(6), table, n, reps=reps)
  assert np.all(np.asarray(res.s_hat) == s)
  runs = np.asarray(res.runs, np.float64)
  # Monte Carlo: 4 standard errors from the exact variance of a sum of independent geometrics.
  se = math.sqrt(Q.runs_variance(n) / reps)
  assert abs(runs.mean() - Q.expected_runs(n)) < 4 * se
  assert runs.min() >= n - 1


def test_expected_runs_closed_form_by_markov_chain():
  # Independent oracle: expected absorption time of the rank chain (rank i -> i+1 w.p. 1 - 2^(i-m)),
  # solved as a linear system.
  for n in (2, 4, 8, 16):
    m = n - 1
    a = np.eye(m)
    for i in range(m):
      a[i, i] -= 2.0 ** (i - m)
      if i + 1 < m:
        a[i, i + 1] -= 1 - 2.0 ** (i - m)
    t = np.linalg.solve(a, np.ones(m))
    assert abs(t[0] - Q.expected_runs(n)) < 1e-10  # float64 solve of an m x m well-conditioned system
  assert abs(Q.expected_runs(16) - 16.607) < 1e-3   # [V] value from the paper notes
  assert abs(Q.expected_runs(40) - 40 - Q.RUNS_OFFSET) < 1e-4  # offset given to 4 decimals


# ---------------------------------------------------------------------------------------------------
# Classical collision search.


def test_collision_survival_by_enumerating_all_orders():
  for n, s in ((2, 1), (3, 5)):
    table = np.asarray(Q.simon_oracle(jax.random.key(0), n, s))
    counts = np.zeros(2 ** n + 2)
    orders = list(itertools.permutations(range(2 ** n)))
    for order in orders:
      seen = set()
      for q, x in enumerate(order, start=1):
        if table[x] in seen:
          counts[q] += 1
          break
        seen.add(table[x])
    pmf = counts / len(orders)
    surv_brute = 1.0 - np.cumsum(pmf)              # P(Q > q)
    surv = Q.collision_survival(n)
    np.testing.assert_allclose(surv, surv_brute[: surv.size], atol=1e-12)  # exact rationals in float64


def test_collision_search_mean_and_recovery():
  n, s, reps = 10, 300, 4000
  table = Q.simon_oracle(jax.random.key(7), n, s)
  res = Q.collision_search(jax.random.key(8), table, n, reps=reps)
  assert np.all(np.asarray(res.s_hat) == s)
  q = np.asarray(res.queries, np.float64)
  se = math.sqrt(Q.queries_variance(n) / reps)
  assert abs(q.mean() - Q.expected_queries(n)) < 4 * se   # 4 Monte Carlo standard errors


def test_expected_queries_approaches_birthday_form():
  # [V] values from the paper notes: n = 16 -> 319.8 vs 320.9; n = 20 -> 1282 vs 1283. The notes' sum
  # sum_{q>=1} P(no collision after q) omits the q = 0 term, i.e. counts queries before the colliding one;
  # our Q counts the colliding query too (checked by enumeration above), so E[Q] = notes + 1.
  assert abs(Q.expected_queries(16) - 1 - 319.8) < 0.1
  assert abs(float(Q.birthday_queries(16)) - 320.9) < 0.1
  assert abs(Q.expected_queries(20) - 1 - 1282) < 1.0
  # sqrt(pi 2^n / 2) is the leading term: relative gap shrinks like 2^(-n/2).
  gaps = [abs(Q.expected_queries(n) / float(Q.birthday_queries(n)) - 1) for n in (8, 12, 16, 20)]
  assert all(a > b for a, b in zip(gaps, gaps[1:])) and gaps[-1] < 1e-3


# ---------------------------------------------------------------------------------------------------
# Energy accounting.


def test_erasure_work_limit_closed_form_and_monotone():
  e_max = 10.0
  w_inf = Q.erasure_work_limit(e_max)
  # Closed form vs a direct float64 quadrature of the integral of p(E) dE from 0 to e_max.
  grid = np.linspace(0, e_max, 200001)
  quad = np.trapezoid(1 / (1 + np.exp(grid)), grid)
  assert abs(w_inf - quad) < 1e-8   # trapezoid error O(h^2) ~ 1e-10
  works = [Q.erasure_work(e_max, n) for n in range(1, 301)]
  assert all(a > b for a, b in zip(works, works[1:]))      # decreasing in N
  assert all(w >= w_inf for w in works)                     # left Riemann sum of a decreasing p
  # W_N - W_inf = O(E_max/N): for a left sum the leading term is (E_max/2N)(p(0) - p(E_max)).
  n = 1000
  lead = e_max / (2 * n) * (0.5 - 1 / (1 + math.exp(e_max)))
  assert abs(Q.erasure_work(e_max, n) - w_inf - lead) < 0.05 * lead
  # [V] values: kT = 1, E_max = 10.
  for n, v in ((10, 0.964), (100, 0.718), (1000, 0.6956)):
    assert abs(Q.erasure_work(e_max, n) - v) < 5e-4
  # Limit k_B T ln 2 for a perfect erasure, and above the partial-erasure Landauer bound ln2 - h(eps).
  # e^-60 ~ 1e-26 is below float64 resolution at ln 2 (~1e-16): the limit equals ln 2 to rounding.
  assert abs(Q.erasure_work_limit(60.0) - math.log(2)) < 1e-15
  eps = 1e-3
  h = -eps * math.log(eps) - (1 - eps) * math.log(1 - eps)
  assert Q.erasure_work_limit(Q.gap_for_error(eps)) > math.log(2) - h
  assert abs(Q.erasure_work_limit(Q.gap_for_error(eps)) - math.log(2 * (1 - eps))) < 1e-12


def test_energy_bounds_and_crossover():
  p = Q.EnergyParams()
  c = Q.energy_curves(np.arange(2, 61), p)
  # Classical lower bound: Q_C is the least q with C(q,2) + 1 >= p (2^n - 1), checked by brute force.
  for n, q in zip(c.n[:12], c.classical_queries[:12]):
    target = p.p_success * (2.0 ** int(n) - 1)
    brute = next(k for k in range(1, 10 ** 6) if k * (k - 1) / 2 + 1 >= target)
    assert int(q) == brute
  np.testing.assert_allclose(c.classical_lower, c.classical_queries * math.log(2))  # b = 1
  n_star = Q.crossover(p)
  assert n_star is not None
  assert np.all(c.classical_lower[c.n >= n_star] > c.quantum_upper[c.n >= n_star])
  assert c.classical_lower[c.n == n_star - 1][0] <= c.quantum_upper[c.n == n_star - 1][0]
  # Costlier gates can only push the crossover up.
  assert Q.crossover(p._replace(gate_energy=1000.0)) >= n_star


def test_input_validation():
  with pytest.raises(ValueError, match="n must be"):
    Q.simon_state(jnp.zeros(8, jnp.int32), 11)
  with pytest.raises(ValueError, match="s must be"):
    Q.simon_oracle(jax.random.key(0), 3, 0)
  with pytest.raises(TypeError, match="table must be an integer"):
    Q.simon_state(jnp.zeros(8), 3)
  with pytest.raises(ValueError, match="n_steps"):
    Q.erasure_work(1.0, 0)
  with pytest.raises(ValueError, match="eps_init"):
    Q.energy_curves([4], Q.EnergyParams(eps_init=0.7))


# ---------------------------------------------------------------------------------------------------
# Derivatives, values under jit, edges (issue "Correct at the edges").


def test_energy_model_derivatives_match_closed_forms():
  with jax.enable_x64(True):
    e = 2.5
    # d W_inf / dE = e^{-E} / (1 + e^{-E}) = p(E)
    assert abs(float(jax.grad(Q.erasure_work_limit)(e)) - 1 / (1 + math.exp(e))) < 1e-15
    # d/d eps ln((1 - eps)/eps) = -1/(eps (1 - eps))
    eps = 0.01
    assert abs(float(jax.grad(Q.gap_for_error)(eps)) + 1 / (eps * (1 - eps))) < 1e-10
    # W_N = sum_{k<N} (E/N) p(kE/N): dW/dE = sum_k [p(x_k)/N + (E/N)(k/N) p'(x_k)], p' = -p(1 - p)
    n = 7
    k = np.arange(n)
    pk = 1 / (1 + np.exp(k * e / n))
    ref = np.sum(pk / n - (e / n) * (k / n) * pk * (1 - pk))
    assert abs(float(jax.grad(lambda x: Q.erasure_work(x, n))(e)) - ref) < 1e-15
    # the same values as the host (Python float) path
    assert float(jax.jit(lambda x: Q.erasure_work(x, n))(e)) == pytest.approx(Q.erasure_work(e, n), abs=1e-15)
    # curves: linear in gate / query energy and bits per query
    ns = [3, 5]
    base = Q.EnergyParams(erasure_steps=5)
    c = Q.energy_curves(ns, base)
    budget = np.ceil(c.runs / (1 - base.p_success))

    def curves(g, q, b):
      cc = Q.energy_curves(ns, base._replace(gate_energy=g, query_energy=q, bits_per_query=b))
      return cc.quantum_upper, cc.classical_lower

    jac = jax.jacrev(curves, argnums=(0, 1, 2))(100.0, 100.0, 1.0)
    np.testing.assert_allclose(jac[0][0], budget * np.array([Q.gate_count(n) for n in ns]), rtol=1e-15)
    np.testing.assert_allclose(jac[0][1], budget, rtol=1e-15)
    np.testing.assert_allclose(jac[1][2], c.classical_queries * math.log(2), rtol=1e-15)
    np.testing.assert_allclose(curves(100.0, 100.0, 1.0)[0], c.quantum_upper, rtol=1e-15)
    # birthday form: d/dn sqrt(pi 2^n / 2) = (ln 2 / 2) sqrt(pi 2^n / 2)
    d = float(jax.grad(Q.birthday_queries)(9.5))
    assert abs(d - math.log(2) / 2 * float(Q.birthday_queries(9.5))) < 1e-12
  with pytest.raises(TypeError, match="p_success.*not differentiable"):
    jax.grad(lambda p: Q.energy_curves([4], Q.EnergyParams(p_success=p)).quantum_upper.sum())(0.5)
  with pytest.raises(TypeError, match="crossover.*not differentiable"):
    jax.grad(lambda g: Q.crossover(Q.EnergyParams(gate_energy=g)))(100.0)


def test_oracle_table_values_are_checked_eagerly_and_by_checkify_under_jit():
  from jax.experimental import checkify
  bad = jnp.array([0, 1, 1, 4], jnp.int32)        # 4 is outside [0, 2^2); the gather would clamp it to 3
  with pytest.raises(ValueError, match=r"apply_oracle: table.*\[0, 4\).*index \(3,\)"):
    Q.apply_oracle(jnp.eye(4), bad)
  with pytest.raises(ValueError, match="simon_state: table"):
    Q.simon_state(bad, 2)
  f = checkify.checkify(jax.jit(lambda t: Q.apply_oracle(jnp.eye(4), t)))
  err, _ = f(bad)
  assert "table" in err.get()
  err, out = f(jnp.array([0, 1, 1, 0], jnp.int32))
  assert err.get() is None
  # out[x, y] = state[x, y XOR f(x)], written out for f = (0, 1, 1, 0)
  expect = np.array([[1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 1]], np.float32)
  np.testing.assert_array_equal(np.asarray(out), expect)
  err, _ = checkify.checkify(jax.jit(Q.parity))(jnp.array([3, -1]))
  assert "v" in err.get()


def test_integer_inputs_are_not_truncated_and_gf2_edges():
  with pytest.raises(TypeError, match="parity: v"):
    Q.parity(1.5)
  with pytest.raises(TypeError, match="solve_gf2: ys"):
    Q.solve_gf2(jnp.array([1.5, 2.0]), 3)
  with pytest.raises(ValueError, match=r"gf2_insert: y.*\[0, 8\)"):
    Q.gf2_insert(jnp.zeros(3, jnp.int32), jnp.int32(9))
  with pytest.raises(ValueError, match="gf2_null_vector: rows.*zero row"):
    Q.gf2_null_vector(jnp.array([1, 2, 4], jnp.int32))          # full rank: no null vector
  rows, ind = Q.gf2_insert(jnp.array([0, 0, 4], jnp.int32), jnp.int32(5))
  assert bool(ind) and int(Q.gf2_null_vector(rows)) == 2     # span{4, 5} = span{1, 4}: null vector 2 (0b010)
  np.testing.assert_allclose(np.asarray(Q.walsh_hadamard(jnp.ones((2, 1)), 1)), [[math.sqrt(2)], [0.0]],
                             atol=1e-7)
  with pytest.raises(ValueError, match="walsh_hadamard: state"):
    Q.walsh_hadamard(jnp.ones((3, 1)), 2)


def test_expected_queries_truncation_is_exact_and_scales_to_40_bits():
  for n in (12, 16):   # the truncated sum = the full survival sum (the dropped terms are < 5e-20)
    full = Q.collision_survival(n)
    assert Q.expected_queries(n) == pytest.approx(float(np.sum(full)), rel=1e-15)
    q = np.arange(full.size)
    assert Q.queries_variance(n) == pytest.approx(float(np.sum((2 * q + 1) * full) - np.sum(full) ** 2), rel=1e-12)
  # n = 40 (2^39 + 2 entries in the untruncated table) now takes ~1e7 terms; the relative gap to the birthday
  # form keeps shrinking at least like 2^(-n/2) (measured: 2.4e-7 at n = 20, 2.8e-13 at n = 40)
  gap = lambda n: abs(Q.expected_queries(n) / float(Q.birthday_queries(n)) - 1)  # noqa: E731
  assert gap(40) < gap(20) * 2.0 ** -9
  with pytest.raises(ValueError, match="q_max"):
    Q.collision_survival(30)


def test_sweeps_match_the_closed_forms():
  # Oracles: the exact outcome law (uniform on s^perp), the closed-form E[R] = sum 1/(1 - 2^(i-m)) and the
  # survival-product E[Q], each mean within 5 standard errors (closed-form sd). Shapes as in the tests above
  # (n = 6 with 3000 executions, n = 10 with 4000 searches), so no new compile.
  (r,) = Q.simon_sweep(jax.random.key(3), (6,), 3000)
  assert r["n"] == 6 and r["max_prob_dev"] < 1e-12 and r["norm_dev"] < 1e-12 and r["recovered"] == 1.0
  assert abs(r["mean"] - r["exact"]) < 5 * r["exact_sd"] / math.sqrt(r["reps"])
  assert r["exact"] == pytest.approx(sum(1 / (1 - 2.0 ** (i - 5)) for i in range(5)))
  (c,) = Q.collision_sweep(jax.random.key(4), (10,), 50, reps_large=4000, large_from=10)
  assert c["reps"] == 4000 and c["recovered"] == 1.0
  assert abs(c["mean"] - c["exact"]) < 5 * c["exact_sd"] / math.sqrt(c["reps"])
