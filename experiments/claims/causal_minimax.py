"""Claims of paper 16 (M. Liu, X. Zheng, X. Sun, F. Fang, Y. Wang, "Which Invariance Should We Transfer? A Causal
Minimax Learning Approach", ICML 2023, arXiv:2107.01876).

random_dags     random binary SCMs (exact h* by enumerating every deterministic J): when K ∩ Ch(Y) = ∅ the whole
                stable set attains the minimum of h* over all subsets.
counterexample  Y ~ N(0, 1), M a mutable child of Y, X = Y M + N(0, 0.25): the whole stable set {X} has a worst-case
                risk 1.0786 > 1 = h*(∅); J-ascent must find it (exact and fitted predictor).
reference       the reference simulation (20 environments, random 10/10 splits): S* = argmin of the estimated h*
                over the 45 equivalence-class representatives (not 256 subsets) has a lower mean max
                test-environment MSE than the whole stable set and ERM on all covariates.
"""
from __future__ import annotations

import functools

import jax
import numpy as np

from experiments.claims import Case, Context, Outcome, Verdict, claim, pyplot
from experiments.claims.report import fmt_mean_se, markdown_table, mean_se

SETTINGS = {
    "smoke": dict(dags=dict(n_seeds=100),ce=dict(n_env=4, n_per_env=50, fit_steps=200, restarts=2, steps=200),
                  ref=dict(splits=1, n_per_env=30, fit_steps=100, restarts=1, steps=50)),
    "small": dict(dags=dict(n_seeds=2000), ce=dict(n_env=10, n_per_env=200, fit_steps=3000, restarts=6, steps=2000),
                  ref=dict(splits=3, n_per_env=100, fit_steps=800, restarts=1, steps=600)),
    "paper": dict(dags=dict(n_seeds=10000, n_stable=6), ce=dict(n_env=20, n_per_env=500, fit_steps=10000, restarts=10, steps=10000),
                  ref=dict(splits=10, n_per_env=100, fit_steps=10000, restarts=3, steps=10000)),
}
CF_TOL = 0.02      # exact-predictor J-ascent must reach the closed form within this
MARGIN = 0.02      # the fitted whole stable set must be worse than f_∅ by more than this
N_CLASSES, N_SUBSETS = 45, 256
MIN_DAGS = 10      # fewer condition-holding instances than this: inconclusive
REL_TOL = 1e-9     # the whole set "attains the minimum" within this relative tolerance (ties allowed)


def judge_random_dags(e: dict):
  rule = (f"holds iff in every one of at least {MIN_DAGS} random SCMs with K ∩ Ch(Y) = ∅ (and X_M^0, K non-empty) "
          f"the whole stable set attains min_S h*(S) within relative {REL_TOL:g}; inconclusive with fewer instances")
  if e["holds_n"] < MIN_DAGS:
    return Verdict.INCONCLUSIVE, rule
  return (Verdict.HOLDS if e["holds_whole_not_min"] == 0 else Verdict.DOES_NOT_HOLD), rule


@claim("causal_minimax", "random_dags", "Graphical condition: K ∩ Ch(Y) = ∅ ⇒ the whole stable set is minimax",
       "if no child of Y descends from a mutable child of Y, the whole stable set minimises the worst-case risk",
       judge=judge_random_dags,
       cases=[Case("holds", dict(holds_n=50, holds_whole_not_min=0, fails_n=80, fails_whole_not_min=3), Verdict.HOLDS),
              Case("does not hold", dict(holds_n=50, holds_whole_not_min=1, fails_n=80, fails_whole_not_min=3),
                   Verdict.DOES_NOT_HOLD),
              Case("boundary: exactly the minimum count", dict(holds_n=10, holds_whole_not_min=0, fails_n=0,
                                                               fails_whole_not_min=0), Verdict.HOLDS),
              Case("inconclusive: too few", dict(holds_n=9, holds_whole_not_min=0, fails_n=0, fails_whole_not_min=0),
                   Verdict.INCONCLUSIVE)])
