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
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from theory.paging.simulate import _next_use, _simulate, check_bits, check_pages

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


def _universe(pages: jax.Array, n_pages: int | None) -> int:
  m = int(jnp.max(pages)) + 1
  if n_pages is None:
    return m
  if n_pages < m:
    raise ValueError(f"n_pages: expected at least max(pages) + 1 = {m}, got {n_pages}")
  return int(n_pages)


def _check_k(k) -> int:
  if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
    raise ValueError(f"k: expected a positive integer cache size, got {k!r}")
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
  """The k-phase partition of the input. pages: [T] int -> ``PhasePartition``."""
  pages = check_pages(pages)
  k = _check_k(k)
  return _phase_partition(pages, k=k, n_pages=_universe(pages, n_pages))


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


def _batched(fn, pages, k, n_pages):
  if np.ndim(pages) not in (1, 2):
    raise ValueError(f"pages: expected [T] or [R, T], got shape {np.shape(pages)}")
  pages = check_pages(pages, ndim=np.ndim(pages))
  k, n = _check_k(k), _universe(pages, n_pages)
  if pages.ndim == 1:
    return fn(pages, k=k, n_pages=n)
  return jax.vmap(functools.partial(fn, k=k, n_pages=n))(pages)


def phase_bits(pages, k: int, n_pages: int | None = None) -> jax.Array:
  """True phase bits: [T] (or [R, T]) int32, 1 iff page r_t is requested in the k-phase after t's."""
  return _batched(_phase_bits, pages, k, n_pages)


@functools.partial(jax.jit, static_argnames=("k", "n_pages"))
def _discard_bits(pages, *, k, n_pages):
  t_len = pages.shape[0]
  opt = _simulate(pages, jnp.zeros_like(pages), jax.random.PRNGKey(0), k=k, n_pages=n_pages,
                  algorithm="belady")
  idx = jnp.where(opt.evicted_request >= 0, opt.evicted_request, t_len)  # t_len = dropped
  evicted = jnp.zeros((t_len,), jnp.int32).at[idx].set(1, mode="drop")
  never_again = _next_use(pages, n_pages) == t_len
  return jnp.maximum(evicted, never_again.astype(jnp.int32))


def discard_bits(pages, k: int, n_pages: int | None = None) -> jax.Array:
  """True discard bits from one fixed FitF run: int32, 1 = evicted before the next request (or the
  page is never requested again), 0 = kept until its next request. pages: [T] or [R, T] -> same shape."""
  return _batched(_discard_bits, pages, k, n_pages)


def perturb(key: jax.Array, bits, mode: str = "flip", rate: float = 0.0) -> jax.Array:
  """Noisy predictions from true bits.

  Args:
    key: PRNG key (used by the random modes).
    bits: [..., T] true 0/1 bits.
    mode: ``flip`` (each bit flipped independently with prob. ``rate``: both error kinds),
      ``one_to_zero`` (each 1 becomes 0 with prob. ``rate``: only eta_0 errors), ``zero_to_one``
      (each 0 becomes 1 with prob. ``rate``: only eta_1 errors), or the adversarial ``all_zero``,
      ``all_one``, ``invert`` (``rate`` ignored).
    rate: flip probability in [0, 1].

  Returns:
    [..., T] int32 predicted bits.
  """
  if mode not in NOISE_MODES:
    raise ValueError(f"mode: expected one of {NOISE_MODES}, got {mode!r}")
  if not (isinstance(rate, (int, float, np.floating)) and 0.0 <= float(rate) <= 1.0):
    raise ValueError(f"rate: expected a probability in [0, 1], got {rate!r}")
  b = check_bits(bits, np.shape(bits))
  if mode == "all_zero":
    return jnp.zeros_like(b)
  if mode == "all_one":
    return jnp.ones_like(b)
  if mode == "invert":
    return 1 - b
  u = jax.random.uniform(key, b.shape) < rate
  if mode == "flip":
    return jnp.where(u, 1 - b, b)
  if mode == "one_to_zero":
    return jnp.where(u & (b == 1), 0, b)
  return jnp.where(u & (b == 0), 1, b)


def prediction_errors(predicted, true) -> Errors:
  """eta_0 and eta_1 of predictions against the true bits (counted over the last axis)."""
  t = check_bits(true, np.shape(true), "true")
  p = check_bits(predicted, t.shape, "predicted")
  return Errors(jnp.sum((p == 0) & (t == 1), axis=-1, dtype=jnp.int32),
                jnp.sum((p == 1) & (t == 0), axis=-1, dtype=jnp.int32))
