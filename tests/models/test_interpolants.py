"""Oracle tests for models.interpolants (Albergo, Boffi & Vanden-Eijnden, arXiv:2303.08797).

Oracles: boundary values of the interpolant; autodiff of the coefficient functions against their closed
forms; autodiff of the exact log-density (the score is its gradient; the transport and Fokker–Planck
equations hold pointwise); least-squares Monte Carlo estimates of the conditional expectations
E[∂_t x_t | x_t] and E[z | x_t] (affine for Gaussian end points); the loss identities
L(f* + c) − L(f*) = ½|c|² and L_b(b) = −½ E|b|² (Monte Carlo within its standard error); Gaussian
moments carried exactly by the ODE / SDEs driven by the exact fields; the closed-form Gaussian (and
mixture) log-density against the likelihood integrated along the ODE; translated point clouds and a
brute-force double loop for the distances; a trained velocity against the exact one.

Tolerances: float64 identities at 1e-9 (a few hundred O(1) flops plus 2x2 solves with condition number
<= 1e2); ODE results at 1e-6 (RK4 with h = 1/200: global error ~ h⁴ · C ≈ 1e-9 · C, C <= 1e2 here);
Monte Carlo at 4 standard errors (two-sided p ≈ 6e-5 per check).
"""
from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from models.common.diffusion import TimeMLP
from models.interpolants import (GaussianMixture, Interpolant, divergence, exact_fields, gaussian, gmm_log_prob,
                                 gmm_sample, interpolant_loss, mmd, ode_log_likelihood, ode_sample, ring_mixture,
                                 sde_sample, sliced_wasserstein)

F64 = 1e-9
N_SE = 4.0

TWO_SIDED = [Interpolant("linear", "brownian"), Interpolant("trig", "brownian"),
             Interpolant("encdec", "sinesquared"), Interpolant("linear", "bsquared"),
             Interpolant("linear", "a_brownian", a=2.0), Interpolant("trig", "bsquared")]
ONE_SIDED = [Interpolant("one_sided_linear", "zero"), Interpolant("one_sided_trig", "zero"),
             Interpolant("one_sided_vp", "zero")]


def x64():
  return jax.enable_x64(True)


def _endpoints(one_sided: bool):
  """ρ₀ (N(0, I) for one-sided, else a correlated 2-component mixture) and ρ₁ (a 3-component ring)."""
  if one_sided:
    g0 = gaussian(jnp.zeros(2), jnp.eye(2))
  else:
    g0 = GaussianMixture(jnp.array([0.3, 0.7]), jnp.array([[-1.0, 0.5], [1.5, -0.5]]),
                         jnp.array([[[0.6, 0.2], [0.2, 0.4]], [[0.3, -0.1], [-0.1, 0.5]]]))
  g1 = ring_mixture(3, 2.0, 0.5, phase=0.3)
  return g0, g1


# ---------------------------------------------------------------------------------------------------
# The interpolant.


@pytest.mark.parametrize("interp", TWO_SIDED + ONE_SIDED + [Interpolant("mirror", "brownian")],
                         ids=lambda i: f"{i.path}-{i.gamma}")
def test_boundary_values_and_coefficient_derivatives(interp):
  with x64():
    k0, k1, k2 = jax.random.split(jax.random.PRNGKey(0), 3)
    x0, x1, z = (jax.random.normal(k, (5, 2), jnp.float64) for k in (k0, k1, k2))
    start = x1 if interp.path == "mirror" else x0
    np.testing.assert_allclose(interp.x_t(0.0, x0, x1, z), start, atol=F64)
    np.testing.assert_allclose(interp.x_t(1.0, x0, x1, z), x1, atol=F64)
    assert abs(float(interp.gamma_fn(0.0))) < F64 and abs(float(interp.gamma_fn(1.0))) < F64
    ts = jnp.array([0.07, 0.21, 0.43, 0.62, 0.81, 0.93])
    if interp.gamma != "zero":
      assert np.all(np.asarray(interp.gamma_fn(ts)) > 0)
    d = lambda f: jax.vmap(jax.grad(lambda t: f(t)))(ts)
    np.testing.assert_allclose(interp.alpha_dot(ts), d(interp.alpha), rtol=F64, atol=F64)
    np.testing.assert_allclose(interp.beta_dot(ts), d(interp.beta), rtol=F64, atol=F64)
    np.testing.assert_allclose(interp.gamma_dot(ts), d(interp.gamma_fn), rtol=F64, atol=F64)
    np.testing.assert_allclose(interp.gg_dot(ts), 0.5 * d(lambda t: interp.gamma_fn(t) ** 2), rtol=F64, atol=F64)
    # the time derivative of a sample path
    t = 0.37
    np.testing.assert_allclose(interp.dx_dt(t, x0, x1, z),
                               jax.jvp(lambda s: interp.x_t(s, x0, x1, z), (jnp.float64(t),), (1.0,))[1],
                               rtol=F64, atol=F64)


