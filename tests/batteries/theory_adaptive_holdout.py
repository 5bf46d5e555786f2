"""Batteries for theory/adaptive_holdout (paper 05: statistical-query mechanisms, Thresholdout, the price of
adaptivity, the Science experiment).

Gradients in float64, reverse mode. Differentiable: the answers E_S[φ] (linear), noisy answers (value + scale·z
given the key), Thresholdout's noisy threshold T + γ (reparameterised), the privacy accounting (JAX-scalar path;
``laplace_scale_for_privacy`` through the implicit derivative of the composition bound; δ-like arguments through
log δ so that the finite-difference step is small relative to them) and the closed forms. Not differentiable
(a ``TypeError`` naming the function): Thresholdout's answers (a switch on noisy comparisons, the budget a count),
accuracies, the correlation attack and the Science experiment.
"""
import jax
import jax.numpy as jnp
import numpy as np

from theory import adaptive_holdout as A
from battery import BadInput, Grad, NoGrad  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("theory.adaptive_holdout",)

KEY = jax.random.key(0, impl="rbg")   # XLA RngBitGenerator: compiles far faster than threefry
f = np.float64
VALUES = np.array([[0.1, 0.9, 0.4, 0.7], [0.3, 0.2, 0.8, 0.6]])   # k = 2 queries on n = 4 samples
STATE = A.ThresholdoutState(KEY, jnp.float32(0.05), jnp.float32(3.0), jnp.zeros((), jnp.int32))
SCORES = np.array([[0.5, -1.0], [-0.2, 0.3], [0.7, 0.0]])
Y = np.array([1.0, -1.0, -1.0])
TINY = dict(n=4, k=2)

