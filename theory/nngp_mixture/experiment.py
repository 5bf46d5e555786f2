"""Experiments of the claims (``experiments/claims/nngp_mixture.py``): NNGP vs its inverse-gamma scale mixture
(Student-t process) on the synthetic regression sets, and one-hot Gaussian-likelihood classification of digits
with held-out classes and corrupted test images. Host functions (numpy float64 out); kernels and posteriors in
float64 under ``jax.enable_x64``.

Both models share the NNGP kernel K (fixed architecture, readout variance 1). The GP fits its output scale
s^2 and noise e by the Gaussian evidence (y ~ N(0, s^2 (K + e I))), as the official GP trains its readout scale
and noise; the t process fits (a, b, e) by the t evidence (:func:`~theory.nngp_mixture.fit_tp`). Extra rows: the
t process with the official default a = 2 (b, e fitted), and a Burr XII scale prior by importance sampling.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.stats

from theory.common import kernel_methods as km
from theory.common.stats import roc_auc
from theory.nngp_mixture.classify import argmax_probabilities, expected_calibration_error, predictive_entropy
from theory.nngp_mixture.data import ClassSplit, Split, corrupt_images
from theory.nngp_mixture.mixture import (fit_gp, fit_tp, gp_predictive_logpdf, importance_predictive, sample_burr,
                                         sample_inverse_gamma, tp_predictive_logpdf)
from theory.nngp_mixture.nngp import nngp_kernel, nngp_kernel_diag

__all__ = ["RegressionRun", "ClassificationRun", "regression_run", "classification_run"]

_PKG = "theory.nngp_mixture"
_Z90 = scipy.stats.norm.ppf(0.95)


def _check_kernel(kernel, fn):
  if not isinstance(kernel, dict):
    raise TypeError(f"{fn}: kernel must be a dict of nngp_kernel keyword arguments, got {type(kernel).__name__}")
  allowed = {"depth", "activation", "w_std", "b_std", "last_b_std"}
  bad = set(kernel) - allowed
  if bad:
    raise ValueError(f"{fn}: kernel has unknown keys {sorted(bad)}; allowed {sorted(allowed)} (the readout "
                     "variance is the fitted scale)")
  return dict(kernel)


@jax.jit
def _gp_eval(k, kx, kd, y, target, s2, e):
  post = km.gp_posterior(s2 * k, s2 * kx, s2 * kd, y, s2 * e)
  return post, gp_predictive_logpdf(target, post, s2 * e)


@jax.jit
def _tp_eval(k, kx, kd, y, target, a, b, e):
  post = km.tp_posterior(k, kx, kd, y, a, b, e)
  return post, tp_predictive_logpdf(target, post, e)


def _kernels(kernel, xtr, xte):
  return (nngp_kernel(xtr, **kernel), nngp_kernel(xte, xtr, **kernel), nngp_kernel_diag(xte, **kernel))


class RegressionRun(NamedTuple):
  """Test metrics per model (dicts keyed "nngp", "tp", "tp_a2", "burr"): nll (mean -log p(y_*)), rmse,
  cover90 (fraction of test targets inside the central 90 % predictive interval); fits: the fitted
  hyperparameters; band: x_test [m] (first input column), y_test, mean, half90 {model: [m]} for figures."""
  nll: dict
  rmse: dict
  cover90: dict
  fits: dict
  band: dict


def regression_run(split: Split, kernel: dict, seed: int = 0, burr=(2.0, 1.0), is_samples: int = 4096,
                   a_bounds=(0.1, 1e4)) -> RegressionRun:
  """Fits and scores the NNGP, the t process (a, b, e fitted), the t process with a = 2 and the Burr XII mixture
  (sigma^2 = s^2 X, X ~ Burr(c, d) = ``burr``, s^2 and e from the GP fit; importance sampling) on one split."""
  fn = f"{_PKG}.regression_run"
  if not isinstance(split, Split):
    raise TypeError(f"{fn}: split must be a Split (regression_split / covariate_shift_split), got "
                    f"{type(split).__name__}")
  kernel = _check_kernel(kernel, fn)
  with jax.enable_x64(True):
    xtr, xte = jnp.asarray(split.x_train), jnp.asarray(split.x_test)
    ytr, yte = jnp.asarray(split.y_train, jnp.float64), jnp.asarray(split.y_test, jnp.float64)
    k, kx, kd = _kernels(kernel, xtr, xte)
    out = {m: {} for m in ("nll", "rmse", "cover90", "half90")}
    fits = {}
    g = fit_gp(k, ytr)
    fits["nngp"] = g._asdict()
    gp, lp = _gp_eval(k, kx, kd, ytr, yte, g.scale2, g.noise)
    sd = np.sqrt(np.asarray(gp.var) + g.scale2 * g.noise)
    _score(out, "nngp", np.asarray(lp), np.asarray(gp.mean), sd * _Z90, np.asarray(yte))
    for name, kw in (("tp", dict(a_bounds=a_bounds)), ("tp_a2", dict(a=2.0))):
      t = fit_tp(k, ytr, **kw)
      fits[name] = t._asdict()
      tp, lp = _tp_eval(k, kx, kd, ytr, yte, t.a, t.b, t.noise)
      s = np.sqrt(np.asarray(tp.scale2) + float(tp.b_post / tp.a_post) * t.noise)
      _score(out, name, np.asarray(lp), np.asarray(tp.mean), s * scipy.stats.t.ppf(0.95, float(tp.df)),
             np.asarray(yte))
    c, d = burr
    s2 = sample_burr(jax.random.PRNGKey(seed), c, d, (is_samples,), scale=g.scale2).astype(jnp.float64)
    isp = importance_predictive(s2, k, kx, kd, ytr, yte, g.noise)
    fits["burr"] = {"c": float(c), "d": float(d), "scale": g.scale2, "noise": g.noise, "ess": float(isp.ess)}
    lw = np.asarray(isp.log_weights)
    half = _mixture_half90(np.exp(lw), np.asarray(s2), np.asarray(isp.var) / float(np.sum(np.exp(lw) * s2)))
    _score(out, "burr", np.asarray(isp.logpdf), np.asarray(isp.mean), half, np.asarray(yte))
  band = {"x_test": split.x_test[:, 0], "y_test": split.y_test, "mean": out.pop("mean"), "half90": out.pop("half90")}
  return RegressionRun(out["nll"], out["rmse"], out["cover90"], fits, band)


def _mixture_half90(w, s2, v):
  """Half-width of the central 90 % interval of sum_k w_k N(0, s2_k v) per point (bisection on the CDF)."""
  lo, hi = np.zeros_like(v), 50.0 * np.sqrt(np.max(s2) * v)
  for _ in range(60):
    mid = 0.5 * (lo + hi)
    cdf = np.sum(w[:, None] * scipy.stats.norm.cdf(mid[None, :] / np.sqrt(s2[:, None] * v[None, :])), 0)
    lo, hi = np.where(cdf < 0.95, mid, lo), np.where(cdf < 0.95, hi, mid)
  return 0.5 * (lo + hi)


def _score(out, name, logpdf, mean, half, y):
  out["nll"][name] = float(-np.mean(logpdf))
  out["rmse"][name] = float(np.sqrt(np.mean((mean - y) ** 2)))
  out["cover90"][name] = float(np.mean(np.abs(y - mean) <= half))
  out.setdefault("mean", {})[name] = mean
  out["half90"][name] = half


class ClassificationRun(NamedTuple):
  """Per evaluation set (``sets``: "clean" then "<kind> <severity>"), per model ("nngp", "tp" with a fitted,
  "tp_a2" with a = 2): acc, nll (the
  official one-hot regression NLL: mean over test points and outputs of -log p(target)), ece and cat_nll (from
  the argmax probabilities); auroc_entropy / auroc_variance: held-out classes vs clean test (higher score = OOD);
  fits: the fitted hyperparameters."""
  sets: list
  acc: dict
  nll: dict
  ece: dict
  cat_nll: dict
  auroc_entropy: dict
  auroc_variance: dict
  fits: dict


def classification_run(split: ClassSplit, kernel: dict, corruptions, seed: int = 0, num_samples: int = 256,
                       a_bounds=(0.1, 1e4)) -> ClassificationRun:
  """One-hot Gaussian-likelihood classification by the NNGP and the t process on a held-out-class split.

  Pixels are standardised by the training set's global mean and standard deviation (after corruption, so a
  corrupted image is scored on the training scale). corruptions: [(kind, severity)] for
  :func:`~theory.nngp_mixture.corrupt_images` applied to the clean test images (seeded by ``seed``).
  """
  fn = f"{_PKG}.classification_run"
  if not isinstance(split, ClassSplit):
    raise TypeError(f"{fn}: split must be a ClassSplit from held_out_class_split, got {type(split).__name__}")
  kernel = _check_kernel(kernel, fn)
  corruptions = [(str(k), float(s)) for k, s in corruptions]
  c = len(split.kept)
  mu, sd = float(split.x_train.mean()), float(split.x_train.std())
  std = lambda a: (np.asarray(a, np.float64) - mu) / sd
  sets = [("clean", split.x_test)] + [(f"{k} {s:g}", corrupt_images(split.x_test, k, s, seed=seed + i))
                                      for i, (k, s) in enumerate(corruptions)]
  names = [s for s, _ in sets]
  res = {m: {s: {} for s in names} for m in ("acc", "nll", "ece", "cat_nll")}
  fits, scores = {}, {}
  with jax.enable_x64(True):
    xtr = jnp.asarray(std(split.x_train))
    y = km.onehot_targets(jnp.asarray(split.labels_train), c, dtype=jnp.float64)
    k = nngp_kernel(xtr, **kernel)
    g = fit_gp(k, y)
    tps = {"tp": fit_tp(k, y, a_bounds=a_bounds), "tp_a2": fit_tp(k, y, a=2.0)}
    fits = {"nngp": g._asdict(), **{m: t._asdict() for m, t in tps.items()}}
    key = jax.random.PRNGKey(seed)
    labels = split.labels_test
    target = np.asarray(km.onehot_targets(jnp.asarray(labels), c, dtype=jnp.float64))
    for name, x in sets + [("ood", split.x_ood)]:
      xe = jnp.asarray(std(x))
      kx, kd = nngp_kernel(xe, xtr, **kernel), nngp_kernel_diag(xe, **kernel)
      tgt = target if name != "ood" else jnp.zeros((x.shape[0], c), jnp.float64)
      gp, lp = _gp_eval(k, kx, kd, y, tgt, g.scale2, g.noise)
      p_gp = argmax_probabilities(key, gp.mean, gp.var, None, num_samples)
      models = {"nngp": (gp, p_gp, gp.var, lp)}
      for m, t in tps.items():
        tp, lp = _tp_eval(k, kx, kd, y, tgt, t.a, t.b, t.noise)
        s2 = sample_inverse_gamma(jax.random.fold_in(key, 1), tp.a_post, tp.b_post, (num_samples,))
        p_tp = argmax_probabilities(key, tp.mean, tp.scale2 * tp.a_post / tp.b_post, s2, num_samples)
        models[m] = (tp, p_tp, tp.scale2, lp)
      scores[name] = {m: (np.asarray(predictive_entropy(v[1])), np.asarray(v[2])) for m, v in models.items()}
      if name == "ood":
        continue
      for model, (post, probs, _, logpdf) in models.items():
        probs = np.asarray(probs)
        res["acc"][name][model] = float(np.mean(np.argmax(np.asarray(post.mean), 1) == labels))
        res["nll"][name][model] = float(-np.mean(np.asarray(logpdf)))
        res["ece"][name][model] = expected_calibration_error(probs, labels)
        smooth = (probs * num_samples + 1.0) / (num_samples + c)
        res["cat_nll"][name][model] = float(-np.mean(np.log(smooth[np.arange(len(labels)), labels])))
  lab = np.r_[np.zeros(len(split.x_test)), np.ones(len(split.x_ood))]
  auroc_e = {m: roc_auc(np.r_[scores["clean"][m][0], scores["ood"][m][0]], lab) for m in scores["clean"]}
  auroc_v = {m: roc_auc(np.r_[scores["clean"][m][1], scores["ood"][m][1]], lab) for m in scores["clean"]}
  return ClassificationRun(names, res["acc"], res["nll"], res["ece"], res["cat_nll"], auroc_e, auroc_v, fits)
