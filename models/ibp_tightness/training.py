"""Training losses and robustness evaluation of paper 17's experiments (Mao et al. 2024; official
``mix_train.py``, ``torch_model_wrapper.py``), on MLPs given as ``(w, b)`` layers.

* :func:`standard_loss`: CE(f(x), y).
* :func:`pgd_attack` / :func:`pgd_loss`: L∞ PGD (Madry et al. 2018) inside a box, random start, ``steps`` signed
  gradient steps of size ``step_size`` (default 2.5 · radius / steps) with projection; train on CE(f(x_adv), y).
* :func:`ibp_loss`: (1 − κ) CE(f(x), y) + κ CE(z̄, y) with z̄ the worst-case logits of the elided margin bounds
  over the clipped box of radius ε (Gowal et al. 2018).
* :func:`sabr_loss`: SABR (Müller et al. 2023): PGD finds x' inside the shrunken box [x − (1 − λ)ε, x + (1 − λ)ε]
  (clipped to the data range, so x' ± λε stays inside the original box), and the loss is CE(z̄) of the small box
  B(x', λε), λ ∈ (0, 1). Certification still uses the full ε.
* :func:`fast_regularizer`: the warm-up regularisers of Shi et al. 2021 (official ``compute_bound_reg``):
  per hidden layer the bound-tightness term ReLU(τ₀ − r̄_in / r̄_l) / τ₀ and the ReLU-balance term on the
  ratios of the mean and the variance of active versus inactive pre-activation centres, averaged over layers and
  weighted by λ (1 − ε / ε_max).
* :func:`ramp`: the linear ramp of ε (and κ) between two fractions of training.
* :func:`certified`, :func:`robustness_metrics`: IBP certification (every elided margin's lower bound > 0),
  PGD accuracy, natural accuracy and the local tightness.
"""
from __future__ import annotations

import numbers
from typing import Sequence

import jax
import jax.numpy as jnp
import optax

from kernels.common.checks import check_key
from models.common import ibp
from models.ibp_tightness.propagation import tightness

__all__ = ["cross_entropy", "standard_loss", "pgd_attack", "pgd_loss", "ibp_loss", "sabr_loss",
           "fast_regularizer", "ramp", "certified", "robustness_metrics"]

_PKG = "models.ibp_tightness"


def _check_xy(fn, x, y):
  x, y = jnp.asarray(x), jnp.asarray(y)
  if x.ndim != 2:
    raise ValueError(f"{fn}: x: expected [B, D], got shape {x.shape}")
  if y.shape != x.shape[:1] or not jnp.issubdtype(y.dtype, jnp.integer):
    raise ValueError(f"{fn}: y: expected integer labels [{x.shape[0]}], got {y.dtype} {y.shape}")
  return x, y


def _check_unit(v, name, fn, closed: bool):
  if isinstance(v, jax.core.Tracer):
    return
  if isinstance(v, bool) or not isinstance(v, (numbers.Real, jax.Array)) or jnp.ndim(v) != 0:
    raise ValueError(f"{fn}: {name}: expected a float in {'[0, 1]' if closed else '(0, 1)'}, got {v!r}")
  v = float(v)
  ok = 0.0 <= v <= 1.0 if closed else 0.0 < v < 1.0
  if not ok:
    raise ValueError(f"{fn}: {name}: expected a float in {'[0, 1]' if closed else '(0, 1)'}, got {v!r}")


def _check_steps(steps, fn):
  if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
    raise ValueError(f"{fn}: steps: expected a positive int, got {steps!r}")


def cross_entropy(logits: jax.Array, y: jax.Array) -> jax.Array:
  """Mean softmax cross-entropy of ``logits: [B, K]`` (float32) against integer labels ``y: [B]``."""
  fn = f"{_PKG}.cross_entropy"
  logits = jnp.asarray(logits)
  y = jnp.asarray(y)
  if logits.ndim != 2 or y.shape != logits.shape[:1] or not jnp.issubdtype(y.dtype, jnp.integer):
    raise ValueError(f"{fn}: y: expected integer labels [B] with logits [B, K], got y {y.dtype} {y.shape}, "
                     f"logits {logits.shape}")
  return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


def standard_loss(layers, x, y) -> jax.Array:
  """CE(f(x), y) (natural training)."""
  x, y = _check_xy(f"{_PKG}.standard_loss", x, y)
  return cross_entropy(ibp.mlp_apply(layers, x), y)


