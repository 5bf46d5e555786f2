"""One-bit predictions for paging: the true bits, the k-phase partition, noise, and error counts.

Paper: "Paging with Succinct Predictions", Antoniadis, Boyar, Eliáš, Favrholdt, Hoeksma, Larsen, Polak,
Simon (ICML 2023), arXiv:2210.02775.

Discard bit of request t (page p): 1 iff the fixed optimal run (``belady`` in ``simulate``: FitF, ties to
the smallest page id) evicts p before p's next request, or p is never requested again; 0 means that run
keeps p until its next request.

Phase bit of request t: 1 iff page r_t is requested in the k-phase after the one containing t. The
k-phase partition splits the input greedily into maximal blocks with at most k distinct pages; c_i, the
number of "new" pages of phase i, counts the distinct pages of phase i that were not requested in
phase i-1.

Error counts (the paper's eta_0 / eta_1 split): eta_0 = requests predicted 0 whose true bit is 1,
eta_1 = requests predicted 1 whose true bit is 0.

Invalid values: as in :mod:`theory.paging.simulate`, concrete page ids outside ``[0, n_pages)`` and bits
outside {0, 1} raise ``ValueError`` with the index; under ``jit`` the check is a ``checkify`` debug check and
an unchecked call marks the result invalid instead of returning wrong bits: every entry of
``phase_partition`` / ``phase_bits`` / ``discard_bits`` is -1 (``new`` False) for a sequence with an invalid
id, ``perturb`` returns -1 at an invalid bit, ``prediction_errors`` returns -1 counts for a row with one.
``n_pages`` is required when ``pages`` is traced.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

from kernels.common.checks import is_concrete, no_grad
from theory.paging.simulate import (check_bits, check_pages, ids_valid, mark_invalid, next_use_unchecked,
                                    resolve_universe, simulate_unchecked)

NOISE_MODES: tuple[str, ...] = ("flip", "one_to_zero", "zero_to_one", "all_zero", "all_one", "invert")


class PhasePartition(NamedTuple):
  """phase: [T] int32 phase index of each request; new: [T] bool, request t is the first request in its
  phase of a page absent from the previous phase (so ``new.sum()`` = sum_i c_i); n_phases: []."""
  phase: jax.Array
  new: jax.Array
  n_phases: jax.Array


class Errors(NamedTuple):
  """eta0: [...] predicted 0, truly 1; eta1: [...] predicted 1, truly 0 (counts over the last axis)."""
  eta0: jax.Array
  eta1: jax.Array


def _check_k(k, fn: str) -> int:
  if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
    raise ValueError(f"{fn}: k: expected a positive integer cache size, got {k!r}")
  return int(k)


@functools.partial(jax.jit, static_argnames=("k", "n_pages"))
def _phase_partition(pages, *, k, n_pages):
  i32 = jnp.int32

  def step(c, p):
    seen, phase, distinct = c
    fresh = seen[p] != phase
    start = fresh & (distinct == k)
    phase = phase + start.astype(i32)
    distinct = jnp.where(start, 1, distinct + fresh.astype(i32))
    new = (seen[p] != phase) & (seen[p] != phase - 1)
    return (seen.at[p].set(phase), phase, distinct), (phase, new)

  init = (jnp.full((n_pages,), -2, i32), jnp.zeros((), i32), jnp.zeros((), i32))
  (_, last, _), (phase, new) = jax.lax.scan(step, init, pages)
  return PhasePartition(phase, new, last + 1)


def phase_partition(pages, k: int, n_pages: int | None = None) -> PhasePartition:
  """The k-phase partition of the input. pages: [T] int ids in ``[0, n_pages)`` -> ``PhasePartition``
  (under ``jit``, an invalid id gives ``phase`` and ``n_phases`` -1 and ``new`` all False)."""
  fn = "theory.paging.phase_partition"
  pages = check_pages(pages, fn=fn)
  k = _check_k(k, fn)
  n = resolve_universe(pages, n_pages, fn)
  part = _phase_partition(pages, k=k, n_pages=n)
  valid = ids_valid(pages, n)
  return PhasePartition(*(mark_invalid(v, valid) for v in part))


@functools.partial(jax.jit, static_argnames=("k", "n_pages"))
def _phase_bits(pages, *, k, n_pages):
  phase = _phase_partition(pages, k=k, n_pages=n_pages).phase
  never = jnp.iinfo(jnp.int32).max
  i32 = jnp.int32

  # Reverse scan; per page f1 = phase of its next request, f2 = the first phase after f1 in which it
  # is requested again. The first phase after phi(t) holding a request of r_t is f1 if f1 > phi(t), else f2.
  def step(c, xs):
    f1, f2 = c
    p, ph = xs
    a, b = f1[p], f2[p]
    first_after = jnp.where(a > ph, a, b)
    bit = (first_after == ph + 1).astype(i32)
    same = a == ph
    f2 = f2.at[p].set(jnp.where(same, b, a))
    f1 = f1.at[p].set(ph)
    return (f1, f2), bit

  init = (jnp.full((n_pages,), never, i32), jnp.full((n_pages,), never, i32))
  _, bits = jax.lax.scan(step, init, (pages, phase), reverse=True)
  return bits


def _batched(core, pages, k, n_pages, fn):
  if np.ndim(pages) not in (1, 2):
    raise ValueError(f"{fn}: pages: expected [T] or [R, T], got shape {np.shape(pages)}")
  pages = check_pages(pages, ndim=np.ndim(pages), fn=fn)
  k, n = _check_k(k, fn), resolve_universe(pages, n_pages, fn)

  def one(p):
    return mark_invalid(core(p, k=k, n_pages=n), ids_valid(p, n))

  return one(pages) if pages.ndim == 1 else jax.vmap(one)(pages)


def phase_bits(pages, k: int, n_pages: int | None = None) -> jax.Array:
  """True phase bits: [T] (or [R, T]) int32, 1 iff page r_t is requested in the k-phase after t's (under
  ``jit``, -1 everywhere in a row with an id outside ``[0, n_pages)``)."""
  return _batched(_phase_bits, pages, k, n_pages, "theory.paging.phase_bits")


@functools.partial(jax.jit, static_argnames=("k", "n_pages"))
def _discard_bits(pages, *, k, n_pages):
  t_len = pages.shape[0]
  opt = simulate_unchecked(pages, jnp.zeros_like(pages), jax.random.PRNGKey(0), k=k, n_pages=n_pages,
                           algorithm="belady")
  idx = jnp.where(opt.evicted_request >= 0, opt.evicted_request, t_len)  # t_len = dropped
  evicted = jnp.zeros((t_len,), jnp.int32).at[idx].set(1, mode="drop")
  never_again = next_use_unchecked(pages, n_pages) == t_len
  return jnp.maximum(evicted, never_again.astype(jnp.int32))


def discard_bits(pages, k: int, n_pages: int | None = None) -> jax.Array:
  """True discard bits from one fixed FitF run: int32, 1 = evicted before the next request (or the
  page is never requested again), 0 = kept until its next request. pages: [T] or [R, T] -> same shape
  (under ``jit``, -1 everywhere in a row with an id outside ``[0, n_pages)``)."""
  return _batched(_discard_bits, pages, k, n_pages, "theory.paging.discard_bits")


def perturb(key: jax.Array, bits, mode: str = "flip", rate: float = 0.0) -> jax.Array:
  """Noisy predictions from true bits.

  Args:
    key: PRNG key (used by the random modes).
    bits: [..., T] true 0/1 bits.
    mode: ``flip`` (each bit flipped independently with prob. ``rate``: both error kinds),
      ``one_to_zero`` (each 1 becomes 0 with prob. ``rate``: only eta_0 errors), ``zero_to_one``
      (each 0 becomes 1 with prob. ``rate``: only eta_1 errors), or the adversarial ``all_zero``,
      ``all_one``, ``invert`` (``rate`` ignored).
    rate: flip probability in [0, 1], a number or a scalar array (may be traced; a concrete rate
      outside [0, 1] raises, a traced one is clipped to [0, 1] after a debug check). The output is
      integer-valued, so differentiating with respect to ``rate`` raises ``TypeError``.

  Returns:
    [..., T] int32 predicted bits (-1 at an input bit outside {0, 1}, possible only under ``jit``).
  """
  fn = "theory.paging.perturb"
  if mode not in NOISE_MODES:
    raise ValueError(f"{fn}: mode: expected one of {NOISE_MODES}, got {mode!r}")
  rate = _probability(rate, "rate", fn)
  b = check_bits(bits, np.shape(bits), fn=fn)
  ok = (b == 0) | (b == 1)
  if mode == "all_zero":
    out = jnp.zeros_like(b)
  elif mode == "all_one":
    out = jnp.ones_like(b)
  elif mode == "invert":
    out = 1 - b
  else:
    u = jax.random.uniform(key, b.shape) < rate
    if mode == "flip":
      out = jnp.where(u, 1 - b, b)
    elif mode == "one_to_zero":
      out = jnp.where(u & (b == 1), 0, b)
    else:
      out = jnp.where(u & (b == 0), 1, b)
  return jnp.where(ok, out, -1)


def _probability(v, name: str, fn: str) -> jax.Array:
  """A scalar probability in [0, 1] (a number or a scalar array): concrete values checked (``ValueError``),
  traced ones debug-checked and clipped; marked non-differentiable (the callers return integers)."""
  if isinstance(v, bool) or not (isinstance(v, (int, float, np.integer, np.floating, np.ndarray, jax.Array))):
    raise TypeError(f"{fn}: {name}: expected a probability in [0, 1], got {type(v).__name__} {v!r}")
  if np.ndim(v) != 0:
    raise ValueError(f"{fn}: {name}: expected a scalar probability in [0, 1], got shape {np.shape(v)}")
  if not jnp.issubdtype(jnp.result_type(v), jnp.number) or jnp.issubdtype(jnp.result_type(v), jnp.complexfloating):
    raise TypeError(f"{fn}: {name}: expected a real probability in [0, 1], got dtype {jnp.result_type(v)}")
  if is_concrete(v):
    if not 0.0 <= float(v) <= 1.0:
      raise ValueError(f"{fn}: {name}: expected a probability in [0, 1], got {v!r}")
  else:
    checkify.debug_check((v >= 0) & (v <= 1), f"{fn}: {name}: expected a probability in [0, 1], got {{v}}", v=v)
  v = jnp.asarray(v, jnp.promote_types(jnp.result_type(v), jnp.float32))
  return jnp.clip(no_grad(v, f"{fn} (an integer-valued sampler) in {name}"), 0.0, 1.0)


def prediction_errors(predicted, true) -> Errors:
  """eta_0 and eta_1 of predictions against the true bits (counted over the last axis); under ``jit``
  a row holding a value outside {0, 1} gets counts -1."""
  fn = "theory.paging.prediction_errors"
  t = check_bits(true, np.shape(true), "true", fn=fn)
  p = check_bits(predicted, t.shape, "predicted", fn=fn)
  ok = jnp.all((t == 0) | (t == 1), axis=-1) & jnp.all((p == 0) | (p == 1), axis=-1)
  return Errors(jnp.where(ok, jnp.sum((p == 0) & (t == 1), axis=-1, dtype=jnp.int32), -1),
                jnp.where(ok, jnp.sum((p == 1) & (t == 0), axis=-1, dtype=jnp.int32), -1))
