"""RADD's training objectives: t-DSE, t-DCE, λ-DCE, k-DCE (= AO-ARM), and the exact any-order NLL.

Ou, Nie, Xue, Zhu, Sun, Li, Li. "Your Absorbing Discrete Diffusion Secretly Models the Conditional
Distributions of Clean Data". ICLR 2025. arXiv:2406.03736 (§3–4; Thm. 2 and its corollaries).

Every function returns a per-sequence loss ``[B]`` in nats: an unbiased one-sample estimate of an upper
bound on ``−log p_θ(x₀)`` of the whole sequence (divide by ``L · ln 2`` for bits per token). The network
enters as ``log_cond_fn: x_t [B, L] -> log c_θ(x_t) [B, L, V]`` (time-independent); ``mask_id`` is V.
With the notation ``a(t) = e^{−σ̄}/(1 − e^{−σ̄}) = 1/expm1(σ̄)`` and ``M(x_t)`` the masked positions:

* :func:`t_dse_loss` — denoising score entropy with ``s = a · c_θ`` (paper Eq. for DSE with the RADD
  parameterisation): ``∫₀¹ σ(t) Σ_{i∈M} [Σ_v s_{i,v} − a log s_{i,x₀ⁱ} + K(a)] dt``, ``K(a) = a(log a − 1)``.
* :func:`t_dce_loss` — ``∫₀¹ σ(t) a(t) Σ_{i∈M} −log c_θ(x_t)_{i,x₀ⁱ} dt`` (equal to t-DSE whenever
  ``c_θ`` sums to one).
* :func:`lambda_dce_loss` — the schedule-free form with λ = 1 − e^{−σ̄} (each token masked w.p. λ):
  ``∫₀¹ (1/λ) E[Σ_{i∈M} −log c_θ] dλ``, λ drawn stratified ("decoupled"): ``λ_b = (u_b + b)/B``.
* :func:`k_dce_loss` — the any-order autoregressive form: k ~ U{1..L}, exactly k positions masked
  uniformly, loss ``(L/k) Σ_{i∈M} −log c_θ``.
* :func:`ao_arm_nll` — ``Σ_l −log c_θ(x^{π(≥l)} masked)_{π(l), x₀^{π(l)}}`` along a given order π (L
  network calls): ``−log p^π_θ(x₀)`` of the order-π autoregressive model; with exact conditionals it is
  ``−log p₀(x₀)`` for every π. The four losses above equal its average over π in expectation.

Time integrals are estimated over ``t ∈ [t_min, 1]`` by ``t = t_min + (1 − t_min) u`` with weight
``(1 − t_min)`` (the VDM low-discrepancy draw ``u_b = (u₀ + b/B) mod 1`` when ``stratified``).

Checks: ``x0`` must be int ``[B, L]`` with clean ids in ``[0, V)`` (``V = mask_id``), ``xt`` ids in
``[0, V]``, ``log_cond_fn``'s output ``[B, L, V]`` (checked abstractly). Ids are checked with
:func:`kernels.common.checks.check_in_range`: ``ValueError`` naming the argument and index when concrete,
a ``checkify`` check under ``jit``; an unchecked jit call with a clean id outside ``[0, V)`` at a masked
position gives a NaN loss for that sequence (never a value read from another row). The losses are
differentiable in the network's parameters (and :func:`masked_nll` in ``log_c``).
"""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import check_in_range, check_key, is_concrete
from models.radd.process import Noise, check_mask_id, check_noise, check_tokens, mask_tokens, score_scale

Array = jax.Array
LogCondFn = Callable[[Array], Array]

__all__ = ["ao_arm_nll", "k_dce_loss", "lambda_dce_loss", "masked_nll", "t_dce_loss", "t_dse_loss"]


_NO_KEY = object()


