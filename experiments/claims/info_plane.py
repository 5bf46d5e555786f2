"""Claims of paper 18 (R. Shwartz-Ziv, N. Tishby, "Opening the Black Box of Deep Neural Networks via Information",
2017, arXiv:1703.00810) against the critique of A. M. Saxe et al. ("On the Information Bottleneck Theory of Deep
Learning", ICLR 2018).

compression  the 12-10-7-5-4-3-2 network on the 12-bit task: with tanh the deeper layers' binned I(X;T) peaks and
             then falls (compression) while I(T;Y) stays near H(Y) (the paper); with ReLU, binned the same way
             (30 bins on [0, max]), it does not fall by more than the seed spread (Saxe et al.).
snr_phases   the minibatch-gradient signal-to-noise ratio |mean g| / std g crosses 1 (drift -> diffusion) around
             the epoch where compression starts (the paper).
toy          Saxe's single neuron T = f(wX), X ~ N(0, 1): binned I(X;T) of tanh rises then falls as w grows
             (saturation), that of ReLU never falls.

The two sweeps (tanh and ReLU) use the same key: the same training splits, initial weights and batch orders;
only the activation differs. Both are cached per (variant, seed), so snr_phases reuses the tanh sweep.
"""
from __future__ import annotations

import functools
import math

import jax
import numpy as np

from experiments.claims import Case, Context, Outcome, Verdict, claim, pyplot
from experiments.claims.report import crossing, line_figure, markdown_table
from theory import info_plane as IP

# The reference code's (IDNNs) training: Adam lr 4e-4, batch 512, 80 % training data, 30 bins; the smoke variant
# is the test's SMOKE sweep (tests/theory/test_info_plane.py: one compile shared).
SETTINGS = {
    "smoke": dict(n_seeds=2, n_epochs=6, n_snapshots=3, toy_ws=9),
    "small": dict(n_seeds=20, n_epochs=1500, n_snapshots=80, toy_ws=41),
    "paper": dict(n_seeds=50, n_epochs=8000, n_snapshots=400, toy_ws=81),
}
TRAIN = dict(optimizer="adam", lr=4e-4, batch_size=512, train_fraction=0.8, n_bins=30, relu_binning="max")
LAYERS = (3, 4, 5)          # the deeper hidden layers (widths 5, 4, 3)


@functools.lru_cache(maxsize=4)
def _sweep(variant: str, seed: int, activation: str) -> IP.InfoPlaneSweep:
  p = SETTINGS[variant]
  return IP.info_plane_sweep(jax.random.PRNGKey(seed), p["n_seeds"], activation=activation,
                             n_epochs=p["n_epochs"], n_snapshots=p["n_snapshots"], **TRAIN)


def _settings_text(e: dict) -> str:
  return (f"{e['n_seeds']} seeds, {e['n_epochs']} epochs of Adam (lr {TRAIN['lr']:g}, batch {TRAIN['batch_size']}, "
          f"{TRAIN['train_fraction']:.0%} training data), MI on all 4096 patterns with {TRAIN['n_bins']} bins, "
          f"layers {list(e['layers'])}")


# ---------------------------------------------------------------------------------------------------------
# compression: tanh compresses, ReLU does not

DROP_MIN = 0.5      # bits: tanh's seed-mean (peak - final) I(X;T) in every judged layer
ITY_MIN = 0.9       # bits: tanh's seed-mean final I(T;Y) in every judged layer


def judge_compression(e: dict) -> tuple[Verdict, str]:
  tanh_fail = [l for l, d, t in zip(e["layers"], e["tanh_drop"], e["tanh_final_ity"]) if d < DROP_MIN or t < ITY_MIN]
  relu_fail = [l for l, d, s in zip(e["layers"], e["relu_drop"], e["relu_final_sd"]) if d > s]
  paper = "yes" if not tanh_fail else f"no (layers {tanh_fail})"
  saxe = "yes" if not relu_fail else f"no (layers {relu_fail})"
  rule = (f"holds iff for every layer in {list(e['layers'])} (i) tanh: the seed-mean of (peak − final) binned I(X;T) "
          f"is ≥ {DROP_MIN:g} bit and the seed-mean final I(T;Y) is ≥ {ITY_MIN:g} bit, and (ii) ReLU (30 bins on "
          f"[0, max]): the seed-mean of (peak − final) I(X;T) is ≤ the seed s.d. of its final value. "
          f"{_settings_text(e)}. tanh compresses (the paper): {paper}; ReLU does not (Saxe et al.): {saxe}.")
  return (Verdict.HOLDS if not tanh_fail and not relu_fail else Verdict.DOES_NOT_HOLD), rule


