"""Experiments of paper 13 (the claims in ``experiments/claims/holomorphic_ep.py`` call these).

* :func:`init_params`: the vector field's parameters with an angle-alpha feedback start and an optional gain on
  the state-to-state kernels;
* :func:`surrogate_loss`: the training objective whose gradient is the hEP estimate plus lambda_h times the
  homeostatic gradient (the train_lib task uses it as is);
* :func:`finite_nudge_sweep` (claim A): cos(hEP, RBP) over beta and N at a fixed network;
* :func:`train_and_track` (claim B): SGD with momentum by hEP (with or without homeostasis) or by BP, tracking
  the Jacobian symmetry s/(s+a), cos(hEP, RBP) and the test accuracy per epoch.

Arrays in, arrays out: data come from the caller (the claim module loads the digits).
"""
from __future__ import annotations

import functools
import math
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from models.holomorphic_ep import dynamics as D

__all__ = ["init_params", "surrogate_loss", "bp_loss", "finite_nudge_sweep", "train_and_track", "evaluate"]

def init_params(model: D.EPVectorField, key: jax.Array, x: jax.Array, *, alpha_deg: float = 90.0,
                gain: float = 1.0) -> Any:
  """Flax init (lecun-normal kernels, zero biases), state-to-state kernels (every edge but ``in-l1`` and the
  readout) times ``gain``, then :func:`~models.holomorphic_ep.dynamics.rotate_feedback` by ``alpha_deg``."""
  D._check_key("init_params", key)
  if not (isinstance(gain, (int, float)) and math.isfinite(gain) and gain > 0):
    D._fail("init_params", "gain", "a positive finite float", gain)
  if not isinstance(alpha_deg, (int, float)) or not 0.0 <= alpha_deg <= 90.0:
    D._fail("init_params", "alpha_deg", "an angle in degrees in [0, 90]", alpha_deg)
  model.check()
  if x.ndim != 2:
    D._fail("init_params", "x", "a [B, D] array", x.shape)
  b = x.shape[0]
  y = jnp.zeros((b, model.num_classes), x.dtype)
  p = model.init(key, D.zero_state(model, b, x.dtype), x, y, 0.0)
  layers = dict(p["params"])
  for name, layer in layers.items():
    if name not in ("readout",) and not name.startswith("in-"):
      layers[name] = {**layer, "kernel": layer["kernel"] * gain}
  return D.rotate_feedback({**p, "params": layers}, float(alpha_deg))


def _check_hep_args(fn, beta, n_points, t1, t2):
  if isinstance(n_points, bool) or not isinstance(n_points, (int, np.integer)) or n_points < 0:
    D._fail(fn, "n_points", "an int >= 0 (0 = exact forward mode)", n_points)
  if n_points >= 1 and not (isinstance(beta, (int, float)) and math.isfinite(beta) and beta != 0):
    D._fail(fn, "beta", f"a finite nonzero float with n_points = {n_points} >= 1", beta)
  D._check_steps(fn, "T1", t1)
  D._check_steps(fn, "T2", t2)


def surrogate_loss(model: D.EPVectorField, params, x, y, key, *, beta: float, n_points: int, t1: int, t2: int,
                   lam_h: float = 0.0, n_probes: int = 5, weight_decay: float = 0.0) -> tuple[jax.Array, dict]:
  """``(surrogate, metrics)``: surrogate = <sg(g_hEP), W> + lam_h L_h(W; sg(u*)) + weight_decay/2 ||W||^2, so
  its gradient is the hEP estimate (N = ``n_points`` points at radius ``beta``, T2 = ``t2``) plus lam_h times
  the homeostatic gradient at the free fixed point (T1 = ``t1`` steps from 0) plus the decay. Its value is not a
  loss; ``metrics`` holds the cross-entropy ``ce`` and ``accuracy`` at u*, the homeostatic loss ``homeo`` and
  ``log10_residual`` (max over the batch of ||F(u*) - u*||)."""
  _check_hep_args("surrogate_loss", beta, n_points, t1, t2)
  if isinstance(lam_h, (int, float)) and not lam_h >= 0:   # a traced lam_h is not checked
    D._fail("surrogate_loss", "lam_h", "a float >= 0", lam_h)
  u = jax.lax.stop_gradient(D.free_phase(model, params, x, y, t1))
  g = jax.lax.stop_gradient(D.hep_gradient(model, params, u, x, y, beta, n_points, t2))
  lin = sum(jnp.sum(a * b) for a, b in zip(jax.tree.leaves(g), jax.tree.leaves(params)))
  h = D.homeostatic_loss(model, params, u, x, y, key, n_probes)
  total = lin + lam_h * h
  if weight_decay:
    total = total + 0.5 * weight_decay * sum(jnp.sum(a ** 2) for a in jax.tree.leaves(params))
  logits = model.apply(params, u, x, y, 0.0)[1]
  metrics = {"ce": jnp.mean(D.cross_entropy(logits, y)), "accuracy": D.accuracy(logits, y),
             "homeo": jax.lax.stop_gradient(h),
             "log10_residual": jnp.log10(jnp.max(D.residual(model, params, u, x, y)) + 1e-12)}
  return total, jax.tree.map(jax.lax.stop_gradient, metrics)


