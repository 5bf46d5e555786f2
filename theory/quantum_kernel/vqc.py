"""The variational quantum classifier (Havlíček et al. 2019, the "quantum variational classification" part).

W(theta) = U_loc^(l)(theta_l) U_ent ... U_loc^(1)(theta_1) U_ent U_loc^(0)(theta_0): l entangling layers U_ent
(controlled-Z on every edge, a diagonal sign) between l + 1 layers of single-qubit rotations
U(theta_{k,t}) = exp(i theta^z Z / 2) exp(i theta^y Y / 2). The label is read from the parity f(z) = prod_k z_k:
p_y(x) = <Phi(x)| W^dag M_y W |Phi(x)>, M_y = (I + y f)/2, so p_y = (1 + y <f>)/2, and the decision is
y_hat = sign(<f> + b). The training cost is the paper's smooth empirical risk: each point's probability of being
misclassified with R shots, approximated by
  sig( sqrt(R) (1/2 - (p_y - y b / 2)) / sqrt(2 (1 - p_y) p_y) ),  sig(v) = 1 / (1 + e^{-v}),
averaged over the training set. Training: Adam on exact expectations (:func:`train_vqc`), or SPSA on shot
estimates of p_y (:func:`train_vqc_spsa`, the paper's hardware optimiser).
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import optax

from kernels.common.checks import check_finite, check_key, no_grad
from theory.common import statevector as sv
from theory.quantum_kernel.feature_map import _check_pairs, _check_x, _state

_PKG = "theory.quantum_kernel"
_DENSE_LAYER_MAX = 6   # up to 6 qubits a rotation layer is one 2^n x 2^n Kronecker product (faster to compile)
P_FLOOR = 1e-6   # p_y is clipped to [P_FLOOR, 1 - P_FLOOR] inside the risk (the surrogate's denominator)


class VQCParams(NamedTuple):
  """theta: [depth + 1, n, 2] rotation angles (theta^z, theta^y) per layer and qubit; bias: [] b."""
  theta: jax.Array
  bias: jax.Array


class VQCTrace(NamedTuple):
  """Training result: params (final VQCParams) and risk: [steps] the cost at every step (exact for Adam, the
  shot estimate of the cost at theta_k for SPSA)."""
  params: VQCParams
  risk: jax.Array


def _rotation(tz, ty):
  c, s = jnp.cos(ty / 2), jnp.sin(ty / 2)
  ry = jnp.array([[c, s], [-s, c]])                                  # exp(i ty Y / 2)
  rz = jnp.array([jnp.exp(0.5j * tz), jnp.exp(-0.5j * tz)])          # exp(i tz Z / 2), diagonal
  return rz[:, None] * ry


def _cz_diag(n, edges, dtype):
  bits = (np.arange(2 ** n)[:, None] >> np.arange(n)[None, :]) & 1
  sign = np.ones(2 ** n)
  for a, b in edges:
    sign = sign * np.where(bits[:, a] & bits[:, b], -1.0, 1.0)
  return jnp.asarray(sign, dtype)


def _parity(n, dtype):
  return jnp.prod(sv.z_signs(n, dtype), axis=1)


def _apply_w(psi, theta, edges):
  n = theta.shape[1]
  cz = _cz_diag(n, edges, psi.dtype)
  for t in range(theta.shape[0]):
    if t > 0:
      psi = cz * psi
    rots = [_rotation(theta[t, k, 0], theta[t, k, 1]).astype(psi.dtype) for k in range(n)]
    if n <= _DENSE_LAYER_MAX:
      # the rotation layer as one Kronecker product (qubit k = bit k: qubit n-1 is the leftmost factor)
      psi = functools.reduce(jnp.kron, rots[::-1]) @ psi
    else:
      for k in range(n):
        psi = sv.apply_gate(psi, rots[k], k)
  return psi


def _check_params(params: VQCParams, n: int, fn: str) -> VQCParams:
  if not isinstance(params, VQCParams):
    raise TypeError(f"{fn}: params must be VQCParams(theta, bias), got {type(params).__name__}")
  theta = jnp.asarray(params.theta)
  if not jnp.issubdtype(theta.dtype, jnp.floating) or theta.ndim != 3 or theta.shape[1:] != (n, 2):
    raise ValueError(f"{fn}: params.theta must be a float [depth + 1, n, 2] = [l + 1, {n}, 2] array, got "
                     f"{theta.dtype} {theta.shape}")
  bias = jnp.asarray(params.bias)
  if bias.ndim != 0 or not jnp.issubdtype(bias.dtype, jnp.floating):
    raise ValueError(f"{fn}: params.bias must be a float scalar, got {bias.dtype} {bias.shape}")
  check_finite(theta, "params.theta", fn)
  return VQCParams(theta, bias)


def init_params(key, n: int, depth: int, dtype=jnp.float32) -> VQCParams:
  """theta uniform in [0, 2 pi), bias 0: VQCParams with theta [depth + 1, n, 2]."""
  fn = f"{_PKG}.init_params"
  check_key(key, "key", fn)
  for name, v, lo in (("n", n, 1), ("depth", depth, 0)):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
      raise ValueError(f"{fn}: {name} must be an int >= {lo}, got {v!r}")
  theta = jax.random.uniform(key, (int(depth) + 1, int(n), 2), dtype, 0.0, 2 * jnp.pi)
  return VQCParams(theta, jnp.zeros((), dtype))


def _expectations(params, xs, ps, edges):
  n = xs.shape[1]

  def one(x):
    psi = _apply_w(_state(x, ps, 2), params.theta.astype(x.dtype), edges)
    return sv.expectation_diagonal(psi, _parity(n, x.dtype))
  return jax.vmap(one)(xs)


def vqc_expectation(params: VQCParams, xs, pair_set=None, edges=None) -> jax.Array:
  """<f>(x) = <Phi(x)| W^dag f W |Phi(x)> for xs [N, n] -> [N] in [-1, 1] (differentiable in params and xs).

  pair_set: the feature map's ZZ pairs (default all); edges: the CZ edges of U_ent (default the same set).
  """
  fn = f"{_PKG}.vqc_expectation"
  xs = _check_x(xs, fn, "xs", ndim=2)
  n = xs.shape[1]
  params = _check_params(params, n, fn)
  ps = _check_pairs(pair_set, n, fn)
  return _expectations(params, xs, ps, _check_pairs(edges if edges is not None else ps, n, fn))


def _risk_from_expectation(ev, y, bias, shots):
  p = jnp.clip((1.0 + y * ev) / 2.0, P_FLOOR, 1.0 - P_FLOOR)
  arg = jnp.sqrt(shots) * (0.5 - (p - y * bias / 2.0)) / jnp.sqrt(2.0 * (1.0 - p) * p)
  return jnp.mean(jax.nn.sigmoid(arg))


def _check_labels(y, n: int, fn: str) -> jax.Array:
  y = jnp.asarray(y)
  if not jnp.issubdtype(y.dtype, jnp.floating) or y.shape != (n,):
    raise ValueError(f"{fn}: y must be float labels [N] = ({n},) in {{-1, +1}}, got {y.dtype} {y.shape}")
  if not isinstance(y, jax.core.Tracer) and not np.all(np.abs(np.asarray(y)) == 1):
    raise ValueError(f"{fn}: y must hold labels in {{-1, +1}}, got {np.unique(np.asarray(y))[:5]}")
  return y


def _check_shots(shots, fn):
  if isinstance(shots, bool) or not isinstance(shots, (int, np.integer)) or shots < 1:
    raise ValueError(f"{fn}: shots (R) must be an int >= 1, got {shots!r}")
  return int(shots)


def vqc_risk(params: VQCParams, xs, y, shots: int = 200, pair_set=None, edges=None) -> jax.Array:
  """The paper's smooth empirical risk (mean over points of the surrogate misclassification probability): []."""
  fn = f"{_PKG}.vqc_risk"
  xs = _check_x(xs, fn, "xs", ndim=2)
  y = _check_labels(y, xs.shape[0], fn)
  shots = _check_shots(shots, fn)
  ev = vqc_expectation(params, xs, pair_set, edges)
  return _risk_from_expectation(ev, y.astype(ev.dtype), params.bias.astype(ev.dtype), float(shots))


