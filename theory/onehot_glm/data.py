"""Real single-neuron spikes for an S = 1 demo: the grasshopper auditory-receptor recordings bundled with the
``nitime`` package (two 10 s recordings, 929 and 868 spikes; spike times in microseconds, one per line, after
``#`` header lines). Nothing is downloaded: the files are read from the installed package or from a user path."""
from __future__ import annotations

import importlib.util
import os

import numpy as np

from theory.onehot_glm._checks import check_positive

RECORDING_SECONDS = 10.0


def nitime_data_dir() -> str | None:
  """The ``nitime/data`` directory of the installed package, or None when nitime is not installed."""
  spec = importlib.util.find_spec("nitime")
  if spec is None or not spec.submodule_search_locations:
    return None
  return os.path.join(list(spec.submodule_search_locations)[0], "data")


def load_spike_counts(which: int = 1, bin_ms: float = 5.0, path: str | None = None,
                      duration_s: float = RECORDING_SECONDS) -> np.ndarray:
  """Binned spike counts [T, 1] (float32) of grasshopper recording ``which`` (1 or 2).

  Args:
    which: recording number (file ``grasshopper_spike_times{which}.txt``).
    bin_ms: bin width in ms; duration_s: recording length covered by the bins (spikes past it are dropped).
    path: a spike-time file (µs, one per line, ``#`` comments) or a directory holding the nitime files; default
      the installed nitime's data directory.
  Raises FileNotFoundError naming ``path`` when neither is available.
  """
  fn = "load_spike_counts"
  if which not in (1, 2) or isinstance(which, bool):
    raise ValueError(f"{fn}: which: expected 1 or 2, got {which!r}")
  bin_ms = check_positive(bin_ms, "bin_ms", fn)
  duration_s = check_positive(duration_s, "duration_s", fn)
  name = f"grasshopper_spike_times{which}.txt"
  if path is None:
    d = nitime_data_dir()
    if d is None:
      raise FileNotFoundError(f"{fn}: path: nitime is not installed; pass path= to {name} or its directory")
    path = d
  file = os.path.join(path, name) if os.path.isdir(path) else path
  if not os.path.isfile(file):
    raise FileNotFoundError(f"{fn}: path: expected a spike-time file or a directory holding {name}, got {path!r}")
  t_us = np.loadtxt(file, comments="#", ndmin=1).astype(np.float64).ravel()
  if t_us.size and (not np.all(np.isfinite(t_us)) or t_us.min() < 0):
    raise ValueError(f"{fn}: path: expected non-negative finite spike times (µs) in {file!r}")
  n_bins = int(round(duration_s * 1000.0 / bin_ms))
  idx = np.floor(t_us / (bin_ms * 1000.0)).astype(np.int64)
  idx = idx[idx < n_bins]
  return np.bincount(idx, minlength=n_bins).astype(np.float32)[:, None]
