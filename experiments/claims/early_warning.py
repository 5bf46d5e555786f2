"""Claims of paper 20 (C. Boettiger, N. Ross, A. Hastings, "Early warning signals: the charted and uncharted
territories", Theoretical Ecology 6:255–264, 2013, arXiv:1305.6700).

ramp         on a ramp toward May's fold, Kendall τ of rolling variance and lag-1 autocorrelation is high, but
             under a constant-parameter null P(τ > 0) is near ½ (the coin-flip problem): only a null
             distribution (ROC / surrogates) makes τ a test; the textbook τ p-value rejects far too often.
likelihood   the model-based statistic LR = 2(ℓ_LSN − ℓ_OU) compared with τ(variance) and τ(AC1) by ROC AUC on
             the same replicates; parametric bootstrap ROC for one series.
prosecutor   selecting runs *because* they shifted (noise-induced escapes at constant parameters) makes τ
             positive by chance (the prosecutor's fallacy).
uncharted    a regime shift with no critical slowing down: rising noise at fixed parameters drives escapes;
             variance rises but the autocorrelation (the slowing-down hallmark) does not.
"""
from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from experiments.claims import Case, Context, Outcome, Verdict, claim, pyplot

# May's grazing model, r = 1, K = 10, h = 1 (upper fold at c ≈ 2.604), additive noise, Euler dt = 0.1,
# recorded every time unit; Gaussian detrending bw = 0.2; rolling window 50 % (the paper notes' protocol).
SETTINGS = {
    # smoke reuses one series shape [24, 200] everywhere so the indicators compile once
    "smoke": dict(reps=24, n_rec=200, lr_reps=8, n_iter=60, n_boot=0, surr_reps=0, n_surr=19,
                  pf_reps=24, pf_T=1000, pf_L=200, un_reps=24, un_obs=200, un_tail=100, un_hold=100, pf_lr=False,
                  substeps=1),
    "small": dict(reps=200, n_rec=1000, lr_reps=100, n_iter=400, n_boot=100, surr_reps=40, n_surr=99,
                  pf_reps=600, pf_T=2000, pf_L=200, un_reps=200, un_obs=1000, un_tail=500, un_hold=1000, pf_lr=True,
                  substeps=4),
    "paper": dict(reps=1000, n_rec=1000, lr_reps=500, n_iter=600, n_boot=500, surr_reps=200, n_surr=199,
                  pf_reps=2000, pf_T=4000, pf_L=200, un_reps=1000, un_obs=1000, un_tail=500, un_hold=1000, pf_lr=True,
                  substeps=4),
}
C0, C1, SIGMA, DT, REC = 1.8, 2.55, 0.15, 0.1, 10
BW, WIN = 0.2, 0.5
PF_C, PF_SIGMA = 2.4, 0.4                   # prosecutor: bistable, constant, occasional escapes
UN_C, UN_SIG0, UN_SIG1 = 2.3, 0.05, 0.7     # uncharted: fixed c, noise ramp over the whole run
PF_GAPS = (0, 5, 20)                        # prosecutor: samples left out between the window and the crossing


def _taus(x, rows: int | None = None):
  """Kendall τ of every indicator; ``rows`` pads the batch to a fixed size (one compilation per claim)."""
  from theory import early_warning as E
  x = np.asarray(x)
  n = x.shape[0]
  if rows is not None and n < rows:
    x = np.concatenate([x, np.repeat(x[:1], rows - n, 0)], 0)
  t = E.indicator_taus(jnp.asarray(x), WIN, bandwidth=BW)
  return E.Indicators(*(np.asarray(v)[:n] for v in t))


@functools.lru_cache(maxsize=4)
def _ramp_data(variant: str, seed: int):
  from theory import early_warning as E
  p = SETTINGS[variant]
  ramp, null = E.ramp_data(jax.random.fold_in(jax.random.key(seed), 20), p["n_rec"], p["reps"], c0=C0, c1=C1,
                           sigma=SIGMA, dt=DT, record_every=REC)
  return ramp, null, _taus(ramp), _taus(null)


RAMP_MEDIAN_MIN = 0.5   # median τ of variance and AC1 on the ramp
RAMP_AUC_MIN = 0.8      # ROC AUC ramp vs null
NULL_SE = 3.0           # null P(τ > 0) within this many binomial s.e. of ½


def judge_ramp(e: dict) -> tuple[Verdict, str]:
  se_half = 0.5 / math.sqrt(e["reps"])
  checks = {"median τ(var) ≥ 0.5": e["median_tau_var"] >= RAMP_MEDIAN_MIN,
            "median τ(AC1) ≥ 0.5": e["median_tau_ac1"] >= RAMP_MEDIAN_MIN,
            "null P(τ_var > 0) ≈ ½": abs(e["null_pos_var"] - 0.5) <= NULL_SE * se_half,
            "null P(τ_AC1 > 0) ≈ ½": abs(e["null_pos_ac1"] - 0.5) <= NULL_SE * se_half,
            "AUC(var) ≥ 0.8": e["auc_var"] >= RAMP_AUC_MIN, "AUC(AC1) ≥ 0.8": e["auc_ac1"] >= RAMP_AUC_MIN}
  rule = (f"holds iff on the ramp the median Kendall τ of rolling variance and of AC1 are ≥ {RAMP_MEDIAN_MIN:g}, "
          f"under the null P(τ > 0) is within {NULL_SE:g} binomial s.e. of ½ for both, and ROC AUC (ramp vs null τ) "
          f"is ≥ {RAMP_AUC_MIN:g} for both. May's model r=1, K=10, h=1, σ={SIGMA}, Euler dt={DT}, {e['n_rec']} "
          f"unit-time samples, c: {C0} → {C1} (fold 2.604) vs c = {C0}; Gaussian detrending bw={BW}, window "
          f"{WIN:.0%}; {e['reps']} replicates each. Checks: "
          + "; ".join(f"{k}: {'yes' if v else 'no'}" for k, v in checks.items()))
  return (Verdict.HOLDS if all(checks.values()) else Verdict.DOES_NOT_HOLD), rule


