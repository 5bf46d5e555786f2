"""Batteries for theory/common/stats.py (ROC/AUC, mean and s.e., bootstrap, log-log slope, sample distances).

Host statistics (mean_se, roc_auc, bootstrap_interval, loglog_slope) refuse traced inputs, so differentiating them
raises; roc_curve is piecewise constant in the scores (no_grad); the distances are differentiable in the samples.
"""
import jax
import jax.numpy as jnp
import numpy as np

from theory.common import stats as S
from battery import BadInput, Grad, NoGrad, jit_functional  # noqa: F401

PACKAGES = ("theory.common.stats",)

X = np.array([[0.1, 0.3], [0.7, -0.2], [-0.5, 0.4]])
Y = np.array([[0.2, -0.6], [1.1, 0.5], [-0.3, -0.15]])   # no ties in any of the 4 projections
NS = np.array([10.0, 20.0, 40.0])
ERR = np.array([[0.3, 0.34], [0.21, 0.2], [0.16, 0.14]])
KEY = jax.random.key(0)
R = ("rev",)

BAD_INPUTS = [
    BadInput("theory.common.stats.mean_se", "empty", lambda: S.mean_se([]), match="values"),
    BadInput("theory.common.stats.roc_auc", "length mismatch", lambda: S.roc_auc(np.ones(3), np.ones(2)),
             match="scores, labels"),
    BadInput("theory.common.stats.roc_auc", "labels not 0/1", lambda: S.roc_auc(np.ones(2), np.array([0, 2])),
             match="labels"),
    BadInput("theory.common.stats.roc_auc", "NaN score", lambda: S.roc_auc(np.array([0.0, np.nan]),
             np.array([0, 1])), match="scores"),
    BadInput("theory.common.stats.roc_curve", "2-D", lambda: S.roc_curve(np.zeros((2, 3)), np.zeros(3)),
             match="null, test"),
    BadInput("theory.common.stats.roc_curve", "NaN", lambda: S.roc_curve(np.zeros(3), np.array([0.0, np.nan])),
             match="test"),
    BadInput("theory.common.stats.bootstrap_interval", "one replication", lambda: S.bootstrap_interval(
        np.ones(1)), match="data"),
    BadInput("theory.common.stats.bootstrap_interval", "level", lambda: S.bootstrap_interval(
        np.ones(3), level=1.0), match="level"),
    BadInput("theory.common.stats.bootstrap_interval", "statistic", lambda: S.bootstrap_interval(
        np.ones(3), statistic=3), match="statistic", error=TypeError),
    BadInput("theory.common.stats.loglog_slope", "x <= 0", lambda: S.loglog_slope(np.array([0.0, 1.0, 2.0]), ERR),
             match="x"),
    BadInput("theory.common.stats.loglog_slope", "errors shape", lambda: S.loglog_slope(NS, ERR[:2]),
             match="errors"),
    BadInput("theory.common.stats.loglog_slope", "negative errors", lambda: S.loglog_slope(NS, -ERR),
             match="errors"),
    BadInput("theory.common.stats.loglog_slope", "n_boot 0", lambda: S.loglog_slope(NS, ERR, n_boot=0),
             match="n_boot"),
    BadInput("theory.common.stats.frechet_distance", "feature mismatch", lambda: S.frechet_distance(
        X, np.ones((3, 3))), match="fa, fb"),
    BadInput("theory.common.stats.frechet_distance", "int", lambda: S.frechet_distance(
        np.ones((3, 2), int), X), match="fa", error=TypeError),
    BadInput("theory.common.stats.frechet_distance", "NaN", lambda: S.frechet_distance(
        X, np.where(Y > 1, np.nan, Y)), match="fb"),
    BadInput("theory.common.stats.projection_directions", "num 0", lambda: S.projection_directions(0, 2),
             match="num"),
    BadInput("theory.common.stats.projection_directions", "dim 0", lambda: S.projection_directions(3, 0, KEY),
             match="dim"),
    BadInput("theory.common.stats.projection_directions", "int dtype", lambda: S.projection_directions(
        3, 2, dtype=jnp.int32), match="dtype", error=TypeError),
    BadInput("theory.common.stats.projection_directions", "bad key", lambda: S.projection_directions(
        3, 3, np.ones(3)), match="key", error=TypeError),
    BadInput("theory.common.stats.sliced_wasserstein", "shape mismatch", lambda: S.sliced_wasserstein(
        X, np.ones((2, 2))), match="x, y"),
    BadInput("theory.common.stats.sliced_wasserstein", "num_projections 0", lambda: S.sliced_wasserstein(
        X, Y, num_projections=0), match="num_projections"),
    BadInput("theory.common.stats.sliced_wasserstein", "3-D without key", lambda: S.sliced_wasserstein(
        np.ones((2, 3)), np.ones((2, 3))), match="dim"),
    BadInput("theory.common.stats.mmd", "bandwidth 0", lambda: S.mmd(X, Y, bandwidth=0.0), match="bandwidth"),
    BadInput("theory.common.stats.mmd", "one sample", lambda: S.mmd(X[:1], Y), match="N, M >= 2"),
    BadInput("theory.common.stats.mmd", "dim mismatch", lambda: S.mmd(X, np.ones((2, 3))), match="x, y"),
]

_j = jit_functional

GRADIENTS = [
    NoGrad("theory.common.stats.mean_se", lambda v: S.mean_se(v)[0], lambda: (ERR[0],), match="not differentiable"),
    NoGrad("theory.common.stats.roc_auc", lambda v: S.roc_auc(v, np.array([0, 1])), lambda: (ERR[0],),
           match="not differentiable"),
    NoGrad("theory.common.stats.roc_curve", lambda v: S.roc_curve(v[:2], v[2:]).auc, lambda: (ERR.ravel(),),
           match="not differentiable"),
    NoGrad("theory.common.stats.bootstrap_interval", lambda v: S.bootstrap_interval(v)[0], lambda: (ERR[:, 0],),
           match="not differentiable"),
    NoGrad("theory.common.stats.loglog_slope", lambda e: S.loglog_slope(NS, e)[0], lambda: (ERR,),
           match="loglog_slope.*not differentiable"),
    Grad("theory.common.stats.frechet_distance", _j(lambda a, b: S.frechet_distance(a, b)), lambda: (X, Y),
         case="in both feature sets", modes=R),
    Grad("theory.common.stats.mmd", _j(lambda x, y, h: S.mmd(x, y, bandwidth=h)), lambda: (X, Y, np.asarray(0.8)),
         case="in x, y, bandwidth", modes=R),
    Grad("theory.common.stats.sliced_wasserstein", _j(lambda x, y: S.sliced_wasserstein(x, y, num_projections=4)),
         lambda: (X, Y), case="in x, y (no ties)", modes=R),
]

EXEMPT = {
    "theory.common.stats.projection_directions": "grad: integer inputs (num, dim) and a PRNG key only",
}
