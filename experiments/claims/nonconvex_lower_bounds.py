"""Claims of paper 28 (C. Zhang, T. Li, "Quantum Lower Bounds for Finding Stationary Points of Nonconvex
Functions", ICML 2023, arXiv:2212.03906).

The paper's results are theorems about quantum query complexity, which no classical simulation can
measure. What can be simulated is the mechanism the proofs rest on: the hard instances of Carmon et al.
(2020) and Arjevani et al. (2019) reveal their chain one coordinate per query (deterministic gradients) or
one coordinate per Bernoulli(p) success (stochastic gradients), and hiding the chain in random directions
changes nothing for an algorithm that starts at 0.

gd_eps      GD from 0 on the (Δ, L, ε) instance: at most one new coordinate per query, iterations to
            ε-stationarity ≥ T(ε) and growing like ε^-2.
stochastic  Bernoulli oracle: the fastest zero-respecting prober needs NegBin(T, p) queries (mean T/p);
            SGD with p ∝ ε² needs ≥ T/p queries, growing like ε^-4.
rotated     the chain hidden in d = 200..2000 dimensions: GD and SGD progress along u_i is the same.

The experiments are in :mod:`theory.nonconvex_lower_bounds.experiment`.
"""
from __future__ import annotations

import jax
import numpy as np

import theory.nonconvex_lower_bounds as nc
from experiments.claims import Case, Context, Outcome, Verdict, claim, pyplot
from experiments.claims.report import fit_slope, fmt_mean_se, markdown_table

THEOREM = ("Theorem (Zhang & Li 2023, proved, not simulated): with quantum access to ∇f (or to derivatives up to "
           "order p), finding an ε-stationary point of a (Δ, L)-smooth function needs Ω(ΔL ε^-2) "
           "(Ω(ε^-(1+p)/p)) queries, and with quantum stochastic gradients of variance σ² Ω(ΔLσ² ε^-4) "
           "(Ω(ε^-3) if mean-squared smooth): no speedup over GD / SGD, because quantum queries, too, "
           "reveal the hidden chain one link at a time. Simulated here: that classical mechanism.")


def _slope(x, y) -> float:
  """Least-squares slope of log y on log x (report.fit_slope's point estimate)."""
  return fit_slope(x, np.asarray(y, np.float64), n_boot=1).slope


# ---------------------------------------------------------------------------------------------------
# (a) Gradient descent against ε.

GD = {  # class (Δ, L); the ε grid doubles T(ε) = ⌊ΔL/(48·152 ε²)⌋ at each point
    "smoke": dict(delta=1.0, lipschitz=1.0, t_grid=(4, 8, 16), show_T=8),
    "small": dict(delta=1.0, lipschitz=1.0, t_grid=(10, 20, 40, 80, 160, 320, 640), show_T=20),
    "paper": dict(delta=1.0, lipschitz=1.0, t_grid=(10, 20, 40, 80, 160, 320, 640, 1280, 2560), show_T=20),
}
REACH_SLOPE = (1.8, 2.2)
SMALL_T = 100  # below this chain length the constant start-up cost dominates the slope


