"""Batteries for models/hopfield (paper 15): bad inputs and derivatives."""
import jax
import jax.numpy as jnp
import numpy as np

from models import hopfield as H
from battery import BadInput, Grad, NoGrad  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("models.hopfield",)

_R = np.random.default_rng(15)
_X = _R.normal(size=(4, 3))             # stored [N, D]
_Q = _R.normal(size=(2, 3))             # state [Q, D]
_MASK = np.array([True, False, True, True])
_PM = np.where(_R.random((3, 6)) < 0.5, -1.0, 1.0)   # ±1 patterns [N, d]
_KEY = jax.random.PRNGKey(0)
_B = 0.7
_W = (_PM.T @ _PM / 6) * (1 - np.eye(6))   # Hebbian weights of _PM (numpy)


def _params(module, *args, **kw):
  """Variables with the module's shapes, N(0, 0.5²) values from numpy (no compiled init)."""
  shapes = jax.eval_shape(lambda k: module.init(k, *args, **kw), _KEY)
  r = np.random.default_rng(7)
  return jax.tree.map(lambda s: 0.5 * r.normal(size=s.shape), shapes)


_HOP = H.Hopfield(num_heads=1, hidden_size=4)   # default layer: LayerNorms, projections
_STORED, _STATE = _R.normal(size=(1, 3, 3)), _R.normal(size=(1, 2, 3))
_HOP_P = _params(_HOP, _STORED.astype(np.float32), _STATE.astype(np.float32))
_NO_NORM = dict(normalize_stored_pattern=False, normalize_state_pattern=False, normalize_pattern_projection=False)
_POOL = H.HopfieldPooling(quantity=1, hidden_size=4, **_NO_NORM)
_POOL_P = _params(_POOL, _STORED.astype(np.float32))
_LAYER = H.HopfieldLayer(quantity=3, hidden_size=4, **_NO_NORM)
_LAYER_P = _params(_LAYER, _STATE.astype(np.float32))
_MIL = H.MILClassifier(pooling="hopfield", hidden=4, num_encoder_layers=1, hopfield_normalize=False)
_BAGS, _BMASK = _R.normal(size=(2, 3, 2)), np.array([[True, True, False], [True, True, True]])
_MIL_P = _params(_MIL, _BAGS.astype(np.float32), _BMASK)


def _init(module, *args, **kw):
  return lambda: module.init(_KEY, *args, **kw)


_z = lambda *s: jnp.zeros(s)  # noqa: E731

