"""Batteries for theory/nonconvex_lower_bounds (paper 28: zero-chain hard instances, oracles, GD / SGD)."""
import jax
import jax.numpy as jnp
import numpy as np

from theory import nonconvex_lower_bounds as N
from battery import BadInput, Grad, NoGrad  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("theory.nonconvex_lower_bounds",)

_P = "theory.nonconvex_lower_bounds."
_KEY = jax.random.PRNGKey(0)
_X = np.array([0.3, -0.8, 1.1])                   # a point off every threshold (|x_i| ≠ 1/4, 1/2)
_U = np.linalg.qr(np.random.default_rng(0).normal(size=(4, 2)))[0]   # [4, 2] orthonormal
_CH2 = N.unit_chain(2)
_CH1 = N.unit_chain(1)
_U1 = np.array([[0.6], [0.0], [-0.8]])                         # [3, 1], unit column

BAD_INPUTS = [
    BadInput(_P + "epsilon_for_length", "length 0", lambda: N.epsilon_for_length(1.0, 1.0, 0),
             match="epsilon_for_length: length"),
    BadInput(_P + "gd_chain_run", "epsilon 0", lambda: N.gd_chain_run(1.0, 1.0, 0.0), match="gd_chain_run: epsilon"),
    BadInput(_P + "prober_run", "p 1.5", lambda: N.prober_run(_KEY, 3, 1.5, 4), match="prober_run: p"),
    BadInput(_P + "sgd_chain_run", "int key", lambda: N.sgd_chain_run(0, 0.01, 1.0, 4), match="sgd_chain_run: key",
             error=TypeError),
    BadInput(_P + "rotated_comparison", "d below T", lambda: N.rotated_comparison(_KEY, 3, (2,), 10, 0.5, 2),
             match="rotated_comparison: dims"),
    BadInput(_P + "psi", "int dtype", lambda: N.psi(np.arange(3)), match=r"psi: x.*floating"),
    BadInput(_P + "phi", "int dtype", lambda: N.phi(np.arange(3)), match=r"phi: x.*floating"),
    BadInput(_P + "hard_value", "scalar", lambda: N.hard_value(np.float64(1.0)), match=r"x: expected shape"),
    BadInput(_P + "hard_value", "empty chain", lambda: N.hard_value(np.zeros((2, 0))), match=r"x: expected shape"),
    BadInput(_P + "hard_value", "int dtype", lambda: N.hard_value(np.arange(3)), match=r"x.*floating"),
    BadInput(_P + "hard_gradient", "int dtype", lambda: N.hard_gradient(np.arange(3)), match=r"x.*floating"),
    BadInput(_P + "hard_gradient", "scalar", lambda: N.hard_gradient(np.float64(1.0)), match=r"x: expected shape"),
    BadInput(_P + "progress", "negative threshold", lambda: N.progress(_X, -0.1), match="threshold"),
    BadInput(_P + "progress", "nan threshold", lambda: N.progress(_X, float("nan")), match="threshold"),
    BadInput(_P + "progress", "array threshold", lambda: N.progress(_X, jnp.ones(2)), match="threshold"),
    BadInput(_P + "progress", "int dtype", lambda: N.progress(np.arange(3)), match=r"x.*floating"),
    BadInput(_P + "scale_chain", "eps <= 0", lambda: N.scale_chain(1.0, 1.0, 0.0), match="eps"),
    BadInput(_P + "scale_chain", "chain shorter than 1", lambda: N.scale_chain(1.0, 1.0, 0.5), match="eps.*T = 0"),
    BadInput(_P + "scale_chain", "delta inf", lambda: N.scale_chain(float("inf"), 1.0, 0.01), match="delta"),
    BadInput(_P + "scale_chain", "bool lipschitz", lambda: N.scale_chain(1.0, True, 0.01), match="lipschitz"),
    BadInput(_P + "scaled_value", "length != chain.T", lambda: N.scaled_value(np.zeros(3), _CH2),
             match=r"x: expected shape \[\.\.\., 2\]"),
    BadInput(_P + "scaled_value", "not a chain", lambda: N.scaled_value(np.zeros(2), (2, 1.0)), match="chain"),
    BadInput(_P + "random_orthonormal", "d < T", lambda: N.random_orthonormal(_KEY, 2, 3), match="d, T"),
    BadInput(_P + "random_orthonormal", "T = 0", lambda: N.random_orthonormal(_KEY, 2, 0), match="d, T"),
    BadInput(_P + "random_orthonormal", "int dtype", lambda: N.random_orthonormal(_KEY, 3, 2, jnp.int32),
             match="dtype"),
    BadInput(_P + "rotated_value", "d mismatch", lambda: N.rotated_value(np.zeros(3), _U), match="x, u"),
    BadInput(_P + "rotated_value", "u rank 1", lambda: N.rotated_value(np.zeros(4), np.zeros(4)), match="x, u"),
    BadInput(_P + "rotated_value", "int u", lambda: N.rotated_value(np.zeros(4), np.ones((4, 2), int)),
             match=r"u.*floating"),
    BadInput(_P + "rotated_progress", "d mismatch", lambda: N.rotated_progress(np.zeros(3), _U), match="x, u"),
    BadInput(_P + "rotated_progress", "negative threshold", lambda: N.rotated_progress(np.zeros(4), _U, -1.0),
             match="threshold"),
    BadInput(_P + "bernoulli_gradient", "xi batch mismatch", lambda: N.bernoulli_gradient(
        np.zeros((2, 3)), np.ones(3), 0.5), match="xi"),
    BadInput(_P + "bernoulli_gradient", "xi not 0/1", lambda: N.bernoulli_gradient(_X, np.float64(0.5), 0.5),
             match=r"xi.*0/1"),
    BadInput(_P + "bernoulli_gradient", "p = 0", lambda: N.bernoulli_gradient(_X, True, 0.0), match="p:"),
    BadInput(_P + "bernoulli_gradient", "p > 1 as an array", lambda: N.bernoulli_gradient(_X, True, jnp.asarray(2.0)),
             match="p:"),
    BadInput(_P + "bernoulli_gradient", "int x", lambda: N.bernoulli_gradient(np.arange(3), True, 0.5),
             match=r"x.*floating"),
    BadInput(_P + "stochastic_gradient", "p nan", lambda: N.stochastic_gradient(_KEY, _X, float("nan")),
             match="p:"),
    BadInput(_P + "stochastic_gradient", "scalar x", lambda: N.stochastic_gradient(_KEY, np.float64(1.0), 0.5),
             match="x: expected shape"),
    BadInput(_P + "gradient_descent", "num_steps 0", lambda: N.gradient_descent(_CH2, 0), match="num_steps"),
    BadInput(_P + "gradient_descent", "not a chain", lambda: N.gradient_descent((2,), 3), match="chain"),
    BadInput(_P + "gradient_descent", "u not orthonormal", lambda: N.gradient_descent(_CH2, 2, u=2.0 * _U),
             match=r"u: expected orthonormal"),
    BadInput(_P + "gradient_descent", "u wrong T", lambda: N.gradient_descent(_CH2, 2, u=_U[:, :1]),
             match=r"u: expected \[d, 2\]"),
    BadInput(_P + "gradient_descent", "u with nan", lambda: N.gradient_descent(_CH2, 2, u=np.full((4, 2), np.nan)),
             match="u: expected finite"),
    BadInput(_P + "first_below", "rank 2", lambda: N.first_below(np.ones((2, 2)), 0.5), match="grad_norm"),
    BadInput(_P + "first_below", "empty", lambda: N.first_below(np.ones(0), 0.5), match="grad_norm"),
    BadInput(_P + "first_below", "nan norm", lambda: N.first_below(np.array([1.0, np.nan]), 0.5),
             match=r"grad_norm.*index \(1,\)"),
    BadInput(_P + "first_below", "nan level", lambda: N.first_below(np.ones(2), float("nan")), match="level"),
    BadInput(_P + "sgd", "p > 1", lambda: N.sgd(_KEY, _CH2, 1.5, 1, 3), match="p:"),
    BadInput(_P + "sgd", "array p", lambda: N.sgd(_KEY, _CH2, np.float64(0.5)[None], 1, 3), match="p:"),
    BadInput(_P + "sgd", "num_reps 0", lambda: N.sgd(_KEY, _CH2, 0.5, 0, 3), match="num_reps"),
    BadInput(_P + "sgd", "u not orthonormal", lambda: N.sgd(_KEY, _CH2, 0.5, 1, 3, u=np.ones((4, 2))),
             match="u: expected orthonormal"),
    BadInput(_P + "probe_hitting_times", "T = 0", lambda: N.probe_hitting_times(_KEY, 0, 0.5, 1, 3), match="T:"),
    BadInput(_P + "probe_hitting_times", "p = 0", lambda: N.probe_hitting_times(_KEY, 2, 0.0, 1, 3), match="p:"),
    BadInput(_P + "probe_hitting_times", "max_queries 0", lambda: N.probe_hitting_times(_KEY, 2, 0.5, 1, 0),
             match="max_queries"),
    BadInput(_P + "stochastic_chain_probability", "sigma <= 0", lambda: N.stochastic_chain_probability(0.1, 0.0),
             match="sigma"),
    BadInput(_P + "stochastic_chain_probability", "eps nan",
             lambda: N.stochastic_chain_probability(float("nan"), 1.0), match="eps"),
    BadInput(_P + "unit_chain", "T = 0", lambda: N.unit_chain(0), match="T:"),
    BadInput(_P + "unit_chain", "float T", lambda: N.unit_chain(2.0), match="T:"),
]

