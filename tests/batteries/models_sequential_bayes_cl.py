"""Batteries for models/sequential_bayes_cl (paper 35): bad inputs and derivatives."""
import jax
import jax.numpy as jnp
import numpy as np

from models import sequential_bayes_cl as S
from models.sequential_bayes_cl import experiment as E
from battery import BadInput, Grad, NoGrad  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("models.sequential_bayes_cl", "models.sequential_bayes_cl.experiment")

_R = np.random.default_rng(35)
_SIZES = (2, 3, 2)                                # P = 9 + 8 = 17
_P = S.num_params(_SIZES)
_TH = _R.normal(size=_P)
_X2 = _R.normal(size=(4, 2))
_Y2 = np.array([0, 1, 1, 0])
_G1 = S.GMM(np.log(np.array([0.4, 0.6])), _R.normal(size=(2, 3)),
            np.stack([np.eye(3) * 1.3, np.triu(_R.normal(size=(3, 3)) * 0.2) + np.eye(3)]))
_ISO = S.isotropic_prior(_P, 10.0)
_PRIOR = lambda: S.Gaussian(np.zeros(2), np.eye(2))  # noqa: E731
_PHI = _R.normal(size=(5, 2))
_YB = _R.normal(size=5)
_PP = {"mu0": _R.normal(size=(3, 2)), "log_lam0": _R.normal(size=3), "log_alpha0": np.full(3, 0.78),
       "log_sigma": np.asarray(-0.2)}
_E = _R.normal(size=(6, 2))
_L = np.array([0, 2, 1, 2, 0, 0])
_KEY = jax.random.PRNGKey(0)
_lp = lambda q, a: -0.5 * jnp.sum(q ** 2)  # noqa: E731


def _post(pp):
  return S.batch_posterior(pp, jnp.asarray(_E), jnp.asarray(_L))


