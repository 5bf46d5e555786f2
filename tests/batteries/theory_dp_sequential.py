"""Batteries for theory/dp_sequential (paper 31: smooth randomized response, public LLR dynamics, the first correct
report, stopping times, binary-signal cascades).

Gradients in float64, reverse mode. Smooth and differentiated: the report probabilities and LLR increments (in ℓ,
σ, ε), the decision threshold and flip probability (away from s = t), the exact law of the first correct report
(in σ, ε), every closed-form rate and constant, and the cascade probabilities (between the switch points: the
threshold k(ε) is piecewise constant and the example sits inside a piece). Not differentiable (a ``TypeError``
naming the function): the ±1 reports, the integer threshold k(ε), the simulators, the Monte Carlo stopping
times and the Bellman grid solution (it jumps where ℓ + Δ± crosses ±B).
"""
import math

import jax
import numpy as np

from theory import dp_sequential as D
from battery import BadInput, Grad, NoGrad  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("theory.dp_sequential",)

KEY = jax.random.key(0, impl="rbg")   # XLA RngBitGenerator: compiles far faster than threefry
f = np.float64
ELL = np.array([-1.5, 0.3, 2.0])

BAD_INPUTS = [
    BadInput("theory.dp_sequential.continuous_runs", "no epsilons", lambda: D.continuous_runs(0, 2, 4, 1.0, []),
             match="continuous_runs: epsilons"),
    BadInput("theory.dp_sequential.llr_growth", "shapes", lambda: D.llr_growth(np.arange(2, 6), np.zeros((3, 5)), 2),
             match="llr_growth: n, llr"),
    BadInput("theory.dp_sequential.first_report_tail", "horizon 5", lambda: D.first_report_tail(5, 1.0, 1.0),
             match="first_report_tail: horizon"),
    BadInput("theory.dp_sequential.emergent_threshold", "p 0.4", lambda: D.emergent_threshold(KEY, 0.4, 1.0),
             match="simulate_paths: p"),
    BadInput("theory.dp_sequential.switch_point_bisection", "steps 0", lambda: D.switch_point_bisection(
        KEY, 0.7, 1.158, 3, 0), match="switch_point_bisection: steps"),
    BadInput("theory.dp_sequential.cascade_frequency", "epsilon 0", lambda: D.cascade_frequency(KEY, 0.7, 0.0, 4),
             match="simulate_paths: epsilon"),
    BadInput("theory.dp_sequential.stopping_cell", "threshold -1", lambda: D.stopping_cell(KEY, -1.0, 4, 1.0, 1.0, 5),
             match="bellman_stopping_time: threshold"),
    BadInput("theory.dp_sequential.decision_threshold", "sigma 0", lambda: D.decision_threshold(ELL, 0.0),
             match="decision_threshold: sigma"),
    BadInput("theory.dp_sequential.decision_threshold", "str ell", lambda: D.decision_threshold(np.array(["a"]), 1.0),
             match="decision_threshold: ell", error=TypeError),
    BadInput("theory.dp_sequential.flip_probability", "epsilon 0", lambda: D.flip_probability(ELL, 0.0, 0.0),
             match="flip_probability: epsilon"),
    BadInput("theory.dp_sequential.flip_probability", "shapes", lambda: D.flip_probability(ELL, np.zeros(2), 1.0),
             match="flip_probability: signal, threshold"),
    BadInput("theory.dp_sequential.smooth_randomized_response", "int signal", lambda: D.smooth_randomized_response(
        KEY, np.arange(3), 0.0, 1.0), match="smooth_randomized_response: signal", error=TypeError),
    BadInput("theory.dp_sequential.smooth_randomized_response", "NaN epsilon", lambda: D.smooth_randomized_response(
        KEY, ELL, 0.0, np.nan), match="smooth_randomized_response: epsilon"),
    BadInput("theory.dp_sequential.laplace_threshold_report", "epsilon < 0", lambda: D.laplace_threshold_report(
        KEY, ELL, 0.0, -1.0), match="laplace_threshold_report: epsilon"),
    BadInput("theory.dp_sequential.laplace_threshold_report", "shapes", lambda: D.laplace_threshold_report(
        KEY, ELL, np.zeros(2), 1.0), match="laplace_threshold_report: signal, threshold"),
    BadInput("theory.dp_sequential.log_report_probability", "sigma < 0", lambda: D.log_report_probability(
        0.0, 1, -1.0, 1.0), match="log_report_probability: sigma"),
    BadInput("theory.dp_sequential.log_report_probability", "shapes", lambda: D.log_report_probability(
        ELL, np.ones(2), 1.0, 1.0), match="log_report_probability: ell, theta"),
    BadInput("theory.dp_sequential.llr_increments", "epsilon 0", lambda: D.llr_increments(0.0, 1.0, 0.0),
             match="llr_increments: epsilon"),
    BadInput("theory.dp_sequential.llr_increments", "str epsilon", lambda: D.llr_increments(0.0, 1.0, "1"),
             match="llr_increments: epsilon", error=TypeError),
    BadInput("theory.dp_sequential.private_llr_slope", "sigma inf", lambda: D.private_llr_slope(1.0, math.inf),
             match="private_llr_slope: sigma"),
    BadInput("theory.dp_sequential.nonprivate_llr_constant", "sigma 0", lambda: D.nonprivate_llr_constant(0.0),
             match="nonprivate_llr_constant: sigma"),
    BadInput("theory.dp_sequential.first_report_tail_exponent", "epsilon < 0",
             lambda: D.first_report_tail_exponent(-1.0, 1.0), match="first_report_tail_exponent: epsilon"),
    BadInput("theory.dp_sequential.first_report_survival", "horizon 0", lambda: D.first_report_survival(0, 1.0, 1.0),
             match="first_report_survival: horizon"),
    BadInput("theory.dp_sequential.first_report_survival", "sigma 0", lambda: D.first_report_survival(4, 0.0, 1.0),
             match="first_report_survival: sigma"),
    BadInput("theory.dp_sequential.simulate", "theta 0", lambda: D.simulate(KEY, 4, 1.0, 1.0, theta=0),
             match="simulate: theta"),
    BadInput("theory.dp_sequential.simulate", "key", lambda: D.simulate(0, 4), match="simulate: key", error=TypeError),
    BadInput("theory.dp_sequential.simulate", "record_every", lambda: D.simulate(KEY, 4, record_every=3),
             match="simulate: n_agents"),
    BadInput("theory.dp_sequential.simulate_paths", "n_paths 0", lambda: D.simulate_paths(KEY, 0, 4),
             match="simulate_paths: n_paths"),
    BadInput("theory.dp_sequential.simulate_paths", "epsilon 0", lambda: D.simulate_paths(KEY, 2, 4, 1.0, 0.0),
             match="simulate_paths: epsilon"),
    BadInput("theory.dp_sequential.bellman_stopping_time", "threshold < 0", lambda: D.bellman_stopping_time(-1.0),
             match="bellman_stopping_time: threshold"),
    BadInput("theory.dp_sequential.bellman_stopping_time", "even grid", lambda: D.bellman_stopping_time(
        1.0, grid_size=6), match="bellman_stopping_time: grid_size"),
    BadInput("theory.dp_sequential.bellman_stopping_time", "grid 3", lambda: D.bellman_stopping_time(
        1.0, grid_size=3), match="bellman_stopping_time: grid_size"),
    BadInput("theory.dp_sequential.stopping_times", "cap 0", lambda: D.stopping_times(KEY, 1.0, 2, cap=0),
             match="stopping_times: cap"),
    BadInput("theory.dp_sequential.stopping_times", "inf threshold", lambda: D.stopping_times(KEY, math.inf, 2),
             match="stopping_times: threshold"),
    BadInput("theory.dp_sequential.stopping_constant", "epsilon inf", lambda: D.stopping_constant(math.inf),
             match="stopping_constant: epsilon"),
    BadInput("theory.dp_sequential.asymptotic_stopping_time", "epsilon inf", lambda: D.asymptotic_stopping_time(
        2.0, math.inf), match="asymptotic_stopping_time: epsilon"),
    BadInput("theory.dp_sequential.asymptotic_stopping_time", "threshold 0", lambda: D.asymptotic_stopping_time(
        0.0, 1.0), match="asymptotic_stopping_time: threshold"),
    BadInput("theory.dp_sequential.report_accuracy", "p 0.4", lambda: D.report_accuracy(1.0, 0.4),
             match="report_accuracy: p"),
    BadInput("theory.dp_sequential.cascade_threshold", "p 1", lambda: D.cascade_threshold(1.0, 1.0),
             match="cascade_threshold: p"),
    BadInput("theory.dp_sequential.correct_cascade_probability", "epsilon 0",
             lambda: D.correct_cascade_probability(0.0, 0.7), match="correct_cascade_probability: epsilon"),
    BadInput("theory.dp_sequential.nonprivate_cascade_probability", "bool p",
             lambda: D.nonprivate_cascade_probability(True), match="nonprivate_cascade_probability: p", error=TypeError),
    BadInput("theory.dp_sequential.switch_point", "k 2", lambda: D.switch_point(2, 0.7), match="switch_point: k"),
    BadInput("theory.dp_sequential.switch_points", "k_max 2", lambda: D.switch_points(0.7, 2),
             match="switch_points: k_max"),
    BadInput("theory.dp_sequential.switch_points", "NaN p", lambda: D.switch_points(np.nan), match="switch_points: p"),
]

