"""Gated linear attention layer, the shared pre-norm block, and the language model (Flax linen).

Yang, Wang, Shen, Panda, Kim. "Gated Linear Attention Transformers with Hardware-Efficient Training".
ICML 2024. arXiv:2312.06635.

* :class:`GatedLinearAttention` — paper §4.4 (Eqs. for the GLA layer): per head
  ``S_t = Diag(α_t) S_{t-1} + k_tᵀ v_t``, ``o_t = scale · q_t S_t``; the forget gate is low rank,
  ``log α_t = logsigmoid(x_t W_α¹ W_α² + b_α) / τ`` with ``W_α¹: d×16`` (no bias), ``W_α²: 16×d_k``
  (bias) and τ = 16 (``gate_logit_normalizer``); the output is ``(r_t ⊙ RMSNorm_head(o_t)) W_O`` with the
  output gate ``r_t = Swish(x_t W_r)``. Default sizes ``d_k = d/2``, ``d_v = d`` and 4 heads. The
  recurrence itself is the kernel op ``kernels.gla.gla`` (chunkwise form, paper §4.2–4.3) and, for one
  decoding step, the kernel's single-step update.
* :class:`CausalSelfAttention` — the softmax baseline ("Transformer++", LLaMA style: RoPE, no biases),
  with a :class:`KVCache` for incremental decoding (prefill and one token at a time).
* :class:`SwiGLU` — ``SwiGLU(Z) = (Swish(Z W1) ⊙ Z W2) W3`` (paper §4.4), width rule of the reference
  library: ``256 · ceil(int(8d/3) / 256)``.
* :class:`Block` — pre-norm block ``Y = Mixer(RMSNorm(X)) + X``, ``X' = SwiGLU(RMSNorm(Y)) + Y``, with a
  ``mixer`` switch ``"gla"`` / ``"softmax"`` so both models share everything else.
* :class:`GLATransformer` — embeddings, blocks, final RMSNorm, tied or untied head; a recurrent
  decoding path (:meth:`GLATransformer.decode_step`) carrying the per-layer ``[B, H, K, V]`` states.
  :class:`SoftmaxTransformer` is the same model with ``mixer="softmax"``; its per-layer state is a
  :class:`KVCache` of fixed capacity, so the same ``decode_step`` serves both (O(1) vs O(t) per token).

Dtype contract: ``dtype`` is the compute dtype (None: promote from the inputs / float32 for the LM),
``param_dtype`` float32; norms, gates, softmax, logits and recurrent states in float32 — float64 when the
compute dtype is float64 (under ``jax.enable_x64``; what the gradient checks use).
Non-finite values and token ids: every module is causal in values too — a NaN or inf at position t
reaches outputs at positions ≥ t only (``kernels/gla/nonfinite.py`` for the GLA op, a masked ``p·v``
in the softmax mixer), and the positions before t are bit-for-bit what a finite value gives. Token
ids outside ``[0, vocab_size)`` raise ``ValueError`` naming ``tokens`` when concrete; under ``jit`` they
are a ``checkify`` check and, unchecked, embed as NaN (the logits of that sequence are NaN from that
position on — they condition on it — and exact before it).
Initialisation: weights ``normal(0.02)``, biases zero, norm scales one (the reference library).
RNG streams: ``params`` only (no dropout).
Intermediates (``mutable=["intermediates"]``): each GLA layer sows ``log_g: [B, T, H, K]``.
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from kernels.common import checks
from kernels.gla import IMPLS
from kernels.gla import gla as gla_op
from kernels.gla import gla_decode_step

Array = jax.Array
Dtype = Any

__all__ = ["Block", "CausalSelfAttention", "GLATransformer", "GatedLinearAttention", "KVCache", "MIXERS",
           "RMSNorm", "SoftmaxTransformer", "SwiGLU", "swiglu_width"]

MIXERS = ("gla", "softmax")
_init = nn.initializers.normal(stddev=0.02)


def swiglu_width(d_model: int, hidden_ratio: int = 4, multiple_of: int = 256) -> int:
  """The reference library's SwiGLU width: ``multiple_of · ceil(int(d · ratio · 2/3) / multiple_of)``."""
  _check_pos_int(d_model, "d_model", "swiglu_width")
  _check_pos_int(hidden_ratio, "hidden_ratio", "swiglu_width")
  _check_pos_int(multiple_of, "multiple_of", "swiglu_width")
  h = int(d_model * hidden_ratio * 2 / 3)
  return multiple_of * ((h + multiple_of - 1) // multiple_of)


def _acc(dtype: Dtype) -> jnp.dtype:
  """Dtype of norms, gates, softmax and logits: float32, or float64 for float64 compute."""
  return jnp.promote_types(dtype, jnp.float32)


def _check_float(x: Array, name: str, ndim: int | None, where: str) -> None:
  if not hasattr(x, "shape") or not hasattr(x, "dtype"):
    raise TypeError(f"{where}: {name}: expected an array, got {type(x).__name__}")
  if ndim is not None and x.ndim != ndim:
    raise ValueError(f"{where}: {name}: expected a {ndim}-D array, got shape {tuple(x.shape)}")
  if ndim is None and x.ndim < 1:
    raise ValueError(f"{where}: {name}: expected an array with a feature axis, got shape {tuple(x.shape)}")
  if not jnp.issubdtype(x.dtype, jnp.floating):
    raise TypeError(f"{where}: {name}: expected a floating dtype, got {x.dtype}")


def _check_impl(impl: str, where: str) -> None:
  if impl not in IMPLS:
    raise ValueError(f"{where}: impl: expected one of {IMPLS}, got {impl!r}")


def _is_int(v: Any) -> bool:
  return isinstance(v, int) and not isinstance(v, bool)


def _check_pos_int(v: Any, name: str, where: str) -> None:
  if not _is_int(v) or v < 1:
    raise ValueError(f"{where}: {name}: expected a positive int, got {v!r}")


def _check_pos_float(v: Any, name: str, where: str, zero_ok: bool = False) -> None:
  ok = (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        and (v >= 0 if zero_ok else v > 0))
  if not ok:
    raise ValueError(f"{where}: {name}: expected a {'non-negative' if zero_ok else 'positive'} finite number, "
                     f"got {v!r}")


class RMSNorm(nn.Module):
  """``y = x / sqrt(mean(x², -1) + eps) · scale``, computed in float32.

  Attributes:
    eps: added to the mean square.
    dtype: output dtype (None: the input's).
  """
  eps: float = 1e-6
  dtype: Dtype | None = None
  param_dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x: Array) -> Array:
    """x: [..., D] -> [..., D] (float32 arithmetic, float64 for float64 inputs)."""
    _check_float(x, "x", None, "RMSNorm")
    _check_pos_float(self.eps, "eps", "RMSNorm", zero_ok=True)
    scale = self.param("scale", nn.initializers.ones, (x.shape[-1],), self.param_dtype)
    acc = _acc(x.dtype)
    xa = x.astype(acc)
    y = xa * jax.lax.rsqrt(jnp.mean(jnp.square(xa), axis=-1, keepdims=True) + self.eps)
    return (y * scale.astype(acc)).astype(self.dtype or x.dtype)


