"""Claims of paper 10 (Jain, Raskhodnikova, Sivakumar, Smith, "The Price of Differential Privacy under
Continual Observation", ICML 2023, arXiv:2112.00828).

counting  continual counting with the binary-tree mechanism costs only polylog(T) (max-over-t error ∝
          (log T)^k, k ≈ 2), against √T for independently noised rows and T for fresh noise per prefix; the
          batch count's error is |Lap(1/ε)| whatever T.
maxsum    MaxSum under (ε, δ)-DP: the sparse-vector mechanism's error grows like T^{1/3} (log-log slope ≈ 1/3
          up to log factors) and does not depend on d; d per-column trees (Gaussian) grow like √d; the
          crossover d* where they are equal grows like T^{2/3} (√d* ≈ T^{1/3}); batch error O(1/ε).

The experiments (replicated errors, crossover) are in :mod:`theory.dp_continual.experiment`.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

import theory.dp_continual as dc
from experiments.claims import Case, Context, Outcome, Verdict, claim, pyplot
from experiments.claims.report import fit_slope, fmt_mean_se, markdown_table, mean_se

EPS = 1.0
DELTA = 1e-7  # < 1/T for every T used (T ≤ 2^22)
Z = 4.0       # Monte Carlo tolerance in standard errors

COUNTING = {
    "smoke": dict(log2_T=(6, 8), reps=8, var_T=64, var_reps=8),
    "small": dict(log2_T=(8, 10, 12, 14, 16, 18, 20), reps=50, var_T=1024, var_reps=2000),
    "paper": dict(log2_T=(8, 10, 12, 14, 16, 18, 20, 22), reps=100, var_T=1024, var_reps=4000),
}
MAXSUM = {
    "smoke": dict(svt_log2_T=(6, 8), svt_d=4, svt_reps=2, grid_log2_T=(6,), grid_d=(1, 4),
                  max_cells=2**12, tree_reps=2, flat_log2_T=6),
    "small": dict(svt_log2_T=(10, 12, 14, 16, 18, 20), svt_d=4, svt_reps=8, grid_log2_T=(10, 12, 14, 16),
                  grid_d=(1, 8, 64, 512), max_cells=2**22, tree_reps=4, flat_log2_T=12),
    "paper": dict(svt_log2_T=(10, 12, 14, 16, 18, 20, 22), svt_d=4, svt_reps=16, grid_log2_T=(10, 12, 14, 16, 18),
                  grid_d=(1, 4, 16, 64, 256, 1024), max_cells=2**24, tree_reps=8, flat_log2_T=14),
}

# counting rule thresholds
TREE_TOP_SLOPE_MAX = 0.2
POLYLOG_K = (1.0, 3.0)
NAIVE_SLOPE = (0.4, 0.6)
VAR_Z = 3.0
VAR_FRACTION_MIN = 0.95
# maxsum rule thresholds
SVT_SLOPE = (0.25, 0.45)
TREE_D_SLOPE = (0.4, 0.7)
SVT_FLAT_MAX = 0.1
CROSS_SLOPE = (0.4, 1.0)


def _slope(x, y) -> float:
  """Least-squares slope of log y against log x (report.fit_slope's point estimate)."""
  return fit_slope(x, np.asarray(y, np.float64), n_boot=1).slope


def _max_abs_z(mean, se, target) -> float:
  """max over the grid of |mean − target| / se (inf where se = 0 and mean ≠ target)."""
  z = [0.0 if m == t else (abs(m - t) / s if s > 0 else math.inf) for m, s, t in zip(mean, se, target)]
  return float(max(z))


def _in(v, lo_hi) -> bool:
  return lo_hi[0] <= v <= lo_hi[1]


# ---------------------------------------------------------------------------------------------------
# (a) Counting.


def judge_counting(e: dict) -> tuple[Verdict, str]:
  """Polylog tree, √T naive, (T/ε)H_T fresh, 1/ε batch, popcount variance law."""
  rule = (f"holds iff the binary tree's max-over-t error has a log-log slope below {TREE_TOP_SLOPE_MAX:g} between "
          f"the two largest T and fits (log2 T)^k with k in [{POLYLOG_K[0]:g}, {POLYLOG_K[1]:g}], the naive "
          f"counter's slope is in [{NAIVE_SLOPE[0]:g}, {NAIVE_SLOPE[1]:g}], the fresh-prefix counter's mean error "
          f"is within {Z:g} SE of its closed form (T/ε) H_T (max of T i.i.d. |Lap(T/ε)|) and the batch count's "
          f"mean error within {Z:g} SE of 1/ε at every T, and the tree's per-t mean squared error matches "
          f"popcount(t)·2b² within {VAR_Z:g} SE at >= {VAR_FRACTION_MIN:.0%} of t. ε = {e['epsilon']:g} "
          f"(Gaussian tree: δ = {e['delta']:g}), Bernoulli(1/2) streams, {e['reps']} replications per T.")
  checks = [e["tree_top_slope"] < TREE_TOP_SLOPE_MAX, _in(e["polylog_exponent"], POLYLOG_K),
            _in(e["naive_slope"], NAIVE_SLOPE), e["fresh_max_abs_z"] <= Z, e["batch_max_abs_z"] <= Z,
            e["variance_fraction"] >= VAR_FRACTION_MIN]
  return (Verdict.HOLDS if all(checks) else Verdict.DOES_NOT_HOLD), rule


def _counting_case(**kw):
  e = dict(tree_top_slope=0.12, polylog_exponent=2.04, naive_slope=0.50, fresh_max_abs_z=1.3,
           batch_max_abs_z=1.1, variance_fraction=0.99, epsilon=EPS, delta=DELTA, reps=50)
  e.update(kw)
  return e


@claim("dp_continual", "counting", "Continual counting: the binary tree costs polylog(T), naive noise √T or T",
       "binary-tree counter: max-over-t error polylog(T) (≈ log^2 T / ε); naive per-row noise ~ √T; fresh "
       "noise per prefix ~ T; batch error O(1/ε) independent of T",
       judge=judge_counting,
       cases=[Case("holds", _counting_case(), Verdict.HOLDS),
              Case("does not hold: tree grows like √T", _counting_case(tree_top_slope=0.5, polylog_exponent=6.0),
                   Verdict.DOES_NOT_HOLD),
              Case("does not hold: variance law fails", _counting_case(variance_fraction=0.6), Verdict.DOES_NOT_HOLD),
              Case("boundary: top slope exactly 0.2", _counting_case(tree_top_slope=0.2), Verdict.DOES_NOT_HOLD),
              Case("boundary: fresh exactly 4 SE, k = 3, naive 0.6, 95 %",
                   _counting_case(fresh_max_abs_z=4.0, polylog_exponent=3.0, naive_slope=0.6, variance_fraction=0.95),
                   Verdict.HOLDS)])
def counting(ctx: Context) -> Outcome:
  p = COUNTING[ctx.variant]
  Ts = [2**k for k in p["log2_T"]]
  key = jax.random.PRNGKey(ctx.seed)
  names = dc.COUNTING_MECHANISMS
  stats, sq = [], None  # per T: [(mean, se)] * 5; squared errors per t at T = var_T
  for T in Ts:
    reps = max(p["reps"], p["var_reps"]) if T == p["var_T"] else p["reps"]
    errs, sq_t = dc.counting_errors(jax.random.fold_in(key, T), dc.seeded_stream(T, T, 1), EPS, DELTA, reps)
    if T == p["var_T"]:
      sq = sq_t
    stats.append([mean_se(errs[:, m]) for m in range(5)])
    ctx.log(f"T=2^{int(math.log2(T))}: " + ", ".join(f"{n.split(':')[0]} {s[0]:.1f}" for n, s in zip(names, stats[-1])))
  mean = np.array([[s[0] for s in row] for row in stats])
  se = np.array([[s[1] for s in row] for row in stats])
  slopes = [_slope(Ts, mean[:, m]) for m in range(4)]
  top_slope = _slope(Ts[-2:], mean[-2:, 0])
  # polylog exponent: error ∝ (log2 T)^k  ->  k = slope of log error against log log T
  k_poly = _slope(np.log2(Ts), mean[:, 0])
  # fresh noise per prefix: the errors |Lap(T/ε)| are i.i.d. over t, so the max over t has mean (T/ε) H_T
  # (the maximum of T i.i.d. Exp(1) has mean H_T = Σ_{i≤T} 1/i): slope 1 + 1/ln T, not exactly 1
  fresh_pred = np.array([T / EPS * float(np.sum(1.0 / np.arange(1, T + 1))) for T in Ts])

  # per-t variance vs popcount(t)·2b² at one T (Laplace tree; the grid's run at T = var_T)
  Tv = p["var_T"]
  cal = dc.tree_calibration(Tv, 1, EPS)
  msq, msq_se = mean_se(sq, axis=0)
  pred = np.asarray(dc.tree_error_variance(jnp.arange(1, Tv + 1), cal.node_variance))
  var_frac = float(np.mean(np.abs((msq - pred) / msq_se) <= VAR_Z))

  evidence = dict(tree_top_slope=top_slope, polylog_exponent=k_poly, naive_slope=slopes[2],
                  fresh_max_abs_z=_max_abs_z(mean[:, 3], se[:, 3], fresh_pred),
                  batch_max_abs_z=_max_abs_z(mean[:, 4], se[:, 4], [1 / EPS] * len(Ts)),
                  variance_fraction=var_frac, epsilon=EPS, delta=DELTA, reps=p["reps"])
  rows = [[f"2^{int(math.log2(T))}"] + [fmt_mean_se(mean=mean[i, m], se=se[i, m]) for m in range(5)]
          for i, T in enumerate(Ts)]
  table = [markdown_table(["T", *names], rows), "",
           "fresh-prefix closed form (T/ε) H_T: " + ", ".join(f"{v:.1f}" for v in fresh_pred),
           "log-log slopes in T: " + ", ".join(f"{n}: {s:.3f}" for n, s in zip(names, slopes)),
           f"tree (Laplace) slope between the two largest T: {top_slope:.3f}; error ∝ (log2 T)^k with k = {k_poly:.2f}",
           f"per-t variance at T = {Tv} ({sq.shape[0]} replications): |z| ≤ {VAR_Z:g} at {var_frac:.1%} of t",
           f"largest |z| against the closed forms: fresh {evidence['fresh_max_abs_z']:.2f}, batch "
           f"{evidence['batch_max_abs_z']:.2f}"]
  figures = ctx.figures(lambda: _plot_counting(ctx, Ts, mean, se, slopes, Tv, msq, msq_se, pred, fresh_pred))
  return Outcome(
      measured={"tree (Laplace) error at T=2^%d" % p["log2_T"][-1]: f"{mean[-1, 0]:.1f} ± {se[-1, 0]:.1f}",
                "tree slope (all T) / top slope": f"{slopes[0]:.3f} / {top_slope:.3f}",
                "tree polylog exponent k": round(k_poly, 2), "naive slope": round(slopes[2], 3),
                "fresh slope": round(slopes[3], 3),
                "fresh / (T/ε)H_T at the largest T": round(float(mean[-1, 3] / fresh_pred[-1]), 4),
                "batch mean error": f"{mean[-1, 4]:.3f} (1/ε = {1 / EPS:g})",
                "per-t Var = popcount·2b² (|z| ≤ 3)": f"{var_frac:.1%}"},
      evidence=evidence, figures=figures, table="\n".join(table),
      data={"T": Ts, "mechanisms": list(names), "mean": mean.tolist(), "se": se.tolist(), "slopes": slopes,
            "tree_top_slope": top_slope, "polylog_exponent": k_poly, "variance_check_fraction": var_frac})


def _plot_counting(ctx, Ts, mean, se, slopes, Tv, msq, msq_se, pred, fresh_pred):
  plt = pyplot()
  fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11.5, 4.3))
  for m, (name, c) in enumerate(zip(dc.COUNTING_MECHANISMS, ("C0", "C9", "C1", "C3", "k"))):
    lab = name + (f" (slope {slopes[m]:.2f})" if m < 4 else "")
    ax.errorbar(Ts, mean[:, m], yerr=2 * se[:, m], fmt="o-", color=c, label=lab, capsize=2, ms=4)
  Tg = np.asarray(Ts, float)
  ref = mean[-1, 0] * (np.log2(Tg) / np.log2(Tg[-1])) ** 2
  ax.plot(Tg, ref, "C0:", lw=1, label="∝ (log T)² through the last tree point")
  ax.plot(Tg, fresh_pred, "C3:", lw=1, label="(T/ε) H_T (closed form)")
  ax.set_xscale("log", base=2)
  ax.set_yscale("log")
  ax.set(xlabel="stream length T", ylabel="max over t of |released − true count|",
         title=f"Continual counting, ε = {EPS:g} (mean ± 2 SE)")
  ax.legend(fontsize=7)
  pc = np.array([bin(t).count("1") for t in range(1, Tv + 1)])
  jitter = np.random.default_rng(0).uniform(-0.15, 0.15, pc.size)
  ax2.plot(pc + jitter, msq, ".", ms=2, color="C0", alpha=0.4, label="Monte Carlo E[err²] at each t")
  groups = np.unique(pc)
  ax2.errorbar(groups, [msq[pc == g].mean() for g in groups],
               yerr=[2 * np.sqrt((msq_se[pc == g] ** 2).sum()) / (pc == g).sum() for g in groups],
               fmt="o", color="C0", capsize=3, label="mean over the t with that popcount (± 2 SE)")
  ax2.plot(groups, [pred[pc == g][0] for g in groups], "-", color="C3", lw=1, label="closed form popcount(t) · 2b²")
  ax2.set(xlabel="popcount(t) (number of tree nodes summed at time t)", ylabel="E[(ŷ_t − y_t)²]",
          title=f"Tree (Laplace), T = {Tv}: error variance vs closed form")
  ax2.legend(fontsize=7)
  return ctx.save_figure(fig, "dp_continual_counting.png", dpi=120)


