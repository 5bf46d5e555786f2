"""Sample-based distances between two point clouds, used to score generated samples against a target.

* :func:`sliced_wasserstein`: SW₂(x, y) = (mean over unit directions θ of W₂²(θ·x, θ·y))^{1/2}; the 1-D
  W₂ between equal-size empirical measures is the root mean square difference of the sorted projections
  (Rabin, Peyré, Delon & Bernot 2011, "Wasserstein Barycenter and its Application to Texture Mixing").
* :func:`mmd`: the unbiased squared maximum mean discrepancy with a Gaussian kernel
  (Gretton et al. 2012, "A Kernel Two-Sample Test", JMLR, Lemma 6).

``x, y: [N, D]``. Both distances are differentiable in the samples (the sort in SW₂ is a permutation:
smooth away from ties) and MMD also in the bandwidth.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from kernels.common.checks import is_concrete
from models.common.diffusion import _check_key

Array = jax.Array

__all__ = ["projection_directions", "sliced_wasserstein", "mmd"]


def projection_directions(num: int, dim: int, key: Array | None = None, dtype=None) -> Array:
  """``[num, dim]`` unit directions: for ``dim == 2`` and no key, ``num`` equally spaced angles on the half
  circle (a deterministic quadrature of the circle average); otherwise normalised Gaussian draws."""
  if not isinstance(num, int) or isinstance(num, bool) or num < 1:
    raise ValueError(f"projection_directions: num expected a positive int, got {num!r}")
  if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
    raise ValueError(f"projection_directions: dim expected a positive int, got {dim!r}")
  dtype = dtype or jnp.asarray(0.0).dtype
  if not jnp.issubdtype(dtype, jnp.floating):
    raise TypeError(f"projection_directions: dtype expected a float dtype, got {dtype!r}")
  if key is not None:
    _check_key(key, "key", "projection_directions")
  if key is None:
    if dim != 2:
      raise ValueError(f"projection_directions: without a key only dim == 2 is deterministic, got dim={dim}")
    ang = jnp.arange(num, dtype=dtype) * (math.pi / num)
    return jnp.stack([jnp.cos(ang), jnp.sin(ang)], axis=-1)
  v = jax.random.normal(key, (num, dim), dtype)
  return v / jnp.linalg.norm(v, axis=-1, keepdims=True)


def sliced_wasserstein(x: Array, y: Array, *, num_projections: int = 256, key: Array | None = None) -> Array:
  """Sliced 2-Wasserstein distance (scalar) between the empirical measures of ``x, y: [N, D]`` (equal N).

  Directions from :func:`projection_directions` (deterministic in 2-D when ``key`` is None).
  """
  x, y = jnp.asarray(x), jnp.asarray(y)
  for name, a in (("x", x), ("y", y)):
    if not jnp.issubdtype(a.dtype, jnp.floating):
      raise TypeError(f"sliced_wasserstein: {name} expected a float array, got {a.dtype}")
  if x.ndim != 2 or x.shape != y.shape or x.shape[0] < 1:
    raise ValueError(f"sliced_wasserstein: x, y expected equal shapes [N, D], N >= 1, got {x.shape} and {y.shape}")
  if not isinstance(num_projections, int) or isinstance(num_projections, bool) or num_projections < 1:
    raise ValueError(f"sliced_wasserstein: num_projections expected a positive int, got {num_projections!r}")
  theta = projection_directions(num_projections, x.shape[1], key, x.dtype)
  px = jnp.sort(x @ theta.T, axis=0)
  py = jnp.sort(y @ theta.T, axis=0)
  return jnp.sqrt(jnp.mean((px - py) ** 2))


def mmd(x: Array, y: Array, *, bandwidth: float = 1.0) -> Array:
  """Unbiased MMD² with the kernel k(u, v) = exp(−|u − v|² / (2 bandwidth²)); ``x: [N, D]``, ``y: [M, D]``."""
  x, y = jnp.asarray(x), jnp.asarray(y)
  for name, a in (("x", x), ("y", y)):
    if not jnp.issubdtype(a.dtype, jnp.floating):
      raise TypeError(f"mmd: {name} expected a float array, got {a.dtype}")
  if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or min(x.shape[0], y.shape[0]) < 2:
    raise ValueError(f"mmd: x, y expected [N, D] and [M, D] with N, M >= 2, got {x.shape} and {y.shape}")
  if isinstance(bandwidth, bool) or jnp.ndim(bandwidth) != 0:
    raise ValueError(f"mmd: bandwidth expected a real scalar > 0, got {bandwidth!r}")
  if is_concrete(bandwidth) and not (float(bandwidth) > 0 and math.isfinite(float(bandwidth))):
    raise ValueError(f"mmd: bandwidth expected a finite float > 0, got {bandwidth!r}")

  def k(a, b):
    d2 = jnp.sum(a * a, 1)[:, None] + jnp.sum(b * b, 1)[None, :] - 2 * a @ b.T
    return jnp.exp(-jnp.maximum(d2, 0.0) / (2 * bandwidth ** 2))

  n, m = x.shape[0], y.shape[0]
  kxx, kyy = k(x, x), k(y, y)
  sxx = (jnp.sum(kxx) - jnp.trace(kxx)) / (n * (n - 1))
  syy = (jnp.sum(kyy) - jnp.trace(kyy)) / (m * (m - 1))
  return sxx + syy - 2 * jnp.mean(k(x, y))
