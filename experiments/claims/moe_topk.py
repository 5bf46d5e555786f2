"""Claims of paper 04 (H. Nguyen, P. Akbarian, F. Yan, N. Ho, "Statistical Perspective of Top-K Sparse Softmax
Gating Mixture of Experts", ICLR 2024, arXiv:2309.13850).

exact_rates    exact-specified (k = k* = 3, K = 2): D_1 and the Hellinger density error decay like n^-1/2.
overspecified  over-specified (k = 4: the always-selected true expert split in two), fitted with
               K_bar = 3 = |A_0| + |A_j| (the cardinality condition): D_2 and the density error decay like n^-1/2.
cardinality    fitting with too few selected experts: K = 1 against the K = 2 truth (k = k*, so every Voronoi cell
               is a singleton and the condition reads K_bar >= K) leaves a density error that does not vanish.
               The split k = 4, K = 2 fit (below K_bar = 3) is measured and reported beside it.

Setting (the zoo's choice, following the notes' advice to avoid the degenerate top-1 design with K = 1, where the
gate only acts through region boundaries): d = 1, X ~ U[-1, 1], k* = 3, K = 2, beta_1* = (3, 6, 0),
beta_0* = (0, -1, 0), a* = (-2, 2, 0), b* = (1, -1, 0), nu* = (0.09, 0.16, 0.0625). The top-K gate ranks
beta_1^T x alone ([04]'s form), so the regions are x > 0 (experts 0, 1) and x < 0 (experts 0, 2); expert 0 is
always selected, and the softmax weights inside each region identify the gate. EM starts at the truth (or at
its split) plus N(0, 0.1^2) jitter on every free coordinate, independent of n.
"""
from __future__ import annotations

import functools

import jax
import numpy as np

from experiments.claims import Case, Context, Outcome, Verdict, claim
from experiments.claims.moe_temperature import (FLAT, fmt_slope_evidence, judge_rate, rate_cases, rate_figure,
                                                slope_evidence)
from experiments.claims.report import mean_se_table

# Over-specified EM converges slowly (sublinearly) inside a split cell: its sweeps get their own, smaller grid and
# iteration cap in `small` (the fraction of fits that hit the cap is reported). The split K = 2 fit of the
# cardinality claim runs only in `paper`.
SETTINGS = {
    "smoke": dict(ns=(200, 400, 800), reps=3, max_iter=60, split_ns=(200, 400, 800), split_reps=3, split_max_iter=60,
                  split2=True),
    "small": dict(ns=tuple(int(v) for v in np.geomspace(300, 20000, 7)), reps=10, max_iter=1000,
                  split_ns=tuple(int(v) for v in np.geomspace(300, 10000, 6)), split_reps=8, split_max_iter=200,
                  split2=False),
    "paper": dict(ns=tuple(int(v) for v in np.geomspace(10 ** 2.5, 10 ** 4.5, 15)), reps=20, max_iter=2000,
                  split_ns=tuple(int(v) for v in np.geomspace(10 ** 2.5, 10 ** 4.5, 15)), split_reps=20,
                  split_max_iter=2000, split2=True),
}
TRUE = dict(beta0=[0.0, -1.0, 0.0], beta1=[[3.0], [6.0], [0.0]], tau=1.0, a=[[-2.0], [2.0], [0.0]],
            b=[1.0, -1.0, 0.0], nu=[0.09, 0.16, 0.0625])
K_TRUE = 2
PLATEAU = 5.0   # the under-selected fit's error at the largest n must exceed this multiple of the exact fit's


def true_params():
  from theory import moe as M
  with jax.enable_x64(True):
    return M.make_params(**TRUE)


