"""Recovery metrics after state matching: state accuracy, weight correlation / MSE, 3-class adjacency scores,
transition error. Label switching: states are matched by the permutation that maximises decoding agreement
(brute force over the S! permutations, exact for the small S used here; the official ``match_states``)."""
from __future__ import annotations

import itertools
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from theory.onehot_glm._checks import check_int


class Recovery(NamedTuple):
  """Metrics of one fit against its truth (after matching).

  Attributes: state_acc, weight_corr, weight_mse, balanced_acc, macro_f1 (over {inh, none, exc}, off-diagonal
  entries of every state), pi_error (max |Pi_hat - Pi|), perm ([S]: perm[s] = fitted state matched to true s).
  """
  state_acc: float
  weight_corr: float
  weight_mse: float
  balanced_acc: float
  macro_f1: float
  pi_error: float
  perm: np.ndarray


def _as_states(z, name, fn, s):
  a = np.asarray(z)
  if not np.issubdtype(a.dtype, np.integer):
    raise TypeError(f"{fn}: {name}: expected integer state labels, got {a.dtype}")
  if a.size and (a.min() < 0 or a.max() >= s):
    raise ValueError(f"{fn}: {name}: expected states in [0, {s}), got min {a.min()} max {a.max()}")
  return a


def match_states(z_true, z_hat, n_states: int) -> np.ndarray:
  """The permutation perm [S] maximising #{t: z_hat_t = perm[z_true_t]} (ties: the first in lexicographic order).

  Args: z_true, z_hat: integer labels of equal shape in [0, S). Returns int64 [S].
  """
  fn = "match_states"
  s = check_int(n_states, "n_states", fn)
  if s > 8:
    raise ValueError(f"{fn}: n_states: expected S <= 8 (brute force over S! permutations), got {s}")
  zt = _as_states(z_true, "z_true", fn, s)
  zh = _as_states(z_hat, "z_hat", fn, s)
  if zt.shape != zh.shape:
    raise ValueError(f"{fn}: z_true, z_hat: expected equal shapes, got {zt.shape} and {zh.shape}")
  conf = np.zeros((s, s), np.int64)
  np.add.at(conf, (zt.ravel(), zh.ravel()), 1)
  perms = np.array(list(itertools.permutations(range(s))))
  scores = conf[np.arange(s)[None, :], perms].sum(1)
  return perms[int(np.argmax(scores))]


def adjacency_scores(true_types, est_types, mask=None) -> tuple[float, float]:
  """(balanced accuracy, macro-F1) of 3-class types {-1, 0, 1} over the entries where ``mask`` is true
  (default: every entry). A class absent from both truth and estimate is left out of the macro average."""
  fn = "adjacency_scores"
  t, e = np.asarray(true_types), np.asarray(est_types)
  if t.shape != e.shape:
    raise ValueError(f"{fn}: true_types, est_types: expected equal shapes, got {t.shape} and {e.shape}")
  for name, a in (("true_types", t), ("est_types", e)):
    if not np.all(np.isin(a, (-1, 0, 1))):
      raise ValueError(f"{fn}: {name}: expected values in {{-1, 0, 1}}, got {np.unique(a)[:5]}")
  if mask is not None:
    m = np.broadcast_to(np.asarray(mask, bool), t.shape)
    t, e = t[m], e[m]
  recalls, f1s = [], []
  for c in (-1, 0, 1):
    tp = np.sum((t == c) & (e == c))
    n_true, n_est = np.sum(t == c), np.sum(e == c)
    if n_true:
      recalls.append(tp / n_true)
    if n_true or n_est:
      f1s.append(2 * tp / (n_true + n_est))
  return float(np.mean(recalls)), float(np.mean(f1s))


def weight_correlation(W_true, W_hat, mask=None) -> float:
  """Pearson correlation of the entries of two weight arrays (over ``mask`` if given)."""
  a, b = np.asarray(W_true, np.float64), np.asarray(W_hat, np.float64)
  if a.shape != b.shape:
    raise ValueError(f"weight_correlation: W_true, W_hat: expected equal shapes, got {a.shape} and {b.shape}")
  if mask is not None:
    m = np.broadcast_to(np.asarray(mask, bool), a.shape)
    a, b = a[m], b[m]
  if a.size < 2 or a.std() == 0 or b.std() == 0:
    return 0.0
  return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def recovery(truth, result, z_true, z_hat) -> Recovery:
  """All metrics of a fit (``em.FitResult``) against a ``generator.Truth``, after matching the decoded states
  ``z_hat`` to ``z_true``; weights and Pi are permuted by the same matching. Off-diagonal entries only."""
  W = np.asarray(truth.W)
  s, n = W.shape[0], W.shape[-1]
  perm = match_states(z_true, z_hat, s)
  acc = float(np.mean(np.asarray(z_hat) == perm[np.asarray(z_true)]))
  Wh = np.asarray(result.W)[perm]
  th = np.asarray(result.types)[perm]
  off = ~np.eye(n, dtype=bool)[None]
  bal, f1 = adjacency_scores(np.asarray(truth.types), th, off)
  m = np.broadcast_to(off, W.shape)
  pi_err = float(np.max(np.abs(np.asarray(result.Pi)[perm][:, perm] - np.asarray(truth.Pi))))
  return Recovery(acc, weight_correlation(W, Wh, off), float(np.mean((W[m] - Wh[m]) ** 2)), bal, f1, pi_err, perm)
