"""RADD (paper 29): oracle tests on a tiny joint distribution that can be enumerated.

Oracles: a Markov chain p₀ over L = 4 tokens from V = 3 symbols (81 sequences) gives, by brute force,
the noisy marginals p_t (all 4^4 noisy states), the exact conditionals p₀(xⁱ | x^UM) and −log p₀(x₀).
Checked: the concrete-score identity (Thm. 1) against the enumerated ratios p_t(x̂)/p_t(x_t); the
any-order NLL with exact conditionals equals −log p₀ for every order; the k-DCE expectation (all k and
mask sets enumerated) equals −log p₀ with exact conditionals and equals the average over all L! orders
for an arbitrary (inconsistent) network; Monte Carlo t-DCE / t-DSE / λ-DCE / k-DCE agree with those
values within their standard errors; each order's AR model is a normalised distribution (invariant);
masking frequencies match λ(t); cached and uncached samplers draw identical samples, with measured NFE
matching the exact E-NFE formula within Monte Carlo error; the ordered sampler with exact conditionals
draws from p₀ (frequencies within their binomial standard errors).
"""
import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from models import radd
from models.radd import (GeometricNoise, LogLinearNoise, RADDTransformer, ao_arm_nll, concrete_score,
                         expected_nfe, expected_nfe_uniform, k_dce_loss, lambda_dce_loss, mask_tokens, sample,
                         sample_ordered, t_dce_loss, t_dse_loss, unmask_probs)

L, V = 4, 3
M = V  # mask id


def markov_joint(seed=0):
  """float64 p₀ over all V^L sequences of a random first-order Markov chain; returns (seqs [S, L], p [S])."""
  rng = np.random.default_rng(seed)
  init = rng.dirichlet(np.ones(V))
  trans = rng.dirichlet(np.ones(V), size=V)
  seqs = np.array(list(itertools.product(range(V), repeat=L)), np.int32)
  p = init[seqs[:, 0]] * np.prod(trans[seqs[:, :-1], seqs[:, 1:]], axis=1)
  return seqs, p


SEQS, P0 = markov_joint()


def exact_log_cond(xt):
  """log p₀(xⁱ = v | x_t^UM) by enumeration: xt int [B, L] -> [B, L, V] (dtype of P0 under x64)."""
  seqs, p = jnp.asarray(SEQS), jnp.asarray(P0)
  compat = jnp.all((xt[:, None, :] == M) | (xt[:, None, :] == seqs[None]), axis=-1)   # [B, S]
  w = compat * p[None]
  onehot = jax.nn.one_hot(seqs, V, dtype=p.dtype)                                     # [S, L, V]
  cond = jnp.einsum("bs,slv->blv", w, onehot) / jnp.sum(w, axis=-1)[:, None, None]
  return jnp.log(cond)


def nll0(x0):
  idx = np.ravel_multi_index(np.asarray(x0).T, (V,) * L)
  return -np.log(P0[idx])


def random_net(seed=0):
  m = RADDTransformer(vocab_size=V, d_model=16, num_layers=1, num_heads=2, mlp_hidden=16)
  params = m.init(jax.random.PRNGKey(seed), jnp.zeros((1, L), jnp.int32))
  # sharpen the random initialisation so the conditionals are far from uniform (and inconsistent)
  params = jax.tree.map(lambda a: a * 4.0, params)
  return lambda xt: m.apply(params, xt)


# ---------------------------------------------------------------------------------------------------
# Forward process and the concrete score.


@pytest.mark.parametrize("noise", [LogLinearNoise(), GeometricNoise()], ids=["loglinear", "geometric"])
def test_concrete_score_identity_matches_enumerated_ratios(noise):
  with jax.enable_x64(True):
    states = np.array(list(itertools.product(range(V + 1), repeat=L)))           # all noisy states [256, L]
    for t in (0.05, 0.5, 0.95):
      sb = float(noise.total(jnp.float64(t)))
      lam = -math.expm1(-sb)
      # p_t(x_t) = Σ_x0 p0(x0) Π_i q(x_tⁱ | x0ⁱ), q(M|·) = λ, q(x0ⁱ|x0ⁱ) = 1 − λ
      fac = np.where(states[:, None, :] == M, lam, (1 - lam) * (states[:, None, :] == SEQS[None]))
      pt = (np.prod(fac, axis=-1) * P0[None]).sum(-1)
      pt_of = dict(zip(map(tuple, states), pt))
      xt = jnp.asarray(states[(states == M).any(-1)])
      score = np.asarray(concrete_score(exact_log_cond(xt), xt, sb, M))
      checked = 0
      for b, row in enumerate(np.asarray(xt)):
        for i in np.flatnonzero(row == M):
          for v in range(V):
            hat = row.copy()
            hat[i] = v
            np.testing.assert_allclose(score[b, i, v], pt_of[tuple(hat)] / pt_of[tuple(row)], rtol=1e-9)
            checked += 1
        assert np.all(score[b, row != M] == 0)
      assert checked == V * np.sum(np.asarray(xt) == M)