_COMP = dict(layers=[3, 4, 5], n_seeds=20, n_epochs=1500, tanh_drop=[1.2, 1.0, 0.8],
             tanh_final_ity=[0.97, 0.96, 0.95], relu_drop=[0.1, 0.2, 0.1], relu_final_sd=[0.5, 0.4, 0.3])


@claim("info_plane", "compression", "Binned compression of the deeper layers with tanh, none with ReLU",
       "tanh: after a fitting phase the deeper layers' I(X;T) decreases while I(T;Y) stays near H(Y) = 0.999 bit "
       "(the paper); ReLU: binned I(X;T) does not come back down (Saxe et al.)",
       judge=judge_compression,
       cases=[Case("holds", _COMP, Verdict.HOLDS),
              Case("does not hold: tanh drop too small", {**_COMP, "tanh_drop": [1.2, 0.3, 0.8]},
                   Verdict.DOES_NOT_HOLD),
              Case("does not hold: prediction lost", {**_COMP, "tanh_final_ity": [0.97, 0.85, 0.95]},
                   Verdict.DOES_NOT_HOLD),
              Case("does not hold: ReLU compresses too", {**_COMP, "relu_drop": [0.1, 0.9, 0.1]},
                   Verdict.DOES_NOT_HOLD),
              Case("boundary: drop and I(T;Y) at the thresholds, ReLU drop = s.d.",
                   {**_COMP, "tanh_drop": [0.5, 1.0, 0.8], "tanh_final_ity": [0.9, 0.96, 0.95],
                    "relu_drop": [0.5, 0.2, 0.1]}, Verdict.HOLDS),
              Case("boundary: drop just below", {**_COMP, "tanh_drop": [0.4999, 1.0, 0.8]}, Verdict.DOES_NOT_HOLD)])
def compression(ctx: Context) -> Outcome:
  p = SETTINGS[ctx.variant]
  sw = {a: _sweep(ctx.variant, ctx.seed, a) for a in ("tanh", "relu")}
  c = {a: IP.compression(sw[a], LAYERS) for a in sw}
  ev = dict(layers=list(LAYERS), n_seeds=p["n_seeds"], n_epochs=p["n_epochs"],
            tanh_drop=c["tanh"].drop.mean(0).tolist(), tanh_final_ity=c["tanh"].final_ity.mean(0).tolist(),
            relu_drop=c["relu"].drop.mean(0).tolist(), relu_final_sd=_sd(c["relu"].final).tolist(),
            tanh_final_sd=_sd(c["tanh"].final).tolist(), relu_final_ity=c["relu"].final_ity.mean(0).tolist())
  rows = []
  for a in ("tanh", "relu"):
    for k, l in enumerate(LAYERS):
      rows.append([a, l, IP.WIDTHS[l], c[a].peak[:, k].mean(), c[a].final[:, k].mean(), c[a].drop[:, k].mean(),
                   float(_sd(c[a].final)[k]), c[a].final_ity[:, k].mean(), int(np.median(c[a].peak_epoch[:, k])),
                   sw[a].train_acc[:, -1].mean(), sw[a].test_acc[:, -1].mean()])
  table = markdown_table(["activation", "layer", "width", "peak I(X;T)", "final I(X;T)", "peak − final",
                          "s.d. final", "final I(T;Y)", "median peak epoch", "train acc.", "test acc."], rows)
  ep = sw["tanh"].epochs
  figures = ctx.figures(lambda: _plot_planes(ctx, sw),
                        line_figure(ctx, "info_plane_ixt_vs_epoch.png",
                                    f"binned I(X;T) vs epoch (mean ± 1 sd over {p['n_seeds']} seeds)", ep,
                                    [(f"{a} T{l}", sw[a].i_xt[:, :, l - 1].T) for a in ("tanh", "relu")
                                     for l in LAYERS], xlabel="epoch", ylabel="I(X;T) (bits)", logx=True, band="sd"))
  return Outcome(
      measured={"tanh peak − final I(X;T), layers 3/4/5": " / ".join(f"{v:.2f}" for v in ev["tanh_drop"]),
                "tanh final I(T;Y)": " / ".join(f"{v:.3f}" for v in ev["tanh_final_ity"]),
                "ReLU peak − final (seed s.d.)": " / ".join(f"{d:.2f} ({s:.2f})" for d, s in
                                                            zip(ev["relu_drop"], ev["relu_final_sd"])),
                "test accuracy tanh / ReLU": f"{sw['tanh'].test_acc[:, -1].mean():.3f} / "
                                             f"{sw['relu'].test_acc[:, -1].mean():.3f}"},
      evidence=ev, figures=figures, table=table,
      data={"epochs": ep.tolist(), **{f"{a}_mean_ixt": sw[a].i_xt.mean(0).tolist() for a in sw},
            **{f"{a}_mean_ity": sw[a].i_ty.mean(0).tolist() for a in sw}})


