"""Batteries for models/fim_mjp (paper 27): bad inputs and derivatives."""
import jax
import jax.numpy as jnp
import numpy as np

from models import fim_mjp as M
from battery import BadInput, Grad, NoGrad  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("models.fim_mjp",)

_F = np.array([[-0.9, 0.6, 0.3], [0.4, -0.5, 0.1], [0.2, 0.8, -1.0]])
_ROWS = _F + np.array([[0.2, 0, 0], [0, 0, 0], [0, 0, 0]])       # row 0 sums to 0.2
_NEG = np.array([[0.1, -0.1], [0.5, -0.5]])                        # negative off-diagonal rate
_P0 = np.array([0.5, 0.3, 0.2])
_KEY = jax.random.PRNGKey(27)
_T = np.array([[0.0, 0.5, 1.0, 2.0], [0.0, 1.0, 1.5, 2.5]])
_UNSORTED = np.array([[0.0, 1.0, 0.5, 2.0], [0.0, 1.0, 1.5, 2.5]])
_S = np.array([[0, 1, 1, 2], [2, 2, 0, 1]])
_S_BIG = np.array([[0, 1, 3, 2], [2, 2, 0, 1]])                    # label 3 >= C = 3
_MODEL = M.FIMMJP(c_max=3, hidden=4, n_queries=1, k_dim=4, v_dim=4, decoder_hidden=(4,))
_B_S, _B_T = _S[None], _T[None].astype(np.float32)
_B_OM, _B_PM = np.ones((1, 2, 4), bool), np.ones((1, 2), bool)
_PARAMS = jax.tree.map(lambda s: 0.3 * np.random.default_rng(1).normal(size=s.shape).astype(np.float32),
                       jax.eval_shape(lambda k: _MODEL.init(k, _B_S, _B_T, _B_OM, _B_PM), _KEY))
_OUT = {k: np.asarray(v) for k, v in _MODEL.apply(_PARAMS, _B_S, _B_T, _B_OM, _B_PM).items()}
_TGT = dict(F=_F[None].astype(np.float32), adjacency=(_F[None] > 0).astype(np.float32), pi0=_P0[None],
            n_states=np.array([3]))
_PATH = [(np.array([0.0, 1.0]), np.array([0, 1]))]

BAD_INPUTS = [
    BadInput("models.fim_mjp.generator", "not square", lambda: M.generator(np.zeros((2, 3))), match="rates"),
    BadInput("models.fim_mjp.generator", "negative rate", lambda: M.generator(-np.ones((2, 2))), match="rates"),
    BadInput("models.fim_mjp.check_generator", "rows not summing to 0", lambda: M.check_generator(_ROWS, "f"),
             match="F: expected rows summing to 0"),
    BadInput("models.fim_mjp.check_generator", "negative off-diagonal", lambda: M.check_generator(_NEG, "f"),
             match="non-negative off-diagonal"),
    BadInput("models.fim_mjp.expm_batch", "vector", lambda: M.expm_batch(np.ones(3)), match="expm_batch: A"),
    BadInput("models.fim_mjp.expm_batch", "integer", lambda: M.expm_batch(np.ones((2, 2), int)), match="A"),
    BadInput("models.fim_mjp.transition_matrices", "rows", lambda: M.transition_matrices(_ROWS, 1.0),
             match="transition_matrices: F"),
    BadInput("models.fim_mjp.transition_matrices", "negative dt", lambda: M.transition_matrices(_F, -1.0),
             match="dt"),
    BadInput("models.fim_mjp.stationary_distribution", "negative rate",
             lambda: M.stationary_distribution(_NEG), match="stationary_distribution: F"),
    BadInput("models.fim_mjp.relaxation_times", "not square", lambda: M.relaxation_times(np.zeros((2, 3))),
             match="relaxation_times: F"),
    BadInput("models.fim_mjp.mean_first_passage_times", "rows", lambda: M.mean_first_passage_times(_ROWS),
             match="F"),
    BadInput("models.fim_mjp.sample_grid_paths", "unsorted times",
             lambda: M.sample_grid_paths(_KEY, _F, _P0, _UNSORTED), match="times: expected times sorted"),
    BadInput("models.fim_mjp.sample_grid_paths", "p0 not a distribution",
             lambda: M.sample_grid_paths(_KEY, _F, np.ones(3), _T), match="p0"),
    BadInput("models.fim_mjp.sample_grid_paths", "key", lambda: M.sample_grid_paths(3, _F, _P0, _T), match="key",
             error=TypeError),
    BadInput("models.fim_mjp.flip_labels", "state >= C", lambda: M.flip_labels(_KEY, _S_BIG, 3, 0.1),
             match="states"),
    BadInput("models.fim_mjp.flip_labels", "p > 1", lambda: M.flip_labels(_KEY, _S, 3, 1.5), match="p"),
    BadInput("models.fim_mjp.gillespie", "horizon", lambda: M.gillespie(np.random.default_rng(0), _F, _P0, -1.0),
             match="horizon"),
    BadInput("models.fim_mjp.gillespie", "rng", lambda: M.gillespie(0, _F, _P0, 1.0), match="rng", error=TypeError),
    BadInput("models.fim_mjp.states_at", "grid before start", lambda: M.states_at([0.0, 1.0], [0, 1], [-1.0]),
             match="grid"),
    BadInput("models.fim_mjp.full_path_mle", "state >= C", lambda: M.full_path_mle(_PATH, 1, 2.0),
             match="paths"),
    BadInput("models.fim_mjp.full_path_mle", "n_states", lambda: M.full_path_mle(_PATH, 0, 2.0), match="n_states"),
    BadInput("models.fim_mjp.sample_prior_batch", "C > c_max",
             lambda: M.sample_prior_batch(_KEY, 2, M.PriorConfig(c_max=3, c_choices=(2, 4))), match="c_choices"),
    BadInput("models.fim_mjp.sample_prior_batch", "batch", lambda: M.sample_prior_batch(_KEY, 0), match="batch"),
    BadInput("models.fim_mjp.FIMMJP", "state >= c_max", lambda: _MODEL.apply(_PARAMS, _S_BIG[None], _B_T, _B_OM, _B_PM),
             match="states"),
    BadInput("models.fim_mjp.FIMMJP", "unsorted times",
             lambda: _MODEL.apply(_PARAMS, _B_S, _UNSORTED[None], _B_OM, _B_PM), match="times"),
    BadInput("models.fim_mjp.fim_loss", "n_states > C",
             lambda: M.fim_loss(_OUT, **{**_TGT, "n_states": np.array([4])}), match="n_states"),
    BadInput("models.fim_mjp.fim_loss", "F shape", lambda: M.fim_loss(_OUT, **{**_TGT, "F": np.zeros((1, 2, 2))}),
             match="F"),
    BadInput("models.fim_mjp.predicted_generator", "n_states shape",
             lambda: M.predicted_generator(_OUT, np.array([3, 3])), match="n_states"),
    BadInput("models.fim_mjp.offdiag_index", "c < 2", lambda: M.offdiag_index(1), match="c"),
    BadInput("models.fim_mjp.naive_grid_rates", "state >= C", lambda: M.naive_grid_rates(_S_BIG, _T, None, 3),
             match="states"),
    BadInput("models.fim_mjp.grid_mle", "unsorted times", lambda: M.grid_mle(_S, _UNSORTED, None, 3),
             match="times"),
    BadInput("models.fim_mjp.hmm_mle", "noise >= 1", lambda: M.hmm_mle(_S, _T, None, 3, 1.0), match="noise"),
    BadInput("models.fim_mjp.hmm_mle", "state >= C", lambda: M.hmm_mle(_S_BIG, _T, None, 3, 0.1), match="states"),
]

