"""Floating-point (ExMy) quantisation with block scaling, and the quantised matmul (paper 32).

Sun et al., "Scaling Laws for Floating-Point Quantization Training", ICML 2025, arXiv:2501.02423.
"""
from kernels.fp_quant.api import BACKWARDS, IMPLS, TARGETS, qmatmul, quantize
from kernels.fp_quant.formats import CONVENTIONS, FormatParams, FPFormat, parse_format, stack_formats

__all__ = ["BACKWARDS", "CONVENTIONS", "IMPLS", "TARGETS", "FPFormat", "FormatParams", "parse_format", "qmatmul",
           "quantize", "stack_formats"]