# ---------------------------------------------------------------------------------------------------
# (b) MaxSum: sparse vector vs per-column trees vs batch.


def judge_maxsum(e: dict) -> tuple[Verdict, str]:
  """T^{1/3} sparse vector flat in d, √d trees, crossover slope, 1/ε batch."""
  rule = (f"holds iff the sparse-vector mechanism's max-over-t error has a log-log slope in T in "
          f"[{SVT_SLOPE[0]:g}, {SVT_SLOPE[1]:g}] over the three largest T, the per-column trees' error has a slope "
          f"in log d in [{TREE_D_SLOPE[0]:g}, {TREE_D_SLOPE[1]:g}] at every T, the sparse-vector error's slope in "
          f"log d is within ±{SVT_FLAT_MAX:g}, the crossover d* (tree error = sparse-vector error, interpolated in "
          f"log d, extrapolated beyond the grid) grows with log-log slope in [{CROSS_SLOPE[0]:g}, {CROSS_SLOPE[1]:g}], "
          f"and the batch MaxSum's mean error is within {Z:g} SE of 1/ε at every T. ε = {e['epsilon']:g}, "
          f"δ = {e['delta']:g}; Bernoulli(1/2) streams; sparse vector with d = {e['svt_d']} and {e['svt_reps']} "
          f"replications, trees with {e['tree_reps']} replications per cell.")
  checks = [_in(e["svt_slope_top"], SVT_SLOPE),
            bool(e["tree_slopes"]) and all(_in(s, TREE_D_SLOPE) for s in e["tree_slopes"]),
            abs(e["svt_slope_in_d"]) <= SVT_FLAT_MAX, _in(e["crossover_slope"], CROSS_SLOPE),
            e["batch_max_abs_z"] <= Z]
  return (Verdict.HOLDS if all(checks) else Verdict.DOES_NOT_HOLD), rule


