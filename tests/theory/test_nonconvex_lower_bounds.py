"""Oracle tests for theory/nonconvex_lower_bounds (paper 28: zero-chain hard instances).

Oracles: an independent numpy/scipy float64 implementation of f̄_T and of its hand-derived gradient,
central finite differences, closed forms (Φ via scipy, ∇f̄_T(0), the value limit at M·1), the structural
properties of Carmon et al. (2020) Lemma 3 checked on sampled points, and scipy's negative binomial for the
stochastic chain's hitting times.
"""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special, stats

from theory import nonconvex_lower_bounds as nc

SQRT_E = math.sqrt(math.e)


# ---------------------------------------------------------------------------------------------------
# Independent reference (numpy / scipy, float64), written from the formulas.

def ref_psi(x):
  x = np.asarray(x, np.float64)
  out = np.zeros_like(x)
  m = x > 0.5
  out[m] = np.exp(1.0 - 1.0 / (2.0 * x[m] - 1.0) ** 2)
  return out


def ref_dpsi(x):  # Ψ'(x) = Ψ(x) · 4/(2x − 1)³
  x = np.asarray(x, np.float64)
  out = np.zeros_like(x)
  m = x > 0.5
  out[m] = ref_psi(x[m]) * 4.0 / (2.0 * x[m] - 1.0) ** 3
  return out


def ref_phi(x):
  return SQRT_E * math.sqrt(math.pi / 2.0) * special.erfc(-np.asarray(x, np.float64) / math.sqrt(2.0))


def ref_dphi(x):
  return SQRT_E * np.exp(-np.asarray(x, np.float64) ** 2 / 2.0)


def ref_value(x):
  x = np.asarray(x, np.float64)
  return -ref_phi(x[0]) + np.sum(ref_psi(-x[:-1]) * ref_phi(-x[1:]) - ref_psi(x[:-1]) * ref_phi(x[1:]))


def ref_gradient(x):
  """∂_j f̄ = −Ψ(−x_{j−1})Φ'(−x_j) − Ψ(x_{j−1})Φ'(x_j) − Ψ'(−x_j)Φ(−x_{j+1}) − Ψ'(x_j)Φ(x_{j+1}), x_0 := 1."""
  x = np.asarray(x, np.float64)
  T = len(x)
  g = np.zeros(T)
  for j in range(T):
    prev = 1.0 if j == 0 else x[j - 1]
    if j == 0:
      g[j] -= ref_dphi(x[0])  # −Ψ(1)Φ'(x_1); the Ψ(−1) term is absent at the head of the chain
    else:
      g[j] -= ref_psi(-prev) * ref_dphi(-x[j]) + ref_psi(prev) * ref_dphi(x[j])
    if j + 1 < T:
      g[j] -= ref_dpsi(-x[j]) * ref_phi(-x[j + 1]) + ref_dpsi(x[j]) * ref_phi(x[j + 1])
  return g


def _sample_points(rng, n, T):
  """Points that probe every regime: near 0, around the ±1/2 switch, around ±1, and large."""
  kind = rng.integers(0, 4, size=(n, T))
  base = np.choose(kind, [rng.normal(0, 0.3, (n, T)), rng.uniform(-1.0, 1.0, (n, T)),
                          rng.choice([-1, 1], (n, T)) * rng.uniform(0.5, 1.5, (n, T)), rng.normal(0, 3.0, (n, T))])
  return base


# ---------------------------------------------------------------------------------------------------
# The function.

def test_psi_phi_closed_forms():
  x = np.linspace(-4, 4, 801)
  with jax.enable_x64(True):
    psi = np.asarray(nc.psi(jnp.asarray(x)))
    phi = np.asarray(nc.phi(jnp.asarray(x)))
    one = float(nc.psi(jnp.float64(1.0)))
  # float64 elementwise: relative 1e-13 is ~500 ulp, room for exp / erfc rounding
  np.testing.assert_allclose(psi, ref_psi(x), rtol=1e-13, atol=0)
  np.testing.assert_allclose(phi, ref_phi(x), rtol=1e-13, atol=0)
  assert one == 1.0
  # Φ(∞) = √(2πe) (Gaussian integral), Φ(0) = half of it
  np.testing.assert_allclose(float(ref_phi(0.0)), math.sqrt(2 * math.pi * math.e) / 2, rtol=1e-15)


