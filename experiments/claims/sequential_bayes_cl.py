"""Claims of paper 35 (Kessler et al., "On Sequential Bayesian Inference for Continual Learning", Entropy 2023,
arXiv 2301.01828).

hmc_forgets   sequential HMC with the posterior propagated by a density estimator (GMM by BIC, a moment-matched
              Gaussian) or not at all still forgets on the toy blobs (one head, 5 binary tasks), while joint
              HMC on every task seen so far does not.
blr           exact sequential Bayesian linear regression forgets task 1 under model misspecification and more
              under task-size imbalance (N1 << N2), while a well-specified model does not.
protocl       ProtoCL with a small replay buffer on class-incremental Split Digits beats fine-tuning by a wide
              margin and is on par with (or above) a softmax classifier with the same replay.
"""
from __future__ import annotations

import time

import numpy as np

from experiments.claims import Case, Context, Outcome, Verdict, claim, pyplot
from experiments.claims.report import fmt_mean_se, line_figure, markdown_table, mean_se
from experiments.continual import ContinualTask, Method, make_sequence, run_sequence, split_digits
from models.sequential_bayes_cl import bnn
from models.sequential_bayes_cl import experiment as E


def _matrix_figure(ctx, name, title, matrices: dict):
  def make():
    plt = pyplot()
    fig, axes = plt.subplots(1, len(matrices), figsize=(3.2 * len(matrices), 3.2))
    for ax, (lab, m) in zip(np.atleast_1d(axes), matrices.items()):
      m = np.asarray(m, float)
      ax.imshow(np.where(np.isnan(m), np.nan, m), vmin=0, vmax=1, cmap="viridis")
      for i in range(m.shape[0]):
        for j in range(i + 1):
          ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=6, color="w")
      ax.set(title=lab, xlabel="task j (evaluated)", ylabel="after task i")
      ax.title.set_fontsize(9)
    fig.suptitle(title, fontsize=10)
    return ctx.save_figure(fig, name)
  return make


def _bars_figure(ctx, name, title, names, acc, bwt):
  def make():
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    xs = np.arange(len(names))
    for off, (lab, vals) in zip((-0.2, 0.2), (("ACC", acc), ("BWT", bwt))):
      m, se = zip(*[mean_se(np.asarray(v)) if len(v) > 1 else (v[0], 0.0) for v in vals])
      ax.bar(xs + off, m, 0.4, yerr=2 * np.asarray(se), label=lab)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(xs, names, rotation=20, fontsize=8)
    ax.set(title=title, ylabel="accuracy / backward transfer")
    ax.legend(fontsize=8)
    return ctx.save_figure(fig, name)
  return make


# ---------------------------------------------------------------------------------------------------------
# (a) sequential HMC on the toy blobs

HMC = {
    "smoke": dict(n_per_blob=20, tasks=2, cfg=dict(chains=2, num_burnin=10, num_samples=10, num_leapfrog=5,
                                                   keep=8, components=(1,), max_components=1, fit_samples=20)),
    "small": dict(n_per_blob=200, tasks=5, cfg=dict(chains=4, num_burnin=300, num_samples=500, keep=400,
                                                    components=(1, 2, 3, 4, 5), max_components=5,
                                                    fit_samples=2000)),
    "paper": dict(n_per_blob=200, tasks=5, cfg=dict(chains=10, num_burnin=1000, num_samples=1000, thin=5,
                                                    keep=1000, components=tuple(range(1, 21)), max_components=20,
                                                    fit_samples=5000)),
}
SEQ_BWT_MAX = -0.10      # every sequential prior forgets at least this much
JOINT_BWT_MIN = -0.02    # joint HMC forgets at most this much
ACCEPT_MIN = 0.2         # a chain set accepting less than this is a failed sampler: inconclusive


def judge_hmc(e: dict) -> tuple[Verdict, str]:
  rule = (f"holds iff every sequential prior (GMM by BIC, moment-matched Gaussian, no propagation) has BWT <= "
          f"{SEQ_BWT_MAX:+.2f} and joint HMC on all tasks so far has BWT >= {JOINT_BWT_MIN:+.2f}; inconclusive if "
          f"some task's mean HMC acceptance is below {ACCEPT_MIN:g} (sampler failed). Toy blobs, one head.")
  if e["min_accept"] < ACCEPT_MIN:
    return Verdict.INCONCLUSIVE, rule
  ok = max(e["bwt_gmm"], e["bwt_gaussian"], e["bwt_none"]) <= SEQ_BWT_MAX and e["bwt_joint"] >= JOINT_BWT_MIN
  return (Verdict.HOLDS if ok else Verdict.DOES_NOT_HOLD), rule