@functools.lru_cache(maxsize=8)
def _sweep(variant: str, seed: int, fit: str):
  """fit: "exact" (k = 3, K = 2), "k1" (k = 3, K = 1), "split3" (k = 4, K = 3), "split2" (k = 4, K = 2)."""
  from theory import moe as M
  p = SETTINGS[variant]
  true = true_params()
  center, top_k = {"exact": (true, 2), "k1": (true, 1), "split3": (M.split_atom(true, 0, 2), 3),
                   "split2": (M.split_atom(true, 0, 2), 2)}[fit]
  key = jax.random.fold_in(jax.random.key(seed), {"exact": 1, "k1": 2, "split3": 3, "split2": 4}[fit])
  split = fit.startswith("split")
  max_iter = p["split_max_iter"] if split else p["max_iter"]
  res = M.sweep(key, true, center, "topk", p["split_ns"] if split else p["ns"], p["split_reps"] if split else p["reps"],
                M.JITTER, top_k=top_k, top_k_true=K_TRUE, max_iter=max_iter, tol=M.TOL)
  kind = "D1" if fit in ("exact", "k1") else "D2_topk"
  return M.rate_errors(res, true, "topk", kind, top_k=top_k, top_k_true=K_TRUE, max_iter=max_iter)


def judge_cardinality(evidence: dict) -> tuple[Verdict, str]:
  rule = (f"holds iff the K = 1 fit's Hellinger slope over the upper half of the n grid is above {FLAT} (no decay) "
          f"and its error at the largest n is more than {PLATEAU:g} x the K = 2 fit's. K = 1 < K = 2 violates the "
          "condition with singleton cells; the split k = 4, K = 2 fit (paper variant) is reported only: in this d = 1 "
          "design with bias-free ranking the two copies of expert 0 are selected in different regions, so that "
          "model can still represent the truth")
  ok = evidence["k1_slope"] > FLAT and evidence["ratio_at_max_n"] > PLATEAU
  return (Verdict.HOLDS if ok else Verdict.DOES_NOT_HOLD), rule


@claim("moe_topk", "exact_rates", "Exact-specified top-K MoE: D_1 and density error at n^-1/2",
       "k* known: E_X h(p_hat, p*) = O(sqrt(log n / n)) and D_1(G_hat, G*) = O(sqrt(log n / n)), so beta_1, a, b, "
       "sigma and the exp(beta_0) weights converge at about n^-1/2", judge=judge_rate,
       cases=rate_cases(["D_1", "Hellinger"]))
def exact_rates(ctx: Context) -> Outcome:
  r = _sweep(ctx.variant, ctx.seed, "exact")
  ns = r.ns
  rows = [slope_evidence(ns, r.loss, "D_1"), slope_evidence(ns, r.hellinger, "Hellinger")]
  figs = ctx.figures(rate_figure(ctx, "moe_topk_exact.png", "Top-2 of 3 experts, exact-specified", ns,
                             [("D_1", r.loss), ("Hellinger", r.hellinger)], "error"))
  return Outcome(
      measured={"D_1 slope [95% bootstrap]": fmt_slope_evidence(rows[0]),
                "Hellinger slope [95% bootstrap]": fmt_slope_evidence(rows[1]),
                "min loglik(MLE) - loglik(truth)": float(r.loglik_gap.min()), "n": f"{int(ns[0])}..{int(ns[-1])}",
                "replications": int(r.loss.shape[1])},
      evidence={"slopes": rows},
      figures=figs, table=mean_se_table("n", ns.tolist(), [("D_1", r.loss), ("Hellinger", r.hellinger)]),
      data={"ns": ns.tolist(), "d1": r.loss.tolist(), "hellinger": r.hellinger.tolist()})


@claim("moe_topk", "overspecified", "Over-specified top-K MoE with K_bar = 3: D_2 and density error at n^-1/2",
       "k > k*: fitting top-K_bar with K_bar = max_S sum_{j in S} |A_j| keeps the density at O(sqrt(log n / n)) and "
       "D_2(G_hat, G*) = O(sqrt(log n / n)) (per-parameter rates in a 2-atom cell: n^-1/8 for beta_1, b; n^-1/4 for "
       "a, sigma)", judge=judge_rate, cases=rate_cases(["D_2 (rbar(2) = 4 exponents)", "Hellinger"]))
