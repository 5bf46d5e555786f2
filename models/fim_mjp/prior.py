"""The synthetic prior over MJPs, observation grids and noise that mini-FIM is trained on (paper 27, Sec. 3).

One process (:func:`sample_prior_batch` draws ``B`` of them, vmapped, jit-compiled once per shape):

1. ``C ~ U(c_choices)`` states (padded to ``c_max``);
2. adjacency: each off-diagonal link of the ``C x C`` block is dropped with probability ``drop_prob``;
   if the result is not irreducible (not strongly connected) the full adjacency is used;
3. rates ``F_ij = A_ij * s * Beta(a, b)`` with ``a, b ~ U(beta_ab)`` per process and a scale
   ``s ~ LogUniform(scale)`` per process;
4. ``pi0``: with probability 1/2 the stationary law of ``F``, else ``Dirichlet(1)`` over the ``C`` states;
5. ``P ~ U{n_paths}`` paths (padded to ``p_max``, ``path_mask``) with ``L ~ U{n_obs}`` observations each
   (padded to ``l_max``, ``obs_mask``) on ``[0, horizon]``: a regular grid (``linspace``) or ``0`` followed by
   ``L - 1`` sorted uniform times, chosen with probability 1/2 per process (``grid_kinds``);
6. exact states on the grid (:func:`models.fim_mjp.mjp.sample_grid_paths`), then label flips with a
   probability drawn from ``noise_levels``.

Padded observations repeat the last valid time (``dt = 0``) and state; padded paths are masked.
"""
from __future__ import annotations

import functools
from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import check_key
from models.fim_mjp.mjp import _flip, _grid_paths

__all__ = ["PriorConfig", "MJPBatch", "sample_prior_batch"]


class PriorConfig(NamedTuple):
  """Hyperparameters of the prior (defaults: the notes' CPU prior)."""
  c_max: int = 4
  c_choices: tuple[int, ...] = (2, 3, 4)
  n_paths: tuple[int, int] = (16, 64)       # inclusive range of P
  n_obs: tuple[int, int] = (10, 50)         # inclusive range of L
  horizon: float = 10.0
  noise_levels: tuple[float, ...] = (0.0, 0.01, 0.1)
  drop_prob: float = 0.2
  scale: tuple[float, float] = (0.2, 2.0)   # log-uniform rate scale
  beta_ab: tuple[float, float] = (0.5, 3.0)  # uniform range of the Beta parameters
  grid_kinds: tuple[str, ...] = ("regular", "random")


class MJPBatch(NamedTuple):
  """Processes and their observations (``B`` processes, ``P = p_max`` paths, ``L = l_max`` times)."""
  F: jax.Array           # [B, C, C] true rate matrices (zero outside the n_states block)
  adjacency: jax.Array   # [B, C, C] float 0/1, off-diagonal links present
  pi0: jax.Array         # [B, C] initial distributions
  n_states: jax.Array    # [B] int32
  times: jax.Array       # [B, P, L] observation times
  states: jax.Array      # [B, P, L] int32 observed (noisy) labels
  clean: jax.Array       # [B, P, L] int32 hidden states at the observation times
  path_mask: jax.Array   # [B, P] bool
  obs_mask: jax.Array    # [B, P, L] bool
  noise: jax.Array       # [B] label-flip probability


