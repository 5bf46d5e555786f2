"""Multiple-instance learning on digits-bags (paper 15, Hopfield Networks is All You Need, Sec. 4.2).

A bag of sklearn 8x8 digits is positive iff it contains the target digit; an instance encoder is
followed by a set pooling (HopfieldPooling, or the mean / max / attention-MIL baselines) and a
linear head, trained with the binary cross-entropy. Bags are built from three disjoint image pools
(train / validation / test); the test metric is the ROC AUC on the test bags, and the validation
metrics serve model selection.
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from experiments.configs.common import require
from experiments.datasets import load_tabular, make_bags
from experiments.datasets.mil import split_instances
from theory.common.stats import roc_auc
from experiments.tasks import Task
from models.hopfield import MILClassifier

from models.hopfield import POOLINGS  # noqa: E402  (hopfield, mean, max, attention)


class HopfieldMIL(Task):
  """Digits-bags MIL; ``config.model.pooling`` picks the pooling."""

  @classmethod
  def validate(cls, config: Any) -> None:
    m, d = config.model, config.data
    require(m.pooling in POOLINGS, "model.pooling", f"one of {POOLINGS}", m.pooling)
    require(isinstance(m.hidden, int) and m.hidden > 0, "model.hidden", "a positive int", m.hidden)
    require(isinstance(m.num_heads, int) and m.num_heads > 0 and m.hidden % m.num_heads == 0,
            "model.num_heads", f"a positive divisor of model.hidden={m.hidden}", m.num_heads)
    require(0.0 <= m.dropout < 1.0, "model.dropout", "a float in [0, 1)", m.dropout)
    require(m.scaling is None or m.scaling > 0, "model.scaling", "None or a positive float", m.scaling)
    require(isinstance(m.update_steps_max, int) and m.update_steps_max >= 0, "model.update_steps_max",
            "an int >= 0 (0 = one update)", m.update_steps_max)
    require(isinstance(m.attention_hidden, int) and m.attention_hidden >= 0, "model.attention_hidden",
            "an int >= 0 (0 = model.hidden)", m.attention_hidden)
    require(isinstance(d.target, int) and 0 <= d.target <= 9, "data.target", "a digit 0..9", d.target)
    for f in ("n_train_bags", "n_val_bags", "n_test_bags"):
      require(isinstance(d[f], int) and d[f] > 0, f"data.{f}", "a positive int", d[f])
    require(d.n_train_bags >= config.train.batch_size, "data.n_train_bags",
            f">= train.batch_size={config.train.batch_size}", d.n_train_bags)
    require(d.mean_size >= 1, "data.mean_size", "a float >= 1", d.mean_size)
    require(d.std_size >= 0, "data.std_size", "a float >= 0", d.std_size)
    require(0 < d.test_fraction < 1, "data.test_fraction", "a float in (0, 1)", d.test_fraction)
    require(0 < d.val_fraction < 1 - d.test_fraction, "data.val_fraction",
            f"a float in (0, 1 - data.test_fraction={1 - d.test_fraction:g})", d.val_fraction)

  def __init__(self, config: Any):
    super().__init__(config)
    m, d = config.model, config.data
    x, y = load_tabular("digits", d.path or None)
    # three disjoint image pools: train / validation (model selection) / test
    x_tr, y_tr, x_te, y_te = split_instances(x, y, test_fraction=d.test_fraction, seed=config.seed)
    x_tr, y_tr, x_va, y_va = split_instances(x_tr, y_tr, test_fraction=d.val_fraction / (1 - d.test_fraction),
                                             seed=config.seed + 100)
    bag_kw = dict(target=d.target, mean_size=d.mean_size, std_size=d.std_size)
    self.train_bags = make_bags(x_tr, y_tr, n_bags=d.n_train_bags, seed=config.seed + 1, **bag_kw)
    self.val_bags = make_bags(x_va, y_va, n_bags=d.n_val_bags, seed=config.seed + 2, **bag_kw)
    self.test_bags = make_bags(x_te, y_te, n_bags=d.n_test_bags, seed=config.seed + 3, **bag_kw)
    self.model = MILClassifier(pooling=m.pooling, hidden=m.hidden, num_heads=m.num_heads,
                               dropout=m.dropout, scaling=m.scaling, hopfield_normalize=m.hopfield_normalize,
                               update_steps_max=m.update_steps_max,
                               attention_hidden=m.attention_hidden or None)
    self._predict = jax.jit(lambda p, x, mask: self.model.apply({"params": p}, x, mask, deterministic=True))

  def init(self, key):
    b = self.train_bags
    variables = self.model.init(key, jnp.asarray(b.x[:2]), jnp.asarray(b.mask[:2]), deterministic=True)
    return variables["params"], {}

  def loss(self, params, extra, batch, key):
    deterministic = self.config.model.dropout == 0.0
    logits = self.model.apply({"params": params}, batch["x"], batch["mask"], deterministic=deterministic,
                              rngs=None if deterministic else {"dropout": key})
    y = batch["y"].astype(jnp.float32)
    loss = optax.sigmoid_binary_cross_entropy(logits, y).mean()
    acc = jnp.mean((logits > 0) == (y > 0.5))
    return loss, ({"accuracy": acc}, extra)

  def train_batch(self, step: int):
    rng = np.random.default_rng((self.config.seed, step))
    idx = rng.choice(len(self.train_bags.y), self.config.train.batch_size, replace=False)
    b = self.train_bags
    return {"x": b.x[idx], "mask": b.mask[idx], "y": b.y[idx]}

  def evaluate(self, params, extra):
    """Test metrics (``auc``, ``accuracy``, ``loss``) and the same on validation bags (``val_*``)."""
    out = {}
    for prefix, b in (("", self.test_bags), ("val_", self.val_bags)):
      logits = np.asarray(self._predict(params, b.x, b.mask), np.float64)
      out[prefix + "auc"] = roc_auc(logits, b.y)
      out[prefix + "accuracy"] = float(np.mean((logits > 0) == (b.y == 1)))
      out[prefix + "loss"] = float(np.mean(np.logaddexp(0.0, logits) - b.y * logits))
    return out
