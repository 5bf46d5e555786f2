"""The models, losses, data and SGD simulator of paper 21 (Sclocchi, Geiger, Wyart, "Dissecting the Effects of SGD
Noise in Distinct Regimes of Deep Learning", ICML 2023, arXiv:2301.13703).

* The mean-field MLP ``f(w, x)``: no biases, weights N(0, 1), every hidden pre-activation divided by sqrt(fan_in), the
  activation normalised to unit second moment under N(0, 1) input, the read-out divided by the width ``h``
  (:func:`init_mlp`, :func:`mlp_apply`); the perceptron ``f(w, x) = w.x / sqrt(d)`` (:func:`perceptron_apply`).
* The centred output ``o(x) = f(w, x) - f(w0, x)`` and the per-sample loss ``l(alpha o, y) / alpha`` with the hinge
  ``max(0, 1 - z y)`` or its quadratic / smooth variants (:func:`scaled_loss`).
* SGD with a fresh batch of ``B`` distinct points per step, step size ``dt`` and temperature ``T = dt / (h B)``
  (:func:`dt_from_temperature`); run until every training point has ``alpha y o(x) >= 1`` or a step cap
  (:func:`train_until_fit`, a jitted ``lax.while_loop`` that vmaps over keys, temperatures and alphas).
* The perceptron's data with a depleted decision boundary (:func:`depleted_sign`: ``x_1`` has density proportional
  to ``|x_1|^chi exp(-x_1^2 / 2)``, ``y = sign(x_1)``) and its test error in closed form
  (:func:`perceptron_test_error`).
"""
from __future__ import annotations

import math
from functools import partial
from typing import Any, Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import scipy.special

_PKG = "models.sgd_noise"
ACTIVATIONS = ("relu", "silu", "gelu", "tanh")
LOSSES = ("hinge", "qhinge", "shinge")

# E[phi(z)^2] under z ~ N(0, 1), in closed form where there is one (relu: 1/2; tanh, silu and gelu by a
# 200-point Gauss-Hermite rule, exact to float64 rounding for these smooth functions).
_RAW = {"relu": jax.nn.relu, "silu": jax.nn.silu, "gelu": partial(jax.nn.gelu, approximate=False), "tanh": jnp.tanh}


def _second_moment(name: str) -> float:
  if name == "relu":
    return 0.5
  z, wts = np.polynomial.hermite_e.hermegauss(200)
  fz = {"silu": z / (1 + np.exp(-z)), "tanh": np.tanh(z),
        "gelu": z * 0.5 * (1 + np.vectorize(math.erf)(z / math.sqrt(2)))}[name]
  return float(np.sum(wts * fz ** 2) / np.sqrt(2 * np.pi))


_NORM = {n: 1.0 / math.sqrt(_second_moment(n)) for n in ACTIVATIONS}


def _is_tracer(v) -> bool:
  return isinstance(v, jax.core.Tracer)


def _positive(fn: str, name: str, v, what: str = "a positive float") -> None:
  if _is_tracer(v):
    return
  a = np.asarray(v, np.float64)
  if a.size == 0 or not np.all(np.isfinite(a)) or not np.all(a > 0):
    raise ValueError(f"{_PKG}.{fn}: {name}: expected {what}, got {v!r}")


def _int_at_least(fn: str, name: str, v, lo: int) -> int:
  if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
    raise ValueError(f"{_PKG}.{fn}: {name}: expected an int >= {lo}, got {v!r}")
  return int(v)


def normalized_activation(name: str) -> Callable[[jax.Array], jax.Array]:
  """``phi(z) / sqrt(E[phi(z)^2])`` for ``name`` in :data:`ACTIVATIONS` (unit second moment under N(0, 1))."""
  if name not in ACTIVATIONS:
    raise ValueError(f"{_PKG}.normalized_activation: name: expected one of {ACTIVATIONS}, got {name!r}")
  raw, c = _RAW[name], _NORM[name]
  return lambda z: raw(z) * c


