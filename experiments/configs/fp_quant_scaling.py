"""Quantised training of the toy MLP of paper 32 (Sun et al., "Scaling Laws for Floating-Point Quantization
Training", ICML 2025, arXiv:2501.02423) through train_lib (task ``fp_quant_mlp``): one precision per run.

Command:
  python -m experiments.main --config=experiments/configs/fp_quant_scaling.py:small --workdir=DIR
  (another precision: --config.model.fmt=E4M3 --config.model.block_size=channel; full precision: fmt=fp32)

Variants:
  smoke  width 8 on a 32-input teacher, forward operands only with the straight-through backward (compiles in
         seconds), 6 steps (tests).
  small  the claim's setting for one member: width 64, E2M1 with blocks of 64, all six GEMM operands quantised,
         Adam 3e-3, batch 128, 320 steps (D = 40,960 samples). About a minute on one CPU core; the
         ``fp_quant_scaling/toy_sweep`` claim trains this model for every (format, block, width, seed) at once
         (``models.fp_quant_scaling.experiment``), where E2M1 / B = 64 / width 64 ends about 0.015 nats above FP32.
  paper  2000 steps (D = 256,000).
"""
import ml_collections

from experiments.configs.common import base_config


def get_config(variant: str = "small") -> ml_collections.ConfigDict:
  c = base_config("fp_quant_mlp", variant)
  c.model = ml_collections.ConfigDict(dict(hidden=64, fmt="E2M1", block_size="64",
                                           targets=("P1", "P2", "P3", "P4", "P5", "P6"), backward="quantized"))
  c.data = ml_collections.ConfigDict(dict(d_in=512, teacher_hidden=64, classes=16, temperature=1.0, eval_size=2048))
  c.train.update(optimizer="adam", learning_rate=3e-3, batch_size=128, total_steps=320, log_every=40,
                 eval_every=160, checkpoint_every=160)
  if variant == "smoke":
    c.model.update(hidden=8, block_size="16", targets=("P1", "P2"), backward="ste")
    c.data.update(d_in=32, teacher_hidden=8, classes=4, eval_size=64)
    c.train.update(batch_size=16, total_steps=6, log_every=3, eval_every=0, checkpoint_every=0)
  elif variant == "paper":
    c.train.update(total_steps=2000, eval_every=500, checkpoint_every=500)
  return c