def _sd(v):
  return v.std(0, ddof=1) if v.shape[0] > 1 else np.zeros(v.shape[1:])


def _plot_planes(ctx, sw):
  plt = pyplot()
  fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
  for ax, a in zip(axes, ("tanh", "relu")):
    ep = np.log10(sw[a].epochs)
    mx, my = sw[a].i_xt.mean(0), sw[a].i_ty.mean(0)                # [S, L]
    for l in range(mx.shape[1]):
      ax.plot(mx[:, l], my[:, l], "-", color="0.7", lw=0.6)
      sc = ax.scatter(mx[:, l], my[:, l], c=ep, cmap="viridis", s=9)
      ax.annotate(f"T{l + 1}", (mx[-1, l], my[-1, l]), fontsize=7)
    ax.set_xlabel("I(X;T) (bits, binned)")
    ax.set_title(f"{a}: seed-mean information plane")
  axes[0].set_ylabel("I(T;Y) (bits)")
  fig.colorbar(sc, ax=axes, label="log10 epoch")
  path, rel = ctx.figure_path("info_plane_planes.png")
  fig.savefig(path, dpi=120)
  plt.close(fig)
  return rel


# ---------------------------------------------------------------------------------------------------------
# snr_phases: the drift -> diffusion crossing vs the compression onset

SNR_FACTOR = 3.0    # the crossing epoch within this factor of the compression onset


def judge_snr(e: dict) -> tuple[Verdict, str]:
  bad, undefined = [], []
  for l, cr, on in zip(e["layers"], e["crossing_epoch"], e["onset_epoch"]):
    if cr is None or on is None or not (math.isfinite(cr) and math.isfinite(on)):
      undefined.append(l)
    elif not 1 / SNR_FACTOR <= cr / on <= SNR_FACTOR:
      bad.append(l)
  rule = (f"holds iff for every layer in {list(e['layers'])} the epoch where the seed-averaged gradient SNR "
          f"|mean_b g_b| / std_b g_b first falls through 1 after its maximum (drift -> diffusion) is within a factor "
          f"{SNR_FACTOR:g} of the compression onset (the epoch of the seed-mean I(X;T) maximum; defined only where "
          f"that curve then falls by ≥ {DROP_MIN:g} bit); inconclusive where either is undefined and no layer "
          f"fails. tanh, {_settings_text(e)}. Outside the factor: {bad or 'none'}; undefined: {undefined or 'none'}.")
  if bad:
    return Verdict.DOES_NOT_HOLD, rule
  return (Verdict.INCONCLUSIVE if undefined else Verdict.HOLDS), rule


_SNR = dict(layers=[3, 4, 5], n_seeds=20, n_epochs=1500, crossing_epoch=[100.0, 120.0, 90.0],
            onset_epoch=[60.0, 80.0, 200.0])


