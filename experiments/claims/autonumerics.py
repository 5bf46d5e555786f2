"""Claims of paper 02 (Real et al., "AutoNumerics-Zero: Automated Discovery of State-of-the-Art
Mathematical Functions", arXiv:2312.08472).

front    real-number track: evolution from f = x finds programs for 2^x on (0, 1] that beat Taylor at every
         op count 3–10 and the same-size minimax polynomial at several op counts (float64, max relative
         error on a dense validation grid), within the variant's budget.
float32  float32 track: the shipped exp (Cody–Waite + evolved 6-FMA kernel + integer 2^n) is < 1 ULP on every
         input with a finite normal result (a stratified sample here; the exhaustive sweep is a script),
         and its speed vs jnp.exp in a stacked, cache-resident jit benchmark.
"""
from __future__ import annotations

import math
import os

import jax
import jax.numpy as jnp
import numpy as np

from experiments.claims import Case, Context, Outcome, Verdict, claim, pyplot
from kernels.autonumerics.experiment import best_within

FRONT = {
    # search settings (kernels.autonumerics.search.SearchConfig) per variant
    "smoke": dict(length=6, n_consts=3, pop=16, generations=2, elites=4, lm_steps=4, n_train=17, val=2000),
    "small": dict(length=12, n_consts=6, pop=256, generations=50, elites=16, lm_steps=16, n_train=65,
                  val=200000),
    "paper": dict(length=14, n_consts=8, pop=512, generations=400, elites=32, lm_steps=25, n_train=257,
                  val=200000),
}
OPS = range(3, 11)
MIN_MINIMAX_WINS = 3
VALIDATE_TOP = 4


def judge_front(e: dict) -> tuple[Verdict, str]:
  """``e``: ``beats_taylor`` / ``beats_minimax`` (op count k as a string -> bool, k = 3..10) and
  ``beats_minimax_even`` (even k -> bool, against the minimax polynomial with exactly k ops)."""
  rule = (f"holds iff the evolved front (best validation max relative error with <= k ops) is below the "
          f"best Taylor polynomial with <= k ops for every k in {OPS.start}..{OPS.stop - 1}, and below the best "
          f"minimax polynomial with <= k ops for at least {MIN_MINIMAX_WINS} of those k, at least one even (equal "
          "op count)")
  ok = (all(e["beats_taylor"].values()) and sum(e["beats_minimax"].values()) >= MIN_MINIMAX_WINS
        and any(e["beats_minimax_even"].values()))
  return (Verdict.HOLDS if ok else Verdict.DOES_NOT_HOLD), rule


def _front_case(taylor=True, minimax=(4, 5, 7)):
  ks = [str(k) for k in OPS]
  return {"beats_taylor": {k: taylor for k in ks}, "beats_minimax": {k: int(k) in minimax for k in ks},
          "beats_minimax_even": {k: int(k) in minimax for k in ks if int(k) % 2 == 0}}


def judge_float32(e: dict) -> tuple[Verdict, str]:
  rule = ("holds iff the shipped exp has max error < 1 ULP on the stratified sample and its stacked in-cache "
          "minimum time is <= jnp.exp's in the same process (ratio jnp.exp/ours >= 1; minimum over all "
          "repeats of interleaved rounds, the paper's minimum-over-repeats protocol)")
  ok = e["max_ulp"] < 1.0 and e["speed_ratio_min"] >= 1.0
  return (Verdict.HOLDS if ok else Verdict.DOES_NOT_HOLD), rule


@claim("autonumerics", "front", "Evolved programs vs Taylor / minimax at equal op count (2^x, float64)",
       "over real numbers, evolved programs reach orders of magnitude more precision for a given number of "
       "operations than Taylor / minimax / Padé (paper: f10 at 10 ops, < 5.4e-15, vs ~7.5e-8 for the "
       "10-op minimax polynomial)", judge=judge_front,
       cases=[Case("holds", _front_case(), Verdict.HOLDS),
              Case("does not hold: Taylor wins somewhere", _front_case(taylor=False), Verdict.DOES_NOT_HOLD),
              Case("boundary: exactly 3 minimax wins, one even", _front_case(minimax=(3, 4, 5)), Verdict.HOLDS),
              Case("boundary: 2 minimax wins", _front_case(minimax=(4, 5)), Verdict.DOES_NOT_HOLD),
              Case("boundary: 3 wins, none even", _front_case(minimax=(3, 5, 7)), Verdict.DOES_NOT_HOLD)])
