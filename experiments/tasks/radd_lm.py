"""Character-level absorbing discrete diffusion with RADD's time-independent network (paper 29).

Ou, Nie, Xue, Zhu, Sun, Li, Li. "Your Absorbing Discrete Diffusion Secretly Models the Conditional
Distributions of Clean Data". ICLR 2025. arXiv:2406.03736.

Training windows of ``data.seq_len`` characters are drawn at random positions of the training split (a
function of the seed and the step). The loss (``config.loss``: ``lambda_dce`` | ``t_dce`` | ``t_dse`` |
``k_dce``, from ``models.radd``) is an upper bound on −log p_θ of the window; it is reported per character
in nats (``loss``) and bits (``bpc``). Evaluation: the λ-DCE bound on non-overlapping validation windows,
averaged over ``data.eval_samples`` fixed draws of the masking (a deterministic function of the params).

Vocabulary: the corpus ids 0..V−1 (0 = characters unseen in training) and the mask id V.
"""
from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from experiments.configs.common import require
from experiments.datasets.text import CORPORA, load_char_corpus
from experiments.tasks import Task
from models.radd import LOSSES, RADDTransformer, lambda_dce_loss, sequence_loss


def build_model(m: Any, vocab_size: int) -> RADDTransformer:
  """The network described by ``config.model`` for ``vocab_size`` real tokens (mask id = vocab_size)."""
  return RADDTransformer(vocab_size=vocab_size, d_model=m.d_model, num_layers=m.num_layers, num_heads=m.num_heads,
                         mlp_hidden=m.mlp_hidden or None)


class RADDLM(Task):
  """RADD on character-level Shakespeare (or ``data.path``)."""

  @classmethod
  def validate(cls, config: Any) -> None:
    m, d = config.model, config.data
    require(config.loss in LOSSES, "loss", f"one of {LOSSES}", config.loss)
    require(isinstance(config.noise_eps, float) and 0.0 < config.noise_eps < 1.0, "noise_eps",
            "a float in (0, 1)", config.noise_eps)
    require(isinstance(config.t_min, float) and 0.0 <= config.t_min < 1.0, "t_min", "a float in [0, 1)",
            config.t_min)
    for f in ("d_model", "num_layers", "num_heads"):
      require(isinstance(m[f], int) and m[f] > 0, f"model.{f}", "a positive int", m[f])
    require(m.d_model % m.num_heads == 0 and (m.d_model // m.num_heads) % 2 == 0, "model.num_heads",
            f"a divisor of model.d_model={m.d_model} leaving even head widths", m.num_heads)
    require(isinstance(m.mlp_hidden, int) and m.mlp_hidden >= 0, "model.mlp_hidden",
            "an int >= 0 (0 = the models.gla width rule)", m.mlp_hidden)
    require(d.corpus in CORPORA, "data.corpus", f"one of {CORPORA}", d.corpus)
    require(isinstance(d.seq_len, int) and d.seq_len >= 2, "data.seq_len", "an int >= 2", d.seq_len)
    require(0.0 < d.val_fraction < 1.0, "data.val_fraction", "a float in (0, 1)", d.val_fraction)
    require(isinstance(d.max_chars, int) and d.max_chars >= 0, "data.max_chars", "an int >= 0 (0 = all)",
            d.max_chars)
    for f in ("eval_windows", "eval_batch", "eval_samples"):
      require(isinstance(d[f], int) and d[f] > 0, f"data.{f}", "a positive int", d[f])

  def __init__(self, config: Any):
    super().__init__(config)
    d = config.data
    self.corpus = load_char_corpus(d.path or None, corpus=d.corpus, val_fraction=d.val_fraction,
                                   max_chars=d.max_chars or None)
    t = d.seq_len
    if len(self.corpus.train) < t + 1:
      raise ValueError(f"data.seq_len: {t} is too long for a training split of {len(self.corpus.train)} characters")
    n_win = min(d.eval_windows, len(self.corpus.val) // t)
    if n_win < 1:
      raise ValueError(f"data.seq_len: validation split of {len(self.corpus.val)} characters is shorter than one "
                       f"window of {t}")
    self.val_windows = self.corpus.val[: n_win * t].reshape(n_win, t)
    self.vocab_size = self.corpus.vocab_size          # real tokens; the mask id is vocab_size
    self.mask_id = self.vocab_size
    self.model = build_model(config.model, self.vocab_size)
    self._eval = jax.jit(self._eval_sums)

  @property
  def source(self) -> str:
    return self.corpus.source

  def log_cond_fn(self, params):
    """``x_t [B, L] -> log c_θ(x_t) [B, L, V]`` for ``params``."""
    return lambda xt: self.model.apply({"params": params}, xt)

  def init(self, key):
    return self.model.init(key, jnp.zeros((1, self.config.data.seq_len), jnp.int32))["params"], {}

  def loss(self, params, extra, batch, key):
    c = self.config
    per_seq = sequence_loss(c.loss, self.log_cond_fn(params), key, batch["tokens"], self.vocab_size, c.noise_eps,
                            c.t_min)
    nats = jnp.mean(per_seq) / c.data.seq_len
    return nats, ({"bpc": nats / math.log(2.0)}, extra)

  def train_batch(self, step: int):
    d = self.config.data
    rng = np.random.default_rng((self.config.seed, step))
    starts = rng.integers(0, len(self.corpus.train) - d.seq_len, self.config.train.batch_size)
    return {"tokens": self.corpus.train[starts[:, None] + np.arange(d.seq_len)[None, :]]}

  def _eval_sums(self, params, tokens, weight, key):
    per_seq = lambda_dce_loss(self.log_cond_fn(params), key, tokens, self.vocab_size)
    return jnp.sum(per_seq * weight), jnp.sum(weight) * tokens.shape[1]

  def evaluate(self, params, extra):
    """``loss`` (nats per character) and ``bpc`` of the λ-DCE bound on the validation windows."""
    d = self.config.data
    eb, w = d.eval_batch, self.val_windows
    total, count = 0.0, 0.0
    for r in range(d.eval_samples):
      for i in range(0, len(w), eb):
        chunk = w[i:i + eb]
        weight = np.ones(eb, np.float32)
        if len(chunk) < eb:  # pad to a fixed shape (no retrace); padded rows get weight 0
          weight[len(chunk):] = 0.0
          chunk = np.concatenate([chunk, np.zeros((eb - len(chunk), w.shape[1]), w.dtype)])
        key = jax.random.fold_in(jax.random.PRNGKey(10_000 + r), i)
        s, c = jax.device_get(self._eval(params, jnp.asarray(chunk), jnp.asarray(weight), key))
        total, count = total + float(s), count + float(c)
    loss = total / count
    return {"loss": loss, "bpc": loss / math.log(2.0)}


def unigram_bpc(ids: np.ndarray, vocab_size: int) -> float:
  """Entropy in bits of the unigram distribution of the character ids ``ids`` (ids 0..vocab_size−1): the
  bits per character of the best context-free model, the scale the LM claims' "learned" checks use."""
  p = np.bincount(np.asarray(ids), minlength=vocab_size).astype(np.float64)
  p = p[p > 0] / p.sum()
  return float(-(p * np.log2(p)).sum())