def _maxsum_case(**kw):
  e = dict(svt_slope_top=0.42, tree_slopes=[0.58, 0.55, 0.53, 0.52], svt_slope_in_d=0.02, crossover_slope=0.61,
           batch_max_abs_z=1.2, epsilon=EPS, delta=DELTA, svt_d=4, svt_reps=8, tree_reps=4)
  e.update(kw)
  return e


@claim("dp_continual", "maxsum", "MaxSum: T^{1/3} sparse vector vs √d per-column trees, crossover √d ≈ T^{1/3}",
       "(ε, δ)-DP continual MaxSum error Θ̃(min{T^{1/3}/ε^{2/3}, √d/ε, T}): the sparse-vector mechanism's error "
       "grows like T^{1/3} whatever d, per-column trees like √d·polylog(T), the crossover d* ∝ T^{2/3} up to "
       "polylog; the batch error is O(1/ε)",
       judge=judge_maxsum,
       cases=[Case("holds", _maxsum_case(), Verdict.HOLDS),
              Case("does not hold: sparse vector grows like √T", _maxsum_case(svt_slope_top=0.5), Verdict.DOES_NOT_HOLD),
              Case("does not hold: no crossover slope (one T)", _maxsum_case(crossover_slope=float("nan")),
                   Verdict.DOES_NOT_HOLD),
              Case("boundary: every range at its end", _maxsum_case(svt_slope_top=0.45, tree_slopes=[0.4, 0.7],
                                                                    svt_slope_in_d=-0.1, crossover_slope=1.0,
                                                                    batch_max_abs_z=4.0), Verdict.HOLDS),
              Case("boundary: one tree slope just below 0.4", _maxsum_case(tree_slopes=[0.58, 0.399]),
                   Verdict.DOES_NOT_HOLD)])