def test_value_and_gradient_match_reference():
  rng = np.random.default_rng(0)
  T = 7
  xs = _sample_points(rng, 200, T)
  with jax.enable_x64(True):
    v = np.asarray(nc.hard_value(jnp.asarray(xs)))
    g = np.asarray(nc.hard_gradient(jnp.asarray(xs)))
  ref_v = np.array([ref_value(x) for x in xs])
  ref_g = np.array([ref_gradient(x) for x in xs])
  # float64, sums of 2T terms of size <= e·√(2πe) ≈ 11: absolute 1e-11 is far above rounding (~1e-14)
  np.testing.assert_allclose(v, ref_v, rtol=0, atol=1e-11)
  np.testing.assert_allclose(g, ref_g, rtol=0, atol=1e-11)


def test_gradient_at_zero_closed_form():
  with jax.enable_x64(True):
    g = np.asarray(nc.hard_gradient(jnp.zeros(6, jnp.float64)))
    v = float(nc.hard_value(jnp.zeros(6, jnp.float64)))
  np.testing.assert_allclose(g, [-SQRT_E, 0, 0, 0, 0, 0], rtol=1e-15, atol=0)
  np.testing.assert_allclose(v, -math.sqrt(math.pi * math.e / 2), rtol=1e-15)


def test_autodiff_matches_finite_differences():
  rng = np.random.default_rng(1)
  T, h = 6, 1e-5
  xs = _sample_points(rng, 40, T)
  ok = 0
  for x in xs:
    if np.min(np.abs(np.abs(x) - 0.5)) < 5 * h:  # skip points whose stencil straddles the switch
      continue
    fd = np.array([(ref_value(x + h * e) - ref_value(x - h * e)) / (2 * h) for e in np.eye(T)])
    with jax.enable_x64(True):
      g = np.asarray(nc.hard_gradient(jnp.asarray(x)))
    # central differences: truncation h² f'''/6 ≲ 1e-10 · 10³ (|f'''| can reach ~10³ near the switch)
    # plus rounding 1e-16 · 10 / h = 1e-10
    np.testing.assert_allclose(g, fd, rtol=0, atol=2e-6)
    ok += 1
  assert ok >= 30


def test_autodiff_is_finite_at_the_singular_points():
  x = np.array([0.5, -0.5, 0.5 + 1e-16, -0.5 - 1e-16, 0.5 + 1e-3, 0.0, 0.51])
  with jax.enable_x64(True):
    x = jnp.asarray(x, jnp.float64)
    g = np.asarray(nc.hard_gradient(x))
    h = np.asarray(jax.jit(jax.hessian(nc.hard_value))(x))
  assert np.all(np.isfinite(g)) and np.all(np.isfinite(h))
  np.testing.assert_allclose(g, ref_gradient(np.asarray(x)), rtol=0, atol=1e-12)
  # float32 too (the safe denominator keeps 1/z³, 1/z⁶ finite)
  g32 = np.asarray(nc.hard_gradient(jnp.array([0.5, -0.5, 0.5000001, 0.0], jnp.float32)))
  assert g32.dtype == np.float32 and np.all(np.isfinite(g32))


def test_zero_chain_property():
  rng = np.random.default_rng(2)
  T = 10
  for i in range(T):
    x = np.zeros((50, T))
    x[:, :i] = _sample_points(rng, 50, i) if i else 0.0
    with jax.enable_x64(True):
      g = np.asarray(nc.hard_gradient(jnp.asarray(x)))
    assert np.all(g[:, i + 1:] == 0.0), i  # support of ∇f̄ within the first i + 1 coordinates
  # robust form: ∂_j f̄(x) = 0 exactly whenever |x_{j−1}| ≤ 1/2 and |x_j| ≤ 1/2
  xs = rng.uniform(-0.9, 0.9, (500, T))
  with jax.enable_x64(True):
    g = np.asarray(nc.hard_gradient(jnp.asarray(xs)))
  quiet = (np.abs(xs[:, :-1]) <= 0.5) & (np.abs(xs[:, 1:]) <= 0.5)
  assert quiet.sum() > 500 and np.all(g[:, 1:][quiet] == 0.0)


