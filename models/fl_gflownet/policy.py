"""The GFlowNet policy network of paper 22 (Pan et al., ICML 2023, arXiv:2302.01687; official
``set/gflownet.py``): one MLP (``depth`` × ``hidden`` LeakyReLU layers) whose ``2A + 1`` outputs are the
forward logits, the backward logits and the log state flow (log F, or log F̃ for the forward-looking losses).

Invalid actions are masked with a large negative number (−1e9, not −inf: no NaN gradients) before the
log-softmax, so they get probability exactly 0 in float32/float64 whenever one action is valid. A row with no
valid action (forward at a terminal state, backward at the initial state) is returned as the uniform
log-probability −log A; the losses never read it.
"""
from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

_PKG = "models.fl_gflownet"
MASK_VALUE = -1e9


def masked_log_softmax(logits: jax.Array, mask: jax.Array) -> jax.Array:
  """log-softmax of ``logits: [..., A]`` over the actions where ``mask: [..., A]`` (bool) is True; masked
  entries get log-probability ≈ −1e9 (probability exactly 0). Computed in float32 or wider."""
  logits = jnp.asarray(logits)
  mask = jnp.asarray(mask)
  if mask.dtype != jnp.bool_:
    raise TypeError(f"{_PKG}.masked_log_softmax: mask: expected a bool array, got dtype {mask.dtype}")
  if logits.shape != mask.shape:
    raise ValueError(f"{_PKG}.masked_log_softmax: mask: expected the shape of logits {logits.shape}, got "
                     f"{mask.shape}")
  dt = jnp.promote_types(logits.dtype, jnp.float32)
  x = jnp.where(mask, logits.astype(dt), jnp.asarray(MASK_VALUE, dt))
  return jax.nn.log_softmax(x, axis=-1)


class GFNPolicy(nn.Module):
  """Forward policy, backward policy and log flow from a state's features.

  Attributes:
    num_actions: A.
    hidden: width of each hidden layer (official: 256).
    depth: number of hidden layers (official: 2).
    uniform_backward: P_B uniform over the parents (the backward logits are ignored; official ``rand_pb=1``).
    dtype: compute dtype (None: from the inputs); param_dtype: float32.

  ``__call__(obs: [..., F], forward_mask: [..., A], backward_mask: [..., A])`` returns
  ``(log_pf [..., A], log_pb [..., A], log_flow [...])`` (log-probabilities in float32 or wider).
  """
  num_actions: int
  hidden: int = 256
  depth: int = 2
  uniform_backward: bool = False
  dtype: Any = None
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, obs: jax.Array, forward_mask: jax.Array, backward_mask: jax.Array):
    a = self.num_actions
    for name, v in (("num_actions", a), ("hidden", self.hidden)):
      if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"{_PKG}.GFNPolicy: {name}: expected a positive int, got {v!r}")
    if isinstance(self.depth, bool) or not isinstance(self.depth, int) or self.depth < 0:
      raise ValueError(f"{_PKG}.GFNPolicy: depth: expected an int >= 0, got {self.depth!r}")
    obs = jnp.asarray(obs)
    if obs.ndim < 1:
      raise ValueError(f"{_PKG}.GFNPolicy: obs: expected [..., F], got shape {obs.shape}")
    want = obs.shape[:-1] + (a,)
    for name, m in (("forward_mask", forward_mask), ("backward_mask", backward_mask)):
      if jnp.shape(m) != want:
        raise ValueError(f"{_PKG}.GFNPolicy: {name}: expected shape {want}, got {jnp.shape(m)}")
    h = obs
    for i in range(self.depth):
      h = nn.Dense(self.hidden, dtype=self.dtype, param_dtype=self.param_dtype, name=f"hidden_{i}")(h)
      h = nn.leaky_relu(h, negative_slope=0.01)
    out = nn.Dense(2 * a + 1, dtype=self.dtype, param_dtype=self.param_dtype, name="head")(h)
    fwd, bwd, flow = out[..., :a], out[..., a:2 * a], out[..., 2 * a]
    if self.uniform_backward:
      bwd = jnp.zeros_like(bwd)
    log_pf = masked_log_softmax(fwd, jnp.asarray(forward_mask, bool))
    log_pb = masked_log_softmax(bwd, jnp.asarray(backward_mask, bool))
    return log_pf, log_pb, flow.astype(jnp.promote_types(flow.dtype, jnp.float32))
