"""The retrieval experiment of paper 15 (Ramsauer et al., "Hopfield Networks is All You Need", ICLR 2021,
arXiv:2008.02217): one modern Hopfield update (Eq. 3) against the classical binary network (Hopfield 1982)
on random ±1 patterns with a fraction of the bits of each query flipped.

``corrupt`` draws the queries; ``modern_retrieval`` and ``classical_retrieval`` measure one (N, d) point.
A query counts as retrieved when sign(output) agrees with its target on at least ``success_overlap`` of
the bits. Both measure discrete outcomes (fractions of queries), so they have no derivative.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from models.hopfield import classical
from models.hopfield.functional import association, hopfield_update

SUCCESS_OVERLAP = 0.95
_PKG = "models.hopfield"


def _check(fn: str, n, d, n_queries, flip, success_overlap) -> None:
  for name, v in (("n", n), ("d", d), ("n_queries", n_queries)):
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
      raise ValueError(f"{fn}: {name}: expected a positive int, got {v!r}")
  if not isinstance(flip, (int, float)) or not 0.0 <= flip <= 1.0:
    raise ValueError(f"{fn}: flip: expected a fraction of bits in [0, 1], got {flip!r}")
  if not isinstance(success_overlap, (int, float)) or not 0.0 < success_overlap <= 1.0:
    raise ValueError(f"{fn}: success_overlap: expected a fraction in (0, 1], got {success_overlap!r}")


def random_patterns(key: jax.Array, n: int, d: int) -> jax.Array:
  """``n`` uniform ±1 patterns ``[n, d]`` (float32)."""
  _check(f"{_PKG}.random_patterns", n, d, 1, 0.0, SUCCESS_OVERLAP)
  return jnp.where(jax.random.bernoulli(key, 0.5, (n, d)), 1.0, -1.0).astype(jnp.float32)


def corrupt(key: jax.Array, patterns: jax.Array, n_queries: int, flip: float) -> tuple[jax.Array, jax.Array]:
  """Targets drawn uniformly among ``patterns: [N, d]`` (±1), each with exactly round(flip · d) distinct
  bits flipped: returns ``(targets, queries)``, both ``[n_queries, d]``."""
  fn = f"{_PKG}.corrupt"
  patterns = jnp.asarray(patterns)
  if patterns.ndim != 2 or patterns.shape[0] < 1:
    raise ValueError(f"{fn}: patterns: expected [N, d] with N >= 1, got shape {patterns.shape}")
  _check(fn, 1, 1, n_queries, flip, SUCCESS_OVERLAP)
  n, d = patterns.shape
  k1, k2 = jax.random.split(key)
  idx = jax.random.randint(k1, (n_queries,), 0, n)
  n_flip = int(round(flip * d))
  order = jnp.argsort(jax.random.uniform(k2, (n_queries, d)), axis=-1)
  flips = jnp.zeros((n_queries, d), bool).at[jnp.arange(n_queries)[:, None], order[:, :n_flip]].set(True)
  targets = patterns[idx]
  return targets, jnp.where(flips, -targets, targets)


@functools.partial(jax.jit, static_argnames=("n", "d", "n_queries", "flip", "success_overlap"))
def _modern(key, beta, *, n, d, n_queries, flip, success_overlap):
  kp, kq = jax.random.split(key)
  x = random_patterns(kp, n, d)
  targets, queries = corrupt(kq, x, n_queries, flip)
  out = hopfield_update(queries, x, beta)
  overlap = jnp.mean(jnp.sign(out) == targets, axis=-1)
  rel_err = jnp.linalg.norm(out - targets, axis=-1) / jnp.sqrt(d)
  weights = association(queries, x, beta)
  pr_frac = 1.0 / jnp.sum(weights ** 2, axis=-1) / n
  return jnp.mean(overlap >= success_overlap), jnp.mean(rel_err), jnp.mean(pr_frac)


def modern_retrieval(key: jax.Array, beta: float, *, n: int, d: int, n_queries: int, flip: float,
                     success_overlap: float = SUCCESS_OVERLAP) -> tuple[jax.Array, jax.Array, jax.Array]:
  """One step of the modern update on ``n`` random ±1 patterns of dimension ``d``.

  Returns scalars ``(success, rel_err, participation)``: the fraction of queries retrieved, the mean
  ‖ξ_new − target‖ / √d, and the mean participation ratio 1 / Σ_i p_i² of the softmax weights as a fraction
  of N (1 = global average of all patterns, 1/N = a single pattern: the paper's fixed-point regimes).
  """
  fn = f"{_PKG}.modern_retrieval"
  _check(fn, n, d, n_queries, flip, success_overlap)
  if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not 0.0 < beta < float("inf"):
    raise ValueError(f"{fn}: beta: expected a finite number > 0, got {beta!r}")
  return _modern(key, beta, n=n, d=d, n_queries=n_queries, flip=float(flip), success_overlap=float(success_overlap))


@functools.partial(jax.jit, static_argnames=("n", "d", "n_queries", "flip", "success_overlap", "max_sweeps"))
def _classical(key, *, n, d, n_queries, flip, success_overlap, max_sweeps):
  kp, kq, kr = jax.random.split(key, 3)
  x = random_patterns(kp, n, d)
  targets, queries = corrupt(kq, x, n_queries, flip)
  final, _ = classical.recall(classical.hebbian_weights(x), queries, kr, max_sweeps=max_sweeps)
  return jnp.mean(jnp.mean(final == targets, axis=-1) >= success_overlap)


def classical_retrieval(key: jax.Array, *, n: int, d: int, n_queries: int, flip: float,
                        success_overlap: float = SUCCESS_OVERLAP, max_sweeps: int = 50) -> jax.Array:
  """The fraction of queries the classical network (Hebbian weights, asynchronous recall to a fixed point or
  ``max_sweeps`` sweeps) retrieves, on ``n`` random ±1 patterns of dimension ``d``; a scalar."""
  fn = f"{_PKG}.classical_retrieval"
  _check(fn, n, d, n_queries, flip, success_overlap)
  if isinstance(max_sweeps, bool) or not isinstance(max_sweeps, int) or max_sweeps < 0:
    raise ValueError(f"{fn}: max_sweeps: expected an int >= 0, got {max_sweeps!r}")
  return _classical(key, n=n, d=d, n_queries=n_queries, flip=float(flip), success_overlap=float(success_overlap),
                    max_sweeps=max_sweeps)