def test_large_gradient_while_last_coordinate_small():
  rng = np.random.default_rng(3)
  T = 8
  xs = _sample_points(rng, 20000, T)
  xs[:, -1] = rng.uniform(-0.999, 0.999, len(xs))
  # adversarial-ish family: everything far along the chain except the last link
  xs[:2000, :-1] = rng.uniform(0.5, 6.0, (2000, T - 1))
  with jax.enable_x64(True):
    gn = np.linalg.norm(np.asarray(nc.hard_gradient(jnp.asarray(xs))), axis=-1)
  assert gn.min() > 1.0, gn.min()


def test_value_gap_bound_and_infimum_limit():
  rng = np.random.default_rng(4)
  for T in (1, 5, 20):
    xs = np.concatenate([_sample_points(rng, 4000, T) * 3, rng.uniform(0, 50, (1000, T))])
    with jax.enable_x64(True):
      v0 = float(nc.hard_value(jnp.zeros(T, jnp.float64)))
      v = np.asarray(nc.hard_value(jnp.asarray(xs)))
      far = float(nc.hard_value(jnp.full(T, 40.0, jnp.float64)))
    assert np.all(v0 - v <= 12 * T)
    # analytic floor: f̄ ≥ −Φ(∞) − (T − 1)·e·Φ(∞), since Ψ ≤ e and 0 ≤ Φ ≤ Φ(∞) = √(2πe)
    big = math.sqrt(2 * math.pi * math.e)
    floor = -big - (T - 1) * math.e * big
    assert np.all(v >= floor - 1e-9)
    # at M·1 the value tends to that floor: closed form with Ψ(M) = exp(1 − 1/(2M−1)²), Φ(M) ≈ Φ(∞)
    closed = -ref_phi(40.0) - (T - 1) * ref_psi(np.array([40.0]))[0] * ref_phi(40.0)
    np.testing.assert_allclose(far, closed, rtol=1e-13)
    assert v0 - floor <= 12 * T


def test_sampled_hessian_and_gradient_within_constants():
  rng = np.random.default_rng(5)
  T = 6
  xs = np.concatenate([_sample_points(rng, 1500, T),
                       rng.choice([-1, 1], (1500, T)) * rng.uniform(0.5, 1.2, (1500, T))])
  with jax.enable_x64(True):
    hs = np.asarray(jax.jit(jax.vmap(jax.hessian(nc.hard_value)))(jnp.asarray(xs)))
    g = np.asarray(nc.hard_gradient(jnp.asarray(xs)))
  norms = np.abs(np.linalg.eigvalsh(hs)).max(axis=-1)
  assert norms.max() <= nc.LIPSCHITZ_GRAD, norms.max()
  assert norms.max() > 20  # the samples reach the steep part of Ψ (not a vacuous check)
  assert np.abs(g).max() <= nc.GRAD_INF_BOUND


# ---------------------------------------------------------------------------------------------------
# Scaling and rotation.

def test_scaled_instance_class_properties():
  delta, L, eps = 2.0, 3.0, 0.01
  ch = nc.scale_chain(delta, L, eps)
  assert ch.T == math.floor(delta * L / (48 * 152 * eps ** 2))
  rng = np.random.default_rng(6)
  ys = _sample_points(rng, 2000, ch.T)
  with jax.enable_x64(True):
    xs = jnp.asarray(ys * ch.lam)
    f = lambda x: nc.scaled_value(x, ch)
    f0 = float(f(jnp.zeros(ch.T, jnp.float64)))
    v = np.asarray(f(xs))
    g = np.asarray(jax.jit(jax.vmap(jax.grad(f)))(xs))
    h = np.asarray(jax.jit(jax.vmap(jax.hessian(f)))(xs[:300]))
  assert np.all(f0 - v <= delta)
  small_last = np.abs(ys[:, -1]) < 1.0
  assert small_last.sum() > 100
  assert np.linalg.norm(g[small_last], axis=-1).min() > 2 * eps
  assert np.abs(np.linalg.eigvalsh(h)).max() <= L
  # ∇f(x) = 2ε ∇f̄(x/λ): the oracle for the scaling, from the reference gradient
  np.testing.assert_allclose(g[:50], 2 * eps * np.array([ref_gradient(y) for y in ys[:50]]), rtol=0, atol=1e-12)


