"""Certified training of a ReLU MLP on digits (paper 17, Mao et al., "Understanding Certified Training with Interval
Bound Propagation", ICLR 2024): standard, PGD, IBP or SABR training (``config.model.method``), evaluated by
natural, PGD and IBP-certified accuracy and the local propagation tightness on held-out digits.

ε (and κ for IBP) ramp linearly between the fractions ``data.ramp_start`` and ``data.ramp_end`` of training
(official: epochs 1 → 81 of 160); the current ε and κ ride in the batch (one value per row), so a resumed run
sees exactly the schedule of an uninterrupted one.
"""
from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from experiments.configs.common import require
from experiments.datasets import load_tabular
from experiments.tasks import Task
from models.ibp_tightness import INITS, METHODS, CertMLP, layers_from_params, robustness_metrics, training_loss


def _ramp(step: int, total: int, start: float, end: float, a: float, b: float) -> float:
  s0, s1 = start * total, end * total
  t = min(max((step - s0) / max(s1 - s0, 1e-9), 0.0), 1.0)
  return a + (b - a) * t


@functools.partial(jax.jit, static_argnames=("eps", "pgd_steps"))
def _robustness(params, x, y, key, *, eps, pgd_steps):
  """The evaluation program, jitted once per (shapes, ε, PGD steps): the four methods of a sweep share it."""
  return robustness_metrics(layers_from_params(params), x, y, eps, key, pgd_steps=pgd_steps)


class CertifiedMLP(Task):
  """``config.model.method`` ∈ standard | pgd | ibp | sabr on an MLP 64-w-…-10 (digits in [0, 1])."""

  @classmethod
  def validate(cls, config: Any) -> None:
    m, d = config.model, config.data
    require(m.method in METHODS, "model.method", f"one of {METHODS}", m.method)
    require(isinstance(m.widths, tuple) and len(m.widths) >= 1 and all(isinstance(w, int) and w > 0 for w in m.widths),
            "model.widths", "a non-empty tuple of positive ints", m.widths)
    require(m.init_scheme in INITS + ("auto",), "model.init_scheme", f"one of {INITS + ('auto',)}", m.init_scheme)
    require(d.eps > 0, "data.eps", "a positive float", d.eps)
    require(d.eps_test > 0, "data.eps_test", "a positive float", d.eps_test)
    require(0 < d.lam < 1, "data.lam", "a float in (0, 1)", d.lam)
    require(0 <= d.kappa_start <= 1, "data.kappa_start", "a float in [0, 1]", d.kappa_start)
    require(0 <= d.kappa_end <= 1, "data.kappa_end", "a float in [0, 1]", d.kappa_end)
    require(0 <= d.ramp_start <= d.ramp_end <= 1, "data.ramp_start", "0 <= ramp_start <= ramp_end <= 1",
            (d.ramp_start, d.ramp_end))
    require(isinstance(d.pgd_steps, int) and d.pgd_steps >= 1, "data.pgd_steps", "a positive int", d.pgd_steps)
    require(isinstance(d.eval_pgd_steps, int) and d.eval_pgd_steps >= 1, "data.eval_pgd_steps", "a positive int",
            d.eval_pgd_steps)
    require(d.fast_reg >= 0, "data.fast_reg", "a float >= 0", d.fast_reg)
    require(0 < d.test_fraction < 1, "data.test_fraction", "a float in (0, 1)", d.test_fraction)
    require(isinstance(d.n_eval, int) and d.n_eval >= 0, "data.n_eval", "an int >= 0 (0 = the whole test split)",
            d.n_eval)

  def __init__(self, config: Any):
    super().__init__(config)
    m, d = config.model, config.data
    x, y = load_tabular("digits", d.path or None)
    if x.min() < 0 or x.max() > 1:
      raise ValueError(f"data.path: expected features in [0, 1], got min {x.min():g} max {x.max():g}")
    perm = np.random.default_rng(d.split_seed).permutation(len(y))
    n_test = int(round(d.test_fraction * len(y)))
    self.x_test, self.y_test = x[perm[:n_test]], y[perm[:n_test]]
    if d.n_eval:
      self.x_test, self.y_test = self.x_test[:d.n_eval], self.y_test[:d.n_eval]
    self.x_train, self.y_train = x[perm[n_test:]], y[perm[n_test:]]
    init = m.init_scheme if m.init_scheme != "auto" else ("fast" if m.method in ("ibp", "sabr") else "default")
    self.num_classes = int(y.max()) + 1
    self.model = CertMLP(widths=tuple(m.widths), num_classes=self.num_classes, init_scheme=init)
    kw = dict(eps_max=float(d.eps), lam=float(d.lam), pgd_steps=int(d.pgd_steps),
              fast_reg=float(d.fast_reg) if m.method in ("ibp", "sabr") else 0.0)
    self._loss_kw = kw
    self._eval = functools.partial(_robustness, eps=float(d.eps_test), pgd_steps=int(d.eval_pgd_steps))

  def init(self, key):
    return self.model.init(key, jnp.asarray(self.x_train[:2]))["params"], {}

  def loss(self, params, extra, batch, key):
    layers = layers_from_params(params)
    eps, kappa = jnp.mean(batch["eps"]), jnp.mean(batch["kappa"])
    loss, metrics = training_loss(self.config.model.method, layers, batch["x"], batch["y"], key, eps=eps,
                                  kappa=kappa, **self._loss_kw)
    logits = self.model.apply({"params": params}, batch["x"])
    metrics = {**metrics, "accuracy": jnp.mean(jnp.argmax(logits, -1) == batch["y"]), "eps": eps, "kappa": kappa}
    return loss, (metrics, extra)

  def train_batch(self, step: int):
    c, d = self.config, self.config.data
    rng = np.random.default_rng((c.seed, step))
    idx = rng.choice(len(self.y_train), c.train.batch_size, replace=False)
    b = c.train.batch_size
    eps = _ramp(step, c.train.total_steps, d.ramp_start, d.ramp_end, 0.0, d.eps)
    kappa = _ramp(step, c.train.total_steps, d.ramp_start, d.ramp_end, d.kappa_start, d.kappa_end)
    return {"x": self.x_train[idx], "y": self.y_train[idx], "eps": np.full(b, eps, np.float32),
            "kappa": np.full(b, kappa, np.float32)}

  def evaluate(self, params, extra):
    """Test metrics: ``natural_accuracy``, ``pgd_accuracy``, ``certified_accuracy`` (IBP, at ``data.eps_test``),
    ``tightness`` (mean local τ of the elided margins) and ``log10_tightness`` (mean over inputs of log10 of the
    per-input mean τ)."""
    out = self._eval(params, jnp.asarray(self.x_test), jnp.asarray(self.y_test), jax.random.PRNGKey(12345))
    return {k: float(v) for k, v in out.items()}
