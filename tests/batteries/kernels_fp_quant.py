"""Batteries for kernels/fp_quant (paper 32: the ExMy quantiser and the quantised matmul).

``quantize`` is piecewise constant in ``x``: differentiating it raises. ``qmatmul``'s backward is the
custom_vjp's (quantised operands or straight-through), not the derivative of its forward; its gradient is
checked against finite differences with a disabled format (``FormatParams.enabled = 0``: the quantiser is
the identity), which checks that the custom backward wires dx = dy wᵀ and dw = xᵀ dy.
"""
import jax.numpy as jnp
import numpy as np

from kernels import fp_quant as fq
from battery import BadInput, Grad, NoGrad  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("kernels.fp_quant",)
_P = "kernels.fp_quant."

_rng = np.random.default_rng(5)
_x = _rng.standard_normal((4, 16)).astype(np.float32)
_w = _rng.standard_normal((16, 3)).astype(np.float32)
_OFF = fq.FormatParams(23, -126, 127, 3.0e38, 0.0)

BAD_INPUTS = [
    BadInput(_P + "FPFormat", "negative E", lambda: fq.FPFormat(-1, 3), match="exp_bits"),
    BadInput(_P + "FPFormat", "negative M", lambda: fq.FPFormat(4, -1), match="man_bits"),
    BadInput(_P + "FPFormat", "33 bits", lambda: fq.FPFormat(9, 23), match="1 \\+ E \\+ M <= 32"),
    BadInput(_P + "FPFormat", "float E", lambda: fq.FPFormat(4.0, 3), match="exp_bits"),
    BadInput(_P + "FPFormat", "unknown convention", lambda: fq.FPFormat(4, 3, "ocp"), match="convention"),
    BadInput(_P + "FPFormat", "E9 beyond float32", lambda: fq.FPFormat(9, 3), match="exp_bits"),
    BadInput(_P + "FPFormat", "E0M0", lambda: fq.FPFormat(0, 0), match="man_bits"),
    BadInput(_P + "parse_format", "bad name", lambda: fq.parse_format("FP8"), match="spec"),
    BadInput(_P + "parse_format", "dict", lambda: fq.parse_format({"E": 4}), match="spec"),
    BadInput(_P + "stack_formats", "empty", lambda: fq.stack_formats([]), match="formats"),
    BadInput(_P + "stack_formats", "a string", lambda: fq.stack_formats(["E4M3"]), match="formats"),
    BadInput(_P + "quantize", "int x", lambda: fq.quantize(_x.astype(np.int32), "E4M3"), match="quantize: x",
             error=TypeError),
    BadInput(_P + "quantize", "list x", lambda: fq.quantize([1.0, 2.0], "E4M3"), match="quantize: x",
             error=TypeError),
    BadInput(_P + "quantize", "empty x", lambda: fq.quantize(np.zeros((0, 4), np.float32), "E4M3"),
             match="quantize: x"),
    BadInput(_P + "quantize", "B not dividing", lambda: fq.quantize(_x, "E4M3", block_size=5), match="block_size"),
    BadInput(_P + "quantize", "B = 0", lambda: fq.quantize(_x, "E4M3", block_size=0), match="block_size"),
    BadInput(_P + "quantize", "B negative", lambda: fq.quantize(_x, "E4M3", block_size=-16), match="block_size"),
    BadInput(_P + "quantize", "B bool", lambda: fq.quantize(_x, "E4M3", block_size=True), match="block_size"),
    BadInput(_P + "quantize", "B unknown word", lambda: fq.quantize(_x, "E4M3", block_size="row"),
             match="block_size"),
    BadInput(_P + "quantize", "axis out of range", lambda: fq.quantize(_x, "E4M3", axis=2), match="axis"),
    BadInput(_P + "quantize", "pad int", lambda: fq.quantize(_x, "E4M3", pad=1), match="pad", error=TypeError),
    BadInput(_P + "quantize", "negative E", lambda: fq.quantize(_x, (-1, 2)), match="exp_bits"),
    BadInput(_P + "quantize", "fmt a 3-tuple", lambda: fq.quantize(_x, (4, 3, 1)), match="fmt", error=TypeError),
    BadInput(_P + "quantize", "bad impl", lambda: fq.quantize(_x, "E4M3", impl="triton"), match="impl"),
    BadInput(_P + "quantize", "traced format with pallas", lambda: fq.quantize(_x, _OFF, impl="pallas"),
             match="fmt", error=TypeError),
    BadInput(_P + "qmatmul", "w rank 1", lambda: fq.qmatmul(_x, _w[:, 0], "E4M3"), match="qmatmul: w"),
    BadInput(_P + "qmatmul", "K mismatch", lambda: fq.qmatmul(_x[:, :8], _w, "E4M3"), match="qmatmul: x"),
    BadInput(_P + "qmatmul", "unknown target", lambda: fq.qmatmul(_x, _w, "E4M3", targets=("P7",)),
             match="targets"),
    BadInput(_P + "qmatmul", "targets a string", lambda: fq.qmatmul(_x, _w, "E4M3", targets="P1"), match="targets",
             error=TypeError),
    BadInput(_P + "qmatmul", "ste with backward targets", lambda: fq.qmatmul(_x, _w, "E4M3", backward="ste"),
             match="targets"),
    BadInput(_P + "qmatmul", "unknown backward", lambda: fq.qmatmul(_x, _w, "E4M3", backward="exact"),
             match="backward"),
    BadInput(_P + "qmatmul", "B not dividing N", lambda: fq.qmatmul(_x, _w, "E4M3", block_size=16),
             match="block_size.*N"),
    BadInput(_P + "qmatmul", "reference impl", lambda: fq.qmatmul(_x, _w, "E4M3", impl="reference"), match="impl"),
    BadInput(_P + "qmatmul", "int w", lambda: fq.qmatmul(_x, _w.astype(np.int32), "E4M3"), match="qmatmul: w",
             error=TypeError),
    BadInput(_P + "qmatmul", "bad backward_fmt", lambda: fq.qmatmul(_x, _w, "E4M3", backward_fmt="E4"),
             match="backward_fmt"),
]

GRADIENTS = [
    NoGrad(_P + "quantize", lambda x: fq.quantize(x, "E4M3", block_size=16), lambda: (_x,), match="not differentiable",
           dtype="float32"),
    Grad(_P + "qmatmul", lambda x, w: fq.qmatmul(x, w, _OFF, block_size=4, pad=True, impl="xla"), lambda: (_x, _w),
         case="identity format: dx = dy wT, dw = xT dy", dtype="float32", eps=1e-2),
]

EXEMPT = {
    _P + "FPFormat": "grad: a format description (integers and a string)",
    _P + "FormatParams": "a NamedTuple container",
    _P + "parse_format": "grad: parses a format name or pair",
    _P + "stack_formats": "grad: builds integer/float tables from formats",
}