def random_dags(ctx: Context) -> Outcome:
  from theory import causal_minimax as C
  r = C.random_dag_study(rel_tol=REL_TOL, **SETTINGS[ctx.variant]["dags"])
  ev = {k: r[k] for k in ("holds_n", "holds_whole_not_min", "fails_n", "fails_whole_not_min")}
  table = markdown_table(["instances", "count", "whole set strictly above the minimum", "max relative gap"],
                         [["K ∩ Ch(Y) = ∅", r["holds_n"], r["holds_whole_not_min"], max(r["holds_gaps"], default=0.0)],
                          ["K ∩ Ch(Y) ≠ ∅ (control)", r["fails_n"], r["fails_whole_not_min"],
                           max(r["fails_gaps"], default=0.0)]])

  def fig():
    plt = pyplot()
    f, ax = plt.subplots(figsize=(6, 4))
    for k, lab in (("holds_gaps", "K ∩ Ch(Y) = ∅"), ("fails_gaps", "K ∩ Ch(Y) ≠ ∅")):
      g = np.asarray(r[k]) + 1e-17
      ax.hist(np.log10(g), bins=30, alpha=0.6, label=f"{lab} ({len(g)})")
    ax.set(xlabel="log10(h*(X_S) / min_S h*(S) - 1 + 1e-17)", ylabel="instances",
           title="Exact worst case on random binary SCMs")
    ax.legend(fontsize=7)
    return ctx.save_figure(f, "causal_minimax_random_dags.png")
  return Outcome(measured={"condition holds: whole set not minimal": f"{r['holds_whole_not_min']} of {r['holds_n']}",
                           "condition fails: whole set not minimal": f"{r['fails_whole_not_min']} of {r['fails_n']}"},
                 evidence=ev, figures=ctx.figures(fig), table=table, data=r)


def judge_counterexample(e: dict):
  ok_exact = e["h_exact"] >= e["sample_closed_form"] - CF_TOL
  ok_gap = e["h_fitted"] > e["h_empty"] + MARGIN
  v = Verdict.HOLDS if ok_exact and ok_gap else Verdict.DOES_NOT_HOLD
  return v, (f"holds iff J-ascent on the exact f_X reaches at least the closed-form worst case (evaluated on the "
             f"ascent's own Y sample) minus {CF_TOL} "
             f"and the fitted whole stable set's estimated h* exceeds the fitted f_∅'s by more than {MARGIN}")


@claim("causal_minimax", "counterexample", "The whole stable set is not minimax optimal when K ∩ Ch(Y) ≠ ∅",
       "in the counter-example the whole stable set {X} has worst-case risk 1.0786 > 1 = h*(∅), so a smaller "
       "stable subset is strictly better; the worst case is found by maximising over intervention functions",
       judge=judge_counterexample,
       cases=[Case("holds", dict(closed_form=1.0786, sample_closed_form=1.07, h_exact=1.075, h_fitted=1.11, h_empty=1.0), Verdict.HOLDS),
              Case("does not hold: ascent misses the worst case",
                   dict(closed_form=1.0786, sample_closed_form=1.07, h_exact=1.01, h_fitted=1.11, h_empty=1.0), Verdict.DOES_NOT_HOLD),
              Case("does not hold: no gap", dict(closed_form=1.0786, sample_closed_form=1.07, h_exact=1.07, h_fitted=1.01, h_empty=1.0),
                   Verdict.DOES_NOT_HOLD),
              Case("boundary: exactly closed form - tol", dict(closed_form=1.0786, sample_closed_form=1.07, h_exact=1.05, h_fitted=1.2,
                                                               h_empty=1.0), Verdict.HOLDS)])
def counterexample(ctx: Context) -> Outcome:
  from theory import causal_minimax as C
  r = C.counterexample_study(jax.random.key(ctx.seed), **SETTINGS[ctx.variant]["ce"])
  ev = dict(closed_form=r.closed_form, sample_closed_form=r.sample_closed_form, h_exact=r.h_exact, h_fitted=r.h_fitted, h_empty=r.h_empty)
  rows = [["f_∅ (fitted)", r.h_empty, r.do_risk_empty], ["f_{X} (fitted)", r.h_fitted, r.do_risk_fitted],
          ["f_{X} exact m x/(m²+0.25)", r.h_exact, 0.438], ["closed form E_Y max_u", r.closed_form, "–"],
          ["closed form on the ascent's sample", r.sample_closed_form, "–"]]
  table = markdown_table(["predictor", "h* (J-ascent)", "do-risk"], rows)

  def fig():
    plt = pyplot()
    f, ax = plt.subplots(figsize=(6, 4))
    names = ["f_∅ fitted", "f_X fitted", "f_X exact", "closed form"]
    ax.bar(names, [r.h_empty, r.h_fitted, r.h_exact, r.closed_form], color=["C0", "C1", "C2", "k"])
    ax.axhline(1.0, ls="--", color="gray", label="Var Y = h*(∅)")
    ax.set(ylabel="worst-case risk h*", title="Counter-example: the whole stable set is worse than ∅")
    ax.legend()
    return ctx.save_figure(f, "causal_minimax_counterexample.png")
  return Outcome(measured={"h*(X) exact / fitted": f"{r.h_exact:.4f} / {r.h_fitted:.4f}",
                           "h*(∅) fitted": r.h_empty, "closed form": r.closed_form,
                           "do-risk f_X fitted": r.do_risk_fitted},
                 evidence=ev, figures=ctx.figures(fig), table=table, data=r._asdict())


