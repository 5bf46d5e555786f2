"""The main job: reproduce each paper's key claims at small scale and write a report.

  python -m experiments.reproduce [--only=hopfield,...] [--variant=small] [--jobs=1] [--force] --out=DIR

Writes DIR/REPORT.md (a summary per paper, one figure per claim, then every claim's measurements and rule),
DIR/results.json and DIR/figures/. A claim that does not hold is reported, not hidden; the exit status is
non-zero only if a claim raised an error (130 if interrupted). Library INFO logging (orbax, jax, absl) is off
unless ``--verbosity=0``; the progress lines always print.

A long job a person runs:

* **resumable**: a rerun into the same DIR reuses a claim's stored result when the code revision (a hash
  of every source file of the zoo), the variant and the claim are unchanged; ``--force`` reruns everything.
  Any change of code reruns every claim: a stale result is never reused.
* **interruptible**: Ctrl-C writes a valid report of the claims finished so far, marked as partial.
* **progress**: ``[i/N] claim`` lines with the elapsed time and an ETA (from the stored durations of the
  remaining claims when a previous run left them, else the mean so far).
* ``--jobs N`` runs claims in N worker processes (default 1; each claim is one task).
"""
from __future__ import annotations

import concurrent.futures
import datetime
import hashlib
import json
import multiprocessing
import os
import pathlib
import platform
import sys
import time
import traceback

import numpy as np
from absl import app, flags

_ONLY = flags.DEFINE_list("only", [], "Papers (slugs) or claims (slug/name) to run; default all.")
_VARIANT = flags.DEFINE_enum("variant", "small", ["smoke", "small", "paper"], "Scale of every experiment.")
_OUT = flags.DEFINE_string("out", "results/reproduce", "Output directory for REPORT.md, results.json, figures/.")
_LIST = flags.DEFINE_bool("list", False, "List the registered claims and exit.")
_FORCE = flags.DEFINE_bool("force", False, "Rerun every claim even where DIR holds a result of this revision.")
_JOBS = flags.DEFINE_integer("jobs", 1, "Claims run in parallel worker processes (1 = in this process).")

_ROOT = pathlib.Path(__file__).resolve().parents[1]
_SOURCE_DIRS = ("models", "kernels", "theory", "experiments")


def code_revision() -> str:
  """A hash of every source file that can change a claim's result (``*.py`` of the four packages and
  ``setup.cfg``): any edit, committed or not, gives another revision."""
  h = hashlib.sha256()
  files = sorted(p for d in _SOURCE_DIRS for p in (_ROOT / d).rglob("*.py"))
  for p in files + [_ROOT / "setup.cfg"]:
    if p.exists():
      h.update(str(p.relative_to(_ROOT)).encode())
      h.update(p.read_bytes())
  return h.hexdigest()[:16]


def _fmt(v) -> str:
  if isinstance(v, float):
    return f"{v:.4g}"
  return str(v)


def _hms(seconds: float) -> str:
  seconds = int(round(seconds))
  h, rem = divmod(seconds, 3600)
  m, s = divmod(rem, 60)
  return f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


def run_claim(claim, variant: str, out: str, log=print) -> dict:
  """Runs one claim; returns its report row (an exception becomes an ``error`` row)."""
  from experiments.claims import Context
  t = time.perf_counter()
  row = {"paper": claim.paper, "claim": claim.name, "id": claim.id, "title": claim.title,
         "expectation": claim.expectation}
  try:
    o = claim.run(Context(variant=variant, out_dir=out, log=lambda s: log(f"    {claim.id}: {s}")))
    row.update(verdict=o.verdict.value, measured=o.measured, rule=o.rule, figures=o.figures,
               table=o.table, data=o.data, evidence=o.evidence)
  except Exception as e:  # reported in the row and the exit status
    row.update(verdict="error", error=f"{type(e).__name__}: {e}", traceback=traceback.format_exc())
  row["seconds"] = time.perf_counter() - t
  return row


def _worker(claim_id: str, variant: str, out: str) -> dict:
  """Entry point of a worker process (``--jobs``): looks the claim up by id and runs it."""
  from experiments.claims import all_claims
  (c,) = all_claims([claim_id])
  return run_claim(c, variant, out, log=lambda s: print(s, flush=True))


