"""ε-prediction diffusion on sklearn digits 8×8 (paper 12, DEIS: Zhang & Chen, ICLR 2023, arXiv:2204.13902).

Images are scaled to [−1, 1] (64 features); a noise predictor is trained with
:func:`models.deis.denoising_loss` under the linear VP schedule (β₀ = 0.1, β₁ = 20, t ~ U[t_min, 1]).
``model.arch`` picks the network: ``"resnet"`` = :class:`models.deis.networks.ResidualDenoiser` (residual
MLP, adaptive-LayerNorm time conditioning, learned skip g(t)·x; the default) or ``"time_mlp"`` = the plain
:class:`models.common.diffusion.TimeMLP` (the earlier baseline).

An exponential moving average of the weights (``model.ema_decay``; 0 = off) is kept in the train state's
``extra`` (``{"ema": params, "ema_count": int32}``), updated inside the jitted step from the parameters the
step differentiates (so it lags the optimizer by one update), with the usual warm-up
d_n = min(decay, (1 + n) / (10 + n)). It is checkpointed and restored with the rest of the state, so a
resumed run equals an uninterrupted one. Sampling (``eps_fn``) and the reported ``test_loss`` use the EMA
weights when EMA is on.

A fixed test split (``data.test_fraction``) gives the held-out denoising loss (fixed times and noise),
overall and per time bin (``T_BINS``), for the raw and the EMA weights; the same trained network is then
sampled by every DEIS sampler in the ``deis/digits`` claim.
"""
from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from experiments.configs.common import require
from experiments.datasets import load_tabular
from experiments.tasks import Task, sample_batch
from models.common.diffusion import TimeMLP, VPSchedule
from models.deis import denoising_loss
from models.deis.networks import ResidualDenoiser

ARCHS = ("resnet", "time_mlp")
# time bins of the per-bin held-out loss; the last one is where the first sampler step evaluates ε_θ
T_BINS = ((0.0, 0.1), (0.1, 0.3), (0.3, 0.6), (0.6, 0.9), (0.9, 1.0))


def split_digits(path: str | None, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                                np.ndarray]:
  """``(x_train, y_train, x_test, y_test)``, images in [−1, 1], a seeded random split."""
  x, y = load_tabular("digits", path or None)
  order = np.random.default_rng(seed).permutation(len(x))
  n_test = int(round(test_fraction * len(x)))
  te, tr = order[:n_test], order[n_test:]
  x = 2.0 * x - 1.0
  return x[tr], y[tr], x[te], y[te]


def build_network(m: Any):
  """The noise predictor named by ``config.model``."""
  if m.arch == "resnet":
    return ResidualDenoiser(width=m.width, depth=m.depth, mult=m.mult, emb_dim=m.emb_dim, skip=m.skip)
  return TimeMLP(hidden=m.width, depth=m.depth, emb_dim=m.emb_dim)


def ema_update(ema: Any, count: jax.Array, params: Any, decay: float) -> tuple[Any, jax.Array]:
  """One EMA step with warm-up: d = min(decay, (1 + n) / (10 + n)); returns ``(ema, n + 1)``."""
  d = jnp.minimum(decay, (1.0 + count) / (10.0 + count))
  ema = jax.tree.map(lambda e, p: d * e + (1.0 - d) * jax.lax.stop_gradient(p), ema, params)
  return ema, count + 1


