"""Oracle tests for theory.paging (Antoniadis et al., "Paging with Succinct Predictions", arXiv:2210.02775).

Every check is exact (integer fault counts, fault sets, bit vectors) against an independent oracle: a
brute-force dynamic program over cache states, plain-Python simulators and phase partitions, closed
forms, or invariants with a proof in the docstring. The one Monte Carlo check (randomised marking) uses
a 4-standard-error margin.
"""
from __future__ import annotations

import collections

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import checkify

from theory import paging as P

# ---------------------------------------------------------------------------------------------------
# Independent plain-Python oracles.


def brute_force_opt(pages, k):
  """Minimum number of faults over all demand-paging schedules: DP over the set of cached pages."""
  states = {frozenset(): 0}
  for p in pages:
    nxt = {}
    for s, c in states.items():
      if p in s:
        cands = [(s, c)]
      elif len(s) < k:
        cands = [(s | {p}, c + 1)]
      else:
        cands = [((s - {q}) | {p}, c + 1) for q in s]
      for s2, c2 in cands:
        if c2 < nxt.get(s2, 1 << 30):
          nxt[s2] = c2
    states = nxt
  return min(states.values())


def py_lru(pages, k):
  cache, faults = collections.OrderedDict(), []
  for p in pages:
    if p in cache:
      cache.move_to_end(p)
      faults.append(False)
    else:
      if len(cache) == k:
        cache.popitem(last=False)
      cache[p] = None
      faults.append(True)
  return np.array(faults)


def py_fifo(pages, k):
  cache, faults = collections.deque(), []
  for p in pages:
    if p in cache:
      faults.append(False)
    else:
      if len(cache) == k:
        cache.popleft()
      cache.append(p)
      faults.append(True)
  return np.array(faults)


def py_phases(pages, k):
  """Greedy k-phase partition: list of phases, each a list of request indices."""
  phases, cur, distinct = [], [], set()
  for t, p in enumerate(pages):
    if p not in distinct and len(distinct) == k:
      phases.append(cur)
      cur, distinct = [], set()
    cur.append(t)
    distinct.add(p)
  phases.append(cur)
  return phases


def py_phase_bits_and_new(pages, k):
  phases = py_phases(pages, k)
  sets = [set(pages[t] for t in ph) for ph in phases]
  bits = np.zeros(len(pages), int)
  c = []
  for i, ph in enumerate(phases):
    for t in ph:
      bits[t] = int(i + 1 < len(sets) and pages[t] in sets[i + 1])
    c.append(len(sets[i] - (sets[i - 1] if i else set())))
  return phases, bits, c


def random_instance(rng, n_pages, t_len, skew=True):
  if skew:
    w = 1.0 / np.arange(1, n_pages + 1)
    return rng.choice(n_pages, size=t_len, p=w / w.sum()).astype(np.int32)
  return rng.integers(0, n_pages, size=t_len).astype(np.int32)


# Fixed shapes keep the number of compilations small: tiny instances (T = 14 over 6 pages, k <= 3) for
# the dynamic program, medium ones (T = 1000 over 24 pages) otherwise.
TINY_T, TINY_N, TINY_KS, TINY_R = 14, 6, (1, 3), 32
MED_T, MED_N, MED_KS = 1000, 24, (3, 8)


def tiny_batch(k):
  rng = np.random.default_rng(100 + k)
  return np.stack([random_instance(rng, int(rng.integers(k + 1, TINY_N + 1)), TINY_T, skew=bool(i % 2))
                   for i in range(TINY_R)])


def medium_instance(rng, n=MED_N, skew=True):
  return random_instance(rng, n, MED_T, skew=skew)


def faults_per_phase(faults, pages, k):
  return [int(np.sum(faults[ph])) for ph in py_phases(list(pages), k)]


# ---------------------------------------------------------------------------------------------------
# The optimum.


def test_belady_equals_brute_force_dp():
  """FitF's fault count equals the exact optimum (DP over cache states) on tiny instances, whatever the
  workload shape (this also shows its count does not depend on the tie-breaking rule)."""
  for k in TINY_KS:
    pages = tiny_batch(k)
    costs = np.asarray(P.simulate_many(pages, k, "belady", n_pages=TINY_N).cost)
    assert costs.tolist() == [brute_force_opt(list(p), k) for p in pages], k


