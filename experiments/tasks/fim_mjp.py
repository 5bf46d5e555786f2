"""Mini-FIM for Markov jump processes (paper 27): supervised pretraining on the synthetic MJP prior.

Every step draws a fresh batch of processes with their noisy grid observations from the prior
(:func:`models.fim_mjp.sample_prior_batch`, key = fold_in(seed, step): a resumed run sees the same batches),
and trains :class:`models.fim_mjp.FIMMJP` on the official loss (:func:`models.fim_mjp.fim_loss`). The
evaluation draws a fixed held-out batch from the same prior and reports the loss terms, the mean relative
rate RMSE and the spread of the z-scores of the true rates under the predicted Gaussians.
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from experiments.configs.common import require
from experiments.tasks import Task
from models.fim_mjp import ENCODERS, FIMMJP, PriorConfig, fim_loss, sample_prior_batch
from models.fim_mjp.experiment import relative_rmse, z_scores

_FIELDS = ("F", "adjacency", "pi0", "n_states", "times", "states", "path_mask", "obs_mask")


def prior_config(d: Any) -> PriorConfig:
  """The :class:`PriorConfig` of ``config.data``."""
  return PriorConfig(c_max=d.c_max, c_choices=tuple(d.c_choices), n_paths=tuple(d.n_paths), n_obs=tuple(d.n_obs),
                     horizon=float(d.horizon), noise_levels=tuple(float(x) for x in d.noise_levels),
                     drop_prob=float(d.drop_prob), scale=tuple(d.scale), beta_ab=tuple(d.beta_ab),
                     grid_kinds=tuple(d.grid_kinds))


class FIMMJPTask(Task):
  """Pretraining of mini-FIM on prior draws."""

  @classmethod
  def validate(cls, config: Any) -> None:
    m, d = config.model, config.data
    require(m.encoder in ENCODERS, "model.encoder", f"one of {ENCODERS}", m.encoder)
    for f in ("hidden", "n_queries", "k_dim", "v_dim"):
      require(isinstance(m[f], int) and m[f] > 0, f"model.{f}", "a positive int", m[f])
    require(len(m.decoder_hidden) > 0 and all(isinstance(h, int) and h > 0 for h in m.decoder_hidden),
            "model.decoder_hidden", "a non-empty tuple of positive ints", m.decoder_hidden)
    require(isinstance(d.c_max, int) and d.c_max >= 2, "data.c_max", "an int >= 2", d.c_max)
    require(len(d.c_choices) > 0 and all(isinstance(c, int) and 2 <= c <= d.c_max for c in d.c_choices),
            "data.c_choices", f"state counts in [2, data.c_max={d.c_max}]", d.c_choices)
    require(len(d.n_paths) == 2 and 1 <= d.n_paths[0] <= d.n_paths[1], "data.n_paths", "(min, max) with 1 <= min <= max",
            d.n_paths)
    require(len(d.n_obs) == 2 and 2 <= d.n_obs[0] <= d.n_obs[1], "data.n_obs", "(min, max) with 2 <= min <= max",
            d.n_obs)
    require(d.horizon > 0, "data.horizon", "a positive time", d.horizon)
    require(len(d.noise_levels) > 0 and all(0 <= p < 1 for p in d.noise_levels), "data.noise_levels",
            "probabilities in [0, 1)", d.noise_levels)
    require(0 <= d.drop_prob < 1, "data.drop_prob", "a probability in [0, 1)", d.drop_prob)
    require(len(d.scale) == 2 and 0 < d.scale[0] <= d.scale[1], "data.scale", "(min, max) with 0 < min <= max", d.scale)
    require(len(d.beta_ab) == 2 and 0 < d.beta_ab[0] <= d.beta_ab[1], "data.beta_ab", "(min, max) with 0 < min <= max",
            d.beta_ab)
    require(len(d.grid_kinds) > 0 and all(g in ("regular", "random") for g in d.grid_kinds), "data.grid_kinds",
            "a non-empty subset of ('regular', 'random')", d.grid_kinds)
    require(isinstance(d.eval_batch, int) and d.eval_batch > 0, "data.eval_batch", "a positive int", d.eval_batch)

  def __init__(self, config: Any):
    super().__init__(config)
    m = config.model
    self.prior = prior_config(config.data)
    self.model = FIMMJP(c_max=self.prior.c_max, encoder=m.encoder, hidden=m.hidden, n_queries=m.n_queries,
                        k_dim=m.k_dim, v_dim=m.v_dim, decoder_hidden=tuple(m.decoder_hidden))
    self._apply = jax.jit(lambda p, b: self.model.apply({"params": p}, b["states"], b["times"], b["obs_mask"],
                                                        b["path_mask"]))

  def _batch(self, key, n):
    b = sample_prior_batch(key, n, self.prior)
    return {f: np.asarray(getattr(b, f)) for f in _FIELDS}

  def init(self, key):
    P, L = self.prior.n_paths[1], self.prior.n_obs[1]
    states = jnp.zeros((1, P, L), jnp.int32)
    times = jnp.broadcast_to(jnp.linspace(0.0, self.prior.horizon, L), (1, P, L))
    ones = jnp.ones((1, P, L), bool)
    return self.model.init(key, states, times, ones, ones[..., 0])["params"], {}

  def loss(self, params, extra, batch, key):
    out = self.model.apply({"params": params}, batch["states"], batch["times"], batch["obs_mask"], batch["path_mask"])
    loss, terms = fim_loss(out, batch["F"], batch["adjacency"], batch["pi0"], batch["n_states"])
    return loss, (terms, extra)

  def train_batch(self, step: int):
    return self._batch(jax.random.fold_in(jax.random.PRNGKey(self.config.seed), step), self.config.train.batch_size)

  def evaluate(self, params, extra):
    """Held-out prior draws: ``loss`` and its terms, ``rel_rmse`` (mean over processes), ``z_sd``."""
    b = self._batch(jax.random.fold_in(jax.random.PRNGKey(self.config.seed + 1_000_003), 0),
                    self.config.data.eval_batch)
    out = self._apply(params, b)
    loss, terms = fim_loss(out, b["F"], b["adjacency"], b["pi0"], b["n_states"])
    mean = np.asarray(out["mean"], np.float64)
    c = mean.shape[-1]
    Fh = mean - np.eye(c) * mean.sum(-1, keepdims=True)
    z = z_scores(out["mean"], out["logstd"], b["F"], b["adjacency"], b["n_states"])
    res = {"loss": float(loss), **{k: float(v) for k, v in terms.items()}}
    res["rel_rmse"] = float(np.mean(relative_rmse(Fh, b["F"], b["n_states"])))
    res["z_sd"] = float(np.std(z)) if z.size > 1 else float("nan")
    return res
