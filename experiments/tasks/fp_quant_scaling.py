"""The quantised-training toy of paper 32 (Sun et al., ICML 2025, arXiv:2501.02423) as a train_lib task: a
``QuantMLP`` (hidden GEMMs through ``kernels.fp_quant.qmatmul``) trained on fresh samples of a random tanh
teacher (``models.fp_quant_scaling.experiment``), one precision per run.

Batches are a function of (seed, step) (the teacher is fixed by the seed); ``evaluate`` reports the exact
cross-entropy to the teacher's distribution on a fixed held-out set and the teacher's entropy (the floor).
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from experiments.configs.common import require
from experiments.tasks import Task
from kernels.fp_quant import BACKWARDS, TARGETS, parse_format
from models.fp_quant_scaling import QuantMLP, make_teacher, sample_batch, teacher_probs


def _block(v: str):
  return v if v in ("channel", "tensor") else int(v)


class QuantMLPTask(Task):
  """``config.model``: hidden, fmt ("E2M1" ... or "fp32"), block_size ("64" / "channel" / "tensor"), targets,
  backward; ``config.data``: d_in, teacher_hidden, classes, temperature, eval_size."""

  @classmethod
  def validate(cls, config: Any) -> None:
    m, d = config.model, config.data
    require(isinstance(m.hidden, int) and m.hidden >= 1, "model.hidden", "a positive int", m.hidden)
    if m.fmt != "fp32":
      try:
        parse_format(m.fmt)
      except (TypeError, ValueError):
        require(False, "model.fmt", "'fp32' or a format name like 'E2M1'", m.fmt)
    ok_block = m.block_size in ("channel", "tensor") or (str(m.block_size).isdigit() and int(m.block_size) >= 1)
    require(ok_block, "model.block_size", "a positive int as a string, 'channel' or 'tensor'", m.block_size)
    require(all(t in TARGETS for t in m.targets) and len(m.targets) >= 1, "model.targets",
            f"a non-empty subset of {TARGETS}", m.targets)
    require(m.backward in BACKWARDS, "model.backward", f"one of {BACKWARDS}", m.backward)
    require(not (m.backward == "ste" and any(t in m.targets for t in ("P3", "P4", "P5", "P6"))), "model.targets",
            "only P1/P2 with backward='ste'", m.targets)
    for f in ("d_in", "teacher_hidden", "eval_size"):
      require(isinstance(d[f], int) and d[f] >= 1, f"data.{f}", "a positive int", d[f])
    require(isinstance(d.classes, int) and d.classes >= 2, "data.classes", "an int >= 2", d.classes)
    require(d.temperature > 0, "data.temperature", "a positive float", d.temperature)

  def __init__(self, config: Any):
    super().__init__(config)
    m, d = config.model, config.data
    self.teacher = make_teacher(jax.random.PRNGKey(config.seed), d.d_in, d.teacher_hidden, d.classes,
                                float(d.temperature))
    self.model = QuantMLP(hidden=m.hidden, out=d.classes, fmt=None if m.fmt == "fp32" else m.fmt,
                          block_size=_block(m.block_size), targets=tuple(m.targets), backward=m.backward)
    kx = jax.random.fold_in(jax.random.PRNGKey(config.seed), 10_000_019)
    self.x_eval = jax.random.normal(kx, (d.eval_size, d.d_in), jnp.float32)
    self.p_eval = teacher_probs(self.teacher, self.x_eval)
    self._logits = jax.jit(lambda p, x: self.model.apply({"params": p}, x))
    self._sample = jax.jit(lambda k: sample_batch(self.teacher, k, config.train.batch_size))

  def init(self, key):
    return self.model.init(key, jnp.zeros((1, self.config.data.d_in), jnp.float32))["params"], {}

  def loss(self, params, extra, batch, key):
    logits = self.model.apply({"params": params}, batch["x"])
    ce = jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, batch["y"]))
    return ce, ({"accuracy": jnp.mean(jnp.argmax(logits, -1) == batch["y"])}, extra)

  def train_batch(self, step: int):
    k = jax.random.fold_in(jax.random.PRNGKey(self.config.seed + 1), step)
    x, y = self._sample(k)
    return {"x": np.asarray(x, np.float32), "y": np.asarray(y, np.int32)}

  def evaluate(self, params, extra):
    logp = jax.nn.log_softmax(self._logits(params, self.x_eval), -1)
    ce = float(-jnp.mean(jnp.sum(self.p_eval * logp, -1)))
    ent = float(-jnp.mean(jnp.sum(self.p_eval * jnp.log(jnp.maximum(self.p_eval, 1e-30)), -1)))
    return {"eval_cross_entropy": ce, "teacher_entropy": ent, "excess": ce - ent}
