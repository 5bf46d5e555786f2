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
import time

import jax
import jax.numpy as jnp
import numpy as np

from experiments.claims import Context, Outcome, Verdict, claim, pyplot

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
# 0.1–0.3 % of the bound).
LOSS_SE_MULT, LOSS_REL = 4.0, 0.01


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


@claim("radd", "nfe", "Caching the time-independent network: E-NFE = n(1 − (1 − 1/n)^L)",
       "RADD's network has no time input, so its output is reused while x_t is unchanged; with n steps and "
       "L tokens the expected number of function evaluations is n(1 − (1 − 1/n)^L) (≈ 647 for n = L = 1024, "
       "≈ 806 for n = 2048), up to 3.5x faster sampling")
def nfe(ctx: Context) -> Outcome:
  from models.radd import LogLinearNoise, expected_nfe, expected_nfe_uniform, sample, unmask_probs
  p = NFE[ctx.variant]
  task, params, _ = _train(ctx)
  f = task.log_cond_fn(params)
  noise = LogLinearNoise()
  v = task.vocab_size
  rows, cells = [], []
  ok = True
  for length in p["lengths"]:
    for n in p["steps"]:
      run = jax.jit(lambda k, n=n, length=length: sample(f, k, p["batch"], length, v, noise, num_steps=n,
                                                         cache="lazy"))
      res = run(jax.random.PRNGKey(ctx.seed * 1000 + n + 7 * length))
      counts = np.asarray(res.nfe, np.float64)
      mean, se = counts.mean(), counts.std(ddof=1) / math.sqrt(len(counts))
      paper = expected_nfe_uniform(n, length)
      exact = expected_nfe(unmask_probs(noise, n), length, "lazy")
      prev = expected_nfe(unmask_probs(noise, n), length, "previous")
      cell_ok = abs(mean - paper) <= NFE_SE_MULT * se + NFE_REL * paper
      ok &= cell_ok
      cells.append(dict(L=length, n=n, mean=mean, se=se, formula=paper, exact=exact, previous_policy=prev,
                        batch_calls=int(res.calls), ok=bool(cell_ok)))
      ctx.log(f"nfe L={length} n={n}: measured {mean:.2f} ± {se:.2f}, formula {paper:.2f}")
  # identical samples: the uncached sampler on the last cell's batch and key
  length, n = max(p["lengths"]), max(p["steps"])
  key = jax.random.PRNGKey(ctx.seed * 1000 + n + 7 * length)
  plain = jax.jit(lambda k: sample(f, k, p["batch"], length, v, noise, num_steps=n, cache="none"))(key)
  identical = bool(np.array_equal(np.asarray(plain.tokens), np.asarray(res.tokens)))
  toks = {"lazy": np.asarray(res.tokens)}
  timing = {}
  if p["time"]:  # wall clock with one sequence (batch 1: the skip is real), after compile, median of 3
    for cache in ("none", "lazy"):
      run = jax.jit(lambda k, cache=cache: sample(f, k, 1, length, v, noise, num_steps=n, cache=cache))
      jax.block_until_ready(run(key))
      reps = []
      for _ in range(3):
        t0 = time.perf_counter()
        out = jax.block_until_ready(run(key))
        reps.append(time.perf_counter() - t0)
      timing[cache] = (float(np.median(reps)), int(out.nfe[0]))
  ok &= identical
  # Rule: holds iff every (n, L) cell's mean NFE is within NFE_SE_MULT SE + NFE_REL of n(1 − (1 − 1/n)^L)
  # and the cached and uncached samplers give identical samples from the same key.
  verdict = Verdict.HOLDS if ok else Verdict.DOES_NOT_HOLD
  tol = lambda c: NFE_SE_MULT * c["se"] + NFE_REL * c["formula"]
  worst = max(cells, key=lambda c: abs(c["mean"] - c["formula"]) / tol(c))
  big = [c for c in cells if c["L"] == length and c["n"] == n][0]
  sample_text = task.corpus.decode(toks["lazy"][0])
  table = ["| L | n | measured NFE (mean ± SE) | n(1−(1−1/n)^L) | exact (t_end = 1e-5) | official 'previous' policy | "
           "batched forward passes | speed-up n / NFE |", "|---|---|---|---|---|---|---|---|"]
  for c in cells:
    table.append(f"| {c['L']} | {c['n']} | {c['mean']:.2f} ± {c['se']:.2f} | {c['formula']:.2f} | {c['exact']:.2f} | "
                 f"{c['previous_policy']:.2f} | {c['batch_calls']} | {c['n'] / c['mean']:.2f} |")
  table += [""]
  if timing:
    table.append(f"Batch 1, L = {length}, n = {n}: uncached {timing['none'][1]} NFE in {timing['none'][0]:.3f} s, "
                 f"cached {timing['lazy'][1]} NFE in {timing['lazy'][0]:.3f} s (median of 3, after compile; this "
                 "CPU).")
  table += [f"Cached and uncached samples ({p['batch']} sequences, L = {length}, n = {n}, same key) identical: "
            f"{identical}.", "", "A cached sample (Tweedie, trained model):", "", "```", sample_text, "```"]
  figures = ctx.figures(lambda: _plot_nfe(ctx, cells, p))
  return Outcome(
      measured={f"NFE L={length} n={n}": f"{big['mean']:.1f} ± {big['se']:.1f} (formula {big['formula']:.1f})",
                "worst cell |Δ| / allowed": f"{abs(worst['mean'] - worst['formula']) / tol(worst):.2f} "
                                            f"(L={worst['L']}, n={worst['n']}: {worst['mean']:.2f} ± "
                                            f"{worst['se']:.2f} vs {worst['formula']:.2f})",
                "cells within rule": f"{sum(c['ok'] for c in cells)}/{len(cells)}",
                "cached = uncached samples": identical,
                **({"wall s batch 1 (uncached / cached)": f"{timing['none'][0]:.3f} / {timing['lazy'][0]:.3f}"}
                   if timing else {})},
      verdict=verdict,
      rule=(f"holds iff for every (n, L) the mean per-sequence NFE of the cached Tweedie sampler over {p['batch']} "
            f"sequences is within {NFE_SE_MULT:g} SE + {NFE_REL:.1%} of n(1 − (1 − 1/n)^L), and cached and "
            "uncached samples from the same key are identical. Cache policy 'lazy' (the network runs only at steps "
            "where the sequence changes); model: the trained RADD character model of the losses claim."),
      figures=figures, table="\n".join(table), data={"cells": cells, "timing": timing, "sample": sample_text})


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


