"""Spiking core: LIF / IF neurons with soft reset, a surrogate-gradient spike, encodings and a spiking MLP
(papers 11 IIR-SNN and 34 HLOP).

Chowdhury, Rathi & Roy 2021, "One Timestep is All You Need: Training Spiking Neural Networks with Ultra Low
Latency" (arXiv:2110.05929, paper 11); Xiao et al. 2024, "Hebbian Learning based Orthogonal Projection for
Continual Learning of Spiking Neural Networks" (ICLR 2024, arXiv:2402.11984, paper 34).

Neuron of layer l at time t (U_0 = 0, soft reset, the official ``vgg_spiking_bnfused_biasyes.py``):

  U ← λ U + I_t;   z = U/θ − 1;   o_t = H(z);   U ← U − θ o_t

with H(z) = 1 for z >= 0 (a membrane exactly at threshold fires; the official code fires for z > 0 only, which
differs on a measure-zero set and breaks the exact IF count ⌊T I/θ⌋ at I = θ). λ = 1 is the IF neuron. The
backward pass of H is the surrogate ∂o/∂z = γ·max(0, 1 − |z|) (γ = 0.3, Bellec et al.) at the pre-reset
membrane (:func:`spike`, a ``custom_vjp``); θ and λ receive gradients through z and the reset term (the
reset is not detached, as in the official code).

* :func:`spike`, :func:`surrogate_grad`: the spike nonlinearity and its surrogate derivative.
* :func:`neuron_step`, :func:`run_neuron`: one step, and T steps in ``lax.scan`` (membrane in the carry).
* :func:`encode`: direct (the analog input at every step) or rate (Bernoulli(x) spikes per step) encoding.
* :func:`dropout_masks`: one inverted-dropout mask per layer per forward pass, reused at every step.
* :func:`run_mlp`: a spiking MLP over T steps, the last layer a non-spiking accumulator whose outputs are
  **summed** over time (the readout); returns the logits, the per-layer spike counts and the weighted firing
  rates of every layer's input (what HLOP's Hebbian update and projection read).
* :func:`weighted_rate`, :func:`exp_weights`: Σ_t w_t s_t / Σ_t w_t (HLOP's DSR rate, w_t = exp(−(T − t)dt/τ)).
* :func:`percentile`: the p-th percentile (``numpy.percentile``'s "linear" and "nearest" methods), for the
  ANN → SNN threshold initialisation.
* :func:`clamp_leak`, :func:`use_leak`: λ ≤ 1 after an update (a projection of a parameter tree), and the
  straight-through clamp a loss applies when its optimiser loop has no post-update hook.
* :class:`SpikingMLP`: the Flax module over :func:`run_mlp` with learnable per-layer θ and λ.

Shapes: ``x_seq: [T, B, D]``, kernels ``[D, H]`` (Flax ``Dense`` layout), θ and λ per-layer scalars. Value checks
(T >= 1, θ > 0, λ ∈ (0, 1]) raise ``ValueError`` on concrete inputs; under ``jit`` traced θ and λ are used as given.
"""
from __future__ import annotations

import functools
import numbers
from typing import Any, NamedTuple, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import is_concrete

__all__ = ["spike", "surrogate_grad", "neuron_step", "run_neuron", "encode", "dropout_masks", "run_mlp",
           "MLPOutput", "weighted_rate", "exp_weights", "percentile", "clamp_leak", "use_leak", "SpikingMLP",
           "NEURONS", "ENCODINGS"]

_PKG = "models.common.spiking"
NEURONS = ("lif", "if")
ENCODINGS = ("direct", "rate")


def _float(x: Any, name: str, fn: str) -> jax.Array:
  x = jnp.asarray(x)
  if not jnp.issubdtype(x.dtype, jnp.floating):
    raise TypeError(f"{_PKG}.{fn}: {name}: expected a floating array, got dtype {x.dtype}")
  return x


