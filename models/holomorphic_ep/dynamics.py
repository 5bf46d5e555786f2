"""Generalised and holomorphic equilibrium propagation on discrete dynamics u <- F(u), with the RBP reference,
a BP baseline and the Jacobian-homeostasis loss.

Paper: A. Laborieux, F. Zenke, "Improving equilibrium propagation without weight symmetry through Jacobian
homeostasis", ICLR 2024 (arXiv:2309.02214). Official code: Laborieux-Axel/generalized-holo-ep
(``models/dyn.py``, ``models/vfs.py``); the names below follow it.

Notation (shapes with named dims; ``B`` = batch, ``n`` = neurons of one example):

* states ``u = {"l1": [B, h1], "l2": [B, h2], "out": [B, o]}``; activated states rho(u);
* F_post(u) = sum_{pre -> post} rho(u_pre) K_{pre->post} (+ a bias on feed-forward edges; feedback edges have
  none), and the nudge F_out += beta * dl/drho(u_out), where l = softmax cross-entropy of a linear readout of
  rho(u_out). The sign is the official code's (+beta): d rho(u*_beta)/d beta then points along +grad l and is
  fed to the optimiser as is (classic EP nudges by -beta and flips the sign).
* free phase: T1 steps of u <- F(u) from u = 0 with beta = 0 gives u*; nudged phases: T2 steps from u*.
* the hEP weight gradient g = (dF/dW)^T (d rho / d beta) / B + the readout's own gradient (``hep_gradient``);
  the RBP reference replaces d rho / d beta by delta = (I - J_u^T)^{-1} dl/du, iterated as
  delta <- J_u^T delta + dl/du (``rbp_delta``); EP effectively uses (I - J_u)^{-1}: the two agree iff the weights
  are symmetric.
* homeostatic loss L_h = E_eps[ ||J eps||^2 - eps^T J^2 eps ] / n with J = d(F - id)/d rho at rho(u*) (the
  official ``vfield_no_act``): E L_h = (||J||_F^2 - tr J^2) / n = ||J - J^T||_F^2 / (2 n); the identity cancels.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "ACTIVATIONS", "ARCHITECTURES", "STATE_KEYS", "EPVectorField", "activate", "zero_state", "flatten_state",
    "vector_field", "relax", "free_phase", "residual", "check_converged", "cauchy_derivative", "du_dbeta",
    "hep_gradient", "readout_gradient", "weight_vjp", "rbp_delta", "rbp_gradient", "bptt_gradient",
    "online_du_dbeta", "online_gradient", "homeostatic_loss", "jacobian", "jacobian_symmetry",
    "rotate_feedback", "gradient_cosine", "cross_entropy", "accuracy",
]

# "sigmoid" is the official code's (utils/funcs.py): 1 / (1 + exp(-4 z + 2)), slope 1 at z = 1/2, poles at
# z = 1/2 + i pi (2k + 1) / 4; "logistic" is the plain 1 / (1 + exp(-z)); "identity" gives a linear network
# (tests: closed forms).
ACTIVATIONS = ("sigmoid", "logistic", "identity")

# name -> edges (pre, post, has_bias); "in" is the clamped input.
ARCHITECTURES: dict[str, tuple[tuple[str, str, bool], ...]] = {
    # arch/mlp_2-256.json: feed-forward in -> l1 -> l2 -> out with feedback l2 -> l1 and out -> l2
    "mlp": (("in", "l1", True), ("l1", "l2", True), ("l2", "l1", False), ("l2", "out", True),
            ("out", "l2", False)),
    # arch/loop_mnist.json: feed-forward plus one feedback out -> l1 (no reciprocal pair)
    "loop": (("in", "l1", True), ("l1", "l2", True), ("l2", "out", True), ("out", "l1", False)),
}
STATE_KEYS = ("l1", "l2", "out")


def _fail(fn: str, arg: str, expected: str, got: Any, error=ValueError):
  raise error(f"{fn}: {arg}: expected {expected}, got {got!r}")


def activate(u: jax.Array, name: str = "sigmoid") -> jax.Array:
  """rho(u), elementwise; holomorphic, so it accepts complex ``u``."""
  if name == "identity":
    return u
  z = 4.0 * u - 2.0 if name == "sigmoid" else u
  if name not in ("sigmoid", "logistic"):
    _fail("activate", "name", f"one of {ACTIVATIONS}", name)
  if jnp.iscomplexobj(z):
    return 1.0 / (1.0 + jnp.exp(-z))
  return jax.nn.sigmoid(z)


_act = activate


def _softmax(z: jax.Array) -> jax.Array:
  """Softmax over the last axis that also works for complex logits (holomorphic continuation)."""
  m = jax.lax.stop_gradient(jnp.max(jnp.real(z), axis=-1, keepdims=True))
  e = jnp.exp(z - m)
  return e / jnp.sum(e, axis=-1, keepdims=True)


def cross_entropy(logits: jax.Array, y: jax.Array) -> jax.Array:
  """Per-example softmax cross-entropy -sum_c y_c log softmax(logits)_c; ``logits, y: [B, C]`` -> ``[B]``."""
  if logits.shape != y.shape:
    _fail("cross_entropy", "y", f"one-hot labels of the logits' shape {logits.shape}", y.shape)
  return -jnp.sum(y * jax.nn.log_softmax(logits, axis=-1), axis=-1)


def accuracy(logits: jax.Array, y: jax.Array) -> jax.Array:
  """Fraction of rows whose argmax logit is the argmax of the one-hot ``y``."""
  if logits.shape != y.shape:
    _fail("accuracy", "y", f"one-hot labels of the logits' shape {logits.shape}", y.shape)
  return jnp.mean(jnp.argmax(logits, -1) == jnp.argmax(y, -1))


class EPVectorField(nn.Module):
  """The discrete MLP vector field of ``models/vfs.py::mlp_discrete_vf`` with a softmax readout.

  ``apply(params, u, x, y, beta, activate=True) -> (F(u), logits, rho(u))``: ``u`` a state dict (``STATE_KEYS``),
  ``x: [B, D]``, ``y: [B, C]`` one-hot, ``beta`` a real or complex scalar. With ``activate=False`` the given
  ``u`` is used as rho(u) (the Jacobian with respect to the activated states). Parameters: one ``nn.Dense``
  per edge named ``"pre-post"`` (feedback edges without bias) and ``"readout"``; pass complex parameters
  (cast the tree) to run the holomorphic dynamics. No RNG stream besides ``params``.
  """
  hidden: tuple[int, int] = (128, 128)
  out_size: int = 10
  num_classes: int = 10
  arch: str = "mlp"
  activation: str = "sigmoid"
  dt: float = 1.0

  def sizes(self) -> dict[str, int]:
    return {"l1": self.hidden[0], "l2": self.hidden[1], "out": self.out_size}

  def check(self) -> None:
    if self.arch not in ARCHITECTURES:
      _fail("EPVectorField", "arch", f"one of {sorted(ARCHITECTURES)}", self.arch)
    if self.activation not in ACTIVATIONS:
      _fail("EPVectorField", "activation", f"one of {ACTIVATIONS}", self.activation)
    if len(tuple(self.hidden)) != 2 or any(not isinstance(h, int) or h < 1 for h in self.hidden):
      _fail("EPVectorField", "hidden", "two positive ints (l1, l2)", self.hidden)
    if not (isinstance(self.dt, (int, float)) and 0 < self.dt <= 1):
      _fail("EPVectorField", "dt", "a step size in (0, 1] (1 = the official discrete dynamics u <- F(u))", self.dt)
    for f in ("out_size", "num_classes"):
      v = getattr(self, f)
      if not isinstance(v, int) or v < 1:
        _fail("EPVectorField", f, "a positive int", v)

  @nn.compact
  def __call__(self, u: dict, x: jax.Array, y: jax.Array, beta: Any = 0.0, *, activate: bool = True):
    self.check()
    sizes = self.sizes()
    if not isinstance(u, dict) or set(u) != set(STATE_KEYS):
      _fail("EPVectorField", "u", f"a dict with keys {STATE_KEYS}", type(u).__name__ if not isinstance(u, dict)
            else sorted(u))
    if x.ndim != 2:
      _fail("EPVectorField", "x", "a [B, D] array", x.shape)
    for k in STATE_KEYS:
      if u[k].shape != (x.shape[0], sizes[k]):
        _fail("EPVectorField", f"u[{k!r}]", f"shape {(x.shape[0], sizes[k])}", u[k].shape)
    if y.shape != (x.shape[0], self.num_classes):
      _fail("EPVectorField", "y", f"one-hot labels of shape {(x.shape[0], self.num_classes)}", y.shape)
    act = {k: _act(u[k], self.activation) for k in STATE_KEYS} if activate else dict(u)
    layer_in = {"in": x, **act}
    new = {k: None for k in STATE_KEYS}
    for pre, post, bias in ARCHITECTURES[self.arch]:
      h = nn.Dense(sizes[post], use_bias=bias, name=f"{pre}-{post}")(layer_in[pre])
      new[post] = h if new[post] is None else new[post] + h
    readout = nn.Dense(self.num_classes, name="readout")
    logits = readout(act["out"])
    kernel = readout.variables["params"]["kernel"]
    dl_drho = (_softmax(logits) - y) @ kernel.T        # d l / d rho(u_out), per example
    new["out"] = new["out"] + beta * dl_drho
    return new, logits, act


# ---------------------------------------------------------------------------------------------------
# States and relaxation.

def _check_model(fn: str, model: Any) -> None:
  if not isinstance(model, EPVectorField):
    _fail(fn, "model", "an EPVectorField", type(model).__name__, TypeError)


def _check_state(fn: str, name: str, u: Any) -> None:
  if not isinstance(u, dict) or set(u) != set(STATE_KEYS):
    _fail(fn, name, f"a state dict with keys {STATE_KEYS}", sorted(u) if isinstance(u, dict) else type(u).__name__)


def zero_state(model: EPVectorField, batch: int, dtype=jnp.float32) -> dict:
  """u = 0 for a batch of ``batch`` examples."""
  _check_model("zero_state", model)
  return {k: jnp.zeros((batch, s), dtype) for k, s in model.sizes().items()}


def flatten_state(u: dict) -> jax.Array:
  """``[B, n]``: the state's leaves concatenated in ``STATE_KEYS`` order."""
  _check_state("flatten_state", "u", u)
  return jnp.concatenate([u[k] for k in STATE_KEYS], axis=-1)