def _dense(features: int, name: str, dtype: Dtype | None, param_dtype: Dtype, bias: bool = False) -> nn.Dense:
  return nn.Dense(features, use_bias=bias, kernel_init=_init, bias_init=nn.initializers.zeros,
                  dtype=dtype, param_dtype=param_dtype, name=name)


class GatedLinearAttention(nn.Module):
  """The GLA layer (paper §4.4) with the reference library's parameterisation.

  Parameters (d = input width, d_k = ``int(d · expand_k)``, d_v = ``int(d · expand_v)``, H heads):
  ``q_proj, k_proj: d×d_k``, ``v_proj, g_proj: d×d_v``, ``o_proj: d_v×d`` (no biases),
  ``gk_proj_0: d×r`` (no bias), ``gk_proj_1: r×d_k`` (+ bias), ``g_norm.scale: d_v/H`` (shared by the
  heads), r = ``gate_low_rank_dim``.

  Attributes:
    num_heads: H; d_k and d_v must be divisible by it.
    expand_k, expand_v: d_k / d and d_v / d (paper: 0.5 and 1).
    gate_low_rank_dim: rank r of the forget-gate projection (paper: 16).
    gate_logit_normalizer: τ in ``log α = logsigmoid(·) / τ`` (paper: 16).
    clamp_min: optional lower bound on ``log α`` (None: none).
    norm_eps: eps of the per-head RMSNorm.
    use_output_gate: multiply by ``Swish(x W_r)`` (paper: yes).
    chunk_size: chunk length C of the chunkwise kernel.
    impl: ``"auto" | "reference" | "xla" | "pallas"``, passed to ``kernels.gla.gla``.
    dtype: compute dtype (None: the input's); param_dtype: parameter dtype.
  """
  num_heads: int = 4
  expand_k: float = 0.5
  expand_v: float = 1.0
  gate_low_rank_dim: int = 16
  gate_logit_normalizer: float = 16.0
  clamp_min: float | None = None
  norm_eps: float = 1e-5
  use_output_gate: bool = True
  chunk_size: int = 64
  impl: str = "auto"
  dtype: Dtype | None = None
  param_dtype: Dtype = jnp.float32

  def dims(self, d_model: int) -> tuple[int, int, int, int]:
    """``(d_k, d_v, head_k, head_v)`` for input width ``d_model``; raises ValueError if they do not split."""
    w = "GatedLinearAttention"
    _check_pos_int(self.num_heads, "num_heads", w)
    for name in ("expand_k", "expand_v"):
      _check_pos_float(getattr(self, name), name, w)
    dk, dv = int(d_model * self.expand_k), int(d_model * self.expand_v)
    for name, dim in (("expand_k", dk), ("expand_v", dv)):
      if dim < 1 or dim % self.num_heads:
        raise ValueError(f"{w}: {name}: int(d_model · {name}) = {dim} must be a positive multiple of "
                         f"num_heads={self.num_heads} (d_model={d_model})")
    return dk, dv, dk // self.num_heads, dv // self.num_heads

  def state_shape(self, batch_size: int, d_model: int) -> tuple[int, int, int, int]:
    """Shape ``[B, H, K, V]`` of the recurrent state."""
    _, _, hk, hv = self.dims(d_model)
    return (batch_size, self.num_heads, hk, hv)

  @nn.compact
  def __call__(self, x: Array, *, initial_state: Array | None = None, return_state: bool = False
               ) -> Array | tuple[Array, Array]:
    """Applies the layer.

    Args:
      x: [B, T, D] inputs.
      initial_state: [B, H, K, V] float32 state before position 0 (None: zeros).
      return_state: also return the state after the last position.
    Returns:
      y: [B, T, D] (and, if ``return_state``, the final state [B, H, K, V] float32). With T = 1 and an
      ``initial_state`` this is one recurrent decoding step (the kernel's single-step update).
    """
    w = "GatedLinearAttention"
    _check_float(x, "x", 3, w)
    _check_impl(self.impl, w)
    _check_pos_float(self.gate_logit_normalizer, "gate_logit_normalizer", w)
    _check_pos_int(self.gate_low_rank_dim, "gate_low_rank_dim", w)
    if self.clamp_min is not None and not (isinstance(self.clamp_min, (int, float))
                                           and not isinstance(self.clamp_min, bool) and self.clamp_min <= 0):
      raise ValueError(f"{w}: clamp_min: expected None or a number <= 0 (a bound on log α), got {self.clamp_min!r}")
    b, t, d = x.shape
    dk, dv, hk, hv = self.dims(d)
    h = self.num_heads
    if initial_state is not None:
      _check_float(initial_state, "initial_state", 4, w)
      if tuple(initial_state.shape) != (b, h, hk, hv):
        raise ValueError(f"{w}: initial_state: expected shape {(b, h, hk, hv)} = [B, H, K, V], "
                         f"got {tuple(initial_state.shape)}")
    dt = self.dtype or x.dtype
    acc = _acc(dt)
    x = x.astype(dt)
    q = _dense(dk, "q_proj", dt, self.param_dtype)(x).reshape(b, t, h, hk)
    k = _dense(dk, "k_proj", dt, self.param_dtype)(x).reshape(b, t, h, hk)
    v = _dense(dv, "v_proj", dt, self.param_dtype)(x).reshape(b, t, h, hv)
    gk = _dense(self.gate_low_rank_dim, "gk_proj_0", dt, self.param_dtype)(x)
    gk = _dense(dk, "gk_proj_1", dt, self.param_dtype, bias=True)(gk)
    log_g = jax.nn.log_sigmoid(gk.astype(acc)) / self.gate_logit_normalizer
    if self.clamp_min is not None:
      log_g = jnp.maximum(log_g, self.clamp_min)
    log_g = log_g.reshape(b, t, h, hk)
    self.sow("intermediates", "log_g", log_g)

    if t == 1 and initial_state is not None:
      o, state = gla_decode_step(q[:, 0], k[:, 0], v[:, 0], log_g[:, 0], initial_state)
      o = o[:, None]
    else:
      o, state = gla_op(q, k, v, log_g, initial_state=initial_state, output_final_state=return_state,
                             chunk_size=self.chunk_size, impl=self.impl)
    o = RMSNorm(self.norm_eps, dtype=acc, param_dtype=self.param_dtype, name="g_norm")(o)
    if self.use_output_gate:
      r = _dense(dv, "g_proj", dt, self.param_dtype)(x).reshape(b, t, h, hv)
      o = o * jax.nn.swish(r.astype(acc))
    y = _dense(d, "o_proj", dt, self.param_dtype)(o.reshape(b, t, dv).astype(dt))
    return (y, state) if return_state else y


