"""Preserving statistical validity in adaptive data analysis: statistical-query mechanisms,
Thresholdout (the reusable holdout), the price-of-adaptivity closed form and the Science experiment.

Dwork, Feldman, Hardt, Pitassi, Reingold, Roth. "Preserving Statistical Validity in Adaptive Data
Analysis". STOC 2015, arXiv:1411.2664; "The reusable holdout", Science 349:636 (2015); "Generalization
in adaptive data analysis and holdout reuse", NIPS 2015, arXiv:1506.02629.
"""
from theory.adaptive_holdout.analytic import overfit_accuracy, sign_correlation
from theory.adaptive_holdout.experiment import (ATTACK_MECHANISMS, AttackResult, HoldoutCurves, ScienceResult,
                                                accuracy, correlation_attack, science_experiment)
from theory.adaptive_holdout.mechanisms import (NOISES, PAPER_MULTIPLIERS, REFERENCE_MULTIPLIERS, ThresholdoutAnswer, ThresholdoutResult, ThresholdoutState,
                                                empirical_answers, empirical_privacy, gaussian_answers_privacy,
                                                laplace_answers_privacy, laplace_scale_for_privacy, noisy_answers,
                                                sample_split_answers, thresholdout, thresholdout_init,
                                                thresholdout_privacy, thresholdout_step)

__all__ = [
    "ATTACK_MECHANISMS", "AttackResult", "PAPER_MULTIPLIERS", "REFERENCE_MULTIPLIERS", "HoldoutCurves", "NOISES", "ScienceResult", "ThresholdoutAnswer",
    "ThresholdoutResult", "ThresholdoutState", "accuracy", "correlation_attack", "empirical_answers",
    "empirical_privacy", "gaussian_answers_privacy", "laplace_answers_privacy", "laplace_scale_for_privacy",
    "noisy_answers", "overfit_accuracy", "sample_split_answers", "science_experiment", "sign_correlation",
    "thresholdout", "thresholdout_init", "thresholdout_privacy", "thresholdout_step",
]
