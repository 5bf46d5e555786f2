"""Quantised-GEMM Flax layers and the toy quantised-training sweep (paper 32: Sun et al., "Scaling Laws for
Floating-Point Quantization Training", ICML 2025, arXiv:2501.02423).

* :mod:`.modules`: ``QuantDense`` (``nn.Dense`` through ``kernels.fp_quant.qmatmul``) and ``QuantMLP``.
* :mod:`.experiment`: the random-teacher sweep over widths, formats and block sizes, and its analyses.
"""
from models.fp_quant_scaling.experiment import (HoldoutFit, PopulationResult, SweepRow, Teacher, gap_table,
                                                holdout_fit, make_teacher, pair_agreement, sample_batch, sweep,
                                                teacher_probs, train_population)
from models.fp_quant_scaling.modules import QuantDense, QuantMLP

__all__ = ["HoldoutFit", "PopulationResult", "QuantDense", "QuantMLP", "SweepRow", "Teacher", "gap_table",
           "holdout_fit", "make_teacher", "pair_agreement", "sample_batch", "sweep", "teacher_probs",
           "train_population"]