def judge_gd_eps(e: dict) -> tuple[Verdict, str]:
  """≤ 1 coordinate per query, large gradient before the last link, T(ε) ≤ iterations ≤ 2ΔL/ε², slope 2."""
  rule = ("holds iff every GD run from 0 (step 1/L, float64) reveals at most one coordinate per query "
          "(prog_{1/2} never jumps by more than 1), keeps ‖∇f‖ > 2ε until the last link is reached, needs between "
          "T(ε) and 2ΔL/ε² (GD's guarantee) queries to reach ‖∇f‖ ≤ ε (both ∝ ε^-2), and the least-squares slope of "
          f"log(queries to reveal all T links) on log(1/ε) is in [{REACH_SLOPE[0]:g}, {REACH_SLOPE[1]:g}]; the slope "
          "of the iterations to ‖∇f‖ ≤ ε is reported (below 2 on a finite grid: a sublinear tail after the last "
          f"link). Class Δ = {e['delta']}, L = {e['lipschitz']}, ℓ₁ = 152; ε chosen so that T(ε) doubles along "
          f"{tuple(e['t_grid'])}. Inconclusive instead of 'does not hold' when only the slope fails on a grid with "
          f"T < {SMALL_T} (smoke).")
  others = [e["max_jump"] <= 1, e["all_large"],
            e["all_found"] and e["min_iters_over_T"] >= 1 and e["max_iters_over_bound"] <= 1]
  slope_ok = e["all_found"] and REACH_SLOPE[0] <= e["reach_slope"] <= REACH_SLOPE[1]
  if all(others) and slope_ok:
    return Verdict.HOLDS, rule
  if all(others) and e["max_T"] < SMALL_T:
    return Verdict.INCONCLUSIVE, rule
  return Verdict.DOES_NOT_HOLD, rule


def _gd_case(**kw):
  e = dict(max_jump=1, all_large=True, all_found=True, min_iters_over_T=39.0, max_iters_over_bound=0.01,
           reach_slope=1.995, max_T=640, delta=1.0, lipschitz=1.0, t_grid=[10, 20, 40, 80, 160, 320, 640])
  e.update(kw)
  return e


@claim("nonconvex_lower_bounds", "gd_eps", "GD on the zero chain: one coordinate per query, ε^-2 iterations",
       THEOREM + " Classical mechanism: a zero-respecting method (GD from 0) reveals ≤ 1 coordinate per "
       "query, so it needs ≥ T(ε) = ΔL/(48ℓ₁ε²) queries; GD's iterations to ‖∇f‖ ≤ ε grow like ε^-2.",
       judge=judge_gd_eps,
       cases=[Case("holds", _gd_case(), Verdict.HOLDS),
              Case("does not hold: two coordinates in one query", _gd_case(max_jump=2), Verdict.DOES_NOT_HOLD),
              Case("does not hold: slope 1.5 on a long grid", _gd_case(reach_slope=1.5), Verdict.DOES_NOT_HOLD),
              Case("boundary: slope exactly 2.2, iterations exactly T", _gd_case(reach_slope=2.2, min_iters_over_T=1.0),
                   Verdict.HOLDS),
              Case("boundary: iterations just above 2ΔL/ε²", _gd_case(max_iters_over_bound=1.0001),
                   Verdict.DOES_NOT_HOLD),
              Case("inconclusive: only the slope fails with T < 100", _gd_case(reach_slope=1.5, max_T=16),
                   Verdict.INCONCLUSIVE)])
