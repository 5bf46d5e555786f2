"""Interval bound propagation (IBP): boxes through affine layers and monotone activations (papers 17, 26).

Gowal et al. 2018, "On the Effectiveness of Interval Bound Propagation for Training Verifiably Robust
Models" (arXiv:1810.12715); used by Mao, Müller, Fischer & Vechev 2024, "Understanding Certified Training
with Interval Bound Propagation" (ICLR 2024, arXiv:2306.10426, paper 17) and by Krukowski et al. 2024,
"HyperInterval" (arXiv:2405.15444, paper 26).

A box is held either as ``(center, radius)`` (radius >= 0) or as ``(lower, upper)`` (lower <= upper);
:func:`box_to_bounds` / :func:`bounds_to_box` convert. Layout follows Flax ``Dense``: inputs ``x: [..., D]``,
kernels ``w: [D, H]``, ``y = x @ w + b``.

* :func:`input_box`: the L∞ ball of radius ε around ``x`` clipped to the data range ``[lo, hi]``
  (ε_j = (min(x_j + ε, hi) − max(x_j − ε, lo)) / 2, as the official tightness code).
* :func:`affine`: c' = c W + b, r' = r |W| (``w`` may carry a batch axis ``[B, D, H]``: an elided last layer).
* :func:`monotone`, :func:`relu`: a non-decreasing activation on the bounds, [f(c − r), f(c + r)].
* :func:`mlp_apply`, :func:`mlp_bounds`: an MLP given as a list of ``(w, b)`` layers with an activation
  between them, on a point and on a box; the bounds carry every pre-activation box (for regularisers).
* :func:`margin_spec`, :func:`elide`: the specification C (rows e_y − e_k, k ≠ y) folded into the last layer
  *before* |·| is taken ("elision"): the margin bounds are |C W_L| r instead of |C| |W_L| r (tighter).
* :func:`worst_case_from_margins` (elided margins → worst-case logits, z̄_y = 0, z̄_k = −lower(m_k)) and
  :func:`worst_case_logits` (z_L on the true class, z_U elsewhere, from a logit box).
* :func:`interval_matmul`: interval inputs times interval weights with signs unrestricted (each product
  x_k W_kj ranges over the min and max of its four corner products; exact for every output), and
  :func:`interval_matmul_nonneg`, the fast rule for x >= 0 (y_L = x_L W_L⁺ + x_U W_L⁻,
  y_U = x_U W_U⁺ + x_L W_U⁻, HyperInterval's ``IntervalLinear``), equal to the general rule there.

Everything is a pure function of arrays and differentiable almost everywhere (|·|, ReLU and min/max have
kinks). Shape checks raise at trace time; value checks (radius >= 0, lower <= upper, ε >= 0, inputs in the
data range, labels in range, x >= 0 for the fast rule) raise ``ValueError`` on concrete inputs; under ``jit``
traced values are used as given (an inverted box then gives a meaningless, possibly inverted, result).
"""
from __future__ import annotations

import numbers
from typing import Any, Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import is_concrete

__all__ = ["box_to_bounds", "bounds_to_box", "input_box", "affine", "monotone", "relu", "mlp_apply",
           "mlp_bounds", "MLPBounds", "margin_spec", "elide", "worst_case_from_margins", "worst_case_logits",
           "interval_matmul", "interval_matmul_nonneg"]

_PKG = "models.common.ibp"


def _float(x: Any, name: str, fn: str) -> jax.Array:
  x = jnp.asarray(x)
  if not jnp.issubdtype(x.dtype, jnp.floating):
    raise TypeError(f"{fn}: {name}: expected a floating array, got dtype {x.dtype}")
  return x


def _same_shape(a, b, na: str, nb: str, fn: str) -> None:
  if a.shape != b.shape:
    raise ValueError(f"{fn}: {nb}: expected the shape of {na} {a.shape}, got {b.shape}")


def _check_nonneg(x, name: str, fn: str) -> None:
  if is_concrete(x):
    a = np.asarray(x)
    if np.any(a < 0) or np.any(np.isnan(a)):
      raise ValueError(f"{fn}: {name}: expected values >= 0, got min {np.nanmin(a) if a.size else a}")


def _check_ordered(lo, hi, nlo: str, nhi: str, fn: str) -> None:
  if is_concrete(lo) and is_concrete(hi):
    bad = np.asarray(lo) > np.asarray(hi)
    if np.any(bad):
      idx = tuple(int(i) for i in np.argwhere(bad)[0])
      raise ValueError(f"{fn}: {nlo} > {nhi}: expected {nlo} <= {nhi} elementwise, got "
                       f"{np.asarray(lo)[idx]} > {np.asarray(hi)[idx]} at index {idx}")


