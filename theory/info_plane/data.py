"""The 12-bit data set of Shwartz-Ziv & Tishby (2017): all 4096 binary patterns on the 12 vertices of an
icosahedron, labelled by a rotation-invariant rule (a thresholded quadratic form in x whose weights depend only on
the angle between two vertices).

The rule, reverse-engineered from the reference repository's ``data/var_u.mat`` (it reproduces the file up to a
relabelling of the vertices): with n the number of ones, a the number of icosahedron edges whose two ends are 1
and b the number of antipodal pairs both 1, y = 1 iff 114 n + 24 a - 12 b - 11 n^2 - 429.5 > 0. It gives 2118
positives (p(y = 1) = 0.517).
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import check_key

_PKG = "theory.info_plane"
N_BITS = 12
GOLDEN = (1.0 + 5.0 ** 0.5) / 2.0
# Coefficients of the label rule: 114 n + 24 a - 12 b - 11 n^2 - 429.5 > 0.
RULE = (114.0, 24.0, -12.0, -11.0, -429.5)


def icosahedron() -> np.ndarray:
  """The 12 unit vertices [12, 3] of the icosahedron: cyclic permutations of (0, +-1, +-phi), normalised."""
  v = []
  for s1 in (1.0, -1.0):
    for s2 in (1.0, -1.0):
      p = (0.0, s1, s2 * GOLDEN)
      v += [p, (p[1], p[2], p[0]), (p[2], p[0], p[1])]
  v = np.asarray(v, np.float64)
  return v / np.linalg.norm(v, axis=1, keepdims=True)


def vertex_pairs() -> tuple[np.ndarray, np.ndarray]:
  """``(edges [30, 2], antipodes [6, 2])``: the vertex pairs at dot product 1/sqrt(5) and at -1."""
  v = icosahedron()
  g = v @ v.T
  iu = np.triu_indices(N_BITS, 1)
  d = g[iu]
  pairs = np.stack(iu, 1)
  return pairs[np.isclose(d, 1 / 5 ** 0.5)], pairs[np.isclose(d, -1.0)]


class TwelveBit(NamedTuple):
  """x: [4096, 12] float32 in {0, 1} (row i = the bits of i, most significant first); y: [4096] int32 labels;
  n_ones, n_adjacent, n_antipodal: [4096] the counts the rule reads."""
  x: np.ndarray
  y: np.ndarray
  n_ones: np.ndarray
  n_adjacent: np.ndarray
  n_antipodal: np.ndarray


def twelve_bit_dataset() -> TwelveBit:
  """All 2^12 patterns and their labels (deterministic; numpy)."""
  idx = np.arange(2 ** N_BITS)
  x = ((idx[:, None] >> np.arange(N_BITS - 1, -1, -1)[None]) & 1).astype(np.int64)
  edges, anti = vertex_pairs()
  n = x.sum(1)
  a = (x[:, edges[:, 0]] * x[:, edges[:, 1]]).sum(1)
  b = (x[:, anti[:, 0]] * x[:, anti[:, 1]]).sum(1)
  c = RULE
  score = c[0] * n + c[1] * a + c[2] * b + c[3] * n ** 2 + c[4]
  return TwelveBit(x.astype(np.float32), (score > 0).astype(np.int32), n, a, b)


def train_mask(key, n: int = 2 ** N_BITS, train_fraction: float = 0.8) -> jax.Array:
  """A random boolean mask [n] with round(train_fraction n) True entries (the training split).

  Works under ``jit``/``vmap`` over keys (n and train_fraction static)."""
  fn = f"{_PKG}.train_mask"
  check_key(key, "key", fn)
  if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
    raise ValueError(f"{fn}: n must be an int >= 2, got {n!r}")
  if not isinstance(train_fraction, (float, int)) or not 0.0 < train_fraction < 1.0:
    raise ValueError(f"{fn}: train_fraction must be in (0, 1), got {train_fraction!r}")
  k = n_train(n, train_fraction)
  perm = jax.random.permutation(key, n)
  return jnp.zeros((n,), bool).at[perm[:k]].set(True)


def n_train(n: int, train_fraction: float) -> int:
  """round(train_fraction n), at least 1 and at most n - 1."""
  return int(min(max(round(train_fraction * n), 1), n - 1))