def test_trig_preserves_variance_for_unit_variance_endpoints():
  with x64():
    interp = Interpolant("trig", "brownian")
    ts = jnp.linspace(0.0, 1.0, 11)
    np.testing.assert_allclose(interp.alpha(ts) ** 2 + interp.beta(ts) ** 2 + interp.gamma_fn(ts) ** 2, 1.0,
                               rtol=F64)


def test_encdec_passes_through_pure_noise():
  with x64():
    interp = Interpolant("encdec", "sinesquared")
    x0, x1, z = jnp.ones((1, 2)), 2 * jnp.ones((1, 2)), jnp.array([[0.3, -0.7]])
    np.testing.assert_allclose(interp.x_t(0.5, x0, x1, z), z, atol=F64)


def test_invalid_arguments_raise():
  with pytest.raises(ValueError, match="path"):
    Interpolant("bogus")
  with pytest.raises(ValueError, match="gamma"):
    Interpolant("one_sided_linear", "brownian")
  with pytest.raises(ValueError, match="sinesquared"):
    Interpolant("trig", "sinesquared")
  with pytest.raises(ValueError, match="a < 4"):
    Interpolant("trig", "a_brownian", a=5.0)
  interp = Interpolant()
  with pytest.raises(ValueError, match="x0, x1"):
    interpolant_loss("b", lambda x, t: x, interp, jax.random.PRNGKey(0), jnp.ones((3, 2)), jnp.ones((4, 2)))
  with pytest.raises(ValueError, match="kind"):
    interpolant_loss("q", lambda x, t: x, interp, jax.random.PRNGKey(0), jnp.ones((3, 2)), jnp.ones((3, 2)))
  with pytest.raises(ValueError, match="num_steps"):
    ode_sample(lambda x, t: x, jnp.ones((3, 2)), num_steps=0)
  with pytest.raises(ValueError, match="eps"):
    sde_sample(lambda x, t: x, lambda x, t: x, -1.0, jnp.ones((3, 2)), jax.random.PRNGKey(0))
  with pytest.raises(TypeError, match="gmm0"):
    exact_fields(interp, (1, 2, 3), ring_mixture(), jnp.ones((3, 2)), 0.5)
  with pytest.raises(ValueError, match="x, y"):
    sliced_wasserstein(jnp.ones((3, 2)), jnp.ones((4, 2)))


# ---------------------------------------------------------------------------------------------------
# Exact fields: score = ∇ log ρ, transport and Fokker–Planck equations (autodiff of the log-density).


@functools.partial(jax.jit, static_argnums=0)
def _pde_terms(interp, g0, g1, x, t):
  """Autodiff of the exact log-density vs the exact fields at ``x: [B, 2]``, scalar ``t``."""
  log_rho = lambda y, s: exact_fields(interp, g0, g1, y[None], s).log_rho[0]
  grad_x, dt_log = jax.vmap(jax.grad(log_rho, argnums=(0, 1)), (0, None))(x, t)
  f = exact_fields(interp, g0, g1, x, t)
  div_b = divergence(lambda y, s: exact_fields(interp, g0, g1, y, s).b, x, t)
  lap = divergence(lambda y, s: exact_fields(interp, g0, g1, y, s).s, x, t)   # Δ log ρ = ∇·s
  return f, grad_x, dt_log, div_b, lap


@pytest.mark.parametrize("interp", [Interpolant("linear", "brownian"), Interpolant("trig", "brownian"),
                                    Interpolant("encdec", "sinesquared"), Interpolant("mirror", "brownian"),
                                    Interpolant("one_sided_vp", "zero")],
                         ids=lambda i: f"{i.path}-{i.gamma}")
