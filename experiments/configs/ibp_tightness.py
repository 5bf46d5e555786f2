"""Certified training of an MLP on digits (paper 17, Understanding Certified Training with IBP).

Command:
  python -m experiments.main --config=experiments/configs/ibp_tightness.py:small --workdir=runs/ibp_tightness
  (override e.g. --config.model.method=sabr --config.model.widths="(512, 512)")

Variants:
  smoke  a few steps of a 64-8-8-10 MLP (tests; seconds).
  small  64-w-w-10 with w = 128 (the claim ``ibp_tightness/training`` sweeps method x width), ε = 0.05, 400 Adam
         steps of batch 128 (about 40 epochs of the 1257 training digits), ε ramp over steps 20 -> 200; seconds
         to a minute per run on 2 CPU cores (PGD and SABR pay 10 attack steps per step). Expected: IBP training
         gives the highest IBP-certified accuracy and a local tightness orders of magnitude above standard / PGD
         training.
  paper  the paper's schedule (160 epochs, ε ramp epochs 1 -> 81, lr 5e-4, gradient clipping 10, batch 128) on
         a user MNIST file (data.path = .npz with x [n, 784] in [0, 1] and y), widths 1024; the paper's CNN7
         family is not implemented (see models/ibp_tightness/README.md).
"""
import ml_collections

from experiments.configs.common import base_config


def get_config(variant: str = "small") -> ml_collections.ConfigDict:
  c = base_config("ibp_tightness", variant)
  c.model = ml_collections.ConfigDict(dict(
      method="ibp",            # standard | pgd | ibp | sabr
      widths=(128, 128),
      init_scheme="auto",      # auto: fast (Shi et al.) for ibp / sabr, the PyTorch default otherwise
  ))
  c.data = ml_collections.ConfigDict(dict(
      path="",                 # optional .npz/.csv with features in [0, 1] instead of sklearn's digits
      split_seed=0,
      test_fraction=0.3,
      n_eval=0,                # 0: the whole test split
      eps=0.05,                # training ε (the end of the ramp)
      eps_test=0.05,
      lam=0.3,                 # SABR's box shrinkage λ
      kappa_start=0.5,         # IBP's weight of the worst-case CE, ramped with ε
      kappa_end=1.0,
      ramp_start=0.05,
      ramp_end=0.5,
      pgd_steps=10,            # PGD training and SABR's centre search
      eval_pgd_steps=20,
      fast_reg=0.5,            # Shi et al.'s warm-up regulariser weight (IBP, SABR)
  ))
  c.train.update(optimizer="adam", learning_rate=1e-3, batch_size=128, total_steps=400, grad_clip=10.0,
                 log_every=200, checkpoint_every=200, tensorboard=False)
  if variant == "smoke":
    c.model.widths = (8, 8)
    c.data.update(n_eval=16, pgd_steps=1, eval_pgd_steps=1)
    c.train.update(batch_size=16, total_steps=4, log_every=2, checkpoint_every=2)
  elif variant == "paper":
    c.model.widths = (1024, 1024)
    c.train.update(learning_rate=5e-4, total_steps=75_000, log_every=1000, checkpoint_every=5000)
    c.data.update(ramp_start=1 / 160, ramp_end=81 / 160)
  return c
