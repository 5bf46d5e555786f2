"""Claims of paper 29 (Ou, Nie, Xue, Zhu, Sun, Li, Li, "Your Absorbing Discrete Diffusion Secretly Models
the Conditional Distributions of Clean Data", ICLR 2025, arXiv:2406.03736).

nfe     With the time-independent network, the sampler may reuse the network output while the sequence
        does not change; with n Tweedie steps on L tokens the expected number of network calls is
        E-NFE = n (1 − (1 − 1/n)^L) (≤ min(n, L)) instead of n. Measured per-sequence NFE of the cached
        sampler on the trained character model vs the formula, over several n and L; cached and uncached
        samples from the same key are identical.
losses  t-DSE, t-DCE, λ-DCE and k-DCE (the any-order autoregressive loss) are equal in expectation: on one
        trained character model their Monte Carlo bits per character agree, and agree with the exact
        any-order NLL along random orders.
"""
from __future__ import annotations

import math

import jax
import numpy as np

from experiments.claims import Case, Context, Outcome, Verdict, claim, pyplot
from experiments.claims.report import fmt_mean_se, markdown_table

NFE = {
    "smoke": dict(steps=(16,), lengths=(8,), batch=16, time=False),
    "small": dict(steps=(8, 16, 32, 64, 128, 256), lengths=(16, 64), batch=32, time=True),
    "paper": dict(steps=(8, 16, 32, 64, 128, 256, 512, 1024, 2048), lengths=(64, 256, 1024), batch=128, time=True),
}
# Rule of the nfe claim: every cell's mean NFE within NFE_SE_MULT standard errors of the formula, plus a
# relative slack NFE_REL for the formula's idealisation (unmasking steps exactly uniform; here the grid ends
# at t = 1e-5, which moves E-NFE by < 1e-4 relative).
NFE_SE_MULT, NFE_REL = 4.0, 0.005
LOSS = {"smoke": dict(windows=8, draws=2), "small": dict(windows=256, draws=4), "paper": dict(windows=1024, draws=8)}
# Rule of the losses claim: each estimator's mean bpc within LOSS_SE_MULT paired standard errors of λ-DCE's,
# plus LOSS_REL relative slack (t-DSE/t-DCE integrate t over [1e-3, 1] with ε = 1e-3, which drops about
# 0.1–0.3 % of the bound); LEARNED_MARGIN: the model must beat the unigram entropy by 0.5 bpc.
LOSS_SE_MULT, LOSS_REL, LEARNED_MARGIN = 4.0, 0.01, 0.5


def _train(ctx: Context):
  """Trains (or reloads the finished scratch run of) the variant's RADD model; returns (task, params)."""
  from experiments.configs.common import validate_train
  from experiments.configs.radd import get_config
  from experiments.tasks.radd_lm import RADDLM
  cfg = get_config(ctx.variant)
  cfg.seed = ctx.seed
  cfg.train.tensorboard = False
  validate_train(cfg)
  RADDLM.validate(cfg)
  task, res, _ = ctx.train(cfg, f"radd_lm/{cfg.loss}_seed{ctx.seed}", task=RADDLM(cfg))
  return task, res.state.params, res.eval_metrics


def _nfe_allowed(c: dict) -> float:
  return NFE_SE_MULT * c["se"] + NFE_REL * c["formula"]


def judge_nfe(e: dict) -> tuple[Verdict, str]:
  """Every (L, n) cell within NFE_SE_MULT SE + NFE_REL of the formula, and cached = uncached samples."""
  rule = (f"holds iff for every (n, L) the mean per-sequence NFE of the cached Tweedie sampler over {e['batch']} "
          f"sequences is within {NFE_SE_MULT:g} SE + {NFE_REL:.1%} of n(1 − (1 − 1/n)^L), and cached and "
          "uncached samples from the same key are identical. Cache policy 'lazy' (the network runs only at steps "
          "where the sequence changes); model: the trained RADD character model of the losses claim.")
  ok = all(abs(c["mean"] - c["formula"]) <= _nfe_allowed(c) for c in e["cells"]) and e["identical"]
  return (Verdict.HOLDS if ok else Verdict.DOES_NOT_HOLD), rule


