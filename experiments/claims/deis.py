"""Claims of paper 12 (Zhang & Chen, "Fast Sampling of Diffusion Models with Exponential Integrator",
ICLR 2023, arXiv:2204.13902), measured with an exact noise predictor (no learning error).

Set-up (the paper note's CPU reproduction): data = mixture of 8 Gaussians on a circle of radius 4, std
0.3, in 2-D; linear VP schedule β₀ = 0.1, β₁ = 20, t from 1 down to ε_s = 1e-3; ε* analytic
(:func:`models.deis.gmm_noise_predictor`). From the same x_T ~ N(0, I), every sampler is compared in
float64 with a reference solve (ρRK4, 4000 steps uniform in log ρ), itself checked against an
independent solve of the probability-flow ODE in t (RK4, 8000 quadratic-t steps). Sampler error =
mean over x_T of ‖x̂₀ − x₀^ref‖₂ (the pure discretisation error).

ei_vs_euler  exponential-integrator samplers beat Euler-in-t by orders of magnitude at <= 20 NFE.
orders       the empirical orders (log-log slope of the error between the two largest NFE) are near
             the methods' orders.
digits       with one noise predictor trained on sklearn digits 8x8 (``experiments/tasks/deis.py``,
             through ``train_lib``: a residual adaptive-LayerNorm MLP with a learned skip, EMA weights,
             cosine LR), sample quality vs NFE of Euler-in-t, DDIM and tAB-3, measured by a Fréchet
             distance in the hidden features of an MLP digit classifier fitted by the zoo; the held-out
             ε-loss is reported overall, per t bin and along training (flatness).
"""
from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from experiments.claims import Case, Context, Outcome, Verdict, claim, pyplot
from experiments.claims.report import markdown_table

ALL_METHODS = ("euler_t", "ddim", "tab1", "tab2", "tab3", "rab3", "ipndm", "rk_heun", "rk_kutta3", "rk4")
ALL_GRIDS = ("uniform_t", "quadratic_t", "log_rho", "edm")
SETTINGS = {
    "smoke": dict(batch=16, nfes=(5, 10), grids=("quadratic_t",), methods=("euler_t", "ddim", "tab3"),
                  ref_steps=100, check_steps=200),
    "small": dict(batch=512, nfes=(5, 10, 20, 50), grids=ALL_GRIDS, methods=ALL_METHODS, ref_steps=4000,
                  check_steps=8000),
    "paper": dict(batch=2048, nfes=(5, 10, 15, 20, 50, 100), grids=ALL_GRIDS, methods=ALL_METHODS,
                  ref_steps=8000, check_steps=16000),
}
# formal orders (global error ~ h^p); iPNDM's fixed weights assume equal steps, so it is reported but
# not judged (on non-uniform grids its order drops)
ORDERS = {"euler_t": 1, "ddim": 1, "tab1": 2, "tab2": 3, "tab3": 4, "rab3": 4, "rk_heun": 2, "rk_kutta3": 3,
          "rk4": 4}
T_MIN = 1e-3
RATIO_ORDERS_OF_MAGNITUDE = 100.0   # "orders of magnitude": at least 100x smaller error
REF_MARGIN = 10.0                   # the reference must be 10x more accurate than the smallest error
ORDER_TOL = 0.4                     # |slope / p − 1| <= 0.4
LOW_NFE = (10, 20)                  # judged budgets: every swept NFE in [10, 20] ("<= 20 NFE")


@functools.lru_cache(maxsize=4)
def _sweep(variant: str, seed: int) -> dict:
  from models.deis import gmm_sweep
  p = SETTINGS[variant]
  s = gmm_sweep(seed, batch=p["batch"], nfes=p["nfes"], grids=p["grids"], methods=p["methods"],
                ref_steps=p["ref_steps"], check_steps=p["check_steps"], t_min=T_MIN)
  return dict(s, settings=p)


def _best(errors, methods, grids, nfe):
  cands = [((m, g), errors[(m, g, nfe)][0]) for m in methods for g in grids if (m, g, nfe) in errors]
  return min(cands, key=lambda c: c[1]) if cands else (None, float("nan"))