def test_forward_masking_frequency_matches_lambda():
  noise = LogLinearNoise()
  x0 = jnp.zeros((4000, 64), jnp.int32)
  t = jnp.array([0.1, 0.5, 0.9, 0.99])
  for j, tj in enumerate(t):
    xt = mask_tokens(jax.random.PRNGKey(j), x0, noise.mask_prob(tj), M)
    freq = float(jnp.mean(xt == M))
    lam = float(noise.mask_prob(tj))
    se = math.sqrt(lam * (1 - lam) / x0.size)
    assert abs(freq - lam) < 4 * se                      # binomial standard error, 4 SE
  np.testing.assert_allclose(float(noise.mask_prob(0.3)), -math.expm1(-float(noise.total(0.3))), rtol=1e-6)


# ---------------------------------------------------------------------------------------------------
# Losses.


def test_ao_arm_with_exact_conditionals_is_exact_nll_for_every_order():
  with jax.enable_x64(True):
    x0 = jnp.asarray(SEQS)
    rng = np.random.default_rng(1)
    for _ in range(4):
      order = jnp.asarray(np.stack([rng.permutation(L) for _ in range(len(SEQS))]))
      np.testing.assert_allclose(np.asarray(ao_arm_nll(exact_log_cond, x0, order, M)), nll0(SEQS), rtol=1e-11)


def _per_k(log_cond_fn, x0):
  """[L, B]: for k = 1..L, the mean over the C(L, k) mask sets S of size k of Σ_{i∈S} −log c(x0 with S masked)."""
  x0 = np.asarray(x0)
  out = np.zeros((L, len(x0)))
  for k in range(1, L + 1):
    subsets = list(itertools.combinations(range(L), k))
    for s in subsets:
      xt = x0.copy()
      xt[:, list(s)] = M
      lc = np.asarray(log_cond_fn(jnp.asarray(xt)), np.float64)
      out[k - 1] -= sum(lc[np.arange(len(x0)), i, x0[:, i]] for i in s) / len(subsets)
  return out


def _enumerated(per_k, lam_lo=0.0, lam_hi=1.0):
  """Exact expectation of the λ-space loss ∫_{lam_lo}^{lam_hi} (1/λ) E[Σ_{i∈M} −log c] dλ from :func:`_per_k`.

  Given |M| = k the mask set is uniform over the C(L, k) subsets and
  ∫ (1/λ) C(L,k) λ^k (1−λ)^{L−k} dλ = C(L,k) B(k, L−k+1) [I_{hi} − I_{lo}] (regularised incomplete beta),
  which is 1/k on (0, 1): then this is also E[k-DCE] = Σ_k (1/L)(L/k) E_{|M|=k}[Σ −log c].
  """
  from scipy import special
  k = np.arange(1, L + 1)
  w = np.array([math.comb(L, int(j)) for j in k]) * special.beta(k, L - k + 1) * (
      special.betainc(k, L - k + 1, lam_hi) - special.betainc(k, L - k + 1, lam_lo))
  return w @ per_k


def test_k_dce_expectation_equals_nll_with_exact_conditionals():
  with jax.enable_x64(True):
    np.testing.assert_allclose(_enumerated(_per_k(exact_log_cond, SEQS)), nll0(SEQS), rtol=1e-11)