def bp_loss(model: D.EPVectorField, params, x, y, *, t1: int) -> tuple[jax.Array, dict]:
  """The BP baseline's loss: batch-mean cross-entropy after ``t1`` unrolled free steps (differentiated through
  the whole unrolled phase)."""
  D._check_steps("bp_loss", "T1", t1)
  u = D.relax(model, params, D.zero_state(model, x.shape[0], x.dtype), x, y, 0.0, t1)
  logits = model.apply(params, u, x, y, 0.0)[1]
  ce = jnp.mean(D.cross_entropy(logits, y))
  return ce, {"ce": jax.lax.stop_gradient(ce), "accuracy": D.accuracy(logits, y)}


def finite_nudge_sweep(model: D.EPVectorField, params, x, y, *, betas: Sequence[float], ns: Sequence[int],
                       t1: int, t2: int, rbp_steps: int, tol: float = 1e-5) -> dict:
  """Claim A: cos(hEP(beta, N), RBP) of the non-readout weight gradients on one batch.

  Checks that the free phase converged (``ValueError`` with the residual otherwise) before any gradient.
  Returns ``{"cos": [len(ns), len(betas)], "cos_exact": cos(N = 0, RBP), "residual": max ||F(u*) - u*||,
  "rbp_residual": max final RBP update norm}``.
  """
  for b in betas:
    if not (isinstance(b, (int, float)) and math.isfinite(b) and b > 0):
      D._fail("finite_nudge_sweep", "betas", "positive finite floats", list(betas))
  for n in ns:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
      D._fail("finite_nudge_sweep", "ns", "ints >= 1", list(ns))
  _check_hep_args("finite_nudge_sweep", 1.0, 1, t1, t2)
  u = jax.jit(lambda p: D.free_phase(model, p, x, y, t1))(params)
  r = D.check_converged(model, params, u, x, y, tol, fn="finite_nudge_sweep")
  delta_res = jax.jit(lambda p, u: D.rbp_delta(model, p, u, x, y, rbp_steps)[1])(params, u)
  g_ref = jax.jit(lambda p, u: D.rbp_gradient(model, p, u, x, y, rbp_steps))(params, u)
  out = np.zeros((len(ns), len(betas)))
  for i, n in enumerate(ns):
    f = jax.jit(lambda p, u, b, n=n: D.gradient_cosine(D.hep_gradient(model, p, u, x, y, b, n, t2), g_ref))
    for j, b in enumerate(betas):
      out[i, j] = float(f(params, u, jnp.asarray(b, x.dtype)))
  exact = float(D.gradient_cosine(jax.jit(lambda p, u: D.hep_gradient(model, p, u, x, y, 0.0, 0, t2))(params, u),
                                  g_ref))
  return {"cos": out, "cos_exact": exact, "residual": r, "rbp_residual": float(jnp.max(delta_res))}


def evaluate(model: D.EPVectorField, params, x, y, *, t1: int, track: int = 50, beta: float = 0.5,
             n_points: int = 2, t2: int = 20, rbp_steps: int = 100) -> dict:
  """Accuracy and mean cross-entropy at the free fixed point of ``(x, y)``, max residual, the Jacobian symmetry
  s/(s+a) (first example) and cos(hEP, RBP) on the first ``track`` rows."""
  u = D.free_phase(model, params, x, y, t1)
  logits = model.apply(params, u, x, y, 0.0)[1]
  sym = D.jacobian_symmetry(D.jacobian(model, params, jax.tree.map(lambda a: a[:1], u), x[:1], y[:1]))[0]
  ut, xt, yt = jax.tree.map(lambda a: a[:track], u), x[:track], y[:track]
  g = D.hep_gradient(model, params, ut, xt, yt, beta, n_points, t2)
  g_ref = D.rbp_gradient(model, params, ut, xt, yt, rbp_steps)
  return {"accuracy": D.accuracy(logits, y), "ce": jnp.mean(D.cross_entropy(logits, y)),
          "residual": jnp.max(D.residual(model, params, u, x, y)), "symmetry": sym,
          "cosine": D.gradient_cosine(g, g_ref)}