def _error_table(s) -> str:
  p, errors = s["settings"], s["errors"]
  lines = ["Mean ‖x̂₀ − x₀^ref‖ (± s.e.) by grid, method and nominal NFE (RK methods use "
           "⌊NFE/stages⌋ steps; actual NFE in brackets when different).", ""]
  for g in p["grids"]:
    lines += [f"**grid {g}**", "", "| method | " + " | ".join(f"NFE {n}" for n in p["nfes"]) + " |",
              "|---|" + "---|" * len(p["nfes"])]
    for m in p["methods"]:
      cells = []
      for n in p["nfes"]:
        if (m, g, n) not in errors:
          cells.append("—")
          continue
        e, se, actual = errors[(m, g, n)]
        cells.append(f"{e:.2e} ± {se:.0e}" + (f" [{actual}]" if actual != n else ""))
      lines.append(f"| {m} | " + " | ".join(cells) + " |")
    lines.append("")
  return "\n".join(lines)


def _nfe_ticks(ax, nfes) -> None:
  from matplotlib.ticker import NullFormatter
  ax.set_xticks(list(nfes), [str(n) for n in nfes])
  ax.xaxis.set_minor_formatter(NullFormatter())
  ax.set_xlabel("NFE")


def _plot_errors(ctx: Context, s) -> str:
  plt = pyplot()
  p, errors = s["settings"], s["errors"]
  fig, axes = plt.subplots(1, len(p["grids"]), figsize=(4.2 * len(p["grids"]), 4.0), sharey=True, squeeze=False)
  for ax, g in zip(axes[0], p["grids"]):
    for m in p["methods"]:
      pts = sorted((errors[(m, g, n)][2], errors[(m, g, n)][0]) for n in p["nfes"] if (m, g, n) in errors)
      if pts:
        style = "k--" if m == "euler_t" else "-"
        ax.loglog(*zip(*pts), style, marker="o", ms=3, label=m)
    ax.set_title(f"grid: {g}")
    _nfe_ticks(ax, p["nfes"])
    ax.grid(True, which="both", alpha=0.3)
  axes[0][0].set_ylabel("mean ‖x̂₀ − x₀^ref‖ (float64)")
  axes[0][-1].legend(fontsize=7)
  fig.suptitle("DEIS samplers on an 8-Gaussian mixture with the exact noise predictor")
  return ctx.save_figure(fig, "deis_error_vs_nfe.png")


def _plot_samples(ctx: Context, s) -> str:
  plt = pyplot()
  shown = [m for m in ("euler_t", "ddim", "tab3", "rk_kutta3") if m in s["samples"]]
  fig, axes = plt.subplots(1, len(shown) + 1, figsize=(3.2 * (len(shown) + 1), 3.3), sharex=True, sharey=True)
  axes[0].scatter(*s["ref"].T, s=3)
  axes[0].set_title("reference (ρRK4)")
  for ax, m in zip(axes[1:], shown):
    ax.scatter(*s["ref"].T, s=3, c="0.8")
    ax.scatter(*s["samples"][m].T, s=3)
    ax.set_title(f"{m}, 10 NFE, quadratic t")
  for ax in axes:
    ax.set_aspect("equal")
  return ctx.save_figure(fig, "deis_samples_10nfe.png")


def _judged(nfes) -> list[int]:
  return [n for n in nfes if LOW_NFE[0] <= n <= LOW_NFE[1]]


def judge_ei_vs_euler(e: dict) -> tuple[Verdict, str]:
  """Holds iff Euler-in-t (best grid) has >= 100x the best exponential-integrator error at every judged NFE;
  inconclusive when the reference is not 10x more accurate than the smallest measured error."""
  rule = (f"holds iff at every NFE in [{LOW_NFE[0]}, {LOW_NFE[1]}] the best-grid Euler-in-t error is >= "
          f"{RATIO_ORDERS_OF_MAGNITUDE:g}x the best exponential-integrator error (over {', '.join(e['ei_methods'])} "
          f"and the grids {', '.join(e['grids'])}); does not hold otherwise; inconclusive if the reference's "
          f"disagreement with an independent PF-ODE solve is not {REF_MARGIN:g}x below the smallest error. "
          f"{e['batch']} shared x_T, float64, mixture of 8 Gaussians (radius 4, std 0.3).")
  if not e["reference_error"] * REF_MARGIN <= e["smallest_error"]:
    return Verdict.INCONCLUSIVE, rule
  ok = all(r >= RATIO_ORDERS_OF_MAGNITUDE for r in e["ratios"].values())
  return (Verdict.HOLDS if ok else Verdict.DOES_NOT_HOLD), rule


