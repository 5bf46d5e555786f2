"""Hamiltonian Monte Carlo in JAX: leapfrog + Metropolis-Hastings, full batch, vmapped chains, step size
adapted by dual averaging during burn-in (Hoffman and Gelman 2014, Algorithm 5 of the NUTS paper).

Paper 35 (Kessler et al., "On Sequential Bayesian Inference for Continual Learning", Entropy 2023,
arXiv 2301.01828) runs hamiltorch with step 1e-3, L = 20 leapfrog steps, burn-in then thinned samples over
several chains; this is that sampler written from the textbook algorithm (Neal 2011, "MCMC using
Hamiltonian dynamics": identity mass matrix, one momentum draw per iteration).
"""
from __future__ import annotations

import functools
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["HMCResult", "hmc_sample", "leapfrog"]


class HMCResult(NamedTuple):
  """``samples: [C, S, P]`` (chains, kept samples, dimension), ``accept_rate: [C]`` (after burn-in),
  ``step_size: [C]`` (the adapted step each chain sampled with), ``log_prob: [C, S]`` at the samples."""
  samples: jax.Array
  accept_rate: jax.Array
  step_size: jax.Array
  log_prob: jax.Array


def leapfrog(grad_log_prob: Callable[[jax.Array], jax.Array], q: jax.Array, p: jax.Array, step_size,
             num_steps: int) -> tuple[jax.Array, jax.Array]:
  """``num_steps`` leapfrog steps of H(q, p) = -log_prob(q) + |p|^2 / 2 (volume preserving, reversible)."""
  if not isinstance(num_steps, (int, np.integer)) or isinstance(num_steps, bool) or num_steps < 1:
    raise ValueError(f"leapfrog: num_steps: expected an int >= 1, got {num_steps!r}")
  p = p + 0.5 * step_size * grad_log_prob(q)

  def body(_, qp):
    q, p = qp
    q = q + step_size * p
    p = p + step_size * grad_log_prob(q)
    return q, p
  q, p = jax.lax.fori_loop(0, num_steps - 1, body, (q, p))
  q = q + step_size * p
  p = p + 0.5 * step_size * grad_log_prob(q)
  return q, p


def _check_positive(name: str, v, integer: bool = False, allow_zero: bool = False):
  if integer:
    if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < (0 if allow_zero else 1):
      raise ValueError(f"hmc_sample: {name}: expected an int >= {0 if allow_zero else 1}, got {v!r}")
  else:
    if not isinstance(v, (int, float, np.floating, np.integer)) or not np.isfinite(v) or v <= 0:
      raise ValueError(f"hmc_sample: {name}: expected a finite number > 0, got {v!r}")


def hmc_sample(key: jax.Array, log_prob: Callable[[jax.Array, Any], jax.Array], init: jax.Array, *,
               args: Any = None, step_size: float = 1e-3, num_leapfrog: int = 20, num_burnin: int = 1000,
               num_samples: int = 1000, thin: int = 1, target_accept: float = 0.65,
               adapt: bool = True) -> HMCResult:
  """Samples ``exp(log_prob(q, args))`` with HMC, one chain per row of ``init``.

  Args:
    key: PRNG key.
    log_prob: ``(q: [P], args) -> scalar`` unnormalised log density (static: one compile per function,
      shapes and ``args`` structure).
    init: ``[C, P]`` starting points of the C chains.
    args: a pytree of arrays passed to ``log_prob`` (the data, the prior's parameters).
    step_size: initial leapfrog step (> 0); with ``adapt`` it is tuned per chain in burn-in.
    num_leapfrog: leapfrog steps per trajectory (>= 1).
    num_burnin: iterations discarded (>= 0); step adaptation runs during them.
    num_samples: samples kept per chain (>= 1), every ``thin``-th iteration after burn-in.
    thin: thinning (>= 1).
    target_accept: the acceptance rate dual averaging aims at, in (0, 1).
    adapt: tune the step in burn-in (False keeps ``step_size``).
  Returns: :class:`HMCResult`.
  """
  _check_positive("step_size", step_size)
  _check_positive("num_leapfrog", num_leapfrog, integer=True)
  _check_positive("num_burnin", num_burnin, integer=True, allow_zero=True)
  _check_positive("num_samples", num_samples, integer=True)
  _check_positive("thin", thin, integer=True)
  if not 0.0 < target_accept < 1.0:
    raise ValueError(f"hmc_sample: target_accept: expected a number in (0, 1), got {target_accept!r}")
  init = jnp.asarray(init)
  if init.ndim != 2 or not jnp.issubdtype(init.dtype, jnp.floating):
    raise ValueError(f"hmc_sample: init: expected a float [chains, dim] array, got shape {init.shape} "
                     f"dtype {init.dtype}")
  return _hmc(key, init, args, jnp.asarray(step_size, init.dtype), log_prob=log_prob, num_leapfrog=num_leapfrog,
              num_burnin=num_burnin, num_samples=num_samples, thin=thin, target_accept=target_accept,
              adapt=bool(adapt))