def _check_gamma(gamma: Any, fn: str) -> None:
  if not isinstance(gamma, numbers.Real) or not gamma > 0:
    raise ValueError(f"{_PKG}.{fn}: gamma: expected a positive float, got {gamma!r}")


def _check_timesteps(t: Any, fn: str) -> None:
  if isinstance(t, bool) or not isinstance(t, numbers.Integral) or t < 1:
    raise ValueError(f"{_PKG}.{fn}: timesteps: expected an int >= 1, got {t!r}")


def _check_theta(theta: Any, fn: str, name: str = "theta") -> None:
  if is_concrete(theta) and not bool(np.all(np.asarray(theta) > 0)):
    raise ValueError(f"{_PKG}.{fn}: {name}: expected a threshold > 0, got {np.asarray(theta).tolist()!r}")


def _check_leak(leak: Any, fn: str, name: str = "leak") -> None:
  if is_concrete(leak):
    v = np.asarray(leak)
    if not bool(np.all((v > 0) & (v <= 1))):
      raise ValueError(f"{_PKG}.{fn}: {name}: expected a leak in (0, 1], got {v.tolist()!r}")


def surrogate_grad(z: jax.Array, gamma: float = 0.3) -> jax.Array:
  """The piecewise-linear surrogate derivative γ·max(0, 1 − |z|) (Bellec et al. 2018), ``z`` any shape."""
  _check_gamma(gamma, "surrogate_grad")
  z = _float(z, "z", "surrogate_grad")
  return gamma * jnp.maximum(0.0, 1.0 - jnp.abs(z))


@functools.partial(jax.custom_vjp, nondiff_argnums=(1,))
def _spike(z, gamma):
  return (z >= 0).astype(z.dtype)


def _spike_fwd(z, gamma):
  return _spike(z, gamma), z


def _spike_bwd(gamma, z, g):
  return (g * gamma * jnp.maximum(0.0, 1.0 - jnp.abs(z)),)


_spike.defvjp(_spike_fwd, _spike_bwd)


def spike(z: jax.Array, gamma: float = 0.3) -> jax.Array:
  """H(z) (exactly 0 or 1, 1 at z >= 0) with the surrogate derivative γ·max(0, 1 − |z|) in the backward pass.

  Args:
    z: the normalised pre-reset membrane U/θ − 1, any shape, floating.
    gamma: the surrogate's height (> 0).
  """
  _check_gamma(gamma, "spike")
  return _spike(_float(z, "z", "spike"), float(gamma))


def neuron_step(u: jax.Array, current: jax.Array, theta: Any, leak: Any = 1.0, gamma: float = 0.3):
  """One LIF step with soft reset: U ← λU + I, o = H(U/θ − 1), U ← U − θo. Returns ``(u_next, o)``.

  ``u`` and ``current`` have one shape; ``theta`` and ``leak`` broadcast against it (θ > 0, λ ∈ (0, 1]).
  """
  u, current = _float(u, "u", "neuron_step"), _float(current, "current", "neuron_step")
  if u.shape != current.shape:
    raise ValueError(f"{_PKG}.neuron_step: current: expected the shape of u {u.shape}, got {current.shape}")
  _check_theta(theta, "neuron_step")
  _check_leak(leak, "neuron_step")
  return _step(u, current, theta, leak, float(gamma))


def _step(u, current, theta, leak, gamma):
  u = leak * u + current
  o = _spike(u / theta - 1.0, gamma)
  return u - theta * o, o


