"""Named sizes of the GLA language model (paper §5.1; the reference library's gla_340M / gla_1B configs).

Yang, Wang, Shen, Panda, Kim. "Gated Linear Attention Transformers with Hardware-Efficient Training".
ICML 2024. arXiv:2312.06635.

Parameter counts with the reference library's conventions (vocab 32000): ``"340M"`` (d = 1024, 24
layers, 4 heads, tied embeddings) has 341.7M parameters, ``"1.3B"`` (d = 2048, 24 layers, 4 heads,
untied) 1365.5M. :func:`count_params` counts them with ``jax.eval_shape`` (nothing is allocated).
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from models.gla.modules import GLATransformer

__all__ = ["CONFIGS", "PAPER_PARAMS_M", "count_params", "make_model"]

CONFIGS: dict[str, dict[str, Any]] = {
    "340M": dict(vocab_size=32000, d_model=1024, num_layers=24, num_heads=4, tie_embeddings=True),
    "1.3B": dict(vocab_size=32000, d_model=2048, num_layers=24, num_heads=4, tie_embeddings=False),
}
# Parameter counts (millions) stated in the paper file (§1.7) for the configurations above.
PAPER_PARAMS_M = {"340M": 341.7, "1.3B": 1365.5}


def make_model(name: str, **overrides: Any) -> GLATransformer:
  """The named configuration as a :class:`GLATransformer`; ``overrides`` replace fields (e.g. ``mixer``)."""
  if not isinstance(name, str) or name not in CONFIGS:
    raise ValueError(f"make_model: name: expected one of {sorted(CONFIGS)}, got {name!r}")
  fields = set(GLATransformer.__dataclass_fields__) - {"parent", "name"}
  unknown = sorted(set(overrides) - fields)
  if unknown:
    raise TypeError(f"make_model: overrides: expected GLATransformer fields, got unknown {unknown}")
  model = GLATransformer(**{**CONFIGS[name], **overrides})
  model.check()
  return model


def count_params(model: GLATransformer, seq_len: int = 16) -> int:
  """Number of parameters of ``model``, from ``jax.eval_shape`` of its init (no allocation).

  Raises TypeError unless ``model`` is a :class:`GLATransformer` (or subclass), ValueError unless
  ``seq_len`` is a positive int."""
  if not isinstance(model, GLATransformer):
    raise TypeError(f"count_params: model: expected a GLATransformer, got {type(model).__name__}")
  if not isinstance(seq_len, int) or isinstance(seq_len, bool) or seq_len < 1:
    raise ValueError(f"count_params: seq_len: expected a positive int, got {seq_len!r}")
  model.check()
  tokens = jax.ShapeDtypeStruct((1, seq_len), jnp.int32)
  shapes = jax.eval_shape(lambda t: model.init(jax.random.PRNGKey(0), t), tokens)
  return int(sum(int(jnp.prod(jnp.array(x.shape))) if x.shape else 1
                 for x in jax.tree.leaves(shapes["params"])))
