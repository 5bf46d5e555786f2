"""Euler–Maruyama integration of Itô SDEs dx = f(x, p_t) dt + g(x, p_t) dW with per-step parameters.

Shared simulation for the zoo's stochastic-process papers; first used by paper 20 (``theory/early_warning``:
C. Boettiger, N. Ross, A. Hastings, "Early warning signals: the charted and uncharted territories", Theoretical
Ecology 6:255–264, 2013, arXiv:1305.6700), whose models are driven by parameter ramps toward a fold.

The scheme (Kloeden & Platen 1992, eq. 9.1.1 of ch. 9) with step h and per-step parameters p_k:

    x_{k+1} = x_k + f(x_k, p_k) h + g(x_k, p_k) √h ε_k,   ε_k ~ N(0, I) i.i.d.,

strong order ½ and weak order 1 (for additive noise, strong order 1). The noise is diagonal: ``g`` returns
one amplitude per state component. ``record_every`` steps are taken between recorded points, so a fine
integration step can feed a coarse observation grid without storing the fine path. For linear drift and
additive noise the scheme is the AR(1) recursion x_{k+1} = (1 − θh) x_k + σ√h ε_k, whose mean and variance
have closed forms (the tests use them).
"""
from __future__ import annotations

import functools
import math
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import check_finite

Array = jax.Array
__all__ = ["euler_maruyama"]
Coefficient = Callable[[Array, Any], Array]


def _float_dtype():
  return jnp.asarray(0.0).dtype


@functools.partial(jax.jit, static_argnames=("drift", "diffusion", "record_every", "n_paths", "lower"))
def _em_core(key: Array, x0: Array, params: Any, dt: Array, *, drift: Coefficient, diffusion: Coefficient,
             record_every: int, n_paths: int, lower: float | None) -> Array:
  n_steps = jax.tree_util.tree_leaves(params)[0].shape[0]
  n_rec = n_steps // record_every
  blocks = jax.tree_util.tree_map(lambda a: a.reshape((n_rec, record_every) + a.shape[1:]), params)
  sqrt_dt = jnp.sqrt(dt)

  def one_path(k: Array, x_start: Array) -> Array:
    def fine(carry, p):
      x, i = carry
      eps = jax.random.normal(jax.random.fold_in(k, i), x.shape, x.dtype)
      x = x + drift(x, p) * dt + diffusion(x, p) * sqrt_dt * eps
      if lower is not None:
        x = jnp.maximum(x, lower)
      return (x, i + 1), None

    def coarse(carry, p_block):
      carry, _ = jax.lax.scan(fine, carry, p_block)
      return carry, carry[0]

    _, xs = jax.lax.scan(coarse, (x_start, jnp.zeros((), jnp.uint32)), blocks)
    return jnp.concatenate([x_start[None], xs], axis=0)

  keys = jax.random.split(key, n_paths)
  x0b = jnp.broadcast_to(x0, (n_paths,) + x0.shape[1:])
  return jax.vmap(one_path)(keys, x0b)


