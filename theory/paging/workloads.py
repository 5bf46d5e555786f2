"""Request sequences for the paging experiments: Zipf, loops/scans, Markov-phase traces, cyclic
adversarial traces, and a loader for a user-supplied trace file.

Paper: "Paging with Succinct Predictions", Antoniadis et al. (ICML 2023), arXiv:2210.02775. The paper
is theoretical; these synthetic workloads stand in for the BrightKite / CitiBike traces used by earlier
learning-augmented caching work (nothing is downloaded).

The generators' float parameters (``alpha``, ``p_loop``, ``p_switch``) may be numbers or scalar arrays,
also traced: concrete values out of range raise ``ValueError``; traced ones get a ``checkify`` debug
check, and a sequence drawn with an invalid traced parameter is -1 everywhere (which every simulator
rejects, or reports as cost -1 under ``jit``). The outputs are integer page ids, so differentiating with
respect to these parameters raises ``TypeError`` (there is no derivative of a sample of ids).
"""
from __future__ import annotations

import functools
import os

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

from kernels.common.checks import is_concrete, no_grad


def _pos_int(x, name: str, fn: str = "theory.paging") -> int:
  if not isinstance(x, (int, np.integer)) or isinstance(x, bool) or x < 1:
    raise ValueError(f"{fn}: {name}: expected a positive integer, got {x!r}")
  return int(x)


def _real(v, name: str, fn: str, lo: float, hi: float) -> tuple[jax.Array, jax.Array]:
  """A real scalar parameter in [lo, hi] (hi may be inf: then finite is required): ``(value, valid)``.
  Concrete values are checked at once; traced ones by a debug check (``valid`` False when out of range).
  The value is marked non-differentiable: the generators return integer ids."""
  what = f"a finite number >= {lo:g}" if hi == np.inf else f"a probability in [{lo:g}, {hi:g}]"
  if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating, np.ndarray, jax.Array)):
    raise TypeError(f"{fn}: {name}: expected {what}, got {type(v).__name__} {v!r}")
  if np.ndim(v) != 0 or not jnp.issubdtype(jnp.result_type(v), jnp.integer) and \
      not jnp.issubdtype(jnp.result_type(v), jnp.floating):
    raise TypeError(f"{fn}: {name}: expected {what} (a real scalar), got shape {np.shape(v)} dtype "
                    f"{jnp.result_type(v)}")
  x = jnp.asarray(v, jnp.float32)
  valid = jnp.isfinite(x) & (x >= lo) & (x <= hi)
  if is_concrete(v):
    f = float(v)
    if not (np.isfinite(f) and lo <= f <= hi):
      raise ValueError(f"{fn}: {name}: expected {what}, got {v!r}")
  else:
    checkify.debug_check(valid, f"{fn}: {name}: expected {what}, got {{v}}", v=x)
  return no_grad(x, f"{fn} (integer page ids) in {name}"), valid


@functools.partial(jax.jit, static_argnames=("length", "n_pages"))
def _zipf(key, alpha, *, length, n_pages):
  ranks = jnp.arange(1, n_pages + 1, dtype=jnp.float32)
  logits = -alpha * jnp.log(ranks)
  k1, k2 = jax.random.split(key)
  draws = jax.random.categorical(k1, logits, shape=(length,))
  perm = jax.random.permutation(k2, n_pages)  # popularity ranks land on random page ids
  return perm[draws].astype(jnp.int32)


def zipf(key: jax.Array, length: int, n_pages: int, alpha: float = 1.0) -> jax.Array:
  """I.i.d. requests with P(rank i) ∝ i^-alpha over ``n_pages`` pages (``alpha`` finite, >= 0). Returns
  [length] int32 (-1 everywhere for an invalid traced ``alpha``)."""
  fn = "theory.paging.zipf"
  length, n_pages = _pos_int(length, "length", fn), _pos_int(n_pages, "n_pages", fn)
  alpha, ok = _real(alpha, "alpha", fn, 0.0, np.inf)
  return jnp.where(ok, _zipf(key, alpha, length=length, n_pages=n_pages), -1)


