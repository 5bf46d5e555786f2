"""Causal minimax subsets: SCMs with an environment node, stable predictors on do* samples, worst-case risk by
ascent over intervention functions, equivalence classes of stable subsets.

Paper: "Which Invariance Should We Transfer? A Causal Minimax Learning Approach", M. Liu, X. Zheng, X. Sun,
F. Fang, Y. Wang (ICML 2023), arXiv:2107.01876.
"""
from theory.causal_minimax.discrete import exact_worst_case, random_binary_scm
from theory.causal_minimax.estimators import (Predictors, WorstCase, fit_predictors, predict, risk, subset_masks,
                                              worst_case_risk)
from theory.causal_minimax.experiment import (CounterexampleResult, ReferenceResult, counterexample_predictor,
                                              counterexample_study, counterexample_worst_case, random_dag_study,
                                              reference_study)
from theory.causal_minimax.graph import (ENV, Graph, d_separated, do_star_set, equivalence_classes, k_set,
                                         make_graph, markov_boundary, regenerated_set, stable_dag,
                                         whole_set_optimal, x_m0)
from theory.causal_minimax.scm import (LINKS, SCM, Mechanism, counterexample_scm, do_star_samples, intervene,
                                       linear_scm, make_scm, reference_alphas, reference_scm, residuals, sample,
                                       sample_environments, structural_mean)

__all__ = ["CounterexampleResult", "ENV", "Graph", "LINKS", "Mechanism", "Predictors", "ReferenceResult", "SCM",
           "WorstCase", "counterexample_predictor", "counterexample_scm", "counterexample_study",
           "counterexample_worst_case", "d_separated", "do_star_samples", "do_star_set", "equivalence_classes", "exact_worst_case",
           "fit_predictors", "intervene", "k_set", "linear_scm", "make_graph", "make_scm", "markov_boundary",
           "predict", "random_binary_scm", "random_dag_study", "reference_alphas", "reference_scm", "reference_study", "regenerated_set", "residuals", "risk",
           "sample", "sample_environments", "stable_dag", "structural_mean", "subset_masks", "whole_set_optimal",
           "worst_case_risk", "x_m0"]
