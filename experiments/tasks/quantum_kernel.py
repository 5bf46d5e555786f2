"""The variational quantum classifier of paper 30 (Havlíček et al., Nature 2019, arXiv:1804.11326) as a train_lib
task: W(theta) on the ZZ feature map, parity readout with bias, the paper's smooth shot-based risk on exact
expectations (``theory.quantum_kernel.vqc_risk``), on the ad hoc data set.

Batches are drawn without replacement from the training points as a function of (seed, step); ``evaluate``
reports the train and test accuracy of sign(<f> + b) and the exact full-training-set risk.
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from experiments.configs.common import require
from experiments.tasks import Task
from theory import quantum_kernel as QK


class VQCTask(Task):
  """``config.model.depth`` rotation/entangler layers; ``config.data`` the ad hoc data set."""

  @classmethod
  def validate(cls, config: Any) -> None:
    m, d = config.model, config.data
    require(isinstance(m.depth, int) and m.depth >= 0, "model.depth", "an int >= 0", m.depth)
    require(isinstance(m.shots, int) and m.shots >= 1, "model.shots", "an int >= 1 (R inside the risk)", m.shots)
    require(d.n in (2, 3), "data.n", "2 or 3 qubits", d.n)
    require(isinstance(d.train_per_class, int) and d.train_per_class >= 1, "data.train_per_class",
            "a positive int", d.train_per_class)
    require(isinstance(d.test_per_class, int) and d.test_per_class >= 1, "data.test_per_class",
            "a positive int", d.test_per_class)
    require(0 <= d.gap < 1, "data.gap", "a float in [0, 1)", d.gap)
    require(isinstance(d.grid, int) and d.grid >= 2, "data.grid", "an int >= 2", d.grid)
    require(config.train.batch_size <= 2 * d.train_per_class, "train.batch_size",
            f"<= 2 data.train_per_class = {2 * d.train_per_class}", config.train.batch_size)

  def __init__(self, config: Any):
    super().__init__(config)
    d = config.data
    self.data = QK.ad_hoc_data(jax.random.PRNGKey(config.seed), n=d.n, train_per_class=d.train_per_class,
                               test_per_class=d.test_per_class, gap=d.gap, grid=d.grid)
    self._expect = jax.jit(lambda p, x: QK.vqc_expectation(QK.VQCParams(p["theta"], p["bias"]), x))

  def init(self, key):
    p = QK.init_params(key, self.config.data.n, self.config.model.depth)
    return {"theta": p.theta, "bias": p.bias}, {}

  def loss(self, params, extra, batch, key):
    p = QK.VQCParams(params["theta"], params["bias"])
    risk = QK.vqc_risk(p, batch["x"], batch["y"], shots=self.config.model.shots)
    ev = jax.lax.stop_gradient(QK.vqc_expectation(p, batch["x"]))
    acc = jnp.mean(jnp.where(ev + jax.lax.stop_gradient(p.bias) >= 0, 1.0, -1.0) == batch["y"])
    return risk, ({"accuracy": acc}, extra)

  def train_batch(self, step: int):
    rng = np.random.default_rng((self.config.seed, step))
    idx = rng.choice(self.data.y_train.shape[0], self.config.train.batch_size, replace=False)
    return {"x": self.data.x_train[idx].astype(np.float32), "y": self.data.y_train[idx].astype(np.float32)}

  def evaluate(self, params, extra):
    out = {}
    for name, x, y in (("train", self.data.x_train, self.data.y_train), ("test", self.data.x_test, self.data.y_test)):
      ev = np.asarray(self._expect(params, jnp.asarray(x, jnp.float32)), np.float64)
      out[f"{name}_accuracy"] = float(np.mean(np.where(ev + float(params["bias"]) >= 0, 1.0, -1.0) == y))
    p = QK.VQCParams(params["theta"], params["bias"])
    out["risk"] = float(QK.vqc_risk(p, jnp.asarray(self.data.x_train, jnp.float32),
                                    jnp.asarray(self.data.y_train, jnp.float32), shots=self.config.model.shots))
    return out
