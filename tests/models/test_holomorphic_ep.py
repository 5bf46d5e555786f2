"""Oracle tests for models/holomorphic_ep (paper 13: holomorphic EP with Jacobian homeostasis).

Oracles: Taylor coefficients of polynomials and exp (the Cauchy estimator), linear solves of the linear network's
fixed point (jnp.linalg.solve on the block weight matrix assembled from the kernels), the closed-form mean of the
homeostatic loss, and the implicit-function identity hEP(N = 0) = RBP = BPTT for symmetric weights.
"""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest


from models import holomorphic_ep as H

SIZES = dict(hidden=(5, 4), out_size=3, num_classes=3)
B, DIN = 3, 6


def _data(dtype):
  r = np.random.default_rng(13)
  x = jnp.asarray(r.uniform(0, 1, (B, DIN)), dtype)
  y = jax.nn.one_hot(jnp.asarray([0, 2, 1]), 3, dtype=dtype)
  return x, y


def _params(model, x, alpha, gain, seed=0):
  p = H.init_params(model, jax.random.PRNGKey(seed), x, alpha_deg=alpha, gain=gain)
  return jax.tree.map(lambda a: a.astype(x.dtype), p)


def _block(model, params):
  """A[post, pre] = K_{pre->post}^T over the state neurons (l1, l2, out), from the kernels."""
  sizes = model.sizes()
  off = dict(zip(H.STATE_KEYS, np.cumsum([0] + [sizes[k] for k in H.STATE_KEYS])[:-1]))
  n = sum(sizes.values())
  a = np.zeros((n, n))
  for pre, post, _ in H.ARCHITECTURES[model.arch]:
    if pre == "in":
      continue
    k = np.asarray(params["params"][f"{pre}-{post}"]["kernel"], np.float64)
    a[off[post]:off[post] + sizes[post], off[pre]:off[pre] + sizes[pre]] += k.T
  return a


# ---------------------------------------------------------------------------------------------------
# The Cauchy estimator.

