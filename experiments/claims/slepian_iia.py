"""Claims of paper 06 (H. Bengtsson and K. Podgórski, "The Slepian model based independent interval approximation
of persistency and zero-level exceedance distributions", 2024, arXiv:2401.01805).

exponents  the IIA persistence exponent θ (root of θ∫e^{θt}m = 1) is close to the exact or simulated exponent for
           diffusion in d = 1, 2, 3 and the random-acceleration process (table: IIA, simulation, exact).
survival   the IIA excursion law T = H₁ + … + H_N (N ~ Geometric(1/2), P(H > t) = m(t)) is close to the
           distribution of zero-crossing intervals of exactly simulated paths (figure).
validity   for the non-monotone damped cosine r = e^{−t²/8} cos t the clipped Slepian mean m turns negative, so
           the IIA gives no distribution and must not be used; monotone covariances pass the check.
"""
from __future__ import annotations

import functools
import math

import jax
import numpy as np

from experiments.claims import Case, Context, Outcome, Verdict, claim, pyplot

# Simulation sizes: grid step dt = STEP/√λ₂ (keeps missed double crossings negligible), n points per path.
SIM = {
    "smoke": dict(step=0.02, n=2 ** 14, paths=4),
    "small": dict(step=0.01, n=2 ** 20, paths=32),
    "paper": dict(step=0.01, n=2 ** 21, paths=64),
}
WINDOW = (2.0, 6.0)     # tail-exponent fit window in units of the mean interval μ
REL_TOL = 0.08          # the IIA exponent must be within 8 % of the reference (our threshold, see rule)
SUP_TOL = 0.02          # sup-distance allowed between simulated and IIA interval survival functions
Z = 4.0

# name, constructor, exact exponent (None when unknown), value quoted in the literature from simulations
PROCESSES = (
    ("diffusion d=1", lambda S: S.diffusion(1), None, "≈ 0.121"),
    ("diffusion d=2", lambda S: S.diffusion(2), 3 / 16, "3/16 (Poplavskyi–Schehr 2018)"),
    ("diffusion d=3", lambda S: S.diffusion(3), None, "≈ 0.238"),
    ("random acceleration", lambda S: S.random_acceleration(), 0.25, "1/4 (Sinai 1992)"),
)



def judge_exponents(e: dict) -> tuple[Verdict, str]:
  """``e["processes"]``: dicts with name, theta_iia, theta_ref, theta_ref_se, theta_sim, theta_sim_se, exact."""
  bad = []
  for r in e["processes"]:
    ok_iia = abs(r["theta_iia"] - r["theta_ref"]) <= REL_TOL * r["theta_ref"] + 2 * r["theta_ref_se"]
    ok_sim = r["exact"] is None or abs(r["theta_sim"] - r["exact"]) <= Z * r["theta_sim_se"]
    if not (ok_iia and ok_sim):
      bad.append(r["name"])
  rule = (f"holds iff for every process |θ_IIA − θ_ref| ≤ {REL_TOL:.0%} θ_ref + 2 SE(θ_ref), with θ_ref the exact "
          "exponent where known (d = 2: 3/16, random acceleration: 1/4) and our simulated one otherwise, and the "
          f"simulated exponent is within {Z:g} SE of the exact one where known; θ_sim = censored-exponential MLE of "
          f"the interval tail on [{WINDOW[0]:g}μ, {WINDOW[1]:g}μ] (SE between paths). The {REL_TOL:.0%} threshold is "
          f"ours (the paper reports agreement within a few per cent). Failing: {bad or 'none'}.")
  return (Verdict.DOES_NOT_HOLD if bad else Verdict.HOLDS), rule


def judge_survival(e: dict) -> tuple[Verdict, str]:
  bad = [name for name, sup in e["sup_distance"].items() if sup > SUP_TOL]
  rule = (f"holds iff for every process the largest absolute difference between the simulated interval survival "
          f"function and the IIA law on t ∈ [0.05μ, 6μ] is ≤ {SUP_TOL} (our threshold for 'approximates'; the IIA "
          f"is an approximation, not exact). IIA law by FFT compounding on a grid of step μ/2000. "
          f"Failing: {bad or 'none'}.")
  return (Verdict.DOES_NOT_HOLD if bad else Verdict.HOLDS), rule


