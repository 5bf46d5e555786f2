"""DEIS samplers for the probability-flow ODE of a VP diffusion.

Zhang & Chen, "Fast Sampling of Diffusion Models with Exponential Integrator", ICLR 2023,
arXiv:2204.13902.

With ᾱ(t) the squared mean coefficient, α = √ᾱ, σ = √(1−ᾱ) and a noise predictor ε_θ(x, t), the
probability-flow ODE (paper Eq. 5 with the score −ε_θ/σ) is

  dx/dt = ½ (d log ᾱ/dt) x − ½ (d log ᾱ/dt) ε_θ(x, t)/σ_t                     (:func:`pf_ode_drift`)

and its exact solution from t to s (variation of constants, paper Eq. 9) is

  x_s = Ψ(s, t) x_t + ∫_t^s Ψ(s, τ) k(τ) ε_θ(x_τ, τ) dτ,  Ψ(s, τ) = α_s/α_τ,  k = −½ (d log ᾱ/dτ)/σ_τ.

Samplers (all step from t_0 = t_max down to t_N = t_min on a grid from
:func:`models.common.diffusion.time_grid`):

* ``euler_t``: explicit Euler on the PF-ODE in t (the Song et al. baseline).
* ``tab{r}``: tAB-DEIS (paper Eq. 14–15): ε_θ replaced by its Lagrange polynomial in τ through the r+1
  latest evaluations; x_{i+1} = Ψ x_i + Σ_j C_ij ε_{i−j}, C_ij = ∫_{t_i}^{t_{i+1}} Ψ(t_{i+1}, τ) k(τ)
  ℓ_j(τ) dτ (:func:`tab_coefficients`). ``tab0`` = ``ddim`` (paper Prop. 2), whose closed form is
  C_i0 = σ_{i+1} − (α_{i+1}/α_i) σ_i (:func:`ddim_coefficients`).
* ``rab{r}``: ρAB-DEIS: with v = x/α and ρ = σ/α, dv/dρ = ε_θ (paper Eq. 17); Adams–Bashforth with
  Lagrange polynomials in ρ (:func:`rab_coefficients`).
* ``rk_euler``, ``rk_heun``, ``rk_kutta3``, ``rk4``: ρRK-DEIS, classical Runge–Kutta on v(ρ)
  (:func:`rho_rk_sample`); s stages cost s NFE per step.
* ``ipndm``: the DDIM step with the fixed Adams–Bashforth weights [1], [3/2, −1/2], [23, −16, 5]/12,
  [55, −59, 37, −9]/24 on the noise history (paper App., "iPNDM"; :func:`ipndm_coefficients`).

Coefficients are computed once per grid on the host in float64 by composite Gauss–Legendre quadrature
after the exact change of variables τ = t(ρ), u = log ρ, in which the integrand is smooth:
C_ij = α_{i+1} ∫_{log ρ_i}^{log ρ_{i+1}} ℓ_j(t(e^u)) e^u du (the official code uses a 10,000-point left
Riemann sum in t, only first-order accurate). The grid must therefore be concrete (not traced).

All multistep samplers share :func:`multistep_sample` (one NFE per step; the first r steps of an order-r
method use orders 0, 1, ..., r−1: zero coefficients multiply the not-yet-filled history).
``eps_fn(x: [B, D], t: scalar) -> [B, D]`` throughout.

Checks: grids must be 1-D, strictly decreasing, inside (0, 1] (``ValueError`` naming ``ts``; a traced
grid given to the jit-able samplers is used as given). The coefficient functions run in numpy on the
host: a traced ``ts`` (under ``jit``/``grad``/``vmap``) raises ``TypeError`` naming the function, so
they are not differentiable in the grid. The samplers themselves are: the result is a smooth function
of the initial noise x, the network's parameters, the coefficient arrays, and (for ``euler_t``, ρRK)
the grid.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import is_concrete
from models.common.diffusion import VPSchedule, check_grid as check_stepper_grid

Array = jax.Array
EpsFn = Callable[[Array, Array], Array]

__all__ = ["METHODS", "RK_TABLEAUX", "IPNDM_WEIGHTS", "MultistepCoefficients", "pf_ode_drift",
           "ddim_coefficients", "tab_coefficients", "rab_coefficients", "ipndm_coefficients",
           "coefficients_for", "multistep_sample", "rho_rk_sample", "euler_t_sample", "sample",
           "nfe_per_step", "reference_sample"]

# Butcher tableaux (c, A, b) of the ρRK-DEIS variants.
RK_TABLEAUX: dict[str, tuple[tuple, tuple, tuple]] = {
    "rk_euler": ((0.0,), ((),), (1.0,)),
    "rk_heun": ((0.0, 1.0), ((), (1.0,)), (0.5, 0.5)),
    "rk_kutta3": ((0.0, 0.5, 1.0), ((), (0.5,), (-1.0, 2.0)), (1 / 6, 2 / 3, 1 / 6)),
    "rk4": ((0.0, 0.5, 0.5, 1.0), ((), (0.5,), (0.0, 0.5), (0.0, 0.0, 1.0)), (1 / 6, 1 / 3, 1 / 3, 1 / 6)),
}
IPNDM_WEIGHTS = ((1.0,), (1.5, -0.5), (23 / 12, -16 / 12, 5 / 12), (55 / 24, -59 / 24, 37 / 24, -9 / 24))
METHODS = ("euler_t", "ddim", "tab0", "tab1", "tab2", "tab3", "rab1", "rab2", "rab3", "ipndm",
           *RK_TABLEAUX)


class MultistepCoefficients(NamedTuple):
  """x_{i+1} = psi[i] x_i + Σ_j coef[i, j] ε_θ(x_{i−j}, t_{i−j}). ``psi: [N]``, ``coef: [N, R + 1]``."""
  psi: np.ndarray
  coef: np.ndarray


def _check_schedule(schedule, fn: str) -> None:
  if not isinstance(schedule, VPSchedule):
    raise TypeError(f"{fn}: schedule expected a VPSchedule, got {type(schedule).__name__}")


def _check_x_eps(eps_fn, x, t, fn: str) -> None:
  """x: a float [B, D] array; eps_fn(x, t) callable returning x's shape (checked abstractly)."""
  if not hasattr(x, "ndim") or x.ndim != 2:
    raise ValueError(f"{fn}: x expected [B, D], got shape {getattr(x, 'shape', type(x).__name__)}")
  if not jnp.issubdtype(x.dtype, jnp.floating):
    raise TypeError(f"{fn}: x expected a floating dtype, got {x.dtype}")
  if not callable(eps_fn):
    raise TypeError(f"{fn}: eps_fn expected a callable (x, t) -> eps, got {type(eps_fn).__name__}")
  out = jax.eval_shape(eps_fn, x, t)
  if getattr(out, "shape", None) != x.shape:
    raise ValueError(f"{fn}: eps_fn expected an output of shape {tuple(x.shape)} (that of x), got "
                     f"{getattr(out, 'shape', type(out).__name__)}")


