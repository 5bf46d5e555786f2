"""Learned drifts of a stochastic interpolant between two 2-D densities (paper 24: Albergo, Boffi &
Vanden-Eijnden, "Stochastic Interpolants: A Unifying Framework for Flows and Diffusions", 2023,
arXiv:2303.08797).

Two :class:`models.common.diffusion.TimeMLP` fields are trained together (one sum of losses, one optimizer):
the velocity b with L_b (Sec. 2.2, Eq. 2.12 of the notes) and either the score s with L_s (Eq. 2.15,
``model.score = "s"``) or the denoiser η = E[z | x_t] with L_η (``model.score = "eta"``; then s = −η/γ, or
−η/α for one-sided paths). ``model.antithetic`` evaluates the score/denoiser loss at ±z. Times
t ~ U[t_min, t_max] (γ⁻¹, α⁻¹ and γ̇ blow up at the end points).

Data are generated, never loaded: the batch of ``step`` is ``(x0, x1)`` drawn by jax from a key that is a
function of ``(seed, step)``, so a resumed run sees exactly the batches of an uninterrupted one. Densities
(:data:`DENSITIES`): ``gaussian`` N(0, I), ``checkerboard`` (uniform on the 8 black 2×2 squares of a 4×4
board on [−4, 4]²), ``ring8`` (8 Gaussians of std 0.3 on a circle of radius 3), ``mix4`` (4 correlated
Gaussians). They are :func:`models.interpolants.density_sampler` (the claims use the same samplers).

``evaluate`` reports the held-out losses (a fixed set of pairs, times and noise: ``test_loss_b``,
``test_loss_s`` or ``test_loss_eta``) and, when ``data.eval_ode_steps > 0``, the sliced-W₂ distance
(``sw2_ode``, 256 directions) between ``data.eval_size`` Heun-ODE samples and as many fresh target points.
"""
from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from experiments.configs.common import require
from experiments.tasks import Task
from models.common.diffusion import TimeMLP
from models.interpolants import (DENSITIES, GAMMAS, PATHS, Interpolant, density_sampler, interpolant_loss, ode_sample,
                                 sliced_wasserstein)

SCORES = ("s", "eta")
N_PROJ = 256
# the densities live with the paper (models/interpolants/experiment.py); ``sampler`` is their name here
sampler = density_sampler