def test_k_dce_expectation_equals_order_average_for_any_network():
  f = random_net()
  nll = jax.jit(lambda x, o: ao_arm_nll(f, x, o, M))
  orders = np.array(list(itertools.permutations(range(L))), np.int32)              # [L!, L]
  n_ord, n_seq = len(orders), len(SEQS)
  # every sequence under every order, in one call: row (π, x0)
  per_order = np.asarray(nll(jnp.asarray(np.tile(SEQS, (n_ord, 1))), jnp.asarray(np.repeat(orders, n_seq, 0))),
                         np.float64).reshape(n_ord, n_seq)
  # float32 network: sums of ~10 terms of O(1) agree to ~1e-6 relative
  np.testing.assert_allclose(_enumerated(_per_k(jax.jit(f), SEQS)), per_order.mean(0), rtol=2e-5)
  # each order's autoregressive model is a normalised distribution over the V^L sequences
  np.testing.assert_allclose(np.exp(-per_order).sum(1), 1.0, rtol=1e-5)
  # hence the losses bound the NLL of the order-mixture model p_mix = mean_π p^π (Jensen)
  p_mix = np.exp(-per_order).mean(0)
  assert np.all(per_order.mean(0) >= -np.log(p_mix) - 1e-5)
  # and the conditionals are genuinely inconsistent (orders disagree), so the check is not vacuous
  assert np.max(per_order.std(0)) > 0.1


def _mc(loss_fn, reps, x0):
  keys = jax.random.split(jax.random.PRNGKey(123), reps)
  return np.asarray(jax.jit(jax.vmap(lambda k: loss_fn(k, x0)))(keys), np.float64)    # [reps, B]


@pytest.mark.parametrize("name", ["t_dce", "t_dse", "lambda_dce", "k_dce"])
def test_mc_losses_are_unbiased_with_exact_conditionals(name):
  """λ-DCE and k-DCE estimate −log p₀ exactly; t-DCE / t-DSE on t ∈ [t_min, 1] with ε > 0 estimate the
  λ-integral over [(1−ε) t_min, 1 − ε], whose exact value is enumerated."""
  with jax.enable_x64(True):
    noise = LogLinearNoise()                                          # official ε = 1e-3, t_min = 1e-3
    fns = {
        "t_dce": lambda k, x: t_dce_loss(exact_log_cond, k, x, noise, M, dtype=jnp.float64),
        "t_dse": lambda k, x: t_dse_loss(exact_log_cond, k, x, noise, M, dtype=jnp.float64),
        "lambda_dce": lambda k, x: lambda_dce_loss(exact_log_cond, k, x, M, dtype=jnp.float64),
        "k_dce": lambda k, x: k_dce_loss(exact_log_cond, k, x, M, dtype=jnp.float64),
    }
    x0 = jnp.asarray(SEQS)
    if name.startswith("t_"):
      target = _enumerated(_per_k(exact_log_cond, SEQS), (1 - noise.eps) * 1e-3, 1 - noise.eps)
      assert np.all(target <= nll0(SEQS))                             # a truncated integrand of a positive loss
    else:
      target = nll0(SEQS)
    est = _mc(fns[name], 200, x0)                                     # [200, 81]
    diff = (est - target[None]).mean(-1)                              # per replication: mean over sequences
    # stratification couples the sequences within a replication, so the SE comes from the replications
    se = diff.std(ddof=1) / math.sqrt(len(diff))
    assert abs(diff.mean()) < 4 * se, (diff.mean(), se)
    assert np.all(est >= 0)


def test_t_dse_equals_t_dce_for_normalised_conditionals_and_mc_matches_any_network():
  f = random_net(3)
  noise = LogLinearNoise()
  x0 = jnp.asarray(SEQS)
  k = jax.random.PRNGKey(5)
  pair = jax.jit(lambda k: (t_dse_loss(f, k, x0, noise, M), t_dce_loss(f, k, x0, noise, M)))(k)
  np.testing.assert_allclose(np.asarray(pair[0]), np.asarray(pair[1]), rtol=1e-4, atol=1e-4)   # float32: K(a) and a log a cancel to ~1e-6 relative of a
  per_k = _per_k(jax.jit(f), SEQS)
  for fn, lo, hi in ((lambda k, x: lambda_dce_loss(f, k, x, M), 0.0, 1.0),
                     (lambda k, x: t_dce_loss(f, k, x, noise, M), (1 - noise.eps) * 1e-3, 1 - noise.eps)):
    target = np.mean(_enumerated(per_k, lo, hi))
    est = _mc(fn, 100, x0).mean(-1)
    se = est.std(ddof=1) / math.sqrt(len(est))
    assert abs(est.mean() - target) < 4 * se, (est.mean(), target, se)


# ---------------------------------------------------------------------------------------------------
# Samplers.


