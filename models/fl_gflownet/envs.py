"""The two environments of paper 22 (Pan, Malkin, Zhang & Bengio, "Better Training of GFlowNets with Local
Credit and Incomplete Trajectories", ICML 2023, arXiv:2302.01687): set generation and the hypergrid.

Both are graded DAGs with an energy defined on every state, so the forward-looking reparameterisation
F(s) = F̃(s) exp(−E(s)) applies. An environment is a ``flax.struct`` dataclass (the energies are a pytree leaf,
so a jitted function can be vmapped over environments of one shape) with jnp methods on one state (vmap
for a batch):

* ``init_state()``, ``step(s, a)``, ``forward_mask(s) -> [A]``, ``backward_mask(s) -> [A]`` (the actions that
  lead *into* ``s`` from its parents, indexed like the forward actions), ``is_terminal(s)``, ``energy(s)``,
  ``obs(s) -> [F]`` (the policy's input);
* ``enumerate()``: every reachable state as an :class:`Enumeration` (host numpy, for the exact DP of
  :mod:`models.fl_gflownet.exact`; sizes are bounded, see each class).

States are int32 vectors of ``state_dim``; ``num_steps`` bounds the number of transitions of a complete
trajectory (``max_steps`` in the trajectory arrays).
"""
from __future__ import annotations

import itertools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

_PKG = "models.fl_gflownet"
MAX_ENUMERATED_STATES = 1 << 20


class Enumeration(NamedTuple):
  """Every reachable state of an environment (host numpy arrays; ``S`` states, ``A`` actions).

  Attributes:
    states: ``[S, state_dim]`` int32; row 0 is the initial state.
    obs: ``[S, F]`` float32 policy inputs.
    forward_mask: ``[S, A]`` bool, the valid forward actions (all False at terminal states).
    backward_mask: ``[S, A]`` bool, the actions by which a parent reaches the state.
    child: ``[S, A]`` int32, the index of ``step(s, a)``, ``S`` (one past the end) where ``a`` is invalid.
    terminal: ``[S]`` bool.
    energy: ``[S]`` float64, E(s); log R(x) = −E(x) at terminal x.
    num_steps: the longest trajectory (transitions).
  """
  states: np.ndarray
  obs: np.ndarray
  forward_mask: np.ndarray
  backward_mask: np.ndarray
  child: np.ndarray
  terminal: np.ndarray
  energy: np.ndarray
  num_steps: int


def _check_int(fn: str, name: str, v, lo: int) -> None:
  if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
    raise ValueError(f"{fn}: {name}: expected an int >= {lo}, got {v!r}")


@struct.dataclass
class SetEnv:
  """Set generation: add one unused element of a universe U (``|U| = size``) per step until ``set_size``
  elements are chosen (no stop action; every complete trajectory has ``set_size`` transitions).

  E(S) = Σ_{i∈S} e_i with fixed per-element energies ``energies: [size]``; R(S) = exp(−E(S)), and the
  transition S → S ∪ {a} has the intermediate reward exp(−e_a) (official ``set/gflownet.py``). The state and
  the policy input are the 0/1 membership vector. P_B of a state with ``m`` elements removes one of them
  (``m`` parents).

  Build with :func:`set_env` (checks the arguments). ``enumerate()`` lists the Σ_{j<=set_size} C(size, j)
  reachable sets (``size <= 20``).
  """
  energies: jax.Array
  size: int = struct.field(pytree_node=False, default=12)
  set_size: int = struct.field(pytree_node=False, default=6)

  @property
  def num_actions(self) -> int:
    return self.size

  @property
  def state_dim(self) -> int:
    return self.size

  @property
  def obs_dim(self) -> int:
    return self.size

  @property
  def num_steps(self) -> int:
    return self.set_size

  def init_state(self) -> jax.Array:
    return jnp.zeros((self.size,), jnp.int32)

  def step(self, s: jax.Array, a: jax.Array) -> jax.Array:
    return s.at[a].set(1)

  def forward_mask(self, s: jax.Array) -> jax.Array:
    return (s == 0) & (jnp.sum(s) < self.set_size)

  def backward_mask(self, s: jax.Array) -> jax.Array:
    return s == 1

  def is_terminal(self, s: jax.Array) -> jax.Array:
    return jnp.sum(s) == self.set_size

  def energy(self, s: jax.Array) -> jax.Array:
    e = jnp.asarray(self.energies)
    return jnp.sum(s.astype(e.dtype) * e)

  def obs(self, s: jax.Array) -> jax.Array:
    return s.astype(jnp.float32)

  def enumerate(self) -> Enumeration:
    n, k = self.size, self.set_size
    if n > 20:
      raise ValueError(f"{_PKG}.SetEnv.enumerate: size: expected <= 20 for exact enumeration, got {n}")
    masks = np.arange(1 << n, dtype=np.int64)
    pop = np.array([bin(m).count("1") for m in range(1 << n)])
    keep = masks[pop <= k]
    keep = keep[np.argsort(pop[keep], kind="stable")]       # graded: level by level, root first
    index = np.full(1 << n, -1, np.int64)
    index[keep] = np.arange(keep.size)
    bits = ((keep[:, None] >> np.arange(n)[None, :]) & 1).astype(np.int32)
    lvl = bits.sum(1)
    fmask = (bits == 0) & (lvl[:, None] < k)
    child_mask = keep[:, None] | (1 << np.arange(n))[None, :]
    child = np.where(fmask, index[np.where(fmask, child_mask, 0)], keep.size).astype(np.int32)
    e = np.asarray(self.energies, np.float64)
    return Enumeration(states=bits, obs=bits.astype(np.float32), forward_mask=fmask, backward_mask=bits == 1,
                       child=child, terminal=lvl == k, energy=bits @ e, num_steps=k)


