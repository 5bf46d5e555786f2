"""EM for the naive, Gaussian-prior and one-hot HMM-GLMs (the paper's learning algorithm).

E-step: log-space forward-backward (``hmm._fb``) per sequence, vmapped. M-step: Pi in closed form
(Pi_ij ∝ sum_t xi_t(i, j), then a log-clamp at -8 and renormalisation, as the official code), and ``n_mstep``
Adam steps (lr 0.01) on the expected complete-data log-likelihood plus the log-prior, divided by the number of
bins (the notes' normalisation for learning-rate stability):

  J = [ sum_{r,t,s} gamma_{r,t}(s) log p(x_{r,t} | z = s, history) + log p(W) ] / (R T).

Variants (``VARIANTS``):
* ``naive``: free W_s, log p(W) = 0.
* ``gaussian``: W_s ~ N(W_bar, sigma^2) entrywise (off-diagonal), W_bar reset to mean_s W_s at every EM iteration
  (empirical Bayes, held fixed during the M-step), sigma = 1/3.
* ``onehot``: W_s = (A_s[exc] - A_s[inh]) softplus(theta_s) with type logits L_s [S, N, N, 3]; the M-step draws
  A_s by Gumbel-softmax(L_s, tau_w) (reparametrised) and adds the Concrete(pi, tau = 0.2) log-density of that draw
  under the learned global prior pi = softmax(prior logits) [N, N, 3] shared by all states. After each Adam step a
  logit vector with a class log-probability below -20 is halved (``correct_extreme_onehot``). The E-step uses the
  expected types softmax(L_s) (the paper-era default ``adjacency_type = 'softmax'``); evaluation (decoding,
  held-out likelihood, metrics) uses the hard argmax.
Diagonal: with ``self_history=False`` (paper-era, the synthetic claim) every variant has an empty diagonal; with
``self_history=True`` (v0.1) each state has a free diagonal (self-history) weight outside any prior.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from kernels.common.checks import check_key, no_grad
from theory.onehot_glm._checks import check_counts, check_int, check_positive
from theory.onehot_glm.generator import sticky_transitions
from theory.onehot_glm.hmm import Posterior, _fb, _forward
from theory.onehot_glm.model import _check_basis, _emission, _history, check_link, exp_basis
from theory.onehot_glm.priors import _concrete, _gumbel_log_softmax

VARIANTS = ("naive", "gaussian", "onehot")
CONCRETE_EPS = 1e-6       # simplex points are clipped below at this value inside the Concrete density
PI_LOG_FLOOR = -8.0       # log-clamp of the closed-form Pi update (official code)
EXTREME_LOGP = -20.0      # correct_extreme_onehot threshold
E_MODE = "soft"          # E-step weights of the one-hot model: expected types softmax(L)


class FitResult(NamedTuple):
  """A fitted HMM-GLM (any leading batch dims when fitted with ``fit_batch``).

  Attributes:
    W: [S, N, N] evaluation couplings (one-hot: hard argmax types times strengths).
    b: [N] biases. Pi: [S, S] transitions.
    types: int32 [S, N, N] in {-1, 0, 1}: argmax types (one-hot) or sign thresholding |W| > threshold (others).
    prior: [N, N, 3] learned global class probabilities (one-hot; 1/3 otherwise).
    loglik: [n_iter] training marginal log-likelihood per bin at each E-step.
    params: the raw parameters (dict).
  """
  W: jax.Array
  b: jax.Array
  Pi: jax.Array
  types: jax.Array
  prior: jax.Array
  loglik: jax.Array
  params: dict


class _Cfg(NamedTuple):
  n_states: int
  variant: str
  n_iter: int
  n_mstep: int
  lr: float
  sigma: float
  tau: float
  tau_w: float
  link: str
  self_history: bool
  threshold: float
  init_scale: float
  stay: float


def _masks(n, dtype):
  off = 1.0 - jnp.eye(n, dtype=dtype)
  return off, jnp.eye(n, dtype=dtype)


def _init(key, x, cfg):
  s, n = cfg.n_states, x.shape[-1]
  dt = x.dtype
  m = jnp.mean(x, axis=tuple(range(x.ndim - 1)))
  if cfg.link == "sigmoid":
    m = jnp.clip(m, 1e-3, 0.999)
    b = jnp.log(m) - jnp.log1p(-m)
  else:
    m = jnp.maximum(m, 1e-3)
    b = m + jnp.log(-jnp.expm1(-m))
  k1, k2 = jax.random.split(key)
  p = {"b": b.astype(dt), "d": jnp.zeros((s, n), dt)}
  if cfg.variant == "onehot":
    p["L"] = cfg.init_scale * jax.random.normal(k1, (s, n, n, 3), dt)
    p["theta"] = jnp.zeros((s, n, n), dt)          # strengths softplus(0) = 0.69 (official init: about one)
    p["prior"] = jnp.zeros((n, n, 3), dt)
  else:
    p["W"] = cfg.init_scale * jax.random.normal(k1, (s, n, n), dt)
  return p


def _weights(p, cfg, mode, key=None):
  """Returns (W [S, N, N], log_a or None)."""
  n = p["b"].shape[-1]
  off, eye = _masks(n, p["b"].dtype)
  diag = p["d"][..., None] * eye if cfg.self_history else 0.0
  if cfg.variant != "onehot":
    return p["W"] * off + (p["W"] * eye if cfg.self_history else 0.0), None
  if mode == "gumbel":
    log_a = _gumbel_log_softmax(key, p["L"], cfg.tau_w)
    a = jnp.exp(log_a)
  elif mode == "soft":
    log_a = jax.nn.log_softmax(p["L"], axis=-1)
    a = jnp.exp(log_a)
  else:
    a = jax.nn.one_hot(jnp.argmax(p["L"], axis=-1), 3, dtype=p["L"].dtype)
    log_a = None
  w = (a[..., 2] - a[..., 0]) * jax.nn.softplus(p["theta"])
  return w * off + diag, log_a


def _log_prior(p, cfg, log_a, wbar):
  n = p["b"].shape[-1]
  off, _ = _masks(n, p["b"].dtype)
  if cfg.variant == "naive":
    return 0.0
  if cfg.variant == "gaussian":
    w = p["W"]
    lp = -0.5 * ((w - wbar) / cfg.sigma) ** 2 - jnp.log(cfg.sigma * jnp.sqrt(2 * jnp.pi))
    return jnp.sum(lp * off)
  la = jnp.maximum(log_a, jnp.log(CONCRETE_EPS))
  return jnp.sum(_concrete(la, jnp.broadcast_to(p["prior"], la.shape), cfg.tau) * off)


def _objective(p, key, gamma, x, h, wbar, cfg):
  w, log_a = _weights(p, cfg, "gumbel", key)
  ll = _emission(x, h, w, p["b"], cfg.link, constant=False)
  bins = x.shape[0] * x.shape[1]
  return (jnp.sum(gamma * ll) + _log_prior(p, cfg, log_a, wbar)) / bins


def _fix_extreme(p, cfg):
  if cfg.variant != "onehot":
    return p
  out = dict(p)
  for name in ("L", "prior"):
    v = p[name]
    bad = jnp.any(jax.nn.log_softmax(v, axis=-1) < EXTREME_LOGP, axis=-1, keepdims=True)
    out[name] = jnp.where(bad, v / 2, v)
  return out


def _types(w, p, cfg):
  if cfg.variant == "onehot":
    n = w.shape[-1]
    t = jnp.argmax(p["L"], axis=-1) - 1
    return jnp.where(jnp.eye(n, dtype=bool), 0, t).astype(jnp.int32)
  t = jnp.where(jnp.abs(w) > cfg.threshold, jnp.sign(w), 0).astype(jnp.int32)
  return jnp.where(jnp.eye(w.shape[-1], dtype=bool), 0, t)


def _fit(key, x, basis, cfg):
  h = _history(x, basis)
  s, n = cfg.n_states, x.shape[-1]
  dt = x.dtype
  k_init, k_em = jax.random.split(key)
  p = _init(k_init, x, cfg)
  opt = optax.adam(cfg.lr)
  opt_state = opt.init(p)
  log_pi = jnp.log(jnp.asarray(sticky_transitions(s, cfg.stay), dt))
  log_p0 = jnp.full((s,), -jnp.log(float(s)), dt)
  bins = x.shape[0] * x.shape[1]
  grad = jax.grad(lambda pp, k, g, wb: -_objective(pp, k, g, x, h, wb, cfg))

  def em_step(carry, k):
    p, opt_state, log_pi = carry
    w_e, _ = _weights(p, cfg, E_MODE)
    ll = _emission(x, h, w_e, p["b"], cfg.link)
    post = jax.vmap(_fb, in_axes=(0, None, None))(ll, log_pi, log_p0)
    xs = jnp.sum(post.xi, axis=(0, 1))
    new = jnp.log(xs / jnp.sum(xs, axis=1, keepdims=True))
    log_pi = jax.nn.log_softmax(jnp.maximum(new, PI_LOG_FLOOR), axis=-1) if s > 1 else jnp.zeros((1, 1), dt)
    gamma = jax.lax.stop_gradient(post.gamma)
    wbar = jnp.mean(p["W"], axis=0) if cfg.variant == "gaussian" else 0.0

    def m_step(c, km):
      p, opt_state = c
      g = grad(p, km, gamma, wbar)
      upd, opt_state = opt.update(g, opt_state, p)
      return (_fix_extreme(optax.apply_updates(p, upd), cfg), opt_state), None
    (p, opt_state), _ = jax.lax.scan(m_step, (p, opt_state), jax.random.split(k, cfg.n_mstep))
    return (p, opt_state, log_pi), jnp.sum(post.loglik) / bins

  (p, _, log_pi), trace = jax.lax.scan(em_step, (p, opt_state, log_pi), jax.random.split(k_em, cfg.n_iter))
  w, _ = _weights(p, cfg, "hard")
  prior = jax.nn.softmax(p["prior"], -1) if cfg.variant == "onehot" else jnp.full((n, n, 3), 1 / 3, dt)
  return FitResult(w, p["b"], jnp.exp(log_pi), _types(w, p, cfg), prior, trace, p)


@functools.partial(jax.jit, static_argnums=(3,))
def _fit_jit(key, x, basis, cfg):
  return _fit(key, x, basis, cfg)


@functools.partial(jax.jit, static_argnums=(3,))
def _fit_batch_jit(keys, x, basis, cfg):
  return jax.vmap(_fit, in_axes=(0, 0, None, None))(keys, x, basis, cfg)


def _config(n_states, variant, n_iter, n_mstep, lr, sigma, tau, tau_w, link, self_history, threshold, init_scale,
            stay, fn):
  check_int(n_states, "n_states", fn)
  if not isinstance(variant, str) or variant not in VARIANTS:
    raise ValueError(f"{fn}: variant: expected one of {VARIANTS}, got {variant!r}")
  check_int(n_iter, "n_iter", fn)
  check_int(n_mstep, "n_mstep", fn)
  for name, v in (("lr", lr), ("sigma", sigma), ("tau", tau), ("tau_w", tau_w), ("init_scale", init_scale)):
    check_positive(v, name, fn)
  if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)) or not threshold >= 0:
    raise ValueError(f"{fn}: threshold: expected a number >= 0, got {threshold!r}")
  check_link(link, fn)
  if not isinstance(self_history, bool):
    raise TypeError(f"{fn}: self_history: expected a bool, got {type(self_history).__name__}")
  if isinstance(stay, bool) or not isinstance(stay, (int, float, np.number)) or not 0 < stay < 1 and n_states > 1:
    raise ValueError(f"{fn}: stay: expected a probability in (0, 1), got {stay!r}")
  return _Cfg(int(n_states), variant, int(n_iter), int(n_mstep), float(lr), float(sigma), float(tau), float(tau_w),
              link, self_history, float(threshold), float(init_scale), float(stay))


_DOC_ARGS = """
  Args (keyword-only after ``variant``):
    n_states: S >= 1; variant: ``"naive"``, ``"gaussian"`` or ``"onehot"``.
    n_iter: EM iterations (E-steps); n_mstep: Adam steps per M-step (50); lr: Adam learning rate (0.01).
    sigma: Gaussian prior sd (1/3); tau: Concrete prior temperature (0.2); tau_w: Gumbel-softmax temperature of
      the M-step draws (0.2, paper-era; 0.5 in v0.1).
    link: ``"sigmoid"`` or ``"softplus"``; self_history: free per-state diagonal (default empty diagonal).
    threshold: |W| above which the naive / Gaussian types are ±1 (sign thresholding).
    init_scale: sd of the random initial weights (naive, Gaussian) or type logits (one-hot).
    stay: initial Pi_ii (0.98); basis: history basis [K] (default ``exp_basis()``: K = 5, decay 1).
