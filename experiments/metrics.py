"""Evaluation statistics computed on the host (numpy, float64)."""
from __future__ import annotations

import numpy as np


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
  """Area under the ROC curve, as the Mann-Whitney U statistic with average ranks for ties.

  ``scores: [n]`` (higher = more positive), ``labels: [n]`` in {0, 1}. NaN if one class is absent.
  """
  s = np.asarray(scores, np.float64).ravel()
  y = np.asarray(labels).ravel().astype(bool)
  if s.shape != y.shape:
    raise ValueError(f"scores, labels: expected equal lengths, got {s.shape} and {y.shape}")
  n_pos, n_neg = int(y.sum()), int((~y).sum())
  if n_pos == 0 or n_neg == 0:
    return float("nan")
  order = np.argsort(s, kind="mergesort")
  ranks = np.empty(len(s), np.float64)
  sorted_s = s[order]
  # average ranks (1-based) over runs of ties
  i = 0
  while i < len(s):
    j = i
    while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
      j += 1
    ranks[order[i:j + 1]] = 0.5 * (i + j) + 1.0
    i = j + 1
  u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
  return float(u / (n_pos * n_neg))


def mean_and_se(values) -> tuple[float, float]:
  """Mean and its standard error (sample std / sqrt(n); 0 for a single value)."""
  v = np.asarray(values, np.float64)
  if v.size < 2:
    return float(v.mean()), 0.0
  return float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size))
