"""The reproduce runner: report rows, verdicts from the claims, errors reported and counted."""
import json
import os
import subprocess
import sys

import pytest

from experiments import claims, reproduce
from experiments.claims import Outcome, Verdict

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def fake_claims(monkeypatch):
  monkeypatch.setattr(claims, "CLAIM_MODULES", ())
  monkeypatch.setattr(claims, "_CLAIMS", {})

  @claims.claim("toy", "holds", "A claim that holds", "x > 0")
  def _holds(ctx):
    path, rel = ctx.figure_path("toy.png")
    with open(path, "wb") as f:
      f.write(b"\x89PNG\r\n")
    return Outcome(measured={"x": 1.5}, verdict=Verdict.HOLDS, rule="holds iff x > 0", figures=[rel],
                   table="| x |\n|---|\n| 1.5 |")

  @claims.claim("toy", "fails", "A claim that does not hold", "y > 0")
  def _fails(ctx):
    return Outcome(measured={"y": -2.0}, verdict=Verdict.DOES_NOT_HOLD, rule="holds iff y > 0")

  @claims.claim("other", "boom", "A claim that raises", "no error")
  def _boom(ctx):
    raise RuntimeError("experiment crashed")


def test_runner_reports_every_claim_and_counts_errors(fake_claims, tmp_path):
  lines = []
  results, errors = reproduce.run([], "smoke", str(tmp_path), log=lines.append)
  assert errors == 1
  assert [r["verdict"] for r in results] == ["holds", "does not hold", "error"]
  report = open(tmp_path / "REPORT.md").read()
  assert "| toy | A claim that holds | x > 0 | x = 1.5 | **holds** |" in report
  assert "**does not hold**" in report and "RuntimeError: experiment crashed" in report
  assert "![toy.png](figures/toy.png)" in report
  saved = json.load(open(tmp_path / "results.json"))
  assert [c["id"] for c in saved["claims"]] == ["toy/holds", "toy/fails", "other/boom"]
  assert saved["environment"]["jax"]
  assert any(l.startswith("[1/3] toy/holds") for l in lines)


def test_only_selects_papers_and_claims(fake_claims, tmp_path):
  results, errors = reproduce.run(["toy/fails", "other"], "smoke", str(tmp_path), log=lambda s: None)
  assert [r["id"] for r in results] == ["toy/fails", "other/boom"] and errors == 1
  with pytest.raises(ValueError, match="only"):
    reproduce.run(["nope"], "smoke", str(tmp_path), log=lambda s: None)


PAPERS = sorted({c.paper for c in claims.all_claims()})


