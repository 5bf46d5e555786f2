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


def recurrent_vs_parallel(model: Any, params: Any, prompt: np.ndarray, new: int, key: jax.Array) -> dict:
  """Generates with the recurrent form (``decode_step``, per-layer states) and compares its logits with the
  parallel forward on the generated sequence.

  ``prompt: int [B, P]`` is fed one token at a time, then ``new`` tokens are sampled at temperature 1
  (position i draws with ``fold_in(key, i)``). Returns ``max_abs_diff`` (max |recurrent − parallel| over
  the B × (P + new − 1) positions and every logit), ``max_abs_logit``, ``argmax_agreement``, ``steps``,
  ``decode_s`` (wall seconds of the recurrent loop after compile), ``per_position`` (the max difference
  at each position) and ``tokens: int [B, P + new]``.
  """
  prompt = jnp.asarray(prompt)
  if prompt.ndim != 2 or not jnp.issubdtype(prompt.dtype, jnp.integer) or prompt.shape[1] < 1:
    raise ValueError(f"recurrent_vs_parallel: prompt expected int [B, P] with P >= 1, got {prompt.dtype} "
                     f"{tuple(prompt.shape)}")
  if not isinstance(new, int) or isinstance(new, bool) or new < 1:
    raise ValueError(f"recurrent_vs_parallel: new expected a positive int, got {new!r}")
  import time
  batch, prompt_len = prompt.shape
  step = jax.jit(lambda prm, tok, st: model.apply({"params": prm}, tok, st, method="decode_step"))
  parallel = jax.jit(lambda prm, tok: model.apply({"params": prm}, tok))
  tokens, rec_logits = [prompt[:, i] for i in range(prompt_len)], []
  logits, states = step(params, tokens[0], model.initial_states(batch))   # compile outside the timed loop
  states = model.initial_states(batch)
  t0 = time.perf_counter()
  for i in range(prompt_len + new - 1):
    logits, states = step(params, tokens[i], states)
    rec_logits.append(logits)
    if i + 1 >= prompt_len:
      tokens.append(jax.random.categorical(jax.random.fold_in(key, i), logits).astype(jnp.int32))
  jax.block_until_ready(logits)
  dec_s = time.perf_counter() - t0
  seq = jnp.stack(tokens, axis=1)
  rec = jnp.stack(rec_logits, axis=1)
  par = parallel(params, seq[:, :-1])
  per_position = np.asarray(jnp.abs(rec - par).max(axis=(0, 2)))
  return dict(max_abs_diff=float(per_position.max()), max_abs_logit=float(jnp.abs(par).max()),
              per_position=[float(v) for v in per_position],
              argmax_agreement=float(jnp.mean(jnp.argmax(rec, -1) == jnp.argmax(par, -1))),
              steps=prompt_len + new - 1, decode_s=dec_s, tokens=np.asarray(seq))
