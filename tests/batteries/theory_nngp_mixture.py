"""Batteries for theory/nngp_mixture (paper 25: NNGP kernels, scale mixtures, importance sampling, SVTP).

Float64, reverse mode. Samplers of networks, mixtures and argmax frequencies refuse differentiation; the inverse
gamma sampler is checked in b (its a-derivative goes through jax's implicit gamma gradient, not finite-difference
smooth for one key); the evidence fits, splits, corruptions, ECE and experiments are host numpy code."""
import jax
import jax.numpy as jnp
import numpy as np

from theory import nngp_mixture as NM
from theory.common import kernel_methods as km
from battery import BadInput, Grad, NoGrad  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("theory.nngp_mixture",)
_P = "theory.nngp_mixture."
KEY = jax.random.PRNGKey(0)
_R = np.random.default_rng(0)
X = _R.normal(size=(3, 2))
XB = _R.normal(size=(2, 2))
K3 = np.array([[1.0, 0.3, 0.1], [0.3, 1.2, 0.2], [0.1, 0.2, 0.9]])
KX = np.array([[0.2, 0.5, 0.1], [0.4, 0.1, 0.3]])
KD = np.array([1.0, 1.1])
Y3 = np.array([0.3, -0.8, 1.1])
YT = np.array([0.1, -0.4])
IMGS = _R.uniform(size=(4, 64))
_CH = np.linalg.cholesky(np.array([[1.0, 0.2], [0.2, 1.0]]))
KXZ = np.array([[0.3, 0.1], [0.2, 0.5], [0.0, 0.4]])
KXX = np.ones(3)
LAB = np.array([0, 2, 1])


def _svtp(m, s):
  return NM.SVTPParams(m, s, jnp.asarray(1.2, m.dtype), jnp.asarray(0.8, m.dtype))


_PRM = NM.SVTPParams(np.zeros((2, 3)), np.zeros((2, 3)), np.float64(1.0), np.float64(1.0))
_GPP = km.GPPosterior(np.zeros(2), np.ones(2))
_HOST = "grad: a host numpy function (float64 numpy out, not traceable)"
_SPLIT = NM.Split(X, Y3, XB, YT)

