"""RADD samplers: Euler and Tweedie τ-leaping with the time-independent cache, and the ordered AO-ARM sampler.

Ou, Nie, Xue, Zhu, Sun, Li, Li. "Your Absorbing Discrete Diffusion Secretly Models the Conditional
Distributions of Clean Data". ICLR 2025. arXiv:2406.03736 (§3.2 sampling, "E-NFE" with caching).

Reverse process from the all-mask sequence over the grid ``t_k = linspace(1, t_end, n + 1)``. In step
``t → s`` every masked token is unmasked independently with probability (:func:`unmask_probs`)

* Tweedie τ-leaping: ``(e^{−σ̄(s)} − e^{−σ̄(t)}) / (1 − e^{−σ̄(t)})`` (``(t − s)/t`` for log-linear noise);
* Euler: ``(t − s) σ(t) e^{−σ̄(t)} / (1 − e^{−σ̄(t)})`` (clipped to [0, 1]);

and the last step unmasks everything left. An unmasked token's value is drawn from ``c_θ(x_t)_i``.
Because ``c_θ`` has no time input, its output stays exact while ``x_t`` does not change: the cache
(``cache=``) reuses it. Policies, counted per sequence in :attr:`SampleResult.nfe`:

* ``"none"``: the network runs at every step (NFE = n);
* ``"previous"``: the official policy, recompute a sequence's output iff it changed in the previous step
  (or at the first step); E-NFE = 1 + Σ_{k<n−1} (1 − (1 − p_k)^L);
* ``"lazy"``: since the unmasking decisions do not depend on the network, draw them first and run the
  network only when some token of the sequence unmasks now and the cached output is stale; NFE = the
  number of steps in which the sequence changes, E-NFE = Σ_k (1 − (1 − p_k)^L) ≈ n(1 − (1 − 1/n)^L).

Here ``p_k`` is the probability that a token is unmasked exactly at step k (:func:`expected_nfe`). Under
jit a batch cannot skip rows, so a forward pass runs (``lax.cond``) when any row needs one; the cache is
updated only for the rows that need it, so every policy draws identical samples from the same key (the
per-step uniforms and Gumbel noise are functions of the key and step only).

:func:`sample_ordered` is the AO-ARM sampler: one position per step along an order, exactly L NFEs; with
exact conditionals it samples the data distribution exactly.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from models.radd.process import GeometricNoise, LogLinearNoise, Noise, check_noise, check_tokens, score_scale

Array = jax.Array
LogCondFn = Callable[[Array], Array]

__all__ = ["CACHE_POLICIES", "METHODS", "SampleResult", "expected_nfe", "expected_nfe_uniform", "sample",
           "sample_ordered", "unmask_probs"]

METHODS = ("tweedie", "euler")
CACHE_POLICIES = ("none", "previous", "lazy")


class SampleResult(NamedTuple):
  """Output of :func:`sample`.

  Attributes:
    tokens: int32 [B, L] samples (no mask left).
    nfe: int32 [B] network evaluations each sequence needed under the cache policy.
    calls: int32 [] batched forward passes actually run (a pass runs when any row needs one).
  """
  tokens: Array
  nfe: Array
  calls: Array


def _check_positive_int(v, name: str) -> None:
  if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
    raise ValueError(f"{name}: expected a positive int, got {v!r}")


def unmask_probs(noise: Noise, num_steps: int, method: str = "tweedie", t_end: float = 1e-5) -> Array:
  """[n] probability that a still-masked token is unmasked in step k (the last entry is 1).

  Uses ``t_k = linspace(1, t_end, n + 1)``; dtype follows the default float (float64 under x64).
  """
  check_noise(noise)
  _check_positive_int(num_steps, "num_steps")
  if method not in METHODS:
    raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
  if not (isinstance(t_end, float) and 0.0 < t_end < 1.0):
    raise ValueError(f"t_end: expected a float in (0, 1), got {t_end!r}")
  ts = jnp.linspace(1.0, t_end, num_steps + 1)
  t, s = ts[:-1], ts[1:]
  if method == "tweedie":
    lt, ls = noise.mask_prob(t), noise.mask_prob(s)
    q = (lt - ls) / lt
  else:
    q = jnp.clip((t - s) * noise.rate(t) * score_scale(noise.total(t)), 0.0, 1.0)
  return q.at[-1].set(1.0)


def expected_nfe(q, length: int, cache: str = "lazy") -> float:
  """Exact E-NFE of one sequence of ``length`` tokens, given the per-step unmasking probabilities ``q``.

  With survival ``S_k = Π_{j≤k} (1 − q_j)``, a token is unmasked at step k with ``p_k = S_{k−1} − S_k``
  independently of the others, so step k changes the sequence with probability ``1 − (1 − p_k)^L``.
  """
  _check_positive_int(length, "length")
  if cache not in CACHE_POLICIES:
    raise ValueError(f"cache: expected one of {CACHE_POLICIES}, got {cache!r}")
  q = np.asarray(q, np.float64)
  if q.ndim != 1 or q.size < 1 or np.any((q < 0) | (q > 1)):
    raise ValueError(f"q: expected a 1-D array of probabilities, got shape {q.shape}")
  n = q.size
  if cache == "none":
    return float(n)
  surv = np.concatenate([[1.0], np.cumprod(1.0 - q)])
  p = surv[:-1] - surv[1:]
  with np.errstate(divide="ignore"):                                     # log1p(−1) = −inf -> change 1
    change = -np.expm1(length * np.log1p(-np.clip(p, 0.0, 1.0)))       # 1 − (1 − p_k)^L
  if cache == "lazy":
    return float(change.sum())
  return float(1.0 + change[:-1].sum())


def expected_nfe_uniform(num_steps: int, length: int) -> float:
  """The paper's closed form ``n (1 − (1 − 1/n)^L)`` (each token's unmasking step uniform over n steps)."""
  _check_positive_int(num_steps, "num_steps")
  _check_positive_int(length, "length")
  return float(num_steps * -np.expm1(length * np.log1p(-1.0 / num_steps))) if num_steps > 1 else 1.0


def sample(log_cond_fn: LogCondFn, key: Array, batch_size: int, length: int, vocab_size: int, noise: Noise, *,
           num_steps: int, method: str = "tweedie", cache: str = "lazy", t_end: float = 1e-5) -> SampleResult:
  """Draws ``batch_size`` sequences with the Euler or Tweedie τ-leaping sampler (jit-compatible: jit the caller).

  Args:
    log_cond_fn: x_t int [B, L] -> log c_θ(x_t) [B, L, V] (time-independent network).
    key: PRNG key; step k uses ``fold_in(key, k)`` for its uniforms [B, L] and Gumbel noise [B, L, V].
    batch_size, length, vocab_size: B, L, V (mask id = V).
    noise: the schedule σ̄(t).
    num_steps: n.
    method: ``"tweedie"`` or ``"euler"``.
    cache: ``"none"``, ``"previous"`` (official) or ``"lazy"``; see the module docstring.
    t_end: last time of the grid.
  Returns:
    :class:`SampleResult`.
  """
  for name, v in (("batch_size", batch_size), ("length", length), ("vocab_size", vocab_size)):
    _check_positive_int(v, name)
  if cache not in CACHE_POLICIES:
    raise ValueError(f"cache: expected one of {CACHE_POLICIES}, got {cache!r}")
  q = unmask_probs(noise, num_steps, method, t_end)
  b, l, v = batch_size, length, vocab_size
  out = jax.eval_shape(log_cond_fn, jax.ShapeDtypeStruct((b, l), jnp.int32))
  if out.shape != (b, l, v):
    raise ValueError(f"log_cond_fn: expected an output of shape [B, L, V] = {(b, l, v)}, got {tuple(out.shape)}")
  x = jnp.full((b, l), v, jnp.int32)
  carry = (x, jnp.zeros((b, l, v), out.dtype), jnp.ones((b,), bool), jnp.zeros((b,), jnp.int32),
           jnp.zeros((), jnp.int32))

  def step(carry, inp):
    x, cached, stale, nfe, calls = carry
    k, qk = inp
    ku, kg = jax.random.split(jax.random.fold_in(key, k))
    unmask = (x == v) & (jax.random.uniform(ku, (b, l), q.dtype) < qk)
    changes = jnp.any(unmask, axis=-1)
    if cache == "none":
      log_c = log_cond_fn(x)
      need = jnp.ones((b,), bool)
    else:
      need = stale & changes if cache == "lazy" else stale
      log_c = jax.lax.cond(jnp.any(need), lambda c: jnp.where(need[:, None, None], log_cond_fn(x), c),
                           lambda c: c, cached)
    draw = jnp.argmax(log_c + jax.random.gumbel(kg, (b, l, v), log_c.dtype), axis=-1).astype(jnp.int32)
    x = jnp.where(unmask, draw, x)
    stale = (stale & ~need) | changes
    return (x, log_c, stale, nfe + need.astype(jnp.int32), calls + jnp.any(need).astype(jnp.int32)), None

  (x, _, _, nfe, calls), _ = jax.lax.scan(step, carry, (jnp.arange(num_steps), q))
  return SampleResult(x, nfe, calls)


def sample_ordered(log_cond_fn: LogCondFn, key: Array, batch_size: int, length: int, vocab_size: int, *,
                   order: Array | None = None) -> Array:
  """AO-ARM sampler: fills position π(l) at step l from ``c_θ``; exactly L network calls.

  Args:
    log_cond_fn: x_t int [B, L] -> log c_θ [B, L, V].
    key: PRNG key (step l uses ``fold_in(key, l)``; the random order, when ``order`` is None, is drawn
      from ``fold_in(key, L)``).
    order: optional int [B, L] permutations; None: a uniformly random order per row.
  Returns:
    int32 [B, L] samples.
  """
  for name, v in (("batch_size", batch_size), ("length", length), ("vocab_size", vocab_size)):
    _check_positive_int(v, name)
  b, l, v = batch_size, length, vocab_size
  if order is None:
    order = jnp.argsort(jax.random.uniform(jax.random.fold_in(key, l), (b, l)), axis=-1)
  else:
    check_tokens(order, "order")
    if order.shape != (b, l):
      raise ValueError(f"order: expected shape {(b, l)}, got {tuple(order.shape)}")
  rows = jnp.arange(b)

  def step(x, i):
    log_c = log_cond_fn(x)
    pos = order[:, i]
    draw = jax.random.categorical(jax.random.fold_in(key, i), log_c[rows, pos], axis=-1).astype(jnp.int32)
    return x.at[rows, pos].set(draw), None

  x, _ = jax.lax.scan(step, jnp.full((b, l), v, jnp.int32), jnp.arange(l))
  return x
