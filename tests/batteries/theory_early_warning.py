"""Batteries for theory/early_warning (paper 20): bad inputs and derivatives."""
import jax
import jax.numpy as jnp
import numpy as np

from theory import early_warning as E
from battery import BadInput, Grad, NoGrad  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("theory.early_warning",)

_KEY = jax.random.PRNGKey(20)
_AR = np.array([1.0, 0.42, 0.854, 1.211, 0.885, 0.738, 0.198, -0.338])   # AR(1)-like, lag-1 φ̂ = 0.85
_POP = 5.0 + _AR                                                           # positive level (cv, LSN noise)
_NAN = _POP.copy()
_NAN[3] = np.nan
_T = np.arange(8.0)
_OU = E.OUParams(0.5, 5.0, 0.3)
_LSN = E.LSNParams(0.09, -0.002, 4.7, 0.2)


def _quad(v):
  return jnp.sum((v - jnp.array([1.0, -2.0])) ** 2 * jnp.array([1.0, 3.0]))


BAD_INPUTS = [
    # indicators: non-finite data name the argument and the index; shapes; options
    BadInput("theory.early_warning.rolling_indicators", "NaN", lambda: E.rolling_indicators(_NAN, 4),
             match=r"rolling_indicators: x: .*index \(3,\)"),
    BadInput("theory.early_warning.rolling_indicators", "window > N", lambda: E.rolling_indicators(_POP, 9),
             match="window"),
    BadInput("theory.early_warning.rolling_indicators", "bandwidth 0", lambda: E.rolling_indicators(
        _POP, 4, bandwidth=0.0), match="bandwidth"),
    BadInput("theory.early_warning.indicator_taus", "inf", lambda: E.indicator_taus(
        np.r_[_POP[:7], np.inf], 4), match=r"indicator_taus: x: .*index \(7,\)"),
    BadInput("theory.early_warning.gaussian_detrend", "NaN", lambda: E.gaussian_detrend(_NAN, 0.5),
             match=r"gaussian_detrend: x: .*index \(3,\)"),
    BadInput("theory.early_warning.gaussian_detrend", "bandwidth > 1", lambda: E.gaussian_detrend(_POP, 1.5),
             match="bandwidth"),
    BadInput("theory.early_warning.kendall_tau", "batch mismatch", lambda: E.kendall_tau(
        np.zeros((3, 10)), np.zeros((4, 10))), match=r"x, y: .*\(3, 10\).*\(4, 10\)"),
    BadInput("theory.early_warning.kendall_tau", "length mismatch", lambda: E.kendall_tau(_POP, _POP[:7]),
             match="y"),
    BadInput("theory.early_warning.kendall_tau", "NaN in y", lambda: E.kendall_tau(_POP, _NAN),
             match=r"kendall_tau: y: .*index \(3,\)"),
    BadInput("theory.early_warning.ar1_fit", "N = 2", lambda: E.ar1_fit(_POP[:2]), match="x"),
    BadInput("theory.early_warning.ar1_fit", "NaN", lambda: E.ar1_fit(_NAN), match=r"ar1_fit: x: .*index"),
    BadInput("theory.early_warning.ar1_surrogates", "2-D x", lambda: E.ar1_surrogates(_KEY, np.ones((2, 8)), 3),
             match="x"),
    BadInput("theory.early_warning.ar1_surrogates", "n_surrogates 0", lambda: E.ar1_surrogates(_KEY, _POP, 0),
             match="n_surrogates"),
    BadInput("theory.early_warning.block_bootstrap", "block > N", lambda: E.block_bootstrap(_KEY, _POP, 9, 2),
             match="block"),
    BadInput("theory.early_warning.block_bootstrap", "NaN", lambda: E.block_bootstrap(_KEY, _NAN, 2, 2),
             match=r"x: .*index \(3,\)"),
    BadInput("theory.early_warning.surrogate_pvalue", "shape mismatch", lambda: E.surrogate_pvalue(
        np.zeros(3), np.zeros((4, 9))), match="observed"),
    BadInput("theory.early_warning.surrogate_pvalue", "NaN observed", lambda: E.surrogate_pvalue(
        np.nan, np.zeros(9)), match="observed"),
    BadInput("theory.early_warning.roc", "2-D", lambda: E.roc(np.zeros((2, 3)), np.zeros(3)), match="null, test"),
    BadInput("theory.early_warning.roc", "NaN test", lambda: E.roc(np.zeros(3), np.array([0.0, np.nan])),
             match=r"roc: test: .*index \(1,\)"),
    # likelihoods and fits
    BadInput("theory.early_warning.ou_loglik", "times shape", lambda: E.ou_loglik(_OU, _POP, _T[:7]),
             match="times"),
    BadInput("theory.early_warning.ou_loglik", "NaN x", lambda: E.ou_loglik(_OU, _NAN, _T),
             match=r"ou_loglik: x: .*index \(3,\)"),
    BadInput("theory.early_warning.ou_loglik", "params not OUParams", lambda: E.ou_loglik((0.5, 5.0), _POP, _T),
             match="params", error=TypeError),
    BadInput("theory.early_warning.lsn_loglik", "substeps 0", lambda: E.lsn_loglik(_LSN, _POP, _T, 0),
             match="substeps"),
    BadInput("theory.early_warning.lsn_loglik", "2-D x", lambda: E.lsn_loglik(_LSN, np.ones((2, 8)), _T),
             match="x"),
    BadInput("theory.early_warning.lsn_transition", "shape mismatch", lambda: E.lsn_transition(
        _LSN, np.ones(3), np.zeros(4), np.ones(4), 2), match="x, t0, t1"),
    BadInput("theory.early_warning.lsn_transition", "substeps 0", lambda: E.lsn_transition(
        _LSN, 1.0, 0.0, 1.0, 0), match="substeps"),
    BadInput("theory.early_warning.lsn_feasible", "2-D times", lambda: E.lsn_feasible(_LSN, np.ones((2, 2))),
             match="times"),
    BadInput("theory.early_warning.nelder_mead", "step shape", lambda: E.nelder_mead(_quad, jnp.zeros(2),
                                                                                       jnp.ones(3), 3), match="step"),
    BadInput("theory.early_warning.nelder_mead", "f not callable", lambda: E.nelder_mead(
        None, jnp.zeros(2), jnp.ones(2), 3), match="f", error=TypeError),
    BadInput("theory.early_warning.ou_ar1_mle", "dt 0", lambda: E.ou_ar1_mle(_AR, 0.0), match="dt"),
    BadInput("theory.early_warning.ou_ar1_mle", "NaN", lambda: E.ou_ar1_mle(_NAN, 1.0), match=r"x: .*index"),
    BadInput("theory.early_warning.fit_models", "times not increasing", lambda: E.fit_models(_POP, np.zeros(8)),
             match="times"),
    BadInput("theory.early_warning.fit_models", "NaN", lambda: E.fit_models(_NAN), match=r"fit_models: x: .*index"),
    BadInput("theory.early_warning.fit_models", "n_iter 0", lambda: E.fit_models(_POP, n_iter=0), match="n_iter"),
    BadInput("theory.early_warning.bootstrap_lr", "2-D x", lambda: E.bootstrap_lr(_KEY, np.ones((2, 8))),
             match="x"),
    BadInput("theory.early_warning.bootstrap_lr", "under jit", lambda: jax.jit(
        lambda v: E.bootstrap_lr(_KEY, v, n_boot=2).observed)(jnp.asarray(_POP)), match="x", error=TypeError),
    BadInput("theory.early_warning.lsn_simulate", "infeasible", lambda: E.lsn_simulate(
        _KEY, E.LSNParams(-1.0, 0.0, 1.0, 1.0), _T, 5.0, 2), match="params"),
    BadInput("theory.early_warning.lsn_simulate", "n_paths 0", lambda: E.lsn_simulate(_KEY, _LSN, _T, 5.0, 0),
             match="n_paths"),
    # models
    BadInput("theory.early_warning.may_drift", "missing c", lambda: E.may_drift(1.0, dict(r=1.0, K=10.0, h=1.0)),
             match="p"),
    BadInput("theory.early_warning.may_diffusion", "missing sigma", lambda: E.may_diffusion(1.0, {}), match="p"),
    BadInput("theory.early_warning.may_simulate", "NaN c", lambda: E.may_simulate(
        _KEY, np.array([2.0, np.nan]), record_every=1, x0=5.0), match=r"may_simulate: c: .*index \(1,\)"),
    BadInput("theory.early_warning.may_simulate", "sigma < 0", lambda: E.may_simulate(
        _KEY, np.full(2, 2.0), sigma=-1.0, record_every=1), match="sigma"),
    BadInput("theory.early_warning.may_simulate", "traced c, no x0", lambda: jax.jit(
        lambda c: E.may_simulate(_KEY, c, record_every=1))(jnp.full(2, 2.0)), match="x0"),
    BadInput("theory.early_warning.may_equilibria", "h = 0", lambda: E.may_equilibria(2.0, h=0.0), match="h"),
    BadInput("theory.early_warning.may_equilibria", "c NaN", lambda: E.may_equilibria(float("nan")), match="c"),
    BadInput("theory.early_warning.may_folds", "r a string", lambda: E.may_folds(r="1"), match="r",
             error=TypeError),
    BadInput("theory.early_warning.ricker_simulate", "inf F", lambda: E.ricker_simulate(
        _KEY, np.array([0.1, np.inf]), x0=5.0), match=r"ricker_simulate: F: .*index \(1,\)"),
    BadInput("theory.early_warning.ricker_simulate", "2-D F", lambda: E.ricker_simulate(_KEY, np.ones((2, 2))),
             match="F"),
    BadInput("theory.early_warning.ricker_equilibria", "k < 0", lambda: E.ricker_equilibria(0.1, k=-1.0),
             match="k"),
    BadInput("theory.early_warning.ricker_fold", "h = 0", lambda: E.ricker_fold(h=0.0), match="h"),
    BadInput("theory.early_warning.ibm_simulate", "negative a", lambda: E.ibm_simulate(_KEY, np.array([1.0, -1.0])),
             match=r"a: .*>= 0.*index \(1,\)"),
    BadInput("theory.early_warning.ibm_simulate", "NaN a", lambda: E.ibm_simulate(_KEY, np.array([np.nan])),
             match=r"a: .*index \(0,\)"),
    BadInput("theory.early_warning.ibm_simulate", "n0 < 0", lambda: E.ibm_simulate(_KEY, np.ones(1), n0=-1),
             match="n0"),
    BadInput("theory.early_warning.ibm_fold", "K = 0", lambda: E.ibm_fold(K=0.0), match="K"),
    BadInput("theory.early_warning.ibm_equilibria", "a inf", lambda: E.ibm_equilibria(float("inf")), match="a"),
]

