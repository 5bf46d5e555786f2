"""The variational quantum classifier of paper 30 (Havlíček et al. 2019, arXiv:1804.11326) on the ad hoc data set,
trained through train_lib (task ``quantum_kernel_vqc``): Adam on the paper's smooth risk with exact expectations.

Command:
  python -m experiments.main --config=experiments/configs/quantum_kernel.py:small --workdir=DIR
  (other depths: --config.model.depth=2)

Variants:
  smoke  depth 1, 8 + 8 points per class on a 30-point grid, 10 steps (tests; seconds).
  small  depth 4, the paper's data (n = 2, 100-point grid, Delta = 0.3, 20 per class), full batch of 40, 300 Adam
         steps at lr 0.05, R = 200 inside the risk: the setting of the ``quantum_kernel/vqc_depth`` claim (which
         trains the same objective with ``theory.quantum_kernel.train_vqc``; there l = 4 reaches test accuracy
         1.00 over 3 restarts). About a minute on one CPU core.
  paper  depth 4, 1000 steps.
"""
import ml_collections

from experiments.configs.common import base_config


def get_config(variant: str = "small") -> ml_collections.ConfigDict:
  c = base_config("quantum_kernel_vqc", variant)
  c.model = ml_collections.ConfigDict(dict(depth=4, shots=200))
  c.data = ml_collections.ConfigDict(dict(n=2, grid=100, gap=0.3, train_per_class=20, test_per_class=20))
  c.train.update(optimizer="adam", learning_rate=0.05, batch_size=40, total_steps=300, log_every=50,
                 eval_every=100, checkpoint_every=100)
  if variant == "smoke":
    c.model.update(depth=1)
    c.data.update(grid=30, train_per_class=8, test_per_class=8)
    c.train.update(batch_size=16, total_steps=10, log_every=5, eval_every=0, checkpoint_every=0)
  elif variant == "paper":
    c.train.update(total_steps=1000, eval_every=250, checkpoint_every=250)
  return c