def run_neuron(currents: jax.Array, theta: Any, leak: Any = 1.0, gamma: float = 0.3, u0: jax.Array | None = None):
  """T steps of :func:`neuron_step` in ``lax.scan`` (membrane in the carry).

  Args:
    currents: ``[T, ...]`` input current per step.
    theta, leak: broadcast against one step's current.
    u0: the initial membrane (default 0).
  Returns: ``(spikes [T, ...], u_T [...])``.
  """
  currents = _float(currents, "currents", "run_neuron")
  if currents.ndim < 1 or currents.shape[0] < 1:
    raise ValueError(f"{_PKG}.run_neuron: currents: expected [T >= 1, ...], got shape {currents.shape}")
  _check_theta(theta, "run_neuron")
  _check_leak(leak, "run_neuron")
  _check_gamma(gamma, "run_neuron")
  u0 = jnp.zeros(currents.shape[1:], currents.dtype) if u0 is None else _float(u0, "u0", "run_neuron")
  if u0.shape != currents.shape[1:]:
    raise ValueError(f"{_PKG}.run_neuron: u0: expected shape {currents.shape[1:]}, got {u0.shape}")

  def body(u, i):
    u, o = _step(u, i, theta, leak, float(gamma))
    return u, o
  u_t, spikes = jax.lax.scan(body, u0, currents)
  return spikes, u_t


def encode(x: jax.Array, timesteps: int, encoding: str = "direct", key: jax.Array | None = None) -> jax.Array:
  """Input over time, ``[T, *x.shape]``: "direct" repeats the analog ``x`` at every step; "rate" draws
  independent Bernoulli(x) spikes per step (``x`` in [0, 1], ``key`` required)."""
  _check_timesteps(timesteps, "encode")
  x = _float(x, "x", "encode")
  if encoding == "direct":
    return jnp.broadcast_to(x, (timesteps,) + x.shape)
  if encoding == "rate":
    if key is None:
      raise ValueError(f"{_PKG}.encode: key: expected a PRNG key for encoding='rate', got None")
    if is_concrete(x) and not bool(np.all((np.asarray(x) >= 0) & (np.asarray(x) <= 1))):
      raise ValueError(f"{_PKG}.encode: x: expected values in [0, 1] for encoding='rate', got range "
                       f"[{float(jnp.min(x))}, {float(jnp.max(x))}]")
    return jax.random.bernoulli(key, x, (timesteps,) + x.shape).astype(x.dtype)
  raise ValueError(f"{_PKG}.encode: encoding: expected one of {ENCODINGS}, got {encoding!r}")


def dropout_masks(key: jax.Array, shapes: Sequence[tuple[int, ...]], rate: float, dtype=jnp.float32) -> list:
  """One inverted-dropout mask per shape (keep with probability 1 − rate, scaled by 1/(1 − rate)), drawn once
  per forward pass and reused at every timestep."""
  if not isinstance(rate, numbers.Real) or not 0 <= rate < 1:
    raise ValueError(f"{_PKG}.dropout_masks: rate: expected a float in [0, 1), got {rate!r}")
  keys = jax.random.split(key, max(len(shapes), 1))
  return [jax.random.bernoulli(k, 1.0 - rate, s).astype(dtype) / (1.0 - rate) for k, s in zip(keys, shapes)]


class MLPOutput(NamedTuple):
  """What :func:`run_mlp` returns.

  logits: ``[B, C]``, the last layer's outputs summed over the T steps.
  spike_counts: per spiking layer, ``[B, H_l]`` spikes summed over time.
  rates: per layer (every layer's *input*, the first one the encoded input), ``[B, D_l]`` weighted firing rates
    Σ_t w_t s_t / Σ_t w_t with the ``rate_weights`` given (uniform by default).
  membrane: per spiking layer, the final membrane ``[B, H_l]``.
  currents: with ``record=l``, layer l's input current at every step ``[T, B, H_l]`` (else None).
  """
  logits: jax.Array
  spike_counts: list
  rates: list
  membrane: list
  currents: jax.Array | None = None


