"""Claims of paper 05 (Dwork, Feldman, Hardt, Pitassi, Reingold, Roth, "Preserving Statistical Validity in
Adaptive Data Analysis", STOC 2015, arXiv:1411.2664; the reusable holdout, Science 349:636, 2015).

price      k adaptively used correlation answers make the adaptive query's empirical answer overfit as
           Φ(√(2k/πn)/√(1 + nσ²)) (fresh accuracy 1/2); noise shrinks the bias, sample splitting removes it.
nosignal   Science experiment without signal: the standard holdout's accuracy climbs well above 1/2 while
           fresh accuracy stays 1/2; Thresholdout's reported accuracy stays within 4/√n of fresh.
signal     with 20 informative features, Thresholdout tracks the fresh accuracy; the standard holdout
           overstates it.
"""
from __future__ import annotations

import math

import jax
import numpy as np

from experiments.claims import Case, Context, Outcome, Verdict, claim, pyplot
from experiments.claims.report import fmt_mean_se, markdown_table, mean_se

SCIENCE = {
    "smoke": dict(n=300, reps=4, batch=4),
    "small": dict(n=4000, reps=30, batch=3),
    "paper": dict(n=10000, reps=100, batch=2),
}
K_GRID_1E4 = (0, 10, 20, 30, 45, 70, 100, 150, 200, 250, 300, 400, 500)   # the Science paper's grid at n = 10⁴
PRICE = {
    "smoke": dict(n=400, ks=(50,), reps=6),
    "small": dict(n=2000, ks=(20, 50, 100, 200, 500, 1000, 2000), reps=30),
    "paper": dict(n=10000, ks=(50, 100, 300, 1000, 3000, 10000), reps=50),
}
Z = 4.0  # Monte Carlo tolerance in standard errors (per cell; ~20 cells, two-sided false alarm ≈ 1e-3)


def judge_price(e: dict) -> tuple[Verdict, str]:
  rule = (f"holds iff in every (mechanism, k) cell the mean accuracy on S is within {Z:g} SE of the closed form "
          f"Φ(√k E[c sign(c+ξ)]) (1/2 for sample splitting) and the fresh accuracy within {Z:g} SE of 1/2, and the "
          f"empirical-answer accuracy at the largest k is above 1/2 by more than {Z:g} SE. Noise scale 1/√n (σ for "
          f"Gaussian, b for Laplace); failing cells: {e['failing'] or 'none'}.")
  ok = not e["failing"] and e["empirical_last"] > 0.5 + Z * e["empirical_last_se"]
  return (Verdict.HOLDS if ok else Verdict.DOES_NOT_HOLD), rule


def judge_nosignal(e: dict) -> tuple[Verdict, str]:
  rule = (f"holds iff the standard holdout's mean accuracy at the largest k exceeds 1/2 by more than 4/√n and {Z:g} "
          f"SE, the fresh accuracy of both methods is within {Z:g} SE of 1/2 at every k ≥ 1, and Thresholdout's mean "
          "reported accuracy (paper's algorithm: Laplace γ ~ Lap(2σ), η ~ Lap(4σ), ξ ~ Lap(σ), T = 4/√n, σ = 1/√n, "
          "unlimited budget) is within 4/√n of the mean fresh accuracy at every k; k grid = the paper's scaled by "
          "n/10⁴")
  tol = 4 / math.sqrt(e["n"])
  excess = e["standard_holdout_last"] - 0.5
  climbs = excess > tol and excess > Z * e["standard_holdout_last_se"]
  ok = climbs and e["fresh_within"] and e["thresholdout_max_gap"] <= tol
  return (Verdict.HOLDS if ok else Verdict.DOES_NOT_HOLD), rule


def judge_signal(e: dict) -> tuple[Verdict, str]:
  rule = ("holds iff Thresholdout's mean reported accuracy is within 4/√n of the mean fresh accuracy at every k, the "
          "standard holdout's mean accuracy exceeds the fresh one by more than 4/√n at the largest k, and "
          "Thresholdout's best mean fresh accuracy exceeds 1/2 + 4/√n")
  tol = 4 / math.sqrt(e["n"])
  ok = e["thresholdout_max_gap"] <= tol and e["standard_overstates"] > tol and e["best_fresh"] - 0.5 > tol
  return (Verdict.HOLDS if ok else Verdict.DOES_NOT_HOLD), rule


def _mse(a):
  return mean_se(np.asarray(a, np.float64), axis=0)