def set_env(energies, set_size: int) -> SetEnv:
  """A :class:`SetEnv` with per-element ``energies: [|U|]`` (finite) choosing ``set_size`` elements."""
  fn = f"{_PKG}.set_env"
  e = np.asarray(energies)
  if e.ndim != 1 or e.size < 1:
    raise ValueError(f"{fn}: energies: expected a non-empty vector [|U|], got shape {e.shape}")
  if not np.issubdtype(e.dtype, np.number) or not np.all(np.isfinite(e)):
    raise ValueError(f"{fn}: energies: expected finite numbers (rewards exp(-e) > 0), got {e!r}")
  _check_int(fn, "set_size", set_size, 1)
  if set_size > e.size:
    raise ValueError(f"{fn}: set_size: expected |S| <= |U| = {e.size}, got {set_size}")
  return SetEnv(energies=jnp.asarray(e, jnp.float32) if e.dtype != np.float64 else jnp.asarray(e),
                size=int(e.size), set_size=int(set_size))


def random_set_energies(key: jax.Array, size: int, kappa: float) -> jax.Array:
  """e_i ~ U(−1, 1) · κ, i = 1..size (the notes' small set environment; float32)."""
  fn = f"{_PKG}.random_set_energies"
  _check_int(fn, "size", size, 1)
  if isinstance(kappa, bool) or not isinstance(kappa, (int, float)) or not math.isfinite(kappa) or kappa < 0:
    raise ValueError(f"{fn}: kappa: expected a finite float >= 0, got {kappa!r}")
  return kappa * jax.random.uniform(key, (size,), jnp.float32, -1.0, 1.0)


