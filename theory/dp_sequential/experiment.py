"""The experiments of paper 31's claims, as functions a user can rerun with other parameters.

* :func:`continuous_runs` — simulated Gaussian-signal paths for several ε (one seed per ε);
* :func:`llr_growth` — the per-path least-squares slope of ℓ_n against ln n and the flatness of ℓ_n/√(ln n);
* :func:`first_report_tail` — the tail slope of the exact law of the first correct report and its partial sums;
* :func:`emergent_threshold`, :func:`switch_point_bisection` — the binary cascade threshold of simulated
  Bayesian agents and the ε at which it changes;
* :func:`cascade_frequency` — the simulated frequency of a correct cascade;
* :func:`stopping_cell` — the belief-threshold stopping time: Bellman solution against Monte Carlo.

Results are host numpy arrays and Python numbers.
"""
from __future__ import annotations

import math

import jax
import numpy as np

from theory.common import privacy
from theory.dp_sequential import binary
from theory.dp_sequential.continuous import first_report_survival, first_report_tail_exponent, simulate_paths
from theory.dp_sequential.stopping import bellman_stopping_time, stopping_times

# Binary cascades: one compiled shape for the bisection and the Monte Carlo.
CASCADE_AGENTS = 400


def _np(tree):
  return jax.tree.map(np.asarray, tree)


def _check_seed(seed, fn: str) -> int:
  if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
    raise ValueError(f"{fn}: seed: expected an int >= 0, got {seed!r}")
  return int(seed)


