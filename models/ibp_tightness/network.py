"""The certified-training MLP of paper 17 (Mao, Müller, Fischer & Vechev, "Understanding Certified Training with
Interval Bound Propagation", ICLR 2024, arXiv:2306.10426): a ReLU MLP with the weight initialisations the
paper's experiments use, as a Flax module and as a plain list of ``(w, b)`` layers for the interval core
(:mod:`models.common.ibp`).

Initialisations (``init`` of :func:`init_mlp`, ``init_scheme`` of :class:`CertMLP`):
* ``"default"``: PyTorch's ``nn.Linear`` default, w, b ~ U(−1/√fan_in, 1/√fan_in) (the official code's
  default for standard and PGD training);
* ``"fast"``: the IBP initialisation of Shi et al. 2021 ("Fast Certified Robust Training with Short Warmup",
  arXiv:2103.17268; official ``ibp_fast_init``): w ~ N(0, 2π / fan_in²), b = 0, which keeps the IBP radius
  of a layer's output at about the input's (E Σ_j |w_ij| = 2, halved by ReLU);
* ``"gaussian"``: w ~ N(0, 1 / fan_in), b = 0 (the initialisation study; τ does not depend on the scale).
"""
from __future__ import annotations

import math
import numbers
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from models.common import ibp

__all__ = ["INITS", "init_mlp", "layers_from_params", "CertMLP"]

INITS = ("default", "fast", "gaussian")
_PKG = "models.ibp_tightness"


def _check_sizes(sizes, fn):
  if not isinstance(sizes, (list, tuple)) or len(sizes) < 2 or any(
      isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1 for s in sizes):
    raise ValueError(f"{fn}: sizes: expected >= 2 positive ints (input, hidden..., output), got {sizes!r}")


def _kernel_init(init: str, fn: str):
  if init == "default":
    def w_init(key, shape, dtype=jnp.float32):
      s = 1.0 / math.sqrt(shape[0])
      return jax.random.uniform(key, shape, dtype, -s, s)
  elif init == "fast":
    def w_init(key, shape, dtype=jnp.float32):
      return jax.random.normal(key, shape, dtype) * (math.sqrt(2 * math.pi) / shape[0])
  elif init == "gaussian":
    def w_init(key, shape, dtype=jnp.float32):
      return jax.random.normal(key, shape, dtype) / math.sqrt(shape[0])
  else:
    raise ValueError(f"{fn}: init: expected one of {INITS}, got {init!r}")
  return w_init


def _bias_init(init: str, fan_in: int):
  if init == "default":
    s = 1.0 / math.sqrt(fan_in)
    return lambda key, shape, dtype=jnp.float32: jax.random.uniform(key, shape, dtype, -s, s)
  return lambda key, shape, dtype=jnp.float32: jnp.zeros(shape, dtype)


def init_mlp(key: jax.Array, sizes: tuple[int, ...], init: str = "gaussian", dtype=jnp.float32
             ) -> list[tuple[jax.Array, jax.Array]]:
  """Random layers ``[(w [sizes[i], sizes[i+1]], b [sizes[i+1]]), ...]`` with initialisation ``init``."""
  fn = f"{_PKG}.init_mlp"
  _check_sizes(sizes, fn)
  w_init = _kernel_init(init, fn)
  keys = jax.random.split(key, 2 * (len(sizes) - 1))
  return [(w_init(keys[2 * i], (sizes[i], sizes[i + 1]), dtype),
           _bias_init(init, sizes[i])(keys[2 * i + 1], (sizes[i + 1],), dtype)) for i in range(len(sizes) - 1)]


def layers_from_params(params: Any) -> list[tuple[jax.Array, jax.Array]]:
  """The ``(w, b)`` list of a :class:`CertMLP`'s ``params`` (``{"w0", "b0", "w1", ...}``), in order."""
  fn = f"{_PKG}.layers_from_params"
  if not hasattr(params, "keys") or "w0" not in params:
    raise ValueError(f"{fn}: params: expected a CertMLP params dict with keys w0, b0, ..., got "
                     f"{type(params).__name__}")
  n = sum(1 for k in params if k.startswith("w"))
  return [(params[f"w{i}"], params[f"b{i}"]) for i in range(n)]


class CertMLP(nn.Module):
  """ReLU MLP ``D → widths... → num_classes`` whose IBP bounds are exposed through ``sow``.

  ``__call__(x: [B, D], y: [B] | None = None, *, eps=None)`` returns the logits ``[B, K]``. With ``eps``
  (a radius >= 0 around ``x``, clipped to ``data_range``) it also sows, in the ``"intermediates"``
  collection, ``"logit_bounds"`` = (lower, upper) ``[B, K]`` and, when ``y`` is given, ``"margin_bounds"`` =
  (lower, upper) ``[B, K − 1]`` of the margins z_y − z_k with the specification folded into the last layer.
  Call ``apply(..., mutable=["intermediates"])`` to read them.
  """
  widths: tuple[int, ...] = (128, 128)
  num_classes: int = 10
  init_scheme: str = "default"
  data_range: tuple[float, float] = (0.0, 1.0)

  @nn.compact
  def __call__(self, x: jax.Array, y: jax.Array | None = None, *, eps=None) -> jax.Array:
    fn = f"{_PKG}.CertMLP"
    sizes = (int(jnp.shape(x)[-1]),) + tuple(self.widths) + (self.num_classes,)
    _check_sizes(list(sizes), fn)
    if self.num_classes < 2:
      raise ValueError(f"{fn}: num_classes: expected an int >= 2, got {self.num_classes!r}")
    w_init = _kernel_init(self.init_scheme, fn)
    layers = []
    for i in range(len(sizes) - 1):
      w = self.param(f"w{i}", w_init, (sizes[i], sizes[i + 1]), jnp.float32)
      b = self.param(f"b{i}", _bias_init(self.init_scheme, sizes[i]), (sizes[i + 1],), jnp.float32)
      layers.append((w, b))
    logits = ibp.mlp_apply(layers, x)
    if eps is not None:
      c, r = ibp.input_box(x, eps, *self.data_range)
      out = ibp.mlp_bounds(layers, c, r)
      self.sow("intermediates", "logit_bounds", (out.center - out.radius, out.center + out.radius))
      if y is not None:
        m = ibp.mlp_bounds(layers, c, r, spec=ibp.margin_spec(y, self.num_classes))
        self.sow("intermediates", "margin_bounds", (m.center - m.radius, m.center + m.radius))
    return logits