@claim("adaptive_holdout", "price", "Price of adaptivity: closed-form overfitting of empirical answers",
       "reusing k empirical answers overfits the adaptive query by ≈ √k/(π√n) (accuracy Φ(√(2k/πn))); "
       "noise of scale σ divides the margin by √(1 + nσ²); sample splitting is unbiased; fresh stays 1/2",
       judge=judge_price,
       cases=[Case("holds", {"failing": [], "empirical_last": 0.63, "empirical_last_se": 0.002}, Verdict.HOLDS),
              Case("does not hold: a cell off", {"failing": ["gaussian k=50"], "empirical_last": 0.63,
                                                 "empirical_last_se": 0.002}, Verdict.DOES_NOT_HOLD),
              Case("boundary: overfitting exactly 4 SE", {"failing": [], "empirical_last": 0.508,
                                                          "empirical_last_se": 0.002}, Verdict.DOES_NOT_HOLD),
              Case("boundary: just above 4 SE", {"failing": [], "empirical_last": 0.5081,
                                                 "empirical_last_se": 0.002}, Verdict.HOLDS)])
def price(ctx: Context) -> Outcome:
  from theory.adaptive_holdout import correlation_attack, overfit_accuracy
  p = PRICE[ctx.variant]
  n, key = p["n"], jax.random.PRNGKey(ctx.seed)
  s = 1 / math.sqrt(n)
  mechs = (("empirical", 0.0), ("gaussian", s), ("laplace", s), ("split", 0.0))
  rows, data, bad = [], {}, []
  for name, scale in mechs:
    for k in p["ks"]:
      if name == "split" and n // (k + 1) < 2:
        continue
      r = correlation_attack(jax.random.fold_in(key, 1000 * len(name) + k), scale, n=n, k=k, mechanism=name,
                             replications=p["reps"], batch_size=10)
      m, se = _mse(r.sample_accuracy)
      fm, fse = _mse(r.fresh_accuracy)
      pred = 0.5 if name == "split" else float(overfit_accuracy(k, n, scale, "laplace" if name == "laplace" else
                                                                "gaussian"))
      ok = abs(m - pred) <= Z * se and abs(fm - 0.5) <= Z * fse
      bad += [] if ok else [f"{name} k={k}"]
      rows.append((name, k, m, se, pred, fm, fse))
      data.setdefault(name, []).append(dict(k=k, sample=m, se=se, predicted=pred, fresh=fm, fresh_se=fse))
    ctx.log(f"{name}: " + " ".join(f"k={r[1]}: {r[2]:.3f}/{r[4]:.3f}" for r in rows if r[0] == name))
  emp = [r for r in rows if r[0] == "empirical"]
  table = markdown_table(["mechanism", "k", "accuracy on S (mean ± SE)", "closed form", "fresh (mean ± SE)"],
                         [(r[0], r[1], fmt_mean_se(mean=r[2], se=r[3]), r[4], fmt_mean_se(mean=r[5], se=r[6]))
                          for r in rows])
  figures = ctx.figures(lambda: _plot_price(ctx, n, rows))
  return Outcome(
      measured={"n": n, f"empirical acc on S at k={emp[-1][1]}": f"{emp[-1][2]:.3f} ± {emp[-1][3]:.3f} "
                f"(closed form {emp[-1][4]:.3f})", "cells off the closed form by > 4 SE": len(bad),
                "max |fresh − 0.5|": max(abs(r[5] - 0.5) for r in rows)},
      evidence={"failing": bad, "empirical_last": float(emp[-1][2]), "empirical_last_se": float(emp[-1][3])},
      figures=figures, table=table, data=data)


def _plot_price(ctx, n, rows):
  plt = pyplot()
  from theory.adaptive_holdout import overfit_accuracy
  fig, ax = plt.subplots(figsize=(6.4, 4.2))
  colors = {"empirical": "C3", "gaussian": "C0", "laplace": "C2", "split": "C7"}
  labels = {"empirical": "empirical answers", "gaussian": "Gaussian noise σ = 1/√n",
            "laplace": "Laplace noise b = 1/√n", "split": "sample splitting"}
  kk = np.geomspace(min(r[1] for r in rows), max(r[1] for r in rows), 100)
  for name, c in colors.items():
    rs = [r for r in rows if r[0] == name]
    ax.errorbar([r[1] for r in rs], [r[2] for r in rs], yerr=[2 * r[3] for r in rs], fmt="o", color=c,
                label=labels[name], capsize=2)
    if name != "split":
      scale = 0.0 if name == "empirical" else 1 / math.sqrt(n)
      ax.plot(kk, np.asarray(overfit_accuracy(kk, n, scale, "laplace" if name == "laplace" else "gaussian")),
              "-", color=c, lw=1)
  fr = [r for r in rows if r[0] == "empirical"]
  ax.plot([r[1] for r in fr], [r[5] for r in fr], "k^:", label="fresh data (empirical)")
  ax.axhline(0.5, color="grey", lw=0.6)
  ax.set_xscale("log")
  ax.set_xlabel("number of correlation queries k")
  ax.set_ylabel("accuracy of sign(Σ sign(a_j) x_j)")
  ax.set_title(f"Price of adaptivity, n = {n} (dots ± 2 SE; lines: closed form)")
  ax.legend(fontsize=7)
  return ctx.save_figure(fig, "adaptive_holdout_price.png", dpi=120)


