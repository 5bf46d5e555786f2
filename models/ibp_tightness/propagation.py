"""Propagation tightness (paper 17, Mao et al. 2024, Sec. 3 and the official ``PI_functions.compute_tightness``).

For a deep linear network f(x) = W_L … W_1 x (with the specification C folded into W_L) and the input box of
per-coordinate radius ε (clipped to the data range), the exact output radius is |∏W| ε and IBP's is
(∏|W|) ε; the tightness of output row i is

    τ_i = (|∏W| ε)_i / ((∏|W|) ε)_i ∈ (0, 1].

A ReLU network is replaced by its local linearisation at the clean input ("local": units with a negative
pre-activation at x are zeroed in both products), or its ReLUs are dropped (``relu_adjust=None``, the DLN
view). Computed the official way, O(M) network passes for M output rows: one backward pass per row gives the
signs of the row of ∏W, a forward pass of sign · ε gives the numerator, one forward pass with |W| the
denominator. A row whose denominator is 0 has numerator 0 too (|∏W| <= ∏|W| entrywise): it is exact and
gets τ = 1 (the official code clamps both at 1e-8, which gives the same 0/0 → 1).

:func:`initialization_tightness` is our closed form at Gaussian initialisation ([derived] in the paper notes):
τ ≈ (π / (2 w))^{(L−1)/2} for a DLN of width w and depth L, and (π / w)^{(L−1)/2} with ReLU (half the units
active per hidden layer).
"""
from __future__ import annotations

import math
import numbers
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from models.common import ibp

__all__ = ["RELU_ADJUST", "tightness", "initialization_tightness"]

RELU_ADJUST = ("local", None)
_PKG = "models.ibp_tightness"


def _pass(layers, e, masks, spec, absolute: bool, elide: bool):
  """One linear pass of the radius-like vector e: [D] through the (locally linearised) network; last layer
  folded with spec: [M, K] (elided) or followed by |spec| (not elided)."""
  h = e
  n = len(layers)
  for i, (w, _) in enumerate(layers):
    if i < n - 1:
      h = h @ (jnp.abs(w) if absolute else w)
      h = h * masks[i]
    elif elide or not absolute:
      wl = w @ spec.T                                            # [H, M]
      h = h @ (jnp.abs(wl) if absolute else wl)
    else:
      h = (h @ jnp.abs(w)) @ jnp.abs(spec).T
  return h


def tightness(layers: Sequence[tuple[jax.Array, jax.Array]], x: jax.Array, eps, *, y: jax.Array | None = None,
              relu_adjust: str | None = "local", elide: bool = True, data_range: tuple[float, float] = (0.0, 1.0)
              ) -> jax.Array:
  """Per-row propagation tightness ``τ: [B, M]`` of the MLP ``layers`` (ReLU between layers) at inputs ``x``.

  Args:
    layers: ``[(w [D, H_1], b), ..., (w_L [H, K], b_L)]`` (biases do not enter τ).
    x: ``[B, D]`` clean inputs in ``data_range``.
    eps: the L∞ radius >= 0 (clipped per coordinate to the data range).
    y: labels ``[B]``: the rows are the K − 1 margins z_y − z_k (:func:`models.common.ibp.margin_spec`);
      ``None``: the K logits (C = I).
    relu_adjust: ``"local"`` (activation pattern at x) or ``None`` (ReLUs ignored: the DLN of the weights).
    elide: fold the specification into the last layer before |·| (the official choice); ``False`` applies
      |C| after the |W| pass (never tighter: τ_elided >= τ_not_elided).
  """
  fn = f"{_PKG}.tightness"
  if relu_adjust not in RELU_ADJUST:
    raise ValueError(f"{fn}: relu_adjust: expected one of {RELU_ADJUST}, got {relu_adjust!r}")
  x = jnp.asarray(x)
  if x.ndim != 2:
    raise ValueError(f"{fn}: x: expected [B, D], got shape {x.shape}")
  _, e = ibp.input_box(x, eps, *data_range)                      # validates eps, x, data range
  ibp.mlp_apply(layers, x[:1])                                   # validates the layers against x
  k = jnp.shape(layers[-1][0])[1]
  if y is None:
    spec = jnp.broadcast_to(jnp.eye(k, dtype=x.dtype), (x.shape[0], k, k))
  else:
    y = jnp.asarray(y)
    if y.shape != x.shape[:1]:
      raise ValueError(f"{fn}: y: expected labels [{x.shape[0]}], got shape {y.shape}")
    spec = ibp.margin_spec(y, k).astype(x.dtype)
  masks = _masks(layers, x, relu_adjust)
  return _tau(layers, e, masks, spec, elide)


def _masks(layers, x, relu_adjust):
  out, h = [], x
  for w, b in layers[:-1]:
    pre = h @ w + b
    out.append((pre >= 0).astype(x.dtype) if relu_adjust == "local" else jnp.ones_like(pre))
    h = jax.nn.relu(pre)
  return out


def _tau(layers, e, masks, spec, elide):
  def one(e1, masks1, spec1):
    f = lambda v: _pass(layers, v, masks1, spec1, False, elide)
    out, vjp = jax.vjp(f, e1)
    rows = jnp.eye(out.shape[0], dtype=out.dtype)
    signs = jnp.sign(jax.vmap(lambda r: vjp(r)[0])(rows))       # [M, D]: sign of row i of the linear map
    num = jax.vmap(lambda s, r: f(s * e1) @ r)(signs, rows)       # (|∏W| ε)_i
    den = _pass(layers, e1, masks1, spec1, True, elide)           # (∏|W| ε)_i
    return jnp.where(den > 0, num / jnp.where(den > 0, den, 1.0), 1.0)
  return jax.vmap(one)(e, masks, spec)


def initialization_tightness(width: int, depth: int, relu: bool = False) -> float:
  """The closed form τ ≈ (π / (2w))^{(L−1)/2} (DLN) or (π / w)^{(L−1)/2} (ReLU) at Gaussian initialisation,
  for ``depth`` L >= 1 linear layers with hidden width ``width``."""
  fn = f"{_PKG}.initialization_tightness"
  for name, v in (("width", width), ("depth", depth)):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
      raise ValueError(f"{fn}: {name}: expected a positive int, got {v!r}")
  return float((math.pi / (width if relu else 2 * width)) ** ((depth - 1) / 2))
