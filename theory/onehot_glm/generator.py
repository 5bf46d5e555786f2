"""The synthetic HMM-GLM of the official demo notebook (paper-era ``deprecated/demo.ipynb``, per the notes).

Global prior pi_{n <- n'} ~ Dirichlet(c * (0.1, 0.8, 0.1)) over (inh, none, exc) (sparsity 1/5, half excitatory);
per state, A_s = hard argmax of a Gumbel-softmax(pi, 0.2) draw (an exact Categorical(pi) draw); strengths
log(1 + 3U); W_s = type * strength with an empty diagonal (no self-history, the paper-era convention); biases
0.1 (U - 1/2); a sticky chain with Pi_ii = 0.98 and (1 - 0.98)/(S - 1) elsewhere; p(z_1) uniform; Poisson spikes
from the GLM rate with strictly-past history.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import check_key, no_grad
from theory.onehot_glm._checks import check_int, check_positive, check_stochastic
from theory.onehot_glm.hmm import sample_states
from theory.onehot_glm.model import _check_basis, _link, check_link, exp_basis


class Truth(NamedTuple):
  """A ground-truth HMM-GLM.

  Attributes:
    W: [S, N, N] couplings (W[s, n, n'] = n' onto n); b: [N] biases; Pi: [S, S] transitions;
    types: int32 [S, N, N] in {-1 (inh), 0 (none), 1 (exc)}; prior: [N, N, 3] the global class probabilities.
  """
  W: jax.Array
  b: jax.Array
  Pi: jax.Array
  types: jax.Array
  prior: jax.Array


def sticky_transitions(n_states: int, stay: float = 0.98) -> np.ndarray:
  """[S, S] float64: ``stay`` on the diagonal, (1 - stay)/(S - 1) elsewhere ([[1]] for S = 1)."""
  s = check_int(n_states, "n_states", "sticky_transitions")
  if isinstance(stay, bool) or not isinstance(stay, (int, float, np.number)) or not 0 < stay <= 1:
    raise ValueError(f"sticky_transitions: stay: expected a probability in (0, 1], got {stay!r}")
  if s == 1:
    return np.ones((1, 1))
  return np.where(np.eye(s, dtype=bool), stay, (1 - stay) / (s - 1))


def make_truth(key, n_states: int = 5, n_neurons: int = 20, *, concentration: float = 2.0,
               base=(0.1, 0.8, 0.1), strength_scale: float = 3.0, bias_scale: float = 0.1,
               stay: float = 0.98) -> Truth:
  """Draws a ground truth as in the notes' generator (defaults: S = 5, N = 20, Dirichlet(2 (0.1, 0.8, 0.1)))."""
  fn = "make_truth"
  check_key(key, "key", fn)
  s = check_int(n_states, "n_states", fn)
  n = check_int(n_neurons, "n_neurons", fn)
  concentration = check_positive(concentration, "concentration", fn)
  strength_scale = check_positive(strength_scale, "strength_scale", fn)
  if isinstance(bias_scale, bool) or not isinstance(bias_scale, (int, float, np.number)) or not bias_scale >= 0:
    raise ValueError(f"{fn}: bias_scale: expected a number >= 0, got {bias_scale!r}")
  base = np.asarray(base, np.float64)
  if base.shape != (3,) or np.any(~(base > 0)):
    raise ValueError(f"{fn}: base: expected 3 positive class weights (inh, none, exc), got {base!r}")
  Pi = sticky_transitions(s, stay)
  W, b, types, prior = _draw_truth(key, s, n, jnp.asarray(concentration * base, jnp.float32),
                                   jnp.float32(strength_scale), jnp.float32(bias_scale))
  return Truth(W, b, jnp.asarray(Pi, jnp.float32), types, prior)


@functools.partial(jax.jit, static_argnums=(1, 2))
def _draw_truth(key, s, n, alpha, strength_scale, bias_scale):
  """make_truth's draws as one compiled program (op by op, the Dirichlet's gamma sampler alone compiles many)."""
  kp, ka, ks, kb = jax.random.split(key, 4)
  prior = jax.random.dirichlet(kp, alpha, (n, n))
  eye = jnp.eye(n, dtype=bool)
  prior = jnp.where(eye[..., None], jnp.array([0.0, 1.0, 0.0]), prior)
  g = jax.random.gumbel(ka, (s, n, n, 3))
  cls = jnp.argmax(jnp.log(jnp.maximum(prior, 1e-30))[None] + g, axis=-1)   # = argmax of the relaxed draw
  types = jnp.where(eye[None], 0, cls - 1).astype(jnp.int32)
  strength = jnp.log1p(strength_scale * jax.random.uniform(ks, (s, n, n)))
  W = types * strength
  b = bias_scale * (jax.random.uniform(kb, (n,)) - 0.5)
  return W, b, types, prior


def _simulate_spikes(key, z, W, b, basis, link):
  """z: [T] states -> x: [T, N] Poisson counts with the strictly-past history."""
  k_win, n = basis.shape[0], W.shape[-1]

  def step(past, inp):
    zt, kt = inp
    h = basis @ past                              # past[0] = x_{t-1}
    f, _ = _link(b + W[zt] @ h, link)
    x = jax.random.poisson(kt, f).astype(W.dtype)
    return jnp.concatenate([x[None], past[:-1]], axis=0), x
  keys = jax.random.split(key, z.shape[0])
  _, xs = jax.lax.scan(step, jnp.zeros((k_win, n), W.dtype), (z, keys))
  return xs


def simulate(key, truth: Truth, n_bins: int, n_seq: int = 1, basis=None, link: str = "sigmoid"):
  """Samples ``n_seq`` independent sequences of ``n_bins`` bins from ``truth``.

  Returns: ``(x, z)``: float32 [n_seq, n_bins, N] spike counts and int32 [n_seq, n_bins] states. Not
  differentiable (integer-valued samples).
  """
  fn = "simulate"
  check_key(key, "key", fn)
  if not isinstance(truth, Truth):
    raise TypeError(f"{fn}: truth: expected a Truth (make_truth), got {type(truth).__name__}")
  n_bins = check_int(n_bins, "n_bins", fn)
  n_seq = check_int(n_seq, "n_seq", fn)
  check_link(link, fn)
  basis = exp_basis() if basis is None else _check_basis(basis, fn)
  W = jnp.asarray(truth.W, jnp.float32)
  if W.ndim != 3 or W.shape[1] != W.shape[2]:
    raise ValueError(f"{fn}: truth.W: expected [S, N, N], got shape {tuple(W.shape)}")
  check_stochastic(truth.Pi, "truth.Pi", fn, W.shape[0])
  W, b = no_grad((W, jnp.asarray(truth.b, jnp.float32)), f"{fn}: truth (integer-valued samples)")
  kz, kx = jax.random.split(key)
  z = sample_states(kz, jnp.asarray(truth.Pi), n_bins, n_seq)
  basis = jnp.asarray(basis, jnp.float32)
  x = jax.vmap(lambda k, zz: _simulate_spikes(k, zz, W, b, basis, link))(jax.random.split(kx, n_seq), z)
  return x, z
