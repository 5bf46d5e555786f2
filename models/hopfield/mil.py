"""Multiple-instance-learning (MIL) bag classifier with pluggable set pooling.

Used for the MIL experiments of Ramsauer et al., "Hopfield Networks is All You Need", ICLR 2021,
arXiv:2008.02217 (HopfieldPooling on bags, paper Sec. 4 / App. A.5), against the baselines:

* ``mean`` / ``max``: masked mean / max over the instance embeddings;
* ``attention``: gated attention MIL pooling of Ilse, Tomczak & Welling, "Attention-based Deep Multiple
  Instance Learning", ICML 2018 (arXiv:1802.04712), Eq. (9):
  ``a_k = softmax_k(wᵀ (tanh(V h_k) ⊙ sigmoid(U h_k)))``, ``z = Σ_k a_k h_k``;
* ``hopfield``: :class:`~models.hopfield.modules.HopfieldPooling` with one learned state pattern
  (``quantity = 1``), i.e. ``z = softmax(β q Kᵀ) V`` with a learned query q (paper Eq. (3) layer form).

Model: instance encoder (MLP with ReLU on the flattened instance) -> masked pooling -> dropout -> linear
head with one logit per bag. Padded instances (``mask == False``) never influence the output: they get
exactly zero weight (mean divides by the true count; max ignores them), and their values are zeroed
before the encoder, so even NaN padding is harmless. A bag with no real instance pools to the zero
vector (``hopfield``: to the bias of the pooling's output projection).

Intermediates: ``pool_weights: [B, N]`` (mean / attention) and, for ``hopfield``, the association
matrix sown by the inner Hopfield layer. RNG streams: ``params``; ``dropout`` when ``dropout > 0`` and
``deterministic=False``.
"""
from __future__ import annotations

import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from models.hopfield.modules import HopfieldPooling

Array = jax.Array
Dtype = Any

POOLINGS: tuple[str, ...] = ("hopfield", "mean", "max", "attention")

__all__ = ["MILClassifier", "POOLINGS"]


def _masked_softmax(logits: Array, mask: Array) -> Array:
  """Softmax over the last axis with exact zeros where ``mask`` is False (all-False rows -> zeros)."""
  logits = jnp.where(mask, logits, jnp.finfo(logits.dtype).min)
  return jnp.where(mask, jax.nn.softmax(logits, axis=-1), jnp.zeros((), logits.dtype))


