"""Oracle tests for models.fl_gflownet (Pan, Malkin, Zhang & Bengio, ICML 2023, arXiv:2302.01687).

Oracles: the exact optimum (uniform P_B, flows by backward recursion, P_F = F(s')P_B(s|s')/F(s)) makes TB, DB,
SubTB, FL-DB and FL-SubTB vanish to rounding on sampled trajectories and its DP terminal law equals R/Z; the
algebraic identity FL-DB(F̃) = DB(F = F̃ e^{−E}) for random terms; E ≡ 0 on non-terminal states gives FL = non-FL;
the elementary-symmetric formula against brute-force enumeration of all k-subsets; masked actions get
probability exactly 0; the DP terminal law of a random policy against a Monte Carlo histogram of the sampler
(chi-square); a hand-computed three-state chain for each loss.

Tolerances: float64 identities at 1e-10 (sums of O(10) log terms); Monte Carlo by a chi-square bound
(p ≈ 1e-4).
"""
from __future__ import annotations

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from models import fl_gflownet as F

F64 = 1e-10


class _Indexed:
  """Delegates to an environment; ``obs`` is the state itself, so a table policy can look it up."""

  def __init__(self, env):
    self.env = env

  def __getattr__(self, name):
    if name == "env":
      raise AttributeError(name)
    return getattr(self.env, name)

  def obs(self, s):
    return s.astype(jnp.float64)


def _table_policy(enum, log_pf, log_pb, log_flow):
  """policy_fn(state-as-obs, fm, bm) reading tables by the state's row in ``enum``."""
  codes = {tuple(r): i for i, r in enumerate(enum.states)}
  dim = enum.states.shape[1]
  base = int(enum.states.max()) + 2
  weights = base ** np.arange(dim)
  lookup = np.full(int(weights @ np.full(dim, base - 1)) + 1, -1, np.int64)
  for r, i in codes.items():
    lookup[int(np.asarray(r) @ weights)] = i
  lookup, weights = jnp.asarray(lookup), jnp.asarray(weights)

  def fn(obs, fm, bm):
    idx = lookup[(obs.astype(jnp.int64) * weights).sum(-1)]
    return log_pf[idx], log_pb[idx], log_flow[idx]
  return fn


ENVS = {
    "set": lambda: F.set_env(np.array([0.7, -1.2, 0.3, 2.0, -0.4], np.float64), 3),
    "grid": lambda: F.hypergrid(height=4, ndim=2, r0=1e-2),
}


@pytest.fixture(scope="module", params=sorted(ENVS))
def optimum(request):
  with jax.enable_x64(True):
    env = ENVS[request.param]()
    enum = env.enumerate()
    ienv = _Indexed(env)

    @jax.jit
    def build(keys):
      log_pb = F.uniform_log_pb(enum, jnp.float64)
      log_pf, log_flow = F.exact_forward_policy(log_pb, enum)
      traj = F.sample_trajectories(ienv, _table_policy(enum, log_pf, log_pb, log_flow), keys, 0.3)
      plain = F.trajectory_terms(ienv, _table_policy(enum, log_pf, log_pb, log_flow), traj)
      tilde = F.trajectory_terms(ienv, _table_policy(enum, log_pf, log_pb, log_flow + jnp.asarray(enum.energy)),
                                 traj)
      log_z = log_flow[0]
      losses = {"tb": F.tb_loss(plain, log_z), "db": F.db_loss(plain), "subtb": F.subtb_loss(plain, 0.9),
                "fl_db": F.db_loss(tilde, forward_looking=True), "fl_subtb": F.subtb_loss(tilde, 0.9, True),
                "db_wrong": F.db_loss(tilde)}
      return dict(log_pb=log_pb, log_pf=log_pf, log_flow=log_flow, plain=plain, losses=losses,
                  p_t=F.terminal_distribution(log_pf, enum), target=F.target_distribution(enum, jnp.float64))

    out = build(jax.random.split(jax.random.PRNGKey(3), 64))
    yield dict(env=env, enum=enum, **out)


def test_exact_optimum_zeroes_all_five_losses(optimum):
  plain, losses = optimum["plain"], optimum["losses"]
  assert bool(jnp.all(jnp.sum(plain.valid, 1) >= 1))
  for name in F.LOSSES:
    assert float(losses[name]) < F64, (name, float(losses[name]))
  # the wrong flows (log F̃ given to the non-FL loss) are not optimal: the check has power
  assert float(losses["db_wrong"]) > 1e-3
  # log Z of the optimum is log Σ_x R(x)
  e = optimum["enum"].energy[optimum["enum"].terminal]
  np.testing.assert_allclose(float(optimum["log_flow"][0]), np.log(np.sum(np.exp(-e))), rtol=0, atol=F64)