def _ei_case(ratios, ref=1e-9, smallest=1e-6):
  return {"ratios": ratios, "reference_error": ref, "smallest_error": smallest, "batch": 512,
          "ei_methods": ["ddim", "tab3"], "grids": ["quadratic_t"]}


@claim("deis", "ei_vs_euler", "Exponential integrators vs Euler-in-t at low NFE (exact GMM score)",
       "with an exact noise predictor, exponential-integrator samplers (DDIM, tAB/ρAB/ρRK-DEIS, iPNDM) have "
       "orders of magnitude smaller error than Euler on the probability-flow ODE at <= 20 NFE",
       judge=judge_ei_vs_euler,
       cases=[Case("holds", _ei_case({"10": 150.0, "20": 900.0}), Verdict.HOLDS),
              Case("does not hold: one order of magnitude", _ei_case({"10": 4.6, "20": 9.0}), Verdict.DOES_NOT_HOLD),
              Case("boundary: exactly 100x", _ei_case({"10": 100.0, "20": 300.0}), Verdict.HOLDS),
              Case("boundary: just below 100x", _ei_case({"10": 99.9, "20": 300.0}), Verdict.DOES_NOT_HOLD),
              Case("inconclusive: reference too coarse", _ei_case({"10": 150.0, "20": 900.0}, ref=2e-7),
                   Verdict.INCONCLUSIVE)])
def ei_vs_euler(ctx: Context) -> Outcome:
  s = _sweep(ctx.variant, ctx.seed)
  p, errors = s["settings"], s["errors"]
  ei = [m for m in p["methods"] if m != "euler_t"]
  judged = _judged(p["nfes"])
  measured, ratios = {}, {}
  for n in p["nfes"]:
    (eu_m, eu_g), eu_e = _best(errors, ["euler_t"], p["grids"], n)
    (ei_m, ei_g), ei_e = _best(errors, ei, p["grids"], n)
    ratios[n] = eu_e / ei_e
    measured[f"NFE {n}: Euler-t best error ({eu_g})"] = eu_e
    measured[f"NFE {n}: best EI error ({ei_m}, {ei_g})"] = ei_e
    measured[f"NFE {n}: ratio Euler-t / best EI"] = ratios[n]
    ctx.log(f"NFE {n}: Euler-t {eu_e:.2e} ({eu_g}) vs best EI {ei_e:.2e} ({ei_m}, {ei_g}): x{ratios[n]:.1f}")
  for n in judged:
    _, ddim_e = _best(errors, ["ddim"], p["grids"], n)
    measured[f"NFE {n}: ratio Euler-t / DDIM (best grids)"] = _best(errors, ["euler_t"], p["grids"], n)[1] / ddim_e
  measured["reference vs independent PF-ODE solve"] = s["ref_err"]
  evidence = {"ratios": {str(n): float(ratios[n]) for n in judged}, "reference_error": s["ref_err"],
              "smallest_error": float(min(v[0] for v in errors.values())), "batch": p["batch"],
              "ei_methods": list(ei), "grids": list(p["grids"])}
  figures = ctx.figures(lambda: _plot_errors(ctx, s), lambda: _plot_samples(ctx, s))
  return Outcome(
      measured=measured, evidence=evidence, figures=figures, table=_error_table(s),
      data={"errors": {f"{m}|{g}|{n}": v for (m, g, n), v in errors.items()}, "reference_error": s["ref_err"]})


def judge_orders(e: dict) -> tuple[Verdict, str]:
  """Holds iff every judged method's median slope is within ±ORDER_TOL (relative) of its formal order."""
  rule = (f"holds iff for every method with a formal order p ({', '.join(f'{m} {p}' for m, p in ORDERS.items())}) "
          f"the median over grids of the log-log slope between NFE {e['nfe_lo']} and {e['nfe_hi']} (actual NFE "
          f"for RK) is within ±{ORDER_TOL:.0%} of p; iPNDM is reported only.")
  ok = all(abs(v / ORDERS[m] - 1) <= ORDER_TOL for m, v in e["median_slopes"].items())
  return (Verdict.HOLDS if ok else Verdict.DOES_NOT_HOLD), rule


def _orders_case(slopes):
  return {"median_slopes": slopes, "nfe_lo": 20, "nfe_hi": 50}