class MILClassifier(nn.Module):
  """Bag classifier: instance MLP encoder, masked set pooling, linear head (one logit per bag).

  Attributes:
    pooling: one of ``"hopfield"``, ``"mean"``, ``"max"``, ``"attention"``.
    hidden: width of the instance encoder (and of the pooled representation).
    num_encoder_layers: number of Dense+ReLU layers of the instance encoder (>= 1).
    attention_hidden: width L of the gated attention (``attention``); default ``hidden``.
    num_heads: heads of the Hopfield pooling (``hopfield``).
    hopfield_hidden: association dim of the Hopfield pooling; default ``hidden``.
    scaling: β of the Hopfield pooling; None = ``1/sqrt(head_dim)``.
    hopfield_normalize: LayerNorm on the stored patterns and pattern projections of the Hopfield
      pooling (the official layer's default, True). False keeps the instance embeddings' magnitudes.
    update_steps_max: association-space updates of the Hopfield pooling before the read-out (0 = one).
    dropout: dropout rate on the pooled representation (and on the Hopfield association matrix).
    dtype: compute dtype (None: promote); pooling reductions and softmax run in float32.
    param_dtype: parameter dtype.
  """
  pooling: str = "hopfield"
  hidden: int = 32
  num_encoder_layers: int = 2
  attention_hidden: int | None = None
  num_heads: int = 1
  hopfield_hidden: int | None = None
  scaling: float | None = None
  hopfield_normalize: bool = True
  update_steps_max: int = 0
  dropout: float = 0.0
  dtype: Dtype | None = None
  param_dtype: Dtype = jnp.float32

  def _check(self, bags: Array, mask: Array) -> None:
    if self.pooling not in POOLINGS:
      raise ValueError(f"pooling: expected one of {POOLINGS}, got {self.pooling!r}")
    if not isinstance(self.hidden, int) or self.hidden <= 0:
      raise ValueError(f"hidden: expected an int > 0, got {self.hidden!r}")
    if not isinstance(self.num_encoder_layers, int) or self.num_encoder_layers < 1:
      raise ValueError(f"num_encoder_layers: expected an int >= 1, got {self.num_encoder_layers!r}")
    if not 0.0 <= self.dropout < 1.0:
      raise ValueError(f"dropout: expected a rate in [0, 1), got {self.dropout!r}")
    for name in ("attention_hidden", "hopfield_hidden"):
      v = getattr(self, name)
      if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v <= 0):
        raise ValueError(f"{name}: expected None or an int > 0, got {v!r}")
    if self.scaling is not None and (isinstance(self.scaling, bool) or not isinstance(self.scaling, (int, float))
                                     or not (math.isfinite(self.scaling) and self.scaling > 0)):
      raise ValueError(f"scaling: expected None or a finite β > 0, got {self.scaling!r}")
    if jnp.ndim(bags) < 3:
      raise ValueError(f"bags: expected rank >= 3 [B, N, F...], got shape {tuple(jnp.shape(bags))}")
    if bags.shape[1] == 0:
      raise ValueError(f"bags: expected at least one instance slot (N >= 1), got shape {tuple(bags.shape)}; "
                       "an all-False mask row is an empty bag")
    dt = jnp.result_type(bags)
    if dt == jnp.bool_ or not jnp.issubdtype(dt, jnp.number) or jnp.issubdtype(dt, jnp.complexfloating):
      raise TypeError(f"bags: expected real instance features, got dtype {dt}")
    if tuple(jnp.shape(mask)) != tuple(bags.shape[:2]):
      raise ValueError(f"mask: expected shape {tuple(bags.shape[:2])} [B, N] (from bags), "
                       f"got shape {tuple(jnp.shape(mask))}")
    if jnp.result_type(mask) != jnp.bool_:
      raise TypeError(f"mask: expected dtype bool (True = real instance), got {jnp.result_type(mask)}")

  @nn.compact
  def __call__(self, bags: Array, mask: Array, *, deterministic: bool = True) -> Array:
    """Scores each bag.

    Args:
      bags: ``[B, N, F]`` padded bags of instances (trailing instance dims ``[B, N, ...]`` are
        flattened).
      mask: ``[B, N]`` bool, ``True`` = real instance, ``False`` = padding.
      deterministic: disables dropout when True.

    Returns:
      ``[B]`` logits (positive bag).
    """
    self._check(bags, mask)
    b, n = bags.shape[:2]
    x = bags.reshape(b, n, -1)
    x = jnp.where(mask[..., None], x, jnp.zeros((), x.dtype))  # padding never reaches the arithmetic
    dt = self.dtype if self.dtype is not None else jnp.result_type(x, self.param_dtype)
    acc = jnp.promote_types(dt, jnp.float32)
    dense = lambda f, name: nn.Dense(f, dtype=dt, param_dtype=self.param_dtype, name=name)
    h = x.astype(dt)
    for i in range(self.num_encoder_layers):
      h = nn.relu(dense(self.hidden, f"encoder_{i}")(h))  # [B, N, hidden]

    if self.pooling == "mean":
      count = jnp.sum(mask, axis=-1, keepdims=True).astype(acc)
      w = mask.astype(acc) / jnp.maximum(count, 1)
      self.sow("intermediates", "pool_weights", w)
      z = jnp.einsum("bn,bnf->bf", w, h.astype(acc))
    elif self.pooling == "max":
      hm = jnp.where(mask[..., None], h.astype(acc), jnp.finfo(acc).min)
      z = jnp.where(jnp.any(mask, axis=-1, keepdims=True), jnp.max(hm, axis=1),
                    jnp.zeros((), acc))
    elif self.pooling == "attention":
      att = self.attention_hidden if self.attention_hidden is not None else self.hidden
      gate = jnp.tanh(dense(att, "attention_V")(h)) * nn.sigmoid(dense(att, "attention_U")(h))
      logits = dense(1, "attention_w")(gate)[..., 0].astype(acc)  # [B, N]
      w = _masked_softmax(logits, mask)
      self.sow("intermediates", "pool_weights", w)
      z = jnp.einsum("bn,bnf->bf", w, h.astype(acc))
    else:  # hopfield
      pool = HopfieldPooling(quantity=1, num_heads=self.num_heads,
                             hidden_size=self.hopfield_hidden or self.hidden,
                             scaling=self.scaling, update_steps_max=self.update_steps_max,
                             normalize_stored_pattern=self.hopfield_normalize,
                             normalize_pattern_projection=self.hopfield_normalize,
                             dropout=self.dropout, dtype=self.dtype,
                             param_dtype=self.param_dtype, name="hopfield_pooling")
      z = pool(h, key_padding_mask=mask, deterministic=deterministic)[:, 0]  # [B, hidden]
    z = nn.Dropout(rate=self.dropout)(z.astype(dt), deterministic=deterministic)
    return dense(1, "head")(z)[..., 0]
