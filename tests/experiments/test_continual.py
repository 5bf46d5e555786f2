"""The continual-learning harness: metrics on hand-made matrices, task sequences (permutations, splits,
masks, loaders), and resume mid-sequence = uninterrupted, bitwise."""
import gzip
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import continual as C

# ACC / BWT / forgetting on hand-made matrices -------------------------------------------------------------


def test_acc_bwt_forgetting_hand_made():
  a = np.array([[0.9, np.nan, np.nan],
                [0.7, 0.8, np.nan],
                [0.5, 0.6, 1.0]])
  assert C.acc(a) == pytest.approx((0.5 + 0.6 + 1.0) / 3)
  assert C.bwt(a) == pytest.approx(((0.5 - 0.9) + (0.6 - 0.8)) / 2)
  assert C.forgetting(a) == pytest.approx(((0.9 - 0.5) + (0.8 - 0.6)) / 2)
  no_forget = np.array([[1.0, 0.0], [1.0, 1.0]])
  assert C.bwt(no_forget) == 0.0 and C.acc(no_forget) == 1.0
  improve = np.array([[0.5, 0.1], [0.7, 0.9]])       # positive backward transfer; above-diagonal ignored
  assert C.bwt(improve) == pytest.approx(0.2) and C.forgetting(improve) == pytest.approx(-0.2)


def test_metric_bad_inputs():
  with pytest.raises(ValueError, match="bwt: matrix"):
    C.bwt(np.ones((1, 1)))
  with pytest.raises(ValueError, match="acc: matrix"):
    C.acc(np.ones((2, 3)))
  with pytest.raises(ValueError, match="accuracy: mask"):
    C.accuracy(np.zeros((2, 3)), np.zeros(2, int), np.zeros(3, bool))


def test_accuracy_respects_the_mask():
  logits = np.array([[0.0, 5.0, 1.0], [3.0, 0.0, 2.0]])
  assert C.accuracy(logits, np.array([1, 0])) == 1.0
  assert C.accuracy(logits, np.array([2, 2]), np.array([True, False, True])) == 0.5


# Sequences -----------------------------------------------------------------------------------------------


def test_permutations_are_permutations_fixed_per_seed():
  p = C.task_permutations(4, 64, seed=3)
  for row in p:
    assert np.array_equal(np.sort(row), np.arange(64))
  assert np.array_equal(p[0], np.arange(64))
  assert np.array_equal(p, C.task_permutations(4, 64, seed=3))
  assert not np.array_equal(p[1:], C.task_permutations(4, 64, seed=4)[1:])
  assert len({tuple(r) for r in p}) == 4


def test_permuted_sequence_applies_its_permutation():
  rng = np.random.default_rng(0)
  x, y = rng.random((12, 6)).astype(np.float32), rng.integers(0, 3, 12)
  perms = C.task_permutations(3, 6, seed=1)
  seq = C.permuted_sequence(x, y, x[:4], y[:4], num_tasks=3, permutations=perms)
  assert seq.scenario == "domain" and seq.num_tasks == 3
  for t, p in zip(seq.tasks, perms):
    np.testing.assert_array_equal(t.x_train, x[:, p])
    np.testing.assert_array_equal(t.y_train, y)
  assert seq.class_mask(2, 0).all()
  bad = perms.copy()
  bad[1, 0] = bad[1, 1]
  with pytest.raises(ValueError, match=r"permutations\[1\]"):
    C.permuted_sequence(x, y, x, y, num_tasks=3, permutations=bad)


@pytest.fixture(scope="module")
def split_class():
  return C.split_digits("class", seed=0)


def test_split_classes_disjoint_and_masks(split_class):
  seq = split_class
  assert seq.num_tasks == 5 and seq.num_classes == 10
  cls = [set(t.classes) for t in seq.tasks]
  assert set().union(*cls) == set(range(10))
  for i in range(5):
    for j in range(i + 1, 5):
      assert not cls[i] & cls[j]
  for t in seq.tasks:
    assert set(np.unique(t.y_train)) == set(t.classes) == set(np.unique(t.y_test))
  # class-incremental: the classes seen so far; task-incremental: the task's own
  assert np.flatnonzero(seq.class_mask(2, 0)).tolist() == list(range(6))
  ti = C.split_digits("task", seed=0)
  assert np.flatnonzero(ti.class_mask(4, 1)).tolist() == [2, 3]
  # the split holds every digit once (train and test disjoint and complete)
  n = sum(len(t.y_train) + len(t.y_test) for t in seq.tasks)
  assert n == 1797