_j = jax.jit
R = ("rev",)   # reverse mode: one vjp compile per case

GRADIENTS = [
    Grad("theory.early_warning.rolling_indicators", _j(lambda x: E.rolling_indicators(x, 4, bandwidth=0.5)),
         lambda: (_POP[:5],), modes=R),
    Grad("theory.early_warning.gaussian_detrend", _j(lambda x: E.gaussian_detrend(x, 0.5)), lambda: (_POP[:5],),
         modes=R),
    Grad("theory.early_warning.ar1_fit", _j(E.ar1_fit), lambda: (_AR,), modes=R),
    Grad("theory.early_warning.ar1_surrogates", _j(lambda x: E.ar1_surrogates(_KEY, x, 2)), lambda: (_AR[:5],),
         modes=R),
    Grad("theory.early_warning.block_bootstrap", _j(lambda x: E.block_bootstrap(_KEY, x, 2, 2)),
         lambda: (_AR[:5],), modes=R),
    Grad("theory.early_warning.ou_loglik", _j(lambda r0, th, s, x: E.ou_loglik(E.OUParams(r0, th, s), x, _T)),
         lambda: (0.5, 5.0, 0.3, _POP), modes=R),
    Grad("theory.early_warning.lsn_loglik", _j(lambda r0, m, th, s, x: E.lsn_loglik(E.LSNParams(r0, m, th, s), x,
                                                                                      _T, 2)),
         lambda: (0.09, -0.002, 4.7, 0.2, _POP), modes=R),
    Grad("theory.early_warning.lsn_transition", _j(lambda r0, m, x: E.lsn_transition(
        E.LSNParams(r0, m, 4.7, 0.2), x, 0.0, 1.5, 2)), lambda: (0.09, -0.002, np.array([4.9, 5.2])), modes=R),
    Grad("theory.early_warning.ou_ar1_mle", _j(lambda x, dt: E.ou_ar1_mle(x, dt)), lambda: (_AR, 0.5), modes=R),
    Grad("theory.early_warning.nelder_mead", _j(lambda x0: E.nelder_mead(_quad, x0, jnp.array([0.5, 0.5]), 2)),
         lambda: (np.array([0.3, 0.1]),), modes=R),
    Grad("theory.early_warning.lsn_simulate", _j(lambda r0, th, x0: E.lsn_simulate(
        _KEY, E.LSNParams(r0, -0.002, th, 0.2), _T[:3], x0, 2, substeps=1)), lambda: (0.09, 4.7, 5.0), modes=R),
    Grad("theory.early_warning.may_drift", lambda x, c: E.may_drift(x, dict(r=1.0, K=10.0, h=1.0, c=c)),
         lambda: (np.array([1.5, 4.0]), 2.0)),
    Grad("theory.early_warning.may_diffusion", lambda x, s: E.may_diffusion(x, dict(sigma=s)),
         lambda: (np.array([1.5, 4.0]), 0.3)),
    Grad("theory.early_warning.may_simulate", _j(lambda c: E.may_simulate(_KEY, c, record_every=1, x0=5.0)),
         lambda: (np.array([2.0, 2.2]),), modes=R),
    Grad("theory.early_warning.ricker_simulate", _j(lambda f: E.ricker_simulate(_KEY, f, x0=5.0)),
         lambda: (np.array([0.1, 0.2]),), modes=R),
    # piecewise constant in the data (orderings, counts) or not differentiable (optimisers, host code)
    NoGrad("theory.early_warning.kendall_tau", E.kendall_tau, lambda: (_AR,)),
    NoGrad("theory.early_warning.indicator_taus", lambda x: E.indicator_taus(x, 4), lambda: (_POP,)),
    NoGrad("theory.early_warning.roc", lambda t: E.roc(_AR[:4], t), lambda: (_AR[4:],)),
    NoGrad("theory.early_warning.surrogate_pvalue", lambda obs: E.surrogate_pvalue(obs, _AR), lambda: (0.5,)),
    NoGrad("theory.early_warning.fit_models", lambda x: E.fit_models(x, n_iter=2), lambda: (_POP,)),
    NoGrad("theory.early_warning.bootstrap_lr", lambda x: E.bootstrap_lr(_KEY, x, n_boot=2, n_iter=2).observed,
           lambda: (_POP,)),
    NoGrad("theory.early_warning.ibm_simulate", lambda a: E.ibm_simulate(_KEY, a, n0=3, K=5.0, h=2.0),
           lambda: (np.array([0.5]),)),
    NoGrad("theory.early_warning.may_equilibria", E.may_equilibria, lambda: (2.0,)),
    NoGrad("theory.early_warning.may_folds", lambda r: E.may_folds(r=r).parameter, lambda: (1.0,)),
    NoGrad("theory.early_warning.ricker_equilibria", E.ricker_equilibria, lambda: (0.1,)),
    NoGrad("theory.early_warning.ricker_fold", lambda r: E.ricker_fold(r=r).parameter, lambda: (0.75,)),
    NoGrad("theory.early_warning.ibm_fold", lambda e: E.ibm_fold(e=e).parameter, lambda: (0.5,)),
    NoGrad("theory.early_warning.ibm_equilibria", E.ibm_equilibria, lambda: (150.0,)),
]