def _nfe_case(mean, se=0.4, identical=True):
  return {"cells": [{"L": 64, "n": 256, "mean": mean, "se": se, "formula": 56.7}], "identical": identical,
            "batch": 32}


@claim("radd", "nfe", "Caching the time-independent network: E-NFE = n(1 − (1 − 1/n)^L)",
       "RADD's network has no time input, so its output is reused while x_t is unchanged; with n steps and "
       "L tokens the expected number of function evaluations is n(1 − (1 − 1/n)^L) (≈ 647 for n = L = 1024, "
       "≈ 806 for n = 2048), up to 3.5x faster sampling", judge=judge_nfe,
       cases=[Case("holds", _nfe_case(56.2), Verdict.HOLDS),
              Case("does not hold: off the formula", _nfe_case(60.0), Verdict.DOES_NOT_HOLD),
              Case("does not hold: samples differ", _nfe_case(56.2, identical=False), Verdict.DOES_NOT_HOLD),
              Case("boundary: at 4 SE + 0.5 %", _nfe_case(56.7 - 1.6 - 0.2835 + 1e-9), Verdict.HOLDS),
              Case("boundary: just past", _nfe_case(56.7 - 1.6 - 0.2835 - 1e-3), Verdict.DOES_NOT_HOLD)])
def nfe(ctx: Context) -> Outcome:
  from models.radd import LogLinearNoise, nfe_sweep, sample, sampling_time
  p = NFE[ctx.variant]
  task, params, _ = _train(ctx)
  f = task.log_cond_fn(params)
  noise = LogLinearNoise()
  v = task.vocab_size
  cells, identical = nfe_sweep(f, v, noise, lengths=p["lengths"], steps=p["steps"], batch=p["batch"], seed=ctx.seed)
  for c in cells:
    c["ok"] = bool(abs(c["mean"] - c["formula"]) <= _nfe_allowed(c))
    ctx.log(f"nfe L={c['L']} n={c['n']}: measured {c['mean']:.2f} ± {c['se']:.2f}, formula {c['formula']:.2f}")
  length, n = max(p["lengths"]), max(p["steps"])
  key = jax.random.PRNGKey(ctx.seed * 1000 + n + 7 * length)
  shown = jax.jit(lambda k: sample(f, k, 1, length, v, noise, num_steps=n, cache="lazy"))(key)
  timing = sampling_time(f, key, length, v, noise, num_steps=n) if p["time"] else {}
  worst = max(cells, key=lambda c: abs(c["mean"] - c["formula"]) / _nfe_allowed(c))
  big = [c for c in cells if c["L"] == length and c["n"] == n][0]
  sample_text = task.corpus.decode(np.asarray(shown.tokens)[0])
  table = markdown_table(
      ["L", "n", "measured NFE (mean ± SE)", "n(1−(1−1/n)^L)", "exact (t_end = 1e-5)", "official 'previous' policy",
       "batched forward passes", "speed-up n / NFE"],
      [[c["L"], c["n"], fmt_mean_se(mean=c["mean"], se=c["se"]), c["formula"], c["exact"], c["previous_policy"],
        c["batch_calls"], c["n"] / c["mean"]] for c in cells]).split("\n") + [""]
  if timing:
    table.append(f"Batch 1, L = {length}, n = {n}: uncached {timing['none'][1]} NFE in {timing['none'][0]:.3f} s, "
                 f"cached {timing['lazy'][1]} NFE in {timing['lazy'][0]:.3f} s (median of 3, after compile; this "
                 "CPU).")
  table += [f"Cached and uncached samples ({p['batch']} sequences, L = {length}, n = {n}, same key) identical: "
            f"{identical}.", "", "A cached sample (Tweedie, trained model, batch 1):", "", "```", sample_text, "```"]
  figures = ctx.figures(lambda: _plot_nfe(ctx, cells, p))
  evidence = {"cells": [{k: c[k] for k in ("L", "n", "mean", "se", "formula")} for c in cells],
              "identical": identical, "batch": p["batch"]}
  return Outcome(
      measured={f"NFE L={length} n={n}": f"{big['mean']:.1f} ± {big['se']:.1f} (formula {big['formula']:.1f})",
                "worst cell |Δ| / allowed": f"{abs(worst['mean'] - worst['formula']) / _nfe_allowed(worst):.2f} "
                                            f"(L={worst['L']}, n={worst['n']}: {worst['mean']:.2f} ± "
                                            f"{worst['se']:.2f} vs {worst['formula']:.2f})",
                "cells within rule": f"{sum(c['ok'] for c in cells)}/{len(cells)}",
                "cached = uncached samples": identical,
                **({"wall s batch 1 (uncached / cached)": f"{timing['none'][0]:.3f} / {timing['lazy'][0]:.3f}"}
                   if timing else {})},
      evidence=evidence, figures=figures, table="\n".join(table),
      data={"cells": cells, "timing": timing, "sample": sample_text})