BAD_INPUTS = [
    # BLR
    BadInput("models.sequential_bayes_cl.blr_posterior", "noise_var <= 0",
             lambda: S.blr_posterior(_PRIOR(), _PHI, _YB, 0.0), match="blr_posterior: noise_var"),
    BadInput("models.sequential_bayes_cl.blr_posterior", "feature mismatch",
             lambda: S.blr_posterior(_PRIOR(), _R.normal(size=(5, 3)), _YB, 1.0), match="phi"),
    BadInput("models.sequential_bayes_cl.blr_sequential", "y length",
             lambda: S.blr_sequential(_PRIOR(), [(_PHI, _YB[:3])], 1.0), match="y"),
    BadInput("models.sequential_bayes_cl.blr_predict", "prior not Gaussian",
             lambda: S.blr_predict((np.zeros(2), np.eye(2)), _PHI, 1.0), match="prior", error=TypeError),
    BadInput("models.sequential_bayes_cl.poly_features", "degree < 0", lambda: S.poly_features(np.ones(3), -1),
             match="degree"),
    # BNN and toy data
    BadInput("models.sequential_bayes_cl.num_params", "one layer", lambda: S.num_params((2,)), match="sizes"),
    BadInput("models.sequential_bayes_cl.init_flat", "zero width", lambda: S.init_flat(_KEY, (2, 0, 2)),
             match="sizes"),
    BadInput("models.sequential_bayes_cl.mlp_logits", "theta length",
             lambda: S.mlp_logits(jnp.zeros(5), jnp.asarray(_X2), _SIZES), match="theta"),
    BadInput("models.sequential_bayes_cl.log_likelihood", "x width",
             lambda: S.log_likelihood(jnp.asarray(_TH), jnp.zeros((4, 3)), jnp.asarray(_Y2), _SIZES), match="x"),
    BadInput("models.sequential_bayes_cl.log_posterior", "prior dim",
             lambda: S.log_posterior(jnp.asarray(_TH), (jnp.asarray(_X2), jnp.asarray(_Y2), _G1), _SIZES),
             match="x"),
    BadInput("models.sequential_bayes_cl.predictive", "samples rank",
             lambda: S.predictive(jnp.asarray(_TH), jnp.asarray(_X2), _SIZES), match="samples"),
    BadInput("models.sequential_bayes_cl.toy_blobs", "n = 0", lambda: S.toy_blobs(0, 0), match="n_per_blob"),
    BadInput("models.sequential_bayes_cl.toy_tasks", "n = 0", lambda: S.toy_tasks(0, 5), match="n_per_blob"),
    # GMM
    BadInput("models.sequential_bayes_cl.gmm_log_density", "x width",
             lambda: S.gmm_log_density(_G1, np.zeros(2)), match="gmm_log_density: x"),
    BadInput("models.sequential_bayes_cl.gmm_log_density", "not a GMM",
             lambda: S.gmm_log_density((1, 2, 3), np.zeros(3)), match="gmm", error=TypeError),
    BadInput("models.sequential_bayes_cl.fit_gmm", "too many components",
             lambda: S.fit_gmm(_R.normal(size=(4, 2)), 5), match="num_components"),
    BadInput("models.sequential_bayes_cl.fit_gmm", "NaN samples",
             lambda: S.fit_gmm(np.full((4, 2), np.nan), 1), match="x"),
    BadInput("models.sequential_bayes_cl.fit_gmm_bic", "empty grid",
             lambda: S.fit_gmm_bic(_R.normal(size=(4, 2)), ()), match="components"),
    BadInput("models.sequential_bayes_cl.moment_match", "one sample",
             lambda: S.moment_match(np.zeros((1, 2))), match="x"),
    BadInput("models.sequential_bayes_cl.isotropic_prior", "tau <= 0", lambda: S.isotropic_prior(3, 0.0),
             match="isotropic_prior: tau"),
    BadInput("models.sequential_bayes_cl.isotropic_prior", "tau < 0", lambda: S.isotropic_prior(3, -1.0),
             match="tau"),
    BadInput("models.sequential_bayes_cl.pad_gmm", "fewer components", lambda: S.pad_gmm(_G1, 1),
             match="num_components"),
    BadInput("models.sequential_bayes_cl.trim_gmm", "not a GMM", lambda: S.trim_gmm(None), match="gmm",
             error=TypeError),
    BadInput("models.sequential_bayes_cl.gmm_num_params", "k as a string",
             lambda: S.gmm_num_params("2", 3), match="gmm_num_params: k"),
    # HMC
    BadInput("models.sequential_bayes_cl.hmc_sample", "step <= 0",
             lambda: S.hmc_sample(_KEY, _lp, jnp.zeros((2, 3)), step_size=0.0), match="hmc_sample: step_size"),
    BadInput("models.sequential_bayes_cl.hmc_sample", "step NaN",
             lambda: S.hmc_sample(_KEY, _lp, jnp.zeros((2, 3)), step_size=float("nan")), match="step_size"),
    BadInput("models.sequential_bayes_cl.hmc_sample", "L = 0",
             lambda: S.hmc_sample(_KEY, _lp, jnp.zeros((2, 3)), num_leapfrog=0), match="num_leapfrog"),
    BadInput("models.sequential_bayes_cl.hmc_sample", "init rank 1",
             lambda: S.hmc_sample(_KEY, _lp, jnp.zeros(3)), match="init"),
    BadInput("models.sequential_bayes_cl.hmc_sample", "target_accept 1",
             lambda: S.hmc_sample(_KEY, _lp, jnp.zeros((2, 3)), target_accept=1.0), match="target_accept"),
    BadInput("models.sequential_bayes_cl.leapfrog", "step count 0",
             lambda: S.leapfrog(lambda q: -q, jnp.zeros(2), jnp.ones(2), 0.1, 0), match="num_steps"),
    # ProtoCL
    BadInput("models.sequential_bayes_cl.init_prior", "no classes", lambda: S.init_prior(0, 4), match="num_classes"),
    BadInput("models.sequential_bayes_cl.prior_posterior", "missing key", lambda: S.prior_posterior({}),
             match="log_lam0", error=(KeyError, ValueError)),
    BadInput("models.sequential_bayes_cl.noise_var", "missing key", lambda: S.noise_var({}), match="log_sigma",
             error=(KeyError, ValueError)),
    BadInput("models.sequential_bayes_cl.class_stats", "label length",
             lambda: S.class_stats(jnp.zeros((4, 2)), jnp.zeros(3, jnp.int32), 3), match="y"),
    BadInput("models.sequential_bayes_cl.class_stats", "float labels",
             lambda: S.class_stats(jnp.zeros((3, 2)), jnp.zeros(3), 3), match="y", error=TypeError),
    BadInput("models.sequential_bayes_cl.posterior_from_stats", "stats shape",
             lambda: S.posterior_from_stats(_PP, jnp.zeros((2, 2)), jnp.zeros(2)), match="sum_phi"),
    BadInput("models.sequential_bayes_cl.batch_posterior", "phi rank 1",
             lambda: S.batch_posterior(_PP, jnp.zeros(3), jnp.zeros(3, jnp.int32)), match="phi"),
    BadInput("models.sequential_bayes_cl.stream_posterior", "label length",
             lambda: S.stream_posterior(_PP, jnp.zeros((3, 2)), jnp.zeros(2, jnp.int32)), match="y"),
    BadInput("models.sequential_bayes_cl.log_joint", "phi width",
             lambda: S.log_joint(_post(_PP), jnp.zeros((2, 3)), 1.0), match="phi"),
    BadInput("models.sequential_bayes_cl.class_log_probs", "phi width",
             lambda: S.class_log_probs(_post(_PP), jnp.zeros((2, 3)), 1.0), match="phi"),
    BadInput("models.sequential_bayes_cl.nll", "phi width",
             lambda: S.nll(_post(_PP), jnp.zeros((2, 3)), jnp.zeros(2, jnp.int32), 1.0), match="phi"),
    # experiments
    BadInput("models.sequential_bayes_cl.experiment.hmc_method", "unknown prior", lambda: E.hmc_method("flow"),
             match="hmc_method: prior"),
    BadInput("models.sequential_bayes_cl.experiment.HMCConfig", "tau <= 0", lambda: E.HMCConfig(tau=0.0),
             match="tau"),
    BadInput("models.sequential_bayes_cl.experiment.HMCConfig", "step <= 0", lambda: E.HMCConfig(step_size=-1e-3),
             match="step_size"),
    BadInput("models.sequential_bayes_cl.experiment.blr_forgetting", "noise 0",
             lambda: E.blr_forgetting(E.BLRConfig(noise_std=0.0)), match="cfg"),
    BadInput("models.sequential_bayes_cl.experiment.blr_forgetting", "not a config",
             lambda: E.blr_forgetting({"seeds": 1}), match="cfg", error=TypeError),
    BadInput("models.sequential_bayes_cl.experiment.protocl_method", "unknown kind",
             lambda: E.protocl_method("ewc", 64, 10, 100), match="protocl_method: kind"),
    BadInput("models.sequential_bayes_cl.experiment.ProtoConfig", "lr <= 0",
             lambda: E.ProtoConfig(learning_rate=0.0), match="learning_rate"),
]


