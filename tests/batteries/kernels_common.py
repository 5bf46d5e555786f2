"""Batteries for kernels/common/checks.py (the shared value checks)."""
import jax.numpy as jnp
import numpy as np

from kernels.common import checks, dispatch
from battery import BadInput, Grad, NoGrad  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("kernels.common.checks", "kernels.common.dispatch")

BAD_INPUTS = [
    BadInput("kernels.common.dispatch.resolve_impl", "unknown impl", lambda: dispatch.resolve_impl("cuda", "gla"),
             match=r"gla: impl: expected one of"),
    BadInput("kernels.common.checks.check_finite", "nan", lambda: checks.check_finite(
        np.array([0.0, np.nan]), "series", "f"), match=r"series.*index \(1,\)"),
    BadInput("kernels.common.checks.check_in_range", "above", lambda: checks.check_in_range(
        np.array([[0, 7]]), "tokens", "f", 0, 7), match=r"tokens.*\[0, 7\).*index \(0, 1\)"),
    BadInput("kernels.common.checks.check_key", "int key", lambda: checks.check_key(
        np.array([1, 2]), "key", "f"), match="f: key expected a PRNG key", error=TypeError),
    BadInput("kernels.common.checks.no_grad", "grad", lambda: __import__("jax").grad(
        lambda x: checks.no_grad(x, "f(x)").sum())(jnp.ones(2)), match="f\\(x\\) is not differentiable"),
]

GRADIENTS = [
    NoGrad("kernels.common.checks.no_grad", lambda x: checks.no_grad(x, "f(x)") * 2.0,
           lambda: (np.ones(3),), match="f\\(x\\) is not differentiable"),
]

EXEMPT = {
    "kernels.common.dispatch.resolve_impl": "grad: takes and returns a string",
    "kernels.common.checks.is_concrete": "takes any value, cannot fail; used by the checks below",
    "kernels.common.checks.check_finite": "grad: a check, returns None",
    "kernels.common.checks.check_in_range": "grad: a check on integer ids, returns None",
    "kernels.common.checks.check_key": "grad: a check on a PRNG key, returns None",
}
