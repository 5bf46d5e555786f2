"""Oracle tests for theory.quantum_kernel (Havlíček et al., Nature 2019, arXiv:1804.11326).

Oracles: the one-qubit closed form of the kernel; scipy.linalg.expm of the dense Pauli-Z sum (the feature map
built by matrix products, independent of the diagonal-phase path); invariants (unit norm, K(x, x) = 1, symmetric
PSD in [0, 1]); the ad hoc margin |<O>| >= Delta recomputed densely; Binomial shot-noise mean K and variance
K(1 - K)/R within standard errors; the VQC expectation against dense 2^n x 2^n circuit matrices and the risk
against the paper's formula in numpy.
"""
from __future__ import annotations

import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

from theory import quantum_kernel as QK

Z = np.diag([1.0, -1.0])
Y = np.array([[0, -1j], [1j, 0]])
H = np.array([[1, 1], [1, -1]]) / np.sqrt(2)


def _op(g, k, n):
  return functools.reduce(np.kron, [g if q == k else np.eye(2) for q in reversed(range(n))])


def _dense_state(x, pair_set):
  n = len(x)
  gen = sum(x[k] * _op(Z, k, n) for k in range(n))
  gen = gen + sum((np.pi - x[a]) * (np.pi - x[b]) * _op(Z, a, n) @ _op(Z, b, n) for a, b in pair_set)
  u = scipy.linalg.expm(1j * gen)
  hn = functools.reduce(np.kron, [H] * n)
  zero = np.zeros(2 ** n)
  zero[0] = 1
  return u @ hn @ u @ hn @ zero


def test_one_qubit_closed_form():
  rng = np.random.default_rng(0)
  xs = rng.uniform(0, 2 * np.pi, size=(6, 1))
  with jax.enable_x64(True):
    k = np.asarray(QK.fidelity_kernel(jnp.asarray(xs)))
  x, y = xs[:, 0][:, None], xs[:, 0][None, :]
  ref = (np.cos(x) ** 2 * np.cos(y) ** 2 + np.sin(x) ** 2 * np.sin(y) ** 2
         + 0.5 * np.sin(2 * x) * np.sin(2 * y) * np.cos(2 * (y - x)))
  np.testing.assert_allclose(k, ref, atol=1e-12)


@pytest.mark.parametrize("n,ent", [(2, "full"), (3, "full"), (4, "linear")])
def test_feature_state_equals_expm_of_dense_pauli_sum(n, ent):
  rng = np.random.default_rng(n)
  x = rng.uniform(0, 2 * np.pi, size=n)
  ps = QK.pairs(n, ent)
  with jax.enable_x64(True):
    psi = np.asarray(QK.feature_state(jnp.asarray(x), ps))
  np.testing.assert_allclose(psi, _dense_state(x, ps), atol=1e-11)


def test_kernel_invariants():
  rng = np.random.default_rng(1)
  xs = rng.uniform(0, 2 * np.pi, size=(12, 3))
  with jax.enable_x64(True):
    states = np.asarray(QK.feature_states(jnp.asarray(xs)))
    k = np.asarray(QK.fidelity_kernel(jnp.asarray(xs)))
  np.testing.assert_allclose(np.linalg.norm(states, axis=1), 1.0, atol=1e-13)
  np.testing.assert_allclose(np.diag(k), 1.0, atol=1e-13)
  np.testing.assert_allclose(k, k.T, atol=1e-14)
  assert k.min() >= -1e-15 and k.max() <= 1 + 1e-13
  assert np.linalg.eigvalsh(k).min() > -1e-12
  np.testing.assert_allclose(k, np.abs(states.conj() @ states.T) ** 2, atol=1e-13)


def test_ad_hoc_points_keep_the_margin():
  d = QK.ad_hoc_data(jax.random.PRNGKey(0), grid=30, train_per_class=10, test_per_class=10)
  obs = d.observable
  np.testing.assert_allclose(obs, obs.conj().T, atol=1e-12)
  np.testing.assert_allclose(np.linalg.eigvalsh(obs), [-1, -1, 1, 1], atol=1e-12)   # a unitary conjugate of Z Z
  for xs, ys in ((d.x_train, d.y_train), (d.x_test, d.y_test)):
    for x, y in zip(xs, ys):
      psi = _dense_state(x, [(0, 1)])
      v = np.real(psi.conj() @ obs @ psi)
      assert y * v > 0.3
  assert len({tuple(x) for x in np.vstack([d.x_train, d.x_test])}) == 40       # train and test disjoint


