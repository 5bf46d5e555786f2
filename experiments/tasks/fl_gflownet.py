"""GFlowNet training on the set or hypergrid environment (paper 22: Pan, Malkin, Zhang & Bengio, "Better
Training of GFlowNets with Local Credit and Incomplete Trajectories", ICML 2023, arXiv:2302.01687) as a train_lib
task: one of TB / DB / SubTB(λ) / FL-DB / FL-SubTB (``model.loss``) on trajectories sampled on-policy with
ε-uniform exploration, optionally cut to random prefixes (``data.prefix_max > 0``: incomplete trajectories).

The batch of ``step`` is a vector of row ids (``step · B + arange(B)``); the loss draws trajectory ``i`` from the
stop-gradient policy with the key ``fold_in(step key, row id)``, so a resumed run samples exactly what an
uninterrupted one would, on any number of devices. log Z = ``model.logz_scale`` × a raw parameter (the official
TB code's 100× larger learning rate for log Z under one Adam; see ``models/fl_gflownet/experiment.py``).

``evaluate``: ``l1`` = exact L1(P_T, R/Z) by DP when the environment can be enumerated (|U| <= 20 for sets),
and ``top100_reward`` = the mean reward of the 100 best distinct terminal objects among ``data.eval_samples``
on-policy samples (the official set metric, over one evaluation batch instead of the whole run).
"""
from __future__ import annotations

from typing import Any

import jax
import numpy as np

from experiments.configs.common import require
from experiments.tasks import Task
from models import fl_gflownet as G

ENVS = ("set", "hypergrid")


class FLGFlowNet(Task):
  """``config.model``: loss, epsilon, lam, hidden, depth, uniform_backward, logz_scale; ``config.data``: the
  environment (env, size, set_size, kappa, energy_seed | height, ndim, r0), prefix_max, eval_samples."""

  @classmethod
  def validate(cls, config: Any) -> None:
    m, d = config.model, config.data
    require(m.loss in G.LOSSES, "model.loss", f"one of {G.LOSSES}", m.loss)
    require(0.0 <= m.epsilon <= 1.0, "model.epsilon", "an exploration weight in [0, 1]", m.epsilon)
    require(0.0 < m.lam <= 1.0, "model.lam", "a float in (0, 1]", m.lam)
    for f in ("hidden", "depth"):
      require(isinstance(m[f], int) and m[f] >= (1 if f == "hidden" else 0), f"model.{f}", "a positive int", m[f])
    require(isinstance(m.uniform_backward, bool), "model.uniform_backward", "a bool", m.uniform_backward)
    require(m.logz_scale > 0, "model.logz_scale", "a positive float", m.logz_scale)
    require(d.env in ENVS, "data.env", f"one of {ENVS}", d.env)
    if d.env == "set":
      require(isinstance(d.size, int) and d.size >= 1, "data.size", "a positive int |U|", d.size)
      require(isinstance(d.set_size, int) and 1 <= d.set_size <= d.size, "data.set_size",
              f"an int in [1, |U| = {d.size}]", d.set_size)
      require(d.kappa >= 0, "data.kappa", "a float >= 0", d.kappa)
      steps = d.set_size
    else:
      require(isinstance(d.height, int) and d.height >= 2, "data.height", "an int H >= 2", d.height)
      require(isinstance(d.ndim, int) and d.ndim >= 1, "data.ndim", "a positive int", d.ndim)
      require(d.r0 > 0, "data.r0", "a reward floor > 0", d.r0)
      steps = d.ndim * (d.height - 1) + 1
    require(isinstance(d.prefix_max, int) and 0 <= d.prefix_max <= steps, "data.prefix_max",
            f"an int in [0, {steps}] (0 = complete trajectories)", d.prefix_max)
    require(isinstance(d.eval_samples, int) and d.eval_samples >= 1, "data.eval_samples", "a positive int",
            d.eval_samples)

  def __init__(self, config: Any):
    super().__init__(config)
    m, d = config.model, config.data
    if d.env == "set":
      e = G.random_set_energies(jax.random.PRNGKey(d.energy_seed), d.size, float(d.kappa))
      self.env = G.set_env(np.asarray(e), d.set_size)
      self.enum = self.env.enumerate() if d.size <= 16 else None
    else:
      self.env = G.hypergrid(height=d.height, ndim=d.ndim, r0=float(d.r0))
      self.enum = self.env.enumerate()
    self.policy = G.make_policy(self.env, m.hidden, m.depth, m.uniform_backward)
    prefix = (1, d.prefix_max) if d.prefix_max else None
    self._loss = G.make_loss_fn(self.env, self.policy, m.loss, epsilon=float(m.epsilon), lam=float(m.lam),
                                prefix=prefix, logz_scale=float(m.logz_scale))
    env, policy, enum, n_eval = self.env, self.policy, self.enum, d.eval_samples
    eval_keys = jax.random.split(jax.random.PRNGKey(2_200_000 + config.seed), n_eval)

    def ev(params):
      fn = lambda *a: policy.apply({"params": params["net"]}, *a)   # noqa: E731
      traj = G.sample_trajectories(env, fn, eval_keys, 0.0)
      last = traj.states[:, -1]
      out = {"log_reward": -jax.vmap(env.energy)(last), "final": last}
      if enum is not None:
        out["l1"] = G.exact_l1(policy, params, env, enum)
      return out

    self._eval = jax.jit(ev)

  def init(self, key):
    return G.init_params(self.policy, self.env, key), {}

  def loss(self, params, extra, batch, key):
    keys = jax.vmap(lambda r: jax.random.fold_in(key, r))(batch["row"])
    value, metrics = self._loss(params, keys)
    return value, (metrics, extra)

  def train_batch(self, step: int):
    b = self.config.train.batch_size
    return {"row": (step * b + np.arange(b)).astype(np.uint32)}

  def evaluate(self, params, extra):
    """Exact L1 (enumerable environments) and the mean reward of the top-100 distinct sampled objects."""
    out = jax.device_get(self._eval(params))
    _, first = np.unique(np.asarray(out["final"]), axis=0, return_index=True)
    r = np.sort(np.exp(np.asarray(out["log_reward"], np.float64)[first]))[::-1][:100]
    res = {"top100_reward": float(np.mean(r))}
    if "l1" in out:
      res["l1"] = float(out["l1"])
    return res