def _check_config(cfg: PriorConfig, p_max: int, l_max: int) -> None:
  fn = "sample_prior_batch"
  if not isinstance(cfg, PriorConfig):
    raise TypeError(f"{fn}: cfg: expected a PriorConfig, got {type(cfg).__name__}")
  if not cfg.c_choices or any((not isinstance(c, int)) or c < 2 or c > cfg.c_max for c in cfg.c_choices):
    raise ValueError(f"{fn}: cfg.c_choices: expected state counts in [2, c_max={cfg.c_max}], got {cfg.c_choices}")
  lo, hi = cfg.n_paths
  if not (1 <= lo <= hi <= p_max):
    raise ValueError(f"{fn}: cfg.n_paths: expected 1 <= min <= max <= p_max={p_max}, got {cfg.n_paths}")
  lo, hi = cfg.n_obs
  if not (2 <= lo <= hi <= l_max):
    raise ValueError(f"{fn}: cfg.n_obs: expected 2 <= min <= max <= l_max={l_max}, got {cfg.n_obs}")
  if not cfg.horizon > 0:
    raise ValueError(f"{fn}: cfg.horizon: expected a positive time, got {cfg.horizon}")
  if not cfg.noise_levels or any(not 0 <= p < 1 for p in cfg.noise_levels):
    raise ValueError(f"{fn}: cfg.noise_levels: expected probabilities in [0, 1), got {cfg.noise_levels}")
  if not 0 <= cfg.drop_prob < 1:
    raise ValueError(f"{fn}: cfg.drop_prob: expected a probability in [0, 1), got {cfg.drop_prob}")
  if not 0 < cfg.scale[0] <= cfg.scale[1]:
    raise ValueError(f"{fn}: cfg.scale: expected 0 < min <= max, got {cfg.scale}")
  if not 0 < cfg.beta_ab[0] <= cfg.beta_ab[1]:
    raise ValueError(f"{fn}: cfg.beta_ab: expected 0 < min <= max, got {cfg.beta_ab}")
  if not cfg.grid_kinds or any(g not in ("regular", "random") for g in cfg.grid_kinds):
    raise ValueError(f"{fn}: cfg.grid_kinds: expected a non-empty subset of ('regular', 'random'), got "
                     f"{cfg.grid_kinds}")


def sample_prior_batch(key, batch: int, cfg: PriorConfig = PriorConfig(), *, p_max: int | None = None,
                       l_max: int | None = None) -> MJPBatch:
  """``batch`` processes from the prior ``cfg`` with their observations (see the module docstring).

  Args:
    key: PRNG key; the batch is a deterministic function of it.
    batch: number of processes B.
    cfg: :class:`PriorConfig`.
    p_max, l_max: padded path count / grid length (default: the largest ``n_paths`` / ``n_obs``).
  Returns: :class:`MJPBatch`.
  """
  check_key(key, "key", "sample_prior_batch")
  if not isinstance(batch, (int, np.integer)) or batch < 1:
    raise ValueError(f"sample_prior_batch: batch: expected a positive int, got {batch!r}")
  p_max = cfg.n_paths[1] if p_max is None else p_max
  l_max = cfg.n_obs[1] if l_max is None else l_max
  _check_config(cfg, p_max, l_max)
  # numeric hyperparameters are traced (one compile serves every cell of a sweep); the rest is static
  dyn = dict(n_paths=jnp.asarray(cfg.n_paths, jnp.int32), n_obs=jnp.asarray(cfg.n_obs, jnp.int32),
             horizon=jnp.float32(cfg.horizon), noise=jnp.asarray(cfg.noise_levels, jnp.float32),
             drop=jnp.float32(cfg.drop_prob), log_scale=jnp.log(jnp.asarray(cfg.scale, jnp.float32)),
             beta_ab=jnp.asarray(cfg.beta_ab, jnp.float32))
  static = cfg._replace(n_paths=(0, 0), n_obs=(0, 0), horizon=0.0, noise_levels=(0.0,) * len(cfg.noise_levels),
                        drop_prob=0.0, scale=(1.0, 1.0), beta_ab=(1.0, 1.0))
  return _sample(key, dyn, int(batch), static, int(p_max), int(l_max))


@functools.partial(jax.jit, static_argnums=(2, 3, 4, 5))
def _sample(key, dyn, batch, cfg, p_max, l_max):
  return jax.vmap(lambda k: _one(k, dyn, cfg, p_max, l_max))(jax.random.split(key, batch))


def _irreducible(adj, valid):
  """All valid states reach each other through links ``adj`` (boolean matrix powers)."""
  c = adj.shape[0]
  r = jnp.minimum(adj + jnp.eye(c), 1.0)
  for _ in range(max(1, int(np.ceil(np.log2(max(c, 2)))))):
    r = jnp.minimum(r @ r, 1.0)
  both = valid[:, None] & valid[None, :]
  return jnp.all(jnp.where(both, r > 0, True))