def test_cauchy_exact_for_polynomials_and_exp_error():
  with jax.enable_x64(True):
    r = np.random.default_rng(0)
    for n in (1, 2, 3, 4, 6):
      coef = r.normal(size=n + 1)                       # degree n
      f = lambda b, c=coef: sum(ci * b ** i for i, ci in enumerate(c))  # noqa: E731
      est = H.cauchy_derivative(f, 0.7, n)
      assert abs(float(est) - coef[1]) < 1e-12 * (1 + abs(coef[1])), n
      # one degree more: the error is exactly a_{N+1} beta^N
      c2 = np.append(coef, 0.9)
      f2 = lambda b, c=c2: sum(ci * b ** i for i, ci in enumerate(c))  # noqa: E731
      err = float(H.cauchy_derivative(f2, 0.7, n)) - c2[1]
      np.testing.assert_allclose(err, 0.9 * 0.7 ** n, rtol=1e-10)
    for n in (1, 2, 4, 6):
      beta = 0.5
      err = float(H.cauchy_derivative(jnp.exp, beta, n)) - 1.0
      # the estimate of exp'(0) = 1 is sum_{j >= 0} beta^{jN} / (jN + 1)! (N = 1: (e^beta - 1) / beta)
      series = sum(beta ** (j * n) / math.factorial(j * n + 1) for j in range(1, 60 // n))
      np.testing.assert_allclose(err, series, rtol=1e-12, atol=1e-14)  # est - 1: cancellation
      lead = beta ** n / math.factorial(n + 1)                       # the leading error beta^N / (N+1)!
      assert abs(err - lead) < (beta ** 2 / 5 if n == 1 else 2 * beta ** (2 * n) / math.factorial(2 * n + 1))
    assert abs(float(H.cauchy_derivative(jnp.exp, 0.5, 0)) - 1.0) < 1e-15


# ---------------------------------------------------------------------------------------------------
# Linear network: du*/dbeta = (I - A)^{-1} e, RBP delta = (I - A^T)^{-1} dl/du.

def _linear_outputs(m, x, y, params):
  """Everything the linear-network test compares, in one jitted program."""
  u = H.free_phase(m, params, x, y, 200)
  res = H.residual(m, params, u, x, y)
  logits = m.apply(params, u, x, y, 0.0)[1]
  d0 = H.flatten_state(H.du_dbeta(m, params, u, x, y, 0.0, 0, 200))
  d4 = H.flatten_state(H.du_dbeta(m, params, u, x, y, 0.05, 4, 200))
  delta, dres = H.rbp_delta(m, params, u, x, y, 200)
  _, amp = H.online_du_dbeta(m, params, u, x, y, 1e-3, 4, 100)
  return res, logits, d0, d4, H.flatten_state(delta), dres, H.flatten_state(amp)


def test_linear_network_matches_solves():
  with jax.enable_x64(True):
    m = H.EPVectorField(activation="identity", **SIZES)
    x, y = _data(jnp.float64)
    p, ps = _params(m, x, 90.0, 0.3), _params(m, x, 0.0, 0.3)
    both = jax.tree.map(lambda a, b: jnp.stack([a, b]), p, ps)
    outs = jax.jit(jax.vmap(lambda q: _linear_outputs(m, x, y, q)))(both)
    outs = [np.asarray(o) for o in outs]
    for i, params in enumerate((p, ps)):
      res, logits, d0, d4, delta, dres, amp = (o[i] for o in outs)
      assert res.max() < 1e-10
      a = _block(m, params)
      n = a.shape[0]
      assert np.max(np.abs(np.linalg.eigvals(a))) < 1
      k_ro = np.asarray(params["params"]["readout"]["kernel"])
      e = np.zeros((B, n))
      sm = np.exp(logits - logits.max(-1, keepdims=True))
      e[:, -3:] = (sm / sm.sum(-1, keepdims=True) - np.asarray(y)) @ k_ro.T
      exact = np.linalg.solve(np.eye(n) - a, e.T).T       # du*/dbeta = (I - A)^{-1} e
      rbp = np.linalg.solve(np.eye(n) - a.T, e.T).T       # delta = (I - A^T)^{-1} e
      np.testing.assert_allclose(d0, exact, atol=1e-10)
      np.testing.assert_allclose(d4, exact, atol=1e-6)
      np.testing.assert_allclose(delta, rbp, atol=1e-10)
      assert dres.max() < 1e-10
      np.testing.assert_allclose(amp, exact, atol=1e-5)
      if i == 0:    # random feedback: EP's (I - A)^{-1} e and RBP's (I - A^T)^{-1} e differ
        assert not np.allclose(a, a.T) and np.abs(exact - rbp).max() > 1e-3
      else:         # W = W^T: they coincide
        np.testing.assert_allclose(a, a.T, atol=1e-15)
        np.testing.assert_allclose(exact, rbp, atol=1e-12)


# ---------------------------------------------------------------------------------------------------
# Sigmoid network with symmetric weights: hEP(N = 0) = RBP = BPTT.

def test_symmetric_hep_equals_rbp_and_bptt():
  with jax.enable_x64(True):
    m = H.EPVectorField(**SIZES)
    x, y = _data(jnp.float64)
    p = _params(m, x, 0.0, 0.5)
    key = jax.random.PRNGKey(3)

    @jax.jit
    def run(p):
      u = H.free_phase(m, p, x, y, 150)
      out = dict(res=H.residual(m, p, u, x, y), g0=H.hep_gradient(m, p, u, x, y, 0.0, 0, 150),
                 gr=H.rbp_gradient(m, p, u, x, y, 150), gb=H.bptt_gradient(m, p, x, y, 150),
                 gh=jax.grad(lambda w: H.homeostatic_loss(m, w, u, x, y, key, 5))(p),
                 gs=jax.grad(lambda w: H.surrogate_loss(m, w, x, y, key, beta=0.5, n_points=0, t1=150, t2=150,
                                                        lam_h=0.7)[0])(p))
      return out

    o = run(p)
    assert float(jnp.max(o["res"])) < 1e-5                 # converged before any gradient is used
    for a, b, c in zip(*(jax.tree.leaves(o[k]) for k in ("g0", "gr", "gb"))):
      scale = 1 + float(jnp.max(jnp.abs(b)))
      np.testing.assert_allclose(a, b, atol=1e-5 * scale)
      np.testing.assert_allclose(c, b, atol=1e-5 * scale)
    assert float(H.gradient_cosine(o["g0"], o["gr"])) > 1 - 1e-9
    # surrogate's gradient = hEP estimate + lam_h * homeostatic gradient
    for a, b, c in zip(*(jax.tree.leaves(o[k]) for k in ("gs", "g0", "gh"))):
      np.testing.assert_allclose(a, b + 0.7 * c, atol=1e-8)


# ---------------------------------------------------------------------------------------------------
# Homeostatic loss and the symmetry diagnostic.

@pytest.mark.parametrize("arch", ["mlp", "loop"])
def test_homeostatic_loss_monte_carlo_mean(arch):
  with jax.enable_x64(True):
    m = H.EPVectorField(arch=arch, **SIZES)
    x, y = _data(jnp.float64)
    p = _params(m, x, 45.0, 1.0)
    u = jax.jit(lambda p: H.free_phase(m, p, x, y, 5))(p)
    a = _block(m, p)
    n = a.shape[0]
    closed = 0.5 * np.sum((a - a.T) ** 2) / n
    if arch == "mlp":   # sum over reciprocal pairs of ||K_ab - K_ba^T||^2 / n
      k = lambda e: np.asarray(p["params"][e]["kernel"])  # noqa: E731
      pairs = np.sum((k("l1-l2") - k("l2-l1").T) ** 2) + np.sum((k("l2-out") - k("out-l2").T) ** 2)
      np.testing.assert_allclose(closed, pairs / n, rtol=1e-12)
    keys = jax.random.split(jax.random.PRNGKey(0), 1000)
    vals = np.asarray(jax.jit(jax.vmap(lambda k: H.homeostatic_loss(m, p, u, x, y, k, 1)))(keys))
    se = vals.std(ddof=1) / math.sqrt(len(vals))
    assert abs(vals.mean() - closed) < 4 * se, (vals.mean(), closed, se)
    # the Jacobian d(F - id)/d rho is A - I, state-independent for this field
    jac = np.asarray(jax.jit(lambda p, u: H.jacobian(m, p, u, x, y))(p, u))
    np.testing.assert_allclose(jac, np.broadcast_to(a - np.eye(n), jac.shape), atol=1e-12)
    s, an = np.linalg.norm((a - np.eye(n) + (a - np.eye(n)).T) / 2), np.linalg.norm((a - a.T) / 2)
    np.testing.assert_allclose(np.asarray(H.jacobian_symmetry(jac)), s / (s + an), rtol=1e-12)


def test_symmetry_and_rotation():
  with jax.enable_x64(True):
    r = np.random.default_rng(1)
    s = r.normal(size=(4, 4))
    assert float(H.jacobian_symmetry(jnp.asarray(s + s.T))) == pytest.approx(1.0)
    assert float(H.jacobian_symmetry(jnp.asarray(s - s.T))) == pytest.approx(0.0, abs=1e-15)
    m = H.EPVectorField(**SIZES)
    x, _ = _data(jnp.float64)
    p90 = _params(m, x, 90.0, 1.0)
    p0 = H.rotate_feedback(p90, 0.0)
    k = lambda p, e: np.asarray(p["params"][e]["kernel"])  # noqa: E731
    np.testing.assert_allclose(k(p0, "l2-l1"), k(p0, "l1-l2").T, atol=1e-15)
    np.testing.assert_allclose(k(p0, "out-l2"), k(p0, "l2-out").T, atol=1e-15)
    p30 = H.rotate_feedback(p90, 30.0)
    np.testing.assert_allclose(k(p30, "l2-l1"), 0.5 * k(p90, "l2-l1") + math.sqrt(3) / 2 * k(p90, "l1-l2").T,
                               atol=1e-14)
    np.testing.assert_allclose(k(p30, "in-l1"), k(p90, "in-l1"))


def test_bad_inputs():
  m = H.EPVectorField(**SIZES)
  x, y = _data(jnp.float32)
  p = H.init_params(m, jax.random.PRNGKey(0), x)
  u = H.zero_state(m, B)
  with pytest.raises(ValueError, match="n_points"):
    H.du_dbeta(m, p, u, x, y, 0.1, -1, 2)
  with pytest.raises(ValueError, match="beta"):
    H.hep_gradient(m, p, u, x, y, 0.0, 2, 2)
  with pytest.raises(ValueError, match="T1"):
    H.free_phase(m, p, x, y, 0)
  with pytest.raises(ValueError, match="T2"):
    H.du_dbeta(m, p, u, x, y, 0.1, 2, 0)
  with pytest.raises(ValueError, match="alpha_deg"):
    H.rotate_feedback(p, 120.0)
  with pytest.raises(ValueError, match="alpha_deg"):
    H.init_params(m, jax.random.PRNGKey(0), x, alpha_deg=-5.0)
  with pytest.raises(ValueError, match=r"did not converge: max residual .* = [0-9.e+-]+ > tol"):
    H.check_converged(m, p, u, x, y, 1e-5)