BAD_INPUTS = [
    BadInput(_P + "nngp_kernel", "dimension mismatch", lambda: NM.nngp_kernel(X, np.ones((2, 3))), match="xa and xb"),
    BadInput(_P + "nngp_kernel", "unknown activation", lambda: NM.nngp_kernel(X, activation="tanh"),
             match="activation"),
    BadInput(_P + "nngp_kernel", "negative depth", lambda: NM.nngp_kernel(X, depth=-1), match="depth"),
    BadInput(_P + "nngp_kernel_diag", "1-d x", lambda: NM.nngp_kernel_diag(np.ones(3)), match="x must"),
    BadInput(_P + "nngp_kernel_diag", "negative w_std", lambda: NM.nngp_kernel_diag(X, w_std=-1.0), match="w_std"),
    BadInput(_P + "sample_network_outputs", "width 0", lambda: NM.sample_network_outputs(KEY, X, n_nets=2, width=0),
             match="width"),
    BadInput(_P + "sample_network_outputs", "scale2 <= 0",
             lambda: NM.sample_network_outputs(KEY, X, n_nets=2, width=2, scale2=np.array([1.0, -1.0])),
             match="scale2"),
    BadInput(_P + "inverse_gamma_logpdf", "a <= 0", lambda: NM.inverse_gamma_logpdf(1.0, 0.0, 1.0), match="a must"),
    BadInput(_P + "sample_inverse_gamma", "b <= 0", lambda: NM.sample_inverse_gamma(KEY, 1.0, -2.0), match="b must"),
    BadInput(_P + "sample_inverse_gamma", "bad shape", lambda: NM.sample_inverse_gamma(KEY, 1.0, 1.0, (-1,)),
             match="shape"),
    BadInput(_P + "burr_logpdf", "c <= 0", lambda: NM.burr_logpdf(1.0, 0.0, 1.0), match="c must"),
    BadInput(_P + "sample_burr", "d <= 0", lambda: NM.sample_burr(KEY, 1.0, 0.0), match="d must"),
    BadInput(_P + "sample_mixture", "non-square k", lambda: NM.sample_mixture(KEY, np.ones((2, 3)), np.ones(2)),
             match="k must be a square"),
    BadInput(_P + "sample_mixture", "not PSD", lambda: NM.sample_mixture(KEY, np.array([[1.0, 2.0], [2.0, 1.0]]),
                                                                          np.ones(2)), match="positive definite"),
    BadInput(_P + "gaussian_logpdf", "string var", lambda: NM.gaussian_logpdf(0.0, 0.0, "1"), match="var"),
    BadInput(_P + "student_t_logpdf", "df <= 0", lambda: NM.student_t_logpdf(0.0, 0.0, 1.0, 0.0), match="df"),
    BadInput(_P + "gp_predictive_logpdf", "not a GPPosterior", lambda: NM.gp_predictive_logpdf(YT, (1, 2), 0.1),
             match="post"),
    BadInput(_P + "gp_predictive_logpdf", "y_test shape", lambda: NM.gp_predictive_logpdf(np.ones(3), _GPP, 0.1),
             match="y_test"),
    BadInput(_P + "tp_predictive_logpdf", "not a TPPosterior", lambda: NM.tp_predictive_logpdf(YT, _GPP, 0.1),
             match="post"),
    BadInput(_P + "importance_predictive", "s2 <= 0",
             lambda: NM.importance_predictive(np.array([1.0, -1.0]), K3, KX, KD, Y3, YT, 0.1), match="s2"),
    BadInput(_P + "importance_predictive", "y_test length",
             lambda: NM.importance_predictive(np.ones(2), K3, KX, KD, Y3, np.ones(3), 0.1), match="y_test"),
    BadInput(_P + "fit_gp", "not PSD", lambda: NM.fit_gp(np.array([[1.0, 2.0], [2.0, 1.0]]), np.ones(2)),
             match="positive semi-definite"),
    BadInput(_P + "fit_gp", "bad noise bounds", lambda: NM.fit_gp(K3, Y3, noise_bounds=(1.0, 0.1)),
             match="noise_bounds"),
    BadInput(_P + "fit_tp", "a <= 0", lambda: NM.fit_tp(K3, Y3, a=0.0), match="a must"),
    BadInput(_P + "fit_tp", "y length", lambda: NM.fit_tp(K3, np.ones(4)), match="y must"),
    BadInput(_P + "argmax_probabilities", "var shape", lambda: NM.argmax_probabilities(KEY, np.ones((2, 3)),
                                                                                     np.ones(3)), match="var"),
    BadInput(_P + "argmax_probabilities", "one class", lambda: NM.argmax_probabilities(KEY, np.ones((2, 1)),
                                                                                     np.ones(2)), match="mean"),
    BadInput(_P + "expected_calibration_error", "labels out of range",
             lambda: NM.expected_calibration_error(np.full((2, 2), 0.5), np.array([0, 2])), match="labels"),
    BadInput(_P + "expected_calibration_error", "bins 0",
             lambda: NM.expected_calibration_error(np.full((2, 2), 0.5), np.array([0, 1]), bins=0), match="bins"),
    BadInput(_P + "predictive_entropy", "1-d", lambda: NM.predictive_entropy(np.ones(3) / 3), match="probs"),
    BadInput(_P + "synthetic_regression", "unknown name", lambda: NM.synthetic_regression("syn-x", 0),
             match="name"),
    BadInput(_P + "regression_split", "train_fraction 1", lambda: NM.regression_split(X, Y3, 0, 1.0),
             match="train_fraction"),
    BadInput(_P + "covariate_shift_split", "feature out of range", lambda: NM.covariate_shift_split(X, Y3, 5),
             match="feature"),
    BadInput(_P + "held_out_class_split", "held-out class absent",
             lambda: NM.held_out_class_split(IMGS, np.array([0, 1, 2, 3]), (7,)), match="held_out"),
    BadInput(_P + "held_out_class_split", "float labels",
             lambda: NM.held_out_class_split(IMGS, np.array([0.0, 1.0, 2.0, 3.0]), (1,)), match="labels"),
    BadInput(_P + "corrupt_images", "unknown kind", lambda: NM.corrupt_images(IMGS, "blur", 0.1), match="kind"),
    BadInput(_P + "corrupt_images", "occlusion > 1", lambda: NM.corrupt_images(IMGS, "occlusion", 2.0),
             match="severity"),
    BadInput(_P + "corrupt_images", "wrong image size", lambda: NM.corrupt_images(np.ones((2, 10)), "gaussian", 0.1),
             match="x must"),
    BadInput(_P + "regression_run", "not a Split", lambda: NM.regression_run((X, Y3), {}), match="split"),
    BadInput(_P + "regression_run", "readout in kernel", lambda: NM.regression_run(_SPLIT, {"last_w_std": 2.0}),
             match="kernel"),
    BadInput(_P + "classification_run", "not a ClassSplit", lambda: NM.classification_run(_SPLIT, {}, []),
             match="split"),
    BadInput(_P + "svtp_init", "one class", lambda: NM.svtp_init(3, 1), match="num_classes"),
    BadInput(_P + "svtp_init", "b <= 0", lambda: NM.svtp_init(3, 2, b=0.0), match="b must"),
    BadInput(_P + "svtp_params", "not SVTPParams", lambda: NM.svtp_params((1, 2, 3, 4)), match="params"),
    BadInput(_P + "inverse_gamma_kl", "a_q <= 0", lambda: NM.inverse_gamma_kl(-1.0, 1.0, 1.0, 1.0), match="a_q"),
    BadInput(_P + "svtp_kl", "a <= 0", lambda: NM.svtp_kl(_PRM, 0.0, 1.0), match="a must"),
    BadInput(_P + "svtp_latent", "chol shape", lambda: NM.svtp_latent(_PRM, np.eye(3), KXZ, KXX), match="chol_zz"),
    BadInput(_P + "svtp_latent", "k_xx_diag shape", lambda: NM.svtp_latent(_PRM, _CH, KXZ, np.ones(2)),
             match="k_xx_diag"),
    BadInput(_P + "svtp_elbo", "labels out of range",
             lambda: NM.svtp_elbo(KEY, _PRM, _CH, KXZ, KXX, np.array([0, 3, 1]), 10, 2.0, 2.0), match="labels"),
    BadInput(_P + "svtp_elbo", "num_data 0", lambda: NM.svtp_elbo(KEY, _PRM, _CH, KXZ, KXX, LAB, 0, 2.0, 2.0),
             match="num_data"),
    BadInput(_P + "svtp_predict", "k_xz width", lambda: NM.svtp_predict(KEY, _PRM, _CH, np.ones((3, 4)), KXX),
             match="k_xz"),
]

