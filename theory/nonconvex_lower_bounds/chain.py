"""The zero-chain hard function of the classical lower bounds for finding stationary points.

The construction of Y. Carmon, J. C. Duchi, O. Hinder, A. Sidford, "Lower bounds for finding stationary
points I", Mathematical Programming 184 (2020), arXiv:1710.11606, which C. Zhang and T. Li, "Quantum Lower
Bounds for Finding Stationary Points of Nonconvex Functions", ICML 2023, arXiv:2212.03906, lift to quantum
queries (their hard instances are these functions, hidden in random orthonormal directions):

  Ψ(x) = 0 for x ≤ 1/2,  exp(1 − 1/(2x − 1)²) for x > 1/2                         (`psi`)
  Φ(x) = √e ∫_{−∞}^x e^{−t²/2} dt = √(eπ/2) · erfc(−x/√2)                          (`phi`)
  f̄_T(x) = −Ψ(1)Φ(x_1) + Σ_{i=2..T} [Ψ(−x_{i−1})Φ(−x_i) − Ψ(x_{i−1})Φ(x_i)]        (`hard_value`)

its scaling to a class (Δ, L, ε)  f(x) = (Lλ²/ℓ₁) f̄_T(x/λ), λ = 2ℓ₁ε/L, T = ⌊ΔL/(48ℓ₁ε²)⌋  (`scale_chain`,
`scaled_value`; first-order case p = 1), the randomly rotated instance f̄_T(Uᵀx) with orthonormal
U: [d, T] (`random_orthonormal`, `rotated_value`), and progress prog_α(x) = max{i : |x_i| > α}
(`progress`, `rotated_progress`).

Properties the tests check (Carmon et al. Lemma 3; Arjevani et al. 2019, Lemma 2): f̄_T(0) − inf f̄_T ≤ 12T;
‖∇f̄_T(x)‖ > 1 whenever |x_T| < 1; zero chain: ∂_j f̄_T(x) = 0 when |x_{j−1}| ≤ 1/2 and |x_j| ≤ 1/2;
∇f̄_T is ℓ₁-Lipschitz with ℓ₁ = 152 (`LIPSCHITZ_GRAD`).

Every function here is dtype-polymorphic jnp code: it computes in the dtype of its input. Call it with
float64 arrays under ``jax.enable_x64(True)`` for the float64 numbers the lower-bound arguments need.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import no_grad

LIPSCHITZ_GRAD = 152.0   # ℓ₁: Lipschitz constant of ∇f̄_T (Carmon et al. 2020, Lemma 3; Arjevani et al. Lemma 2)
VALUE_GAP_PER_LINK = 12.0  # f̄_T(0) − inf f̄_T ≤ 12 T
GRAD_INF_BOUND = 23.0    # ‖∇f̄_T(x)‖_∞ ≤ 23 (Arjevani et al. 2019, Lemma 2)

# Ψ(x) = exp(1 − 1/z²), z = 2x − 1. For z ≤ 1/30, 1 − 1/z² ≤ −899 < log(smallest float64 subnormal) ≈ −744.4,
# so Ψ and all its derivatives there are exactly 0 in float64 (and float32): masking z ≤ 1/30 to zero changes
# no representable value and keeps 1/z² (and the 1/z³, 1/z⁶ of autodiff) finite: the double-where trick.
_PSI_CUTOFF = 1.0 / 30.0


def check_float(name: str, x, fn: str = "") -> jax.Array:
  """Package-internal: ``x`` as a floating JAX array (a ``TypeError`` naming ``fn`` and ``name`` otherwise)."""
  if isinstance(x, (str, bytes)):
    raise TypeError(f"{fn + ': ' if fn else ''}{name}: expected a floating-point array, got {x!r}")
  try:
    x = jnp.asarray(x)
  except TypeError as e:
    raise TypeError(f"{fn + ': ' if fn else ''}{name}: expected a floating-point array, got "
                    f"{type(x).__name__}") from e
  if not jnp.issubdtype(x.dtype, jnp.floating):
    raise TypeError(f"{fn + ': ' if fn else ''}{name}: expected a floating-point array, got dtype {x.dtype}")
  return x


def check_points(x, fn: str) -> jax.Array:
  """Package-internal: points ``[..., T]`` (float, T >= 1) for the chain functions."""
  x = check_float("x", x, fn)
  if x.ndim < 1 or x.shape[-1] < 1:
    raise ValueError(f"{fn}: x: expected shape [..., T] with T >= 1, got {x.shape}")
  return x


def check_chain(chain, fn: str) -> None:
  """Package-internal: a ``TypeError`` unless ``chain`` is a :class:`ScaledChain`."""
  if not isinstance(chain, ScaledChain):
    raise TypeError(f"{fn}: chain: expected a ScaledChain (scale_chain / unit_chain), got {type(chain).__name__}")


def _psi(x: jax.Array) -> jax.Array:
  z = 2.0 * x - 1.0
  live = z > _PSI_CUTOFF
  z_safe = jnp.where(live, z, 1.0)
  return jnp.where(live, jnp.exp(1.0 - 1.0 / (z_safe * z_safe)), 0.0)


def psi(x: jax.Array) -> jax.Array:
  """Ψ(x) = exp(1 − 1/(2x − 1)²) for x > 1/2, else 0 (elementwise; C^∞, safe under autodiff at x = 1/2).

  x: floating array (TypeError otherwise). NaN maps to NaN (the comparison x > 1/2 alone would give 0).
  """
  x = check_float("x", x, "psi")
  return jnp.where(jnp.isnan(x), x, _psi(x))


def _phi(x: jax.Array) -> jax.Array:
  return math.sqrt(math.e * math.pi / 2.0) * jax.scipy.special.erfc(-x / math.sqrt(2.0))


def phi(x: jax.Array) -> jax.Array:
  """Φ(x) = √e ∫_{−∞}^x e^{−t²/2} dt = √(eπ/2) erfc(−x/√2) (elementwise; erfc avoids the 1 + erf cancellation).

  x: floating array (TypeError otherwise).
  """
  return _phi(check_float("x", x, "phi"))


def _hard_value(x: jax.Array) -> jax.Array:
  first = -_phi(x[..., 0])  # Ψ(1) = 1
  prev, cur = x[..., :-1], x[..., 1:]
  links = _psi(-prev) * _phi(-cur) - _psi(prev) * _phi(cur)
  return first + jnp.sum(links, axis=-1)


def hard_value(x: jax.Array) -> jax.Array:
  """f̄_T(x), the chain of Carmon et al. (2020), Eq. (9) there.

  Args:
    x: [..., T] points (T ≥ 1 is the chain length); floating dtype, float64 recommended.
  Returns:
    [...] values.
  """
  return _hard_value_jit(check_points(x, "hard_value"))


def hard_gradient(x: jax.Array) -> jax.Array:
  """∇f̄_T(x) by reverse-mode autodiff. x: [..., T] -> [..., T]."""
  return _hard_gradient_jit(check_points(x, "hard_gradient"))


def hard_gradient_unchecked(x: jax.Array) -> jax.Array:
  """Package-internal core of :func:`hard_gradient` (no input checks; jit-able)."""
  return jax.grad(lambda y: jnp.sum(_hard_value(y)))(x)


_hard_value_jit = jax.jit(_hard_value)
_hard_gradient_jit = jax.jit(hard_gradient_unchecked)


def _check_threshold(threshold, fn: str) -> float:
  if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.integer, np.floating)):
    raise TypeError(f"{fn}: threshold: expected a Python number >= 0, got {type(threshold).__name__}")
  if not threshold >= 0.0:
    raise ValueError(f"{fn}: threshold: expected a number >= 0, got {threshold}")
  return float(threshold)


def progress(x: jax.Array, threshold: float = 0.5) -> jax.Array:
  """prog_α(x) = max{i ∈ 1..T : |x_i| > α}, 0 if there is none. x: [..., T] -> [...] int32.

  Integer-valued: differentiating through x raises TypeError (never a silent zero).
  """
  x = check_points(x, "progress")
  threshold = _check_threshold(threshold, "progress")
  return _progress_jit(no_grad(x, "theory.nonconvex_lower_bounds.progress"), threshold)


def progress_unchecked(x: jax.Array, threshold: float) -> jax.Array:
  """Package-internal core of :func:`progress` (no input checks; jit-able)."""
  idx = jnp.arange(1, x.shape[-1] + 1, dtype=jnp.int32)
  return jnp.max(jnp.where(jnp.abs(x) > threshold, idx, 0), axis=-1)


_progress_jit = jax.jit(progress_unchecked, static_argnums=1)


# --------------------------------------------------------------------------------------------------
# Scaling to the function class (Δ, L, ε): first order (p = 1).

class ScaledChain(NamedTuple):
  """f(x) = scale · f̄_T(x/λ), with f(0) − inf f ≤ Δ, ∇f L-Lipschitz and ‖∇f(x)‖ > 2ε while |x_T| < λ.

  Attributes:
    T: chain length ⌊ΔL/(48ℓ₁ε²)⌋ = ⌊Δℓ₁/(12Lλ²)⌋ (the lower bound on zero-respecting queries).
    lam: λ = 2ℓ₁ε/L, the length scale.
    scale: Lλ²/ℓ₁, the value scale (so ∇f(x) = 2ε ∇f̄_T(x/λ)).
    delta, lipschitz, eps: the class parameters Δ, L, ε.
  """
  T: int
  lam: float
  scale: float
  delta: float
  lipschitz: float
  eps: float


def scale_chain(delta: float, lipschitz: float, eps: float) -> ScaledChain:
  """The first-order hard instance of Carmon et al. (2020), Theorem 1, for the class (Δ, L, ε)."""
  for name, v in (("delta", delta), ("lipschitz", lipschitz), ("eps", eps)):
    if isinstance(v, jax.core.Tracer):
      raise TypeError(f"scale_chain: {name}: expected a Python number; the chain is static configuration (its "
                      "length T is an integer), so scale_chain is not differentiable; got a jax tracer")
    if isinstance(v, bool) or not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
      raise ValueError(f"{name}: expected a finite number > 0, got {v!r}")
  lam = 2.0 * LIPSCHITZ_GRAD * eps / lipschitz
  T = int(math.floor(delta * lipschitz / (4.0 * VALUE_GAP_PER_LINK * LIPSCHITZ_GRAD * eps * eps)))
  if T < 1:
    raise ValueError(f"eps: the class (delta={delta}, lipschitz={lipschitz}, eps={eps}) gives a chain of length "
                     f"T = {T}; expected eps <= sqrt(delta*lipschitz/(48*152)) = "
                     f"{math.sqrt(delta * lipschitz / (48 * LIPSCHITZ_GRAD)):.4g}")
  return ScaledChain(T=T, lam=lam, scale=lipschitz * lam * lam / LIPSCHITZ_GRAD, delta=float(delta),
                     lipschitz=float(lipschitz), eps=float(eps))


def scaled_value(x: jax.Array, chain: ScaledChain) -> jax.Array:
  """f(x) = (Lλ²/ℓ₁) f̄_T(x/λ). x: [..., T] -> [...]."""
  check_chain(chain, "scaled_value")
  x = check_float("x", x, "scaled_value")
  if x.ndim < 1 or x.shape[-1] != chain.T:
    raise ValueError(f"scaled_value: x: expected shape [..., {chain.T}] (chain.T), got {x.shape}")
  return chain.scale * _hard_value(x / chain.lam)


# --------------------------------------------------------------------------------------------------
# Random rotation into high dimension.

def random_orthonormal(key: jax.Array, d: int, T: int, dtype=None) -> jax.Array:
  """U: [d, T] with orthonormal columns, Haar-distributed (QR of a Gaussian matrix, signs fixed by diag R).

  dtype defaults to float64 when x64 is enabled, else float32.
  """
  if not (isinstance(d, int) and isinstance(T, int) and not isinstance(d, bool) and not isinstance(T, bool)
          and 1 <= T <= d):
    raise ValueError(f"d, T: expected integers with 1 <= T <= d, got d={d!r}, T={T!r}")
  dtype = dtype or (jnp.float64 if jax.config.jax_enable_x64 else jnp.float32)
  if not jnp.issubdtype(dtype, jnp.floating):
    raise TypeError(f"random_orthonormal: dtype: expected a floating dtype, got {jnp.dtype(dtype)}")
  g = jax.random.normal(key, (d, T), dtype)
  q, r = jnp.linalg.qr(g)
  return q * jnp.sign(jnp.diagonal(r))[None, :]


def _check_rotation(x, u, fn):
  x = check_float("x", x, fn)
  u = check_float("u", u, fn)
  if u.ndim != 2 or u.shape[1] < 1 or x.ndim < 1 or x.shape[-1] != u.shape[0]:
    raise ValueError(f"{fn}: x, u: expected x [..., d] and u [d, T] (T >= 1), got {x.shape} and {u.shape}")
  return x, u


def rotated_value(x: jax.Array, u: jax.Array) -> jax.Array:
  """f̄_T(Uᵀx): the chain hidden in the orthonormal directions u_1..u_T. x: [..., d], u: [d, T] -> [...].

  The value is defined (and differentiable in x and u) for any u; the lower-bound properties need
  orthonormal columns, which the simulators (`gradient_descent`, `sgd`) check.
  """
  x, u = _check_rotation(x, u, "rotated_value")
  return _hard_value(x @ u)


def rotated_progress(x: jax.Array, u: jax.Array, threshold: float = 0.5) -> jax.Array:
  """max{i : |⟨u_i, x⟩| > α}: progress measured along the hidden directions. x: [..., d] -> [...] int32.

  Integer-valued: differentiating through x or u raises TypeError.
  """
  x, u = _check_rotation(x, u, "rotated_progress")
  threshold = _check_threshold(threshold, "rotated_progress")
  what = "theory.nonconvex_lower_bounds.rotated_progress"
  return _progress_jit(no_grad(x, what) @ no_grad(u, what), threshold)