def init_mlp(key: jax.Array, d: int, h: int, depth: int, dtype=jnp.float32) -> list[jax.Array]:
  """Weights of the mean-field MLP: ``depth`` hidden layers of width ``h`` and a read-out, all N(0, 1).

  Returns ``[W_1: [d, h], W_2: [h, h], ..., W_out: [h]]``.
  """
  d = _int_at_least("init_mlp", "d", d, 1)
  h = _int_at_least("init_mlp", "h", h, 1)
  depth = _int_at_least("init_mlp", "depth", depth, 1)
  keys = jax.random.split(key, depth + 1)
  shapes = [(d, h)] + [(h, h)] * (depth - 1) + [(h,)]
  return [jax.random.normal(k, s, dtype) for k, s in zip(keys, shapes)]


def mlp_apply(params: Sequence[jax.Array], x: jax.Array, activation: str = "relu") -> jax.Array:
  """``f(w, x)``: ``x: [N, d]`` -> ``[N]``; pre-activations ``z W / sqrt(fan_in)``, read-out ``phi(z) w / h``."""
  if not isinstance(params, (list, tuple)) or len(params) < 2:
    raise ValueError(f"{_PKG}.mlp_apply: params: expected a list of >= 2 weight arrays (init_mlp), got "
                     f"{type(params).__name__}")
  if x.ndim != 2 or x.shape[1] != params[0].shape[0]:
    raise ValueError(f"{_PKG}.mlp_apply: x: expected [N, d={params[0].shape[0]}], got shape {x.shape}")
  phi = normalized_activation(activation)
  z = x
  for w in params[:-1]:
    z = phi(z @ w / math.sqrt(w.shape[0]))
  return z @ params[-1] / params[-1].shape[0]


def perceptron_apply(w: jax.Array, x: jax.Array) -> jax.Array:
  """``f(w, x) = x . w / sqrt(d)``: ``w: [d]``, ``x: [N, d]`` -> ``[N]``."""
  if w.ndim != 1 or x.ndim != 2 or x.shape[1] != w.shape[0]:
    raise ValueError(f"{_PKG}.perceptron_apply: x: expected [N, d={w.shape[0] if w.ndim == 1 else '?'}] with w: "
                     f"[d], got x {x.shape} and w {w.shape}")
  return x @ w / math.sqrt(w.shape[0])


def _base_loss(name: str, z: jax.Array) -> jax.Array:
  # z = alpha * o * y (the scaled margin)
  if name == "hinge":
    return jax.nn.relu(1.0 - z)
  if name == "qhinge":
    return jax.nn.relu(1.0 - z) ** 2
  # smooth hinge: s(u) u with s(u) = exp(-1/u) for u > 0 (zero for u <= 0), u = 1 - z; C-infinity, vanishes for z >= 1
  u = 2.0 * (1.0 - z)
  safe = jnp.where(u > 0, u, 1.0)
  return jnp.where(u > 0, jnp.exp(-1.0 / safe), 0.0) * (1.0 - z)


def scaled_loss(o: jax.Array, y: jax.Array, alpha, loss: str = "hinge") -> jax.Array:
  """Per-sample ``l(alpha o, y) / alpha``: ``o, y: [N]`` (y in {-1, +1}) -> ``[N]``; zero iff ``alpha y o >= 1``.

  ``loss``: ``"hinge"`` ``max(0, 1 - z)``, ``"qhinge"`` its square, ``"shinge"`` the smooth hinge
  ``exp(-1 / (2 (1 - z))) (1 - z)`` (0 for ``z >= 1``), all of ``z = alpha y o``.
  """
  if loss not in LOSSES:
    raise ValueError(f"{_PKG}.scaled_loss: loss: expected one of {LOSSES}, got {loss!r}")
  _positive("scaled_loss", "alpha", alpha)
  return _base_loss(loss, alpha * o * y) / alpha


