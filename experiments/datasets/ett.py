"""Hourly forecasting data in the ETT layout (paper 09, PGN / TPGN): a synthetic ETT-like generator, a loader
for a user CSV in the ETTh1 layout, the timeF time marks and the chronological 6:2:2 windows.

Nothing is downloaded or shipped: the real ETTh1.csv (columns ``date, HUFL, HULL, MUFL, MULL, LUFL, LULL, OT``)
can be read from a user path with :func:`load_ett_csv`.

Protocol (official ``data_provider/data_loader.py``, the WITRAN protocol): the first 60 % of the rows train, the
next 20 % validate, the last 20 % test; the validation and test windows start ``seq_len`` rows before their
borders; a z-score fitted on the training rows only scales every split, and errors are measured on that scale.
"""
from __future__ import annotations

import csv
import dataclasses

import numpy as np

ETTH1_ROWS = 17420           # rows of ETTh1.csv (2016-07-01 00:00 .. 2018-06-26 19:00, hourly)
ETTH1_START = "2016-07-01T00:00"
FREQ_DIMS = {"h": 4, "t": 5, "d": 3}
SPLITS = ("train", "val", "test")


@dataclasses.dataclass(frozen=True)
class TimeSeries:
  """A regularly sampled multichannel series: ``dates`` (datetime64, [N]), ``values`` (float64, [N, C]) with the
  target channel last, ``columns`` (C names), ``source`` (where it came from)."""
  dates: np.ndarray
  values: np.ndarray
  columns: tuple[str, ...]
  source: str


def _int(v, name: str, fn: str, lo: int = 1) -> int:
  if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
    raise ValueError(f"{fn}: {name}: expected an int >= {lo}, got {v!r}")
  return int(v)


def time_features(dates, freq: str = "h") -> np.ndarray:
  """timeF marks (official ``utils/timefeatures.py``), each in [-0.5, 0.5], as ``[N, d]`` float32.

  ``'h'``: hour/23, weekday/6 (Monday = 0), (day of month - 1)/30, (day of year - 1)/365, each minus 0.5;
  ``'t'``: minute/59 first, then the four of ``'h'``; ``'d'``: the last three of ``'h'``.
  """
  if freq not in FREQ_DIMS:
    raise ValueError(f"time_features: freq: expected one of {tuple(FREQ_DIMS)}, got {freq!r}")
  d = np.asarray(dates)
  if d.ndim != 1 or not np.issubdtype(d.dtype, np.datetime64):
    raise TypeError(f"time_features: dates: expected a 1-D datetime64 array, got {d.dtype} of shape {d.shape}")
  t = d.astype("datetime64[m]")
  day = t.astype("datetime64[D]")
  minute = (t - t.astype("datetime64[h]")).astype(np.int64)
  hour = (t.astype("datetime64[h]") - day).astype(np.int64)
  weekday = (day.astype(np.int64) + 3) % 7            # 1970-01-01 was a Thursday (Monday = 0)
  mday = (day - day.astype("datetime64[M]")).astype(np.int64)   # day of month - 1
  yday = (day - day.astype("datetime64[Y]")).astype(np.int64)   # day of year - 1
  cols = {"t": [minute / 59.0], "h": [], "d": []}[freq]
  if freq != "d":
    cols.append(hour / 23.0)
  cols += [weekday / 6.0, mday / 30.0, yday / 365.0]
  return (np.stack(cols, axis=1) - 0.5).astype(np.float32)