def overspecified(ctx: Context) -> Outcome:
  r = _sweep(ctx.variant, ctx.seed, "split3")
  ns = r.ns
  rows = [slope_evidence(ns, r.loss, "D_2 (rbar(2) = 4 exponents)"), slope_evidence(ns, r.hellinger, "Hellinger")]
  figs = ctx.figures(rate_figure(ctx, "moe_topk_overspecified.png",
                             "k = 4 fitted atoms (expert 0 split), top-3 (K_bar = 3)", ns,
                             [("D_2", r.loss), ("Hellinger", r.hellinger)], "error"))
  return Outcome(
      measured={"D_2 slope [95% bootstrap]": fmt_slope_evidence(rows[0]),
                "Hellinger slope [95% bootstrap]": fmt_slope_evidence(rows[1]),
                "min loglik(MLE) - loglik(truth)": float(r.loglik_gap.min()),
                "fraction of fits stopped by the iteration cap (over-specified EM converges slowly)": r.capped,
                "n": f"{int(ns[0])}..{int(ns[-1])}", "replications": int(r.loss.shape[1])},
      evidence={"slopes": rows},
      figures=figs, table=mean_se_table("n", ns.tolist(), [("D_2", r.loss), ("Hellinger", r.hellinger)]),
      data={"ns": ns.tolist(), "d2": r.loss.tolist(), "hellinger": r.hellinger.tolist()})


@claim("moe_topk", "cardinality", "Too few selected experts: the density error does not vanish",
       "the number of selected experts must reach the total cardinality of the Voronoi cells of the true experts "
       "active in a region; below it the density estimation does not converge", judge=judge_cardinality,
       cases=[Case("holds", {"k1_slope": 0.01, "ratio_at_max_n": 39.0}, Verdict.HOLDS),
              Case("does not hold: K = 1 decays", {"k1_slope": -0.5, "ratio_at_max_n": 1.2}, Verdict.DOES_NOT_HOLD),
              Case("boundary: ratio exactly 5", {"k1_slope": 0.0, "ratio_at_max_n": 5.0}, Verdict.DOES_NOT_HOLD),
              Case("boundary: slope -0.19", {"k1_slope": -0.19, "ratio_at_max_n": 5.01}, Verdict.HOLDS)])
def cardinality(ctx: Context) -> Outcome:
  ex, k1 = _sweep(ctx.variant, ctx.seed, "exact"), _sweep(ctx.variant, ctx.seed, "k1")
  s2 = _sweep(ctx.variant, ctx.seed, "split2") if SETTINGS[ctx.variant]["split2"] else None
  ns = ex.ns
  rows = [slope_evidence(ns, k1.hellinger, "K = 1 fit (k = 3)"), slope_evidence(ns, ex.hellinger, "K = 2 fit (k = 3)")]
  ratio = float(k1.hellinger[-1].mean() / ex.hellinger[-1].mean())
  series = [("K = 2 (condition met)", ex.hellinger), ("K = 1 (below)", k1.hellinger)]
  measured = {"K = 1 Hellinger slope [95% bootstrap]": fmt_slope_evidence(rows[0]),
              f"K = 1 / K = 2 Hellinger at n = {int(ns[-1])}": ratio,
              f"K = 1 Hellinger at n = {int(ns[-1])}": float(k1.hellinger[-1].mean())}
  data = {"ns": ns.tolist(), "slopes": rows, "k1": k1.hellinger.tolist()}
  figs = ctx.figures(rate_figure(ctx, "moe_topk_cardinality.png", "Hellinger error: enough vs too few selected experts",
                             ns, series, "E_X Hellinger"))
  table = mean_se_table("n", ns.tolist(), [("K = 2, k = 3", ex.hellinger), ("K = 1, k = 3", k1.hellinger)])
  if s2 is not None:
    row2 = slope_evidence(s2.ns, s2.hellinger, "K = 2 fit, k = 4 split")
    measured["split k = 4, K = 2: Hellinger slope [95% bootstrap] (reported, not in the rule)"] = \
        fmt_slope_evidence(row2)
    data.update(split2=s2.hellinger.tolist(), split2_ns=s2.ns.tolist(), split2_slope=row2)
    table += ("\n\nSplit k = 4, K = 2 (below K_bar = 3):\n\n"
              + mean_se_table("n", s2.ns.tolist(), [("Hellinger", s2.hellinger)]))
  return Outcome(measured=measured, evidence={"k1_slope": rows[0]["slope"], "ratio_at_max_n": ratio},
                 figures=figs, table=table, data=data)
