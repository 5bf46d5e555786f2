"""Fields every training config shares, and their checks (run before anything compiles)."""
from __future__ import annotations

from typing import Any

import ml_collections

VARIANTS = ("smoke", "small", "paper")


def base_config(task: str, variant: str) -> ml_collections.ConfigDict:
  """The shared skeleton: ``seed``, ``task``, ``variant`` and ``train.*``; a paper's file adds ``model``/``data``."""
  check_variant(variant)
  c = ml_collections.ConfigDict()
  c.task = task
  c.variant = variant
  c.seed = 0
  c.train = ml_collections.ConfigDict(dict(
      total_steps=100,
      batch_size=32,
      optimizer="adam",     # adam | adamw | sgd
      learning_rate=1e-3,
      weight_decay=0.0,
      momentum=0.0,
      schedule="constant",  # constant | cosine
      warmup_steps=0,
      grad_clip=0.0,        # 0 = off
      log_every=50,
      eval_every=0,         # 0 = only at the end
      checkpoint_every=0,   # 0 = only at the end; every small / paper variant sets one (test_configs checks)
      max_checkpoints=2,
      num_devices=0,        # 0 = all visible devices
      tensorboard=True,
  ))
  return c


def check_variant(variant: str) -> None:
  if variant not in VARIANTS:
    raise ValueError(f"variant: expected one of {VARIANTS}, got {variant!r}")


def _require(cond: bool, field: str, expected: str, got: Any) -> None:
  if not cond:
    raise ValueError(f"config.{field}: expected {expected}, got {got!r}")


def validate_train(config: ml_collections.ConfigDict) -> None:
  """Checks ``config.seed`` and ``config.train.*``; raises ValueError naming the field."""
  t = config.train
  _require(isinstance(config.seed, int) and config.seed >= 0, "seed", "a non-negative int", config.seed)
  _require(isinstance(t.total_steps, int) and t.total_steps > 0, "train.total_steps", "a positive int", t.total_steps)
  _require(isinstance(t.batch_size, int) and t.batch_size > 0, "train.batch_size", "a positive int", t.batch_size)
  _require(t.optimizer in ("adam", "adamw", "sgd"), "train.optimizer", "'adam', 'adamw' or 'sgd'", t.optimizer)
  _require(t.learning_rate > 0, "train.learning_rate", "a positive float", t.learning_rate)
  _require(t.weight_decay >= 0, "train.weight_decay", "a non-negative float", t.weight_decay)
  _require(0 <= t.momentum < 1, "train.momentum", "a float in [0, 1)", t.momentum)
  _require(t.schedule in ("constant", "cosine"), "train.schedule", "'constant' or 'cosine'", t.schedule)
  _require(isinstance(t.warmup_steps, int) and 0 <= t.warmup_steps < t.total_steps, "train.warmup_steps",
           f"an int in [0, total_steps={t.total_steps})", t.warmup_steps)
  _require(t.grad_clip >= 0, "train.grad_clip", "a non-negative float (0 = off)", t.grad_clip)
  for f in ("log_every", "eval_every", "checkpoint_every"):
    v = t[f]
    _require(isinstance(v, int) and v >= (1 if f == "log_every" else 0), f"train.{f}",
             "a positive int" if f == "log_every" else "a non-negative int (0 = only at the end)", v)
  _require(isinstance(t.max_checkpoints, int) and t.max_checkpoints >= 1, "train.max_checkpoints",
           "a positive int", t.max_checkpoints)
  _require(isinstance(t.num_devices, int) and t.num_devices >= 0, "train.num_devices",
           "a non-negative int (0 = all)", t.num_devices)


require = _require