def test_exact_fields_solve_transport_and_fokker_planck(interp):
  with x64():
    g0, g1 = _endpoints(interp.one_sided)
    if interp.path == "mirror":
      g0 = g1
    x = gmm_sample(jax.random.PRNGKey(1), g1, 6) * 0.8
    eps = 0.7
    for t in (0.2, 0.7):
      f, grad_x, dt_log, div_b, lap = _pde_terms(interp, g0, g1, x, jnp.float64(t))
      np.testing.assert_allclose(f.s, grad_x, rtol=F64, atol=F64)
      # ∂_t log ρ + ∇·b + b·∇log ρ = 0 (the transport equation divided by ρ)
      np.testing.assert_allclose(dt_log + div_b + jnp.sum(f.b * f.s, -1), 0.0, atol=1e-8)
      # forward Fokker–Planck with b_F = b + ε s: ∂_t log ρ + ∇·b_F + b_F·s = ε (Δ log ρ + |s|²)
      bf = f.b + eps * f.s
      np.testing.assert_allclose(dt_log + div_b + eps * lap + jnp.sum(bf * f.s, -1),
                                 eps * (lap + jnp.sum(f.s ** 2, -1)), atol=1e-8)
      # the denoiser is −(latent coefficient) × score (x₀ ~ N(0, I) for one-sided); b = v − γγ̇ s
      np.testing.assert_allclose(f.eta, -interp.latent_coeff(t) * f.s, rtol=F64, atol=F64)
      np.testing.assert_allclose(f.b, f.v - interp.gg_dot(t) * f.s, rtol=F64, atol=F64)


def test_time_reversal_negates_the_velocity():
  """Swapping (x₀, ρ₀) with (x₁, ρ₁) and t with 1 − t negates b (linear, Brownian γ is symmetric)."""
  with x64():
    interp = Interpolant("linear", "brownian")
    g0, g1 = _endpoints(False)
    x = gmm_sample(jax.random.PRNGKey(2), g0, 5)
    np.testing.assert_allclose(exact_fields(interp, g1, g0, x, 0.3).b, -exact_fields(interp, g0, g1, x, 0.7).b,
                               rtol=F64, atol=F64)


def _affine_regression(xt: np.ndarray, target: np.ndarray, query: np.ndarray):
  """Least-squares fit of target on [1, x_t]; predictions at ``query`` and their standard errors."""
  a = np.concatenate([np.ones((xt.shape[0], 1)), xt], 1)
  coef, *_ = np.linalg.lstsq(a, target, rcond=None)
  res = target - a @ coef
  sigma2 = np.sum(res ** 2, 0) / (a.shape[0] - a.shape[1])           # per output
  aq = np.concatenate([np.ones((query.shape[0], 1)), query], 1)
  lev = np.einsum("qi,ij,qj->q", aq, np.linalg.inv(a.T @ a), aq)
  return aq @ coef, np.sqrt(lev[:, None] * sigma2[None, :])


@pytest.mark.parametrize("interp", [Interpolant("linear", "brownian"), Interpolant("trig", "bsquared"),
                                    Interpolant("one_sided_trig", "zero")], ids=lambda i: i.path)
def test_gaussian_fields_are_monte_carlo_conditional_expectations(interp):
  """For Gaussian end points E[∂_t x_t | x_t] and E[latent | x_t] are affine in x_t: a least-squares fit on
  200k Monte Carlo draws estimates them with a known standard error."""
  with x64():
    if interp.one_sided:
      g0 = gaussian(jnp.zeros(2), jnp.eye(2))
    else:
      g0 = gaussian(jnp.array([1.0, -0.5]), jnp.array([[0.5, 0.2], [0.2, 0.8]]))
    g1 = gaussian(jnp.array([-2.0, 1.0]), jnp.array([[1.5, -0.4], [-0.4, 0.3]]))
    n, t = 100_000, 0.35
    k0, k1, kz = jax.random.split(jax.random.PRNGKey(3), 3)
    x0, x1 = gmm_sample(k0, g0, n), gmm_sample(k1, g1, n)
    z = jax.random.normal(kz, (n, 2), jnp.float64)
    xt = np.asarray(interp.x_t(t, x0, x1, z))
    query = np.asarray(gmm_sample(jax.random.PRNGKey(4), g1, 5) * 0.5)
    f = exact_fields(interp, g0, g1, jnp.asarray(query), t)
    latent = x0 if interp.one_sided else z
    for target, exact in ((interp.dx_dt(t, x0, x1, z), f.b), (latent, f.eta)):
      pred, se = _affine_regression(xt, np.asarray(target), query)
      assert np.all(np.abs(pred - np.asarray(exact)) <= N_SE * se), (pred, exact, se)