# 200 replicates: binomial s.e. of ½ is 0.0354, so the null band is ½ ± 0.106
_RAMP = dict(median_tau_var=0.86, median_tau_ac1=0.82, null_pos_var=0.49, null_pos_ac1=0.5, auc_var=0.98,
             auc_ac1=0.97, reps=200, n_rec=1000)


@claim("early_warning", "ramp", "Kendall τ on a ramp toward a fold vs the constant-parameter null",
       "τ of rolling variance and AC1 high before a fold (median ≈ 0.8), but under the null P(τ > 0) ≈ ½ "
       "(a coin flip): only a null distribution (ROC, surrogates) makes τ a test",
       judge=judge_ramp,
       cases=[Case("holds", _RAMP, Verdict.HOLDS),
              Case("does not hold: the null leans positive", {**_RAMP, "null_pos_var": 0.7}, Verdict.DOES_NOT_HOLD),
              Case("does not hold: no trend on the ramp", {**_RAMP, "median_tau_ac1": 0.2, "auc_ac1": 0.6},
                   Verdict.DOES_NOT_HOLD),
              Case("boundary: medians 0.5 and AUC 0.8", {**_RAMP, "median_tau_var": 0.5, "auc_ac1": 0.8},
                   Verdict.HOLDS),
              Case("boundary: null just outside 3 s.e.", {**_RAMP, "null_pos_ac1": 0.5 - 3 * 0.5 / math.sqrt(200)
                                                          - 1e-6}, Verdict.DOES_NOT_HOLD)])
def ramp(ctx: Context) -> Outcome:
  from theory import early_warning as E
  p = SETTINGS[ctx.variant]
  ramp_x, null_x, tr, tn = _ramp_data(ctx.variant, ctx.seed)
  n_win = p["n_rec"] - int(round(WIN * p["n_rec"])) + 1
  rows, aucs = [], {}
  for name in E.INDICATORS:
    a, b = np.asarray(getattr(tr, name)), np.asarray(getattr(tn, name))
    r = E.roc(jnp.asarray(b), jnp.asarray(a))
    aucs[name] = (float(r.auc), float(r.auc_se))
    rows.append(f"| {name} | {np.median(a):+.3f} [{np.percentile(a, 25):+.2f}, {np.percentile(a, 75):+.2f}] | "
                f"{np.median(b):+.3f} [{np.percentile(b, 25):+.2f}, {np.percentile(b, 75):+.2f}] | "
                f"{np.mean(b > 0):.3f} | {np.mean(E.textbook_tau_pvalue(b, n_win) < 0.05):.3f} | "
                f"{r.auc:.3f} ± {r.auc_se:.3f} |")
  # AR(1)-surrogate test of τ(variance) on a subset: the correct null for one observed series
  key = jax.random.fold_in(jax.random.key(ctx.seed), 21)
  rej = {"ramp": float("nan"), "null": float("nan")}
  for label, xs in ((("ramp", ramp_x), ("null", null_x)) if p["surr_reps"] else ()):
    hits = []
    for i in range(p["surr_reps"]):
      _, resid = E.gaussian_detrend(jnp.asarray(xs[i]), BW)
      sur = E.ar1_surrogates(jax.random.fold_in(key, 1000 * (label == "ramp") + i), resid, p["n_surr"])
      t_sur = _taus(sur).variance
      t_obs = float(getattr(tr if label == "ramp" else tn, "variance")[i])
      hits.append(float(E.surrogate_pvalue(t_obs, jnp.asarray(t_sur))) <= 0.05)
    rej[label] = float(np.mean(hits))
  med_var, med_ac = float(np.median(tr.variance)), float(np.median(tr.ac1))
  pos_var, pos_ac = float(np.mean(np.asarray(tn.variance) > 0)), float(np.mean(np.asarray(tn.ac1) > 0))
  textbook = float(np.mean(E.textbook_tau_pvalue(np.asarray(tn.variance), n_win) < 0.05))
  table = ["| indicator | ramp τ median [IQR] | null τ median [IQR] | null P(τ > 0) | null: textbook p < 0.05 | "
           "ROC AUC ramp vs null |", "|---|---|---|---|---|---|"] + rows
  table += ["", f"AR(1)-surrogate test of τ(variance) ({p['n_surr']} surrogates of the detrended series, level 5 %, "
            f"{p['surr_reps']} replicates each): rejects {rej['ramp']:.2f} of ramp runs and {rej['null']:.2f} of "
            f"null runs."]
  figures = ctx.figures(lambda: _plot_ramp(ctx, ramp_x, null_x, tr, tn))
  return Outcome(
      measured={"ramp median τ(var)": med_var, "ramp median τ(AC1)": med_ac, "null P(τ_var > 0)": pos_var,
                "null P(τ_AC1 > 0)": pos_ac, "AUC var": f"{aucs['variance'][0]:.3f} ± {aucs['variance'][1]:.3f}",
                "AUC AC1": f"{aucs['ac1'][0]:.3f} ± {aucs['ac1'][1]:.3f}",
                "null: textbook τ test rejects": textbook,
                "surrogate test rejects (ramp / null)": f"{rej['ramp']:.2f} / {rej['null']:.2f}"},
      evidence=dict(median_tau_var=med_var, median_tau_ac1=med_ac, null_pos_var=pos_var, null_pos_ac1=pos_ac,
                    auc_var=aucs["variance"][0], auc_ac1=aucs["ac1"][0], reps=int(p["reps"]), n_rec=int(p["n_rec"])),
      figures=figures, table="\n".join(table),
      data={"auc": aucs, "surrogate_reject": rej,
            "tau_ramp": {k: np.asarray(getattr(tr, k)).tolist() for k in ("variance", "ac1")},
            "tau_null": {k: np.asarray(getattr(tn, k)).tolist() for k in ("variance", "ac1")}})


