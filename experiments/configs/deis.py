"""ε-prediction diffusion on sklearn digits 8×8 (paper 12, DEIS), the trained model of ``deis/digits``.

Command:
  python -m experiments.main --config=experiments/configs/deis.py:small --workdir=/tmp/deis_digits

Variants:
  smoke  a few steps of a tiny MLP (tests; seconds).
  small  MLP 256 x 3, 4000 steps of batch 128; about 1 CPU minute. Expected: held-out ε-loss about
         0.2 (the loss of predicting 0 is 1); the reproduce claim ``deis/digits`` then samples the same
         network with Euler-in-t, DDIM and tAB-3 and reports a classifier-feature Fréchet distance.
  paper  wider MLP, 20000 steps; minutes on CPU.
"""
import ml_collections

from experiments.configs.common import base_config


def get_config(variant: str = "small") -> ml_collections.ConfigDict:
  c = base_config("deis_digits", variant)
  c.model = ml_collections.ConfigDict(dict(hidden=256, depth=3, emb_dim=64, beta_min=0.1, beta_max=20.0,
                                           t_min=1e-3))
  c.data = ml_collections.ConfigDict(dict(path="", test_fraction=0.3, eval_size=512))
  c.train.update(optimizer="adam", learning_rate=2e-3, batch_size=128, total_steps=4000, log_every=500,
                 schedule="cosine", warmup_steps=100, grad_clip=1.0)
  if variant == "smoke":
    c.model.update(hidden=16, depth=1, emb_dim=8)
    c.data.update(eval_size=32)
    c.train.update(batch_size=16, total_steps=6, log_every=2, warmup_steps=1, checkpoint_every=3)
  elif variant == "paper":
    c.model.update(hidden=512, depth=4)
    c.train.update(total_steps=20000, log_every=1000, eval_every=5000, checkpoint_every=5000)
  return c
