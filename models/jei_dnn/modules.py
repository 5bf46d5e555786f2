"""Flax modules of JEI-DNN (Regol, Chataoui, Coates, ICLR 2024, arXiv:2310.09163).

* :class:`ResMLPBackbone`: the small-scale stand-in for the frozen pretrained backbone (a residual MLP: stem
  Dense(width), ``n_blocks`` bottleneck blocks h <- h + W2 relu(W1 h), a linear head); sows nothing, returns the
  feature after every block.
* :class:`ExitHeads`: the intermediate inference modules IM_l, one linear softmax head per gated exit.
* :class:`UncertaintyGates`: GM_l, a 4 -> 1 logistic layer per gated exit on the detached statistics of IM_l's
  prediction (:func:`models.jei_dnn.core.gate_features`).
* :class:`JEIDNN`: backbone + IMs + gates. ``features`` (the frozen part, computed once), ``exits`` (IMs and gates
  on those features) and ``__call__`` (both). Parameters ``{"backbone", "ims", "gates"}``.
"""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from models.jei_dnn.core import NUM_GATE_FEATURES, gate_features

__all__ = ["ResMLPBackbone", "ExitHeads", "UncertaintyGates", "JEIDNN", "exit_blocks", "resmlp_macs"]


def exit_blocks(n_blocks: int, num_exits: int) -> tuple[int, ...]:
  """The blocks (1-based) after which the ``num_exits`` exits sit: evenly spread, the last after block ``n_blocks``."""
  if not isinstance(n_blocks, int) or n_blocks < 1:
    raise ValueError(f"exit_blocks: n_blocks: expected a positive int, got {n_blocks!r}")
  if not isinstance(num_exits, int) or not 2 <= num_exits <= n_blocks:
    raise ValueError(f"exit_blocks: num_exits: expected an int in [2, n_blocks={n_blocks}] (at most one exit per "
                     f"block), got {num_exits!r}")
  return tuple(round((j + 1) * n_blocks / num_exits) for j in range(num_exits))


def resmlp_macs(in_features: int, width: int, bottleneck: int, n_blocks: int, num_exits: int, num_classes: int):
  """Exact multiply-adds ``(block_macs [L], head_macs [L], gate_macs [L-1])`` of :class:`JEIDNN` per sample.

  Dense layers only (bias additions, the ReLU and the gate statistics are not multiply-adds): stem
  in_features x width, each block 2 x width x bottleneck, each head width x num_classes, each gate 4.
  ``block_macs[l]`` covers the stem (l = 0) and the blocks between exit l-1 and exit l.
  """
  pos = exit_blocks(n_blocks, num_exits)
  per_block = 2 * width * bottleneck
  prev, blocks = 0, []
  for j, b in enumerate(pos):
    blocks.append((b - prev) * per_block + (in_features * width if j == 0 else 0))
    prev = b
  return blocks, [width * num_classes] * num_exits, [NUM_GATE_FEATURES] * (num_exits - 1)


class ResMLPBackbone(nn.Module):
  """Residual MLP. ``x: [B, F]`` -> ``(features [B, n_blocks, width], logits [B, num_classes])``."""
  width: int = 128
  bottleneck: int = 32
  n_blocks: int = 6
  num_classes: int = 10
  dtype: jnp.dtype | None = None
  param_dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x):
    if x.ndim != 2:
      raise ValueError(f"ResMLPBackbone: x: expected [B, F], got shape {x.shape}")
    dense = lambda n, name, scale=1.0: nn.Dense(n, dtype=self.dtype, param_dtype=self.param_dtype, name=name,
                                                kernel_init=nn.initializers.variance_scaling(scale, "fan_in",
                                                                                             "truncated_normal"))
    h = dense(self.width, "stem")(x)
    feats = []
    for i in range(self.n_blocks):
      z = nn.relu(dense(self.bottleneck, f"block{i}_in", 2.0)(h))
      h = h + dense(self.width, f"block{i}_out", 1.0 / self.n_blocks)(z)
      feats.append(h)
    logits = dense(self.num_classes, "head")(h)
    return jnp.stack(feats, 1), logits.astype(jnp.promote_types(logits.dtype, jnp.float32))


class ExitHeads(nn.Module):
  """``num_heads`` linear heads: ``h: [B, num_heads, D]`` -> logits ``[B, num_heads, num_classes]`` (float32)."""
  num_heads: int
  num_classes: int
  param_dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, h):
    if h.ndim != 3 or h.shape[1] != self.num_heads:
      raise ValueError(f"ExitHeads: h: expected [B, {self.num_heads}, D], got shape {h.shape}")
    d = h.shape[-1]
    w = self.param("kernel", nn.initializers.lecun_normal(batch_axis=(0,)), (self.num_heads, d, self.num_classes),
                   self.param_dtype)
    b = self.param("bias", nn.initializers.zeros, (self.num_heads, self.num_classes), self.param_dtype)
    out = jnp.einsum("bld,ldk->blk", h, w) + b
    return out.astype(jnp.promote_types(out.dtype, jnp.float32))


class UncertaintyGates(nn.Module):
  """One 4 -> 1 logistic gate per exit: ``probs: [B, G, K]`` -> gate logits ``[B, G]`` (inputs detached)."""
  num_gates: int
  param_dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, probs):
    if probs.ndim != 3 or probs.shape[1] != self.num_gates:
      raise ValueError(f"UncertaintyGates: probs: expected [B, {self.num_gates}, K], got shape {probs.shape}")
    u = gate_features(probs)                                          # [B, G, 4], stop-gradient
    w = self.param("kernel", nn.initializers.zeros, (self.num_gates, NUM_GATE_FEATURES), self.param_dtype)
    b = self.param("bias", nn.initializers.zeros, (self.num_gates,), self.param_dtype)
    return jnp.einsum("bgf,gf->bg", u, w) + b


class JEIDNN(nn.Module):
  """Backbone, IMs after the exit blocks, gates, and the backbone's head as the last exit.

  ``__call__(x)`` returns ``{"logits": [B, L, K], "gate_logits": [B, L-1]}``; ``features(x)`` returns
  ``(feats [B, L, width], final_logits [B, K])`` (the backbone part, frozen in JEI-DNN) and
  ``exits(feats, final_logits)`` the dict from those.
  """
  width: int = 128
  bottleneck: int = 32
  n_blocks: int = 6
  num_exits: int = 6
  num_classes: int = 10

  def setup(self):
    self.positions = exit_blocks(self.n_blocks, self.num_exits)
    self.backbone = ResMLPBackbone(self.width, self.bottleneck, self.n_blocks, self.num_classes)
    self.ims = ExitHeads(self.num_exits - 1, self.num_classes)
    self.gates = UncertaintyGates(self.num_exits - 1)

  def features(self, x):
    feats, logits = self.backbone(x)
    return feats[:, jnp.asarray(self.positions) - 1], logits

  def exits(self, feats, final_logits):
    im = self.ims(feats[:, :-1])
    logits = jnp.concatenate([im, final_logits[:, None].astype(im.dtype)], 1)
    gate_logits = self.gates(jax.nn.softmax(im, -1))
    return {"logits": logits, "gate_logits": gate_logits}

  def __call__(self, x):
    return self.exits(*self.features(x))