def _one(key, dyn, cfg: PriorConfig, p_max: int, l_max: int):
  c = cfg.c_max
  ks = jax.random.split(key, 12)
  n = jnp.asarray(cfg.c_choices, jnp.int32)[jax.random.randint(ks[0], (), 0, len(cfg.c_choices))]
  valid = jnp.arange(c) < n
  offdiag = (valid[:, None] & valid[None, :]) & ~jnp.eye(c, dtype=bool)
  keep = jax.random.uniform(ks[1], (c, c)) >= dyn["drop"]
  adj = (offdiag & keep).astype(jnp.float32)
  adj = jnp.where(_irreducible(adj, valid), adj, offdiag.astype(jnp.float32))
  ab = jax.random.uniform(ks[2], (2,), minval=dyn["beta_ab"][0], maxval=dyn["beta_ab"][1])
  lo, hi = dyn["log_scale"][0], dyn["log_scale"][1]
  s = jnp.exp(jax.random.uniform(ks[3], (), minval=lo, maxval=hi))
  # one gamma draw for the Beta rates (G_a / (G_a + G_b)) and the Dirichlet(1) pi0 (G_1 / sum): one sampler
  shape = jnp.concatenate([jnp.full(c * c, ab[0]), jnp.full(c * c, ab[1]), jnp.ones(c)])
  g = jax.random.gamma(ks[4], shape)
  ga, gb, g1 = g[: c * c].reshape(c, c), g[c * c: 2 * c * c].reshape(c, c), g[2 * c * c:]
  rates = adj * s * ga / jnp.maximum(ga + gb, 1e-30)
  F = rates - jnp.diag(rates.sum(1))
  # stationary law of the valid block (padded states: identity rows keep the system non-singular)
  A = jnp.where(valid[:, None] & valid[None, :], F.T, jnp.eye(c))
  A = A.at[n - 1].set(valid.astype(jnp.float32))
  pi_stat = jnp.clip(jnp.linalg.solve(A, jax.nn.one_hot(n - 1, c)), 0.0, None) * valid
  pi_stat = pi_stat / pi_stat.sum()
  pi_dir = g1 * valid
  pi_dir = pi_dir / pi_dir.sum()
  pi0 = jnp.where(jax.random.bernoulli(ks[6]), pi_stat, pi_dir)
  # grids
  n_paths = jax.random.randint(ks[7], (), dyn["n_paths"][0], dyn["n_paths"][1] + 1)
  n_obs = jax.random.randint(ks[8], (), dyn["n_obs"][0], dyn["n_obs"][1] + 1)
  idx = jnp.arange(l_max)
  obs_valid = idx < n_obs
  last = (n_obs - 1).astype(jnp.float32)
  regular = jnp.minimum(idx, n_obs - 1) * (dyn["horizon"] / jnp.maximum(last, 1.0))
  regular = jnp.broadcast_to(regular, (p_max, l_max))
  u = jax.random.uniform(ks[9], (p_max, l_max - 1)) * dyn["horizon"]
  u = jnp.sort(jnp.where(idx[None, : l_max - 1] < n_obs - 1, u, jnp.inf), axis=-1)
  rand = jnp.concatenate([jnp.zeros((p_max, 1)), u], axis=1)
  last_t = jnp.take_along_axis(rand, jnp.full((p_max, 1), n_obs - 1), axis=1)
  rand = jnp.where(obs_valid[None], rand, last_t)
  kinds = jnp.asarray([k == "regular" for k in cfg.grid_kinds])
  use_regular = kinds[jax.random.randint(ks[10], (), 0, len(cfg.grid_kinds))]
  times = jnp.where(use_regular, regular, rand)
  kp, kn, kf = jax.random.split(ks[11], 3)
  clean = _grid_paths(kp, F, pi0, times)
  p = dyn["noise"][jax.random.randint(kn, (), 0, len(cfg.noise_levels))]
  noisy = _flip(kf, clean, n, p)
  obs_mask = jnp.broadcast_to(obs_valid[None], (p_max, l_max)) & (jnp.arange(p_max) < n_paths)[:, None]
  return MJPBatch(F=F, adjacency=adj, pi0=pi0, n_states=n, times=times, states=noisy, clean=clean,
                  path_mask=jnp.arange(p_max) < n_paths, obs_mask=obs_mask, noise=p)