def _check_common(x0: Array, mask_id: int, fn: str, key=_NO_KEY, log_cond_fn=None) -> None:
  """x0 clean int [B, L] ids in [0, V), V = mask_id; the key (when the loss draws one); log_cond_fn callable
  with an output [B, L, V] (checked abstractly)."""
  check_mask_id(mask_id, fn)
  check_tokens(x0, "x0", fn, mask_id)
  if key is not _NO_KEY:
    check_key(key, "key", fn)
  if not callable(log_cond_fn):
    raise TypeError(f"{fn}: log_cond_fn expected a callable x_t [B, L] -> [B, L, V], got "
                    f"{type(log_cond_fn).__name__}")
  out = jax.eval_shape(log_cond_fn, jax.ShapeDtypeStruct(x0.shape, x0.dtype))
  _check_log_c(out, x0, mask_id, fn)


def _check_log_c(log_c, x0: Array, mask_id: int, fn: str) -> None:
  if getattr(log_c, "shape", None) != (*x0.shape, mask_id):
    raise ValueError(f"{fn}: log_cond_fn expected an output of shape [B, L, V] = {(*x0.shape, mask_id)}, got "
                     f"{getattr(log_c, 'shape', type(log_c).__name__)}")
  if not jnp.issubdtype(log_c.dtype, jnp.floating):
    raise TypeError(f"{fn}: log_cond_fn expected a float output, got {log_c.dtype}")


def _check_dtype(dtype, fn: str) -> None:
  try:
    ok = jnp.issubdtype(dtype, jnp.floating)
  except TypeError:
    ok = False
  if not ok:
    raise TypeError(f"{fn}: dtype expected a float dtype, got {dtype!r}")


def masked_nll(log_c: Array, x0: Array, xt: Array, mask_id: int) -> Array:
  """``Σ_{i: x_tⁱ = M} −log c_{i, x₀ⁱ}`` per sequence. log_c: [B, L, V]; x0, xt: int [B, L] -> [B].

  ``V = mask_id``; x0 ids in ``[0, V)``, xt ids in ``[0, V]`` (checked: ``ValueError`` with the index
  when concrete, ``checkify`` under jit; unchecked, a bad x0 id at a masked position gives NaN for its
  sequence). Differentiable in ``log_c``."""
  check_mask_id(mask_id, "masked_nll")
  check_tokens(x0, "x0", "masked_nll", mask_id)
  check_tokens(xt, "xt", "masked_nll", mask_id + 1)
  if xt.shape != x0.shape:
    raise ValueError(f"masked_nll: xt expected the shape of x0 {tuple(x0.shape)}, got {tuple(xt.shape)}")
  if not hasattr(log_c, "dtype") or not jnp.issubdtype(log_c.dtype, jnp.floating):
    raise TypeError(f"masked_nll: log_c expected a float array, got {getattr(log_c, 'dtype', type(log_c).__name__)}")
  if log_c.shape != (*x0.shape, mask_id):
    raise ValueError(f"masked_nll: log_c expected shape [B, L, V] = {(*x0.shape, mask_id)}, got {tuple(log_c.shape)}")
  valid = (x0 >= 0) & (x0 < mask_id)
  idx = jnp.where(valid, x0, 0).astype(jnp.int32)
  nll = -jnp.take_along_axis(log_c, idx[..., None], axis=-1)[..., 0]
  nll = jnp.where(valid, nll, jnp.asarray(jnp.nan, nll.dtype))
  return jnp.sum(jnp.where(xt == mask_id, nll, 0.0), axis=-1)


def check_permutations(order: Array, fn: str) -> None:
  """Each row of int ``order: [B, L]`` must be a permutation of 0..L−1: ids checked by
  :func:`check_in_range` (eager or checkify); the permutation itself only when concrete."""
  length = order.shape[1]
  check_in_range(order, "order", fn, 0, length)
  if is_concrete(order):
    o = np.asarray(order)
    ok = np.sort(o, axis=-1) == np.arange(length)
    if not ok.all():
      row = int(np.argwhere(~ok.all(axis=-1))[0, 0])
      raise ValueError(f"{fn}: order expected each row to be a permutation of 0..{length - 1}, row {row} is "
                       f"{o[row].tolist()}")


def _uniform(key: Array, n: int, stratified: bool, dtype) -> Array:
  """[n] uniforms in [0, 1): i.i.d., or the VDM low-discrepancy set (u₀ + b/n) mod 1."""
  if stratified:
    u0 = jax.random.uniform(key, (), dtype)
    return jnp.mod(u0 + jnp.arange(n, dtype=dtype) / n, 1.0)
  return jax.random.uniform(key, (n,), dtype)