# ---------------------------------------------------------------------------------------------------
# The losses: minimised by the exact fields (identities in expectation, checked within Monte Carlo SE).


def _mean_se(v):
  v = np.asarray(v)
  return v.mean(), v.std(ddof=1) / math.sqrt(v.size)


@pytest.mark.parametrize("interp,antithetic", [(Interpolant("linear", "brownian"), False),
                                               (Interpolant("trig", "bsquared"), True),
                                               (Interpolant("one_sided_linear", "zero"), True)],
                         ids=["linear", "trig-anti", "one-sided-anti"])
def test_losses_are_minimised_by_the_exact_fields(interp, antithetic):
  with x64():
    g0, g1 = _endpoints(interp.one_sided)
    n = 20_000
    k0, k1, kl = jax.random.split(jax.random.PRNGKey(5), 3)
    x0, x1 = gmm_sample(k0, g0, n), gmm_sample(k1, g1, n)
    c = jnp.array([0.3, -0.2])
    kinds = {"b": lambda f: f.b, "s": lambda f: f.s, "eta": lambda f: f.eta}
    if not interp.one_sided:
      kinds["v"] = lambda f: f.v
    kw = dict(t_min=0.05, t_max=0.95, antithetic=antithetic, per_sample=True)
    for kind, pick in kinds.items():
      exact = lambda x, t: pick(exact_fields(interp, g0, g1, x, t))
      shifted = lambda x, t: exact(x, t) + c
      l_star = interpolant_loss(kind, exact, interp, kl, x0, x1, **kw)
      l_c = interpolant_loss(kind, shifted, interp, kl, x0, x1, **kw)   # same t, z: common random numbers
      m, se = _mean_se(l_c - l_star)
      assert abs(m - 0.5 * float(c @ c)) <= N_SE * se + F64, (kind, m, se)
    # L_b at the optimum equals −½ E|b(t, x_t)|²: per pair, L_b + ½|b|² has mean zero
    kt, kz = jax.random.split(kl)
    t = jax.random.uniform(kt, (n,), jnp.float64, 0.05, 0.95)
    z = jax.random.normal(kz, (n, 2), jnp.float64)
    xt = interp.x_t(t, x0, x1, z)
    b_at = exact_fields(interp, g0, g1, xt, t).b
    lb = interpolant_loss("b", lambda x, s: exact_fields(interp, g0, g1, x, s).b, interp, kl, x0, x1,
                          t_min=0.05, t_max=0.95, per_sample=True)
    m, se = _mean_se(lb + 0.5 * jnp.sum(b_at ** 2, -1))
    assert abs(m) <= N_SE * se, (m, se)


# ---------------------------------------------------------------------------------------------------
# Samplers driven by the exact fields transport the distributions.


def _check_moments(x, mean, cov, what):
  x = np.asarray(x)
  n = x.shape[0]
  mean, cov = np.asarray(mean), np.asarray(cov)
  se_mean = np.sqrt(np.diag(cov) / n)
  assert np.all(np.abs(x.mean(0) - mean) <= N_SE * se_mean), (what, x.mean(0), mean)
  # SE of a sample covariance entry of a Gaussian: sqrt((C_ii C_jj + C_ij²) / n)
  se_cov = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov ** 2) / n)
  assert np.all(np.abs(np.cov(x.T) - cov) <= N_SE * se_cov), (what, np.cov(x.T), cov)


@pytest.mark.parametrize("interp", [Interpolant("linear", "brownian"), Interpolant("one_sided_linear", "zero")],
                         ids=lambda i: i.path)
