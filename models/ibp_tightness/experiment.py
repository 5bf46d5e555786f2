"""Experiments of paper 17 that the claims run (``experiments/claims/ibp_tightness.py``).

* :func:`init_study`: tightness at Gaussian initialisation of DLNs and ReLU MLPs over widths × depths × draws
  (the paper's Fig. 3 study, official ``relu_initialization.py``), on given inputs.
* :func:`depth_slopes`: the slope of log τ in the depth L per draw (least squares), its mean ± s.e. and the
  R² of the mean curve.
* :func:`training_loss`: the training objective of each method (standard, PGD, IBP with the fast-init
  regulariser, SABR) for one batch, as the train_lib task calls it.
"""
from __future__ import annotations

import numbers
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from models.common import ibp
from models.ibp_tightness.network import init_mlp
from models.ibp_tightness.propagation import tightness
from models.ibp_tightness import training as T

__all__ = ["METHODS", "init_study", "depth_slopes", "training_loss"]

METHODS = ("standard", "pgd", "ibp", "sabr")
KINDS = ("dln", "relu")
_PKG = "models.ibp_tightness"


def _pos_ints(v, name, fn):
  if not isinstance(v, (list, tuple)) or not v or any(
      isinstance(a, bool) or not isinstance(a, numbers.Integral) or a < 1 for a in v):
    raise ValueError(f"{fn}: {name}: expected a non-empty sequence of positive ints, got {v!r}")


def init_study(key: jax.Array, x: jax.Array, widths: Sequence[int], depths: Sequence[int], draws: int, eps: float,
               *, num_classes: int = 10, kinds: Sequence[str] = KINDS) -> dict[str, np.ndarray]:
  """Mean tightness over inputs and logit rows at initialisation: ``{kind: [len(widths), len(depths), draws]}``.

  Each draw is an MLP ``D → w → … → w → num_classes`` with L = depth linear layers, w ~ N(0, 1/fan_in), b = 0
  (:func:`init_mlp` ``"gaussian"``); ``"dln"`` ignores the ReLUs, ``"relu"`` uses the activation pattern at
  each input ("local"). One compile per (width, depth); draws run sequentially (``lax.map``).
  """
  fn = f"{_PKG}.init_study"
  _pos_ints(list(widths), "widths", fn)
  _pos_ints(list(depths), "depths", fn)
  _pos_ints([draws], "draws", fn)
  bad = [k for k in kinds if k not in KINDS]
  if bad or not kinds:
    raise ValueError(f"{fn}: kinds: expected a non-empty subset of {KINDS}, got {kinds!r}")
  x = jnp.asarray(x, jnp.float32)
  ibp.input_box(x, eps)                                           # validates x and eps
  d = x.shape[-1]
  out = {k: np.zeros((len(widths), len(depths), draws)) for k in kinds}
  for i, w in enumerate(widths):
    for j, depth in enumerate(depths):
      sizes = (d,) + (w,) * (depth - 1) + (num_classes,)

      @jax.jit
      def run(keys):
        def one(k):
          layers = init_mlp(k, sizes, "gaussian")
          return jnp.stack([tightness(layers, x, eps, relu_adjust=None if kind == "dln" else "local").mean()
                            for kind in kinds])
        return jax.lax.map(one, keys)
      keys = jax.random.split(jax.random.fold_in(jax.random.fold_in(key, w), depth), draws)
      vals = np.asarray(run(keys), np.float64)                    # [draws, kinds]
      for m, kind in enumerate(kinds):
        out[kind][i, j] = vals[:, m]
  return out


def depth_slopes(depths: Sequence[int], tau: np.ndarray) -> dict[str, float]:
  """Slope of log τ against L: per draw (least squares over ``depths``), ``tau: [len(depths), draws]``.

  Returns ``slope`` (mean over draws), ``se`` (its standard error), ``intercept`` and ``r2`` (of the fit to the
  per-depth mean of log τ)."""
  fn = f"{_PKG}.depth_slopes"
  _pos_ints(list(depths), "depths", fn)
  t = np.asarray(tau, np.float64)
  if t.ndim != 2 or t.shape[0] != len(depths) or len(depths) < 2:
    raise ValueError(f"{fn}: tau: expected [len(depths) >= 2, draws], got shape {t.shape}")
  if np.any(~(t > 0)):
    raise ValueError(f"{fn}: tau: expected positive values")
  L = np.asarray(depths, np.float64)
  lt = np.log(t)
  slopes = np.polyfit(L, lt, 1)[0]                                # one slope per draw
  mean_curve = lt.mean(1)
  coef = np.polyfit(L, mean_curve, 1)
  resid = mean_curve - np.polyval(coef, L)
  ss = np.sum((mean_curve - mean_curve.mean()) ** 2)
  se = float(np.std(slopes, ddof=1) / np.sqrt(len(slopes))) if slopes.size > 1 else float("nan")
  return {"slope": float(np.mean(slopes)), "se": se, "intercept": float(coef[1]),
          "r2": float(1 - np.sum(resid ** 2) / ss) if ss > 0 else 1.0}


def training_loss(method: str, layers, x, y, key, *, eps, kappa=1.0, eps_max: float = 0.05, lam: float = 0.3,
                  pgd_steps: int = 10, fast_reg: float = 0.0, data_range=(0.0, 1.0)) -> tuple[jax.Array, dict]:
  """One batch's objective for ``method`` ∈ :data:`METHODS` and its metrics.

  ``eps`` (the current ε of the ramp) and ``kappa`` may be traced. ``fast_reg`` > 0 adds
  :func:`~models.ibp_tightness.training.fast_regularizer` with λ = fast_reg (IBP and SABR only, as the official
  ``--fast-reg``), on the bounds of the box each propagates.
  """
  fn = f"{_PKG}.training_loss"
  if method not in METHODS:
    raise ValueError(f"{fn}: method: expected one of {METHODS}, got {method!r}")
  if not isinstance(fast_reg, numbers.Real) or fast_reg < 0:
    raise ValueError(f"{fn}: fast_reg: expected a float >= 0, got {fast_reg!r}")
  metrics = {}
  if method == "standard":
    loss = T.standard_loss(layers, x, y)
  elif method == "pgd":
    loss = T.pgd_loss(layers, x, y, eps, key, steps=pgd_steps, data_range=data_range)
  else:
    if method == "ibp":
      loss, bounds = T.ibp_loss(layers, x, y, eps, kappa, data_range=data_range)
      r_in = ibp.input_box(x, eps, *data_range)[1]
    else:
      loss, bounds = T.sabr_loss(layers, x, y, eps, lam, key, steps=pgd_steps, data_range=data_range)
      r_in = lam * jnp.broadcast_to(jnp.asarray(eps, jnp.float32), x.shape)
    if fast_reg > 0:
      reg = T.fast_regularizer(bounds, r_in, eps, eps_max, lam=fast_reg)
      metrics["fast_reg"] = reg
      loss = loss + reg
    metrics["robust_margin_lower"] = jnp.mean(jnp.min(bounds.center - bounds.radius, axis=-1))
  return loss, metrics