GRADIENTS = [
    Grad(_P + "psi", N.psi, lambda: (np.array([0.55, 0.9, 2.0, -1.0]),)),
    Grad(_P + "phi", N.phi, lambda: (np.array([-2.0, 0.1, 1.5]),)),
    Grad(_P + "hard_value", N.hard_value, lambda: (np.array([[0.3, -0.8, 1.1], [0.9, 0.7, -0.6]]),)),
    Grad(_P + "hard_gradient", N.hard_gradient, lambda: (_X,)),   # the Hessian, against differences of ∇f̄
    Grad(_P + "scaled_value", lambda x: N.scaled_value(x, N.scale_chain(1.0, 1.0, 0.01)),
         lambda: (np.linspace(-0.3, 0.4, N.scale_chain(1.0, 1.0, 0.01).T),)),
    Grad(_P + "rotated_value", N.rotated_value, lambda: (np.array([0.4, -0.9, 1.2, 0.7]), _U)),
    Grad(_P + "bernoulli_gradient", lambda x, p: N.bernoulli_gradient(x, True, p), lambda: (_X, np.float64(0.4))),
    Grad(_P + "stochastic_gradient", lambda x: N.stochastic_gradient(_KEY, x, 0.5), lambda: (_X,)),
    # GD is smooth in the hidden directions u (off_chain, a norm at 0, and the integer fields left out). T = 1
    # keeps the compiled program small; tests/theory/test_nonconvex_lower_bounds.py checks T = 3 against
    # finite differences
    Grad(_P + "gradient_descent", lambda u: (lambda tr: (tr.x_final, tr.grad_norm))(N.gradient_descent(_CH1, 2, u=u)),
         lambda: (_U1,), eps=1e-6),
    NoGrad(_P + "progress", N.progress, lambda: (_X,)),
    NoGrad(_P + "rotated_progress", lambda u: N.rotated_progress(np.array([0.4, -0.9, 1.2, 0.7]), u),
           lambda: (_U,)),
    NoGrad(_P + "scale_chain", lambda eps: N.scale_chain(1.0, 1.0, eps).lam, lambda: (np.float64(0.01),)),
    NoGrad(_P + "first_below", lambda g: N.first_below(g, 0.5), lambda: (np.array([1.0, 0.4]),)),
    NoGrad(_P + "sgd", lambda u: N.sgd(_KEY, _CH2, 0.5, 1, 2, u=u).mean, lambda: (_U,)),
    NoGrad(_P + "probe_hitting_times", lambda p: N.probe_hitting_times(_KEY, 2, p, 1, 4).mean,
           lambda: (np.float64(0.5),)),
    NoGrad(_P + "stochastic_chain_probability", lambda eps: N.stochastic_chain_probability(eps, 10.0),
           lambda: (np.float64(0.01),)),
]

EXEMPT = {
    _P + "epsilon_for_length": "grad: host-side float64 set-up of a run (Python numbers)",
    _P + "gd_chain_run": "grad: host-side experiment returning numpy summaries of sampled runs (counts, maxima, fitted slopes)",
    _P + "prober_run": "grad: host-side experiment returning numpy summaries of sampled runs (counts, maxima, fitted slopes)",
    _P + "sgd_chain_run": "grad: host-side experiment returning numpy summaries of sampled runs (counts, maxima, fitted slopes)",
    _P + "rotated_comparison": "grad: host-side experiment returning numpy summaries of sampled runs (counts, maxima, fitted slopes)",
    _P + "random_orthonormal": "grad: integer inputs only (key, d, T)",
    _P + "unit_chain": "grad: integer inputs only",
}