def _plot_ramp(ctx, ramp_x, null_x, tr, tn):
  from theory import early_warning as E
  plt = pyplot()
  fig, ax = plt.subplots(2, 2, figsize=(11, 7.5))
  t = np.arange(ramp_x.shape[1])
  trend = np.asarray(E.gaussian_detrend(jnp.asarray(ramp_x), BW)[0][0])   # batch shape: no new compilation
  ax[0, 0].plot(t, ramp_x[0], lw=0.6, label="ramp c: 1.8 → 2.55")
  ax[0, 0].plot(t, np.asarray(trend), "k", lw=1.2, label="Gaussian trend (bw 0.2)")
  ax[0, 0].plot(t, null_x[0], lw=0.6, alpha=0.7, label="null c = 1.8")
  ax[0, 0].set(xlabel="time", ylabel="biomass x", title="May's grazing model: one replicate each")
  ax[0, 0].legend(fontsize=7)
  ir = E.rolling_indicators(jnp.asarray(ramp_x), WIN, bandwidth=BW)
  inn = E.rolling_indicators(jnp.asarray(null_x), WIN, bandwidth=BW)
  w = int(round(WIN * ramp_x.shape[1]))
  tt = np.arange(w - 1, ramp_x.shape[1])
  ax01b = ax[0, 1].twinx()
  ax[0, 1].plot(tt, np.asarray(ir.variance[0]), "C0", label=f"variance, ramp (τ={float(tr.variance[0]):.2f})")
  ax[0, 1].plot(tt, np.asarray(inn.variance[0]), "C0--", label=f"variance, null (τ={float(tn.variance[0]):.2f})")
  ax01b.plot(tt, np.asarray(ir.ac1[0]), "C3", label=f"AC1, ramp (τ={float(tr.ac1[0]):.2f})")
  ax01b.plot(tt, np.asarray(inn.ac1[0]), "C3--", label=f"AC1, null (τ={float(tn.ac1[0]):.2f})")
  ax[0, 1].set(xlabel="window end", ylabel="rolling variance", title="Rolling indicators (window 50 %)")
  ax01b.set_ylabel("rolling lag-1 autocorrelation")
  h1, l1 = ax[0, 1].get_legend_handles_labels()
  h2, l2 = ax01b.get_legend_handles_labels()
  ax[0, 1].legend(h1 + h2, l1 + l2, fontsize=7, loc="upper left")
  bins = np.linspace(-1, 1, 41)
  ax[1, 0].hist(np.asarray(tn.variance), bins, alpha=0.6, label="null τ(variance)")
  ax[1, 0].hist(np.asarray(tr.variance), bins, alpha=0.6, label="ramp τ(variance)")
  ax[1, 0].hist(np.asarray(tn.ac1), bins, histtype="step", lw=1.5, label="null τ(AC1)")
  ax[1, 0].hist(np.asarray(tr.ac1), bins, histtype="step", lw=1.5, label="ramp τ(AC1)")
  ax[1, 0].axvline(0, color="k", lw=0.8)
  ax[1, 0].set(xlabel="Kendall τ", ylabel="replicates", title="τ under the ramp and under the null")
  ax[1, 0].legend(fontsize=7)
  for name in ("variance", "ac1", "skewness", "return_rate"):
    r = E.roc(jnp.asarray(getattr(tn, name)), jnp.asarray(getattr(tr, name)))
    ax[1, 1].plot(np.asarray(r.fpr), np.asarray(r.tpr), label=f"τ({name}) AUC {float(r.auc):.2f}")
  ax[1, 1].plot([0, 1], [0, 1], "k:", lw=0.8)
  ax[1, 1].set(xlabel="false positive rate", ylabel="true positive rate", title="ROC: ramp vs null")
  ax[1, 1].legend(fontsize=7)
  return ctx.save_figure(fig, "early_warning_ramp.png")


LR_SE = 2.0   # AUC(LR) may fall short of the better τ's AUC by at most this many s.e. of the difference