BAD_INPUTS = [
    BadInput("theory.adaptive_holdout.accuracy", "y length", lambda: A.accuracy(SCORES, Y[:2]), match="accuracy: y"),
    BadInput("theory.adaptive_holdout.accuracy", "int scores", lambda: A.accuracy(np.ones((3, 2), np.int32), Y),
             match="accuracy: scores", error=TypeError),
    BadInput("theory.adaptive_holdout.accuracy", "0-d scores", lambda: A.accuracy(np.float64(1.0), Y),
             match="accuracy: scores"),
    BadInput("theory.adaptive_holdout.correlation_attack", "mechanism", lambda: A.correlation_attack(
        KEY, mechanism="median", **TINY), match="correlation_attack: mechanism"),
    BadInput("theory.adaptive_holdout.correlation_attack", "negative scale", lambda: A.correlation_attack(
        KEY, -0.1, mechanism="gaussian", **TINY), match="correlation_attack: scale"),
    BadInput("theory.adaptive_holdout.correlation_attack", "k 0", lambda: A.correlation_attack(KEY, n=4, k=0),
             match="correlation_attack: k"),
    BadInput("theory.adaptive_holdout.correlation_attack", "float n", lambda: A.correlation_attack(KEY, n=4.0, k=2),
             match="correlation_attack: n", error=TypeError),
    BadInput("theory.adaptive_holdout.correlation_attack", "split needs rows", lambda: A.correlation_attack(
        KEY, n=4, k=4, mechanism="split"), match="correlation_attack: k"),
    BadInput("theory.adaptive_holdout.correlation_attack", "batch_size 0", lambda: A.correlation_attack(
        KEY, batch_size=0, **TINY), match="correlation_attack: batch_size"),
    BadInput("theory.adaptive_holdout.science_experiment", "k_grid beyond d", lambda: A.science_experiment(
        KEY, n=4, d=3, k_grid=(0, 4), replications=1), match="science_experiment: k_grid"),
    BadInput("theory.adaptive_holdout.science_experiment", "sigma < 0", lambda: A.science_experiment(
        KEY, n=4, d=3, k_grid=(1,), replications=1, sigma=-1.0), match="science_experiment: sigma"),
    BadInput("theory.adaptive_holdout.science_experiment", "replications 0", lambda: A.science_experiment(
        KEY, n=4, d=3, k_grid=(1,), replications=0), match="science_experiment: replications"),
    BadInput("theory.adaptive_holdout.science_experiment", "signal_features > d", lambda: A.science_experiment(
        KEY, n=4, d=3, k_grid=(1,), replications=1, signal_features=4), match="science_experiment: signal_features"),
    BadInput("theory.adaptive_holdout.science_experiment", "NaN threshold", lambda: A.science_experiment(
        KEY, n=4, d=3, k_grid=(1,), replications=1, threshold=np.nan), match="science_experiment: threshold"),
    BadInput("theory.adaptive_holdout.science_experiment", "noise", lambda: A.science_experiment(
        KEY, n=4, d=3, k_grid=(1,), replications=1, noise="cauchy"), match="science_experiment: noise"),
    BadInput("theory.adaptive_holdout.empirical_answers", "1-D values", lambda: A.empirical_answers(np.zeros(3)),
             match="empirical_answers: values"),
    BadInput("theory.adaptive_holdout.empirical_answers", "int values", lambda: A.empirical_answers(
        np.zeros((2, 3), np.int32)), match="empirical_answers: values", error=TypeError),
    BadInput("theory.adaptive_holdout.empirical_answers", "no samples", lambda: A.empirical_answers(np.zeros((2, 0))),
             match="empirical_answers: values"),
    BadInput("theory.adaptive_holdout.sample_split_answers", "k > n", lambda: A.sample_split_answers(
        np.zeros((5, 4))), match="sample_split_answers: values"),
    BadInput("theory.adaptive_holdout.sample_split_answers", "no queries", lambda: A.sample_split_answers(
        np.zeros((0, 4))), match="sample_split_answers: values"),
    BadInput("theory.adaptive_holdout.noisy_answers", "noise", lambda: A.noisy_answers(KEY, VALUES, 0.1, "cauchy"),
             match="noisy_answers: noise"),
    BadInput("theory.adaptive_holdout.noisy_answers", "inf scale", lambda: A.noisy_answers(KEY, VALUES, np.inf),
             match="noisy_answers: scale"),
    BadInput("theory.adaptive_holdout.thresholdout_init", "threshold < 0", lambda: A.thresholdout_init(
        KEY, -1.0, 0.1, 3), match="thresholdout_init: threshold"),
    BadInput("theory.adaptive_holdout.thresholdout_init", "multipliers", lambda: A.thresholdout_init(
        KEY, 0.1, 0.1, 3, multipliers=(1.0, 2.0)), match="thresholdout_init: multipliers"),
    BadInput("theory.adaptive_holdout.thresholdout_init", "int dtype", lambda: A.thresholdout_init(
        KEY, 0.1, 0.1, 3, dtype=jnp.int32), match="thresholdout_init: dtype", error=TypeError),
    BadInput("theory.adaptive_holdout.thresholdout_init", "NaN budget", lambda: A.thresholdout_init(
        KEY, 0.1, 0.1, np.nan), match="thresholdout_init: budget"),
    BadInput("theory.adaptive_holdout.thresholdout_step", "state", lambda: A.thresholdout_step(
        KEY, 0.1, 0.2, threshold=0.1, sigma=0.1), match="thresholdout_step: state", error=TypeError),
    BadInput("theory.adaptive_holdout.thresholdout_step", "vector mean", lambda: A.thresholdout_step(
        STATE, np.zeros(2), 0.2, threshold=0.1, sigma=0.1), match="thresholdout_step: train_mean"),
    BadInput("theory.adaptive_holdout.thresholdout_step", "sigma < 0", lambda: A.thresholdout_step(
        STATE, 0.1, 0.2, threshold=0.1, sigma=-0.1), match="thresholdout_step: sigma"),
    BadInput("theory.adaptive_holdout.thresholdout", "budget missing", lambda: A.thresholdout(
        KEY, np.zeros(2), np.zeros(2), threshold=0.1, sigma=0.1), match="thresholdout: budget"),
    BadInput("theory.adaptive_holdout.thresholdout", "budget with a state", lambda: A.thresholdout(
        STATE, np.zeros(2), np.zeros(2), threshold=0.1, sigma=0.1, budget=3), match="thresholdout: budget"),
    BadInput("theory.adaptive_holdout.thresholdout", "shapes", lambda: A.thresholdout(
        KEY, np.zeros(2), np.zeros(3), threshold=0.1, sigma=0.1, budget=3), match="thresholdout: train_means"),
    BadInput("theory.adaptive_holdout.thresholdout", "noise", lambda: A.thresholdout(
        KEY, np.zeros(2), np.zeros(2), threshold=0.1, sigma=0.1, budget=3, noise="cauchy"), match="thresholdout: noise"),
    BadInput("theory.adaptive_holdout.laplace_answers_privacy", "scale 0", lambda: A.laplace_answers_privacy(
        0.0, 10, 3), match="laplace_answers_privacy: scale"),
    BadInput("theory.adaptive_holdout.laplace_answers_privacy", "k 0", lambda: A.laplace_answers_privacy(
        0.1, 10, 0), match="laplace_answers_privacy: k"),
    BadInput("theory.adaptive_holdout.laplace_answers_privacy", "delta_slack 1", lambda: A.laplace_answers_privacy(
        0.1, 10, 3, 1.0), match="laplace_answers_privacy: delta_slack"),
    BadInput("theory.adaptive_holdout.laplace_scale_for_privacy", "epsilon 0", lambda: A.laplace_scale_for_privacy(
        10, 3, 0.0, 1e-5), match="laplace_scale_for_privacy: epsilon"),
    BadInput("theory.adaptive_holdout.laplace_scale_for_privacy", "delta 0", lambda: A.laplace_scale_for_privacy(
        10, 3, 1.0, 0.0), match="laplace_scale_for_privacy: delta"),
    BadInput("theory.adaptive_holdout.laplace_scale_for_privacy", "float n", lambda: A.laplace_scale_for_privacy(
        10.0, 3, 1.0, 1e-5), match="laplace_scale_for_privacy: n", error=TypeError),
    BadInput("theory.adaptive_holdout.gaussian_answers_privacy", "sigma 0", lambda: A.gaussian_answers_privacy(
        0.0, 10, 3, 1e-5), match="gaussian_answers_privacy: sigma"),
    BadInput("theory.adaptive_holdout.gaussian_answers_privacy", "delta 1", lambda: A.gaussian_answers_privacy(
        0.1, 10, 3, 1.0), match="gaussian_answers_privacy: delta"),
    BadInput("theory.adaptive_holdout.thresholdout_privacy", "n_holdout 0", lambda: A.thresholdout_privacy(
        0.1, 0, 3.0), match="thresholdout_privacy: n_holdout"),
    BadInput("theory.adaptive_holdout.thresholdout_privacy", "inf budget", lambda: A.thresholdout_privacy(
        0.1, 10, np.inf), match="thresholdout_privacy: budget"),
    BadInput("theory.adaptive_holdout.overfit_accuracy", "k 0", lambda: A.overfit_accuracy(0, 100),
             match="overfit_accuracy: k"),
    BadInput("theory.adaptive_holdout.overfit_accuracy", "noise", lambda: A.overfit_accuracy(10, 100, 0.1, "cauchy"),
             match="overfit_accuracy: noise"),
    BadInput("theory.adaptive_holdout.overfit_accuracy", "negative scale", lambda: A.overfit_accuracy(
        10, 100, -0.1), match="overfit_accuracy: scale"),
    BadInput("theory.adaptive_holdout.overfit_accuracy", "shapes", lambda: A.overfit_accuracy(
        np.ones(2), np.ones(3) * 100), match="overfit_accuracy: k, n, scale"),
    BadInput("theory.adaptive_holdout.sign_correlation", "negative scale", lambda: A.sign_correlation(0.1, -0.1),
             match="sign_correlation: scale"),
    BadInput("theory.adaptive_holdout.sign_correlation", "NaN s", lambda: A.sign_correlation(np.nan, 0.1),
             match="sign_correlation: s"),
    BadInput("theory.adaptive_holdout.sign_correlation", "noise", lambda: A.sign_correlation(0.1, 0.1, "uniform"),
             match="sign_correlation: noise"),
]

