"""Claims of paper 17 (Mao, Müller, Fischer & Vechev, "Understanding Certified Training with Interval Bound
Propagation", ICLR 2024).

initialization  at Gaussian initialisation the propagation tightness decays exponentially in depth and
                polynomially in width: log τ is linear in L with slope ½ log(π/(2w)) for DLNs
                ([derived] τ ≈ (π/(2w))^{(L−1)/2}), and ReLU networks (local linearisation) are tighter by
                a factor √2 per hidden layer (half the units active: effective width w/2).
training        IBP training raises tightness by orders of magnitude over standard and PGD training, SABR lies
                between, IBP gives the best IBP-certified accuracy, and its certified accuracy does not fall with
                width (digits MLP 64-w-w-10, ε = 0.05).
"""
from __future__ import annotations

import math

import jax
import numpy as np

from experiments.claims import Case, Context, Outcome, Verdict, claim, pyplot
from experiments.claims.report import markdown_table
from experiments.datasets import load_tabular
from models.ibp_tightness import METHODS, depth_slopes, init_study, initialization_tightness

# ---------------------------------------------------------------------------------------------------
# (a) Tightness at initialisation.

INIT = {
    "smoke": dict(widths=(16,), depths=(2, 3), draws=2, inputs=4, eps=0.05),
    "small": dict(widths=(16, 64, 256, 1024), depths=(2, 3, 4, 5, 6, 7, 8), draws=20, inputs=8, eps=0.05),
    "paper": dict(widths=(16, 64, 256, 1024), depths=(2, 3, 4, 5, 6, 7, 8), draws=20, inputs=64, eps=0.05),
}
SLOPE_TOL = 0.10     # |fitted DLN slope / ½ log(π/(2w)) − 1| <= this at every width
R2_MIN = 0.99        # linearity of the mean log τ in L (DLN) at every width
RATIO_TOL = 0.10     # |exp(slope_ReLU − slope_DLN) / √2 − 1| <= this at every width


def judge_initialization(e: dict) -> tuple[Verdict, str]:
  bad = []
  for w, s, p, r2, ratio in zip(e["widths"], e["dln_slope"], e["predicted_slope"], e["dln_r2"], e["relu_ratio"]):
    if abs(s / p - 1) > SLOPE_TOL or r2 < R2_MIN or abs(ratio / math.sqrt(2) - 1) > RATIO_TOL:
      bad.append(w)
  rule = (f"holds iff at every width w the least-squares slope of log τ against depth L (DLN, mean over "
          f"{e['draws']} draws) is within {SLOPE_TOL:.0%} of ½·log(π/(2w)), the mean log τ is linear in L "
          f"(R² >= {R2_MIN:g}), and the ReLU/DLN tightness ratio per hidden layer exp(slope_ReLU − slope_DLN) is "
          f"within {RATIO_TOL:.0%} of √2. Widths {list(e['widths'])}, depths {list(e['depths'])}, "
          f"{e['inputs']} digits inputs, ε = {e['eps']:g} (clipped to [0, 1]); failing widths: {bad or 'none'}.")
  return (Verdict.DOES_NOT_HOLD if bad else Verdict.HOLDS), rule


def _pred(w):
  return 0.5 * math.log(math.pi / (2 * w))


_INIT = dict(widths=[16, 1024], depths=[2, 3, 4], draws=20, inputs=8, eps=0.05,
             dln_slope=[_pred(16) * 1.02, _pred(1024) * 0.99], predicted_slope=[_pred(16), _pred(1024)],
             dln_r2=[0.999, 0.9999], relu_ratio=[1.40, 1.42])


@claim("ibp_tightness", "initialization", "Tightness at initialisation decays with width and exponentially with depth",
       "log τ linear in depth with slope ½ log(π/(2w)) for deep linear networks; ReLU networks tighter by √2 per "
       "hidden layer",
       judge=judge_initialization,
       cases=[Case("holds", _INIT, Verdict.HOLDS),
              Case("does not hold: slope 20% off", {**_INIT, "dln_slope": [_pred(16) * 1.2, _pred(1024)]},
                   Verdict.DOES_NOT_HOLD),
              Case("does not hold: no ReLU factor", {**_INIT, "relu_ratio": [1.0, 1.42]}, Verdict.DOES_NOT_HOLD),
              Case("does not hold: curved", {**_INIT, "dln_r2": [0.95, 0.9999]}, Verdict.DOES_NOT_HOLD),
              Case("boundary: slope 9.99% off, ratio just under 1.1 √2", {**_INIT, "dln_slope": [
                  _pred(16) * 1.0999, _pred(1024)], "relu_ratio": [1.1 * math.sqrt(2) - 1e-9, 1.42]}, Verdict.HOLDS),
              Case("boundary: R² just below", {**_INIT, "dln_r2": [0.98999, 0.9999]}, Verdict.DOES_NOT_HOLD)])
