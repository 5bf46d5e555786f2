"""Gated linear attention kernels (paper 07).

Yang, Wang, Shen, Panda, Kim. "Gated Linear Attention Transformers with Hardware-Efficient Training".
ICML 2024. arXiv:2312.06635.

``from kernels.gla import gla, gla_decode_step``; see ``api.py`` for the conventions (fla's ``chunk_gla``
layout ``[B, T, H, K]``) and ``README.md`` for which equation lives where.
"""
from kernels.gla.api import IMPLS, gla, gla_decode_step

__all__ = ["IMPLS", "gla", "gla_decode_step"]