def judge_validity(e: dict) -> tuple[Verdict, str]:
  rule = ("holds iff the check (m non-increasing up to 1e-12 and −r′ ≥ 0, i.e. m ≥ 0, on a 20001-point grid of "
          "[0, 20μ]) passes for diffusion d = 1, 2, 3, random acceleration and the Gaussian covariance, fails for "
          "e^{−t²/8} cos t with min m < 0, and the IIA sampler refuses that covariance.")
  ok = (e["monotone_valid"] and not e["damped_cosine_valid"] and e["damped_cosine_min_m"] < 0
        and e["sampler_refuses"])
  return (Verdict.HOLDS if ok else Verdict.DOES_NOT_HOLD), rule


def _proc(name, iia, ref, ref_se=0.0, sim=None, sim_se=0.001, exact=None):
  return dict(name=name, theta_iia=iia, theta_ref=ref, theta_ref_se=ref_se, theta_sim=ref if sim is None else sim,
              theta_sim_se=sim_se, exact=exact)


EXPONENT_CASES = [
    Case("holds", {"processes": [_proc("d=2", 0.1862, 0.1875, exact=0.1875, sim=0.191, sim_se=0.002),
                                 _proc("d=1", 0.1203, 0.121, 0.001)]}, Verdict.HOLDS),
    Case("does not hold: IIA 12 % off", {"processes": [_proc("d=2", 0.21, 0.1875, exact=0.1875)]},
         Verdict.DOES_NOT_HOLD),
    Case("does not hold: simulation inconsistent with exact",
         {"processes": [_proc("ra", 0.2647, 0.25, exact=0.25, sim=0.27, sim_se=0.002)]}, Verdict.DOES_NOT_HOLD),
    Case("boundary: 7.9 % off", {"processes": [_proc("ra", 0.25 * 1.079, 0.25, exact=0.25)]}, Verdict.HOLDS),
    Case("boundary: 8.1 % off", {"processes": [_proc("ra", 0.25 * 1.081, 0.25, exact=0.25)]}, Verdict.DOES_NOT_HOLD),
]


def _indices(variant: str) -> tuple[int, ...]:
  """Processes run in a variant (smoke: d = 2 diffusion and random acceleration only, to stay within seconds)."""
  return (1, 3) if variant == "smoke" else tuple(range(len(PROCESSES)))


@functools.lru_cache(maxsize=None)
def _simulate(variant: str, seed: int, index: int):
  """Exact paths of process ``index``, their intervals and the IIA law (cached: two claims use them)."""
  from theory import slepian_iia as S
  name, make, exact, lit = PROCESSES[index]
  cov = make(S)
  p = SIM[variant]
  dt = p["step"] / math.sqrt(cov.lambda2)
  key = jax.random.fold_in(jax.random.PRNGKey(seed), index)
  iv = S.simulate_intervals(key, cov, dt, p["n"], p["paths"], chunk=8)   # chunks bound the memory (FFT of 2n)
  law = S.iia_law(cov)
  mu = S.mean_interval(cov)
  sim_theta = S.tail_exponent(iv, WINDOW[0] * mu, WINDOW[1] * mu)
  return dict(name=name, cov=cov, exact=exact, lit=lit, dt=dt, iv=iv, law=law, mu=mu, sim_theta=sim_theta,
              rate=S.crossing_rate(iv), mean_len=S.mean_length(iv), rice=S.rice_rate(cov))


@claim("slepian_iia", "exponents", "IIA persistence exponents vs exact and simulated exponents",
       "θ_IIA = 0.1203, 0.1862, 0.2358 for diffusion d = 1, 2, 3 and 0.2647 for random acceleration, within a few "
       "per cent of the exact (3/16, 1/4) or simulated (≈ 0.121, ≈ 0.238) exponents", judge=judge_exponents,
       cases=EXPONENT_CASES)
