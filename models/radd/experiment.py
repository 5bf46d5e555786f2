"""The RADD experiments: the cached sampler's NFE against E-NFE = n(1 − (1 − 1/n)^L), and the five NLL bounds of
one model on the same windows.

Ou, Nie, Xue, Zhu, Sun, Li, Li, "Your Absorbing Discrete Diffusion Secretly Models the Conditional
Distributions of Clean Data", ICLR 2025, arXiv:2406.03736. Used by the ``radd`` claims and the training task
``experiments/tasks/radd_lm.py`` (:func:`sequence_loss`); importable to rerun a sweep on another model.

``log_cond_fn: x_t int [B, L] -> log c_θ(x_t) [B, L, V]`` (mask id V) throughout. The sweeps run on the host
(numpy / float results): not differentiable (the losses in :mod:`models.radd.losses` are).
"""
from __future__ import annotations

import math
import time
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import check_key
from models.radd.losses import ao_arm_nll, k_dce_loss, lambda_dce_loss, t_dce_loss, t_dse_loss
from models.radd.process import LogLinearNoise, Noise
from models.radd.sampling import expected_nfe, expected_nfe_uniform, sample, unmask_probs

Array = jax.Array

__all__ = ["sequence_loss", "nfe_sweep", "sampling_time", "loss_estimates"]

LOSSES = ("lambda_dce", "t_dce", "t_dse", "k_dce")   # exported as models.radd.LOSSES


def _check_pos(v, name: str, fn: str) -> int:
  if not isinstance(v, int) or isinstance(v, bool) or v < 1:
    raise ValueError(f"{fn}: {name} expected a positive int, got {v!r}")
  return v


def _check_pos_seq(v, name: str, fn: str) -> tuple[int, ...]:
  if not isinstance(v, (list, tuple)) or not v or any(
      not isinstance(x, int) or isinstance(x, bool) or x < 1 for x in v):
    raise ValueError(f"{fn}: {name} expected a non-empty tuple of positive ints, got {v!r}")
  return tuple(v)


def _check_fn(f, fn: str) -> None:
  if not callable(f):
    raise TypeError(f"{fn}: log_cond_fn expected a callable x_t [B, L] -> [B, L, V], got {type(f).__name__}")


def sequence_loss(name: str, log_cond_fn: Callable, key: Array, x0: Array, vocab_size: int, noise_eps: float,
                  t_min: float) -> Array:
  """Per-sequence bound ``[B]`` (nats) of the loss ``name`` (``lambda_dce``, ``t_dce``, ``t_dse``, ``k_dce``)
  on ``x0: int [B, L]``; t-DCE / t-DSE use ``LogLinearNoise(eps=noise_eps)`` and t ~ U[t_min, 1].
  Differentiable in the parameters ``log_cond_fn`` closes over."""
  if name == "lambda_dce":
    return lambda_dce_loss(log_cond_fn, key, x0, vocab_size)
  if name == "k_dce":
    return k_dce_loss(log_cond_fn, key, x0, vocab_size)
  if name not in LOSSES:
    raise ValueError(f"sequence_loss: name expected one of {LOSSES}, got {name!r}")
  noise = LogLinearNoise(eps=noise_eps)
  if name == "t_dce":
    return t_dce_loss(log_cond_fn, key, x0, noise, vocab_size, t_min=t_min)
  return t_dse_loss(log_cond_fn, key, x0, noise, vocab_size, t_min=t_min)


def _nfe_key(seed: int, n: int, length: int) -> Array:
  return jax.random.PRNGKey(seed * 1000 + n + 7 * length)