def judge_likelihood(e: dict) -> tuple[Verdict, str]:
  diff = e["auc_lr"] - e["auc_best_tau"]
  se = math.hypot(e["auc_lr_se"], e["auc_best_tau_se"])   # conservative: ignores the positive pairing correlation
  rule = (f"holds iff the ROC AUC of LR = 2(ℓ_LSN − ℓ_OU) is at least the better of τ(variance), τ(AC1) minus "
          f"{LR_SE:g} s.e. of the difference (DeLong s.e., combined as if independent), on the same replicates: the "
          f"first {e['n']} ramp and {e['n']} null series of the ramp claim (LR on the raw series, float64 "
          f"Nelder–Mead, {e['n_iter']} iterations per model, {e['substeps']} moment substeps per interval).")
  return (Verdict.HOLDS if diff >= -LR_SE * se else Verdict.DOES_NOT_HOLD), rule


_LIK = dict(auc_lr=0.984, auc_lr_se=0.011, auc_best_tau=0.979, auc_best_tau_se=0.007, n=100, n_iter=400, substeps=4)


@claim("early_warning", "likelihood", "Likelihood ratio (LSN vs OU) vs Kendall τ on the same replicates",
       "the model-based LR statistic with ROC quantification detects the approach at least as well as τ of "
       "variance or AC1 (Boettiger & Hastings 2012)",
       judge=judge_likelihood,
       cases=[Case("holds", _LIK, Verdict.HOLDS),
              Case("does not hold: LR clearly worse", {**_LIK, "auc_lr": 0.9}, Verdict.DOES_NOT_HOLD),
              Case("boundary: exactly 2 s.e. below", {**_LIK, "auc_lr": 0.5, "auc_lr_se": 0.03, "auc_best_tau": 0.6,
                                                      "auc_best_tau_se": 0.04}, Verdict.HOLDS),
              Case("boundary: just beyond 2 s.e. below", {**_LIK, "auc_lr": 0.4999, "auc_lr_se": 0.03,
                                                          "auc_best_tau": 0.6, "auc_best_tau_se": 0.04},
                   Verdict.DOES_NOT_HOLD)])
def likelihood(ctx: Context) -> Outcome:
  from theory import early_warning as E
  p = SETTINGS[ctx.variant]
  ramp_x, null_x, tr, tn = _ramp_data(ctx.variant, ctx.seed)
  n = p["lr_reps"]
  with jax.enable_x64(True):
    # ramp and null in one batch: one compilation
    f = E.fit_models(jnp.asarray(np.concatenate([ramp_x[:n], null_x[:n]]), jnp.float64), n_iter=p["n_iter"],
                     substeps=p["substeps"])
    lr_r, lr_n = np.asarray(f.lr[:n]), np.asarray(f.lr[n:])
    res = {"LR = 2(ℓ_LSN − ℓ_OU)": E.roc(jnp.asarray(lr_n), jnp.asarray(lr_r))}
    for name in ("variance", "ac1"):
      res[f"τ({name})"] = E.roc(jnp.asarray(getattr(tn, name)[:n]), jnp.asarray(getattr(tr, name)[:n]))
    boot = boot_roc = None
    if p["n_boot"]:
      boot = E.bootstrap_lr(jax.random.fold_in(jax.random.key(ctx.seed), 22), jnp.asarray(ramp_x[0], jnp.float64),
                            n_boot=p["n_boot"], n_iter=p["n_iter"], substeps=p["substeps"])
      boot_roc = E.roc(boot.null_lr, boot.test_lr)
      boot_p = float(E.surrogate_pvalue(boot.observed, boot.null_lr))
  auc = {k: (float(r.auc), float(r.auc_se)) for k, r in res.items()}
  lr_key = "LR = 2(ℓ_LSN − ℓ_OU)"
  best_tau = max(auc["τ(variance)"][0], auc["τ(ac1)"][0])
  best_name = "τ(variance)" if auc["τ(variance)"][0] >= auc["τ(ac1)"][0] else "τ(ac1)"
  diff = auc[lr_key][0] - best_tau
  table = ["| statistic | AUC ramp vs null (± DeLong s.e.) | median on ramp | median on null |", "|---|---|---|---|"]
  for k, r in res.items():
    if k == lr_key:
      a, b = lr_r, lr_n
    else:
      nm = k[2:-1]
      a, b = np.asarray(getattr(tr, nm)[:n]), np.asarray(getattr(tn, nm)[:n])
    table.append(f"| {k} | {auc[k][0]:.3f} ± {auc[k][1]:.3f} | {np.median(a):.3f} | {np.median(b):.3f} |")
  table += [] if boot is None else ["", f"Parametric bootstrap on ramp replicate 0 ({p['n_boot']} series from each fitted model, both models "
            f"refitted): observed LR {float(boot.observed):.2f}, bootstrap p-value under the fitted OU {boot_p:.3f}, "
            f"ROC AUC (fitted LSN vs fitted OU data) {float(boot_roc.auc):.3f} ± {float(boot_roc.auc_se):.3f}; fitted LSN "
            f"R0={float(boot.fit.lsn.R0):.4g}, m={float(boot.fit.lsn.m):.3g} (R reaches 0 at t = "
            f"{-float(boot.fit.lsn.R0) / float(boot.fit.lsn.m) if float(boot.fit.lsn.m) < 0 else float('inf'):.0f})."]
  figures = ctx.figures(lambda: _plot_likelihood(ctx, res, lr_r, lr_n, boot, boot_roc))
  return Outcome(
      measured={"AUC LR": f"{auc[lr_key][0]:.3f} ± {auc[lr_key][1]:.3f}",
                "AUC τ(variance)": f"{auc['τ(variance)'][0]:.3f} ± {auc['τ(variance)'][1]:.3f}",
                "AUC τ(AC1)": f"{auc['τ(ac1)'][0]:.3f} ± {auc['τ(ac1)'][1]:.3f}",
                "AUC(LR) − best τ AUC": diff,
                "bootstrap AUC (one series)": float("nan") if boot is None else float(boot_roc.auc)},
      evidence=dict(auc_lr=auc[lr_key][0], auc_lr_se=auc[lr_key][1], auc_best_tau=auc[best_name][0],
                    auc_best_tau_se=auc[best_name][1], n=int(n), n_iter=int(p["n_iter"]), substeps=int(p["substeps"])),
      figures=figures, table="\n".join(table),
      data={"auc": auc, "lr_ramp": lr_r.tolist(), "lr_null": lr_n.tolist(),
            "bootstrap": None if boot is None else {"observed": float(boot.observed),
                                                    "null": np.asarray(boot.null_lr).tolist(),
                                                    "test": np.asarray(boot.test_lr).tolist()}})


