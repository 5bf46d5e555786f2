"""Claims of paper 15 (Ramsauer et al., "Hopfield Networks is All You Need", ICLR 2021).

retrieval  the modern Hopfield update retrieves a stored pattern in one step far beyond the ~0.14 d
           capacity of the classical binary Hopfield network (large beta), and averages all patterns
           as beta -> 0.
mil        HopfieldPooling on digits-bags multiple-instance learning is on par with attention-MIL
           and not worse than mean or max pooling (test AUC over 5 seeds, model selection on
           validation bags).
"""
from __future__ import annotations

import math

import jax
import numpy as np

from experiments.claims import Case, Context, Outcome, Verdict, claim, pyplot
from experiments.claims.report import crossing, fmt_mean_se, markdown_table, mean_se
from models import hopfield as H
from models.hopfield.experiment import SUCCESS_OVERLAP

# ---------------------------------------------------------------------------------------------------
# (a) Retrieval: modern one-step update vs the classical binary Hopfield network.

RETRIEVAL = {
    # d, N/d grid (modern), N/d grid (classical), betas, queries per point, fraction of flipped bits
    "smoke": dict(d=32, loads=(0.1, 0.5, 2.0), classical_loads=(0.05, 0.3), betas=(0.001, 1.0, 8.0),
                  queries=32, flip=0.1),
    "small": dict(d=128, loads=(0.05, 0.1, 0.14, 0.2, 0.3, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0),
                  classical_loads=(0.03, 0.05, 0.08, 0.1, 0.12, 0.14, 0.17, 0.2, 0.25, 0.3, 0.4, 0.5),
                  betas=(0.001, 0.01, 0.1, 1.0, 8.0, 32.0), queries=256, flip=0.1),
    "paper": dict(d=256, loads=(0.05, 0.1, 0.14, 0.2, 0.3, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0),
                  classical_loads=(0.03, 0.05, 0.08, 0.1, 0.12, 0.14, 0.17, 0.2, 0.25, 0.3, 0.4, 0.5),
                  betas=(0.001, 0.01, 0.1, 1.0, 8.0, 32.0), queries=1024, flip=0.1),
}
COLLAPSE = (0.05, 0.25)   # the classical success crosses 1/2 at a load N/d in this interval
MODERN_MIN = 0.95         # every beta >= 1 retrieves at least this fraction at every load
PARTICIPATION_MIN = 0.9   # smallest beta: participation ratio >= 0.9 N (global averaging)


def judge_retrieval(e: dict) -> tuple[Verdict, str]:
  a = e["classical_capacity"]   # NaN when the success never crosses 1/2 on the grid
  ok = (COLLAPSE[0] <= a <= COLLAPSE[1] and e["modern_min_success"] >= MODERN_MIN
        and e["min_participation_smallest_beta"] >= PARTICIPATION_MIN)
  rule = (f"holds iff the classical network's success crosses 1/2 at N/d in [{COLLAPSE[0]:g}, {COLLAPSE[1]:g}], "
          f"every beta >= 1 retrieves >= {MODERN_MIN:.0%} of queries (sign overlap >= {e['success_overlap']}) at "
          f"every tested N/d up to {e['max_load']:g}, and at the smallest beta the softmax weights' participation "
          f"ratio 1/sum p_i^2 is at least {PARTICIPATION_MIN:g} N at every load (global averaging). Random ±1 "
          f"patterns, d = {e['d']}, {e['queries']} queries per point with {e['flip']:.0%} of bits flipped.")
  return (Verdict.HOLDS if ok else Verdict.DOES_NOT_HOLD), rule


_RET = dict(classical_capacity=0.2, modern_min_success=1.0, min_participation_smallest_beta=0.99,
            success_overlap=SUCCESS_OVERLAP, max_load=16.0, d=128, queries=256, flip=0.1)


