"""Batteries for theory/fp_quant_scaling (paper 32: the unified FP quantisation scaling law)."""
import numpy as np

from theory import fp_quant_scaling as S
from battery import BadInput, Grad, NoGrad  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("theory.fp_quant_scaling",)
_P = "theory.fp_quant_scaling."
_ones = [1.0] * 8

BAD_INPUTS = [
    BadInput(_P + "loss", "N = 0", lambda: S.loss(0.0, 1e10, 4, 3, 128), match="N"),
    BadInput(_P + "loss", "D negative", lambda: S.loss(1e8, -1.0, 4, 3, 128), match="D"),
    BadInput(_P + "loss", "E negative", lambda: S.loss(1e8, 1e10, -1, 3, 128), match="E"),
    BadInput(_P + "loss", "B = 0", lambda: S.loss(1e8, 1e10, 4, 3, 0), match="B"),
    BadInput(_P + "loss", "params a dict", lambda: S.loss(1e8, 1e10, 4, 3, 128, {"n": 1}), match="params",
             error=TypeError),
    BadInput(_P + "quantization_term", "M nan", lambda: S.quantization_term(1e8, 1e10, 4, float("nan"), 128),
             match="M"),
    BadInput(_P + "critical_data_size", "N inf", lambda: S.critical_data_size(float("inf"), 4, 3, 128), match="N"),
    BadInput(_P + "critical_data_size", "B negative", lambda: S.critical_data_size(1e8, 4, 3, -2), match="B"),
    BadInput(_P + "argmin_data_size", "E negative", lambda: S.argmin_data_size(1e8, -2, 3, 128), match="E"),
    BadInput(_P + "optimal_layout", "1 bit", lambda: S.optimal_layout(1), match="bits"),
    BadInput(_P + "optimal_layout", "float bits", lambda: S.optimal_layout(8.0), match="bits"),
    BadInput(_P + "layout_table", "bits 0", lambda: S.layout_table([0]), match="bits"),
    BadInput(_P + "effective_block", "block 0", lambda: S.effective_block(0, 64), match="block"),
    BadInput(_P + "effective_block", "tensor without size", lambda: S.effective_block("tensor", 64), match="size"),
    BadInput(_P + "effective_block", "contraction 0", lambda: S.effective_block(16, 0), match="contraction"),
    BadInput(_P + "fit_law", "too few runs", lambda: S.fit_law(*[[1.0]] * 6), match="L"),
    BadInput(_P + "fit_law", "lengths differ", lambda: S.fit_law(_ones, _ones, _ones, _ones, _ones, [1.0] * 7),
             match="L"),
    BadInput(_P + "fit_law", "nan loss", lambda: S.fit_law(_ones, _ones, _ones, _ones, _ones, [np.nan] * 8),
             match="L"),
    BadInput(_P + "fit_law", "starts 0", lambda: S.fit_law(_ones, _ones, _ones, _ones, _ones, _ones, starts=0),
             match="starts"),
    BadInput(_P + "r_squared", "length mismatch", lambda: S.r_squared([1.0, 2.0], [1.0]), match="pred"),
]

GRADIENTS = [
    Grad(_P + "loss", lambda n, d, e, m, b: S.loss(n, d, e, m, b), lambda: (2e7, 3e9, 2.0, 1.0, 64.0),
         case="all five inputs", rtol=1e-5),
    Grad(_P + "quantization_term", lambda n, d, e, m: S.quantization_term(n, d, e, m, 128.0),
         lambda: (2e7, 3e9, 2.0, 1.0), rtol=1e-5),
    Grad(_P + "critical_data_size", lambda n, e, m, b: S.critical_data_size(n, e, m, b) * 1e-10,
         lambda: (2e7, 2.0, 1.0, 64.0), rtol=1e-5),
]

EXEMPT = {
    _P + "LawParams": "a NamedTuple of constants",
    _P + "FitResult": "a NamedTuple container",
    _P + "argmin_data_size": "grad: a numpy grid search (the oracle for critical_data_size)",
    _P + "optimal_layout": "grad: integer output",
    _P + "layout_table": "grad: string output",
    _P + "effective_block": "grad: integer-valued configuration",
    _P + "fit_law": "grad: scipy least squares on numpy data",
    _P + "r_squared": "grad: numpy summary statistic",
}