def make_ett_like(n: int = ETTH1_ROWS, *, seed: int = 0, start: str = ETTH1_START, level: float = 15.0,
                  daily: float = 2.0, daily_drift: float = 0.5, weekly: float = 1.0, weekend: float = 0.8,
                  yearly: float = 4.0, shift_every: float = 1500.0, shift_scale: float = 2.0,
                  ar: float = 0.9, noise: float = 0.6) -> TimeSeries:
  """A synthetic univariate hourly series shaped like ETTh1's oil temperature (column ``OT``).

  ``x_t = level + yearly sin(2 pi t / 8760 + phi_y) + A_t (sin(2 pi t / 24 + phi_d) + 0.3 sin(4 pi t / 24 + phi_2))
  + weekly sin(2 pi t / 168 + phi_w) - weekend [Saturday or Sunday] + S_t + e_t`` with the daily amplitude
  ``A_t = daily (1 + daily_drift sin(2 pi t / 2880 + phi_a))`` drifting over about four months, level shifts
  ``S_t`` (a compound Poisson process: one jump every ``shift_every`` hours on average, jumps N(0, shift_scale^2))
  and AR(1) noise ``e_t = ar e_{t-1} + eta_t`` of stationary standard deviation ``noise``.
  """
  fn = "make_ett_like"
  n = _int(n, "n", fn, lo=2)
  if not 0 <= ar < 1:
    raise ValueError(f"{fn}: ar: expected a coefficient in [0, 1), got {ar!r}")
  for name, v in (("noise", noise), ("shift_scale", shift_scale), ("daily", daily), ("weekly", weekly),
                  ("yearly", yearly), ("weekend", weekend)):
    if not np.isfinite(v) or v < 0:
      raise ValueError(f"{fn}: {name}: expected a finite value >= 0, got {v!r}")
  if not np.isfinite(shift_every) or shift_every <= 0:
    raise ValueError(f"{fn}: shift_every: expected a positive number of hours, got {shift_every!r}")
  if not 0 <= daily_drift < 1:
    raise ValueError(f"{fn}: daily_drift: expected a value in [0, 1), got {daily_drift!r}")
  rng = np.random.default_rng(seed)
  dates = np.datetime64(start, "h") + np.arange(n).astype("timedelta64[h]")
  t = np.arange(n, dtype=np.float64)
  ph = rng.uniform(0, 2 * np.pi, size=5)
  amp = daily * (1 + daily_drift * np.sin(2 * np.pi * t / 2880 + ph[0]))
  x = (level + yearly * np.sin(2 * np.pi * t / 8760 + ph[1])
       + amp * (np.sin(2 * np.pi * t / 24 + ph[2]) + 0.3 * np.sin(4 * np.pi * t / 24 + ph[3]))
       + weekly * np.sin(2 * np.pi * t / 168 + ph[4]))
  weekday = (dates.astype("datetime64[D]").astype(np.int64) + 3) % 7
  x -= weekend * (weekday >= 5)
  jumps = rng.random(n) < 1.0 / shift_every
  x += np.cumsum(np.where(jumps, rng.normal(0.0, shift_scale, n), 0.0))
  eta = rng.normal(0.0, noise * np.sqrt(1 - ar * ar), n)
  e = np.empty(n)
  e[0] = rng.normal(0.0, noise)
  for i in range(1, n):
    e[i] = ar * e[i - 1] + eta[i]
  return TimeSeries(dates=dates, values=(x + e)[:, None], columns=("OT",), source=f"ett_like(n={n}, seed={seed})")


def load_ett_csv(path: str, *, target: str = "OT", features: str = "S") -> TimeSeries:
  """Reads a CSV in the ETTh1 layout: a ``date`` column (``YYYY-MM-DD HH:MM:SS``) and numeric columns.

  ``features='S'``: the ``target`` column only; ``'M'``: every numeric column, the target moved last (as the
  official loader orders them)."""
  fn = "load_ett_csv"
  if features not in ("S", "M"):
    raise ValueError(f"{fn}: features: expected 'S' or 'M', got {features!r}")
  with open(path, newline="") as f:
    rows = list(csv.reader(f))
  if not rows or "date" not in rows[0]:
    raise ValueError(f"{fn}: path: expected a header with a 'date' column, got {rows[0] if rows else 'an empty file'}")
  header = rows[0]
  if target not in header:
    raise ValueError(f"{fn}: target: expected one of the columns {header}, got {target!r}")
  di = header.index("date")
  others = [c for c in header if c not in ("date", target)]
  cols = [target] if features == "S" else others + [target]
  idx = [header.index(c) for c in cols]
  body = [r for r in rows[1:] if r]
  dates = np.array([np.datetime64(r[di].strip().replace(" ", "T")) for r in body]).astype("datetime64[m]")
  values = np.array([[float(r[i]) for i in idx] for r in body], dtype=np.float64)
  return TimeSeries(dates=dates, values=values, columns=tuple(cols), source=f"csv:{path}")