def test_rotation_is_orthonormal_and_hides_the_chain():
  with jax.enable_x64(True):
    u = nc.random_orthonormal(jax.random.PRNGKey(0), 300, 12)
    np.testing.assert_allclose(np.asarray(u.T @ u), np.eye(12), atol=1e-13)  # float64 QR
    y = jnp.asarray(_sample_points(np.random.default_rng(7), 30, 12))
    x = y @ u.T + 0.0
    np.testing.assert_allclose(np.asarray(nc.rotated_value(x, u)), [ref_value(r) for r in np.asarray(y)],
                               rtol=0, atol=1e-11)
    np.testing.assert_array_equal(np.asarray(nc.rotated_progress(x, u)), np.asarray(nc.progress(y)))


# ---------------------------------------------------------------------------------------------------
# Gradient descent.

def test_gd_reveals_at_most_one_coordinate_per_query():
  T = 12
  tr = nc.gradient_descent(nc.unit_chain(T), 900)
  prog, supp = np.asarray(tr.progress), np.asarray(tr.support)
  k = np.arange(len(prog))
  assert np.all(supp <= k) and np.all(np.diff(supp) <= 1) and np.all(np.diff(prog) <= 1)
  assert np.all(prog <= supp)
  assert prog[-1] == T  # the run does get to the end of the chain
  # the large-gradient property along the run: ‖∇f̄‖ > 1 at every query before the last link is reached
  assert np.all(np.asarray(tr.grad_norm)[prog < T] > 1.0)


def test_gd_descent_lemma_and_scaling_invariance():
  T = 5
  def step(x, _):
    v, g = jax.value_and_grad(nc.hard_value)(x)
    x_new = x - g / nc.LIPSCHITZ_GRAD
    return x_new, (v - nc.hard_value(x_new), jnp.sum(g * g) / (2 * nc.LIPSCHITZ_GRAD))

  with jax.enable_x64(True):
    _, (dec, bound) = jax.jit(lambda x: jax.lax.scan(step, x, None, length=400))(jnp.zeros(T, jnp.float64))
  # descent lemma for an ℓ₁-smooth function, step 1/ℓ₁; 1e-12 covers float64 rounding of the values
  assert np.all(np.asarray(dec) >= np.asarray(bound) - 1e-12)
  ch = nc.scale_chain(1.0, 2.0, 0.004)
  a = nc.gradient_descent(ch, 400)
  b = nc.gradient_descent(nc.unit_chain(ch.T), 400)
  # GD with step 1/L on f is GD with step 1/ℓ₁ on f̄ in the coordinates x/λ (exact up to float64 rounding)
  np.testing.assert_array_equal(np.asarray(a.progress), np.asarray(b.progress))
  np.testing.assert_allclose(np.asarray(a.grad_norm), 2 * ch.eps * np.asarray(b.grad_norm), rtol=1e-9)


def test_gd_on_rotated_instance_matches_the_plain_chain():
  T, steps = 8, 500
  with jax.enable_x64(True):
    u = nc.random_orthonormal(jax.random.PRNGKey(1), 400, T)
  a = nc.gradient_descent(nc.unit_chain(T), steps, u=u)
  b = nc.gradient_descent(nc.unit_chain(T), steps)
  np.testing.assert_array_equal(np.asarray(a.progress), np.asarray(b.progress))
  np.testing.assert_allclose(np.asarray(a.grad_norm), np.asarray(b.grad_norm), rtol=1e-9)
  assert np.asarray(a.off_chain).max() < 1e-12  # iterates stay in span(U) (float64 rounding)


# ---------------------------------------------------------------------------------------------------
# Stochastic oracle and hitting times.