@claim("deis", "orders", "Empirical convergence orders of the DEIS samplers (exact GMM score)",
       "log-log error slopes approach the solvers' orders as NFE grows (DDIM 1, tAB-r r+1, ρAB-3 4, "
       "ρRK Heun 2 / Kutta 3 / RK4 4)",
       judge=judge_orders,
       cases=[Case("holds", _orders_case({"ddim": 1.02, "tab3": 2.7, "rk4": 3.88}), Verdict.HOLDS),
              Case("does not hold", _orders_case({"ddim": 1.02, "tab3": 2.3, "rk4": 3.88}), Verdict.DOES_NOT_HOLD),
              Case("boundary: exactly -40 %", _orders_case({"ddim": 1.0, "rk_heun": 1.2}), Verdict.HOLDS),
              Case("boundary: just past +40 %", _orders_case({"ddim": 1.41, "rk_heun": 2.0}),
                   Verdict.DOES_NOT_HOLD)])
def orders(ctx: Context) -> Outcome:
  s = _sweep(ctx.variant, ctx.seed)
  p, errors = s["settings"], s["errors"]
  n_lo, n_hi = sorted(p["nfes"])[-2:]
  slopes = {}
  for m in p["methods"]:
    per_grid = []
    for g in p["grids"]:
      if (m, g, n_lo) in errors and (m, g, n_hi) in errors:
        (e0, _, a0), (e1, _, a1) = errors[(m, g, n_lo)], errors[(m, g, n_hi)]
        per_grid.append(math.log(e0 / e1) / math.log(a1 / a0))
    slopes[m] = (float(np.median(per_grid)), per_grid)
  judged = {m: slopes[m][0] for m in slopes if m in ORDERS}
  measured = {f"{m} slope (p={ORDERS.get(m, '—')})": round(v[0], 2) for m, v in slopes.items()}
  rows = [[m, ORDERS.get(m, "n/a (variable steps)"), round(med, 2), ", ".join(f"{x:.2f}" for x in per),
           (abs(med / ORDERS[m] - 1) <= ORDER_TOL) if m in ORDERS else None] for m, (med, per) in slopes.items()]
  table = markdown_table(["method", "formal order", "median slope", f"per grid ({', '.join(p['grids'])})",
                          f"within ±{ORDER_TOL:.0%}"], rows)
  return Outcome(measured=measured, evidence={"median_slopes": judged, "nfe_lo": n_lo, "nfe_hi": n_hi},
                 table=table, data={"slopes": slopes})


# ---------------------------------------------------------------------------------------------------
# (b) A trained noise predictor on sklearn digits 8x8: sample quality vs NFE.

DIGITS = {
    "smoke": dict(n_samples=128, nfes=(10,), grids=("quadratic_t",), boot=10, converged_steps=20, clf_iter=30),
    "small": dict(n_samples=1000, nfes=(5, 10, 20, 50), grids=("uniform_t", "quadratic_t", "log_rho"), boot=100,
                  converged_steps=250, clf_iter=400),
    "paper": dict(n_samples=2000, nfes=(5, 10, 15, 20, 50, 100), grids=("uniform_t", "quadratic_t", "log_rho", "edm"),
                  boot=200, converged_steps=500, clf_iter=400),
}
DIGIT_METHODS = ("euler_t", "ddim", "tab3")


def _frechet(fa: np.ndarray, fb: np.ndarray) -> float:
  """Fréchet distance of two feature sets ``[n, F]`` in float64 (``theory.common.stats.frechet_distance``)."""
  from theory.common.stats import frechet_distance
  with jax.enable_x64(True):
    return float(frechet_distance(np.asarray(fa, np.float64), np.asarray(fb, np.float64)))


MARGIN_SE = 2.0   # a difference in FD counts when it exceeds 2 paired-bootstrap standard errors