def _check_sampler_grid(ts, x, fn: str) -> Array:
  ts = check_stepper_grid(jnp.asarray(ts, x.dtype) if not hasattr(ts, "dtype") else ts, fn)
  if is_concrete(ts):
    a = np.asarray(ts, np.float64)
    if not np.all(np.diff(a) < 0):
      raise ValueError(f"{fn}: ts expected a strictly decreasing grid (t_max down to t_min), got {a.tolist()}")
    if a[-1] <= 0 or a[0] > 1:
      raise ValueError(f"{fn}: ts expected values in (0, 1], got [{a[-1]!r}, {a[0]!r}]")
  return jnp.asarray(ts, x.dtype)


def pf_ode_drift(schedule: VPSchedule, eps_fn: EpsFn, x: Array, t: Array) -> Array:
  """dx/dt of the probability-flow ODE, ½ (d log ᾱ/dt)(x − ε_θ(x, t)/σ_t); ``x: [B, D]``, ``t`` a
  scalar."""
  _check_schedule(schedule, "pf_ode_drift")
  if jnp.ndim(t) != 0:
    raise ValueError(f"pf_ode_drift: t expected a scalar, got shape {jnp.shape(t)}")
  _check_x_eps(eps_fn, x, t, "pf_ode_drift")
  g = schedule.d_log_alpha_bar(t)
  return 0.5 * g * (x - eps_fn(x, t) / schedule.sigma(t))


