"""The floating-point quantisation scaling law (paper 32: Sun et al., ICML 2025, arXiv:2501.02423)."""
from theory.fp_quant_scaling.law import (PAPER_PARAMS, FitResult, LawParams, argmin_data_size, critical_data_size,
                                         effective_block, fit_law, layout_table, loss, optimal_layout,
                                         quantization_term, r_squared)

__all__ = ["PAPER_PARAMS", "FitResult", "LawParams", "argmin_data_size", "critical_data_size", "effective_block",
           "fit_law", "layout_table", "loss", "optimal_layout", "quantization_term", "r_squared"]
