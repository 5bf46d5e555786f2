"""Batteries for models/fp_quant_scaling (paper 32: QuantDense / QuantMLP and the toy sweep).

Gradients of the layers are checked in full precision (``fmt=None``): with a format the forward is piecewise
constant and the backward is qmatmul's custom one (checked against explicit operands in
tests/kernels/test_fp_quant.py). The sweep functions train or analyse numpy tables: exempt from the grad battery.
"""
import jax
import jax.numpy as jnp
import numpy as np

from models import fp_quant_scaling as F
from battery import BadInput, Grad, NoGrad  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("models.fp_quant_scaling",)
_P = "models.fp_quant_scaling."
_KEY = jax.random.PRNGKey(0)
_R = np.random.default_rng(3)
_x = _R.standard_normal((3, 8))
_D = F.QuantDense(4)
_D_P = jax.tree.map(lambda s: 0.5 * _R.normal(size=s.shape), jax.eval_shape(lambda k: _D.init(k, jnp.zeros((1, 8))),
                                                                              _KEY))
_M = F.QuantMLP(hidden=5, out=3)
_M_P = jax.tree.map(lambda s: 0.5 * _R.normal(size=s.shape), jax.eval_shape(lambda k: _M.init(k, jnp.zeros((1, 8))),
                                                                              _KEY))
_T = F.make_teacher(_KEY, 8, 4, 3)
_ROW = F.SweepRow(100, 10, "E2M1", 2, 1, "16", 16.0, 0, 2.0)

BAD_INPUTS = [
    BadInput(_P + "QuantDense", "features 0", lambda: F.QuantDense(0).init(_KEY, jnp.zeros((2, 8))), match="features"),
    BadInput(_P + "QuantDense", "qparams a dict", lambda: F.QuantDense(4).init(_KEY, jnp.zeros((2, 8)), {"m": 1}),
             match="qparams", error=TypeError),
    BadInput(_P + "QuantDense", "block not dividing", lambda: F.QuantDense(4, fmt="E4M3", block_size=3, pad=False)
             .init(_KEY, jnp.zeros((2, 8))), match="block_size"),
    BadInput(_P + "QuantMLP", "hidden 0", lambda: F.QuantMLP(hidden=0, out=3).init(_KEY, jnp.zeros((2, 8))),
             match="features"),
    BadInput(_P + "QuantMLP", "unknown format", lambda: F.QuantMLP(hidden=4, out=3, fmt="FP8")
             .init(_KEY, jnp.zeros((2, 8))), match="fmt"),
    BadInput(_P + "make_teacher", "one class", lambda: F.make_teacher(_KEY, 8, 4, 1), match="classes"),
    BadInput(_P + "make_teacher", "temperature 0", lambda: F.make_teacher(_KEY, 8, 4, 3, 0.0), match="temperature"),
    BadInput(_P + "teacher_probs", "x width", lambda: F.teacher_probs(_T, jnp.zeros((2, 5))), match="x"),
    BadInput(_P + "sample_batch", "batch 0", lambda: F.sample_batch(_T, _KEY, 0), match="batch"),
    BadInput(_P + "train_population", "eval_every not dividing",
             lambda: F.train_population(_KEY, _T, (4,), 4, [None], steps=5, eval_every=2), match="eval_every"),
    BadInput(_P + "train_population", "no widths", lambda: F.train_population(_KEY, _T, (), 4, [None]),
             match="widths"),
    BadInput(_P + "train_population", "block 0", lambda: F.train_population(_KEY, _T, (4,), 0, [None]),
             match="block"),
    BadInput(_P + "train_population", "bad format", lambda: F.train_population(_KEY, _T, (4,), 4, ["E4"]),
             match="spec"),
    BadInput(_P + "sweep", "no blocks", lambda: F.sweep(_KEY, blocks=()), match="blocks"),
    BadInput(_P + "gap_table", "no FP32 runs", lambda: F.gap_table([_ROW]), match="rows"),
    BadInput(_P + "pair_agreement", "negative tol", lambda: F.pair_agreement({}, ["16"], -1.0), match="tol"),
    BadInput(_P + "holdout_fit", "holdout 1", lambda: F.holdout_fit([_ROW], holdout=1.0), match="holdout"),
]

GRADIENTS = [
    Grad(_P + "QuantDense", lambda p, x: _D.apply(p, x), lambda: (_D_P, _x), case="full precision", dtype="float32",
         eps=1e-2),
    Grad(_P + "QuantMLP", lambda p, x: _M.apply(p, x), lambda: (_M_P, _x), case="full precision", dtype="float32",
         eps=3e-3),
    Grad(_P + "teacher_probs", lambda x: F.teacher_probs(_T, x), lambda: (_x,), dtype="float32", eps=1e-2),
]

EXEMPT = {
    _P + "HoldoutFit": "a NamedTuple container",
    _P + "PopulationResult": "a NamedTuple container",
    _P + "SweepRow": "a frozen dataclass row",
    _P + "Teacher": "a NamedTuple of teacher weights",
    _P + "make_teacher": "grad: draws random weights from a key",
    _P + "sample_batch": "grad: draws inputs and integer labels from a key",
    _P + "train_population": "grad: a training loop (returns losses after optimisation)",
    _P + "sweep": "grad: a training sweep",
    _P + "gap_table": "grad: numpy summary of sweep rows",
    _P + "pair_agreement": "grad: counts orderings",
    _P + "holdout_fit": "grad: scipy fit on numpy data",
}
