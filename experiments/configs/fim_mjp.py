"""Mini-FIM pretraining on the synthetic MJP prior (paper 27, Foundation Inference Models for MJPs).

Command:
  python -m experiments.main --config=experiments/configs/fim_mjp.py:small --workdir=runs/fim_mjp
  (override e.g. --config.model.encoder=gru --config.train.total_steps=2000)

Variants:
  smoke  a few steps on tiny processes (tests; seconds).
  small  C in {2, 3, 4} (c_max = 4), 16-64 paths of 10-50 observations on [0, 10], label flips {0, 1, 10} %,
         the transition-pair DeepSets encoder; batch 16, 1000 Adam steps, about 3-4 minutes on 2 CPU cores.
         Expected: held-out relative rate RMSE well below the prior-mean predictor's (about 0.5-0.6), z-score
         sd near 1. The reproduce claim ``fim_mjp/zero_shot`` trains this config once and compares it with the
         grid and noisy-observation MLEs.
  paper  the official architecture at the paper's size: C = 2..6 (c_max = 6), BiLSTM hidden 256, 16 queries,
         kv dim 128, decoders (128, 128), up to 300 paths, batch 128; for accelerators.
"""
import ml_collections

from experiments.configs.common import base_config


def get_config(variant: str = "small") -> ml_collections.ConfigDict:
  c = base_config("fim_mjp", variant)
  c.model = ml_collections.ConfigDict(dict(
      encoder="pairs",          # pairs | gru | bilstm (official)
      hidden=32,
      n_queries=4,
      k_dim=32,
      v_dim=32,
      decoder_hidden=(128, 128),
  ))
  c.data = ml_collections.ConfigDict(dict(
      c_max=4,
      c_choices=(2, 3, 4),
      n_paths=(16, 64),
      n_obs=(10, 50),
      horizon=10.0,
      noise_levels=(0.0, 0.01, 0.1),
      drop_prob=0.2,
      scale=(0.2, 2.0),
      beta_ab=(0.5, 3.0),
      grid_kinds=("regular", "random"),
      eval_batch=128,
  ))
  c.train.update(optimizer="adam", learning_rate=1e-3, batch_size=16, total_steps=1000, log_every=100,
                 schedule="cosine", warmup_steps=50, grad_clip=1.0, checkpoint_every=500)
  if variant == "smoke":
    c.model.update(hidden=8, n_queries=2, k_dim=8, v_dim=8, decoder_hidden=(16,))
    c.data.update(n_paths=(2, 4), n_obs=(4, 6), eval_batch=4)
    c.train.update(batch_size=4, total_steps=4, log_every=2, warmup_steps=1, checkpoint_every=2)
  elif variant == "paper":
    c.model.update(encoder="bilstm", hidden=256, n_queries=16, k_dim=128, v_dim=128)
    c.data.update(c_max=6, c_choices=(2, 3, 4, 5, 6), n_paths=(50, 300), n_obs=(50, 100), eval_batch=256)
    c.train.update(batch_size=128, total_steps=100_000, log_every=500, eval_every=10_000, checkpoint_every=5000,
                   warmup_steps=1000)
  return c