def test_exact_samplers_transport_gaussians(interp):
  with x64():
    m0, c0 = (jnp.zeros(2), jnp.eye(2)) if interp.one_sided else (jnp.array([1.0, -0.5]),
                                                                   jnp.array([[0.5, 0.2], [0.2, 0.8]]))
    m1, c1 = jnp.array([-2.0, 1.0]), jnp.array([[1.5, -0.4], [-0.4, 0.3]])
    g0, g1 = gaussian(m0, c0), gaussian(m1, c1)
    b = lambda x, t: exact_fields(interp, g0, g1, x, t).b
    s = lambda x, t: exact_fields(interp, g0, g1, x, t).s
    n = 10_000
    k0, k1, ks, kb = jax.random.split(jax.random.PRNGKey(6), 4)
    x0, x1 = gmm_sample(k0, g0, n), gmm_sample(k1, g1, n)
    ode = jax.jit(lambda x: ode_sample(b, x, num_steps=50, method="rk4"))(x0)
    _check_moments(ode, m1, c1, "ode forward")
    # (the backward ODE is checked by the likelihood test, which integrates it)
    # Heun's weak error is O(h²) here (additive noise); h = 1/100 keeps it far below the 4 SE ≈ 0.04 σ
    sde = jax.jit(lambda x, k: sde_sample(b, s, 0.5, x, k, num_steps=100, method="heun"))(x0, ks)
    _check_moments(sde, m1, c1, "sde forward")
    sde_back = jax.jit(lambda x, k: sde_sample(b, s, 0.5, x, k, t0=1.0, t1=0.0, num_steps=100,
                                               method="heun"))(x1, kb)
    _check_moments(sde_back, m0, c0, "sde backward")


def test_sde_with_zero_diffusion_is_the_ode():
  """ε = 0 turns the SDE steppers into the ODE steppers (any fields: here simple analytic ones)."""
  with x64():
    b = lambda x, t: -x * (1.0 + t) + jnp.sin(x[:, ::-1])
    s = lambda x, t: jnp.cos(x) * t
    x0 = jax.random.normal(jax.random.PRNGKey(7), (64, 2), jnp.float64)
    for sde_m, ode_m in (("euler_maruyama", "euler"), ("heun", "heun")):
      np.testing.assert_allclose(sde_sample(b, s, 0.0, x0, jax.random.PRNGKey(8), num_steps=20, method=sde_m),
                                 ode_sample(b, x0, num_steps=20, method=ode_m), rtol=F64, atol=F64)
      np.testing.assert_allclose(sde_sample(b, s, 0.0, x0, jax.random.PRNGKey(8), t0=1.0, t1=0.0, num_steps=20,
                                            method=sde_m),
                                 ode_sample(b, x0, t0=1.0, t1=0.0, num_steps=20, method=ode_m), rtol=F64, atol=F64)


@functools.partial(jax.jit, static_argnames=("interp", "num_steps", "method"))
def _ode_ll(interp, g0, g1, x1, key=None, *, num_steps, method):
  b = lambda x, t: exact_fields(interp, g0, g1, x, t).b
  return ode_log_likelihood(b, lambda x: gmm_log_prob(g0, x), x1, num_steps=num_steps, method=method,
                            hutchinson_key=key).log_prob


def _dup(g: GaussianMixture, k: int) -> GaussianMixture:
  """The same law as a k-component mixture of identical components (so it shares compiled shapes)."""
  return GaussianMixture(jnp.full((k,), 1.0 / k), jnp.repeat(g.means, k, 0), jnp.repeat(g.covs, k, 0))


def test_ode_likelihood_matches_closed_form():
  with x64():
    interp = Interpolant("linear", "brownian")
    m0, c0 = jnp.array([1.0, -0.5]), jnp.array([[0.5, 0.2], [0.2, 0.8]])
    m1, c1 = jnp.array([-2.0, 1.0]), jnp.array([[1.5, -0.4], [-0.4, 0.3]])
    g0, g1 = _dup(gaussian(m0, c0), 2), _dup(gaussian(m1, c1), 3)   # the shapes of the mixtures below
    x1 = gmm_sample(jax.random.PRNGKey(9), g1, 32)
    ll = _ode_ll(interp, g0, g1, x1, num_steps=100, method="rk4")
    closed = -0.5 * (jnp.einsum("bi,ij,bj->b", x1 - m1, jnp.linalg.inv(c1), x1 - m1)
                     + jnp.log(jnp.linalg.det(c1)) + 2 * math.log(2 * math.pi))
    np.testing.assert_allclose(ll, closed, atol=1e-6)
    # mixtures: the ODE likelihood equals the exact mixture density at t = 1
    h0, h1 = _endpoints(False)
    y1 = gmm_sample(jax.random.PRNGKey(10), h1, 32)
    np.testing.assert_allclose(_ode_ll(interp, h0, h1, y1, num_steps=100, method="rk4"), gmm_log_prob(h1, y1),
                               atol=1e-5)
    # Hutchinson: unbiased — 1000 probes at one point, mean within its SE of the exact-trace value computed
    # on the same (Euler) grid, so the integrator error is common
    rep = jnp.broadcast_to(x1[:1], (1000, 2))
    hut = _ode_ll(interp, g0, g1, rep, jax.random.PRNGKey(11), num_steps=20, method="euler")
    ref = _ode_ll(interp, g0, g1, rep, num_steps=20, method="euler")[0]
    m, se = _mean_se(hut)
    assert se > 0 and abs(m - float(ref)) <= N_SE * se, (m, se, float(ref))


