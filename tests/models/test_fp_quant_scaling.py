"""models/fp_quant_scaling: QuantDense against nn.Dense and explicit quantised operands, the width mask = the
narrower network (forward and gradients), and the sweep analyses on hand-made / law-generated tables."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from kernels.fp_quant import quantize
from models.fp_quant_scaling import QuantDense, QuantMLP, SweepRow, gap_table, holdout_fit, pair_agreement
from theory.fp_quant_scaling import loss as law_loss

_rng = np.random.default_rng(0)
X = _rng.standard_normal((16, 32)).astype(np.float32)


def test_quantdense_full_precision_is_dense_and_quantised_uses_the_operands():
  key = jax.random.PRNGKey(0)
  p = nn.Dense(8).init(key, X)
  np.testing.assert_allclose(QuantDense(8).apply(p, X), nn.Dense(8).apply(p, X), rtol=1e-5, atol=1e-5)
  y = QuantDense(8, fmt="E2M1", block_size=16).apply(p, X)
  k, b = np.asarray(p["params"]["kernel"]), np.asarray(p["params"]["bias"])
  want = (np.asarray(quantize(X, "E2M1", block_size=16, impl="reference"), np.float64)
          @ np.asarray(quantize(k, "E2M1", block_size=16, axis=0, impl="reference"), np.float64) + b)
  np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)


def test_width_mask_equals_the_narrow_network():
  """The sweep's trick: a width-16 network with 8 masked (zero) units = a width-8 network, in the loss and
  in the live weights' gradients, with every GEMM operand quantised (B = 16 > 8 pads the narrow one)."""
  wide = QuantMLP(hidden=16, out=4, fmt="E2M1", block_size=16, impl="xla")
  narrow = QuantMLP(hidden=8, out=4, fmt="E2M1", block_size=16, impl="xla")
  pw = wide.init(jax.random.PRNGKey(1), X)["params"]
  mask = jnp.asarray(np.arange(16) < 8, jnp.float32)
  pw["hidden"]["kernel"] = pw["hidden"]["kernel"] * mask
  pw["hidden"]["bias"] = pw["hidden"]["bias"] * mask
  pw["head"]["kernel"] = pw["head"]["kernel"] * mask[:, None]
  pn = {"hidden": {"kernel": pw["hidden"]["kernel"][:, :8], "bias": pw["hidden"]["bias"][:8]},
        "head": {"kernel": pw["head"]["kernel"][:8], "bias": pw["head"]["bias"]}}
  y = jnp.asarray(_rng.integers(0, 4, 16))

  def lw(p):
    return jnp.mean(-jax.nn.log_softmax(wide.apply({"params": p}, X, None, mask))[jnp.arange(16), y])

  def ln(p):
    return jnp.mean(-jax.nn.log_softmax(narrow.apply({"params": p}, X))[jnp.arange(16), y])

  (vw, gw), (vn, gn) = jax.jit(jax.value_and_grad(lw))(pw), jax.jit(jax.value_and_grad(ln))(pn)
  np.testing.assert_allclose(vw, vn, rtol=1e-6)
  np.testing.assert_allclose(gw["hidden"]["kernel"][:, :8], gn["hidden"]["kernel"], rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(gw["head"]["kernel"][:8], gn["head"]["kernel"], rtol=1e-5, atol=1e-7)
  assert np.all(np.asarray(gw["hidden"]["kernel"][:, 8:]) == 0)


def _rows(gap):
  """Hand-made rows: one (N, D), FP32 loss 2.0, gap[fmt][block]."""
  out = [SweepRow(100, 10, "FP32", 8, 23, b, 1.0, 0, 2.0) for b in ("16", "64")]
  for f, per in gap.items():
    e, m = int(f[1]), int(f[3])
    out += [SweepRow(100, 10, f, e, m, b, float(b), 0, 2.0 + g) for b, g in per.items()]
  return out


def test_pair_agreement_counts():
  gaps = gap_table(_rows({"E1M1": {"16": 0.10, "64": 0.20}, "E2M1": {"16": 0.05, "64": 0.03}}))
  assert gaps[(100, 10, "E1M1", "64")] == pytest.approx(0.2)
  r = pair_agreement(gaps, ["16", "64"], tol=0.0)
  # block pairs: E1M1 grows (ok), E2M1 falls by 0.02 (violation); format pairs: E2M1 <= E1M1 at 16 and 64 (ok)
  assert (r["block_pairs"], r["block_agree"], r["format_pairs"], r["format_agree"]) == (2, 0.5, 2, 1.0)
  assert pair_agreement(gaps, ["16", "64"], tol=0.021)["block_agree"] == 1.0


def test_holdout_fit_on_law_generated_rows():
  rng = np.random.default_rng(1)
  rows = []
  for N in (1e7, 3e7, 1e8):
    for D in (1e9, 3e9, 1e10, 3e10):
      for (E, M) in ((1, 1), (2, 1), (3, 2), (4, 3)):
        for B in (16, 64, 256):
          L = float(law_loss(N, D, E, M, B)) + rng.normal(0, 1e-3)
          rows.append(SweepRow(int(N), int(D), f"E{E}M{M}", E, M, str(B), float(B), 0, L))
  fit = holdout_fit(rows, starts=3)
  assert fit.r2_holdout > 0.99 and fit.n_holdout == round(0.2 * len(rows))