def split_borders(n: int, seq_len: int) -> dict[str, tuple[int, int]]:
  """Row ranges ``[begin, end)`` of the chronological 6:2:2 split; validation and test begin ``seq_len`` early."""
  n, seq_len = _int(n, "n", "split_borders"), _int(seq_len, "seq_len", "split_borders")
  n_train, n_test = int(n * 0.6), int(n * 0.2)
  n_val = n - n_train - n_test
  if n_train - seq_len < 0:
    raise ValueError(f"split_borders: seq_len: expected at most the {n_train} training rows, got {seq_len}")
  return {"train": (0, n_train), "val": (n_train - seq_len, n_train + n_val), "test": (n - n_test - seq_len, n)}


class ForecastData:
  """Sliding windows ``(x [seq_len, C], marks [seq_len, d_time], y [pred_len, C])`` of each split.

  Window ``i`` of a split starting at row ``b`` covers rows ``b + i .. b + i + seq_len - 1`` (input) and the next
  ``pred_len`` rows (target); a split of ``m`` rows has ``m - seq_len - pred_len + 1`` windows.
  """

  def __init__(self, series: TimeSeries, seq_len: int, pred_len: int, freq: str = "h"):
    fn = "ForecastData"
    self.seq_len, self.pred_len = _int(seq_len, "seq_len", fn), _int(pred_len, "pred_len", fn)
    values = np.asarray(series.values, dtype=np.float64)
    if values.ndim != 2 or values.shape[0] != np.shape(series.dates)[0]:
      raise ValueError(f"{fn}: series: expected values [N, C] with N = len(dates) = {np.shape(series.dates)[0]}, "
                       f"got shape {values.shape}")
    if not np.all(np.isfinite(values)):
      raise ValueError(f"{fn}: series: expected finite values, got {int((~np.isfinite(values)).sum())} non-finite")
    self.borders = split_borders(values.shape[0], seq_len)
    for split, (b, e) in self.borders.items():
      if e - b < seq_len + pred_len:
        raise ValueError(f"{fn}: pred_len: expected the {split} split ({e - b} rows) to hold seq_len + pred_len "
                         f"= {seq_len + pred_len} rows, got pred_len {pred_len}")
    b, e = self.borders["train"]
    self.mean = values[b:e].mean(axis=0)
    self.std = values[b:e].std(axis=0)
    if np.any(self.std == 0):
      raise ValueError(f"{fn}: series: expected a non-constant training part in every channel, got std {self.std}")
    self.data = ((values - self.mean) / self.std).astype(np.float32)
    self.marks = time_features(series.dates, freq)
    self.columns, self.source = series.columns, series.source

  @property
  def n_channels(self) -> int:
    return self.data.shape[1]

  @property
  def d_time(self) -> int:
    return self.marks.shape[1]

  def n_windows(self, split: str) -> int:
    if split not in SPLITS:
      raise ValueError(f"ForecastData.n_windows: split: expected one of {SPLITS}, got {split!r}")
    b, e = self.borders[split]
    return e - b - self.seq_len - self.pred_len + 1

  def windows(self, split: str, index) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x [k, seq_len, C], marks [k, seq_len, d_time], y [k, pred_len, C])`` for the window indices ``index``."""
    n = self.n_windows(split)
    i = np.asarray(index, dtype=np.int64).reshape(-1)
    if i.size and (i.min() < 0 or i.max() >= n):
      raise ValueError(f"ForecastData.windows: index: expected window indices in [0, {n}), got min {i.min()} "
                       f"max {i.max()}")
    s = self.borders[split][0] + i[:, None]
    xi = s + np.arange(self.seq_len)[None]
    yi = s + self.seq_len + np.arange(self.pred_len)[None]
    return self.data[xi], self.marks[xi], self.data[yi]


def load_forecast_data(seq_len: int, pred_len: int, *, path: str = "", target: str = "OT", features: str = "S",
                       n: int = ETTH1_ROWS, seed: int = 0, freq: str = "h") -> ForecastData:
  """The windows of a user CSV in the ETTh1 layout (``path``) or, without a path, of :func:`make_ett_like`."""
  series = load_ett_csv(path, target=target, features=features) if path else make_ett_like(n, seed=seed)
  return ForecastData(series, seq_len, pred_len, freq)