def test_make_sequence_rejects_mismatched_task_shapes(split_class):
  t0, t1 = split_class.tasks[:2]
  bad = t1._replace(x_train=t1.x_train[:, :10])
  with pytest.raises(ValueError, match=r"tasks\[1\].x_train"):
    C.make_sequence([t0, bad], "class", 10)
  with pytest.raises(ValueError, match="scenario"):
    C.make_sequence([t0], "online", 10)


def test_load_image_set_user_sources(tmp_path):
  rng = np.random.default_rng(0)
  imgs = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
  labs = rng.integers(0, 10, 5).astype(np.uint8)

  def idx(arr, path):
    header = bytes([0, 0, 8, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    with gzip.open(path, "wb") as f:
      f.write(header + arr.tobytes())
  for split in ("train", "t10k"):
    idx(imgs, tmp_path / f"{split}-images-idx3-ubyte.gz")
    idx(labs, tmp_path / f"{split}-labels-idx1-ubyte.gz")
  xtr, ytr, xte, yte = C.load_image_set("fashion_mnist", str(tmp_path))
  np.testing.assert_array_equal(xtr, imgs.reshape(5, -1) / np.float32(255))
  np.testing.assert_array_equal(yte, labs)
  np.savez(tmp_path / "m.npz", x_train=imgs, y_train=labs, x_test=imgs, y_test=labs)
  xtr2, *_ = C.load_image_set("mnist", str(tmp_path / "m.npz"))
  np.testing.assert_array_equal(xtr2, xtr)
  with pytest.raises(ValueError, match="name"):
    C.load_image_set("cifar10")


# Driver: resume mid-sequence = uninterrupted --------------------------------------------------------------


def _toy_method():
  """A softmax regression trained with noisy SGD whose carry also holds a running 'Fisher' diagonal and a
  replay buffer: everything a method state can be (arrays of fixed shapes, an int counter)."""
  @jax.jit
  def sgd(w, x, y, key):
    def loss(w):
      return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(x @ w), y[:, None], 1))
    def step(w, k):
      return w - 0.5 * jax.grad(loss)(w) + 1e-3 * jax.random.normal(k, w.shape), None
    w, _ = jax.lax.scan(step, w, jax.random.split(key, 5))
    return w, jax.grad(loss)(w) ** 2

  def init(key, seq):
    return {"w": 0.01 * jax.random.normal(key, (seq.num_features, seq.num_classes)),
            "fisher": jnp.zeros((seq.num_features, seq.num_classes)),
            "buffer": np.zeros((seq.num_tasks, 4, seq.num_features), np.float32), "tasks": np.int32(0)}

  def train_task(carry, seq, t, key):
    task = seq.tasks[t]
    n = 128   # one shape for every task: one compile
    w, f = sgd(carry["w"], jnp.asarray(task.x_train[:n]), jnp.asarray(task.y_train[:n]), key)
    buf = np.asarray(carry["buffer"]).copy()
    buf[t] = task.x_train[:4]
    return {"w": w, "fisher": carry["fisher"] + f, "buffer": buf, "tasks": np.int32(carry["tasks"] + 1)}

  return C.Method("toy", init, train_task, lambda carry, x: np.asarray(x) @ np.asarray(carry["w"]))


def test_resume_mid_sequence_equals_uninterrupted(split_class, tmp_path):
  m = _toy_method()
  split_class = C.make_sequence(split_class.tasks[:3], "class", 10, "split3")   # 3 tasks: fewer orbax saves
  full = C.run_sequence(m, split_class, seed=7, workdir=str(tmp_path / "full"))
  part = C.run_sequence(m, split_class, seed=7, workdir=str(tmp_path / "part"), stop_after=1)
  assert part.trained_tasks == (0,)
  resumed = C.run_sequence(m, split_class, seed=7, workdir=str(tmp_path / "part"))
  assert resumed.start_task == 1 and resumed.trained_tasks == (1, 2)
  np.testing.assert_array_equal(full.matrix, resumed.matrix)
  for a, b in zip(jax.tree.leaves(full.carry), jax.tree.leaves(resumed.carry)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  assert int(resumed.carry["tasks"]) == 3
  assert full.acc == C.acc(full.matrix) and full.bwt == C.bwt(full.matrix)
  assert os.path.exists(tmp_path / "full" / "continual.json")
  # a finished run reloads without training
  again = C.run_sequence(m, split_class, seed=7, workdir=str(tmp_path / "full"))
  assert again.trained_tasks == () and np.array_equal(again.matrix, full.matrix, equal_nan=True)