def gd_eps(ctx: Context) -> Outcome:
  c = GD[ctx.variant]
  rows, traces = [], {}
  for t in c["t_grid"]:
    eps = nc.epsilon_for_length(c["delta"], c["lipschitz"], t)
    r = nc.gd_chain_run(c["delta"], c["lipschitz"], eps)
    prog, gn = r.pop("progress"), r.pop("grad_norm")
    rows.append(dict(eps=eps, **r))
    if r["T"] == c["show_T"] or t == c["show_T"]:
      traces = dict(T=r["T"], prog=prog, gn=gn / (2 * eps), n=r["iters"])
    ctx.log(f"eps={eps:.3e} T={r['T']}: {r['iters']} iterations to ||grad f|| <= eps (last link reached at "
            f"{r['reach']}), max progress jump {r['jump']}")
  eps = np.array([r["eps"] for r in rows])
  iters = np.array([r["iters"] for r in rows], float)
  reach = np.array([r["reach"] for r in rows], float)
  Ts = np.array([r["T"] for r in rows], float)
  upper = 2.0 * c["delta"] * c["lipschitz"] / eps ** 2  # GD's guarantee: min_k<K ‖∇f‖² ≤ 2LΔ/K
  ok_found = bool(np.all(iters > 0) and np.all(reach > 0))
  slope_all = -_slope(eps, iters) if ok_found else float("nan")
  half = len(rows) // 2
  slope_top = -_slope(eps[half:], iters[half:]) if ok_found else float("nan")
  slope_reach = -_slope(eps, reach) if ok_found else float("nan")
  slope_T = -_slope(eps, Ts)
  max_jump = max(r["jump"] for r in rows)
  per_link = iters / Ts
  evidence = dict(max_jump=max_jump, all_large=all(r["large"] for r in rows), all_found=ok_found,
                  min_iters_over_T=float(per_link.min()), max_iters_over_bound=float(np.max(iters / upper)),
                  reach_slope=slope_reach, max_T=int(Ts.max()), delta=c["delta"], lipschitz=c["lipschitz"],
                  t_grid=list(c["t_grid"]))
  figures = ctx.figures(lambda: _plot_gd(ctx, eps, iters, Ts, reach, traces))
  table = markdown_table(["ε", "T(ε)", "GD iterations to ‖∇f‖ ≤ ε", "2ΔL/ε²", "last link reached at",
                          "iterations / T", "reveal queries / T", "max new coords per query"],
                         [[f"{r['eps']:.3e}", r["T"], r["iters"], u, r["reach"], f"{r['iters'] / r['T']:.1f}",
                           f"{r['reach'] / r['T']:.1f}", r["jump"]] for r, u in zip(rows, upper)], digits=3)
  return Outcome(
      measured={"slope of queries to reveal the chain vs 1/ε": slope_reach,
                "slope of iterations to ‖∇f‖ ≤ ε (smaller-ε half)": slope_top,
                "slope of iterations (whole grid)": slope_all, "slope of T(ε)": slope_T,
                "max new coordinates per query": max_jump,
                "iterations per link (min-max)": f"{per_link.min():.1f}-{per_link.max():.1f}",
                "T range": f"{int(Ts.min())}-{int(Ts.max())}"},
      evidence=evidence, figures=figures, table=table, data={"rows": rows})


def _plot_gd(ctx, eps, iters, Ts, reach, tr):
  plt = pyplot()
  fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
  inv = 1 / eps
  ax.loglog(inv, iters, "o-", label="GD iterations to ‖∇f‖ ≤ ε")
  ax.loglog(inv, reach, "^-", label="GD queries until the last link is revealed")
  ax.loglog(inv, Ts, "s--", label="T(ε) = ⌊ΔL/(48ℓ₁ε²)⌋ (lower bound, zero-respecting)")
  ref = iters[-1] * (inv / inv[-1]) ** 2
  ax.loglog(inv, ref, "k:", label="∝ ε⁻²")
  ax.set_xlabel("1/ε")
  ax.set_ylabel("gradient queries")
  ax.set_title("Queries to an ε-stationary point (Δ = L = 1)")
  ax.legend(fontsize=7)
  if tr:
    k = np.arange(len(tr["prog"]))
    ax2.plot(k, tr["prog"], label="progress prog_{1/2}(x_k / λ)")
    ax2.set_ylim(0, tr["T"] * 1.1)
    ax2.set_xlim(0, max(tr["n"], 1) * 1.1)
    ax2.set_xlabel("query k")
    ax2.set_ylabel("coordinates revealed")
    ax3 = ax2.twinx()
    ax3.semilogy(k, tr["gn"], "C3", alpha=0.6, label="‖∇f(x_k)‖ / 2ε")
    ax3.axhline(0.5, color="C3", ls="--", lw=0.8)
    ax3.set_ylabel("‖∇f‖ / 2ε (dashed: ε-stationary)", color="C3")
    ax2.set_title(f"One run, T = {tr['T']}: progress vs queries")
    ax2.legend(fontsize=7, loc="center right")
  return ctx.save_figure(fig, "nonconvex_lower_bounds_gd.png", dpi=120)


# ---------------------------------------------------------------------------------------------------
# (b) Stochastic chain.

