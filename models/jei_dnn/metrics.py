"""Evaluation of an early-exit policy: ECE with equal-mass bins and per-exit split conformal prediction.

Host-side numpy (the inputs are finished predictions; nothing here is trained through). Follows the official
``src/calibration.py`` (a copy of scikit-learn's ``calibration_curve``, ``strategy="quantile"``) and
``src/conformal_eedn.py`` (``get_conf_thresh``, ``compute_conf_threshold``, ``MIN_POINTS_FOR_CONF = 20``).
"""
from __future__ import annotations

import numpy as np

__all__ = ["ece", "reliability", "conformal_quantile", "per_exit_quantiles", "prediction_sets", "set_metrics"]


def _vec(x, name: str, fn: str, dtype=np.float64) -> np.ndarray:
  a = np.asarray(x)
  if a.ndim != 1 or a.size == 0:
    raise ValueError(f"{fn}: {name}: expected a non-empty vector [n], got shape {a.shape}")
  return a.astype(dtype)


def _alpha(alpha, fn: str) -> float:
  if not isinstance(alpha, (int, float, np.floating)) or not 0 < alpha < 1:
    raise ValueError(f"{fn}: alpha: expected a miscoverage level in (0, 1), got {alpha!r}")
  return float(alpha)


def reliability(confidence, correct, n_bins: int = 15):
  """Equal-mass reliability bins: ``(mean confidence [b], accuracy [b], count [b])`` over the non-empty bins.

  Bin edges are the quantiles of ``confidence`` at 0, 1/n_bins, ..., 1; a value goes to bin #{inner edges < value}
  (scikit-learn's ``calibration_curve(strategy="quantile")``, which the official code copies).
  """
  conf = _vec(confidence, "confidence", "reliability")
  corr = _vec(correct, "correct", "reliability")
  if corr.shape != conf.shape:
    raise ValueError(f"reliability: correct: expected shape {conf.shape}, got {corr.shape}")
  if not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
    raise ValueError(f"reliability: n_bins: expected a positive int, got {n_bins!r}")
  if conf.min() < 0 or conf.max() > 1:
    raise ValueError(f"reliability: confidence: expected values in [0, 1], got [{conf.min():.3g}, {conf.max():.3g}]")
  edges = np.quantile(conf, np.linspace(0.0, 1.0, n_bins + 1))
  ids = np.searchsorted(edges[1:-1], conf)
  count = np.bincount(ids, minlength=n_bins).astype(np.float64)
  s_conf = np.bincount(ids, conf, minlength=n_bins)
  s_corr = np.bincount(ids, corr, minlength=n_bins)
  keep = count > 0
  return s_conf[keep] / count[keep], s_corr[keep] / count[keep], count[keep]


def ece(confidence, correct, n_bins: int = 15) -> float:
  """Expected calibration error: sum_b (n_b / n) |acc_b - conf_b| over ``n_bins`` equal-mass bins.

  Args:
    confidence: ``[n]`` max-probability of the prediction actually made (at the exit used).
    correct: ``[n]`` 1 where that prediction is right.
  """
  c, a, n = reliability(confidence, correct, n_bins)
  return float(np.sum(n * np.abs(a - c)) / np.sum(n))


def conformal_quantile(scores, alpha: float) -> float:
  """Split-conformal threshold: the ceil((n+1)(1-alpha))/n empirical quantile of ``scores: [n]`` (numpy's
  ``"higher"`` method, i.e. the ceil((n+1)(1-alpha))-th smallest score; the level is capped at 1 as in the
  official ``get_conf_thresh``, so for n < 1/alpha - 1 it is the largest score)."""
  s = _vec(scores, "scores", "conformal_quantile")
  a = _alpha(alpha, "conformal_quantile")
  n = s.size
  level = min(1.0, np.ceil((n + 1) * (1 - a)) / n)
  return float(np.quantile(s, level, method="higher"))


def per_exit_quantiles(scores, exits, all_scores, alpha: float, *, min_count: int = 20) -> np.ndarray:
  """Per-exit thresholds q_l ``[L]`` from a calibration split.

  Args:
    scores: ``[n]`` nonconformity 1 - p_y at the exit each calibration sample used.
    exits: ``[n]`` that exit.
    all_scores: ``[n, L]`` the score of every calibration sample at every exit.
    alpha: miscoverage in (0, 1).
    min_count: an exit used by ``<= min_count`` samples takes its threshold from all samples' scores at that exit.
  """
  s = _vec(scores, "scores", "per_exit_quantiles")
  e = _vec(exits, "exits", "per_exit_quantiles", np.int64)
  al = np.asarray(all_scores, np.float64)
  if al.ndim != 2 or al.shape[0] != s.size:
    raise ValueError(f"per_exit_quantiles: all_scores: expected [n={s.size}, L], got shape {al.shape}")
  if e.shape != s.shape or e.min() < 0 or e.max() >= al.shape[1]:
    raise ValueError(f"per_exit_quantiles: exits: expected [{s.size}] ints in [0, {al.shape[1]}), got shape "
                     f"{e.shape}, range [{e.min()}, {e.max()}]")
  a = _alpha(alpha, "per_exit_quantiles")
  q = np.empty(al.shape[1])
  for l in range(al.shape[1]):
    mine = s[e == l]
    q[l] = conformal_quantile(mine, a) if mine.size > min_count else conformal_quantile(al[:, l], a)
  return q


def prediction_sets(probs, qhat) -> np.ndarray:
  """Sets ``[n, K]`` (bool): {k : p_k >= 1 - q} with ``probs: [n, K]`` at the exit used and ``qhat: [n]`` its threshold."""
  p = np.asarray(probs, np.float64)
  q = np.asarray(qhat, np.float64)
  if p.ndim != 2:
    raise ValueError(f"prediction_sets: probs: expected [n, K], got shape {p.shape}")
  if q.shape != (p.shape[0],):
    raise ValueError(f"prediction_sets: qhat: expected shape ({p.shape[0]},), got {q.shape}")
  return p >= 1.0 - q[:, None]


def set_metrics(sets, labels) -> tuple[float, float]:
  """``(coverage, mean set size)`` of boolean ``sets: [n, K]`` for integer ``labels: [n]``."""
  s = np.asarray(sets, bool)
  y = _vec(labels, "labels", "set_metrics", np.int64)
  if s.ndim != 2 or s.shape[0] != y.size:
    raise ValueError(f"set_metrics: sets: expected [n={y.size}, K], got shape {s.shape}")
  return float(s[np.arange(y.size), y].mean()), float(s.sum(1).mean())