def vqc_predict(params: VQCParams, xs, pair_set=None, edges=None) -> jax.Array:
  """sign(<f> + b) in {-1, +1}: [N] float (ties go to +1). Piecewise constant: differentiating raises
  TypeError."""
  fn = f"{_PKG}.vqc_predict"
  xs = _check_x(xs, fn, "xs", ndim=2)
  params = no_grad(_check_params(params, xs.shape[1], fn), f"{fn}: params")
  xs = no_grad(xs, f"{fn}: xs")
  ev = vqc_expectation(params, xs, pair_set, edges)
  return jnp.where(ev + params.bias >= 0, 1.0, -1.0).astype(ev.dtype)


def _check_steps(steps, lr, fn):
  if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
    raise ValueError(f"{fn}: steps must be an int >= 1, got {steps!r}")
  if isinstance(lr, bool) or not isinstance(lr, (int, float, np.floating)) or not lr > 0:
    raise ValueError(f"{fn}: lr must be a float > 0, got {lr!r}")


def train_vqc(params: VQCParams, xs, y, steps: int = 300, lr: float = 0.05, shots: int = 200,
              pair_set=None, edges=None) -> VQCTrace:
  """Adam (optax) on the exact-expectation risk :func:`vqc_risk`, ``steps`` full-batch steps in a lax.scan."""
  fn = f"{_PKG}.train_vqc"
  xs = _check_x(xs, fn, "xs", ndim=2)
  n = xs.shape[1]
  params = _check_params(params, n, fn)
  y = _check_labels(y, xs.shape[0], fn)
  shots = _check_shots(shots, fn)
  _check_steps(steps, lr, fn)
  ps = _check_pairs(pair_set, n, fn)
  es = _check_pairs(edges if edges is not None else ps, n, fn)
  return _train_adam(params, xs, y.astype(xs.dtype), int(steps), float(lr), float(shots), ps, es)