def run_mlp(layers: Sequence[tuple[jax.Array, jax.Array | None]], thetas: Sequence[Any], leaks: Sequence[Any],
            x_seq: jax.Array, *, gamma: float = 0.3, masks: Sequence[jax.Array | None] | None = None,
            rate_weights: jax.Array | None = None, record: int | None = None) -> MLPOutput:
  """A spiking MLP over T steps (one ``lax.scan``, the membranes in the carry).

  Args:
    layers: ``[(w [D, H], b [H] or None), ...]``; every layer but the last is spiking, the last is the summed readout.
    thetas, leaks: one scalar per spiking layer (``len(layers) − 1`` each); θ > 0, λ ∈ (0, 1].
    x_seq: ``[T, B, D]`` encoded input (:func:`encode`).
    gamma: the surrogate's height.
    masks: per spiking layer a dropout mask ``[B, H_l]`` (or None) applied to its spikes at every step.
    rate_weights: ``[T]`` weights of :func:`weighted_rate` (default uniform).
    record: a layer index whose per-step input current (W o + b) is returned in ``currents`` (threshold search).
  """
  if not isinstance(layers, (list, tuple)) or not layers:
    raise TypeError(f"{_PKG}.run_mlp: layers: expected a non-empty list of (w, b), got {type(layers).__name__}")
  x_seq = _float(x_seq, "x_seq", "run_mlp")
  if x_seq.ndim != 3:
    raise ValueError(f"{_PKG}.run_mlp: x_seq: expected [T, B, D], got shape {x_seq.shape}")
  n_spk = len(layers) - 1
  if len(thetas) != n_spk or len(leaks) != n_spk:
    raise ValueError(f"{_PKG}.run_mlp: thetas, leaks: expected {n_spk} each (one per spiking layer), got "
                     f"{len(thetas)} and {len(leaks)}")
  width = x_seq.shape[-1]
  for i, (w, b) in enumerate(layers):
    if w.ndim != 2 or w.shape[0] != width:
      raise ValueError(f"{_PKG}.run_mlp: layers[{i}]: expected a kernel [{width}, H], got shape {w.shape}")
    if b is not None and b.shape != (w.shape[1],):
      raise ValueError(f"{_PKG}.run_mlp: layers[{i}]: expected a bias [{w.shape[1]}], got shape {b.shape}")
    width = w.shape[1]
  for i in range(n_spk):
    _check_theta(thetas[i], "run_mlp", f"thetas[{i}]")
    _check_leak(leaks[i], "run_mlp", f"leaks[{i}]")
  _check_gamma(gamma, "run_mlp")
  masks = list(masks) if masks is not None else [None] * n_spk
  if len(masks) != n_spk:
    raise ValueError(f"{_PKG}.run_mlp: masks: expected {n_spk} (one per spiking layer), got {len(masks)}")
  t_steps, batch = x_seq.shape[0], x_seq.shape[1]
  if rate_weights is None:
    rate_weights = jnp.ones((t_steps,), x_seq.dtype)
  rate_weights = _float(rate_weights, "rate_weights", "run_mlp")
  if rate_weights.shape != (t_steps,):
    raise ValueError(f"{_PKG}.run_mlp: rate_weights: expected shape ({t_steps},), got {rate_weights.shape}")
  if record is not None and (isinstance(record, bool) or not isinstance(record, numbers.Integral)
                             or not 0 <= record < len(layers)):
    raise ValueError(f"{_PKG}.run_mlp: record: expected None or a layer index in [0, {len(layers)}), got {record!r}")
  dtype = x_seq.dtype
  u0 = [jnp.zeros((batch, w.shape[1]), dtype) for w, _ in layers[:-1]]

  def body(us, inp):
    x, wt = inp
    h, new_us, outs, ins, rec = x, [], [], [x * wt], None
    for i, (w, b) in enumerate(layers):
      cur = h @ w + (0.0 if b is None else b)
      if i == record:
        rec = cur
      if i == n_spk:
        return new_us, (cur, outs, ins, rec)
      u, o = _step(us[i], cur, thetas[i], leaks[i], float(gamma))
      if masks[i] is not None:
        o = o * masks[i]
      new_us.append(u)
      outs.append(o)
      ins.append(o * wt)
      h = o

  u_t, (readout, spikes, weighted, rec) = jax.lax.scan(body, u0, (x_seq, rate_weights))
  total = jnp.sum(rate_weights)
  return MLPOutput(logits=jnp.sum(readout, axis=0), spike_counts=[jnp.sum(s, axis=0) for s in spikes],
                   rates=[jnp.sum(r, axis=0) / total for r in weighted], membrane=list(u_t), currents=rec)


