"""The RADD character-level task (paper 29).

Oracles: with a zeroed output head the conditionals are uniform over the V real tokens, so the k-DCE loss
``(L/k) Σ_{i∈M} log V`` is exactly ``L log V`` for every draw (log V nats per character) and λ-DCE has
that expectation; the mask id does not collide with a character id; bad fields are named.
"""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs.common import validate_train
from experiments.configs.radd import get_config
from experiments.tasks.radd_lm import RADDLM


def _task(**over):
  cfg = get_config("smoke")
  for k, v in over.items():
    cfg[k] = v
  validate_train(cfg)
  RADDLM.validate(cfg)
  return RADDLM(cfg)


def test_uniform_conditionals_give_log_v_per_character():
  task = _task(loss="k_dce")
  params, extra = task.init(jax.random.PRNGKey(0))
  params = dict(params, head=jax.tree.map(jnp.zeros_like, params["head"]))
  batch = {"tokens": jnp.asarray(task.train_batch(0)["tokens"])}
  v = task.vocab_size
  loss_fn = jax.jit(task.loss)
  for s in range(3):
    loss, (metrics, _) = loss_fn(params, extra, batch, jax.random.PRNGKey(s))
    np.testing.assert_allclose(float(loss), math.log(v), rtol=1e-5)    # float32 log-softmax of zeros
    np.testing.assert_allclose(float(metrics["bpc"]), math.log2(v), rtol=1e-5)
  task = _task(loss="lambda_dce")
  draws = np.asarray(jax.jit(jax.vmap(lambda k: task.loss(params, extra, batch, k)[0]))(
      jax.random.split(jax.random.PRNGKey(1), 200)), np.float64)
  se = np.std(draws, ddof=1) / math.sqrt(len(draws))
  assert abs(np.mean(draws) - math.log(v)) < 4 * se                     # Monte Carlo, 4 SE


def test_mask_id_is_outside_the_character_ids_and_batches_are_a_function_of_the_step():
  task = _task()
  b0, b0_again, b1 = task.train_batch(0)["tokens"], task.train_batch(0)["tokens"], task.train_batch(1)["tokens"]
  np.testing.assert_array_equal(b0, b0_again)
  assert not np.array_equal(b0, b1)
  assert task.mask_id == task.vocab_size and b0.max() < task.mask_id and task.val_windows.max() < task.mask_id


@pytest.mark.parametrize("field, value", [("loss", "dce"), ("noise_eps", 1.0), ("model.num_heads", 3),
                                          ("data.eval_samples", 0)])
def test_invalid_fields_are_named(field, value):
  cfg = get_config("smoke")
  section, _, name = field.rpartition(".")
  (cfg[section] if section else cfg)[name] = value
  with pytest.raises(ValueError, match=f"config.{field}"):
    RADDLM.validate(cfg)