GRADIENTS = [
    Grad("theory.dp_sequential.decision_threshold", D.decision_threshold, lambda: (ELL, f(1.3))),
    Grad("theory.dp_sequential.flip_probability", D.flip_probability, lambda: (ELL, f(0.1), f(0.8))),
    NoGrad("theory.dp_sequential.smooth_randomized_response", lambda s: D.smooth_randomized_response(KEY, s, 0.1, 1.0),
           lambda: (ELL,), match="smooth_randomized_response is not differentiable"),
    NoGrad("theory.dp_sequential.laplace_threshold_report", lambda s: D.laplace_threshold_report(KEY, s, 0.1, 1.0),
           lambda: (ELL,), match="laplace_threshold_report is not differentiable"),
    # (the σ and ε derivatives of the report probabilities compile slowly; the ε one is checked here, both
    # against quadrature in tests/theory/test_dp_sequential.py)
    Grad("theory.dp_sequential.log_report_probability", lambda ell, e: D.log_report_probability(ell, 1, 1.2, e),
         lambda: (ELL, f(0.7))),
    Grad("theory.dp_sequential.llr_increments", lambda ell: D.llr_increments(ell, 1.2, 0.7), lambda: (ELL,)),
    Grad("theory.dp_sequential.private_llr_slope", D.private_llr_slope, lambda: (f(0.7), f(1.2))),
    Grad("theory.dp_sequential.nonprivate_llr_constant", D.nonprivate_llr_constant, lambda: (f(1.2),)),
    Grad("theory.dp_sequential.first_report_tail_exponent", D.first_report_tail_exponent, lambda: (f(0.7), f(1.2))),
    Grad("theory.dp_sequential.first_report_survival", lambda s: D.first_report_survival(3, s, 0.7),
         lambda: (f(1.2),)),
    NoGrad("theory.dp_sequential.simulate", lambda s: D.simulate(KEY, 4, s, 1.0).llr, lambda: (f(1.0),),
           match="simulate is not differentiable"),
    NoGrad("theory.dp_sequential.simulate_paths", lambda e: D.simulate_paths(KEY, 2, 4, 1.0, e).llr,
           lambda: (f(1.0),), match="simulate_paths is not differentiable"),
    NoGrad("theory.dp_sequential.bellman_stopping_time", lambda s: D.bellman_stopping_time(
        1.0, s, 1.0, grid_size=5).at_zero, lambda: (f(1.0),), match="bellman_stopping_time is not differentiable"),
    NoGrad("theory.dp_sequential.stopping_times", lambda s: D.stopping_times(KEY, 1.0, 2, s, 1.0, cap=8).time,
           lambda: (f(1.0),), match="stopping_times is not differentiable"),
    Grad("theory.dp_sequential.stopping_constant", D.stopping_constant, lambda: (f(0.7), f(1.2))),
    Grad("theory.dp_sequential.asymptotic_stopping_time", D.asymptotic_stopping_time,
         lambda: (f(3.0), f(0.7), f(1.2))),
    Grad("theory.dp_sequential.report_accuracy", D.report_accuracy, lambda: (f(0.8), f(0.7))),
    NoGrad("theory.dp_sequential.cascade_threshold", lambda e: D.cascade_threshold(e, 0.7), lambda: (f(1.0),),
           match="cascade_threshold is not differentiable"),
    Grad("theory.dp_sequential.correct_cascade_probability", D.correct_cascade_probability,
         lambda: (f(1.0), f(0.7))),
    Grad("theory.dp_sequential.nonprivate_cascade_probability", D.nonprivate_cascade_probability, lambda: (f(0.7),)),
    Grad("theory.dp_sequential.switch_point", lambda p: D.switch_point(4, p), lambda: (f(0.7),)),
    Grad("theory.dp_sequential.switch_points", lambda p: D.switch_points(p, 5), lambda: (f(0.7),)),
]

EXEMPT = {
    "theory.dp_sequential.continuous_runs": "grad: host-side experiment returning numpy summaries of sampled runs (counts, maxima, fitted slopes)",
    "theory.dp_sequential.llr_growth": "grad: host-side least-squares summary of finished runs (numpy)",
    "theory.dp_sequential.first_report_tail": "grad: host-side summary (slopes, partial sums) of the exact law",
    "theory.dp_sequential.emergent_threshold": "grad: host-side experiment returning numpy summaries of sampled runs (counts, maxima, fitted slopes)",
    "theory.dp_sequential.switch_point_bisection": "grad: host-side experiment returning numpy summaries of sampled runs (counts, maxima, fitted slopes)",
    "theory.dp_sequential.cascade_frequency": "grad: host-side experiment returning numpy summaries of sampled runs (counts, maxima, fitted slopes)",
    "theory.dp_sequential.stopping_cell": "grad: host-side experiment returning numpy summaries of sampled runs (counts, maxima, fitted slopes)",
}