@claim("info_plane", "snr_phases", "The gradient SNR crosses 1 where compression starts",
       "the minibatch gradients change from a high-SNR drift phase to a low-SNR diffusion phase, and compression "
       "of the representation starts at that transition",
       judge=judge_snr,
       cases=[Case("holds", _SNR, Verdict.HOLDS),
              Case("does not hold: crossing 10x later", {**_SNR, "crossing_epoch": [1000.0, 120.0, 90.0]},
                   Verdict.DOES_NOT_HOLD),
              Case("boundary: exactly 3x", {**_SNR, "crossing_epoch": [180.0, 120.0, 90.0]}, Verdict.HOLDS),
              Case("boundary: just past 3x", {**_SNR, "crossing_epoch": [180.01, 120.0, 90.0]}, Verdict.DOES_NOT_HOLD),
              Case("inconclusive: no compression in one layer", {**_SNR, "onset_epoch": [60.0, None, 200.0]},
                   Verdict.INCONCLUSIVE),
              Case("inconclusive: SNR never falls below 1", {**_SNR, "crossing_epoch": [100.0, 120.0, float("nan")]},
                   Verdict.INCONCLUSIVE)])
def snr_phases(ctx: Context) -> Outcome:
  p = SETTINGS[ctx.variant]
  sw = _sweep(ctx.variant, ctx.seed, "tanh")
  c = IP.compression(sw, LAYERS)
  snr = IP.gradient_snr(sw, LAYERS)                                  # [S, K]
  ep = sw.epochs.astype(np.float64)
  cross, onset, rows = [], [], []
  for k, l in enumerate(LAYERS):
    top = int(np.nanargmax(snr[:, k]))
    cr = crossing(ep[top:], snr[top:, k], 1.0) if snr[top, k] > 1 else float("nan")
    on = float(c.onset_epoch[k]) if c.mean_curve_drop[k] >= DROP_MIN else float("nan")
    cross.append(None if math.isnan(cr) else cr)
    onset.append(None if math.isnan(on) else on)
    rows.append([l, IP.WIDTHS[l], float(np.nanmax(snr[:, k])), cr, float(c.onset_epoch[k]), c.mean_curve_drop[k],
                 cr / on if math.isfinite(cr) and math.isfinite(on) else None])
  table = markdown_table(["layer", "width", "max SNR", "SNR = 1 crossing epoch", "I(X;T) peak epoch (seed mean)",
                          "seed-mean fall after the peak (bits)", "crossing / onset"], rows)
  figures = ctx.figures(line_figure(
      ctx, "info_plane_snr.png", f"gradient SNR |mean g| / std g (tanh, {p['n_seeds']} seeds)", ep,
      [(f"T{l} (I(X;T) peak at epoch {int(c.onset_epoch[k])})", snr[:, k]) for k, l in enumerate(LAYERS)],
      xlabel="epoch", ylabel="SNR", logx=True, logy=True, hlines=[(1.0, "SNR = 1")]))
  fmt = lambda v: "–" if v is None else f"{v:.0f}"
  return Outcome(
      measured={"SNR crossing epoch, layers 3/4/5": " / ".join(fmt(v) for v in cross),
                "compression onset epoch": " / ".join(fmt(v) for v in onset)},
      evidence=dict(layers=list(LAYERS), n_seeds=p["n_seeds"], n_epochs=p["n_epochs"], crossing_epoch=cross,
                    onset_epoch=onset),
      figures=figures, table=table,
      data={"epochs": ep.tolist(), "snr": snr.tolist(),
            "grad_mean": sw.grad_mean.mean(0).tolist(), "grad_std": sw.grad_std.mean(0).tolist()})


# ---------------------------------------------------------------------------------------------------------
# toy: Saxe's single neuron

TOY_RISE_FALL = 0.5   # bits: tanh's binned I(X;T) rises by and falls from its peak by at least this
TOY_RELU_FALL = 0.1   # bits: ReLU's binned I(X;T) never falls below its running maximum by more than this
TOY_N = 4096          # samples of X (the 12-bit data set's size)


