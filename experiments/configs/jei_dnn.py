"""JEI-DNN (paper 01) on digits with per-sample difficulty, trained through train_lib (task ``jei_dnn``): a frozen
6-block residual MLP (width 128, bottleneck 32, about 60k parameters), linear IMs after blocks 1-5, 4 -> 1 gates on
the IMs' detached uncertainty statistics; warm-up in the task's init, then the bi-level alternation (IM phase /
gate phase, ``model.phase_steps`` batches each) with the official optimiser (SGD, momentum 0.9, lr 0.01, weight
decay 5e-4, batch 64).

Command:
  python -m experiments.main --config=experiments/configs/jei_dnn.py:small --workdir=DIR
  (another trade-off: --config.model.lam=0.3; the official equal-weight IM loss: --config.model.official=True)

Variants:
  smoke  width 16, 3 blocks / 3 exits, 20 backbone steps, 8 steps of batch 8 (phases of 2) (tests; seconds).
  small  lam = 0.1, 4 cycles of 50 + 50 batches (400 steps); well under a CPU minute after the backbone. Expected: the
         ``jei_dnn/accuracy_cost`` claim's lambda = 0.1 point (test accuracy about 0.73 at cost about 0.43).
  paper  the official schedule length: bilevel_batch_count = 200 and 10 cycles (4000 steps) on the same network;
         T2T-ViT-7 with ImageNet weights on CIFAR is not part of the zoo (no offline weights or data).
"""
import ml_collections

from experiments.configs.common import base_config


def get_config(variant: str = "small") -> ml_collections.ConfigDict:
  c = base_config("jei_dnn", variant)
  c.model = ml_collections.ConfigDict(dict(
      width=128, bottleneck=32, n_blocks=6, num_exits=6, lam=0.1, official=False, weight_decay=5e-4,
      backbone_steps=1000, warmup_epochs=6, phase_steps=50))
  c.data = ml_collections.ConfigDict(dict(path="", mode="noise"))
  c.train.update(optimizer="sgd", learning_rate=0.01, momentum=0.9, batch_size=64, total_steps=400, log_every=50,
                 eval_every=200, checkpoint_every=100)
  if variant == "smoke":
    c.model.update(width=16, bottleneck=8, n_blocks=3, num_exits=3, backbone_steps=20, warmup_epochs=1, phase_steps=2)
    c.train.update(batch_size=8, total_steps=8, log_every=2, eval_every=0, checkpoint_every=4)
  elif variant == "paper":
    c.model.update(phase_steps=200, backbone_steps=3000)
    c.train.update(total_steps=4000, log_every=100, eval_every=1000, checkpoint_every=500)
  return c