_H = dict(bwt_gmm=-0.45, bwt_gaussian=-0.45, bwt_none=-0.48, bwt_joint=-0.003, min_accept=0.7)


@claim("sequential_bayes_cl", "hmc_forgets", "Sequential HMC with a propagated density-estimated prior forgets",
       "sequential Bayesian inference with HMC and a GMM (or Gaussian) fit of the posterior as the next prior "
       "still forgets the toy 2-D tasks; joint HMC over all tasks does not",
       judge=judge_hmc,
       cases=[Case("holds", _H, Verdict.HOLDS),
              Case("does not hold: the GMM prior keeps task 1", {**_H, "bwt_gmm": -0.02}, Verdict.DOES_NOT_HOLD),
              Case("does not hold: joint forgets", {**_H, "bwt_joint": -0.1}, Verdict.DOES_NOT_HOLD),
              Case("boundary: exactly at both thresholds", {**_H, "bwt_gaussian": SEQ_BWT_MAX,
                                                            "bwt_joint": JOINT_BWT_MIN}, Verdict.HOLDS),
              Case("inconclusive: sampler failed", {**_H, "min_accept": 0.05}, Verdict.INCONCLUSIVE)])
def hmc_forgets(ctx: Context) -> Outcome:
  s = HMC[ctx.variant]
  cfg = E.HMCConfig(**s["cfg"])
  data = bnn.toy_tasks(s["n_per_blob"], s["n_per_blob"], seed=ctx.seed)[: s["tasks"]]
  seq = make_sequence([ContinualTask(f"blobs-{k}-{k + 5}", *d, (0, 1)) for k, d in enumerate(data)], "domain", 2,
                      "toy_blobs")
  res, rows, times = {}, [], {}
  for prior in E.PRIORS:
    t0 = time.time()
    r = run_sequence(Method(f"hmc-{prior}", *E.hmc_method(prior, cfg)), seq, seed=ctx.seed,
                     workdir=ctx.scratch(f"hmc_{prior}"), log=ctx.log)
    times[prior] = time.time() - t0
    res[prior] = r
    rows.append([prior, r.acc, r.bwt, float(np.min(r.carry["accept"])), float(np.mean(r.carry["step"])),
                 " ".join(str(int(k)) for k in r.carry["components"]), round(times[prior], 1)])
  ev = {f"bwt_{p}": float(res[p].bwt) for p in E.PRIORS}
  ev.update({f"acc_{p}": float(res[p].acc) for p in E.PRIORS})
  ev["min_accept"] = float(min(np.min(res[p].carry["accept"]) for p in E.PRIORS))
  table = markdown_table(["prior", "ACC", "BWT", "min accept", "mean step", "GMM components per task", "s"], rows)
  figs = ctx.figures(_matrix_figure(ctx, "sequential_bayes_cl_hmc_matrices.png",
                                    "Sequential HMC on the toy blobs: A[i, j]",
                                    {p: res[p].matrix for p in E.PRIORS}))
  return Outcome(measured={f"BWT {p}": round(ev[f"bwt_{p}"], 3) for p in E.PRIORS}, evidence=ev, figures=figs,
                 table=table, data={"matrices": {p: res[p].matrix.tolist() for p in E.PRIORS}})


# ---------------------------------------------------------------------------------------------------------
# (b) Bayesian linear regression

BLR = {"smoke": dict(seeds=1, imbalance_n1=(1000, 10)), "small": dict(seeds=50), "paper": dict(seeds=200)}
MIS_RISE = 2.0           # misspecified: task-1 MSE after task 2 >= this x after task 1
SPEC_RISE_MAX = 1.5      # well specified: at most this rise (exact inference itself does not forget)
IMBALANCE_RISE = 1.5     # task-1 MSE after task 2 at the smallest N1/N2 >= this x the balanced one


def judge_blr(e: dict) -> tuple[Verdict, str]:
  ok = (e["mis_rise"] >= MIS_RISE and e["spec_rise"] <= SPEC_RISE_MAX and e["imbalance_rise"] >= IMBALANCE_RISE)
  rule = (f"holds iff, with exact posteriors, the misspecified (linear) model's task-1 MSE after task 2 is >= "
          f"{MIS_RISE:g}x its value after task 1 while the well-specified (quadratic) model's rises at most "
          f"{SPEC_RISE_MAX:g}x, and at N1/N2 = {e['min_ratio']:g} the misspecified model's task-1 MSE after task 2 is "
          f">= {IMBALANCE_RISE:g}x the balanced one (N2 = {e['n2']}; means over {e['seeds']} data sets).")
  return (Verdict.HOLDS if ok else Verdict.DOES_NOT_HOLD), rule


