"""Hopfield layers (Flax linen): ``Hopfield``, ``HopfieldPooling``, ``HopfieldLayer``.

Ramsauer et al., "Hopfield Networks is All You Need", ICLR 2021, arXiv:2008.02217.

The layer form of the update (paper Eq. (3)), with patterns as rows (batch-first):

  ``Z = softmax(β · LN(R) W_Q · (LN(Y) W_K)ᵀ) · LN(Y_p) W_V · W_O``

* ``R = state_pattern: [B, Q, Dq]`` (queries), ``Y = stored_pattern: [B, N, Ds]`` (keys),
  ``Y_p = pattern_projection: [B, N, Dp]`` (values; defaults to Y);
* ``LN`` = affine LayerNorm, on by default for all three inputs (``normalize_*``);
* ``W_Q, W_K, W_V`` learned linear maps, each replaced by the identity when the matching
  ``*_as_static`` flag is set; ``W_O`` the output projection (``disable_out_projection`` removes it);
* β = ``scaling``; default ``1/sqrt(head_dim)``, or 1.0 when nothing is projected (all three
  ``*_as_static`` and ``disable_out_projection``: the official layer's "static execution");
* ``update_steps_max = k > 0``: before the read-out, the projected state is iterated in the association
  space, ``ξ ← softmax(β ξ Kᵀ) K`` (Eq. (3) with the projected stored patterns K as X), up to k times or
  until a step moves a query by less than ``update_steps_eps`` (:func:`functional.iterate_scan`); the
  read-out is then ``softmax(β ξ Kᵀ) V``. ``k = 0`` is the single update (plain attention).

Intermediates (``mutable=["intermediates"]``): ``association: [B, H, Q, N]`` float32 read-out weights
(before dropout), and for ``update_steps_max > 0`` also ``num_steps: [B, H, Q]`` and
``energy: [k + 1, B, H, Q]``, the Eq. (2) energy of the association-space state along the updates.

RNG streams: ``params`` (initialisation), ``dropout`` (dropout on the association matrix, used only when
``dropout > 0`` and ``deterministic=False``).
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from models.hopfield import functional as F

Array = jax.Array
Dtype = Any
Initializer = Callable[..., Array]

__all__ = ["Hopfield", "HopfieldLayer", "HopfieldPooling", "HopfieldSizes"]


@dataclasses.dataclass(frozen=True)
class HopfieldSizes:
  """Resolved sizes of a :class:`Hopfield` call (see :meth:`Hopfield.resolve_sizes`).

  Attributes:
    hidden: total association dim (all heads); ``head_dim = hidden // num_heads``.
    head_dim: per-head association dim.
    pattern: total value dim (all heads); ``pattern_head_dim = pattern // num_heads``.
    pattern_head_dim: per-head value dim.
    output: feature dim of the layer's output.
    beta: the inverse temperature β used in the softmax.
  """
  hidden: int
  head_dim: int
  pattern: int
  pattern_head_dim: int
  output: int
  beta: float


def _shape_str(x: Any) -> str:
  return str(tuple(jnp.shape(x)))


def _check_init_std(v: Any) -> None:
  if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v >= 0):
    raise ValueError(f"init_std: expected a finite float >= 0, got {v!r}")


class _HopfieldConfig(nn.Module):
  """Fields shared by the three Hopfield layers (see :class:`Hopfield` for their meaning)."""
  num_heads: int = 1
  hidden_size: int | None = None
  pattern_size: int | None = None
  output_size: int | None = None
  scaling: float | None = None
  update_steps_max: int = 0
  update_steps_eps: float = 1e-4
  normalize_stored_pattern: bool = True
  normalize_state_pattern: bool = True
  normalize_pattern_projection: bool = True
  normalize_affine: bool = True
  layer_norm_eps: float = 1e-5
  stored_pattern_as_static: bool = False
  state_pattern_as_static: bool = False
  pattern_projection_as_static: bool = False
  disable_out_projection: bool = False
  dropout: float = 0.0
  use_bias: bool = True
  kernel_init: Initializer = nn.initializers.normal(0.02)
  bias_init: Initializer = nn.initializers.zeros
  dtype: Dtype | None = None
  param_dtype: Dtype = jnp.float32

  def _hopfield_kwargs(self, **overrides: Any) -> dict[str, Any]:
    """The shared fields as keyword arguments for an inner :class:`Hopfield`."""
    kw = {f.name: getattr(self, f.name) for f in dataclasses.fields(_HopfieldConfig)
          if f.name not in ("parent", "name")}
    kw.update(overrides)
    return kw

  def _check_fields(self) -> None:
    def positive_or_none(name: str) -> None:
      v = getattr(self, name)
      if v is not None and (not isinstance(v, int) or v <= 0):
        raise ValueError(f"{name}: expected None or an int > 0, got {v!r}")

    if not isinstance(self.num_heads, int) or self.num_heads <= 0:
      raise ValueError(f"num_heads: expected an int > 0, got {self.num_heads!r}")
    for name in ("hidden_size", "pattern_size", "output_size"):
      positive_or_none(name)
    if self.scaling is not None and (isinstance(self.scaling, bool) or
                                     not isinstance(self.scaling, (int, float, np.integer, np.floating))):
      raise ValueError(f"scaling: expected None or a float, got {self.scaling!r}")
    if self.scaling is not None and not (math.isfinite(self.scaling) and self.scaling > 0):
      raise ValueError(f"scaling: expected None or a finite β > 0 (inverse temperature), got {self.scaling!r}")
    if not isinstance(self.update_steps_max, int) or self.update_steps_max < 0:
      raise ValueError(f"update_steps_max: expected an int >= 0 (0 = single update), "
                       f"got {self.update_steps_max!r}")
    if not self.update_steps_eps >= 0:
      raise ValueError(f"update_steps_eps: expected a float >= 0, got {self.update_steps_eps!r}")
    if not (math.isfinite(self.layer_norm_eps) and self.layer_norm_eps > 0):
      raise ValueError(f"layer_norm_eps: expected a finite float > 0, got {self.layer_norm_eps!r}")
    if not 0.0 <= self.dropout < 1.0:
      raise ValueError(f"dropout: expected a rate in [0, 1), got {self.dropout!r}")


class Hopfield(_HopfieldConfig):
  """Association of state (query) patterns with stored (key) patterns: the Hopfield layer.

  Fields (sizes are totals over heads, like ``flax.linen.MultiHeadDotProductAttention``):
    num_heads: number of heads H; must divide ``hidden_size`` and the value size.
    hidden_size: association dim (queries/keys after projection); default the state feature dim Dq.
    pattern_size: value dim after projection; default ``hidden_size`` (or Dp when the projection is
      static).
    output_size: output feature dim; default Dq. With ``disable_out_projection`` the output is the
      concatenated heads, of size ``pattern_size``.
    scaling: β, a finite float > 0 (ValueError otherwise). None: ``1/sqrt(head_dim)``, or 1.0 when all
      patterns are static and the output projection is disabled (no learned map at all).
    update_steps_max: 0 = one update; k > 0 = up to k association-space updates before the read-out.
    update_steps_eps: a query stops iterating once an update moves it by less than this.
    normalize_stored_pattern / normalize_state_pattern / normalize_pattern_projection: LayerNorm on the
      raw inputs (each its own parameters); ``normalize_affine`` gives them scale and bias.
    stored_pattern_as_static / state_pattern_as_static / pattern_projection_as_static: identity instead
      of a learned projection (then the feature dim must equal the association / value dim).
    disable_out_projection: no output projection.
    dropout: dropout rate on the association matrix (``dropout`` RNG stream).
    use_bias: biases in the projections.
    kernel_init / bias_init: initialisers of the projections (official layer: N(0, 0.02²) and 0).
    dtype: compute dtype (None: promote inputs and params); softmax and LayerNorm run in float32.
    param_dtype: parameter dtype.
  """

  @property
  def static_execution(self) -> bool:
    """No learned map anywhere (the official layer's "static execution"): then β defaults to 1."""
    return (self.stored_pattern_as_static and self.state_pattern_as_static
            and self.pattern_projection_as_static and self.disable_out_projection)

  def resolve_sizes(self, stored_dim: int, state_dim: int, projection_dim: int) -> HopfieldSizes:
    """Resolves default sizes and β for the given input feature dims, validating the fields.

    Raises:
      ValueError: naming the field or argument whose value is inconsistent.
    """
    self._check_fields()
    h = self.num_heads
    hidden = self.hidden_size if self.hidden_size is not None else state_dim
    if self.stored_pattern_as_static and stored_dim != hidden:
      raise ValueError(f"stored_pattern: with stored_pattern_as_static=True the feature dim must equal "
                       f"the association dim (hidden_size or the state feature dim) {hidden}, "
                       f"got {stored_dim}")
    if self.state_pattern_as_static and state_dim != hidden:
      raise ValueError(f"state_pattern: with state_pattern_as_static=True the feature dim must equal "
                       f"hidden_size {hidden}, got {state_dim}")
    if hidden % h:
      raise ValueError(f"num_heads: expected a divisor of the association dim (hidden_size) {hidden}, "
                       f"got {h}")
    if self.pattern_projection_as_static:
      pattern = self.pattern_size if self.pattern_size is not None else projection_dim
      if projection_dim != pattern:
        raise ValueError(f"pattern_projection: with pattern_projection_as_static=True the feature dim "
                         f"must equal pattern_size {pattern}, got {projection_dim}")
    else:
      pattern = self.pattern_size if self.pattern_size is not None else hidden
    if pattern % h:
      raise ValueError(f"num_heads: expected a divisor of the value dim (pattern_size) {pattern}, "
                       f"got {h}")
    if self.disable_out_projection:
      if self.output_size is not None and self.output_size != pattern:
        raise ValueError(f"output_size: with disable_out_projection=True expected None or the value dim "
                         f"(pattern_size) {pattern}, got {self.output_size}")
      output = pattern
    else:
      output = self.output_size if self.output_size is not None else state_dim
    head_dim = hidden // h
    if self.scaling is not None:
      beta = float(self.scaling)
    elif self.static_execution:
      beta = 1.0
    else:
      beta = 1.0 / math.sqrt(head_dim)
    return HopfieldSizes(hidden=hidden, head_dim=head_dim, pattern=pattern,
                         pattern_head_dim=pattern // h, output=output, beta=beta)

  def _check_inputs(self, stored: Array, state: Array, projection: Array | None,
                    mask: Array | None) -> None:
    if jnp.ndim(stored) != 3:
      raise ValueError(f"stored_pattern: expected rank 3 [B, N, D], got shape {_shape_str(stored)}")
    if jnp.ndim(state) != 3:
      raise ValueError(f"state_pattern: expected rank 3 [B, Q, D], got shape {_shape_str(state)}")
    b, n = stored.shape[0], stored.shape[1]
    if n == 0:
      raise ValueError(f"stored_pattern: expected at least one stored pattern (N >= 1), got shape "
                       f"{_shape_str(stored)}; pass key_padding_mask=False for a row with no real element")
    if state.shape[0] != b:
      raise ValueError(f"state_pattern: expected batch size {b} (from stored_pattern), "
                       f"got shape {_shape_str(state)}")
    if projection is not None:
      if jnp.ndim(projection) != 3 or projection.shape[:2] != (b, n):
        raise ValueError(f"pattern_projection: expected shape ({b}, {n}, Dp) [B, N, Dp] (B, N from "
                         f"stored_pattern), got shape {_shape_str(projection)}")
    if mask is not None:
      if tuple(jnp.shape(mask)) != (b, n):
        raise ValueError(f"key_padding_mask: expected shape ({b}, {n}) [B, N] (from stored_pattern), "
                         f"got shape {_shape_str(mask)}")
      if jnp.result_type(mask) != jnp.bool_:
        raise TypeError(f"key_padding_mask: expected dtype bool (True = real element), "
                        f"got {jnp.result_type(mask)}")
    for name, x in (("stored_pattern", stored), ("state_pattern", state),
                    ("pattern_projection", projection)):
      if x is not None and not jnp.issubdtype(jnp.result_type(x), jnp.inexact):
        raise TypeError(f"{name}: expected a floating dtype, got {jnp.result_type(x)}")

  @nn.compact
  def __call__(self, stored_pattern: Array, state_pattern: Array,
               pattern_projection: Array | None = None, *, key_padding_mask: Array | None = None,
               deterministic: bool = True) -> Array:
    """Associates each state pattern with the stored patterns.

    Args:
      stored_pattern: ``[B, N, Ds]`` stored (key) patterns Y.
      state_pattern: ``[B, Q, Dq]`` state (query) patterns R.
      pattern_projection: ``[B, N, Dp]`` patterns read out (values); default ``stored_pattern`` (it still
        goes through its own LayerNorm and projection).
      key_padding_mask: ``[B, N]`` bool, ``True`` = real element; False elements get exactly zero weight.
        A query with no real element reads out zeros (before the output projection).
      deterministic: disables dropout when True.

    Returns:
      ``[B, Q, output_size]``.

    Raises:
      ValueError / TypeError: naming the field or argument: ranks, batch / N mismatches, an empty set
        (``N = 0``; mask a row instead), mask shape or dtype, ``scaling`` not a finite β > 0, ...
    """
    self._check_inputs(stored_pattern, state_pattern, pattern_projection, key_padding_mask)
    projection = stored_pattern if pattern_projection is None else pattern_projection
    if key_padding_mask is not None:  # padding never reaches the arithmetic (NaN/inf-safe, also in grad)
      keep = key_padding_mask[..., None]
      stored_pattern = jnp.where(keep, stored_pattern, jnp.zeros((), stored_pattern.dtype))
      projection = jnp.where(keep, projection, jnp.zeros((), projection.dtype))
    sizes = self.resolve_sizes(stored_pattern.shape[-1], state_pattern.shape[-1],
                               projection.shape[-1])
    dt = (self.dtype if self.dtype is not None else
          jnp.result_type(stored_pattern, state_pattern, projection, self.param_dtype))
    acc = jnp.promote_types(dt, jnp.float32)
    b, n, q_len, h = stored_pattern.shape[0], stored_pattern.shape[1], state_pattern.shape[1], \
        self.num_heads

    def norm(x: Array, enabled: bool, name: str) -> Array:
      if not enabled:
        return x.astype(dt)
      y = nn.LayerNorm(epsilon=self.layer_norm_eps, dtype=acc, param_dtype=self.param_dtype,
                       use_bias=self.normalize_affine, use_scale=self.normalize_affine,
                       name=name)(x.astype(acc))
      return y.astype(dt)

    def project(x: Array, static: bool, features: int, name: str) -> Array:
      if static:
        return x
      return nn.Dense(features, use_bias=self.use_bias, dtype=dt, param_dtype=self.param_dtype,
                      kernel_init=self.kernel_init, bias_init=self.bias_init, name=name)(x)

    def heads(x: Array) -> Array:  # [B, L, H * d] -> [B, H, L, d]
      return x.reshape(x.shape[0], x.shape[1], h, x.shape[2] // h).transpose(0, 2, 1, 3)

    k = heads(project(norm(stored_pattern, self.normalize_stored_pattern, "norm_stored_pattern"),
                      self.stored_pattern_as_static, sizes.hidden, "stored_pattern_proj"))
    q = heads(project(norm(state_pattern, self.normalize_state_pattern, "norm_state_pattern"),
                      self.state_pattern_as_static, sizes.hidden, "state_pattern_proj"))
    v = heads(project(norm(projection, self.normalize_pattern_projection,
                           "norm_pattern_projection"),
                      self.pattern_projection_as_static, sizes.pattern, "pattern_projection_proj"))
    mask = None
    if key_padding_mask is not None:
      mask = jnp.broadcast_to(key_padding_mask[:, None, :], (b, h, n))

    if self.update_steps_max > 0:
      q, steps, energies = F._scan_iterate(q, k, sizes.beta, self.update_steps_max,
                                           self.update_steps_eps, mask, with_energy=True)
      self.sow("intermediates", "num_steps", steps)
      self.sow("intermediates", "energy", energies)

    assoc = F._association(q, k, sizes.beta, mask)  # [B, H, Q, N], float32
    self.sow("intermediates", "association", assoc)
    assoc = nn.Dropout(rate=self.dropout)(assoc, deterministic=deterministic)
    out = jnp.einsum("bhqn,bhnp->bqhp", assoc.astype(dt), v)
    out = out.reshape(b, q_len, sizes.pattern)
    if not self.disable_out_projection:
      out = nn.Dense(sizes.output, use_bias=self.use_bias, dtype=dt, param_dtype=self.param_dtype,
                     kernel_init=self.kernel_init, bias_init=self.bias_init, name="out_proj")(out)
    return out


class HopfieldPooling(_HopfieldConfig):
  """Pools a set with ``quantity`` learned state patterns (the paper's ``HopfieldPooling``).

  The inputs are the stored patterns and the pattern projections; the state pattern is the parameter
  ``pooling_weights: (quantity, Dq)`` initialised N(0, 0.02²), with ``Dq = D`` (projected state) or the
  association dim (``state_pattern_as_static``). Permutation invariant over the set. Fields as
  :class:`Hopfield`; ``output_size`` defaults to the input feature dim D.

  Attributes:
    quantity: number of pooled vectors (learned state patterns).
    init_std: standard deviation of the state-pattern initialisation.
  """
  quantity: int = 1
  init_std: float = 0.02

  @nn.compact
  def __call__(self, inputs: Array, *, key_padding_mask: Array | None = None,
               deterministic: bool = True) -> Array:
    """Pools the set.

    Args:
      inputs: ``[B, N, D]`` set elements (stored patterns and pattern projections).
      key_padding_mask: ``[B, N]`` bool, ``True`` = real element.
      deterministic: disables dropout when True.

    Returns:
      ``[B, quantity, output_size]`` (output_size default D).
    """
    if jnp.ndim(inputs) != 3:
      raise ValueError(f"inputs: expected rank 3 [B, N, D], got shape {_shape_str(inputs)}")
    if inputs.shape[1] == 0:
      raise ValueError(f"inputs: expected a set of at least one element (N >= 1), got shape "
                       f"{_shape_str(inputs)}; mask a row with key_padding_mask instead")
    if not isinstance(self.quantity, int) or self.quantity <= 0:
      raise ValueError(f"quantity: expected an int > 0, got {self.quantity!r}")
    _check_init_std(self.init_std)
    d = inputs.shape[-1]
    state_dim = (self.hidden_size if (self.state_pattern_as_static and self.hidden_size is not None)
                 else d)
    w = self.param("pooling_weights", nn.initializers.normal(self.init_std),
                   (self.quantity, state_dim), self.param_dtype)
    state = jnp.broadcast_to(w[None], (inputs.shape[0], self.quantity, state_dim))
    out_size = self.output_size if self.output_size is not None else (
        None if self.disable_out_projection else d)
    hopfield = Hopfield(**self._hopfield_kwargs(output_size=out_size), name="hopfield")
    return hopfield(inputs, state, inputs, key_padding_mask=key_padding_mask,
                    deterministic=deterministic)


class HopfieldLayer(_HopfieldConfig):
  """Learned stored patterns as a lookup / prototype memory (the paper's ``HopfieldLayer``).

  The inputs are the state patterns; the stored patterns are the parameter
  ``lookup_weights: (quantity, Ds)`` initialised N(0, 0.02²), ``Ds = D`` (or ``hidden_size`` when
  ``stored_pattern_as_static``). The pattern projections are the same ``lookup_weights``, or, with
  ``lookup_weights_as_separated``, a separate learned ``target_weights: (quantity, Dp)`` (``Dp = D``, or
  ``pattern_size`` when ``pattern_projection_as_static``). Fields as :class:`Hopfield`.

  Attributes:
    quantity: number of stored (prototype) patterns.
    lookup_weights_as_separated: separate learned targets as the pattern projection.
    init_std: standard deviation of the initialisation of the learned patterns.
  """
  quantity: int = 1
  lookup_weights_as_separated: bool = False
  init_std: float = 0.02

  @nn.compact
  def __call__(self, inputs: Array, *, deterministic: bool = True) -> Array:
    """Looks the inputs up in the learned memory.

    Args:
      inputs: ``[B, T, D]`` state patterns.
      deterministic: disables dropout when True.

    Returns:
      ``[B, T, output_size]`` (output_size default D).
    """
    if jnp.ndim(inputs) != 3:
      raise ValueError(f"inputs: expected rank 3 [B, T, D], got shape {_shape_str(inputs)}")
    if not isinstance(self.quantity, int) or self.quantity <= 0:
      raise ValueError(f"quantity: expected an int > 0, got {self.quantity!r}")
    _check_init_std(self.init_std)
    b, d = inputs.shape[0], inputs.shape[-1]
    ds = self.hidden_size if (self.stored_pattern_as_static and self.hidden_size is not None) else d
    init = nn.initializers.normal(self.init_std)
    lookup = self.param("lookup_weights", init, (self.quantity, ds), self.param_dtype)
    stored = jnp.broadcast_to(lookup[None], (b, self.quantity, ds))
    projection = None
    if self.lookup_weights_as_separated:
      dp = (self.pattern_size if (self.pattern_projection_as_static and self.pattern_size is not None)
            else d)
      targets = self.param("target_weights", init, (self.quantity, dp), self.param_dtype)
      projection = jnp.broadcast_to(targets[None], (b, self.quantity, dp))
    hopfield = Hopfield(**self._hopfield_kwargs(), name="hopfield")
    return hopfield(stored, inputs, projection, deterministic=deterministic)
