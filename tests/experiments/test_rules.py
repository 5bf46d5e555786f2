"""Every registered claim's verdict rule, checked on hand-made evidence (no experiment runs here).

Each claim registers ``judge(evidence) -> (verdict, rule)`` and ``cases``: evidence dicts written by hand with the
verdict the rule must give. This file runs every case, and requires of every claim at least one case that holds,
one that does not and one at the boundary of the rule, and a rule text that states its thresholds.
"""
import copy

import pytest

from experiments import claims
from experiments.claims import Case, Outcome, Verdict

CLAIMS = claims.all_claims()
CASES = [(c, case) for c in CLAIMS for case in c.cases]


def _id(v):
  if isinstance(v, claims.Claim):
    return v.id
  if isinstance(v, Case):
    return v.label
  return None


@pytest.mark.parametrize("claim", CLAIMS, ids=_id)
def test_every_claim_has_a_judge_and_cases_on_both_sides_and_the_boundary(claim):
  assert claim.judge is not None, f"{claim.id}: register judge= (a pure function of the evidence)"
  labels = [c.label for c in claim.cases]
  verdicts = {c.verdict for c in claim.cases}
  assert Verdict.HOLDS in verdicts and Verdict.DOES_NOT_HOLD in verdicts, (claim.id, labels)
  assert any(l.startswith("boundary") for l in labels), (claim.id, labels)
  for c in claim.cases:
    assert c.label.split(":")[0].split(" (")[0] in ("holds", "does not hold", "boundary", "inconclusive"), c.label


@pytest.mark.parametrize("claim,case", CASES, ids=_id)
def test_judge_gives_the_verdict_of_each_case(claim, case):
  evidence = copy.deepcopy(case.evidence)
  verdict, rule = claim.judge(evidence)
  assert evidence == case.evidence, f"{claim.id}: the judge must not modify its evidence"
  assert isinstance(verdict, Verdict) and verdict == case.verdict, (claim.id, case.label, verdict)
  assert isinstance(rule, str) and len(rule) > 20
  assert claim.judge(copy.deepcopy(case.evidence)) == (verdict, rule), f"{claim.id}: the judge must be pure"


def test_harness_takes_the_verdict_and_rule_from_the_judge(monkeypatch):
  monkeypatch.setattr(claims, "_CLAIMS", {})

  def judge(e):
    return (Verdict.HOLDS if e["x"] > 0 else Verdict.DOES_NOT_HOLD), "holds iff x > 0"

  @claims.claim("toy", "x", "x positive", "x > 0", judge=judge,
                cases=[Case("holds", {"x": 1.0}, Verdict.HOLDS)])
  def _x(ctx):
    return Outcome(measured={"x": -1.0}, evidence={"x": -1.0})

  @claims.claim("toy", "lies", "verdict disagrees with its judge", "x > 0", judge=judge)
  def _lies(ctx):
    return Outcome(measured={"x": -1.0}, evidence={"x": -1.0}, verdict=Verdict.HOLDS)

  @claims.claim("toy", "noev", "no evidence", "x > 0", judge=judge)
  def _noev(ctx):
    return Outcome(measured={"x": -1.0})

  ctx = claims.Context("smoke", "unused")
  out = claims._CLAIMS["toy/x"].run(ctx)
  assert out.verdict == Verdict.DOES_NOT_HOLD and out.rule == "holds iff x > 0"
  with pytest.raises(ValueError, match="judge gives 'does not hold'"):
    claims._CLAIMS["toy/lies"].run(ctx)
  with pytest.raises(ValueError, match="evidence"):
    claims._CLAIMS["toy/noev"].run(ctx)
  with pytest.raises(TypeError, match="cases"):
    claims.claim("toy", "bad", "t", "e", judge=judge, cases=[{"x": 1}])
