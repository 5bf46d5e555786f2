"""Character-level language modelling with the GLA Transformer or its softmax baseline (paper 07).

Yang, Wang, Shen, Panda, Kim. "Gated Linear Attention Transformers with Hardware-Efficient Training".
ICML 2024. arXiv:2312.06635 (§5: GLA vs a LLaMA-style Transformer++ on language modelling).

Training windows of ``data.seq_len + 1`` characters are drawn at random positions of the training split
(a function of the seed and the step); the loss is the mean next-character cross-entropy. Evaluation
uses non-overlapping windows from the start of the validation split and reports the loss in nats and
bits per character (``bpc = loss / ln 2``).
"""
from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from experiments.configs.common import require
from experiments.datasets.text import CORPORA, load_char_corpus
from experiments.tasks import Task
from kernels.gla import IMPLS
from models.gla import MIXERS, GLATransformer



def build_model(m: Any, vocab_size: int) -> GLATransformer:
  """The model described by ``config.model`` for a vocabulary of ``vocab_size``."""
  return GLATransformer(vocab_size=vocab_size, d_model=m.d_model, num_layers=m.num_layers, num_heads=m.num_heads,
                        mixer=m.mixer, tie_embeddings=m.tie_embeddings, mlp_hidden=m.mlp_hidden or None,
                        gate_logit_normalizer=m.gate_logit_normalizer, chunk_size=m.chunk_size, impl=m.impl)


class GLALM(Task):
  """Char-level LM on Shakespeare (or ``data.path``); ``config.model.mixer`` is ``"gla"`` or ``"softmax"``."""

  @classmethod
  def validate(cls, config: Any) -> None:
    m, d = config.model, config.data
    require(m.mixer in MIXERS, "model.mixer", f"one of {MIXERS}", m.mixer)
    require(m.impl in IMPLS, "model.impl", f"one of {IMPLS}", m.impl)
    for f in ("d_model", "num_layers", "num_heads", "chunk_size"):
      require(isinstance(m[f], int) and m[f] > 0, f"model.{f}", "a positive int", m[f])
    require(m.d_model % (2 * m.num_heads) == 0, "model.num_heads",
            f"a divisor of model.d_model/2 = {m.d_model // 2} (GLA key width d/2 is split over the heads)",
            m.num_heads)
    require(isinstance(m.mlp_hidden, int) and m.mlp_hidden >= 0, "model.mlp_hidden",
            "an int >= 0 (0 = the reference library's rule)", m.mlp_hidden)
    require(m.gate_logit_normalizer > 0, "model.gate_logit_normalizer", "a positive float", m.gate_logit_normalizer)
    require(d.corpus in CORPORA, "data.corpus", f"one of {CORPORA}", d.corpus)
    require(isinstance(d.seq_len, int) and d.seq_len >= 2, "data.seq_len", "an int >= 2", d.seq_len)
    require(0.0 < d.val_fraction < 1.0, "data.val_fraction", "a float in (0, 1)", d.val_fraction)
    require(isinstance(d.max_chars, int) and d.max_chars >= 0, "data.max_chars", "an int >= 0 (0 = all)",
            d.max_chars)
    require(isinstance(d.eval_windows, int) and d.eval_windows > 0, "data.eval_windows", "a positive int",
            d.eval_windows)
    require(isinstance(d.eval_batch, int) and d.eval_batch > 0, "data.eval_batch", "a positive int", d.eval_batch)

  def __init__(self, config: Any):
    super().__init__(config)
    m, d = config.model, config.data
    self.corpus = load_char_corpus(d.path or None, corpus=d.corpus, val_fraction=d.val_fraction,
                                   max_chars=d.max_chars or None)
    t = d.seq_len
    if len(self.corpus.train) < t + 2:
      raise ValueError(f"data.seq_len: {t} is too long for a training split of {len(self.corpus.train)} characters")
    n_win = min(d.eval_windows, len(self.corpus.val) // (t + 1))
    if n_win < 1:
      raise ValueError(f"data.seq_len: validation split of {len(self.corpus.val)} characters is shorter than "
                       f"one window of {t + 1}")
    self.val_windows = self.corpus.val[: n_win * (t + 1)].reshape(n_win, t + 1)
    self.model = build_model(m, self.corpus.vocab_size)
    self._eval = jax.jit(self._eval_sums)

  @property
  def source(self) -> str:
    return self.corpus.source

  def init(self, key):
    tokens = jnp.zeros((1, self.config.data.seq_len), jnp.int32)
    return self.model.init(key, tokens)["params"], {}

  def loss(self, params, extra, batch, key):
    tokens = batch["tokens"]
    logits = self.model.apply({"params": params}, tokens[:, :-1])
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, tokens[:, 1:]).mean()
    return ce, ({"bpc": ce / math.log(2.0)}, extra)

  def train_batch(self, step: int):
    d = self.config.data
    rng = np.random.default_rng((self.config.seed, step))
    starts = rng.integers(0, len(self.corpus.train) - d.seq_len - 1, self.config.train.batch_size)
    return {"tokens": self.corpus.train[starts[:, None] + np.arange(d.seq_len + 1)[None, :]]}

  def _eval_sums(self, params, tokens, weight):
    logits = self.model.apply({"params": params}, tokens[:, :-1])
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, tokens[:, 1:])
    return jnp.sum(ce.sum(-1) * weight), jnp.sum(weight) * ce.shape[-1]

  def evaluate(self, params, extra):
    """``loss`` (nats per character) and ``bpc`` on the validation windows."""
    eb = self.config.data.eval_batch
    w = self.val_windows
    total, count = 0.0, 0.0
    for i in range(0, len(w), eb):
      chunk = w[i:i + eb]
      weight = np.ones(eb, np.float32)
      if len(chunk) < eb:  # pad to a fixed shape (no retrace); padded rows get weight 0
        weight[len(chunk):] = 0.0
        chunk = np.concatenate([chunk, np.zeros((eb - len(chunk), w.shape[1]), w.dtype)])
      s, c = jax.device_get(self._eval(params, jnp.asarray(chunk), jnp.asarray(weight)))
      total, count = total + float(s), count + float(c)
    loss = total / count
    return {"loss": loss, "bpc": loss / math.log(2.0)}
