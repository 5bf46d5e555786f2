"""AutoNumerics-Zero (paper 02): program search for the exponential, a population evaluator, float32 exp.

Real, Chen, Ross-Knoop, ... Le. "AutoNumerics-Zero: Automated Discovery of State-of-the-Art
Mathematical Functions". arXiv:2312.08472.

``from kernels.autonumerics import exp, exp2, evaluate, Program, op_count``; the search loop is
:mod:`kernels.autonumerics.search`, baselines :mod:`kernels.autonumerics.baselines`, the ULP harness
:mod:`kernels.autonumerics.ulp` (CLI: ``python -m kernels.autonumerics.ulp_check``).
"""
from kernels.autonumerics.api import IMPLS, evaluate, exp, exp2
from kernels.autonumerics.program import Builder, Program, op_count, paper_programs

__all__ = ["IMPLS", "Builder", "Program", "evaluate", "exp", "exp2", "op_count", "paper_programs"]
