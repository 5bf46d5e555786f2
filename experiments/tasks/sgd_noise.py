"""SGD-noise regimes (paper 21, Sclocchi, Geiger & Wyart, ICML 2023) as a train_lib task: the mean-field MLP of
``models.sgd_noise`` on digits parity (even vs odd, inputs scaled to ||x|| = sqrt(64)), trained by plain SGD on
``mean_batch l(alpha o, y) / alpha`` with the centred output ``o = f(w, x) - f(w0, x)`` (``w0`` is kept in
``extra``). The step size is ``dt = T h B`` (``train.learning_rate`` must equal it: checked), each batch a fresh
set of B distinct training points drawn as a function of (seed, step).

train_lib runs a fixed step budget; the fit-stopping rule of the paper lives in ``models.sgd_noise.train_until_fit``
(the claims use it). Once every point has ``alpha y o >= 1`` the hinge gradient is zero, so steps after the fit leave
``w`` unchanged; ``evaluate`` reports the number of unfit training points, the minimum margin and the test error.
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from experiments.configs.common import require
from experiments.datasets import load_tabular
from experiments.tasks import Task, sample_batch
from models import sgd_noise as S


def digits_parity(path: str | None, n_train: int, seed: int):
  x, y = load_tabular("digits", path or None)
  x = x.astype(np.float32)
  x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12) * np.sqrt(x.shape[1])
  yy = np.where(y % 2 == 0, 1.0, -1.0).astype(np.float32)
  perm = np.random.default_rng(seed).permutation(len(x))
  return x[perm[:n_train]], yy[perm[:n_train]], x[perm[n_train:]], yy[perm[n_train:]]


class SGDNoiseMLP(Task):
  """``config.model``: width h, depth, activation, alpha, temperature T, loss; ``config.data``: the split."""

  @classmethod
  def validate(cls, config: Any) -> None:
    m, d, t = config.model, config.data, config.train
    require(isinstance(m.h, int) and m.h >= 1, "model.h", "an int >= 1", m.h)
    require(isinstance(m.depth, int) and m.depth >= 1, "model.depth", "an int >= 1", m.depth)
    require(m.activation in S.ACTIVATIONS, "model.activation", f"one of {S.ACTIVATIONS}", m.activation)
    require(m.loss in S.LOSSES, "model.loss", f"one of {S.LOSSES}", m.loss)
    require(m.alpha > 0, "model.alpha", "a positive float", m.alpha)
    require(m.temperature > 0, "model.temperature", "a positive float", m.temperature)
    require(isinstance(d.n_train, int) and 2 <= d.n_train <= 1697, "data.n_train", "an int in [2, 1697]",
            d.n_train)
    require(t.batch_size <= d.n_train, "train.batch_size", f"<= data.n_train = {d.n_train}", t.batch_size)
    require(t.optimizer == "sgd" and t.momentum == 0 and t.weight_decay == 0 and t.schedule == "constant",
            "train.optimizer", "plain SGD (momentum 0, weight decay 0, constant schedule)", t.optimizer)
    dt = m.temperature * m.h * t.batch_size
    require(abs(t.learning_rate - dt) <= 1e-6 * dt, "train.learning_rate",
            f"dt = T h B = {dt:g} (T = model.temperature)", t.learning_rate)

  def __init__(self, config: Any):
    super().__init__(config)
    m, d = config.model, config.data
    self.x_train, self.y_train, xte, yte = digits_parity(d.path, d.n_train, config.seed)
    self.x_test, self.y_test = jnp.asarray(xte), jnp.asarray(yte)
    self._apply = lambda w, x: S.mlp_apply(w, x, m.activation)
    a = float(m.alpha)
    xtr, ytr = jnp.asarray(self.x_train), jnp.asarray(self.y_train)

    def ev(w, w0):
      mtr = a * (self._apply(w, xtr) - self._apply(w0, xtr)) * ytr
      o = self._apply(w, self.x_test) - self._apply(w0, self.x_test)
      return dict(test_error=jnp.mean(jnp.sign(o) != self.y_test), unfit=jnp.sum(mtr < 1.0),
                  min_margin=jnp.min(mtr))
    self._eval = jax.jit(ev)

  def init(self, key):
    m = self.config.model
    w0 = S.init_mlp(key, self.x_train.shape[1], m.h, m.depth)
    return w0, {"w0": w0}

  def loss(self, params, extra, batch, key):
    m = self.config.model
    o = self._apply(params, batch["x"]) - self._apply(extra["w0"], batch["x"])
    per = S.scaled_loss(o, batch["y"], float(m.alpha), m.loss)
    unfit = jnp.mean((float(m.alpha) * o * batch["y"] < 1.0).astype(jnp.float32))
    return jnp.mean(per), ({"unfit_fraction": unfit}, extra)

  def train_batch(self, step: int):
    return sample_batch({"x": self.x_train, "y": self.y_train}, self.config.seed, step, self.config.train.batch_size)

  def evaluate(self, params, extra):
    return {k: float(v) for k, v in self._eval(params, extra["w0"]).items()}