def test_exact_policy_terminal_law_is_r_over_z(optimum):
  enum = optimum["enum"]
  e = enum.energy[enum.terminal]
  want = np.exp(-e) / np.exp(-e).sum()
  np.testing.assert_allclose(np.asarray(optimum["p_t"]), want, rtol=0, atol=F64)
  np.testing.assert_allclose(np.asarray(optimum["target"]), want, rtol=0, atol=F64)
  # P_F rows sum to 1 over the valid actions of non-terminal states
  pf = np.exp(np.asarray(optimum["log_pf"])) * enum.forward_mask
  np.testing.assert_allclose(pf.sum(1)[~enum.terminal], 1.0, atol=F64)


def _random_terms(rng, b=5, t=4, zero_energy=False):
  lengths = rng.integers(1, t + 1, size=b)
  valid = np.arange(t)[None] < lengths[:, None]
  terminal = np.zeros((b, t + 1), bool)
  done = rng.random(b) < 0.6
  terminal[np.arange(b), lengths] = done
  energy = rng.normal(size=(b, t + 1))
  if zero_energy:
    energy = np.where(terminal, energy, 0.0)
  return F.Terms(log_pf=jnp.asarray(-rng.random((b, t)) * 2), log_pb=jnp.asarray(-rng.random((b, t))),
                 log_flow=jnp.asarray(rng.normal(size=(b, t + 1))), energy=jnp.asarray(energy),
                 terminal=jnp.asarray(terminal), valid=jnp.asarray(valid))


@jax.jit
def _fl_vs_reparam(t):
  reparam = t._replace(log_flow=t.log_flow - t.energy)      # F = F̃ e^{−E}, terminal pinned in both
  return (F.db_residuals(t, forward_looking=True), F.db_residuals(reparam), F.subtb_loss(t, 0.7, True),
          F.subtb_loss(reparam, 0.7), F.db_loss(t, True), F.db_loss(t), F.subtb_loss(t, 0.9, True),
          F.subtb_loss(t, 0.9))


def test_fl_residual_is_db_residual_with_reparameterised_flow():
  with jax.enable_x64(True):
    t = _random_terms(np.random.default_rng(0))
    fl, db, s_fl, s_db, *_ = _fl_vs_reparam(t)
    np.testing.assert_allclose(np.asarray(fl), np.asarray(db), atol=F64)
    np.testing.assert_allclose(float(s_fl), float(s_db), atol=F64)
    # the FL residual is the local form: out(s) + log P_F − out(s') − log P_B − E(s) + E(s')
    lf = np.where(np.asarray(t.terminal), 0.0, np.asarray(t.log_flow))
    e = np.asarray(t.energy)
    want = lf[:, :-1] + np.asarray(t.log_pf) - lf[:, 1:] - np.asarray(t.log_pb) - e[:, :-1] + e[:, 1:]
    np.testing.assert_allclose(np.asarray(fl), np.where(np.asarray(t.valid), want, 0.0), atol=F64)


def test_zero_intermediate_energy_makes_fl_equal_to_non_fl():
  with jax.enable_x64(True):
    t = _random_terms(np.random.default_rng(1), zero_energy=True)
    *_, d_fl, d, s_fl, s = _fl_vs_reparam(t)
    np.testing.assert_allclose(float(d_fl), float(d), atol=F64)
    np.testing.assert_allclose(float(s_fl), float(s), atol=F64)
    # and with energies on the intermediate states they differ
    *_, d_fl2, d2, _, _ = _fl_vs_reparam(_random_terms(np.random.default_rng(1)))
    assert abs(float(d_fl2) - float(d2)) > 1e-3