@claim("hopfield", "retrieval", "One-step retrieval beyond the classical capacity",
       "large beta: one update retrieves the stored pattern at loads N/d far above the classical "
       "network's ~0.14 d capacity; beta -> 0 gives the mean of all patterns",
       judge=judge_retrieval,
       cases=[Case("holds", _RET, Verdict.HOLDS),
              Case("does not hold: classical never collapses", {**_RET, "classical_capacity": math.nan},
                   Verdict.DOES_NOT_HOLD),
              Case("does not hold: modern fails at high load", {**_RET, "modern_min_success": 0.6},
                   Verdict.DOES_NOT_HOLD),
              Case("boundary: collapse at 0.25 and success 0.95", {**_RET, "classical_capacity": 0.25,
                                                                   "modern_min_success": 0.95}, Verdict.HOLDS),
              Case("boundary: participation just below 0.9 N", {**_RET, "min_participation_smallest_beta": 0.8999},
                   Verdict.DOES_NOT_HOLD)])
def retrieval(ctx: Context) -> Outcome:
  p = RETRIEVAL[ctx.variant]
  d, key = p["d"], jax.random.PRNGKey(ctx.seed)
  modern = {}
  for beta in p["betas"]:
    rows = []
    for load in p["loads"]:
      n = max(2, int(round(load * d)))
      s, err, md = H.modern_retrieval(jax.random.fold_in(key, n), beta, n=n, d=d, n_queries=p["queries"],
                                      flip=p["flip"])
      rows.append((float(s), float(err), float(md)))
    modern[beta] = rows
    ctx.log(f"modern beta={beta:g}: success " + " ".join(f"{r[0]:.2f}" for r in rows))
  classical_s = [float(H.classical_retrieval(jax.random.fold_in(key, 10_000 + i), n=max(2, int(round(load * d))),
                                             d=d, n_queries=p["queries"], flip=p["flip"]))
                 for i, load in enumerate(p["classical_loads"])]
  ctx.log("classical: success " + " ".join(f"{s:.2f}" for s in classical_s))

  alpha_c = crossing(p["classical_loads"], classical_s, 0.5)
  big_betas = [b for b in p["betas"] if b >= 1.0]
  modern_min = min(r[0] for b in big_betas for r in modern[b])
  caps = [crossing(p["loads"], [r[0] for r in modern[b]], 0.5) for b in big_betas]
  modern_cap = float(np.nanmin(caps)) if not np.all(np.isnan(caps)) else float("nan")
  small_beta = min(p["betas"])
  pr_small = min(r[2] for r in modern[small_beta])
  pr_large = max(r[2] * max(2, int(round(l * d))) for b in big_betas for r, l in zip(modern[b], p["loads"]))
  max_load = max(p["loads"])
  figures = ctx.figures(lambda: _plot_retrieval(ctx, p, modern, classical_s))
  table = markdown_table(["N/d"] + [f"modern beta={b:g}: retrieved / participation/N" for b in p["betas"]],
                         [[load] + [f"{modern[b][i][0]:.3f} / {modern[b][i][2]:.3f}" for b in p["betas"]]
                          for i, load in enumerate(p["loads"])])
  table += "\n\n" + markdown_table(["N/d", "classical (Hebbian, asynchronous)"],
                                     [[l, f"{s:.3f}"] for l, s in zip(p["classical_loads"], classical_s)])
  return Outcome(
      measured={"d": d, "classical capacity (success=1/2) N/d": alpha_c,
                f"modern min success, beta>=1, N/d<={max_load:g}": modern_min,
                "modern capacity N/d": modern_cap if np.isfinite(modern_cap) else f"> {max_load:g}",
                f"beta={small_beta:g} min participation / N": pr_small,
                "beta>=1 max participation (patterns)": pr_large},
      evidence=dict(classical_capacity=float(alpha_c), modern_min_success=float(modern_min),
                    min_participation_smallest_beta=float(pr_small), success_overlap=SUCCESS_OVERLAP,
                    max_load=float(max_load), d=d, queries=p["queries"], flip=p["flip"]),
      figures=figures, table=table,
      data={"loads": p["loads"], "classical_loads": p["classical_loads"],
            "modern": {str(b): v for b, v in modern.items()}, "classical": classical_s})


