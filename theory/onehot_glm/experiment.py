"""Experiments of paper 19: recovery of couplings, adjacency and states on the notes' synthetic HMM-GLM (naive vs
Gaussian vs one-hot, over training-set sizes and seeds) and the S = 1 single-neuron demo on real spikes.

Every seed draws its own ground truth (``make_truth``) and data (``simulate``); the fits of one (variant, size)
cell run as one vmapped program over seeds (``fit_batch``). States are decoded by the posterior argmax of the
fitted model on the training sequences and matched to the truth (``metrics.match_states``); the same matching
orders the weights and Pi. Held-out log-likelihood per bin is the forward-algorithm marginal on separate test
sequences.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import check_key
from theory.onehot_glm._checks import check_counts, check_int
from theory.onehot_glm.em import VARIANTS, fit, fit_batch, loglik_per_bin, state_posterior
from theory.onehot_glm.generator import make_truth, simulate
from theory.onehot_glm.metrics import recovery

METRICS = ("state_acc", "weight_corr", "weight_mse", "balanced_acc", "macro_f1", "pi_error", "test_loglik")


class RecoveryResults(NamedTuple):
  """Attributes:
    train_sizes, variants: the grid.
    metrics: metrics[variant][name]: float64 [len(train_sizes), n_seeds] for every name in ``METRICS``.
    example: seed 0 at the smallest size: ``W_true`` [S, N, N], ``types_true``, ``W[variant]`` and
      ``types[variant]`` (matched), ``z_true`` [T] and ``z_hat[variant]`` [T] (first training sequence, matched).
  """
  train_sizes: tuple
  variants: tuple
  metrics: dict
  example: dict


def recovery_experiment(key, *, n_states: int = 3, n_neurons: int = 10, n_bins: int = 1000,
                        train_sizes: Sequence[int] = (5, 15), n_test: int = 5, n_seeds: int = 3,
                        variants: Sequence[str] = VARIANTS, log: Callable[[str], None] | None = None,
                        **fit_kw) -> RecoveryResults:
  """Fits every variant on the first ``R`` training sequences for each R in ``train_sizes`` and seed.

  ``fit_kw`` go to :func:`~theory.onehot_glm.em.fit` (n_iter, n_mstep, lr, tau_w, threshold, ...). Host-side
  loop over the grid; each cell is one compiled, vmapped fit. Not differentiable.
  """
  fn = "recovery_experiment"
  check_key(key, "key", fn)
  for name, v in (("n_states", n_states), ("n_neurons", n_neurons), ("n_bins", n_bins), ("n_test", n_test),
                  ("n_seeds", n_seeds)):
    check_int(v, name, fn)
  sizes = tuple(int(check_int(r, "train_sizes", fn)) for r in train_sizes)
  if not sizes:
    raise ValueError(f"{fn}: train_sizes: expected at least one size, got {train_sizes!r}")
  bad = [v for v in variants if v not in VARIANTS]
  if bad or not variants:
    raise ValueError(f"{fn}: variants: expected a non-empty subset of {VARIANTS}, got {variants!r}")
  log = log or (lambda s: None)
  r_max = max(sizes)
  truths, xs, zs = [], [], []
  for i in range(n_seeds):
    k = jax.random.fold_in(key, i)
    tr = make_truth(jax.random.fold_in(k, 0), n_states, n_neurons)
    x, z = simulate(jax.random.fold_in(k, 1), tr, n_bins, r_max + n_test)
    truths.append(tr), xs.append(x), zs.append(np.asarray(z))
  X = jnp.stack(xs)
  fit_keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.fold_in(key, 10_000), i))(jnp.arange(n_seeds))
  metrics = {v: {m: np.zeros((len(sizes), n_seeds)) for m in METRICS} for v in variants}
  example = {"W": {}, "types": {}, "z_hat": {}}
  for v in variants:
    for j, r in enumerate(sizes):
      res = fit_batch(fit_keys, X[:, :r], n_states, v, **fit_kw)
      for i in range(n_seeds):
        ri = jax.tree.map(lambda a: a[i], res)
        z_hat = np.asarray(jnp.argmax(state_posterior(ri, X[i, :r]).gamma, -1))
        rec = recovery(truths[i], ri, zs[i][:r], z_hat)
        for m in METRICS[:-1]:
          metrics[v][m][j, i] = getattr(rec, m)
        metrics[v]["test_loglik"][j, i] = float(loglik_per_bin(ri, X[i, r_max:]))
        if i == 0 and j == 0:
          inv = np.argsort(rec.perm)
          example["W"][v] = np.asarray(ri.W)[rec.perm]
          example["types"][v] = np.asarray(ri.types)[rec.perm]
          example["z_hat"][v] = inv[z_hat[0]]
      log(f"{v} R={r}: " + " ".join(f"{m} {np.mean(metrics[v][m][j]):.3f}" for m in
                                    ("state_acc", "weight_corr", "macro_f1", "test_loglik")))
  example.update(W_true=np.asarray(truths[0].W), types_true=np.asarray(truths[0].types), z_true=zs[0][0])
  return RecoveryResults(sizes, tuple(variants), metrics, example)


class DemoResult(NamedTuple):
  """S = 1 GLM on one neuron: ``glm_loglik`` and ``poisson_loglik`` (homogeneous rate) per bin on the held-out
  part, the fitted self-history weight ``self_weight`` and bias ``bias``."""
  glm_loglik: float
  poisson_loglik: float
  self_weight: float
  bias: float


def single_neuron_demo(key, counts, *, train_fraction: float = 0.5, n_iter: int = 5, n_mstep: int = 50,
                       lr: float = 0.05) -> DemoResult:
  """Fits the S = 1 HMM-GLM (a Poisson GLM with a free self-history weight, sigmoid link) to the first part of
  ``counts: [T, 1]`` (e.g. ``data.load_spike_counts()``) and scores the rest against a homogeneous Poisson rate."""
  fn = "single_neuron_demo"
  check_key(key, "key", fn)
  check_counts(counts, "counts", fn)
  c = np.asarray(counts, np.float32)
  if c.ndim != 2 or c.shape[1] != 1 or c.shape[0] < 4:
    raise ValueError(f"{fn}: counts: expected [T, 1] with T >= 4, got shape {c.shape}")
  if not (isinstance(train_fraction, float) and 0 < train_fraction < 1):
    raise ValueError(f"{fn}: train_fraction: expected a float in (0, 1), got {train_fraction!r}")
  cut = max(2, min(c.shape[0] - 2, int(round(train_fraction * c.shape[0]))))
  res = fit(key, c[None, :cut], 1, "naive", n_iter=n_iter, n_mstep=n_mstep, lr=lr, self_history=True)
  test = c[None, cut:]
  rate = max(float(c[:cut].mean()), 1e-6)
  from scipy.special import gammaln
  pois = float(np.mean(test * np.log(rate) - rate - gammaln(test + 1.0)))
  return DemoResult(float(loglik_per_bin(res, test)), pois, float(res.W[0, 0, 0]), float(res.b[0]))