def _plot_likelihood(ctx, res, lr_r, lr_n, boot, boot_roc):
  plt = pyplot()
  fig, ax = plt.subplots(1, 3 if boot is not None else 2, figsize=(14 if boot is not None else 9.5, 4.2))
  for k, r in res.items():
    ax[0].plot(np.asarray(r.fpr), np.asarray(r.tpr), label=f"{k}: AUC {float(r.auc):.2f}")
  ax[0].plot([0, 1], [0, 1], "k:", lw=0.8)
  ax[0].set(xlabel="false positive rate", ylabel="true positive rate", title="Same replicates: ramp vs null")
  ax[0].legend(fontsize=7)
  hi = max(np.percentile(lr_r, 99), np.percentile(lr_n, 99))
  bins = np.linspace(0, hi, 40)
  ax[1].hist(lr_n, bins, alpha=0.6, label="null (c = 1.8)")
  ax[1].hist(lr_r, bins, alpha=0.6, label="ramp toward the fold")
  ax[1].set(xlabel="LR = 2(ℓ_LSN − ℓ_OU)", ylabel="replicates", title="Likelihood ratio")
  ax[1].legend(fontsize=7)
  if boot is None:
    return ctx.save_figure(fig, "early_warning_likelihood.png")
  nb, tb = np.asarray(boot.null_lr), np.asarray(boot.test_lr)
  bins = np.linspace(0, max(np.percentile(tb, 99), float(boot.observed)) * 1.05, 40)
  ax[2].hist(nb, bins, alpha=0.6, label="data from fitted OU")
  ax[2].hist(tb, bins, alpha=0.6, label="data from fitted LSN")
  ax[2].axvline(float(boot.observed), color="k", label=f"observed {float(boot.observed):.1f}")
  ax[2].set(xlabel="LR", ylabel="bootstrap replicates",
            title=f"Parametric bootstrap, one series (AUC {float(boot_roc.auc):.2f})")
  ax[2].legend(fontsize=7)
  return ctx.save_figure(fig, "early_warning_likelihood.png")


# ---------------------------------------------------------------------------------------------------
# Prosecutor's fallacy.


@functools.lru_cache(maxsize=4)
def _prosecutor_data(variant: str, seed: int):
  from theory import early_warning as E
  p = SETTINGS[variant]
  return E.shift_data(jax.random.fold_in(jax.random.key(seed), 23), p["pf_T"], p["pf_reps"], c=PF_C, sigma=PF_SIGMA,
                      dt=DT, record_every=REC)


PF_MIN_RUNS = 5   # fewer shifted or non-shifted runs than this: inconclusive
PF_SE = 2.0       # selected vs comparison AUC above ½ by more than this many DeLong s.e.


def judge_prosecutor(e: dict) -> tuple[Verdict, str]:
  rule = (f"inconclusive with fewer than {PF_MIN_RUNS} shifted or non-shifted runs; otherwise holds iff, for windows "
          "ending at the crossing (gap 0), the ROC AUC of the selected runs' τ against comparison windows exceeds ½ "
          f"by more than {PF_SE:g} DeLong s.e. for both τ(variance) and τ(AC1). May's model at constant c = {PF_C} "
          f"(bistable), σ = {PF_SIGMA}, Euler dt = {DT}; τ after Gaussian detrending bw = {BW}, rolling window "
          f"{WIN:.0%} of each {e['window']}-sample window; larger gaps and the LR statistic are reported alongside "
          "(not part of the rule).")
  if min(e["n_selected"], e["n_comparison"]) < PF_MIN_RUNS:
    return Verdict.INCONCLUSIVE, rule
  biased = [e[f"auc_{k}"] - 0.5 > PF_SE * e[f"auc_{k}_se"] for k in ("var", "ac1")]
  return (Verdict.HOLDS if all(biased) else Verdict.DOES_NOT_HOLD), rule


_PF = dict(n_selected=300, n_comparison=270, auc_var=0.587, auc_var_se=0.024, auc_ac1=0.595, auc_ac1_se=0.024,
           window=200)