BAD_INPUTS = [
    # functional: β, empty stored set, dims, masks
    BadInput("models.hopfield.energy", "beta = 0", lambda: H.energy(_Q, _X, 0.0), match="energy: beta"),
    BadInput("models.hopfield.energy", "beta < 0", lambda: H.energy(_Q, _X, -1.0), match="beta"),
    BadInput("models.hopfield.energy", "N = 0", lambda: H.energy(_Q, _z(0, 3), 1.0), match="stored"),
    BadInput("models.hopfield.energy", "feature mismatch", lambda: H.energy(_Q, _z(4, 2), 1.0), match="stored"),
    BadInput("models.hopfield.hopfield_update", "beta inf", lambda: H.hopfield_update(_Q, _X, np.inf),
             match="hopfield_update: beta"),
    BadInput("models.hopfield.hopfield_update", "beta NaN", lambda: H.hopfield_update(_Q, _X, np.nan),
             match="beta"),
    BadInput("models.hopfield.hopfield_update", "N = 0", lambda: H.hopfield_update(_Q, _z(0, 3), 1.0),
             match="stored"),
    BadInput("models.hopfield.hopfield_update", "mask shape",
             lambda: H.hopfield_update(_Q, _X, 1.0, np.ones(3, bool)), match="mask"),
    BadInput("models.hopfield.hopfield_update", "mask dtype",
             lambda: H.hopfield_update(_Q, _X, 1.0, np.ones(4)), match="mask", error=TypeError),
    BadInput("models.hopfield.hopfield_update", "rank 1 state", lambda: H.hopfield_update(_Q[0], _X, 1.0),
             match="state"),
    BadInput("models.hopfield.association", "beta < 0", lambda: H.association(_Q, _X, -0.5), match="beta"),
    BadInput("models.hopfield.association", "batch mismatch",
             lambda: H.association(_z(2, 2, 3), _z(3, 4, 3), 1.0), match="stored"),
    BadInput("models.hopfield.association", "beta vector", lambda: H.association(_Q, _X, np.ones(2)),
             match="beta"),
    BadInput("models.hopfield.iterate", "max_steps < 0", lambda: H.iterate(_Q, _X, 1.0, max_steps=-1),
             match="max_steps"),
    BadInput("models.hopfield.iterate", "beta inf", lambda: H.iterate(_Q, _X, np.inf, max_steps=2),
             match="beta"),
    BadInput("models.hopfield.iterate_scan", "eps NaN", lambda: H.iterate_scan(_Q, _X, 1.0, max_steps=2,
                                                                               eps=float("nan")), match="eps"),
    BadInput("models.hopfield.iterate_scan", "N = 0", lambda: H.iterate_scan(_Q, _z(0, 3), 1.0, max_steps=2),
             match="stored"),
    BadInput("models.hopfield.energy_trajectory", "beta = 0",
             lambda: H.energy_trajectory(_Q, _X, 0.0, num_steps=2), match="beta"),
    BadInput("models.hopfield.energy_trajectory", "num_steps < 0",
             lambda: H.energy_trajectory(_Q, _X, 1.0, num_steps=-1), match="max_steps|num_steps"),
    # modules
    BadInput("models.hopfield.Hopfield", "scaling < 0", _init(H.Hopfield(scaling=-1.0), _STORED, _STATE),
             match="scaling"),
    BadInput("models.hopfield.Hopfield", "scaling inf", _init(H.Hopfield(scaling=float("inf")), _STORED, _STATE),
             match="scaling"),
    BadInput("models.hopfield.Hopfield", "N = 0", _init(H.Hopfield(), _z(1, 0, 3), _STATE), match="stored_pattern"),
    BadInput("models.hopfield.Hopfield", "batch mismatch", _init(H.Hopfield(), _STORED, _z(2, 2, 3)),
             match="state_pattern"),
    BadInput("models.hopfield.Hopfield", "mask shape",
             _init(H.Hopfield(), _STORED, _STATE, key_padding_mask=np.ones((1, 2), bool)), match="key_padding_mask"),
    BadInput("models.hopfield.Hopfield", "heads do not divide", _init(H.Hopfield(num_heads=2), _STORED, _STATE),
             match="num_heads"),
    BadInput("models.hopfield.HopfieldPooling", "rank 2", _init(H.HopfieldPooling(), _z(3, 3)), match="inputs"),
    BadInput("models.hopfield.HopfieldPooling", "N = 0", _init(H.HopfieldPooling(), _z(1, 0, 3)), match="inputs"),
    BadInput("models.hopfield.HopfieldPooling", "quantity 0", _init(H.HopfieldPooling(quantity=0), _STORED),
             match="quantity"),
    BadInput("models.hopfield.HopfieldLayer", "rank 2", _init(H.HopfieldLayer(), _z(3, 3)), match="inputs"),
    BadInput("models.hopfield.HopfieldLayer", "init_std < 0", _init(H.HopfieldLayer(init_std=-1.0), _STATE),
             match="init_std"),
    BadInput("models.hopfield.MILClassifier", "mask shape",
             _init(H.MILClassifier(pooling="mean"), _BAGS, np.ones((2, 2), bool)), match="mask"),
    BadInput("models.hopfield.MILClassifier", "unknown pooling", _init(H.MILClassifier(pooling="sum"), _BAGS, _BMASK),
             match="pooling"),
    BadInput("models.hopfield.MILClassifier", "scaling 0", _init(H.MILClassifier(scaling=0.0), _BAGS, _BMASK),
             match="scaling"),
    BadInput("models.hopfield.MILClassifier", "N = 0", _init(H.MILClassifier(), _z(2, 0, 2), np.ones((2, 0), bool)),
             match="bags"),
    # classical
    BadInput("models.hopfield.hebbian_weights", "rank 1", lambda: H.hebbian_weights(_PM[0]), match="patterns"),
    BadInput("models.hopfield.hebbian_weights", "d = 0", lambda: H.hebbian_weights(np.zeros((2, 0))),
             match="patterns"),
    BadInput("models.hopfield.hebbian_weights", "int dtype", lambda: H.hebbian_weights(_PM, jnp.int32),
             match="dtype", error=TypeError),
    BadInput("models.hopfield.classical_energy", "not square", lambda: H.classical_energy(_z(3, 4), _z(4)),
             match="weights"),
    BadInput("models.hopfield.classical_energy", "state dim", lambda: H.classical_energy(_z(4, 4), _z(3)),
             match="state"),
    BadInput("models.hopfield.overlaps", "state dim", lambda: H.overlaps(_z(5), _PM), match="state"),
    BadInput("models.hopfield.overlaps", "d = 0", lambda: H.overlaps(_z(0), np.zeros((2, 0))), match="patterns"),
    BadInput("models.hopfield.async_sweep", "batched state", lambda: H.async_sweep(_z(6, 6), _z(2, 6), _KEY),
             match="state"),
    BadInput("models.hopfield.async_sweep", "tie_rtol < 0",
             lambda: H.async_sweep(_z(6, 6), _z(6), _KEY, tie_rtol=-1.0), match="tie_rtol"),
    BadInput("models.hopfield.recall", "max_sweeps < 0", lambda: H.recall(_z(6, 6), _z(6), _KEY, max_sweeps=-1),
             match="max_sweeps"),
    BadInput("models.hopfield.recall", "weights not square", lambda: H.recall(_z(3, 4), _z(3), _KEY),
             match="weights"),
]

