"""Claims that ``reproduce`` checks: each paper registers claims that measure, then judge.

A claim is two functions. The **measuring function** ``fn(ctx) -> Outcome`` runs the experiment (through the
paper package's ``experiment.py``) and returns the headline figures, the figures and an ``evidence`` dict of
plain numbers. The **judge** ``judge(evidence) -> (Verdict, rule)`` is pure: it applies the verdict rule and
writes the rule's text from the same constants, so the text cannot drift from the code. The harness
(:meth:`Claim.run`) calls one after the other. Each claim also registers hand-made ``cases`` (evidence
dicts with the verdict the judge must give: one that holds, one that does not, one at the boundary, and
"inconclusive" where the rule has it); ``tests/experiments/test_rules.py`` checks them all.

To add a paper: write ``experiments/claims/<slug>.py`` with ``@claim(..., judge=..., cases=...)`` functions
(shared tables, slopes and figures in :mod:`experiments.claims.report`). Claim modules are found by name:
every module of this package whose name does not start with ``_`` and is not one of the shared helper
modules in ``HELPER_MODULES``.
"""
from __future__ import annotations

import dataclasses
import enum
import importlib
import os
import pkgutil
from typing import Any, Callable, Sequence

# Modules of this package that hold shared helpers, not claims.
HELPER_MODULES: frozenset[str] = frozenset({"report"})


def _discover() -> tuple[str, ...]:
  names = sorted(m.name for m in pkgutil.iter_modules(__path__)
                 if not m.name.startswith("_") and m.name not in HELPER_MODULES)
  return tuple(f"{__name__}.{n}" for n in names)


# Modules whose import registers claims (found by name; tests may replace this tuple).
CLAIM_MODULES: tuple[str, ...] = _discover()