def test_losses_on_a_hand_computed_chain():
  """One trajectory s0 → s1 → x (terminal), two transitions, brute-force formulas."""
  with jax.enable_x64(True):
    pf, pb, out, e = [-0.3, -0.8], [-0.1, -0.5], [0.4, 1.1, 9.0], [0.2, -0.6, 1.3]
    t = F.Terms(jnp.asarray([pf]), jnp.asarray([pb]), jnp.asarray([out]), jnp.asarray([e]),
                jnp.asarray([[False, False, True]]), jnp.asarray([[True, True]]))
    lr = -e[2]
    log_z = 0.25
    t_inc = t._replace(valid=jnp.asarray([[True, False]]))
    lam = 0.5
    got = jax.jit(lambda t, t_inc: (F.db_loss(t), F.db_loss(t, True), F.subtb_loss(t, lam), F.tb_loss(t, log_z),
                                    F.tb_loss(t_inc, log_z), F.db_loss(t_inc), F.gfn_loss("fl_db", t)))(t, t_inc)
    db, db_fl, sub, tb, tb_inc, db_inc, g_fl = (float(v) for v in got)
    d = [out[0] + pf[0] - out[1] - pb[0], out[1] + pf[1] - lr - pb[1]]
    np.testing.assert_allclose(db, (d[0] ** 2 + d[1] ** 2) / 2, atol=F64)
    g = [0.4 - 0.2, 1.1 + 0.6, 0.0 - 1.3]     # FL: log F̃ − E, log F̃(x) = 0
    dfl = [g[0] + pf[0] - g[1] - pb[0], g[1] + pf[1] - g[2] - pb[1]]
    np.testing.assert_allclose(db_fl, (dfl[0] ** 2 + dfl[1] ** 2) / 2, atol=F64)
    lf = [out[0], out[1], lr]
    c = [0.0, pf[0] - pb[0], pf[0] - pb[0] + pf[1] - pb[1]]
    pairs = [(0, 1), (1, 2), (0, 2)]
    num = sum(lam ** (j - i) * (lf[i] - lf[j] + c[j] - c[i]) ** 2 for i, j in pairs)
    den = sum(lam ** (j - i) for i, j in pairs)
    np.testing.assert_allclose(sub, num / den, atol=F64)
    np.testing.assert_allclose(tb, (log_z + sum(pf) - lr - sum(pb)) ** 2, atol=F64)
    # an incomplete trajectory gives TB nothing, DB its first transition
    assert tb_inc == 0.0
    np.testing.assert_allclose(db_inc, d[0] ** 2, atol=F64)
    np.testing.assert_allclose(g_fl, db_fl, atol=F64)


def test_elementary_symmetric_against_enumeration():
  with jax.enable_x64(True):
    rng = np.random.default_rng(2)
    e = rng.uniform(-3, 3, size=12)
    r = np.exp(-e)
    combos = list(itertools.combinations(range(12), 6))
    brute = sum(np.prod(r[list(c)]) for c in combos)
    np.testing.assert_allclose(float(F.elementary_symmetric(jnp.asarray(r), 6)), brute, rtol=1e-12)
    np.testing.assert_allclose(float(F.elementary_symmetric(jnp.asarray(r), 0)), 1.0, rtol=1e-12)
    env = F.set_env(e, 6)
    enum = env.enumerate()
    assert enum.terminal.sum() == math.comb(12, 6) == 924
    assert enum.states.shape[0] == sum(math.comb(12, j) for j in range(7))
    p = F.set_target_probs(jnp.asarray(e), enum.states[enum.terminal])
    brute_p = np.array([np.prod(r[np.flatnonzero(s)]) for s in enum.states[enum.terminal]]) / brute
    np.testing.assert_allclose(np.asarray(p), brute_p, rtol=1e-10)
    np.testing.assert_allclose(np.asarray(F.target_distribution(enum, jnp.float64)), brute_p, rtol=1e-10)


@pytest.fixture(scope="module")
def random_policy():
  env = F.set_env(np.array([0.7, -1.2, 0.3, 2.0, -0.4], np.float32), 3)
  enum = env.enumerate()
  policy = F.GFNPolicy(num_actions=5, hidden=16, depth=2)
  params = F.init_params(policy, env, jax.random.PRNGKey(5))
  # sharpen the random policy so the test has power
  params = jax.tree.map(lambda x: 3.0 * x, params)
  return env, enum, policy, params


