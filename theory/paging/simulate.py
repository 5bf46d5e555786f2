"""Cache simulators for paging with one-bit predictions, as jit-compiled ``lax.scan`` over requests.

Paper: "Paging with Succinct Predictions", A. Antoniadis, J. Boyar, M. Eliáš, L. M. Favrholdt,
R. Hoeksma, K. S. Larsen, A. Polak, B. Simon (ICML 2023), arXiv:2210.02775.

Model (Sec. 1 of the paper): a cache of ``k`` slots, requests ``r_1..r_T`` to pages ``0..N-1``; a
request to a page not in the cache is a fault (cost 1; cold misses count for every algorithm), and
with a full cache some page is evicted. Demand paging throughout (a page is loaded only when it is
requested).

Every algorithm is one eviction *score* over the ``k`` cached pages (lowest score is evicted; ties go
to the smallest page id), so the whole family shares one scan:

``lru``            last use time.
``fifo``           load time.
``marker``         deterministic marking: unmarked before marked, then LRU.
``rand_marker``    randomised marking: a uniformly random unmarked page.
``belady``         FitF (Belady's rule): the page requested furthest in the future (never again = ∞),
                   ties to the smallest page id; this is the fixed optimal run the discard bits come
                   from.
``discard``        discard-prediction follower: a page whose latest bit says "safe to evict" (bit 1),
                   LRU among them; if none, LRU.
``discard_robust`` the follower with a refault guard (our construction, see README): trusts the bits
                   until, inside the current k-phase, it has faulted k times on pages it had already
                   served in that phase; then it behaves as a marking algorithm (unmarked first, bit 1
                   first, LRU) until the phase ends. With correct bits the guard never fires (the
                   optimum never refaults inside a k-phase) so it equals ``discard``; whatever the bits
                   it faults at most 4k times per phase (k first faults, at most k refaults before the
                   guard fires, at most 2k refaults of pages evicted while marked before that).
``phase``          phase-prediction follower: a marking algorithm that evicts first an unmarked page
                   whose latest bit says "not requested in the next phase" (bit 0), LRU among them,
                   then the LRU unmarked page. Marking, hence k-competitive whatever the bits.
``phase_robust``   randomised phase follower with a guard: a uniformly random unmarked bit-0 page
                   (else a random unmarked page) until it faults on a page of the previous phase (a
                   witness of a wrong bit); then randomised marking until the phase ends.

Phases are the k-phases of the input (a phase is a maximal block with at most k distinct pages), tracked
online; "marked" = requested in the current phase.

Invalid values (page ids outside ``[0, n_pages)``, bits outside {0, 1}): with concrete inputs every
function here raises ``ValueError`` naming the argument and the first offending index. Under ``jit``
(traced inputs) the check is a ``checkify`` debug check (``checkify.checkify(jax.jit(f))`` reports it),
and an unchecked call never returns a plausible wrong result: :func:`simulate` / :func:`simulate_many`
give ``cost = -1``, ``faults`` all False and ``evicted_request`` all -1 for a run with an invalid value;
:func:`next_use` gives -1 everywhere. ``n_pages`` is required when ``pages`` is traced.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import check_in_range, is_concrete

ALGORITHMS: tuple[str, ...] = ("lru", "fifo", "marker", "rand_marker", "belady", "discard",
                               "discard_robust", "phase", "phase_robust")
RANDOMISED: frozenset[str] = frozenset({"rand_marker", "phase_robust"})
NEEDS_BITS: frozenset[str] = frozenset({"discard", "discard_robust", "phase", "phase_robust"})

MAX_T = 1 << 26        # request times fit below the score offsets
_MARK = 1 << 29        # score offset: marked pages after unmarked ones
_BIT = 1 << 28         # score offset: the predicted-keep class after the predicted-evict class
_BIG = np.iinfo(np.int32).max
_ID = {a: i for i, a in enumerate(ALGORITHMS)}


class SimResult(NamedTuple):
  """One run.

  faults: [T] bool, request t faulted.
  evicted_request: [T] int32, index of the latest request of the page evicted at step t (-1: none).
  cost: [] int32, number of faults.
  """
  faults: jax.Array
  evicted_request: jax.Array
  cost: jax.Array


def next_use(pages: jax.Array, n_pages: int | None = None) -> jax.Array:
  """Index of the next request of the same page, ``T`` if none (reverse scan).

  pages: [T] int ids in ``[0, n_pages)`` -> [T] int32. ``n_pages`` defaults to ``max(pages) + 1``
  (concrete ``pages`` only). Under ``jit`` an id outside ``[0, n_pages)`` makes every entry -1.
  """
  fn = "theory.paging.next_use"
  pages = check_pages(pages, fn=fn)
  n = resolve_universe(pages, n_pages, fn)
  return mark_invalid(next_use_unchecked(pages, n), ids_valid(pages, n))


def resolve_universe(pages: jax.Array, n_pages, fn: str) -> int:
  """``n_pages`` checked (a positive int; default ``max(pages) + 1`` for concrete pages) and, for concrete
  ``pages``, every id checked in ``[0, n_pages)`` (``ValueError`` with the index); a debug check when traced."""
  if n_pages is None:
    if not is_concrete(pages):
      raise ValueError(f"{fn}: n_pages: required when pages is traced (under jit/vmap), got None")
    n_pages = max(int(np.max(np.asarray(pages))) + 1, 1)
  elif isinstance(n_pages, bool) or not isinstance(n_pages, (int, np.integer)) or n_pages < 1:
    raise ValueError(f"{fn}: n_pages: expected a positive integer, got {n_pages!r}")
  check_in_range(pages, "pages", fn, 0, int(n_pages))
  return int(n_pages)


def ids_valid(pages: jax.Array, n_pages: int) -> jax.Array:
  """[] bool: every id of ``pages`` lies in ``[0, n_pages)`` (package-internal; traceable)."""
  return jnp.all((pages >= 0) & (pages < n_pages))


def mark_invalid(x: jax.Array, valid: jax.Array) -> jax.Array:
  """``x`` where ``valid``, else -1 (int) / False (bool) everywhere: the unchecked-jit result."""
  return jnp.where(valid, x, jnp.zeros((), x.dtype) if x.dtype == jnp.bool_ else jnp.asarray(-1, x.dtype))


@functools.partial(jax.jit, static_argnames=("n_pages",))
def next_use_unchecked(pages: jax.Array, n_pages: int) -> jax.Array:
  """:func:`next_use` without validation (package-internal): ids must lie in ``[0, n_pages)``."""
  t_len = pages.shape[0]

  def step(seen, tp):
    t, p = tp
    return seen.at[p].set(t), seen[p]

  _, nxt = jax.lax.scan(step, jnp.full((n_pages,), t_len, jnp.int32),
                        (jnp.arange(t_len, dtype=jnp.int32), pages), reverse=True)
  return nxt


def simulate_unchecked(pages: jax.Array, bits: jax.Array, key: jax.Array, *, k: int, n_pages: int,
                       algorithm: str) -> SimResult:
  """:func:`simulate` without validation (package-internal): pages ``[T]`` int32 ids in ``[0, n_pages)``,
  bits ``[T]`` int32 in {0, 1}, a PRNG key, ``algorithm`` in ``ALGORITHMS``."""
  return _simulate_id(pages, bits, key, jnp.int32(_ID[algorithm]), k=k, n_pages=n_pages)


@functools.partial(jax.jit, static_argnames=("k", "n_pages"))
def _simulate_id(pages: jax.Array, bits: jax.Array, key: jax.Array, algo: jax.Array, *, k: int,
                 n_pages: int) -> SimResult:
  """The shared scan. pages: [T] int32, bits: [T] int32 (ignored by bit-free rules), key: PRNG key,
  algo: [] int32 index into ``ALGORITHMS``."""
  t_len = pages.shape[0]
  nxt = next_use_unchecked(pages, n_pages)
  i32 = jnp.int32
  init = dict(
      slots=jnp.full((k,), -1, i32),          # page held by each slot (-1 empty)
      slot_of=jnp.full((n_pages,), -1, i32),  # slot holding each page (-1 absent)
      last=jnp.zeros((n_pages,), i32),        # latest request time
      loaded=jnp.zeros((n_pages,), i32),      # load time (FIFO)
      bit=jnp.zeros((n_pages,), i32),         # bit of the latest request
      nextu=jnp.zeros((n_pages,), i32),       # next request time after the latest one
      seen=jnp.full((n_pages,), -2, i32),     # phase of the latest request
      phase=jnp.zeros((), i32), distinct=jnp.zeros((), i32),
      refaults=jnp.zeros((), i32), distrust=jnp.zeros((), bool))

  def step(s, xs):
    t, p, nx, b = xs
    # --- online k-phase partition (depends only on the input).
    new_in_phase = s["seen"][p] != s["phase"]
    start = new_in_phase & (s["distinct"] == k)
    phase = s["phase"] + start.astype(i32)
    distinct = jnp.where(start, 1, s["distinct"] + new_in_phase.astype(i32))
    was_marked = s["seen"][p] == phase        # already requested in this phase
    was_prev = s["seen"][p] == phase - 1      # requested in the previous phase
    fault = s["slot_of"][p] < 0
    # guards: discard_robust distrusts after k refaults in the phase (faults on pages it had already
    # served in this phase); phase_robust after one fault on a page of the previous phase.
    refaults = jnp.where(start, 0, s["refaults"]) + (fault & was_marked).astype(i32)
    distrust = jnp.where(start, False, s["distrust"])
    guard = jnp.where(algo == _ID["discard_robust"], refaults >= k,
                      jnp.where(algo == _ID["phase_robust"], fault & was_prev, False))
    distrust = distrust | guard

    # --- eviction scores over the cached pages (every rule is computed; the traced id picks one, so
    # one compilation serves all algorithms).
    cached = s["slots"]
    cp = jnp.maximum(cached, 0)
    marked = (s["seen"][cp] == phase).astype(i32)
    last, bit = s["last"][cp], s["bit"][cp]
    rnd = jax.random.randint(jax.random.fold_in(key, t), (k,), 0, MAX_T, dtype=i32)
    scores = {
        "lru": last,
        "fifo": s["loaded"][cp],
        "marker": marked * _MARK + last,
        "rand_marker": marked * _MARK + rnd,
        "belady": -s["nextu"][cp],
        "discard": (1 - bit) * _BIT + last,
        "discard_robust": jnp.where(distrust, marked * _MARK, 0) + (1 - bit) * _BIT + last,
        "phase": marked * _MARK + bit * _BIT + last,
        "phase_robust": marked * _MARK + jnp.where(distrust, 0, bit * _BIT) + rnd,
    }
    score = jnp.stack([scores[a] for a in ALGORITHMS])[algo]
    empty = cached < 0
    score = jnp.where(empty, -_BIG, score)
    best = jnp.min(score)
    tie_key = jnp.where(empty, jnp.arange(k, dtype=i32) - k, cp)
    slot = jnp.argmin(jnp.where(score == best, tie_key, _BIG)).astype(i32)
    victim = cached[slot]
    evict = fault & (victim >= 0)
    vsafe = jnp.maximum(victim, 0)
    evicted_request = jnp.where(evict, s["last"][vsafe], -1)

    slot_of = s["slot_of"].at[vsafe].set(jnp.where(evict, -1, s["slot_of"][vsafe]))
    slot_of = slot_of.at[p].set(jnp.where(fault, slot, slot_of[p]))
    slots = cached.at[slot].set(jnp.where(fault, p, cached[slot]))
    new = dict(
        slots=slots, slot_of=slot_of,
        last=s["last"].at[p].set(t),
        loaded=s["loaded"].at[p].set(jnp.where(fault, t, s["loaded"][p])),
        bit=s["bit"].at[p].set(b), nextu=s["nextu"].at[p].set(nx),
        seen=s["seen"].at[p].set(phase), phase=phase, distinct=distinct, refaults=refaults,
        distrust=distrust)
    return new, (fault, evicted_request)

  xs = (jnp.arange(t_len, dtype=i32), pages, nxt, bits)
  _, (faults, evicted_request) = jax.lax.scan(step, init, xs)
  # an id outside [0, n_pages) or a bit outside {0, 1} (possible only under jit, where the boundary check
  # is a debug check) would be clamped / dropped by the gathers and scatters: report it as cost -1
  valid = ids_valid(pages, n_pages) & jnp.all((bits == 0) | (bits == 1))
  cost = jnp.where(valid, jnp.sum(faults, dtype=i32), -1)
  return SimResult(mark_invalid(faults, valid), mark_invalid(evicted_request, valid), cost)


def _as_array(x):
  return x if isinstance(x, jax.Array) else np.asarray(x)


def check_pages(pages, name: str = "pages", ndim: int = 1, fn: str = "theory.paging") -> jax.Array:
  """Validates a request array's type and shape (integer ids, ``ndim`` dims, 1 to 2**26 - 1 requests); the
  ids' range ``[0, n_pages)`` is checked by :func:`resolve_universe`."""
  arr = _as_array(pages)
  if not (jnp.issubdtype(arr.dtype, jnp.integer)):
    raise TypeError(f"{fn}: {name}: expected an integer array of page ids, got dtype {arr.dtype}")
  if arr.ndim != ndim:
    raise ValueError(f"{fn}: {name}: expected {ndim} dimension(s), got shape {arr.shape}")
  if arr.shape[-1] < 1 or arr.shape[-1] >= MAX_T:
    raise ValueError(f"{fn}: {name}: expected between 1 and {MAX_T - 1} requests, got {arr.shape[-1]}")
  return jnp.asarray(arr, jnp.int32)


