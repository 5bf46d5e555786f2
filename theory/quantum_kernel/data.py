"""The ad hoc data set (Havlíček et al. 2019; qiskit-machine-learning ``datasets/ad_hoc.py``) and the classical
baselines' features and model selection.

Ad hoc data: a grid of ``grid`` points per axis on [0, 2 pi)^n (endpoint excluded); a random unitary V whose
columns are the eigenvectors of B^dag B for B with i.i.d. uniform [0, 1) real and imaginary parts (as in qiskit:
not Haar), sorted by decreasing eigenvalue; the observable O = V^dag f V with f the parity diag(prod_k z_k); label +1
where <Phi(x)|O|Phi(x)> > gap, -1 where it is < -gap, the rest discarded. Train and test points are drawn per
class without replacement from the labelled grid cells (qiskit draws with replacement; here train and test are
disjoint).
"""
from __future__ import annotations

import functools
import itertools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import check_key
from theory.common import kernel_methods as km
from theory.quantum_kernel.feature_map import _state

_PKG = "theory.quantum_kernel"


class AdHocData(NamedTuple):
  """x_train [2 P, n], y_train [2 P] in {-1, +1} (P = train_per_class), x_test, y_test likewise; grid_x: [G, n]
  every grid point, grid_value: [G] <Phi(x)|O|Phi(x)>, observable: [2^n, 2^n] O = V^dag f V (complex)."""
  x_train: np.ndarray
  y_train: np.ndarray
  x_test: np.ndarray
  y_test: np.ndarray
  grid_x: np.ndarray
  grid_value: np.ndarray
  observable: np.ndarray


def _int(v, name, fn, lo, hi=None):
  if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo or (hi is not None and v > hi):
    rng = f"in [{lo}, {hi}]" if hi is not None else f">= {lo}"
    raise ValueError(f"{fn}: {name} must be an int {rng}, got {v!r}")
  return int(v)


def ad_hoc_data(key, n: int = 2, train_per_class: int = 20, test_per_class: int = 20, gap: float = 0.3,
                grid: int | None = None) -> AdHocData:
  """The ad hoc classification problem (host numpy, float64). grid defaults to 100 (n = 2) / 20 (n = 3).

  ValueError when a class has fewer than train_per_class + test_per_class labelled grid cells.
  """
  fn = f"{_PKG}.ad_hoc_data"
  check_key(key, "key", fn)
  n = _int(n, "n", fn, 1, 3)
  p_tr = _int(train_per_class, "train_per_class", fn, 1)
  p_te = _int(test_per_class, "test_per_class", fn, 0)
  if isinstance(gap, bool) or not isinstance(gap, (int, float, np.floating)) or not 0 <= gap < 1:
    raise ValueError(f"{fn}: gap (Delta) must be a float in [0, 1), got {gap!r}")
  grid = {1: 100, 2: 100, 3: 20}[n] if grid is None else _int(grid, "grid", fn, 2, 400)
  seed = int(jax.random.randint(key, (), 0, 2 ** 31 - 1))
  rng = np.random.default_rng(seed)
  b = rng.random((2 ** n, 2 ** n)) + 1j * rng.random((2 ** n, 2 ** n))
  w, v = np.linalg.eigh(b.conj().T @ b)
  v = v[:, np.argsort(w)[::-1]]
  z = 1 - 2 * ((np.arange(2 ** n)[:, None] >> np.arange(n)[None, :]) & 1)
  parity = np.prod(z, axis=1).astype(np.float64)
  obs = v.conj().T @ np.diag(parity) @ v
  axis = np.linspace(0.0, 2 * np.pi, grid, endpoint=False)
  gx = np.array(list(itertools.product(axis, repeat=n)), np.float64)
  with jax.enable_x64(True):
    ps = tuple(itertools.combinations(range(n), 2))
    states = np.asarray(jax.jit(jax.vmap(lambda x: _state(x, ps, 2)))(jnp.asarray(gx)))
  value = np.real(np.einsum("gi,ij,gj->g", states.conj(), obs, states))
  out = {}
  for label in (1, -1):
    cells = np.flatnonzero(value > gap) if label == 1 else np.flatnonzero(value < -gap)
    if cells.size < p_tr + p_te:
      raise ValueError(f"{fn}: only {cells.size} grid cells have label {label:+d} at gap {gap}; asked for "
                       f"train_per_class + test_per_class = {p_tr + p_te}")
    pick = rng.choice(cells, p_tr + p_te, replace=False)
    out[label] = (pick[:p_tr], pick[p_tr:])
  idx_tr = np.concatenate([out[1][0], out[-1][0]])
  idx_te = np.concatenate([out[1][1], out[-1][1]])
  y_tr = np.concatenate([np.ones(p_tr), -np.ones(p_tr)])
  y_te = np.concatenate([np.ones(p_te), -np.ones(p_te)])
  return AdHocData(gx[idx_tr], y_tr, gx[idx_te], y_te, gx, value, obs)


