"""A small state-vector simulator shared by the quantum papers (14: Simon's problem, 30: quantum kernels,
33: KetGPT circuits).

Convention: an n-qubit state is ``state: [2^n, ...]``, the basis index on axis 0 and any batch axes after
it. Qubit k is bit k of the basis index (little-endian, as in qiskit): basis state b = sum_k b_k 2^k. For the
tensor-axis form the index is reshaped to ``(2,) * n`` in C order, so qubit k is tensor axis n - 1 - k.
A two-qubit gate ``[4, 4]`` acting on ``qubits=(q1, q2)`` is written in the basis index 2 b_{q1} + b_{q2}
(the first listed qubit is the high bit: ``np.kron(A, B)`` acts as A on q1 and B on q2).

Pieces:

* :func:`walsh_hadamard`: H^{(x)n} on axis 0 by n butterflies (O(n 2^n) per column; an involution);
* :func:`permute_basis`: a basis permutation (an oracle U_f as a gather);
* :func:`apply_gate`: a one- or two-qubit gate on tensor axes; :func:`apply_diagonal`: a diagonal unitary
  diag(exp(i theta_b)) (e.g. exp(i sum_S phi_S Z_S), with :func:`z_signs` giving z_k(b) = 1 - 2 b_k);
* :func:`probabilities`, :func:`expectation_diagonal` (<psi|D|psi> for a diagonal observable),
  :func:`sample_counts` (shot sampling: R outcomes from the Born distribution, as counts).

Everything is linear in the state (differentiable) except the shot sampler, whose counts are integers.
"""
from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import check_in_range, check_key, is_concrete, no_grad

__all__ = ["MAX_QUBITS", "HADAMARD", "PAULI_X", "PAULI_Y", "PAULI_Z", "CZ", "CNOT", "zero_state",
           "walsh_hadamard", "permute_basis", "apply_gate", "apply_diagonal", "z_signs", "probabilities",
           "expectation_diagonal", "sample_counts"]

_PKG = "theory.common.statevector"
MAX_QUBITS = 24   # 2^24 complex128 amplitudes = 256 MiB per column

HADAMARD = np.array([[1.0, 1.0], [1.0, -1.0]]) / math.sqrt(2.0)
PAULI_X = np.array([[0.0, 1.0], [1.0, 0.0]])
PAULI_Y = np.array([[0.0, -1j], [1j, 0.0]])
PAULI_Z = np.array([[1.0, 0.0], [0.0, -1.0]])
CZ = np.diag([1.0, 1.0, 1.0, -1.0])
CNOT = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 0, 1.0], [0, 0, 1.0, 0]])   # control q1, target q2


def _check_n(n, fn: str, name: str = "n", lo: int = 1, hi: int = MAX_QUBITS) -> int:
  if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
    raise TypeError(f"{fn}: {name} must be an int, got {type(n).__name__}")
  if not lo <= int(n) <= hi:
    raise ValueError(f"{fn}: {name} must be in [{lo}, {hi}] (too many qubits for a state vector above "
                     f"{hi}), got {n}")
  return int(n)


def _check_state(state, fn: str, inexact: bool = True) -> tuple[jax.Array, int]:
  """state: [2^n, ...] float or complex; returns (state, n)."""
  if isinstance(state, (str, bytes)):
    raise TypeError(f"{fn}: state must be a float or complex array, got {state!r}")
  state = jnp.asarray(state)
  kinds = jnp.inexact if inexact else jnp.number
  if not jnp.issubdtype(state.dtype, kinds):
    raise TypeError(f"{fn}: state must be a float or complex array, got dtype {state.dtype}")
  size = state.shape[0] if state.ndim else 0
  if state.ndim < 1 or size < 2 or size & (size - 1):
    raise ValueError(f"{fn}: state must have shape [2^n, ...] with n >= 1, got {state.shape}")
  return state, size.bit_length() - 1


def zero_state(n: int, dtype=jnp.complex64) -> jax.Array:
  """|0^n>: [2^n] of ``dtype`` (a complex dtype; complex128 needs ``jax.enable_x64``)."""
  fn = f"{_PKG}.zero_state"
  n = _check_n(n, fn)
  if not jnp.issubdtype(jnp.dtype(dtype), jnp.complexfloating):
    raise TypeError(f"{fn}: dtype must be a complex dtype, got {jnp.dtype(dtype)}")
  return jnp.zeros((2 ** n,), dtype).at[0].set(1.0)


