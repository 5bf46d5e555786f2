"""Mini-FIM: the recognition network of paper 27 and its loss (official ``FIMMJP``, ``src/fim/models/mjp.py``).

Pipeline (per process; ``B`` processes, ``P`` paths, ``L`` observations, ``C = c_max`` states):

1. time normalisation: ``T`` = the largest valid observation time of the process; the network sees
   ``t / T`` and predicts rates in normalised time, which are divided by ``T`` afterwards
   (``mean = exp(logmean) / T``, ``logstd -= log T``);
2. path encoder psi, one embedding per path: ``"pairs"`` (the CPU variant of the notes: an MLP on every
   transition pair ``[onehot(s_k), onehot(s_{k+1}), dt_k / T, t_k / T]``, mean-pooled over the valid pairs,
   with the valid-pair fraction appended), ``"gru"`` (a GRU over ``[onehot(s_k), t_k / T, dt_k / T]``, last
   valid carry) or ``"bilstm"`` (the official encoder: a bidirectional LSTM, output at the last valid
   observation);
3. learnable-query attention over the valid paths (one head), flattened, concatenated with ``P / 100``;
4. two MLP decoders (SELU, LeCun-normal): ``2 C (C - 1)`` numbers (log-mean and log-std per off-diagonal rate)
   and ``C`` logits of the initial distribution.

:func:`fim_loss` is the official loss: the full Gaussian NLL of the true rates on the links that exist,
normalised by their number, plus the cross-entropy of the ``pi0`` logits against ``argmax(pi0)``, plus the
"missing link" term ``T (mean^2 + std^2)`` on the links that are absent, normalised by their number.
Padded states (index ``>= n_states``) contribute to none of the terms and get ``-inf`` initial logits.
"""
from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import is_concrete

__all__ = ["FIMMJP", "ENCODERS", "fim_loss", "predicted_generator", "offdiag_index"]

ENCODERS = ("pairs", "gru", "bilstm")


def offdiag_index(c: int) -> tuple[np.ndarray, np.ndarray]:
  """Row and column indices of the ``C (C - 1)`` off-diagonal entries, row-major (the decoder's order)."""
  if not isinstance(c, (int, np.integer)) or c < 2:
    raise ValueError(f"offdiag_index: c: expected an int >= 2, got {c!r}")
  i, j = np.nonzero(~np.eye(c, dtype=bool))
  return i, j


class _MLP(nn.Module):
  hidden: Sequence[int]
  out: int
  act: str = "selu"

  @nn.compact
  def __call__(self, x):
    act = nn.selu if self.act == "selu" else nn.gelu
    init = nn.initializers.lecun_normal()
    for h in self.hidden:
      x = act(nn.Dense(h, kernel_init=init)(x))
    return nn.Dense(self.out, kernel_init=init)(x)


class _QueryAttention(nn.Module):
  """Learnable-query attention over a set (one head): ``[B, P, D] -> [B, n_queries * v_dim]``."""
  n_queries: int
  k_dim: int
  v_dim: int

  @nn.compact
  def __call__(self, h, mask):
    q = self.param("queries", nn.initializers.normal(1.0), (self.n_queries, self.k_dim))
    k = nn.Dense(self.k_dim)(h)
    v = nn.Dense(self.v_dim)(h)
    s = jnp.einsum("qd,bpd->bqp", q, k) / np.sqrt(self.k_dim)
    s = jnp.where(mask[:, None, :], s.astype(jnp.float32), -1e30)
    w = jax.nn.softmax(s, axis=-1)
    out = jnp.einsum("bqp,bpd->bqd", w, v)
    return out.reshape(out.shape[0], -1)


