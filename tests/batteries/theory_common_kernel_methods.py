"""Batteries for theory/common/kernel_methods.py (papers 25, 30) and theory/common/statevector.py (papers 14, 30,
33). Float64, reverse mode. Kernel matrices are differentiated through a PD parametrisation A A^T + I (so every
perturbation stays symmetric PD); the SVM solver (an active-set loop) and the shot sampler (counts) refuse."""
import jax
import jax.numpy as jnp
import numpy as np

from theory.common import kernel_methods as km
from theory.common import statevector as sv
from battery import BadInput, Grad, NoGrad  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("theory.common.kernel_methods", "theory.common.statevector")
_K = "theory.common.kernel_methods."
_S = "theory.common.statevector."
KEY = jax.random.PRNGKey(0)
_R = np.random.default_rng(0)
A = _R.normal(size=(5, 5))
KC = _R.normal(size=(3, 5))
Y = np.array([1.0, -1.0, 1.0, 1.0, -1.0])
LABELS = np.array([0, 1, 2, 1, 0])
SYM = np.array([[1.0, 0.4, 2.0], [0.4, -1.0, 0.3], [2.0, 0.3, 0.5]])     # distinct eigenvalues, one < 0
PSI = _R.normal(size=(8, 2))
PERM = np.array([3, 1, 0, 2, 7, 5, 6, 4])
GATE2 = _R.normal(size=(4, 4))


def _pd(a):
  return a @ a.T + jnp.eye(a.shape[0], dtype=a.dtype)


def _svm_res():      # any SVMResult will do: the decision is linear in alpha, bias and k_cross
  return km.SVMResult(np.array([0.5, 0.2, 0.0, 0.3, 1.0]), np.float64(0.1), np.int32(3), np.float64(0.0))


BAD_INPUTS = [
    BadInput(_K + "psd_repair", "not square", lambda: km.psd_repair(np.ones((2, 3))), match="psd_repair: k"),
    BadInput(_K + "cholesky", "not positive definite", lambda: km.cholesky(SYM), match="cholesky: k \\+ noise"),
    BadInput(_K + "cholesky", "negative noise", lambda: km.cholesky(np.eye(2), -1.0), match="cholesky: noise"),
    BadInput(_K + "gp_posterior", "k_cross width", lambda: km.gp_posterior(np.eye(3), np.ones((2, 4)), np.ones(2),
                                                                           np.ones(3)), match="k_cross"),
    BadInput(_K + "gp_posterior", "not symmetric", lambda: km.gp_posterior(np.triu(np.ones((3, 3))),
                                                                           np.ones((2, 3)), np.ones(2), np.ones(3)),
             match="k_train must be symmetric"),
    BadInput(_K + "gp_log_marginal", "y length", lambda: km.gp_log_marginal(np.eye(3), np.ones(4)), match="y must"),
    BadInput(_K + "kernel_ridge", "lam 0", lambda: km.kernel_ridge(np.eye(2), np.ones((1, 2)), np.ones(2), 0.0),
             match="lam"),
    BadInput(_K + "tp_posterior", "b <= 0", lambda: km.tp_posterior(np.eye(2), np.ones((1, 2)), np.ones(1),
                                                                    np.ones(2), 1.0, -1.0), match="tp_posterior: b"),
    BadInput(_K + "tp_log_marginal", "a <= 0", lambda: km.tp_log_marginal(np.eye(2), np.ones(2), 0.0, 1.0),
             match="tp_log_marginal: a"),
    BadInput(_K + "onehot_targets", "label out of range", lambda: km.onehot_targets(np.array([0, 3]), 3),
             match="labels"),
    BadInput(_K + "gp_classify", "float labels", lambda: km.gp_classify(np.eye(2), np.ones((1, 2)),
                                                                         np.array([0.0, 1.0]), 2), match="labels"),
    BadInput(_K + "kernel_alignment", "shape mismatch", lambda: km.kernel_alignment(np.eye(2), np.eye(3)),
             match="k1 and k2"),
    BadInput(_K + "target_alignment", "y length", lambda: km.target_alignment(np.eye(2), np.ones(3)), match="y must"),
    BadInput(_K + "svm_fit", "not PSD", lambda: km.svm_fit(SYM, np.array([1.0, -1.0, 1.0])),
             match="k_train must be positive semi-definite"),
    BadInput(_K + "svm_fit", "labels not +-1", lambda: km.svm_fit(np.eye(2), np.array([1.0, 0.0])), match="y must"),
    BadInput(_K + "svm_fit", "C <= 0", lambda: km.svm_fit(np.eye(2), np.array([1.0, -1.0]), 0.0), match="C must"),
    BadInput(_K + "svm_decision", "not an SVMResult", lambda: km.svm_decision(np.ones((1, 2)), np.ones(2), (1, 2)),
             match="result"),
    BadInput(_K + "rbf_kernel", "gamma <= 0", lambda: km.rbf_kernel(np.ones((2, 2)), np.ones((2, 2)), -1.0),
             match="gamma"),
    BadInput(_K + "linear_kernel", "dimension mismatch", lambda: km.linear_kernel(np.ones((2, 2)), np.ones((2, 3))),
             match="xa and xb"),
    BadInput(_S + "zero_state", "too many qubits", lambda: sv.zero_state(30), match="n must"),
    BadInput(_S + "walsh_hadamard", "rows != 2^n", lambda: sv.walsh_hadamard(np.ones((3, 2)), 2), match="state"),
    BadInput(_S + "permute_basis", "perm out of range", lambda: sv.permute_basis(np.ones(4), np.array([0, 1, 2, 4])),
             match="perm"),
    BadInput(_S + "apply_gate", "qubit out of range", lambda: sv.apply_gate(np.ones(4), sv.HADAMARD, 5),
             match="qubits"),
    BadInput(_S + "apply_gate", "gate shape", lambda: sv.apply_gate(np.ones(4), np.eye(3), 0), match="gate"),
    BadInput(_S + "apply_diagonal", "phases length", lambda: sv.apply_diagonal(np.ones(4), np.ones(3)),
             match="phases"),
    BadInput(_S + "z_signs", "n 0", lambda: sv.z_signs(0), match="n must"),
    BadInput(_S + "probabilities", "int state", lambda: sv.probabilities(np.ones(4, int)), match="state"),
    BadInput(_S + "expectation_diagonal", "diag length", lambda: sv.expectation_diagonal(np.ones(4), np.ones(2)),
             match="diag"),
    BadInput(_S + "sample_counts", "shots 0", lambda: sv.sample_counts(KEY, np.full(2, 0.5), 0), match="shots"),
    BadInput(_S + "sample_counts", "not normalised", lambda: sv.sample_counts(KEY, np.array([0.2, 0.2]), 3),
             match="probs"),
]

