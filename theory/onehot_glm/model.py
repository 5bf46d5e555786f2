"""Poisson GLM emissions of the HMM-GLM: exponential history basis, strictly-past spike history, state rates.

Paper: C. Li, S. H. Kim, C. Rodgers, H. Choi, A. Wu, "One-hot Generalized Linear Model for Switching Brain State
Discovery", ICLR 2024. Rate of neuron n in state s at bin t (the paper's GLM):

  f_{t,n}^s = link(b_n + sum_{n'} W_{s, n <- n'} h_{t,n'}),   h_{t,n'} = sum_{k=1}^{K} phi_k x_{t-k, n'},

with x_{t,n} ~ Poisson(f_{t,n}^{z_t}). ``link`` is the logistic sigmoid (paper-era code; the rate stays below one
spike per bin) or softplus (v0.1 of the official code).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from theory.onehot_glm._checks import check_counts, check_int, check_positive

LINKS = ("sigmoid", "softplus")


def exp_basis(window: int = 5, decay: float = 1.0, time_span: float | None = None) -> np.ndarray:
  """The exponential history basis phi_k = c exp(-decay t_k), t_k = k dt (k = 1..window), dt = time_span / window,
  normalised so that dt * sum_k phi_k = 1 (the official ``exp_basis``). Default time_span = window (dt = 1).

  Returns: float64 [window]; phi[0] weighs the previous bin x_{t-1}.
  """
  window = check_int(window, "window", "exp_basis")
  decay = check_positive(decay, "decay", "exp_basis")
  span = float(window) if time_span is None else check_positive(time_span, "time_span", "exp_basis")
  dt = span / window
  t = dt * np.arange(1, window + 1, dtype=np.float64)
  phi = np.exp(-decay * t)
  return phi / (dt * phi.sum())


def _check_basis(basis, fn):
  b = jnp.asarray(basis) if not isinstance(basis, np.ndarray) else basis
  if b.ndim != 1 or b.shape[0] < 1:
    raise ValueError(f"{fn}: basis: expected a 1-d basis [K] with K >= 1, got shape {tuple(b.shape)}")
  return b


def _history(x, basis):
  """h[..., t, :] = sum_k basis[k-1] x[..., t-k, :] (zeros before the first bin)."""
  k_win, t_len = basis.shape[0], x.shape[-2]
  pad = [(0, 0)] * (x.ndim - 2) + [(k_win, 0), (0, 0)]
  xp = jnp.pad(x, pad)
  h = 0.0
  for k in range(1, k_win + 1):
    h = h + basis[k - 1] * jax.lax.slice_in_dim(xp, k_win - k, k_win - k + t_len, axis=x.ndim - 2)
  return h


def spike_history(x, basis) -> jax.Array:
  """Strictly-past filtered spikes: h[..., t, n] = sum_{k=1}^{K} basis[k-1] x[..., t-k, n].

  Args:
    x: [..., T, N] spike counts (non-negative integers; float or int dtype).
    basis: [K] history weights (``exp_basis``); basis[0] weighs the previous bin.
  Returns: [..., T, N] in x's float dtype (float32 for integer x). A spike at t0 moves only h[t0+1..t0+K].
  """
  check_counts(x, "x", "spike_history")
  basis = _check_basis(basis, "spike_history")
  x = jnp.asarray(x)
  dt = x.dtype if jnp.issubdtype(x.dtype, jnp.floating) else jnp.float32
  return _history(x.astype(dt), jnp.asarray(basis, dt))


def _link(pre, link):
  if link == "sigmoid":
    return jax.nn.sigmoid(pre), jax.nn.log_sigmoid(pre)
  f = jax.nn.softplus(pre)
  return f, jnp.log(jnp.maximum(f, jnp.finfo(f.dtype).tiny))


def _emission(x, h, W, b, link, constant=True):
  """[..., T, S] Poisson log-likelihood of each bin under each state (summed over neurons); ``constant=False``
  drops the parameter-free -log x! term (the M-step objective)."""
  s, n = W.shape[0], W.shape[-1]
  pre = (h @ jnp.transpose(W, (2, 0, 1)).reshape(n, s * n)).reshape(h.shape[:-1] + (s, n))
  pre = pre + b                                   # b: [N] or [S, N] broadcasts over [..., T, S, N]
  f, logf = _link(pre, link)
  xs = x[..., None, :]
  out = jnp.sum(xs * logf - f, axis=-1)
  if constant:
    out = out - jnp.sum(jax.lax.lgamma(x + 1.0), axis=-1)[..., None]
  return out


def check_link(link, fn):
  if not isinstance(link, str) or link not in LINKS:
    raise ValueError(f"{fn}: link: expected one of {LINKS}, got {link!r}")


def emission_loglik(x, h, W, b, link: str = "sigmoid") -> jax.Array:
  """log p(x_t | z_t = s, history) for every bin and state: sum_n [x log f - f - log x!].

  Args:
    x: [..., T, N] spike counts; h: [..., T, N] their history (``spike_history``).
    W: [S, N, N] couplings, W[s, n, n'] = weight of n' onto n in state s; b: [N] (shared) or [S, N] biases.
    link: ``"sigmoid"`` or ``"softplus"``.
  Returns: [..., T, S] log-likelihoods. Differentiable in h, W, b.
  """
  fn = "emission_loglik"
  check_counts(x, "x", fn)
  check_link(link, fn)
  W, b, h = jnp.asarray(W), jnp.asarray(b), jnp.asarray(h)
  if W.ndim != 3 or W.shape[1] != W.shape[2]:
    raise ValueError(f"{fn}: W: expected [S, N, N], got shape {tuple(W.shape)}")
  n = W.shape[1]
  if x.shape[-1] != n or h.shape != x.shape:
    raise ValueError(f"{fn}: x, h: expected equal shapes [..., T, {n}], got {tuple(x.shape)} and {tuple(h.shape)}")
  if b.shape not in ((n,), (W.shape[0], n)):
    raise ValueError(f"{fn}: b: expected [{n}] or [{W.shape[0]}, {n}], got shape {tuple(b.shape)}")
  dt = jnp.result_type(W.dtype, h.dtype, b.dtype, jnp.float32)
  return _emission(jnp.asarray(x, dt), h.astype(dt), W.astype(dt), b.astype(dt), link)