GRADIENTS = [
    Grad(_P + "nngp_kernel", lambda xa, xb: NM.nngp_kernel(xa, xb, depth=2, activation="relu", w_std=1.3, b_std=0.4),
         lambda: (X, XB)),
    Grad(_P + "nngp_kernel", lambda xa: NM.nngp_kernel(xa, depth=2, activation="erf", w_std=1.3, b_std=0.4),
         lambda: (X,), case="erf"),
    Grad(_P + "nngp_kernel_diag", lambda x: NM.nngp_kernel_diag(x, depth=2, activation="erf", b_std=0.2),
         lambda: (X,)),
    NoGrad(_P + "sample_network_outputs", lambda x: NM.sample_network_outputs(KEY, x, n_nets=2, width=3),
           lambda: (X,)),
    Grad(_P + "inverse_gamma_logpdf", NM.inverse_gamma_logpdf, lambda: (np.array([0.5, 2.0]), np.float64(2.0),
                                                                         np.float64(1.5))),
    Grad(_P + "sample_inverse_gamma", lambda b: NM.sample_inverse_gamma(KEY, 2.0, b, (3,)), lambda: (np.float64(1.5),)),
    Grad(_P + "burr_logpdf", NM.burr_logpdf, lambda: (np.array([0.5, 2.0]), np.float64(2.0), np.float64(1.5),
                                                       np.float64(0.8))),
    Grad(_P + "sample_burr", lambda c, d, s: NM.sample_burr(KEY, c, d, (3,), s),
         lambda: (np.float64(2.0), np.float64(1.5), np.float64(0.8))),
    NoGrad(_P + "sample_mixture", lambda k: NM.sample_mixture(KEY, k, jnp.ones(2, k.dtype)), lambda: (K3,)),
    Grad(_P + "gaussian_logpdf", NM.gaussian_logpdf, lambda: (YT, np.array([0.2, 0.1]), np.array([0.5, 1.5]))),
    Grad(_P + "student_t_logpdf", NM.student_t_logpdf, lambda: (YT, np.array([0.2, 0.1]), np.array([0.5, 1.5]),
                                                                np.float64(4.0))),
    Grad(_P + "gp_predictive_logpdf",
         lambda y, kx: NM.gp_predictive_logpdf(y, km.gp_posterior(K3, kx, KD, Y3, 0.1), 0.1), lambda: (YT, KX)),
    Grad(_P + "tp_predictive_logpdf",
         lambda y, kx: NM.tp_predictive_logpdf(y, km.tp_posterior(K3, kx, KD, Y3, 2.0, 1.0, 0.1), 0.1),
         lambda: (YT, KX)),
    Grad(_P + "importance_predictive", lambda s2, y: NM.importance_predictive(s2, K3, KX, KD, Y3, y, 0.1).logpdf,
         lambda: (np.array([0.5, 1.0, 2.0]), YT)),
    NoGrad(_P + "argmax_probabilities", lambda m: NM.argmax_probabilities(KEY, m, jnp.ones(2, m.dtype), None, 4),
           lambda: (np.ones((2, 3)),)),
    Grad(_P + "predictive_entropy", NM.predictive_entropy, lambda: (np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]]),)),
    Grad(_P + "svtp_params", lambda m, s: NM.svtp_params(_svtp(m, s)), lambda: (np.ones((2, 3)), np.zeros((2, 3)))),
    Grad(_P + "inverse_gamma_kl", NM.inverse_gamma_kl, lambda: (np.float64(3.0), np.float64(2.0), np.float64(1.5),
                                                                 np.float64(0.7))),
    Grad(_P + "svtp_kl", lambda m, s: NM.svtp_kl(_svtp(m, s), 2.0, 1.5),
         lambda: (np.linspace(-1, 1, 6).reshape(2, 3), np.linspace(-0.5, 0.5, 6).reshape(2, 3))),
    Grad(_P + "svtp_latent", lambda m, s, kxz: NM.svtp_latent(_svtp(m, s), _CH, kxz, KXX),
         lambda: (np.linspace(-1, 1, 6).reshape(2, 3), np.linspace(-0.5, 0.5, 6).reshape(2, 3), KXZ)),
    Grad(_P + "svtp_elbo", lambda m, s: NM.svtp_elbo(KEY, _svtp(m, s), _CH, KXZ, KXX, LAB, 10, 2.0, 1.5, 4)[0],
         lambda: (np.linspace(-1, 1, 6).reshape(2, 3), np.linspace(-0.5, 0.5, 6).reshape(2, 3))),
]