def cos_sin_features(xs) -> jax.Array:
  """(cos x, sin x) features of the linear baseline: xs [N, n] -> [N, 2 n] (differentiable)."""
  fn = f"{_PKG}.cos_sin_features"
  xs = jnp.asarray(xs)
  if not jnp.issubdtype(xs.dtype, jnp.floating) or xs.ndim != 2:
    raise ValueError(f"{fn}: xs must be a float [N, n] array, got {xs.dtype} {xs.shape}")
  return jnp.concatenate([jnp.cos(xs), jnp.sin(xs)], axis=1)


def stratified_folds(y, folds: int) -> np.ndarray:
  """A fold id per point, classes dealt round-robin in order: y [N] in {-1, +1} -> [N] int in [0, folds)."""
  fn = f"{_PKG}.stratified_folds"
  y = np.asarray(y)
  folds = _int(folds, "folds", fn, 2)
  if y.ndim != 1 or not np.all(np.abs(y) == 1):
    raise ValueError(f"{fn}: y must be labels [N] in {{-1, +1}}, got shape {y.shape}")
  if min(np.sum(y > 0), np.sum(y < 0)) < folds:
    raise ValueError(f"{fn}: folds must not exceed the smaller class size {min(np.sum(y > 0), np.sum(y < 0))}, "
                     f"got {folds}")
  fold = np.zeros(y.shape[0], np.int64)
  for label in (1, -1):
    where = np.flatnonzero(y == label)
    fold[where] = np.arange(where.size) % folds
  return fold


def cv_accuracy(kernels, y, Cs, folds: int = 5, tol: float = 1e-5) -> np.ndarray:
  """k-fold cross-validated SVM accuracy for every (kernel, C) pair: kernels [G, N, N], Cs [H] ->
  [G, H] float64 (stratified folds; one vmapped solve per fold, kernel and C, folds as per-sample bounds
  C_i = 0). Host function; runs in float64."""
  fn = f"{_PKG}.cv_accuracy"
  kernels = np.asarray(kernels, np.float64)
  if kernels.ndim != 3 or kernels.shape[1] != kernels.shape[2]:
    raise ValueError(f"{fn}: kernels must have shape [G, N, N], got {kernels.shape}")
  y = np.asarray(y, np.float64)
  Cs = np.asarray(Cs, np.float64).reshape(-1)
  if Cs.size < 1 or np.any(~(Cs > 0)):
    raise ValueError(f"{fn}: Cs must be positive, got {Cs}")
  fold = stratified_folds(y, folds)
  if isinstance(tol, bool) or not isinstance(tol, (int, float, np.floating)) or not tol > 0:
    raise ValueError(f"{fn}: tol must be a float > 0, got {tol!r}")
  with jax.enable_x64(True):
    train_mask = jnp.asarray(fold[None, :] != np.arange(folds)[:, None], jnp.float64)   # [F, N]
    out = _cv(jnp.asarray(kernels), jnp.asarray(y), jnp.asarray(Cs), train_mask, float(tol))   # [G, H, F]
    return np.asarray(jnp.mean(out, axis=-1))


@functools.partial(jax.jit, static_argnums=4)
def _cv(kernels, y, cs, train_mask, tol):
  def acc(kmat, c, mask):
    res = km._smo(kmat, y, c * mask, jnp.asarray(tol, kmat.dtype), 100_000)
    f = kmat @ (res.alpha * y) + res.bias
    right = jnp.where(f >= 0, 1.0, -1.0) == y
    return jnp.sum(jnp.where(mask == 0, right, False)) / jnp.sum(mask == 0)
  return jax.vmap(jax.vmap(jax.vmap(acc, (None, None, 0)), (None, 0, None)), (0, None, None))(kernels, cs,
                                                                                             train_mask)