def dt_from_temperature(temperature, h, batch):
  """The SGD step size ``dt = T h B`` of temperature ``T = dt / (h B)`` (``h = 1`` for the perceptron)."""
  _positive("dt_from_temperature", "temperature", temperature)
  _positive("dt_from_temperature", "h", h)
  _positive("dt_from_temperature", "batch", batch)
  return temperature * h * batch


# ---------------------------------------------------------------------------------------------------
# Data.


def depleted_sign(key: jax.Array, n: int, d: int, chi: float, dtype=jnp.float32) -> tuple[jax.Array, jax.Array]:
  """``n`` points in ``d`` dimensions: ``x_i ~ N(0, 1)`` for ``i >= 2``, ``x_1 = y sqrt(2 G)`` with
  ``G ~ Gamma((chi + 1) / 2)`` and ``y = +-1`` equally likely, so ``x_1`` has density proportional to
  ``|x_1|^chi exp(-x_1^2 / 2)`` (``chi = 0``: Gaussian; ``chi > 0`` depletes the boundary ``x_1 = 0``);
  ``E x_1^2 = chi + 1``. Returns ``(x: [n, d], y: [n])``.
  """
  n = _int_at_least("depleted_sign", "n", n, 1)
  d = _int_at_least("depleted_sign", "d", d, 1)
  if not _is_tracer(chi) and (not np.all(np.isfinite(chi)) or np.any(np.asarray(chi) <= -1)):
    raise ValueError(f"{_PKG}.depleted_sign: chi: expected a float > -1, got {chi!r}")
  return _depleted(key, n, d, jnp.asarray(chi, dtype), dtype)


@partial(jax.jit, static_argnums=(1, 2, 4))
def _depleted(key, n, d, chi, dtype):
  kx, kg, ky = jax.random.split(key, 3)
  x = jax.random.normal(kx, (n, d), dtype)
  g = jax.random.gamma(kg, (chi + 1.0) / 2.0, (n,), dtype)
  y = jnp.where(jax.random.bernoulli(ky, 0.5, (n,)), 1.0, -1.0).astype(dtype)
  return x.at[:, 0].set(y * jnp.sqrt(2.0 * g)), y


def _norm_cdf(z):
  return 0.5 * jax.scipy.special.erfc(-z / math.sqrt(2.0))


