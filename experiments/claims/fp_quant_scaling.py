"""Claims of paper 32 (Sun et al., "Scaling Laws for Floating-Point Quantization Training", ICML 2025,
arXiv:2501.02423).

formula    the unified law's consequences with the paper's constants: the optimal layouts for 4 / 8 / 16 bits are
           E2M1 / E4M3 / E8M7, and the critical data size D_crit (closed form = the numerical argmin of L over D)
           reproduces the quoted examples (the notes' N = 41M / 679M values and the paper's 1B-model figures).
toy_sweep  quantised training of a random-teacher MLP (kernels.fp_quant GEMMs, P1–P6 quantised) over formats
           E1M1 … E8M7 and FP32, blocks 16 / 64 / 256 / channel, three widths and eight data sizes: the loss gap to
           FP32 grows with log2 B and shrinks with E and M, and the unified law fitted on 80 % of the runs
           predicts the held-out 20 %.
"""
from __future__ import annotations

import math

import jax
import numpy as np

from experiments.claims import Case, Context, Outcome, Verdict, claim
from experiments.claims.report import line_figure, markdown_table

# ---------------------------------------------------------------------------------------------------
# (i) Formula level.

LAYOUTS = {4: "E2M1", 8: "E4M3", 16: "E8M7"}
B_EXAMPLES = 128
# (N, E, M, quoted D_crit, half a unit of the quoted figure's last digit, source)
DCRIT_EXAMPLES = (
    (41e6, 1, 1, 3.9e10, 0.05e10, "notes"), (41e6, 2, 1, 1.9e11, 0.05e11, "notes"),
    (41e6, 4, 3, 1.3e13, 0.05e13, "notes"), (679e6, 1, 1, 7.4e10, 0.05e10, "notes"),
    (679e6, 2, 1, 3.6e11, 0.05e11, "notes"), (679e6, 4, 3, 2.5e13, 0.05e13, "notes"),
    (1e9, 8, 7, 1730e12, 5e12, "paper (BF16)"), (1e9, 4, 3, 27e12, 0.5e12, "paper"),
    (1e9, 2, 1, 0.4e12, 0.05e12, "paper"),
)
ARGMIN_RTOL = 1e-3


def judge_formula(e: dict):
  rule = (f"holds iff the optimal layouts for {sorted(LAYOUTS)} bits are {[LAYOUTS[k] for k in sorted(LAYOUTS)]}, the "
          f"closed-form D_crit is within {ARGMIN_RTOL:g} (relative) of the numerical argmin of L over D in every "
          f"example, and within half a unit of the last quoted digit of every quoted D_crit (B = {B_EXAMPLES})")
  ok = (all(e["layouts"].get(str(k)) == v for k, v in LAYOUTS.items())
        and e["max_argmin_rel_err"] <= ARGMIN_RTOL and e["quotes_within"] == e["quotes"])
  return (Verdict.HOLDS if ok else Verdict.DOES_NOT_HOLD), rule


_L_OK = {"4": "E2M1", "8": "E4M3", "16": "E8M7"}


@claim("fp_quant_scaling", "formula", "Optimal layouts and critical data sizes of the unified law",
       "FP4 -> E2M1, FP8 -> E4M3, FP16 -> E8M7 (exponent bits slightly more valuable than mantissa bits); training "
       "past the critical data size D_crit raises the loss (1B model, B = 128: BF16 1730T, E4M3 27T, E2M1 0.4T "
       "tokens)", judge=judge_formula,
       cases=[Case("holds", {"layouts": _L_OK, "max_argmin_rel_err": 1e-6, "quotes": 9, "quotes_within": 9},
                   Verdict.HOLDS),
              Case("does not hold: FP8 layout", {"layouts": {**_L_OK, "8": "E3M4"}, "max_argmin_rel_err": 1e-6,
                                                 "quotes": 9, "quotes_within": 9}, Verdict.DOES_NOT_HOLD),
              Case("does not hold: a quote missed", {"layouts": _L_OK, "max_argmin_rel_err": 1e-6, "quotes": 9,
                                                     "quotes_within": 8}, Verdict.DOES_NOT_HOLD),
              Case("boundary: argmin error at the tolerance", {"layouts": _L_OK, "max_argmin_rel_err": ARGMIN_RTOL,
                                                               "quotes": 9, "quotes_within": 9}, Verdict.HOLDS),
              Case("boundary: just past it", {"layouts": _L_OK, "max_argmin_rel_err": 1.01 * ARGMIN_RTOL,
                                              "quotes": 9, "quotes_within": 9}, Verdict.DOES_NOT_HOLD)])