class FIMMJP(nn.Module):
  """Mini-FIM for MJPs (see the module docstring).

  Attributes:
    c_max: number of states the network handles (processes with fewer are padded).
    encoder: ``"pairs"`` | ``"gru"`` | ``"bilstm"``.
    hidden: width of the path encoder.
    n_queries, k_dim, v_dim: the path attention (official: 16 queries, kv dim 128).
    decoder_hidden: hidden widths of both decoders (official: (128, 128)).
  """
  c_max: int = 4
  encoder: str = "pairs"
  hidden: int = 64
  n_queries: int = 4
  k_dim: int = 64
  v_dim: int = 64
  decoder_hidden: Sequence[int] = (128, 128)

  def _encode(self, onehot, tn, dtn, obs_mask):
    """Per-path embeddings ``[B, P, D]``; padding masked by ``obs_mask: [B, P, L]``."""
    B, P, L, C = onehot.shape
    n_valid = obs_mask.sum(-1)                                  # [B, P]
    if self.encoder == "pairs":
      x = jnp.concatenate([onehot[..., :-1, :], onehot[..., 1:, :], dtn[..., None], tn[..., :-1, None]], -1)
      pair_mask = obs_mask[..., 1:].astype(jnp.float32)        # pair k valid iff observation k+1 is
      h = _MLP((self.hidden,), self.hidden, act="gelu", name="pair_mlp")(x)
      h = (h * pair_mask[..., None]).sum(-2) / jnp.maximum(pair_mask.sum(-1, keepdims=True), 1.0)
      h = jnp.concatenate([h, (n_valid / L)[..., None]], -1)
      return _MLP((self.hidden,), self.hidden, act="gelu", name="path_mlp")(h)
    dt_prev = jnp.concatenate([jnp.zeros_like(tn[..., :1]), dtn], -1)
    x = jnp.concatenate([onehot, tn[..., None], dt_prev[..., None]], -1).reshape(B * P, L, -1)
    lengths = jnp.maximum(n_valid.reshape(B * P), 1)
    if self.encoder == "gru":
      carry, _ = nn.RNN(nn.GRUCell(self.hidden), return_carry=True, name="gru")(x, seq_lengths=lengths)
      return carry.reshape(B, P, -1)
    y = nn.Bidirectional(nn.RNN(nn.OptimizedLSTMCell(self.hidden)), nn.RNN(nn.OptimizedLSTMCell(self.hidden)),
                         name="bilstm")(x, seq_lengths=lengths)
    last = jnp.take_along_axis(y, (lengths - 1)[:, None, None], axis=1)[:, 0]
    return last.reshape(B, P, -1)

  @nn.compact
  def __call__(self, states, times, obs_mask, path_mask):
    """Args:
      states: ``[B, P, L]`` int observed labels in ``[0, c_max)``.
      times: ``[B, P, L]`` observation times, non-decreasing along ``L``.
      obs_mask: ``[B, P, L]`` bool, valid observations (a prefix of each path; at least 2 on a valid path).
      path_mask: ``[B, P]`` bool, valid paths (at least one per process).
    Returns: dict ``mean: [B, C, C]`` (off-diagonal rate means, zero diagonal), ``logstd: [B, C, C]``
      (zero diagonal), ``init_logits: [B, C]`` and ``norm: [B]`` (the time normalisation T).
    """
    if self.encoder not in ENCODERS:
      raise ValueError(f"FIMMJP: encoder: expected one of {ENCODERS}, got {self.encoder!r}")
    if self.c_max < 2:
      raise ValueError(f"FIMMJP: c_max: expected an int >= 2, got {self.c_max!r}")
    if np.ndim(states) != 3 or np.shape(times) != np.shape(states) or np.shape(obs_mask) != np.shape(states):
      raise ValueError(f"FIMMJP: states, times, obs_mask: expected equal shapes [B, P, L], got "
                       f"{np.shape(states)}, {np.shape(times)}, {np.shape(obs_mask)}")
    if np.shape(path_mask) != np.shape(states)[:2]:
      raise ValueError(f"FIMMJP: path_mask: expected shape {np.shape(states)[:2]}, got {np.shape(path_mask)}")
    if np.shape(states)[2] < 2:
      raise ValueError(f"FIMMJP: states: expected at least 2 observations per path, got L = {np.shape(states)[2]}")
    if not jnp.issubdtype(jnp.asarray(states).dtype, jnp.integer):
      raise TypeError(f"FIMMJP: states: expected integer labels, got {jnp.asarray(states).dtype}")
    if is_concrete(states) and (np.any(np.asarray(states) < 0) or np.any(np.asarray(states) >= self.c_max)):
      raise ValueError(f"FIMMJP: states: expected labels in [0, c_max={self.c_max}), got "
                       f"{np.asarray(states).min()}..{np.asarray(states).max()}")
    if is_concrete(times):
      t = np.asarray(times)
      if np.any(np.diff(t, axis=-1) < 0):
        raise ValueError("FIMMJP: times: expected observation times sorted along the last axis, got a decrease")
    c = self.c_max
    obs_mask = jnp.asarray(obs_mask, bool) & jnp.asarray(path_mask, bool)[..., None]
    times = jnp.asarray(times, jnp.float32)
    norm = jnp.max(jnp.where(obs_mask, times, 0.0), axis=(1, 2))          # [B]
    norm = jnp.where(norm > 0, norm, 1.0)
    tn = times / norm[:, None, None]
    dtn = jnp.where(obs_mask[..., 1:], jnp.diff(tn, axis=-1), 0.0)
    onehot = jax.nn.one_hot(states, c)
    h = self._encode(onehot, tn, dtn, obs_mask)
    pm = jnp.asarray(path_mask, bool)
    h = _QueryAttention(self.n_queries, self.k_dim, self.v_dim, name="path_attention")(h, pm)
    h = jnp.concatenate([h, pm.sum(-1, keepdims=True) / 100.0], -1)
    m = c * (c - 1)
    out = _MLP(tuple(self.decoder_hidden), 2 * m, name="rate_decoder")(h).astype(jnp.float32)
    logits = _MLP(tuple(self.decoder_hidden), c, name="init_decoder")(h).astype(jnp.float32)
    logmean, logstd = out[:, :m], out[:, m:]
    mean = jnp.exp(logmean) / norm[:, None]
    logstd = logstd - jnp.log(norm)[:, None]
    i, j = offdiag_index(c)
    B = mean.shape[0]
    M = jnp.zeros((B, c, c), jnp.float32).at[:, i, j].set(mean)
    S = jnp.zeros((B, c, c), jnp.float32).at[:, i, j].set(logstd)
    return {"mean": M, "logstd": S, "init_logits": logits, "norm": norm}