def pgd_attack(layers, lower: jax.Array, upper: jax.Array, y: jax.Array, key: jax.Array, *, steps: int = 10,
               step_size=None) -> jax.Array:
  """L∞ PGD maximising CE(f(x'), y) over the box ``[lower, upper]: [B, D]``: uniform random start, ``steps``
  signed-gradient steps of ``step_size`` (default 2.5 · (upper − lower) / (2 · steps)), projection onto the
  box. Returns ``x_adv`` (gradient-stopped)."""
  fn = f"{_PKG}.pgd_attack"
  check_key(key, "key", fn)
  _check_steps(steps, fn)
  lo, hi = jnp.asarray(lower), jnp.asarray(upper)
  _check_xy(fn, lo, y)
  if hi.shape != lo.shape:
    raise ValueError(f"{fn}: upper: expected the shape of lower {lo.shape}, got {hi.shape}")
  ibp.bounds_to_box(lo, hi)                                       # lower <= upper (concrete)
  lo, hi = jax.lax.stop_gradient(lo), jax.lax.stop_gradient(hi)
  alpha = 2.5 * (hi - lo) / (2 * steps) if step_size is None else step_size
  loss = lambda z: optax.softmax_cross_entropy_with_integer_labels(ibp.mlp_apply(layers, z), y).sum()
  layers = jax.lax.stop_gradient(layers)
  x0 = lo + (hi - lo) * jax.random.uniform(key, lo.shape, lo.dtype)

  def body(_, z):
    g = jax.grad(loss)(z)
    return jnp.clip(z + alpha * jnp.sign(g), lo, hi)
  return jax.lax.stop_gradient(jax.lax.fori_loop(0, steps, body, x0))


def pgd_loss(layers, x, y, eps, key, *, steps: int = 10, data_range=(0.0, 1.0)) -> jax.Array:
  """CE at the PGD point of the clipped box of radius ``eps`` around ``x`` (PGD adversarial training)."""
  x, y = _check_xy(f"{_PKG}.pgd_loss", x, y)
  c, r = ibp.input_box(x, eps, *data_range)
  x_adv = pgd_attack(layers, c - r, c + r, y, key, steps=steps)
  return cross_entropy(ibp.mlp_apply(layers, x_adv), y)


def _worst_case_ce(layers, c, r, y):
  k = jnp.shape(layers[-1][0])[1]
  out = ibp.mlp_bounds(layers, c, r, spec=ibp.margin_spec(y, k))
  z = ibp.worst_case_from_margins(out.center - out.radius, y)
  return cross_entropy(z, y), out


def ibp_loss(layers, x, y, eps, kappa, *, data_range=(0.0, 1.0)) -> tuple[jax.Array, ibp.MLPBounds]:
  """(1 − κ) CE(f(x), y) + κ CE(z̄(x, ε), y); returns ``(loss, bounds)`` (the margin box and the pre-activation
  boxes, for :func:`fast_regularizer`). ``eps`` and ``kappa`` may be traced (ramps)."""
  fn = f"{_PKG}.ibp_loss"
  x, y = _check_xy(fn, x, y)
  _check_unit(kappa, "kappa", fn, closed=True)
  c, r = ibp.input_box(x, eps, *data_range)
  robust, out = _worst_case_ce(layers, c, r, y)
  return (1 - kappa) * cross_entropy(ibp.mlp_apply(layers, x), y) + kappa * robust, out


def sabr_loss(layers, x, y, eps, lam, key, *, steps: int = 10, data_range=(0.0, 1.0)
              ) -> tuple[jax.Array, ibp.MLPBounds]:
  """SABR: CE of the worst case over the small box B(x', λε), x' found by PGD inside the shrunken box.
  Returns ``(loss, bounds of the small box)``."""
  fn = f"{_PKG}.sabr_loss"
  x, y = _check_xy(fn, x, y)
  _check_unit(lam, "lam", fn, closed=False)
  lo_d, hi_d = data_range
  c, r = ibp.input_box(x, eps, *data_range)
  small = lam * jnp.asarray(eps)
  # centres x' with [x' − λε, x' + λε] ∩ data range inside the clipped box: x' ∈ [max(x − ε + λε, lo), min(...)]
  lo_s = jnp.minimum(jnp.maximum(x - eps + small, lo_d), x)
  hi_s = jnp.maximum(jnp.minimum(x + eps - small, hi_d), x)
  x_s = pgd_attack(layers, lo_s, hi_s, y, key, steps=steps)
  cs, rs = ibp.input_box(x_s, small, *data_range)
  return _worst_case_ce(layers, cs, rs, y)