def test_cached_and_uncached_samplers_draw_identical_samples():
  f = random_net(1)
  noise = GeometricNoise()  # for log-linear noise Euler's probability (t − s)σ a equals Tweedie's (t − s)/t
  combos = [(m, c) for m in radd.METHODS for c in radd.CACHE_POLICIES]
  runs = jax.jit(lambda k: [sample(f, k, 16, L, V, noise, num_steps=12, method=m, cache=c) for m, c in combos])(
      jax.random.PRNGKey(7))
  run = dict(zip(combos, runs))
  for m in radd.METHODS:
    for c in ("previous", "lazy"):
      np.testing.assert_array_equal(np.asarray(run[m, c].tokens), np.asarray(run[m, "none"].tokens))
    assert np.all(np.asarray(run[m, "none"].tokens) < V)
    assert np.all(np.asarray(run[m, "none"].nfe) == 12) and int(run[m, "none"].calls) == 12
    lazy, prev = np.asarray(run[m, "lazy"].nfe), np.asarray(run[m, "previous"].nfe)
    assert np.all(lazy <= min(12, L)) and np.all(lazy >= 1) and np.all(prev >= lazy) and np.all(prev <= lazy + 1)
  # the two methods differ (Euler's unmasking probabilities are not Tweedie's), so the check is not vacuous
  assert not np.array_equal(np.asarray(run["tweedie", "none"].tokens), np.asarray(run["euler", "none"].tokens))


def test_mean_nfe_matches_exact_formula_within_mc_error():
  uniform = lambda xt: jnp.zeros((*xt.shape, V), jnp.float32) - math.log(V)   # NFE does not depend on c
  noise = LogLinearNoise()
  for n, length, cache, b in ((16, 8, "lazy", 2000), (16, 8, "previous", 2000), (40, 1, "lazy", 50)):
    r = jax.jit(lambda k: sample(uniform, k, b, length, V, noise, num_steps=n, cache=cache))(
        jax.random.PRNGKey(n + length))
    nfe = np.asarray(r.nfe, np.float64)
    want = expected_nfe(unmask_probs(noise, n), length, cache)
    se = nfe.std(ddof=1) / math.sqrt(len(nfe))
    assert abs(nfe.mean() - want) <= 4 * se + 1e-9, (n, length, cache, nfe.mean(), want, se)
    if length == 1 and cache == "lazy":
      assert np.all(nfe == 1)                       # one token: exactly one step changes the sequence
  # closed forms: one step is one call; one token is one call (lazy) for any n
  assert expected_nfe(unmask_probs(noise, 1), 7) == 1.0 and expected_nfe(unmask_probs(noise, 40), 1) == 1.0
  # the exact lazy formula tends to the paper's n(1 − (1 − 1/n)^L) as t_end -> 0 (here t_end = 1e-5)
  for n, length in ((256, 64), (1024, 1024)):
    np.testing.assert_allclose(expected_nfe(unmask_probs(noise, n), length), expected_nfe_uniform(n, length),
                               rtol=1e-3)
  # the paper's numbers: L = 1024, n = 1024 -> about 647; n = 2048 -> about 806
  assert round(expected_nfe_uniform(1024, 1024)) == 647 and round(expected_nfe_uniform(2048, 1024)) == 806


def test_ordered_sampler_with_exact_conditionals_samples_p0():
  with jax.enable_x64(True):
    n = 20000
    x = np.asarray(jax.jit(lambda k: sample_ordered(exact_log_cond, k, n, L, V))(jax.random.PRNGKey(0)))
    freq = np.bincount(np.ravel_multi_index(x.T, (V,) * L), minlength=len(P0)) / n
    se = np.sqrt(P0 * (1 - P0) / n)
    assert np.all(np.abs(freq - P0) < 4.5 * se + 1e-12)   # 81 cells at ~4.5 binomial SE each


# ---------------------------------------------------------------------------------------------------
# Network and input validation.


def test_network_outputs_normalised_bidirectional_conditionals_without_mask_column():
  f = random_net(2)
  x = jnp.array([[0, M, 2, 1], [0, M, 2, 2]], jnp.int32)
  out = f(x)
  assert out.shape == (2, L, V)                                 # no column for the mask token
  np.testing.assert_allclose(np.asarray(jnp.exp(out).sum(-1)), 1.0, rtol=1e-5)
  # bidirectional: the conditional at position 1 depends on the token at the LAST position
  assert float(jnp.abs(out[0, 1] - out[1, 1]).max()) > 1e-4