def maxsum(ctx: Context) -> Outcome:
  p = MAXSUM[ctx.variant]
  key = jax.random.PRNGKey(ctx.seed + 1)

  def run_svt(k, T, d, seed):
    e, b, u, prm = dc.svt_errors(k, dc.seeded_stream(seed, T, d), EPS, DELTA, p["svt_reps"])
    return e, b, u, prm

  # (1) the sparse-vector mechanism and the batch baseline against T
  svt = {}
  for lt in p["svt_log2_T"]:
    T = 2**lt
    e, b, u, prm = run_svt(jax.random.fold_in(key, T), T, p["svt_d"], T)
    svt[T] = dict(err=mean_se(e), batch=mean_se(b), updates=float(u.mean()), threshold=prm.threshold,
                  cap=prm.max_updates, advanced=prm.eps_round > EPS / prm.max_updates * (1 + 1e-9))
    ctx.log(f"SVT T=2^{lt}: error {svt[T]['err'][0]:.0f} ± {svt[T]['err'][1]:.0f} (ℓ = {prm.threshold:.0f}, "
            f"{svt[T]['updates']:.1f} of {prm.max_updates} updates); batch {svt[T]['batch'][0]:.2f}")
  Ts = sorted(svt)
  svt_mean = np.array([svt[T]["err"][0] for T in Ts])
  svt_slope_all = _slope(Ts, svt_mean)
  svt_slope_top = _slope(Ts[-3:], svt_mean[-3:])
  batch_z = _max_abs_z([svt[T]["batch"][0] for T in Ts], [svt[T]["batch"][1] for T in Ts], [1 / EPS] * len(Ts))

  # (2) per-column trees on a (T, d) grid, and the crossover with the sparse-vector error at the same T
  grid, crossings = {}, {}
  for lt in p["grid_log2_T"]:
    T = 2**lt
    ds = tuple(d for d in p["grid_d"] if T * d <= p["max_cells"])
    errs = dc.tree_column_errors(jax.random.fold_in(key, 3 * T), dc.seeded_stream(T, T, max(ds)), EPS, DELTA, ds,
                                 p["tree_reps"])
    grid[T] = dict(d=ds, err=[mean_se(errs[:, i]) for i in range(len(ds))])
    if T not in svt:
      e, _, _, _ = run_svt(jax.random.fold_in(key, T), T, p["svt_d"], T)
      svt[T] = dict(err=mean_se(e), batch=(float("nan"), 0.0), updates=float("nan"), threshold=float("nan"), cap=0,
                    advanced=False)
    crossings[T] = dc.crossover_dimension(ds, [m for m, _ in grid[T]["err"]], svt[T]["err"][0])
    ctx.log(f"tree T=2^{lt}: " + ", ".join(f"d={d}: {m:.0f}" for d, (m, _) in zip(ds, grid[T]["err"]))
            + f"; crossover d* = {crossings[T][0]:.1f}{' (extrapolated)' if crossings[T][1] else ''}")
  tree_slopes = {T: _slope(g["d"], [m for m, _ in g["err"]]) for T, g in grid.items() if len(g["d"]) >= 2}
  gT = sorted(crossings)
  cross_slope = _slope(gT, [crossings[T][0] for T in gT]) if len(gT) >= 2 else float("nan")

  # (3) the sparse-vector error does not depend on d (same T, same stream family)
  Tf = 2**p["flat_log2_T"]
  flat = [mean_se(run_svt(jax.random.fold_in(key, 17 * d), Tf, d, Tf + d)[0]) for d in p["grid_d"]]
  flat_slope = _slope(p["grid_d"], [m for m, _ in flat])
  ctx.log(f"SVT at T=2^{p['flat_log2_T']} vs d: " + ", ".join(f"{d}: {m:.0f}" for d, (m, _) in zip(p["grid_d"], flat)))

  evidence = dict(svt_slope_top=svt_slope_top, tree_slopes=[tree_slopes[T] for T in sorted(tree_slopes)],
                  svt_slope_in_d=flat_slope, crossover_slope=cross_slope, batch_max_abs_z=batch_z, epsilon=EPS,
                  delta=DELTA, svt_d=p["svt_d"], svt_reps=p["svt_reps"], tree_reps=p["tree_reps"])
  rows = [[f"2^{int(math.log2(T))}", fmt_mean_se(mean=svt[T]["err"][0], se=svt[T]["err"][1]), svt[T]["threshold"],
           f"{svt[T]['updates']:.1f} / {svt[T]['cap']}", "yes" if svt[T]["advanced"] else "no (basic)",
           fmt_mean_se(mean=svt[T]["batch"][0], se=svt[T]["batch"][1])] for T in Ts]
  table = [markdown_table(["T", "SVT error (mean ± SE)", "ℓ", "updates / cap", "advanced composition", "batch error"],
                          rows)]
  rows = []
  for T in gT:
    cells = []
    for d in p["grid_d"]:
      if d in grid[T]["d"]:
        m, s = grid[T]["err"][grid[T]["d"].index(d)]
        cells.append(fmt_mean_se(mean=m, se=s))
      else:
        cells.append(None)
    dstar, ex = crossings[T]
    rows.append([f"2^{int(math.log2(T))}", *cells, tree_slopes.get(T), svt[T]["err"][0],
                 f"{dstar:.1f}{' (extrap.)' if ex else ''}", T ** (2 / 3)])
  table += ["", markdown_table(["T", *(f"tree d={d}" for d in p["grid_d"]), "slope in log d", "SVT", "d*", "T^{2/3}"],
                               rows),
            "", f"SVT at T = 2^{p['flat_log2_T']} against d: "
            + ", ".join(f"d={d}: {fmt_mean_se(mean=m, se=s)}" for d, (m, s) in zip(p["grid_d"], flat))
            + f" (slope {flat_slope:.3f})",
            f"SVT slope over all T: {svt_slope_all:.3f}; over the three largest T: {svt_slope_top:.3f}; "
            f"crossover slope: {cross_slope:.3f}; batch largest |z| against 1/ε: {batch_z:.2f}"]
  figures = ctx.figures(lambda: _plot_maxsum(ctx, p, svt, Ts, grid, crossings, flat, svt_slope_top, tree_slopes,
                                             cross_slope))
  return Outcome(
      measured={"SVT slope in T (3 largest / all)": f"{svt_slope_top:.3f} / {svt_slope_all:.3f}",
                f"SVT error at T=2^{p['svt_log2_T'][-1]}": f"{svt[Ts[-1]]['err'][0]:.0f}",
                "tree slope in d (per T)": ", ".join(f"{s:.2f}" for s in tree_slopes.values()),
                "SVT slope in d": round(flat_slope, 3),
                "crossover d* (per T)": ", ".join(f"2^{int(math.log2(T))}: {crossings[T][0]:.1f}" for T in gT),
                "crossover slope in T": round(cross_slope, 3),
                "batch mean error (largest T)": f"{svt[Ts[-1]]['batch'][0]:.3f} (1/ε = {1 / EPS:g})"},
      evidence=evidence, figures=figures, table="\n".join(table),
      data={"svt": {str(T): v for T, v in svt.items()},
            "tree": {str(T): {"d": list(g["d"]), "err": g["err"]} for T, g in grid.items()},
            "crossover": {str(T): v for T, v in crossings.items()}, "svt_vs_d": flat,
            "svt_slope_top": svt_slope_top, "tree_slopes": {str(k): v for k, v in tree_slopes.items()},
            "crossover_slope": cross_slope})


