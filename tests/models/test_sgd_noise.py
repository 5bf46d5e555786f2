"""Oracle tests for models/sgd_noise (paper 21): quadrature, closed forms, Monte Carlo within standard errors, a plain
float64 python loop for the trainer, finite differences for the losses."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads
from scipy import stats

from models import sgd_noise as S


def _phi(z):
  return np.exp(-z * z / 2) / math.sqrt(2 * math.pi)


def test_normalized_activation_unit_second_moment():
  # trapezoid on a fine grid (independent of the package's Gauss-Hermite rule)
  z = np.linspace(-14.0, 14.0, 400_001)
  with jax.enable_x64(True):
    for name in S.ACTIVATIONS:
      f = np.asarray(S.normalized_activation(name)(jnp.asarray(z)))
      assert np.trapezoid(f * f * _phi(z), z) == pytest.approx(1.0, abs=1e-7), name


def test_mlp_apply_matches_numpy_float64():
  key = jax.random.PRNGKey(0)
  with jax.enable_x64(True):
    w = S.init_mlp(key, 5, 7, 2, dtype=jnp.float64)
    x = np.random.default_rng(1).normal(size=(4, 5))
    got = np.asarray(S.mlp_apply(w, jnp.asarray(x), "relu"))
  wn = [np.asarray(a) for a in w]
  z = x
  for a in wn[:-1]:
    z = np.maximum(z @ a / math.sqrt(a.shape[0]), 0.0) * math.sqrt(2.0)
  np.testing.assert_allclose(got, z @ wn[-1] / 7, rtol=1e-12)
  p = np.asarray(S.perceptron_apply(jnp.asarray(wn[0][:, 0]), jnp.asarray(x)))
  np.testing.assert_allclose(p, x @ wn[0][:, 0] / math.sqrt(5), rtol=1e-6)


_N_MC, _D_MC = 150_000, 4          # one data shape for the Monte Carlo tests (one compile of the gamma sampler)


def _small(p, d, chi, seed):
  """P points in d dims sliced from one [64, 8] draw (rows iid, coordinates independent: slices are valid
  samples), so every tiny-trainer test shares one compile of the sampler."""
  x, y = S.depleted_sign(jax.random.PRNGKey(seed), 64, 8, chi)
  return x[:p, :d], y[:p]


def test_depleted_sign_moments():
  n = _N_MC
  for i, chi in enumerate((0.0, 1.0, 2.5)):
    x, y = S.depleted_sign(jax.random.PRNGKey(20 + i), n, _D_MC, chi)
    x, y = np.asarray(x, np.float64), np.asarray(y)
    x1 = x[:, 0]
    assert np.all(np.sign(x1) == y)
    for m, exact in ((x1 ** 2, chi + 1), (x1 ** 4, (chi + 1) * (chi + 3))):
      assert abs(m.mean() - exact) < 4 * m.std() / math.sqrt(n), (chi, exact, m.mean())
    assert abs(y.mean()) < 4 / math.sqrt(n)
    # the other coordinates stay standard normal
    assert stats.kstest(x[:20_000, 1], "norm").pvalue > 1e-3


def test_test_error_closed_forms_and_monte_carlo():
  k = np.array([0.02, 0.3, 1.0, 3.0, 30.0, 300.0, -2.0])
  with jax.enable_x64(True):
    u1, up = jnp.asarray(k), jnp.ones(7)
    # chi = 0: the quadrature against arctan
    np.testing.assert_allclose(S.perceptron_test_error(u1, up, 0.0, closed_form=False),
                               np.arctan2(1.0, k) / np.pi, rtol=1e-10)
    # chi = 1 (Rayleigh |x_1|): E Phi(-k r) = (1 - k / sqrt(1 + k^2)) / 2, by parts
    half = (1 - np.abs(k) / np.sqrt(1 + k * k)) / 2
    np.testing.assert_allclose(S.perceptron_test_error(u1, up, 1.0), np.where(k > 0, half, 1 - half), rtol=1e-9)
    # u_perp = 0: a perfect or a fully wrong predictor
    np.testing.assert_array_equal(S.perceptron_test_error(jnp.array([2.0, -1.0]), jnp.zeros(2), 0.5), [0.0, 1.0])
  # Monte Carlo: sign(u . x) on fresh depleted data, chi = 0.5 and 1
  n, d = _N_MC, _D_MC
  u = np.array([1.3, 0.8, -0.5, 0.2])
  for chi in (0.5, 1.0):
    x, y = S.depleted_sign(jax.random.PRNGKey(3), n, d, chi)
    wrong = np.asarray(jnp.sign(x @ jnp.asarray(u, jnp.float32)) != y, np.float64)
    exact = float(S.perceptron_test_error(u[0], np.linalg.norm(u[1:]), chi))
    assert abs(wrong.mean() - exact) < 4 * wrong.std() / math.sqrt(n), (chi, wrong.mean(), exact)


def test_scaled_loss_values_and_finite_difference_gradients():
  o = np.array([-0.7, 0.1, 0.3, 0.9, 2.0])
  y = np.array([1.0, -1.0, 1.0, 1.0, 1.0])
  alpha = 2.0
  z = alpha * o * y
  np.testing.assert_allclose(S.scaled_loss(o, y, alpha), np.maximum(0, 1 - z) / alpha, rtol=1e-6)
  np.testing.assert_allclose(S.scaled_loss(o, y, alpha, "qhinge"), np.maximum(0, 1 - z) ** 2 / alpha, rtol=1e-6)
  for loss in S.LOSSES:
    v = np.asarray(S.scaled_loss(o, y, alpha, loss))
    assert np.all((v == 0) == (z >= 1)), loss
  with jax.enable_x64(True):
    oo = jnp.asarray(np.array([-0.7, 0.1, 0.2, 0.31]))   # away from the hinge's kink z = 1
    yy = jnp.asarray(np.array([1.0, -1.0, 1.0, 1.0]))
    for loss in S.LOSSES:
      check_grads(lambda t: S.scaled_loss(t, yy, 1.7, loss), (oo,), order=1, modes=("rev",))
      check_grads(lambda a: S.scaled_loss(oo, yy, a, loss), (jnp.float64(1.7),), order=1, modes=("rev",))


def _python_sgd(w0, x, y, key, alpha, dt, batch, max_steps, check_every):
  """The trainer's algorithm in float64 numpy, one step at a time (the batches use the same key schedule)."""
  p, d = x.shape
  w = w0.copy()
  margins = lambda w: alpha * (x @ (w - w0) / math.sqrt(d)) * y  # noqa: E731
  step, fitted = 0, bool(np.all(margins(w) >= 1))
  while not fitted and step < max_steps:
    key, ke = jax.random.split(key)
    for kk in jax.random.split(ke, check_every):
      perm = np.asarray(jax.random.permutation(kk, p))
      for j in range(p // batch):
        if step >= max_steps:
          break
        idx = perm[j * batch:(j + 1) * batch]
        m = margins(w)[idx]
        g = -(y[idx, None] * x[idx] / math.sqrt(d) * (m < 1)[:, None]).mean(0)   # hinge gradient (alpha cancels)
        if np.any(m < 1):
          last = step
        w = w - dt * g
        step += 1
    fitted = bool(np.all(margins(w) >= 1))
  return w, (last + 1 if fitted else step), fitted


def test_trainer_matches_python_loop_and_stops_at_fit():
  check_every = 3           # several epochs between full checks: the recorded step count must still be exact
  x, y = _small(12, 5, 1.0, 4)
  w0 = jax.random.normal(jax.random.PRNGKey(5), (5,))
  key = jax.random.PRNGKey(6)
  with jax.enable_x64(True):
    xs, ys, ws = (jnp.asarray(np.asarray(a), jnp.float64) for a in (x, y, w0))
    r = S.train_until_fit(S.perceptron_apply, ws, xs, ys, key, alpha=0.5, dt=0.5, batch=4, max_steps=5000,
                          check_every=check_every)
    w, steps, fitted = _python_sgd(np.asarray(ws), np.asarray(xs), np.asarray(ys), key, 0.5, 0.5, 4, 5000,
                                   check_every)
  assert fitted and bool(r.fitted)
  assert int(r.steps) == steps
  np.testing.assert_allclose(np.asarray(r.w), w, rtol=1e-10, atol=1e-12)
  assert float(r.min_margin) >= 1.0 and int(r.unfit) == 0
  assert float(r.t) == pytest.approx(0.5 * steps)
  # censored at a cap below the fit: steps = the cap, not fitted
  rc = S.train_until_fit(S.perceptron_apply, w0, x, y, key, alpha=0.5, dt=0.5, batch=4, max_steps=3)
  assert not bool(rc.fitted) and int(rc.steps) == 3 and int(rc.unfit) > 0


def test_sgd_increment_statistics_give_temperature():
  # one step from w0 (every point unfit): increment = dt / B sum_batch y x / sqrt(d); over batch draws its mean is
  # dt * mean_mu g_mu and its variance dt^2 / B * (P - B) / (P - 1) * popvar (B distinct points); per unit time
  # the variance is T * (P - B) / (P - 1) * popvar with T = dt / B (h = 1).
  p, d, b, temp = 24, 6, 5, 0.03
  dt = S.dt_from_temperature(temp, 1, b)
  assert dt == pytest.approx(temp * b)
  x, y = _small(p, d, 0.0, 7)
  w0 = jnp.zeros(d)
  keys = jax.random.split(jax.random.PRNGKey(8), 3000)
  inc = jax.vmap(lambda k: S.train_until_fit(S.perceptron_apply, w0, x, y, k, alpha=1.0, dt=dt, batch=b,
                                             max_steps=1).w)(keys)
  inc = np.asarray(inc, np.float64)
  g = np.asarray(y[:, None] * x / math.sqrt(d), np.float64)
  mean_exact = dt * g.mean(0)
  var_exact = temp * dt * (p - b) / (p - 1) * g.var(0)
  n = len(keys)
  assert np.all(np.abs(inc.mean(0) - mean_exact) < 4 * np.sqrt(var_exact / n) + 1e-7)
  var = inc.var(0)
  se = var_exact * math.sqrt(2.0 / n) * 1.5        # kurtosis of a sampled mean of few points: a margin over normal
  assert np.all(np.abs(var - var_exact) < 4 * se), (var / var_exact)


def test_full_batch_is_seed_free_and_small_temperature_approaches_gd():
  x, y = _small(32, 8, 0.0, 9)
  w0 = jax.random.normal(jax.random.PRNGKey(10), (8,))
  # B = P: gradient descent, the same trajectory from any batch key
  gd2 = jax.vmap(lambda k: S.train_until_fit(S.perceptron_apply, w0, x, y, k, alpha=1.0, dt=0.002, batch=32,
                                             max_steps=1000))(jax.random.split(jax.random.PRNGKey(0), 2))
  np.testing.assert_array_equal(np.asarray(gd2.w[0]), np.asarray(gd2.w[1]))
  assert int(gd2.steps[0]) == int(gd2.steps[1]) == 1000
  # at a fixed time t = 2 (censored runs), SGD with B = 8 at temperatures T approaches the GD path as T -> 0
  gd = np.asarray(gd2.w[0])
  dist = []
  for temp in (2.5e-2, 2.5e-4):
    dt = temp * 8
    r = jax.vmap(lambda k: S.train_until_fit(S.perceptron_apply, w0, x, y, k, alpha=1.0, dt=dt, batch=8,
                                             max_steps=int(round(2.0 / dt))).w)(jax.random.split(jax.random.PRNGKey(2), 8))
    dist.append(float(np.sqrt(np.mean(np.sum((np.asarray(r) - gd) ** 2, axis=1)))))
  assert dist[1] < dist[0] / 4                       # diffusion ~ sqrt(T): expect a factor ~ 10
  assert dist[1] < 0.05 * np.linalg.norm(gd - np.asarray(w0))


def test_mlp_fit_and_lazy_limit_is_linear():
  # large alpha (lazy): the trained output change o = f(w) - f(w0) is the linearisation grad f(w0) . (w - w0)
  rng = np.random.default_rng(11)
  with jax.enable_x64(True):
    x = jnp.asarray(rng.normal(size=(16, 6)))
    y = jnp.asarray(np.sign(rng.normal(size=16)))
    w0 = S.init_mlp(jax.random.PRNGKey(12), 6, 16, 2, dtype=jnp.float64)
    apply = lambda w, xx: S.mlp_apply(w, xx, "tanh")  # noqa: E731

    def one(alpha):
      r = S.train_until_fit(apply, w0, x, y, jax.random.PRNGKey(13), alpha=alpha, dt=0.5, batch=16,
                            max_steps=5_000)
      du = jax.tree.map(lambda a, b: a - b, r.w, w0)
      o = apply(r.w, x) - apply(w0, x)
      lin = jax.jvp(lambda w: apply(w, x), (w0,), (du,))[1]
      return r.fitted, r.min_margin, jnp.linalg.norm(o - lin) / jnp.linalg.norm(o)

    fitted, margin, nonlin = jax.vmap(one)(jnp.array([1.0, 1e4]))
  assert np.all(np.asarray(fitted)) and np.all(np.asarray(margin) >= 1.0)
  assert float(nonlin[1]) < 2e-2 and float(nonlin[1]) < float(nonlin[0]) / 20


def test_plateau_crossing_and_tc_slope_on_piecewise_power_laws():
  temps = 2.0 ** np.arange(-10, 2)
  # u = c for T <= T0, c (T / T0) beyond (log-log linear between grid nodes): the 1.25 crossing is 1.25 T0
  assert S.plateau_crossing(temps, np.maximum(1.0, temps / 2.0 ** -6) * 3.0, 1.25) == pytest.approx(1.25 * 2 ** -6)
  assert math.isnan(S.plateau_crossing(temps, np.ones_like(temps), 1.25))
  ps = 2.0 ** np.arange(3, 7)
  u = np.stack([np.tile(np.maximum(1.0, temps / (8.0 / p)), (3, 1)) * (1 + 0.1 * p) for p in ps])
  r = S.tc_slope(ps, temps, u, 1.25, n_boot=20)
  np.testing.assert_allclose(r["tc"], 1.25 * 8.0 / ps)
  assert r["slope"] == pytest.approx(-1.0) and r["lo"] == pytest.approx(-1.0) and r["hi"] == pytest.approx(-1.0)