GRADIENTS = [
    Grad("models.sequential_bayes_cl.blr_posterior", lambda phi, y: S.blr_posterior(_PRIOR(), phi, y, 0.5).mean,
         lambda: (_PHI, _YB)),
    Grad("models.sequential_bayes_cl.blr_sequential",
         lambda phi, y: S.blr_sequential(_PRIOR(), [(phi, y), (phi[:2], y[:2])], 0.5)[-1].mean, lambda: (_PHI, _YB)),
    Grad("models.sequential_bayes_cl.blr_predict",
         lambda m, phi: S.blr_predict(S.Gaussian(m, jnp.eye(2) * 2.0), phi, 0.5), lambda: (np.ones(2), _PHI)),
    Grad("models.sequential_bayes_cl.poly_features", lambda x: S.poly_features(x, 3), lambda: (_YB,)),
    Grad("models.sequential_bayes_cl.mlp_logits", lambda t, x: S.mlp_logits(t, x, _SIZES), lambda: (_TH, _X2)),
    Grad("models.sequential_bayes_cl.log_likelihood", lambda t: S.log_likelihood(t, jnp.asarray(_X2),
                                                                                 jnp.asarray(_Y2), _SIZES),
         lambda: (_TH,)),
    Grad("models.sequential_bayes_cl.log_posterior",
         lambda t: S.log_posterior(t, (jnp.asarray(_X2), jnp.asarray(_Y2),
                                       S.GMM(*(jnp.asarray(a, t.dtype) for a in _ISO))), _SIZES), lambda: (_TH,)),
    Grad("models.sequential_bayes_cl.predictive", lambda s: S.predictive(s, jnp.asarray(_X2), _SIZES),
         lambda: (np.stack([_TH, 0.5 * _TH]),)),
    Grad("models.sequential_bayes_cl.gmm_log_density", lambda m, x: S.gmm_log_density(
        S.GMM(jnp.asarray(_G1.log_weights, m.dtype), m, jnp.asarray(_G1.prec_chol, m.dtype)), x),
         lambda: (np.asarray(_G1.means), _R.normal(size=(4, 3)))),
    Grad("models.sequential_bayes_cl.leapfrog", lambda q, p: S.leapfrog(lambda z: -z * jnp.array([1.0, 2.0]),
                                                                        q, p, 0.1, 5), lambda: (np.ones(2), _YB[:2])),
    Grad("models.sequential_bayes_cl.prior_posterior", lambda m: S.prior_posterior({**_PP, "mu0": m}),
         lambda: (_PP["mu0"],)),
    Grad("models.sequential_bayes_cl.noise_var", lambda s: S.noise_var({"log_sigma": s}), lambda: (np.asarray(0.3),)),
    Grad("models.sequential_bayes_cl.class_stats", lambda e: S.class_stats(e, jnp.asarray(_L), 3), lambda: (_E,)),
    Grad("models.sequential_bayes_cl.posterior_from_stats",
         lambda s, n: S.posterior_from_stats(_cast(_PP, s.dtype), s, n), lambda: (_R.normal(size=(3, 2)),
                                                                                 np.array([1.0, 2.0, 3.0]))),
    Grad("models.sequential_bayes_cl.batch_posterior",
         lambda e: S.batch_posterior(_cast(_PP, e.dtype), e, jnp.asarray(_L)), lambda: (_E,)),
    Grad("models.sequential_bayes_cl.stream_posterior",
         lambda e: S.stream_posterior(_cast(_PP, e.dtype), e, jnp.asarray(_L)), lambda: (_E,)),
    Grad("models.sequential_bayes_cl.log_joint", lambda e: S.log_joint(_post(_cast(_PP, e.dtype)), e, 0.5),
         lambda: (_E,)),
    Grad("models.sequential_bayes_cl.class_log_probs",
         lambda e: S.class_log_probs(_post(_cast(_PP, e.dtype)), e, 0.5),
         lambda: (_E,)),
    Grad("models.sequential_bayes_cl.nll", lambda e: S.nll(_post(_cast(_PP, e.dtype)), e, jnp.asarray(_L), 0.5),
         lambda: (_E,)),
]