@claim("early_warning", "prosecutor", "Prosecutor's fallacy: runs selected because they shifted show 'warnings'",
       "at constant parameters, the pre-transition windows of the runs that happened to shift show positive τ "
       "(variance, AC1) more often than windows of comparable runs: selecting on the outcome biases τ",
       judge=judge_prosecutor,
       cases=[Case("holds", _PF, Verdict.HOLDS),
              Case("does not hold: no bias in AC1", {**_PF, "auc_ac1": 0.51}, Verdict.DOES_NOT_HOLD),
              Case("inconclusive: too few shifted runs", {**_PF, "n_selected": 4}, Verdict.INCONCLUSIVE),
              Case("boundary: exactly 2 s.e. above ½ (not more)", {**_PF, "auc_var": 0.625, "auc_var_se": 0.0625},
                   Verdict.DOES_NOT_HOLD),
              Case("boundary: 5 runs each", {**_PF, "n_selected": 5, "n_comparison": 5}, Verdict.HOLDS)])
def prosecutor(ctx: Context) -> Outcome:
  from theory import early_warning as E
  p = SETTINGS[ctx.variant]
  xs, thr, shifted, first = _prosecutor_data(ctx.variant, ctx.seed)
  L, rows = p["pf_L"], p["pf_reps"]
  res = {}
  for gap in PF_GAPS:
    win_sel, win_rand = E.selection_windows(xs, shifted, first, L, gap, ctx.seed)
    n_s = win_sel.shape[0]
    if n_s < PF_MIN_RUNS or win_rand.shape[0] < PF_MIN_RUNS:
      return Outcome(measured={"selected windows": n_s, "comparison windows": win_rand.shape[0]},
                     evidence=dict(n_selected=int(n_s), n_comparison=int(win_rand.shape[0]), auc_var=math.nan,
                                   auc_var_se=math.nan, auc_ac1=math.nan, auc_ac1_se=math.nan, window=int(L)))
    both = np.concatenate([win_sel, win_rand], 0)     # ≤ rows: the two sets are disjoint runs
    t = _taus(both, rows)
    stats = {"τ(variance)": (t.variance[:n_s], t.variance[n_s:]), "τ(ac1)": (t.ac1[:n_s], t.ac1[n_s:])}
    if gap in (PF_GAPS[0], PF_GAPS[-1]) and p["pf_lr"]:
      pad = np.concatenate([both, np.repeat(both[:1], rows - both.shape[0], 0)], 0)
      with jax.enable_x64(True):
        lr = np.asarray(E.fit_models(jnp.asarray(pad, jnp.float64), n_iter=p["n_iter"],
                                     substeps=p["substeps"]).lr)[:both.shape[0]]
      stats["LR"] = (lr[:n_s], lr[n_s:])
    res[gap] = {}
    for k, (a, b) in stats.items():
      r = E.roc(jnp.asarray(b), jnp.asarray(a))
      res[gap][k] = dict(auc=float(r.auc), se=float(r.auc_se), sel_med=float(np.median(a)),
                         sel_pos=float(np.mean(a > 0)), cmp_med=float(np.median(b)), cmp_pos=float(np.mean(b > 0)),
                         n_sel=n_s, n_cmp=int(b.size), values=(a, b))
  r0 = res[0]
  table = ["| gap before the crossing | statistic | selected (shifted) runs: median, P(>0) | comparison windows: median, "
           "P(>0) | AUC selected vs comparison |", "|---|---|---|---|---|"]
  for gap, rr in res.items():
    for k, v in rr.items():
      table.append(f"| {gap} | {k} | {v['sel_med']:+.3f}, {v['sel_pos']:.2f} (n={v['n_sel']}) | {v['cmp_med']:+.3f}, "
                   f"{v['cmp_pos']:.2f} (n={v['n_cmp']}) | {v['auc']:.3f} ± {v['se']:.3f} |")
  table += ["", f"{int(shifted.sum())}/{shifted.size} runs crossed the unstable equilibrium x = {thr:.3f} within "
            f"{p['pf_T']} time units. Selected windows: the {L} samples ending `gap` samples before the crossing; "
            f"comparison windows: {L} samples ending at a uniform time in runs that never shifted."]
  figures = ctx.figures(lambda: _plot_prosecutor(ctx, xs, thr, shifted, first, r0))
  measured = {"shifted runs": f"{int(shifted.sum())}/{shifted.size}"}
  for k in r0:
    measured[f"AUC {k} (gap 0)"] = f"{r0[k]['auc']:.3f} ± {r0[k]['se']:.3f}"
  measured["P(τ_var > 0): selected / comparison"] = (f"{r0['τ(variance)']['sel_pos']:.2f} / "
                                                     f"{r0['τ(variance)']['cmp_pos']:.2f}")
  measured[f"AUC τ(var), gap {PF_GAPS[-1]}"] = res[PF_GAPS[-1]]["τ(variance)"]["auc"]
  if "LR" in res[PF_GAPS[-1]]:
    measured[f"AUC LR, gap {PF_GAPS[-1]}"] = res[PF_GAPS[-1]]["LR"]["auc"]
  return Outcome(
      measured=measured,
      evidence=dict(n_selected=int(r0["τ(variance)"]["n_sel"]), n_comparison=int(r0["τ(variance)"]["n_cmp"]),
                    auc_var=r0["τ(variance)"]["auc"], auc_var_se=r0["τ(variance)"]["se"], auc_ac1=r0["τ(ac1)"]["auc"],
                    auc_ac1_se=r0["τ(ac1)"]["se"], window=int(L)),
      figures=figures, table="\n".join(table),
      data={"auc": {str(g): {k: (v["auc"], v["se"]) for k, v in rr.items()} for g, rr in res.items()},
            "shifted": int(shifted.sum())})


