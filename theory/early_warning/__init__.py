"""Early-warning signals of critical transitions: rolling indicators, Kendall's τ, ROC, models with a fold,
and the model-based (OU vs linearised saddle-node) likelihood approach.

Paper: C. Boettiger, N. Ross, A. Hastings, "Early warning signals: the charted and uncharted territories",
Theoretical Ecology 6:255–264 (2013), arXiv:1305.6700; likelihood method of C. Boettiger, A. Hastings,
"Quantifying limits to detection of early warning for critical transitions", J. R. Soc. Interface 9:2527
(2012). Euler–Maruyama lives in ``theory.common.sde``; exact OU in ``theory.common.gaussian_processes``.
"""
from theory.early_warning.experiment import ramp_data, selection_windows, shift_data, textbook_tau_pvalue
from theory.early_warning.indicators import (INDICATORS, AR1Fit, Indicators, ROC, ar1_fit, ar1_surrogates,
                                             block_bootstrap, gaussian_detrend, indicator_taus, kendall_tau, roc,
                                             rolling_indicators, surrogate_pvalue)
from theory.early_warning.likelihood import (Bootstrap, Fit, LSNParams, OUParams, bootstrap_lr, fit_models,
                                             lsn_feasible, lsn_loglik, lsn_simulate, lsn_transition, nelder_mead,
                                             ou_ar1_mle, ou_loglik)
from theory.early_warning.models import (Fold, ibm_equilibria, ibm_fold, ibm_simulate, may_diffusion, may_drift,
                                         may_equilibria, may_folds, may_simulate, ricker_equilibria, ricker_fold,
                                         ricker_simulate)

__all__ = [
    "AR1Fit", "Bootstrap", "Fit", "Fold", "INDICATORS", "Indicators", "LSNParams", "OUParams", "ROC", "ar1_fit",
    "ar1_surrogates", "block_bootstrap", "bootstrap_lr", "fit_models", "gaussian_detrend", "ibm_equilibria",
    "ibm_fold", "ibm_simulate", "indicator_taus", "kendall_tau", "lsn_feasible", "lsn_loglik", "lsn_simulate",
    "lsn_transition", "may_diffusion", "may_drift", "may_equilibria", "may_folds", "may_simulate", "nelder_mead",
    "ou_ar1_mle", "ou_loglik", "ramp_data", "ricker_equilibria", "ricker_fold", "ricker_simulate", "roc",
    "rolling_indicators", "selection_windows", "shift_data", "surrogate_pvalue", "textbook_tau_pvalue",
]