def weighted_rate(spikes: jax.Array, weights: jax.Array | None = None) -> jax.Array:
  """Σ_t w_t s_t / Σ_t w_t over the leading (time) axis of ``spikes: [T, ...]`` (uniform ``w``: the firing rate)."""
  spikes = _float(spikes, "spikes", "weighted_rate")
  if spikes.ndim < 1:
    raise ValueError(f"{_PKG}.weighted_rate: spikes: expected [T, ...], got a scalar")
  w = jnp.ones((spikes.shape[0],), spikes.dtype) if weights is None else _float(weights, "weights", "weighted_rate")
  if w.shape != (spikes.shape[0],):
    raise ValueError(f"{_PKG}.weighted_rate: weights: expected shape ({spikes.shape[0]},), got {w.shape}")
  if is_concrete(w) and not float(jnp.sum(w)) > 0:
    raise ValueError(f"{_PKG}.weighted_rate: weights: expected a positive sum, got {float(jnp.sum(w))}")
  return jnp.tensordot(w, spikes, axes=1) / jnp.sum(w)


def exp_weights(timesteps: int, dt: float = 1.0, tau: float = 1.0) -> jax.Array:
  """HLOP's DSR weights w_t = exp(−(T dt − t dt)/τ), t = 1..T (the last step weighs 1)."""
  _check_timesteps(timesteps, "exp_weights")
  for name, v in (("dt", dt), ("tau", tau)):
    if is_concrete(v) and not float(v) > 0:
      raise ValueError(f"{_PKG}.exp_weights: {name}: expected > 0, got {v!r}")
  t = jnp.arange(1, timesteps + 1, dtype=jnp.result_type(dt, tau, jnp.float32))
  return jnp.exp(-(timesteps - t) * dt / tau)


def percentile(x: jax.Array, p: float, method: str = "linear") -> jax.Array:
  """The p-th percentile of all entries of ``x`` (``numpy.percentile`` with ``method`` "linear" or "nearest").

  "linear" interpolates between the order statistics at rank (n − 1)·p/100; "nearest" takes the order statistic
  at the rounded rank (half to even, as numpy). A threshold initialisation reads it on a batch of pre-activations.
  """
  x = _float(x, "x", "percentile")
  if not isinstance(p, numbers.Real) or not 0 <= p <= 100:
    raise ValueError(f"{_PKG}.percentile: p: expected a float in [0, 100], got {p!r}")
  if x.size == 0:
    raise ValueError(f"{_PKG}.percentile: x: expected a non-empty array, got shape {x.shape}")
  s = jnp.sort(x.reshape(-1))
  rank = (s.size - 1) * float(p) / 100.0
  if method == "nearest":
    return s[int(np.round(rank))]
  if method == "linear":
    lo = int(np.floor(rank))
    hi = min(lo + 1, s.size - 1)
    frac = rank - lo
    return s[lo] + (s[hi] - s[lo]) * frac
  raise ValueError(f"{_PKG}.percentile: method: expected 'linear' or 'nearest', got {method!r}")


def _is_leak(path) -> bool:
  last = path[-1]
  name = getattr(last, "key", getattr(last, "name", None))
  return isinstance(name, str) and name.startswith("leak")


def clamp_leak(params: Any, max_leak: float = 1.0) -> Any:
  """``params`` with every leaf whose name starts with "leak" clamped to <= ``max_leak`` (the projection the
  official code applies after every optimiser step)."""
  if not max_leak > 0:
    raise ValueError(f"{_PKG}.clamp_leak: max_leak: expected > 0, got {max_leak!r}")
  return jax.tree_util.tree_map_with_path(lambda p, v: jnp.minimum(v, max_leak) if _is_leak(p) else v, params)


