"""Gated linear attention Transformer (Flax linen) and its softmax-attention baseline.

Yang, Wang, Shen, Panda, Kim. "Gated Linear Attention Transformers with Hardware-Efficient Training".
ICML 2024. arXiv:2312.06635.

* :mod:`.modules`: ``GatedLinearAttention`` (paper §4.4), ``CausalSelfAttention`` (baseline),
  ``SwiGLU``, ``Block`` (pre-norm, mixer switch), ``GLATransformer`` / ``SoftmaxTransformer`` (LM with a
  recurrent ``decode_step``).
* :mod:`.configs`: the paper's 340M and 1.3B sizes and an allocation-free parameter count.

The recurrence is the op ``kernels.gla.gla``.
"""
from __future__ import annotations

from models.gla.configs import CONFIGS, PAPER_PARAMS_M, count_params, make_model
from models.gla.modules import (MIXERS, Block, CausalSelfAttention, GatedLinearAttention, GLATransformer,
                                KVCache, RMSNorm, SoftmaxTransformer, SwiGLU, rope, swiglu_width)

__all__ = [
    "Block", "CONFIGS", "CausalSelfAttention", "GLATransformer", "GatedLinearAttention", "KVCache", "MIXERS",
    "PAPER_PARAMS_M", "RMSNorm", "SoftmaxTransformer", "SwiGLU", "count_params", "make_model", "rope",
    "swiglu_width",
]