def formula(ctx: Context) -> Outcome:
  from theory.fp_quant_scaling import argmin_data_size, critical_data_size, layout_table, loss
  table = layout_table(range(4, 17))
  rows, errs, within = [], [], 0
  for N, E, M, quoted, half, src in DCRIT_EXAMPLES:
    closed = float(critical_data_size(N, E, M, B_EXAMPLES))
    num = argmin_data_size(N, E, M, B_EXAMPLES)
    errs.append(abs(closed / num - 1))
    ok = abs(closed - quoted) <= half
    within += ok
    rows.append([f"{N:.3g}", f"E{E}M{M}", f"{closed:.4g}", f"{num:.4g}", f"{quoted:.3g}", src, "yes" if ok else "no"])
  ev = {"layouts": {str(k): v for k, v in table.items()}, "max_argmin_rel_err": float(max(errs)),
        "quotes": len(DCRIT_EXAMPLES), "quotes_within": int(within)}
  md = (markdown_table(["bits", "optimal layout"], [[k, v] for k, v in table.items()]) + "\n\n"
        + markdown_table(["N", "format", "D_crit closed form", "numerical argmin", "quoted", "source",
                          "within quote"], rows))
  ds = np.logspace(9, 15, 200)
  fmts = (("E1M1", 1, 1), ("E2M1", 2, 1), ("E3M2", 3, 2), ("E4M3", 4, 3), ("E8M7", 8, 7))
  curves = [(name, np.asarray(loss(41e6, ds, e, m, B_EXAMPLES), np.float64)) for name, e, m in fmts]
  figs = ctx.figures(line_figure(ctx, "fp_quant_scaling_law_vs_D.png",
                                 f"unified law, N = 41M, B = {B_EXAMPLES}: loss vs tokens (minimum at D_crit)", ds,
                                 curves, xlabel="tokens D", ylabel="predicted loss", logx=True))
  return Outcome(measured={"layouts 4/8/16 bits": f"{table[4]} / {table[8]} / {table[16]}",
                           "D_crit 1B E4M3 (B=128)": f"{float(critical_data_size(1e9, 4, 3, 128)):.3g} tokens",
                           "D_crit 1B E2M1": f"{float(critical_data_size(1e9, 2, 1, 128)):.3g}",
                           "quotes reproduced": f"{within}/{len(DCRIT_EXAMPLES)}"},
                 evidence=ev, table=md, figures=figs)


# ---------------------------------------------------------------------------------------------------
# (ii) Toy sweep.

# smoke: the cheap straight-through path (forward operands only; the quantised backward compiles ~3x longer)
SWEEP = {"smoke": dict(d_in=64, teacher_hidden=16, classes=8, hiddens=(4, 8), blocks=(16,), formats=("E1M1", "E4M3"),
                       seeds=1, steps=8, batch=16, eval_every=2, eval_size=64, targets=("P1", "P2"),
                       backward="ste"),
         "small": dict(d_in=512, teacher_hidden=64, classes=16, hiddens=(16, 32, 64), blocks=(16, 64, 256, "channel"),
                       formats=("E1M1", "E2M1", "E3M2", "E4M3", "E5M2", "E8M7"), seeds=2, steps=320, batch=128,
                       eval_every=40, eval_size=2048),
         "paper": dict(d_in=512, teacher_hidden=64, classes=16, hiddens=(16, 32, 64, 128),
                       blocks=(16, 64, 256, "channel"), formats=("E1M1", "E2M1", "E3M2", "E4M3", "E5M2", "E8M7"),
                       seeds=4, steps=2000, batch=128, eval_every=125, eval_size=4096)}
LR = 3e-3
PAIR_MIN = 0.80          # share of comparable pairs ordered as the law says
PAIR_TOL = 0.002         # nats: a pair agrees unless the ordering is violated by more than this
R2_MIN = 0.90            # held-out R² of the fitted unified law
HOLDOUT = 0.2


def judge_sweep(e: dict):
  rule = (f"holds iff, over all comparable pairs (same N, D; consecutive blocks for one format, or one format "
          f"dominating another in both E and M for one block), at least {PAIR_MIN:.0%} have the loss gap to FP32 "
          f"ordered as the law says (violations up to {PAIR_TOL} nats forgiven), and the unified law fitted on "
          f"{1 - HOLDOUT:.0%} of the (N, D, format, B) points has R² >= {R2_MIN} on the held-out {HOLDOUT:.0%}")
  ok = e["pair_agree"] >= PAIR_MIN - 1e-12 and e["r2_holdout"] >= R2_MIN - 1e-12
  return (Verdict.HOLDS if ok else Verdict.DOES_NOT_HOLD), rule


@claim("fp_quant_scaling", "toy_sweep", "Quantised-training gaps follow the unified law at toy scale",
       "the loss rises with the block size's log2 B and falls with exponent and mantissa bits; the unified law "
       "fits the losses of quantised training runs", judge=judge_sweep,
       cases=[Case("holds", {"pair_agree": 0.93, "r2_holdout": 0.97}, Verdict.HOLDS),
              Case("does not hold: ordering", {"pair_agree": 0.6, "r2_holdout": 0.97}, Verdict.DOES_NOT_HOLD),
              Case("does not hold: fit", {"pair_agree": 0.93, "r2_holdout": 0.5}, Verdict.DOES_NOT_HOLD),
              Case("boundary: both at the thresholds", {"pair_agree": PAIR_MIN, "r2_holdout": R2_MIN}, Verdict.HOLDS),
              Case("boundary: pairs just below", {"pair_agree": PAIR_MIN - 0.001, "r2_holdout": 0.99},
                   Verdict.DOES_NOT_HOLD)])
