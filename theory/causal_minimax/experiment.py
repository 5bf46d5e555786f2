"""Experiments of paper 16: the counter-example's closed-form worst case, its J-ascent estimate, and the
reference simulation (20 environments, random 10/10 splits, 45 equivalence classes, S* = argmin h*).

Paper: Liu, Zheng, Sun, Fang, Wang, "Which Invariance Should We Transfer? A Causal Minimax Learning Approach",
ICML 2023, arXiv:2107.01876.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import check_key
from theory.causal_minimax.discrete import exact_worst_case, random_binary_scm
from theory.causal_minimax.estimators import fit_predictors, risk, subset_masks, worst_case_risk
from theory.causal_minimax.graph import equivalence_classes, k_set, whole_set_optimal, x_m0
from theory.causal_minimax.scm import (counterexample_scm, do_star_samples, reference_alphas, reference_scm,
                                       sample_environments)

__all__ = ["random_dag_study", "counterexample_worst_case", "counterexample_predictor", "counterexample_study", "CounterexampleResult",
           "reference_study", "ReferenceResult"]


def counterexample_worst_case(n_quad: int = 200, n_grid: int = 4001, u_max: float = 4.0) -> float:
  """E_Y[max_{u >= 0} (0.0625 Y^2 + 0.25 u) / (u + 0.25)^2], Y ~ N(0, 1): the worst-case risk of
  f_{X}(x, m) = m x / (m^2 + 0.25) (u = m^2), by Gauss-Hermite quadrature in Y and a grid in u (float64, numpy).
  The maximiser is u*(Y) = max(0, 0.25 - 0.5 Y^2), inside [0, 0.25]."""
  for name, v in (("n_quad", n_quad), ("n_grid", n_grid)):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 2:
      raise ValueError(f"counterexample_worst_case: {name}: expected an int >= 2, got {v!r}")
  if not (isinstance(u_max, (int, float)) and np.isfinite(u_max) and u_max > 0):
    raise ValueError(f"counterexample_worst_case: u_max: expected a finite number > 0, got {u_max!r}")
  t, w = np.polynomial.hermite_e.hermegauss(n_quad)
  w = w / w.sum()
  u = np.concatenate([np.linspace(0.0, u_max, n_grid), np.maximum(0.0, 0.25 - 0.5 * t ** 2)])
  val = (0.0625 * t[:, None] ** 2 + 0.25 * u[None]) / (u[None] + 0.25) ** 2
  return float(np.sum(w * val.max(axis=1)))


def counterexample_predictor(x: jax.Array) -> jax.Array:
  """The exact stable predictor f_{X}(x, m) = m x / (m^2 + 0.25) on covariates ``x: [N, 2]`` = (X, M)."""
  x = jnp.asarray(x)
  if x.ndim != 2 or x.shape[1] != 2:
    raise ValueError(f"counterexample_predictor: x: expected [N, 2] (columns X, M), got {x.shape}")
  return x[:, 1] * x[:, 0] / (x[:, 1] ** 2 + 0.25)


class CounterexampleResult(NamedTuple):
  closed_form: float        # 1.0786
  h_exact: float            # J-ascent on the exact f_{X}
  h_empty: float            # J-ascent on the fitted f_∅
  h_fitted: float           # J-ascent on the fitted f_{X}
  do_risk_fitted: float     # MSE of the fitted f_{X} on fresh do* samples
  do_risk_empty: float
  sample_closed_form: float  # the pointwise maximum evaluated on the ascent's own Y sample


def counterexample_study(key: jax.Array, *, n_env: int = 10, n_per_env: int = 200, fit_steps: int = 3000,
                         restarts: int = 6, steps: int = 2000, j_hidden: int = 4) -> CounterexampleResult:
  """The counter-example end to end: environments M = alpha_e Y + N(0, 0.25), alpha_e in [-0.8, 0.8]; f_∅ and
  f_{X} fitted on do* samples; h* of both (and of the exact f_{X}) by J-ascent (no early stopping)."""
  check_key(key, "key", "counterexample_study")
  scm = counterexample_scm()
  k_data, k_do, k_fit, k_j, k_test = jax.random.split(key, 5)
  data = sample_environments(k_data, scm, np.linspace(-0.8, 0.8, n_env), n_per_env).reshape(-1, 3)
  ds = do_star_samples(k_do, scm, data)
  cov = [scm.col(v) for v in scm.graph.covariates]
  masks = subset_masks(scm, [(), ("X",)])
  pr = fit_predictors(k_fit, ds[:, cov], ds[:, scm.col("Y")], masks, steps=fit_steps)
  kw = dict(restarts=restarts, steps=steps, min_delta=0.0, j_hidden=j_hidden)
  wc = worst_case_risk(k_j, scm, pr, data, **kw)
  we = worst_case_risk(k_j, scm, counterexample_predictor, data, **kw)
  fresh = do_star_samples(k_test, scm, sample_environments(jax.random.fold_in(k_test, 1), scm,
                                                           np.linspace(-0.8, 0.8, n_env), n_per_env).reshape(-1, 3))
  dr = np.asarray(risk(scm, pr, fresh))
  y = np.asarray(data[:, scm.col("Y")], np.float64)
  u = np.concatenate([np.linspace(0, 4, 2001)[None].repeat(y.size, 0), np.maximum(0, 0.25 - 0.5 * y ** 2)[:, None]],
                     1)
  sample_cf = float(np.mean(np.max((0.0625 * y[:, None] ** 2 + 0.25 * u) / (u + 0.25) ** 2, axis=1)))
  return CounterexampleResult(counterexample_worst_case(), float(we.h_star[0]), float(wc.h_star[0]),
                              float(wc.h_star[1]), float(dr[1]), float(dr[0]), sample_cf)


class ReferenceResult(NamedTuple):
  """Per split (axis 0): ``h_star [splits, C]`` estimated worst case per class representative, ``test_max
  [splits, C]`` max test-environment MSE per class, ``selected [splits]`` the index of S*, ``whole_max``,
  ``erm_max`` [splits] the baselines' max test MSE, ``n_subsets``, ``classes`` (representatives)."""
  h_star: np.ndarray
  test_max: np.ndarray
  selected: np.ndarray
  whole_max: np.ndarray
  erm_max: np.ndarray
  whole_h: np.ndarray
  n_subsets: int
  classes: tuple