def _plot_retrieval(ctx, p, modern, classical_s):
  plt = pyplot()
  fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
  for b in p["betas"]:
    ax.plot(p["loads"], [r[0] for r in modern[b]], "o-", label=f"modern, β={b:g}", alpha=0.8)
    ax2.plot(p["loads"], [max(r[1], 1e-12) for r in modern[b]], "o-", label=f"β={b:g}")
  ax.plot(p["classical_loads"], classical_s, "ks--", label="classical (Hebbian)")
  ax.axvline(0.138, color="grey", lw=0.8, ls=":", label="0.138 d")
  for a in (ax, ax2):
    a.set_xscale("log")
    a.set_xlabel("stored patterns per dimension N/d")
  ax.set_ylabel(f"fraction retrieved (sign overlap ≥ {SUCCESS_OVERLAP})")
  ax.set_title(f"One-step retrieval, d = {p['d']}, {p['flip']:.0%} bits flipped")
  ax.legend(fontsize=7)
  ax2.set_yscale("log")
  ax2.set_ylabel("one-step error ‖ξ_new − x‖ / √d (floored at 1e-12)")
  ax2.set_title("Modern update: distance to the stored pattern")
  ax2.legend(fontsize=7)
  return ctx.save_figure(fig, "hopfield_retrieval.png", dpi=120)


# ---------------------------------------------------------------------------------------------------
# (b) Multiple-instance learning on digits-bags.

MIL_SEEDS = {"smoke": 1, "small": 5, "paper": 5}
# Model selection as in the paper's protocol (hyperparameters chosen on validation data), with an equal
# budget of two candidates per pooling: HopfieldPooling with / without LayerNorm on the stored patterns
# and projections (the official layer's default is with); the baselines with / without dropout.
MIL_CANDIDATES = {
    "hopfield": ({"hopfield_normalize": True}, {"hopfield_normalize": False}),
    "mean": ({"dropout": 0.0}, {"dropout": 0.1}),
    "max": ({"dropout": 0.0}, {"dropout": 0.1}),
    "attention": ({"dropout": 0.0}, {"dropout": 0.1}),
}


def _cand_name(c):
  return ",".join(f"{k}={v}" for k, v in c.items())


AUC_FLOOR = 0.9         # HopfieldPooling's mean test AUC must reach this
WORSE_MARGIN = 0.01     # worse than a baseline: paired difference below -max(2 SE, this)
SATURATED = 0.995       # every pooling at or above this mean AUC: the task cannot separate them


def judge_mil(e: dict) -> tuple[Verdict, str]:
  auc, dm, ds = e["auc_mean"], e["diff_mean"], e["diff_se"]
  worse = [p for p in dm if dm[p] < -max(2 * ds[p], WORSE_MARGIN)]
  beats_mean = dm["mean"] > 2 * ds["mean"]
  saturated = all(v >= SATURATED for v in auc.values())
  if worse or auc["hopfield"] < AUC_FLOOR:
    verdict = Verdict.DOES_NOT_HOLD
  elif saturated or e["n_seeds"] < 2 or not beats_mean:
    verdict = Verdict.INCONCLUSIVE
  else:
    verdict = Verdict.HOLDS
  rule = (f"does not hold if HopfieldPooling's test AUC is below {AUC_FLOOR:g} or below some baseline's by more "
          f"than max(2 SE, {WORSE_MARGIN:g}) (paired over seeds); inconclusive if all methods reach AUC >= "
          f"{SATURATED:g}, only one seed ran, or HopfieldPooling does not beat mean pooling by more than 2 SE; holds "
          f"otherwise. {e['n_seeds']} seed(s); each seed draws its own train / validation / test image pools and "
          f"bags; each pooling picks one of two candidates by validation AUC ({e['candidates']}).")
  return verdict, rule


_MIL = dict(auc_mean={"hopfield": 0.98, "mean": 0.92, "max": 0.985, "attention": 0.976},
            diff_mean={"mean": 0.06, "max": -0.005, "attention": 0.004},
            diff_se={"mean": 0.01, "max": 0.004, "attention": 0.005}, n_seeds=5, candidates="two per pooling")


def _mil_case(**kw):
  out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in _MIL.items()}
  for k, v in kw.items():
    out[k] = {**out[k], **v} if isinstance(v, dict) else v
  return out