# ---------------------------------------------------------------------------------------------------
# Coefficients (host, float64).


def _check_grid(ts, fn: str, schedule=None) -> np.ndarray:
  if schedule is not None:
    _check_schedule(schedule, fn)
  if not is_concrete(ts):
    raise TypeError(f"{fn}: ts is traced (under jit/grad/vmap), but the coefficients are computed on the host "
                    "in float64 numpy and are not traceable or differentiable in the grid: pass a concrete grid")
  ts = np.asarray(ts)
  if not (np.issubdtype(ts.dtype, np.floating) or np.issubdtype(ts.dtype, np.integer)):
    raise TypeError(f"{fn}: ts expected a real array, got dtype {ts.dtype}")
  ts = ts.astype(np.float64)
  if ts.ndim != 1 or ts.shape[0] < 2:
    raise ValueError(f"{fn}: ts expected a 1-D time grid of >= 2 points, got shape {ts.shape}")
  if not np.all(np.isfinite(ts)):
    raise ValueError(f"{fn}: ts expected finite times, got {ts.tolist()}")
  if not np.all(np.diff(ts) < 0):
    raise ValueError(f"{fn}: ts expected a strictly decreasing grid (t_max down to t_min), got {ts.tolist()}")
  if ts[-1] <= 0 or ts[0] > 1:
    raise ValueError(f"{fn}: ts expected values in (0, 1], got [{ts[-1]!r}, {ts[0]!r}]")
  return ts


def _check_order(order, fn: str) -> None:
  if not isinstance(order, int) or isinstance(order, bool) or not 0 <= order <= 3:
    raise ValueError(f"{fn}: order expected an int in 0..3, got {order!r}")


def _check_quadrature(panels, nodes, fn: str) -> None:
  for name, v in (("panels", panels), ("nodes", nodes)):
    if not isinstance(v, int) or isinstance(v, bool) or v < 1:
      raise ValueError(f"{fn}: {name} expected a positive int, got {v!r}")


