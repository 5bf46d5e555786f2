"""Batteries for models/pgn (paper 09, PGN / TPGN): bad inputs and derivatives."""
import jax
import jax.numpy as jnp
import numpy as np

from models import pgn as G
from battery import BadInput, Grad, NoGrad  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("models.pgn",)

_R = np.random.default_rng(9)
_KEY = jax.random.PRNGKey(0)
_X = _R.normal(size=(1, 8, 1))           # [B, L, C]: 2 rows of period 4
_M = _R.uniform(-0.5, 0.5, size=(1, 8, 2))
_Z = _R.normal(size=(3, 2))              # [R, F]
_K, _B = _R.normal(size=(2, 2, 2)), _R.normal(size=2)


def _params(module, *args):
  shapes = jax.eval_shape(lambda k: module.init(k, *args), _KEY)
  r = np.random.default_rng(7)
  return jax.tree.map(lambda s: 0.5 * r.normal(size=s.shape), shapes)


_f32 = lambda a: jnp.asarray(a, jnp.float32)  # noqa: E731
_TPGN = G.TPGN(seq_len=8, pred_len=4, period=4, d_model=2, d_time=2)
_TPGN_P = _params(_TPGN, _f32(_X), _f32(_M))
_PGN = G.PGN(features=2)
_PGN_P = _params(_PGN, _f32(_Z))
_DL = G.DLinear(seq_len=8, pred_len=4, kernel=3)
_DL_P = _params(_DL, _f32(_X))
_NL = G.NLinear(seq_len=8, pred_len=4)
_NL_P = _params(_NL, _f32(_X))
_GRU = G.GRUForecaster(seq_len=8, pred_len=4, hidden=2, d_time=2)
_GRU_P = _params(_GRU, _f32(_X), _f32(_M))
_init = lambda m, *a: (lambda: m.init(_KEY, *a))  # noqa: E731
_NAN = np.where(np.arange(8)[None, :, None] == 3, np.nan, _X)

BAD_INPUTS = [
    BadInput("models.pgn.TPGN", "length not a multiple of the period",
             _init(G.TPGN(seq_len=10, pred_len=4, period=4, d_time=2), _X[:, :8], _M), match="TPGN: seq_len"),
    BadInput("models.pgn.TPGN", "pred_len not a multiple", _init(G.TPGN(seq_len=8, pred_len=5, period=4, d_time=2),
                                                                 _X, _M), match="pred_len"),
    BadInput("models.pgn.TPGN", "channel mismatch", _init(G.TPGN(seq_len=8, pred_len=4, period=4, d_time=2,
                                                                 n_channels=2), _X, _M), match="x"),
    BadInput("models.pgn.TPGN", "mark mismatch", _init(_TPGN, _X, _M[..., :1]), match="marks"),
    BadInput("models.pgn.TPGN", "NaN input", _init(_TPGN, _NAN, _M), match="x: expected finite"),
    BadInput("models.pgn.TPGN", "one row for the long branch", _init(G.TPGN(seq_len=4, pred_len=4, period=4,
                                                                            d_time=2), _X[:, :4], _M[:, :4]),
             match="seq_len"),
    BadInput("models.pgn.TPGN", "unknown branches", _init(G.TPGN(seq_len=8, pred_len=4, period=4, d_time=2,
                                                                 branches="mid"), _X, _M), match="branches"),
    BadInput("models.pgn.PGN", "one step", _init(_PGN, _Z[:1]), match="PGN: z"),
    BadInput("models.pgn.PGN", "features 0", _init(G.PGN(features=0), _Z), match="features"),
    BadInput("models.pgn.DLinear", "wrong length", _init(_DL, _X[:, :6]), match="DLinear: x"),
    BadInput("models.pgn.NLinear", "NaN input", _init(_NL, _NAN), match="x"),
    BadInput("models.pgn.GRUForecaster", "marks missing", _init(_GRU, _X), match="marks"),
    BadInput("models.pgn.GRUForecaster", "hidden 0", _init(G.GRUForecaster(seq_len=8, pred_len=4, hidden=0,
                                                                         d_time=2), _X, _M), match="hidden"),
    BadInput("models.pgn.fold", "not a multiple", lambda: G.fold(_X, 3), match="fold: x"),
    BadInput("models.pgn.fold", "period 0", lambda: G.fold(_X, 0), match="period"),
    BadInput("models.pgn.unfold", "rank 3", lambda: G.unfold(_X), match="unfold: y"),
    BadInput("models.pgn.instance_norm", "NaN", lambda: G.instance_norm(_NAN), match="instance_norm: x"),
    BadInput("models.pgn.instance_norm", "rank 2", lambda: G.instance_norm(_X[0]), match="x"),
    BadInput("models.pgn.denormalize", "std shape", lambda: G.denormalize(_X, _X[:, :1], _X), match="std"),
    BadInput("models.pgn.history_windows", "window 0", lambda: G.history_windows(_Z, 0), match="window"),
    BadInput("models.pgn.hie", "feature mismatch", lambda: G.hie(_Z[:, :1], _K, _B), match="hie: z"),
    BadInput("models.pgn.hie", "bias shape", lambda: G.hie(_Z, _K, _B[:1]), match="bias"),
    BadInput("models.pgn.gated_fusion", "gate width", lambda: G.gated_fusion(_Z, _Z), match="gate_pre"),
    BadInput("models.pgn.mse", "shape mismatch", lambda: G.mse(_X, _X[:, :4]), match="mse: pred"),
    BadInput("models.pgn.mae", "shape mismatch", lambda: G.mae(_X, _X[0]), match="mae: pred"),
    BadInput("models.pgn.moving_average", "even kernel", lambda: G.moving_average(_X, 4), match="kernel"),
    BadInput("models.pgn.make_model", "unknown name", lambda: G.make_model("lstm", seq_len=8, pred_len=4),
             match="make_model: name"),
    BadInput("models.pgn.compare_forecasts", "missing GRU",
             lambda: G.compare_forecasts({"tpgn": {1: [1.0]}, "dlinear": {1: [1.0]}}), match="test_mse"),
    BadInput("models.pgn.compare_forecasts", "NaN value",
             lambda: G.compare_forecasts({m: {1: [np.nan]} for m in G.MODELS}), match="finite"),
    BadInput("models.pgn.select_by_validation", "no candidates", lambda: G.select_by_validation({}),
             match="candidates"),
    BadInput("models.pgn.select_by_validation", "seed count", lambda: G.select_by_validation({"a": ([1.0], [1.0, 2.0])}),
             match="candidates"),
]

