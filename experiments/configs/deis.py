"""ε-prediction diffusion on sklearn digits 8×8 (paper 12, DEIS), the trained model of ``deis/digits``.

Command:
  python -m experiments.main --config=experiments/configs/deis.py:small --workdir=runs/deis_digits

Model: :class:`models.deis.networks.ResidualDenoiser` (residual MLP with adaptive-LayerNorm time
conditioning and a learned skip g(t)·x), EMA of the weights for sampling, Adam with warm-up and cosine
decay, gradient clipping at 1.

Variants:
  smoke  a few steps of a tiny network (tests; seconds).
  small  width 256, 3 blocks (1.63M parameters), 2500 steps of batch 128, EMA 0.999; about 2 CPU
         minutes. Expected: held-out ε-loss (EMA) 0.096, flat at the end (0.0957 at steps 2250 and
         2500; 0.0982 at 1500); on t in [0.9, 1] 5e-5 (the earlier plain TimeMLP: 0.014). Longer
         training overfits the 1258 training digits (a 3000-step batch-256 run bottomed at 0.0936, then
         rose). The reproduce claim ``deis/digits`` then samples the same network (EMA weights) with
         Euler-in-t, DDIM and tAB-3 and reports a classifier-feature Fréchet distance.
  paper  width 512, 6 blocks, 30000 steps; tens of CPU minutes (an accelerator is better).
"""
import ml_collections

from experiments.configs.common import base_config


def get_config(variant: str = "small") -> ml_collections.ConfigDict:
  c = base_config("deis_digits", variant)
  c.model = ml_collections.ConfigDict(dict(arch="resnet", width=256, depth=3, mult=2, emb_dim=64, skip=True,
                                           ema_decay=0.999, beta_min=0.1, beta_max=20.0, t_min=1e-3))
  c.data = ml_collections.ConfigDict(dict(path="", test_fraction=0.3, eval_size=512))
  c.train.update(optimizer="adam", learning_rate=1e-3, batch_size=128, total_steps=2500, log_every=250,
                 eval_every=250, schedule="cosine", warmup_steps=200, grad_clip=1.0)
  if variant == "smoke":
    c.model.update(width=16, depth=1, emb_dim=8, ema_decay=0.9)
    c.data.update(eval_size=32)
    c.train.update(batch_size=16, total_steps=6, log_every=2, eval_every=0, warmup_steps=1, checkpoint_every=3)
  elif variant == "paper":
    c.model.update(width=512, depth=6)
    c.train.update(total_steps=30000, log_every=1000, eval_every=3000, checkpoint_every=5000)
  else:  # small: a checkpoint at every evaluation (10 over the run)
    c.train.update(checkpoint_every=250)
  return c