def _check_t_min(t_min: float, fn: str) -> None:
  if not (isinstance(t_min, float) and 0.0 <= t_min < 1.0):
    raise ValueError(f"{fn}: t_min expected a float in [0, 1), got {t_min!r}")


def _t_sample(key, x0, noise, mask_id, t_min, stratified, dtype):
  kt, km = jax.random.split(key)
  u = _uniform(kt, x0.shape[0], stratified, dtype)
  t = t_min + (1.0 - t_min) * u
  sb = noise.total(t)
  xt = mask_tokens(km, x0, noise.mask_prob(t), mask_id)
  return t, sb, xt


def t_dce_loss(log_cond_fn: LogCondFn, key: Array, x0: Array, noise: Noise, mask_id: int, *,
               t_min: float = 1e-3, stratified: bool = True, dtype=jnp.float32) -> Array:
  """t-DCE: ``(1 − t_min) σ(t) a(t) Σ_{i∈M} −log c_θ(x_t)_{i,x₀ⁱ}`` at one t per sequence. x0: int [B, L] -> [B]."""
  _check_common(x0, mask_id, "t_dce_loss", key, log_cond_fn)
  check_noise(noise, "t_dce_loss")
  _check_t_min(t_min, "t_dce_loss")
  _check_dtype(dtype, "t_dce_loss")
  t, sb, xt = _t_sample(key, x0, noise, mask_id, t_min, stratified, dtype)
  log_c = log_cond_fn(xt)
  w = (1.0 - t_min) * noise.rate(t) * score_scale(sb)
  return w * masked_nll(log_c, x0, xt, mask_id)


def t_dse_loss(log_cond_fn: LogCondFn, key: Array, x0: Array, noise: Noise, mask_id: int, *,
               t_min: float = 1e-3, stratified: bool = True, dtype=jnp.float32) -> Array:
  """t-DSE with ``s = a · c_θ``: ``(1 − t_min) σ(t) Σ_{i∈M}[Σ_v s_{i,v} − a log s_{i,x₀ⁱ} + K(a)]``. -> [B].

  Draws the same ``t`` and ``x_t`` as :func:`t_dce_loss` for the same key.
  """
  _check_common(x0, mask_id, "t_dse_loss", key, log_cond_fn)
  check_noise(noise, "t_dse_loss")
  _check_t_min(t_min, "t_dse_loss")
  _check_dtype(dtype, "t_dse_loss")
  t, sb, xt = _t_sample(key, x0, noise, mask_id, t_min, stratified, dtype)
  log_c = log_cond_fn(xt)
  a = score_scale(sb)[:, None]                                       # [B, 1]
  log_a = -jnp.log(jnp.expm1(sb))[:, None]
  sum_s = a * jnp.sum(jnp.exp(log_c), axis=-1)                       # Σ_v s_v           [B, L]
  valid = (x0 >= 0) & (x0 < mask_id)                                # unchecked jit: bad ids -> NaN
  log_c_x0 = jnp.take_along_axis(log_c, jnp.where(valid, x0, 0)[..., None].astype(jnp.int32), axis=-1)[..., 0]
  log_s_x0 = log_a + jnp.where(valid, log_c_x0, jnp.asarray(jnp.nan, log_c.dtype))
  k = a * (log_a - 1.0)                                              # K(a)
  per_pos = sum_s - a * log_s_x0 + k
  w = (1.0 - t_min) * noise.rate(t)
  return w * jnp.sum(jnp.where(xt == mask_id, per_pos, 0.0), axis=-1)


