"""The information-plane network of paper 18 (Shwartz-Ziv & Tishby 2017, arXiv:1703.00810) trained through
train_lib (task ``info_plane``): 12-10-7-5-4-3-2 tanh network, softmax output, cross-entropy on the 12-bit data set,
the reference code's (IDNNs) Adam lr 4e-4, batch 512, 80 % training data.

Command:
  python -m experiments.main --config=experiments/configs/info_plane.py:small --workdir=DIR
  (the critique's network: --config.model.activation=relu)

Variants:
  smoke  widths 12-4-3-2, batch 16, 6 steps (tests; seconds).
  small  one seed of the ``info_plane/compression`` claim's tanh sweep setting: 1500 epochs x 7 minibatches
         (10500 steps), evaluated (accuracy and binned information plane) every 1050 steps (150 epochs). About
         15 s on 2 CPU cores. Measured (seed 0): train accuracy 0.972, test 0.946; between epochs 300 and 1500 the
         binned I(X;T) of T6 falls 3.50 -> 2.16 bits and of T5 7.23 -> 6.93 bits while T4 rises 9.66 -> 10.15
         (the claim measures the whole curve over 20 seeds with the jitted simulator).
  paper  8000 epochs (56000 steps), the reference code's length.
"""
import ml_collections

from experiments.configs.common import base_config


def get_config(variant: str = "small") -> ml_collections.ConfigDict:
  c = base_config("info_plane", variant)
  c.model = ml_collections.ConfigDict(dict(activation="tanh", widths=(12, 10, 7, 5, 4, 3, 2)))
  c.data = ml_collections.ConfigDict(dict(train_fraction=0.8, split_seed=0, n_bins=30, relu_binning="max"))
  steps_per_epoch = 7                     # ceil(3277 / 512)
  c.train.update(optimizer="adam", learning_rate=4e-4, batch_size=512, total_steps=1500 * steps_per_epoch,
                 log_every=1050, eval_every=1050, checkpoint_every=2100, tensorboard=False)
  if variant == "smoke":
    c.model.widths = (12, 4, 3, 2)
    c.train.update(batch_size=16, total_steps=6, log_every=3, eval_every=0, checkpoint_every=3)
  elif variant == "paper":
    c.train.update(total_steps=8000 * steps_per_epoch, log_every=7000, eval_every=7000, checkpoint_every=7000)
  return c