def rope(x: Array, positions: Array, theta: float = 10000.0) -> Array:
  """Rotary position embedding (rotate-half form). x: [B, T, H, D] (D even); positions: [T].

  float32 arithmetic (float64 for float64 x); returns x's dtype. Raises ValueError / TypeError naming
  the argument for a bad rank, odd D, positions not of shape [T], or theta not positive."""
  _check_float(x, "x", 4, "rope")
  if x.shape[-1] % 2:
    raise ValueError(f"rope: x: expected an even last dim D (rotate-half pairs), got shape {tuple(x.shape)}")
  if not hasattr(positions, "shape") or tuple(positions.shape) != (x.shape[1],):
    raise ValueError(f"rope: positions: expected shape [T] = ({x.shape[1]},), got "
                     f"{getattr(positions, 'shape', type(positions).__name__)}")
  _check_pos_float(theta, "theta", "rope")
  dh = x.shape[-1]
  acc = _acc(x.dtype)
  inv = 1.0 / (theta ** (jnp.arange(0, dh, 2, dtype=acc) / dh))             # [D/2]
  ang = positions.astype(acc)[:, None] * inv[None, :]                        # [T, D/2]
  cos, sin = jnp.cos(ang)[None, :, None, :], jnp.sin(ang)[None, :, None, :]
  x32 = x.astype(acc)
  x1, x2 = x32[..., : dh // 2], x32[..., dh // 2:]
  return jnp.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1).astype(x.dtype)