def _schedule_values(schedule: VPSchedule, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """log ᾱ, α, ρ at ``ts`` in float64 (evaluated now, also when called while tracing a jit)."""
  with jax.enable_x64(True), jax.ensure_compile_time_eval():
    t = jnp.asarray(ts, jnp.float64)
    la = np.asarray(schedule.log_alpha_bar(t))
    rho = np.asarray(schedule.rho(t))
  return la, np.exp(0.5 * la), rho


def _t_of_rho(schedule: VPSchedule, rho: np.ndarray) -> np.ndarray:
  with jax.enable_x64(True), jax.ensure_compile_time_eval():
    return np.asarray(schedule.t_from_rho(jnp.asarray(rho, jnp.float64)))


def _lagrange(x: np.ndarray, nodes: np.ndarray, j: int) -> np.ndarray:
  out = np.ones_like(x)
  for m, xm in enumerate(nodes):
    if m != j:
      out = out * (x - xm) / (nodes[j] - xm)
  return out


def _gauss_panels(a: float, b: float, panels: int, nodes: int) -> tuple[np.ndarray, np.ndarray]:
  """Composite Gauss–Legendre points and weights on [a, b] (oriented: weights negative if b < a)."""
  x, w = np.polynomial.legendre.leggauss(nodes)
  edges = np.linspace(a, b, panels + 1)
  half = 0.5 * np.diff(edges)
  mid = 0.5 * (edges[1:] + edges[:-1])
  pts = (mid[:, None] + half[:, None] * x[None]).ravel()
  wts = (half[:, None] * w[None]).ravel()
  return pts, wts


def ddim_coefficients(schedule: VPSchedule, ts) -> MultistepCoefficients:
  """The order-0 exponential integrator (= DDIM) in closed form: Ψ_i = α_{i+1}/α_i,
  C_i0 = σ_{i+1} − (α_{i+1}/α_i) σ_i = α_{i+1} (ρ_{i+1} − ρ_i)."""
  ts = _check_grid(ts, "ddim_coefficients", schedule)
  la, alpha, rho = _schedule_values(schedule, ts)
  sig = np.sqrt(-np.expm1(la))
  psi = alpha[1:] / alpha[:-1]
  return MultistepCoefficients(psi, (sig[1:] - psi * sig[:-1])[:, None])


def _ab_coefficients(schedule: VPSchedule, ts: np.ndarray, order: int, in_rho: bool, panels: int,
                     nodes: int) -> MultistepCoefficients:
  fn = "rab_coefficients" if in_rho else "tab_coefficients"
  _check_order(order, fn)
  _check_quadrature(panels, nodes, fn)
  ts = _check_grid(ts, fn, schedule)
  la, alpha, rho = _schedule_values(schedule, ts)
  n = len(ts) - 1
  coef = np.zeros((n, order + 1))
  for i in range(n):
    r = min(order, i)
    u, w = _gauss_panels(np.log(rho[i]), np.log(rho[i + 1]), panels, nodes)
    rq = np.exp(u)
    x_nodes = rho[i - r:i + 1][::-1] if in_rho else ts[i - r:i + 1][::-1]   # [t_i, t_{i-1}, ...]
    x_q = rq if in_rho else _t_of_rho(schedule, rq)
    for j in range(r + 1):
      coef[i, j] = alpha[i + 1] * np.sum(w * rq * _lagrange(x_q, x_nodes, j))
  return MultistepCoefficients(alpha[1:] / alpha[:-1], coef)


def tab_coefficients(schedule: VPSchedule, ts, order: int, *, panels: int = 8,
                     nodes: int = 16) -> MultistepCoefficients:
  """tAB-DEIS coefficients C_ij = ∫_{t_i}^{t_{i+1}} Ψ(t_{i+1}, τ) k(τ) ℓ_j(τ) dτ, ℓ_j the Lagrange basis
  in τ on t_i, ..., t_{i−r}, r = min(order, i) (warm start). ``ts: [N + 1]`` -> coef ``[N, order + 1]``."""
  return _ab_coefficients(schedule, ts, order, False, panels, nodes)


def rab_coefficients(schedule: VPSchedule, ts, order: int, *, panels: int = 8,
                     nodes: int = 16) -> MultistepCoefficients:
  """ρAB-DEIS: v_{i+1} = v_i + Σ_j (∫_{ρ_i}^{ρ_{i+1}} ℓ_j(ρ) dρ) ε_{i−j}, Lagrange basis in ρ, written in
  x = α v: coef_ij = α_{i+1} ∫ ℓ_j dρ."""
  return _ab_coefficients(schedule, ts, order, True, panels, nodes)


def ipndm_coefficients(schedule: VPSchedule, ts, order: int = 3) -> MultistepCoefficients:
  """iPNDM: coef_ij = C^{DDIM}_i · w_j with the Adams–Bashforth weights of order min(order, i)."""
  _check_order(order, "ipndm_coefficients")
  _check_grid(ts, "ipndm_coefficients", schedule)
  d = ddim_coefficients(schedule, ts)
  n = d.coef.shape[0]
  coef = np.zeros((n, order + 1))
  for i in range(n):
    w = IPNDM_WEIGHTS[min(order, i)]
    coef[i, :len(w)] = d.coef[i, 0] * np.asarray(w)
  return MultistepCoefficients(d.psi, coef)


def coefficients_for(method: str, schedule: VPSchedule, ts) -> MultistepCoefficients:
  """Coefficient table of a multistep ``method`` (``ddim``, ``tab0``–``tab3``, ``rab1``–``rab3``, ``ipndm``)."""
  if not isinstance(method, str) or method not in METHODS or method == "euler_t" or method in RK_TABLEAUX:
    raise ValueError(f"coefficients_for: method expected a multistep method (ddim, tab0..tab3, rab1..rab3, "
                     f"ipndm), got {method!r}")
  _check_grid(ts, "coefficients_for", schedule)
  if method == "ddim":
    return ddim_coefficients(schedule, ts)
  if method == "ipndm":
    return ipndm_coefficients(schedule, ts)
  if method[:3] in ("tab", "rab") and method[3:].isdigit():
    fn = tab_coefficients if method.startswith("tab") else rab_coefficients
    return fn(schedule, ts, int(method[3:]))
  raise AssertionError(method)   # unreachable: METHODS lists only the cases above


# ---------------------------------------------------------------------------------------------------
# Samplers (jit-able; the grid and coefficients are arrays).


def multistep_sample(eps_fn: EpsFn, x: Array, ts: Array, psi: Array, coef: Array) -> Array:
  """Runs x_{i+1} = psi_i x_i + Σ_j coef_ij ε_θ(x_{i−j}, t_{i−j}) with ``lax.scan`` (one NFE per step).

  Args:
    eps_fn: the noise predictor.
    x: ``[B, D]`` at t_0 = ts[0].
    ts: ``[N + 1]`` decreasing grid; psi ``[N]``; coef ``[N, R + 1]`` (from :func:`coefficients_for`).

  Returns:
    ``[B, D]`` at ts[-1]; differentiable in x, psi, coef and the parameters eps_fn closes over.
  """
  for name, a in (("ts", ts), ("psi", psi), ("coef", coef)):
    if not hasattr(a, "dtype") or not (jnp.issubdtype(a.dtype, jnp.floating) or jnp.issubdtype(a.dtype, jnp.integer)):
      raise TypeError(f"multistep_sample: {name} expected a real array, got {getattr(a, 'dtype', type(a).__name__)}")
  if coef.ndim != 2:
    raise ValueError(f"multistep_sample: coef expected [N, R+1], got shape {tuple(coef.shape)}")
  n, width = coef.shape
  if ts.shape != (n + 1,) or psi.shape != (n,):
    raise ValueError(f"multistep_sample: expected ts [N+1], psi [N], coef [N, R+1] with N={n}; got ts "
                     f"{tuple(ts.shape)}, psi {tuple(psi.shape)}, coef {tuple(coef.shape)}")
  _check_x_eps(eps_fn, x, jnp.asarray(ts[0], x.dtype) if hasattr(x, "dtype") else ts[0], "multistep_sample")
  psi = jnp.asarray(psi, x.dtype)
  coef = jnp.asarray(coef, x.dtype)
  ts = jnp.asarray(ts, x.dtype)

  def body(carry, inp):
    x, hist = carry
    t, p, c = inp
    e = eps_fn(x, t)
    hist = jnp.concatenate([e[None], hist[:-1]], axis=0)
    x = p * x + jnp.tensordot(c, hist, axes=1)
    return (x, hist), None

  hist0 = jnp.zeros((width,) + x.shape, x.dtype)
  (x, _), _ = jax.lax.scan(body, (x, hist0), (ts[:-1], psi, coef))
  return x


def rho_rk_sample(eps_fn: EpsFn, schedule: VPSchedule, x: Array, ts: Array, method: str = "rk_kutta3") -> Array:
  """ρRK-DEIS: explicit Runge–Kutta on dv/dρ = ε_θ(α v, t(ρ)), v = x/α; ``len(c)`` NFE per step.
  ``ts``: a decreasing grid in (0, 1] (checked when concrete)."""
  if not isinstance(method, str) or method not in RK_TABLEAUX:
    raise ValueError(f"rho_rk_sample: method expected one of {tuple(RK_TABLEAUX)}, got {method!r}")
  _check_schedule(schedule, "rho_rk_sample")
  _check_x_eps(eps_fn, x, jnp.zeros((), getattr(x, "dtype", jnp.float32)), "rho_rk_sample")
  ts = _check_sampler_grid(ts, x, "rho_rk_sample")
  c, a, b = RK_TABLEAUX[method]
  rhos = schedule.rho(ts)

  def eps_v(v, rho):
    t = schedule.t_from_rho(rho)
    return eps_fn(schedule.alpha(t) * v, t)

  def body(v, inp):
    r0, r1 = inp
    h = r1 - r0
    ks = []
    for s in range(len(c)):
      vs = v
      for m, am in enumerate(a[s]):
        if am != 0.0:
          vs = vs + h * am * ks[m]
      ks.append(eps_v(vs, r0 + c[s] * h))
    return v + h * sum(bs * k for bs, k in zip(b, ks)), None

  v, _ = jax.lax.scan(body, x / schedule.alpha(ts[0]), (rhos[:-1], rhos[1:]))
  return schedule.alpha(ts[-1]) * v


def euler_t_sample(eps_fn: EpsFn, schedule: VPSchedule, x: Array, ts: Array) -> Array:
  """Explicit Euler on the PF-ODE in t (one NFE per step): the baseline DEIS improves on. ``ts``: a
  decreasing grid in (0, 1] (checked when concrete)."""
  _check_schedule(schedule, "euler_t_sample")
  _check_x_eps(eps_fn, x, jnp.zeros((), getattr(x, "dtype", jnp.float32)), "euler_t_sample")
  ts = _check_sampler_grid(ts, x, "euler_t_sample")

  def body(x, inp):
    t0, t1 = inp
    return x + (t1 - t0) * pf_ode_drift(schedule, eps_fn, x, t0), None

  x, _ = jax.lax.scan(body, x, (ts[:-1], ts[1:]))
  return x


def nfe_per_step(method: str) -> int:
  """Network evaluations per step (RK: the number of stages; the others: 1)."""
  if not isinstance(method, str) or method not in METHODS:
    raise ValueError(f"nfe_per_step: method expected one of {METHODS}, got {method!r}")
  return len(RK_TABLEAUX[method][0]) if method in RK_TABLEAUX else 1


def sample(eps_fn: EpsFn, schedule: VPSchedule, x: Array, ts, method: str) -> Array:
  """Samples with any of :data:`METHODS` from ``x: [B, D]`` at ts[0] to ts[-1] (``ts`` concrete: the
  multistep coefficients are precomputed on the host). NFE = ``nfe_per_step(method) * (len(ts) − 1)``.

  Differentiable in x and the network's parameters; a traced ``ts`` raises ``TypeError`` for the
  multistep methods (their coefficients are host numpy)."""
  if not isinstance(method, str) or method not in METHODS:
    raise ValueError(f"sample: method expected one of {METHODS}, got {method!r}")
  _check_schedule(schedule, "sample")
  if method == "euler_t":
    return euler_t_sample(eps_fn, schedule, x, jnp.asarray(ts))
  if method in RK_TABLEAUX:
    return rho_rk_sample(eps_fn, schedule, x, jnp.asarray(ts), method)
  if not is_concrete(ts):
    raise TypeError(f"sample: ts is traced, but method {method!r} needs host-side coefficients of a concrete grid")
  _check_grid(ts, "sample")
  co = coefficients_for(method, schedule, ts)
  return multistep_sample(eps_fn, x, jnp.asarray(np.asarray(ts)), jnp.asarray(co.psi), jnp.asarray(co.coef))


def reference_sample(eps_fn: EpsFn, schedule: VPSchedule, x: Array, *, t_max: float = 1.0,
                     t_min: float = 1e-3, num_steps: int = 4000) -> Array:
  """An accurate solve for error measurements: ρRK4 with ``num_steps`` steps uniform in log ρ
  (call in float64). Needs 0 < t_min < t_max <= 1 and ``num_steps >= 1``."""
  _check_schedule(schedule, "reference_sample")
  if not isinstance(num_steps, int) or isinstance(num_steps, bool) or num_steps < 1:
    raise ValueError(f"reference_sample: num_steps expected a positive int, got {num_steps!r}")
  for name, v in (("t_min", t_min), ("t_max", t_max)):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
      raise TypeError(f"reference_sample: {name} expected a float, got {type(v).__name__}")
  if not 0.0 < t_min < t_max <= 1.0:
    raise ValueError(f"reference_sample: expected 0 < t_min < t_max <= 1, got t_min={t_min!r}, t_max={t_max!r}")
  _check_x_eps(eps_fn, x, jnp.zeros((), getattr(x, "dtype", jnp.float32)), "reference_sample")
  rho = schedule.rho(jnp.asarray([t_max, t_min], x.dtype))
  u = jnp.linspace(0.0, 1.0, num_steps + 1, dtype=x.dtype)
  rhos = jnp.exp(jnp.log(rho[0]) + u * (jnp.log(rho[1]) - jnp.log(rho[0])))
  ts = schedule.t_from_rho(rhos).at[0].set(t_max).at[-1].set(t_min)
  return rho_rk_sample(eps_fn, schedule, x, ts, "rk4")