def _cdtype(dtype) -> Any:
  return jnp.result_type(dtype, jnp.complex64)


def _to(tree, dtype):
  return jax.tree.map(lambda a: a.astype(dtype), tree)


def vector_field(model: EPVectorField, params, u: dict, x, y, beta=0.0) -> dict:
  """F(u) (the next state of the discrete dynamics)."""
  return model.apply(params, u, x, y, beta)[0]


def _check_steps(fn: str, name: str, steps: Any) -> None:
  if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
    _fail(fn, name, "an int >= 1", steps)


def relax(model: EPVectorField, params, u0: dict, x, y, beta, steps: int) -> dict:
  """``steps`` iterations of u <- F(u) from ``u0`` at nudge ``beta`` (``lax.fori_loop``).

  A complex ``beta`` runs the holomorphic dynamics: parameters, state and input are cast to complex.
  """
  _check_steps("relax", "steps", steps)
  if isinstance(beta, complex) or jnp.iscomplexobj(beta) or any(jnp.iscomplexobj(v) for v in u0.values()):
    cd = _cdtype(x.dtype)
    params, u0, x, y = _to(params, cd), _to(u0, cd), x.astype(cd), y.astype(cd)
  else:   # the state takes the promoted dtype of inputs and parameters (a fixed carry type for the loop)
    dt = jnp.result_type(x.dtype, *[a.dtype for a in jax.tree.leaves(params)], *[v.dtype for v in u0.values()])
    u0 = _to(u0, dt)
  return jax.lax.fori_loop(0, steps, lambda _, u: _step(model, params, u, x, y, beta), u0)