def _plot_prosecutor(ctx, xs, thr, shifted, first, r0):
  plt = pyplot()
  keys = list(r0)
  fig, ax = plt.subplots(1, 1 + len(keys), figsize=(4.6 * (1 + len(keys)), 4.2))
  L = SETTINGS[ctx.variant]["pf_L"]
  idx = [i for i in np.nonzero(shifted)[0] if first[i] > L][:4]
  for i in idx:
    seg = xs[i, first[i] - L:first[i] + 30]
    ax[0].plot(np.arange(-L, -L + seg.size), seg, lw=0.6)
  ax[0].axvspan(-L, 0, color="C1", alpha=0.1, label="selected window (gap 0)")
  ax[0].axhline(thr, color="k", ls=":", label="unstable equilibrium")
  ax[0].set(xlabel="time relative to the crossing", ylabel="x", title=f"Constant c = {PF_C}: noise-induced escapes")
  ax[0].legend(fontsize=7)
  for a, k in zip(ax[1:], keys):
    s, r = r0[k]["values"]
    lo, hi = (-1, 1) if k != "LR" else (0, float(np.percentile(np.r_[s, r], 99)))
    bins = np.linspace(lo, hi, 31)
    a.hist(r, bins, alpha=0.6, density=True, label="comparison windows")
    a.hist(s, bins, alpha=0.6, density=True, label="selected: just before a shift")
    if k != "LR":
      a.axvline(0, color="k", lw=0.8)
    a.set(xlabel=k, ylabel="density", title=f"{k}: AUC {r0[k]['auc']:.2f}, no parameter change")
    a.legend(fontsize=7)
  return ctx.save_figure(fig, "early_warning_prosecutor.png")


# ---------------------------------------------------------------------------------------------------
# Uncharted: a shift without critical slowing down.


UN_SHIFT_MIN = 0.5      # at least half of the runs shift
UN_SLACK = 0.05         # no AC1 trend: |AUC − ½| <= 2 s.e. + this
UN_RAMP_AUC_MIN = 0.8   # the fold ramp's AC1 AUC (slowing down present there)


def judge_uncharted(e: dict) -> tuple[Verdict, str]:
  ok = (e["frac_shifted"] >= UN_SHIFT_MIN and abs(e["auc_ac1"] - 0.5) <= 2 * e["auc_ac1_se"] + UN_SLACK
        and e["ramp_auc_ac1"] >= UN_RAMP_AUC_MIN)
  n_obs, n_tail, n_hold = e["n_obs"], e["n_tail"], e["n_hold"]
  rule = (f"holds iff ≥ {UN_SHIFT_MIN:.0%} of runs shift, the pre-shift τ(AC1) of the noise-ramp runs is "
          f"indistinguishable from the constant-noise null (|AUC − ½| ≤ 2 s.e. + {UN_SLACK:g}), and on the fold ramp "
          f"of the ramp claim AUC τ(AC1) ≥ {UN_RAMP_AUC_MIN:g}. May's model at fixed c = {UN_C} (bistable, away from "
          f"the fold 2.604), σ rising linearly {UN_SIG0} → {UN_SIG1} over {n_obs + n_tail} time units then held "
          f"{n_hold} more, τ on [0, {n_obs}) (σ {UN_SIG0} → "
          f"{UN_SIG0 + (UN_SIG1 - UN_SIG0) * n_obs / (n_obs + n_tail):.2f} there); null σ = {UN_SIG0}; detrending bw "
          f"{BW}, window {WIN:.0%}.")
  return (Verdict.HOLDS if ok else Verdict.DOES_NOT_HOLD), rule


_UN = dict(frac_shifted=0.985, auc_ac1=0.518, auc_ac1_se=0.029, ramp_auc_ac1=0.967, n_obs=1000, n_tail=500,
           n_hold=1000)


@claim("early_warning", "uncharted", "A regime shift without critical slowing down (rising noise, fixed c)",
       "not every shift is preceded by critical slowing down: with the parameters fixed far from the fold and "
       "the noise rising, runs shift but the lag-1 autocorrelation shows no trend (variance alone rises)",
       judge=judge_uncharted,
       cases=[Case("holds", _UN, Verdict.HOLDS),
              Case("does not hold: AC1 rises", {**_UN, "auc_ac1": 0.8}, Verdict.DOES_NOT_HOLD),
              Case("does not hold: too few shifts", {**_UN, "frac_shifted": 0.46}, Verdict.DOES_NOT_HOLD),
              Case("boundary: half the runs shift, AUC ½ + 2 s.e. + 0.05",
                   {**_UN, "frac_shifted": 0.5, "auc_ac1": 0.625, "auc_ac1_se": 0.0375}, Verdict.HOLDS),
              Case("boundary: fold ramp AUC just below 0.8", {**_UN, "ramp_auc_ac1": 0.7999}, Verdict.DOES_NOT_HOLD)])