GRADIENTS = [
    NoGrad("theory.adaptive_holdout.accuracy", lambda s: A.accuracy(s, Y), lambda: (SCORES,),
           match="accuracy is not differentiable"),
    NoGrad("theory.adaptive_holdout.correlation_attack", lambda s: A.correlation_attack(
        KEY, s, mechanism="gaussian", **TINY), lambda: (f(0.1),), match="correlation_attack is not differentiable"),
    NoGrad("theory.adaptive_holdout.science_experiment", lambda t: A.science_experiment(
        KEY, n=4, d=3, k_grid=(1,), replications=1, threshold=t), lambda: (f(0.5),),
        match="science_experiment is not differentiable"),
    Grad("theory.adaptive_holdout.empirical_answers", A.empirical_answers, lambda: (VALUES,)),
    Grad("theory.adaptive_holdout.sample_split_answers", A.sample_split_answers, lambda: (VALUES,)),
    Grad("theory.adaptive_holdout.noisy_answers", lambda v, b: A.noisy_answers(KEY, v, b, "laplace"),
         lambda: (VALUES, f(0.3))),
    Grad("theory.adaptive_holdout.noisy_answers", lambda v, s: A.noisy_answers(KEY, v, s, "gaussian"),
         lambda: (VALUES, f(0.3)), case="gaussian"),
    Grad("theory.adaptive_holdout.thresholdout_init", lambda t, s: A.thresholdout_init(
        KEY, t, s, 3.0, dtype=jnp.float64).noisy_threshold, lambda: (f(0.2), f(0.1))),
    NoGrad("theory.adaptive_holdout.thresholdout_step", lambda tm: A.thresholdout_step(
        STATE, tm, 0.4, threshold=0.05, sigma=0.1)[1].value, lambda: (f(0.1),),
        match="thresholdout_step is not differentiable"),
    NoGrad("theory.adaptive_holdout.thresholdout", lambda t: A.thresholdout(
        KEY, np.array([0.1, 0.5]), np.array([0.2, 0.1]), threshold=t, sigma=0.1, budget=3.0).values,
        lambda: (f(0.05),), match="thresholdout_step is not differentiable"),
    Grad("theory.adaptive_holdout.laplace_answers_privacy", lambda b, ls: A.laplace_answers_privacy(
        b, 100, 400, jnp.exp(ls)), lambda: (f(0.5), f(np.log(1e-6)))),
    Grad("theory.adaptive_holdout.laplace_answers_privacy", lambda b: A.laplace_answers_privacy(b, 100, 3),
         lambda: (f(0.5),), case="basic"),
    Grad("theory.adaptive_holdout.laplace_scale_for_privacy", lambda e, ld: A.laplace_scale_for_privacy(
        100, 10, e, jnp.exp(ld)), lambda: (f(1.0), f(np.log(1e-5)))),
    Grad("theory.adaptive_holdout.gaussian_answers_privacy", lambda s, ld: A.gaussian_answers_privacy(
        s, 100, 10, jnp.exp(ld)), lambda: (f(0.05), f(np.log(1e-5)))),
    Grad("theory.adaptive_holdout.thresholdout_privacy", lambda s, b: A.thresholdout_privacy(s, 100, b),
         lambda: (f(0.05), f(4.0))),
    Grad("theory.adaptive_holdout.overfit_accuracy", lambda k, n, s: A.overfit_accuracy(k, n, s, "gaussian"),
         lambda: (np.array([50.0, 200.0]), f(1000.0), f(0.03))),
    Grad("theory.adaptive_holdout.overfit_accuracy", lambda s: A.overfit_accuracy(200, 1000, s, "laplace"),
         lambda: (np.array([0.01, 0.03]),), case="laplace"),
    Grad("theory.adaptive_holdout.sign_correlation", lambda s, b: A.sign_correlation(s, b, "laplace"),
         lambda: (np.array([0.3, 1.0]), np.array([0.5, 0.2]))),
    Grad("theory.adaptive_holdout.sign_correlation", lambda s, b: A.sign_correlation(s, b, "gaussian"),
         lambda: (np.array([0.3, 1.0]), np.array([0.5, 0.2])), case="gaussian"),
]

EXEMPT = {
    "theory.adaptive_holdout.empirical_privacy": "takes no arguments: returns the constant (inf, 0)",
}