STOCH = {
    "smoke": dict(probe_T=5, probe_p=(0.3, 0.1), probe_reps=400, t_grid=(3, 6), sigma=4.0, reps=16),
    "small": dict(probe_T=10, probe_p=(0.3, 0.1, 0.03), probe_reps=4000, t_grid=(5, 10, 20, 40), sigma=6.0,
                  reps=32),
    "paper": dict(probe_T=20, probe_p=(0.3, 0.1, 0.03, 0.01), probe_reps=20000, t_grid=(5, 10, 20, 40, 80),
                  sigma=6.0, reps=64),
}
Z = 4.0
SGD_SLOPE = (3.6, 4.4)
MIN_SLOPE_POINTS = 3


def judge_stochastic(e: dict) -> tuple[Verdict, str]:
  """Prober = NegBin(T, p), SGD ≥ T/p, SGD slope 4 in 1/ε."""
  rule = (f"holds iff the greedy zero-respecting prober's mean queries are within {Z:g} SE of T/p and its empirical "
          "CDF within the DKW band (α = 1e-3) of NegBin(T, p) for every p, every SGD run (step 1/L from 0, "
          "Bernoulli oracle scaled by 2ε) reaches ‖∇f‖ ≤ ε with mean queries ≥ T/p − 4 SE (SE: the larger of the "
          "sample SE and NegBin's √(T(1−p))/(p√R)), and the slope of log mean SGD queries on log(1/ε) is in "
          f"[{SGD_SLOPE[0]:g}, {SGD_SLOPE[1]:g}] (inconclusive if only the slope fails on < {MIN_SLOPE_POINTS} "
          f"points). Δ = L = 1, σ = {e['sigma']}, p(ε) = (2ε·23/σ)² (oracle variance ≤ σ²), {e['reps']} SGD "
          f"replications and {e['probe_reps']} prober replications per point.")
  others = [e["prober_max_abs_z"] <= Z, e["prober_reached"] and e["prober_max_ks_over_dkw"] <= 1,
            e["sgd_reached"] and e["sgd_min_margin"] >= 0]
  if all(others) and SGD_SLOPE[0] <= e["sgd_slope"] <= SGD_SLOPE[1]:
    return Verdict.HOLDS, rule
  if all(others) and e["sgd_points"] < MIN_SLOPE_POINTS:
    return Verdict.INCONCLUSIVE, rule
  return Verdict.DOES_NOT_HOLD, rule


def _stoch_case(**kw):
  e = dict(prober_max_abs_z=1.2, prober_max_ks_over_dkw=0.4, prober_reached=True, sgd_reached=True,
           sgd_min_margin=50.0, sgd_slope=4.02, sgd_points=4, sigma=6.0, reps=32, probe_reps=4000)
  e.update(kw)
  return e


@claim("nonconvex_lower_bounds", "stochastic", "Bernoulli oracle: T/p queries; SGD needs ε^-4",
       THEOREM + " Classical mechanism: each query reveals the next coordinate only when ξ ~ Bernoulli(p) is 1, "
       "so ≥ T/p queries on average (negative binomial); with p ∝ ε²/σ² and T ∝ ε^-2, SGD's queries grow like ε^-4.",
       judge=judge_stochastic,
       cases=[Case("holds", _stoch_case(), Verdict.HOLDS),
              Case("does not hold: prober faster than T/p", _stoch_case(prober_max_abs_z=9.0), Verdict.DOES_NOT_HOLD),
              Case("does not hold: SGD below the bound", _stoch_case(sgd_min_margin=-10.0), Verdict.DOES_NOT_HOLD),
              Case("boundary: exactly 4 SE, KS on the band, slope 3.6",
                   _stoch_case(prober_max_abs_z=4.0, prober_max_ks_over_dkw=1.0, sgd_slope=3.6, sgd_min_margin=0.0),
                   Verdict.HOLDS),
              Case("boundary: slope just above 4.4", _stoch_case(sgd_slope=4.401), Verdict.DOES_NOT_HOLD),
              Case("inconclusive: slope from 2 points", _stoch_case(sgd_slope=2.5, sgd_points=2), Verdict.INCONCLUSIVE)])