def euler_maruyama(key: Array, drift: Coefficient, diffusion: Coefficient, x0, params, *, dt: float,
                   record_every: int = 1, n_paths: int | None = None, lower: float | None = None) -> Array:
  """Simulates dx = f(x, p_t) dt + g(x, p_t) dW by Euler–Maruyama with per-step parameters (ramps).

  Args:
    key: PRNG key.
    drift: ``f(x, p) -> [*S]`` for a state ``x: [*S]`` and one step's parameters ``p`` (a pytree slice).
      Must be a hashable function (module-level or ``functools.partial`` of one) – it is a static argument.
    diffusion: ``g(x, p) -> [*S]`` (diagonal noise amplitudes), same conventions.
    x0: initial state, ``[*S]`` (shared by all paths) or ``[n_paths, *S]`` (one per path: an ``x0`` whose
      leading axis equals ``n_paths`` is always read this way).
    params: pytree whose leaves all have leading axis ``[n_steps]``: step k (from t_k to t_k + dt) uses
      ``p_k``. Constant parameters: repeat them (``jnp.full(n_steps, c)``).
    dt: integration step h > 0.
    record_every: steps between recorded points (``n_steps`` must be a multiple of it).
    n_paths: independent paths (vmapped); None returns one path.
    lower: optional lower bound applied after every step (x ← max(x, lower)), e.g. 0 for populations, where
      the Euler step could overshoot below an absorbing boundary.

  Validation: shapes, dtypes, ``drift``/``diffusion`` outputs (by abstract evaluation) and finite ``x0`` and
  ``params`` (concrete values raise ``ValueError`` naming the index; under ``jit`` a ``checkify`` check).
  Differentiable (pathwise, given the key) in ``x0`` and ``params``.

  Returns:
    ``[n_paths, n_steps // record_every + 1, *S]`` (or without the leading axis when ``n_paths`` is None);
    entry j is the state at time j · record_every · dt.
  """
  fn = "euler_maruyama"
  if not callable(drift):
    raise TypeError(f"{fn}: drift: expected a callable f(x, p), got {type(drift).__name__}")
  if not callable(diffusion):
    raise TypeError(f"{fn}: diffusion: expected a callable g(x, p), got {type(diffusion).__name__}")
  if isinstance(dt, bool) or not isinstance(dt, (int, float, np.floating, np.integer)):
    raise TypeError(f"{fn}: dt: expected a positive real number, got {type(dt).__name__} {dt!r}")
  if not (math.isfinite(float(dt)) and float(dt) > 0):
    raise ValueError(f"{fn}: dt: expected a finite number > 0, got {dt!r}")
  if isinstance(record_every, bool) or not isinstance(record_every, (int, np.integer)) or record_every < 1:
    raise ValueError(f"{fn}: record_every: expected an int >= 1, got {record_every!r}")
  single = n_paths is None
  if not single and (isinstance(n_paths, bool) or not isinstance(n_paths, (int, np.integer)) or n_paths < 1):
    raise ValueError(f"{fn}: n_paths: expected None or an int >= 1, got {n_paths!r}")
  if lower is not None and (isinstance(lower, bool) or not isinstance(lower, (int, float, np.floating, np.integer))
                            or math.isnan(float(lower))):
    raise TypeError(f"{fn}: lower: expected None or a real number, got {type(lower).__name__} {lower!r}")
  n = 1 if single else int(n_paths)
  leaves = jax.tree_util.tree_leaves(params)
  if not leaves:
    raise ValueError(f"{fn}: params: expected a pytree with at least one array leaf of shape [n_steps, ...], got none")
  for leaf in leaves:
    dt_leaf = jnp.asarray(leaf).dtype
    if dt_leaf == jnp.bool_ or not (jnp.issubdtype(dt_leaf, jnp.floating) or jnp.issubdtype(dt_leaf, jnp.integer)):
      raise TypeError(f"{fn}: params: expected real array leaves, got dtype {dt_leaf}")
  lens = {jnp.shape(a)[0] if jnp.ndim(a) > 0 else None for a in leaves}
  if None in lens or len(lens) != 1:
    raise ValueError(f"{fn}: params: expected every leaf to have the same leading axis n_steps, got leading sizes {lens}")
  n_steps = lens.pop()
  if n_steps < 1 or n_steps % record_every:
    raise ValueError(f"{fn}: params: n_steps = {n_steps} must be >= 1 and a multiple of record_every = {record_every}")
  dtype = _float_dtype()
  params = jax.tree_util.tree_map(lambda a: jnp.asarray(a, dtype), params)
  x0 = jnp.asarray(x0, dtype)
  for leaf in jax.tree_util.tree_leaves(params):
    check_finite(leaf, "params", fn)
  check_finite(x0, "x0", fn)
  per_path = not single and x0.ndim >= 1 and x0.shape[0] == n
  x0b = x0 if per_path else x0[None]
  state = jax.ShapeDtypeStruct(x0b.shape[1:], dtype)
  p0 = jax.tree_util.tree_map(lambda a: jax.ShapeDtypeStruct(a.shape[1:], a.dtype), params)
  for name, coef in (("drift", drift), ("diffusion", diffusion)):
    try:
      out = jax.eval_shape(coef, state, p0)
    except Exception as e:  # noqa: BLE001 - the user's function failed on a state of the right shape
      raise TypeError(f"{fn}: {name}: calling it on a state of shape {state.shape} and one step's parameters "
                      f"failed: {type(e).__name__}: {e}") from e
    try:
      ok = hasattr(out, "shape") and jnp.broadcast_shapes(out.shape, state.shape) == state.shape
    except ValueError:
      ok = False
    if not ok:
      raise ValueError(f"{fn}: {name}: expected f(x, p) of shape {state.shape} (the state's), got "
                       f"{getattr(out, 'shape', type(out).__name__)}")
  out = _em_core(key, x0b, params, jnp.asarray(float(dt), dtype), drift=drift, diffusion=diffusion,
                 record_every=int(record_every), n_paths=n, lower=None if lower is None else float(lower))
  return out[0] if single else out