_B = dict(mis_rise=10.0, spec_rise=1.0, imbalance_rise=2.0, min_ratio=0.01, n2=1000, seeds=50)


@claim("sequential_bayes_cl", "blr", "Exact sequential inference forgets under misspecification and imbalance",
       "conjugate Bayesian linear regression: sequential = batch posterior, yet a misspecified model forgets task "
       "1, and task-size imbalance (N1 << N2) makes it worse",
       judge=judge_blr,
       cases=[Case("holds", _B, Verdict.HOLDS),
              Case("does not hold: no rise", {**_B, "mis_rise": 1.1}, Verdict.DOES_NOT_HOLD),
              Case("does not hold: the control forgets too", {**_B, "spec_rise": 3.0}, Verdict.DOES_NOT_HOLD),
              Case("boundary", {**_B, "mis_rise": MIS_RISE, "spec_rise": SPEC_RISE_MAX,
                                "imbalance_rise": IMBALANCE_RISE}, Verdict.HOLDS),
              Case("boundary: imbalance just short", {**_B, "imbalance_rise": IMBALANCE_RISE - 1e-9},
                   Verdict.DOES_NOT_HOLD)])
def blr(ctx: Context) -> Outcome:
  cfg = E.BLRConfig(**BLR[ctx.variant])
  r = E.blr_forgetting(cfg)
  mis, ok, imb = r["misspecified"].mean(0), r["well_specified"].mean(0), r["imbalance"].mean(1)
  n1 = r["imbalance_n1"]
  bal = int(np.argmax(n1 == cfg.imbalance_n2)) if np.any(n1 == cfg.imbalance_n2) else int(np.argmax(n1))
  small = int(np.argmin(n1))
  ev = dict(mis_rise=float(mis[1] / mis[0]), spec_rise=float(ok[1] / ok[0]),
            imbalance_rise=float(imb[small, 1] / imb[bal, 1]), min_ratio=float(n1[small] / cfg.imbalance_n2),
            n2=cfg.imbalance_n2, seeds=cfg.seeds, mis_after1=float(mis[0]), mis_after2=float(mis[1]),
            spec_after1=float(ok[0]), spec_after2=float(ok[1]))
  rows = [["linear (misspecified), N1 = N2", mis[0], mis[1], mis[1] / mis[0]],
          ["quadratic (well specified), N1 = N2", ok[0], ok[1], ok[1] / ok[0]]]
  rows += [[f"linear, N1 = {k}, N2 = {cfg.imbalance_n2}", imb[i, 0], imb[i, 1], imb[i, 1] / imb[i, 0]]
           for i, k in enumerate(n1)]
  table = markdown_table(["model / data", "task-1 MSE after task 1", "after task 2", "ratio"], rows)
  grid = np.linspace(-2, 2, 81)
  fits = r["fits"]
  lin = [np.polyval(np.asarray(c)[::-1], grid) for c in fits["linear"]]
  quad = [np.polyval(np.asarray(c)[::-1], grid) for c in fits["quadratic"]]
  figs = ctx.figures(line_figure(ctx, "sequential_bayes_cl_blr_fits.png",
                                 "Exact BLR on f(x) = x^2: task 1 x<0, task 2 x>0",
                                 grid, [("f(x) = x^2", grid ** 2), ("linear after task 1", lin[0]),
                                        ("linear after task 2", lin[1]), ("quadratic after task 1", quad[0]),
                                        ("quadratic after task 2", quad[1])], xlabel="x", ylabel="posterior mean"),
                     line_figure(ctx, "sequential_bayes_cl_blr_imbalance.png",
                                 "Task-1 MSE after task 2 vs N1 (N2 fixed), linear model", n1,
                                 [("after task 1", r["imbalance"][:, :, 0]), ("after task 2", r["imbalance"][:, :, 1])],
                                 xlabel="N1", ylabel="task-1 MSE", logx=True, logy=True))
  return Outcome(measured={"misspecified rise": round(ev["mis_rise"], 2), "well-specified rise":
                           round(ev["spec_rise"], 3), "imbalance rise": round(ev["imbalance_rise"], 2)},
                 evidence=ev, figures=figs, table=table)


# ---------------------------------------------------------------------------------------------------------
# (c) ProtoCL on class-incremental Split Digits