_j = jax.jit
R = ("rev",)

GRADIENTS = [
    # parameters only: the instance-norm statistics and NLinear's last value are stop-gradient (official .detach())
    Grad("models.pgn.TPGN", _j(lambda p: _TPGN.apply(p, _X, _M)), lambda: (_TPGN_P,), modes=R),
    Grad("models.pgn.PGN", _j(lambda p, z: _PGN.apply(p, z)), lambda: (_PGN_P, _Z), modes=R),
    Grad("models.pgn.DLinear", _j(lambda p, x: _DL.apply(p, x)), lambda: (_DL_P, _X), modes=R),
    Grad("models.pgn.NLinear", _j(lambda p: _NL.apply(p, _X)), lambda: (_NL_P,), modes=R),
    Grad("models.pgn.GRUForecaster", _j(lambda p: _GRU.apply(p, _X, _M)), lambda: (_GRU_P,), modes=R),
    Grad("models.pgn.fold", _j(lambda x: G.fold(x, 4)), lambda: (_X,), modes=R),
    Grad("models.pgn.unfold", _j(G.unfold), lambda: (_X.reshape(1, 2, 4, 1),), modes=R),
    Grad("models.pgn.denormalize", _j(G.denormalize), lambda: (_X, _X[:, :1], 1.5 + _X[:, :1] ** 2), modes=R),
    Grad("models.pgn.history_windows", _j(lambda z: G.history_windows(z, 2)), lambda: (_Z,), modes=R),
    Grad("models.pgn.hie", _j(G.hie), lambda: (_Z, _K, _B), modes=R),
    Grad("models.pgn.gated_fusion", _j(G.gated_fusion), lambda: (_R.normal(size=(3, 4)), _Z), modes=R),
    Grad("models.pgn.mse", _j(G.mse), lambda: (_X, _X + 0.3), modes=R),
    Grad("models.pgn.mae", _j(G.mae), lambda: (_X, _X + 0.3), modes=R),
    Grad("models.pgn.moving_average", _j(lambda x: G.moving_average(x, 3)), lambda: (_X,), modes=R),
]

EXEMPT = {
    "models.pgn.instance_norm": "grad: the mean and std are stop-gradient by design (official .detach()), so its "
                                "derivative is that of (x - c) / s at fixed c, s, not the finite difference",
    "models.pgn.BRANCHES": "constant: the TPGN branch options",
    "models.pgn.MODELS": "constant: the model names of make_model",
    "models.pgn.make_model": "grad: a factory returning an unbound Flax module (the modules have Grad cases)",
    "models.pgn.compare_forecasts": "grad: a numpy summary (means, SE, margins) of per-seed test errors",
    "models.pgn.select_by_validation": "grad: an argmin over validation errors (a discrete choice)",
}
