"""Holomorphic EP with Jacobian homeostasis (paper 13, Laborieux & Zenke, ICLR 2024) as a train_lib task.

The recurrent MLP vector field (``models.holomorphic_ep.EPVectorField``) on the sklearn 8x8 digits. The loss
handed to train_lib is the surrogate of ``models.holomorphic_ep.surrogate_loss``: its gradient is the hEP
estimate (N points at radius beta, T2 nudged steps from the free fixed point after T1 steps) plus lambda_h times the
homeostatic gradient (u* held fixed), plus weight decay; its *value* is not a loss, so the cross-entropy at u* is
logged as the metric ``ce``. ``model.method = "bp"`` trains the same network by backprop through the unrolled
free phase instead. Batches are drawn without replacement as a function of (seed, step).
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from experiments.configs.common import require
from experiments.datasets import load_tabular
from experiments.tasks import Task, sample_batch
from models import holomorphic_ep as H


class HolomorphicEP(Task):
  """``config.model``: the vector field and the estimator; ``config.data``: the digits split."""

  @classmethod
  def validate(cls, config: Any) -> None:
    m, d = config.model, config.data
    require(len(tuple(m.hidden)) == 2 and all(isinstance(h, int) and h > 0 for h in m.hidden), "model.hidden",
            "two positive ints", m.hidden)
    require(m.arch in H.ARCHITECTURES, "model.arch", f"one of {sorted(H.ARCHITECTURES)}", m.arch)
    require(m.activation in H.ACTIVATIONS, "model.activation", f"one of {H.ACTIVATIONS}", m.activation)
    require(0 < m.dt <= 1, "model.dt", "a step size in (0, 1]", m.dt)
    require(m.gain > 0, "model.gain", "a positive float", m.gain)
    require(0 <= m.alpha_deg <= 90, "model.alpha_deg", "an angle in degrees in [0, 90]", m.alpha_deg)
    require(m.method in ("hep", "bp"), "model.method", "'hep' or 'bp'", m.method)
    require(isinstance(m.n_points, int) and m.n_points >= 0, "model.n_points", "an int >= 0 (0 = exact)",
            m.n_points)
    require(m.n_points == 0 or m.beta != 0, "model.beta", f"nonzero with model.n_points = {m.n_points} >= 1",
            m.beta)
    for f in ("t1", "t2", "n_probes"):
      require(isinstance(m[f], int) and m[f] >= 1, f"model.{f}", "an int >= 1", m[f])
    require(m.lam_h >= 0, "model.lam_h", "a float >= 0", m.lam_h)
    require(m.weight_decay >= 0, "model.weight_decay", "a float >= 0", m.weight_decay)
    require(0 < d.test_fraction < 1, "data.test_fraction", "a float in (0, 1)", d.test_fraction)
    n_train = 1797 - int(round(d.test_fraction * 1797))
    require(config.train.batch_size <= n_train, "train.batch_size", f"<= the {n_train} training digits",
            config.train.batch_size)

  def __init__(self, config: Any):
    super().__init__(config)
    m, d = config.model, config.data
    x, y = load_tabular("digits", d.path or None)
    perm = np.random.default_rng(config.seed).permutation(len(x))
    n_te = int(round(d.test_fraction * len(x)))
    onehot = np.eye(10, dtype=np.float32)
    self.x_train, self.y_train = x[perm[n_te:]], onehot[y[perm[n_te:]]]
    self.x_test, self.y_test = jnp.asarray(x[perm[:n_te]]), jnp.asarray(onehot[y[perm[:n_te]]])
    self.model = H.EPVectorField(hidden=tuple(m.hidden), arch=m.arch, activation=m.activation, dt=m.dt)
    self._eval = jax.jit(lambda p: H.evaluate(self.model, p, self.x_test, self.y_test, t1=m.t1, beta=m.beta or 0.1,
                                              n_points=m.n_points, t2=m.t2, rbp_steps=m.t1))

  def init(self, key):
    m = self.config.model
    return H.init_params(self.model, key, jnp.asarray(self.x_train[:2]), alpha_deg=float(m.alpha_deg),
                         gain=float(m.gain)), {}

  def loss(self, params, extra, batch, key):
    m = self.config.model
    if m.method == "bp":
      value, metrics = H.bp_loss(self.model, params, batch["x"], batch["y"], t1=m.t1)
      if m.weight_decay:
        value = value + 0.5 * m.weight_decay * sum(jnp.sum(a ** 2) for a in jax.tree.leaves(params))
      return value, (metrics, extra)
    value, metrics = H.surrogate_loss(self.model, params, batch["x"], batch["y"], key, beta=m.beta,
                                      n_points=m.n_points, t1=m.t1, t2=m.t2, lam_h=m.lam_h, n_probes=m.n_probes,
                                      weight_decay=m.weight_decay)
    return value, (metrics, extra)

  def train_batch(self, step: int):
    return sample_batch({"x": self.x_train, "y": self.y_train}, self.config.seed, step, self.config.train.batch_size)

  def evaluate(self, params, extra):
    return {k: float(v) for k, v in self._eval(params).items()}