def check_bits(bits, shape: tuple[int, ...], name: str = "bits", fn: str = "theory.paging") -> jax.Array:
  """Validates 0/1 bits of the given shape: ``ValueError`` with the index for concrete values outside
  {0, 1}, a debug check when traced."""
  arr = _as_array(bits)
  if tuple(arr.shape) != tuple(shape):
    raise ValueError(f"{fn}: {name}: expected shape {tuple(shape)} (one bit per request), got {tuple(arr.shape)}")
  if not (jnp.issubdtype(arr.dtype, jnp.integer) or arr.dtype == bool):
    raise TypeError(f"{fn}: {name}: expected an integer or bool array of 0/1, got dtype {arr.dtype}")
  arr = jnp.asarray(arr, jnp.int32)
  check_in_range(arr, name, fn, 0, 2)
  return arr


def _check_common(pages, k, algorithm, n_pages, ndim, fn):
  if algorithm not in ALGORITHMS:
    raise ValueError(f"{fn}: algorithm: expected one of {ALGORITHMS}, got {algorithm!r}")
  if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
    raise ValueError(f"{fn}: k: expected a positive integer cache size, got {k!r}")
  pages = check_pages(pages, ndim=ndim, fn=fn)
  n_pages = resolve_universe(pages, n_pages, fn)
  return pages, int(k), n_pages


