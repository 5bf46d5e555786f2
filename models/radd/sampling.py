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

Both samplers return integer tokens drawn by categorical choices: differentiating them (in the network's
parameters) raises ``TypeError`` (:func:`kernels.common.checks.no_grad` on the network output) instead
of returning a silent zero. :func:`unmask_probs` is differentiable in ``t_end``; :func:`expected_nfe`
runs in numpy on the host and raises ``TypeError`` when its ``q`` is traced.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import check_key, is_concrete, no_grad
from models.radd.losses import check_permutations
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


def _check_positive_int(v, name: str, fn: str) -> None:
  if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
    raise ValueError(f"{fn}: {name} expected a positive int, got {v!r}")


def _check_log_cond_fn(log_cond_fn, b: int, l: int, v: int, fn: str):
  if not callable(log_cond_fn):
    raise TypeError(f"{fn}: log_cond_fn expected a callable x_t [B, L] -> [B, L, V], got {type(log_cond_fn).__name__}")
  out = jax.eval_shape(log_cond_fn, jax.ShapeDtypeStruct((b, l), jnp.int32))
  if getattr(out, "shape", None) != (b, l, v):
    raise ValueError(f"{fn}: log_cond_fn expected an output of shape [B, L, V] = {(b, l, v)}, got "
                     f"{getattr(out, 'shape', type(out).__name__)}")
  if not jnp.issubdtype(out.dtype, jnp.floating):
    raise TypeError(f"{fn}: log_cond_fn expected a float output, got {out.dtype}")
  return out


def unmask_probs(noise: Noise, num_steps: int, method: str = "tweedie", t_end: float = 1e-5) -> Array:
  """[n] probability that a still-masked token is unmasked in step k (the last entry is 1).

  Uses ``t_k = linspace(1, t_end, n + 1)``; dtype follows the default float (float64 under x64).
  ``t_end`` may be a scalar array (checked when concrete): the probabilities are differentiable in it.
  """
  check_noise(noise, "unmask_probs")
  _check_positive_int(num_steps, "num_steps", "unmask_probs")
  if not isinstance(method, str) or method not in METHODS:
    raise ValueError(f"unmask_probs: method expected one of {METHODS}, got {method!r}")
  if isinstance(t_end, bool) or not (isinstance(t_end, float) or (
      hasattr(t_end, "dtype") and jnp.ndim(t_end) == 0 and jnp.issubdtype(t_end.dtype, jnp.floating))):
    raise ValueError(f"unmask_probs: t_end expected a float in (0, 1), got {t_end!r}")
  if is_concrete(t_end) and not 0.0 < float(t_end) < 1.0:
    raise ValueError(f"unmask_probs: t_end expected a float in (0, 1), got {t_end!r}")
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

  Host-side numpy (float64): a traced ``q`` (under jit/grad/vmap) raises ``TypeError``.
  """
  _check_positive_int(length, "length", "expected_nfe")
  if not isinstance(cache, str) or cache not in CACHE_POLICIES:
    raise ValueError(f"expected_nfe: cache expected one of {CACHE_POLICIES}, got {cache!r}")
  if not is_concrete(q):
    raise TypeError("expected_nfe: q is traced (under jit/grad/vmap), but E-NFE is computed on the host in "
                    "float64 numpy and is not traceable or differentiable: pass concrete probabilities")
  q = np.asarray(q)
  if not (np.issubdtype(q.dtype, np.floating) or np.issubdtype(q.dtype, np.integer)):
    raise TypeError(f"expected_nfe: q expected a real array, got dtype {q.dtype}")
  q = q.astype(np.float64)
  if q.ndim != 1 or q.size < 1 or not np.all((q >= 0) & (q <= 1)):
    raise ValueError(f"expected_nfe: q expected a non-empty 1-D array of probabilities in [0, 1], got {q.tolist()}")
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
  _check_positive_int(num_steps, "num_steps", "expected_nfe_uniform")
  _check_positive_int(length, "length", "expected_nfe_uniform")
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
    _check_positive_int(v, name, "sample")
  if not isinstance(cache, str) or cache not in CACHE_POLICIES:
    raise ValueError(f"sample: cache expected one of {CACHE_POLICIES}, got {cache!r}")
  check_key(key, "key", "sample")
  b, l, v = batch_size, length, vocab_size
  out = _check_log_cond_fn(log_cond_fn, b, l, v, "sample")
  q = unmask_probs(noise, num_steps, method, t_end)
  net = lambda x: no_grad(log_cond_fn(x), "models.radd.sample (categorical draws of integer tokens)")
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
      log_c = net(x)
      need = jnp.ones((b,), bool)
    else:
      need = stale & changes if cache == "lazy" else stale
      log_c = jax.lax.cond(jnp.any(need), lambda c: jnp.where(need[:, None, None], net(x), c),
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
    order: optional int [B, L] permutations of 0..L−1 (ids checked eagerly or by ``checkify``; the
      permutation when concrete); None: a uniformly random order per row.
  Returns:
    int32 [B, L] samples. Under jit, an unchecked row of ``order`` that is not a permutation leaves the
    mask id V at the positions it never visits.
  """
  for name, v in (("batch_size", batch_size), ("length", length), ("vocab_size", vocab_size)):
    _check_positive_int(v, name, "sample_ordered")
  check_key(key, "key", "sample_ordered")
  b, l, v = batch_size, length, vocab_size
  _check_log_cond_fn(log_cond_fn, b, l, v, "sample_ordered")
  if order is None:
    order = jnp.argsort(jax.random.uniform(jax.random.fold_in(key, l), (b, l)), axis=-1)
  else:
    check_tokens(order, "order", "sample_ordered")
    if order.shape != (b, l):
      raise ValueError(f"sample_ordered: order expected shape {(b, l)}, got {tuple(order.shape)}")
    check_permutations(order, "sample_ordered")
  rows = jnp.arange(b)

  def step(x, i):
    log_c = no_grad(log_cond_fn(x), "models.radd.sample_ordered (categorical draws of integer tokens)")
    pos = order[:, i]
    draw = jax.random.categorical(jax.random.fold_in(key, i), log_c[rows, pos], axis=-1).astype(jnp.int32)
    return x.at[rows, pos].set(draw), None

  x, _ = jax.lax.scan(step, jnp.full((b, l), v, jnp.int32), jnp.arange(l))
  return x