def exponents(ctx: Context) -> Outcome:
  rows, data, procs = [], {}, []
  for i in _indices(ctx.variant):
    s = _simulate(ctx.variant, ctx.seed, i)
    th_iia = s["law"].theta
    sim, se = float(s["sim_theta"].mean), float(s["sim_theta"].se)
    ref, ref_se, ref_kind = (s["exact"], 0.0, "exact") if s["exact"] is not None else (sim, se, "simulation")
    rel = (th_iia - ref) / ref
    procs.append(dict(name=s["name"], theta_iia=float(th_iia), theta_ref=float(ref), theta_ref_se=float(ref_se),
                      theta_sim=sim, theta_sim_se=se, exact=s["exact"]))
    rows.append((s["name"], th_iia, sim, se, s["exact"], s["lit"], ref_kind, rel, int(s["iv"].counts.sum())))
    data[s["name"]] = dict(theta_iia=th_iia, theta_sim=sim, theta_sim_se=se, exact=s["exact"], reference=ref_kind,
                           rel_error=rel, intervals=int(s["iv"].counts.sum()))
    ctx.log(f"{s['name']}: IIA {th_iia:.4f}, simulation {sim:.4f} ± {se:.4f}, exact {s['exact']}")
  table = ["| process (log time) | θ IIA | θ simulation (± SE) | exact | literature | IIA vs reference | intervals |",
           "|---|---|---|---|---|---|---|"]
  table += [f"| {r[0]} | {r[1]:.4f} | {r[2]:.4f} ± {r[3]:.4f} | {'—' if r[4] is None else f'{r[4]:.4f}'} | {r[5]} | "
            f"{100 * r[7]:+.1f} % vs {r[6]} | {r[8]} |" for r in rows]
  p = SIM[ctx.variant]
  return Outcome(
      measured={**{f"θ_IIA {r[0]}": round(r[1], 4) for r in rows},
                **{f"θ_sim {r[0]}": f"{r[2]:.4f} ± {r[3]:.4f}" for r in rows},
                "max |IIA − ref|/ref": f"{max(abs(r[7]) for r in rows) * 100:.1f} %",
                "simulation": f"{p['paths']} exact circulant-embedding paths of {p['n']} points, dt = {p['step']}/√λ₂"},
      evidence={"processes": procs},
      table="\n".join(table), data=data)


@claim("slepian_iia", "survival", "Excursion (interval) survival: simulation vs the IIA law",
       "the IIA law (a geometric sum of m-distributed pieces) approximates the zero-crossing interval distribution "
       "of the simulated Gaussian process, including its exponential tail", judge=judge_survival,
       cases=[Case("holds", {"sup_distance": {"d=1": 0.003, "ra": 0.01}}, Verdict.HOLDS),
              Case("does not hold", {"sup_distance": {"d=1": 0.003, "ra": 0.021}}, Verdict.DOES_NOT_HOLD),
              Case("boundary: exactly 0.02", {"sup_distance": {"ra": 0.02}}, Verdict.HOLDS),
              Case("boundary: just above 0.02", {"sup_distance": {"ra": 0.0201}}, Verdict.DOES_NOT_HOLD)])