def _plot_nfe(ctx, cells, p):
  plt = pyplot()
  fig, ax = plt.subplots(figsize=(6.4, 4.4))
  ns = np.asarray(sorted(set(p["steps"])), float)
  grid = np.unique(np.geomspace(ns.min(), ns.max(), 200).round().astype(int))
  from models.radd import expected_nfe_uniform
  for j, length in enumerate(p["lengths"]):
    cs = [c for c in cells if c["L"] == length]
    color = f"C{j}"
    ax.plot(grid, [expected_nfe_uniform(int(g), length) for g in grid], "-", color=color, lw=1.2,
            label=f"n(1−(1−1/n)^L), L={length}")
    ax.errorbar([c["n"] for c in cs], [c["mean"] for c in cs], yerr=[2 * c["se"] for c in cs], fmt="o",
                color=color, ms=5, capsize=2, label=f"measured (cached), L={length}")
    ax.axhline(length, color=color, ls=":", lw=0.8)
  ax.plot(grid, grid, "k--", lw=1, label="uncached: NFE = n")
  ax.set_xscale("log", base=2)
  ax.set_yscale("log", base=2)
  ax.set_xlabel("sampling steps n")
  ax.set_ylabel("network evaluations per sequence")
  ax.set_title("RADD cached sampling: NFE vs steps (dotted: L)")
  ax.legend(fontsize=7)
  ax.grid(alpha=0.3, which="both")
  return ctx.save_figure(fig, "radd_nfe.png")


def judge_losses(e: dict) -> tuple[Verdict, str]:
  """Inconclusive unless the model learned; then every estimator within the paired tolerance of λ-DCE."""
  rule = (f"holds iff every estimator's mean bpc over {e['windows']} validation windows of {e['length']} characters "
          f"({e['draws']} draws each) is within {LOSS_SE_MULT:g} paired SE + {LOSS_REL:.0%} of the λ-DCE bpc; "
          f"inconclusive if λ-DCE is not at least {LEARNED_MARGIN:g} bpc below the unigram entropy. {e['model']}.")
  if not e["lambda_dce_bpc"] < e["unigram_bpc"] - LEARNED_MARGIN:
    return Verdict.INCONCLUSIVE, rule
  ok = all(abs(r["diff"]) <= LOSS_SE_MULT * r["se_diff"] + LOSS_REL * e["lambda_dce_bpc"] for r in e["rows"])
  return (Verdict.HOLDS if ok else Verdict.DOES_NOT_HOLD), rule


def _loss_case(diff, ref=3.8, unigram=4.6, se=0.005):
  return {"rows": [{"name": "lambda_dce", "diff": 0.0, "se_diff": 0.0}, {"name": "t_dse", "diff": diff, "se_diff": se}],
          "lambda_dce_bpc": ref, "unigram_bpc": unigram, "windows": 256, "length": 64, "draws": 4,
          "model": "one trained model"}


@claim("radd", "losses", "t-DSE, t-DCE, λ-DCE and k-DCE (AO-ARM) agree on a trained character model",
       "The absorbing-diffusion objectives (DSE, t-DCE, λ-DCE) equal the any-order autoregressive loss in "
       "expectation and upper-bound −log p_θ(x₀)", judge=judge_losses,
       cases=[Case("holds", _loss_case(0.02), Verdict.HOLDS),
              Case("does not hold", _loss_case(0.2), Verdict.DOES_NOT_HOLD),
              Case("boundary: at 4 SE + 1 %", _loss_case(0.058 - 1e-9), Verdict.HOLDS),
              Case("boundary: just past", _loss_case(0.0581), Verdict.DOES_NOT_HOLD),
              Case("inconclusive: not learned", _loss_case(0.02, ref=4.2), Verdict.INCONCLUSIVE)])
