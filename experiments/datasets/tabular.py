"""Small tabular/image sets bundled with scikit-learn (no ``fetch_*``: those download)."""
from __future__ import annotations

import os

import numpy as np

# name -> (sklearn loader name, feature scale)
TABULAR_SETS = {
    "digits": ("load_digits", 16.0),      # 1797 x 64 (8x8 images, values 0..16), 10 classes
    "iris": ("load_iris", None),          # 150 x 4, 3 classes
    "wine": ("load_wine", None),          # 178 x 13, 3 classes
    "breast_cancer": ("load_breast_cancer", None),  # 569 x 30, 2 classes
}


def load_tabular(name: str, path: str | None = None, *, standardize: bool = False) -> tuple[np.ndarray, np.ndarray]:
  """Returns ``(x: [n, F] float32, y: [n] int32)``.

  Args:
    name: one of ``TABULAR_SETS`` (digits are scaled to [0, 1]).
    path: optional user file instead of the bundled copy: ``.npz`` with arrays ``x`` and ``y``, or a
      ``.csv`` whose last column is the integer label (a header line is skipped if present).
    standardize: z-score every feature (statistics of the whole set).
  """
  if name not in TABULAR_SETS:
    raise ValueError(f"name: expected one of {sorted(TABULAR_SETS)}, got {name!r}")
  if path is not None:
    x, y = _load_user_file(path)
  else:
    try:
      import sklearn.datasets
    except ImportError as e:  # pragma: no cover - depends on the environment
      raise ImportError("load_tabular needs scikit-learn (pip install -e '.[data]') or path=") from e
    loader, scale = TABULAR_SETS[name]
    bunch = getattr(sklearn.datasets, loader)()
    x, y = np.asarray(bunch.data, np.float32), np.asarray(bunch.target, np.int32)
    if scale:
      x = x / np.float32(scale)
  if standardize:
    x = (x - x.mean(0)) / np.maximum(x.std(0), 1e-8)
  return x.astype(np.float32), y.astype(np.int32)


def _load_user_file(path: str) -> tuple[np.ndarray, np.ndarray]:
  if not os.path.exists(path):
    raise FileNotFoundError(f"path: no such file {path!r}")
  if path.endswith(".npz"):
    with np.load(path) as f:
      missing = {"x", "y"} - set(f.files)
      if missing:
        raise ValueError(f"path: expected an .npz with arrays 'x' and 'y', {path!r} lacks {sorted(missing)}")
      x, y = f["x"], f["y"]
  elif path.endswith(".csv"):
    try:
      data = np.loadtxt(path, delimiter=",", dtype=np.float64)
    except ValueError:
      data = np.loadtxt(path, delimiter=",", dtype=np.float64, skiprows=1)
    x, y = data[:, :-1], data[:, -1]
  else:
    raise ValueError(f"path: expected a .npz or .csv file, got {path!r}")
  x, y = np.asarray(x, np.float32), np.asarray(y)
  if x.ndim != 2 or y.shape != (x.shape[0],):
    raise ValueError(f"path: expected x [n, F] and y [n], got {x.shape} and {y.shape}")
  return x.reshape(len(x), -1), y.astype(np.int32)