@functools.partial(jax.jit, static_argnames=("length", "n_pages", "loop_len"))
def _loop_scan(key, p_loop, *, length, n_pages, loop_len):
  # A block structure: each block of loop_len requests is, with prob p_loop, one pass over a loop of
  # loop_len consecutive pages (the same loop for the whole trace), otherwise a scan over fresh pages
  # starting at a random offset in the rest of the universe.
  n_blocks = -(-length // loop_len)
  k1, k2 = jax.random.split(key)
  is_loop = jax.random.uniform(k1, (n_blocks,)) < p_loop
  offs = jax.random.randint(k2, (n_blocks,), 0, max(n_pages - loop_len, 1))
  j = jnp.arange(loop_len)
  scan = loop_len + (offs[:, None] + j[None, :]) % max(n_pages - loop_len, 1)
  loop = jnp.broadcast_to(j, (n_blocks, loop_len))
  pages = jnp.where(is_loop[:, None], loop, scan).reshape(-1)[:length]
  return pages.astype(jnp.int32)


def loop_scan(key: jax.Array, length: int, n_pages: int, loop_len: int, p_loop: float = 0.7) -> jax.Array:
  """Mixture of passes over a fixed loop of ``loop_len`` pages and sequential scans of other pages.

  Returns [length] int32 ids in [0, n_pages) (-1 everywhere for an invalid traced ``p_loop``). Loops
  slightly larger than the cache defeat LRU.
  """
  fn = "theory.paging.loop_scan"
  length, n_pages, loop_len = (_pos_int(length, "length", fn), _pos_int(n_pages, "n_pages", fn),
                               _pos_int(loop_len, "loop_len", fn))
  if loop_len >= n_pages:
    raise ValueError(f"{fn}: loop_len: expected fewer than n_pages={n_pages}, got {loop_len}")
  p_loop, ok = _real(p_loop, "p_loop", fn, 0.0, 1.0)
  return jnp.where(ok, _loop_scan(key, p_loop, length=length, n_pages=n_pages, loop_len=loop_len), -1)


@functools.partial(jax.jit, static_argnames=("length", "n_pages", "n_states", "set_size"))
def _markov_phase(key, p_switch, alpha, *, length, n_pages, n_states, set_size):
  k1, k2, k3, k4 = jax.random.split(key, 4)
  # each hidden state owns a random working set of set_size pages (working sets may overlap)
  sets = jax.vmap(lambda kk: jax.random.permutation(kk, n_pages)[:set_size])(jax.random.split(k1, n_states))
  switch = jax.random.uniform(k2, (length,)) < p_switch
  jumps = jax.random.randint(k3, (length,), 1, max(n_states, 2))

  def step(s, xs):
    sw, jp = xs
    s = jnp.where(sw, (s + jp) % n_states, s)
    return s, s

  _, states = jax.lax.scan(step, jnp.zeros((), jnp.int32), (switch, jumps))
  logits = -alpha * jnp.log(jnp.arange(1, set_size + 1, dtype=jnp.float32))
  within = jax.random.categorical(k4, logits, shape=(length,))
  return sets[states, within].astype(jnp.int32)


def markov_phase(key: jax.Array, length: int, n_pages: int, n_states: int = 4, set_size: int = 16,
                 p_switch: float = 0.01, alpha: float = 0.5) -> jax.Array:
  """A hidden Markov chain over ``n_states`` working sets; in each state, Zipf(alpha) requests within
  that state's set of ``set_size`` pages; the state moves to a uniformly chosen other state with
  probability ``p_switch`` per request. Returns [length] int32 (-1 everywhere for an invalid traced
  ``p_switch`` or ``alpha``; ``alpha`` finite, >= 0)."""
  fn = "theory.paging.markov_phase"
  length, n_pages = _pos_int(length, "length", fn), _pos_int(n_pages, "n_pages", fn)
  n_states, set_size = _pos_int(n_states, "n_states", fn), _pos_int(set_size, "set_size", fn)
  if set_size > n_pages:
    raise ValueError(f"{fn}: set_size: expected at most n_pages={n_pages}, got {set_size}")
  p_switch, ok_p = _real(p_switch, "p_switch", fn, 0.0, 1.0)
  alpha, ok_a = _real(alpha, "alpha", fn, 0.0, np.inf)
  out = _markov_phase(key, p_switch, alpha, length=length, n_pages=n_pages, n_states=n_states,
                      set_size=set_size)
  return jnp.where(ok_p & ok_a, out, -1)


def cyclic(length: int, n_pages: int) -> jax.Array:
  """0, 1, ..., n_pages-1, 0, 1, ...: with n_pages = k + 1 every LRU / FIFO request faults."""
  fn = "theory.paging.cyclic"
  length, n_pages = _pos_int(length, "length", fn), _pos_int(n_pages, "n_pages", fn)
  return (jnp.arange(length) % n_pages).astype(jnp.int32)


def load_trace(path: str | os.PathLike, remap: bool = True) -> jax.Array:
  """Reads a user trace: a text file of integer page ids separated by white space (one a line or
  several), ``#`` comments allowed.

  Args:
    path: the file.
    remap: relabel ids to 0..N-1 in order of first appearance (keeps the universe small).

  Returns:
    [T] int32 page ids.
  """
  if not isinstance(path, (str, os.PathLike)):
    raise TypeError(f"theory.paging.load_trace: path: expected a file path, got {type(path).__name__}")
  if not os.path.isfile(path):
    raise ValueError(f"theory.paging.load_trace: path: expected an existing trace file, got {os.fspath(path)!r}")
  tokens = []
  with open(path, encoding="utf-8") as f:
    for lineno, line in enumerate(f, 1):
      for tok in line.split("#", 1)[0].split():
        try:
          tokens.append(int(tok))
        except ValueError:
          raise ValueError(f"path: expected integer page ids, got {tok!r} on line {lineno} of {path}") from None
  if not tokens:
    raise ValueError(f"path: expected at least one page id in {path}, got none")
  ids = np.asarray(tokens, np.int64)
  if remap:
    _, first, inv = np.unique(ids, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))  # rank of each unique id by first appearance
    ids = order[inv]
  elif ids.min() < 0:
    raise ValueError(f"path: expected page ids >= 0 without remap, got {ids.min()}")
  return jnp.asarray(ids, jnp.int32)


def follower_trap(length: int, k: int) -> tuple[jax.Array, jax.Array]:
  """A trace with adversarial discard bits that defeats the plain discard follower.

  k-1 "dead" pages are requested once each with bit 0 ("keep"), then pages k-1 and k alternate with bit
  1 ("safe to evict"). Trusting the bits keeps the dead pages forever and leaves one slot for the two live
  pages, so every request faults, while the optimum faults k + 1 times. Returns (pages [length],
  bits [length]); needs length > k.
  """
  fn = "theory.paging.follower_trap"
  length, k = _pos_int(length, "length", fn), _pos_int(k, "k", fn)
  if k < 2 or length <= k:
    raise ValueError(f"{fn}: k, length: expected k >= 2 and length > k, got k={k}, length={length}")
  t = jnp.arange(length)
  pages = jnp.where(t < k - 1, t, k - 1 + (t - (k - 1)) % 2).astype(jnp.int32)
  bits = (t >= k - 1).astype(jnp.int32)
  return pages, bits