def front(ctx: Context) -> Outcome:
  from kernels.autonumerics import baselines, search
  from kernels.autonumerics.experiment import max_rel_error, validation_grid
  from kernels.autonumerics import program as pr
  p = FRONT[ctx.variant]
  cfg = search.SearchConfig(length=p["length"], n_consts=p["n_consts"], pop=p["pop"],
                            generations=p["generations"], elites=p["elites"], lm_steps=p["lm_steps"],
                            n_train=p["n_train"], seed=ctx.seed)
  ckpt = os.path.join(ctx.scratch("autonumerics_front"), f"population_{ctx.variant}_seed{ctx.seed}.npz")
  res = search.run_search(cfg, checkpoint=ckpt, log=ctx.log)
  x = validation_grid(p["val"])
  # validate the VALIDATE_TOP best programs per op count by training error (the long-double reference
  # evaluator is a Python loop: validating the whole archive would double the claim's time)
  cand = np.concatenate([np.flatnonzero(res.ops == o)[np.argsort(res.train_err[res.ops == o])[:VALIDATE_TOP]]
                         for o in np.unique(res.ops) if o >= 1])
  val_err = np.full(len(res.ops), np.inf)
  val_err[cand] = max_rel_error(pr.Program(*(np.asarray(f)[cand] for f in res.programs)), x)
  evolved: dict[int, float] = {}
  best_prog: dict[int, int] = {}
  for o in np.unique(res.ops):
    if o < 1:
      continue
    idx = np.flatnonzero(res.ops == o)
    j = int(idx[np.argmin(val_err[idx])])
    evolved[int(o)], best_prog[int(o)] = float(val_err[j]), j
  base_progs = baselines.baseline_programs(max_ops=16)
  base = {fam: {k: float(max_rel_error(prog, x)) for k, prog in d.items()} for fam, d in base_progs.items()}
  paper = {k: float(max_rel_error(prog, x)) for k, prog in pr.paper_programs().items()}

  rows, beats_taylor, beats_minimax, beats_minimax_even = [], {}, {}, {}
  for k in OPS:
    ev, ta, mm = best_within(evolved, k), best_within(base["taylor"], k), best_within(base["minimax"], k)
    pa = best_within(base["pade"], k)
    beats_taylor[k], beats_minimax[k] = ev < ta, ev < mm
    if k % 2 == 0:
      beats_minimax_even[k] = ev < base["minimax"][k]
    rows.append((k, ev, ta, mm, pa, paper.get(k)))

  listing = []
  for k in (4, 6, 8, 10):
    cands = [o for o in evolved if o <= k]
    if cands:
      o = min(cands, key=lambda q: evolved[q])
      prog = pr.Program(*(np.asarray(f)[best_prog[o]] for f in res.programs))
      listing.append(f"best with <= {k} ops ({o} ops, {evolved[o]:.3g}):\n```\n{pr.format_program(prog)}\n```")
  table = ["| ops k | evolved (<= k ops) | Taylor (<= k) | minimax poly (<= k) | Padé (<= k) | paper program |",
           "|---|---|---|---|---|---|"]
  fmt = lambda v: "–" if v is None or not math.isfinite(v) else f"{v:.3g}"
  for k, ev, ta, mm, pa, pp in rows:
    table.append(f"| {k} | **{fmt(ev)}** | {fmt(ta)} | {fmt(mm)} | {fmt(pa)} | {fmt(pp)} |")
  table += ["", f"Search: {res.generations} generations, {res.evaluated:,} children evaluated "
            f"({res.seconds:.0f} s in this call), pop {cfg.pop}, L = {cfg.length}, K = {cfg.n_consts}, "
            f"ops + − × ÷, {cfg.lm_steps} LM steps on {cfg.n_train} Chebyshev points; validation on "
            f"{len(x):,} points of (0, 1] (long-double reference).", ""] + listing
  figures = ctx.figures(lambda: _plot_front(ctx, evolved, base, paper))
  return Outcome(
      measured={"beats Taylor at k=3..10": f"{sum(beats_taylor.values())}/8",
                "beats minimax (<= k ops) at": ",".join(str(k) for k, v in beats_minimax.items() if v) or "none",
                **{f"evolved <= {k} ops": best_within(evolved, k) for k in (4, 6, 8, 10)},
                "paper f10 (our evaluator)": paper[10], "children evaluated": res.evaluated,
                "programs evaluated from f = x": f"{res.evaluated:,} (variant {ctx.variant})"},
      evidence={"beats_taylor": {str(k): bool(v) for k, v in beats_taylor.items()},
                "beats_minimax": {str(k): bool(v) for k, v in beats_minimax.items()},
                "beats_minimax_even": {str(k): bool(v) for k, v in beats_minimax_even.items()}},
      figures=figures, table="\n".join(table),
      data={"evolved": evolved, "baselines": base, "paper": paper, "generations": res.generations,
            "evaluated": res.evaluated})