def test_bernoulli_oracle_unbiased_with_stated_variance():
  rng = np.random.default_rng(8)
  T, p = 6, 0.2
  xs = _sample_points(rng, 300, T)
  with jax.enable_x64(True):
    x = jnp.asarray(xs)
    g1 = np.asarray(nc.bernoulli_gradient(x, jnp.ones(300, bool), p))
    g0 = np.asarray(nc.bernoulli_gradient(x, jnp.zeros(300, bool), p))
    prog = np.asarray(nc.progress(x, 0.25))
  ref = np.array([ref_gradient(r) for r in xs])
  # exact expectation over the two outcomes of ξ
  np.testing.assert_allclose(p * g1 + (1 - p) * g0, ref, rtol=0, atol=1e-11)
  # variance = ∂_j f̄² (1 − p)/p at j = prog_{1/4} + 1 only
  var = p * (g1 - ref) ** 2 + (1 - p) * (g0 - ref) ** 2
  expect = np.zeros_like(ref)
  rows = np.nonzero(prog < T)[0]
  expect[rows, prog[rows]] = ref[rows, prog[rows]] ** 2 * (1 - p) / p
  np.testing.assert_allclose(var, expect, rtol=1e-9, atol=1e-20)
  # Monte Carlo mean of the sampling oracle within 4 standard errors at one point
  with jax.enable_x64(True):
    x0 = jnp.asarray(np.array([1.0, 1.0, 0.7, 0.0, 0.0, 0.0]))
    keys = jax.random.split(jax.random.PRNGKey(3), 8000)
    gs = np.asarray(jax.jit(jax.vmap(lambda k: nc.stochastic_gradient(k, x0, p)))(keys))
  m, se = gs.mean(0), gs.std(0, ddof=1) / math.sqrt(len(gs))
  # 4 SE of the Monte Carlo mean, plus 1e-11 for float64 rounding on the deterministic coordinates
  assert np.all(np.abs(m - ref_gradient(np.asarray(x0))) <= 4 * se + 1e-11)
  assert se[3] > 1e-5  # the masked coordinate (prog_{1/4} + 1 = 4) is the random one


def test_prober_hitting_times_are_negative_binomial():
  T, p, n = 6, 0.15, 4000
  h = nc.probe_hitting_times(jax.random.PRNGKey(4), T, p, n, 10_000)
  times = np.asarray(h.times)
  assert bool(np.all(h.reached))
  # scipy's nbinom counts failures before the T-th success: queries = failures + T
  dist = stats.nbinom(T, p, loc=T)
  assert abs(float(h.mean) - dist.mean()) <= 4 * dist.std() / math.sqrt(n)  # 4 SE of the mean
  # DKW: sup |F_n − F| ≤ sqrt(log(2/α)/(2n)) with probability 1 − α, α = 1e-4
  grid = np.arange(times.min(), times.max() + 1)
  ecdf = np.searchsorted(np.sort(times), grid, side="right") / n
  assert np.max(np.abs(ecdf - dist.cdf(grid))) <= math.sqrt(math.log(2 / 1e-4) / (2 * n))
  assert times.min() >= T


def test_sgd_needs_at_least_T_over_p_queries_and_is_gd_at_p_one():
  T = 4
  r = nc.sgd(jax.random.PRNGKey(5), nc.unit_chain(T), 0.02, 64, 200_000)
  assert bool(np.all(r.reached))
  # each reveal needs a ξ = 1, so queries ≥ NegBin(T, p) ≥ T: mean ≥ T/p up to 4 SE of the Monte Carlo mean
  assert float(r.mean) >= T / 0.02 - 4 * float(r.se)
  assert np.all(np.asarray(r.queries) >= T)
  one = nc.sgd(jax.random.PRNGKey(6), nc.unit_chain(T), 1.0, 2, 10_000)
  gd = nc.gradient_descent(nc.unit_chain(T), 2000)
  # with p = 1 the oracle is the exact gradient, so SGD is GD query for query
  assert np.all(np.asarray(one.queries) == nc.first_below(gd.grad_norm, 0.5))


# ---------------------------------------------------------------------------------------------------
# Input validation.

def test_validation_errors():
  with pytest.raises(TypeError, match="x"):
    nc.hard_value(jnp.arange(3))
  with pytest.raises(ValueError, match="x"):
    nc.hard_value(jnp.zeros(()))
  with pytest.raises(ValueError, match="eps"):
    nc.scale_chain(1.0, 1.0, 1.0)
  with pytest.raises(ValueError, match="delta"):
    nc.scale_chain(-1.0, 1.0, 0.01)
  with pytest.raises(ValueError, match="p"):
    nc.probe_hitting_times(jax.random.PRNGKey(0), 3, 1.5, 2, 10)
  with pytest.raises(ValueError, match="d, T"):
    nc.random_orthonormal(jax.random.PRNGKey(0), 3, 5)
  with pytest.raises(TypeError, match="chain"):
    nc.gradient_descent((3, 1.0), 10)
  with pytest.raises(ValueError, match="u"):
    nc.gradient_descent(nc.unit_chain(3), 10, u=jnp.zeros((5, 4)))
  with pytest.raises(ValueError, match="xi"):
    nc.bernoulli_gradient(jnp.zeros((2, 3)), jnp.zeros(3), 0.5)