def test_inputs_are_validated_naming_the_argument():
  f = random_net()
  x0 = jnp.zeros((2, L), jnp.int32)
  with pytest.raises(TypeError, match="x0"):
    lambda_dce_loss(f, jax.random.PRNGKey(0), x0.astype(jnp.float32), M)
  with pytest.raises(ValueError, match="mask_prob"):
    mask_tokens(jax.random.PRNGKey(0), x0, jnp.ones(3) * 0.5, M)
  with pytest.raises(ValueError, match="order"):
    ao_arm_nll(f, x0, jnp.zeros((2, L), jnp.int32), M)
  with pytest.raises(ValueError, match="log_cond_fn"):
    lambda_dce_loss(f, jax.random.PRNGKey(0), x0, M + 1)
  with pytest.raises(ValueError, match="cache"):
    sample(f, jax.random.PRNGKey(0), 2, L, V, LogLinearNoise(), num_steps=4, cache="always")
  with pytest.raises(ValueError, match="method"):
    unmask_probs(LogLinearNoise(), 4, "heun")
  with pytest.raises(ValueError, match="num_steps"):
    unmask_probs(LogLinearNoise(), 0)
  with pytest.raises(ValueError, match="eps"):
    LogLinearNoise(eps=1.5)
  with pytest.raises(ValueError, match="t_min"):
    t_dce_loss(f, jax.random.PRNGKey(0), x0, LogLinearNoise(), M, t_min=1.0)
  with pytest.raises(ValueError, match="num_heads"):
    RADDTransformer(vocab_size=V, d_model=12, num_heads=5).init(jax.random.PRNGKey(0), x0)
  with pytest.raises(TypeError, match="noise"):
    t_dce_loss(f, jax.random.PRNGKey(0), x0, "loglinear", M)


# ---------------------------------------------------------------------------------------------------
# models.radd.experiment: the claims' sweeps, on the uniform model log c = −log V (no learning).


def test_nfe_sweep_matches_the_expected_nfe_formula_and_cache_is_exact():
  """Which steps unmask a token does not depend on the model, so the cached sampler's mean NFE must match
  n(1 − (1 − 1/n)^L) (a closed form) within 4 s.e. + the grid's 0.5 % idealisation; the uncached sampler gives
  the same tokens."""
  v = 5
  uniform = lambda xt: jnp.full(xt.shape + (v,), -math.log(v))
  cells, identical = radd.nfe_sweep(uniform, v, LogLinearNoise(), lengths=(6,), steps=(4, 16), batch=64, seed=1)
  assert identical and [(c["L"], c["n"]) for c in cells] == [(6, 4), (6, 16)]
  for c in cells:
    formula = c["n"] * (1 - (1 - 1 / c["n"]) ** c["L"])
    assert c["formula"] == pytest.approx(formula, rel=1e-12)
    assert abs(c["mean"] - formula) <= 4 * c["se"] + 0.005 * formula, c
    assert c["mean"] <= min(c["n"], c["L"]) and c["batch_calls"] <= c["n"]


def test_loss_estimates_equal_L_log_V_in_expectation_for_the_uniform_model():
  """With log c = −log V every bound has expectation L log V per window and the exact AO-ARM NLL equals it
  along any order; Monte Carlo means within 4 s.e. (over windows) of it."""
  v, length = 5, 6
  uniform = lambda xt: jnp.full(xt.shape + (v,), -math.log(v))
  w = np.asarray(jax.random.randint(jax.random.PRNGKey(0), (32, length), 0, v), np.int32)
  est = radd.loss_estimates(uniform, w, jax.random.PRNGKey(1), jax.random.PRNGKey(2), draws=4, vocab_size=v,
                            noise_eps=1e-3, t_min=1e-3)
  target = length * math.log(v)
  assert set(est) == set(radd.LOSSES) | {"ao_arm (exact, random order)"}
  np.testing.assert_allclose(est["ao_arm (exact, random order)"], target, rtol=1e-6)
  for name in radd.LOSSES:
    e = est[name]
    assert e.shape == (32,)
    se = e.std(ddof=1) / math.sqrt(len(e))
    # t-DCE/t-DSE integrate t over [t_min, 1] and drop the mass below t_min: allow 1 % of the bound
    assert abs(e.mean() - target) <= 4 * se + 0.01 * target, (name, e.mean(), se, target)