def stochastic(ctx: Context) -> Outcome:
  c = STOCH[ctx.variant]
  key = jax.random.PRNGKey(ctx.seed)
  probe_rows = []
  T = c["probe_T"]
  for i, p in enumerate(c["probe_p"]):
    r = nc.prober_run(jax.random.fold_in(key, i), T, p, c["probe_reps"])
    probe_rows.append(dict(p=p, **r))
    ctx.log(f"prober T={T} p={p}: mean {r['mean']:.1f} ± {r['se']:.1f} vs T/p = {T / p:.1f}; KS {r['ks']:.4f}")
  sgd_rows = []
  for i, t in enumerate(c["t_grid"]):
    eps = nc.epsilon_for_length(1.0, 1.0, t)
    r = nc.sgd_chain_run(jax.random.fold_in(key, 100 + i), eps, c["sigma"], c["reps"])
    sgd_rows.append(r)
    ctx.log(f"SGD eps={eps:.3e} T={r['T']} p={r['p']:.2e}: {r['mean']:.0f} ± {r['se']:.0f} queries "
            f"vs T/p = {r['bound']:.0f}")
  eps = np.array([r["eps"] for r in sgd_rows])
  q = np.array([r["mean"] for r in sgd_rows])
  bound = np.array([r["bound"] for r in sgd_rows])
  slope = -_slope(eps, q)
  slope_bound = -_slope(eps, bound)
  ratio = q / bound
  evidence = dict(prober_max_abs_z=max(abs(r["mean"] - r["expected"]) / r["se"] for r in probe_rows),
                  prober_max_ks_over_dkw=max(r["ks"] / r["dkw"] for r in probe_rows),
                  prober_reached=all(r["reached"] for r in probe_rows),
                  sgd_reached=all(r["reached"] for r in sgd_rows),
                  sgd_min_margin=min(r["mean"] - (r["bound"] - r["tol"]) for r in sgd_rows), sgd_slope=slope,
                  sgd_points=len(sgd_rows), sigma=c["sigma"], reps=c["reps"], probe_reps=c["probe_reps"])
  figures = ctx.figures(lambda: _plot_stochastic(ctx, T, probe_rows, sgd_rows))
  table = [markdown_table(["prober: p", "mean queries ± SE", "T/p", "variance", "NegBin variance", "KS distance",
                           "DKW band"],
                          [[r["p"], fmt_mean_se(mean=r["mean"], se=r["se"]), r["expected"], r["var"], r["var_nb"],
                            r["ks"], r["dkw"]] for r in probe_rows]), "",
           markdown_table(["SGD: ε", "T(ε)", "p(ε)", "mean queries ± SE", "T/p", "queries / (T/p)"],
                          [[f"{r['eps']:.3e}", r["T"], f"{r['p']:.3e}", fmt_mean_se(mean=r["mean"], se=r["se"]),
                            r["bound"], r["mean"] / r["bound"]] for r in sgd_rows])]
  return Outcome(
      measured={"SGD slope of queries vs 1/ε": slope, "slope of T/p": slope_bound,
                "SGD queries / (T/p) (min-max)": f"{ratio.min():.3f}-{ratio.max():.3f}",
                f"prober mean / (T/p), T={T}": "; ".join(f"p={r['p']}: {r['mean'] / r['expected']:.3f}"
                                                          for r in probe_rows),
                "max KS distance to NegBin": max(r["ks"] for r in probe_rows)},
      evidence=evidence, figures=figures, table="\n".join(table),
      data={"probe": [{k: v for k, v in r.items() if k != "times"} for r in probe_rows], "sgd": sgd_rows})