def initialization(ctx: Context) -> Outcome:
  p = INIT[ctx.variant]
  x, _ = load_tabular("digits")
  x = x[np.random.default_rng(0).permutation(len(x))[:p["inputs"]]]
  taus = init_study(jax.random.PRNGKey(ctx.seed), x, p["widths"], p["depths"], p["draws"], p["eps"])
  rows, ev = [], dict(dln_slope=[], predicted_slope=[], dln_r2=[], relu_ratio=[], relu_slope=[], dln_se=[])
  for i, w in enumerate(p["widths"]):
    sd = depth_slopes(p["depths"], taus["dln"][i])
    sr = depth_slopes(p["depths"], taus["relu"][i])
    ratio = math.exp(sr["slope"] - sd["slope"])
    ev["dln_slope"].append(sd["slope"]); ev["dln_se"].append(sd["se"]); ev["predicted_slope"].append(_pred(w))
    ev["dln_r2"].append(sd["r2"]); ev["relu_slope"].append(sr["slope"]); ev["relu_ratio"].append(ratio)
    rows.append([w, f"{sd['slope']:.4f} ± {sd['se']:.4f}", _pred(w), sd["slope"] / _pred(w), sd["r2"],
                 f"{sr['slope']:.4f} ± {sr['se']:.4f}", 0.5 * math.log(math.pi / w), ratio])
    ctx.log(f"w={w}: DLN slope {sd['slope']:.4f} (formula {_pred(w):.4f}), ReLU slope {sr['slope']:.4f}, "
            f"ratio/layer {ratio:.3f}")
  table = markdown_table(["w", "DLN slope of log τ in L", "½ log(π/(2w))", "fitted / formula", "R²",
                          "ReLU slope", "½ log(π/w)", "ReLU/DLN per layer (√2 = 1.414)"], rows)
  gm = {k: np.exp(np.log(v).mean(-1)) for k, v in taus.items()}                 # [W, L] geometric means
  table += "\n\n" + markdown_table(["w", "L", "τ DLN (geo. mean)", "formula", "τ ReLU local", "(π/w)^((L−1)/2)"],
                                   [[w, L, gm["dln"][i, j], initialization_tightness(w, L), gm["relu"][i, j],
                                     initialization_tightness(w, L, relu=True)]
                                    for i, w in enumerate(p["widths"]) for j, L in enumerate(p["depths"])])
  figures = ctx.figures(lambda: _plot_init(ctx, p, taus))
  worst = max(abs(s / q - 1) for s, q in zip(ev["dln_slope"], ev["predicted_slope"]))
  return Outcome(
      measured={"max |DLN slope / formula − 1|": worst,
                "ReLU/DLN ratio per layer": ", ".join(f"w={w}: {r:.3f}" for w, r in zip(p["widths"], ev["relu_ratio"])),
                "min R²": min(ev["dln_r2"])},
      evidence=dict(widths=list(p["widths"]), depths=list(p["depths"]), draws=p["draws"], inputs=p["inputs"],
                    eps=p["eps"], **ev),
      figures=figures, table=table,
      data={k: v.tolist() for k, v in taus.items()})