def _check_eps(eps, fn: str) -> jax.Array:
  if isinstance(eps, bool) or not isinstance(eps, (numbers.Real, np.ndarray, jax.Array)):
    raise TypeError(f"{fn}: eps: expected a float or a float array, got {type(eps).__name__}")
  _check_nonneg(eps, "eps", fn)
  return jnp.asarray(eps)


def box_to_bounds(center: jax.Array, radius: jax.Array) -> tuple[jax.Array, jax.Array]:
  """``(center, radius)`` → ``(lower, upper) = (c − r, c + r)``; ``radius`` must be >= 0 and of ``center``'s shape."""
  fn = f"{_PKG}.box_to_bounds"
  c, r = _float(center, "center", fn), _float(radius, "radius", fn)
  _same_shape(c, r, "center", "radius", fn)
  _check_nonneg(r, "radius", fn)
  return c - r, c + r


def bounds_to_box(lower: jax.Array, upper: jax.Array) -> tuple[jax.Array, jax.Array]:
  """``(lower, upper)`` → ``(center, radius) = ((u + l) / 2, (u − l) / 2)``; needs ``lower <= upper``."""
  fn = f"{_PKG}.bounds_to_box"
  lo, hi = _float(lower, "lower", fn), _float(upper, "upper", fn)
  _same_shape(lo, hi, "lower", "upper", fn)
  _check_ordered(lo, hi, "lower", "upper", fn)
  return (hi + lo) / 2, (hi - lo) / 2


def input_box(x: jax.Array, eps, lo: float = 0.0, hi: float = 1.0) -> tuple[jax.Array, jax.Array]:
  """The box ``[max(x − ε, lo), min(x + ε, hi)]`` as ``(center, radius)``.

  Args:
    x: ``[..., D]`` points inside the data range ``[lo, hi]``.
    eps: radius >= 0, a scalar or anything broadcastable to ``x`` (may be traced: an ε ramp).
    lo, hi: the data range (``lo < hi``).
  """
  fn = f"{_PKG}.input_box"
  x = _float(x, "x", fn)
  e = _check_eps(eps, fn)
  if not (isinstance(lo, numbers.Real) and isinstance(hi, numbers.Real) and lo < hi):
    raise ValueError(f"{fn}: lo, hi: expected real numbers with lo < hi, got {lo!r}, {hi!r}")
  if is_concrete(x):
    a = np.asarray(x)
    if a.size and (a.min() < lo or a.max() > hi):
      raise ValueError(f"{fn}: x: expected values in the data range [{lo:g}, {hi:g}], got min {a.min():g} "
                       f"max {a.max():g}")
  l = jnp.maximum(x - e, lo)
  u = jnp.minimum(x + e, hi)
  return (u + l) / 2, (u - l) / 2


def _check_layer(c, r, w, b, fn: str):
  c, r, w = _float(c, "center", fn), _float(r, "radius", fn), _float(w, "w", fn)
  _same_shape(c, r, "center", "radius", fn)
  if w.ndim not in (2, 3):
    raise ValueError(f"{fn}: w: expected a kernel [D, H] or a batch of kernels [B, D, H], got shape {w.shape}")
  if c.ndim < 1 or c.shape[-1] != w.shape[-2]:
    raise ValueError(f"{fn}: w: expected {c.shape[-1] if c.ndim else '?'} input rows to match center's last "
                     f"axis {c.shape}, got shape {w.shape}")
  if w.ndim == 3 and (c.ndim != 2 or c.shape[0] != w.shape[0]):
    raise ValueError(f"{fn}: w: a batched kernel [B, D, H] needs center [B, D]; got w {w.shape}, center {c.shape}")
  if b is not None:
    b = _float(b, "b", fn)
    want = (w.shape[-1],) if w.ndim == 2 else (w.shape[0], w.shape[-1])
    if b.shape != want and not (w.ndim == 3 and b.shape == (w.shape[-1],)):
      raise ValueError(f"{fn}: b: expected shape {want}, got {b.shape}")
  return c, r, w, b


def _matmul(x, w):
  return x @ w if w.ndim == 2 else jnp.einsum("bd,bdh->bh", x, w)


