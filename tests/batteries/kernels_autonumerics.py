"""Batteries for kernels/autonumerics (paper 02): bad inputs of every public entry point, and derivatives.

exp / exp2 are float32-only kernels: their Grad cases run in float32 (check_grads' float32 tolerances
against central differences; the kernel is < 1 ULP, far below them). evaluate is differentiated in
float64 (x64) with respect to x and the program's constants (XLA where-chain, and Pallas through its
custom_jvp), on one tiny program under jit (the differentiated where-chain is slow to compile, and eager
reverse mode compiles it op by op). The reference impl, the Builder and op_count cannot be differentiated.
"""
import jax
import jax.numpy as jnp
import numpy as np

from kernels import autonumerics as an
from kernels.autonumerics.config import EvalConfig
from battery import BadInput, Grad, NoGrad  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("kernels.autonumerics",)

T = "kernels.autonumerics."
X32 = np.float32([-1.5, 0.25, 2.0])


def _f2():
  """The paper's f2, c1 / (c2 + x), in two slots and two constants."""
  b = an.Builder(2, 2)
  c1, c2 = b.const(-2.1258595374472384), b.const(-2.0413845597733418)
  return b.build(b.div(c1, b.add(c2, b.x)))


def _bad(**fields):
  return _f2()._replace(**{k: np.asarray(v) for k, v in fields.items()})


def _builder_too_many_instructions():
  b = an.Builder(1, 1)
  b.add(b.x, b.x)
  b.add(b.x, b.x)


def _builder_too_many_consts():
  b = an.Builder(2, 1)
  b.const(1.0)
  b.const(2.0)