@pytest.mark.parametrize("paper", PAPERS)
def test_every_paper_claims_run_at_smoke_scale(paper, tmp_path):
  """Every registered claim runs end to end at smoke scale with measured numbers, a rule and PNG figures.

  (Smoke-scale verdicts are not asserted: the samples are too small to decide anything.)
  """
  results, errors = reproduce.run([paper], "smoke", str(tmp_path), log=lambda s: None)
  assert errors == 0, [r.get("traceback") for r in results]
  assert results and all(r["paper"] == paper for r in results)
  for r in results:
    assert r["verdict"] in ("holds", "does not hold", "inconclusive")
    assert r["measured"] and r["rule"]
    for fig in r["figures"]:
      with open(tmp_path / fig, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_registry_holds_the_implemented_papers():
  assert {"hopfield", "gla", "adaptive_holdout", "paging", "nonconvex_lower_bounds", "quantum_energy",
          "dp_sequential", "slepian_iia", "autonumerics",
          "dp_continual", "deis", "early_warning", "moe_temperature", "moe_topk",
          "interpolants", "radd", "causal_minimax", "onehot_glm", "quantum_kernel", "fl_gflownet", "fp_quant_scaling",
          "holomorphic_ep", "ibp_tightness", "nngp_mixture", "info_plane",
          "sgd_noise", "iir_snn", "sequential_bayes_cl", "pgn", "fim_mjp", "jei_dnn"} <= set(PAPERS)
  ids = [c.id for c in claims.all_claims()]
  assert len(ids) == len(set(ids))


def test_cli_exit_status_and_list(tmp_path):
  env = {**os.environ, "JAX_PLATFORMS": "cpu"}
  out = subprocess.run([sys.executable, "-m", "experiments.reproduce", "--list"], capture_output=True,
                       text=True, env=env, cwd=REPO, timeout=300)
  assert out.returncode == 0 and "hopfield/retrieval" in out.stdout
  bad = subprocess.run([sys.executable, "-m", "experiments.reproduce", "--only=nope", f"--out={tmp_path}"],
                       capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
  assert bad.returncode != 0 and "nope" in bad.stderr


def test_rerun_reuses_results_of_the_same_revision(fake_claims, tmp_path, monkeypatch):
  calls = []
  claims.claim("count", "c", "Counts its runs", "-")(
      lambda ctx: calls.append(1) or Outcome(measured={"n": len(calls)}, verdict=Verdict.HOLDS, rule="r"))
  reproduce.run(["count"], "smoke", str(tmp_path), log=lambda s: None)
  lines = []
  results, _ = reproduce.run(["count"], "smoke", str(tmp_path), log=lines.append)
  assert len(calls) == 1 and results[0]["reused"] and results[0]["measured"] == {"n": 1}
  assert any("stored result" in l for l in lines)
  reproduce.run(["count"], "small", str(tmp_path), log=lambda s: None)          # another variant: reruns
  assert len(calls) == 2
  reproduce.run(["count"], "small", str(tmp_path), log=lambda s: None, force=True)
  assert len(calls) == 3
  monkeypatch.setattr(reproduce, "code_revision", lambda: "another-revision")  # code changed: reruns
  results, _ = reproduce.run(["count"], "small", str(tmp_path), log=lambda s: None)
  assert len(calls) == 4 and not results[0].get("reused")
  # errors are never reused
  claims.claim("count", "boom", "Raises", "-")(lambda ctx: calls.append(1) or 1 / 0)
  reproduce.run(["count/boom"], "small", str(tmp_path), log=lambda s: None)
  reproduce.run(["count/boom"], "small", str(tmp_path), log=lambda s: None)
  assert len(calls) == 6


def test_interrupt_leaves_a_valid_partial_report(fake_claims, tmp_path):
  def _interrupt(ctx):
    raise KeyboardInterrupt
  claims.claim("toy", "stop", "Ctrl-C here", "-")(_interrupt)
  with pytest.raises(KeyboardInterrupt):
    reproduce.run(["toy"], "smoke", str(tmp_path), log=lambda s: None)
  saved = json.load(open(tmp_path / "results.json"))
  assert saved["partial"] and [c["id"] for c in saved["claims"]] == ["toy/holds", "toy/fails"]
  report = open(tmp_path / "REPORT.md").read()
  assert "Partial report (interrupted)" in report and "**holds**" in report


def test_report_opens_with_a_summary_per_paper(fake_claims, tmp_path):
  reproduce.run([], "smoke", str(tmp_path), log=lambda s: None)
  report = open(tmp_path / "REPORT.md").read()
  summary = report[:report.index("## Measurements")]
  assert "| toy | 1 / 2 |" in summary and "| other | 0 / 1 |" in summary
  assert "![toy.png](figures/toy.png)" in summary


def test_scratch_runs_are_keyed_by_variant(tmp_path):
  """`reproduce --variant=smoke` then the default variant into one output directory: each variant trains
  in its own workdir (before, the second run found a workdir holding a run of another config)."""
  from experiments.claims import Context
  from experiments.configs.hopfield import get_config
  cfg = get_config("smoke")
  cfg.train.tensorboard = False
  _, res, wd_smoke = Context("smoke", str(tmp_path)).train(cfg, "mil")
  other = get_config("smoke")
  other.train.tensorboard, other.train.total_steps = False, cfg.train.total_steps + 2
  _, res2, wd_small = Context("small", str(tmp_path)).train(other, "mil")
  assert wd_smoke != wd_small and res2.start_step == 0
  assert res.final_metrics and res2.final_metrics


def test_claim_modules_are_found_by_name():
  names = {m.rsplit(".", 1)[1] for m in claims.CLAIM_MODULES}
  assert {"hopfield", "gla", "radd"} <= names and "report" not in names
  assert all(not n.startswith("_") for n in names)
