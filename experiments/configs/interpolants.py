"""Learned b and s of a stochastic interpolant between 2-D densities (paper 24, Albergo, Boffi &
Vanden-Eijnden 2023, arXiv:2303.08797): the trained fields of ``interpolants/gaussian_base`` and
``interpolants/two_sided``.

Command:
  python -m experiments.main --config=experiments/configs/interpolants.py:small --workdir=runs/interpolants
  (other pairs: --config.data.source=ring8 --config.data.target=checkerboard --config.model.path=linear
   --config.model.gamma=brownian)

Model: two TimeMLPs (b with L_b; s with the antithetic L_s, or η with L_η when model.score="eta"),
one Adam optimizer on the summed loss, cosine decay; batches (x0, x1) generated from (seed, step).
Default pair: N(0, I) → checkerboard, one-sided linear interpolant.

Variants:
  smoke  40 steps, batch 128, TimeMLP 1×16, held-out losses only (tests; a few seconds).
  small  2500 steps, batch 512, TimeMLP 3×64, lr 2e-3 (the claims' settings); about a minute per pair on
         one CPU core (130 steps/s). Measured at step 2500 (seed 0): held-out L_b −2.84, L_s −2.71, SW₂ of one set
         of 4000 Heun-ODE samples 0.118 (the claim's mean over 3 sets: 0.080; two-sample noise floor 0.076);
         N(0, I) → ring8: −2.80 / −4.13 / 0.087; ring8 → checkerboard (linear, brownian): −3.27 / −1.63 / 0.084.
  paper  7000 steps, batch 2000, TimeMLP 4×256 (the official 2-D notebooks' scale; an accelerator is better).
"""
import ml_collections

from experiments.configs.common import base_config


def get_config(variant: str = "small") -> ml_collections.ConfigDict:
  c = base_config("interpolants", variant)
  c.model = ml_collections.ConfigDict(dict(path="one_sided_linear", gamma="zero", score="s", antithetic=True,
                                           hidden=64, depth=3, emb_dim=32, time_scale=100.0,
                                           t_min=1e-3, t_max=1.0 - 1e-3))
  c.data = ml_collections.ConfigDict(dict(source="gaussian", target="checkerboard", eval_size=4000,
                                          eval_ode_steps=100))
  c.train.update(optimizer="adam", learning_rate=2e-3, batch_size=512, total_steps=2500, log_every=250,
                 eval_every=500, schedule="cosine", warmup_steps=0, checkpoint_every=500)
  if variant == "smoke":
    c.model.update(hidden=16, depth=1)
    c.data.update(eval_size=256, eval_ode_steps=0)
    c.train.update(batch_size=128, total_steps=40, log_every=20, eval_every=0, checkpoint_every=0)
  elif variant == "paper":
    c.model.update(hidden=256, depth=4)
    c.data.update(eval_size=5000)
    c.train.update(batch_size=2000, total_steps=7000, log_every=500, eval_every=1000, checkpoint_every=1000)
  return c
