"""Test set-up: 4 fake CPU devices so sharded code runs in CI (set before jax is imported), and a
persistent compilation cache private to this test process.

Many tests compile the same program more than once (a config's smoke run interrupted, resumed and run
uninterrupted; a claim's smoke run after the unit tests of its model). JAX's persistent cache, in a fresh
temporary directory per process (each xdist worker has its own) that is deleted at exit, compiles each
distinct program once per process; nothing is shared between runs of the suite.
"""
import atexit
import os
import shutil
import tempfile

os.environ.setdefault("JAX_PLATFORMS", "cpu")
_flags = os.environ.get("XLA_FLAGS", "")
if "xla_force_host_platform_device_count" not in _flags:
  os.environ["XLA_FLAGS"] = (_flags + " --xla_force_host_platform_device_count=4").strip()

import jax  # noqa: E402
import pytest  # noqa: E402

_CACHE_DIR = tempfile.mkdtemp(prefix="zoo-test-jax-cache-")
atexit.register(shutil.rmtree, _CACHE_DIR, ignore_errors=True)
jax.config.update("jax_compilation_cache_dir", _CACHE_DIR)
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)   # cache the costly compiles only

NUM_FAKE_DEVICES = 4


@pytest.fixture(scope="session")
def devices():
  d = jax.devices()
  assert len(d) == NUM_FAKE_DEVICES, f"expected {NUM_FAKE_DEVICES} fake CPU devices, got {d}"
  return d