def _prepare_bits(bits, algorithm: str, shape: tuple[int, ...], fn: str) -> jax.Array:
  """Checked prediction bits for algorithms that follow them; zeros (unused) for the others."""
  if algorithm in NEEDS_BITS:
    if bits is None:
      raise ValueError(f"{fn}: bits: algorithm {algorithm!r} needs one prediction bit per request, got None")
    return check_bits(bits, shape, fn=fn)
  return jnp.zeros(shape, jnp.int32)


def simulate(pages, k: int, algorithm: str, bits=None, key: jax.Array | None = None,
             n_pages: int | None = None) -> SimResult:
  """Runs one paging algorithm on one request sequence.

  Args:
    pages: [T] int page ids in ``[0, n_pages)``.
    k: cache size (slots).
    algorithm: one of ``ALGORITHMS``.
    bits: [T] 0/1 predictions, one per request (required by the followers, ignored otherwise). For
      ``discard*`` a 1 means "safe to evict"; for ``phase*`` a 1 means "requested in the next phase".
    key: PRNG key, required by ``rand_marker`` and ``phase_robust``.
    n_pages: size of the page universe (default ``max(pages) + 1``; required under ``jit``).

  Returns:
    ``SimResult`` (faults [T], evicted_request [T], cost []).

  Raises:
    ValueError: for concrete ``pages`` with an id outside ``[0, n_pages)`` or ``bits`` outside {0, 1},
      naming the argument and the index. Under ``jit`` this is a ``checkify`` debug check, and an
      unchecked run with such a value returns ``cost = -1`` (``faults`` all False, ``evicted_request``
      all -1), never a wrong cost.
  """
  fn = "theory.paging.simulate"
  pages, k, n_pages = _check_common(pages, k, algorithm, n_pages, 1, fn)
  bits = _prepare_bits(bits, algorithm, pages.shape, fn)
  if algorithm in RANDOMISED and key is None:
    raise ValueError(f"{fn}: key: algorithm {algorithm!r} is randomised and needs a PRNG key, got None")
  if key is None:
    key = jax.random.PRNGKey(0)
  return simulate_unchecked(pages, bits, key, k=k, n_pages=n_pages, algorithm=algorithm)


