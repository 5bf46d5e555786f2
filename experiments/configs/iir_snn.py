"""IIR-SNN (paper 11) on the 8x8 digits, trained through train_lib (task ``iir_snn``): one run per network and
latency. The chain is ANN → convert (percentile thresholds) → T = 5 → 4 → 3 → 2 → 1, each SNN stage started from the
previous stage's parameters saved with ``experiments.tasks.iir_snn.save_params`` (the ``iir_snn/latency`` claim
runs the whole chain; by hand, write the previous run's ``state.params`` to an .npz and pass it).

Command (one stage):
  python -m experiments.main --config=experiments/configs/iir_snn.py:small --workdir=DIR \
      --config.model.timesteps=4 --config.model.init_params=STAGE5.npz
  (the ANN: --config.model.kind=ann; conversion + T = 5: --config.model.convert=True --config.model.init_params=ANN.npz;
   T = 1 from scratch: --config.model.timesteps=1 and no init_params)

Variants:
  smoke  hidden 16 x 16, T = 2, 4 steps of batch 8 (tests; seconds).
  small  the notes' MLP 64-256-256-10 on the noisy digits (σ = 0.4, 20 % occluded pixels), batch 64, Adam
         lr 1e-3, dropout 0.2, 66 steps (3 epochs of 1348 images) per stage; seconds per stage on CPU. Expected:
         SNN stages within a few points of each other down to T = 1 (see the claim).
  paper  the official optimiser: Adam lr 1e-4 (no amsgrad, constant: train_lib has neither), batch 64, 30 epochs per
         stage, on the same MLP and data (VGG16 / CIFAR-10 is not part of the zoo: no offline data).
"""
import ml_collections

from experiments.configs.common import base_config


def get_config(variant: str = "small") -> ml_collections.ConfigDict:
  c = base_config("iir_snn", variant)
  c.model = ml_collections.ConfigDict(dict(
      kind="snn",              # ann | snn
      hidden=(256, 256), timesteps=5, gamma=0.3, dropout=0.2,
      init_params="",          # .npz from save_params; "" = random init
      convert=False,           # init_params holds ANN parameters: percentile thresholds
      percentile=99.7, search_timesteps=100, scaling=1.0, convert_batch=512,
      theta_init=1.0, leak_init=1.0))
  c.data = ml_collections.ConfigDict(dict(name="digits_noisy", path="", sigma=0.4, occlude=0.2, noise_seed=11,
                                          test_fraction=0.25))
  c.train.update(optimizer="adam", learning_rate=1e-3, batch_size=64, total_steps=66, log_every=22,
                 eval_every=0, checkpoint_every=33)
  if variant == "smoke":
    c.model.update(hidden=(16, 16), timesteps=2, search_timesteps=8, convert_batch=32)
    c.train.update(batch_size=8, total_steps=4, log_every=2, checkpoint_every=2)
  elif variant == "paper":
    c.train.update(learning_rate=1e-4, total_steps=630, log_every=21, eval_every=210, checkpoint_every=210)
  return c
