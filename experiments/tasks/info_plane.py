"""The information-plane network of paper 18 (Shwartz-Ziv & Tishby 2017, arXiv:1703.00810) as a train_lib task:
the 12-10-7-5-4-3-2 tanh (or ReLU) network with a 2-way softmax output, cross-entropy on the 12-bit data set,
truncated-normal init with std 1/sqrt(fan_in), zero biases (``theory.info_plane.init_network``).

Batches follow the reference code's epochs: the training rows (a ``data.train_fraction`` split drawn from
``data.split_seed``) are permuted once per epoch (numpy generator of (seed, epoch)) and cut into
ceil(n_train / batch) minibatches, the last one wrapping around to the start of the permutation; the batch of a
step is a function of the step alone, so a resumed run sees the batches of an uninterrupted one. ``evaluate``
reports the train/test accuracy and the binned I(X;T_l), I(T_l;Y) (bits, all 4096 patterns, ``data.n_bins`` bins)
of every layer: the information plane at the end of training.
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from experiments.configs.common import require
from experiments.tasks import Task
from theory import info_plane as IP


def _to_tuple(params):
  return tuple((params[f"layer{l}"]["w"], params[f"layer{l}"]["b"]) for l in range(len(params)))


class InfoPlaneMLP(Task):
  """``config.model.activation`` ∈ tanh | relu, ``config.model.widths`` (12, ..., 2); ``config.data`` the split
  and the binning."""

  @classmethod
  def validate(cls, config: Any) -> None:
    m, d = config.model, config.data
    require(m.activation in IP.ACTIVATIONS, "model.activation", f"one of {IP.ACTIVATIONS}", m.activation)
    w = m.widths
    require(isinstance(w, tuple) and len(w) >= 2 and all(isinstance(v, int) and v >= 1 for v in w) and w[0] == 12
            and w[-1] == 2, "model.widths", "a tuple of positive ints from the 12 input bits to the 2-way output", w)
    require(isinstance(d.n_bins, int) and d.n_bins >= 2, "data.n_bins", "an int >= 2", d.n_bins)
    require(max(w[1:]) <= IP.max_code_width(d.n_bins), "model.widths",
            f"layer widths <= {IP.max_code_width(d.n_bins)} (int64 row codes with data.n_bins = {d.n_bins})", w)
    require(d.relu_binning in IP.RELU_BINNINGS, "data.relu_binning", f"one of {IP.RELU_BINNINGS}", d.relu_binning)
    require(0 < d.train_fraction < 1, "data.train_fraction", "a float in (0, 1)", d.train_fraction)
    require(isinstance(d.split_seed, int) and d.split_seed >= 0, "data.split_seed", "a non-negative int",
            d.split_seed)
    nt = IP.n_train(2 ** IP.N_BITS, d.train_fraction)
    require(config.train.batch_size <= nt, "train.batch_size", f"<= the {nt} training rows", config.train.batch_size)

  def __init__(self, config: Any):
    super().__init__(config)
    d = config.data
    self.data = IP.twelve_bit_dataset()
    mask = np.asarray(IP.train_mask(jax.random.PRNGKey(d.split_seed), 2 ** IP.N_BITS, float(d.train_fraction)))
    self.mask = mask
    self.idx_train = np.flatnonzero(mask)
    self.x = self.data.x.astype(np.float32)
    self.y = self.data.y.astype(np.int32)
    act = config.model.activation
    self._logits = jax.jit(lambda p, x: IP.logits(_to_tuple(p), x, act))

  def init(self, key):
    p = IP.init_network(key, tuple(self.config.model.widths))
    return {f"layer{l}": {"w": w, "b": b} for l, (w, b) in enumerate(p)}, {}

  def loss(self, params, extra, batch, key):
    p = _to_tuple(params)
    loss = IP.cross_entropy(p, batch["x"], batch["y"], self.config.model.activation)
    acc = jnp.mean(jnp.argmax(IP.logits(p, batch["x"], self.config.model.activation), -1) == batch["y"])
    return loss, ({"accuracy": acc}, extra)

  def train_batch(self, step: int):
    b = self.config.train.batch_size
    nt = len(self.idx_train)
    nb = -(-nt // b)
    epoch, i = divmod(int(step), nb)
    perm = self.idx_train[np.random.default_rng((self.config.seed, epoch)).permutation(nt)]
    rows = perm[np.arange(i * b, (i + 1) * b) % nt]
    return {"x": self.x[rows], "y": self.y[rows]}

  def evaluate(self, params, extra):
    """``train_accuracy``, ``test_accuracy`` and per layer l = 1..L ``ixt_T{l}``, ``ity_T{l}`` (binned, bits)."""
    pred = np.asarray(jnp.argmax(self._logits(params, jnp.asarray(self.x)), -1))
    ok = pred == self.y
    out = {"train_accuracy": float(ok[self.mask].mean()), "test_accuracy": float(ok[~self.mask].mean())}
    d = self.config.data
    ixt, ity = IP.layer_information(_to_tuple(params), self.config.model.activation, d.n_bins, d.relu_binning)
    for l, (a, b) in enumerate(zip(ixt, ity), start=1):
      out[f"ixt_T{l}"], out[f"ity_T{l}"] = float(a), float(b)
    return out