def judge_toy(e: dict) -> tuple[Verdict, str]:
  ok_t = e["tanh_peak_minus_first"] >= TOY_RISE_FALL and e["tanh_peak_minus_last"] >= TOY_RISE_FALL
  ok_r = e["relu_max_fall"] <= TOY_RELU_FALL
  rule = (f"holds iff over w in [{e['w_min']:g}, {e['w_max']:g}] ({e['n_w']} log-spaced values; plug-in binned "
          f"H(T) from {e['n']} draws of X ~ N(0, 1), 30 bins on [−1, 1] for tanh, fixed width 2/29 for ReLU) tanh's "
          f"I(X;T) rises by ≥ {TOY_RISE_FALL:g} bit from the smallest w to its peak and falls by ≥ {TOY_RISE_FALL:g} "
          f"bit from the peak to the largest w, and ReLU's never falls more than {TOY_RELU_FALL:g} bit below its "
          f"running maximum. tanh: {'yes' if ok_t else 'no'}; ReLU: {'yes' if ok_r else 'no'}.")
  return (Verdict.HOLDS if ok_t and ok_r else Verdict.DOES_NOT_HOLD), rule


_TOY = dict(w_min=0.01, w_max=1000.0, n_w=41, n=4096, tanh_peak_minus_first=4.0, tanh_peak_minus_last=3.5,
            relu_max_fall=0.02)


@claim("info_plane", "toy", "Saxe's single neuron: binned tanh 'compresses' by saturation, ReLU does not",
       "binned I(X;T) of tanh(wX) rises then falls towards 1 bit as w grows; ReLU(wX) never falls (Saxe et al.)",
       judge=judge_toy,
       cases=[Case("holds", _TOY, Verdict.HOLDS),
              Case("does not hold: tanh never falls", {**_TOY, "tanh_peak_minus_last": 0.1}, Verdict.DOES_NOT_HOLD),
              Case("does not hold: ReLU falls", {**_TOY, "relu_max_fall": 0.8}, Verdict.DOES_NOT_HOLD),
              Case("boundary: at the thresholds", {**_TOY, "tanh_peak_minus_first": 0.5, "tanh_peak_minus_last": 0.5,
                                                   "relu_max_fall": 0.1}, Verdict.HOLDS),
              Case("boundary: ReLU just over", {**_TOY, "relu_max_fall": 0.1001}, Verdict.DOES_NOT_HOLD)])
def toy(ctx: Context) -> Outcome:
  p = SETTINGS[ctx.variant]
  ws = np.geomspace(1e-2, 1e3, p["toy_ws"])
  key = jax.random.fold_in(jax.random.PRNGKey(ctx.seed), 18)
  s = {a: IP.toy_binned_sample(key, ws, a, n=TOY_N) for a in ("tanh", "relu")}
  x = {a: IP.toy_binned_exact(ws, a) for a in ("tanh", "relu")}
  rt, rr = IP.rise_and_fall(s["tanh"]), IP.rise_and_fall(s["relu"])
  ev = dict(w_min=float(ws[0]), w_max=float(ws[-1]), n_w=len(ws), n=TOY_N, tanh_peak_minus_first=rt.peak_minus_first,
            tanh_peak_minus_last=rt.peak_minus_last, relu_max_fall=rr.max_fall)
  idx = np.unique(np.linspace(0, len(ws) - 1, 9).round().astype(int))
  table = markdown_table(["w", "tanh sampled", "tanh exact", "ReLU sampled", "ReLU exact"],
                         [[ws[i], s["tanh"][i], x["tanh"][i], s["relu"][i], x["relu"][i]] for i in idx])
  figures = ctx.figures(line_figure(
      ctx, "info_plane_toy.png", f"single neuron T = f(wX): binned I(X;T) ({TOY_N} draws and the exact value)", ws,
      [("tanh, sampled", s["tanh"]), ("tanh, exact", x["tanh"]), ("ReLU, sampled", s["relu"]),
       ("ReLU, exact", x["relu"])], xlabel="w", ylabel="I(X;T) = H(T) (bits)", logx=True,
      hlines=[(1.0, "1 bit (two saturated bins)")]))
  return Outcome(
      measured={"tanh rise / fall (bits)": f"{rt.peak_minus_first:.2f} / {rt.peak_minus_last:.2f}",
                "ReLU largest fall below running max (bits)": rr.max_fall},
      evidence=ev, figures=figures, table=table,
      data={"w": ws.tolist(), **{f"{a}_sampled": s[a].tolist() for a in s}, **{f"{a}_exact": x[a].tolist() for a in x}})
