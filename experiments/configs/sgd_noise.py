"""SGD-noise regimes (paper 21) on digits parity, trained through train_lib (task ``sgd_noise``): the mean-field MLP
(no biases, N(0, 1) weights, 1/sqrt(fan_in) pre-activations, unit-second-moment ReLU, read-out / h) with the centred
output and the hinge loss l(alpha o, y) / alpha, plain SGD at temperature T = dt / (h B), dt = train.learning_rate.

Command:
  python -m experiments.main --config=experiments/configs/sgd_noise.py:small --workdir=DIR
  (another temperature: --config.model.temperature=... --config.train.learning_rate=<T h B>: the task checks it)

Variants:
  smoke  h = 8, 6 steps of batch 8 on 64 digits (tests; seconds).
  small  h = 32, depth 2, alpha = 1, T = 1e-2 (dt = 10.24), P = 256, B = 32, 4000 steps (500 epochs); about a CPU
         minute. Expected: the training set fitted (unfit = 0; in the phase_diagram claim this cell fits at t* about
         3e3) and a test error near 0.05-0.07, like the claim's alpha = 1, T = 1e-2 cell.
  paper  h = 128, depth 3, P = 1024, B = 32, alpha = 1, T = 1e-3, 200k steps (the notes' network scale; the paper
         uses MNIST/CIFAR10, which the zoo does not ship).
"""
import ml_collections

from experiments.configs.common import base_config


def get_config(variant: str = "small") -> ml_collections.ConfigDict:
  c = base_config("sgd_noise", variant)
  c.model = ml_collections.ConfigDict(dict(h=32, depth=2, activation="relu", loss="hinge", alpha=1.0,
                                           temperature=1e-2))
  c.data = ml_collections.ConfigDict(dict(path="", n_train=256))
  c.train.update(optimizer="sgd", batch_size=32, total_steps=4000, log_every=500, eval_every=1000,
                 checkpoint_every=2000)
  if variant == "smoke":
    c.model.update(h=8)
    c.data.update(n_train=64)
    c.train.update(batch_size=8, total_steps=6, log_every=2, eval_every=0, checkpoint_every=3)
  elif variant == "paper":
    c.model.update(h=128, depth=3, temperature=1e-3)
    c.data.update(n_train=1024)
    c.train.update(total_steps=200_000, log_every=5000, eval_every=20_000, checkpoint_every=20_000)
  c.train.learning_rate = c.model.temperature * c.model.h * c.train.batch_size
  return c
