"""Multiple-instance-learning bags built from a labelled instance set (e.g. "digits-bags").

Follows the MNIST-bags protocol of Ilse et al. (2018) used by the Hopfield paper: a bag's size is
drawn from a normal distribution (rounded, clipped to [1, max_size]), its instances are drawn at
random from the pool, and the bag is positive iff it contains at least one instance of the target class.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Bags(NamedTuple):
  """Padded bags. ``x: [n_bags, max_size, F]``, ``mask: [n_bags, max_size]`` (True = real instance),
  ``y: [n_bags]`` (1 = positive), ``sizes: [n_bags]``."""
  x: np.ndarray
  mask: np.ndarray
  y: np.ndarray
  sizes: np.ndarray


def make_bags(x: np.ndarray, labels: np.ndarray, *, target: int, n_bags: int, mean_size: float = 10.0,
              std_size: float = 2.0, max_size: int | None = None, seed: int = 0) -> Bags:
  """Draws ``n_bags`` bags from the instances ``x: [n, F]`` with class ``labels: [n]``."""
  x, labels = np.asarray(x), np.asarray(labels)
  if x.ndim != 2 or labels.shape != (x.shape[0],):
    raise ValueError(f"x, labels: expected [n, F] and [n], got {x.shape} and {labels.shape}")
  if n_bags <= 0:
    raise ValueError(f"n_bags: expected a positive integer, got {n_bags}")
  if mean_size < 1 or std_size < 0:
    raise ValueError(f"mean_size, std_size: expected mean_size >= 1 and std_size >= 0, got {mean_size}, {std_size}")
  max_size = int(max_size or np.ceil(mean_size + 4 * std_size))
  rng = np.random.default_rng(seed)
  sizes = np.clip(np.rint(rng.normal(mean_size, std_size, n_bags)), 1, max_size).astype(np.int32)
  out = np.zeros((n_bags, max_size, x.shape[1]), x.dtype)
  mask = np.zeros((n_bags, max_size), bool)
  y = np.zeros(n_bags, np.int32)
  for b, s in enumerate(sizes):
    idx = rng.choice(len(x), size=s, replace=False)
    out[b, :s], mask[b, :s] = x[idx], True
    y[b] = int(np.any(labels[idx] == target))
  return Bags(out, mask, y, sizes)


def split_instances(x: np.ndarray, labels: np.ndarray, *, test_fraction: float,
                    seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
  """Splits the instances (not the bags) so no test instance is ever seen in training."""
  if not 0 < test_fraction < 1:
    raise ValueError(f"test_fraction: expected a value in (0, 1), got {test_fraction}")
  rng = np.random.default_rng(seed)
  perm = rng.permutation(len(x))
  n_test = int(round(test_fraction * len(x)))
  te, tr = perm[:n_test], perm[n_test:]
  return x[tr], labels[tr], x[te], labels[te]  # x_train, y_train, x_test, y_test