def _step(model, params, u, x, y, beta):
  f = vector_field(model, params, u, x, y, beta)
  if model.dt == 1.0:
    return f
  return jax.tree.map(lambda a, b: a + model.dt * (b - a), u, f)


def free_phase(model: EPVectorField, params, x, y, steps: int) -> dict:
  """The free fixed point u*: ``steps`` (T1) iterations from u = 0 at beta = 0. ``y`` only enters the
  (zero) nudge."""
  _check_steps("free_phase", "T1", steps)
  return relax(model, params, zero_state(model, x.shape[0], x.dtype), x, y, 0.0, steps)


def residual(model: EPVectorField, params, u: dict, x, y) -> jax.Array:
  """``[B]``: ||F(u) - u|| per example at beta = 0 (the fixed-point residual the official code logs)."""
  f = vector_field(model, params, u, x, y, 0.0)
  return jnp.linalg.norm(flatten_state(f) - flatten_state(u), axis=-1)


def check_converged(model: EPVectorField, params, u: dict, x, y, tol: float = 1e-5, *,
                    fn: str = "check_converged") -> float:
  """Raises ``ValueError`` (naming ``fn`` and the residual) unless max_b ||F(u) - u|| <= ``tol``; returns it.

  Needs concrete values (call it outside ``jit``, before any gradient is computed).
  """
  if not (isinstance(tol, (int, float)) and tol > 0):
    _fail(fn, "tol", "a positive float", tol)
  r = float(jnp.max(residual(model, params, u, x, y)))
  if not r <= tol:
    raise ValueError(f"{fn}: the free phase did not converge: max residual ||F(u) - u|| = {r:.3e} > tol = "
                     f"{tol:g}; raise T1, or the weights' scale makes u <- F(u) non-contracting")
  return r