def losses(ctx: Context) -> Outcome:
  from experiments.tasks.radd_lm import unigram_bpc
  from models.radd import loss_estimates
  p = LOSS[ctx.variant]
  task, params, evals = _train(ctx)
  cfg = task.config
  w = task.val_windows[: p["windows"]]
  length = w.shape[1]
  to_bpc = 1.0 / (length * math.log(2.0))
  est = loss_estimates(task.log_cond_fn(params), w, jax.random.PRNGKey(1000 * ctx.seed + 1),
                       jax.random.PRNGKey(ctx.seed + 5), draws=p["draws"], vocab_size=task.vocab_size,
                       noise_eps=cfg.noise_eps, t_min=cfg.t_min)
  est = {k: e * to_bpc for k, e in est.items()}   # per-window bpc [W]
  ref = est["lambda_dce"]
  rows = []
  for name, e in est.items():
    d = e - ref
    se_d = d.std(ddof=1) / math.sqrt(len(d)) if name != "lambda_dce" else 0.0
    se = e.std(ddof=1) / math.sqrt(len(e))
    within = abs(d.mean()) <= LOSS_SE_MULT * se_d + LOSS_REL * ref.mean()
    rows.append(dict(name=name, bpc=float(e.mean()), se=float(se), diff=float(d.mean()), se_diff=float(se_d),
                     ok=bool(within)))
    ctx.log(f"losses {name}: {e.mean():.4f} ± {se:.4f} bpc (Δ vs λ-DCE {d.mean():+.4f} ± {se_d:.4f})")
  unigram = unigram_bpc(task.corpus.train, task.vocab_size)
  table = markdown_table(["estimator", "bpc (mean ± SE over windows)", "Δ vs λ-DCE (paired)", "within rule"],
                         [[r["name"], fmt_mean_se(mean=r["bpc"], se=r["se"]), f"{r['diff']:+.4f} ± {r['se_diff']:.4f}",
                           r["ok"]] for r in rows])
  m = cfg.model
  figures = ctx.figures(lambda: _plot_losses(ctx, rows, unigram))
  model = (f"One model trained with {cfg.loss} ({m.num_layers} layers, d={m.d_model}, {cfg.train.total_steps} steps, "
           f"batch {cfg.train.batch_size}; corpus: {task.source}); validation λ-DCE at the end of training "
           f"{evals.get('eval/bpc', float('nan')):.3f} bpc")
  evidence = {"rows": [{k: r[k] for k in ("name", "diff", "se_diff")} for r in rows],
              "lambda_dce_bpc": float(ref.mean()), "unigram_bpc": unigram, "windows": int(len(ref)),
              "length": int(length), "draws": p["draws"], "model": model}
  return Outcome(
      measured={**{f"{r['name']} bpc": fmt_mean_se(mean=r["bpc"], se=r["se"], digits=4) for r in rows},
                "max |Δ| vs λ-DCE (bpc)": max(abs(r["diff"]) for r in rows), "unigram bpc": unigram},
      evidence=evidence, figures=figures, table=table, data={"rows": rows, "unigram_bpc": unigram})


def _plot_losses(ctx, rows, unigram):
  plt = pyplot()
  fig, ax = plt.subplots(figsize=(7.2, 3.8))
  y = np.arange(len(rows))
  ax.errorbar([r["bpc"] for r in rows], y, xerr=[2 * r["se"] for r in rows], fmt="o", capsize=3)
  ax.set_yticks(y, [r["name"] for r in rows])
  ax.axvline(rows[[r["name"] for r in rows].index("lambda_dce")]["bpc"], color="grey", ls=":", lw=0.8)
  ax.set_xlabel("validation bits per character (± 2 SE over windows)")
  ax.set_title(f"Five NLL bounds of one trained RADD model\n(dotted: λ-DCE; unigram entropy {unigram:.2f} bpc)",
               fontsize=10)
  ax.grid(alpha=0.3)
  return ctx.save_figure(fig, "radd_losses.png")
