"""Oracle tests for theory.common.statevector: dense Kronecker-product matrices (numpy, float64), scipy's expm of
dense Pauli-Z sums, the Bell state, and multinomial moments of the shot sampler within standard errors."""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

from theory.common import statevector as sv

I2 = np.eye(2)


def _dense_1q(g, q, n):
  """The 2^n x 2^n matrix of gate g on qubit q (qubit k = bit k: kron order qubit n-1 ... qubit 0)."""
  return functools.reduce(np.kron, [g if k == q else I2 for k in reversed(range(n))])


def _dense_2q(g, q1, q2, n):
  """Brute force: matrix element <b'|G|b> = g[2 b'_q1 + b'_q2, 2 b_q1 + b_q2] when the other bits agree."""
  size = 2 ** n
  out = np.zeros((size, size), complex)
  for b in range(size):
    for bp in range(size):
      rest = ~((1 << q1) | (1 << q2))
      if (b & rest) != (bp & rest):
        continue
      i = 2 * ((bp >> q1) & 1) + ((bp >> q2) & 1)
      j = 2 * ((b >> q1) & 1) + ((b >> q2) & 1)
      out[bp, b] = g[i, j]
  return out


def _rand_state(rng, n, batch=()):
  v = rng.normal(size=(2 ** n,) + batch) + 1j * rng.normal(size=(2 ** n,) + batch)
  return v / np.linalg.norm(v, axis=0)


def test_one_and_two_qubit_gates_match_dense_matrices():
  rng = np.random.default_rng(0)
  n = 4
  g1 = rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2))
  g2 = rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4))
  psi = _rand_state(rng, n, (3,))
  with jax.enable_x64(True):
    for q in range(n):
      out = np.asarray(sv.apply_gate(jnp.asarray(psi), jnp.asarray(g1), q))
      np.testing.assert_allclose(out, _dense_1q(g1, q, n) @ psi, atol=1e-12)
    for q1, q2 in [(0, 1), (1, 0), (0, 3), (3, 1)]:
      out = np.asarray(sv.apply_gate(jnp.asarray(psi), jnp.asarray(g2), (q1, q2)))
      np.testing.assert_allclose(out, _dense_2q(g2, q1, q2, n) @ psi, atol=1e-12)
  # the brute-force 2-qubit form agrees with a Kronecker product for adjacent qubits (q1 = k+1 high, q2 = k low)
  np.testing.assert_allclose(_dense_2q(np.kron(g1, g1.T), 1, 0, 2), np.kron(g1, g1.T), atol=0)


def test_bell_state_and_walsh_hadamard():
  with jax.enable_x64(True):
    psi = sv.zero_state(2, jnp.complex128)
    psi = sv.apply_gate(psi, sv.HADAMARD, 1)
    psi = sv.apply_gate(psi, sv.CNOT, (1, 0))           # control qubit 1, target qubit 0
    np.testing.assert_allclose(np.asarray(psi), [2 ** -0.5, 0, 0, 2 ** -0.5], atol=1e-15)
    n = 5
    psi = _rand_state(np.random.default_rng(1), n, (2,))
    dense = functools.reduce(np.kron, [sv.HADAMARD] * n)
    np.testing.assert_allclose(np.asarray(sv.walsh_hadamard(jnp.asarray(psi), n)), dense @ psi, atol=1e-12)
    np.testing.assert_allclose(np.asarray(sv.walsh_hadamard(jnp.asarray(psi[:, 0]), n)), dense @ psi[:, 0],
                               atol=1e-12)


def test_diagonal_phases_equal_expm_of_pauli_z_sums_and_expectations():
  n = 3
  rng = np.random.default_rng(2)
  c1, c2 = rng.normal(size=n), rng.normal(size=(n, n))
  zs = [_dense_1q(np.diag([1.0, -1.0]), k, n) for k in range(n)]
  h = sum(c1[k] * zs[k] for k in range(n)) + sum(c2[k, l] * zs[k] @ zs[l] for k in range(n) for l in range(k + 1, n))
  psi = _rand_state(rng, n)
  with jax.enable_x64(True):
    z = np.asarray(sv.z_signs(n, jnp.float64))
    theta = z @ c1 + sum(c2[k, l] * z[:, k] * z[:, l] for k in range(n) for l in range(k + 1, n))
    out = np.asarray(sv.apply_diagonal(jnp.asarray(psi), jnp.asarray(theta)))
    np.testing.assert_allclose(out, scipy.linalg.expm(1j * h) @ psi, atol=1e-12)
    parity = np.prod(z, axis=1)
    dense_parity = functools.reduce(np.matmul, zs)
    ev = float(sv.expectation_diagonal(jnp.asarray(psi), jnp.asarray(parity)))
    assert abs(ev - np.real(psi.conj() @ dense_parity @ psi)) < 1e-12
    np.testing.assert_allclose(np.asarray(sv.probabilities(jnp.asarray(psi))), np.abs(psi) ** 2, atol=1e-15)
    perm = rng.permutation(2 ** n)
    np.testing.assert_allclose(np.asarray(sv.permute_basis(jnp.asarray(psi), jnp.asarray(perm))), psi[perm])


def test_shot_counts_have_multinomial_moments():
  p = np.array([0.5, 0.3, 0.15, 0.05])
  shots, reps = 400, 400
  keys = jax.random.split(jax.random.PRNGKey(0), reps)
  pj = jnp.asarray(p, jnp.float32)
  counts = np.asarray(jax.vmap(lambda k: sv.sample_counts(k, pj, shots))(keys))
  assert np.all(counts.sum(axis=1) == shots)
  mean, var = counts.mean(0), counts.var(0, ddof=1)
  se = np.sqrt(shots * p * (1 - p) / reps)
  assert np.all(np.abs(mean - shots * p) < 4 * se), (mean, shots * p)
  # the sample variance of a binomial count has relative s.e. about sqrt(2 / reps) = 7 %
  np.testing.assert_allclose(var, shots * p * (1 - p), rtol=0.3)


def test_bad_inputs_name_the_argument():
  with pytest.raises(ValueError, match="apply_gate: qubits"):
    sv.apply_gate(jnp.ones(4, jnp.complex64), sv.HADAMARD, 2)
  with pytest.raises(ValueError, match="apply_gate: gate"):
    sv.apply_gate(jnp.ones(4, jnp.complex64), sv.CZ, 0)
  with pytest.raises(ValueError, match="too many qubits"):
    sv.zero_state(25)
  with pytest.raises(ValueError, match="sample_counts: probs"):
    sv.sample_counts(jax.random.PRNGKey(0), jnp.array([0.5, 0.6]), 10)
