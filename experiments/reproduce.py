"""The main job: reproduce each paper's key claims at small scale and write a report.

  python -m experiments.reproduce [--only=hopfield,...] [--variant=small] --out=DIR

Writes DIR/REPORT.md (one row per claim, figures linked as PNG), DIR/results.json and DIR/figures/.
A claim that does not hold is reported, not hidden; the exit status is non-zero only if a claim
raised an error.
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import sys
import time
import traceback

from absl import app, flags

_ONLY = flags.DEFINE_list("only", [], "Papers (slugs) or claims (slug/name) to run; default all.")
_VARIANT = flags.DEFINE_enum("variant", "small", ["smoke", "small", "paper"], "Scale of every experiment.")
_OUT = flags.DEFINE_string("out", "results/reproduce", "Output directory for REPORT.md, results.json, figures/.")
_LIST = flags.DEFINE_bool("list", False, "List the registered claims and exit.")


def _fmt(v) -> str:
  if isinstance(v, float):
    return f"{v:.4g}"
  return str(v)


def run(only: list[str], variant: str, out: str, log=print) -> tuple[list[dict], int]:
  """Runs the claims and writes the report; returns (results, number of errors)."""
  from experiments.claims import Context, all_claims
  claims = all_claims(only or None)
  os.makedirs(out, exist_ok=True)
  results, errors = [], 0
  t_all = time.perf_counter()
  for i, c in enumerate(claims, 1):
    log(f"[{i}/{len(claims)}] {c.id}: {c.title} ...")
    t = time.perf_counter()
    row = {"paper": c.paper, "claim": c.name, "id": c.id, "title": c.title, "expectation": c.expectation}
    try:
      o = c.fn(Context(variant=variant, out_dir=out, log=lambda s: log(f"    {s}")))
      row.update(verdict=o.verdict.value, measured=o.measured, rule=o.rule, figures=o.figures,
                 table=o.table, data=o.data)
    except Exception as e:  # reported in the row and the exit status
      errors += 1
      row.update(verdict="error", error=f"{type(e).__name__}: {e}", traceback=traceback.format_exc())
    row["seconds"] = time.perf_counter() - t
    results.append(row)
    log(f"[{i}/{len(claims)}] {c.id}: {row['verdict']} ({row['seconds']:.1f} s)")
    _write(out, variant, results, time.perf_counter() - t_all)
  return results, errors


def _environment() -> dict:
  import jax
  return {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
          "python": platform.python_version(), "jax": jax.__version__,
          "backend": jax.default_backend(), "devices": [str(d) for d in jax.devices()],
          "machine": f"{platform.machine()} {platform.processor() or ''}".strip(), "cpus": os.cpu_count(),
          "argv": sys.argv}


def _write(out: str, variant: str, results: list[dict], seconds: float) -> None:
  env = _environment()
  with open(os.path.join(out, "results.json"), "w", encoding="utf-8") as f:
    json.dump({"variant": variant, "environment": env, "seconds": seconds, "claims": results}, f, indent=1,
              default=str)
  lines = [f"# Reproduction report ({variant})", "",
           f"{env['date']} · jax {env['jax']} on {env['backend']} ({len(env['devices'])} device(s)), "
           f"{env['cpus']} CPUs · {seconds:.0f} s in all", "",
           "Every number below was measured by this run; each verdict comes from the rule printed with it.", "",
           "| paper | claim | paper's expectation | measured | verdict | time |",
           "|---|---|---|---|---|---|"]
  for r in results:
    measured = "; ".join(f"{k} = {_fmt(v)}" for k, v in r.get("measured", {}).items()) or r.get("error", "")
    lines.append(f"| {r['paper']} | {r['title']} | {r['expectation']} | {measured} | **{r['verdict']}** | "
                 f"{r['seconds']:.0f} s |")
  for r in results:
    lines += ["", f"## {r['id']}: {r['title']}", "", f"**Verdict: {r['verdict']}.**", ""]
    if "rule" in r:
      lines += [f"Rule: {r['rule']}", ""]
    if r.get("table"):
      lines += [r["table"], ""]
    for fig in r.get("figures", []):
      lines += [f"![{os.path.basename(fig)}]({fig})", ""]
    if "error" in r:
      lines += ["```", r["traceback"].rstrip(), "```", ""]
  with open(os.path.join(out, "REPORT.md"), "w", encoding="utf-8") as f:
    f.write("\n".join(lines) + "\n")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  if _LIST.value:
    from experiments.claims import all_claims
    for c in all_claims(_ONLY.value or None):
      print(f"{c.id}\t{c.title}")
    return 0
  results, errors = run(_ONLY.value, _VARIANT.value, _OUT.value)
  counts = {}
  for r in results:
    counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
  print(f"report: {os.path.join(_OUT.value, 'REPORT.md')} | " + ", ".join(f"{v}: {n}" for v, n in counts.items()))
  return 1 if errors else 0


if __name__ == "__main__":
  app.run(main)
