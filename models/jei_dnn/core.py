"""JEI-DNN's gating, exit distribution, costs and losses (pure functions).

Regol, Chataoui, Coates, "Jointly-Learned Exit and Inference for a Dynamic Neural Network: JEI-DNN", ICLR 2024,
arXiv:2310.09163. Exits are indexed ``l = 0 .. L-1`` (``L`` exits; the last is the backbone's own head); gates are
``l = 0 .. L-2`` (the final exit has no gate and always accepts).

* :func:`gate_features`: the 4 detached uncertainty statistics of an exit's prediction (max p, entropy, margin,
  entropy of the renormalised p^2) that a gate reads.
* :func:`exit_distribution`: the product form pi_l = g_l prod_{m<l}(1 - g_m), pi_L = prod_{m<L}(1 - g_m).
* :func:`cumulative_costs`: C_l = multiply-adds up to and including exit l's IM and gate, normalised to C_L = 1.
* :func:`oracle_exit`, :func:`gate_targets`, :func:`positive_weights`, :func:`gate_loss`: the gate phase (BCE to
  the cumulative oracle-exit targets, positive terms weighted by min(5, #neg/#pos) from a validation set).
* :func:`im_loss` (the paper's sum_l sg(pi_l) CE_l), :func:`official_im_loss` (the official code's default
  "boosted"/WEIGHTED form, = sum_l CE_l), :func:`warmup_loss` (CE_final + sum_l (L - l) CE_l).
* :func:`gated_exit` (first gate >= 0.5), :func:`threshold_exit` (first max-prob >= theta), :func:`take_exit`.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import is_concrete

__all__ = ["gate_features", "exit_distribution", "cumulative_costs", "expected_cost", "cross_entropies",
           "oracle_exit", "gate_targets", "positive_weights", "gate_loss", "im_loss", "official_im_loss",
           "warmup_loss", "gated_exit", "threshold_exit", "take_exit", "NUM_GATE_FEATURES"]

NUM_GATE_FEATURES = 4


def _float(x):
  """``x`` in its own float dtype, at least float32 (losses and statistics in float32 or wider)."""
  x = jnp.asarray(x)
  return x.astype(jnp.promote_types(x.dtype, jnp.float32))


def _rank(x, r: int, name: str, fn: str, what: str):
  x = jnp.asarray(x)
  if x.ndim != r:
    raise ValueError(f"{fn}: {name}: expected {what}, got shape {x.shape}")
  return x


def _check_probs(p, name: str, fn: str, rank: int | None = None, what: str = "probabilities [..., K]"):
  p = jnp.asarray(p)
  if rank is not None and p.ndim != rank:
    raise ValueError(f"{fn}: {name}: expected {what}, got shape {p.shape}")
  if p.ndim < 1 or p.shape[-1] < 2:
    raise ValueError(f"{fn}: {name}: expected {what} with K >= 2 classes, got shape {p.shape}")
  if is_concrete(p):
    a = np.asarray(p, np.float64)
    if not np.all(np.isfinite(a)) or a.min() < -1e-6 or np.abs(a.sum(-1) - 1).max() > 1e-3:
      raise ValueError(f"{fn}: {name}: expected probabilities in [0, 1] summing to 1 over the last axis, got "
                       f"min {a.min():.3g}, sums in [{a.sum(-1).min():.4g}, {a.sum(-1).max():.4g}]")
  return p


def _check_costs(costs, fn: str, num_exits: int | None = None):
  c = _rank(costs, 1, "costs", fn, "a vector [L] of cumulative costs")
  if num_exits is not None and c.shape[0] != num_exits:
    raise ValueError(f"{fn}: costs: expected {num_exits} entries (one per exit), got {c.shape[0]}")
  if is_concrete(c):
    a = np.asarray(c, np.float64)
    if not np.all(np.diff(a) > 0) or a[0] <= 0:
      raise ValueError(f"{fn}: costs: expected positive, strictly increasing cumulative costs, got {a.tolist()}")
  return c


def gate_features(probs) -> jax.Array:
  """The gate's 4 inputs from an exit's class probabilities, under stop-gradient.

  Args:
    probs: ``[..., K]`` probabilities.
  Returns: ``[..., 4]``: max_k p_k, entropy H(p), margin p_(1) - p_(2), and H(q) with q = p^2 / sum p^2 (natural log).
  """
  p = jax.lax.stop_gradient(_float(_check_probs(probs, "probs", "gate_features")))
  ent = lambda q: -jnp.sum(jnp.where(q > 0, q * jnp.log(jnp.where(q > 0, q, 1.0)), 0.0), -1)
  top2 = jax.lax.top_k(p, 2)[0]
  q = p ** 2 / jnp.sum(p ** 2, -1, keepdims=True)
  return jnp.stack([top2[..., 0], ent(p), top2[..., 0] - top2[..., 1], ent(q)], -1)


def exit_distribution(gates) -> jax.Array:
  """pi: ``[B, L]`` from gate probabilities ``gates: [B, L-1]`` in [0, 1] (product form; rows sum to 1)."""
  g = _rank(gates, 2, "gates", "exit_distribution", "gate probabilities [B, L-1]")
  survive = jnp.cumprod(1.0 - g, axis=-1)                          # prod_{m<=l}(1 - g_m)
  before = jnp.concatenate([jnp.ones_like(g[:, :1]), survive[:, :-1]], -1)
  return jnp.concatenate([g * before, survive[:, -1:]], -1)


def cumulative_costs(block_macs, head_macs, gate_macs) -> jax.Array:
  """Normalised cumulative cost C_l of stopping at exit l (C_L = 1).

  Args:
    block_macs: ``[L]`` multiply-adds of the backbone between exit l-1 and exit l (the first includes the stem).
    head_macs: ``[L]`` multiply-adds of each exit's head (IMs, then the final head).
    gate_macs: ``[L-1]`` multiply-adds of each gate (the final exit has none).
  Returns: ``[L]`` float32: (sum_{m<=l} block_m + head_m + gate_m) / the total of everything (all IMs and gates run
  before the last exit is reached).
  """
  b = np.asarray(block_macs, np.float64)
  h = np.asarray(head_macs, np.float64)
  g = np.asarray(gate_macs, np.float64)
  if b.ndim != 1 or b.size < 2:
    raise ValueError(f"cumulative_costs: block_macs: expected [L] with L >= 2 exits, got shape {b.shape}")
  if h.shape != b.shape:
    raise ValueError(f"cumulative_costs: head_macs: expected shape {b.shape} (one per exit), got {h.shape}")
  if g.shape != (b.size - 1,):
    raise ValueError(f"cumulative_costs: gate_macs: expected shape ({b.size - 1},) (one per gated exit), got {g.shape}")
  if (b <= 0).any() or (h < 0).any() or (g < 0).any():
    raise ValueError("cumulative_costs: expected block_macs > 0 and head_macs, gate_macs >= 0")
  c = np.cumsum(b + h + np.append(g, 0.0))
  return jnp.asarray(c / c[-1], jnp.float32)


def expected_cost(pi, costs) -> jax.Array:
  """sum_l pi_l C_l per sample: ``[B]`` from ``pi: [B, L]`` and increasing ``costs: [L]``."""
  pi = _rank(pi, 2, "pi", "expected_cost", "an exit distribution [B, L]")
  return pi @ _check_costs(costs, "expected_cost", pi.shape[1])


def cross_entropies(logits, labels) -> jax.Array:
  """CE of every exit: ``[B, L]`` from ``logits: [B, L, K]`` and integer ``labels: [B]`` (float32)."""
  z = _float(_rank(logits, 3, "logits", "cross_entropies", "per-exit logits [B, L, K]"))
  y = _rank(labels, 1, "labels", "cross_entropies", "integer labels [B]")
  if y.shape[0] != z.shape[0] or not jnp.issubdtype(y.dtype, jnp.integer):
    raise ValueError(f"cross_entropies: labels: expected [{z.shape[0]}] integers, got {y.shape} {y.dtype}")
  logp = jax.nn.log_softmax(z, -1)
  return -jnp.take_along_axis(logp, y[:, None, None].astype(jnp.int32).repeat(z.shape[1], 1), -1)[..., 0]


def oracle_exit(ce, costs, lam: float) -> jax.Array:
  """l* = argmin_l CE_l + lam C_l per sample (ties: the earliest exit); ``ce: [B, L]``, ``costs: [L]``."""
  ce = _rank(ce, 2, "ce", "oracle_exit", "per-exit losses [B, L]")
  c = _check_costs(costs, "oracle_exit", ce.shape[1])
  if isinstance(lam, (int, float)) and not lam >= 0:
    raise ValueError(f"oracle_exit: lam: expected a trade-off >= 0, got {lam!r}")
  return jnp.argmin(ce + lam * c, axis=-1).astype(jnp.int32)


def gate_targets(l_star, num_exits: int) -> jax.Array:
  """Cumulative one-hot targets ``[B, L-1]``: t_l = 1[l >= l*] (every gate at or after the oracle exit fires)."""
  l_star = _rank(l_star, 1, "l_star", "gate_targets", "oracle exits [B]")
  if not isinstance(num_exits, int) or num_exits < 2:
    raise ValueError(f"gate_targets: num_exits: expected an int >= 2, got {num_exits!r}")
  return (jnp.arange(num_exits - 1)[None, :] >= l_star[:, None]).astype(jnp.float32)


def positive_weights(l_star, num_exits: int, *, clip: float = 5.0, floor: float = 0.1) -> jax.Array:
  """Per-gate weight of the positive BCE terms, ``[L-1]``: min(clip, (n - c_l) / c_l) with c_l = max(floor, #{l* = l}).

  As in the official ``set_from_validation``: c_l counts the (validation) samples whose oracle exit *is* l.
  """
  l_star = _rank(l_star, 1, "l_star", "positive_weights", "oracle exits [n]")
  if not isinstance(num_exits, int) or num_exits < 2:
    raise ValueError(f"positive_weights: num_exits: expected an int >= 2, got {num_exits!r}")
  if not (clip > 0 and floor > 0):
    raise ValueError(f"positive_weights: clip, floor: expected > 0, got {clip!r}, {floor!r}")
  n = l_star.shape[0]
  count = jnp.sum(l_star[:, None] == jnp.arange(num_exits - 1)[None, :], 0).astype(jnp.float32)
  count = jnp.maximum(count, floor)
  return jnp.minimum(clip, (n - count) / count)


def gate_loss(gate_logits, targets, pos_weight) -> jax.Array:
  """Mean over samples and gates of BCE-with-logits, positive terms times ``pos_weight: [L-1]``."""
  z = _float(_rank(gate_logits, 2, "gate_logits", "gate_loss", "gate logits [B, L-1]"))
  t = jnp.asarray(targets, z.dtype)
  w = jnp.asarray(pos_weight, z.dtype)
  if t.shape != z.shape:
    raise ValueError(f"gate_loss: targets: expected shape {z.shape}, got {t.shape}")
  if w.shape != (z.shape[1],):
    raise ValueError(f"gate_loss: pos_weight: expected shape ({z.shape[1]},), got {w.shape}")
  bce = jnp.maximum(z, 0) - z * t + jnp.log1p(jnp.exp(-jnp.abs(z)))
  return jnp.mean(bce * (t * w + (1 - t)))


def im_loss(logits, labels, pi) -> jax.Array:
  """The paper's IM-phase loss: mean over samples of sum_l sg(pi_l) CE_l (gates frozen)."""
  ce = cross_entropies(logits, labels)
  pi = _rank(pi, 2, "pi", "im_loss", "an exit distribution [B, L]")
  if pi.shape != ce.shape:
    raise ValueError(f"im_loss: pi: expected shape {ce.shape}, got {pi.shape}")
  return jnp.mean(jnp.sum(jax.lax.stop_gradient(pi) * ce, -1))


def official_im_loss(logits, labels, gates) -> jax.Array:
  """The official code's default IM loss (``classifier_loss=boosted`` -> WEIGHTED), written as the code computes it.

  Weights P_l = max(0, min(g_l, 1 - sum_{m<l} g_m)) for the gated exits and P_L = max(0, 1 - sum_{m<L} g_m) for the
  last, then the per-sample loss sum_l P_l CE_l is rescaled by (sum_l CE_l) / (sum_l P_l CE_l), the ratio not
  detached. Algebraically (and to rounding) this is sum_l CE_l: equal weights [derived; see the README].
  """
  ce = cross_entropies(logits, labels)
  g = _rank(gates, 2, "gates", "official_im_loss", "gate probabilities [B, L-1]")
  if g.shape != (ce.shape[0], ce.shape[1] - 1):
    raise ValueError(f"official_im_loss: gates: expected shape {(ce.shape[0], ce.shape[1] - 1)}, got {g.shape}")
  g = jax.lax.stop_gradient(g)
  before = jnp.concatenate([jnp.zeros_like(g[:, :1]), jnp.cumsum(g, -1)], -1)   # sum_{m<l} g_m, [B, L]
  cap = jnp.concatenate([g, jnp.ones_like(g[:, :1])], -1)
  p = jnp.maximum(0.0, jnp.minimum(cap, 1.0 - before))
  weighted = jnp.sum(p * ce, -1)
  ratio = jnp.sum(ce, -1) / jnp.maximum(weighted, 1e-30)
  return jnp.mean(weighted * ratio)


def warmup_loss(logits, labels) -> jax.Array:
  """Warm-up loss: mean over samples of CE_final + sum_{l<L} (L - l) CE_l (1-based l; earlier heads weigh more)."""
  ce = cross_entropies(logits, labels)
  L = ce.shape[1]
  w = jnp.concatenate([jnp.arange(L - 1, 0, -1, dtype=ce.dtype), jnp.ones((1,), ce.dtype)])
  return jnp.mean(ce @ w)


def gated_exit(gates, threshold: float = 0.5) -> jax.Array:
  """Test-time exit ``[B]``: the first l with g_l >= threshold, else the last exit L-1."""
  g = _rank(gates, 2, "gates", "gated_exit", "gate probabilities [B, L-1]")
  if not 0 < threshold <= 1:
    raise ValueError(f"gated_exit: threshold: expected a float in (0, 1], got {threshold!r}")
  fire = jnp.concatenate([g >= threshold, jnp.ones_like(g[:, :1], bool)], -1)
  return jnp.argmax(fire, -1).astype(jnp.int32)


def threshold_exit(probs, theta: float) -> jax.Array:
  """Baseline exit ``[B]``: the first l < L-1 with max_k p_lk >= theta, else the last exit; ``probs: [B, L, K]``."""
  p = _check_probs(probs, "probs", "threshold_exit", 3, "per-exit probabilities [B, L, K]")
  if isinstance(theta, (int, float)) and not 0 <= theta <= 1:
    raise ValueError(f"threshold_exit: theta: expected a confidence in [0, 1], got {theta!r}")
  conf = p.max(-1)
  fire = jnp.concatenate([conf[:, :-1] >= theta, jnp.ones_like(conf[:, :1], bool)], -1)
  return jnp.argmax(fire, -1).astype(jnp.int32)


def take_exit(x, exits) -> jax.Array:
  """``x[b, exits[b]]``: the per-exit quantity ``x: [B, L, ...]`` at each sample's exit ``exits: [B]``."""
  x = jnp.asarray(x)
  e = _rank(exits, 1, "exits", "take_exit", "exit indices [B]")
  if x.ndim < 2 or x.shape[0] != e.shape[0]:
    raise ValueError(f"take_exit: x: expected [B={e.shape[0]}, L, ...], got shape {x.shape}")
  return jnp.take_along_axis(x, e.reshape((-1, 1) + (1,) * (x.ndim - 2)).astype(jnp.int32), 1)[:, 0]