def _plot_front(ctx, evolved, base, paper) -> str:
  plt = pyplot()
  fig, ax = plt.subplots(figsize=(6.4, 4.4))
  ks = sorted(evolved)
  front_vals = [best_within(evolved, k) for k in ks]
  ax.step(ks, front_vals, where="post", color="C3", lw=2, label="evolved front (this run)")
  ax.plot(ks, [evolved[k] for k in ks], "o", color="C3", ms=4)
  styles = {"taylor": ("C0", "s", "Taylor (Horner)"), "minimax": ("C2", "^", "minimax polynomial (Remez)"),
            "pade": ("C1", "D", "Padé [m/m]")}
  for fam, (c, m, lab) in styles.items():
    d = base[fam]
    ax.plot(sorted(d), [d[k] for k in sorted(d)], m + "--", color=c, ms=5, label=lab)
  ax.plot(sorted(paper), [paper[k] for k in sorted(paper)], "*", color="k", ms=11, label="paper f2/f3/f5/f10")
  ax.set_yscale("log")
  ax.set_xlabel("op count (x-dependent + − × ÷)")
  ax.set_ylabel("max relative error on (0, 1]")
  ax.set_title(f"2^x on (0, 1], float64 ({ctx.variant})")
  ax.set_xlim(0.5, 16.5)
  ax.grid(alpha=0.3, which="both")
  ax.legend(fontsize=8)
  return ctx.save_figure(fig, "autonumerics_front.png")


FLOAT32 = {
    # all_cases: time every case of speed.exp_cases() (smoke: jnp.exp and the shipped exp only);
    # one_core: also time them in a child process restricted to one CPU (smoke: skipped, it costs ~5 s)
    "smoke": dict(sample=5000, n=4096, depth=10, repeats=3, rounds=1, all_cases=False, one_core=False),
    "small": dict(sample=4_000_000, n=16384, depth=100, repeats=30, rounds=3, all_cases=True, one_core=True),
    "paper": dict(sample=16_000_000, n=16384, depth=100, repeats=100, rounds=5, all_cases=True, one_core=True),
}


@claim("autonumerics", "float32", "Float32 exp: < 1 ULP everywhere, and its speed vs jnp.exp",
       "an evolved float32 kernel inside standard range reduction stays < 1 ULP and is faster than the "
       "baselines under XLA (paper: > 3x on Skylake vs its best baseline, >= 1.8x across CPUs; unverified)",
       judge=judge_float32,
       cases=[Case("holds", {"max_ulp": 0.89, "speed_ratio_min": 1.03}, Verdict.HOLDS),
              Case("does not hold: 1 ULP", {"max_ulp": 1.0, "speed_ratio_min": 1.5}, Verdict.DOES_NOT_HOLD),
              Case("does not hold: slower", {"max_ulp": 0.89, "speed_ratio_min": 0.9}, Verdict.DOES_NOT_HOLD),
              Case("boundary: equal speed", {"max_ulp": 0.999, "speed_ratio_min": 1.0}, Verdict.HOLDS)])