@functools.partial(jax.jit, static_argnums=(3, 4, 5, 6, 7))
def _train_adam(params, xs, y, steps, lr, shots, ps, es):
  opt = optax.adam(lr)
  params = VQCParams(params.theta.astype(xs.dtype), params.bias.astype(xs.dtype))

  def loss(p):
    return _risk_from_expectation(_expectations(p, xs, ps, es), y, p.bias, shots)

  def step(carry, _):
    p, s = carry
    val, g = jax.value_and_grad(loss)(p)
    upd, s = opt.update(g, s, p)
    return (optax.apply_updates(p, upd), s), val

  (p, _), risks = jax.lax.scan(step, (params, opt.init(params)), None, length=steps)
  return VQCTrace(p, risks)


def train_vqc_spsa(key, params: VQCParams, xs, y, steps: int = 300, shots: int = 1000, a: float = 0.2,
                   c: float = 0.1, pair_set=None, edges=None) -> VQCTrace:
  """SPSA (Spall 1998: a_k = a / (k + 1)^0.602, c_k = c / (k + 1)^0.101, Rademacher perturbations of every
  parameter, bias included) on the risk evaluated from shot estimates p_hat_y = Binomial(R, p_y) / R, as on
  hardware. The returned risk is the mean of the two shot-estimated costs at each step. Binomial shot counts:
  differentiating raises TypeError."""
  fn = f"{_PKG}.train_vqc_spsa"
  check_key(key, "key", fn)
  xs = _check_x(xs, fn, "xs", ndim=2)
  n = xs.shape[1]
  params = _check_params(params, n, fn)
  y = _check_labels(y, xs.shape[0], fn)
  shots = _check_shots(shots, fn)
  _check_steps(steps, a, fn)
  if isinstance(c, bool) or not isinstance(c, (int, float, np.floating)) or not c > 0:
    raise ValueError(f"{fn}: c must be a float > 0, got {c!r}")
  ps = _check_pairs(pair_set, n, fn)
  es = _check_pairs(edges if edges is not None else ps, n, fn)
  params = no_grad(params, f"{fn}: params (shot-sampled costs)")
  return _train_spsa(key, params, xs, y.astype(xs.dtype), int(steps), int(shots), float(a), float(c), ps, es)


@functools.partial(jax.jit, static_argnums=(4, 5, 6, 7, 8, 9))
def _train_spsa(key, params, xs, y, steps, shots, a, c, ps, es):
  flat0, unravel = jax.flatten_util.ravel_pytree(VQCParams(params.theta.astype(xs.dtype),
                                                           params.bias.astype(xs.dtype)))

  def shot_risk(k, flat):
    p = unravel(flat)
    ev = _expectations(p, xs, ps, es)
    prob1 = (1.0 + ev) / 2.0                                          # P(parity = +1)
    est = jax.random.binomial(k, shots, jnp.clip(prob1, 0.0, 1.0)).astype(xs.dtype) / shots
    return _risk_from_expectation(2.0 * est - 1.0, y, p.bias, float(shots))

  def step(carry, k_idx):
    flat, key = carry
    key, kd, kp, km = jax.random.split(key, 4)
    ak = a / (k_idx + 1.0) ** 0.602
    ck = c / (k_idx + 1.0) ** 0.101
    delta = jax.random.rademacher(kd, flat.shape, flat.dtype)
    lp, lm = shot_risk(kp, flat + ck * delta), shot_risk(km, flat - ck * delta)
    flat = flat - ak * (lp - lm) / (2.0 * ck) * delta
    return (flat, key), 0.5 * (lp + lm)

  (flat, _), risks = jax.lax.scan(step, (flat0, key), jnp.arange(steps, dtype=xs.dtype))
  return VQCTrace(unravel(flat), risks)