def uncharted(ctx: Context) -> Outcome:
  from theory import early_warning as E
  p = SETTINGS[ctx.variant]
  n_obs, n_tail = p["un_obs"], p["un_tail"]
  key = jax.random.fold_in(jax.random.key(ctx.seed), 24)
  k1, k2 = jax.random.split(key)
  n_hold = p["un_hold"]
  sig = np.concatenate([np.linspace(UN_SIG0, UN_SIG1, (n_obs + n_tail) * REC), np.full(n_hold * REC, UN_SIG1)])
  n_all = sig.size
  c = jnp.full(n_all, UN_C)
  params = dict(r=jnp.ones(n_all), K=jnp.full(n_all, 10.0), h=jnp.ones(n_all), c=c, sigma=jnp.asarray(sig))
  from theory.common import sde
  x0 = float(E.may_equilibria(UN_C)[-1])
  xs = np.asarray(sde.euler_maruyama(k1, E.may_drift, E.may_diffusion, x0, params, dt=DT, record_every=REC,
                                     n_paths=p["un_reps"], lower=0.0))
  null = np.asarray(E.may_simulate(k2, jnp.full(n_obs * REC, UN_C), sigma=UN_SIG0, dt=DT, record_every=REC,
                                   n_paths=p["un_reps"]))[:, :n_obs]
  thr = float(E.may_equilibria(UN_C)[1])
  below = xs < thr
  early = below[:, :n_obs].any(1)
  shifted = below.any(1)
  keep = ~early
  tu, tn = _taus(xs[keep, :n_obs], p["un_reps"]), _taus(null)
  aucs = {}
  for name in ("variance", "ac1", "return_rate"):
    r = E.roc(jnp.asarray(getattr(tn, name)), jnp.asarray(getattr(tu, name)))
    aucs[name] = (float(r.auc), float(r.auc_se))
  frac_shift = float(shifted.mean())
  # the fold-ramp reference from the ramp claim (same protocol)
  _, _, tr, tnr = _ramp_data(ctx.variant, ctx.seed)
  ramp_ac = float(E.roc(jnp.asarray(tnr.ac1), jnp.asarray(tr.ac1)).auc)
  # eigenvalue at the upper equilibrium (constant: c is fixed): f'(x*)
  xe = x0
  lam = 1 - 2 * xe / 10 - UN_C * 2 * xe / (xe ** 2 + 1) ** 2
  table = ["| indicator | τ median, noise ramp (pre-shift) | τ median, null | AUC noise ramp vs null | "
           "AUC fold ramp vs null (ramp claim) |", "|---|---|---|---|---|"]
  for name in ("variance", "ac1", "return_rate"):
    ref = float(E.roc(jnp.asarray(getattr(tnr, name)), jnp.asarray(getattr(tr, name))).auc)
    table.append(f"| {name} | {np.median(getattr(tu, name)):+.3f} | {np.median(getattr(tn, name)):+.3f} | "
                 f"{aucs[name][0]:.3f} ± {aucs[name][1]:.3f} | {ref:.3f} |")
  table += ["", f"{int(shifted.sum())}/{shifted.size} runs shift (cross x = {thr:.3f}) by t = {n_obs + n_tail + n_hold}; "
            f"{int(early.sum())} shifted inside the observation window [0, {n_obs}) and are excluded from τ. "
            f"Eigenvalue at the upper equilibrium x* = {xe:.3f}: λ = {lam:.3f} throughout (no slowing down)."]
  figures = ctx.figures(lambda: _plot_uncharted(ctx, xs, thr, n_obs, tu, tn, aucs))
  return Outcome(
      measured={"runs shifted": f"{int(shifted.sum())}/{shifted.size}",
                "AUC τ(AC1) vs null": f"{aucs['ac1'][0]:.3f} ± {aucs['ac1'][1]:.3f}",
                "AUC τ(variance) vs null": f"{aucs['variance'][0]:.3f} ± {aucs['variance'][1]:.3f}",
                "fold-ramp AUC τ(AC1)": ramp_ac, "λ at x*": lam},
      evidence=dict(frac_shifted=frac_shift, auc_ac1=aucs["ac1"][0], auc_ac1_se=aucs["ac1"][1],
                    ramp_auc_ac1=ramp_ac, n_obs=int(n_obs), n_tail=int(n_tail), n_hold=int(n_hold)),
      figures=figures, table="\n".join(table), data={"auc": aucs, "shifted": int(shifted.sum()),
                                                     "early": int(early.sum())})


def _plot_uncharted(ctx, xs, thr, n_obs, tu, tn, aucs):
  plt = pyplot()
  fig, ax = plt.subplots(1, 3, figsize=(14, 4.2))
  for i in range(3):
    ax[0].plot(xs[i], lw=0.6)
  ax[0].axvline(n_obs, color="grey", ls="--", label="end of observation window")
  ax[0].axhline(thr, color="k", ls=":", label="unstable equilibrium")
  ax[0].set(xlabel="time", ylabel="x", title=f"c = {UN_C} fixed, noise σ rising: shifts")
  ax[0].legend(fontsize=7)
  bins = np.linspace(-1, 1, 31)
  for a, k in zip(ax[1:], ("variance", "ac1")):
    a.hist(np.asarray(getattr(tn, k)), bins, alpha=0.6, density=True, label="null (constant σ)")
    a.hist(np.asarray(getattr(tu, k)), bins, alpha=0.6, density=True, label="noise ramp, before the shift")
    a.set(xlabel=f"τ({k})", ylabel="density", title=f"τ({k}): AUC {aucs[k][0]:.2f}")
    a.legend(fontsize=7)
  return ctx.save_figure(fig, "early_warning_uncharted.png")