class KVCache(NamedTuple):
  """Key/value cache of one softmax-attention layer (the softmax baseline's decoding state).

  Attributes:
    k: [B, S, H, Dh] rotated keys of the positions seen so far (S = capacity; unused rows are zero).
    v: [B, S, H, Dh] values.
    length: int32 [] number of positions filled (the next token's position).
  """
  k: Array
  v: Array
  length: Array

  @classmethod
  def empty(cls, batch_size: int, max_len: int, num_heads: int, head_dim: int, dtype: Dtype = jnp.float32
            ) -> "KVCache":
    """An empty cache with room for ``max_len`` positions."""
    for name, val in (("batch_size", batch_size), ("max_len", max_len)):
      if not isinstance(val, int) or isinstance(val, bool) or val < 1:
        raise ValueError(f"{name}: expected a positive int, got {val!r}")
    z = jnp.zeros((batch_size, max_len, num_heads, head_dim), dtype)
    return cls(z, z, jnp.zeros((), jnp.int32))


class CausalSelfAttention(nn.Module):
  """Causal softmax attention with RoPE and no biases (the "Transformer++" baseline's mixer).

  Parameters: ``q_proj, k_proj, v_proj, o_proj: d×d`` (4d², as the GLA layer up to its small gate).

  Attributes:
    num_heads: H (d must be divisible by H, head dim even).
    rope_theta: RoPE base.
    dtype: compute dtype (None: the input's); softmax in float32.
  """
  num_heads: int = 4
  rope_theta: float = 10000.0
  dtype: Dtype | None = None
  param_dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x: Array, *, initial_state: KVCache | None = None, return_state: bool = False):
    """x: [B, T, D] -> [B, T, D]. Position t attends to positions <= t.

    With ``initial_state`` (a :class:`KVCache` holding ``length`` earlier positions) the T new positions
    are ``length .. length+T-1``: their keys and values are written into the cache and they attend to
    everything cached. If the cache has no room (``length + T > S``) the outputs are NaN (the overflow
    is detected under jit, where no exception can be raised). ``return_state`` also returns the updated
    cache; without ``initial_state`` that cache has capacity T (full).

    Causal in values: a NaN / inf at position s (through its key, query or value) reaches positions
    ≥ s only; ``p · v`` runs on finite values and a running NaN mark per value channel replaces the
    ``0 · NaN`` of the masked (future) positions.
    """
    w = "CausalSelfAttention"
    _check_float(x, "x", 3, w)
    b, t, d = x.shape
    h = self.num_heads
    if not _is_int(h) or h < 1 or d % h or (d // h) % 2:
      raise ValueError(f"{w}: num_heads: expected a positive int dividing d_model={d} into even head dims, "
                       f"got {h!r}")
    _check_pos_float(self.rope_theta, "rope_theta", w)
    dh = d // h
    dt = self.dtype or x.dtype
    if initial_state is not None:
      if not isinstance(initial_state, KVCache):
        raise TypeError(f"{w}: initial_state: expected a KVCache for the softmax mixer, got "
                        f"{type(initial_state).__name__}")
      if initial_state.k.shape[0] != b or initial_state.k.shape[2:] != (h, dh):
        raise ValueError(f"{w}: initial_state: expected a KVCache of shape [B={b}, S, H={h}, Dh={dh}], got "
                         f"{tuple(initial_state.k.shape)}")
      if initial_state.k.shape[1] < t:
        raise ValueError(f"{w}: initial_state: expected a KVCache with room for the {t} new positions, got "
                         f"capacity {initial_state.k.shape[1]}")
    x = x.astype(dt)
    start = jnp.zeros((), jnp.int32) if initial_state is None else initial_state.length
    pos = start + jnp.arange(t)
    q = rope(_dense(d, "q_proj", dt, self.param_dtype)(x).reshape(b, t, h, dh), pos, self.rope_theta)
    k = rope(_dense(d, "k_proj", dt, self.param_dtype)(x).reshape(b, t, h, dh), pos, self.rope_theta)
    v = _dense(d, "v_proj", dt, self.param_dtype)(x).reshape(b, t, h, dh)
    if initial_state is None:
      keys, vals, kpos = k, v, jnp.arange(t)
    else:
      cdt = initial_state.k.dtype
      at = (0, start, 0, 0)
      keys = jax.lax.dynamic_update_slice(initial_state.k, k.astype(cdt), at).astype(dt)
      vals = jax.lax.dynamic_update_slice(initial_state.v, v.astype(cdt), at).astype(dt)
      kpos = jnp.arange(keys.shape[1])
    causal = kpos[None, :] <= pos[:, None]                                # [T, S]
    s = jnp.einsum("bthd,bshd->bhts", q, keys, preferred_element_type=_acc(dt)) / math.sqrt(dh)
    s = jnp.where(causal, s, -jnp.inf)
    p = jax.nn.softmax(s, axis=-1)
    fin = jnp.isfinite(vals)                                              # [B, S, H, Dh]
    o = jnp.einsum("bhts,bshd->bthd", p.astype(dt), jnp.where(fin, vals, jnp.zeros((), vals.dtype)))
    # NaN at (t, j) iff some visible position s <= t has a non-finite value in channel j (cheap: first index)
    first_bad = jnp.min(jnp.where(fin, keys.shape[1], kpos[None, :, None, None]), axis=1)   # [B, H, Dh]
    o = jnp.where(pos[None, :, None, None] >= first_bad[:, None], jnp.asarray(jnp.nan, o.dtype), o)
    o = o.reshape(b, t, d)
    if initial_state is not None:
      o = jnp.where(start + t <= keys.shape[1], o, jnp.nan)              # cache overflow -> NaN
    o = _dense(d, "o_proj", dt, self.param_dtype)(o)
    if not return_state:
      return o
    if initial_state is None:
      return o, KVCache(k, v, jnp.asarray(t, jnp.int32))
    return o, KVCache(keys.astype(initial_state.k.dtype), vals.astype(initial_state.v.dtype), start + t)


class SwiGLU(nn.Module):
  """``(Swish(x W_gate) ⊙ x W_up) W_down``, no biases.

  Attributes:
    hidden: inner width (None: :func:`swiglu_width` of the input width).
  """
  hidden: int | None = None
  dtype: Dtype | None = None
  param_dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x: Array) -> Array:
    """x: [..., D] -> [..., D]."""
    _check_float(x, "x", None, "SwiGLU")
    if self.hidden is not None:
      _check_pos_int(self.hidden, "hidden", "SwiGLU")
    d = x.shape[-1]
    hdim = self.hidden or swiglu_width(d)
    dt = self.dtype or x.dtype
    x = x.astype(dt)
    gate = _dense(hdim, "gate_proj", dt, self.param_dtype)(x)
    up = _dense(hdim, "up_proj", dt, self.param_dtype)(x)
    return _dense(d, "down_proj", dt, self.param_dtype)(jax.nn.swish(gate) * up)