@functools.partial(jax.jit, static_argnames=("log_prob", "num_leapfrog", "num_burnin", "num_samples", "thin",
                                             "target_accept", "adapt"))
def _hmc(key, init, args, step0, *, log_prob, num_leapfrog, num_burnin, num_samples, thin, target_accept, adapt):
  dtype = init.dtype
  lp = lambda q: log_prob(q, args)  # noqa: E731
  lp_and_grad = jax.value_and_grad(lp)
  grad = lambda q: lp_and_grad(q)[1]  # noqa: E731

  def transition(q, logp_q, eps, key):
    kp, ku = jax.random.split(key)
    p0 = jax.random.normal(kp, q.shape, dtype)
    q1, p1 = leapfrog(grad, q, p0, eps, num_leapfrog)
    logp1 = lp(q1)
    log_ratio = (logp1 - 0.5 * jnp.sum(p1 ** 2)) - (logp_q - 0.5 * jnp.sum(p0 ** 2))
    log_ratio = jnp.where(jnp.isfinite(log_ratio), log_ratio, -jnp.inf)
    accept_prob = jnp.minimum(1.0, jnp.exp(log_ratio))
    accept = jnp.log(jax.random.uniform(ku, (), dtype)) < log_ratio
    return jnp.where(accept, q1, q), jnp.where(accept, logp1, logp_q), accept, accept_prob

  def chain(key, q0):
    kb, ks = jax.random.split(key)
    # dual averaging (gamma = 0.05, t0 = 10, kappa = 0.75, mu = log(10 eps0))
    mu = jnp.log(10.0 * step0)

    def burn(carry, inp):
      q, logp, log_eps, log_eps_bar, h_bar = carry
      i, k = inp
      q, logp, _, a = transition(q, logp, jnp.exp(log_eps), k)
      if adapt:
        m = i + 1.0
        h_bar = (1 - 1 / (m + 10.0)) * h_bar + (target_accept - a) / (m + 10.0)
        log_eps = mu - jnp.sqrt(m) / 0.05 * h_bar
        w = m ** -0.75
        log_eps_bar = w * log_eps + (1 - w) * log_eps_bar
      return (q, logp, log_eps, log_eps_bar, h_bar), None

    init_c = (q0, lp(q0), jnp.log(step0), jnp.log(step0), jnp.zeros((), dtype))
    steps = jnp.arange(num_burnin, dtype=dtype)
    (q, logp, log_eps, log_eps_bar, _), _ = jax.lax.scan(burn, init_c, (steps, jax.random.split(kb, num_burnin)))
    eps = jnp.exp(log_eps_bar) if (adapt and num_burnin > 0) else step0

    def draw(carry, k):
      q, logp = carry

      def one(c, kk):
        q, logp, n_acc = c
        q, logp, acc, _ = transition(q, logp, eps, kk)
        return (q, logp, n_acc + acc), None
      (q, logp, n_acc), _ = jax.lax.scan(one, (q, logp, 0), jax.random.split(k, thin))
      return (q, logp), (q, logp, n_acc)

    _, (qs, lps, n_acc) = jax.lax.scan(draw, (q, logp), jax.random.split(ks, num_samples))
    return qs, jnp.sum(n_acc) / (num_samples * thin), eps, lps

  keys = jax.random.split(key, init.shape[0])
  samples, acc, eps, lps = jax.vmap(chain)(keys, init)
  return HMCResult(samples, acc.astype(dtype), eps, lps)
