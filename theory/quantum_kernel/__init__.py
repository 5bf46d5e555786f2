"""Quantum-enhanced feature spaces: the ZZ feature map, the fidelity kernel (QKE) and the variational quantum
classifier on the ad hoc data set.

Paper: "Supervised learning with quantum-enhanced feature spaces", V. Havlíček, A. D. Córcoles, K. Temme,
A. W. Harrow, A. Kandala, J. M. Chow, J. M. Gambetta (Nature 567, 209-212, 2019), arXiv:1804.11326.
Built on the shared simulator ``theory.common.statevector`` and the SVM of ``theory.common.kernel_methods``.
"""
from theory.quantum_kernel.data import AdHocData, ad_hoc_data, cos_sin_features, cv_accuracy, stratified_folds
from theory.quantum_kernel.experiment import (RBF_GAMMAS, SVM_CS, Comparison, Concentration, DepthSweep, ShotSweep,
                                              kernel_concentration, qke_vs_baselines, shot_noise_sweep,
                                              vqc_depth_sweep)
from theory.quantum_kernel.feature_map import (MAX_QUBITS, feature_state, feature_states, fidelity_kernel, pairs,
                                               shot_kernel, zz_phases)
from theory.quantum_kernel.vqc import (P_FLOOR, VQCParams, VQCTrace, init_params, train_vqc, train_vqc_spsa,
                                       vqc_expectation, vqc_predict, vqc_risk)

__all__ = ["MAX_QUBITS", "P_FLOOR", "RBF_GAMMAS", "SVM_CS", "AdHocData", "Comparison", "Concentration", "DepthSweep",
           "ShotSweep", "VQCParams", "VQCTrace", "ad_hoc_data", "cos_sin_features", "cv_accuracy", "feature_state",
           "feature_states", "fidelity_kernel", "init_params", "kernel_concentration", "pairs", "qke_vs_baselines",
           "shot_kernel", "shot_noise_sweep", "stratified_folds", "train_vqc", "train_vqc_spsa", "vqc_depth_sweep",
           "vqc_expectation", "vqc_predict", "vqc_risk", "zz_phases"]