GRADIENTS = [
    Grad("models.fim_mjp.generator", lambda r: M.generator(r), lambda: (np.abs(_F),)),
    Grad("models.fim_mjp.expm_batch", lambda a: M.expm_batch(a), lambda: (_F * 0.7,)),
    Grad("models.fim_mjp.transition_matrices", lambda dt: M.transition_matrices(jnp.asarray(_F), dt),
         lambda: (np.array([0.3, 1.1]),)),
    Grad("models.fim_mjp.stationary_distribution", lambda F: M.stationary_distribution(F), lambda: (_F,)),
    Grad("models.fim_mjp.fim_loss",
         lambda m: M.fim_loss(dict(_OUT, mean=m), **_TGT)[0], lambda: (_OUT["mean"] + 0.1,)),
    Grad("models.fim_mjp.predicted_generator", lambda m: M.predicted_generator(dict(_OUT, mean=m), np.array([3]))[0],
         lambda: (_OUT["mean"],)),
    NoGrad("models.fim_mjp.sample_grid_paths", lambda F: M.sample_grid_paths(_KEY, F, _P0, _T), lambda: (_F,),
           match="integer|not differentiable|float0|real-valued"),
    NoGrad("models.fim_mjp.flip_labels", lambda p: M.flip_labels(_KEY, _S, 3, p), lambda: (np.float64(0.1),),
           match="integer|not differentiable|float0|real-valued"),
]

EXEMPT = {
    "models.fim_mjp.PriorConfig": "a NamedTuple of hyperparameters",
    "models.fim_mjp.MJPBatch": "a NamedTuple result container",
    "models.fim_mjp.ENCODERS": "a constant",
    "models.fim_mjp.LOG_RATE_BOUNDS": "a constant",
    "models.fim_mjp.check_generator": "grad: a validator, returns None",
    "models.fim_mjp.relaxation_times": "grad: float64 numpy analysis (eigenvalues), not traced",
    "models.fim_mjp.mean_first_passage_times": "grad: float64 numpy analysis, not traced",
    "models.fim_mjp.gillespie": "grad: numpy sampler of integer paths",
    "models.fim_mjp.states_at": "grad: integer lookup",
    "models.fim_mjp.full_path_mle": "grad: numpy estimator from integer paths",
    "models.fim_mjp.sample_prior_batch": "grad: sampler from a key only (no float input)",
    "models.fim_mjp.FIMMJP": "grad: a Flax module, differentiated by the conformance battery",
    "models.fim_mjp.offdiag_index": "grad: integer indices",
    "models.fim_mjp.naive_grid_rates": "grad: numpy estimator of integer observations",
    "models.fim_mjp.grid_mle": "grad: numpy/scipy optimiser over integer observations",
    "models.fim_mjp.hmm_mle": "grad: numpy/scipy optimiser over integer observations",
}
