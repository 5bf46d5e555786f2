"""Claims of paper 21 (Sclocchi, Geiger, Wyart, "Dissecting the Effects of SGD Noise in Distinct Regimes of Deep
Learning", ICML 2023).

perceptron_tc  the perceptron on depleted data (d = 100, chi in {0, 1}) trained by SGD until fit: the temperature
               T_c where ||w - w0|| leaves its T -> 0 plateau is a power law of P with a negative exponent, and the
               exponent depends on chi (the heuristic -1/(1 + chi) is shown, not judged).
phase_diagram  the mean-field MLP on digits parity over an (alpha, T) grid: SGD noise hurts in one regime and helps
               in the other (the sign of the test-error change from the smallest to the largest T differs between
               the smallest and the largest alpha).
"""
from __future__ import annotations

import numpy as np

from experiments.claims import Case, Context, Outcome, Verdict, claim
from experiments.claims.report import fmt, line_figure, loglog_figure, markdown_table

# ---------------------------------------------------------------------------------------------------
# (A) Perceptron: T_c(P).

PERCEPTRON = {
    "smoke": dict(d=10, ps=(16, 32), chis=(0.0, 1.0), temps=(0.1, 1.0, 10.0), seeds=2, batch_div=4,
                  max_steps=5_000, n_boot=20),
    "small": dict(d=100, ps=(128, 256, 512), chis=(0.0, 1.0), temps=tuple(10.0 ** np.arange(-2, 0.76, 0.25)),
                  seeds=4, batch_div=4, max_steps=100_000, n_boot=500),
    "paper": dict(d=100, ps=(128, 256, 512, 1024, 2048, 4096), chis=(0.0, 1.0),
                  temps=tuple(10.0 ** np.arange(-3, 1.01, 0.25)), seeds=8, batch_div=4, max_steps=2_000_000,
                  n_boot=1000),
}
FACTOR = 1.25        # T_c: where the seed-mean ||u|| first reaches FACTOR x its value at the smallest T
CENSOR_MAX = 0.05    # above this fraction of runs stopped by the step cap: inconclusive
BOOT_MIN = 0.5       # fewer valid bootstrap resamples than this fraction: inconclusive


def judge_perceptron(e: dict) -> tuple[Verdict, str]:
  s = e["slopes"]            # {chi: {"slope", "lo", "hi", "n_tc", "n_p", "boot_valid"}}
  rule = (f"T_c = first T where the seed-mean ||w - w0|| reaches {FACTOR:g} x its value at the smallest T; "
          f"inconclusive if > {CENSOR_MAX:g} of the runs hit the step cap, a T_c is missing for some P, or fewer "
          f"than {BOOT_MIN:g} of the bootstrap resamples define every T_c; holds iff for every chi the 95 % "
          "bootstrap interval of the slope of log T_c on log P lies below 0 and the intervals of the two chi do "
          "not overlap; otherwise does not hold.")
  if e["censored"] > CENSOR_MAX or any(v["n_tc"] < v["n_p"] or v["boot_valid"] < BOOT_MIN for v in s.values()):
    return Verdict.INCONCLUSIVE, rule
  neg = all(v["hi"] < 0 for v in s.values())
  (a, b) = list(s.values())[:2]
  disjoint = a["hi"] < b["lo"] or b["hi"] < a["lo"]
  return (Verdict.HOLDS if neg and disjoint else Verdict.DOES_NOT_HOLD), rule


def _sl(slope, lo, hi, n_tc=3, n_p=3, boot_valid=1.0):
  return dict(slope=slope, lo=lo, hi=hi, n_tc=n_tc, n_p=n_p, boot_valid=boot_valid)


_PA = dict(censored=0.0, slopes={"0": _sl(-1.0, -1.2, -0.8), "1": _sl(-0.5, -0.6, -0.4)})


@claim("sgd_noise", "perceptron_tc", "Perceptron: T_c decreases as a power law of P, exponent set by chi",
       "T_c ~ P^(-a) with a > 0 (T_c decreases with P); the exponent depends on the density of data near the "
       "decision boundary (chi); heuristic a = 1/(1 + chi)",
       judge=judge_perceptron,
       cases=[Case("holds", _PA, Verdict.HOLDS),
              Case("does not hold: flat in P", {**_PA, "slopes": {"0": _sl(0.02, -0.1, 0.15), "1": _sl(-0.5, -0.6,
                                                                                                     -0.4)}},
                   Verdict.DOES_NOT_HOLD),
              Case("does not hold: same slope", {**_PA, "slopes": {"0": _sl(-0.6, -0.8, -0.45),
                                                                  "1": _sl(-0.5, -0.6, -0.4)}},
                   Verdict.DOES_NOT_HOLD),
              Case("boundary: interval touches 0", {**_PA, "slopes": {"0": _sl(-1.0, -1.2, 0.0), "1": _sl(-0.5, -0.6,
                                                                                                        -0.4)}},
                   Verdict.DOES_NOT_HOLD),
              Case("boundary: censored at the limit", {**_PA, "censored": CENSOR_MAX}, Verdict.HOLDS),
              Case("inconclusive: censored", {**_PA, "censored": 0.2}, Verdict.INCONCLUSIVE),
              Case("inconclusive: missing T_c", {**_PA, "slopes": {"0": _sl(-1.0, -1.2, -0.8, n_tc=2),
                                                                  "1": _sl(-0.5, -0.6, -0.4)}},
                   Verdict.INCONCLUSIVE)])
