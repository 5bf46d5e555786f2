"""Fully connected NNGP kernels (ReLU arc-cosine and erf recursions) and random finite-width networks.

Parametrisation (neural-tangents ``stax`` "standard" NTK-free NNGP, ``Dense(W_std, b_std)``): a hidden layer is
h^{l+1} = W^{l+1} phi(h^l) + b^{l+1} with W_ij ~ N(0, w_std^2 / fan_in), b_i ~ N(0, b_std^2); the first layer acts
on the raw input x: [d] (so K^1(x, x') = b_std^2 + w_std^2 x.x'/d, the input divided by its dimension); the readout
is Dense(1, last_w_std, last_b_std). With ``depth`` hidden layers:

  K^1 = b_std^2 + w_std^2 (x . x') / d
  K^{l+1} = b_std^2 + w_std^2 E[phi(u) phi(v)],  (u, v) ~ N(0, [[K^l(x,x), K^l(x,x')], [., K^l(x',x')]])
  K = last_b_std^2 + last_w_std^2 E[phi(u) phi(v)] at l = depth        (depth = 0: the linear readout of x)

with the closed forms
  ReLU (Cho & Saul 2009, arc-cosine order 1): E = sqrt(k k') (sin t + (pi - t) cos t) / (2 pi),
      t = arccos(K(x,x') / sqrt(k k'));
  erf (Williams 1997): E = (2/pi) arcsin(2 K(x,x') / sqrt((1 + 2k)(1 + 2k'))).
Correlations are clipped into [-1, 1] before arccos/arcsin. The scale mixture multiplies the readout (last_w_std^2
and last_b_std^2) by sigma^2 (Lee et al. 2022, Eq. 3).
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import check_finite

__all__ = ["ACTIVATIONS", "nngp_kernel", "nngp_kernel_diag", "sample_network_outputs"]

_PKG = "theory.nngp_mixture"
ACTIVATIONS = ("relu", "erf")
_EPS = 1e-30


def _check_x(x, name: str, fn: str) -> jax.Array:
  if isinstance(x, (str, bytes)) or x is None:
    raise TypeError(f"{fn}: {name} must be a float array [N, d], got {x!r}")
  x = jnp.asarray(x)
  if jnp.issubdtype(x.dtype, jnp.integer):
    x = x.astype(jnp.float32)
  if not jnp.issubdtype(x.dtype, jnp.floating):
    raise TypeError(f"{fn}: {name} must be a real float array, got dtype {x.dtype}")
  if x.ndim != 2 or x.shape[1] < 1:
    raise ValueError(f"{fn}: {name} must have shape [N, d] with d >= 1, got {x.shape}")
  check_finite(x, name, fn)
  return x


def _check_arch(fn, depth, activation, w_std, b_std, last_w_std, last_b_std):
  if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 0:
    raise ValueError(f"{fn}: depth must be an int >= 0 (hidden layers), got {depth!r}")
  if activation not in ACTIVATIONS:
    raise ValueError(f"{fn}: activation must be one of {ACTIVATIONS}, got {activation!r}")
  for name, v in (("w_std", w_std), ("b_std", b_std), ("last_w_std", last_w_std), ("last_b_std", last_b_std)):
    if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) or not np.isfinite(v) \
        or v < 0:
      raise ValueError(f"{fn}: {name} must be a finite float >= 0, got {v!r}")
  return int(depth)


def _expect(act, kxy, kxx, kyy):
  """E[phi(u) phi(v)] for the bivariate normal with variances kxx, kyy and covariance kxy."""
  if act == "relu":
    s = jnp.sqrt(jnp.maximum(kxx * kyy, _EPS))
    c = jnp.clip(kxy / s, -1.0, 1.0)
    t = jnp.arccos(c)
    return s * (jnp.sqrt(jnp.maximum(1.0 - c * c, 0.0)) + (jnp.pi - t) * c) / (2.0 * jnp.pi)
  den = jnp.sqrt((1.0 + 2.0 * kxx) * (1.0 + 2.0 * kyy))
  return (2.0 / jnp.pi) * jnp.arcsin(jnp.clip(2.0 * kxy / den, -1.0, 1.0))


def _expect_diag(act, k):
  """E[phi(u)^2], u ~ N(0, k): the diagonal in closed form (the cross formula's arccos has an infinite slope at
  correlation 1, which would give NaN derivatives)."""
  if act == "relu":
    return 0.5 * k
  return (2.0 / jnp.pi) * jnp.arcsin(2.0 * k / (1.0 + 2.0 * k))


def nngp_kernel(xa, xb=None, *, depth: int = 1, activation: str = "relu", w_std: float = 1.0, b_std: float = 0.0,
                last_w_std: float = 1.0, last_b_std: float = 0.0) -> jax.Array:
  """The NNGP output kernel K(xa_i, xb_j): xa [N, d], xb [M, d] (default xa) -> [N, M] (in the inputs' dtype).

  depth: hidden layers (0 = the linear readout of x); activation: "relu" | "erf"; w_std, b_std: hidden-layer
  weight / bias standard deviations (weights N(0, w_std^2 / fan_in)); last_w_std, last_b_std: the readout's.
  Differentiable in the inputs, except the ReLU kernel between two distinct points with exactly parallel
  pre-activations (correlation +-1: the arccos slope is infinite there; the diagonal K(x, x) is exact).
  """
  fn = f"{_PKG}.nngp_kernel"
  xa = _check_x(xa, "xa", fn)
  xb = xa if xb is None else _check_x(xb, "xb", fn)
  if xa.shape[1] != xb.shape[1]:
    raise ValueError(f"{fn}: xa and xb must have the same dimension d, got {xa.shape[1]} and {xb.shape[1]}")
  depth = _check_arch(fn, depth, activation, w_std, b_std, last_w_std, last_b_std)
  dtype = jnp.result_type(xa.dtype, xb.dtype)
  return _kernel(xa.astype(dtype), xb.astype(dtype), depth, activation, float(w_std) ** 2, float(b_std) ** 2,
                 float(last_w_std) ** 2, float(last_b_std) ** 2)


@functools.partial(jax.jit, static_argnums=(2, 3, 4, 5, 6, 7))
def _kernel(xa, xb, depth, activation, w2, b2, lw2, lb2):
  d = xa.shape[1]
  first_w, first_b = (lw2, lb2) if depth == 0 else (w2, b2)
  kxy = first_b + first_w * (xa @ xb.T) / d
  kxx = (first_b + first_w * jnp.sum(xa * xa, 1) / d)[:, None]
  kyy = (first_b + first_w * jnp.sum(xb * xb, 1) / d)[None, :]
  for layer in range(depth):
    exy = _expect(activation, kxy, kxx, kyy)
    exx = _expect_diag(activation, kxx)
    eyy = _expect_diag(activation, kyy)
    w, b = (lw2, lb2) if layer == depth - 1 else (w2, b2)
    kxy, kxx, kyy = b + w * exy, b + w * exx, b + w * eyy
  return kxy


def nngp_kernel_diag(x, *, depth: int = 1, activation: str = "relu", w_std: float = 1.0, b_std: float = 0.0,
                     last_w_std: float = 1.0, last_b_std: float = 0.0) -> jax.Array:
  """K(x_i, x_i): x [N, d] -> [N] (the diagonal of :func:`nngp_kernel` without the N x N matrix)."""
  fn = f"{_PKG}.nngp_kernel_diag"
  x = _check_x(x, "x", fn)
  depth = _check_arch(fn, depth, activation, w_std, b_std, last_w_std, last_b_std)
  return _diag(x, depth, activation, float(w_std) ** 2, float(b_std) ** 2, float(last_w_std) ** 2,
               float(last_b_std) ** 2)


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4, 5, 6))
def _diag(x, depth, activation, w2, b2, lw2, lb2):
  fw, fb = (lw2, lb2) if depth == 0 else (w2, b2)
  k = fb + fw * jnp.sum(x * x, 1) / x.shape[1]
  for layer in range(depth):
    w, b = (lw2, lb2) if layer == depth - 1 else (w2, b2)
    k = b + w * _expect_diag(activation, k)
  return k


def sample_network_outputs(key, x, *, n_nets: int, width: int, depth: int = 1, activation: str = "relu",
                           w_std: float = 1.0, b_std: float = 0.0, last_w_std: float = 1.0,
                           last_b_std: float = 0.0, scale2=None, chunk: int = 100) -> jax.Array:
  """Outputs of ``n_nets`` independent random finite networks (``depth`` hidden layers of ``width`` units, one
  output) at the inputs x: [N, d] -> [n_nets, N], drawn in the parametrisation of :func:`nngp_kernel`.

  scale2: optional [n_nets] positive last-layer variance multipliers sigma^2 (the scale-mixture initialisation:
  readout weights and bias multiplied by sigma); None = 1. Evaluated in chunks of ``chunk`` networks
  (``lax.map``). A sampler: differentiating raises TypeError.
  """
  from kernels.common.checks import no_grad
  fn = f"{_PKG}.sample_network_outputs"
  x = _check_x(x, "x", fn)
  depth = _check_arch(fn, depth, activation, w_std, b_std, last_w_std, last_b_std)
  for name, v in (("n_nets", n_nets), ("width", width), ("chunk", chunk)):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
      raise ValueError(f"{fn}: {name} must be an int >= 1, got {v!r}")
  x = no_grad(x, f"{fn}: x")
  dtype = x.dtype
  if scale2 is None:
    scale2 = jnp.ones((n_nets,), dtype)
  else:
    scale2 = jnp.asarray(scale2, dtype)
    if scale2.shape != (n_nets,):
      raise ValueError(f"{fn}: scale2 must have shape [n_nets] = ({n_nets},), got {scale2.shape}")
    if not bool(jnp.all(scale2 > 0)):
      raise ValueError(f"{fn}: scale2 must be > 0 everywhere")
  n_pad = -(-n_nets // chunk) * chunk
  s2 = jnp.concatenate([scale2, jnp.ones((n_pad - n_nets,), dtype)])
  out = _sample_nets(key, x, s2, n_pad // chunk, chunk, int(width), depth, activation, float(w_std), float(b_std),
                     float(last_w_std), float(last_b_std))
  return out[:n_nets]


@functools.partial(jax.jit, static_argnums=(3, 4, 5, 6, 7, 8, 9, 10, 11))
def _sample_nets(key, x, s2, n_chunks, chunk, width, depth, activation, w_std, b_std, last_w_std, last_b_std):
  phi = jax.nn.relu if activation == "relu" else jax.scipy.special.erf
  dtype = x.dtype
  d = x.shape[1]

  def one(k, s2):
    keys = jax.random.split(k, 2 * depth + 2)
    h = x
    fan = d
    for l in range(depth):
      w = jax.random.normal(keys[2 * l], (fan, width), dtype) * (w_std / np.sqrt(fan))
      b = jax.random.normal(keys[2 * l + 1], (width,), dtype) * b_std
      h = (h if l == 0 else phi(h)) @ w + b
      fan = width
    feat = x if depth == 0 else phi(h)
    v = jax.random.normal(keys[-2], (fan,), dtype) * (last_w_std / np.sqrt(fan))
    c = jax.random.normal(keys[-1], (), dtype) * last_b_std
    return jnp.sqrt(s2) * (feat @ v + c)

  keys = jax.random.split(key, n_chunks * chunk)
  if n_chunks == 1:
    return jax.vmap(one)(keys, s2)
  out = jax.lax.map(lambda a: jax.vmap(one)(*a), (keys.reshape(n_chunks, chunk, *keys.shape[1:]),
                                                   s2.reshape(n_chunks, chunk)))
  return out.reshape(n_chunks * chunk, x.shape[0])