def perceptron_test_error(u1, u_perp, chi: float, *, num: int = 64, closed_form: bool = True):
  """Test error of ``sign(u . x)`` on :func:`depleted_sign` data: ``E_{x_1}[Phi(-|x_1| u1 / ||u_perp||)]``.

  Args:
    u1: the informative weight (any sign; array); u_perp: ``||u_perp|| >= 0`` (the norm of the other components).
    chi: the depletion exponent, a concrete float > -1 (the quadrature rule is built from it on the host).
    num: quadrature nodes (>= 8). closed_form: with ``chi = 0`` use ``arctan2(||u_perp||, u1) / pi``; False forces
      the quadrature (used by the tests to check one against the other).
  The quadrature is ``num``-point Gauss-Jacobi with weight ``r^chi`` on ``r = |x_1| in [0, R]`` and the smooth
  factor ``exp(-r^2 / 2) Phi(-k r)`` (``k = u1 / ||u_perp||``), ``R = min(12, 12 / |k|)`` per element, so the
  rule resolves the region where ``Phi(-k r)`` changes at any ``k`` (the part beyond R is below 1e-30 of the
  total for ``k >= 0``; for ``k < 0`` the error is ``1 - error(-k)``).
  Returns the error (the broadcast shape of u1 and u_perp). ``u_perp = 0`` gives 0 (u1 > 0), 1/2 (u1 = 0) or 1.
  """
  fn = "perceptron_test_error"
  if _is_tracer(chi) or isinstance(chi, bool) or not isinstance(chi, (int, float, np.integer, np.floating)):
    raise TypeError(f"{_PKG}.{fn}: chi: expected a concrete float > -1, got {type(chi).__name__}")
  if not np.isfinite(chi) or chi <= -1:
    raise ValueError(f"{_PKG}.{fn}: chi: expected a float > -1, got {chi!r}")
  num = _int_at_least(fn, "num", num, 8)
  if not _is_tracer(u_perp) and np.any(np.asarray(u_perp) < 0):
    raise ValueError(f"{_PKG}.{fn}: u_perp: expected a norm >= 0, got {u_perp!r}")
  u1, up = jnp.asarray(u1), jnp.asarray(u_perp)
  dtype = jnp.result_type(u1, up, jnp.float32)
  u1, up = jnp.broadcast_arrays(u1.astype(dtype), up.astype(dtype))
  if chi == 0 and closed_form:
    return jnp.arctan2(up, u1) / math.pi            # the angle between u and e_1, over pi
  chi = float(chi)
  # Gauss-Jacobi on [-1, 1] with weight (1 + v)^chi; r = R (1 + v) / 2 maps it to r^chi on [0, R]
  v, wv = scipy.special.roots_jacobi(num, 0.0, chi)
  v, wv = jnp.asarray(v, dtype), jnp.asarray(wv, dtype)
  safe = jnp.where(up > 0, up, 1.0)
  k = jnp.abs(jnp.where(up > 0, u1 / safe, 0.0))
  rmax = jnp.minimum(12.0, 12.0 / jnp.maximum(k, 1e-30))
  r = rmax[..., None] * (1.0 + v) / 2.0
  # density of r = |x_1|: 2^((1 - chi)/2) r^chi exp(-r^2/2) / Gamma((chi + 1)/2)
  logc = (1.0 - chi) / 2.0 * math.log(2.0) - math.lgamma((chi + 1.0) / 2.0)
  scale = math.exp(logc) * (rmax / 2.0) ** (chi + 1.0)
  half = scale * jnp.sum(wv * jnp.exp(-r * r / 2.0) * _norm_cdf(-k[..., None] * r), axis=-1)
  err = jnp.where(u1 >= 0, half, 1.0 - half)
  sign = jnp.where(u1 > 0, 0.0, jnp.where(u1 < 0, 1.0, 0.5)).astype(dtype)
  return jnp.where(up > 0, err, sign)


# ---------------------------------------------------------------------------------------------------
# SGD until every training point is fitted.


class SGDResult(NamedTuple):
  """What :func:`train_until_fit` returns (leading dims follow any vmap).

  Attributes:
    w: the final weights (a pytree like ``w0``).
    steps: SGD steps until the fit (exact: one past the last step that changed ``w``) or the cap.
    t: ``dt * steps`` (the paper's training time t*).
    fitted: whether ``min_mu alpha y_mu o(x_mu) >= 1`` at the stop (False = censored by the cap).
    unfit: training points with ``alpha y o < 1`` at the stop.
    min_margin: ``min_mu alpha y_mu o(x_mu)`` at the stop.
  """
  w: Any
  steps: jax.Array
  t: jax.Array
  fitted: jax.Array
  unfit: jax.Array
  min_margin: jax.Array