def affine(center: jax.Array, radius: jax.Array, w: jax.Array, b: jax.Array | None = None
           ) -> tuple[jax.Array, jax.Array]:
  """The box through ``y = x @ w + b``: ``(c @ w + b, r @ |w|)`` (exact for an affine map).

  Shapes: ``center, radius: [..., D]``, ``w: [D, H]`` (or ``[B, D, H]`` with ``center: [B, D]``), ``b: [H]``
  (or ``[B, H]``). Returns ``[..., H]``.
  """
  c, r, w, b = _check_layer(center, radius, w, b, f"{_PKG}.affine")
  _check_nonneg(r, "radius", f"{_PKG}.affine")
  out = _matmul(c, w)
  if b is not None:
    out = out + b
  return out, _matmul(r, jnp.abs(w))


def monotone(fn: Callable[[jax.Array], jax.Array], center: jax.Array, radius: jax.Array
             ) -> tuple[jax.Array, jax.Array]:
  """A non-decreasing elementwise ``fn`` on the bounds: the box ``[fn(c − r), fn(c + r)]`` as centre/radius."""
  name = f"{_PKG}.monotone"
  if not callable(fn):
    raise TypeError(f"{name}: fn: expected a callable (a non-decreasing activation), got {type(fn).__name__}")
  lo, hi = box_to_bounds(center, radius)
  flo, fhi = fn(lo), fn(hi)
  if flo.shape != lo.shape:
    raise ValueError(f"{name}: fn: expected an elementwise function (output shape {lo.shape}), got {flo.shape}")
  return (fhi + flo) / 2, (fhi - flo) / 2


def relu(center: jax.Array, radius: jax.Array) -> tuple[jax.Array, jax.Array]:
  """ReLU on a box: ``[relu(c − r), relu(c + r)]`` as centre/radius."""
  return monotone(jax.nn.relu, center, radius)


Layers = Sequence[tuple[jax.Array, jax.Array]]


def _check_layers(layers, fn: str) -> None:
  if not isinstance(layers, (list, tuple)) or not layers:
    raise TypeError(f"{fn}: layers: expected a non-empty list of (w, b) pairs, got {type(layers).__name__}")
  for i, lb in enumerate(layers):
    if not isinstance(lb, (list, tuple)) or len(lb) != 2:
      raise TypeError(f"{fn}: layers[{i}]: expected a (w, b) pair, got {type(lb).__name__}")
    w, b = jnp.shape(lb[0]), jnp.shape(lb[1])
    if len(w) != 2 or b != (w[1],):
      raise ValueError(f"{fn}: layers[{i}]: expected w [D, H] and b [H], got shapes {w} and {b}")
    if i and w[0] != jnp.shape(layers[i - 1][0])[1]:
      raise ValueError(f"{fn}: layers[{i}]: expected {jnp.shape(layers[i - 1][0])[1]} input rows (the previous "
                       f"layer's width), got w shape {w}")


def mlp_apply(layers: Layers, x: jax.Array, activation: Callable = jax.nn.relu) -> jax.Array:
  """The MLP ``x → W_L σ(… σ(x W_1 + b_1) …) + b_L`` on points ``x: [..., D]`` (no activation after the last)."""
  fn = f"{_PKG}.mlp_apply"
  _check_layers(layers, fn)
  h = _float(x, "x", fn)
  if h.shape[-1:] != jnp.shape(layers[0][0])[:1]:
    raise ValueError(f"{fn}: x: expected last axis {jnp.shape(layers[0][0])[0]}, got shape {h.shape}")
  for i, (w, b) in enumerate(layers):
    h = h @ w + b
    if i < len(layers) - 1:
      h = activation(h)
  return h


class MLPBounds(NamedTuple):
  """The output box ``(center, radius)`` and the pre-activation box of every hidden layer."""
  center: jax.Array
  radius: jax.Array
  pre_activations: tuple[tuple[jax.Array, jax.Array], ...]


