"""The ZZ feature map, the fidelity kernel and its shot-noise estimate (Havlíček et al., Nature 567, 209 (2019),
arXiv:1804.11326, Eqs. (2)-(3) and the kernel-estimation protocol).

|Phi(x)> = U_Phi(x) H^{(x)n} U_Phi(x) H^{(x)n} |0^n>,  U_Phi(x) = exp(i sum_{|S|<=2} phi_S(x) prod_{k in S} Z_k),
phi_k(x) = x_k, phi_{kl}(x) = (pi - x_k)(pi - x_l). U_Phi is diagonal: on basis state b (z_k = 1 - 2 b_k) its phase is
theta_b(x) = sum_k x_k z_k + sum_{(k,l) in pairs} (pi - x_k)(pi - x_l) z_k z_l (:func:`zz_phases`), applied with the
shared simulator (``theory.common.statevector``). Kernel K(x, x') = |<Phi(x)|Phi(x')>|^2; on hardware it is the
frequency of 0^n after U_Phi(x')^dag U_Phi(x), so R shots give Binomial(R, K)/R (:func:`shot_kernel`).
"""
from __future__ import annotations

import functools
import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import check_finite, check_key, no_grad
from theory.common import statevector as sv
from theory.common.kernel_methods import psd_repair

MAX_QUBITS = 12
_PKG = "theory.quantum_kernel"


def _check_n(n, fn: str) -> int:
  if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
    raise TypeError(f"{fn}: n must be an int, got {type(n).__name__}")
  if not 1 <= int(n) <= MAX_QUBITS:
    raise ValueError(f"{fn}: n must be in [1, {MAX_QUBITS}] qubits (too many qubits), got {n}")
  return int(n)


def pairs(n: int, entanglement: str = "full") -> tuple[tuple[int, int], ...]:
  """The pair set of the ZZ terms: ``"full"`` (all k < l) or ``"linear"`` (edges (k, k+1), a chain)."""
  fn = f"{_PKG}.pairs"
  n = _check_n(n, fn)
  if entanglement == "full":
    return tuple(itertools.combinations(range(n), 2))
  if entanglement == "linear":
    return tuple((k, k + 1) for k in range(n - 1))
  raise ValueError(f"{fn}: entanglement must be 'full' or 'linear', got {entanglement!r}")


def _check_pairs(pair_set, n: int, fn: str) -> tuple[tuple[int, int], ...]:
  if pair_set is None:
    return pairs(n)
  try:
    ps = tuple((int(a), int(b)) for a, b in pair_set)
  except (TypeError, ValueError) as e:
    raise TypeError(f"{fn}: pair_set must be a sequence of (k, l) int pairs, got {pair_set!r}") from e
  for a, b in ps:
    if not (0 <= a < n and 0 <= b < n and a != b):
      raise ValueError(f"{fn}: pair_set entries must be distinct qubits in [0, {n}), got {(a, b)}")
  return ps


def _check_x(x, fn: str, name: str = "x", ndim: int = 1) -> jax.Array:
  if isinstance(x, (str, bytes)):
    raise TypeError(f"{fn}: {name} must be a float array, got {x!r}")
  x = jnp.asarray(x)
  if not jnp.issubdtype(x.dtype, jnp.floating):
    raise TypeError(f"{fn}: {name} must be a float array, got dtype {x.dtype}")
  if x.ndim != ndim or x.shape[-1] < 1:
    shape = "[n]" if ndim == 1 else "[N, n]"
    raise ValueError(f"{fn}: {name} must have shape {shape}, got {x.shape}")
  _check_n(x.shape[-1], fn)
  check_finite(x, name, fn)
  return x


def _phases(x, ps):
  n = x.shape[-1]
  z = sv.z_signs(n, x.dtype)                                        # [2^n, n]
  theta = z @ x
  for a, b in ps:
    theta = theta + (jnp.pi - x[a]) * (jnp.pi - x[b]) * z[:, a] * z[:, b]
  return theta


_phases_jit = jax.jit(_phases, static_argnums=1)


def zz_phases(x, pair_set=None) -> jax.Array:
  """theta_b(x) for every basis state: x [n] -> [2^n] (U_Phi(x) = diag(exp(i theta)); differentiable)."""
  fn = f"{_PKG}.zz_phases"
  x = _check_x(x, fn)
  return _phases_jit(x, _check_pairs(pair_set, x.shape[0], fn))


def _state(x, ps, reps):
  n = x.shape[-1]
  cdtype = jnp.complex128 if x.dtype == jnp.float64 else jnp.complex64
  psi = jnp.zeros((2 ** n,), cdtype).at[0].set(1.0)
  u = jnp.exp(1j * _phases(x, ps)).astype(cdtype)
  for _ in range(reps):
    psi = u * sv._walsh_hadamard(psi, n)
  return psi


