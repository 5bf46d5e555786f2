"""The claim helpers of experiments/claims/report.py: tables, crossings and slopes against hand computations,
figures as valid PNG files."""
import math

import numpy as np
import pytest

from experiments.claims import Context, report


def test_markdown_table_formats_cells_and_checks_row_lengths():
  t = report.markdown_table(["n", "err", "ok"], [[10, 0.123456, True], [20, None, False]])
  assert t.splitlines() == ["| n | err | ok |", "|---|---|---|", "| 10 | 0.1235 | yes |", "| 20 | – | no |"]
  with pytest.raises(ValueError, match=r"rows\[0\]"):
    report.markdown_table(["a", "b"], [[1]])


def test_mean_se_table_and_fmt_mean_se():
  vals = np.array([[1.0, 3.0], [2.0, 2.0]])
  t = report.mean_se_table("n", [1, 2], [("v", vals), ("plain", np.array([5, 6]))])
  assert "| 1 | 2 ± 1 | 5 |" in t and "| 2 | 2 ± 0 | 6 |" in t
  assert report.fmt_mean_se([1.0, 2.0, 3.0, 4.0]) == f"2.5 ± {math.sqrt(5 / 3) / 2:.2g}"


def test_crossing_interpolates_in_log_x_and_reports_no_crossing():
  x = np.array([1.0, 10.0, 100.0])
  y = np.array([1.0, 0.6, 0.2])
  # between x = 10 (0.6) and 100 (0.2), 0.5 is a quarter of the way in log x
  assert report.crossing(x, y, 0.5) == pytest.approx(10 ** 1.25)
  assert report.crossing(x, y, 0.5, log_x=False) == pytest.approx(10 + 0.25 * 90)
  assert report.crossing(x, -y, -0.5) == pytest.approx(10 ** 1.25)        # upward crossings too
  assert math.isnan(report.crossing(x, y, 2.0)) and report.crossing(x, y, 1.0) == 1.0


def test_fit_slope_on_the_upper_half_ignores_the_pre_asymptotic_points():
  x = np.array([1.0, 2.0, 4.0, 8.0, 16.0, 32.0])
  e = np.where(x < 8, 1.0, x ** -0.5)          # flat, then n^-1/2 from the median on
  s = report.fit_slope(x, np.stack([e, e], 1), upper_half=True)
  assert s.slope == pytest.approx(-0.5, abs=1e-12) and report.fmt_slope(s) == "-0.500 [-0.500, -0.500]"
  assert abs(report.fit_slope(x, e).slope + 0.5) > 0.05     # the whole grid mixes both regimes


def test_figures_are_png_files(tmp_path):
  pytest.importorskip("matplotlib")
  ctx = Context("smoke", str(tmp_path))
  x = np.array([10.0, 100.0, 1000.0])
  e = np.stack([x ** -0.5 * (1 + 0.1 * k) for k in range(3)], 1)
  figs = ctx.figures(
      report.loglog_figure(ctx, "a.png", "t", x, [("err", e)], xlabel="n", ylabel="e", fit="upper", ref_slope=-0.5),
      report.line_figure(ctx, "b.png", "t", x, [("m", e), ("one", e[:, 0])], xlabel="n", ylabel="e", logx=True,
                         hlines=[(0.05, "level")]))
  assert figs == ["figures/a.png", "figures/b.png"]
  for f in figs:
    assert (tmp_path / f).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
  with pytest.raises(ValueError, match="fit"):
    report.loglog_figure(ctx, "c.png", "t", x, [], xlabel="", ylabel="", fit="lower")