def mlp_bounds(layers: Layers, center: jax.Array, radius: jax.Array, *, spec: jax.Array | None = None,
               activation: Callable = jax.nn.relu) -> MLPBounds:
  """IBP through the MLP of :func:`mlp_apply` (``activation`` non-decreasing).

  Args:
    layers: ``[(w_1 [D, H_1], b_1), ..., (w_L [H_{L-1}, K], b_L)]``.
    center, radius: the input box ``[B, D]`` (or ``[D]`` without ``spec``).
    spec: optional specification ``C: [B, M, K]`` folded into the last layer before |·| (:func:`elide`);
      the output box is then that of ``C z``: ``[B, M]``. Without it, the logit box ``[..., K]``.
  """
  fn = f"{_PKG}.mlp_bounds"
  _check_layers(layers, fn)
  c, r = _float(center, "center", fn), _float(radius, "radius", fn)
  _same_shape(c, r, "center", "radius", fn)
  _check_nonneg(r, "radius", fn)
  if c.shape[-1:] != jnp.shape(layers[0][0])[:1]:
    raise ValueError(f"{fn}: center: expected last axis {jnp.shape(layers[0][0])[0]}, got shape {c.shape}")
  pre = []
  for i, (w, b) in enumerate(layers):
    if i == len(layers) - 1 and spec is not None:
      if c.ndim != 2:
        raise ValueError(f"{fn}: center: expected [B, D] with a spec, got shape {center.shape}")
      w, b = elide(w, b, spec)
    c, r = affine(c, r, w, b)
    if i < len(layers) - 1:
      pre.append((c, r))
      c, r = monotone(activation, c, r)
  return MLPBounds(c, r, tuple(pre))


def margin_spec(y: jax.Array, num_classes: int) -> jax.Array:
  """The margin specification ``C: [B, K − 1, K]``: row m is e_y − e_k for the m-th class k ≠ y (increasing k),
  so ``C z`` are the margins z_y − z_k; the property holds iff every margin is > 0."""
  fn = f"{_PKG}.margin_spec"
  if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes < 2:
    raise ValueError(f"{fn}: num_classes: expected an int >= 2, got {num_classes!r}")
  y = jnp.asarray(y)
  if not jnp.issubdtype(y.dtype, jnp.integer) or y.ndim != 1:
    raise TypeError(f"{fn}: y: expected integer labels [B], got {y.dtype} {y.shape}")
  if is_concrete(y) and y.size and (np.asarray(y).min() < 0 or np.asarray(y).max() >= num_classes):
    raise ValueError(f"{fn}: y: expected labels in [0, {num_classes}), got min {int(np.asarray(y).min())} "
                     f"max {int(np.asarray(y).max())}")
  others = _other_classes(y, num_classes)                                # [B, K-1]
  eye = jnp.eye(num_classes)
  return eye[y][:, None, :] - eye[others]


def _other_classes(y, k):
  m = jnp.arange(k - 1)
  return jnp.where(m[None, :] < y[:, None], m[None, :], m[None, :] + 1)


def elide(w: jax.Array, b: jax.Array, spec: jax.Array) -> tuple[jax.Array, jax.Array]:
  """Folds ``spec: [B, M, K]`` into the last layer ``w: [H, K], b: [K]``: returns ``w' = w C^T: [B, H, M]`` and
  ``b' = C b: [B, M]``, so that :func:`affine` takes |w C^T| (elision) rather than |C| |w|."""
  fn = f"{_PKG}.elide"
  w, b, spec = _float(w, "w", fn), _float(b, "b", fn), _float(spec, "spec", fn)
  if w.ndim != 2 or b.shape != (w.shape[1],):
    raise ValueError(f"{fn}: w, b: expected w [H, K] and b [K], got {w.shape} and {b.shape}")
  if spec.ndim != 3 or spec.shape[-1] != w.shape[1]:
    raise ValueError(f"{fn}: spec: expected [B, M, K] with K = {w.shape[1]} classes (the last layer's width), got "
                     f"shape {spec.shape}")
  return jnp.einsum("hk,bmk->bhm", w, spec), jnp.einsum("bmk,k->bm", spec, b)


def worst_case_from_margins(margin_lower: jax.Array, y: jax.Array) -> jax.Array:
  """Worst-case logits from lower bounds of the margins of :func:`margin_spec`: ``z̄: [B, K]`` with z̄_y = 0 and
  z̄_k = −lower(z_y − z_k); CE(z̄, y) bounds the cross-entropy over the box from above."""
  fn = f"{_PKG}.worst_case_from_margins"
  m = _float(margin_lower, "margin_lower", fn)
  y = jnp.asarray(y)
  if m.ndim != 2 or y.shape != m.shape[:1] or not jnp.issubdtype(y.dtype, jnp.integer):
    raise ValueError(f"{fn}: y: expected integer labels [B] with margin_lower [B, K-1], got y {y.dtype} {y.shape}, "
                     f"margin_lower {m.shape}")
  k = m.shape[1] + 1
  if is_concrete(y) and y.size and (np.asarray(y).min() < 0 or np.asarray(y).max() >= k):
    raise ValueError(f"{fn}: y: expected labels in [0, {k}), got max {int(np.asarray(y).max())}")
  others = _other_classes(y, k)
  z = jnp.zeros((m.shape[0], k), m.dtype)
  return z.at[jnp.arange(m.shape[0])[:, None], others].set(-m)