def train_until_fit(apply: Callable[[Any, jax.Array], jax.Array], w0: Any, x: jax.Array, y: jax.Array, key: jax.Array,
                    *, alpha, dt, batch: int, max_steps: int, loss: str = "hinge",
                    check_every: int = 1) -> SGDResult:
  """SGD on ``mean_batch l(alpha o, y) / alpha`` with ``o = apply(w, x) - apply(w0, x)`` until every training point
  has ``alpha y o >= 1`` or ``max_steps``; jit- and vmap-friendly (``alpha``, ``dt``, ``key`` may be traced).

  Args:
    apply: ``apply(w, x: [N, d]) -> [N]`` (:func:`mlp_apply` with its activation bound, :func:`perceptron_apply`).
    w0: the initial weights (also the centring point); x: ``[P, d]``, y: ``[P]`` in {-1, +1}; key: the batch key.
    alpha: output scale (> 0); dt: step size (> 0; ``dt_from_temperature``); batch: ``B`` distinct points per step
      (``B = P`` is full-batch gradient descent and uses no randomness); max_steps: the cap (>= 1).
    loss: one of :data:`LOSSES` (each is zero with zero gradient once ``alpha y o >= 1``).
    check_every: epochs (of ``P // B`` steps; one step for ``B = P``) between full-training-set fit checks; the
      step count is exact regardless, because a fitted set gives zero gradients (no step after the fit changes
      ``w``) and the loop records the last step that had an unfit point in its batch.

  Batches: each epoch draws a fresh permutation of the P points and cuts it into ``P // B`` batches (the
  ``P mod B`` left over sit that epoch out), so every batch is marginally a uniform random B-subset, as in the
  reference's fresh subset per step; consecutive batches of an epoch are disjoint instead of independent (a
  permutation per step costs P log P per step).
  Returns :class:`SGDResult`.
  """
  fn = "train_until_fit"
  if x.ndim != 2 or y.shape != (x.shape[0],):
    raise ValueError(f"{_PKG}.{fn}: x, y: expected [P, d] and [P], got {x.shape} and {y.shape}")
  p = x.shape[0]
  _positive(fn, "alpha", alpha)
  _positive(fn, "dt", dt)
  batch = _int_at_least(fn, "batch", batch, 1)
  if batch > p:
    raise ValueError(f"{_PKG}.{fn}: batch: expected B <= P = {p}, got {batch}")
  max_steps = _int_at_least(fn, "max_steps", max_steps, 1)
  check_every = _int_at_least(fn, "check_every", check_every, 1)
  if loss not in LOSSES:
    raise ValueError(f"{_PKG}.{fn}: loss: expected one of {LOSSES}, got {loss!r}")
  if not _is_tracer(y) and not np.all(np.abs(np.asarray(y)) == 1):
    raise ValueError(f"{_PKG}.{fn}: y: expected labels in {{-1, +1}}")
  out0 = apply(w0, x)
  per_epoch = p // batch

  def batch_loss(w, xb, yb, ob):
    return jnp.mean(_base_loss(loss, alpha * (apply(w, xb) - ob) * yb)) / alpha

  grad = jax.grad(batch_loss)

  def sgd_step(carry, idx):
    w, step, last = carry
    xb, yb, ob = x[idx], y[idx], out0[idx]
    active = jnp.any(alpha * (apply(w, xb) - ob) * yb < 1.0)
    g = grad(w, xb, yb, ob)
    live = step < max_steps
    w = jax.tree.map(lambda a, b: jnp.where(live, a - dt * b, a), w, g)
    last = jnp.where(live & active, step, last)
    return (w, step + live.astype(step.dtype), last), None

  def margins(w):
    return alpha * (apply(w, x) - out0) * y

  def cond(c):
    w, k, step, last, fitted = c
    return (~fitted) & (step < max_steps)

  def body(c):
    w, k, step, last, _ = c
    if batch == p:                      # full batch: gradient descent, no randomness
      order = jnp.broadcast_to(jnp.arange(p), (check_every, 1, p))
    else:                               # a fresh permutation per epoch, cut into P // B batches of distinct points
      k, ke = jax.random.split(k)
      perms = jax.vmap(lambda kk: jax.random.permutation(kk, p))(jax.random.split(ke, check_every))
      order = perms[:, :per_epoch * batch].reshape(check_every, per_epoch, batch)
    (w, step, last), _ = jax.lax.scan(sgd_step, (w, step, last), order.reshape(-1, batch))
    return w, k, step, last, jnp.all(margins(w) >= 1.0)

  init = (w0, key, jnp.int32(0), jnp.int32(-1), jnp.all(margins(w0) >= 1.0))
  w, _, step, last, fitted = jax.lax.while_loop(cond, body, init)
  steps = jnp.where(fitted, last + 1, step)
  m = margins(w)
  return SGDResult(w, steps, steps * jnp.asarray(dt, jnp.float32), fitted, jnp.sum(m < 1.0), jnp.min(m))