def pyplot():
  """matplotlib.pyplot on the headless Agg backend (imported lazily: claims must run without a display)."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  return plt


class Verdict(str, enum.Enum):
  HOLDS = "holds"
  DOES_NOT_HOLD = "does not hold"
  INCONCLUSIVE = "inconclusive"


@dataclasses.dataclass
class Outcome:
  """What a claim measured.

  Attributes:
    measured: headline figures (name -> number or short string), shown in the report row.
    evidence: the plain numbers (floats, ints, bools, strings, lists of them) the claim's judge reads; kept in
      results.json.
    verdict, rule: set by the harness from ``judge(evidence)``; a measuring function leaves them unset.
    figures: PNG paths relative to the report directory.
    table: optional markdown table with the full measurements.
    data: anything else worth keeping in results.json (curves, per-seed values).
  """
  measured: dict[str, Any]
  verdict: Verdict | None = None
  rule: str = ""
  figures: list[str] = dataclasses.field(default_factory=list)
  table: str = ""
  data: dict[str, Any] = dataclasses.field(default_factory=dict)
  evidence: dict[str, Any] | None = None


Judge = Callable[[dict], "tuple[Verdict, str]"]


@dataclasses.dataclass(frozen=True)
class Case:
  """A hand-made evidence dict and the verdict the claim's judge must give for it.

  ``label`` says which side of the rule it probes: ``"holds"``, ``"does not hold"``, ``"boundary"`` (at or next to
  a threshold; the expected verdict says which side the boundary belongs to), ``"inconclusive"``, or anything
  more specific that starts with one of these.
  """
  label: str
  evidence: dict[str, Any]
  verdict: Verdict


@dataclasses.dataclass
class Context:
  """What a claim gets: the variant, where to put figures and scratch runs, and a logger."""
  variant: str
  out_dir: str
  log: Callable[[str], None] = print
  seed: int = 0

  def figure_path(self, name: str) -> tuple[str, str]:
    """Returns ``(absolute path, path relative to out_dir)`` for a PNG figure."""
    rel = os.path.join("figures", name)
    os.makedirs(os.path.join(self.out_dir, "figures"), exist_ok=True)
    return os.path.join(self.out_dir, rel), rel

  def save_figure(self, fig, name: str, dpi: int = 120) -> str:
    """Lays out, writes ``figures/<name>`` and closes ``fig``; returns the path relative to out_dir."""
    import matplotlib.pyplot as plt
    path, rel = self.figure_path(name)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return rel

  def figures(self, *makers: Callable[[], str]) -> list[str]:
    """Runs each figure maker (a no-argument callable returning a path from :meth:`save_figure`);
    when matplotlib is not installed, logs it and returns no figures instead of failing the claim."""
    try:
      import matplotlib  # noqa: F401
    except ImportError:
      self.log("matplotlib missing: no figure")
      return []
    return [make() for make in makers]

  def scratch(self, name: str) -> str:
    """A scratch directory for ``name`` under ``out_dir/runs/<variant>/`` (keyed by variant: a smoke run
    and a small run into the same output directory never share a training workdir)."""
    path = os.path.join(self.out_dir, "runs", self.variant, name)
    os.makedirs(path, exist_ok=True)
    return path

  def train(self, cfg, name: str, task=None, log: Callable[[str], None] | None = None):
    """Trains ``cfg`` through ``train_lib`` in ``scratch(name)``; a rerun resumes or reloads the finished run.

    Args:
      cfg: a training config (validated here before anything compiles).
      name: the scratch run's name (include what distinguishes runs: mixer, seed, ...).
      task: the task to train; default ``build_task(cfg)`` (the registered task of ``cfg.task``).
      log: progress lines; default silent.
    Returns: ``(task, result, workdir)`` with ``result`` a ``train_lib.TrainResult``.
    """
    from experiments import train_lib
    from experiments.configs.common import validate_train
    from experiments.tasks import build_task
    validate_train(cfg)
    if task is None:
      task = build_task(cfg)
    workdir = self.scratch(name)
    res = train_lib.train(task, cfg, workdir, log=log or (lambda s: None))
    return task, res, workdir


@dataclasses.dataclass(frozen=True)
class Claim:
  paper: str        # the paper slug
  name: str         # short claim id, unique within the paper
  title: str        # one line
  expectation: str  # what the paper says, in words
  fn: Callable[[Context], Outcome]
  judge: Judge | None = None
  cases: tuple[Case, ...] = ()

  @property
  def id(self) -> str:
    return f"{self.paper}/{self.name}"

  def run(self, ctx: Context) -> Outcome:
    """Measures (``fn``) then judges: the verdict and the rule's text come from ``judge(outcome.evidence)``."""
    out = self.fn(ctx)
    if not isinstance(out, Outcome):
      raise TypeError(f"claim {self.id}: expected the measuring function to return an Outcome, got "
                      f"{type(out).__name__}")
    if self.judge is None:
      if out.verdict is None:
        raise ValueError(f"claim {self.id}: no judge registered and no verdict returned")
      return out
    if out.evidence is None:
      raise ValueError(f"claim {self.id}: expected Outcome.evidence for its judge, got None")
    verdict, rule = self.judge(out.evidence)
    if out.verdict is not None and out.verdict != verdict:
      raise ValueError(f"claim {self.id}: the measuring function returned {out.verdict.value!r} but its judge "
                       f"gives {verdict.value!r}")
    return dataclasses.replace(out, verdict=Verdict(verdict), rule=rule)


_CLAIMS: dict[str, Claim] = {}


def claim(paper: str, name: str, title: str, expectation: str, *, judge: Judge | None = None,
          cases: Sequence[Case] = ()) -> Callable[[Callable[[Context], Outcome]], Callable]:
  """Registers a measuring function as claim ``paper/name`` with its ``judge`` and hand-made ``cases``."""
  if judge is not None and not callable(judge):
    raise TypeError(f"claim {paper}/{name}: judge: expected a callable, got {type(judge).__name__}")
  for c in cases:
    if not isinstance(c, Case):
      raise TypeError(f"claim {paper}/{name}: cases: expected Case instances, got {type(c).__name__}")

  def register(fn: Callable[[Context], Outcome]) -> Callable[[Context], Outcome]:
    c = Claim(paper, name, title, expectation, fn, judge, tuple(cases))
    if c.id in _CLAIMS and _CLAIMS[c.id].fn is not fn:
      raise ValueError(f"claim {c.id} registered twice")
    _CLAIMS[c.id] = c
    return fn
  return register


def all_claims(only: list[str] | None = None) -> list[Claim]:
  """Registered claims, in registry order; ``only`` keeps papers (``hopfield``) or claims (``hopfield/mil``)."""
  for m in CLAIM_MODULES:
    importlib.import_module(m)
  claims = list(_CLAIMS.values())
  if only:
    known = {c.paper for c in claims} | {c.id for c in claims}
    unknown = [o for o in only if o not in known]
    if unknown:
      raise ValueError(f"only: unknown paper or claim {unknown}; known: {sorted(known)}")
    claims = [c for c in claims if c.paper in only or c.id in only]
  return claims