GRADIENTS = [
    Grad(_K + "psd_repair", km.psd_repair, lambda: (SYM,)),
    Grad(_K + "cholesky", lambda a: km.cholesky(_pd(a), 0.1), lambda: (A,)),
    Grad(_K + "gp_posterior", lambda a, kc, y: km.gp_posterior(_pd(a), kc, jnp.full(3, 2.0), y, 0.1),
         lambda: (A, KC, Y)),
    Grad(_K + "gp_log_marginal", lambda a, y, s: km.gp_log_marginal(_pd(a), y, s), lambda: (A, Y, np.float64(0.2))),
    Grad(_K + "kernel_ridge", lambda a, kc, y: km.kernel_ridge(_pd(a), kc, y, 0.3), lambda: (A, KC, Y)),
    Grad(_K + "tp_posterior", lambda a, y, ia, ib: km.tp_posterior(_pd(a), KC, jnp.full(3, 2.0), y, ia, ib, 0.1)[:3],
         lambda: (A, Y, np.float64(2.0), np.float64(1.5))),
    Grad(_K + "tp_log_marginal", lambda a, y, ia, ib: km.tp_log_marginal(_pd(a), y, ia, ib, 0.1),
         lambda: (A, Y, np.float64(2.0), np.float64(1.5))),
    Grad(_K + "gp_classify", lambda a, kc: km.gp_classify(_pd(a), kc, LABELS, 3)[0], lambda: (A, KC)),
    Grad(_K + "kernel_alignment", lambda a, b: km.kernel_alignment(_pd(a), b), lambda: (A, A.T @ A)),
    Grad(_K + "target_alignment", lambda a, y: km.target_alignment(_pd(a), y), lambda: (A, Y)),
    NoGrad(_K + "svm_fit", lambda a: km.svm_fit(_pd(a), Y, 1.0).alpha, lambda: (A,)),
    Grad(_K + "svm_decision", lambda kc, res: km.svm_decision(kc, Y, res), lambda: (KC, _svm_res())),
    Grad(_K + "rbf_kernel", lambda xa, xb, g: km.rbf_kernel(xa, xb, g), lambda: (KC, A, np.float64(0.3))),
    Grad(_K + "linear_kernel", km.linear_kernel, lambda: (KC, A)),
    Grad(_S + "walsh_hadamard", lambda s: sv.walsh_hadamard(s, 3), lambda: (PSI,)),
    Grad(_S + "permute_basis", lambda s: sv.permute_basis(s, PERM), lambda: (PSI,)),
    Grad(_S + "apply_gate", lambda s, g: sv.apply_gate(s, g, (2, 0)), lambda: (PSI, GATE2)),
    Grad(_S + "apply_diagonal", lambda s, t: (lambda o: jnp.stack([o.real, o.imag]))(sv.apply_diagonal(s, t)),
         lambda: (PSI, np.linspace(0.0, 2.0, 8))),
    Grad(_S + "probabilities", sv.probabilities, lambda: (PSI,)),
    Grad(_S + "expectation_diagonal", sv.expectation_diagonal, lambda: (PSI, np.linspace(-1.0, 1.0, 8))),
    NoGrad(_S + "sample_counts", lambda p: sv.sample_counts(KEY, p, 5).astype(p.dtype),
           lambda: (np.full(4, 0.25),)),
]

EXEMPT = {
    _K + "onehot_targets": "grad: a function of integer labels only (no float input)",
    _S + "zero_state": "grad: no float input (|0^n> is constant)",
    _S + "z_signs": "grad: a constant table of an integer n",
}
