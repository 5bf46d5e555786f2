"""Holomorphic EP with Jacobian homeostasis (paper 13) on the 8x8 digits, trained through train_lib (task
``holomorphic_ep``): the recurrent MLP 64-128-128-10 (feedback l2 -> l1, out -> l2; the official "sigmoid"
1/(1 + exp(-4u + 2))), random feedback (alpha = 90 deg), hEP with N = 2, beta = 0.05, plus the homeostatic loss.

Command:
  python -m experiments.main --config=experiments/configs/holomorphic_ep.py:small --workdir=DIR
  (no homeostasis: --config.model.lam_h=0; the BP baseline: --config.model.method=bp)

Variants:
  smoke  hidden 8 x 8, 4 steps of batch 8, T1 = 10, T2 = 4 (tests; seconds).
  small  the notes' MLP settings: SGD momentum 0.9, lr 0.01, batch 50, 20 epochs (28 steps each, 560 steps),
         lambda_h = 1, T1 = 300 (dt = 0.5: see the package README), T2 = 20; a few CPU minutes. Expected: a test
         accuracy like the ``holomorphic_ep/homeostasis`` claim's "hEP + homeostasis" run, the Jacobian symmetry
         s/(s+a) rising from 0.72 during training.
  paper  the notes' CNN/CIFAR optimiser settings (batch 256, SGD momentum 0.9 with a cosine schedule, lr 5e-3,
         weight decay 1e-4, beta = 1, N = 2, lambda_h = 15, T1 = 250, T2 = 40, 90 epochs) applied to the MLP
         256-256 on the digits: the CNN vector field and CIFAR/ImageNet32 are not part of the zoo (no offline data).
"""
import ml_collections

from experiments.configs.common import base_config


def get_config(variant: str = "small") -> ml_collections.ConfigDict:
  c = base_config("holomorphic_ep", variant)
  c.model = ml_collections.ConfigDict(dict(
      hidden=(128, 128), arch="mlp", activation="sigmoid", dt=0.5, gain=0.5, alpha_deg=90.0,
      method="hep",            # hep | bp
      beta=0.05, n_points=2, t1=300, t2=20, lam_h=1.0, n_probes=5, weight_decay=0.0))
  c.data = ml_collections.ConfigDict(dict(path="", test_fraction=0.2))
  c.train.update(optimizer="sgd", learning_rate=0.01, momentum=0.9, batch_size=50, total_steps=560,
                 log_every=28, eval_every=140, checkpoint_every=280)
  if variant == "smoke":
    c.model.update(hidden=(8, 8), t1=10, t2=4, n_probes=2)
    c.train.update(batch_size=8, total_steps=4, log_every=2, eval_every=0, checkpoint_every=2)
  elif variant == "paper":
    c.model.update(hidden=(256, 256), beta=1.0, n_points=2, t1=250, t2=40, lam_h=15.0, weight_decay=1e-4)
    c.train.update(batch_size=256, learning_rate=5e-3, schedule="cosine", total_steps=450, log_every=25,
                   eval_every=150, checkpoint_every=150)
  return c
