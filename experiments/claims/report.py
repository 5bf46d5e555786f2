"""Shared helpers for claim modules: numbers into markdown, slopes and crossings, the common figure kinds.

Claim modules format and plot through these instead of writing their own:

* text: :func:`fmt`, :func:`fmt_mean_se`, :func:`fmt_slope`, :func:`markdown_table`, :func:`mean_se_table`;
* statistics for verdicts: :func:`mean_se`, :func:`loglog_slope` (both from :mod:`theory.common.stats`),
  :func:`fit_slope` (a slope over the whole grid or its upper half, with the interval), :func:`crossing`;
* figures (each returns a maker for :meth:`Context.figures`, so a missing matplotlib skips the figure and not
  the claim): :func:`loglog_figure` (mean ± 2 s.e. over replications with fitted lines and a reference slope),
  :func:`line_figure` (curves, optional bands and reference lines).
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from theory.common.stats import Slope, loglog_slope, mean_se

__all__ = ["fmt", "fmt_mean_se", "fmt_slope", "markdown_table", "mean_se_table", "mean_se", "loglog_slope",
           "fit_slope", "crossing", "loglog_figure", "line_figure"]


def fmt(v: Any, digits: int = 4) -> str:
  """A cell: floats with ``digits`` significant digits, ints and strings as they are, None as ``–``."""
  if v is None:
    return "–"
  if isinstance(v, (bool, np.bool_)):
    return "yes" if v else "no"
  if isinstance(v, (int, np.integer)):
    return str(int(v))
  if isinstance(v, (float, np.floating)):
    return f"{float(v):.{digits}g}"
  return str(v)


def fmt_mean_se(values=None, *, mean: float | None = None, se: float | None = None, digits: int = 4) -> str:
  """``"m ± se"`` of replications ``values`` (or of a given ``mean`` and ``se``)."""
  if values is not None:
    mean, se = mean_se(values)
  return f"{float(mean):.{digits}g} ± {float(se):.2g}"


def fmt_slope(s: Slope, digits: int = 3) -> str:
  """``"slope [lo, hi]"`` of a :class:`~theory.common.stats.Slope`."""
  return f"{s.slope:.{digits}f} [{s.lo:.{digits}f}, {s.hi:.{digits}f}]"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]], digits: int = 4) -> str:
  """A markdown table; cells go through :func:`fmt`. Every row must have ``len(header)`` cells."""
  for i, r in enumerate(rows):
    if len(r) != len(header):
      raise ValueError(f"markdown_table: rows[{i}]: expected {len(header)} cells, got {len(r)}")
  lines = ["| " + " | ".join(str(h) for h in header) + " |", "|" + "---|" * len(header)]
  lines += ["| " + " | ".join(fmt(c, digits) for c in r) + " |" for r in rows]
  return "\n".join(lines)


def mean_se_table(index_name: str, index: Sequence[Any], columns: Sequence[tuple[str, Any]],
                  digits: int = 4) -> str:
  """A table with one row per ``index`` value and one ``mean ± s.e.`` column per ``(name, values)``;
  ``values: [len(index), reps]`` (a 1-D column is shown as plain numbers)."""
  rows = []
  for i, x in enumerate(index):
    cells: list[Any] = [x]
    for name, vals in columns:
      v = np.asarray(vals)
      if v.shape[0] != len(index):
        raise ValueError(f"mean_se_table: column {name!r}: expected {len(index)} rows, got shape {v.shape}")
      cells.append(fmt_mean_se(v[i], digits=digits) if v.ndim > 1 else v[i])
    rows.append(cells)
  return markdown_table([index_name] + [c for c, _ in columns], rows, digits)


def fit_slope(x, errors, *, upper_half: bool = False, **kw) -> Slope:
  """:func:`loglog_slope` of ``errors: [len(x), reps]`` on ``x`` (1-D errors count as one replication),
  over the whole grid or, with ``upper_half``, over ``x >= median(x)`` (the asymptotic regime)."""
  x = np.asarray(x, np.float64)
  e = np.asarray(errors, np.float64)
  if e.ndim == 1:
    e = e[:, None]
  if upper_half:
    keep = x >= np.median(x)
    x, e = x[keep], e[keep]
  return loglog_slope(x, e, **kw)


def crossing(x, y, level: float, *, log_x: bool = True) -> float:
  """The first ``x`` at which ``y`` reaches ``level`` (either direction), by linear interpolation of ``y`` in
  ``log x`` (or in ``x``); ``x[0]`` if ``y[0] == level``; NaN when ``y`` never reaches ``level`` on the grid."""
  x = np.asarray(x, np.float64)
  y = np.asarray(y, np.float64)
  if x.ndim != 1 or x.shape != y.shape or x.size < 1:
    raise ValueError(f"crossing: x, y: expected equal 1-d shapes, got {x.shape} and {y.shape}")
  if log_x and not np.all(x > 0):
    raise ValueError("crossing: x: expected positive values with log_x=True")
  u = np.log(x) if log_x else x
  d = y - level
  if d[0] == 0:
    return float(x[0])
  for i in range(1, len(x)):
    if d[i] == 0 or np.sign(d[i]) != np.sign(d[i - 1]):
      t = d[i - 1] / (d[i - 1] - d[i])
      v = u[i - 1] + t * (u[i] - u[i - 1])
      return float(math.exp(v) if log_x else v)
  return float("nan")


def _pyplot():
  from experiments.claims import pyplot
  return pyplot()


def loglog_figure(ctx, name: str, title: str, x, series: Sequence[tuple[str, Any]], *, xlabel: str,
                  ylabel: str, fit: str | None = "all", ref_slope: float | None = None,
                  ref_label: str | None = None) -> Callable[[], str]:
  """A maker for a log-log plot of mean error ± 2 s.e. (over replications) against ``x``.

  Args:
    series: ``(label, errors [len(x), reps])`` pairs (1-D = one replication).
    fit: ``"all"`` / ``"upper"`` (x >= median) draws the least-squares line with its slope and bootstrap
      interval in the legend; None draws none.
    ref_slope: a dotted reference ``x^ref_slope`` through the first series' first point.
  """
  if fit not in ("all", "upper", None):
    raise ValueError(f"loglog_figure: fit: expected 'all', 'upper' or None, got {fit!r}")

  def make() -> str:
    plt = _pyplot()
    xs = np.asarray(x, np.float64)
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for lab, vals in series:
      e = np.asarray(vals, np.float64)
      e = e[:, None] if e.ndim == 1 else e
      m, se = mean_se(e, axis=1)
      line = ax.errorbar(xs, m, yerr=2 * se, fmt="o", capsize=2, label=None if fit else lab)
      if fit:
        s = fit_slope(xs, e, upper_half=fit == "upper")
        keep = xs >= np.median(xs) if fit == "upper" else np.ones_like(xs, bool)
        c = np.polyfit(np.log(xs[keep]), np.log(m[keep]), 1)
        ax.plot(xs[keep], np.exp(np.polyval(c, np.log(xs[keep]))), "-", color=line[0].get_color(),
                label=f"{lab}: slope {fmt_slope(s, 2)}" + (" (upper half)" if fit == "upper" else ""))
    if ref_slope is not None and series:
      e0 = np.asarray(series[0][1], np.float64)
      y0 = float(np.mean(e0[0]))
      ax.plot(xs, y0 * (xs / xs[0]) ** ref_slope, "k:", label=ref_label or f"slope {ref_slope:g} reference")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.title.set_fontsize(10)
    ax.legend(fontsize=7)
    return ctx.save_figure(fig, name)
  return make


def line_figure(ctx, name: str, title: str, x, series: Sequence[tuple[str, Any]], *, xlabel: str, ylabel: str,
                logx: bool = False, logy: bool = False, hlines: Sequence[tuple[float, str]] = (),
                band: str = "se") -> Callable[[], str]:
  """A maker for curves ``y`` against ``x``: ``series`` are ``(label, y)`` with ``y: [len(x)]`` or
  ``[len(x), reps]`` (then the mean with a ± 2 s.e. band; ``band="sd"`` shades ± 1 sd, None no band);
  ``hlines`` are ``(y, label)`` dashed reference lines."""
  if band not in ("se", "sd", None):
    raise ValueError(f"line_figure: band: expected 'se', 'sd' or None, got {band!r}")

  def make() -> str:
    plt = _pyplot()
    xs = np.asarray(x, np.float64)
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for lab, vals in series:
      v = np.asarray(vals, np.float64)
      if v.ndim == 1:
        ax.plot(xs, v, "o-", ms=3, label=lab)
        continue
      m, se = mean_se(v, axis=1)
      w = 2 * se if band == "se" else v.std(axis=1, ddof=1) if band == "sd" and v.shape[1] > 1 else 0 * m
      (line,) = ax.plot(xs, m, "o-", ms=3, label=lab)
      if band:
        ax.fill_between(xs, m - w, m + w, color=line.get_color(), alpha=0.2)
    for yv, lab in hlines:
      ax.axhline(yv, color="k", ls="--", lw=0.8, label=lab)
    if logx:
      ax.set_xscale("log")
    if logy:
      ax.set_yscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.title.set_fontsize(10)
    ax.legend(fontsize=7)
    return ctx.save_figure(fig, name)
  return make