@functools.partial(jax.jit, static_argnames=("k", "n_pages"))
def _simulate_many_id(pages, bits, keys, algo, *, k, n_pages):
  return jax.vmap(lambda p, b, kk: _simulate_id(p, b, kk, algo, k=k, n_pages=n_pages))(pages, bits, keys)


def _simulate_many(pages, bits, keys, *, k, n_pages, algorithm):
  return _simulate_many_id(pages, bits, keys, jnp.int32(_ID[algorithm]), k=k, n_pages=n_pages)


def simulate_many(pages, k: int, algorithm: str, bits=None, keys: jax.Array | None = None,
                  n_pages: int | None = None) -> SimResult:
  """``simulate`` vmapped over replications.

  pages: [R, T] (or [T], broadcast to every replication of ``bits``/``keys``); bits: [R, T];
  keys: [R] PRNG keys. Returns a ``SimResult`` with a leading [R] axis. Invalid ids / bits: as
  :func:`simulate`, per replication (under ``jit`` an invalid replication has cost -1, the others are
  unaffected).
  """
  fn = "theory.paging.simulate_many"
  if np.ndim(pages) not in (1, 2):
    raise ValueError(f"{fn}: pages: expected [T] or [R, T], got shape {np.shape(pages)}")
  pages_arr = check_pages(pages, ndim=np.ndim(pages), fn=fn)
  reps = [a.shape[0] for a in (bits, keys) if a is not None and np.ndim(a) >= 1]
  if pages_arr.ndim == 2:
    reps.append(pages_arr.shape[0])
  if not reps:
    raise ValueError(f"{fn}: pages: expected a leading replication axis, or bits / keys that give one")
  r = reps[0]
  if any(x != r for x in reps):
    raise ValueError(f"{fn}: pages, bits, keys: expected the same number of replications, got {reps}")
  if pages_arr.ndim == 1:
    pages_arr = jnp.broadcast_to(pages_arr, (r, pages_arr.shape[0]))
  pages_arr, k, n_pages = _check_common(pages_arr, k, algorithm, n_pages, 2, fn)
  bits = _prepare_bits(bits, algorithm, pages_arr.shape, fn)
  if keys is None:
    if algorithm in RANDOMISED:
      raise ValueError(f"{fn}: keys: algorithm {algorithm!r} is randomised and needs [R] PRNG keys, got None")
    keys = jax.random.split(jax.random.PRNGKey(0), r)
  return _simulate_many(pages_arr, bits, keys, k=k, n_pages=n_pages, algorithm=algorithm)