def _plot_init(ctx, p, taus):
  plt = pyplot()
  fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
  L = np.asarray(p["depths"])
  for ax, kind, relu in ((axes[0], "dln", False), (axes[1], "relu", True)):
    for i, w in enumerate(p["widths"]):
      lt = np.log10(taus[kind][i])                                  # [L, draws]
      m, s = lt.mean(1), lt.std(1, ddof=1) if lt.shape[1] > 1 else 0 * lt.mean(1)
      (line,) = ax.plot(L, m, "o", label=f"w = {w}")
      ax.fill_between(L, m - s, m + s, color=line.get_color(), alpha=0.2)
      ax.plot(L, [math.log10(initialization_tightness(w, int(d), relu=relu)) for d in L], "--",
              color=line.get_color(), lw=1)
    ax.set_xlabel("depth L (linear layers)")
    ax.set_title(("DLN: formula (π/(2w))^((L−1)/2)" if not relu else "ReLU (local): formula (π/w)^((L−1)/2)")
                 + ", dashed")
    ax.legend(fontsize=7)
  axes[0].set_ylabel("log10 τ (mean ± 1 sd over draws)")
  return ctx.save_figure(fig, "ibp_tightness_init.png")


# ---------------------------------------------------------------------------------------------------
# (b) Certified training: tightness and certified accuracy per method and width.

TRAIN = {
    "smoke": dict(widths=(8,), steps=None),                   # the config's smoke schedule
    "small": dict(widths=(32, 128, 512), steps=400),
    "paper": dict(widths=(128, 512, 1024, 2048), steps=None),
}
TAU_FACTOR = 10.0    # τ_IBP >= this × max(τ_standard, τ_PGD) at every width
WIDTH_DROP = 0.02    # IBP's certified accuracy may drop at most this between consecutive widths


def judge_training(e: dict) -> tuple[Verdict, str]:
  tau, cert = e["tau"], e["certified"]
  fails = []
  for i, w in enumerate(e["widths"]):
    base = max(tau["standard"][i], tau["pgd"][i])
    if tau["ibp"][i] < TAU_FACTOR * base:
      fails.append(f"w={w}: τ_IBP/max(τ_std, τ_PGD) = {tau['ibp'][i] / base:.3g} < {TAU_FACTOR:g}")
    if not base <= tau["sabr"][i] <= tau["ibp"][i]:
      fails.append(f"w={w}: τ_SABR not between")
    if cert["ibp"][i] < max(cert[m][i] for m in cert if m != "ibp"):
      fails.append(f"w={w}: IBP not the best certified accuracy")
  for i in range(1, len(e["widths"])):
    if cert["ibp"][i] < cert["ibp"][i - 1] - WIDTH_DROP:
      fails.append(f"IBP certified accuracy falls from w={e['widths'][i - 1]} to w={e['widths'][i]}")
  rule = (f"holds iff at every width the mean local tightness of IBP-trained nets is >= {TAU_FACTOR:g}× that of "
          f"standard and of PGD training, SABR's lies between max(standard, PGD) and IBP's, IBP has the highest "
          f"IBP-certified accuracy (ε = {e['eps']:g}), and IBP's certified accuracy never drops by more than "
          f"{WIDTH_DROP:g} from one width to the next. Digits MLP 64-w-w-10, widths {list(e['widths'])}, "
          f"{e['steps']} steps of batch {e['batch']}; failures: {'; '.join(fails) or 'none'}.")
  return (Verdict.DOES_NOT_HOLD if fails else Verdict.HOLDS), rule


_TR = dict(widths=[32, 128], eps=0.05, steps=400, batch=128,
           tau={"standard": [0.02, 0.01], "pgd": [0.015, 0.01], "sabr": [0.1, 0.08], "ibp": [0.5, 0.6]},
           certified={"standard": [0.0, 0.0], "pgd": [0.0, 0.0], "sabr": [0.6, 0.7], "ibp": [0.7, 0.8]})


def _tr(**kw):
  out = {k: ({m: list(v) for m, v in val.items()} if isinstance(val, dict) else val) for k, val in _TR.items()}
  for k, v in kw.items():
    for m, vals in v.items():
      out[k][m] = vals
  return out