def continuous_runs(seed: int, n_paths: int, n_agents: int, sigma: float, epsilons,
                    record_every: int = 1) -> tuple[np.ndarray, dict]:
  """Simulated paths (:func:`~theory.dp_sequential.simulate_paths`, θ = +1) for each ε in ``epsilons`` (``inf``
  = non-private), the i-th with key ``PRNGKey(seed·1000 + i)``.

  Returns: ``(n [n_agents // record_every], {ε: ContinuousPaths of numpy arrays, fields [n_paths, ...]})`` with
  ``n`` the agent index of each recorded ℓ.
  """
  fn = "continuous_runs"
  seed = _check_seed(seed, fn)
  eps = list(epsilons) if isinstance(epsilons, (tuple, list)) else None
  if not eps:
    raise ValueError(f"{fn}: epsilons: expected a non-empty list of privacy budgets, got {epsilons!r}")
  record_every = privacy.check_count("record_every", record_every, fn)
  runs = {e: _np(simulate_paths(jax.random.PRNGKey(seed * 1000 + i), n_paths, n_agents, sigma, e,
                                record_every=record_every)) for i, e in enumerate(eps)}
  n = np.arange(1, n_agents // record_every + 1) * record_every
  return n, runs


def llr_growth(n, llr, fit_from: float, flat_from: float = 100.0) -> dict:
  """How the public LLR grows: ``n: [R]`` agent indices, ``llr: [paths, R]`` recorded ℓ_n.

  Returns a dict of floats: ``slope`` / ``slope_se`` (mean and standard error over paths of the least-squares
  slope of ℓ_n against ln n on ``n >= fit_from``; the paper's private rate is 2/(εσ²)), ``flat_ratio`` (max/min
  of the path-mean ℓ_n/√(ln n) over ``n >= flat_from``: 1 for exactly √(ln n) growth), and ``mean`` / ``se``
  (``[R]`` arrays: the path mean of ℓ_n and its standard error).
  """
  fn = "llr_growth"
  n = np.asarray(n, np.float64)
  v = np.asarray(llr, np.float64)
  if n.ndim != 1 or v.ndim != 2 or v.shape[1] != n.shape[0] or v.shape[0] < 2:
    raise ValueError(f"{fn}: n, llr: expected n [R] and llr [paths >= 2, R], got {n.shape} and {v.shape}")
  if not np.all(n > 1):
    raise ValueError(f"{fn}: n: expected agent indices > 1 (ln n > 0), got minimum {n.min()}")
  fit, band = n >= fit_from, n >= flat_from
  if fit.sum() < 2 or band.sum() < 1:
    raise ValueError(f"{fn}: fit_from, flat_from: expected >= 2 points with n >= fit_from and one with n >= "
                     f"flat_from, got {int(fit.sum())} and {int(band.sum())}")
  per_path = np.polyfit(np.log(n[fit]), v[:, fit].T, 1)[0]
  mean = v.mean(0)
  se = v.std(0, ddof=1) / math.sqrt(v.shape[0])
  ratio = mean[band] / np.sqrt(np.log(n[band]))
  return dict(slope=float(per_path.mean()), slope_se=float(per_path.std(ddof=1) / math.sqrt(per_path.size)),
              flat_ratio=float(ratio.max() / ratio.min()), mean=mean, se=se)


def first_report_tail(horizon: int, sigma: float, epsilon: float) -> dict:
  """The exact law of the first correct report τ (:func:`~theory.dp_sequential.first_report_survival`) summarised
  for the claim: the log-log slope of P(τ > k) between K/10 and K (K = ``horizon``), the predicted exponent h
  (``first_report_tail_exponent``; ``inf`` without privacy), the partial sums Σ_{k≤K/10} and Σ_{k≤K} of P(τ > k),
  a bound on the rest for a k^{−h'} tail (h' = −slope > 1: P(τ > K)·K/(h' − 1); ``inf`` otherwise) and the
  growth factor K·P(τ > K) / ((K/10)·P(τ > K/10)). Also returns the law itself (``law``)."""
  horizon = privacy.check_count("horizon", horizon, "first_report_tail")
  if horizon < 10:
    raise ValueError(f"first_report_tail: horizon: expected an int >= 10, got {horizon}")
  law = _np(first_report_survival(horizon, sigma, epsilon))
  k1, k2 = horizon // 10, horizon
  slope = math.log(law.survival[k2] / law.survival[k1]) / math.log(k2 / k1)
  tail = float(law.survival[k2] * k2 / (-slope - 1)) if -slope > 1 else math.inf
  return dict(slope=slope, h=float(first_report_tail_exponent(epsilon, sigma)), mean=float(law.partial_mean[-1]),
              mean_k1=float(law.partial_mean[k1]), tail=tail,
              k_s_ratio=float(k2 * law.survival[k2] / (k1 * law.survival[k1])), law=law)


def emergent_threshold(key, p: float, epsilon: float, n_paths: int = 16, n_agents: int = CASCADE_AGENTS) -> int:
  """The cascade threshold the simulated Bayesian agents reach: the largest net report count |ℓ|/L_q at which a
  cascade formed over ``n_paths`` runs (:func:`~theory.dp_sequential.binary.simulate_paths`). A
  ``RuntimeError`` if some run formed no cascade within ``n_agents`` agents."""
  r = _np(binary.simulate_paths(key, n_paths, n_agents, p, epsilon))
  if not np.all(r.cascade_time > 0):
    raise RuntimeError(f"emergent_threshold: no cascade within {n_agents} agents at p={p}, epsilon={epsilon}")
  return int(r.net_reports.max())


def switch_point_bisection(key, p: float, guess: float, k: int, steps: int, width: float = 0.1,
                           n_agents: int = CASCADE_AGENTS) -> dict:
  """Measures the ε at which the simulated agents' cascade threshold drops from ``k`` to ``k − 1``.

  Starts from the bracket ``[guess·(1 − width), guess·(1 + width)]`` (the threshold must be >= k at its lower end
  and <= k − 1 at its upper end) and bisects ``steps`` times with :func:`emergent_threshold` (the same ``key`` at
  every ε). Returns ``dict(measured, width, low_threshold, high_threshold)``: the bracket's midpoint and width
  (NaN when the starting bracket does not contain the change) and the thresholds at its starting ends.
  """
  fn = "switch_point_bisection"
  k = privacy.check_count("k", k, fn)
  steps = privacy.check_count("steps", steps, fn)
  guess = privacy.check_positive("guess", guess, fn=fn)
  width = privacy.check_real("width", width, fn, lambda v: 0 < v < 1, "a number in (0, 1)")
  lo, hi = guess * (1 - width), guess * (1 + width)
  t_lo, t_hi = emergent_threshold(key, p, lo, n_agents=n_agents), emergent_threshold(key, p, hi, n_agents=n_agents)
  if not (t_lo >= k and t_hi <= k - 1):
    return dict(measured=math.nan, width=math.nan, low_threshold=t_lo, high_threshold=t_hi)
  for _ in range(steps):
    mid = 0.5 * (lo + hi)
    if emergent_threshold(key, p, mid, n_agents=n_agents) >= k:
      lo = mid
    else:
      hi = mid
  return dict(measured=0.5 * (lo + hi), width=hi - lo, low_threshold=t_lo, high_threshold=t_hi)


def cascade_frequency(key, p: float, epsilon: float, n_paths: int, n_agents: int = CASCADE_AGENTS) -> dict:
  """Simulated binary cascades: ``dict(correct, all_formed)``, the fraction of ``n_paths`` runs whose cascade
  action is correct (θ = +1) and whether every run formed a cascade within ``n_agents`` agents."""
  r = _np(binary.simulate_paths(key, n_paths, n_agents, p, epsilon))
  return dict(correct=float(np.mean(r.cascade_action == 1)), all_formed=bool(np.all(r.cascade_time > 0)))


def stopping_cell(key, threshold: float, n_paths: int, sigma: float, epsilon: float, grid_size: int,
                  cap: int = 1_000_000) -> dict:
  """E[τ_B] at belief threshold B = ``threshold`` two ways: the Bellman solution on ``grid_size`` nodes
  (:func:`~theory.dp_sequential.bellman_stopping_time`, with its grid error) and the mean of ``n_paths`` Monte
  Carlo stopping times (:func:`~theory.dp_sequential.stopping_times`, censored at ``cap``).
  Returns ``dict(bellman, grid_error, mc_mean, mc_se, stopped)`` (``stopped``: fraction of paths that stopped)."""
  sol = bellman_stopping_time(threshold, sigma, epsilon, grid_size=grid_size)
  mc = _np(stopping_times(key, threshold, n_paths, sigma, epsilon, cap=cap))
  return dict(bellman=float(sol.at_zero), grid_error=float(sol.grid_error), mc_mean=float(mc.time.mean()),
              mc_se=float(mc.time.std(ddof=1) / math.sqrt(mc.time.size)), stopped=float(mc.stopped.mean()))