def perceptron_tc(ctx: Context) -> Outcome:
  from models.sgd_noise import perceptron_sweep, tc_slope
  s = PERCEPTRON[ctx.variant]
  temps, ps = np.asarray(s["temps"]), np.asarray(s["ps"])
  runs, slopes, rows, cens = {}, {}, [], []
  for chi in s["chis"]:
    outs = []
    for p in ps:
      o = perceptron_sweep(int(p), d=s["d"], p=int(p), chi=chi, temperatures=temps, seeds=s["seeds"],
                           batch=max(int(p) // s["batch_div"], 1), max_steps=s["max_steps"])
      outs.append(o)
      cens.append(1.0 - o["fitted"].mean())
      ctx.log(f"chi={chi:g} P={p}: censored {1 - o['fitted'].mean():.2f}")
    u = np.stack([o["u_norm"] for o in outs])
    r = tc_slope(ps, temps, u, FACTOR, n_boot=s["n_boot"])
    key = f"{chi:g}"
    slopes[key] = dict(slope=r["slope"], lo=r["lo"], hi=r["hi"], n_tc=int(np.isfinite(r["tc"]).sum()),
                       n_p=len(ps), boot_valid=r["n_valid"] / s["n_boot"])
    runs[key] = dict(outs=outs, tc=r["tc"])
    for i, p in enumerate(ps):
      o = outs[i]
      rows.append([key, int(p), fmt(r["tc"][i]), fmt(o["u_norm"].mean(0)[0]), fmt(o["u_norm"].mean(0)[-1]),
                   fmt(o["t"].mean(0)[0]), fmt(o["t"].mean(0)[-1]), fmt(o["test_error"].mean(0)[0]),
                   fmt(o["test_error"].mean(0)[-1])])
  ev = dict(censored=float(np.mean(cens)), slopes=slopes)
  lo_t, hi_t = f"{temps[0]:.3g}", f"{temps[-1]:.3g}"
  table = markdown_table(["chi", "P", "T_c", f"‖u‖ (T={lo_t})", f"‖u‖ (T={hi_t})", f"t* (T={lo_t})",
                          f"t* (T={hi_t})", f"test err (T={lo_t})", f"test err (T={hi_t})"], rows)

  def curves(name, field, ylabel):
    series = [(f"chi={k} P={p}", runs[k]["outs"][i][field].T) for k in runs for i, p in enumerate(ps)]
    return loglog_figure(ctx, name, f"perceptron: {field} vs T", temps, series, xlabel="T = dt / B",
                         ylabel=ylabel, fit=None)

  tc_series = [(f"chi={k}", np.where(np.isfinite(runs[k]["tc"]), runs[k]["tc"], np.nan)) for k in runs]
  makers = [curves("sgd_noise_perceptron_u.png", "u_norm", "||w - w0||"),
            curves("sgd_noise_perceptron_t.png", "t", "t*")]
  if all(np.all(np.isfinite(runs[k]["tc"])) for k in runs):
    makers.append(loglog_figure(ctx, "sgd_noise_perceptron_tc.png", "T_c vs P", ps, tc_series, xlabel="P",
                                ylabel="T_c", fit="all", ref_slope=-1.0, ref_label="P^-1 (heuristic chi=0)"))
  measured = {f"slope chi={k}": f"{v['slope']:.3f} [{v['lo']:.3f}, {v['hi']:.3f}]" for k, v in slopes.items()}
  measured.update({f"heuristic chi={k}": f"{-1 / (1 + float(k)):.3f}" for k in slopes},
                  censored=f"{ev['censored']:.3f}")
  return Outcome(measured=measured, evidence=ev, figures=ctx.figures(*makers), table=table,
                 data={k: dict(tc=list(map(float, v["tc"])),
                               u_norm=[o["u_norm"].tolist() for o in v["outs"]],
                               t=[o["t"].tolist() for o in v["outs"]]) for k, v in runs.items()})


# ---------------------------------------------------------------------------------------------------
# (B) Network: (alpha, T) phase diagram on digits parity.

NETWORK = {
    "smoke": dict(p=64, n_test=128, h=8, depth=2, alphas=(0.3, 10.0), temps=(1e-3, 1e-1), seeds=1, batch=16,
                  max_steps=500),
    "small": dict(p=256, n_test=1000, h=32, depth=2, alphas=(0.1, 1.0, 10.0), temps=(1e-3, 1e-2, 1e-1),
                  seeds=2, batch=32, max_steps=20_000),
    "paper": dict(p=1024, n_test=700, h=128, depth=3, alphas=tuple(10.0 ** np.arange(-2, 2.1, 0.5)),
                  temps=tuple(10.0 ** np.arange(-5, -0.9, 0.5)), seeds=5, batch=32, max_steps=2_000_000),
}
NET_CENSOR_MAX = 0.25   # above this fraction of runs stopped by the cap: inconclusive
DIFF_MIN = 0.01         # |err(T_max) - err(T_min)| needed at each end of the alpha grid


def judge_network(e: dict) -> tuple[Verdict, str]:
  lo, hi = e["diff_small_alpha"], e["diff_large_alpha"]
  rule = (f"d = mean test error at the largest T minus at the smallest T; inconclusive if > {NET_CENSOR_MAX:g} of "
          f"the runs hit the step cap; holds iff d has opposite signs at the smallest and the largest alpha with "
          f"|d| >= {DIFF_MIN:g} at both (noise helps in one regime, hurts in the other); otherwise does not hold.")
  if e["censored"] > NET_CENSOR_MAX:
    return Verdict.INCONCLUSIVE, rule
  ok = lo * hi < 0 and abs(lo) >= DIFF_MIN and abs(hi) >= DIFF_MIN
  return (Verdict.HOLDS if ok else Verdict.DOES_NOT_HOLD), rule


_NB = dict(censored=0.1, diff_small_alpha=-0.03, diff_large_alpha=0.05)


def _digits_parity(p, n_test, seed=0):
  from experiments.datasets import load_tabular
  x, y = load_tabular("digits")
  x = x.astype(np.float64)
  x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12) * np.sqrt(x.shape[1])
  yy = np.where(y % 2 == 0, 1.0, -1.0)
  perm = np.random.default_rng(seed).permutation(len(x))
  tr, te = perm[:p], perm[p:p + n_test]
  return x[tr], yy[tr], x[te], yy[te]


@claim("sgd_noise", "phase_diagram", "Network (alpha, T) diagram: noise hurts or helps depending on the regime",
       "for digits parity, the effect of T on test error has opposite signs in the lazy (large alpha) and the "
       "feature (small alpha) regimes",
       judge=judge_network,
       cases=[Case("holds", _NB, Verdict.HOLDS),
              Case("does not hold: same sign", {**_NB, "diff_small_alpha": 0.02}, Verdict.DOES_NOT_HOLD),
              Case("boundary: |d| at the threshold", {**_NB, "diff_small_alpha": -DIFF_MIN}, Verdict.HOLDS),
              Case("boundary: |d| just below", {**_NB, "diff_small_alpha": -0.0099}, Verdict.DOES_NOT_HOLD),
              Case("inconclusive", {**_NB, "censored": 0.5}, Verdict.INCONCLUSIVE)])
def phase_diagram(ctx: Context) -> Outcome:
  from models.sgd_noise import network_grid
  s = NETWORK[ctx.variant]
  xtr, ytr, xte, yte = _digits_parity(s["p"], s["n_test"])
  o = network_grid(0, xtr, ytr, xte, yte, alphas=s["alphas"], temperatures=s["temps"], seeds=s["seeds"],
                   h=s["h"], depth=s["depth"], batch=s["batch"], max_steps=s["max_steps"])
  err = o["test_error"].mean(-1)                  # [alpha, T]
  ev = dict(censored=float(1 - o["fitted"].mean()), diff_small_alpha=float(err[0, -1] - err[0, 0]),
            diff_large_alpha=float(err[-1, -1] - err[-1, 0]))
  rows = [[f"{a:g}", f"{t:g}", fmt(err[i, j]), fmt(o["rel_change"].mean(-1)[i, j]), fmt(o["t"].mean(-1)[i, j]),
           fmt(o["fitted"].mean(-1)[i, j])] for i, a in enumerate(o["alphas"]) for j, t in enumerate(o["temperatures"])]
  table = markdown_table(["alpha", "T", "test error", "‖w−w0‖/‖w0‖", "t*", "fitted"], rows)
  fig = line_figure(ctx, "sgd_noise_phase_diagram.png", "digits parity: test error vs T", o["temperatures"],
                    [(f"alpha={a:g}", o["test_error"][i]) for i, a in enumerate(o["alphas"])],
                    xlabel="T = dt / (h B)", ylabel="test error", logx=True)
  measured = {"d(small alpha)": f"{ev['diff_small_alpha']:+.3f}", "d(large alpha)": f"{ev['diff_large_alpha']:+.3f}",
              "censored": f"{ev['censored']:.2f}"}
  return Outcome(measured=measured, evidence=ev, figures=ctx.figures(fig), table=table,
                 data=dict(test_error=o["test_error"].tolist(), rel_change=o["rel_change"].tolist(),
                           t=o["t"].tolist(), fitted=o["fitted"].tolist()))