def _cast(tree, dtype):
  return jax.tree.map(lambda a: jnp.asarray(a, dtype), tree)


EXEMPT = {
    "models.sequential_bayes_cl.Encoder": "a Flax module: init, apply and gradients checked by the conformance "
                                          "battery (models/sequential_bayes_cl/conformance.py)",
    "models.sequential_bayes_cl.init_flat": "grad: draws parameters from a key",
    "models.sequential_bayes_cl.hmc_sample": "grad: a Metropolis-Hastings sampler (accept/reject is discontinuous); "
                                             "not differentiated",
    "models.sequential_bayes_cl.experiment.BLRConfig": "a settings dataclass (validated by blr_forgetting)",
    "models.sequential_bayes_cl.num_params": "grad: integer arithmetic on layer widths",
    "models.sequential_bayes_cl.gmm_num_params": "grad: integer arithmetic",
    "models.sequential_bayes_cl.toy_blobs": "grad: numpy data generator (integer sizes and a seed)",
    "models.sequential_bayes_cl.toy_tasks": "grad: numpy data generator (integer sizes and a seed)",
    "models.sequential_bayes_cl.fit_gmm": "grad: EM in numpy (a fitting procedure, not a differentiable map)",
    "models.sequential_bayes_cl.fit_gmm_bic": "grad: model selection in numpy",
    "models.sequential_bayes_cl.moment_match": "grad: numpy fit of a prior (not differentiated)",
    "models.sequential_bayes_cl.isotropic_prior": "grad: builds a constant prior from a precision",
    "models.sequential_bayes_cl.pad_gmm": "grad: numpy padding of a fitted mixture",
    "models.sequential_bayes_cl.trim_gmm": "grad: numpy selection of the used components",
    "models.sequential_bayes_cl.init_prior": "grad: builds the initial learnable parameters",
    "models.sequential_bayes_cl.experiment.hmc_method": "grad: returns the method functions of a Python-level run",
    "models.sequential_bayes_cl.experiment.HMCConfig": "grad: a settings dataclass",
    "models.sequential_bayes_cl.experiment.blr_forgetting": "grad: a seeded numpy study returning numbers",
    "models.sequential_bayes_cl.experiment.protocl_method": "grad: returns the method functions of a training run",
    "models.sequential_bayes_cl.experiment.ProtoConfig": "grad: a settings dataclass",
}
