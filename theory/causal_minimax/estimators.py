"""Stable predictors fitted on do* samples (vmapped over subsets by input masks) and the worst-case risk h*(S)
by ascent over intervention functions J on the mutable mechanisms.

Predictor (the reference ``NonLinearF``): inputs = all covariates X_S then X_M (``graph.covariates``), z-scored
with the fitting data's statistics and multiplied by a 0/1 mask (the subset S, X_M always on for a stable
predictor), one sigmoid hidden layer (12 units), full-batch Adam (lr 0.02), MSE. The reference initialises every
weight to 1, which makes all hidden units identical forever; here weights are N(0, 1/fan_in) (a deviation).

Worst case (the reference ``_hstar``): every mutable X_m is replaced by J_m(Pa(X_m)), a sigmoid MLP
(``max(2, |Pa|)`` hidden units, parents and output in z-units of the data), the non-mutable descendants of X_M
are regenerated with their abducted noises, and Adam (lr 0.02) maximises MSE(f_S) - penalty * sum_l ||W_l||_2
(weights only; penalty 0.01 in the reference). Early stopping as the reference: the MSE (here divided by Var Y)
is logged every ``log_every`` steps; a log that moves less than ``min_delta`` from the last accepted value
counts towards ``patience``. The estimate is the largest MSE seen, maximised over ``restarts`` (restart 0 starts
from the reference's all-ones initialisation, the others from N(0, 1)). ``family="linear"``: J_m(pa) = a . pa
with a = bound * tanh(theta) (raw units, no penalty), for the grid-search oracle.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from kernels.common.checks import check_key
from theory.causal_minimax.scm import SCM, _check_data, _check_scm, intervene, residuals

__all__ = ["Predictors", "WorstCase", "subset_masks", "fit_predictors", "predict", "worst_case_risk",
           "risk"]


class Predictors(NamedTuple):
  """P fitted predictors: ``params`` (W1 [P, d, H], b1 [P, H], w2 [P, H], b2 [P]), input stats ``mu``/``sd``
  [P, d], output stats ``mu_y``/``sd_y`` [P], ``masks`` [P, d], final training MSE ``train_mse`` [P]."""
  params: dict
  mu: jax.Array
  sd: jax.Array
  mu_y: jax.Array
  sd_y: jax.Array
  masks: jax.Array
  train_mse: jax.Array


class WorstCase(NamedTuple):
  """``h_star [P]`` (max over restarts), ``per_restart [P, R]``, ``start_mse [P]`` (the data's own MSE) and
  ``steps [P, R]`` (steps run before early stopping)."""
  h_star: jax.Array
  per_restart: jax.Array
  start_mse: jax.Array
  steps: jax.Array


def subset_masks(scm: SCM, subsets, include_mutable: bool = True) -> np.ndarray:
  """0/1 masks [len(subsets), |covariates|] over ``scm.graph.covariates`` for subsets of X_S (X_M on)."""
  fn = "subset_masks"
  scm = _check_scm(scm, fn)
  cov = scm.graph.covariates
  out = np.zeros((len(subsets), len(cov)), np.float32)
  for i, s in enumerate(subsets):
    if isinstance(s, str):
      raise TypeError(f"{fn}: subsets[{i}]: expected a sequence of node names, got the string {s!r}")
    for v in s:
      if v not in scm.graph.stable:
        raise ValueError(f"{fn}: subsets[{i}]: unknown or non-stable node {v!r}; stable nodes: "
                         f"{scm.graph.stable}")
      out[i, cov.index(v)] = 1.0
    if include_mutable:
      for m in scm.graph.mutable:
        out[i, cov.index(m)] = 1.0
  return out


def _apply(params, mu, sd, mu_y, sd_y, mask, x):
  z = (x - mu) / sd * mask
  h = jax.nn.sigmoid(z @ params["W1"] + params["b1"])
  return mu_y + sd_y * (h @ params["w2"] + params["b2"])


def _check_pos_int(v, name, fn, lo=1):
  if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
    raise ValueError(f"{fn}: {name}: expected an int >= {lo}, got {v!r}")
  return int(v)


def _check_pos_float(v, name, fn, allow_zero=False):
  ok = isinstance(v, (int, float, np.number)) and not isinstance(v, bool) and np.isfinite(v) and \
      (v >= 0 if allow_zero else v > 0)
  if not ok:
    raise ValueError(f"{fn}: {name}: expected a finite number {'>= 0' if allow_zero else '> 0'}, got {v!r}")
  return float(v)


def fit_predictors(key: jax.Array, x, y, masks, *, hidden: int = 12, steps: int = 10000,
                   lr: float = 0.02) -> Predictors:
  """Fits one MLP per mask, vmapped: ``x: [N, d]`` shared or ``[P, N, d]`` per model, ``y: [N]`` or ``[P, N]``,
  ``masks: [P, d]``. Full-batch Adam on the MSE; returns :class:`Predictors`."""
  fn = "fit_predictors"
  check_key(key, "key", fn)
  masks = jnp.asarray(masks)
  if masks.ndim != 2:
    raise ValueError(f"{fn}: masks: expected [P, d], got shape {masks.shape}")
  x, y = jnp.asarray(x), jnp.asarray(y)
  P, d = masks.shape
  if x.ndim == 2:
    x = jnp.broadcast_to(x, (P,) + x.shape)
  if y.ndim == 1:
    y = jnp.broadcast_to(y, (P,) + y.shape)
  if x.shape[0] != P or x.ndim != 3 or x.shape[2] != d:
    raise ValueError(f"{fn}: x: expected [N, {d}] or [{P}, N, {d}] (masks: {masks.shape}), got {x.shape}")
  if y.shape != x.shape[:2]:
    raise ValueError(f"{fn}: y: expected shape {x.shape[1:2]} or {x.shape[:2]}, got {y.shape}")
  hidden = _check_pos_int(hidden, "hidden", fn)
  steps = _check_pos_int(steps, "steps", fn)
  lr = _check_pos_float(lr, "lr", fn)
  keys = jax.random.split(key, P)
  return _fit(keys, x, y, masks.astype(x.dtype), hidden, steps, lr)


@functools.partial(jax.jit, static_argnums=(4, 5, 6))
def _fit(keys, x, y, masks, hidden, steps, lr):
  opt = optax.adam(lr)

  def one(key, x, y, mask):
    d = x.shape[1]
    k1, k2 = jax.random.split(key)
    params = {"W1": jax.random.normal(k1, (d, hidden), x.dtype) / jnp.sqrt(jnp.maximum(mask.sum(), 1.0)),
              "b1": jnp.zeros((hidden,), x.dtype),
              "w2": jax.random.normal(k2, (hidden,), x.dtype) / jnp.sqrt(hidden), "b2": jnp.zeros((), x.dtype)}
    mu, sd = x.mean(0), x.std(0) + 1e-8
    mu_y, sd_y = y.mean(), y.std() + 1e-8

    def loss(p):
      return jnp.mean((_apply(p, mu, sd, mu_y, sd_y, mask, x) - y) ** 2)

    def step(carry, _):
      p, s = carry
      g = jax.grad(loss)(p)
      upd, s = opt.update(g, s, p)
      return (optax.apply_updates(p, upd), s), None

    (params, _), _ = jax.lax.scan(step, (params, opt.init(params)), None, length=steps)
    return params, mu, sd, mu_y, sd_y, loss(params)

  params, mu, sd, mu_y, sd_y, mse = jax.vmap(one)(keys, x, y, masks)
  return Predictors(params, mu, sd, mu_y, sd_y, masks, mse)


def _check_predictors(pred, fn):
  if not isinstance(pred, Predictors):
    raise TypeError(f"{fn}: predictors: expected Predictors (fit_predictors), got {type(pred).__name__}")
  return pred


def predict(predictors: Predictors, x) -> jax.Array:
  """Predictions of every model on ``x: [N, d]`` (shared) or ``[P, N, d]``: [P, N]."""
  fn = "predict"
  pr = _check_predictors(predictors, fn)
  x = jnp.asarray(x)
  P, d = pr.masks.shape
  if x.ndim == 2:
    x = jnp.broadcast_to(x, (P,) + x.shape)
  if x.ndim != 3 or x.shape[0] != P or x.shape[2] != d:
    raise ValueError(f"{fn}: x: expected [N, {d}] or [{P}, N, {d}], got {x.shape}")
  return jax.vmap(_apply)(pr.params, pr.mu, pr.sd, pr.mu_y, pr.sd_y, pr.masks, x)


def risk(scm: SCM, predictors: Predictors, data) -> jax.Array:
  """MSE of every predictor on ``data: [..., N, |nodes|]`` (columns in ``scm.nodes`` order): [..., P]."""
  fn = "risk"
  scm = _check_scm(scm, fn)
  pr = _check_predictors(predictors, fn)
  data = _check_data(data, scm, fn)
  cov = [scm.col(v) for v in scm.graph.covariates]
  y = data[..., scm.col(scm.graph.target)]
  x = data[..., cov]

  def one(x, y):
    return jnp.mean((jax.vmap(_apply, (0, 0, 0, 0, 0, 0, None))(pr.params, pr.mu, pr.sd, pr.mu_y, pr.sd_y,
                                                                 pr.masks, x) - y) ** 2, axis=-1)
  flat_x = x.reshape((-1,) + x.shape[-2:])
  flat_y = y.reshape((-1, y.shape[-1]))
  return jax.vmap(one)(flat_x, flat_y).reshape(x.shape[:-2] + (pr.masks.shape[0],))


def worst_case_risk(key: jax.Array, scm: SCM, predictors: Predictors, data, *, restarts: int = 3,
                    steps: int = 10000, lr: float = 0.02, penalty: float = 0.01, patience: int = 100,
                    min_delta: float = 0.01, log_every: int = 10, family: str = "mlp",
                    bound: float = 1.0, j_hidden: int | None = None) -> WorstCase:
  """h*(S) of every predictor by J-ascent on ``data: [N, |nodes|]`` (a sample of the SCM; its abducted noises
  are held fixed). ``predictors``: fitted :class:`Predictors`, or one callable ``f(x [N, d]) -> [N]`` over
  ``scm.graph.covariates`` (an exact predictor; then P = 1). See the module docstring; returns
  :class:`WorstCase`."""
  fn = "worst_case_risk"
  check_key(key, "key", fn)
  scm = _check_scm(scm, fn)
  if callable(predictors) and not isinstance(predictors, Predictors):
    pr, apply = jnp.zeros((1, len(scm.graph.covariates))), (lambda f: lambda model, x: f(x))(predictors)
  else:
    pr = _check_predictors(predictors, fn)
    apply = None
  data = _check_data(data, scm, fn)
  if data.ndim != 2:
    raise ValueError(f"{fn}: data: expected [N, {len(scm.nodes)}], got {data.shape}")
  if apply is None and pr.masks.shape[1] != len(scm.graph.covariates):
    raise ValueError(f"{fn}: predictors: expected masks over the {len(scm.graph.covariates)} covariates "
                     f"{scm.graph.covariates}, got {pr.masks.shape}")
  if not scm.graph.mutable:
    raise ValueError(f"{fn}: scm: has no mutable node (no child of E): nothing to intervene on")
  restarts = _check_pos_int(restarts, "restarts", fn)
  steps = _check_pos_int(steps, "steps", fn)
  lr = _check_pos_float(lr, "lr", fn)
  penalty = _check_pos_float(penalty, "penalty", fn, allow_zero=True)
  patience = _check_pos_int(patience, "patience", fn)
  min_delta = _check_pos_float(min_delta, "min_delta", fn, allow_zero=True)
  log_every = _check_pos_int(log_every, "log_every", fn)
  if family not in ("mlp", "linear"):
    raise ValueError(f"{fn}: family: expected 'mlp' or 'linear', got {family!r}")
  bound = _check_pos_float(bound, "bound", fn)
  if j_hidden is not None:
    j_hidden = _check_pos_int(j_hidden, "j_hidden", fn)
  u = residuals(scm, data)
  if apply is not None:
    return _ascend(key, scm, pr, data, u, restarts, steps, lr, penalty, patience, min_delta, log_every, family,
                   bound, j_hidden, apply)
  return _ascend(key, scm, pr, data, u, restarts, steps, lr, penalty, patience, min_delta, log_every, family,
                 bound, j_hidden)


def _j_init(key, scm, data, restart, family, j_hidden):
  params = {}
  for i, m in enumerate(scm.graph.mutable):
    k = len(scm.graph.pa(m))
    km = jax.random.fold_in(key, i)
    if family == "linear":
      params[m] = {"theta": jnp.where(restart == 0, 0.5, 1.0) * jax.random.normal(km, (k,), data.dtype)}
      continue
    h = max(2, k) if j_hidden is None else j_hidden
    k1, k2, k3, k4 = jax.random.split(km, 4)
    rand = {"W1": jax.random.normal(k1, (k, h), data.dtype), "b1": jax.random.normal(k2, (h,), data.dtype),
            "w2": jax.random.normal(k3, (h,), data.dtype), "b2": jax.random.normal(k4, (), data.dtype)}
    ones = {"W1": jnp.ones((k, h), data.dtype), "b1": jnp.zeros((h,), data.dtype),
            "w2": jnp.ones((h,), data.dtype), "b2": jnp.zeros((), data.dtype)}
    params[m] = jax.tree.map(lambda a, b: jnp.where(restart == 0, a, b), ones, rand)
  return params


def _j_fns(scm, jp, stats, family, bound):
  fns = {}
  for m in scm.graph.mutable:
    p = jp[m]
    if family == "linear":
      fns[m] = lambda pa, p=p: pa @ (bound * jnp.tanh(p["theta"]))
      continue
    mu_pa, sd_pa, mu_m, sd_m, mid, half = stats[m]

    def j(pa, p=p, mu_pa=mu_pa, sd_pa=sd_pa, mu_m=mu_m, sd_m=sd_m, mid=mid, half=half):
      raw = mu_m + sd_m * (jax.nn.sigmoid(((pa - mu_pa) / sd_pa) @ p["W1"] + p["b1"]) @ p["w2"] + p["b2"])
      return mid + half * jnp.tanh((raw - mid) / half)      # softly inside the observed range of X_m
    fns[m] = j
  return fns


@functools.partial(jax.jit, static_argnums=(1, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15))
def _ascend(key, scm, pr, data, u, restarts, steps, lr, penalty, patience, min_delta, log_every, family, bound,
            j_hidden, apply=None):
  cov = [scm.col(v) for v in scm.graph.covariates]
  y_col = scm.col(scm.graph.target)
  stats = {}
  for m in scm.graph.mutable:
    pa = [scm.col(p) for p in scm.graph.pa(m)]
    xm = data[:, scm.col(m)]
    lo, hi = xm.min(), xm.max()
    stats[m] = (data[:, pa].mean(0), data[:, pa].std(0) + 1e-8, xm.mean(), xm.std() + 1e-8, (lo + hi) / 2,
                (hi - lo) / 2 + 1e-8)
  var_y = jnp.var(data[:, y_col]) + 1e-12
  opt = optax.adam(lr)

  def mse_of(jp, model):
    d = intervene(scm, data, u, _j_fns(scm, jp, stats, family, bound))
    f = _apply(*model, d[:, cov]) if apply is None else apply(model, d[:, cov])
    return jnp.mean((d[:, y_col] - f) ** 2)

  def objective(jp, model):
    mse = mse_of(jp, model)
    pen = 0.0
    if family == "mlp":
      pen = sum(jnp.sqrt(jnp.sum(p["W1"] ** 2)) + jnp.sqrt(jnp.sum(p["w2"] ** 2)) for p in jp.values())
    return -mse + penalty * pen, mse

  def run(k, r, model):
    jp = _j_init(k, scm, data, r, family, j_hidden)
    s0 = opt.init(jp)
    first = mse_of(jp, model) / var_y

    def inner(carry, _):
      jp, s, hmax = carry
      (_, mse), g = jax.value_and_grad(objective, has_aux=True)(jp, model)
      upd, s = opt.update(g, s, jp)
      return (optax.apply_updates(jp, upd), s, jnp.maximum(hmax, mse)), mse

    def body(c):
      jp, s, hmax, t, best, count, stop = c
      (jp, s, hmax), mses = jax.lax.scan(inner, (jp, s, hmax), None, length=log_every)
      cur = mse_of(jp, model)
      hmax = jnp.maximum(hmax, cur)
      cur = cur / var_y
      moved = jnp.abs(best - cur) > min_delta
      best = jnp.where(moved, cur, best)
      count = jnp.where(moved, 0, count + 1)
      return jp, s, hmax, t + log_every, best, count, count >= patience

    def cond(c):
      return (c[3] < steps) & ~c[6]

    init = (jp, s0, first * var_y, jnp.int32(0), first, jnp.int32(0), jnp.bool_(False))
    out = jax.lax.while_loop(cond, body, init)
    return out[2], out[3], first * var_y

  keys = jax.random.split(key, restarts)
  rs = jnp.arange(restarts)
  models = (pr.params, pr.mu, pr.sd, pr.mu_y, pr.sd_y, pr.masks) if apply is None else pr
  per_model = jax.vmap(lambda model: jax.vmap(lambda k, r: run(k, r, model))(keys, rs))
  hmax, t, first = per_model(models)
  return WorstCase(hmax.max(axis=1), hmax, first[:, 0], t)
