"""Long-range forecasting with TPGN and its baselines (paper 09, PGN / TPGN, NeurIPS 2024).

Data: the ETT-like synthetic hourly series (or a user CSV in the ETTh1 layout, ``config.data.path``), the
chronological 6:2:2 split, a z-score fitted on the training rows; windows of ``seq_len`` inputs (with timeF
marks) and ``pred_len`` targets. Loss: MSE on the normalised scale (official ``exp/exp_main.py``). Batches:
each epoch is a fresh permutation of the training windows (a function of ``(seed, epoch)``), cut into
``batch_size`` blocks, the incomplete last one dropped (``drop_last=True``). ``evaluate`` reports the MSE and MAE
of the validation (``val_*``) and test windows, plus ``steps_per_epoch``.
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from experiments.configs.common import require
from experiments.datasets.ett import FREQ_DIMS, load_forecast_data
from experiments.tasks import Task
from models.pgn import MODELS, make_model


class PGNForecast(Task):
  """Trains ``config.model.name`` (one of ``models.pgn.MODELS``) on ``seq_len -> pred_len`` windows."""

  @classmethod
  def validate(cls, config: Any) -> None:
    m, d = config.model, config.data
    require(m.name in MODELS, "model.name", f"one of {MODELS}", m.name)
    for f in ("d_model", "hidden", "period"):
      require(isinstance(m[f], int) and m[f] > 0, f"model.{f}", "a positive int", m[f])
    require(isinstance(m.norm, bool), "model.norm", "a bool", m.norm)
    for f in ("seq_len", "pred_len"):
      require(isinstance(d[f], int) and d[f] > 0 and d[f] % m.period == 0, f"data.{f}",
              f"a positive multiple of model.period={m.period}", d[f])
    if m.name in ("tpgn", "tpgn_long"):
      require(d.seq_len >= 2 * m.period, "data.seq_len", f">= 2 * model.period = {2 * m.period} (the long branch "
              "needs two rows)", d.seq_len)
    require(d.features in ("S", "M"), "data.features", "'S' or 'M'", d.features)
    require(d.freq in FREQ_DIMS, "data.freq", f"one of {tuple(FREQ_DIMS)}", d.freq)
    require(isinstance(d.n_points, int) and d.n_points >= 2, "data.n_points", "an int >= 2", d.n_points)
    require(isinstance(d.data_seed, int) and d.data_seed >= 0, "data.data_seed", "a non-negative int", d.data_seed)
    require(isinstance(d.max_eval_windows, int) and d.max_eval_windows >= 0, "data.max_eval_windows",
            "an int >= 0 (0 = every window)", d.max_eval_windows)
    require(isinstance(d.eval_batch, int) and d.eval_batch > 0, "data.eval_batch", "a positive int", d.eval_batch)

  def __init__(self, config: Any):
    super().__init__(config)
    m, d = config.model, config.data
    self.data = load_forecast_data(d.seq_len, d.pred_len, path=d.path, target=d.target, features=d.features,
                                   n=d.n_points, seed=d.data_seed, freq=d.freq)
    self.source = self.data.source
    self.n_train = self.data.n_windows("train")
    self.steps_per_epoch = self.n_train // config.train.batch_size
    if self.steps_per_epoch < 1:
      raise ValueError(f"config.train.batch_size: expected at most the {self.n_train} training windows, got "
                       f"{config.train.batch_size}")
    self.model = make_model(m.name, seq_len=d.seq_len, pred_len=d.pred_len, n_channels=self.data.n_channels,
                            d_time=self.data.d_time, period=m.period, d_model=m.d_model, norm=m.norm,
                            hidden=m.hidden)

    def errors(params, x, marks, y, mask):
      err = self.model.apply({"params": params}, x, marks) - y
      w = mask[:, None, None]
      return jnp.sum(w * err ** 2), jnp.sum(w * jnp.abs(err))
    self._errors = jax.jit(errors)

  def init(self, key):
    x, marks, _ = self.data.windows("train", [0])
    return self.model.init(key, jnp.asarray(x), jnp.asarray(marks))["params"], {}

  def loss(self, params, extra, batch, key):
    pred = self.model.apply({"params": params}, batch["x"], batch["marks"])
    err = pred - batch["y"]
    return jnp.mean(err ** 2), ({"mae": jnp.mean(jnp.abs(err))}, extra)

  def train_batch(self, step: int):
    bs = self.config.train.batch_size
    epoch, i = divmod(step, self.steps_per_epoch)
    perm = np.random.default_rng((self.config.seed, epoch)).permutation(self.n_train)
    x, marks, y = self.data.windows("train", perm[i * bs:(i + 1) * bs])
    return {"x": x, "marks": marks, "y": y}

  def eval_indices(self, split: str) -> np.ndarray:
    """Every window of ``split``, or ``data.max_eval_windows`` evenly spaced ones."""
    n, k = self.data.n_windows(split), self.config.data.max_eval_windows
    return np.arange(n) if k == 0 or k >= n else np.unique(np.linspace(0, n - 1, k).round().astype(np.int64))

  def evaluate(self, params, extra):
    out = {"steps_per_epoch": float(self.steps_per_epoch)}
    eb = self.config.data.eval_batch
    for prefix, split in (("", "test"), ("val_", "val")):
      idx = self.eval_indices(split)
      se = ae = 0.0
      for s in range(0, idx.size, eb):
        block = idx[s:s + eb]
        mask = np.zeros(eb, np.float32)
        mask[:block.size] = 1.0
        x, marks, y = self.data.windows(split, np.pad(block, (0, eb - block.size), mode="edge"))
        a, b = self._errors(params, x, marks, y, mask)
        se, ae = se + float(a), ae + float(b)
      count = idx.size * self.config.data.pred_len * self.data.n_channels
      out[prefix + "mse"], out[prefix + "mae"] = se / count, ae / count
    return out
