"""Claim of paper 27 (Berghaus et al., "Foundation Inference Models for Markov Jump Processes", NeurIPS 2024).

zero_shot  one mini-FIM network, pretrained on the synthetic prior, infers rate matrices of unseen processes
           with C = 2..4 states zero-shot: close to the grid MLE on dense noise-free data, at least as good as
           the MLEs on sparse, few-path, 10 %-noise data, much faster per inference, with calibrated
           per-rate uncertainties.
"""
from __future__ import annotations

import jax
import numpy as np

from experiments.claims import Case, Context, Outcome, Verdict, claim, pyplot
from experiments.claims.report import fmt_mean_se, markdown_table, mean_se
from models.fim_mjp import experiment as E

# cells: name -> (paths P, observations per path L on a regular grid over [0, 10], label-flip probability)
SETTINGS = {
    # smoke: one cell shape (one sampler compile) and no structured systems: a pipeline check in seconds
    "smoke": dict(cells={"dense clean": (4, 6, 0.0), "dense noisy": (4, 6, 0.1), "sparse clean": (4, 6, 0.0),
                         "sparse noisy": (4, 6, 0.1)}, n=3, max_iter=5, systems_n=0, system_cell=(4, 6, 0.01),
                  cell_c=(3,)),   # one C in the cells: one compile per MLE
    "small": dict(cells={"dense clean": (64, 50, 0.0), "dense noisy": (64, 50, 0.1), "sparse clean": (16, 10, 0.0),
                         "sparse noisy": (16, 10, 0.1)}, n=24, max_iter=200, systems_n=6, system_cell=(64, 50, 0.01)),
    "paper": dict(cells={"dense clean": (64, 50, 0.0), "dense noisy": (64, 50, 0.1), "sparse clean": (16, 10, 0.0),
                         "sparse noisy": (16, 10, 0.1)}, n=100, max_iter=500, systems_n=20, system_cell=(64, 50, 0.01)),
}
DENSE_RATIO = 1.5        # FIM RMSE <= this x the grid MLE's in the dense noise-free cell
SPEEDUP_MIN = 100.0      # FIM per-inference time at least this many times below the fastest MLE's
Z_SD = (0.7, 1.5)        # sd of the z-scores of the true rates under the predicted Gaussians
C_REQUIRED = (2, 3, 4)   # state counts one network must handle, each better than the prior-mean predictor


def judge(e: dict) -> tuple[Verdict, str]:
  mle_sparse = min(e["grid_mle_sparse_noisy"], e["hmm_mle_sparse_noisy"])
  per_c = all(str(c) in e["fim_by_c"] and e["fim_by_c"][str(c)] < e["prior_by_c"][str(c)] for c in C_REQUIRED)
  ok = (e["fim_dense"] <= DENSE_RATIO * e["grid_mle_dense"] and e["fim_sparse_noisy"] <= mle_sparse
        and e["speedup"] >= SPEEDUP_MIN and Z_SD[0] <= e["z_sd"] <= Z_SD[1] and per_c)
  rule = (f"holds iff (mean relative rate RMSE over processes) mini-FIM <= {DENSE_RATIO:g} x the grid MLE in the "
          f"dense noise-free cell, mini-FIM <= min(grid MLE, noisy-observation HMM MLE) in the sparse few-path "
          f"10 %-noise cell, one FIM inference >= {SPEEDUP_MIN:g}x faster than the fastest MLE fit (median per "
          f"process), the z-scores of the true rates on existing links have sd in [{Z_SD[0]:g}, {Z_SD[1]:g}], and the "
          f"same network beats the prior-mean predictor for every C in {C_REQUIRED}; does not hold otherwise. "
          f"{e['n_per_cell']} fresh prior processes per cell; one trained network.")
  return (Verdict.HOLDS if ok else Verdict.DOES_NOT_HOLD), rule


_E = dict(fim_dense=0.20, grid_mle_dense=0.18, fim_sparse_noisy=0.45, grid_mle_sparse_noisy=0.9,
          hmm_mle_sparse_noisy=0.7, speedup=2000.0, z_sd=1.1, fim_by_c={"2": 0.3, "3": 0.35, "4": 0.4},
          prior_by_c={"2": 0.6, "3": 0.6, "4": 0.6}, n_per_cell=24)


