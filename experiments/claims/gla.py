"""Claims of paper 07 (Yang, Wang, Shen, Panda, Kim, "Gated Linear Attention Transformers with
Hardware-Efficient Training", ICML 2024, arXiv:2312.06635).

lm      GLA is competitive with a softmax-attention Transformer++ (same blocks, width, depth and step
        budget; near-equal parameters) on character-level language modelling of Shakespeare:
        validation bits per character within a stated margin; tokens/s of both are reported.
decode  GLA's recurrent form (per-layer [B, H, K, V] states, one token at a time) generates text whose
        logits equal the parallel (chunkwise) forward on the same sequence, at every position.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import time

import jax
import numpy as np

from experiments.claims import Case, Context, Outcome, Verdict, claim, pyplot
from experiments.claims.report import markdown_table

# Rule of the lm claim: GLA's final validation bpc at most (1 + LM_REL_MARGIN) x the softmax baseline's,
# once both learned (LEARNED_MARGIN bpc below the unigram entropy) at near-equal size (PARAM_GAP).
# The paper's 340M models differ by 0.9 % in Wikitext perplexity (28.65 vs 28.39); 5 % leaves room for
# the noise of a tiny CPU-sized run while still failing a model that is clearly worse.
LM_REL_MARGIN = 0.05
LEARNED_MARGIN, PARAM_GAP = 0.5, 0.02
# Rule of the decode claim: max |recurrent - parallel| over all logits below this (float32 rounding of
# chunked vs step-by-step sums is ~1e-6 relative on O(10) logits).
DECODE_TOL = 1e-3
DECODE = {"smoke": dict(prompt=16, new=16, batch=2), "small": dict(prompt=64, new=192, batch=4),
          "paper": dict(prompt=256, new=768, batch=8)}


def _config(variant: str, mixer: str):
  from experiments.configs.gla import get_config
  cfg = get_config(variant)
  cfg.model.mixer = mixer
  cfg.train.tensorboard = False
  return cfg


def _build(cfg):
  """Validates and builds the task directly (independent of the task registry line)."""
  from experiments.configs.common import validate_train
  from experiments.tasks.gla_lm import GLALM
  validate_train(cfg)
  GLALM.validate(cfg)
  return GLALM(cfg)


def _train(ctx: Context, mixer: str, log=None):
  """Trains (or, if the scratch run is complete, reloads) one model; returns (task, result, workdir)."""
  cfg = _config(ctx.variant, mixer)
  cfg.seed = ctx.seed
  t0 = time.perf_counter()
  task, res, workdir = ctx.train(cfg, f"gla_lm/{mixer}_seed{ctx.seed}", task=_build(cfg), log=log)
  wall = time.perf_counter() - t0
  timing_path = os.path.join(workdir, "claim_timing.json")
  if res.start_step == 0:  # a fresh run: keep its timing for later re-uses of the finished run
    with open(timing_path, "w", encoding="utf-8") as f:
      json.dump({"steps_per_second": res.steps_per_second, "compile_seconds": res.compile_seconds,
                 "wall_s": wall}, f)
  elif os.path.exists(timing_path):  # reloaded (or resumed): report the timing of the original run
    with open(timing_path, encoding="utf-8") as f:
      t = json.load(f)
    res = dataclasses.replace(res, steps_per_second=t["steps_per_second"], compile_seconds=t["compile_seconds"])
    wall = t["wall_s"]
  return task, res, workdir, wall


def judge_lm(e: dict) -> tuple[Verdict, str]:
  """Inconclusive unless both learned at near-equal size; then holds iff bpc(GLA) <= (1 + margin) bpc(softmax)."""
  rule = (f"holds iff bpc(GLA) <= {1 + LM_REL_MARGIN:g} x bpc(softmax) on the validation split; inconclusive "
          f"if either model's bpc is not at least {LEARNED_MARGIN:g} below the training split's unigram entropy or "
          f"the parameter counts differ by more than {PARAM_GAP:.0%}. {e['setup']}")
  g, s = e["gla_bpc"], e["softmax_bpc"]
  if not max(g, s) < e["unigram_bpc"] - LEARNED_MARGIN or e["param_gap"] > PARAM_GAP:
    return Verdict.INCONCLUSIVE, rule
  return (Verdict.HOLDS if g <= (1 + LM_REL_MARGIN) * s else Verdict.DOES_NOT_HOLD), rule


def _lm_case(g, s=2.8, unigram=3.6, gap=0.08 / 12.2):
  return {"gla_bpc": g, "softmax_bpc": s, "unigram_bpc": unigram, "param_gap": gap, "setup": "char-level Shakespeare"}


@claim("gla", "lm", "GLA vs softmax attention on character-level Shakespeare",
       "GLA Transformers are competitive with a LLaMA-style Transformer++ at equal size and tokens "
       "(340M/15B: Wiki ppl 28.65 vs 28.39; 1.3B/100B: 17.22 vs 16.85)", judge=judge_lm,
       cases=[Case("holds", _lm_case(2.865, 2.805), Verdict.HOLDS),
              Case("does not hold", _lm_case(3.0, 2.8), Verdict.DOES_NOT_HOLD),
              Case("boundary: exactly 5 % worse", _lm_case(2.94, 2.8), Verdict.HOLDS),
              Case("boundary: just past 5 %", _lm_case(2.9401, 2.8), Verdict.DOES_NOT_HOLD),
              Case("inconclusive: not learned", _lm_case(3.2, 3.15), Verdict.INCONCLUSIVE),
              Case("inconclusive: sizes differ", _lm_case(2.865, 2.805, gap=0.03), Verdict.INCONCLUSIVE)])
def lm(ctx: Context) -> Outcome:
  from experiments import train_lib
  runs = {}
  for mixer in ("gla", "softmax"):
    task, res, workdir, wall = _train(ctx, mixer)
    cfg = task.config
    curve = [(r["step"], r["eval/bpc"]) for r in train_lib.read_metrics(workdir) if "eval/bpc" in r]
    tokens_per_step = cfg.train.batch_size * cfg.data.seq_len
    runs[mixer] = dict(
        bpc=res.eval_metrics["eval/bpc"], curve=curve, params=train_lib.num_params(res.state.params),
        tokens_per_s=res.steps_per_second * tokens_per_step if math.isfinite(res.steps_per_second) else float("nan"),
        compile_s=res.compile_seconds, wall_s=wall, tokens=cfg.train.total_steps * tokens_per_step,
        source=task.source)
    ctx.log(f"{mixer}: val bpc {runs[mixer]['bpc']:.4f}, {runs[mixer]['params']:,} params, "
            f"{runs[mixer]['tokens_per_s']:.0f} tokens/s")
  from experiments.tasks.radd_lm import unigram_bpc
  cfg = task.config
  unigram = unigram_bpc(task.corpus.train, task.corpus.vocab_size)
  g, s = runs["gla"]["bpc"], runs["softmax"]["bpc"]
  param_gap = abs(runs["gla"]["params"] - runs["softmax"]["params"]) / runs["softmax"]["params"]
  figures = ctx.figures(lambda: _plot_curves(ctx, runs, unigram, cfg))
  table = markdown_table(["model", "parameters", "val bpc (final)", "tokens/s (train step, after compile)",
                          "compile s", "wall s"],
                         [[mixer, f"{r['params']:,}", r["bpc"], round(r["tokens_per_s"]), round(r["compile_s"], 1),
                           round(r["wall_s"], 1)] for mixer, r in runs.items()])
  table += "\n\n" + markdown_table(["step"] + [f"{m} val bpc" for m in runs],
                                    [[st, a, b] for (st, a), (_, b) in zip(runs["gla"]["curve"],
                                                                           runs["softmax"]["curve"])])
  m = cfg.model
  return Outcome(
      measured={"GLA val bpc": g, "softmax val bpc": s, "GLA / softmax": g / s,
                "GLA tokens/s": runs["gla"]["tokens_per_s"], "softmax tokens/s": runs["softmax"]["tokens_per_s"],
                "parameters (GLA / softmax)": f"{runs['gla']['params']:,} / {runs['softmax']['params']:,}",
                "unigram bpc": unigram},
      evidence={"gla_bpc": g, "softmax_bpc": s, "unigram_bpc": unigram, "param_gap": param_gap,
                "setup": (f"Corpus: {runs['gla']['source']}; d={m.d_model}, {m.num_layers} layers, {m.num_heads} "
                          f"heads, T={cfg.data.seq_len}, batch {cfg.train.batch_size}, {cfg.train.total_steps} steps "
                          f"({runs['gla']['tokens']:,} training characters), seed {ctx.seed}; tokens/s on this "
                          "host's CPU, one device.")},
      figures=figures, table=table,
      data={k: {kk: vv for kk, vv in r.items()} for k, r in runs.items()} | {"unigram_bpc": unigram})


def _plot_curves(ctx, runs, unigram, cfg):
  plt = pyplot()
  fig, ax = plt.subplots(figsize=(6.4, 4.2))
  tps = cfg.train.batch_size * cfg.data.seq_len
  for mixer, style in (("gla", "o-"), ("softmax", "s--")):
    st, bpc = zip(*runs[mixer]["curve"])
    label = "GLA" if mixer == "gla" else "softmax (Transformer++)"
    ax.plot(np.asarray(st) * tps / 1e3, bpc, style, label=f"{label}, {runs[mixer]['params'] / 1e3:.0f}k params")
  ax.axhline(unigram, color="grey", lw=0.8, ls=":", label=f"unigram entropy {unigram:.2f}")
  ax.set_xlabel("training characters (thousands)")
  ax.set_ylabel("validation bits per character")
  ax.set_title(f"Char-level LM, d={cfg.model.d_model}, {cfg.model.num_layers} layers, T={cfg.data.seq_len}")
  ax.legend(fontsize=8)
  ax.grid(alpha=0.3)
  return ctx.save_figure(fig, "gla_lm_bpc.png", dpi=120)


def judge_decode(e: dict) -> tuple[Verdict, str]:
  """Holds iff the largest |recurrent − parallel| logit difference is at most DECODE_TOL."""
  rule = (f"holds iff max |recurrent - parallel| <= {DECODE_TOL:g} over all {e['positions']} positions and "
          f"{e['vocab']} logits; the model is the lm claim's trained GLA ({e['variant']}); generation samples "
          f"{e['new']} characters after a {e['prompt']}-character validation prompt, then the parallel forward is "
          "run on the generated sequence.")
  return (Verdict.HOLDS if e["max_abs_diff"] <= DECODE_TOL else Verdict.DOES_NOT_HOLD), rule


def _decode_case(d):
  return {"max_abs_diff": d, "positions": 1020, "vocab": 66, "variant": "small", "new": 192, "prompt": 64}


@claim("gla", "decode", "Recurrent generation equals the parallel forward",
       "GLA is an RNN with a matrix-valued state: constant-memory recurrent decoding gives the same outputs "
       "as the parallel (chunkwise) form", judge=judge_decode,
       cases=[Case("holds", _decode_case(3.8e-6), Verdict.HOLDS),
              Case("does not hold", _decode_case(0.3), Verdict.DOES_NOT_HOLD),
              Case("boundary: at the tolerance", _decode_case(DECODE_TOL), Verdict.HOLDS),
              Case("boundary: just past", _decode_case(1.001e-3), Verdict.DOES_NOT_HOLD)])
def decode(ctx: Context) -> Outcome:
  from experiments.tasks.gla_lm import recurrent_vs_parallel
  task, res, _, _ = _train(ctx, "gla")  # reuses the lm claim's finished run when present
  p = DECODE[ctx.variant]
  corpus = task.corpus
  prompt_len, new = p["prompt"], p["new"]
  starts = np.linspace(0, len(corpus.val) - prompt_len - 1, p["batch"]).astype(int)
  prompt = np.stack([corpus.val[s:s + prompt_len] for s in starts])
  r = recurrent_vs_parallel(task.model, res.state.params, prompt, new, jax.random.PRNGKey(ctx.seed))
  diff, steps = r["max_abs_diff"], r["steps"]
  sample = corpus.decode(r["tokens"][0])
  ctx.log(f"decode: max |recurrent - parallel| = {diff:.3g} (logit scale {r['max_abs_logit']:.3g}), argmax "
          f"agreement {r['argmax_agreement']:.4f}")
  table = ["Sample (row 0: validation prompt, then sampled at temperature 1 by the recurrent form):", "",
           "```", sample[:prompt_len] + "⟫" + sample[prompt_len:], "```"]
  return Outcome(
      measured={"max |Δ logit|": diff, "max |logit|": r["max_abs_logit"], "argmax agreement": r["argmax_agreement"],
                "positions compared": p["batch"] * steps,
                "recurrent decode tokens/s": p["batch"] * steps / r["decode_s"]},
      evidence={"max_abs_diff": diff, "positions": p["batch"] * steps, "vocab": corpus.vocab_size,
                "variant": ctx.variant, "new": new, "prompt": prompt_len},
      figures=ctx.figures(lambda: _plot_decode(ctx, r)),
      table="\n".join(table),
      data={"max_abs_diff": diff, "argmax_agreement": r["argmax_agreement"], "sample": sample})


def _plot_decode(ctx, r):
  """|recurrent − parallel| per position (max over batch and vocabulary)."""
  plt = pyplot()
  per = np.asarray(r["per_position"])
  fig, ax = plt.subplots(figsize=(6.4, 3.6))
  ax.semilogy(np.arange(len(per)), np.maximum(per, 1e-12), lw=1)
  ax.axhline(DECODE_TOL, color="k", ls="--", lw=0.8, label=f"tolerance {DECODE_TOL:g}")
  ax.set_xlabel("position")
  ax.set_ylabel("max |recurrent − parallel| logit")
  ax.set_title("GLA: recurrent decoding vs the parallel form", fontsize=10)
  ax.legend(fontsize=8)
  return ctx.save_figure(fig, "gla_decode_diff.png")
