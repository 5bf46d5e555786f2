"""Experiments of the claims (``experiments/claims/quantum_kernel.py``): QKE against classical baselines, the
shot-noise ablation, the VQC depth sweep and kernel concentration. Host functions (numpy float64 out); the
circuits run in float64 under ``jax.enable_x64``.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from theory.common import kernel_methods as km
from theory.quantum_kernel.data import AdHocData, cos_sin_features, cv_accuracy
from theory.quantum_kernel.feature_map import fidelity_kernel, shot_kernel
from theory.quantum_kernel.vqc import init_params, train_vqc, vqc_predict

_PKG = "theory.quantum_kernel"
RBF_GAMMAS = tuple(float(g) for g in np.logspace(-2, 2, 9))
SVM_CS = tuple(float(c) for c in np.logspace(-2, 3, 6))


def _check_data(data, fn):
  if not isinstance(data, AdHocData):
    raise TypeError(f"{fn}: data must be AdHocData from ad_hoc_data, got {type(data).__name__}")


def _accuracy(k_train, k_test, y_tr, y_te, C, tol=1e-6):
  res = km.svm_fit(k_train, y_tr, C, tol=tol)
  f = np.asarray(km.svm_decision(k_test, y_tr, res))
  return float(np.mean(np.where(f >= 0, 1.0, -1.0) == np.asarray(y_te)))


class Comparison(NamedTuple):
  """Test accuracies of the exact-kernel QKE, the RBF-SVM (gamma, C by CV) and the linear SVM on (cos, sin)
  features (C by CV), with the chosen hyperparameters."""
  qke: float
  rbf: float
  linear: float
  rbf_gamma: float
  rbf_C: float
  linear_C: float


def qke_vs_baselines(data: AdHocData, C: float = 1e3, gammas=RBF_GAMMAS, Cs=SVM_CS, folds: int = 5) -> Comparison:
  """QKE (exact fidelity kernel, SVM with bound C) vs RBF-SVM and linear-SVM baselines on one data set."""
  fn = f"{_PKG}.qke_vs_baselines"
  _check_data(data, fn)
  with jax.enable_x64(True):
    xtr, xte = jnp.asarray(data.x_train), jnp.asarray(data.x_test)
    ytr, yte = jnp.asarray(data.y_train), jnp.asarray(data.y_test)
    qke = _accuracy(fidelity_kernel(xtr), fidelity_kernel(xte, xtr), ytr, yte, C)
    g = np.asarray(gammas, np.float64)
    ks = np.stack([np.asarray(km.rbf_kernel(xtr, xtr, float(gi))) for gi in g])
    cv = cv_accuracy(ks, data.y_train, Cs, folds)
    gi, ci = np.unravel_index(np.argmax(cv), cv.shape)                 # first best: smallest gamma, C
    rbf = _accuracy(jnp.asarray(ks[gi]), km.rbf_kernel(xte, xtr, float(g[gi])), ytr, yte, float(Cs[ci]))
    ftr, fte = cos_sin_features(xtr), cos_sin_features(xte)
    kl = km.linear_kernel(ftr, ftr)
    cvl = cv_accuracy(np.asarray(kl)[None], data.y_train, Cs, folds)[0]
    li = int(np.argmax(cvl))
    lin = _accuracy(kl, km.linear_kernel(fte, ftr), ytr, yte, float(Cs[li]))
  return Comparison(qke, rbf, lin, float(g[gi]), float(Cs[ci]), float(Cs[li]))


class ShotSweep(NamedTuple):
  """shots: [S]; frob: [S, reps] ||K_hat - K||_F of the repaired training kernel; acc: [S, reps] QKE test
  accuracy on (K_hat_train repaired, K_hat_test); exact_acc: the exact-kernel accuracy."""
  shots: np.ndarray
  frob: np.ndarray
  acc: np.ndarray
  exact_acc: float


def shot_noise_sweep(key, data: AdHocData, shots=(10, 100, 1000, 10000, 50000), reps: int = 5,
                     C: float = 1e3) -> ShotSweep:
  """The shot-noise ablation: kernel entries Binomial(R, K)/R, PSD repair, then the SVM."""
  fn = f"{_PKG}.shot_noise_sweep"
  _check_data(data, fn)
  shots = tuple(int(r) for r in shots)
  with jax.enable_x64(True):
    xtr, xte = jnp.asarray(data.x_train), jnp.asarray(data.x_test)
    ytr, yte = jnp.asarray(data.y_train), jnp.asarray(data.y_test)
    k, kt = fidelity_kernel(xtr), fidelity_kernel(xte, xtr)
    exact = _accuracy(k, kt, ytr, yte, C)
    frob = np.zeros((len(shots), reps))
    acc = np.zeros((len(shots), reps))
    for i, r in enumerate(shots):
      for j in range(reps):
        k1, k2 = jax.random.split(jax.random.fold_in(jax.random.fold_in(key, r), j))
        kh = shot_kernel(k1, k, r)
        kth = shot_kernel(k2, kt, r, symmetric=False)
        frob[i, j] = float(jnp.linalg.norm(kh - k))
        acc[i, j] = _accuracy(kh, kth, ytr, yte, C)
  return ShotSweep(np.asarray(shots), frob, acc, exact)


class DepthSweep(NamedTuple):
  """depths: [D]; train_acc, test_acc: [D, restarts]; final_risk: [D, restarts] the exact training cost."""
  depths: np.ndarray
  train_acc: np.ndarray
  test_acc: np.ndarray
  final_risk: np.ndarray


def vqc_depth_sweep(key, data: AdHocData, depths=(0, 1, 2, 3, 4), restarts: int = 3, steps: int = 300,
                    lr: float = 0.05, shots: int = 200) -> DepthSweep:
  """The VQC at each depth, trained by Adam on exact expectations from ``restarts`` random initialisations;
  accuracies of the sign(<f> + b) rule."""
  fn = f"{_PKG}.vqc_depth_sweep"
  _check_data(data, fn)
  depths = tuple(int(d) for d in depths)
  n = data.x_train.shape[1]
  tr = np.zeros((len(depths), restarts))
  te = np.zeros_like(tr)
  rk = np.zeros_like(tr)
  with jax.enable_x64(True):
    xtr, xte = jnp.asarray(data.x_train), jnp.asarray(data.x_test)
    for i, d in enumerate(depths):
      for j in range(restarts):
        p0 = init_params(jax.random.fold_in(jax.random.fold_in(key, d), j), n, d, jnp.float64)
        trace = train_vqc(p0, xtr, jnp.asarray(data.y_train), steps=steps, lr=lr, shots=shots)
        tr[i, j] = float(np.mean(np.asarray(vqc_predict(trace.params, xtr)) == data.y_train))
        te[i, j] = float(np.mean(np.asarray(vqc_predict(trace.params, xte)) == data.y_test))
        rk[i, j] = float(trace.risk[-1])
  return DepthSweep(np.asarray(depths), tr, te, rk)


class Concentration(NamedTuple):
  """ns: [Q]; mean_offdiag, var_offdiag: [Q] mean and variance of K(x, x') over distinct pairs of uniform
  x, x' in [0, 2 pi)^n; ratio: mean_offdiag 2^n (1 = concentrated at the Haar value 2^-n)."""
  ns: np.ndarray
  mean_offdiag: np.ndarray
  var_offdiag: np.ndarray
  ratio: np.ndarray


def kernel_concentration(key, ns=(2, 3, 4, 5, 6, 7, 8), points: int = 200) -> Concentration:
  """Off-diagonal fidelity-kernel statistics for ``points`` uniform random inputs per n (all-pairs map)."""
  fn = f"{_PKG}.kernel_concentration"
  if isinstance(points, bool) or not isinstance(points, (int, np.integer)) or points < 2:
    raise ValueError(f"{fn}: points must be an int >= 2, got {points!r}")
  ns = tuple(int(n) for n in ns)
  means, vars_ = [], []
  with jax.enable_x64(True):
    for n in ns:
      x = jax.random.uniform(jax.random.fold_in(key, n), (points, n), jnp.float64, 0.0, 2 * jnp.pi)
      k = np.asarray(fidelity_kernel(x))
      off = k[~np.eye(points, dtype=bool)]
      means.append(off.mean())
      vars_.append(off.var())
  means = np.asarray(means)
  return Concentration(np.asarray(ns), means, np.asarray(vars_), means * 2.0 ** np.asarray(ns))