# ---------------------------------------------------------------------------------------------------
# Derivative of the nudged fixed point with respect to beta.

def cauchy_derivative(f: Callable[[Any], Any], beta: float, n_points: int, *, f0: Any = None) -> Any:
  """Estimate of f'(0) from ``n_points`` evaluations on the circle |b| = ``beta`` (``du_dbeta`` of the paper).

  * N = 0: the exact derivative by forward mode (``jax.jvp`` at b = 0);
  * N = 1: (f(beta) - f(0)) / beta (``f0`` = f(0) if given, else evaluated);
  * N = 2: (f(beta) - f(-beta)) / (2 beta);
  * N > 2: the discrete Cauchy integral (1/N) sum_k f(b_k) / b_k, b_k = beta e^{2 pi i k / N}, evaluated on
    complex b. f must be real on the real axis (f(conj b) = conj f(b)), so only k <= N/2 is computed and the
    points 0 < k < N/2 count twice by their real part. NaN/inf from the complex points are zeroed
    (``nan_to_num``, as the official code does).

  For f(b) = sum_m a_m b^m the N >= 1 estimate is a_1 + a_{N+1} beta^N + a_{2N+1} beta^{2N} + ...: exact for
  polynomials of degree <= N. ``f`` maps a scalar to a pytree of arrays; the result is real.
  """
  if isinstance(n_points, bool) or not isinstance(n_points, (int, np.integer)) or n_points < 0:
    _fail("cauchy_derivative", "n_points", "an int >= 0 (0 = exact forward mode)", n_points)
  if n_points == 0:
    return jax.jvp(f, (jnp.zeros(()),), (jnp.ones(()),))[1]
  if isinstance(beta, (int, float, np.floating, np.integer)) and not (math.isfinite(beta) and beta != 0):
    _fail("cauchy_derivative", "beta", f"a finite nonzero float with n_points = {n_points} >= 1", beta)
  if n_points == 1:
    base = f(0.0) if f0 is None else f0
    return jax.tree.map(lambda a, b: (a - b) / beta, f(beta), base)
  acc = jax.tree.map(lambda a: a / beta, f(beta))
  if n_points % 2 == 0:
    acc = jax.tree.map(lambda a, b: a - b / beta, acc, f(-beta))
  for k in range(1, (n_points + 1) // 2):
    bk = beta * complex(math.cos(2 * math.pi * k / n_points), math.sin(2 * math.pi * k / n_points))
    fk = jax.tree.map(jnp.nan_to_num, f(bk))
    acc = jax.tree.map(lambda a, b: a + 2.0 * jnp.real(b / bk).astype(a.dtype), acc, fk)
  return jax.tree.map(lambda a: a / n_points, acc)


def du_dbeta(model: EPVectorField, params, u_star: dict, x, y, beta: float, n_points: int, steps: int) -> dict:
  """d rho(u*_beta) / d beta at beta = 0, by :func:`cauchy_derivative` over nudged relaxations of ``steps``
  (T2) iterations started at the free fixed point ``u_star`` (N = 1 uses rho(u_star) as f(0))."""
  _check_steps("du_dbeta", "T2", steps)

  def f(b):
    u = relax(model, params, u_star, x, y, b, steps)
    return {k: activate(u[k], model.activation) for k in STATE_KEYS}

  f0 = {k: activate(u_star[k], model.activation) for k in STATE_KEYS} if n_points == 1 else None
  return cauchy_derivative(f, beta, n_points, f0=f0)


def weight_vjp(model: EPVectorField, params, u: dict, x, y, cotangent: dict) -> Any:
  """(dF/dW)^T cotangent at state ``u`` and beta = 0 (summed over the batch)."""
  _check_state("weight_vjp", "cotangent", cotangent)
  _, pull = jax.vjp(lambda w: vector_field(model, w, u, x, y, 0.0), params)
  return pull(cotangent)[0]


def readout_gradient(model: EPVectorField, params, u: dict, x, y) -> Any:
  """Gradient of the batch-mean cross-entropy at fixed ``u``: nonzero for the readout only."""
  return jax.grad(lambda w: jnp.mean(cross_entropy(model.apply(w, u, x, y, 0.0)[1], y)))(params)


def _combine(model, params, u, x, y, cot):
  g = weight_vjp(model, params, u, x, y, cot)
  g = jax.tree.map(lambda a: a / x.shape[0], g)
  return jax.tree.map(jnp.add, g, readout_gradient(model, params, u, x, y))


def hep_gradient(model: EPVectorField, params, u_star: dict, x, y, beta: float, n_points: int, steps: int) -> Any:
  """The (holomorphic) EP weight gradient (``hep_vf``): (dF/dW)^T (d rho / d beta) / B plus the readout's
  gradient; an estimate of the gradient of the batch-mean loss (exact iff the Jacobian is symmetric, up to the
  estimator's O(beta^N) error)."""
  return _combine(model, params, u_star, x, y, du_dbeta(model, params, u_star, x, y, beta, n_points, steps))


def rbp_delta(model: EPVectorField, params, u_star: dict, x, y, steps: int) -> tuple[dict, jax.Array]:
  """Recurrent backprop (``delta_rbp``): ``steps`` iterations of delta <- J_u^T delta + dl/du from 0, with
  J_u = dF/du at ``u_star`` and l the summed cross-entropy (damped by the model's ``dt``: same fixed point).
  Returns ``(delta, [B] norms of the last residual J_u^T delta + dl/du - delta)``."""
  _check_steps("rbp_delta", "steps", steps)
  dl_du = jax.grad(lambda u: jnp.sum(cross_entropy(model.apply(params, u, x, y, 0.0)[1], y)))(u_star)
  _, pull = jax.vjp(lambda u: vector_field(model, params, u, x, y, 0.0), u_star)

  def body(_, carry):
    d, _old = carry
    target = jax.tree.map(jnp.add, pull(d)[0], dl_du)
    new = jax.tree.map(lambda a, b: a + model.dt * (b - a), d, target)
    return new, jax.tree.map(jnp.subtract, target, d)

  zero = jax.tree.map(jnp.zeros_like, dl_du)
  delta, step = jax.lax.fori_loop(0, steps, body, (zero, zero))
  return delta, jnp.linalg.norm(flatten_state(step), axis=-1)


def rbp_gradient(model: EPVectorField, params, u_star: dict, x, y, steps: int) -> Any:
  """The RBP reference gradient (``rbp``): (dF/dW)^T delta / B plus the readout's gradient; at a converged
  fixed point it is the exact gradient of the batch-mean loss of rho(u*) (implicit function theorem)."""
  return _combine(model, params, u_star, x, y, rbp_delta(model, params, u_star, x, y, steps)[0])


def bptt_gradient(model: EPVectorField, params, x, y, steps: int) -> Any:
  """The BP baseline: backprop through the whole unrolled free phase (``steps`` iterations from 0) of the
  batch-mean cross-entropy of the readout at the last state."""
  _check_steps("bptt_gradient", "T1", steps)

  def loss(w):
    u = relax(model, w, zero_state(model, x.shape[0], x.dtype), x, y, 0.0, steps)
    return jnp.mean(cross_entropy(model.apply(w, u, x, y, 0.0)[1], y))
  return jax.grad(loss)(params)


# ---------------------------------------------------------------------------------------------------
# The online variant: beta rotates continuously.

def online_du_dbeta(model: EPVectorField, params, u0: dict, x, y, beta: float, points: int,
                    steps: int) -> tuple[dict, dict]:
  """The online rotating nudge (``online_fwd``): for i = 0..points-1, beta_i = beta e^{2 pi i / points}, run
  ``steps`` iterations at beta_i (no reset) and accumulate u and rho(u) / beta_i.

  Returns ``(mean state, mean of rho / beta_i)`` (real parts): the second approximates d rho / d beta (the
  ``points``-point Cauchy estimate when every phase equilibrates), the first the free fixed point.
  """
  if isinstance(points, bool) or not isinstance(points, (int, np.integer)) or points < 2:
    _fail("online_du_dbeta", "points", "an int >= 2 (phases per period)", points)
  _check_steps("online_du_dbeta", "steps", steps)
  if not (isinstance(beta, (int, float)) and math.isfinite(beta) and beta != 0):
    _fail("online_du_dbeta", "beta", "a finite nonzero float", beta)
  cd = _cdtype(x.dtype)
  pc, xc, yc, uc = _to(params, cd), x.astype(cd), y.astype(cd), _to(u0, cd)

  def body(i, carry):
    u, avg, amp = carry
    b = beta * jnp.exp(2j * jnp.pi * i / points).astype(cd)
    u = jax.lax.fori_loop(0, steps, lambda _, v: _step(model, pc, v, xc, yc, b), u)
    a = model.apply(pc, u, xc, yc, b)[2]
    return u, jax.tree.map(jnp.add, avg, u), jax.tree.map(lambda s, r: s + r / b, amp, a)

  zero = jax.tree.map(jnp.zeros_like, uc)
  _, avg, amp = jax.lax.fori_loop(0, points, body, (uc, zero, zero))
  real = lambda t: jax.tree.map(lambda a: (jnp.real(a) / points).astype(x.dtype), t)  # noqa: E731
  return real(avg), real(amp)


def online_gradient(model: EPVectorField, params, u0: dict, x, y, beta: float, points: int, steps: int) -> Any:
  """Weight gradient of the online variant (``online_grad``): the VJP at the mean state with the mean
  rho / beta_i, plus the readout's gradient there."""
  avg, amp = online_du_dbeta(model, params, u0, x, y, beta, points, steps)
  return _combine(model, params, avg, x, y, amp)


# ---------------------------------------------------------------------------------------------------
# Jacobian homeostasis and diagnostics.

def _check_key(fn: str, key: Any) -> None:
  dt = getattr(key, "dtype", None)
  if dt is None or not (jnp.issubdtype(dt, jax.dtypes.prng_key) or (dt == jnp.uint32 and key.shape == (2,))):
    _fail(fn, "key", "a PRNG key", getattr(key, "dtype", type(key).__name__), TypeError)


def homeostatic_loss(model: EPVectorField, params, u_star: dict, x, y, key: jax.Array, n_probes: int = 5
                     ) -> jax.Array:
  """L_h = mean over examples and ``n_probes`` Gaussian probes eps of (||J eps||^2 - eps^T J^2 eps) / n
  (``homeo_loss``), with J = d(F - id)/d rho at rho(u*) (two JVPs per probe). ``u_star`` is held fixed (stop
  gradient): the derivative with respect to ``params`` does not go through the fixed point.

  E L_h = ||J - J^T||_F^2 / (2 n) per example; for the MLP field that is sum over reciprocal pairs of
  ||K_{a->b} - K_{b->a}^T||_F^2 / n (every edge without a reciprocal counts ||K||_F^2).
  """
  _check_key("homeostatic_loss", key)
  if isinstance(n_probes, bool) or not isinstance(n_probes, (int, np.integer)) or n_probes < 1:
    _fail("homeostatic_loss", "n_probes", "an int >= 1", n_probes)
  u_star = jax.lax.stop_gradient(u_star)
  rho = {k: activate(u_star[k], model.activation) for k in STATE_KEYS}

  def field(r, w):
    f = model.apply(w, r, x, y, 0.0, activate=False)[0]
    return jax.tree.map(jnp.subtract, f, r)

  def one(k):
    ks = jax.random.split(k, len(STATE_KEYS))
    eps = {n: jax.random.normal(kk, rho[n].shape, rho[n].dtype) for n, kk in zip(STATE_KEYS, ks)}
    je = jax.jvp(lambda r: field(r, params), (rho,), (eps,))[1]
    j2e = jax.jvp(lambda r: field(r, params), (rho,), (je,))[1]
    fe, fj, fj2 = flatten_state(eps), flatten_state(je), flatten_state(j2e)
    return jnp.mean(jnp.sum(fj ** 2, -1) - jnp.sum(fe * fj2, -1)) / fe.shape[-1]

  return jnp.mean(jax.vmap(one)(jax.random.split(key, n_probes)))


def jacobian(model: EPVectorField, params, u: dict, x, y) -> jax.Array:
  """``[B, n, n]``: J = d(F - id)/d rho at rho(u) for each example (``vf_jac``), by forward mode."""
  _check_state("jacobian", "u", u)
  sizes = model.sizes()
  cuts = np.cumsum([sizes[k] for k in STATE_KEYS])[:-1]

  def one(ui, xi, yi):
    def f(r):
      parts = dict(zip(STATE_KEYS, jnp.split(r, cuts)))
      rr = {k: v[None] for k, v in parts.items()}
      out = model.apply(params, rr, xi[None], yi[None], 0.0, activate=False)[0]
      return flatten_state(out)[0] - r
    r0 = jnp.concatenate([activate(ui[k], model.activation) for k in STATE_KEYS])
    return jax.jacfwd(f)(r0)

  return jax.vmap(one)(u, x, y)


def jacobian_symmetry(jac: jax.Array) -> jax.Array:
  """s / (s + a) with s = ||(J + J^T)/2||_F and a = ||(J - J^T)/2||_F over the last two axes (``jac_sym``):
  1 for a symmetric J, 0 for an antisymmetric one, 1/2 when the two parts have equal norm."""
  if jac.ndim < 2 or jac.shape[-1] != jac.shape[-2]:
    _fail("jacobian_symmetry", "jac", "a [..., n, n] array", jac.shape)
  jt = jnp.swapaxes(jac, -1, -2)
  s = jnp.linalg.norm(0.5 * (jac + jt), axis=(-2, -1))
  a = jnp.linalg.norm(0.5 * (jac - jt), axis=(-2, -1))
  return s / (s + a)


def rotate_feedback(params, alpha_deg: float, key: jax.Array | None = None) -> Any:
  """Angle-alpha feedback initialisation (``utils/funcs.rotate``): every feedback kernel K_{b->a} whose
  reciprocal K_{a->b} exists becomes sin(alpha) B + cos(alpha) K_{a->b}^T, with B the feedback kernel already in
  ``params`` (its random init) or, given ``key``, a fresh N(0, 1/fan_in) draw. alpha = 0 starts symmetric (the
  weights stay untied and drift apart in training), alpha = 90 is the random init."""
  if not isinstance(alpha_deg, (int, float)) or not (0.0 <= alpha_deg <= 90.0):
    _fail("rotate_feedback", "alpha_deg", "an angle in degrees in [0, 90]", alpha_deg)
  p = jax.tree.map(lambda a: a, params)  # shallow copy of the dict structure
  layers = dict(p["params"])
  a = math.radians(alpha_deg)
  for name in list(layers):
    if name == "readout" or "bias" in layers[name]:
      continue
    pre, post = name.split("-")
    fwd = f"{post}-{pre}"
    if fwd not in layers:
      continue
    kt = layers[fwd]["kernel"].T
    k = layers[name]["kernel"]
    if kt.shape != k.shape:
      continue
    if key is not None:
      key, sub = jax.random.split(key)
      k = jax.random.normal(sub, k.shape, k.dtype) / math.sqrt(k.shape[0])
    layers[name] = {**layers[name], "kernel": math.sin(a) * k + math.cos(a) * kt}
  return {**p, "params": layers}


def gradient_cosine(g1, g2, *, exclude: tuple[str, ...] = ("readout",)) -> jax.Array:
  """Cosine between two parameter gradients flattened together, leaving out the layers in ``exclude``
  (the readout, trained by its own gradient in both), as the official ``sweep_beta``'s total."""
  for name, g in (("g1", g1), ("g2", g2)):
    if not isinstance(g, dict) or "params" not in g:
      _fail("gradient_cosine", name, "a Flax params tree {'params': {...}}", type(g).__name__)

  def vec(g):
    layers = g["params"]
    return jnp.concatenate([jnp.ravel(leaf) for name in sorted(layers) if name not in exclude
                            for leaf in jax.tree.leaves(layers[name])])
  a, b = vec(g1), vec(g2)
  return jnp.vdot(a, b) / (jnp.linalg.norm(a) * jnp.linalg.norm(b))