def float32(ctx: Context) -> Outcome:
  from kernels.autonumerics import api, speed, ulp
  p = FLOAT32[ctx.variant]
  xs = ulp.stratified_sample(jax.random.PRNGKey(ctx.seed), p["sample"], ulp.EXP_LO, ulp.EXP_HI,
                             period=math.log(2))
  with jax.enable_x64(True):
    ref = jnp.exp(xs.astype(jnp.float64))
    e_ours = np.asarray(ulp.ulp_errors(api.exp(xs), ref))
    e_jnp = np.asarray(ulp.ulp_errors(jax.jit(jnp.exp)(xs), ref))
  xs_np = np.asarray(xs)
  worst = float(xs_np[np.argmax(e_ours)])
  m_ours, m_jnp = float(e_ours.max()), float(e_jnp.max())
  # The paper's protocol takes the minimum over repeats (the least-disturbed run); on a shared machine
  # medians swing by 3x, so the verdict uses the minimum over all repeats of ROUNDS interleaved rounds.
  # The same table is measured again in a child process that may use one CPU only: with two CPUs XLA CPU
  # splits the shipped exp's fusion into two parallel tasks (its cost model finds it compute-bound) but not
  # jnp.exp's; with one CPU every case is one task, so that ratio is the speed per core. The verdict uses
  # the default (all-CPU) protocol, as before.
  rounds, best, med = _timings(speed, p)
  one_cpu = min(os.sched_getaffinity(0)) if p["one_core"] and hasattr(os, "sched_getaffinity") else None
  best1 = {}
  if one_cpu is not None:
    rows = speed.one_core_bench(one_cpu, p["rounds"], p["repeats"], p["n"], p["depth"], p["all_cases"])
    best1 = {row["case"]: row["ns_per_element_min"] for row in rows}
  ours = speed.SHIPPED_EXP
  ratio = best["jnp.exp"] / best[ours]          # > 1: ours faster
  ratio_med = med["jnp.exp"] / med[ours]
  ratio1 = best1["jnp.exp"] / best1[ours] if best1 else float("nan")
  table = ["| function | ns / element / call (min) | ns / element / call (median of round medians) | "
           "time ratio vs jnp.exp (min) | one core: ns / element / call (min) | one core: time ratio (min) |",
           "|---|---|---|---|---|---|"]
  for name in best:
    b1 = best1.get(name, float("nan"))
    table.append(f"| {name} | {best[name]:.3f} | {med[name]:.3f} | {best[name] / best['jnp.exp']:.3f} | "
                 f"{b1:.3f} | {b1 / best1.get('jnp.exp', float('nan')):.3f} |")
  table += ["", f"ULP sample: {len(xs_np):,} float32 inputs in [{ulp.EXP_LO}, {ulp.EXP_HI}] (random bit patterns, "
            "uniform values, both range ends, every ±2^k and the n-switch points (k+½)·ln2, each with 64 "
            f"neighbours either side); shipped exp max {m_ours:.4f} ULP at x = {worst:.9g}, "
            f"{int(np.sum(e_ours > 0.5)):,} not correctly rounded; jnp.exp max {m_jnp:.4f} ULP. "
            "Exhaustive sweep: `nice python -m kernels.autonumerics.ulp_check` (see the package README).",
            f"Timing: {p['n']} float32 inputs in cache, the function stacked {p['depth']} deep in a fori_loop, "
            f"{p['rounds']} interleaved rounds of {p['repeats']} timed calls on backend {jax.default_backend()} "
            f"({jax.devices()[0].device_kind}); the speed ratio is jnp.exp's minimum time over ours. "
            f"'One core': the same in a child process restricted to CPU {one_cpu} from its start "
            "(`kernels.autonumerics.speed.one_core_bench`), where XLA compiles every case as one task."]
  figures = ctx.figures(lambda: _plot_ulp(ctx, xs_np, e_ours, e_jnp))
  return Outcome(
      measured={"max ULP (sample)": m_ours, "worst x": worst, "jnp.exp max ULP (sample)": m_jnp,
                "sample size": int(len(xs_np)), "speed ratio jnp.exp/ours (min time)": ratio,
                "speed ratio (medians)": ratio_med, "speed ratio, one core (min time)": ratio1,
                "ours ns/elem (min)": best[ours], "jnp.exp ns/elem (min)": best["jnp.exp"]},
      evidence={"max_ulp": m_ours, "speed_ratio_min": float(ratio)},
      figures=figures, table="\n".join(table),
      data={"rounds": [[t.as_dict() for t in rd] for rd in rounds], "one_core_min_ns": best1})


def _timings(speed, p):
  """Interleaved rounds of the stacked benchmark; returns (rounds, min ns/elem, median ns/elem) by case."""
  cases = speed.exp_cases(p["all_cases"])
  rounds = [speed.time_cases(cases, n=p["n"], depth=p["depth"], repeats=p["repeats"], seed=r)
            for r in range(p["rounds"])]
  scale = 1e9 / (p["n"] * p["depth"])
  names = [t.name for t in rounds[0]]
  best = {nm: min(rd[i].min_s for rd in rounds) * scale for i, nm in enumerate(names)}
  med = {nm: float(np.median([rd[i].median_s for rd in rounds])) * scale for i, nm in enumerate(names)}
  return rounds, best, med


def _plot_ulp(ctx, x, e_ours, e_jnp) -> str:
  plt = pyplot()
  fig, ax = plt.subplots(figsize=(6.4, 4.0))
  bins = np.linspace(ulp_lo := float(x.min()), float(x.max()), 201)
  idx = np.clip(np.digitize(x, bins) - 1, 0, 199)
  mo = np.zeros(200)
  mj = np.zeros(200)
  np.maximum.at(mo, idx, e_ours)
  np.maximum.at(mj, idx, e_jnp)
  centers = (bins[1:] + bins[:-1]) / 2
  ax.plot(centers, mj, color="C0", lw=1, label="jnp.exp (XLA CPU)")
  ax.plot(centers, mo, color="C3", lw=1.2, label="autonumerics.exp")
  ax.axhline(1.0, color="k", ls="--", lw=0.8)
  ax.set_xlabel(f"x (bins of width {(bins[1] - ulp_lo):.2f})")
  ax.set_ylabel("max ULP error in bin")
  ax.set_yscale("log")
  ax.set_title("float32 exp, stratified sample")
  ax.legend(fontsize=8)
  ax.grid(alpha=0.3, which="both")
  return ctx.save_figure(fig, "autonumerics_float32_ulp.png")
