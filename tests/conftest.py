"""Test set-up: 4 fake CPU devices so sharded code runs in CI (set before jax is imported)."""
import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
_flags = os.environ.get("XLA_FLAGS", "")
if "xla_force_host_platform_device_count" not in _flags:
  os.environ["XLA_FLAGS"] = (_flags + " --xla_force_host_platform_device_count=4").strip()

import jax  # noqa: E402
import pytest  # noqa: E402

NUM_FAKE_DEVICES = 4


@pytest.fixture(scope="session")
def devices():
  d = jax.devices()
  assert len(d) == NUM_FAKE_DEVICES, f"expected {NUM_FAKE_DEVICES} fake CPU devices, got {d}"
  return d