@struct.dataclass
class HyperGrid:
  """The D-dimensional hypergrid {0..H−1}^D (Bengio et al. 2021): from the origin, increment one coordinate
  (actions ``0..D−1``) or stop (action ``D``), which moves x to its terminal copy x⊤.

  R(x) = R0 + 0.5 ∏_d 1[|x_d/(H−1) − ½| ∈ (0.25, 0.5]] + 2 ∏_d 1[|x_d/(H−1) − ½| ∈ (0.3, 0.4)]. Every state can
  terminate, so the energy E(s) = −log R(x) is defined on the intermediate states too (E(x⊤) = E(x)).
  State: ``[D + 1]`` int32, the coordinates and a done flag; policy input: the one-hot coordinates
  ``[D·H]``. Parents of x (not done): x − e_d for x_d > 0; of x⊤: x (the stop action). ``enumerate()`` lists
  the 2·H^D states (grid states, then their terminal copies; ``H^D <= 2^19``).

  Build with :func:`hypergrid` (checks the arguments).
  """
  r0: float = struct.field(pytree_node=False, default=1e-3)
  height: int = struct.field(pytree_node=False, default=16)
  ndim: int = struct.field(pytree_node=False, default=2)

  @property
  def num_actions(self) -> int:
    return self.ndim + 1

  @property
  def state_dim(self) -> int:
    return self.ndim + 1

  @property
  def obs_dim(self) -> int:
    return self.ndim * self.height

  @property
  def num_steps(self) -> int:
    return self.ndim * (self.height - 1) + 1

  def init_state(self) -> jax.Array:
    return jnp.zeros((self.ndim + 1,), jnp.int32)

  def step(self, s: jax.Array, a: jax.Array) -> jax.Array:
    onehot = (jnp.arange(self.ndim + 1) == a).astype(jnp.int32)
    return s + onehot

  def forward_mask(self, s: jax.Array) -> jax.Array:
    live = s[-1] == 0
    return jnp.concatenate([(s[:-1] < self.height - 1) & live, live[None]])

  def backward_mask(self, s: jax.Array) -> jax.Array:
    done = s[-1] == 1
    return jnp.concatenate([(s[:-1] > 0) & ~done, done[None]])

  def is_terminal(self, s: jax.Array) -> jax.Array:
    return s[-1] == 1

  def log_reward(self, x: jax.Array) -> jax.Array:
    """log R of the coordinates ``x: [..., D]`` (the default float dtype: float64 under x64)."""
    dt = jnp.result_type(float)
    u = jnp.abs(x.astype(dt) / (self.height - 1) - 0.5)
    band1 = jnp.all((u > 0.25) & (u <= 0.5), axis=-1)
    band2 = jnp.all((u > 0.3) & (u < 0.4), axis=-1)
    return jnp.log(self.r0 + 0.5 * band1 + 2.0 * band2)

  def energy(self, s: jax.Array) -> jax.Array:
    return -self.log_reward(s[:-1])

  def obs(self, s: jax.Array) -> jax.Array:
    return jax.nn.one_hot(s[:-1], self.height, dtype=jnp.float32).reshape(-1)

  def enumerate(self) -> Enumeration:
    h, d = self.height, self.ndim
    n = h ** d
    if n > (1 << 19):
      raise ValueError(f"{_PKG}.HyperGrid.enumerate: expected H^D <= 2^19 states, got {h}^{d}")
    coords = np.array(list(itertools.product(range(h), repeat=d)), np.int64).reshape(n, d)
    flat = coords @ (h ** np.arange(d - 1, -1, -1))
    assert np.array_equal(flat, np.arange(n))
    states = np.concatenate([np.concatenate([coords, np.zeros((n, 1), np.int64)], 1),
                             np.concatenate([coords, np.ones((n, 1), np.int64)], 1)]).astype(np.int32)
    done = states[:, -1] == 1
    fmask = np.concatenate([(states[:, :-1] < h - 1) & ~done[:, None], ~done[:, None]], 1)
    bmask = np.concatenate([(states[:, :-1] > 0) & ~done[:, None], done[:, None]], 1)
    stride = h ** np.arange(d - 1, -1, -1)
    child = np.full((2 * n, d + 1), 2 * n, np.int64)
    idx = np.arange(2 * n)
    child[:, :d] = np.where(fmask[:, :d], idx[:, None] + stride[None, :], 2 * n)
    child[:, d] = np.where(fmask[:, d], idx + n, 2 * n)
    onehot = np.zeros((2 * n, d, h), np.float32)
    onehot[np.arange(2 * n)[:, None], np.arange(d)[None, :], states[:, :-1]] = 1.0
    u = np.abs(states[:, :-1] / (h - 1) - 0.5)
    r = self.r0 + 0.5 * np.all((u > 0.25) & (u <= 0.5), 1) + 2.0 * np.all((u > 0.3) & (u < 0.4), 1)
    return Enumeration(states=states, obs=onehot.reshape(2 * n, d * h), forward_mask=fmask, backward_mask=bmask,
                       child=child.astype(np.int32), terminal=done, energy=-np.log(r), num_steps=self.num_steps)


def hypergrid(height: int = 16, ndim: int = 2, r0: float = 1e-3) -> HyperGrid:
  """A :class:`HyperGrid` with side ``height >= 2``, ``ndim >= 1`` dimensions and reward floor ``r0 > 0``."""
  fn = f"{_PKG}.hypergrid"
  _check_int(fn, "height", height, 2)
  _check_int(fn, "ndim", ndim, 1)
  if isinstance(r0, bool) or not isinstance(r0, (int, float)) or not math.isfinite(r0) or r0 <= 0:
    raise ValueError(f"{fn}: r0: expected a finite reward floor > 0 (reward <= 0 has no energy), got {r0!r}")
  return HyperGrid(r0=float(r0), height=int(height), ndim=int(ndim))