class DigitsDiffusion(Task):
  """Denoising (ε-prediction) training of a time-conditioned noise predictor on digits."""

  @classmethod
  def validate(cls, config: Any) -> None:
    m, d = config.model, config.data
    require(m.arch in ARCHS, "model.arch", f"one of {ARCHS}", m.arch)
    for f in ("width", "depth", "mult", "emb_dim"):
      require(isinstance(m[f], int) and m[f] > 0, f"model.{f}", "a positive int", m[f])
    require(m.emb_dim % 2 == 0, "model.emb_dim", "an even int", m.emb_dim)
    require(isinstance(m.skip, bool), "model.skip", "a bool", m.skip)
    require(0.0 <= m.ema_decay < 1.0, "model.ema_decay", "a float in [0, 1) (0 = no EMA)", m.ema_decay)
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
    self.model = build_network(m)
    self.use_ema = m.ema_decay > 0
    x_eval = jnp.asarray(self.x_test[:d.eval_size], jnp.float32)
    n = x_eval.shape[0]
    # fixed times: the first copy of the eval set at t ~ U[t_min, 1] (the training distribution), then
    # one copy per bin of T_BINS at t ~ U[bin]; fixed noise. One network call for all of them.
    kt, ke = jax.random.split(jax.random.PRNGKey(12345))
    u = np.asarray(jax.random.uniform(kt, (1 + len(T_BINS), n)))
    lo = np.array([m.t_min] + [max(a, m.t_min) for a, _ in T_BINS], np.float32)[:, None]
    hi = np.array([1.0] + [b for _, b in T_BINS], np.float32)[:, None]
    t_eval = jnp.asarray((lo + (hi - lo) * u).reshape(-1))
    xt_eval, eps_eval = jax.jit(self.schedule.marginal)(ke, jnp.tile(x_eval, (1 + len(T_BINS), 1)), t_eval)
    names = ["test_loss"] + [f"test_loss_t{a:.1f}-{b:.1f}" for a, b in T_BINS]

    def eval_losses(p):
      per = jnp.mean((self.model.apply({"params": p}, xt_eval, t_eval) - eps_eval) ** 2, axis=-1)
      per = per.reshape(1 + len(T_BINS), n).mean(axis=1)
      return {k: per[i] for i, k in enumerate(names)}

    self._eval = jax.jit(eval_losses)

  def sampling_params(self, params, extra):
    """The weights used for sampling: the EMA when it is on, else ``params``."""
    return extra["ema"] if self.use_ema else params

  def eps_fn(self, params):
    """``(x: [B, 64], t: scalar or [B]) -> [B, 64]`` for the samplers."""
    return lambda x, t: self.model.apply({"params": params}, x, jnp.broadcast_to(t, x.shape[:1]))

  def init(self, key):
    params = self.model.init(key, jnp.zeros((2, 64)), jnp.zeros((2,)))["params"]
    extra = {"ema": jax.tree.map(jnp.copy, params), "ema_count": jnp.zeros((), jnp.int32)} if self.use_ema else {}
    return params, extra

  def loss(self, params, extra, batch, key):
    loss, _ = denoising_loss(lambda x, t: self.model.apply({"params": params}, x, t), self.schedule,
                             batch["x"], key, t_min=self.config.model.t_min)
    if self.use_ema:
      ema, count = ema_update(extra["ema"], extra["ema_count"], params, self.config.model.ema_decay)
      extra = {"ema": ema, "ema_count": count}
    return loss, ({}, extra)

  def train_batch(self, step: int):
    return sample_batch({"x": self.x_train}, self.config.seed, step, self.config.train.batch_size)

  def evaluate(self, params, extra):
    """Held-out ε-prediction loss (fixed noise and times), overall and per t bin; ``test_loss*`` are of
    the sampling weights (EMA when on), ``raw_test_loss*`` of the raw weights."""
    out = {k: float(v) for k, v in self._eval(self.sampling_params(params, extra)).items()}
    if self.use_ema:
      out.update({f"raw_{k}": float(v) for k, v in self._eval(params).items()})
    return out


def classifier_features(x_train: np.ndarray, y_train: np.ndarray, *, max_iter: int, seed: int
                        ) -> tuple[Callable[[np.ndarray], np.ndarray], Any]:
  """The feature map of the ``deis/digits`` Fréchet distance: the live hidden ReLUs of a 32-unit sklearn MLP
  classifier fitted on the training digits (dead units are constant: dropped, they make covariances
  singular). Returns ``(features: [n, 64] -> [n, F] float64, classifier)``."""
  import warnings

  from sklearn.neural_network import MLPClassifier
  with warnings.catch_warnings():   # a short max_iter stops early (ConvergenceWarning)
    warnings.simplefilter("ignore")
    clf = MLPClassifier(hidden_layer_sizes=(32,), max_iter=max_iter, random_state=seed).fit(x_train, y_train)
  relu = lambda x: np.maximum(np.asarray(x, np.float64) @ clf.coefs_[0] + clf.intercepts_[0], 0.0)
  alive = relu(x_train).std(0) > 0
  return (lambda x: relu(x)[:, alive]), clf