def fast_regularizer(bounds: ibp.MLPBounds, input_radius: jax.Array, eps, eps_max: float, *,
                     reference: float = 0.5, lam: float = 0.5) -> jax.Array:
  """Shi et al. 2021's warm-up regulariser from the pre-activation boxes of ``bounds`` (from :func:`ibp_loss`)
  and the input radius ``[B, D]``: λ (1 − ε/ε_max) (L_tightness + L_relu) / #hidden layers (0 without hidden
  layers)."""
  fn = f"{_PKG}.fast_regularizer"
  if not isinstance(bounds, ibp.MLPBounds):
    raise TypeError(f"{fn}: bounds: expected models.common.ibp.MLPBounds, got {type(bounds).__name__}")
  if not isinstance(eps_max, numbers.Real) or eps_max <= 0:
    raise ValueError(f"{fn}: eps_max: expected a positive float, got {eps_max!r}")
  _check_unit(reference, "reference", fn, closed=False)
  if not bounds.pre_activations:
    return jnp.zeros(())
  r_in = jnp.mean(input_radius)
  tight, relu = 0.0, 0.0
  for c, r in bounds.pre_activations:
    tight = tight + jax.nn.relu(reference - r_in / jnp.maximum(jnp.mean(r), 1e-12)) / reference
    lo, hi = c - r, c + r
    act, inact = (lo > 0).astype(c.dtype), (hi < 0).astype(c.dtype)
    mean_act, mean_inact = jnp.mean(c * act), jnp.mean(c * inact)
    delta = (c - jnp.mean(c)) ** 2
    var_act, var_inact = jnp.sum(delta * act), jnp.sum(delta * inact)
    ok = (mean_inact < 0) & (var_inact > 0) & (mean_act > 0) & (var_act > 0)
    mr = mean_act / jnp.where(ok, -mean_inact, 1.0)
    vr = var_act / jnp.where(ok, var_inact, 1.0)
    mr = jnp.minimum(mr, 1 / jnp.maximum(mr, 1e-12))
    vr = jnp.minimum(vr, 1 / jnp.maximum(vr, 1e-12))
    relu = relu + jnp.where(ok, (jax.nn.relu(reference - mr) + jax.nn.relu(reference - vr)) / reference, 0.0)
  return lam * (1 - eps / eps_max) * (tight + relu) / len(bounds.pre_activations)


def ramp(step, total_steps: int, start: float, end: float, begin: float = 0.0, finish: float = 1.0):
  """Linear ramp from ``begin`` (up to step ``start · total_steps``) to ``finish`` (from ``end · total_steps``),
  ``0 <= start <= end <= 1``; ``step`` may be traced."""
  fn = f"{_PKG}.ramp"
  if isinstance(total_steps, bool) or not isinstance(total_steps, numbers.Integral) or total_steps < 1:
    raise ValueError(f"{fn}: total_steps: expected a positive int, got {total_steps!r}")
  if not (isinstance(start, numbers.Real) and isinstance(end, numbers.Real) and 0 <= start <= end <= 1):
    raise ValueError(f"{fn}: start, end: expected 0 <= start <= end <= 1, got {start!r}, {end!r}")
  s0, s1 = start * total_steps, end * total_steps
  t = jnp.clip((jnp.asarray(step) * 1.0 - s0) / max(s1 - s0, 1e-9), 0.0, 1.0)
  return begin + (finish - begin) * t


def certified(layers, x, y, eps, *, data_range=(0.0, 1.0)) -> jax.Array:
  """``[B]`` bool: every elided margin's IBP lower bound over the clipped box of radius ``eps`` is > 0."""
  x, y = _check_xy(f"{_PKG}.certified", x, y)
  c, r = ibp.input_box(x, eps, *data_range)
  k = jnp.shape(layers[-1][0])[1]
  out = ibp.mlp_bounds(layers, c, r, spec=ibp.margin_spec(y, k))
  return jnp.all(out.center - out.radius > 0, axis=-1)


def robustness_metrics(layers, x, y, eps, key, *, pgd_steps: int = 20, data_range=(0.0, 1.0)) -> dict:
  """Natural accuracy, PGD accuracy (``pgd_steps``, one restart), IBP-certified accuracy and the mean local
  tightness of the elided margins (rows k ≠ y) at ``x`` (arrays; mean over the batch)."""
  x, y = _check_xy(f"{_PKG}.robustness_metrics", x, y)
  c, r = ibp.input_box(x, eps, *data_range)
  nat = jnp.argmax(ibp.mlp_apply(layers, x), -1) == y
  x_adv = pgd_attack(layers, c - r, c + r, y, key, steps=pgd_steps)
  adv = jnp.argmax(ibp.mlp_apply(layers, x_adv), -1) == y
  cert = certified(layers, x, y, eps, data_range=data_range)
  tau = tightness(layers, x, eps, y=y, relu_adjust="local", data_range=data_range)
  return {"natural_accuracy": nat.mean(), "pgd_accuracy": (adv & nat).mean(), "certified_accuracy": (cert & nat).mean(),
          "tightness": tau.mean(), "log10_tightness": jnp.log10(tau).mean(axis=-1).mean()}
