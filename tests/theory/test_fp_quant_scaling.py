"""theory/fp_quant_scaling: the law's values from the notes, D_crit = the numerical argmin, the layout table
(= brute force over the law's own quantisation term), monotonicity, and the fitter on noisy synthetic data."""
import numpy as np
import pytest

from theory.fp_quant_scaling import (PAPER_PARAMS, argmin_data_size, critical_data_size, effective_block, fit_law,
                                     layout_table, loss, optimal_layout, quantization_term, r_squared)


def test_notes_sanity_values():
  # the notes' [computed] values: N = 41M, D = 10B tokens, B = 128
  assert float(loss(41e6, 10e9, 4, 3, 128)) == pytest.approx(3.4718, abs=1e-4)
  assert float(loss(41e6, 10e9, 8, 7, 128)) == pytest.approx(3.4716, abs=1e-4)
  assert float(loss(41e6, 10e9, 1, 1, 128)) == pytest.approx(3.5884, abs=1e-4)


def test_critical_data_size_is_the_numerical_argmin():
  for N in (41e6, 679e6, 1e9):
    for E, M in ((1, 1), (2, 1), (4, 3), (8, 7)):
      for B in (16, 128, 2048):
        closed = float(critical_data_size(N, E, M, B))
        assert closed == pytest.approx(argmin_data_size(N, E, M, B), rel=1e-4), (N, E, M, B)
  assert np.isinf(float(critical_data_size(41e6, 4, 3, 1)))


def test_critical_data_size_notes_and_paper_examples():
  notes = {(41e6, 1, 1): 3.9e10, (41e6, 2, 1): 1.9e11, (41e6, 4, 3): 1.3e13,
           (679e6, 1, 1): 7.4e10, (679e6, 2, 1): 3.6e11, (679e6, 4, 3): 2.5e13,
           (1e9, 8, 7): 1730e12, (1e9, 4, 3): 27e12, (1e9, 2, 1): 0.4e12}   # last three: the paper's 1B figures
  for (N, E, M), want in notes.items():
    got = float(critical_data_size(N, E, M, 128))
    assert abs(got / want - 1) < 0.05 if want != 0.4e12 else abs(got / want - 1) < 0.125, (N, E, M, got, want)


def test_layout_table_and_brute_force():
  want = {4: "E2M1", 5: "E2M2", 6: "E3M2", 7: "E3M3", 8: "E4M3", 9: "E4M4", 10: "E5M4", 11: "E5M5", 12: "E6M5",
          13: "E6M6", 14: "E7M6", 15: "E7M7", 16: "E8M7"}
  assert layout_table() == want
  for P in range(2, 17):     # the chosen layout has the smallest quantisation term of every split
    terms = {e: float(quantization_term(1e8, 1e10, e, P - 1 - e, 128)) for e in range(P)}
    assert optimal_layout(P) == (min(terms, key=terms.get), P - 1 - min(terms, key=terms.get))


def test_monotone_in_bits_and_block():
  Es = np.arange(1, 8)[:, None, None]
  Ms = np.arange(1, 8)[None, :, None]
  Bs = np.array([2.0, 16, 128, 1024])[None, None, :]
  L = np.asarray(loss(1e8, 1e10, Es, Ms, Bs), np.float64)
  assert np.all(np.diff(L, axis=0) < 0) and np.all(np.diff(L, axis=1) < 0) and np.all(np.diff(L, axis=2) > 0)
  assert float(quantization_term(1e8, 1e10, 30, 30, 128)) < 1e-7     # vanishes as E, M grow


def test_fitter_recovers_known_constants():
  rng = np.random.default_rng(4)
  k = 120
  N = 10 ** rng.uniform(7, 9, k)
  D = 10 ** rng.uniform(9, 11.5, k)
  E = rng.integers(1, 6, k).astype(float)
  M = rng.integers(1, 6, k).astype(float)
  B = 2.0 ** rng.integers(4, 9, k)
  clean = np.asarray(loss(N, D, E, M, B), np.float64)
  L = clean + rng.normal(0, 1e-3, k)
  fit = fit_law(N, D, E, M, B, L, starts=4, seed=0)
  for name in ("alpha", "beta", "eps", "delta", "nu"):
    assert getattr(fit.params, name) == pytest.approx(getattr(PAPER_PARAMS, name), rel=0.05), name
  assert fit.rmse < 2e-3
  # held-out runs are predicted (the noise floor bounds R² from below at ~1 - noise² / var)
  Nt, Dt = 10 ** rng.uniform(7, 9, 50), 10 ** rng.uniform(9, 11.5, 50)
  Et, Mt, Bt = rng.integers(1, 6, 50), rng.integers(1, 6, 50), 2.0 ** rng.integers(4, 9, 50)
  assert r_squared(loss(Nt, Dt, Et, Mt, Bt), loss(Nt, Dt, Et, Mt, Bt, fit.params)) > 0.999


def test_effective_block_and_bad_inputs():
  assert effective_block(64, 512) == 64 and effective_block("channel", 512) == 512
  assert effective_block("tensor", 512, 4096) == 4096
  with pytest.raises(ValueError, match="bits"):
    optimal_layout(1)
  with pytest.raises(ValueError, match="E"):
    loss(1e8, 1e10, -1, 3, 128)
  with pytest.raises(ValueError, match="B"):
    loss(1e8, 1e10, 4, 3, 0)
  with pytest.raises(ValueError, match="L"):
    fit_law([1e8] * 3, [1e9] * 3, [4] * 3, [3] * 3, [64] * 3, [3.0] * 3)