# ---------------------------------------------------------------------------------------------------
# Derivatives and edge values (issue "Correct at the edges").

def test_hard_gradient_is_autodiff_of_hard_value_and_its_jacobian_is_the_reference_hessian():
  rng = np.random.default_rng(7)
  T, h = 5, 1e-5
  xs = _sample_points(rng, 12, T)
  with jax.enable_x64(True):
    g = np.asarray(nc.hard_gradient(jnp.asarray(xs)))
    auto = np.asarray(jax.vmap(jax.grad(nc.hard_value))(jnp.asarray(xs)))
  np.testing.assert_allclose(g, auto, rtol=0, atol=1e-14)   # the same derivative, batched vs per point
  ok = 0
  for x in xs:
    if np.min(np.abs(np.abs(x) - 0.5)) < 0.02:   # Ψ's higher derivatives blow up next to the switch
      continue
    with jax.enable_x64(True):
      hess = np.asarray(jax.jacfwd(nc.hard_gradient)(jnp.asarray(x)))
    fd = np.stack([(ref_gradient(x + h * e) - ref_gradient(x - h * e)) / (2 * h) for e in np.eye(T)], axis=1)
    # central differences of the hand-derived gradient: truncation h²·|∂⁴f|/6 (|∂⁴f| ≲ 1e4 at 0.02 from the
    # switch) ≈ 2e-7, rounding 1e-16·10/h = 1e-10
    np.testing.assert_allclose(hess, fd, rtol=0, atol=1e-6)
    np.testing.assert_allclose(hess, hess.T, rtol=0, atol=1e-12)
    ok += 1
  assert ok >= 6


def test_gd_is_differentiable_in_the_hidden_directions():
  T, d, steps, h = 3, 5, 4, 1e-6
  with jax.enable_x64(True):
    u = nc.random_orthonormal(jax.random.PRNGKey(3), d, T)
    w = jnp.cos(jnp.arange(d + steps + 1, dtype=jnp.float64))

    def loss(u):
      tr = nc.gradient_descent(nc.unit_chain(T), steps, u=u)
      return jnp.dot(w[:d], tr.x_final) + jnp.dot(w[d:], tr.grad_norm)

    g = np.asarray(jax.grad(loss)(u))
    assert np.all(np.isfinite(g)) and np.abs(g).max() > 1e-3
    rng = np.random.default_rng(0)
    for _ in range(3):
      v = rng.normal(size=(d, T))
      v /= np.linalg.norm(v)
      # perturbations of size 1e-6 keep |UᵀU − I| ≤ 2e-6, inside the 1e-4 orthonormality check
      fd = (float(loss(u + h * v)) - float(loss(u - h * v))) / (2 * h)
      # central difference: truncation h²·|L'''| ≈ 1e-12·10, rounding 1e-16·|L|/h ≈ 1e-9
      assert abs(float(np.sum(g * v)) - fd) < 1e-7


def test_orthonormality_is_checked_with_a_tolerance_that_float32_qr_meets():
  u32 = nc.random_orthonormal(jax.random.PRNGKey(0), 300, 3, jnp.float32)
  nc.gradient_descent(nc.unit_chain(3), 2, u=u32)           # float32 QR: |UᵀU − I| ~ 1e-7, accepted
  with pytest.raises(ValueError, match="u: expected orthonormal"):
    nc.gradient_descent(nc.unit_chain(3), 2, u=u32 * 1.01)  # |UᵀU − I| = 0.02
  with pytest.raises(ValueError, match="u: expected orthonormal"):
    nc.sgd(jax.random.PRNGKey(0), nc.unit_chain(3), 0.5, 1, 5, u=u32 * 1.01)


