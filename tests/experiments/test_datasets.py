"""Offline loaders and generators: bundled data, user paths, MIL bags, and the AUC statistic."""
import itertools

import jax
import numpy as np
import pytest

from experiments.datasets import load_tabular, make_bags, random_patterns, split_instances
from theory.common.stats import mean_se as mean_and_se, roc_auc


def test_digits_bundled_and_from_user_paths(tmp_path):
  x, y = load_tabular("digits")
  assert x.shape == (1797, 64) and y.shape == (1797,)
  assert x.min() == 0.0 and x.max() == 1.0 and set(np.unique(y)) == set(range(10))
  np.savez(tmp_path / "d.npz", x=x, y=y)
  x2, y2 = load_tabular("digits", str(tmp_path / "d.npz"))
  np.testing.assert_array_equal(x, x2)
  np.testing.assert_array_equal(y, y2)
  np.savetxt(tmp_path / "d.csv", np.c_[x[:50], y[:50]], delimiter=",", header="a,b", comments="")
  x3, y3 = load_tabular("digits", str(tmp_path / "d.csv"))
  np.testing.assert_allclose(x3, x[:50], rtol=1e-6)
  np.testing.assert_array_equal(y3, y[:50])


def test_loader_errors_name_the_argument(tmp_path):
  with pytest.raises(ValueError, match="name"):
    load_tabular("mnist")
  with pytest.raises(FileNotFoundError, match="path"):
    load_tabular("digits", str(tmp_path / "missing.npz"))
  np.savez(tmp_path / "bad.npz", a=np.zeros(3))
  with pytest.raises(ValueError, match="path"):
    load_tabular("digits", str(tmp_path / "bad.npz"))


@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer"])
def test_other_bundled_sets(name):
  x, y = load_tabular(name, standardize=True)
  assert x.ndim == 2 and len(x) == len(y)
  np.testing.assert_allclose(x.mean(0), 0.0, atol=1e-4)


def test_bags_labels_follow_the_instances():
  x, y = load_tabular("digits")
  x_tr, y_tr, x_te, y_te = split_instances(x, y, test_fraction=0.3, seed=0)
  assert len(x_te) == round(0.3 * len(x)) and len(x_tr) + len(x_te) == len(x)
  # no image is in both splits
  tr_rows = {r.tobytes() for r in x_tr}
  dup = sum(r.tobytes() in tr_rows for r in x_te)
  all_rows = [r.tobytes() for r in x]
  assert dup == sum(1 for r in x_te if all_rows.count(r.tobytes()) > 1)  # only true duplicates in the data
  bags = make_bags(x_tr, y_tr, target=9, n_bags=200, mean_size=10, std_size=2, seed=1)
  assert bags.mask.sum(1).tolist() == bags.sizes.tolist()
  assert bags.sizes.min() >= 1 and bags.sizes.max() <= bags.x.shape[1]
  nines = {r.tobytes() for r in x_tr[y_tr == 9]}
  others = {r.tobytes() for r in x_tr[y_tr != 9]}
  for b in range(200):
    rows = [r.tobytes() for r in bags.x[b][bags.mask[b]]]
    has_nine = any(r in nines and r not in others for r in rows)
    if bags.y[b]:
      assert any(r in nines for r in rows)
    else:
      assert not has_nine
    assert np.all(bags.x[b][~bags.mask[b]] == 0)
  # P(bag contains a 9) = 1 - E[(1 - p)^size]: compare with the empirical positive rate (Monte Carlo)
  p9 = np.mean(y_tr == 9)
  expected = 1 - np.mean((1 - p9) ** bags.sizes)
  assert abs(bags.y.mean() - expected) < 4 * np.sqrt(expected * (1 - expected) / 200)


def test_random_patterns():
  x = random_patterns(jax.random.PRNGKey(0), 500, 64, "binary")
  assert set(np.unique(np.asarray(x))) == {-1.0, 1.0}
  assert abs(float(x.mean())) < 4 / np.sqrt(x.size)
  s = random_patterns(jax.random.PRNGKey(0), 10, 16, "sphere")
  np.testing.assert_allclose(np.linalg.norm(np.asarray(s), axis=-1), 4.0, rtol=1e-5)
  with pytest.raises(ValueError, match="kind"):
    random_patterns(jax.random.PRNGKey(0), 2, 2, "uniform")


def test_roc_auc_equals_pairwise_brute_force():
  rng = np.random.default_rng(0)
  for _ in range(20):
    n = rng.integers(2, 30)
    s = rng.integers(0, 5, n).astype(float)  # many ties
    y = rng.integers(0, 2, n)
    if y.min() == y.max():
      continue
    pos, neg = s[y == 1], s[y == 0]
    brute = np.mean([1.0 if a > b else 0.5 if a == b else 0.0 for a, b in itertools.product(pos, neg)])
    assert roc_auc(s, y) == pytest.approx(brute, abs=1e-12)
  assert np.isnan(roc_auc(np.ones(3), np.ones(3)))


def test_mean_and_se():
  m, se = mean_and_se([1.0, 2.0, 3.0, 4.0])
  assert m == 2.5 and se == pytest.approx(np.std([1, 2, 3, 4], ddof=1) / 2)


def test_sample_batch_draws_distinct_aligned_rows_fixed_by_seed_and_step():
  from experiments.tasks import sample_batch
  x = np.arange(50)[:, None] * np.ones((1, 3))
  y = np.arange(50)
  a = sample_batch({"x": x, "y": y}, 3, 7, 20)
  assert len(set(a["y"].tolist())) == 20                         # without replacement
  np.testing.assert_array_equal(a["x"][:, 0], a["y"])           # the same rows of every array
  np.testing.assert_array_equal(sample_batch({"x": x, "y": y}, 3, 7, 20)["y"], a["y"])
  assert not np.array_equal(sample_batch({"x": x, "y": y}, 3, 8, 20)["y"], a["y"])
  with pytest.raises(ValueError, match="arrays"):
    sample_batch({"x": x, "y": y[:10]}, 0, 0, 5)