"""


def fit(key, x, n_states: int, variant: str = "onehot", *, n_iter: int = 20, n_mstep: int = 50, lr: float = 0.01,
        sigma: float = 1 / 3, tau: float = 0.2, tau_w: float = 0.2, link: str = "sigmoid",
        self_history: bool = False, threshold: float = 0.1, init_scale: float = 0.1, stay: float = 0.98,
        basis=None) -> FitResult:
  """Fits an HMM-GLM to sequences ``x: [R, T, N]`` of spike counts by EM (one compiled program per setting).
  """
  fn = "fit"
  check_key(key, "key", fn)
  check_counts(x, "x", fn)
  if x.ndim != 3:
    raise ValueError(f"{fn}: x: expected [R, T, N] sequences, got shape {tuple(x.shape)}")
  if x.shape[1] < 2:
    raise ValueError(f"{fn}: x: expected T >= 2 bins, got shape {tuple(x.shape)}")
  cfg = _config(n_states, variant, n_iter, n_mstep, lr, sigma, tau, tau_w, link, self_history, threshold,
                init_scale, stay, fn)
  basis = exp_basis() if basis is None else _check_basis(basis, fn)
  x = no_grad(jnp.asarray(x, jnp.float32), f"{fn}: x (EM with argmax and clamp steps)")
  return _fit_jit(key, x, jnp.asarray(basis, x.dtype), cfg)


def fit_batch(keys, x, n_states: int, variant: str = "onehot", **kw) -> FitResult:
  """``fit`` vmapped over a leading batch of keys [B] and data sets ``x: [B, R, T, N]`` (seeds): one compile."""
  fn = "fit_batch"
  keys = jnp.asarray(keys)
  if keys.ndim != 2 or keys.shape[-1] != 2 or keys.dtype != jnp.uint32:
    raise TypeError(f"{fn}: keys: expected raw PRNG keys uint32 [B, 2], got {keys.dtype} {tuple(keys.shape)}")
  check_counts(x, "x", fn)
  if x.ndim != 4 or x.shape[0] != keys.shape[0]:
    raise ValueError(f"{fn}: x: expected [B={keys.shape[0]}, R, T, N], got shape {tuple(x.shape)}")
  basis = kw.pop("basis", None)
  defaults = dict(n_iter=20, n_mstep=50, lr=0.01, sigma=1 / 3, tau=0.2, tau_w=0.2, link="sigmoid",
                  self_history=False, threshold=0.1, init_scale=0.1, stay=0.98)
  unknown = set(kw) - set(defaults)
  if unknown:
    raise TypeError(f"{fn}: unexpected keyword arguments {sorted(unknown)}")
  defaults.update(kw)
  cfg = _config(n_states, variant, fn=fn, **defaults)
  basis = exp_basis() if basis is None else _check_basis(basis, fn)
  x = no_grad(jnp.asarray(x, jnp.float32), f"{fn}: x (EM with argmax and clamp steps)")
  return _fit_batch_jit(keys, x, jnp.asarray(basis, x.dtype), cfg)


fit.__doc__ += _DOC_ARGS + "  Returns: :class:`FitResult`. Not differentiable (argmax, clamps).\n"


def _eval_lik(result, x, basis, link, fn):
  check_counts(x, "x", fn)
  check_link(link, fn)
  if not isinstance(result, FitResult):
    raise TypeError(f"{fn}: result: expected a FitResult, got {type(result).__name__}")
  basis = exp_basis() if basis is None else _check_basis(basis, fn)
  if x.shape[-1] != result.W.shape[-1]:
    raise ValueError(f"{fn}: x: expected N = {result.W.shape[-1]} neurons, got shape {tuple(x.shape)}")
  x = jnp.asarray(x, jnp.float32)
  h = _history(x, jnp.asarray(basis, x.dtype))
  return _emission(x, h, result.W, result.b, link)


def state_posterior(result: FitResult, x, basis=None, link: str = "sigmoid") -> Posterior:
  """Forward-backward of the fitted model (evaluation weights) on ``x: [..., T, N]``: :class:`Posterior`."""
  ll = _eval_lik(result, x, basis, link, "state_posterior")
  if ll.ndim not in (2, 3):
    raise ValueError(f"state_posterior: x: expected [T, N] or [R, T, N], got {ll.ndim} dims")
  s = result.Pi.shape[-1]
  args = (jnp.log(result.Pi), jnp.full((s,), -jnp.log(float(s))))
  return _fb(ll, *args) if ll.ndim == 2 else jax.vmap(_fb, in_axes=(0, None, None))(ll, *args)


def loglik_per_bin(result: FitResult, x, basis=None, link: str = "sigmoid") -> jax.Array:
  """Marginal log-likelihood per bin, sum_r log p(x_r) / (R T), of ``x: [R, T, N]`` (held-out data) by the
  forward algorithm; differentiable in the fitted parameters."""
  ll = _eval_lik(result, x, basis, link, "loglik_per_bin")
  if ll.ndim != 3:
    raise ValueError(f"loglik_per_bin: x: expected [R, T, N], got {ll.ndim} dims")
  s = result.Pi.shape[-1]
  lp = jnp.log(result.Pi)
  f = lambda l: jax.scipy.special.logsumexp(_forward(l, lp, jnp.full((s,), -jnp.log(float(s))))[-1])
  return jnp.sum(jax.vmap(f)(ll)) / (ll.shape[0] * ll.shape[1])