def _science(ctx: Context, signal: int):
  from theory.adaptive_holdout import REFERENCE_MULTIPLIERS, science_experiment
  p = SCIENCE[ctx.variant]
  n = p["n"]
  grid = tuple(int(round(k * n / 1e4)) for k in K_GRID_1E4)
  key = jax.random.PRNGKey(ctx.seed + 100 * signal)
  res = science_experiment(key, n=n, d=n, k_grid=grid, replications=p["reps"], signal_features=signal,
                           batch_size=p["batch"])
  ref = science_experiment(key, n=n, d=n, k_grid=grid, replications=p["reps"], signal_features=signal,
                           noise="gaussian", multipliers=REFERENCE_MULTIPLIERS, batch_size=p["batch"])
  return n, grid, res, ref


def _curves(c):
  return {f: _mse(getattr(c, f)) for f in ("train", "holdout", "fresh")}


def _science_table(grid, n, runs):
  head = "| k | " + " | ".join(f"{name}: train / reported / fresh" for name, _ in runs) + " |"
  lines = [head, "|---|" + "---|" * len(runs)]
  for i, k in enumerate(grid):
    cells = []
    for _, cv in runs:
      cells.append(" / ".join(f"{cv[f][0][i]:.3f}" for f in ("train", "holdout", "fresh")))
    lines.append(f"| {k} | " + " | ".join(cells) + " |")
  return lines


def _plot_science(ctx, grid, n, runs, title, fname):
  plt = pyplot()
  fig, axes = plt.subplots(1, len(runs), figsize=(4.6 * len(runs), 3.8), sharey=True)
  for ax, (name, cv) in zip(axes, runs):
    for f, style, label in (("train", "b^-", "training"), ("holdout", "gx-", "holdout (reported)"),
                            ("fresh", "r|-", "fresh")):
      m, se = cv[f]
      ax.plot(grid, m, style, label=label)
      ax.fill_between(grid, m - 2 * se, m + 2 * se, color=style[0], alpha=0.15)
    ax.axhline(0.5, color="grey", lw=0.6)
    ax.set_title(name, fontsize=9)
    ax.set_xlabel("number of variables k")
  axes[0].set_ylabel("accuracy (mean ± 2 SE)")
  axes[0].legend(fontsize=7)
  fig.suptitle(title, fontsize=10)
  return ctx.save_figure(fig, fname, dpi=120)


def _gap(cv):
  return np.abs(cv["holdout"][0] - cv["fresh"][0])


@claim("adaptive_holdout", "nosignal", "Reusable holdout, no signal: standard holdout overfits, Thresholdout does not",
       "standard holdout: training and holdout accuracy climb well above 1/2 (> 63 % at n = 10⁴, k = 500) while "
       "fresh stays 1/2; Thresholdout (T = 4/√n, σ = 1/√n): reported accuracy within about 4/√n of fresh",
       judge=judge_nosignal,
       cases=[Case("holds", {"n": 4000, "standard_holdout_last": 0.633, "standard_holdout_last_se": 0.001,
                             "fresh_within": True, "thresholdout_max_gap": 0.05}, Verdict.HOLDS),
              Case("does not hold: Thresholdout overfits", {"n": 4000, "standard_holdout_last": 0.633,
                                                            "standard_holdout_last_se": 0.001, "fresh_within": True,
                                                            "thresholdout_max_gap": 0.08}, Verdict.DOES_NOT_HOLD),
              Case("boundary: gap exactly 4/√n", {"n": 10000, "standard_holdout_last": 0.633,
                                                  "standard_holdout_last_se": 0.001, "fresh_within": True,
                                                  "thresholdout_max_gap": 0.04}, Verdict.HOLDS),
              Case("boundary: holdout climbs just under 4/√n", {"n": 10000, "standard_holdout_last": 0.5399,
                                                             "standard_holdout_last_se": 0.001, "fresh_within": True,
                                                             "thresholdout_max_gap": 0.01}, Verdict.DOES_NOT_HOLD)])