@claim("fim_mjp", "zero_shot", "One pretrained network infers MJP rates zero-shot, on par with the MLEs",
       "FIM-MJP infers MJPs of different dimensionalities zero-shot and performs on par with models fit to the "
       "target data (here: the grid and noisy-observation MLEs), at one forward pass per inference",
       judge=judge,
       cases=[Case("holds", _E, Verdict.HOLDS),
              Case("does not hold: dense RMSE 2x the MLE", {**_E, "fim_dense": 0.36}, Verdict.DOES_NOT_HOLD),
              Case("does not hold: worse than the HMM MLE when sparse and noisy", {**_E, "fim_sparse_noisy": 0.75},
                   Verdict.DOES_NOT_HOLD),
              Case("does not hold: overconfident", {**_E, "z_sd": 3.0}, Verdict.DOES_NOT_HOLD),
              Case("does not hold: C = 4 no better than the prior mean",
                   {**_E, "fim_by_c": {"2": 0.3, "3": 0.35, "4": 0.6}}, Verdict.DOES_NOT_HOLD),
              Case("boundary: dense ratio exactly 1.5, speedup exactly 100, z sd 0.7",
                   {**_E, "fim_dense": 0.27, "speedup": 100.0, "z_sd": 0.7}, Verdict.HOLDS),
              Case("boundary: speedup just below 100", {**_E, "speedup": 99.9}, Verdict.DOES_NOT_HOLD)])
def zero_shot(ctx: Context) -> Outcome:
  from experiments.configs.fim_mjp import get_config

  s = SETTINGS[ctx.variant]
  cfg = get_config(ctx.variant)
  cfg.train.tensorboard = False
  task, res, _ = ctx.train(cfg, "fim_mjp/pretrain", log=ctx.log)
  ctx.log(f"pretrained: eval {res.eval_metrics}")
  params, model, prior = res.state.params, task.model, task.prior

  @jax.jit
  def _fwd(b):
    out = model.apply({"params": params}, b.states, b.times, b.obs_mask, b.path_mask)
    return out["mean"], out["logstd"]

  key = jax.random.PRNGKey(ctx.seed + 27)
  prior_mean = E.prior_mean_rates(jax.random.fold_in(key, 0), prior)
  results, all_z, by_c = {}, [], {}
  for k, (name, (P, L, noise)) in enumerate(s["cells"].items()):
    cell_prior = prior._replace(c_choices=s["cell_c"]) if "cell_c" in s else prior
    b = E.make_cell(jax.random.fold_in(key, k + 1), s["n"], n_paths=P, n_obs=L, noise=noise, cfg=cell_prior)
    r = E.evaluate(_fwd, b, prior_mean=prior_mean, max_iter=s["max_iter"])
    results[name] = r
    all_z.append(r["fim"]["z"])
    ns = np.asarray(b.n_states)
    for c in np.unique(ns):
      by_c.setdefault(int(c), {"fim": [], "prior_mean": []})
      by_c[int(c)]["fim"].extend(r["fim"]["rmse"][ns == c].tolist())
      by_c[int(c)]["prior_mean"].extend(r["prior_mean"]["rmse"][ns == c].tolist())
    ctx.log(f"{name}: " + ", ".join(f"{m} {np.mean(v['rmse']):.3f}" for m, v in r.items()))
  systems = {}
  P, L, noise = s["system_cell"]
  for k, (name, F) in enumerate(E.TEST_SYSTEMS.items() if s["systems_n"] > 0 else ()):
    b = E.system_batch(jax.random.fold_in(key, 100 + k), F, s["systems_n"], n_paths=P, n_obs=L, noise=noise,
                       c_max=prior.c_max)
    systems[name] = E.evaluate(_fwd, b, methods=("fim", "grid_mle", "naive"), max_iter=s["max_iter"])
  z = np.concatenate(all_z)
  z_sd = float(np.std(z)) if z.size > 1 else float("nan")
  methods = [m for m in E.METHODS]
  rm = lambda r, m: float(np.mean(r[m]["rmse"])) if m in r else float("nan")  # noqa: E731
  fim_secs = max(r["fim"]["seconds"] for r in results.values())
  mle_secs = min(r[m]["seconds"] for r in results.values() for m in ("grid_mle", "hmm_mle") if m in r)
  speedup = mle_secs / fim_secs
  dn, sn = results["dense clean"], results["sparse noisy"]
  evidence = dict(fim_dense=rm(dn, "fim"), grid_mle_dense=rm(dn, "grid_mle"), fim_sparse_noisy=rm(sn, "fim"),
                  grid_mle_sparse_noisy=rm(sn, "grid_mle"), hmm_mle_sparse_noisy=rm(sn, "hmm_mle"),
                  speedup=float(speedup), z_sd=z_sd,
                  fim_by_c={str(c): float(np.mean(v["fim"])) for c, v in by_c.items()},
                  prior_by_c={str(c): float(np.mean(v["prior_mean"])) for c, v in by_c.items()},
                  n_per_cell=s["n"])
  rows = []
  for name, r in results.items():
    P, L, noise = s["cells"][name]
    for m in methods:
      if m in r:
        rows.append([name, P, L, noise, m, fmt_mean_se(r[m]["rmse"]), fmt_mean_se(r[m]["tv"]),
                     f"{r[m]['seconds'] * 1e3:.3g}"])
  for name, r in systems.items():
    for m in ("fim", "grid_mle", "naive"):
      rows.append([f"system {name}", s["system_cell"][0], s["system_cell"][1], s["system_cell"][2], m,
                   fmt_mean_se(r[m]["rmse"]), fmt_mean_se(r[m]["tv"]), f"{r[m]['seconds'] * 1e3:.3g}"])
  table = markdown_table(["cell", "P", "L", "noise", "method", "relative rate RMSE", "stationary TV",
                          "ms / inference"], rows)
  table += "\n\n" + markdown_table(["C", "FIM RMSE", "prior-mean RMSE", "processes"],
                                     [[c, fmt_mean_se(v["fim"]), fmt_mean_se(v["prior_mean"]), len(v["fim"])]
                                      for c, v in sorted(by_c.items())])
  figures = ctx.figures(lambda: _plot(ctx, results, z, s))
  return Outcome(
      measured={"RMSE dense clean FIM / grid MLE": f"{evidence['fim_dense']:.3f} / {evidence['grid_mle_dense']:.3f}",
                "RMSE sparse noisy FIM / grid MLE / HMM MLE": (f"{evidence['fim_sparse_noisy']:.3f} / "
                                                              f"{evidence['grid_mle_sparse_noisy']:.3f} / "
                                                              f"{evidence['hmm_mle_sparse_noisy']:.3f}"),
                "speedup per inference": f"{speedup:.0f}x", "z-score sd": z_sd,
                "pretraining eval rel. RMSE": res.eval_metrics.get("eval/rel_rmse", float("nan"))},
      evidence=evidence, figures=figures, table=table,
      data={"cells": {n: {m: {"rmse": v["rmse"].tolist(), "tv": v["tv"].tolist(), "seconds": v["seconds"]}
                          for m, v in r.items()} for n, r in results.items()},
            "systems": {n: {m: {"rmse": v["rmse"].tolist(), "F_mean": np.mean(v["F"], 0).tolist()}
                            for m, v in r.items()} for n, r in systems.items()},
            "eval_metrics": dict(res.eval_metrics)})