def walsh_hadamard(state: jax.Array, n: int) -> jax.Array:
  """H^{(x)n} on axis 0 by the fast Walsh-Hadamard transform (n butterflies, normalised, an involution).

  state: [2^n, ...] float or complex -> the same shape (linear, so differentiable). Every qubit gets the same
  H, so the qubit ordering is irrelevant. n: int in [1, 24].
  """
  if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
    raise TypeError(f"walsh_hadamard: n must be an int, got {type(n).__name__}")
  if not 1 <= int(n) <= MAX_QUBITS:
    raise ValueError(f"walsh_hadamard: n must be in [1, {MAX_QUBITS}], got {n}")
  n = int(n)
  state = jnp.asarray(state)
  if not jnp.issubdtype(state.dtype, jnp.inexact):
    raise TypeError(f"walsh_hadamard: state must be a float or complex array, got dtype {state.dtype}")
  if state.ndim < 1 or state.shape[0] != 2 ** n:
    raise ValueError(f"walsh_hadamard: state must have shape [2^n, ...] = [{2 ** n}, ...], got {state.shape}")
  return _walsh_hadamard(state, n)


def _walsh_hadamard(state: jax.Array, n: int) -> jax.Array:
  rest = state.shape[1:]
  for i in range(n):
    v = state.reshape((2 ** (n - 1 - i), 2, 2 ** i) + rest)
    a, b = v[:, 0], v[:, 1]
    state = jnp.stack([a + b, a - b], axis=1).reshape((2 ** n,) + rest) / math.sqrt(2.0)
  return state


def permute_basis(state: jax.Array, perm: jax.Array) -> jax.Array:
  """out[i] = state[perm[i]] along axis 0 (a basis permutation; unitary when ``perm`` is a permutation).

  state: [2^n, ...]; perm: [2^n] integers in [0, 2^n) (ValueError when concrete, a checkify check under jit;
  unchecked, the gather clamps). Linear in ``state``.
  """
  fn = f"{_PKG}.permute_basis"
  state, n = _check_state(state, fn, inexact=False)
  perm = jnp.asarray(perm)
  if not jnp.issubdtype(perm.dtype, jnp.integer):
    raise TypeError(f"{fn}: perm must be an integer array, got dtype {perm.dtype}")
  if perm.shape != (2 ** n,):
    raise ValueError(f"{fn}: perm must have shape [2^n] = ({2 ** n},), got {perm.shape}")
  check_in_range(perm, "perm", fn, 0, 2 ** n)
  return state[perm.astype(jnp.int32)]


def _check_qubits(qubits, n: int, fn: str) -> tuple[int, ...]:
  if isinstance(qubits, (int, np.integer)) and not isinstance(qubits, bool):
    qubits = (int(qubits),)
  if not isinstance(qubits, (tuple, list)) or not qubits or len(qubits) > 2 \
      or any(isinstance(q, bool) or not isinstance(q, (int, np.integer)) for q in qubits):
    raise TypeError(f"{fn}: qubits must be an int or a tuple of 1 or 2 ints, got {qubits!r}")
  qubits = tuple(int(q) for q in qubits)
  if any(not 0 <= q < n for q in qubits) or len(set(qubits)) != len(qubits):
    raise ValueError(f"{fn}: qubits must be distinct and in [0, {n}) for an n = {n} state, got {qubits}")
  return qubits


def apply_gate(state: jax.Array, gate, qubits) -> jax.Array:
  """A one-qubit gate ``[2, 2]`` on ``qubits = q`` or a two-qubit gate ``[4, 4]`` on ``qubits = (q1, q2)``.

  state: [2^n, ...] -> the same shape; the gate is applied on tensor axes (no 2^n x 2^n matrix). The gate need
  not be unitary (any linear map). Linear in ``state`` and ``gate`` (differentiable in both).
  """
  fn = f"{_PKG}.apply_gate"
  state, n = _check_state(state, fn)
  qubits = _check_qubits(qubits, n, fn)
  gate = jnp.asarray(gate)
  k = len(qubits)
  if not jnp.issubdtype(gate.dtype, jnp.number) or gate.dtype == jnp.bool_:
    raise TypeError(f"{fn}: gate must be a numeric array, got dtype {gate.dtype}")
  if gate.shape != (2 ** k, 2 ** k):
    raise ValueError(f"{fn}: gate must have shape [{2 ** k}, {2 ** k}] for {k} qubit(s) {qubits}, got "
                     f"{gate.shape}")
  dtype = jnp.result_type(state.dtype, gate.dtype)
  rest = state.shape[1:]
  t = state.astype(dtype).reshape((2,) * n + rest)
  axes = [n - 1 - q for q in qubits]
  g = gate.astype(dtype).reshape((2,) * (2 * k))
  # contract the gate's input indices with the state's qubit axes; the output indices come first
  t = jnp.tensordot(g, t, axes=(list(range(k, 2 * k)), axes))
  t = jnp.moveaxis(t, list(range(k)), axes)
  return t.reshape((2 ** n,) + rest)