def _plot_maxsum(ctx, p, svt, Ts, grid, crossings, flat, svt_slope_top, tree_slopes, cross_slope):
  plt = pyplot()
  fig, axes = plt.subplots(1, 3, figsize=(16, 4.4))
  ax = axes[0]
  m = np.array([svt[T]["err"][0] for T in Ts])
  s = np.array([svt[T]["err"][1] for T in Ts])
  ax.errorbar(Ts, m, yerr=2 * s, fmt="o-", color="C3", capsize=2, label=f"sparse vector (slope {svt_slope_top:.2f}, top 3 T)")
  ax.plot(Ts, m[-1] * (np.asarray(Ts, float) / Ts[-1]) ** (1 / 3), "C3:", lw=1, label="∝ T^{1/3}")
  b = np.array([svt[T]["batch"][0] for T in Ts])
  ax.plot(Ts, b, "ks-", ms=4, label="batch f_T + Lap(1/ε)")
  gT = sorted(grid)
  for d, c in zip(p["grid_d"], ("C0", "C2", "C4", "C1", "C5", "C6")):
    pts = [(T, grid[T]["err"][grid[T]["d"].index(d)][0]) for T in gT if d in grid[T]["d"]]
    if pts:
      ax.plot(*zip(*pts), "^--", color=c, ms=4, label=f"trees (Gaussian), d = {d}")
  ax.set_xscale("log", base=2)
  ax.set_yscale("log")
  ax.set_xlabel("stream length T")
  ax.set_ylabel("max over t of |y_t − MaxSum_t|")
  ax.set_title(f"Continual MaxSum, ε = {EPS:g}, δ = {DELTA:g}")
  ax.legend(fontsize=6.5)
  ax = axes[1]
  for T, c in zip(gT, ("C0", "C2", "C4", "C1", "C5")):
    g = grid[T]
    ax.plot(g["d"], [mm for mm, _ in g["err"]], "o-", color=c, label=f"trees T=2^{int(math.log2(T))} (slope {tree_slopes.get(T, float('nan')):.2f})")
    ax.axhline(svt[T]["err"][0], color=c, ls=":", lw=1)
  ax.plot(p["grid_d"], [mm for mm, _ in flat], "k*--", label=f"sparse vector, T=2^{p['flat_log2_T']}")
  ax.set_xscale("log", base=2)
  ax.set_yscale("log")
  ax.set_xlabel("dimension d")
  ax.set_ylabel("max-over-t error")
  ax.set_title("Trees grow like √d; sparse vector (dotted, per T) does not")
  ax.legend(fontsize=6.5)
  ax = axes[2]
  ds = [crossings[T][0] for T in gT]
  ex = [crossings[T][1] for T in gT]
  ax.plot(gT, ds, "o-", color="C3", label=f"measured d* (slope {cross_slope:.2f})")
  for T, d, e in zip(gT, ds, ex):
    if e:
      ax.plot([T], [d], "o", mfc="white", color="C3")
  ax.plot(gT, ds[0] * (np.asarray(gT, float) / gT[0]) ** (2 / 3), "k:", label="∝ T^{2/3} (√d* ∝ T^{1/3})")
  ax.set_xscale("log", base=2)
  ax.set_yscale("log")
  ax.set_xlabel("stream length T")
  ax.set_ylabel("crossover dimension d*")
  ax.set_title("Crossover: trees better below d*, sparse vector above\n(open circles: extrapolated beyond the d grid)")
  ax.legend(fontsize=7)
  return ctx.save_figure(fig, "dp_continual_maxsum.png", dpi=120)