BAD_INPUTS = [
    # exp / exp2
    BadInput(T + "exp", "float64 x", lambda: an.exp(np.ones(3)), match="x: expected dtype float32", error=TypeError),
    BadInput(T + "exp", "int32 x", lambda: an.exp(jnp.ones(3, jnp.int32)), match="x: expected dtype float32",
             error=TypeError),
    BadInput(T + "exp", "list x", lambda: an.exp([1.0, 2.0]), match="x: expected a float32 array", error=TypeError),
    BadInput(T + "exp", "bad impl", lambda: an.exp(X32, impl="fast"), match="impl: expected one of",
             error=ValueError),
    BadInput(T + "exp", "block 0", lambda: an.exp(X32, impl="pallas", block=0), match="block: expected a positive int",
             error=ValueError),
    BadInput(T + "exp", "block float", lambda: an.exp(X32, impl="pallas", block=2.5),
             match="block: expected a positive int", error=TypeError),
    BadInput(T + "exp", "interpret not bool", lambda: an.exp(X32, impl="pallas", interpret="yes"),
             match="interpret: expected None or a bool", error=TypeError),
    BadInput(T + "exp", "reference under jit", lambda: jax.jit(lambda v: an.exp(v, impl="reference"))(X32),
             match="reference.*numpy-only and not traceable.*use impl='xla'", error=TypeError),
    BadInput(T + "exp2", "float16 x", lambda: an.exp2(jnp.ones(3, jnp.float16)), match="x: expected dtype float32",
             error=TypeError),
    BadInput(T + "exp2", "bad impl", lambda: an.exp2(X32, impl=None), match="impl: expected one of", error=ValueError),
    BadInput(T + "exp2", "block -1", lambda: an.exp2(X32, impl="pallas", block=-1),
             match="block: expected a positive int", error=ValueError),
    BadInput(T + "exp2", "reference under vmap", lambda: jax.vmap(lambda v: an.exp2(v, impl="reference"))(X32),
             match="reference.*not traceable", error=TypeError),
    # evaluate
    BadInput(T + "evaluate", "bad impl", lambda: an.evaluate(_f2(), X32, impl="numba"), match="impl: expected one of",
             error=ValueError),
    BadInput(T + "evaluate", "x 2-D", lambda: an.evaluate(_f2(), np.ones((2, 3)), impl="xla"),
             match="x: expected a 1-D array", error=ValueError),
    BadInput(T + "evaluate", "x scalar", lambda: an.evaluate(_f2(), 0.5, impl="reference"),
             match="x: expected a 1-D array", error=ValueError),
    BadInput(T + "evaluate", "x complex", lambda: an.evaluate(_f2(), np.ones(3, np.complex64), impl="xla"),
             match="x: expected a real", error=TypeError),
    BadInput(T + "evaluate", "not a Program", lambda: an.evaluate((1, 2, 3), X32), match="programs: expected a "
             "kernels.autonumerics.Program", error=TypeError),
    BadInput(T + "evaluate", "op code", lambda: an.evaluate(_bad(ops=[0, 9]), X32, impl="xla"),
             match="programs.ops: expected codes in", error=ValueError),
    BadInput(T + "evaluate", "operand not a DAG", lambda: an.evaluate(_bad(a=[3, 0]), X32, impl="xla"),
             match=r"programs.a: expected 0 <= a\[i\] < K\+1\+i", error=ValueError),
    BadInput(T + "evaluate", "negative operand", lambda: an.evaluate(_bad(b=[-1, 0]), X32, impl="xla"),
             match="programs.b", error=ValueError),
    BadInput(T + "evaluate", "out of range", lambda: an.evaluate(_bad(out=5), X32, impl="xla"),
             match="programs.out", error=ValueError),
    BadInput(T + "evaluate", "field shapes", lambda: an.evaluate(_bad(c=[0, 0, 0]), X32, impl="xla"),
             match="ops, a, b, c: expected equal shapes", error=ValueError),
    BadInput(T + "evaluate", "float ops", lambda: an.evaluate(_bad(ops=[0.0, 3.0]), X32, impl="xla"),
             match="programs.ops: expected an integer dtype", error=TypeError),
    BadInput(T + "evaluate", "integer consts", lambda: an.evaluate(_bad(consts=[1, 2]), X32, impl="xla"),
             match="programs.consts: expected a floating dtype", error=TypeError),
    BadInput(T + "evaluate", "float64 consts without x64", lambda: an.evaluate(_f2(), X32, impl="xla"),
             match="programs.consts: float64 constants need", error=TypeError),
    BadInput(T + "evaluate", "traced structure", lambda: jax.jit(lambda p: an.evaluate(p, X32, impl="xla"))(
        _f2()._replace(consts=np.float32([1, 2]))), match="programs.ops: expected a concrete integer array",
        error=TypeError),
    BadInput(T + "evaluate", "reference under jit", lambda: jax.jit(lambda v: an.evaluate(
        _f2(), v, impl="reference"))(X32), match="reference.*not traceable", error=TypeError),
    BadInput(T + "evaluate", "cfg type", lambda: an.evaluate(_f2(), X32, impl="pallas", cfg=(8, 256)),
             match="cfg: expected a kernels.autonumerics.config.EvalConfig", error=TypeError),
    BadInput(T + "evaluate", "cfg block_n 0", lambda: an.evaluate(_f2(), X32, impl="pallas",
                                                                 cfg=EvalConfig(block_n=0)),
             match="block_n: expected a positive int", error=ValueError),
    BadInput(T + "evaluate", "interpret not bool", lambda: an.evaluate(_f2(), X32, impl="pallas", interpret=0),
             match="interpret: expected None or a bool", error=TypeError),
    # Builder
    BadInput(T + "Builder", "length 0", lambda: an.Builder(0, 2), match="Builder: length: expected an int >= 1",
             error=ValueError),
    BadInput(T + "Builder", "n_consts -1", lambda: an.Builder(4, -1), match="Builder: n_consts: expected an int >= 0",
             error=ValueError),
    BadInput(T + "Builder", "length float", lambda: an.Builder(4.0, 2), match="Builder: length: expected an int",
             error=TypeError),
    BadInput(T + "Builder", "too many instructions", _builder_too_many_instructions,
             match=r"Builder.add: more than L = 1 instructions \(length\)", error=ValueError),
    BadInput(T + "Builder", "too many constants", _builder_too_many_consts,
             match=r"Builder.const: more than K = 1 constants \(n_consts\)", error=ValueError),
    BadInput(T + "Builder", "NaN constant", lambda: an.Builder(2, 1).const(float("nan")),
             match="Builder.const: v: expected a finite value", error=ValueError),
    BadInput(T + "Builder", "string constant", lambda: an.Builder(2, 1).const("1.5"),
             match="Builder.const: v: expected a real number", error=TypeError),
    BadInput(T + "Builder", "unknown register", lambda: an.Builder(2, 1).mul(0, 7),
             match=r"Builder.mul: b: expected a register handle \(an int in \[0, 2\)", error=ValueError),
    BadInput(T + "Builder", "build out of range", lambda: an.Builder(2, 1).build(9),
             match="Builder.build: out: expected a register handle", error=ValueError),
    # op_count
    BadInput(T + "op_count", "not a Program", lambda: an.op_count({"ops": [0]}),
             match="op_count: p: expected a kernels.autonumerics.Program", error=TypeError),
    BadInput(T + "op_count", "op code", lambda: an.op_count(_bad(ops=[0, -1])), match="op_count: p.ops: expected codes",
             error=ValueError),
    BadInput(T + "op_count", "operand not a DAG", lambda: an.op_count(_bad(b=[0, 4])), match="op_count: p.b",
             error=ValueError),
    # paper_programs
    BadInput(T + "paper_programs", "length too short", lambda: an.paper_programs(length=9),
             match="paper_programs: length: expected an int >= 10", error=ValueError),
    BadInput(T + "paper_programs", "too few constants", lambda: an.paper_programs(n_consts=4),
             match="paper_programs: n_consts: expected an int >= 5", error=ValueError),
    BadInput(T + "paper_programs", "length str", lambda: an.paper_programs(length="12"),
             match="paper_programs: length: expected an int", error=TypeError),
]