def _state_masks(n_states, c):
  valid = jnp.arange(c)[None] < jnp.asarray(n_states)[:, None]               # [B, C]
  pair = valid[:, :, None] & valid[:, None, :] & ~jnp.eye(c, dtype=bool)[None]
  return valid, pair


def fim_loss(out, F, adjacency, pi0, n_states):
  """The official FIM-MJP loss (see the module docstring) and its terms.

  Args:
    out: the dict returned by :class:`FIMMJP` (``mean``, ``logstd``, ``init_logits``, ``norm``).
    F: ``[B, C, C]`` true rate matrices; adjacency: ``[B, C, C]`` 0/1 links; pi0: ``[B, C]``;
    n_states: ``[B]`` int, states per process (entries at index ``>= n_states`` are padding).
  Returns: ``(loss, terms)`` with ``terms`` = ``gauss_nll``, ``init_ce``, ``missing_link``, ``rmse``.
  """
  mean, logstd = out["mean"], out["logstd"]
  if np.shape(F) != np.shape(mean) or np.shape(adjacency) != np.shape(mean):
    raise ValueError(f"fim_loss: F, adjacency: expected shape {np.shape(mean)} (the prediction's), got "
                     f"{np.shape(F)} and {np.shape(adjacency)}")
  c = mean.shape[-1]
  if np.shape(pi0) != (mean.shape[0], c) or np.shape(n_states) != (mean.shape[0],):
    raise ValueError(f"fim_loss: pi0, n_states: expected shapes {(mean.shape[0], c)} and {(mean.shape[0],)}, got "
                     f"{np.shape(pi0)} and {np.shape(n_states)}")
  if is_concrete(n_states) and (np.any(np.asarray(n_states) < 2) or np.any(np.asarray(n_states) > c)):
    raise ValueError(f"fim_loss: n_states: expected values in [2, {c}], got {np.asarray(n_states)}")
  valid, pair = _state_masks(n_states, c)
  adj = (jnp.asarray(adjacency) > 0) & pair
  zero = pair & ~adj
  adjf, zerof = adj.astype(jnp.float32), zero.astype(jnp.float32)
  F = jnp.asarray(F, jnp.float32)
  var = jnp.exp(2 * logstd)
  nll = 0.5 * (jnp.log(2 * jnp.pi) + 2 * logstd + (F - mean) ** 2 / var)
  gauss = jnp.sum(jnp.where(adj, nll, 0.0)) / (adjf.sum() + 1e-8)
  logits = jnp.where(valid, out["init_logits"], -1e30)
  target = jnp.argmax(jnp.where(valid, pi0, -1.0), axis=-1)
  ce = jnp.mean(jax.nn.logsumexp(logits, -1) - jnp.take_along_axis(logits, target[:, None], -1)[:, 0])
  missing = out["norm"][:, None, None] * (mean ** 2 + var)
  missing = jnp.sum(jnp.where(zero, missing, 0.0)) / (zerof.sum() + 1e-8)
  pairf = pair.astype(jnp.float32)
  rmse = jnp.sqrt(jnp.sum(jnp.where(pair, (F - mean) ** 2, 0.0)) / pairf.sum())
  return gauss + ce + missing, {"gauss_nll": gauss, "init_ce": ce, "missing_link": missing, "rmse": rmse}


def predicted_generator(out, n_states):
  """The predicted rate matrices ``[B, C, C]`` (means; rows and columns ``>= n_states`` zeroed, diagonal =
  minus the row sum) and the initial distributions ``[B, C]`` (softmax over the valid states)."""
  mean = out["mean"]
  c = mean.shape[-1]
  if np.shape(n_states) != (mean.shape[0],):
    raise ValueError(f"predicted_generator: n_states: expected shape ({mean.shape[0]},), got {np.shape(n_states)}")
  valid, pair = _state_masks(n_states, c)
  off = jnp.where(pair, mean, 0.0)
  F = off - jnp.eye(c)[None] * off.sum(-1, keepdims=True)
  p0 = jax.nn.softmax(jnp.where(valid, out["init_logits"], -1e30), axis=-1)
  return F, p0