PROTO = {
    # smoke: two tasks and the three methods the judge reads
    "smoke": dict(seeds=1, tasks=2, methods=("protocl_replay", "softmax", "softmax_replay"),
                  cfg=dict(features=(16, 8), epochs=1, batch_size=32, replay_per_class=2)),
    "small": dict(seeds=3, tasks=5, methods=E.PROTO_METHODS,
                  cfg=dict(features=(128, 32), epochs=15, batch_size=64, replay_per_class=20)),
    "paper": dict(seeds=5, tasks=5, methods=E.PROTO_METHODS,
                  cfg=dict(features=(128, 32), epochs=50, batch_size=64, replay_per_class=20)),
}
FT_MARGIN = 0.30         # ProtoCL + replay ACC >= fine-tuning ACC + this
REPLAY_SLACK = 0.02      # ProtoCL + replay ACC >= softmax + replay ACC - this


def judge_protocl(e: dict) -> tuple[Verdict, str]:
  ok = (e["acc_protocl_replay"] >= e["acc_softmax"] + FT_MARGIN
        and e["acc_protocl_replay"] >= e["acc_softmax_replay"] - REPLAY_SLACK)
  rule = (f"holds iff ProtoCL + replay's mean ACC is >= fine-tuned softmax's + {FT_MARGIN:.2f} and >= softmax + "
          f"replay's - {REPLAY_SLACK:.2f} (class-incremental Split Digits 5 x 2, {e['seeds']} seeds, "
          f"{e['replay_per_class']} replayed examples per class).")
  return (Verdict.HOLDS if ok else Verdict.DOES_NOT_HOLD), rule


_P = dict(acc_protocl_replay=0.93, acc_softmax=0.19, acc_softmax_replay=0.89, seeds=3, replay_per_class=20)


@claim("sequential_bayes_cl", "protocl", "ProtoCL with replay on class-incremental Split Digits",
       "ProtoCL (conjugate Gaussian prototypes on a learned embedding, small replay) is competitive on class-"
       "incremental benchmarks: far above fine-tuning and on par with replay baselines",
       judge=judge_protocl,
       cases=[Case("holds", _P, Verdict.HOLDS),
              Case("does not hold: below replay softmax", {**_P, "acc_protocl_replay": 0.85}, Verdict.DOES_NOT_HOLD),
              Case("does not hold: close to fine-tuning", {**_P, "acc_protocl_replay": 0.45, "acc_softmax_replay": 0.4},
                   Verdict.DOES_NOT_HOLD),
              Case("boundary", {**_P, "acc_protocl_replay": 0.5, "acc_softmax": 0.2, "acc_softmax_replay": 0.52},
                   Verdict.HOLDS)])
def protocl(ctx: Context) -> Outcome:
  s = PROTO[ctx.variant]
  cfg = E.ProtoConfig(**s["cfg"])
  methods = tuple(s["methods"])
  accs = {k: [] for k in methods}
  bwts = {k: [] for k in methods}
  mats = {}
  for seed in range(s["seeds"]):
    full = split_digits("class", seed=seed)
    seq = make_sequence(full.tasks[: s["tasks"]], "class", full.num_classes, full.name)
    total = sum(len(t.x_train) for t in full.tasks)
    for kind in methods:
      r = run_sequence(Method(kind, *E.protocl_method(kind, seq.num_features, seq.num_classes, total, cfg)), seq,
                       seed=seed, workdir=ctx.scratch(f"protocl_{kind}_s{seed}"), log=ctx.log)
      accs[kind].append(r.acc)
      bwts[kind].append(r.bwt)
      if seed == 0:
        mats[kind] = r.matrix
  ev = {f"acc_{k}": float(np.mean(v)) for k, v in accs.items()}
  ev.update({f"bwt_{k}": float(np.mean(v)) for k, v in bwts.items()})
  ev.update(seeds=s["seeds"], replay_per_class=cfg.replay_per_class)
  rows = [[k, fmt_mean_se(accs[k]) if len(accs[k]) > 1 else accs[k][0],
           fmt_mean_se(bwts[k]) if len(bwts[k]) > 1 else bwts[k][0]] for k in methods]
  table = markdown_table(["method", "ACC", "BWT"], rows)
  names = list(methods)
  figs = ctx.figures(_bars_figure(ctx, "sequential_bayes_cl_protocl_bars.png",
                                  "Class-incremental Split Digits: ACC and BWT", names,
                                  [accs[k] for k in names], [bwts[k] for k in names]),
                     _matrix_figure(ctx, "sequential_bayes_cl_protocl_matrices.png", "Split Digits A[i, j], seed 0",
                                    mats))
  return Outcome(measured={f"ACC {k}": round(ev[f"acc_{k}"], 3) for k in methods}, evidence=ev,
                 figures=figs, table=table, data={"acc": accs, "bwt": bwts})