def _x32():
  return (X32,)


GRADIENTS = [
    Grad(T + "exp", lambda x: an.exp(x, impl="xla"), _x32, case="xla", dtype="float32"),
    Grad(T + "exp", lambda x: an.exp(x, impl="xla"), _x32, case="xla order 2", dtype="float32", order=2),
    Grad(T + "exp", lambda x: an.exp(x, impl="pallas"), _x32, case="pallas", dtype="float32"),
    Grad(T + "exp", lambda x: an.exp(x), _x32, case="auto", dtype="float32"),
    NoGrad(T + "exp", lambda x: an.exp(x, impl="reference"), _x32, match="reference.*not traceable",
           dtype="float32"),
    Grad(T + "exp2", lambda x: an.exp2(x, impl="xla"), _x32, case="xla", dtype="float32"),
    Grad(T + "exp2", lambda x: an.exp2(x, impl="xla"), _x32, case="xla order 2", dtype="float32", order=2),
    Grad(T + "exp2", lambda x: an.exp2(x, impl="pallas"), _x32, case="pallas", dtype="float32"),
    Grad(T + "exp2", lambda x: an.exp2(x), _x32, case="auto", dtype="float32"),
    NoGrad(T + "exp2", lambda x: an.exp2(x, impl="reference"), _x32, match="reference.*not traceable",
           dtype="float32"),
    # x and the constants together (jit: one compile per transformation instead of op-by-op)
    Grad(T + "evaluate", jax.jit(lambda x, c: an.evaluate(_f2()._replace(consts=c), x, impl="xla")),
         lambda: (np.linspace(0.1, 1.0, 3), _f2().consts), case="xla, x and consts"),
    Grad(T + "evaluate", jax.jit(lambda x, c: an.evaluate(_f2()._replace(consts=c), x, impl="pallas")),
         lambda: (np.linspace(0.1, 1.0, 3), _f2().consts), case="pallas, x and consts"),
    NoGrad(T + "evaluate", lambda x: an.evaluate(_f2(), x, impl="reference"), lambda: (np.linspace(0.1, 1.0, 3),),
           match="reference.*not traceable"),
    NoGrad(T + "Builder", lambda v: an.evaluate(_builder_with(v), jnp.ones(2), impl="xla"), lambda: (np.float64(2.0),),
           match="Builder.const: v: .*not differentiable"),
]


def _builder_with(v):
  b = an.Builder(1, 1)
  return b.build(b.mul(b.x, b.const(v)))


EXEMPT = {
    T + "op_count": ("grad: integer-valued: an int32 count of instructions (jax.grad refuses it); the only "
                     "float field, consts, does not enter the count"),
    T + "paper_programs": ("grad: integer inputs only (length, n_consts); the programs' constants are "
                           "differentiated through evaluate's Grad case"),
}