class InterpolantFields(Task):
  """Trains b and s (or η) of ``Interpolant(model.path, model.gamma)`` from ``data.source`` to ``data.target``."""

  @classmethod
  def validate(cls, config: Any) -> None:
    m, d = config.model, config.data
    require(m.path in PATHS, "model.path", f"one of {PATHS}", m.path)
    require(m.gamma in GAMMAS, "model.gamma", f"one of {GAMMAS}", m.gamma)
    try:
      Interpolant(m.path, m.gamma)
    except ValueError as e:
      raise ValueError(f"config.model.gamma: expected a gamma valid for path {m.path!r} ({e}), got {m.gamma!r}")
    require(m.score in SCORES, "model.score", f"one of {SCORES}", m.score)
    require(isinstance(m.antithetic, bool), "model.antithetic", "a bool", m.antithetic)
    for f in ("hidden", "depth", "emb_dim"):
      require(isinstance(m[f], int) and m[f] > 0, f"model.{f}", "a positive int", m[f])
    require(m.emb_dim % 2 == 0, "model.emb_dim", "an even int", m.emb_dim)
    require(m.time_scale > 0, "model.time_scale", "a positive float", m.time_scale)
    require(0.0 <= m.t_min < m.t_max <= 1.0, "model.t_min/t_max", "0 <= t_min < t_max <= 1", (m.t_min, m.t_max))
    require(d.source in DENSITIES, "data.source", f"one of {DENSITIES}", d.source)
    require(d.target in DENSITIES, "data.target", f"one of {DENSITIES}", d.target)
    if m.path in ("one_sided_linear", "one_sided_trig", "one_sided_vp"):
      require(d.source == "gaussian", "data.source", f"'gaussian' for the one-sided path {m.path!r}", d.source)
    require(isinstance(d.eval_size, int) and d.eval_size > 1, "data.eval_size", "an int > 1", d.eval_size)
    require(isinstance(d.eval_ode_steps, int) and d.eval_ode_steps >= 0, "data.eval_ode_steps",
            "a non-negative int (0 = no SW₂ evaluation)", d.eval_ode_steps)

  def __init__(self, config: Any):
    super().__init__(config)
    m, d = config.model, config.data
    self.interp = Interpolant(m.path, m.gamma)
    self.net = TimeMLP(hidden=m.hidden, depth=m.depth, emb_dim=m.emb_dim, time_scale=m.time_scale)
    self.src, self.tgt = sampler(d.source), sampler(d.target)
    n = config.train.batch_size
    data_key = jax.random.fold_in(jax.random.PRNGKey(config.seed), 24)
    src, tgt = self.src, self.tgt
    self._draw = jax.jit(lambda step: (src(jax.random.fold_in(jax.random.fold_in(data_key, step), 0), n),
                                       tgt(jax.random.fold_in(jax.random.fold_in(data_key, step), 1), n)))
    # held-out pairs, times and noise: fixed by a key independent of the training stream
    ke = jax.random.PRNGKey(2_400_000 + config.seed)
    k0, k1, kb, ks, kq, kt = jax.random.split(ke, 6)
    ne = d.eval_size
    x0e, x1e = jax.jit(lambda: (src(k0, ne), tgt(k1, ne)))()
    score_kind = m.score
    names = ("test_loss_b", f"test_loss_{score_kind}")

    def eval_losses(params):
      fb, fs = self._apply(params, "b"), self._apply(params, "s")
      lb = interpolant_loss("b", fb, self.interp, kb, x0e, x1e, t_min=m.t_min, t_max=m.t_max)
      ls = interpolant_loss(score_kind, fs, self.interp, ks, x0e, x1e, t_min=m.t_min, t_max=m.t_max,
                            antithetic=m.antithetic)
      out = dict(zip(names, (lb, ls)))
      if d.eval_ode_steps:
        x = ode_sample(fb, src(kq, ne), num_steps=d.eval_ode_steps, method="heun")
        out["sw2_ode"] = sliced_wasserstein(x, tgt(kt, ne), num_projections=N_PROJ)
      return out

    self._eval = jax.jit(eval_losses)

  def _apply(self, params: Any, name: str) -> Callable[[jax.Array, jax.Array], jax.Array]:
    return lambda x, t: self.net.apply({"params": params[name]}, x, jnp.broadcast_to(t, x.shape[:1]))

  def fields(self, params: Any) -> tuple[Callable, Callable]:
    """``(b, s)``: the velocity and the score as ``(x: [B, 2], t: scalar or [B]) -> [B, 2]``; with
    ``model.score = "eta"`` the score is −η/γ (two-sided) or −η/α (one-sided)."""
    b, f = self._apply(params, "b"), self._apply(params, "s")
    if self.config.model.score == "s":
      return b, f
    coeff = self.interp.alpha if self.interp.one_sided else self.interp.gamma_fn
    return b, lambda x, t: -f(x, t) / coeff(jnp.broadcast_to(t, x.shape[:1]))[:, None]

  def init(self, key):
    kb, ks = jax.random.split(key)
    zeros = (jnp.zeros((2, 2)), jnp.zeros((2,)))
    return {"b": self.net.init(kb, *zeros)["params"], "s": self.net.init(ks, *zeros)["params"]}, {}

  def loss(self, params, extra, batch, key):
    m = self.config.model
    kb, ks = jax.random.split(key)
    x0, x1 = batch["x0"], batch["x1"]
    lb = interpolant_loss("b", self._apply(params, "b"), self.interp, kb, x0, x1, t_min=m.t_min, t_max=m.t_max)
    ls = interpolant_loss(m.score, self._apply(params, "s"), self.interp, ks, x0, x1, t_min=m.t_min,
                          t_max=m.t_max, antithetic=m.antithetic)
    return lb + ls, ({"loss_b": lb, f"loss_{m.score}": ls}, extra)

  def train_batch(self, step: int):
    x0, x1 = self._draw(step)
    return {"x0": np.asarray(x0), "x1": np.asarray(x1)}

  def evaluate(self, params, extra):
    """Held-out L_b and L_s (or L_η) on fixed pairs, times and noise; ``sw2_ode`` when enabled."""
    return {k: float(v) for k, v in self._eval(params).items()}