def _plot(ctx, results, z, s):
  plt = pyplot()
  fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
  names = list(results)
  shown = [m for m in E.METHODS]
  w = 0.8 / len(shown)
  for a, metric, label in ((axes[0], "rmse", "relative rate RMSE"), (axes[1], "tv", "stationary TV")):
    for j, m in enumerate(shown):
      vals = [mean_se(results[n][m][metric]) if m in results[n] else (np.nan, np.nan) for n in names]
      a.bar(np.arange(len(names)) + (j - len(shown) / 2 + 0.5) * w, [v[0] for v in vals], w,
            yerr=[2 * v[1] for v in vals], label=m, capsize=2)
    a.set_xticks(np.arange(len(names)))
    a.set_xticklabels([f"{n}\nP={s['cells'][n][0]}, L={s['cells'][n][1]}" for n in names], fontsize=7)
    a.set_ylabel(label + " (mean ± 2 s.e.)")
    a.set_yscale("log")
    a.legend(fontsize=7)
  zz = z[np.isfinite(z)]
  axes[2].hist(np.clip(zz, -6, 6), bins=40, density=True, alpha=0.7, label=f"z (sd {np.std(zz):.2f})")
  g = np.linspace(-6, 6, 200)
  axes[2].plot(g, np.exp(-g ** 2 / 2) / np.sqrt(2 * np.pi), "k--", label="N(0, 1)")
  axes[2].set_xlabel("(true rate − predicted mean) / predicted std, clipped to ±6")
  axes[2].legend(fontsize=7)
  axes[0].set_title("Zero-shot rate recovery per cell")
  axes[2].set_title("Calibration of the predicted rate std")
  return ctx.save_figure(fig, "fim_mjp_zero_shot.png")
