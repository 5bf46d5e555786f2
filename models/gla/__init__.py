"""Gated linear attention Transformer (Flax linen) and its softmax-attention baseline.

Yang, Wang, Shen, Panda, Kim. "Gated Linear Attention Transformers with Hardware-Efficient Training".
ICML 2024. arXiv:2312.06635.

* :mod:`.modules`: ``GatedLinearAttention`` (paper §4.4), ``CausalSelfAttention`` (baseline),
  ``SwiGLU``, ``Block`` (pre-norm, mixer switch), ``GLATransformer`` / ``SoftmaxTransformer`` (LM with a
  recurrent ``decode_step``).
* :mod:`.configs`: the paper's 340M and 1.3B sizes and an allocation-free parameter count.

The recurrence is the op ``kernels.gla.gla``. Importing this package registers small instances with the
conformance battery (:mod:`models.registry`).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from models.gla.configs import CONFIGS, PAPER_PARAMS_M, count_params, make_model
from models.gla.modules import (MIXERS, Block, CausalSelfAttention, GatedLinearAttention, GLATransformer,
                                KVCache, RMSNorm, SoftmaxTransformer, SwiGLU, rope, swiglu_width)
from models.registry import ModelSpec, register

__all__ = [
    "Block", "CONFIGS", "CausalSelfAttention", "GLATransformer", "GatedLinearAttention", "KVCache", "MIXERS",
    "PAPER_PARAMS_M", "RMSNorm", "SoftmaxTransformer", "SwiGLU", "count_params", "make_model", "rope",
    "swiglu_width",
]


# ---------------------------------------------------------------------------------------------------
# Conformance specs (tiny instances).


def _x(key: jax.Array) -> tuple[jax.Array]:
  return (jax.random.normal(key, (2, 10, 16), jnp.float32),)


def _tokens(key: jax.Array) -> tuple[jax.Array]:
  return (jax.random.randint(key, (2, 12), 0, 11),)


register(ModelSpec(
    name="gla.GatedLinearAttention",
    make=lambda: GatedLinearAttention(num_heads=2, chunk_size=16),
    example_args=_x,
))
register(ModelSpec(
    name="gla.Block/softmax",
    make=lambda: Block(mixer="softmax", num_heads=2, mlp_hidden=24),
    example_args=_x,
))
register(ModelSpec(
    name="gla.GLATransformer/tied",
    make=lambda: GLATransformer(vocab_size=11, d_model=16, num_layers=2, num_heads=2, mlp_hidden=24, chunk_size=16),
    example_args=_tokens,
))
register(ModelSpec(
    name="gla.SoftmaxTransformer/untied",
    make=lambda: SoftmaxTransformer(vocab_size=11, d_model=16, num_layers=2, num_heads=2, mlp_hidden=24,
                                    tie_embeddings=False),
    example_args=_tokens,
))