def _load_previous(out: str) -> dict:
  try:
    with open(os.path.join(out, "results.json"), encoding="utf-8") as f:
      saved = json.load(f)
    return {r["id"]: r for r in saved.get("claims", [])}
  except (OSError, ValueError, KeyError, TypeError):
    return {}


def run(only: list[str], variant: str, out: str, log=print, *, force: bool = False,
        jobs: int = 1) -> tuple[list[dict], int]:
  """Runs the claims and writes the report; returns (results, number of errors).

  Raises KeyboardInterrupt after writing the partial report when interrupted.
  """
  from experiments.claims import all_claims
  if not isinstance(jobs, int) or jobs < 1:
    raise ValueError(f"jobs: expected a positive int, got {jobs!r}")
  claims = all_claims(only or None)
  os.makedirs(out, exist_ok=True)
  revision = code_revision()
  previous = _load_previous(out)
  done: dict[str, dict] = {}
  t_all = time.perf_counter()
  n = len(claims)

  def stored(c):
    r = previous.get(c.id)
    if (not force and r and r.get("revision") == revision and r.get("variant") == variant
        and r.get("verdict") not in (None, "error")):
      return r
    return None

  def eta() -> str:
    remaining = [c for c in claims if c.id not in done]
    if not remaining:
      return "0s"
    ran = [r["seconds"] for r in done.values() if not r.get("reused")]
    mean = sum(ran) / len(ran) if ran else None
    total = 0.0
    for c in remaining:
      p = previous.get(c.id)
      if p and p.get("variant") == variant and "seconds" in p:
        total += p["seconds"]
      elif mean is not None:
        total += mean
      else:
        return "unknown"
    return _hms(total / jobs)

  def finish(c, row):
    row.update(revision=revision, variant=variant)
    done[c.id] = row
    i = len(done)
    tag = " (stored result of this revision)" if row.get("reused") else f" ({row['seconds']:.1f} s)"
    log(f"[{i}/{n}] {c.id}: {row['verdict']}{tag} · elapsed {_hms(time.perf_counter() - t_all)}, "
        f"ETA {eta()}")
    _write(out, variant, [done[k.id] for k in claims if k.id in done], time.perf_counter() - t_all,
           partial=len(done) < n)

  to_run = []
  for c in claims:
    r = stored(c)
    if r is not None:
      finish(c, {**r, "reused": True})
    else:
      to_run.append(c)
  try:
    if jobs == 1:
      for c in to_run:
        log(f"[{len(done) + 1}/{n}] {c.id}: {c.title} ...")
        finish(c, run_claim(c, variant, out, log))
    else:
      ctx = multiprocessing.get_context("spawn")     # JAX is not fork-safe
      with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        futures = {}
        for c in to_run:
          log(f"[start] {c.id}: {c.title}")
          futures[pool.submit(_worker, c.id, variant, out)] = c
        try:
          for fut in concurrent.futures.as_completed(futures):
            c = futures[fut]
            try:
              row = fut.result()
            except Exception as e:   # a worker that died
              row = {"paper": c.paper, "claim": c.name, "id": c.id, "title": c.title,
                     "expectation": c.expectation, "verdict": "error", "seconds": 0.0,
                     "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}
            finish(c, row)
        except KeyboardInterrupt:
          pool.shutdown(wait=False, cancel_futures=True)
          raise
  except KeyboardInterrupt:
    results = [done[k.id] for k in claims if k.id in done]
    _write(out, variant, results, time.perf_counter() - t_all, partial=True, interrupted=True)
    log(f"interrupted: {len(done)}/{n} claims in the report (a rerun reuses them)")
    raise
  results = [done[c.id] for c in claims]
  _write(out, variant, results, time.perf_counter() - t_all)
  return results, sum(r["verdict"] == "error" for r in results)


def _environment() -> dict:
  import jax
  return {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
          "python": platform.python_version(), "jax": jax.__version__,
          "backend": jax.default_backend(), "devices": [str(d) for d in jax.devices()],
          "machine": f"{platform.machine()} {platform.processor() or ''}".strip(), "cpus": os.cpu_count(),
          "argv": sys.argv}


def _atomic_write(path: str, text: str) -> None:
  tmp = path + ".tmp"
  with open(tmp, "w", encoding="utf-8") as f:
    f.write(text)
  os.replace(tmp, path)


def _summary(results: list[dict]) -> list[str]:
  papers: dict[str, list[dict]] = {}
  for r in results:
    papers.setdefault(r["paper"], []).append(r)
  lines = ["| paper | claims held | verdicts | time |", "|---|---|---|---|"]
  for paper, rows in papers.items():
    held = sum(r["verdict"] == "holds" for r in rows)
    verdicts = ", ".join(f"{r['claim']}: {r['verdict']}" for r in rows)
    lines.append(f"| {paper} | {held} / {len(rows)} | {verdicts} | {_hms(sum(r['seconds'] for r in rows))} |")
  return lines


def _json_default(v):
  """numpy scalars and arrays as JSON numbers and lists; anything else as its string."""
  if isinstance(v, np.generic):
    return v.item()
  if isinstance(v, np.ndarray):
    return v.tolist()
  return str(v)


def _write(out: str, variant: str, results: list[dict], seconds: float, *, partial: bool = False,
           interrupted: bool = False) -> None:
  env = _environment()
  _atomic_write(os.path.join(out, "results.json"),
                json.dumps({"variant": variant, "environment": env, "seconds": seconds, "partial": partial,
                            "claims": results}, indent=1, default=_json_default))
  held = sum(r["verdict"] == "holds" for r in results)
  reused = sum(bool(r.get("reused")) for r in results)
  lines = [f"# Reproduction report ({variant})", "",
           f"{env['date']} · jax {env['jax']} on {env['backend']} ({len(env['devices'])} device(s)), "
           f"{env['cpus']} CPUs · {seconds:.0f} s in this run"
           + (f" ({reused} claim(s) reused from an earlier run of the same revision)" if reused else ""), ""]
  if partial:
    lines += [f"**Partial report{' (interrupted)' if interrupted else ''}: {len(results)} claim(s) so far.** "
              "Rerun the same command to finish; finished claims are reused.", ""]
  lines += ["Every number below was measured by this code revision; each verdict comes from the rule printed "
            "with it.", "", f"**{held} of {len(results)} claims hold.**", ""] + _summary(results)
  lines += ["", "## One figure per claim", ""]
  for r in results:
    figs = r.get("figures") or []
    lines += [f"**{r['id']}** — {r['title']}: **{r['verdict']}**", ""]
    if figs:
      lines += [f"![{os.path.basename(figs[0])}]({figs[0]})", ""]
  lines += ["## Measurements", "", "| paper | claim | paper's expectation | measured | verdict | time |",
            "|---|---|---|---|---|---|"]
  for r in results:
    measured = "; ".join(f"{k} = {_fmt(v)}" for k, v in r.get("measured", {}).items()) or r.get("error", "")
    lines.append(f"| {r['paper']} | {r['title']} | {r['expectation']} | {measured} | **{r['verdict']}** | "
                 f"{r['seconds']:.0f} s |")
  for r in results:
    lines += ["", f"### {r['id']}: {r['title']}", "", f"**Verdict: {r['verdict']}.**", ""]
    if "rule" in r:
      lines += [f"Rule: {r['rule']}", ""]
    if r.get("table"):
      lines += [r["table"], ""]
    for fig in (r.get("figures") or [])[1:]:
      lines += [f"![{os.path.basename(fig)}]({fig})", ""]
    if "error" in r:
      lines += ["```", r["traceback"].rstrip(), "```", ""]
  _atomic_write(os.path.join(out, "REPORT.md"), "\n".join(lines) + "\n")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  if _LIST.value:
    from experiments.claims import all_claims
    for c in all_claims(_ONLY.value or None):
      print(f"{c.id}\t{c.title}")
    return 0
  try:
    results, errors = run(_ONLY.value, _VARIANT.value, _OUT.value, force=_FORCE.value, jobs=_JOBS.value)
  except KeyboardInterrupt:
    print(f"partial report: {os.path.join(_OUT.value, 'REPORT.md')}", file=sys.stderr)
    return 130
  counts = {}
  for r in results:
    counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
  print(f"report: {os.path.join(_OUT.value, 'REPORT.md')} | " + ", ".join(f"{v}: {n}" for v, n in counts.items()))
  return 1 if errors else 0


if __name__ == "__main__":
  from experiments.train_lib import console  # quiet library logging unless --verbosity=0; one-line flag errors
  app.run(main, flags_parser=console.flags_parser("experiments.reproduce"))
