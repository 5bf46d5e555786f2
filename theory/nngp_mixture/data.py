"""Data for the claims: the official syn-normal / syn-t generators, train/test splits, the digits held-out-class
split and image corruptions, and a covariate-shift split. Host numpy functions (arrays in, arrays out): loading
the bundled data sets is the caller's job (``experiments.datasets.load_tabular("digits")``,
``sklearn.datasets.load_diabetes``), so user files work the same way.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Split", "ClassSplit", "CORRUPTIONS", "synthetic_regression", "regression_split", "covariate_shift_split",
           "held_out_class_split", "corrupt_images"]

_PKG = "theory.nngp_mixture"
CORRUPTIONS = ("gaussian", "impulse", "occlusion")


class Split(NamedTuple):
  """x_train [n, d], y_train [n], x_test [m, d], y_test [m] (standardised as the function says)."""
  x_train: np.ndarray
  y_train: np.ndarray
  x_test: np.ndarray
  y_test: np.ndarray


def _int(v, name, fn, lo=1):
  if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
    raise ValueError(f"{fn}: {name} must be an int >= {lo}, got {v!r}")
  return int(v)


def _xy(x, y, fn):
  x = np.asarray(x, np.float64)
  y = np.asarray(y)
  if x.ndim == 1:
    x = x[:, None]
  if x.ndim != 2 or y.shape != (x.shape[0],):
    raise ValueError(f"{fn}: x must be [n, d] and y [n] with the same n, got {x.shape} and {y.shape}")
  if not (np.all(np.isfinite(x)) and (y.dtype.kind in "iu" or np.all(np.isfinite(y)))):
    raise ValueError(f"{fn}: x and y must be finite")
  return x, y


def synthetic_regression(name: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
  """The official generators (``experiments/regression/data.py``): x = linspace(-num/2, num/2, num), y = a draw of
  GP(0, RBF with length 1) plus noise: "syn-normal": num = 100, 0.2 N(0, 1) noise; "syn-t": num = 300,
  0.8 t_1 (Cauchy) noise. The official fixed seeds are 829 / 761; ``seed`` replaces them. Returns (x [num, 1],
  y [num])."""
  fn = f"{_PKG}.synthetic_regression"
  if name not in ("syn-normal", "syn-t"):
    raise ValueError(f"{fn}: name must be 'syn-normal' or 'syn-t', got {name!r}")
  seed = _int(seed, "seed", fn, lo=0)
  num = 100 if name == "syn-normal" else 300
  rs = np.random.RandomState(seed)
  x = np.linspace(-num / 2, num / 2, num)[:, None]
  cov = np.exp(-0.5 * (x - x.T) ** 2)
  chol = np.linalg.cholesky(cov + 1e-10 * np.eye(num))
  f = chol @ rs.standard_normal(num)
  noise = rs.standard_normal(num) * 0.2 if name == "syn-normal" else rs.standard_t(1, num) * 0.8
  return x, f + noise


def _standardise(tr, te):
  mu, sd = tr.mean(0), tr.std(0)
  sd = np.where(sd > 0, sd, 1.0)
  return (tr - mu) / sd, (te - mu) / sd


def regression_split(x, y, seed: int, train_fraction: float = 0.8) -> Split:
  """A random permutation split; x and y standardised with the training statistics (as the official
  ``split_dataset``)."""
  fn = f"{_PKG}.regression_split"
  x, y = _xy(x, y, fn)
  if not 0 < train_fraction < 1:
    raise ValueError(f"{fn}: train_fraction must be in (0, 1), got {train_fraction!r}")
  idx = np.random.RandomState(_int(seed, "seed", fn, lo=0)).permutation(x.shape[0])
  n = int(train_fraction * x.shape[0])
  if n < 2 or n >= x.shape[0]:
    raise ValueError(f"{fn}: train_fraction {train_fraction} leaves {n} of {x.shape[0]} points for training")
  tr, te = idx[:n], idx[n:]
  xtr, xte = _standardise(x[tr], x[te])
  ytr, yte = _standardise(y[tr].astype(np.float64), y[te].astype(np.float64))
  return Split(xtr, ytr, xte, yte)


def covariate_shift_split(x, y, feature: int, test_fraction: float = 0.2) -> Split:
  """Sort by column ``feature`` and hold out the top ``test_fraction`` as the (shifted) test set; standardised
  with the training statistics."""
  fn = f"{_PKG}.covariate_shift_split"
  x, y = _xy(x, y, fn)
  if isinstance(feature, bool) or not isinstance(feature, (int, np.integer)) or not 0 <= feature < x.shape[1]:
    raise ValueError(f"{fn}: feature must be a column index in [0, {x.shape[1]}), got {feature!r}")
  if not 0 < test_fraction < 1:
    raise ValueError(f"{fn}: test_fraction must be in (0, 1), got {test_fraction!r}")
  order = np.argsort(x[:, feature], kind="stable")
  m = max(1, int(round(test_fraction * x.shape[0])))
  tr, te = order[:-m], order[-m:]
  xtr, xte = _standardise(x[tr], x[te])
  ytr, yte = _standardise(y[tr].astype(np.float64), y[te].astype(np.float64))
  return Split(xtr, ytr, xte, yte)


class ClassSplit(NamedTuple):
  """x_train [n, F], labels_train [n] (relabelled 0..K-1 over the kept classes), x_test [m, F], labels_test [m],
  x_ood [o, F] (test images of the held-out classes), kept: the original class ids in label order."""
  x_train: np.ndarray
  labels_train: np.ndarray
  x_test: np.ndarray
  labels_test: np.ndarray
  x_ood: np.ndarray
  kept: tuple


def held_out_class_split(x, labels, held_out=(1, 4, 8), test_fraction: float = 0.3, seed: int = 0) -> ClassSplit:
  """Drops the classes ``held_out`` from training: a stratified-by-permutation split of the kept classes into
  train/test, and all held-out-class images as the OOD set. Pixels are left as they are (corruptions act on them);
  standardise afterwards."""
  fn = f"{_PKG}.held_out_class_split"
  x, labels = _xy(x, labels, fn)
  if labels.dtype.kind not in "iu":
    raise TypeError(f"{fn}: labels must be integer class ids, got dtype {labels.dtype}")
  classes = np.unique(labels)
  held = tuple(int(c) for c in held_out)
  if not set(held) <= set(classes.tolist()):
    raise ValueError(f"{fn}: held_out must be classes present in labels {classes.tolist()}, got {held}")
  kept = tuple(int(c) for c in classes if c not in held)
  if len(kept) < 2:
    raise ValueError(f"{fn}: held_out leaves {len(kept)} classes; need >= 2")
  if not 0 < test_fraction < 1:
    raise ValueError(f"{fn}: test_fraction must be in (0, 1), got {test_fraction!r}")
  rs = np.random.RandomState(_int(seed, "seed", fn, lo=0))
  tr, te = [], []
  for c in kept:
    idx = rs.permutation(np.flatnonzero(labels == c))
    m = max(1, int(round(test_fraction * idx.size)))
    te.append(idx[:m])
    tr.append(idx[m:])
  tr, te = np.concatenate(tr), np.concatenate(te)
  tr, te = rs.permutation(tr), rs.permutation(te)
  remap = {c: i for i, c in enumerate(kept)}
  relabel = lambda ls: np.asarray([remap[int(c)] for c in ls], np.int32)
  ood = np.flatnonzero(np.isin(labels, held))
  return ClassSplit(x[tr], relabel(labels[tr]), x[te], relabel(labels[te]), x[ood], kept)


def corrupt_images(x, kind: str, severity: float, seed: int = 0, image_shape=(8, 8)) -> np.ndarray:
  """Corrupted copies of images x [n, H W] with pixels in [0, 1]:
  "gaussian": x + severity N(0, 1), clipped to [0, 1]; "impulse": a fraction ``severity`` of pixels set to 0 or 1
  (salt and pepper); "occlusion": a random square of side round(severity H) set to 0, per image."""
  fn = f"{_PKG}.corrupt_images"
  x = np.asarray(x, np.float64)
  h, w = (int(v) for v in image_shape)
  if x.ndim != 2 or x.shape[1] != h * w:
    raise ValueError(f"{fn}: x must have shape [n, {h * w}] (image_shape {image_shape}), got {x.shape}")
  if kind not in CORRUPTIONS:
    raise ValueError(f"{fn}: kind must be one of {CORRUPTIONS}, got {kind!r}")
  if not (isinstance(severity, (int, float, np.floating)) and np.isfinite(severity) and severity >= 0):
    raise ValueError(f"{fn}: severity must be a finite float >= 0, got {severity!r}")
  if kind != "gaussian" and severity > 1:
    raise ValueError(f"{fn}: severity must be in [0, 1] for {kind!r}, got {severity}")
  rs = np.random.RandomState(_int(seed, "seed", fn, lo=0))
  if kind == "gaussian":
    return np.clip(x + severity * rs.standard_normal(x.shape), 0.0, 1.0)
  if kind == "impulse":
    hit = rs.uniform(size=x.shape) < severity
    return np.where(hit, (rs.uniform(size=x.shape) < 0.5).astype(np.float64), x)
  side = int(round(severity * h))
  out = x.reshape(-1, h, w).copy()
  if side > 0:
    r0 = rs.randint(0, h - side + 1, size=out.shape[0])
    c0 = rs.randint(0, w - side + 1, size=out.shape[0])
    for i in range(out.shape[0]):
      out[i, r0[i]:r0[i] + side, c0[i]:c0[i] + side] = 0.0
  return out.reshape(x.shape)