@claim("hopfield", "mil", "HopfieldPooling for multiple-instance learning (digits-bags)",
       "HopfieldPooling ≈ attention-MIL: not below any baseline pooling, and above mean pooling (test AUC)",
       judge=judge_mil,
       cases=[Case("holds", _mil_case(), Verdict.HOLDS),
              Case("does not hold: below max pooling", _mil_case(diff_mean={"max": -0.03}), Verdict.DOES_NOT_HOLD),
              Case("does not hold: AUC below 0.9", _mil_case(auc_mean={"hopfield": 0.85}), Verdict.DOES_NOT_HOLD),
              Case("inconclusive: one seed", _mil_case(n_seeds=1), Verdict.INCONCLUSIVE),
              Case("inconclusive: saturated", _mil_case(auc_mean={"hopfield": 0.999, "mean": 0.996, "max": 0.998,
                                                                  "attention": 0.997}), Verdict.INCONCLUSIVE),
              Case("boundary: exactly 0.01 below max (2 SE smaller)", _mil_case(diff_mean={"max": -0.01}),
                   Verdict.HOLDS),
              Case("boundary: beats mean by exactly 2 SE", _mil_case(diff_mean={"mean": 0.02}),
                   Verdict.INCONCLUSIVE)])
def mil(ctx: Context) -> Outcome:
  from experiments.configs.hopfield import get_config

  n_seeds = MIL_SEEDS[ctx.variant]
  poolings = tuple(MIL_CANDIDATES)
  auc = {p: [] for p in poolings}
  chosen = {p: [] for p in poolings}
  for seed in range(n_seeds):
    for pooling in poolings:
      best = None
      for cand in MIL_CANDIDATES[pooling]:
        cfg = get_config(ctx.variant)
        cfg.model.pooling, cfg.seed = pooling, seed
        cfg.model.update(cand)
        cfg.train.tensorboard = False
        ev = ctx.train(cfg, f"hopfield_mil/{pooling}_{_cand_name(cand)}_seed{seed}")[1].eval_metrics
        if best is None or ev["eval/val_auc"] > best[0]:
          best = (ev["eval/val_auc"], ev["eval/auc"], cand)
      auc[pooling].append(float(best[1]))
      chosen[pooling].append(_cand_name(best[2]))
      ctx.log(f"seed {seed} {pooling:9s} val AUC {best[0]:.4f} -> test AUC {best[1]:.4f} ({chosen[pooling][-1]})")
  stats = {p: mean_se(v) for p, v in auc.items()}
  # paired differences (same images and bags per seed for every pooling)
  diffs = {p: mean_se(np.subtract(auc["hopfield"], auc[p])) for p in poolings if p != "hopfield"}
  cells = [[p, fmt_mean_se(auc[p]), ", ".join(f"{a:.3f}" for a in auc[p]),
            None if p == "hopfield" else f"{diffs[p][0]:+.4f} ± {diffs[p][1]:.4f}", "; ".join(chosen[p])]
           for p in poolings]
  table = markdown_table(["pooling", "test AUC (mean ± SE)", "per seed", "Hopfield − this (paired)",
                          "selected on validation"], cells)
  figures = ctx.figures(lambda: _plot_mil(ctx, auc))
  candidates = "; ".join(f"{p}: " + " vs ".join(_cand_name(c) for c in cs) for p, cs in MIL_CANDIDATES.items())
  return Outcome(
      measured={f"AUC {p}": f"{stats[p][0]:.3f} ± {stats[p][1]:.3f}" for p in poolings},
      evidence=dict(auc_mean={p: float(m) for p, (m, _) in stats.items()},
                    diff_mean={p: float(m) for p, (m, _) in diffs.items()},
                    diff_se={p: float(se) for p, (_, se) in diffs.items()}, n_seeds=n_seeds, candidates=candidates),
      figures=figures, table=table, data={"auc": auc, "selected": chosen})


def _plot_mil(ctx, auc):
  plt = pyplot()
  fig, ax = plt.subplots(figsize=(5.2, 3.6))
  names = list(auc)
  for i, p in enumerate(names):
    ax.scatter(np.full(len(auc[p]), i), auc[p], color="C0", alpha=0.6)
    ax.errorbar(i + 0.15, np.mean(auc[p]), yerr=np.std(auc[p], ddof=1) if len(auc[p]) > 1 else 0,
                fmt="D", color="C3", capsize=3)
  ax.set_xticks(range(len(names)), names)
  ax.set_ylabel("test AUC")
  ax.set_title("Digits-bags MIL (dots: seeds; diamonds: mean ± 1 sd)")
  return ctx.save_figure(fig, "hopfield_mil_auc.png", dpi=120)