def reference_study(key: jax.Array, *, splits: int = 10, n_per_env: int = 100, fit_steps: int = 2000,
                    restarts: int = 2, steps: int = 2000, patience: int = 100, min_delta: float = 0.01
                    ) -> ReferenceResult:
  """The reference simulation: 20 environments (alpha_e = e - 10.5) of ``n_per_env`` samples; per split 10
  train / 10 test environments at random; f_S fitted on do* samples of the pooled training data for one
  representative per equivalence class plus the whole stable set, ERM (all covariates, observational data);
  h* by J-ascent on the training data; S* = argmin h*; every predictor's max MSE over the test environments
  (raw scale: no per-environment standardisation)."""
  check_key(key, "key", "reference_study")
  scm = reference_scm()
  classes = equivalence_classes(scm.graph)
  reps = [b for b, _ in classes]
  n_sub = sum(len(m) for _, m in classes)
  masks = np.concatenate([subset_masks(scm, reps + [scm.graph.stable]),
                          np.ones((1, len(scm.graph.covariates)), np.float32)])
  alphas = reference_alphas(20)
  cov = [scm.col(v) for v in scm.graph.covariates]
  yc = scm.col("Y")
  k_data, k_rest = jax.random.split(key)
  envs = sample_environments(k_data, scm, alphas, n_per_env)     # [20, n, d]
  H, T, W, R, WH, SEL = [], [], [], [], [], []
  for s in range(splits):
    ks = jax.random.fold_in(k_rest, s)
    k_perm, k_do, k_fit, k_j = jax.random.split(ks, 4)
    perm = np.asarray(jax.random.permutation(k_perm, 20))
    train = envs[perm[:10]].reshape(-1, envs.shape[-1])
    test = envs[perm[10:]]
    ds = do_star_samples(k_do, scm, train)
    P = masks.shape[0]
    x = jnp.concatenate([jnp.broadcast_to(ds[:, cov], (P - 1,) + ds[:, cov].shape), train[None][:, :, cov]])
    y = jnp.concatenate([jnp.broadcast_to(ds[:, yc], (P - 1, ds.shape[0])), train[None, :, yc]])
    pr = fit_predictors(k_fit, x, y, masks, steps=fit_steps)
    stable = jax.tree.map(lambda a: a[:-1], pr)
    wc = worst_case_risk(k_j, scm, stable, train, restarts=restarts, steps=steps, patience=patience,
                         min_delta=min_delta)
    tm = np.asarray(risk(scm, pr, test)).max(axis=0)              # [P]
    h = np.asarray(wc.h_star)
    sel = int(np.argmin(h[:-1]))
    H.append(h[:-1]); T.append(tm[:-2]); SEL.append(sel); W.append(tm[-2]); R.append(tm[-1]); WH.append(h[-1])
  return ReferenceResult(np.array(H), np.array(T), np.array(SEL), np.array(W), np.array(R), np.array(WH), n_sub,
                         tuple(reps))


def random_dag_study(n_seeds: int = 400, n_stable: int = 5, n_mutable: int = 2, p_edge: float = 0.45,
                     rel_tol: float = 1e-9) -> dict:
  """Random binary SCMs with X_M^0 != ∅ and K != ∅, exact h* over every subset: for the instances with
  K ∩ Ch(Y) = ∅ (``holds_*``) and without (``fails_*``), how many there are and in how many the whole stable set
  is strictly above the minimum (relative tolerance ``rel_tol``); ``gaps`` = h*(X_S) / min_S h*(S) - 1."""
  if isinstance(n_seeds, bool) or not isinstance(n_seeds, (int, np.integer)) or n_seeds < 1:
    raise ValueError(f"random_dag_study: n_seeds: expected a positive int, got {n_seeds!r}")
  out = dict(holds_n=0, holds_whole_not_min=0, fails_n=0, fails_whole_not_min=0, holds_gaps=[], fails_gaps=[])
  for seed in range(n_seeds):
    g, c = random_binary_scm(seed, n_stable, n_mutable, p_edge)
    if not x_m0(g) or not k_set(g):
      continue
    h = exact_worst_case(g, c)
    gap = h[g.stable] / min(h.values()) - 1
    tag = "holds" if whole_set_optimal(g) else "fails"
    out[f"{tag}_n"] += 1
    out[f"{tag}_whole_not_min"] += int(gap > rel_tol)
    out[f"{tag}_gaps"].append(float(gap))
  return out