def _plot_stochastic(ctx, T, probe_rows, sgd_rows):
  from scipy import stats
  plt = pyplot()
  fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
  for i, r in enumerate(probe_rows):
    times = r["times"]
    bins = np.unique(np.round(np.geomspace(times.min(), np.quantile(times, 0.995) + 1, 40))) - 0.5
    ax.hist(times, bins=bins, density=True, alpha=0.35, color=f"C{i}", label=f"prober, p = {r['p']}")
    grid = np.arange(int(bins[0]), int(bins[-1]) + 1)
    ax.plot(grid, stats.nbinom(T, r["p"], loc=T).pmf(grid), color=f"C{i}", lw=1.2)
    ax.axvline(r["expected"], color=f"C{i}", ls=":", lw=0.8)
  ax.set_xscale("log")
  ax.set_xlabel(f"queries to reveal all T = {T} coordinates")
  ax.set_ylabel("density")
  ax.set_title("Hitting times (bars) vs NegBin(T, p) pmf (lines), T/p dotted")
  ax.legend(fontsize=7)
  inv = 1 / np.array([r["eps"] for r in sgd_rows])
  q = np.array([r["mean"] for r in sgd_rows])
  se = np.array([r["se"] for r in sgd_rows])
  ax2.errorbar(inv, q, yerr=2 * se, fmt="o-", capsize=3, label="SGD queries to ‖∇f‖ ≤ ε (mean ± 2 SE)")
  ax2.loglog(inv, [r["bound"] for r in sgd_rows], "s--", label="T(ε)/p(ε) (lower bound in expectation)")
  ax2.loglog(inv, q[-1] * (inv / inv[-1]) ** 4, "k:", label="∝ ε⁻⁴")
  ax2.set_xscale("log")
  ax2.set_yscale("log")
  ax2.set_xlabel("1/ε")
  ax2.set_ylabel("stochastic-gradient queries")
  ax2.set_title("SGD on the Bernoulli chain, p ∝ ε²")
  ax2.legend(fontsize=7)
  return ctx.save_figure(fig, "nonconvex_lower_bounds_stochastic.png", dpi=120)


# ---------------------------------------------------------------------------------------------------
# (c) The chain hidden in random directions.

ROT = {
    "smoke": dict(T=6, dims=(50, 100), steps=700, p=0.1, reps=4),
    "small": dict(T=20, dims=(200, 1000, 2000), steps=1800, p=0.05, reps=8),
    "paper": dict(T=40, dims=(200, 1000, 2000, 4000), steps=3000, p=0.05, reps=16),
}
OFF_CHAIN_MAX = 1e-9
SGD_REL_DIFF_MAX = 0.01


def judge_rotated(e: dict) -> tuple[Verdict, str]:
  """Same GD progress and iterations, iterates in span(U), same SGD queries up to 1 %."""
  rule = ("holds iff for every d the GD run on f̄_T(Uᵀx) (U Haar-random orthonormal d × T) has the same "
          "progress max{i : |⟨u_i, x_k⟩| > 1/2} at every query and the same iterations to ‖∇f‖ ≤ 1/2 as on the "
          f"plain chain, its iterates stay in span(U) to {OFF_CHAIN_MAX:g}, and SGD with the Bernoulli oracle "
          f"(p = {e['p']}, {e['reps']} replications, same random draws) needs the same number of queries up to "
          f"{SGD_REL_DIFF_MAX:.0%} per replication.")
  ok = (e["max_progress_diff"] == 0 and e["iterations_match"] and e["max_off_chain"] < OFF_CHAIN_MAX
        and e["max_sgd_rel_diff"] <= SGD_REL_DIFF_MAX)
  return (Verdict.HOLDS if ok else Verdict.DOES_NOT_HOLD), rule


def _rot_case(**kw):
  e = dict(max_progress_diff=0, iterations_match=True, max_off_chain=3e-15, max_sgd_rel_diff=0.0, p=0.05, reps=8)
  e.update(kw)
  return e


