"""Continual-learning metrics on an accuracy matrix ``A[i, j]`` = accuracy on task j after training task i.

ACC (average accuracy after the last task) = (1/T) sum_j A[T-1, j]; BWT (backward transfer, Lopez-Paz and
Ranzato 2017) = (1/(T-1)) sum_{j < T-1} (A[T-1, j] - A[j, j]); negative BWT is forgetting. Entries above the
diagonal (tasks not yet trained) are ignored.
"""
from __future__ import annotations

import numpy as np

__all__ = ["acc", "bwt", "forgetting", "accuracy"]


def _check(fn: str, a) -> np.ndarray:
  a = np.asarray(a, np.float64)
  if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] < 1:
    raise ValueError(f"{fn}: matrix: expected a square [T, T] accuracy matrix, got shape {a.shape}")
  low = np.tril(a)
  if not np.all(np.isfinite(low)):
    raise ValueError(f"{fn}: matrix: expected finite entries on and below the diagonal")
  return a


def acc(matrix) -> float:
  """Average accuracy over all tasks after training the last one."""
  a = _check("acc", matrix)
  return float(a[-1].mean())


def bwt(matrix) -> float:
  """Backward transfer; needs T >= 2."""
  a = _check("bwt", matrix)
  t = a.shape[0]
  if t < 2:
    raise ValueError(f"bwt: matrix: expected at least 2 tasks, got {t}")
  return float(np.mean(a[-1, :-1] - np.diag(a)[:-1]))


def forgetting(matrix) -> float:
  """Average forgetting (Chaudhry et al. 2018): mean over j < T-1 of max_{i < T-1} A[i, j] - A[T-1, j]."""
  a = _check("forgetting", matrix)
  t = a.shape[0]
  if t < 2:
    raise ValueError(f"forgetting: matrix: expected at least 2 tasks, got {t}")
  best = np.array([a[j:t - 1, j].max() for j in range(t - 1)])
  return float(np.mean(best - a[-1, :-1]))


def accuracy(logits, labels, mask=None) -> float:
  """Fraction of ``argmax`` over the allowed classes (``mask: [C] bool``) equal to ``labels``."""
  logits = np.asarray(logits, np.float64)
  labels = np.asarray(labels)
  if logits.ndim != 2 or labels.shape != (logits.shape[0],):
    raise ValueError(f"accuracy: expected logits [n, C] and labels [n], got {logits.shape} and {labels.shape}")
  if mask is not None:
    mask = np.asarray(mask, bool)
    if mask.shape != (logits.shape[1],) or not mask.any():
      raise ValueError(f"accuracy: mask: expected [{logits.shape[1]}] bool with a True entry, got {mask.shape}")
    logits = np.where(mask, logits, -np.inf)
  if labels.size == 0:
    return float("nan")
  return float(np.mean(np.argmax(logits, axis=1) == labels))