def test_masked_actions_get_probability_zero(random_policy):
  env, enum, policy, params = random_policy
  lpf, lpb, _ = policy.apply({"params": params["net"]}, jnp.asarray(enum.obs), jnp.asarray(enum.forward_mask),
                             jnp.asarray(enum.backward_mask))
  pf, pb = np.exp(np.asarray(lpf)), np.exp(np.asarray(lpb))
  live = ~enum.terminal
  assert np.all(pf[~enum.forward_mask & live[:, None]] == 0.0)
  assert np.all(pb[~enum.backward_mask & (enum.backward_mask.any(1))[:, None]] == 0.0)
  np.testing.assert_allclose(pf[live].sum(1), 1.0, atol=1e-6)
  np.testing.assert_allclose(pb[1:].sum(1), 1.0, atol=1e-6)
  upb = np.exp(np.asarray(F.uniform_log_pb(enum)))
  nb = enum.backward_mask.sum(1)
  np.testing.assert_allclose((upb * enum.backward_mask)[1:].sum(1), 1.0, atol=1e-6)
  np.testing.assert_allclose(upb[enum.backward_mask], np.repeat(1.0 / np.maximum(nb, 1), nb), rtol=1e-6)
  g = jax.grad(lambda x: jnp.sum(F.masked_log_softmax(x, jnp.asarray(enum.forward_mask[:3]))[:, 0]))(
      jnp.zeros((3, 5)))
  assert np.all(np.isfinite(np.asarray(g)))


def test_dp_terminal_law_matches_sampler(random_policy):
  env, enum, policy, params = random_policy
  fn = lambda *a: policy.apply({"params": params["net"]}, *a)   # noqa: E731
  n = 4000
  sample = jax.jit(lambda k, eps: F.sample_trajectories(env, fn, jax.random.split(k, n), eps))
  traj = sample(jax.random.PRNGKey(9), 0.0)
  assert bool(jnp.all(traj.valid))
  final = np.asarray(traj.states[:, -1])
  term = enum.states[enum.terminal]
  idx = {tuple(r): i for i, r in enumerate(term)}
  counts = np.bincount([idx[tuple(r)] for r in final], minlength=len(term))
  lpf = policy.apply({"params": params["net"]}, jnp.asarray(enum.obs), jnp.asarray(enum.forward_mask),
                     jnp.asarray(enum.backward_mask))[0]
  p = np.asarray(F.terminal_distribution(lpf, enum), np.float64)
  np.testing.assert_allclose(p.sum(), 1.0, atol=1e-5)
  chi2 = np.sum((counts - n * p) ** 2 / (n * p))
  dof = len(term) - 1
  assert chi2 < dof + 6 * math.sqrt(2 * dof), chi2      # ≈ p < 1e-4 for dof = 9
  # the DP agrees with the L1 helper used in training
  l1 = F.exact_l1(policy, params, env, enum)
  np.testing.assert_allclose(float(l1), np.abs(p - np.asarray(F.target_distribution(enum))).sum(), atol=1e-5)
  # exploration ε = 1 samples uniformly over valid actions: first action uniform over the 5 elements
  traj_u = sample(jax.random.PRNGKey(10), 1.0)
  first = np.bincount(np.asarray(traj_u.actions[:, 0]), minlength=5)
  assert np.sum((first - n / 5) ** 2 / (n / 5)) < 4 + 6 * math.sqrt(8)


def test_prefixes_are_incomplete_and_hypergrid_reward():
  env = F.hypergrid(height=8, ndim=2, r0=1e-3)
  x = np.asarray([[0, 0], [1, 1], [6, 6], [7, 7], [0, 7]])
  senv = F.set_env(np.zeros(6), 4)
  pol = F.GFNPolicy(num_actions=6, hidden=8, depth=1)

  @jax.jit
  def run(key):
    p = F.init_params(pol, senv, key)
    keys = jax.random.split(jax.random.fold_in(key, 1), 32)
    traj = F.sample_trajectories(senv, lambda *a: pol.apply({"params": p["net"]}, *a), keys, 0.5)
    return env.log_reward(jnp.asarray(x)), traj.valid, F.truncate_prefixes(traj, keys, 1, 3).valid

  log_r, full, cut = run(jax.random.PRNGKey(0))
  # |x/7 − 1/2|: 0 → 0.5 (band 1 only), 1 → 0.357 (both bands), 6 → 0.357, 7 → 0.5
  np.testing.assert_allclose(np.exp(np.asarray(log_r)), [1e-3 + 0.5, 1e-3 + 2.5, 1e-3 + 2.5, 1e-3 + 0.5, 1e-3 + 0.5],
                             rtol=1e-6)
  lens = np.asarray(cut.sum(1))
  assert lens.min() >= 1 and lens.max() <= 3 and np.all(np.asarray(full.sum(1)) == 4)
  assert np.all(np.asarray(cut) <= np.asarray(full))