# ---------------------------------------------------------------------------------------------------
# Distances.


def test_sliced_wasserstein_of_a_translation_and_mmd_brute_force():
  with x64():
    x = jax.random.normal(jax.random.PRNGKey(12), (300, 2), jnp.float64)
    c = jnp.array([0.7, -1.1])
    # sorting commutes with translation: every projected W₂ is |θ·c|, and cos² averages to ½ exactly over
    # equally spaced angles on the half circle
    np.testing.assert_allclose(sliced_wasserstein(x, x + c, num_projections=16), np.linalg.norm(c) / math.sqrt(2),
                               rtol=F64)
    assert float(sliced_wasserstein(x, x[::-1])) < F64   # a permutation is the same empirical measure
    xs, ys = np.asarray(x[:7]), np.asarray(x[7:12] + 0.5)
    k = lambda a, b: math.exp(-np.sum((a - b) ** 2) / (2 * 0.8 ** 2))
    kxx = sum(k(xs[i], xs[j]) for i in range(7) for j in range(7) if i != j) / 42
    kyy = sum(k(ys[i], ys[j]) for i in range(5) for j in range(5) if i != j) / 20
    kxy = sum(k(a, b) for a in xs for b in ys) / 35
    np.testing.assert_allclose(mmd(xs, ys, bandwidth=0.8), kxx + kyy - 2 * kxy, rtol=F64)


# ---------------------------------------------------------------------------------------------------
# A learned velocity on a 2-D Gaussian matches the exact one.


def test_learned_velocity_matches_exact_field():
  """One-sided linear interpolant from N(0, I) to a correlated Gaussian; TimeMLP trained on L_b for 800
  Adam steps (batch 256: 205k fresh pairs).

  Tolerance: relative mean-square error E|b̂ − b|² / E|b|² <= 0.05 over t ~ U[0.05, 0.95], x ~ ρ_t.
  The regression noise is the conditional variance E|∂_t x_t − b|² ≈ 0.52 E|b|² here (computed from the
  exact fields on 2e5 draws), so a p ≈ 3.9e3-parameter fit on n = 2.05e5 fresh draws has a statistical
  error of order (p / n) × 0.52 ≈ 0.01 E|b|² (well-specified least squares); the optimisation error of 800
  Adam steps (no closed form) gets the remaining factor of 5. Training goes in float32."""
  interp = Interpolant("one_sided_linear", "zero")
  with x64():
    g0 = gaussian(jnp.zeros(2), jnp.eye(2))
    g1 = gaussian(jnp.array([1.5, -1.0]), jnp.array([[0.6, 0.25], [0.25, 0.4]]))
  g0 = jax.tree.map(lambda a: jnp.asarray(a, jnp.float32), g0)
  g1 = jax.tree.map(lambda a: jnp.asarray(a, jnp.float32), g1)
  net = TimeMLP(hidden=32, depth=2, emb_dim=16, time_scale=10.0)
  params = net.init(jax.random.PRNGKey(0), jnp.zeros((2, 2)), jnp.zeros((2,)))
  steps, batch = 800, 256
  opt = optax.adam(optax.cosine_decay_schedule(3e-3, steps, 0.05))
  state = opt.init(params)

  @jax.jit
  def step(params, state, key):
    k0, k1, kl = jax.random.split(key, 3)
    x0, x1 = gmm_sample(k0, g0, batch), gmm_sample(k1, g1, batch)
    loss, g = jax.value_and_grad(lambda p: interpolant_loss("b", lambda x, t: net.apply(p, x, t), interp, kl,
                                                            x0, x1))(params)
    upd, state = opt.update(g, state, params)
    return optax.apply_updates(params, upd), state, loss

  for k in jax.random.split(jax.random.PRNGKey(1), steps):
    params, state, _ = step(params, state, k)
  n = 8192
  k0, k1, kt = jax.random.split(jax.random.PRNGKey(2), 3)
  t = jax.random.uniform(kt, (n,), jnp.float32, 0.05, 0.95)
  xt = interp.x_t(t, gmm_sample(k0, g0, n), gmm_sample(k1, g1, n))
  exact = exact_fields(interp, g0, g1, xt, t).b
  rel = float(jnp.mean(jnp.sum((net.apply(params, xt, t) - exact) ** 2, -1)) / jnp.mean(jnp.sum(exact ** 2, -1)))
  assert rel <= 0.05, rel