@claim("ibp_tightness", "training", "IBP training raises tightness; wider IBP nets certify at least as well",
       "τ_IBP ≫ τ_SABR > τ_PGD ≈ τ_standard (orders of magnitude); IBP has the best IBP-certified accuracy, which "
       "rises with width",
       judge=judge_training,
       cases=[Case("holds", _tr(), Verdict.HOLDS),
              Case("does not hold: only 5x tighter", _tr(tau={"ibp": [0.1, 0.6], "sabr": [0.05, 0.08]}),
                   Verdict.DOES_NOT_HOLD),
              Case("does not hold: SABR above IBP", _tr(tau={"sabr": [0.6, 0.08]}), Verdict.DOES_NOT_HOLD),
              Case("does not hold: SABR certifies more", _tr(certified={"sabr": [0.75, 0.7]}), Verdict.DOES_NOT_HOLD),
              Case("does not hold: falls with width", _tr(certified={"ibp": [0.8, 0.7], "sabr": [0.6, 0.6]}),
                   Verdict.DOES_NOT_HOLD),
              Case("boundary: exactly 10x and a 0.02 drop", _tr(tau={"ibp": [0.2, 0.6]},
                                                                certified={"ibp": [0.8, 0.78]}), Verdict.HOLDS)])
def training(ctx: Context) -> Outcome:
  from experiments.configs.ibp_tightness import get_config
  p = TRAIN[ctx.variant]
  metrics = {m: [] for m in METHODS}
  cfg0 = get_config(ctx.variant)
  for w in p["widths"]:
    for m in METHODS:
      cfg = get_config(ctx.variant)
      cfg.model.method, cfg.model.widths = m, (w, w)
      if p["steps"]:
        cfg.train.total_steps = p["steps"]
        cfg.train.checkpoint_every = p["steps"] // 2
      ev = ctx.train(cfg, f"ibp_tightness/{m}_w{w}")[1].eval_metrics
      metrics[m].append({k.split("/", 1)[1]: v for k, v in ev.items()})
      ctx.log(f"w={w} {m:8s} nat {ev['eval/natural_accuracy']:.3f} pgd {ev['eval/pgd_accuracy']:.3f} "
              f"cert {ev['eval/certified_accuracy']:.3f} tau {ev['eval/tightness']:.4f}")
  tau = {m: [r["tightness"] for r in metrics[m]] for m in METHODS}
  cert = {m: [r["certified_accuracy"] for r in metrics[m]] for m in METHODS}
  rows = [[w, m, r["natural_accuracy"], r["pgd_accuracy"], r["certified_accuracy"], r["tightness"],
           10 ** r["log10_tightness"]] for i, w in enumerate(p["widths"]) for m in METHODS
          for r in [metrics[m][i]]]
  table = markdown_table(["w", "method", "natural acc.", "PGD acc.", "IBP-certified acc.", "mean τ (local)",
                          "geo. mean τ"], rows)
  figures = ctx.figures(lambda: _plot_train(ctx, p["widths"], tau, cert))
  steps = p["steps"] or cfg0.train.total_steps
  ratio = [tau["ibp"][i] / max(tau["standard"][i], tau["pgd"][i]) for i in range(len(p["widths"]))]
  return Outcome(
      measured={"τ_IBP / max(τ_std, τ_PGD) per width": ", ".join(f"{r:.1f}" for r in ratio),
                "τ per width (std / PGD / SABR / IBP)": "; ".join(
                    f"{tau['standard'][i]:.3f} / {tau['pgd'][i]:.3f} / {tau['sabr'][i]:.3f} / {tau['ibp'][i]:.3f}"
                    for i in range(len(p["widths"]))),
                "IBP-certified acc. per width (SABR / IBP)": "; ".join(
                    f"{cert['sabr'][i]:.3f} / {cert['ibp'][i]:.3f}" for i in range(len(p["widths"])))},
      evidence=dict(widths=list(p["widths"]), eps=float(cfg0.data.eps_test), steps=steps,
                    batch=cfg0.train.batch_size, tau=tau, certified=cert),
      figures=figures, table=table, data={"metrics": metrics})


def _plot_train(ctx, widths, tau, cert):
  plt = pyplot()
  fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
  for m in METHODS:
    a.plot(widths, tau[m], "o-", label=m)
    b.plot(widths, cert[m], "o-", label=m)
  a.set_yscale("log")
  for ax in (a, b):
    ax.set_xscale("log", base=2)
    ax.set_xlabel("width w (MLP 64-w-w-10)")
    ax.legend(fontsize=7)
  a.set_ylabel("mean local tightness τ (test digits, margins)")
  b.set_ylabel("IBP-certified accuracy")
  a.set_title("Propagation tightness after training")
  b.set_title("IBP-certified accuracy, ε = 0.05")
  return ctx.save_figure(fig, "ibp_tightness_training.png")
