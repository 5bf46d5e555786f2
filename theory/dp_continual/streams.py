"""Input streams for continual release and the exact (non-private) targets.

Paper: "The Price of Differential Privacy under Continual Observation", P. Jain, S. Raskhodnikova,
S. Sivakumar, A. Smith, ICML 2023, arXiv:2112.00828. A stream is ``x_1..x_T`` with ``x_t ∈ {0, 1}^d``
(values in ``[0, 1]`` are accepted: every sensitivity bound below only uses ``|x_t[j] − x'_t[j]| ≤ 1``).
Targets: the counts ``S_j(t) = Σ_{i≤t} x_i[j]``, MaxSum ``f_t = max_j S_j(t)`` and, for SumSelect, the
regret ``max_j S_j(t) − S_ĵ(t)`` of a released column ``ĵ``.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import check_in_range, no_grad
from theory.common import privacy

Array = jax.Array


def check_epsilon_delta(epsilon, delta, need_delta: bool = False, fn: str | None = None,
                        concrete: bool = False) -> tuple:
  """Validates a privacy target; returns ``(ε, δ)`` as Python floats, or as JAX scalars when given JAX scalars
  (range-checked when concrete; traced values pass unchecked, so that calibrations are differentiable).
  ``concrete=True`` (host-side calibrations with integer outputs) refuses traced values with a ``TypeError``
  saying the function is not differentiable."""
  if concrete:
    for name, v in (("epsilon", epsilon), ("delta", delta)):
      if privacy.is_traced(v):
        raise TypeError(f"{fn}: {name}: expected a concrete number, got a traced value: {fn} is a host-side "
                        "calibration with integer outputs (rounds, counts) and is not differentiable")
    epsilon = float(epsilon) if isinstance(epsilon, jax.Array) else epsilon
    delta = float(delta) if isinstance(delta, jax.Array) else delta
  eps = privacy.check_positive("epsilon", epsilon, fn=fn)
  d = privacy.check_delta("delta", delta, allow_zero=not need_delta, fn=fn)
  return eps, d


def check_stream(stream, fn: str = "check_stream") -> Array:
  """Validates a stream ``[T, d]`` (or ``[T]``, read as ``d = 1``) with entries in ``[0, 1]``; returns a
  float ``[T, d]`` array (the stream's float dtype, float32 for bool / int input). Concrete arrays are
  range-checked (NaN and values outside ``[0, 1]`` raise, naming the first index); traced arrays only by shape
  and dtype. ``fn`` names the calling function in the errors."""
  if isinstance(stream, jax.core.Tracer):
    x = stream
  else:
    kind = np.asarray(stream).dtype.kind if not isinstance(stream, jax.Array) else "f"
    if kind not in "biuf":
      raise TypeError(f"{fn}: stream: expected a bool, int or float array, got dtype {np.asarray(stream).dtype}")
    x = jnp.asarray(stream)
  if not (x.dtype == jnp.bool_ or jnp.issubdtype(x.dtype, jnp.integer) or jnp.issubdtype(x.dtype, jnp.floating)):
    raise TypeError(f"{fn}: stream: expected a bool, int or float array, got dtype {x.dtype}")
  if x.ndim == 1:
    x = x[:, None]
  if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
    raise ValueError(f"{fn}: stream: expected shape [T, d] or [T] with T, d >= 1, got {tuple(jnp.shape(stream))}")
  if not jnp.issubdtype(x.dtype, jnp.floating):
    x = x.astype(jnp.float32)
  if not isinstance(x, jax.core.Tracer):
    v = np.asarray(x)
    bad = ~((v >= 0) & (v <= 1))
    if bad.any():
      idx = tuple(int(i) for i in np.argwhere(bad)[0])
      raise ValueError(f"{fn}: stream: expected entries in [0, 1], got {v[idx]} at index {idx} "
                       f"({int(bad.sum())} of {v.size} outside)")
  return x


def bernoulli_stream(key: Array, horizon: int, dim: int, rates=0.5, dtype=jnp.float32) -> Array:
  """``x_t[j] ~ Bernoulli(p_j)`` independently: ``[T, d]``. ``rates``: a number or ``[d]`` in ``[0, 1]``.
  The output is 0/1: differentiating with respect to ``rates`` raises a ``TypeError``."""
  fn = "bernoulli_stream"
  for name, v in (("horizon", horizon), ("dim", dim)):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
      raise ValueError(f"{fn}: {name}: expected a positive int, got {v!r}")
  try:
    dt = jnp.dtype(dtype)
  except TypeError as e:
    raise TypeError(f"{fn}: dtype: expected a dtype, got {dtype!r}") from e
  r = jnp.asarray(rates)
  if r.dtype == jnp.bool_ or not (jnp.issubdtype(r.dtype, jnp.floating) or jnp.issubdtype(r.dtype, jnp.integer)):
    raise TypeError(f"{fn}: rates: expected real values in [0, 1], got dtype {r.dtype}")
  p = jnp.broadcast_to(r, (dim,)) if r.ndim == 0 else r
  if p.shape != (dim,):
    raise ValueError(f"{fn}: rates: expected a number or shape [{dim}], got shape {p.shape}")
  p = p.astype(dt if jnp.issubdtype(dt, jnp.floating) else jnp.float32)
  if not isinstance(p, jax.core.Tracer):
    v = np.asarray(p, np.float64)
    if not np.all((v >= 0) & (v <= 1)):
      raise ValueError(f"{fn}: rates: expected values in [0, 1], got [{v.min()}, {v.max()}]")
  p = no_grad(p, f"theory.dp_continual.{fn}")
  return jax.random.bernoulli(key, p, (horizon, dim)).astype(dt)


def prefix_sums(stream) -> Array:
  """``S_j(t)``: ``[T, d]`` (exact for integer counts below 2^24 in float32)."""
  return jnp.cumsum(check_stream(stream, "prefix_sums"), axis=0)


def max_sum(stream) -> Array:
  """MaxSum ``f_t = max_j S_j(t)``: ``[T]``."""
  return jnp.max(jnp.cumsum(check_stream(stream, "max_sum"), axis=0), axis=1)


def selection_regret(stream, selected) -> Array:
  """SumSelect regret ``max_j S_j(t) − S_{ĵ_t}(t)`` of released columns ``selected: [T]`` (int in ``[0, d)``):
  ``[T]``. Concrete ``selected`` is range-checked; under ``jit`` the check is a ``checkify`` check and an
  unchecked out-of-range column reads the nearest valid one (JAX's clamped gather)."""
  fn = "selection_regret"
  s = jnp.cumsum(check_stream(stream, fn), axis=0)
  sel = jnp.asarray(selected)
  if not jnp.issubdtype(sel.dtype, jnp.integer) or sel.shape != (s.shape[0],):
    raise ValueError(f"{fn}: selected: expected an int array of shape [{s.shape[0]}], got {sel.dtype} {sel.shape}")
  check_in_range(sel, "selected", fn, 0, s.shape[1])
  return jnp.max(s, axis=1) - jnp.take_along_axis(s, sel[:, None], axis=1)[:, 0]


def max_abs_error(released, target) -> Array:
  """The continual-release error ``max_t |released_t − target_t|`` over the last axis ``[..., T] → [...]``
  (``released`` and ``target`` broadcast; T >= 1)."""
  fn = "max_abs_error"
  r, t = privacy.real_array("released", released, fn), privacy.real_array("target", target, fn)
  try:
    shape = jnp.broadcast_shapes(r.shape, t.shape)
  except ValueError:
    raise ValueError(f"{fn}: released, target: shapes {r.shape} and {t.shape} do not broadcast") from None
  if len(shape) < 1 or shape[-1] < 1:
    raise ValueError(f"{fn}: released, target: expected a time axis of length >= 1, got shape {shape}")
  return jnp.max(jnp.abs(r - t), axis=-1)