@claim("radd", "losses", "t-DSE, t-DCE, λ-DCE and k-DCE (AO-ARM) agree on a trained character model",
       "The absorbing-diffusion objectives (DSE, t-DCE, λ-DCE) equal the any-order autoregressive loss in "
       "expectation and upper-bound −log p_θ(x₀)")
def losses(ctx: Context) -> Outcome:
  from models.radd import LOSSES, ao_arm_nll
  from experiments.tasks.radd_lm import sequence_loss
  p = LOSS[ctx.variant]
  task, params, evals = _train(ctx)
  cfg = task.config
  f = task.log_cond_fn(params)
  w = jnp.asarray(task.val_windows[: p["windows"]])
  length = w.shape[1]
  to_bpc = 1.0 / (length * math.log(2.0))
  keys = jax.random.split(jax.random.PRNGKey(1000 * ctx.seed + 1), p["draws"])
  order = jnp.argsort(jax.random.uniform(jax.random.PRNGKey(ctx.seed + 5), w.shape), axis=-1)

  @jax.jit
  def estimates(keys, order):  # one compilation for every estimator; draws vmapped
    out = {name: jax.vmap(lambda k, name=name: sequence_loss(name, f, k, w, task.vocab_size, cfg.noise_eps,
                                                              cfg.t_min))(keys).mean(0) for name in LOSSES}
    out["ao_arm (exact, random order)"] = ao_arm_nll(f, w, order, task.mask_id)
    return out

  est = {k: np.asarray(e, np.float64) * to_bpc for k, e in estimates(keys, order).items()}   # per-window bpc [W]
  ref = est["lambda_dce"]
  rows, ok = [], True
  for name, e in est.items():
    d = e - ref
    se_d = d.std(ddof=1) / math.sqrt(len(d)) if name != "lambda_dce" else 0.0
    se = e.std(ddof=1) / math.sqrt(len(e))
    within = abs(d.mean()) <= LOSS_SE_MULT * se_d + LOSS_REL * ref.mean()
    ok &= bool(within)
    rows.append(dict(name=name, bpc=float(e.mean()), se=float(se), diff=float(d.mean()), se_diff=float(se_d),
                     ok=bool(within)))
    ctx.log(f"losses {name}: {e.mean():.4f} ± {se:.4f} bpc (Δ vs λ-DCE {d.mean():+.4f} ± {se_d:.4f})")
  ids = task.corpus.train
  pu = np.bincount(ids, minlength=task.vocab_size).astype(np.float64)
  pu = pu[pu > 0] / pu.sum()
  unigram = float(-(pu * np.log2(pu)).sum())
  learned = ref.mean() < unigram - 0.5
  # Rule: inconclusive unless the model learned (λ-DCE bpc at least 0.5 below the unigram entropy);
  # then holds iff every estimator's mean bpc is within LOSS_SE_MULT paired SE + LOSS_REL of λ-DCE's.
  verdict = Verdict.INCONCLUSIVE if not learned else (Verdict.HOLDS if ok else Verdict.DOES_NOT_HOLD)
  table = ["| estimator | bpc (mean ± SE over windows) | Δ vs λ-DCE (paired) | within rule |", "|---|---|---|---|"]
  for r in rows:
    table.append(f"| {r['name']} | {r['bpc']:.4f} ± {r['se']:.4f} | {r['diff']:+.4f} ± {r['se_diff']:.4f} | "
                 f"{'yes' if r['ok'] else 'no'} |")
  m = cfg.model
  figures = ctx.figures(lambda: _plot_losses(ctx, rows, unigram))
  return Outcome(
      measured={**{f"{r['name']} bpc": f"{r['bpc']:.3f} ± {r['se']:.3f}" for r in rows},
                "max |Δ| vs λ-DCE (bpc)": max(abs(r["diff"]) for r in rows), "unigram bpc": unigram},
      verdict=verdict,
      rule=(f"holds iff every estimator's mean bpc over {len(ref)} validation windows of {length} characters "
            f"({p['draws']} draws each) is within {LOSS_SE_MULT:g} paired SE + {LOSS_REL:.0%} of the λ-DCE bpc; "
            "inconclusive if λ-DCE is not at least 0.5 bpc below the unigram entropy. One model trained with "
            f"{cfg.loss} ({m.num_layers} layers, d={m.d_model}, {cfg.train.total_steps} steps, batch "
            f"{cfg.train.batch_size}; corpus: {task.source}); validation λ-DCE at the end of training "
            f"{evals.get('eval/bpc', float('nan')):.3f} bpc."),
      figures=figures, table="\n".join(table), data={"rows": rows, "unigram_bpc": unigram})


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