def nfe_sweep(log_cond_fn: Callable, vocab_size: int, noise: Noise, *, lengths: Sequence[int],
              steps: Sequence[int], batch: int, seed: int = 0) -> tuple[list[dict], bool]:
  """Per-sequence NFE of the cached (``cache="lazy"``) Tweedie sampler for every (L, n), against the formulas.

  Cell (L, n) samples ``batch`` sequences from ``PRNGKey(seed * 1000 + n + 7 L)``. Returns ``(cells,
  identical)``: one dict per cell with ``L, n, mean, se`` (of the per-sequence NFE), ``formula``
  (n(1 − (1 − 1/n)^L)), ``exact`` (:func:`expected_nfe` on the actual grid), ``previous_policy`` (the
  official cache's expectation), ``batch_calls``; and whether the uncached sampler gives the same tokens as
  the cached one on the largest (L, n) cell (same key).
  """
  fn = "nfe_sweep"
  _check_fn(log_cond_fn, fn)
  _check_pos(vocab_size, "vocab_size", fn)
  lengths, steps = _check_pos_seq(lengths, "lengths", fn), _check_pos_seq(steps, "steps", fn)
  _check_pos(batch, "batch", fn)
  if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
    raise ValueError(f"{fn}: seed expected an int >= 0, got {seed!r}")
  cells, tokens = [], {}
  for length in lengths:
    for n in steps:
      res = jax.jit(lambda k, n=n, length=length: sample(log_cond_fn, k, batch, length, vocab_size, noise,
                                                          num_steps=n, cache="lazy"))(_nfe_key(seed, n, length))
      counts = np.asarray(res.nfe, np.float64)
      q = unmask_probs(noise, n)
      cells.append(dict(L=length, n=n, mean=float(counts.mean()),
                        se=float(counts.std(ddof=1) / math.sqrt(len(counts))) if len(counts) > 1 else 0.0,
                        formula=float(expected_nfe_uniform(n, length)), exact=float(expected_nfe(q, length, "lazy")),
                        previous_policy=float(expected_nfe(q, length, "previous")), batch_calls=int(res.calls)))
      tokens[(length, n)] = np.asarray(res.tokens)
  length, n = max(lengths), max(steps)
  plain = jax.jit(lambda k: sample(log_cond_fn, k, batch, length, vocab_size, noise, num_steps=n,
                                   cache="none"))(_nfe_key(seed, n, length))
  return cells, bool(np.array_equal(np.asarray(plain.tokens), tokens[(length, n)]))


def sampling_time(log_cond_fn: Callable, key: Array, length: int, vocab_size: int, noise: Noise, *,
                  num_steps: int, repeats: int = 3) -> dict[str, tuple[float, int]]:
  """Wall-clock seconds (median of ``repeats``, after compile) and NFE of one sequence (batch 1: the skip
  is real) with ``cache="none"`` and ``"lazy"``: ``{cache: (seconds, nfe)}``."""
  fn = "sampling_time"
  _check_fn(log_cond_fn, fn)
  check_key(key, "key", fn)
  for name, v in (("length", length), ("vocab_size", vocab_size), ("num_steps", num_steps), ("repeats", repeats)):
    _check_pos(v, name, fn)
  out = {}
  for cache in ("none", "lazy"):
    run = jax.jit(lambda k, cache=cache: sample(log_cond_fn, k, 1, length, vocab_size, noise, num_steps=num_steps,
                                                cache=cache))
    jax.block_until_ready(run(key))
    reps = []
    for _ in range(repeats):
      t0 = time.perf_counter()
      res = jax.block_until_ready(run(key))
      reps.append(time.perf_counter() - t0)
    out[cache] = (float(np.median(reps)), int(res.nfe[0]))
  return out


def loss_estimates(log_cond_fn: Callable, windows: Array, key: Array, order_key: Array, *, draws: int,
                   vocab_size: int, noise_eps: float, t_min: float) -> dict[str, np.ndarray]:
  """Every bound of one model on the same windows, per window in nats: ``{name: [W]}`` for the four losses
  (mean over ``draws`` Monte Carlo draws, keys ``split(key, draws)``, vmapped in one compiled program) and
  ``"ao_arm (exact, random order)"``, the exact any-order NLL along one uniformly random order per window
  (from ``order_key``). ``windows: int [W, L]``; mask id = ``vocab_size``."""
  fn = "loss_estimates"
  _check_fn(log_cond_fn, fn)
  check_key(key, "key", fn)
  check_key(order_key, "order_key", fn)
  _check_pos(draws, "draws", fn)
  _check_pos(vocab_size, "vocab_size", fn)
  w = jnp.asarray(windows)
  if w.ndim != 2 or not jnp.issubdtype(w.dtype, jnp.integer):
    raise ValueError(f"{fn}: windows expected int [W, L], got {w.dtype} {tuple(w.shape)}")
  keys = jax.random.split(key, draws)
  order = jnp.argsort(jax.random.uniform(order_key, w.shape), axis=-1)

  @jax.jit
  def estimates(keys, order):
    out = {name: jax.vmap(lambda k, name=name: sequence_loss(name, log_cond_fn, k, w, vocab_size, noise_eps,
                                                              t_min))(keys).mean(0) for name in LOSSES}
    out["ao_arm (exact, random order)"] = ao_arm_nll(log_cond_fn, w, order, vocab_size)
    return out

  return {k: np.asarray(v, np.float64) for k, v in estimates(keys, order).items()}
