"""PGN and TPGN for long-range time-series forecasting.

Jia, Lin, Yu, Wang, Liu, Wan, "PGN: The RNN's New Successor is Effective for Long-Range Time Series
Forecasting", NeurIPS 2024 (official code: github.com/Water2sea/TPGN).

* :mod:`.functional`: fold / unfold to the (rows, period) grid, instance normalisation, the HIE map, the gate,
  MSE / MAE.
* :mod:`.modules`: ``PGN`` (the layer), ``TPGN`` (two branches; long-only and short-only ablations), the
  baselines ``DLinear``, ``NLinear``, ``GRUForecaster`` (Flax linen).
* :mod:`.experiment`: the model factory, per-seed model selection, the comparison summary of the claim.
"""
from __future__ import annotations

from models.pgn import experiment, functional, modules
from models.pgn.experiment import MODELS, compare_forecasts, make_model, select_by_validation
from models.pgn.functional import (denormalize, fold, gated_fusion, hie, history_windows, instance_norm, mae,
                                   mse, unfold)
from models.pgn.modules import BRANCHES, PGN, TPGN, DLinear, GRUForecaster, NLinear, moving_average

__all__ = [
    "BRANCHES", "DLinear", "GRUForecaster", "MODELS", "NLinear", "PGN", "TPGN", "compare_forecasts", "denormalize",
    "experiment", "fold", "functional", "gated_fusion", "hie", "history_windows", "instance_norm", "mae",
    "make_model", "modules", "moving_average", "mse", "select_by_validation", "unfold",
]