def test_shot_kernel_is_binomial():
  p = np.array([0.3, 0.05, 0.7])
  r, reps = 50, 4000
  big = jnp.asarray(np.tile(p, (reps, 1)))                     # reps independent draws of each entry, one call
  e = np.asarray(QK.shot_kernel(jax.random.PRNGKey(0), big, r, symmetric=False))
  se = np.sqrt(p * (1 - p) / r / reps)
  assert np.all(np.abs(e.mean(0) - p) < 4 * se)
  np.testing.assert_allclose(e.var(0, ddof=1), p * (1 - p) / r, rtol=0.1)   # rel. s.e. sqrt(2/reps) ~ 2 %
  np.testing.assert_allclose(np.round(e * r), e * r, atol=1e-3)   # counts / R
  k = jnp.asarray(np.array([[1.0, 0.3, 0.05], [0.3, 1.0, 0.7], [0.05, 0.7, 1.0]]))
  est = np.asarray(QK.shot_kernel(jax.random.PRNGKey(2), k, r, repair=False))
  assert np.all(np.diag(est) == 1.0) and np.all(est == est.T)
  rep = np.asarray(QK.shot_kernel(jax.random.PRNGKey(1), k, 3))
  assert np.linalg.eigvalsh(rep).min() > -1e-6


def _dense_vqc(theta, x, ps, edges):
  n = len(x)
  psi = _dense_state(x, ps)
  bits = (np.arange(2 ** n)[:, None] >> np.arange(n)) & 1
  cz = np.diag(np.prod([np.where(bits[:, a] & bits[:, b], -1.0, 1.0) for a, b in edges], axis=0))
  for t in range(theta.shape[0]):
    if t > 0:
      psi = cz @ psi
    for k in range(n):
      u = scipy.linalg.expm(0.5j * theta[t, k, 0] * Z) @ scipy.linalg.expm(0.5j * theta[t, k, 1] * Y)
      psi = _op(u, k, n) @ psi
  parity = functools.reduce(np.matmul, [_op(Z, k, n) for k in range(n)])
  return np.real(psi.conj() @ parity @ psi)


def test_vqc_expectation_and_risk_match_dense_circuit():
  rng = np.random.default_rng(3)
  n, depth = 3, 2
  xs = rng.uniform(0, 2 * np.pi, size=(4, n))
  y = np.array([1.0, -1.0, 1.0, -1.0])
  theta = rng.uniform(0, 2 * np.pi, size=(depth + 1, n, 2))
  edges = [(0, 1), (1, 2)]
  with jax.enable_x64(True):
    params = QK.VQCParams(jnp.asarray(theta), jnp.asarray(0.1))
    ev = np.asarray(QK.vqc_expectation(params, jnp.asarray(xs), edges=edges))
    risk = float(QK.vqc_risk(params, jnp.asarray(xs), jnp.asarray(y), shots=100, edges=edges))
  ps = QK.pairs(n)
  ref = np.array([_dense_vqc(theta, x, ps, edges) for x in xs])
  np.testing.assert_allclose(ev, ref, atol=1e-11)
  p = (1 + y * ref) / 2
  arg = np.sqrt(100) * (0.5 - (p - y * 0.1 / 2)) / np.sqrt(2 * (1 - p) * p)
  assert abs(risk - np.mean(1 / (1 + np.exp(-arg)))) < 1e-12


def test_training_lowers_the_risk_adam_and_spsa():
  d = QK.ad_hoc_data(jax.random.PRNGKey(1), grid=20, train_per_class=6, test_per_class=1)
  with jax.enable_x64(True):
    xs, ys = jnp.asarray(d.x_train), jnp.asarray(d.y_train)
    p0 = QK.init_params(jax.random.PRNGKey(2), 2, 0, jnp.float64)
    r0 = float(QK.vqc_risk(p0, xs, ys))
    adam = QK.train_vqc(p0, xs, ys, steps=60, lr=0.1)
    spsa = QK.train_vqc_spsa(jax.random.PRNGKey(3), p0, xs, ys, steps=60, shots=2000)
    assert float(QK.vqc_risk(adam.params, xs, ys)) < r0 - 0.05
    assert float(QK.vqc_risk(spsa.params, xs, ys)) < r0