_state_jit = jax.jit(_state, static_argnums=(1, 2))


@functools.partial(jax.jit, static_argnums=(1, 2))
def _states_jit(xs, ps, reps):
  return jax.vmap(lambda x: _state(x, ps, reps))(xs)


def _check_reps(reps, fn):
  if isinstance(reps, bool) or not isinstance(reps, (int, np.integer)) or reps < 1:
    raise ValueError(f"{fn}: reps must be an int >= 1, got {reps!r}")
  return int(reps)


def feature_state(x, pair_set=None, reps: int = 2) -> jax.Array:
  """|Phi(x)> = (U_Phi(x) H^{(x)n})^reps |0^n>: x [n] -> [2^n] complex (complex128 for float64 x).
  reps = 2 is the paper's map. Differentiable in x."""
  fn = f"{_PKG}.feature_state"
  x = _check_x(x, fn)
  return _state_jit(x, _check_pairs(pair_set, x.shape[0], fn), _check_reps(reps, fn))


def feature_states(xs, pair_set=None, reps: int = 2) -> jax.Array:
  """:func:`feature_state` for a batch: xs [N, n] -> [N, 2^n]."""
  fn = f"{_PKG}.feature_states"
  xs = _check_x(xs, fn, "xs", ndim=2)
  return _states_jit(xs, _check_pairs(pair_set, xs.shape[1], fn), _check_reps(reps, fn))


def fidelity_kernel(xa, xb=None, pair_set=None, reps: int = 2) -> jax.Array:
  """K(x, x') = |<Phi(x)|Phi(x')>|^2: xa [N, n], xb [M, n] (default xa) -> [N, M] in [0, 1]. Differentiable."""
  fn = f"{_PKG}.fidelity_kernel"
  xa = _check_x(xa, fn, "xa", ndim=2)
  xb = xa if xb is None else _check_x(xb, fn, "xb", ndim=2)
  if xa.shape[1] != xb.shape[1]:
    raise ValueError(f"{fn}: xa and xb must have the same number of qubits, got {xa.shape[1]} and {xb.shape[1]}")
  ps = _check_pairs(pair_set, xa.shape[1], fn)
  dtype = jnp.result_type(xa.dtype, xb.dtype)
  return _kernel(xa.astype(dtype), xb.astype(dtype), ps, _check_reps(reps, fn))


@functools.partial(jax.jit, static_argnums=(2, 3))
def _kernel(xa, xb, ps, reps):
  sa = jax.vmap(lambda x: _state(x, ps, reps))(xa)
  sb = jax.vmap(lambda x: _state(x, ps, reps))(xb)
  overlap = jnp.conj(sa) @ sb.T
  return jnp.real(overlap * jnp.conj(overlap))


def shot_kernel(key, k, shots: int, symmetric: bool = True, repair: bool = True) -> jax.Array:
  """The hardware estimate of a kernel: every entry Binomial(R, K_ij)/R (R = ``shots``).

  k: [N, M] exact kernel in [0, 1]. ``symmetric`` (a square training kernel): the upper triangle is sampled
  once and mirrored, the diagonal is 1 (K(x, x) = 1 exactly: the 0^n outcome has probability 1). ``repair``
  projects the square symmetric estimate onto the PSD cone (``psd_repair``), as needed before an SVM.
  Integer-valued in K (Binomial counts): differentiating raises TypeError.
  """
  fn = f"{_PKG}.shot_kernel"
  check_key(key, "key", fn)
  if isinstance(shots, bool) or not isinstance(shots, (int, np.integer)) or shots < 1:
    raise ValueError(f"{fn}: shots (R) must be an int >= 1, got {shots!r}")
  k = jnp.asarray(k)
  if not jnp.issubdtype(k.dtype, jnp.floating) or k.ndim != 2:
    raise ValueError(f"{fn}: k must be a float [N, M] kernel matrix, got {k.dtype} {k.shape}")
  check_finite(k, "k", fn)
  if not isinstance(k, jax.core.Tracer):
    a = np.asarray(k)
    if a.min() < -1e-9 or a.max() > 1 + 1e-9:
      raise ValueError(f"{fn}: k must hold fidelities in [0, 1], got min {a.min():.3g} max {a.max():.3g}")
  if symmetric and k.shape[0] != k.shape[1]:
    raise ValueError(f"{fn}: k must be square with symmetric=True, got shape {k.shape}")
  k = no_grad(k, f"{fn}: k")
  p = jnp.clip(k, 0.0, 1.0)
  est = jax.random.binomial(key, shots, p).astype(k.dtype) / shots
  if not symmetric:
    return est
  upper = jnp.triu(est, 1)
  est = upper + upper.T + jnp.eye(k.shape[0], dtype=k.dtype)
  return psd_repair(est) if repair else est
