"""The ReLU ANN that is converted, the SNN built on ``models.common.spiking.SpikingMLP``, the loss and metrics.

Both networks share one parameter layout (``kernel_i [D, H]``, ``bias_i [H]``; the SNN adds scalar ``theta_i`` and
``leak_i`` per spiking layer), so conversion copies the weights and adds thresholds and leaks.
"""
from __future__ import annotations

import numbers
from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from models.common import spiking

_PKG = "models.iir_snn"


class ANNMLP(nn.Module):
  """ReLU MLP ``features[:-1]`` hidden widths, ``features[-1]`` classes, dropout after each hidden ReLU.

  ``__call__(x [B, D], *, deterministic=True) -> logits [B, C]``; RNG stream ``dropout`` when training.
  """
  features: Sequence[int]
  dropout: float = 0.0
  use_bias: bool = True
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, *, deterministic: bool = True):
    if len(self.features) < 1:
      raise ValueError(f"{_PKG}.ANNMLP: features: expected at least one layer, got {self.features!r}")
    x = jnp.asarray(x)
    if x.ndim != 2 or not jnp.issubdtype(x.dtype, jnp.floating):
      raise ValueError(f"{_PKG}.ANNMLP: x: expected a floating [B, D] array, got {x.dtype}{list(x.shape)}")
    h, width = x, x.shape[-1]
    for i, f in enumerate(self.features):
      w = self.param(f"kernel_{i}", nn.initializers.lecun_normal(), (width, f), self.param_dtype)
      h = h @ w.astype(h.dtype)
      if self.use_bias:
        h = h + self.param(f"bias_{i}", nn.initializers.zeros, (f,), self.param_dtype).astype(h.dtype)
      if i < len(self.features) - 1:
        h = nn.relu(h)
        h = nn.Dropout(self.dropout, deterministic=deterministic)(h)
      width = f
    return h


def snn_model(features: Sequence[int], timesteps: int, *, dropout: float = 0.0, gamma: float = 0.3,
              use_bias: bool = True, theta_init: float = 1.0, leak_init: float = 1.0) -> spiking.SpikingMLP:
  """The paper's SNN: LIF with soft reset, direct encoding, summed readout, learnable per-layer θ and λ."""
  if isinstance(timesteps, bool) or not isinstance(timesteps, numbers.Integral) or timesteps < 1:
    raise ValueError(f"{_PKG}.snn_model: timesteps: expected an int >= 1, got {timesteps!r}")
  return spiking.SpikingMLP(features=tuple(features), timesteps=int(timesteps), neuron="lif", encoding="direct",
                            gamma=gamma, dropout=dropout, use_bias=use_bias, theta_init=theta_init,
                            leak_init=leak_init)


def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
  """Mean CE(softmax(logits), labels) in float32 (or wider); ``logits [B, C]``, integer ``labels [B]``."""
  logits, labels = jnp.asarray(logits), jnp.asarray(labels)
  if logits.ndim != 2:
    raise ValueError(f"{_PKG}.cross_entropy: logits: expected [B, C], got shape {logits.shape}")
  if labels.shape != logits.shape[:1] or not jnp.issubdtype(labels.dtype, jnp.integer):
    raise ValueError(f"{_PKG}.cross_entropy: labels: expected integer [{logits.shape[0]}], got "
                     f"{labels.dtype}{list(labels.shape)}")
  logp = jax.nn.log_softmax(logits.astype(jnp.promote_types(logits.dtype, jnp.float32)), axis=-1)
  return -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=-1))


def accuracy(logits: jax.Array, labels: jax.Array) -> jax.Array:
  """Fraction of rows whose arg-max equals the label."""
  logits, labels = jnp.asarray(logits), jnp.asarray(labels)
  if logits.ndim != 2 or labels.shape != logits.shape[:1]:
    raise ValueError(f"{_PKG}.accuracy: labels: expected shape {logits.shape[:1]} for logits {logits.shape}, got "
                     f"{labels.shape}")
  return jnp.mean((jnp.argmax(logits, axis=-1) == labels).astype(jnp.float32))


def spikes_per_neuron(out: spiking.MLPOutput) -> jax.Array:
  """Spikes per spiking neuron per inference (all T steps), averaged over the batch: the energy proxy."""
  if not isinstance(out, spiking.MLPOutput):
    raise TypeError(f"{_PKG}.spikes_per_neuron: out: expected a models.common.spiking.MLPOutput, got "
                    f"{type(out).__name__}")
  total = sum(jnp.sum(c, axis=-1) for c in out.spike_counts)
  width = sum(c.shape[-1] for c in out.spike_counts)
  return jnp.mean(total) / width