def judge_digits(e: dict) -> tuple[Verdict, str]:
  """margins: (FD Euler − FD method) / paired-bootstrap s.e. for DDIM and tAB-3 at each judged NFE."""
  rule = (f"holds iff at every NFE in [{LOW_NFE[0]}, {LOW_NFE[1]}] both DDIM and tAB-3 have a lower Fréchet distance "
          f"to the held-out digits than Euler-in-t by more than {MARGIN_SE:g} paired-bootstrap s.e.; does not hold "
          f"if either is worse by more than {MARGIN_SE:g} s.e.; inconclusive otherwise. FD on the hidden ReLU "
          f"features of an sklearn MLP classifier (32 units) trained on the training digits; {e['n_samples']} "
          f"samples from shared x_T; each method on its best grid of {', '.join(e['grids'])} (lowest FD summed over "
          "the judged NFE); float32, samples clipped to [−1, 1].")
  m = e["margins"].values()
  if all(v > MARGIN_SE for v in m):
    return Verdict.HOLDS, rule
  if any(v < -MARGIN_SE for v in m):
    return Verdict.DOES_NOT_HOLD, rule
  return Verdict.INCONCLUSIVE, rule


def _digits_case(margins):
  return {"margins": margins, "n_samples": 1000, "grids": ["uniform_t", "quadratic_t", "log_rho"]}


@claim("deis", "digits", "Sample quality vs NFE of a trained noise predictor on digits 8x8",
       "with the same trained model, DEIS (tAB-3) and DDIM give better samples than Euler-in-t at low NFE "
       "(paper: FID 4.17 at 10 NFE on CIFAR-10 where Euler needs hundreds of steps)",
       judge=judge_digits,
       cases=[Case("holds", _digits_case({"ddim@10": 5.0, "tab3@10": 3.1, "ddim@20": 2.5, "tab3@20": 4.0}),
                   Verdict.HOLDS),
              Case("does not hold", _digits_case({"ddim@10": -9.0, "tab3@10": -1.0, "ddim@20": 3.0, "tab3@20": 1.0}),
                   Verdict.DOES_NOT_HOLD),
              Case("inconclusive", _digits_case({"ddim@10": 1.0, "tab3@10": 3.0, "ddim@20": 3.0, "tab3@20": 3.0}),
                   Verdict.INCONCLUSIVE),
              Case("boundary: exactly 2 s.e. better is not enough", _digits_case({"ddim@10": 2.0, "tab3@10": 3.0}),
                   Verdict.INCONCLUSIVE),
              Case("boundary: exactly 2 s.e. worse is not a failure", _digits_case({"ddim@10": -2.0, "tab3@10": 3.0}),
                   Verdict.INCONCLUSIVE)])