def test_edge_values_and_non_differentiable_outputs():
  with jax.enable_x64(True):
    p = np.asarray(nc.psi(jnp.array([np.nan, 0.4, -np.inf, np.inf])))
  assert np.isnan(p[0]) and p[1] == 0.0 and p[2] == 0.0 and p[3] == pytest.approx(math.e)
  with pytest.raises(TypeError, match="psi: x"):
    nc.psi(jnp.arange(3))
  # integer-valued outputs: differentiating raises, never a silent zero
  x = jnp.array([0.3, -0.8, 1.1])
  with pytest.raises(TypeError, match="progress is not differentiable"):
    jax.grad(lambda x: nc.progress(x).astype(jnp.float32).sum())(x)
  with pytest.raises(TypeError, match="first_below.*not differentiable"):
    jax.grad(lambda g: float(nc.first_below(g, 0.5)))(jnp.ones(3))
  with pytest.raises(TypeError, match="p:.*not differentiable"):
    jax.grad(lambda p: nc.probe_hitting_times(jax.random.PRNGKey(0), 2, p, 1, 4).mean)(0.5)
  # a diverged run is not "never below"
  with pytest.raises(ValueError, match=r"grad_norm.*index \(2,\)"):
    nc.first_below(np.array([2.0, 1.0, np.inf]), 0.5)
  assert nc.first_below(np.array([2.0, 1.0, 0.4]), 0.5) == 2 and nc.first_below(np.ones(2), 0.5) == -1
  # xi must be Bernoulli draws; p is checked when it is a concrete array too
  with pytest.raises(ValueError, match="xi: expected Bernoulli"):
    nc.bernoulli_gradient(x, np.float64(0.5), 0.5)
  with pytest.raises(ValueError, match="p: expected a probability"):
    nc.bernoulli_gradient(x, True, jnp.asarray(1.5))


# ---------------------------------------------------------------------------------------------------
# experiment.py: the claims' runs.


def test_epsilon_for_length_gives_that_chain_length():
  for t in (1, 4, 10, 640):
    eps = nc.epsilon_for_length(2.0, 0.5, t)
    assert eps == pytest.approx(math.sqrt(1.0 / (48 * 152 * (t + 0.5))), rel=1e-12)
    assert nc.scale_chain(2.0, 0.5, eps).T == t
  with pytest.raises(ValueError, match="epsilon_for_length: length"):
    nc.epsilon_for_length(1.0, 1.0, 0)


def test_gd_chain_run_respects_the_zero_respecting_bound_and_gds_guarantee():
  eps = nc.epsilon_for_length(1.0, 1.0, 4)
  r = nc.gd_chain_run(1.0, 1.0, eps)
  assert r["T"] == 4 and r["jump"] <= 1 and r["large"]
  # one coordinate per query: >= T queries to reveal the chain and to reach ε; GD: <= 2ΔL/ε² iterations
  assert r["T"] <= r["reach"] <= r["iters"] <= 2.0 / eps ** 2
  assert r["progress"].shape == r["grad_norm"].shape == (90 * 4 + 1500 + 1,)


def test_prober_run_is_negative_binomial():
  T, p, reps = 3, 0.4, 3000
  r = nc.prober_run(jax.random.PRNGKey(2), T, p, reps)
  assert r["reached"] and abs(r["mean"] - T / p) <= 4 * r["se"] and r["ks"] <= r["dkw"]
  assert r["var_nb"] == pytest.approx(T * (1 - p) / p ** 2, rel=1e-12)
  assert r["times"].shape == (reps,) and np.all(np.diff(r["times"]) >= 0) and r["times"][0] >= T


def test_sgd_chain_run_needs_at_least_t_over_p_queries():
  eps = nc.epsilon_for_length(1.0, 1.0, 2)
  r = nc.sgd_chain_run(jax.random.PRNGKey(3), eps, 0.5, 8)
  assert r["T"] == 2 and r["p"] == pytest.approx(nc.stochastic_chain_probability(eps, 0.5))
  assert r["reached"] and r["mean"] >= r["bound"] - r["tol"] and r["mean"] >= r["T"]


def test_rotated_comparison_changes_nothing_along_u():
  res = nc.rotated_comparison(jax.random.PRNGKey(4), 2, (5,), 400, 0.5, 2)
  assert res["plain_iters"] > 0 and res["plain_progress"].shape == (401,) and len(res["rows"]) == 1
  for row in res["rows"]:
    assert row["prog_diff"] == 0 and row["n"] == res["plain_iters"] and row["off"] < 1e-9
    assert row["sgd_maxdiff"] == 0
  with pytest.raises(ValueError, match="rotated_comparison: dims"):
    nc.rotated_comparison(jax.random.PRNGKey(4), 3, (2,), 400, 0.5, 2)