class Block(nn.Module):
  """Pre-norm block shared by both models: ``Y = Mixer(RMSNorm(X)) + X``; ``X' = SwiGLU(RMSNorm(Y)) + Y``.

  Attributes:
    mixer: ``"gla"`` (:class:`GatedLinearAttention`) or ``"softmax"`` (:class:`CausalSelfAttention`).
    num_heads: heads of the mixer.
    mlp_hidden: SwiGLU width (None: the reference library's rule).
    norm_eps: eps of the block norms and of the GLA per-head norm.
    gla_kwargs: other :class:`GatedLinearAttention` fields, as a tuple of ``(name, value)`` pairs.
    rope_theta: RoPE base of the softmax mixer.
  """
  mixer: str = "gla"
  num_heads: int = 4
  mlp_hidden: int | None = None
  norm_eps: float = 1e-6
  gla_kwargs: tuple[tuple[str, Any], ...] = ()
  rope_theta: float = 10000.0
  dtype: Dtype | None = None
  param_dtype: Dtype = jnp.float32

  def make_mixer(self) -> nn.Module:
    if self.mixer == "gla":
      return GatedLinearAttention(num_heads=self.num_heads, norm_eps=self.norm_eps, dtype=self.dtype,
                                  param_dtype=self.param_dtype, name="attn", **dict(self.gla_kwargs))
    if self.mixer == "softmax":
      return CausalSelfAttention(num_heads=self.num_heads, rope_theta=self.rope_theta, dtype=self.dtype,
                                 param_dtype=self.param_dtype, name="attn")
    raise ValueError(f"Block: mixer: expected one of {MIXERS}, got {self.mixer!r}")

  @nn.compact
  def __call__(self, x: Array, *, state: Array | None = None, return_state: bool = False):
    """x: [B, T, D] -> [B, T, D] (and the mixer's final state if ``return_state``: [B, H, K, V] for GLA,
    a :class:`KVCache` for softmax)."""
    _check_float(x, "x", 3, "Block")
    if self.mlp_hidden is not None:
      _check_pos_int(self.mlp_hidden, "mlp_hidden", "Block")
    mixer = self.make_mixer()
    hn = RMSNorm(self.norm_eps, dtype=self.dtype, param_dtype=self.param_dtype, name="attn_norm")(x)
    if return_state:
      m, new_state = mixer(hn, initial_state=state, return_state=True)
    else:
      m, new_state = mixer(hn, initial_state=state), None
    x = x + m.astype(x.dtype)
    hn = RMSNorm(self.norm_eps, dtype=self.dtype, param_dtype=self.param_dtype, name="mlp_norm")(x)
    x = x + SwiGLU(self.mlp_hidden, dtype=self.dtype, param_dtype=self.param_dtype, name="mlp")(hn).astype(x.dtype)
    return (x, new_state) if return_state else x


