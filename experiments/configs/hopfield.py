"""Hopfield pooling for multiple-instance learning on digits-bags (paper 15).

Command:
  python -m experiments.main --config=experiments/configs/hopfield.py:small --workdir=runs/hopfield_mil
  (override e.g. --config.model.pooling=attention --config.seed=3)

Variants:
  smoke  a few steps on a few bags (tests; seconds).
  small  300 training bags, 1000 steps; about 10 s on 2 CPU cores. Expected: test AUC of
         HopfieldPooling about 0.95 or higher, near attention-MIL and max pooling and above mean
         pooling (the reproduce claim ``hopfield/mil`` runs the 4 poolings x 5 seeds, with a
         two-candidate model selection per pooling on validation bags, and reports the figures).
  paper  the paper's MNIST-bags protocol sizes (1000 training bags, bag size N(10, 2)), longer
         training; minutes on CPU, seconds on an accelerator.
"""
import ml_collections

from experiments.configs.common import base_config


def get_config(variant: str = "small") -> ml_collections.ConfigDict:
  c = base_config("hopfield_mil", variant)
  c.model = ml_collections.ConfigDict(dict(
      pooling="hopfield",  # hopfield | mean | max | attention
      hidden=64,
      num_heads=4,
      dropout=0.0,
      scaling=ml_collections.FieldReference(None, field_type=float),  # None: 1/sqrt(head dim)
      hopfield_normalize=True,   # LayerNorm on stored patterns / projections (official default)
      update_steps_max=0,        # 0 = one Hopfield update
      attention_hidden=0,        # attention-MIL width L; 0 = hidden
  ))
  c.data = ml_collections.ConfigDict(dict(
      path="",             # optional .npz/.csv instead of sklearn's bundled digits
      target=9,
      mean_size=10.0,
      std_size=2.0,
      n_train_bags=300,
      n_val_bags=200,
      n_test_bags=300,
      test_fraction=0.3,     # of the images, for test bags
      val_fraction=0.15,     # of the images, for validation bags (model selection)
  ))
  c.train.update(optimizer="adamw", learning_rate=1e-3, weight_decay=1e-4, batch_size=32,
                 total_steps=1000, log_every=250, schedule="cosine", warmup_steps=50)
  if variant == "smoke":
    c.data.update(n_train_bags=48, n_val_bags=16, n_test_bags=32)
    c.model.update(hidden=16, num_heads=2)
    c.train.update(batch_size=8, total_steps=6, log_every=2, warmup_steps=1, checkpoint_every=3)
  elif variant == "paper":
    c.data.update(n_train_bags=1000, n_val_bags=500, n_test_bags=1000)
    c.model.update(hidden=128, num_heads=8)
    c.train.update(total_steps=6000, log_every=500, eval_every=2000, checkpoint_every=2000)
  else:  # small (seconds per run, 40 runs per claim): one checkpoint half way and one at the end
    c.train.update(checkpoint_every=500)
  return c