# ---------------------------------------------------------------------------------------------------
# models.interpolants.experiment: densities and the claims' sweeps.


def test_checkerboard_density_and_off_support_fraction():
  """Checkerboard samples lie on the 8 black cells (fraction off = 0), uniformly (each cell 1/8 within 4 s.e.);
  points in a white cell or outside the board count as off."""
  from models.interpolants import checkerboard, density_sampler, off_checkerboard
  x = np.asarray(checkerboard(jax.random.PRNGKey(0), 4000))
  assert off_checkerboard(x) == 0.0 and np.all(np.abs(x) <= 4.0)
  cells = np.floor((x + 4) / 2).astype(int)
  counts = np.bincount(cells[:, 0] * 4 + cells[:, 1], minlength=16)
  black = [i * 4 + j for i in range(4) for j in range(4) if (i + j) % 2 == 0]
  se = math.sqrt(4000 * (1 / 8) * (7 / 8))
  assert np.all(np.abs(counts[black] - 500) <= 4 * se) and counts.sum() == counts[black].sum()
  assert off_checkerboard(np.array([[-3.0, -1.0], [5.0, 0.5], [-3.0, -3.0], [0.5, 0.5]])) == 0.5
  g = np.asarray(density_sampler("gaussian")(jax.random.PRNGKey(1), 4000))
  assert abs(g.mean()) < 4 / math.sqrt(8000) and abs(g.var() - 1) < 0.1


def test_eps_sweep_transports_a_shifted_gaussian_at_every_eps():
  """b = c, s = −(x − c t): the marginals N(c t, I) solve the Fokker–Planck equation of the forward SDE for
  every ε, so every ε lands on N(c, I): SW₂ within the noise floor's range, while base → target SW₂ is
  |c|/√2 (for equal covariances the 1-D W₂ along θ is |θ·c|; the mean of (θ·c)² over the half circle is
  |c|²/2)."""
  from models.interpolants import eps_sweep, noise_floor
  c = jnp.array([3.0, 0.0])
  b = lambda x, t: jnp.broadcast_to(c, x.shape)
  s = lambda x, t: -(x - c * t)
  src = lambda k, n: jax.random.normal(k, (n, 2))
  tgt = lambda k, n: c + jax.random.normal(k, (n, 2))
  n = 1000
  floor, floor_se = noise_floor(tgt, n, jax.random.PRNGKey(5))
  sw, first, off = eps_sweep(b, s, src, tgt, jax.random.PRNGKey(3), eps=(0.0, 1.0), n=n, reps=2, num_steps=20)
  assert set(sw) == {0.0, 1.0} and first[1.0].shape == (n, 2) and 0 <= off[0.0] <= 1
  for e, (m, se) in sw.items():
    assert m < 3 * floor, (e, m, floor)
  base = float(sliced_wasserstein(src(jax.random.PRNGKey(7), n), tgt(jax.random.PRNGKey(8), n)))
  assert abs(base - 3.0 / math.sqrt(2)) < 0.1


def test_exact_transport_reaches_the_floor_and_the_exact_likelihood():
  """Exact fields N(0, I) → a 2-component mixture: ODE and SDE SW₂ near the two-sample floor, and the ODE
  likelihood equals the exact log-density (RK4, 20 steps)."""
  from models.interpolants import exact_transport
  mix = GaussianMixture(jnp.array([0.5, 0.5]), jnp.array([[-2.0, 0.0], [2.0, 0.0]]),
                        jnp.array([0.3 * jnp.eye(2), 0.3 * jnp.eye(2)]))
  r = exact_transport(Interpolant("one_sided_linear", "zero"), gaussian(jnp.zeros(2), jnp.eye(2)), mix,
                      jax.random.PRNGKey(0), n=512, reps=2, num_steps=20, loglik_points=32)
  assert len(r["sw"]["ode"]) == len(r["sw"]["sde"]) == 2
  for k in ("ode", "sde"):
    assert np.mean(r["sw"][k]) < 2.5 * r["floor"], (k, r)
  assert r["loglik_mean_abs_err"] < 1e-3
