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
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from models.common.diffusion import VPSchedule

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


def pf_ode_drift(schedule: VPSchedule, eps_fn: EpsFn, x: Array, t: Array) -> Array:
  """dx/dt of the probability-flow ODE, ½ (d log ᾱ/dt)(x − ε_θ(x, t)/σ_t); ``x: [B, D]``."""
  g = schedule.d_log_alpha_bar(t)
  return 0.5 * g * (x - eps_fn(x, t) / schedule.sigma(t))


# ---------------------------------------------------------------------------------------------------
# Coefficients (host, float64).


def _check_grid(ts) -> np.ndarray:
  ts = np.asarray(ts, np.float64)
  if ts.ndim != 1 or ts.shape[0] < 2:
    raise ValueError(f"ts: expected a 1-D time grid of >= 2 points, got shape {ts.shape}")
  if not np.all(np.diff(ts) < 0):
    raise ValueError("ts: expected a strictly decreasing grid (t_max down to t_min)")
  if ts[-1] <= 0 or ts[0] > 1:
    raise ValueError(f"ts: expected values in (0, 1], got [{ts[-1]!r}, {ts[0]!r}]")
  return ts


def _schedule_values(schedule: VPSchedule, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """log ᾱ, α, ρ at ``ts`` in float64."""
  with jax.enable_x64(True):
    t = jnp.asarray(ts, jnp.float64)
    la = np.asarray(schedule.log_alpha_bar(t))
    rho = np.asarray(schedule.rho(t))
  return la, np.exp(0.5 * la), rho


def _t_of_rho(schedule: VPSchedule, rho: np.ndarray) -> np.ndarray:
  with jax.enable_x64(True):
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
  ts = _check_grid(ts)
  la, alpha, rho = _schedule_values(schedule, ts)
  sig = np.sqrt(-np.expm1(la))
  psi = alpha[1:] / alpha[:-1]
  return MultistepCoefficients(psi, (sig[1:] - psi * sig[:-1])[:, None])


def _ab_coefficients(schedule: VPSchedule, ts: np.ndarray, order: int, in_rho: bool, panels: int,
                     nodes: int) -> MultistepCoefficients:
  if not isinstance(order, int) or not 0 <= order <= 3:
    raise ValueError(f"order: expected an int in 0..3, got {order!r}")
  ts = _check_grid(ts)
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
  if not isinstance(order, int) or not 0 <= order <= 3:
    raise ValueError(f"order: expected an int in 0..3, got {order!r}")
  d = ddim_coefficients(schedule, ts)
  n = d.coef.shape[0]
  coef = np.zeros((n, order + 1))
  for i in range(n):
    w = IPNDM_WEIGHTS[min(order, i)]
    coef[i, :len(w)] = d.coef[i, 0] * np.asarray(w)
  return MultistepCoefficients(d.psi, coef)


def coefficients_for(method: str, schedule: VPSchedule, ts) -> MultistepCoefficients:
  """Coefficient table of a multistep ``method`` (``ddim``, ``tab0``–``tab3``, ``rab1``–``rab3``, ``ipndm``)."""
  if method == "ddim":
    return ddim_coefficients(schedule, ts)
  if method == "ipndm":
    return ipndm_coefficients(schedule, ts)
  if method[:3] in ("tab", "rab") and method[3:].isdigit():
    fn = tab_coefficients if method.startswith("tab") else rab_coefficients
    return fn(schedule, ts, int(method[3:]))
  raise ValueError(f"method: expected a multistep method (ddim, tab0..tab3, rab1..rab3, ipndm), got {method!r}")


# ---------------------------------------------------------------------------------------------------
# Samplers (jit-able; the grid and coefficients are arrays).


def multistep_sample(eps_fn: EpsFn, x: Array, ts: Array, psi: Array, coef: Array) -> Array:
  """Runs x_{i+1} = psi_i x_i + Σ_j coef_ij ε_θ(x_{i−j}, t_{i−j}) with ``lax.scan`` (one NFE per step).

  Args:
    eps_fn: the noise predictor.
    x: ``[B, D]`` at t_0 = ts[0].
    ts: ``[N + 1]`` decreasing grid; psi ``[N]``; coef ``[N, R + 1]`` (from :func:`coefficients_for`).

  Returns:
    ``[B, D]`` at ts[-1].
  """
  n, width = coef.shape
  if ts.shape != (n + 1,) or psi.shape != (n,):
    raise ValueError(f"multistep_sample: expected ts [N+1], psi [N], coef [N, R+1]; got {ts.shape}, "
                     f"{psi.shape}, {coef.shape}")
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
  """ρRK-DEIS: explicit Runge–Kutta on dv/dρ = ε_θ(α v, t(ρ)), v = x/α; ``len(c)`` NFE per step."""
  if method not in RK_TABLEAUX:
    raise ValueError(f"method: expected one of {tuple(RK_TABLEAUX)}, got {method!r}")
  c, a, b = RK_TABLEAUX[method]
  ts = jnp.asarray(ts, x.dtype)
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
  """Explicit Euler on the PF-ODE in t (one NFE per step): the baseline DEIS improves on."""
  ts = jnp.asarray(ts, x.dtype)

  def body(x, inp):
    t0, t1 = inp
    return x + (t1 - t0) * pf_ode_drift(schedule, eps_fn, x, t0), None

  x, _ = jax.lax.scan(body, x, (ts[:-1], ts[1:]))
  return x


def nfe_per_step(method: str) -> int:
  """Network evaluations per step (RK: the number of stages; the others: 1)."""
  if method not in METHODS:
    raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
  return len(RK_TABLEAUX[method][0]) if method in RK_TABLEAUX else 1


def sample(eps_fn: EpsFn, schedule: VPSchedule, x: Array, ts, method: str) -> Array:
  """Samples with any of :data:`METHODS` from ``x: [B, D]`` at ts[0] to ts[-1] (``ts`` concrete: the
  multistep coefficients are precomputed on the host). NFE = ``nfe_per_step(method) * (len(ts) − 1)``."""
  if method not in METHODS:
    raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
  if method == "euler_t":
    return euler_t_sample(eps_fn, schedule, x, jnp.asarray(ts))
  if method in RK_TABLEAUX:
    return rho_rk_sample(eps_fn, schedule, x, jnp.asarray(ts), method)
  co = coefficients_for(method, schedule, ts)
  return multistep_sample(eps_fn, x, jnp.asarray(np.asarray(ts)), jnp.asarray(co.psi), jnp.asarray(co.coef))


def reference_sample(eps_fn: EpsFn, schedule: VPSchedule, x: Array, *, t_max: float = 1.0,
                     t_min: float = 1e-3, num_steps: int = 4000) -> Array:
  """An accurate solve for error measurements: ρRK4 with ``num_steps`` steps uniform in log ρ
  (call in float64)."""
  rho = schedule.rho(jnp.asarray([t_max, t_min], x.dtype))
  u = jnp.linspace(0.0, 1.0, num_steps + 1, dtype=x.dtype)
  rhos = jnp.exp(jnp.log(rho[0]) + u * (jnp.log(rho[1]) - jnp.log(rho[0])))
  ts = schedule.t_from_rho(rhos).at[0].set(t_max).at[-1].set(t_min)
  return rho_rk_sample(eps_fn, schedule, x, ts, "rk4")