def z_signs(n: int, dtype=jnp.float32) -> jax.Array:
  """z_k(b) = 1 - 2 b_k for every basis state: [2^n, n] of ``dtype`` (the eigenvalue of Z_k on |b>)."""
  fn = f"{_PKG}.z_signs"
  n = _check_n(n, fn)
  bits = (np.arange(2 ** n)[:, None] >> np.arange(n)[None, :]) & 1
  return jnp.asarray(1 - 2 * bits, dtype)


def apply_diagonal(state: jax.Array, phases: jax.Array) -> jax.Array:
  """diag(exp(i theta_b)) |psi>: state [2^n, ...], phases theta: [2^n] real -> [2^n, ...] complex.

  Differentiable in both (the phase enters through exp(i theta)).
  """
  fn = f"{_PKG}.apply_diagonal"
  state, n = _check_state(state, fn)
  phases = jnp.asarray(phases)
  if not jnp.issubdtype(phases.dtype, jnp.floating):
    raise TypeError(f"{fn}: phases must be a real float array, got dtype {phases.dtype}")
  if phases.shape != (2 ** n,):
    raise ValueError(f"{fn}: phases must have shape [2^n] = ({2 ** n},), got {phases.shape}")
  u = jnp.exp(1j * phases.astype(jnp.result_type(phases.dtype, jnp.float32)))
  return state * u.reshape((2 ** n,) + (1,) * (state.ndim - 1))


def probabilities(state: jax.Array) -> jax.Array:
  """Born probabilities |psi_b|^2: [2^n, ...] -> [2^n, ...] real (sum over the batch axes yourself for a
  marginal)."""
  state, _ = _check_state(state, f"{_PKG}.probabilities")
  return jnp.real(state * jnp.conj(state))


def expectation_diagonal(state: jax.Array, diag: jax.Array) -> jax.Array:
  """<psi|D|psi> = sum_b |psi_b|^2 d_b for a diagonal observable D = diag(d): state [2^n, ...], diag [2^n]
  real -> [...] real (e.g. the parity prod_k z_k(b))."""
  fn = f"{_PKG}.expectation_diagonal"
  state, n = _check_state(state, fn)
  diag = jnp.asarray(diag)
  if not jnp.issubdtype(diag.dtype, jnp.floating) and not jnp.issubdtype(diag.dtype, jnp.integer):
    raise TypeError(f"{fn}: diag must be a real array, got dtype {diag.dtype}")
  if diag.shape != (2 ** n,):
    raise ValueError(f"{fn}: diag must have shape [2^n] = ({2 ** n},), got {diag.shape}")
  p = jnp.real(state * jnp.conj(state))
  return jnp.tensordot(diag.astype(p.dtype), p, axes=(0, 0))


def sample_counts(key: jax.Array, probs: jax.Array, shots: int) -> jax.Array:
  """R = ``shots`` measurements from the Born distribution ``probs: [2^n]``, as counts [2^n] int32
  (a Multinomial(R, probs) draw).

  probs must be non-negative and sum to 1 within 1e-6 (checked when concrete; under jit negative entries act
  as 0 and the rest is renormalised). Integer-valued: differentiating raises TypeError.
  """
  fn = f"{_PKG}.sample_counts"
  check_key(key, "key", fn)
  if isinstance(shots, bool) or not isinstance(shots, (int, np.integer)) or shots < 1:
    raise ValueError(f"{fn}: shots (R) must be an int >= 1, got {shots!r}")
  probs = jnp.asarray(probs)
  if not jnp.issubdtype(probs.dtype, jnp.floating):
    raise TypeError(f"{fn}: probs must be a float array, got dtype {probs.dtype}")
  size = probs.shape[0] if probs.ndim == 1 else 0
  if probs.ndim != 1 or size < 2 or size & (size - 1):
    raise ValueError(f"{fn}: probs must have shape [2^n] with n >= 1, got {probs.shape}")
  if is_concrete(probs):
    p = np.asarray(probs, np.float64)
    if not np.all(np.isfinite(p)) or np.any(p < 0) or abs(p.sum() - 1.0) > 1e-6:
      raise ValueError(f"{fn}: probs must be finite, >= 0 and sum to 1, got min {p.min():.3g} and sum "
                       f"{p.sum():.8g}")
  probs = no_grad(probs, f"{fn}: probs")
  return _sample_counts(key, probs, int(shots))


@functools.partial(jax.jit, static_argnums=2)
def _sample_counts(key, probs, shots):
  logits = jnp.log(jnp.maximum(probs, 0.0) + 0.0)
  draws = jax.random.categorical(key, jnp.where(probs > 0, logits, -jnp.inf), shape=(shots,))
  return jnp.zeros(probs.shape, jnp.int32).at[draws].add(1)
