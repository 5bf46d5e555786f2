"""The forecasting comparison of the claim ``pgn/forecast``: the model factory the task trains, per-seed model
selection on validation error, and the summary the verdict reads (means, standard errors, margins)."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from models.pgn.modules import DLinear, GRUForecaster, NLinear, TPGN

MODELS = ("tpgn", "tpgn_long", "tpgn_short", "dlinear", "nlinear", "gru")


def make_model(name: str, *, seq_len: int, pred_len: int, n_channels: int = 1, d_time: int = 4,
               period: int = 24, d_model: int = 8, norm: bool = True, hidden: int = 32):
  """The forecaster ``name`` (one of :data:`MODELS`): TPGN, its long-only / short-only ablations, DLinear,
  NLinear, or the GRU encoder with a linear head. Every model is called as ``model(x, marks)``."""
  if name not in MODELS:
    raise ValueError(f"make_model: name: expected one of {MODELS}, got {name!r}")
  if name.startswith("tpgn"):
    branches = {"tpgn": "both", "tpgn_long": "long", "tpgn_short": "short"}[name]
    return TPGN(seq_len=seq_len, pred_len=pred_len, period=period, d_model=d_model, n_channels=n_channels,
                d_time=d_time, norm=norm, branches=branches)
  if name == "dlinear":
    return DLinear(seq_len=seq_len, pred_len=pred_len, n_channels=n_channels)
  if name == "nlinear":
    return NLinear(seq_len=seq_len, pred_len=pred_len, n_channels=n_channels)
  return GRUForecaster(seq_len=seq_len, pred_len=pred_len, hidden=hidden, n_channels=n_channels, d_time=d_time,
                       norm=norm)


def _per_seed(v, name: str, fn: str) -> np.ndarray:
  a = np.asarray(v, dtype=np.float64)
  if a.ndim != 1 or a.size == 0:
    raise ValueError(f"{fn}: {name}: expected a non-empty 1-D sequence of per-seed values, got shape {a.shape}")
  if not np.all(np.isfinite(a)):
    raise ValueError(f"{fn}: {name}: expected finite values, got {a.tolist()}")
  return a


def select_by_validation(candidates: Mapping[str, tuple[Sequence[float], Sequence[float]]]
                         ) -> tuple[list[float], list[str]]:
  """Per seed, the candidate with the lowest validation error; returns its test errors and names.

  Args:
    candidates: ``name -> (validation errors per seed, test errors per seed)``; ties go to the first name.
  """
  if not candidates:
    raise ValueError("select_by_validation: candidates: expected at least one candidate, got none")
  names = list(candidates)
  val = np.stack([_per_seed(candidates[n][0], f"candidates[{n!r}] validation", "select_by_validation")
                  for n in names])
  test = [_per_seed(candidates[n][1], f"candidates[{n!r}] test", "select_by_validation") for n in names]
  if len({t.size for t in test} | {val.shape[1]}) != 1:
    raise ValueError("select_by_validation: candidates: expected the same number of seeds for validation and "
                     f"test of every candidate, got {[(len(candidates[n][0]), len(candidates[n][1])) for n in names]}")
  best = np.argmin(val, axis=0)
  return [float(test[i][s]) for s, i in enumerate(best)], [names[i] for i in best]


def compare_forecasts(test_mse: Mapping[str, Mapping[int, Sequence[float]]], *, reference: str = "tpgn",
                      linear: str = "dlinear", rnn: str = "gru",
                      ablations: Sequence[str] = ("tpgn_long", "tpgn_short")) -> dict:
  """Summary of test MSEs per model and horizon (``model -> horizon -> per-seed values``).

  Returns a dict of plain numbers: ``mean[model][horizon]``, ``se[model][horizon]`` (standard error of the mean,
  ``ddof = 1``; 0 for one seed), ``horizons`` (sorted), ``margin_rnn[horizon]`` = relative margin
  ``(rnn - reference) / rnn`` of the means, ``margin_linear[horizon]`` = ``(linear - reference) / linear``, and
  ``ablation_gap[ablation][horizon]`` = ``ablation mean - reference mean``.
  """
  for name in (reference, linear, rnn, *ablations):
    if name not in test_mse:
      raise ValueError(f"compare_forecasts: test_mse: expected an entry for {name!r}, got {sorted(test_mse)}")
  horizons = sorted(test_mse[reference])
  mean, se = {}, {}
  for model, per_h in test_mse.items():
    if sorted(per_h) != horizons:
      raise ValueError(f"compare_forecasts: test_mse[{model!r}]: expected horizons {horizons}, got {sorted(per_h)}")
    mean[model], se[model] = {}, {}
    for h in horizons:
      a = _per_seed(per_h[h], f"test_mse[{model!r}][{h}]", "compare_forecasts")
      mean[model][h] = float(a.mean())
      se[model][h] = float(a.std(ddof=1) / np.sqrt(a.size)) if a.size > 1 else 0.0
  ref = mean[reference]
  return dict(
      horizons=horizons, mean=mean, se=se,
      margin_rnn={h: (mean[rnn][h] - ref[h]) / mean[rnn][h] for h in horizons},
      margin_linear={h: (mean[linear][h] - ref[h]) / mean[linear][h] for h in horizons},
      ablation_gap={a: {h: mean[a][h] - ref[h] for h in horizons} for a in ablations})