def worst_case_logits(lower: jax.Array, upper: jax.Array, y: jax.Array) -> jax.Array:
  """Worst-case logits from a logit box: the lower bound on the true class, the upper bound elsewhere."""
  fn = f"{_PKG}.worst_case_logits"
  lo, hi = _float(lower, "lower", fn), _float(upper, "upper", fn)
  _same_shape(lo, hi, "lower", "upper", fn)
  _check_ordered(lo, hi, "lower", "upper", fn)
  y = jnp.asarray(y)
  if lo.ndim != 2 or y.shape != lo.shape[:1] or not jnp.issubdtype(y.dtype, jnp.integer):
    raise ValueError(f"{fn}: y: expected integer labels [B] with lower [B, K], got y {y.dtype} {y.shape}, "
                     f"lower {lo.shape}")
  if is_concrete(y) and y.size and (np.asarray(y).min() < 0 or np.asarray(y).max() >= lo.shape[1]):
    raise ValueError(f"{fn}: y: expected labels in [0, {lo.shape[1]}), got max {int(np.asarray(y).max())}")
  onehot = jax.nn.one_hot(y, lo.shape[1], dtype=bool)
  return jnp.where(onehot, lo, hi)


def _check_interval_product(x_l, x_u, w_l, w_u, fn):
  x_l, x_u = _float(x_l, "x_lower", fn), _float(x_u, "x_upper", fn)
  w_l, w_u = _float(w_l, "w_lower", fn), _float(w_u, "w_upper", fn)
  _same_shape(x_l, x_u, "x_lower", "x_upper", fn)
  _same_shape(w_l, w_u, "w_lower", "w_upper", fn)
  if w_l.ndim != 2 or x_l.ndim < 1 or x_l.shape[-1] != w_l.shape[0]:
    raise ValueError(f"{fn}: w_lower: expected a kernel [D, H] with D = the inputs' last axis {x_l.shape}, got "
                     f"{w_l.shape}")
  _check_ordered(x_l, x_u, "x_lower", "x_upper", fn)
  _check_ordered(w_l, w_u, "w_lower", "w_upper", fn)
  return x_l, x_u, w_l, w_u


def interval_matmul(x_lower: jax.Array, x_upper: jax.Array, w_lower: jax.Array, w_upper: jax.Array
                    ) -> tuple[jax.Array, jax.Array]:
  """The exact box of ``{x @ W : x ∈ [x_L, x_U], W ∈ [W_L, W_U]}`` for any signs: ``(y_L, y_U)``.

  Output j is Σ_k x_k W_kj with every term over its own variables W_kj, so its range is the sum of the
  ranges of the terms, each the [min, max] of its four corner products. ``x: [..., D]``, ``W: [D, H]``;
  memory O(prod(batch) · D · H) (the corner products are formed).
  """
  x_l, x_u, w_l, w_u = _check_interval_product(x_lower, x_upper, w_lower, w_upper, f"{_PKG}.interval_matmul")
  a, b = x_l[..., :, None], x_u[..., :, None]
  corners = jnp.stack([a * w_l, a * w_u, b * w_l, b * w_u])           # [4, ..., D, H]
  return jnp.min(corners, 0).sum(-2), jnp.max(corners, 0).sum(-2)


def interval_matmul_nonneg(x_lower: jax.Array, x_upper: jax.Array, w_lower: jax.Array, w_upper: jax.Array
                           ) -> tuple[jax.Array, jax.Array]:
  """The fast rule for non-negative inputs (``0 <= x_L <= x_U``): ``y_L = x_L W_L⁺ + x_U W_L⁻``,
  ``y_U = x_U W_U⁺ + x_L W_U⁻`` (W⁺ = max(W, 0), W⁻ = min(W, 0)); equal to :func:`interval_matmul` there.
  Under ``jit`` a negative traced ``x_L`` is not caught and gives bounds that need not be sound."""
  fn = f"{_PKG}.interval_matmul_nonneg"
  x_l, x_u, w_l, w_u = _check_interval_product(x_lower, x_upper, w_lower, w_upper, fn)
  _check_nonneg(x_l, "x_lower", fn)
  pos, neg = lambda w: jnp.maximum(w, 0), lambda w: jnp.minimum(w, 0)
  return x_l @ pos(w_l) + x_u @ neg(w_l), x_u @ pos(w_u) + x_l @ neg(w_u)