def nosignal(ctx: Context) -> Outcome:
  n, grid, res, ref = _science(ctx, 0)
  std, thr, thr_ref = _curves(res.standard), _curves(res.thresholdout), _curves(ref.thresholdout)
  fresh_ok = all(np.all(np.abs(cv["fresh"][0][1:] - 0.5) <= Z * np.maximum(cv["fresh"][1][1:], 1e-12))
                 for cv in (std, thr))
  std_hold, std_se = std["holdout"][0][-1], std["holdout"][1][-1]
  thr_gap = float(np.max(_gap(thr)))
  runs = [("standard holdout", std), ("Thresholdout (Laplace, paper's algorithm)", thr),
          ("Thresholdout (authors' script noise)", thr_ref)]
  figures = ctx.figures(lambda: _plot_science(ctx, grid, n, runs, f"No signal, n = d = {n}",
                                              "adaptive_holdout_nosignal.png"))
  table = _science_table(grid, n, runs) + [
      "", f"Thresholdout detections (budget spent) per replication: {np.mean(res.detections):.0f} (paper's "
      f"algorithm), {np.mean(ref.detections):.0f} (script noise) of {n + len(grid)} queries; features passing the "
      f"selection: {np.mean(res.selected_standard):.0f} (standard), {np.mean(res.selected_thresholdout):.0f} "
      "(Thresholdout)."]
  return Outcome(
      measured={"n = d": n, f"standard holdout acc at k={grid[-1]}": f"{std_hold:.3f} ± {std_se:.3f}",
                f"standard training acc at k={grid[-1]}": f"{std['train'][0][-1]:.3f}",
                "fresh acc range": f"{min(np.min(c['fresh'][0]) for c in (std, thr)):.3f}–"
                                   f"{max(np.max(c['fresh'][0]) for c in (std, thr)):.3f}",
                "Thresholdout max |reported − fresh| · √n": thr_gap * math.sqrt(n),
                "same, script noise · √n": float(np.max(_gap(thr_ref))) * math.sqrt(n),
                "detections per run": float(np.mean(res.detections))},
      evidence={"n": n, "standard_holdout_last": float(std_hold), "standard_holdout_last_se": float(std_se),
                "fresh_within": bool(fresh_ok), "thresholdout_max_gap": thr_gap},
      figures=figures, table="\n".join(table),
      data={"k_grid": grid, **{name: {f: [v[0].tolist(), v[1].tolist()] for f, v in cv.items()}
                                for name, cv in runs}})


@claim("adaptive_holdout", "signal", "Reusable holdout with signal: Thresholdout tracks fresh accuracy",
       "with 20 features shifted by 6/√n toward the label, Thresholdout's reported accuracy follows the fresh "
       "accuracy while the standard holdout overstates it", judge=judge_signal,
       cases=[Case("holds", {"n": 4000, "thresholdout_max_gap": 0.02, "standard_overstates": 0.2,
                             "best_fresh": 0.7}, Verdict.HOLDS),
              Case("does not hold: no signal found", {"n": 4000, "thresholdout_max_gap": 0.02,
                                                      "standard_overstates": 0.2, "best_fresh": 0.51},
                   Verdict.DOES_NOT_HOLD),
              Case("boundary: overstatement exactly 4/√n", {"n": 10000, "thresholdout_max_gap": 0.02,
                                                            "standard_overstates": 0.04, "best_fresh": 0.7},
                   Verdict.DOES_NOT_HOLD),
              Case("boundary: gap exactly 4/√n", {"n": 10000, "thresholdout_max_gap": 0.04,
                                                  "standard_overstates": 0.2, "best_fresh": 0.7}, Verdict.HOLDS)])
def signal(ctx: Context) -> Outcome:
  n, grid, res, ref = _science(ctx, 20)
  std, thr, thr_ref = _curves(res.standard), _curves(res.thresholdout), _curves(ref.thresholdout)
  thr_gap = float(np.max(_gap(thr)))
  std_over = float(std["holdout"][0][-1] - std["fresh"][0][-1])
  runs = [("standard holdout", std), ("Thresholdout (Laplace, paper's algorithm)", thr),
          ("Thresholdout (authors' script noise)", thr_ref)]
  figures = ctx.figures(lambda: _plot_science(ctx, grid, n, runs,
                                              f"20 informative features (shift 6/√n), n = d = {n}",
                                              "adaptive_holdout_signal.png"))
  table = _science_table(grid, n, runs)
  return Outcome(
      measured={"n = d": n, "Thresholdout max |reported − fresh| · √n": thr_gap * math.sqrt(n),
                "same, script noise · √n": float(np.max(_gap(thr_ref))) * math.sqrt(n),
                f"standard holdout − fresh at k={grid[-1]}": std_over,
                "best fresh acc (Thresholdout)": float(np.max(thr["fresh"][0]))},
      evidence={"n": n, "thresholdout_max_gap": thr_gap, "standard_overstates": std_over,
                "best_fresh": float(np.max(thr["fresh"][0]))},
      figures=figures, table="\n".join(table),
      data={"k_grid": grid, **{name: {f: [v[0].tolist(), v[1].tolist()] for f, v in cv.items()}
                                for name, cv in runs}})