def toy_sweep(ctx: Context) -> Outcome:
  from models.fp_quant_scaling import gap_table, holdout_fit, pair_agreement, sweep
  from theory.fp_quant_scaling import critical_data_size
  p = SWEEP[ctx.variant]
  rows, ent = sweep(jax.random.PRNGKey(ctx.seed + 32), lr=LR, log=ctx.log, **p)
  blocks = [str(b) for b in p["blocks"]]
  gaps = gap_table(rows)
  pairs = pair_agreement(gaps, blocks, PAIR_TOL)
  strict = pair_agreement(gaps, blocks, 0.0)          # reported, not judged
  fit = holdout_fit(rows, holdout=HOLDOUT, seed=ctx.seed, starts=8 if ctx.variant != "smoke" else 2)
  Ns = sorted({r.N for r in rows})
  Ds = sorted({r.D for r in rows})
  fp = fit.params
  ev = {"pair_agree": float(pairs["all_agree"]), "block_agree": float(pairs["block_agree"]),
        "format_agree": float(pairs["format_agree"]), "pairs": int(pairs["all_pairs"]),
        "pair_agree_strict": float(strict["all_agree"]), "block_agree_strict": float(strict["block_agree"]),
        "format_agree_strict": float(strict["format_agree"]),
        "r2_holdout": float(fit.r2_holdout), "r2_train": float(fit.r2_train), "runs": len(rows),
        "fitted_delta": float(fp.delta), "fitted_nu": float(fp.nu), "entropy_floor": ent}
  # reported, not judged: exponent vs mantissa and the fitted critical data size at the largest N
  dcrit = {f: float(critical_data_size(Ns[-1], e, m, 64.0, fp)) for f, e, m in (("E1M1", 1, 1), ("E2M1", 2, 1))}
  ev.update({f"dcrit_{k}_B64": v for k, v in dcrit.items()})
  # figures
  fmts = list(p["formats"]) + ["FP32"]
  b_fig = blocks[min(1, len(blocks) - 1)]
  per = {f: [np.mean([r.loss for r in rows if r.fmt == f and r.N == Ns[-1] and r.block == b_fig and r.D == D])
             for D in Ds] for f in fmts}
  gap_vs_b = {f: [np.mean([g for (n, d, ff, b), g in gaps.items() if ff == f and b == bb and d == Ds[-1]])
                  for bb in blocks] for f in p["formats"]}
  beff = [p["d_in"] if b == "channel" else int(b) for b in blocks]
  figs = ctx.figures(
      line_figure(ctx, "fp_quant_scaling_loss_vs_D.png", f"toy sweep: held-out loss vs samples (N = {Ns[-1]}, "
                  f"B = {b_fig})", Ds, [(f, per[f]) for f in fmts], xlabel="samples D", ylabel="cross-entropy",
                  logx=True, hlines=[(ent, "teacher entropy")]),
      line_figure(ctx, "fp_quant_scaling_gap_vs_B.png", f"gap to FP32 vs log2 B (D = {Ds[-1]}, mean over N)",
                  np.log2(beff), [(f, gap_vs_b[f]) for f in p["formats"]], xlabel="log2 B", ylabel="loss gap"),
      _fit_figure(ctx, fit))
  tab = markdown_table(["format", "block"] + [f"gap N={n}" for n in Ns],
                       [[f, b] + [gaps.get((n, Ds[-1], f, b), float("nan")) for n in Ns]
                        for f in p["formats"] for b in blocks])
  tab += "\n\n" + markdown_table(["constant", "fitted"], [[k, float(v)] for k, v in fp._asdict().items()])
  return Outcome(measured={"pairs ordered as the law": f"{pairs['all_agree']:.3f} of {pairs['all_pairs']}",
                           "block / format pairs": f"{pairs['block_agree']:.3f} / {pairs['format_agree']:.3f}",
                           "pairs with no tolerance": f"{strict['all_agree']:.3f}",
                           "held-out R²": round(float(fit.r2_holdout), 4),
                           "fitted δ vs ν": f"{fp.delta:.3g} vs {fp.nu:.3g}",
                           "runs": len(rows)},
                 evidence=ev, table=tab, figures=figs,
                 data={"gaps": {"|".join(map(str, k)): v for k, v in gaps.items()},
                       "fit": {k: float(v) for k, v in fp._asdict().items()}})


def _fit_figure(ctx, fit):
  def make():
    from experiments.claims import pyplot
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(fit.y_holdout, fit.pred_holdout, "o", ms=4, label=f"held-out (R² = {fit.r2_holdout:.3f})")
    lo = float(min(fit.y_holdout.min(), fit.pred_holdout.min()))
    hi = float(max(fit.y_holdout.max(), fit.pred_holdout.max()))
    ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
    ax.set(xlabel="measured loss", ylabel="unified law (fitted)", title="fitted vs measured, held-out runs")
    ax.legend(fontsize=7)
    return ctx.save_figure(fig, "fp_quant_scaling_fit.png")
  return make


del math