@claim("nonconvex_lower_bounds", "rotated", "The chain hidden in random directions behaves the same",
       THEOREM + " The quantum proof hides the chain in random orthonormal u_1..u_T ∈ R^d; measured along u_i, "
       "progress of GD and SGD is the same as on the plain chain (no extra information from the rotation).",
       judge=judge_rotated,
       cases=[Case("holds", _rot_case(), Verdict.HOLDS),
              Case("does not hold: progress differs", _rot_case(max_progress_diff=3), Verdict.DOES_NOT_HOLD),
              Case("boundary: SGD exactly 1 % apart", _rot_case(max_sgd_rel_diff=0.01), Verdict.HOLDS),
              Case("boundary: off-chain exactly 1e-9", _rot_case(max_off_chain=1e-9), Verdict.DOES_NOT_HOLD)])
def rotated(ctx: Context) -> Outcome:
  c = ROT[ctx.variant]
  key = jax.random.PRNGKey(ctx.seed)
  res = nc.rotated_comparison(key, c["T"], c["dims"], c["steps"], c["p"], c["reps"])
  plain_n, plain_prog, plain_sgd, rows = res["plain_iters"], res["plain_progress"], res["plain_sgd_mean"], res["rows"]
  for r in rows:
    ctx.log(f"d={r['d']}: GD {r['n']} iterations (plain {plain_n}), progress differs at {r['prog_diff']} "
            f"queries, off-chain {r['off']:.1e}; SGD {r['sgd_mean']:.0f} (plain {plain_sgd:.0f})")
  evidence = dict(max_progress_diff=max(r["prog_diff"] for r in rows),
                  iterations_match=all(r["n"] == plain_n for r in rows), max_off_chain=max(r["off"] for r in rows),
                  max_sgd_rel_diff=max(r["sgd_maxdiff"] for r in rows) / plain_sgd, p=c["p"], reps=c["reps"])
  figures = ctx.figures(lambda: _plot_rotated(ctx, c, plain_prog, rows, plain_n))
  table = markdown_table(["d", f"GD iterations to ε (plain: {plain_n})", "queries where progress differs",
                          "max ‖x − UUᵀx‖", "max rel. diff of ‖∇f‖", f"SGD mean queries (plain: {plain_sgd:.0f})",
                          "max per-replication diff"],
                         [[r["d"], r["n"], r["prog_diff"], f"{r['off']:.1e}", f"{r['gn_rel']:.1e}",
                           f"{r['sgd_mean']:.0f}", r["sgd_maxdiff"]] for r in rows])
  return Outcome(
      measured={"T": c["T"], "d": ", ".join(str(d) for d in c["dims"]), "GD iterations (plain)": plain_n,
                "GD iterations (rotated)": ", ".join(str(r["n"]) for r in rows),
                "SGD mean queries plain / rotated": f"{plain_sgd:.0f} / " + ", ".join(f"{r['sgd_mean']:.0f}" for r in rows),
                "max off-chain norm": max(r["off"] for r in rows)},
      evidence=evidence, figures=figures, table=table,
      data={"rows": [{k: v for k, v in r.items() if k != "prog"} for r in rows], "plain_gd": plain_n,
            "plain_sgd": plain_sgd})


def _plot_rotated(ctx, c, plain_prog, rows, plain_n):
  plt = pyplot()
  fig, ax = plt.subplots(figsize=(6, 4))
  k = np.arange(len(plain_prog))
  ax.plot(k, plain_prog, "k-", lw=3, alpha=0.3, label="plain chain f̄_T(x)")
  for i, r in enumerate(rows):
    ax.plot(k, r["prog"], ls=(0, (4, 2 + i)), label=f"rotated, d = {r['d']}: progress along u_i")
  ax.axvline(plain_n, color="grey", ls=":", lw=0.8, label="ε-stationary (plain)")
  ax.set_xlabel("GD query k")
  ax.set_ylabel("coordinates revealed, prog_{1/2}")
  ax.set_title(f"GD on the chain hidden in R^d (T = {c['T']})")
  ax.legend(fontsize=7)
  return ctx.save_figure(fig, "nonconvex_lower_bounds_rotated.png", dpi=120)
