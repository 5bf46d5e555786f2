"""IIR-SNN (paper 11, Chowdhury, Rathi & Roy 2021) as a train_lib task: one run trains one network at one latency.

``model.kind = "ann"`` trains the ReLU MLP that is converted; ``"snn"`` trains the LIF SNN at ``model.timesteps`` by
surrogate-gradient BPTT on the weights, the per-layer thresholds θ and the leaks λ. A stage is initialised from
``model.init_params`` (an ``.npz`` written by :func:`save_params` from the previous run's parameters); with
``model.convert = True`` that file holds ANN parameters and the thresholds are found by the percentile search
(``models.iir_snn.convert``, on the first ``model.convert_batch`` training images). ``model.init_params = ""`` is a
random initialisation (the T = 1 from-scratch baseline). train_lib has no post-update hook, so λ <= 1 is enforced
by the straight-through clamp ``models.common.spiking.use_leak`` in the loss and evaluation (the network only ever
sees min(λ, 1)); the parameters saved for the next stage are clamped (:func:`save_params`).

Data: the sklearn 8x8 digits scaled to [0, 1]; ``data.name = "digits_noisy"`` (the harder variant) adds N(0, σ²)
pixel noise and occludes a fraction of the pixels (fixed by ``data.noise_seed``), before the split. Batches are
drawn without replacement as a function of (seed, step).
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import traverse_util

from experiments.configs.common import require
from experiments.datasets import load_tabular
from experiments.tasks import Task, sample_batch
from models import iir_snn as I
from models.common import spiking


def save_params(params: Any, path: str) -> None:
  """Writes a flat parameter dict to ``path`` (``.npz``), leaks clamped to <= 1 (the projection before a stage)."""
  flat = traverse_util.flatten_dict(jax.device_get(spiking.clamp_leak(params)), sep="/")
  np.savez(path, **{k: np.asarray(v) for k, v in flat.items()})


def load_params(path: str) -> dict:
  """Reads what :func:`save_params` wrote."""
  with np.load(path) as f:
    return traverse_util.unflatten_dict({k: jnp.asarray(f[k]) for k in f.files}, sep="/")


def load_data(config: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
  """``(x_train, y_train, x_test, y_test)`` of ``config.data`` split by ``config.seed``."""
  d = config.data
  x, y = load_tabular("digits", d.path or None)
  x = (x / 16.0).astype(np.float32) if x.max() > 1 else x.astype(np.float32)
  if d.name == "digits_noisy":
    x = I.corrupt(x, float(d.sigma), int(d.noise_seed), occlude=float(d.occlude))
  perm = np.random.default_rng(config.seed).permutation(len(x))
  n_te = int(round(d.test_fraction * len(x)))
  return x[perm[n_te:]], y[perm[n_te:]].astype(np.int32), x[perm[:n_te]], y[perm[:n_te]].astype(np.int32)


class IIRSNN(Task):
  """``config.model``: the network and its initialisation; ``config.data``: digits or the noisy variant."""

  @classmethod
  def validate(cls, config: Any) -> None:
    m, d = config.model, config.data
    require(m.kind in ("ann", "snn"), "model.kind", "'ann' or 'snn'", m.kind)
    require(len(tuple(m.hidden)) >= 1 and all(isinstance(h, int) and h > 0 for h in m.hidden), "model.hidden",
            "positive ints", m.hidden)
    require(isinstance(m.timesteps, int) and m.timesteps >= 1, "model.timesteps", "an int >= 1", m.timesteps)
    require(m.gamma > 0, "model.gamma", "a positive float", m.gamma)
    require(0 <= m.dropout < 1, "model.dropout", "a float in [0, 1)", m.dropout)
    require(m.theta_init > 0, "model.theta_init", "a threshold > 0", m.theta_init)
    require(0 < m.leak_init <= 1, "model.leak_init", "a leak in (0, 1]", m.leak_init)
    require(0 < m.percentile <= 100, "model.percentile", "a percentile in (0, 100]", m.percentile)
    require(m.scaling > 0, "model.scaling", "a positive float", m.scaling)
    require(isinstance(m.search_timesteps, int) and m.search_timesteps >= 1, "model.search_timesteps",
            "an int >= 1", m.search_timesteps)
    require(isinstance(m.convert_batch, int) and m.convert_batch >= 1, "model.convert_batch", "an int >= 1",
            m.convert_batch)
    require(not m.convert or (m.kind == "snn" and bool(m.init_params)), "model.convert",
            "True only with model.kind = 'snn' and an ANN model.init_params file", m.convert)
    require(m.kind == "snn" or not m.init_params, "model.init_params", "'' for model.kind = 'ann'", m.init_params)
    require(d.name in ("digits", "digits_noisy"), "data.name", "'digits' or 'digits_noisy'", d.name)
    require(d.sigma >= 0, "data.sigma", "a float >= 0", d.sigma)
    require(0 <= d.occlude < 1, "data.occlude", "a fraction in [0, 1)", d.occlude)
    require(0 < d.test_fraction < 1, "data.test_fraction", "a float in (0, 1)", d.test_fraction)
    n_train = 1797 - int(round(d.test_fraction * 1797))
    require(config.train.batch_size <= n_train, "train.batch_size", f"<= the {n_train} training digits",
            config.train.batch_size)

  def __init__(self, config: Any):
    super().__init__(config)
    m = config.model
    self.x_train, self.y_train, x_te, y_te = load_data(config)
    self.x_test, self.y_test = jnp.asarray(x_te), jnp.asarray(y_te)
    self.features = tuple(m.hidden) + (10,)
    if m.kind == "ann":
      self.model = I.ANNMLP(features=self.features, dropout=m.dropout)
    else:
      self.model = I.snn_model(self.features, m.timesteps, dropout=m.dropout, gamma=m.gamma,
                               theta_init=m.theta_init, leak_init=m.leak_init)
    self._start = load_params(m.init_params) if m.init_params else None
    self._eval = jax.jit(self._metrics)

  def _apply(self, params, x, *, train=False, key=None):
    rngs = {"dropout": key} if train else {}
    if self.config.model.kind == "ann":
      return self.model.apply({"params": params}, x, deterministic=not train, rngs=rngs), None
    return self.model.apply({"params": spiking.use_leak(params)}, x, deterministic=not train, rngs=rngs,
                            return_aux=True)

  def _metrics(self, params):
    logits, aux = self._apply(params, self.x_test)
    out = {"accuracy": I.accuracy(logits, self.y_test), "ce": I.cross_entropy(logits, self.y_test)}
    if aux is not None:
      out["spikes_per_neuron"] = I.spikes_per_neuron(aux)
    return out

  def init(self, key):
    m = self.config.model
    if self._start is None:
      return self.model.init(key, jnp.asarray(self.x_train[:2]))["params"], {}
    if m.convert:
      return I.convert(self._start, jnp.asarray(self.x_train[:m.convert_batch]), p=float(m.percentile),
                       search_timesteps=m.search_timesteps, scaling=float(m.scaling)), {}
    return jax.tree.map(jnp.asarray, self._start), {}

  def loss(self, params, extra, batch, key):
    logits, aux = self._apply(params, batch["x"], train=True, key=key)
    value = I.cross_entropy(logits, batch["y"])
    metrics = {"accuracy": I.accuracy(logits, batch["y"])}
    if aux is not None:
      metrics["spikes_per_neuron"] = I.spikes_per_neuron(aux)
    return value, (metrics, extra)

  def train_batch(self, step: int):
    return sample_batch({"x": self.x_train, "y": self.y_train}, self.config.seed, step, self.config.train.batch_size)

  def evaluate(self, params, extra):
    return {k: float(v) for k, v in self._eval(params).items()}