def use_leak(params: Any, max_leak: float = 1.0) -> Any:
  """The straight-through clamp: forward values of :func:`clamp_leak`, gradient of the identity (a leak above
  ``max_leak`` acts as ``max_leak`` and its gradient is the one at ``max_leak``, so it can come back below, as after
  the official projection). For a loss whose training loop cannot project after the update (``train_lib``)."""
  clamped = clamp_leak(params, max_leak)
  return jax.tree.map(lambda v, c: v + jax.lax.stop_gradient(c - v), params, clamped)


class SpikingMLP(nn.Module):
  """A spiking MLP: ``features[:-1]`` spiking LIF/IF layers with learnable per-layer θ (and λ for "lif"), the
  last layer a non-spiking readout summed over the T steps.

  Parameters: ``kernel_i [D, H]``, ``bias_i [H]`` (if ``use_bias``), ``theta_i`` and ``leak_i`` (scalars; no leak for
  "if"). RNG streams: ``dropout`` (one mask per spiking layer per pass, when ``deterministic=False`` and
  ``dropout > 0``), ``sample`` (rate encoding). ``__call__(x [B, D]) -> logits [B, C]``; with ``return_aux=True``
  ``(logits, MLPOutput)``. The leak is used as given (clamp it with :func:`clamp_leak` after updates).
  """
  features: Sequence[int]
  timesteps: int = 5
  neuron: str = "lif"
  encoding: str = "direct"
  gamma: float = 0.3
  dropout: float = 0.0
  use_bias: bool = True
  theta_init: float = 1.0
  leak_init: float = 1.0
  dtype: Any = None
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, *, deterministic: bool = True, return_aux: bool = False, rate_weights=None):
    _check_timesteps(self.timesteps, "SpikingMLP")
    if self.neuron not in NEURONS:
      raise ValueError(f"{_PKG}.SpikingMLP: neuron: expected one of {NEURONS}, got {self.neuron!r}")
    if len(self.features) < 1:
      raise ValueError(f"{_PKG}.SpikingMLP: features: expected at least one layer, got {self.features!r}")
    _check_theta(self.theta_init, "SpikingMLP", "theta_init")
    _check_leak(self.leak_init, "SpikingMLP", "leak_init")
    x = _float(x, "x", "SpikingMLP")
    if x.ndim != 2:
      raise ValueError(f"{_PKG}.SpikingMLP: x: expected [B, D], got shape {x.shape}")
    dtype = self.dtype or x.dtype
    layers, thetas, leaks, width = [], [], [], x.shape[-1]
    for i, h in enumerate(self.features):
      w = self.param(f"kernel_{i}", nn.initializers.lecun_normal(), (width, h), self.param_dtype)
      b = self.param(f"bias_{i}", nn.initializers.zeros, (h,), self.param_dtype) if self.use_bias else None
      layers.append((w.astype(dtype), None if b is None else b.astype(dtype)))
      if i < len(self.features) - 1:
        thetas.append(self.param(f"theta_{i}", nn.initializers.constant(self.theta_init), (), self.param_dtype)
                      .astype(dtype))
        leak = (self.param(f"leak_{i}", nn.initializers.constant(self.leak_init), (), self.param_dtype)
                if self.neuron == "lif" else jnp.ones((), self.param_dtype))
        leaks.append(leak.astype(dtype))
      width = h
    key = self.make_rng("sample") if self.encoding == "rate" else None
    x_seq = encode(x.astype(dtype), self.timesteps, self.encoding, key)
    masks = None
    if not deterministic and self.dropout > 0:
      masks = dropout_masks(self.make_rng("dropout"), [(x.shape[0], h) for h in self.features[:-1]], self.dropout,
                            dtype)
    out = run_mlp(layers, thetas, leaks, x_seq, gamma=self.gamma, masks=masks, rate_weights=rate_weights)
    return (out.logits, out) if return_aux else out.logits
