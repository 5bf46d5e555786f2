"""Synthetic generators."""
from __future__ import annotations

import jax
import jax.numpy as jnp


def random_patterns(key: jax.Array, n: int, d: int, kind: str = "binary", dtype=jnp.float32) -> jax.Array:
  """``n`` random patterns ``[n, d]``: ``binary`` = uniform ±1, ``gaussian`` = N(0, 1) entries,
  ``sphere`` = uniform on the sphere of radius sqrt(d)."""
  if kind == "binary":
    return jnp.where(jax.random.bernoulli(key, 0.5, (n, d)), 1.0, -1.0).astype(dtype)
  if kind == "gaussian":
    return jax.random.normal(key, (n, d), dtype)
  if kind == "sphere":
    x = jax.random.normal(key, (n, d), dtype)
    return x * jnp.sqrt(d) / jnp.linalg.norm(x, axis=-1, keepdims=True)
  raise ValueError(f"kind: expected 'binary', 'gaussian' or 'sphere', got {kind!r}")
