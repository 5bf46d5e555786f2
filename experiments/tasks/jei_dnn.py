"""JEI-DNN (paper 01, Regol, Chataoui, Coates, ICLR 2024) as a train_lib task: the bi-level alternation.

``__init__`` builds what JEI-DNN starts from, as deterministic functions of ``config.seed``: difficulty digits
(``models.jei_dnn.difficulty_digits``; ``data.path`` reads a user .npz/.csv instead of the bundled digits), the
disjoint train / val / cal / test split, a residual-MLP backbone trained then frozen (its features are precomputed)
and the warmed-up IMs (CE_final + sum_l (L - l) CE_l with per-IM early stopping). train_lib then runs the
alternation through its phases: phase 0 (IMs) for ``model.phase_steps`` steps, phase 1 (gates) for as many, and so
on (``models.jei_dnn.phase_loss``); each phase's parameters keep their own optimizer state. PyTorch-style weight
decay is the term 0.5 wd |theta|^2 in the loss (with SGD this is exactly ``torch.optim.SGD(weight_decay=wd)``).
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
from models import jei_dnn as J


class JEIDNNTask(Task):
  """``config.model``: the network, lambda, the phases; ``config.data``: the digits and the difficulty mode."""
  num_phases = 2

  @classmethod
  def validate(cls, config: Any) -> None:
    m, d = config.model, config.data
    for f in ("width", "bottleneck", "n_blocks", "num_exits", "backbone_steps", "warmup_epochs", "phase_steps"):
      require(isinstance(m[f], int) and m[f] >= 1, f"model.{f}", "a positive int", m[f])
    require(2 <= m.num_exits <= m.n_blocks, "model.num_exits", f"an int in [2, n_blocks={m.n_blocks}]", m.num_exits)
    require(m.lam >= 0, "model.lam", "a trade-off >= 0", m.lam)
    require(m.weight_decay >= 0, "model.weight_decay", "a float >= 0", m.weight_decay)
    require(d.mode in ("noise", "occlusion"), "data.mode", "'noise' or 'occlusion'", d.mode)
    require(config.train.batch_size <= 800, "train.batch_size", "<= 800 (the digits' train split)",
            config.train.batch_size)

  def __init__(self, config: Any):
    super().__init__(config)
    m, d = config.model, config.data
    self.model = J.JEIDNN(width=m.width, bottleneck=m.bottleneck, n_blocks=m.n_blocks, num_exits=m.num_exits,
                          num_classes=10)
    self.costs, self.data, params = _prepare(self.model, config.seed, d.path, d.mode, m.backbone_steps,
                                             m.warmup_epochs)
    self.frozen = {"backbone": params["backbone"]}
    self.start = {"ims": params["ims"], "gates": params["gates"]}
    self.val = {k: jnp.asarray(v) for k, v in self.data["val"].items()}
    self.source = f"digits ({d.path or 'scikit-learn bundle'}), {d.mode} difficulty"

  def phase(self, step: int) -> int:
    return (step // self.config.model.phase_steps) % 2

  def phase_labels(self, params):
    return {"ims": jax.tree.map(lambda _: J.IM_PHASE, params["ims"]),
            "gates": jax.tree.map(lambda _: J.GATE_PHASE, params["gates"])}

  def init(self, key):
    return jax.tree.map(jnp.asarray, self.start), {}

  def loss(self, params, extra, batch, key, phase=J.IM_PHASE):
    m = self.config.model
    value, metrics = J.phase_loss(self.model, {**self.frozen, **params}, batch["feats"], batch["final"], batch["y"],
                                  phase=phase, lam=m.lam, costs=self.costs, val=self.val, official=m.official)
    if m.weight_decay:
      value = value + 0.5 * m.weight_decay * sum(jnp.sum(a ** 2) for a in jax.tree.leaves(params))
    return value, (metrics, extra)

  def train_batch(self, step: int):
    tr = self.data["train"]
    rows = np.random.default_rng((self.config.seed, step)).choice(len(tr["y"]), self.config.train.batch_size,
                                                                   replace=False)
    return {k: v[rows] for k, v in tr.items()}

  def evaluate(self, params, extra):
    te = self.data["test"]
    probs, gates = J.exit_outputs(self.model, {**self.frozen, **params}, te["feats"], te["final"])
    ex = np.asarray(J.gated_exit(gates))
    return J.policy_metrics(probs, ex, te["y"], np.asarray(self.costs))


@functools.lru_cache(maxsize=4)
def _prepare(model, seed, path, mode, backbone_steps, warmup_epochs):
  """The task's starting point (a deterministic function of its arguments, so a resumed run rebuilds the same one;
  cached so that the runs of one process share it): data, costs, the frozen backbone and the warmed-up IMs."""
  x, y = load_tabular("digits", path or None)
  xs, ys, _ = J.difficulty_digits(x, y, seed, mode=mode)
  sp = J.split_indices(len(xs), seed)
  costs = J.model_costs(model, xs.shape[1])
  params = J.train_backbone(model, xs[sp["train"]], ys[sp["train"]], seed=seed, steps=backbone_steps)
  fe, fz = J.backbone_features(model, params, xs)
  data = {k: {"feats": fe[r], "final": fz[r], "y": ys[r]} for k, r in sp.items()}
  params, _ = J.train_ims(model, params, data["train"], data["val"], loss="warmup", seed=seed, max_epochs=warmup_epochs)
  return costs, data, jax.tree.map(np.asarray, params)
