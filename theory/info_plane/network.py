"""The network of Shwartz-Ziv & Tishby (2017) and its training simulator.

12-10-7-5-4-3-2 fully connected, tanh (or ReLU) hidden layers, 2-way softmax output, cross-entropy; weights from a
normal with std 1/sqrt(fan_in) truncated at 2 std (the reference code's ``tf.truncated_normal``), zero biases.
Training is one jitted program: an outer ``lax.scan`` over the snapshot epochs and an inner ``lax.fori_loop`` over
the epochs between two snapshots; an epoch is a random permutation of the training rows cut into
ceil(n_train / batch) minibatches (the last one wraps around to the start of the permutation), each an SGD or
Adam step. At every snapshot the parameters are stored (the layers' activations at that epoch are
``layer_outputs(params, x)``: storing ~300 parameters instead of 4096 x 31 activations) together with the
per-layer statistics of that epoch's minibatch weight gradients g_b: ``grad_mean = |mean_b g_b|``,
``grad_std = sqrt(trace Cov_b g_b)`` (population covariance over the epoch's batches) and the weight norm.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jax.flatten_util import ravel_pytree

from kernels.common.checks import check_key

_PKG = "theory.info_plane"
WIDTHS = (12, 10, 7, 5, 4, 3, 2)
ACTIVATIONS = ("tanh", "relu")
OPTIMIZERS = ("sgd", "adam")
ADAM_B1, ADAM_B2, ADAM_EPS = 0.9, 0.999, 1e-8      # TF1 AdamOptimizer defaults (the reference code)


def _check_widths(widths, fn):
  w = tuple(widths)
  if len(w) < 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in w):
    raise ValueError(f"{fn}: widths must be >= 2 positive ints (input, hidden..., output), got {widths!r}")
  if w[-1] != 2:
    raise ValueError(f"{fn}: widths must end with the 2-way softmax output, got {widths!r}")
  return w


def _check_activation(activation, fn):
  if activation not in ACTIVATIONS:
    raise ValueError(f"{fn}: activation must be one of {ACTIVATIONS}, got {activation!r}")


def init_network(key, widths: Sequence[int] = WIDTHS):
  """Parameters ``((W_1, b_1), ..., (W_L, b_L))`` with ``W_l: [widths[l-1], widths[l]]`` float32 ~ truncated
  normal (2 std) of std 1/sqrt(fan_in) and zero biases."""
  fn = f"{_PKG}.init_network"
  check_key(key, "key", fn)
  w = _check_widths(widths, fn)
  sizes = [a * b for a, b in zip(w[:-1], w[1:])]
  z = jax.random.truncated_normal(key, -2.0, 2.0, (sum(sizes),), jnp.float32)     # one draw, cut per layer
  offs = np.cumsum([0] + sizes)
  return tuple((z[o:o + a * b].reshape(a, b) / math.sqrt(a), jnp.zeros((b,), jnp.float32))
               for o, a, b in zip(offs[:-1], w[:-1], w[1:]))


def _act(activation):
  return jnp.tanh if activation == "tanh" else jax.nn.relu


def logits(params, x, activation: str = "tanh") -> jax.Array:
  """Output logits [N, 2] of ``x: [N, 12]``."""
  _check_activation(activation, f"{_PKG}.logits")
  f = _act(activation)
  h = x
  for w, b in params[:-1]:
    h = f(h @ w + b)
  w, b = params[-1]
  return h @ w + b


def layer_outputs(params, x, activation: str = "tanh") -> tuple[jax.Array, ...]:
  """The layers T_1..T_L the information plane tracks: every hidden activation [N, width_l] and the softmax output
  probabilities [N, 2]."""
  _check_activation(activation, f"{_PKG}.layer_outputs")
  f = _act(activation)
  out, h = [], x
  for w, b in params[:-1]:
    h = f(h @ w + b)
    out.append(h)
  w, b = params[-1]
  out.append(jax.nn.softmax(h @ w + b, axis=-1))
  return tuple(out)


def cross_entropy(params, x, y, activation: str = "tanh") -> jax.Array:
  """Mean cross-entropy (nats) of the softmax output against integer labels ``y: [N]`` in {0, 1}."""
  lg = logits(params, x, activation)
  return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(lg, axis=-1), y[:, None].astype(jnp.int32), 1))


def log_epochs(total: int, n: int) -> np.ndarray:
  """About ``n`` distinct integer epochs log-spaced on [1, total] (always including 1 and ``total``)."""
  fn = f"{_PKG}.log_epochs"
  if isinstance(total, bool) or not isinstance(total, (int, np.integer)) or total < 1:
    raise ValueError(f"{fn}: total must be an int >= 1, got {total!r}")
  if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
    raise ValueError(f"{fn}: n must be an int >= 1, got {n!r}")
  return np.unique(np.round(np.geomspace(1, total, n)).astype(np.int64))


class Trajectory(NamedTuple):
  """One training run's snapshots at ``epochs: [S]``: ``params`` (every leaf with a leading [S] axis),
  ``grad_mean, grad_std, weight_norm: [S, L]`` of the last epoch before each snapshot, ``train_loss: [S]`` the
  mean minibatch loss of that epoch."""
  epochs: jax.Array
  params: tuple
  grad_mean: jax.Array
  grad_std: jax.Array
  weight_norm: jax.Array
  train_loss: jax.Array


def _check_train_args(activation, optimizer, lr, batch_size, epochs, fn):
  _check_activation(activation, fn)
  if optimizer not in OPTIMIZERS:
    raise ValueError(f"{fn}: optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
  if not isinstance(lr, (float, int)) or isinstance(lr, bool) or not lr > 0 or not math.isfinite(lr):
    raise ValueError(f"{fn}: lr must be a finite float > 0, got {lr!r}")
  if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
    raise ValueError(f"{fn}: batch_size must be an int >= 1, got {batch_size!r}")
  e = np.asarray(epochs)
  if e.ndim != 1 or e.size < 1 or not np.issubdtype(e.dtype, np.integer) or e[0] < 1 or np.any(np.diff(e) <= 0):
    raise ValueError(f"{fn}: epochs must be a strictly increasing 1-d int array of snapshot epochs >= 1, got {epochs!r}")
  return tuple(int(v) for v in e)


class Hyper(NamedTuple):
  """Traced training settings (so one compiled program serves every activation, optimizer, lr and snapshot
  grid of the same shapes): ``relu`` and ``adam`` are bool scalars, ``lr`` a float32 scalar, ``epochs: [S]``."""
  relu: jax.Array
  adam: jax.Array
  lr: jax.Array
  epochs: jax.Array


def hyper(activation: str, optimizer: str, lr: float, epochs) -> Hyper:
  """The :class:`Hyper` of string settings (validated by the callers)."""
  return Hyper(jnp.asarray(activation == "relu"), jnp.asarray(optimizer == "adam"), jnp.asarray(lr, jnp.float32),
               jnp.asarray(np.asarray(epochs), jnp.int32))


def _mixed_logits(params, x, relu):
  h = x
  for w, b in params[:-1]:
    z = h @ w + b
    h = jnp.where(relu, jax.nn.relu(z), jnp.tanh(z))
  w, b = params[-1]
  return h @ w + b


def _mixed_loss(params, x, y, relu):
  lg = _mixed_logits(params, x, relu)
  return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(lg, axis=-1), y[:, None], 1))


def train_run(key, params, mask, hp: Hyper, x, y, n_train: int, batch_size: int):
  """The training simulator (pure, jit/vmap-able over every array argument; ``n_train`` and ``batch_size``
  static): trains ``params`` on the rows of ``x: [N, 12]``, ``y: [N]`` int32 selected by ``mask: [N]`` (exactly
  ``n_train`` True) and returns the :class:`Trajectory` at ``hp.epochs``."""
  nb = -(-int(n_train) // int(batch_size))
  flat0, unravel = ravel_pytree(params)
  layer_id = np.concatenate([np.concatenate([np.full(int(np.size(w)), l), np.full(int(np.size(b)), len(params))])
                             for l, (w, b) in enumerate(params)])          # biases -> an extra, dropped segment
  L = len(params)
  seg = jnp.asarray(layer_id, jnp.int32)
  grad_fn = jax.value_and_grad(lambda f, xb, yb: _mixed_loss(unravel(f), xb, yb, hp.relu))
  idx_train = jnp.argsort(jnp.logical_not(mask), stable=True)[:n_train]     # the training rows, in order
  per_layer = lambda v: jax.ops.segment_sum(v, seg, num_segments=L + 1)[:L]

  def epoch(e, carry):
    f, m, v, t, _ = carry
    u = jax.random.uniform(jax.random.fold_in(key, e), (n_train,))
    perm = idx_train[jnp.argsort(u)]
    bidx = perm[jnp.arange(nb * batch_size) % n_train].reshape(nb, batch_size)

    def step(c, bi):
      f, m, v, t, s1, s2, ls = c
      loss, g = grad_fn(f, x[bi], y[bi])
      t = t + 1
      m = ADAM_B1 * m + (1 - ADAM_B1) * g
      v = ADAM_B2 * v + (1 - ADAM_B2) * g * g
      tf = t.astype(jnp.float32)
      size = hp.lr * jnp.sqrt(1 - ADAM_B2 ** tf) / (1 - ADAM_B1 ** tf)      # TF1's bias-corrected step size
      f = jnp.where(hp.adam, f - size * m / (jnp.sqrt(v) + ADAM_EPS), f - hp.lr * g)
      return (f, m, v, t, s1 + g, s2 + per_layer(g * g), ls + loss), None

    z = jnp.zeros_like(f)
    (f, m, v, t, s1, s2, ls), _ = jax.lax.scan(step, (f, m, v, t, z, jnp.zeros((L,), f.dtype),
                                                      jnp.zeros((), f.dtype)), bidx)
    mean_sq = per_layer((s1 / nb) ** 2)
    stats = (jnp.sqrt(mean_sq), jnp.sqrt(jnp.maximum(s2 / nb - mean_sq, 0.0)), ls / nb)
    return f, m, v, t, stats

  def snap(carry, e_next):
    f, m, v, t, e_now, stats = carry
    f, m, v, t, stats = jax.lax.fori_loop(e_now, e_next, epoch, (f, m, v, t, stats))
    p = unravel(f)
    wn = jnp.stack([jnp.linalg.norm(w) for w, _ in p])
    return (f, m, v, t, e_next, stats), (p, stats[0], stats[1], wn, stats[2])

  zl = jnp.zeros((L,), flat0.dtype)
  z0 = jnp.zeros_like(flat0)
  init = (flat0, z0, z0, jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32), (zl, zl, jnp.zeros((), flat0.dtype)))
  _, (ps, gm, gs, wn, tl) = jax.lax.scan(snap, init, hp.epochs)
  return Trajectory(hp.epochs, ps, gm, gs, wn, tl)


def make_trainer(x, y, n_train: int, *, activation: str, optimizer: str, lr: float, batch_size: int, epochs):
  """A pure function ``run(key, params, mask) -> Trajectory`` (jit/vmap-able over key, params, mask) training on
  the rows of ``x: [N, 12]``, ``y: [N]`` where the boolean ``mask: [N]`` (with exactly ``n_train`` True) is set:
  :func:`train_run` with these settings bound."""
  fn = f"{_PKG}.make_trainer"
  ep = _check_train_args(activation, optimizer, lr, batch_size, epochs, fn)
  if isinstance(n_train, bool) or not isinstance(n_train, (int, np.integer)) or not 1 <= n_train <= np.shape(x)[0]:
    raise ValueError(f"{fn}: n_train must be an int in [1, {np.shape(x)[0]}], got {n_train!r}")
  xj = jnp.asarray(x, jnp.float32)
  yj = jnp.asarray(y, jnp.int32)
  hp = hyper(activation, optimizer, lr, ep)
  return lambda key, params, mask: train_run(key, params, mask, hp, xj, yj, int(n_train), int(batch_size))
