"""The benchmark helper's bookkeeping (timings themselves are never asserted)."""
import json

import jax
import jax.numpy as jnp
import pytest

from kernels.common import benchmark


def test_compare_fills_ratios_against_the_baseline(tmp_path):
  x = jnp.ones((64, 64))
  timings = benchmark.compare([("base", lambda a: a @ a, (x,)), ("other", jax.jit(lambda a: a + 1), (x,))],
                              baseline="base", warmup=1, repeats=3)
  base, other = timings
  assert base.ratio == 1.0 and other.ratio == pytest.approx(other.median_s / base.median_s)
  assert all(t.repeats >= 3 and t.compile_s > 0 and t.min_s <= t.median_s <= t.max_s for t in timings)
  table = benchmark.format_table(timings, "demo")
  assert "| base |" in table and "| other |" in table
  benchmark.write_json(str(tmp_path / "b.json"), {"demo": timings})
  saved = json.load(open(tmp_path / "b.json"))
  assert saved["benchmarks"]["demo"][1]["name"] == "other" and saved["environment"]["backend"] == "cpu"


def test_bad_arguments():
  with pytest.raises(ValueError, match="baseline"):
    benchmark.compare([("a", lambda: 1.0, ())], baseline="b")
  with pytest.raises(ValueError, match="repeats"):
    benchmark.time_fn("a", lambda: 1.0, repeats=0)