def lambda_dce_loss(log_cond_fn: LogCondFn, key: Array, x0: Array, mask_id: int, *, stratified: bool = True,
                    dtype=jnp.float32) -> Array:
  """λ-DCE: ``(1/λ) Σ_{i∈M} −log c_θ(x_λ)_{i,x₀ⁱ}``, each token masked w.p. λ. x0: int [B, L] -> [B].

  λ is drawn stratified over the batch, ``λ_b = (u_b + π(b))/B`` with a random permutation π (i.i.d.
  uniform when not ``stratified``).
  """
  _check_common(x0, mask_id, "lambda_dce_loss", key, log_cond_fn)
  _check_dtype(dtype, "lambda_dce_loss")
  b = x0.shape[0]
  kl, kp, km = jax.random.split(key, 3)
  u = jax.random.uniform(kl, (b,), dtype)
  # strata are dealt to the sequences in a random order, so each sequence's λ is marginally U(0, 1)
  # (a fixed stratum per batch row would bias the estimate of a row whose data are not exchangeable)
  lam = (u + jax.random.permutation(kp, b).astype(dtype)) / b if stratified else u
  xt = mask_tokens(km, x0, lam, mask_id)
  log_c = log_cond_fn(xt)
  # λ = 0 masks nothing, so the sum is 0: guard the division instead of producing 0/0.
  return masked_nll(log_c, x0, xt, mask_id) / jnp.where(lam > 0, lam, 1.0)


def k_dce_loss(log_cond_fn: LogCondFn, key: Array, x0: Array, mask_id: int, *, dtype=jnp.float32) -> Array:
  """k-DCE (any-order autoregressive): k ~ U{1..L}, k positions masked uniformly, ``(L/k) Σ_{i∈M} −log c``. -> [B]."""
  _check_common(x0, mask_id, "k_dce_loss", key, log_cond_fn)
  _check_dtype(dtype, "k_dce_loss")
  b, length = x0.shape
  kk, kp = jax.random.split(key)
  k = jax.random.randint(kk, (b,), 1, length + 1)
  ranks = jnp.argsort(jnp.argsort(jax.random.uniform(kp, (b, length)), axis=-1), axis=-1)
  xt = jnp.where(ranks < k[:, None], jnp.asarray(mask_id, x0.dtype), x0)
  log_c = log_cond_fn(xt)
  return (length / k.astype(dtype)) * masked_nll(log_c, x0, xt, mask_id)


def ao_arm_nll(log_cond_fn: LogCondFn, x0: Array, order: Array, mask_id: int) -> Array:
  """``−log p^π_θ(x₀) = Σ_l −log c_θ(x₀ with π(l..L−1) masked)_{π(l), x₀^{π(l)}}`` (L network calls).

  Args:
    log_cond_fn: x_t [B, L] -> log c_θ [B, L, V].
    x0: int [B, L] clean tokens.
    order: int [B, L], each row a permutation of 0..L−1 (the generation order π).
    mask_id: the mask id (V).
  Returns:
    [B] nats. Under jit ``order``'s range is a ``checkify`` check and its permutation property is not
    raised; an unchecked row of ``order`` that is not a permutation of 0..L−1 gives NaN for that row.
  """
  _check_common(x0, mask_id, "ao_arm_nll", log_cond_fn=log_cond_fn)
  check_tokens(order, "order", "ao_arm_nll")
  if order.shape != x0.shape:
    raise ValueError(f"ao_arm_nll: order expected shape {tuple(x0.shape)} (one permutation per sequence), got "
                     f"{tuple(order.shape)}")
  length = x0.shape[1]
  check_permutations(order, "ao_arm_nll")
  rank = jnp.argsort(order, axis=-1)                                 # rank[b, i] = l with π(l) = i
  rows = jnp.arange(x0.shape[0])

  def step(total, l):
    xt = jnp.where(rank >= l, jnp.asarray(mask_id, x0.dtype), x0)
    log_c = log_cond_fn(xt)
    pos = order[:, l]
    ids = x0[rows, pos]
    ok = (ids >= 0) & (ids < mask_id)                               # unchecked jit: a bad id -> NaN
    val = log_c[rows, pos, jnp.where(ok, ids, 0)]
    return total - jnp.where(ok, val, jnp.asarray(jnp.nan, val.dtype)), None

  log_c0 = jax.eval_shape(log_cond_fn, x0)
  total, _ = jax.lax.scan(step, jnp.zeros(x0.shape[0], log_c0.dtype), jnp.arange(length))
  is_perm = jnp.all(jnp.sort(order, axis=-1) == jnp.arange(length, dtype=order.dtype), axis=-1)
  return jnp.where(is_perm, total, jnp.asarray(jnp.nan, total.dtype))