def survival(ctx: Context) -> Outcome:
  from theory import slepian_iia as S
  sims = [_simulate(ctx.variant, ctx.seed, i) for i in _indices(ctx.variant)]
  rows, curves, sups = [], {}, {}
  for s in sims:
    u = np.linspace(0.05, 6.0, 120)                     # t / μ
    t = u * s["mu"]
    emp = S.empirical_survival(s["iv"], t)
    iia = s["law"].survival_at(t)
    sup = float(np.max(np.abs(emp.mean - iia)))
    t1 = float(np.interp(-np.log(0.01), -np.log(np.maximum(iia, 1e-300)), t))   # where S_IIA = 0.01
    e1 = S.empirical_survival(s["iv"], [t1])
    rate_z = (float(s["rate"].mean) - s["rice"]) / float(s["rate"].se)
    sups[s["name"]] = sup
    rows.append((s["name"], sup, t1, float(e1.mean[0]), float(e1.se[0]), float(s["rate"].mean), s["rice"], rate_z,
                 float(s["mean_len"].mean), s["mu"]))
    curves[s["name"]] = dict(t=t.tolist(), sim=emp.mean.tolist(), sim_se=emp.se.tolist(), iia=iia.tolist())
    ctx.log(f"{s['name']}: sup|S_sim − S_IIA| = {sup:.4f}; at S_IIA = 0.01: sim {e1.mean[0]:.4f} ± {e1.se[0]:.4f}")
  table = ["| process | sup_t \\|S_sim − S_IIA\\| | t where S_IIA = 0.01 | S_sim there (± SE) | crossing rate "
           "(Rice) | mean interval (μ) |", "|---|---|---|---|---|---|"]
  table += [f"| {r[0]} | {r[1]:.4f} | {r[2]:.2f} | {r[3]:.4f} ± {r[4]:.4f} | {r[5]:.4f} ({r[6]:.4f}, {r[7]:+.1f} SE) "
            f"| {r[8]:.3f} ({r[9]:.3f}) |" for r in rows]
  figures = ctx.figures(lambda: _plot_survival(ctx, sims, curves))
  return Outcome(
      measured={**{f"sup|S_sim − S_IIA| {r[0]}": round(r[1], 4) for r in rows},
                **{f"S_sim where S_IIA = 0.01, {r[0]}": f"{r[3]:.4f} ± {r[4]:.4f}" for r in rows}},
      evidence={"sup_distance": sups},
      figures=figures, table="\n".join(table), data=curves)


def _plot_survival(ctx, sims, curves):
  plt = pyplot()
  fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
  for k, s in enumerate(sims):
    c = curves[s["name"]]
    t, m, se, iia = (np.asarray(c[f]) for f in ("t", "sim", "sim_se", "iia"))
    col = f"C{k}"
    for ax in axes:
      ok = m > 0
      ax.fill_between(t[ok] / s["mu"], np.maximum(m - 2 * se, 1e-7)[ok], (m + 2 * se)[ok], color=col, alpha=0.25,
                      lw=0)
      ax.plot(t[ok] / s["mu"], m[ok], ".", color=col, ms=3, label=f"{s['name']}: simulation ± 2 SE")
      ax.plot(t / s["mu"], iia, "-", color=col, lw=1.2, label=f"{s['name']}: IIA law (θ = {s['law'].theta:.4f})")
  axes[0].set_xlim(0, 2.5)
  axes[0].set_ylabel("P(T > t)")
  axes[1].set_yscale("log")
  axes[1].set_ylim(1e-5, 1.2)
  for ax in axes:
    ax.set_xlabel("t / μ  (μ = π/√λ₂, Rice mean interval)")
  axes[1].legend(fontsize=6, ncol=1)
  axes[0].set_title("zero-crossing interval survival (linear)", fontsize=9)
  axes[1].set_title("log scale: exponential tails exp(−θt)", fontsize=9)
  return ctx.save_figure(fig, "slepian_iia_survival.png", dpi=120)


@claim("slepian_iia", "validity", "IIA validity: monotone covariances pass, the damped cosine is flagged invalid",
       "for r(t) = e^{−t²/8} cos t the clipped Slepian mean m turns negative (min ≈ −0.23, increasing from t ≈ 3.4), "
       "so h = −m′ is not a density and the IIA must not be used; diffusion, random acceleration and Gaussian "
       "covariances have monotone m", judge=judge_validity,
       cases=[Case("holds", {"monotone_valid": True, "damped_cosine_valid": False, "damped_cosine_min_m": -0.233,
                             "sampler_refuses": True}, Verdict.HOLDS),
              Case("does not hold: sampler accepts", {"monotone_valid": True, "damped_cosine_valid": False,
                                                      "damped_cosine_min_m": -0.233, "sampler_refuses": False},
                   Verdict.DOES_NOT_HOLD),
              Case("boundary: min m exactly 0", {"monotone_valid": True, "damped_cosine_valid": False,
                                                 "damped_cosine_min_m": 0.0, "sampler_refuses": True},
                   Verdict.DOES_NOT_HOLD)])