EXEMPT = {
    _P + "ACTIVATIONS": "a constant tuple of names",
    _P + "CORRUPTIONS": "a constant tuple of names",
    _P + "GPFit": "a result container (NamedTuple)",
    _P + "TPFit": "a result container (NamedTuple)",
    _P + "ISPredictive": "a result container (NamedTuple)",
    _P + "Split": "a data container (NamedTuple)",
    _P + "ClassSplit": "a data container (NamedTuple)",
    _P + "RegressionRun": "a result container (NamedTuple)",
    _P + "ClassificationRun": "a result container (NamedTuple)",
    _P + "SVTPParams": "a parameter container (NamedTuple)",
    _P + "svtp_init": "grad: an initialiser (q = the prior); its float arguments only set constants",
    _P + "svtp_predict": ("grad: the same reparametrised (sigma^2, f) sampling path as svtp_elbo, whose gradient "
                          "is checked above; a second gamma-sampler gradient compile costs ~2 s"),
    _P + "fit_gp": _HOST,
    _P + "fit_tp": _HOST,
    _P + "expected_calibration_error": _HOST,
    _P + "synthetic_regression": _HOST,
    _P + "regression_split": _HOST,
    _P + "covariate_shift_split": _HOST,
    _P + "held_out_class_split": _HOST,
    _P + "corrupt_images": _HOST,
    _P + "regression_run": _HOST,
    _P + "classification_run": _HOST,
}