def judge_reference(e: dict):
  ok = (e["mean_selected"] < e["mean_whole"] and e["mean_selected"] < e["mean_erm"]
        and e["n_classes"] == N_CLASSES and e["n_subsets"] == N_SUBSETS)
  return (Verdict.HOLDS if ok else Verdict.DOES_NOT_HOLD), (
      f"holds iff S* = argmin estimated h* has a lower mean (over splits) max test-environment MSE than both the "
      f"whole stable set and ERM, and the search evaluated {N_CLASSES} class representatives out of {N_SUBSETS} "
      f"subsets")


_REF_OK = dict(mean_selected=0.012, mean_whole=0.017, mean_erm=0.015, n_classes=45, n_subsets=256)


@claim("causal_minimax", "reference", "Reference simulation: S* beats the whole stable set and ERM",
       "the subset with minimal estimated worst-case risk has lower max test-environment MSE than the whole stable "
       "set and ERM, and the equivalence-class search evaluates 45 instead of 256 subsets",
       judge=judge_reference,
       cases=[Case("holds", _REF_OK, Verdict.HOLDS),
              Case("does not hold: ERM better", dict(_REF_OK, mean_erm=0.011), Verdict.DOES_NOT_HOLD),
              Case("does not hold: 256 evaluated", dict(_REF_OK, n_classes=256), Verdict.DOES_NOT_HOLD),
              Case("boundary: tie with the whole set", dict(_REF_OK, mean_whole=0.012), Verdict.DOES_NOT_HOLD)])
def reference(ctx: Context) -> Outcome:
  from theory import causal_minimax as C
  r = C.reference_study(jax.random.key(ctx.seed), **SETTINGS[ctx.variant]["ref"])
  sel = r.test_max[np.arange(len(r.selected)), r.selected]
  ev = dict(mean_selected=float(sel.mean()), mean_whole=float(r.whole_max.mean()), mean_erm=float(r.erm_max.mean()),
            n_classes=int(r.h_star.shape[1]), n_subsets=int(r.n_subsets))
  from scipy.stats import spearmanr
  rho = float(np.mean([spearmanr(h, t)[0] for h, t in zip(r.h_star, r.test_max)]))
  best = r.test_max.min(axis=1)
  rows = [[s, "{" + ",".join(r.classes[r.selected[s]]) + "}", r.h_star[s, r.selected[s]], sel[s], r.whole_max[s],
           r.erm_max[s], best[s]] for s in range(len(sel))]
  table = markdown_table(["split", "S*", "h*(S*)", "max test MSE S*", "whole stable set", "ERM",
                          "best class (oracle)"], rows)

  def fig():
    plt = pyplot()
    f, ax = plt.subplots(figsize=(6.5, 4.5))
    h, t = r.h_star.mean(0), r.test_max.mean(0)
    ax.scatter(h, t, s=14, label="class representatives (mean over splits)")
    i = int(np.bincount(r.selected).argmax())
    ax.scatter([h[i]], [t[i]], color="C3", s=50, label="most selected S*")
    ax.axhline(r.whole_max.mean(), color="C1", ls="--", label="whole stable set")
    ax.axhline(r.erm_max.mean(), color="C2", ls=":", label="ERM (all covariates)")
    ax.set(xlabel="estimated h*(S)", ylabel="max test-environment MSE",
           title=f"Reference simulation, {len(sel)} splits (Spearman {rho:.2f})")
    ax.legend(fontsize=7)
    return ctx.save_figure(f, "causal_minimax_reference.png")
  return Outcome(measured={"max test MSE S* / whole / ERM": f"{fmt_mean_se(sel)} / {fmt_mean_se(r.whole_max)} / "
                                                             f"{fmt_mean_se(r.erm_max)}",
                           "classes evaluated": f"{ev['n_classes']} of {ev['n_subsets']}",
                           "mean Spearman(h*, max test MSE)": rho},
                 evidence=ev, figures=ctx.figures(fig), table=table,
                 data=dict(h_star=r.h_star.tolist(), test_max=r.test_max.tolist(), selected=r.selected.tolist(),
                           whole_max=r.whole_max.tolist(), erm_max=r.erm_max.tolist()))