def validity(ctx: Context) -> Outcome:
  from theory import slepian_iia as S
  valid_covs = [S.diffusion(1), S.diffusion(2), S.diffusion(3), S.random_acceleration(), S.gaussian(1.0)]
  if ctx.variant == "smoke":   # seconds: the two processes the smoke exponents claim uses
    valid_covs = [S.diffusion(2), S.random_acceleration()]
  checks = {c.name: S.validity(c) for c in valid_covs}
  dc = S.damped_cosine(1.0, 0.25)
  v = S.validity(dc)
  neg_mass = float(np.sum(np.maximum(np.diff(v.m), 0.0)))   # total mass where h = −m′ < 0
  refused = False
  try:
    S.sample_iia(jax.random.PRNGKey(0), dc, 10)
  except ValueError:
    refused = True
  omegas = (0.1, 0.25, 0.5, 1.0, 2.0) if ctx.variant != "smoke" else (1.0,)
  fam = {w: S.validity(S.damped_cosine(w, 0.25)) for w in omegas}
  table = ["| covariance | valid (m non-increasing, ≥ 0) | min m | first t with m < 0 | first increase of m | "
           "mass of h = −m′ < 0 |", "|---|---|---|---|---|---|"]
  for name, c in list(checks.items()) + [(dc.name, v)] + [(f"damped cosine ω={w:g} α=0.25", f)
                                                          for w, f in fam.items() if w != 1.0]:
    nm = float(np.sum(np.maximum(np.diff(c.m), 0.0)))
    table.append(f"| {name} | {'yes' if c.valid else '**no**'} | {c.min_m:.3g} | "
                 f"{'—' if math.isnan(c.first_negative) else f'{c.first_negative:.3f}'} | "
                 f"{'—' if math.isnan(c.first_increase) else f'{c.first_increase:.3f}'} | {nm:.3g} |")
  figures = ctx.figures(lambda: _plot_m(ctx, valid_covs + [dc]))
  return Outcome(
      measured={"damped cosine valid": v.valid, "damped cosine min m": round(v.min_m, 4),
                "first increase of m at t": round(v.first_increase, 3), "negative mass of h": round(neg_mass, 4),
                "sampler refuses": refused, "monotone families valid": all(c.valid for c in checks.values())},
      evidence={"monotone_valid": bool(all(c.valid for c in checks.values())), "damped_cosine_valid": bool(v.valid),
                "damped_cosine_min_m": float(v.min_m), "sampler_refuses": refused},
      figures=figures, table="\n".join(table),
      data={"damped_cosine_family": {str(w): dict(valid=f.valid, min_m=f.min_m) for w, f in fam.items()}})


def _plot_m(ctx, covs):
  plt = pyplot()
  from theory import slepian_iia as S
  fig, ax = plt.subplots(figsize=(6.4, 4.2))
  for k, c in enumerate(covs):
    mu = S.mean_interval(c)
    t = np.linspace(0, 4 * mu, 600)
    ax.plot(t / mu, np.asarray(S.slepian_mean(c, t)), color=f"C{k}", lw=1.8 if "cosine" in c.name else 1.1,
            label=c.name)
  ax.axhline(0, color="grey", lw=0.6)
  ax.set_xlabel("t / μ")
  ax.set_ylabel("m(t) = E[sign X₀(t)] (clipped Slepian mean)")
  ax.set_title("IIA valid iff m decreases from 1 to 0 (damped cosine: m < 0)", fontsize=9)
  ax.legend(fontsize=7)
  return ctx.save_figure(fig, "slepian_iia_m.png", dpi=120)