class GLATransformer(nn.Module):
  """Decoder-only language model: embedding, ``num_layers`` :class:`Block` s, final RMSNorm, head.

  Attributes:
    vocab_size: V_tok.
    d_model: width d.
    num_layers: L.
    num_heads: heads per mixer (paper: 4).
    mixer: ``"gla"`` or ``"softmax"`` (the baseline with otherwise identical blocks).
    tie_embeddings: the head reuses the embedding matrix (paper: 340M tied, 1.3B untied).
    mlp_hidden: SwiGLU width (None: ``256 · ceil(int(8d/3) / 256)``).
    norm_eps: RMSNorm eps (1e-6).
    expand_k, expand_v, gate_low_rank_dim, gate_logit_normalizer, clamp_min, chunk_size, impl:
      passed to :class:`GatedLinearAttention`.
    rope_theta: RoPE base (softmax mixer only; GLA uses no positional encoding).
    dtype: compute dtype (None: float32); param_dtype: parameter dtype. Logits are float32.
  """
  vocab_size: int
  d_model: int
  num_layers: int
  num_heads: int = 4
  mixer: str = "gla"
  tie_embeddings: bool = True
  mlp_hidden: int | None = None
  norm_eps: float = 1e-6
  expand_k: float = 0.5
  expand_v: float = 1.0
  gate_low_rank_dim: int = 16
  gate_logit_normalizer: float = 16.0
  clamp_min: float | None = None
  chunk_size: int = 64
  impl: str = "auto"
  rope_theta: float = 10000.0
  dtype: Dtype | None = None
  param_dtype: Dtype = jnp.float32

  def _gla_layer(self) -> GatedLinearAttention:
    return GatedLinearAttention(**dict(self._gla_kwargs()), num_heads=self.num_heads, norm_eps=self.norm_eps,
                                parent=None)

  def _gla_kwargs(self) -> tuple[tuple[str, Any], ...]:
    return (("expand_k", self.expand_k), ("expand_v", self.expand_v),
            ("gate_low_rank_dim", self.gate_low_rank_dim), ("gate_logit_normalizer", self.gate_logit_normalizer),
            ("clamp_min", self.clamp_min), ("chunk_size", self.chunk_size), ("impl", self.impl))

  def check(self) -> None:
    """Validates the hyperparameters; raises ValueError naming the field."""
    w = type(self).__name__
    for f in ("vocab_size", "d_model", "num_layers", "num_heads"):
      _check_pos_int(getattr(self, f), f, w)
    if self.mixer not in MIXERS:
      raise ValueError(f"{w}: mixer: expected one of {MIXERS}, got {self.mixer!r}")
    _check_impl(self.impl, w)
    if self.mlp_hidden is not None:
      _check_pos_int(self.mlp_hidden, "mlp_hidden", w)
    _check_pos_float(self.norm_eps, "norm_eps", w, zero_ok=True)
    if self.mixer == "gla":
      self._gla_layer().dims(self.d_model)
    else:
      _check_pos_float(self.rope_theta, "rope_theta", w)
      if self.d_model % self.num_heads or (self.d_model // self.num_heads) % 2:
        raise ValueError(f"{w}: num_heads: expected a divisor of d_model={self.d_model} into even head dims, "
                         f"got {self.num_heads}")

  def initial_states(self, batch_size: int, max_len: int | None = None) -> tuple[Any, ...]:
    """Per-layer decoding states before position 0: zero ``[B, H, K, V]`` float32 states for GLA
    (``max_len`` unused), empty :class:`KVCache` s with room for ``max_len`` positions for softmax."""
    self.check()
    if self.mixer == "softmax":
      if max_len is None:
        raise ValueError(f"{type(self).__name__}.initial_states: max_len: the softmax mixer's KV cache needs a "
                         "capacity (positive int), got None")
      dh = self.d_model // self.num_heads
      return tuple(KVCache.empty(batch_size, max_len, self.num_heads, dh, self.dtype or jnp.float32)
                   for _ in range(self.num_layers))
    shape = self._gla_layer().state_shape(batch_size, self.d_model)
    return tuple(jnp.zeros(shape, jnp.float32) for _ in range(self.num_layers))

  @nn.compact
  def __call__(self, tokens: Array, *, states: Sequence[Array] | None = None, return_states: bool = False):
    """Next-token logits.

    Args:
      tokens: [B, T] integer ids in ``[0, vocab_size)``. Concrete ids outside it raise ``ValueError``
        naming ``tokens`` and the first bad index; traced ids (under ``jit``) are checked by
        ``checkify`` (``checkify.checkify(jax.jit(f))`` reports them) and otherwise embed as NaN: the
        logits of that sequence are NaN from that position on and exact before it (never another row).
      states: per-layer states before position 0 (``initial_states``: GLA states or softmax KV caches),
        or None.
      return_states: also return the per-layer states after the last position.
    Returns:
      logits: [B, T, vocab_size] float32 — float64 with ``dtype=float64`` — (and a tuple of L states if
      ``return_states``).
    """
    self.check()
    w = type(self).__name__
    if not hasattr(tokens, "dtype") or not jnp.issubdtype(tokens.dtype, jnp.integer):
      raise TypeError(f"{w}: tokens: expected an integer array, got "
                      f"{getattr(tokens, 'dtype', type(tokens).__name__)}")
    if tokens.ndim != 2:
      raise ValueError(f"{w}: tokens: expected shape [B, T], got {tuple(tokens.shape)}")
    if states is not None and len(states) != self.num_layers:
      raise ValueError(f"{w}: states: expected {self.num_layers} per-layer states, got {len(states)}")
    checks.check_in_range(tokens, "tokens", w, 0, self.vocab_size)
    dt = self.dtype or jnp.float32
    embed = nn.Embed(self.vocab_size, self.d_model, embedding_init=_init, dtype=dt,
                     param_dtype=self.param_dtype, name="embed")
    valid = (tokens >= 0) & (tokens < self.vocab_size)
    x = embed(jnp.where(valid, tokens, 0))                     # never another row (flax would wrap -1)
    x = jnp.where(valid[..., None], x, jnp.asarray(jnp.nan, x.dtype))
    new_states = []
    for i in range(self.num_layers):
      blk = Block(mixer=self.mixer, num_heads=self.num_heads, mlp_hidden=self.mlp_hidden, norm_eps=self.norm_eps,
                  gla_kwargs=self._gla_kwargs(), rope_theta=self.rope_theta, dtype=dt,
                  param_dtype=self.param_dtype, name=f"layers_{i}")
      st = None if states is None else states[i]
      if return_states or st is not None:
        x, s = blk(x, state=st, return_state=True)
        new_states.append(s)
      else:
        x = blk(x)
    x = RMSNorm(self.norm_eps, dtype=_acc(dt), param_dtype=self.param_dtype, name="norm")(x)
    if self.tie_embeddings:
      logits = embed.attend(x.astype(dt))
    else:
      logits = _dense(self.vocab_size, "lm_head", dt, self.param_dtype)(x.astype(dt))
    logits = logits.astype(_acc(dt))
    return (logits, tuple(new_states)) if return_states else logits

  def decode_step(self, token: Array, states: Sequence[Array]) -> tuple[Array, tuple[Array, ...]]:
    """One decoding step: O(1) per token for GLA (recurrent state), O(t) for softmax (KV cache).

    Args:
      token: [B] integer ids at the current position.
      states: per-layer states before this position (``initial_states`` at t=0: ``[B, H, K, V]`` float32
        for GLA, :class:`KVCache` for softmax).
    Returns:
      (logits: [B, vocab_size] float32, the per-layer states after this position).
    Use as ``model.apply(variables, token, states, method="decode_step")``.
    """
    w = f"{type(self).__name__}.decode_step"
    if not hasattr(token, "ndim") or token.ndim != 1:
      raise ValueError(f"{w}: token: expected shape [B], got {getattr(token, 'shape', type(token).__name__)}")
    if not jnp.issubdtype(token.dtype, jnp.integer):
      raise TypeError(f"{w}: token: expected an integer array, got {token.dtype}")
    checks.check_in_range(token, "token", w, 0, self.vocab_size)
    if states is None:
      raise ValueError(f"{w}: states: expected the per-layer states (use initial_states(batch_size)), got None")
    logits, new_states = self(token[:, None], states=tuple(states), return_states=True)
    return logits[:, 0], new_states


class SoftmaxTransformer(GLATransformer):
  """The softmax-attention baseline: :class:`GLATransformer` with ``mixer="softmax"`` (RoPE attention)."""
  mixer: str = "softmax"
