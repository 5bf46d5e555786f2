"""Claim of paper 01 (Regol, Chataoui, Coates, "Jointly-Learned Exit and Inference for a Dynamic Neural Network:
JEI-DNN", ICLR 2024).

accuracy_cost  on digits with per-sample difficulty and a frozen residual-MLP backbone, JEI-DNN (learned gates,
               bi-level training, lambda sweep) has at least the threshold baseline's area under the accuracy-vs-cost
               curve on cost in [0.3, 1], a lower ECE, and no larger split-conformal sets at alpha = 0.05, both
               covering 1 - alpha (ECE and sets compared at matched calibration-split cost, one pair per lambda).
"""
from __future__ import annotations

import math

import numpy as np

from experiments.claims import Case, Context, Outcome, Verdict, claim
from experiments.claims.report import markdown_table, mean_se

SETTINGS = {
    "smoke": dict(seeds=1, model=dict(width=16, bottleneck=8, n_blocks=3, num_exits=3), lams=(0.1, 1.0),
                  thetas=(0.0, 0.5, 1.0), backbone_steps=20, warmup_epochs=1, cycles=1, phase_steps=3),
    "small": dict(seeds=3, model=dict(width=128, bottleneck=32, n_blocks=6, num_exits=6),
                  lams=(0.01, 0.03, 0.1, 0.3, 1.0), thetas=tuple(np.round(np.linspace(0, 1, 41), 3)),
                  backbone_steps=1000, warmup_epochs=6, cycles=4, phase_steps=50),
    "paper": dict(seeds=5, model=dict(width=128, bottleneck=32, n_blocks=6, num_exits=6),
                  lams=(0.01, 0.03, 0.1, 0.3, 1.0), thetas=tuple(np.round(np.linspace(0, 1, 101), 3)),
                  backbone_steps=3000, warmup_epochs=6, cycles=10, phase_steps=200),
}
ALPHA = 0.05
ORACLE_LAMS = (0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
AUC_RANGE = (0.3, 1.0)
SPREAD_Z = 2.0   # a gap within SPREAD_Z s.e. of the per-seed paired differences is "inside the seed spread"
COVER_Z = 2.0    # coverage may fall short of 1 - alpha by COVER_Z Monte Carlo s.e. sqrt(alpha (1-alpha) / n)


def _gap(diffs):
  d = np.asarray(diffs, np.float64)
  se = float(np.std(d, ddof=1) / math.sqrt(d.size)) if d.size > 1 else 0.0
  return float(d.mean()), SPREAD_Z * se


def judge(e: dict) -> tuple[Verdict, str]:
  auc, auc_s = _gap(np.subtract(e["auc_jei"], e["auc_threshold"]))
  dece, ece_s = _gap(np.subtract(e["ece_threshold"], e["ece_jei"]))
  dset, set_s = _gap(np.subtract(e["set_threshold"], e["set_jei"]))
  cov_tol = COVER_Z * math.sqrt(e["alpha"] * (1 - e["alpha"]) / (e["n_test"] * len(e["auc_jei"])))
  covered = min(np.mean(e["coverage_jei"]), np.mean(e["coverage_threshold"])) >= 1 - e["alpha"] - cov_tol
  wrong = auc < -auc_s or dece < -ece_s or dset < -set_s or (auc_s == 0 and auc < 0) or (ece_s == 0 and dece <= 0)
  right = auc >= 0 and dece > 0 and dset >= 0
  clear = auc > auc_s and dece > ece_s
  if not covered or wrong:
    verdict = Verdict.DOES_NOT_HOLD
  elif right and clear:
    verdict = Verdict.HOLDS
  else:
    verdict = Verdict.INCONCLUSIVE
  rule = (f"holds iff, over {len(e['auc_jei'])} seed(s), JEI-DNN's area under the accuracy-vs-cost curve on cost in "
          f"[{AUC_RANGE[0]:g}, {AUC_RANGE[1]:g}] is >= the threshold baseline's and its ECE (15 equal-mass bins) is "
          f"lower, both gaps beyond {SPREAD_Z:g} s.e. of the per-seed paired differences, and its mean conformal set "
          f"at alpha = {e['alpha']:g} is no larger, while both mean coverages are >= 1 - alpha - {COVER_Z:g} MC s.e. "
          f"({1 - e['alpha'] - cov_tol:.4f}); a right-signed gap inside the seed spread is inconclusive; a coverage "
          f"short of that, or any gap wrong-signed beyond the spread, does not hold. Measured: AUC gap {auc:+.4f} "
          f"(spread {auc_s:.4f}), ECE gain {dece:+.4f} (spread {ece_s:.4f}), set-size gain {dset:+.3f} (spread "
          f"{set_s:.3f}); ECE and sets at the theta matching each lambda's calibration-split cost.")
  return verdict, rule


_E = dict(alpha=0.05, n_test=360, auc_jei=[0.80, 0.81, 0.79], auc_threshold=[0.76, 0.77, 0.75],
          ece_jei=[0.05, 0.06, 0.05], ece_threshold=[0.10, 0.11, 0.10], set_jei=[2.0, 2.1, 2.0],
          set_threshold=[2.5, 2.6, 2.4], coverage_jei=[0.95, 0.96, 0.955], coverage_threshold=[0.95, 0.95, 0.96])


def _e(**kw):
  return {**_E, **kw}


@claim("jei_dnn", "accuracy_cost", "Learned gates beat threshold gating on accuracy/cost, calibration and set size",
       "JEI-DNN's jointly trained gates and IMs give a better accuracy-vs-cost curve than confidence thresholding "
       "(largest gains at low budgets), markedly lower ECE and smaller conformal sets at the same coverage",
       judge=judge,
       cases=[Case("holds", _e(), Verdict.HOLDS),
              Case("does not hold: AUC lower beyond the spread", _e(auc_jei=[0.70, 0.71, 0.69]), Verdict.DOES_NOT_HOLD),
              Case("does not hold: ECE higher", _e(ece_jei=[0.15, 0.16, 0.15]), Verdict.DOES_NOT_HOLD),
              Case("does not hold: under-coverage", _e(coverage_jei=[0.90, 0.91, 0.90]), Verdict.DOES_NOT_HOLD),
              Case("inconclusive: AUC gap inside the seed spread", _e(auc_jei=[0.78, 0.74, 0.77]),
                   Verdict.INCONCLUSIVE),
              Case("boundary: coverage exactly at the tolerance",
                   _e(coverage_jei=[1 - 0.05 - 2 * math.sqrt(0.05 * 0.95 / 1080)] * 3), Verdict.HOLDS),
              Case("boundary: equal set sizes", _e(set_jei=[2.5, 2.6, 2.4]), Verdict.HOLDS)])
def accuracy_cost(ctx: Context) -> Outcome:
  from experiments.datasets import load_tabular
  from models import jei_dnn as J

  s = SETTINGS[ctx.variant]
  x, y = load_tabular("digits")
  model = J.JEIDNN(**s["model"], num_classes=10)
  runs = []
  for seed in range(s["seeds"]):
    r = J.compare_policies(x, y, seed=ctx.seed + seed, model=model, lams=s["lams"], thetas=s["thetas"],
                           backbone_steps=s["backbone_steps"], warmup_epochs=s["warmup_epochs"], cycles=s["cycles"],
                           phase_steps=s["phase_steps"], alpha=ALPHA, oracle_lams=ORACLE_LAMS)
    runs.append(r)
    ctx.log(f"seed {seed}: final-head accuracy {r['final_accuracy']:.3f}; AUC JEI {r['auc_jei']:.4f}, threshold "
            f"{r['auc_threshold']:.4f}, oracle {r['auc_oracle']:.4f}")
  mm = lambda r, k: float(np.mean([m[k] for m in r["matched"]]))
  ev = dict(alpha=ALPHA, n_test=runs[0]["n_test"],
            auc_jei=[r["auc_jei"] for r in runs], auc_threshold=[r["auc_threshold"] for r in runs],
            ece_jei=[mm(r, "jei_ece") for r in runs], ece_threshold=[mm(r, "thr_ece") for r in runs],
            set_jei=[mm(r, "jei_set") for r in runs], set_threshold=[mm(r, "thr_set") for r in runs],
            coverage_jei=[mm(r, "jei_coverage") for r in runs],
            coverage_threshold=[mm(r, "thr_coverage") for r in runs])
  rows = []
  for i, lam in enumerate(s["lams"]):
    g = lambda k: mean_se([r["matched"][i][k] for r in runs])
    rows.append([lam] + [f"{g(k)[0]:.4f} ± {g(k)[1]:.3f}" for k in
                         ("jei_cost", "thr_cost", "jei_acc", "thr_acc", "jei_ece", "thr_ece", "jei_set", "thr_set",
                          "jei_coverage", "thr_coverage")])
  table = markdown_table(["lambda", "cost JEI", "cost thr", "acc JEI", "acc thr", "ECE JEI", "ECE thr", "set JEI",
                          "set thr", "cov JEI", "cov thr"], rows)

  def curve_figure():
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for k, (r, col) in enumerate(zip(runs, ("C0", "C1", "C2", "C3", "C4"))):
      lab = (lambda t: t) if k == 0 else (lambda t: None)
      ax.plot([m["cost"] for m in r["threshold"]], [m["accuracy"] for m in r["threshold"]], "-", color="C1",
              alpha=0.6, lw=1, label=lab("threshold (theta sweep)"))
      ax.plot([m["cost"] for m in r["jei"]], [m["accuracy"] for m in r["jei"]], "o-", color="C0", ms=4,
              label=lab("JEI-DNN (lambda sweep)"))
      ax.plot([m["cost"] for m in r["oracle"]], [m["accuracy"] for m in r["oracle"]], "s:", color="C2", ms=3,
              label=lab("oracle exit"))
    ax.axvline(AUC_RANGE[0], color="k", ls="--", lw=0.7)
    ax.set(xlabel="expected normalised cost (C_L = 1)", ylabel="test accuracy",
           title=f"digits with difficulty, {len(runs)} seed(s)")
    ax.legend(fontsize=7)
    return ctx.save_figure(fig, "jei_dnn_accuracy_cost.png")

  def reliability_figure():
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.8, 4.5))
    rel = runs[0]["reliability"]
    for name, col in (("jei", "C0"), ("threshold", "C1")):
      c, a, _ = rel[name]
      ax.plot(c, a, "o-", color=col, ms=3, label=name)
    ax.plot([0, 1], [0, 1], "k--", lw=0.7)
    ax.set(xlabel="confidence (15 equal-mass bins)", ylabel="accuracy",
           title=f"reliability, seed 0, lambda = {runs[0]['mid_lam']:g} and matched theta")
    ax.title.set_fontsize(9)
    ax.legend(fontsize=7)
    return ctx.save_figure(fig, "jei_dnn_reliability.png")

  figures = ctx.figures(curve_figure, reliability_figure)
  measured = {
      "AUC JEI / threshold / oracle": " / ".join(f"{np.mean([r[k] for r in runs]):.4f}"
                                                  for k in ("auc_jei", "auc_threshold", "auc_oracle")),
      "ECE JEI / threshold": f"{np.mean(ev['ece_jei']):.4f} / {np.mean(ev['ece_threshold']):.4f}",
      "set size JEI / threshold": f"{np.mean(ev['set_jei']):.3f} / {np.mean(ev['set_threshold']):.3f}",
      "coverage JEI / threshold": f"{np.mean(ev['coverage_jei']):.4f} / {np.mean(ev['coverage_threshold']):.4f}",
      "final-head accuracy": float(np.mean([r["final_accuracy"] for r in runs])),
  }
  return Outcome(measured=measured, evidence=ev, figures=figures, table=table,
                 data={"runs": [{k: v for k, v in r.items()} for r in runs]})


def _plt():
  from experiments.claims import pyplot
  return pyplot()