@functools.partial(jax.jit, static_argnames=("model", "method", "beta", "n_points", "t1", "t2", "n_probes",
                                             "learning_rate", "momentum"))
def _epoch(params, opt_state, xs, ys, keys, lam_h, *, model, method, beta, n_points, t1, t2, n_probes,
           learning_rate, momentum):
  """One pass over the stacked minibatches ``xs: [steps, batch, D]`` (``lax.scan``); ``lam_h`` is traced so
  the runs with and without homeostasis share one compile."""
  tx = optax.sgd(learning_rate, momentum=momentum or None)

  def obj(p, xb, yb, k):
    if method == "hep":
      return surrogate_loss(model, p, xb, yb, k, beta=beta, n_points=n_points, t1=t1, t2=t2, lam_h=lam_h,
                            n_probes=n_probes)
    return bp_loss(model, p, xb, yb, t1=t1)

  def step(carry, inp):
    p, s = carry
    xb, yb, k = inp
    (_, m), g = jax.value_and_grad(obj, has_aux=True)(p, xb, yb, k)
    up, s = tx.update(g, s, p)
    return (optax.apply_updates(p, up), s), m["ce"]

  (params, opt_state), ce = jax.lax.scan(step, (params, opt_state), (xs, ys, keys))
  return params, opt_state, jnp.mean(ce)


_evaluate = jax.jit(lambda model, p, x, y, t1, beta, n_points, t2, rbp_steps: evaluate(
    model, p, x, y, t1=t1, beta=beta, n_points=n_points, t2=t2, rbp_steps=rbp_steps), static_argnums=(0, 4, 5, 6, 7, 8))


def train_and_track(model: D.EPVectorField, params, data: tuple, *, method: str, epochs: int, batch_size: int,
                    learning_rate: float, momentum: float, beta: float, n_points: int, t1: int, t2: int,
                    lam_h: float = 0.0, n_probes: int = 5, rbp_steps: int = 100, seed: int = 0) -> dict:
  """Claim B: trains by ``method`` = ``"hep"`` (gradient of :func:`surrogate_loss`, homeostasis weighted by
  ``lam_h``) or ``"bp"`` (:func:`bp_loss`), SGD with ``momentum``, ``epochs`` passes of shuffled minibatches of
  ``batch_size`` (last partial batch dropped); ``data = (x_train, y_train, x_test, y_test)`` (one-hot ``y``).

  Returns per-epoch lists (index 0 = before training) of test ``accuracy``, ``symmetry``, ``cosine`` (hEP with
  the same beta, N vs RBP on the first 50 test rows), ``residual`` (test set) and the mean training ``ce``.
  """
  if method not in ("hep", "bp"):
    D._fail("train_and_track", "method", "'hep' or 'bp'", method)
  _check_hep_args("train_and_track", beta, n_points, t1, t2)
  if not (isinstance(lam_h, (int, float)) and lam_h >= 0):
    D._fail("train_and_track", "lam_h", "a float >= 0", lam_h)
  for name, v in (("epochs", epochs), ("batch_size", batch_size)):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
      D._fail("train_and_track", name, "an int >= 1", v)
  x_tr, y_tr, x_te, y_te = data
  if batch_size > x_tr.shape[0]:
    D._fail("train_and_track", "batch_size", f"<= the {x_tr.shape[0]} training rows", batch_size)
  statics = dict(model=model, method=method, beta=float(beta), n_points=int(n_points), t1=int(t1), t2=int(t2),
                 n_probes=int(n_probes), learning_rate=float(learning_rate), momentum=float(momentum))
  rng = np.random.default_rng(seed)
  key = jax.random.PRNGKey(seed)
  state = optax.sgd(learning_rate, momentum=momentum or None).init(params)
  hist = {k: [] for k in ("accuracy", "symmetry", "cosine", "residual", "ce")}

  def record(p, ce):
    e = _evaluate(model, p, x_te, y_te, int(t1), float(beta), int(n_points), int(t2), int(rbp_steps))
    for k in ("accuracy", "symmetry", "cosine", "residual"):
      hist[k].append(float(e[k]))
    hist["ce"].append(float(ce))

  record(params, float("nan"))
  nb = x_tr.shape[0] // batch_size
  lam = jnp.asarray(lam_h if method == "hep" else 0.0, x_tr.dtype)
  for _ in range(epochs):
    perm = rng.permutation(x_tr.shape[0])[: nb * batch_size].reshape(nb, batch_size)
    key, sub = jax.random.split(key)
    params, state, ce = _epoch(params, state, x_tr[perm], y_tr[perm], jax.random.split(sub, nb), lam, **statics)
    record(params, ce)
  return hist