_j = jax.jit
R = ("rev",)   # reverse mode (what training uses): one vjp compile per case

GRADIENTS = [
    Grad("models.hopfield.association", _j(lambda q, x, b: H.association(q, x, b, _MASK)), lambda: (_Q, _X, _B),
         modes=R),
    Grad("models.hopfield.hopfield_update", _j(lambda q, x, b: H.hopfield_update(q, x, b, _MASK)),
         lambda: (_Q, _X, _B), modes=R),
    Grad("models.hopfield.energy", _j(lambda q, x, b: H.energy(q, x, b, _MASK)), lambda: (_Q, _X, _B), modes=R),
    # iterate: an early-exit while_loop with a custom_jvp (the scan's derivative; forward mode is tested in
    # tests/models/test_hopfield.py)
    Grad("models.hopfield.iterate", _j(lambda q, x, b: H.iterate(q, x, b, max_steps=2, eps=0.0)[0]),
         lambda: (_Q, _X, _B), modes=R),
    Grad("models.hopfield.iterate_scan", _j(lambda q, x, b: H.iterate_scan(q, x, b, max_steps=2, eps=0.0)[0]),
         lambda: (_Q, _X, _B), modes=R),
    Grad("models.hopfield.energy_trajectory", _j(lambda q, x, b: H.energy_trajectory(q, x, b, num_steps=1)[1]),
         lambda: (_Q, _X, _B), modes=R),
    Grad("models.hopfield.Hopfield", _j(lambda p, s, q: _HOP.apply(p, s, q)), lambda: (_HOP_P, _STORED, _STATE),
         modes=R),
    Grad("models.hopfield.HopfieldPooling", _j(lambda p, s: _POOL.apply(p, s)), lambda: (_POOL_P, _STORED),
         modes=R),
    Grad("models.hopfield.HopfieldLayer", _j(lambda p, q: _LAYER.apply(p, q)), lambda: (_LAYER_P, _STATE),
         modes=R),
    Grad("models.hopfield.MILClassifier", _j(lambda p, b: _MIL.apply(p, b, _BMASK)), lambda: (_MIL_P, _BAGS),
         modes=R),
    Grad("models.hopfield.hebbian_weights", _j(lambda x: H.hebbian_weights(x, x.dtype)), lambda: (_PM,), modes=R),
    Grad("models.hopfield.classical_energy", _j(H.classical_energy),
         lambda: (_W, _R.normal(size=6)), modes=R),
    Grad("models.hopfield.overlaps", _j(H.overlaps), lambda: (_R.normal(size=(2, 6)), _PM), modes=R),
    NoGrad("models.hopfield.async_sweep", lambda s: H.async_sweep(_W, s, _KEY)[0], lambda: (_PM[0],)),
    NoGrad("models.hopfield.recall", lambda w: H.recall(w, _PM[0], _KEY, max_sweeps=2)[0], lambda: (_W,)),
]

BAD_INPUTS += [
    BadInput("models.hopfield.random_patterns", "n = 0", lambda: H.random_patterns(_KEY, 0, 4), match="n"),
    BadInput("models.hopfield.corrupt", "rank 1 patterns", lambda: H.corrupt(_KEY, _PM[0], 2, 0.1),
             match="corrupt: patterns"),
    BadInput("models.hopfield.corrupt", "flip > 1", lambda: H.corrupt(_KEY, _PM, 2, 1.5), match="flip"),
    BadInput("models.hopfield.modern_retrieval", "n_queries 0",
             lambda: H.modern_retrieval(_KEY, 1.0, n=3, d=6, n_queries=0, flip=0.1), match="n_queries"),
    BadInput("models.hopfield.modern_retrieval", "beta 0",
             lambda: H.modern_retrieval(_KEY, 0.0, n=3, d=6, n_queries=2, flip=0.1), match="beta"),
    BadInput("models.hopfield.classical_retrieval", "success_overlap 0",
             lambda: H.classical_retrieval(_KEY, n=3, d=6, n_queries=2, flip=0.1, success_overlap=0.0),
             match="success_overlap"),
    BadInput("models.hopfield.classical_retrieval", "max_sweeps < 0",
             lambda: H.classical_retrieval(_KEY, n=3, d=6, n_queries=2, flip=0.1, max_sweeps=-1), match="max_sweeps"),
]

_DISCRETE = "grad: a fraction of retrieved queries from random ±1 patterns (a count: piecewise constant)"
EXEMPT = {
    "models.hopfield.random_patterns": "grad: samples ±1 patterns from a key; no floating input",
    "models.hopfield.corrupt": "grad: flips a random subset of ±1 bits (a discrete choice)",
    "models.hopfield.modern_retrieval": _DISCRETE,
    "models.hopfield.classical_retrieval": _DISCRETE,
    "models.hopfield.HopfieldSizes": "frozen dataclass of resolved sizes returned by Hopfield.resolve_sizes "
                                     "(a result container, no computation)",
}