def digits(ctx: Context) -> Outcome:
  from experiments.configs.deis import get_config
  from experiments.tasks.deis import T_BINS, classifier_features
  from experiments.train_lib.writers import read_metrics
  from models.deis import sweep_samples

  q = DIGITS[ctx.variant]
  cfg = get_config(ctx.variant)
  cfg.seed, cfg.train.tensorboard = ctx.seed, False
  task, res, workdir = ctx.train(cfg, "deis_digits", log=ctx.log)
  test_loss = res.eval_metrics["eval/test_loss"]
  eps = task.eps_fn(task.sampling_params(res.state.params, res.state.extra))   # EMA weights when on
  # the held-out loss curve (one row per evaluated step; a re-run appends, keep the last row per step)
  curve = {r["step"]: r for r in read_metrics(workdir) if "eval/test_loss" in r}
  curve_steps = sorted(curve)
  curve_ema = [curve[k]["eval/test_loss"] for k in curve_steps]
  curve_raw = [curve[k].get("eval/raw_test_loss", float("nan")) for k in curve_steps]
  # flatness: relative drop of the held-out loss over the last 40 % of training
  late = min(curve_steps, key=lambda k: abs(k - 0.6 * cfg.train.total_steps))
  late_drop = (curve[late]["eval/test_loss"] - test_loss) / test_loss
  sched, t_min = task.schedule, cfg.model.t_min

  feat, clf = classifier_features(task.x_train, task.y_train, max_iter=q["clf_iter"], seed=ctx.seed)
  clf_acc = float(clf.score(task.x_test, task.y_test))
  f_test = feat(task.x_test)

  x_t = jax.random.normal(jax.random.PRNGKey(ctx.seed + 1), (q["n_samples"], 64), jnp.float32)
  raw = {k: v for k, (v, _) in sweep_samples(eps, sched, x_t, methods=DIGIT_METHODS, grids=q["grids"],
                                             nfes=q["nfes"], t_min=t_min).items()}
  converged_raw = sweep_samples(eps, sched, x_t, methods=("rk4",), grids=("log_rho",),
                                nfes=(4 * q["converged_steps"],), t_min=t_min)[("rk4", "log_rho",
                                                                                4 * q["converged_steps"])][0]
  # the pure discretisation error of each sampler on the trained model: distance to the model's own
  # converged ODE solution from the same x_T (before clipping), mean over samples, 64 pixels in [−1, 1]
  ode_err = {k: float(np.mean(np.linalg.norm(v - converged_raw, axis=-1))) for k, v in raw.items()}
  all_samples = {k: np.clip(v, -1.0, 1.0) for k, v in raw.items()}
  converged = np.clip(converged_raw, -1.0, 1.0)
  fd_all = {k: _frechet(feat(v), f_test) for k, v in all_samples.items()}
  judged = _judged(q["nfes"])
  # each method on its own best grid (best = lowest FD summed over the judged NFE)
  best_grid = {m: min(q["grids"], key=lambda g: sum(fd_all[(m, g, n)] for n in judged)
                      or fd_all[(m, g, q["nfes"][-1])]) for m in DIGIT_METHODS}
  samples = {(m, n): all_samples[(m, best_grid[m], n)] for m in DIGIT_METHODS for n in q["nfes"]}
  feats = {k: feat(v) for k, v in samples.items()}
  fd = {k: fd_all[(k[0], best_grid[k[0]], k[1])] for k in samples}
  fd_converged = _frechet(feat(converged), f_test)
  rng = np.random.default_rng(ctx.seed)
  f_train = feat(task.x_train[rng.choice(len(task.x_train), min(len(task.x_train), q["n_samples"]), replace=False)])
  fd_real = _frechet(f_train, f_test)
  for k, v in fd_all.items():
    ctx.log(f"{k[0]:8s} {k[1]:12s} NFE {k[2]:3d}: FD {v:.3f}")

  # paired bootstrap of FD(euler) − FD(method) over generated samples (same x_T) and test digits
  diff_se = {}
  for n in judged:
    for m in ("ddim", "tab3"):
      reps = []
      for _ in range(q["boot"]):
        i = rng.integers(0, q["n_samples"], q["n_samples"])
        j = rng.integers(0, len(f_test), len(f_test))
        reps.append(_frechet(feats[("euler_t", n)][i], f_test[j]) - _frechet(feats[(m, n)][i], f_test[j]))
      diff_se[(m, n)] = float(np.std(reps))
  margins = {(m, n): (fd[("euler_t", n)] - fd[(m, n)]) / max(diff_se[(m, n)], 1e-12) for (m, n) in diff_se}
  measured = {"held-out ε-loss" + (" (EMA weights)" if task.use_ema else ""): test_loss}
  if task.use_ema:
    measured["held-out ε-loss (raw weights)"] = res.eval_metrics["eval/raw_test_loss"]
  measured[f"held-out ε-loss relative drop over the last 40 % of training (step {late} -> "
           f"{cfg.train.total_steps})"] = late_drop
  for lo, hi in T_BINS:
    measured[f"held-out ε-loss, t in [{lo:.1f}, {hi:.1f}]"] = res.eval_metrics[f"eval/test_loss_t{lo:.1f}-{hi:.1f}"]
  measured.update({"feature classifier test accuracy": clf_acc,
              "FD real train vs test (floor)": fd_real,
              f"FD ρRK4 {q['converged_steps']} steps (model's own limit)": fd_converged})
  for n in judged:
    for m in DIGIT_METHODS:
      measured[f"FD {m} @ {n} NFE"] = fd[(m, n)]
  measured.update({f"best grid {m}": best_grid[m] for m in DIGIT_METHODS})
  for n in judged:   # reported, not judged: distance to the model's converged ODE solution, best grid per method
    for m in DIGIT_METHODS:
      g = min(q["grids"], key=lambda g: ode_err[(m, g, n)])
      measured[f"ODE error vs converged, {m} @ {n} NFE ({g})"] = ode_err[(m, g, n)]
  table = ["| method | grid | " + " | ".join(f"NFE {n}" for n in q["nfes"]) + " |",
           "|---|---|" + "---|" * len(q["nfes"])]
  for m in DIGIT_METHODS:
    for g in q["grids"]:
      table.append(f"| {m} | {g}{' (best)' if g == best_grid[m] else ''} | "
                   + " | ".join(f"{fd_all[(m, g, n)]:.3f}" for n in q["nfes"]) + " |")
  table += ["", f"Distance to the model's converged ODE solution (ρRK4, {q['converged_steps']} steps, same x_T; mean "
            "‖x̂₀ − x₀^conv‖ over samples, 64 pixels in [−1, 1], before clipping; reported, not judged):", "",
            "| method | grid | " + " | ".join(f"NFE {n}" for n in q["nfes"]) + " |",
            "|---|---|" + "---|" * len(q["nfes"])]
  for m in DIGIT_METHODS:
    for g in q["grids"]:
      table.append(f"| {m} | {g} | " + " | ".join(f"{ode_err[(m, g, n)]:.3f}" for n in q["nfes"]) + " |")
  table += ["", "Paired bootstrap (FD Euler − FD method) / s.e.: "
            + ", ".join(f"{m}@{n}: {v:.1f}" for (m, n), v in margins.items())]

  def plot_fd():
    plt = pyplot()
    fig, axes = plt.subplots(1, 4, figsize=(19, 4), gridspec_kw=dict(width_ratios=[1, 1.3, 1, 1]))
    for m in DIGIT_METHODS:
      axes[0].loglog(q["nfes"], [fd[(m, n)] for n in q["nfes"]], marker="o", label=f"{m} ({best_grid[m]})")
    axes[0].axhline(fd_converged, color="k", ls=":", label="ρRK4 converged")
    axes[0].axhline(fd_real, color="0.5", ls="--", label="real vs real")
    _nfe_ticks(axes[0], q["nfes"])
    axes[0].set_ylabel("Fréchet distance (classifier features)")
    axes[0].legend(fontsize=8)
    n = 10 if 10 in q["nfes"] else q["nfes"][0]
    rows = [samples[(m, n)][:10] for m in DIGIT_METHODS] + [converged[:10]]
    pad = lambda im: np.pad(im, 1, constant_values=-1.0)   # a blank border between digits
    grid = np.concatenate([np.concatenate([pad(im) for im in r.reshape(-1, 8, 8)], axis=1) for r in rows], 0)
    axes[1].imshow(grid, cmap="gray_r", vmin=-1, vmax=1)
    axes[1].set_yticks([5 + 10 * i for i in range(len(rows))], [f"{m} {n}" for m in DIGIT_METHODS] + ["ρRK4"])
    axes[1].set_xticks([])
    axes[1].set_title(f"same x_T, {n} NFE (best grid of each method)")
    axes[2].plot(curve_steps, curve_ema, marker="o", ms=3, label="EMA weights" if task.use_ema else "weights")
    if task.use_ema:
      axes[2].plot(curve_steps, curve_raw, marker="o", ms=3, label="raw weights")
    axes[2].set_xlabel("training step")
    axes[2].set_ylabel("held-out ε-loss (fixed t, noise)")
    axes[2].set_title(f"{type(task.model).__name__}: held-out loss")
    axes[2].grid(True, alpha=0.3)
    axes[2].legend(fontsize=8)
    for m in DIGIT_METHODS:   # each method on its grid of smallest summed ODE error
      g = min(q["grids"], key=lambda g: sum(ode_err[(m, g, n)] for n in q["nfes"]))
      axes[3].loglog(q["nfes"], [ode_err[(m, g, n)] for n in q["nfes"]], marker="o", label=f"{m} ({g})")
    _nfe_ticks(axes[3], q["nfes"])
    axes[3].set_ylabel("mean ‖x̂₀ − x₀^conv‖ (model's own ODE)")
    axes[3].set_title("distance to the converged ODE solution")
    axes[3].grid(True, which="both", alpha=0.3)
    axes[3].legend(fontsize=8)
    return ctx.save_figure(fig, "deis_digits_fd.png")

  return Outcome(
      measured=measured,
      evidence={"margins": {f"{m}@{n}": float(v) for (m, n), v in margins.items()}, "n_samples": q["n_samples"],
                "grids": list(q["grids"])},
      figures=ctx.figures(plot_fd), table="\n".join(table),
      data={"fd": {f"{m}|{g}|{n}": v for (m, g, n), v in fd_all.items()}, "fd_converged": fd_converged, "fd_real": fd_real,
            "ode_error": {f"{m}|{g}|{n}": v for (m, g, n), v in ode_err.items()},
            "eval_curve": {"step": curve_steps, "test_loss": curve_ema, "raw_test_loss": curve_raw},
            "network": type(task.model).__name__})
