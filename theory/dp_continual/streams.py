"""Input streams for continual release and the exact (non-private) targets.

Paper: "The Price of Differential Privacy under Continual Observation", P. Jain, S. Raskhodnikova,
S. Sivakumar, A. Smith, ICML 2023, arXiv:2112.00828. A stream is ``x_1..x_T`` with ``x_t ∈ {0, 1}^d``
(values in ``[0, 1]`` are accepted: every sensitivity bound below only uses ``|x_t[j] − x'_t[j]| ≤ 1``).
Targets: the counts ``S_j(t) = Σ_{i≤t} x_i[j]``, MaxSum ``f_t = max_j S_j(t)`` and, for SumSelect, the
regret ``max_j S_j(t) − S_ĵ(t)`` of a released column ``ĵ``.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array


def check_epsilon_delta(epsilon, delta, need_delta: bool = False) -> tuple[float, float]:
  """Validates a privacy target; returns ``(ε, δ)`` as floats."""
  if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float, np.floating, np.integer)):
    raise TypeError(f"epsilon: expected a positive real number, got {type(epsilon).__name__} {epsilon!r}")
  if not (0 < float(epsilon) < math.inf):
    raise ValueError(f"epsilon: expected a positive finite number, got {epsilon!r}")
  if isinstance(delta, bool) or not isinstance(delta, (int, float, np.floating, np.integer)):
    raise TypeError(f"delta: expected a real number in [0, 1), got {type(delta).__name__} {delta!r}")
  if not (0 <= float(delta) < 1) or (need_delta and float(delta) == 0):
    raise ValueError(f"delta: expected a number in {'(0, 1)' if need_delta else '[0, 1)'}, got {delta!r}")
  return float(epsilon), float(delta)


def check_stream(stream) -> Array:
  """Validates a stream ``[T, d]`` (or ``[T]``, read as ``d = 1``) with entries in ``[0, 1]``; returns a
  float ``[T, d]`` array (the stream's float dtype, float32 for bool / int input). Concrete arrays are
  range-checked; traced arrays only by shape and dtype."""
  if isinstance(stream, jax.core.Tracer):
    x = stream
  else:
    kind = np.asarray(stream).dtype.kind if not isinstance(stream, jax.Array) else "f"
    if kind not in "biuf":
      raise TypeError(f"stream: expected a bool, int or float array, got dtype {np.asarray(stream).dtype}")
    x = jnp.asarray(stream)
  if not (x.dtype == jnp.bool_ or jnp.issubdtype(x.dtype, jnp.integer) or jnp.issubdtype(x.dtype, jnp.floating)):
    raise TypeError(f"stream: expected a bool, int or float array, got dtype {x.dtype}")
  if x.ndim == 1:
    x = x[:, None]
  if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
    raise ValueError(f"stream: expected shape [T, d] or [T] with T, d >= 1, got {tuple(jnp.shape(stream))}")
  if not jnp.issubdtype(x.dtype, jnp.floating):
    x = x.astype(jnp.float32)
  if not isinstance(x, jax.core.Tracer):
    v = np.asarray(x)
    if not np.all(np.isfinite(v)) or v.min() < 0 or v.max() > 1:
      raise ValueError(f"stream: expected entries in [0, 1], got range [{v.min()}, {v.max()}]")
  return x


def bernoulli_stream(key: Array, horizon: int, dim: int, rates=0.5, dtype=jnp.float32) -> Array:
  """``x_t[j] ~ Bernoulli(p_j)`` independently: ``[T, d]``. ``rates``: a number or ``[d]`` in ``[0, 1]``."""
  for name, v in (("horizon", horizon), ("dim", dim)):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
      raise ValueError(f"{name}: expected a positive int, got {v!r}")
  p = jnp.broadcast_to(jnp.asarray(rates, dtype), (dim,)) if jnp.ndim(rates) == 0 else jnp.asarray(rates, dtype)
  if p.shape != (dim,):
    raise ValueError(f"rates: expected a number or shape [{dim}], got shape {p.shape}")
  if not isinstance(p, jax.core.Tracer) and (float(p.min()) < 0 or float(p.max()) > 1):
    raise ValueError(f"rates: expected values in [0, 1], got [{float(p.min())}, {float(p.max())}]")
  return jax.random.bernoulli(key, p, (horizon, dim)).astype(dtype)


def prefix_sums(stream) -> Array:
  """``S_j(t)``: ``[T, d]`` (exact for integer counts below 2^24 in float32)."""
  return jnp.cumsum(check_stream(stream), axis=0)


def max_sum(stream) -> Array:
  """MaxSum ``f_t = max_j S_j(t)``: ``[T]``."""
  return jnp.max(prefix_sums(stream), axis=1)


def selection_regret(stream, selected) -> Array:
  """SumSelect regret ``max_j S_j(t) − S_{ĵ_t}(t)`` of released columns ``selected: [T]`` (int): ``[T]``."""
  s = prefix_sums(stream)
  sel = jnp.asarray(selected)
  if not jnp.issubdtype(sel.dtype, jnp.integer) or sel.shape != (s.shape[0],):
    raise ValueError(f"selected: expected an int array of shape [{s.shape[0]}], got {sel.dtype} {sel.shape}")
  return jnp.max(s, axis=1) - jnp.take_along_axis(s, sel[:, None], axis=1)[:, 0]


def max_abs_error(released, target) -> Array:
  """The continual-release error ``max_t |released_t − target_t|`` over the last axis ``[..., T] → [...]``."""
  return jnp.max(jnp.abs(jnp.asarray(released) - jnp.asarray(target)), axis=-1)
