"""ε-prediction diffusion on sklearn digits 8×8 (paper 12, DEIS: Zhang & Chen, ICLR 2023, arXiv:2204.13902).

Images are scaled to [−1, 1] (64 features); a :class:`models.common.diffusion.TimeMLP` noise predictor is
trained with :func:`models.deis.denoising_loss` under the linear VP schedule (β₀ = 0.1, β₁ = 20,
t ~ U[1e-3, 1]). A fixed test split (``data.test_fraction``) gives the held-out denoising loss; the same
trained network is then sampled by every DEIS sampler in the ``deis/digits`` claim.
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from experiments.configs.common import require
from experiments.datasets import load_tabular
from experiments.tasks import Task
from models.common.diffusion import TimeMLP, VPSchedule
from models.deis import denoising_loss


def split_digits(path: str | None, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                                np.ndarray]:
  """``(x_train, y_train, x_test, y_test)``, images in [−1, 1], a seeded random split."""
  x, y = load_tabular("digits", path or None)
  order = np.random.default_rng(seed).permutation(len(x))
  n_test = int(round(test_fraction * len(x)))
  te, tr = order[:n_test], order[n_test:]
  x = 2.0 * x - 1.0
  return x[tr], y[tr], x[te], y[te]


class DigitsDiffusion(Task):
  """Denoising (ε-prediction) training of a time-conditioned MLP on digits."""

  @classmethod
  def validate(cls, config: Any) -> None:
    m, d = config.model, config.data
    for f in ("hidden", "depth", "emb_dim"):
      require(isinstance(m[f], int) and m[f] > 0, f"model.{f}", "a positive int", m[f])
    require(m.emb_dim % 2 == 0, "model.emb_dim", "an even int", m.emb_dim)
    require(0 < m.beta_min <= m.beta_max, "model.beta_min/beta_max", "0 < beta_min <= beta_max",
            (m.beta_min, m.beta_max))
    require(0 < m.t_min < 1, "model.t_min", "a float in (0, 1)", m.t_min)
    require(0 < d.test_fraction < 1, "data.test_fraction", "a float in (0, 1)", d.test_fraction)
    require(isinstance(d.eval_size, int) and d.eval_size > 0, "data.eval_size", "a positive int", d.eval_size)

  def __init__(self, config: Any):
    super().__init__(config)
    m, d = config.model, config.data
    self.x_train, self.y_train, self.x_test, self.y_test = split_digits(d.path, d.test_fraction, config.seed)
    self.schedule = VPSchedule("linear", m.beta_min, m.beta_max)
    self.model = TimeMLP(hidden=m.hidden, depth=m.depth, emb_dim=m.emb_dim)
    x_eval = jnp.asarray(self.x_test[:d.eval_size])
    self._eval = jax.jit(lambda p: denoising_loss(lambda x, t: self.model.apply({"params": p}, x, t), self.schedule,
                                                  x_eval, jax.random.PRNGKey(12345), t_min=m.t_min)[0])

  def eps_fn(self, params):
    """``(x: [B, 64], t: scalar or [B]) -> [B, 64]`` for the samplers."""
    return lambda x, t: self.model.apply({"params": params}, x, jnp.broadcast_to(t, x.shape[:1]))

  def init(self, key):
    return self.model.init(key, jnp.zeros((2, 64)), jnp.zeros((2,)))["params"], {}

  def loss(self, params, extra, batch, key):
    loss, _ = denoising_loss(lambda x, t: self.model.apply({"params": params}, x, t), self.schedule,
                             batch["x"], key, t_min=self.config.model.t_min)
    return loss, ({}, extra)

  def train_batch(self, step: int):
    rng = np.random.default_rng((self.config.seed, step))
    idx = rng.choice(len(self.x_train), self.config.train.batch_size, replace=False)
    return {"x": self.x_train[idx]}

  def evaluate(self, params, extra):
    """Held-out ε-prediction loss (fixed noise and times)."""
    return {"test_loss": float(self._eval(params))}