def test_cyclic_closed_form():
  """Cycle over k+1 pages: LRU and FIFO fault on every request; FitF faults k + ceil((T-k)/k) times."""
  t_len = MED_T
  for k in MED_KS:
    pages = P.cyclic(t_len, k + 1)
    assert int(P.simulate(pages, k, "lru", n_pages=MED_N).cost) == t_len
    assert int(P.simulate(pages, k, "fifo", n_pages=MED_N).cost) == t_len
    assert int(P.simulate(pages, k, "belady", n_pages=MED_N).cost) == k + -(-(t_len - k) // k)


def test_next_use_matches_python():
  rng = np.random.default_rng(1)
  pages = medium_instance(rng, 9)
  expect = [next((u for u in range(t + 1, len(pages)) if pages[u] == pages[t]), len(pages))
            for t in range(len(pages))]
  np.testing.assert_array_equal(np.asarray(P.next_use(pages)), expect)


# ---------------------------------------------------------------------------------------------------
# Classical algorithms.


@pytest.mark.parametrize("algorithm,oracle", [("lru", py_lru), ("fifo", py_fifo)])
def test_lru_fifo_match_python(algorithm, oracle):
  rng = np.random.default_rng(2)
  for k in MED_KS:
    pages = medium_instance(rng)
    np.testing.assert_array_equal(np.asarray(P.simulate(pages, k, algorithm, n_pages=MED_N).faults),
                                  oracle(list(pages), k))


def test_lru_faults_non_increasing_in_k():
  """Inclusion property of LRU (a stack algorithm): more cache never costs more faults."""
  rng = np.random.default_rng(3)
  for trial in range(3):
    pages = medium_instance(rng, skew=bool(trial % 2))
    costs = [int(P.simulate(pages, k, "lru", n_pages=MED_N).cost) for k in (2, 3, 5, 8)]
    assert all(a >= b for a, b in zip(costs, costs[1:])), costs


def test_marking_algorithms_at_most_k_faults_per_phase():
  """Marker (deterministic and randomised) and the phase followers (any bits) are marking algorithms:
  each distinct page of a k-phase faults at most once, so at most k faults per phase."""
  rng = np.random.default_rng(4)
  key = jax.random.PRNGKey(4)
  for k in MED_KS:
    pages = medium_instance(rng, skew=False)
    junk = rng.integers(0, 2, size=pages.shape)
    for algo in ("marker", "rand_marker", "phase", "phase_robust"):
      f = np.asarray(P.simulate(pages, k, algo, bits=junk, key=key, n_pages=MED_N).faults)
      assert max(faults_per_phase(f, pages, k)) <= k, algo


def test_randomised_marker_expected_faults_per_phase():
  """E[faults of random marking] <= sum_i c_i (H_k - H_{c_i} + 1) <= H_k sum_i c_i (Fiat et al. 1991).
  Monte Carlo over 32 keys; the mean must not exceed the bound by more than 4 standard errors."""
  k = 8
  pages = P.cyclic(MED_T, k + 1)  # every phase has exactly one new page: c_i = 1 after the first
  _, _, c = py_phase_bits_and_new(list(np.asarray(pages)), k)
  h = lambda m: sum(1.0 / j for j in range(1, m + 1))
  bound = sum(ci * (h(k) - h(ci) + 1) for ci in c)
  res = P.simulate_many(pages, k, "rand_marker", keys=jax.random.split(jax.random.PRNGKey(5), 32),
                        n_pages=MED_N)
  costs = np.asarray(res.cost, np.float64)
  assert costs.mean() <= bound + 4 * costs.std(ddof=1) / np.sqrt(costs.size), (costs.mean(), bound)
  # and the deterministic Marker on the same trace hits k per phase (every request faults)
  assert int(P.simulate(pages, k, "marker", n_pages=MED_N).cost) == MED_T


# ---------------------------------------------------------------------------------------------------
# Prediction bits and the followers.


def test_phase_partition_and_bits_match_python():
  rng = np.random.default_rng(6)
  for k in MED_KS:
    pages = medium_instance(rng, 12)
    phases, bits, c = py_phase_bits_and_new(list(pages), k)
    part = P.phase_partition(pages, k, n_pages=MED_N)
    expect_phase = np.concatenate([np.full(len(ph), i) for i, ph in enumerate(phases)])
    np.testing.assert_array_equal(np.asarray(part.phase), expect_phase)
    assert int(part.n_phases) == len(phases)
    assert int(part.new.sum()) == sum(c)
    np.testing.assert_array_equal(np.asarray(P.phase_bits(pages, k, n_pages=MED_N)), bits)


def test_discard_bits_count_optimal_refaults():
  """Each 1-bit on a request with a later request of the same page marks one eviction of the fixed
  optimal run followed by a refault, so #(bit 1 with a next request) = OPT - #distinct pages, with OPT
  from the brute-force DP. Requests never followed by another get bit 1."""
  for k in TINY_KS:
    pages = tiny_batch(k)
    bits = np.asarray(P.discard_bits(pages, k, n_pages=TINY_N))
    for p, b in zip(pages, bits):
      nxt = np.array([next((u for u in range(t + 1, TINY_T) if p[u] == p[t]), TINY_T) for t in range(TINY_T)])
      assert np.all(b[nxt == TINY_T] == 1)
      assert int(b[nxt < TINY_T].sum()) == brute_force_opt(list(p), k) - len(set(p.tolist()))


def test_perfect_discard_bits_faults_subset_of_optimum():
  """Correct discard bits: each fault of the follower is also a fault of the fixed optimal run, so its
  cost equals the optimum (DP on tiny instances); the robust variant's guard never fires."""
  for k in TINY_KS:
    pages = tiny_batch(k)
    bits = P.discard_bits(pages, k, n_pages=TINY_N)
    opt_f = np.asarray(P.simulate_many(pages, k, "belady", n_pages=TINY_N).faults)
    for algo in ("discard", "discard_robust"):
      f = np.asarray(P.simulate_many(pages, k, algo, bits=bits, n_pages=TINY_N).faults)
      assert not np.any(f & ~opt_f), (algo, k)
      assert f.sum(-1).tolist() == [brute_force_opt(list(p), k) for p in pages]
  key = jax.random.PRNGKey(8)
  k, n, t_len = MED_KS[1], MED_N, MED_T
  pages = jnp.stack([P.zipf(key, t_len, n, 0.9), P.loop_scan(key, t_len, n, k + 1),
                     P.markov_phase(key, t_len, n, set_size=k + 4)])
  bits = P.discard_bits(pages, k, n_pages=n)
  opt_f = np.asarray(P.simulate_many(pages, k, "belady", n_pages=n).faults)
  for algo in ("discard", "discard_robust"):
    f = np.asarray(P.simulate_many(pages, k, algo, bits=bits, n_pages=n).faults)
    assert not np.any(f & ~opt_f), algo


def test_perfect_phase_bits_cost_is_new_pages_per_phase():
  """Correct phase bits: the phase followers never fault on a page of the previous phase, so the cost
  is sum_i c_i (new pages per phase, from the Python partition), which lies in [OPT, 2 OPT]."""
  rng = np.random.default_rng(9)
  key = jax.random.PRNGKey(9)
  for i in range(6):
    k = MED_KS[i % 2]
    pages = medium_instance(rng, skew=bool(i % 3))
    _, bits, c = py_phase_bits_and_new(list(pages), k)
    opt = int(P.simulate(pages, k, "belady", n_pages=MED_N).cost)
    for algo in ("phase", "phase_robust"):
      cost = int(P.simulate(pages, k, algo, bits=bits, key=jax.random.fold_in(key, i), n_pages=MED_N).cost)
      assert cost == sum(c), algo
      assert opt <= cost <= 2 * opt


def test_discard_robust_at_most_4k_per_phase_whatever_the_bits():
  """The guard: at most k first faults per phase, at most k refaults before it fires, then only refaults
  of pages evicted while marked before it fired (at most 2k such evictions)."""
  rng = np.random.default_rng(10)
  for k in MED_KS:
    pages = medium_instance(rng, 2 * k + 1, skew=False)
    true = P.discard_bits(pages, k, n_pages=MED_N)
    for bits in (1 - true, rng.integers(0, 2, size=pages.shape), np.zeros(pages.shape, int)):
      f = np.asarray(P.simulate(pages, k, "discard_robust", bits=bits, n_pages=MED_N).faults)
      assert max(faults_per_phase(f, pages, k)) <= 4 * k


def test_perturb_error_counts():
  """One-sided noise creates only its own error kind; adversarial modes have closed-form counts; the
  symmetric flip count is Binomial(T, q) (mean within 4 SE)."""
  rng = np.random.default_rng(11)
  true = jnp.asarray(rng.integers(0, 2, size=4000))
  n1 = int(true.sum())
  n0 = true.size - n1
  key = jax.random.PRNGKey(11)
  e = P.prediction_errors(P.perturb(key, true, "one_to_zero", 0.3), true)
  assert int(e.eta1) == 0 and abs(int(e.eta0) - 0.3 * n1) <= 4 * np.sqrt(n1 * 0.21)
  e = P.prediction_errors(P.perturb(key, true, "zero_to_one", 0.3), true)
  assert int(e.eta0) == 0 and abs(int(e.eta1) - 0.3 * n0) <= 4 * np.sqrt(n0 * 0.21)
  e = P.prediction_errors(P.perturb(key, true, "flip", 0.1), true)
  assert abs(int(e.eta0) + int(e.eta1) - 0.1 * true.size) <= 4 * np.sqrt(true.size * 0.09)
  assert tuple(map(int, P.prediction_errors(P.perturb(key, true, "invert"), true))) == (n1, n0)
  assert tuple(map(int, P.prediction_errors(P.perturb(key, true, "all_zero"), true))) == (n1, 0)
  assert tuple(map(int, P.prediction_errors(P.perturb(key, true, "all_one"), true))) == (0, n0)


def test_follower_trap_closed_form():
  """On the trap the plain follower faults on every request; the optimum (DP on a short copy, FitF on
  the long one) faults k + 1 times; the robust follower stays within 4k faults per phase."""
  k = 3
  pages, bits = P.follower_trap(TINY_T, k)
  assert brute_force_opt(list(np.asarray(pages)), k) == k + 1
  assert int(P.simulate(pages, k, "discard", bits=bits).cost) == TINY_T
  pages, bits = P.follower_trap(MED_T, k)
  assert int(P.simulate(pages, k, "belady", n_pages=MED_N).cost) == k + 1
  assert int(P.simulate(pages, k, "discard", bits=bits, n_pages=MED_N).cost) == MED_T
  f = np.asarray(P.simulate(pages, k, "discard_robust", bits=bits, n_pages=MED_N).faults)
  assert max(faults_per_phase(f, np.asarray(pages), k)) <= 4 * k


# ---------------------------------------------------------------------------------------------------
# Workloads and inputs.


def test_zipf_frequencies():
  """Frequencies of each popularity rank match i^-alpha / Z within 4 binomial SE."""
  n, t_len, alpha = 20, 20000, 1.2
  pages = np.asarray(P.zipf(jax.random.PRNGKey(12), t_len, n, alpha))
  counts = np.sort(np.bincount(pages, minlength=n))[::-1]
  prob = np.arange(1, n + 1) ** -alpha
  prob /= prob.sum()
  # sorting the empirical counts matches ranks only where the gaps are large: check the top three
  for i in range(3):
    assert abs(counts[i] - t_len * prob[i]) <= 4 * np.sqrt(t_len * prob[i] * (1 - prob[i])), i


def test_load_trace(tmp_path):
  f = tmp_path / "trace.txt"
  f.write_text("# header\n105 7 105\n9  7 # comment\n\n105\n")
  np.testing.assert_array_equal(np.asarray(P.load_trace(f)), [0, 1, 0, 2, 1, 0])
  np.testing.assert_array_equal(np.asarray(P.load_trace(str(f), remap=False)), [105, 7, 105, 9, 7, 105])
  bad = tmp_path / "bad.txt"
  bad.write_text("1 2 x\n")
  with pytest.raises(ValueError, match="line 1"):
    P.load_trace(bad)
  with pytest.raises(ValueError, match="path"):
    P.load_trace(tmp_path / "missing.txt")


def test_input_validation():
  pages = np.array([0, 1, 2, 0])
  with pytest.raises(ValueError, match="algorithm"):
    P.simulate(pages, 2, "opt")
  with pytest.raises(ValueError, match="k"):
    P.simulate(pages, 0, "lru")
  with pytest.raises(ValueError, match="bits"):
    P.simulate(pages, 2, "discard")
  with pytest.raises(ValueError, match="bits"):
    P.simulate(pages, 2, "discard", bits=[1, 0])
  with pytest.raises(ValueError, match="bits"):
    P.simulate(pages, 2, "phase", bits=[0, 1, 2, 0])
  with pytest.raises(ValueError, match="key"):
    P.simulate(pages, 2, "rand_marker")
  with pytest.raises(TypeError, match="pages"):
    P.simulate(np.array([0.5, 1.0]), 2, "lru")
  with pytest.raises(ValueError, match="pages"):
    P.simulate(np.array([0, -1]), 2, "lru")
  with pytest.raises(ValueError, match="mode"):
    P.perturb(jax.random.PRNGKey(0), pages % 2, "sometimes", 0.1)
  with pytest.raises(ValueError, match="rate"):
    P.perturb(jax.random.PRNGKey(0), pages % 2, "flip", 1.5)


# ---------------------------------------------------------------------------------------------------
# Invalid values: concrete inputs raise with the index; under jit a checkify check and a sentinel.


def test_out_of_range_ids_raise_with_the_index_when_concrete():
  pages = np.array([0, 1, 2, 0, 5, 1], np.int32)
  for call in (lambda: P.simulate(pages, 2, "lru", n_pages=4),
               lambda: P.simulate_many(np.stack([pages, pages]), 2, "lru", n_pages=4),
               lambda: P.next_use(pages, n_pages=4),
               lambda: P.phase_partition(pages, 2, n_pages=4),
               lambda: P.phase_bits(pages, 2, n_pages=4),
               lambda: P.discard_bits(pages, 2, n_pages=4)):
    with pytest.raises(ValueError, match=r"pages: expected values in \[0, 4\), got 5 at index \(4,\)|"
                                         r"pages: expected values in \[0, 4\), got 5 at index \(0, 4\)"):
      call()
  with pytest.raises(ValueError, match=r"simulate: pages: .* got -1 at index \(1,\)"):
    P.simulate(np.array([0, -1, 1]), 2, "lru")
  with pytest.raises(ValueError, match=r"bits: expected values in \[0, 2\), got 2 at index \(2,\)"):
    P.simulate(pages[:4], 2, "discard", bits=[0, 1, 2, 0])


def test_out_of_range_ids_under_jit_give_the_sentinel_never_a_wrong_cost():
  """The issue's case: a valid id sequence plus one request to page n_pages. Unchecked under jit the old
  scatter silently dropped it (cost one short); now the cost is -1, and checkify reports the id."""
  valid = np.arange(20) % 5
  bad = np.r_[valid, 7].astype(np.int32)       # 7 >= n_pages = 5
  run = jax.jit(lambda p: P.simulate(p, 2, "lru", n_pages=5))
  ok = run(jnp.asarray(valid, jnp.int32))
  assert int(ok.cost) == py_lru(list(valid), 2).sum()
  res = run(jnp.asarray(bad))
  assert int(res.cost) == -1 and not np.any(np.asarray(res.faults))
  assert np.all(np.asarray(res.evicted_request) == -1)
  err, out = checkify.checkify(jax.jit(lambda p: P.simulate(p, 2, "lru", n_pages=5).cost))(jnp.asarray(bad))
  assert int(out) == -1 and "pages: expected values in [0, 5)" in err.get()
  err, _ = checkify.checkify(jax.jit(lambda p: P.simulate(p, 2, "lru", n_pages=5).cost))(jnp.asarray(valid))
  assert err.get() is None
  # negative ids and bits outside {0, 1} take the same route
  assert int(run(jnp.asarray(np.r_[valid, -1].astype(np.int32))).cost) == -1
  follow = jax.jit(lambda p, b: P.simulate(p, 2, "discard", bits=b, n_pages=5).cost)
  assert int(follow(jnp.asarray(valid), jnp.asarray(np.r_[np.zeros(19), 2], jnp.int32))) == -1
  # simulate_many: only the invalid replication is marked
  many = jax.jit(lambda p: P.simulate_many(p, 2, "lru", n_pages=5).cost)
  costs = np.asarray(many(jnp.asarray(np.stack([bad[:-1], bad[1:]]))))
  np.testing.assert_array_equal(costs, [py_lru(list(valid), 2).sum(), -1])


def test_id_functions_under_jit_mark_invalid_sequences():
  bad = jnp.asarray([0, 1, 4, 0], jnp.int32)   # 4 >= n_pages = 4
  good = jnp.asarray([0, 1, 3, 0], jnp.int32)
  nu = jax.jit(lambda p: P.next_use(p, n_pages=4))
  np.testing.assert_array_equal(np.asarray(nu(good)), [3, 4, 4, 4])
  np.testing.assert_array_equal(np.asarray(nu(bad)), [-1] * 4)
  part = jax.jit(lambda p: P.phase_partition(p, 2, n_pages=4))(bad)
  assert np.all(np.asarray(part.phase) == -1) and not np.any(np.asarray(part.new)) and int(part.n_phases) == -1
  for f in (P.phase_bits, P.discard_bits):
    np.testing.assert_array_equal(np.asarray(jax.jit(lambda p: f(p, 2, n_pages=4))(bad)), [-1] * 4)
    rows = np.asarray(jax.jit(lambda p: f(p, 2, n_pages=4))(jnp.stack([good, bad])))
    np.testing.assert_array_equal(rows[0], np.asarray(f(np.asarray(good), 2, n_pages=4)))
    np.testing.assert_array_equal(rows[1], [-1] * 4)
    err, _ = checkify.checkify(jax.jit(lambda p: f(p, 2, n_pages=4)))(bad)
    assert "pages: expected values in [0, 4)" in err.get()
  with pytest.raises(ValueError, match="n_pages: required when pages is traced"):
    jax.jit(lambda p: P.phase_bits(p, 2))(good)


def test_bits_and_generator_parameters_under_jit():
  key = jax.random.PRNGKey(3)
  bits = jnp.asarray([0, 1, 3, 1], jnp.int32)
  out = np.asarray(jax.jit(lambda b: P.perturb(key, b, "invert"))(bits))
  np.testing.assert_array_equal(out, [1, 0, -1, 0])
  err = jax.jit(lambda p, t: P.prediction_errors(p, t))(jnp.stack([bits, bits % 2]), jnp.ones((2, 4), jnp.int32))
  np.testing.assert_array_equal(np.asarray(err.eta0), [-1, 1])
  np.testing.assert_array_equal(np.asarray(err.eta1), [-1, 0])
  # a traced probability: the same draw as the concrete one when valid, the -1 sentinel when not
  flip = jax.jit(lambda r: P.perturb(key, bits % 2, "flip", r))
  np.testing.assert_array_equal(np.asarray(flip(0.5)), np.asarray(P.perturb(key, bits % 2, "flip", 0.5)))
  z = jax.jit(lambda a: P.zipf(key, 6, 4, a))
  np.testing.assert_array_equal(np.asarray(z(1.0)), np.asarray(P.zipf(key, 6, 4, 1.0)))
  np.testing.assert_array_equal(np.asarray(z(-1.0)), [-1] * 6)
  err, _ = checkify.checkify(z)(jnp.float32(jnp.inf))
  assert "alpha: expected a finite number >= 0" in err.get()
  ls = jax.jit(lambda q: P.loop_scan(key, 8, 6, 2, q))
  np.testing.assert_array_equal(np.asarray(ls(0.7)), np.asarray(P.loop_scan(key, 8, 6, 2, 0.7)))
  np.testing.assert_array_equal(np.asarray(ls(1.5)), [-1] * 8)
  mp = jax.jit(lambda q: P.markov_phase(key, 8, 6, 2, 3, p_switch=q))
  np.testing.assert_array_equal(np.asarray(mp(2.0)), [-1] * 8)


def test_generators_refuse_differentiation():
  """Samplers of integer ids have no derivative in their float parameters: jax.grad raises, not 0."""
  key = jax.random.PRNGKey(0)
  cases = [lambda r: P.perturb(key, jnp.array([0, 1, 1]), "flip", r),
           lambda a: P.zipf(key, 5, 4, a),
           lambda q: P.loop_scan(key, 8, 6, 2, q),
           lambda q: P.markov_phase(key, 8, 6, 2, 3, p_switch=q)]
  for f in cases:
    with pytest.raises(TypeError, match="not differentiable"):
      jax.grad(lambda v: f(v).astype(jnp.float32).sum())(0.5)


# ---------------------------------------------------------------------------------------------------
# The experiment (theory.paging.experiment).


def test_slope_through_origin_matches_least_squares_and_its_closed_form_se():
  rng = np.random.default_rng(8)
  x = rng.integers(0, 20, 30).astype(float)
  y = 3.0 * x + rng.normal(size=30)
  b, se = P.slope_through_origin(x, y)
  (ref,), res, _, _ = np.linalg.lstsq(x[:, None], y, rcond=None)
  np.testing.assert_allclose(b, ref, rtol=1e-12)
  np.testing.assert_allclose(se, np.sqrt(res[0] / 29 / np.sum(x * x)), rtol=1e-10)
  assert np.isnan(P.slope_through_origin([0, 0], [1, 2])).all()           # no error made: no slope
  with pytest.raises(ValueError, match="slope_through_origin: x, y"):
    P.slope_through_origin([1, 2], [1, 2, 3])


def test_max_faults_per_phase_matches_a_python_count():
  rng = np.random.default_rng(9)
  pages = random_instance(rng, 8, 60)
  faults = rng.random((3, 60)) < 0.4
  phase = np.asarray(P.phase_partition(pages, 3).phase)
  want = max(n for f in faults for n in faults_per_phase(f, list(pages), 3))
  assert P.max_faults_per_phase(faults, phase) == want
  with pytest.raises(ValueError, match="max_faults_per_phase: phase"):
    P.max_faults_per_phase(faults, phase[:10])


def test_workload_generators_and_cyclic_closed_form():
  key = jax.random.PRNGKey(3)
  np.testing.assert_array_equal(np.asarray(P.workload("cyclic", key, 10, 50, 3)), np.arange(10) % 4)
  for w in P.WORKLOADS:
    pages = np.asarray(P.workload(w, key, 200, 30, 5))
    assert pages.shape == (200,) and pages.min() >= 0 and pages.max() < 30, w
  assert len(np.unique(np.asarray(P.workload("loop_scan", key, 200, 30, 5, )))) <= 30
  with pytest.raises(ValueError, match="workload: name"):
    P.workload("random", key, 10, 5, 2)


def test_sweep_on_a_tiny_instance_against_the_dynamic_program_and_python_simulators():
  """Each row's OPT is the brute-force DP optimum, Σc_i and LRU match the Python oracles, and with exact
  bits (rate 0) the discard follower costs OPT with no error and no fault outside OPT's."""
  k, t_len, n = 3, 14, 6
  sw = P.sweep(0, ks=(k,), length=t_len, n_pages=n, reps=2, rates=(0.0, 0.5))
  rows = sw["rows"]
  assert [r["workload"] for r in rows] == list(P.WORKLOADS) + ["follower_trap"]
  key = jax.random.PRNGKey(0)
  for wi, r in enumerate(rows[:-1]):
    pages = [int(v) for v in P.workload(r["workload"], jax.random.fold_in(key, 1000 * k + wi), t_len, n, k)]
    assert r["opt"] == brute_force_opt(pages, k), r["workload"]
    assert r["sum_c"] == sum(py_phase_bits_and_new(pages, k)[2])
    assert r["base"]["lru"] == [int(py_lru(pages, k).sum())] * 2
    exact = r["noisy"][("flip", 0.0, "discard")]
    assert exact["cost"] == [r["opt"]] * 2 and exact["eta0"] == exact["eta1"] == [0, 0]
    assert exact["outside_opt"] == 0
    assert set(r["adversarial"]) == {(m, a) for m in P.ADVERSARIAL for a in P.FOLLOWERS}
  trap_pages, _ = P.follower_trap(t_len, k)
  assert rows[-1]["opt"] == brute_force_opt([int(v) for v in trap_pages], k)
  with pytest.raises(ValueError, match="sweep: rates"):
    P.sweep(0, ks=(k,), length=t_len, n_pages=n, reps=2, rates=(1.5,))