_XS = np.zeros((2, 10))
BAD_INPUTS += [
    BadInput("theory.early_warning.ramp_data", "n_rec 1", lambda: E.ramp_data(_KEY, 1, 2), match="n_rec"),
    BadInput("theory.early_warning.ramp_data", "sigma < 0", lambda: E.ramp_data(_KEY, 5, 2, sigma=-1.0),
             match="sigma"),
    BadInput("theory.early_warning.shift_data", "monostable c", lambda: E.shift_data(_KEY, 5, 2, c=1.0),
             match="shift_data: c"),
    BadInput("theory.early_warning.shift_data", "reps 0", lambda: E.shift_data(_KEY, 5, 0), match="reps"),
    BadInput("theory.early_warning.selection_windows", "float shifted",
             lambda: E.selection_windows(_XS, np.zeros(2), np.zeros(2, int), 3, 0, 0), match="shifted"),
    BadInput("theory.early_warning.selection_windows", "negative gap",
             lambda: E.selection_windows(_XS, np.zeros(2, bool), np.zeros(2, int), 3, -1, 0), match="gap"),
    BadInput("theory.early_warning.textbook_tau_pvalue", "tau > 1", lambda: E.textbook_tau_pvalue(1.2, 10),
             match="tau"),
    BadInput("theory.early_warning.textbook_tau_pvalue", "n = 1", lambda: E.textbook_tau_pvalue(0.1, 1), match="n"),
]

_HOST = "grad: host-side experiment driver (numpy out); differentiate the simulators it calls instead"
EXEMPT = {
    "theory.early_warning.ramp_data": _HOST,
    "theory.early_warning.shift_data": _HOST,
    "theory.early_warning.selection_windows": "grad: host-side selection of windows by integer crossing times",
    "theory.early_warning.textbook_tau_pvalue": "grad: host (numpy) p-value of a rank statistic",
    "theory.early_warning.lsn_feasible": "grad: returns a bool feasibility flag (no floating output to "
                                         "differentiate; jax.grad refuses bool outputs)",
}
