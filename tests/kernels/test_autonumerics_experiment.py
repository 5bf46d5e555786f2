"""kernels/autonumerics/experiment.py: the front claim's validation set and error measure, against numpy."""
import math

import numpy as np
import pytest

from kernels.autonumerics import baselines, experiment


def test_validation_grid_covers_the_interval_and_its_left_end():
  x = experiment.validation_grid(10)
  assert x.shape == (2010,) and x.min() == pytest.approx(1e-12) and x.max() == 1.0 and np.all(x > 0)
  np.testing.assert_allclose(x[:10], np.arange(1, 11) / 10)


def test_max_rel_error_of_taylor_matches_numpy_polynomial():
  # Oracle: the Taylor polynomial of 2^x evaluated by numpy's polyval in long double, against exp2 in long double.
  x = experiment.validation_grid(500)
  for d in (2, 4):
    coeffs = baselines.taylor_coeffs(d)
    prog = baselines.horner(coeffs, 16, 10)
    xl = x.astype(np.longdouble)
    ref = float(np.max(np.abs(np.polynomial.polynomial.polyval(xl, coeffs.astype(np.longdouble)) / np.exp2(xl) - 1)))
    assert float(experiment.max_rel_error(prog, x)) == pytest.approx(ref, rel=1e-6)
  with pytest.raises(ValueError, match="max_rel_error: x"):
    experiment.max_rel_error(prog, np.array([[0.5]]))
  with pytest.raises(TypeError, match="programs"):
    experiment.max_rel_error([1, 2], x)


def test_best_within_takes_the_minimum_over_cheaper_programs():
  errs = {3: 1e-3, 5: 1e-6, 8: 1e-5}
  assert experiment.best_within(errs, 4) == 1e-3 and experiment.best_within(errs, 9) == 1e-6
  assert math.isinf(experiment.best_within(errs, 2))
  with pytest.raises(ValueError, match="validation_grid: n"):
    experiment.validation_grid(0)
