"""The launcher as a user runs it, in subprocesses: a run killed by SIGKILL between checkpoints and
resumed equals an uninterrupted one (metrics, TensorBoard events, summary); the progress lines show
whatever the verbosity while library INFO logging is off by default; command-line mistakes give one
line naming the field and exit status 2.

Oracles: the uninterrupted run (the resumed run must reproduce its metrics bitwise, as the in-process
resume tests show the state does), a TFRecord / CRC-32C reader written here (the event file format),
and byte equality of ``summary.json`` across a re-run.
"""
import fcntl
import json
import os
import re
import select
import signal
import struct
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOPFIELD = os.path.join(REPO, "experiments", "configs", "hopfield.py")
TIMEOUT = 120  # seconds per subprocess; a stuck run fails the test


def _env():
  env = {**os.environ, "JAX_PLATFORMS": "cpu"}
  cache = jax.config.jax_compilation_cache_dir  # the test process's private cache (conftest)
  if cache:  # the runs compile the same programs: compile them once
    env.update(JAX_COMPILATION_CACHE_DIR=cache, JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0")
  return env


def _launcher(workdir, *flags, config=HOPFIELD + ":smoke"):
  return [sys.executable, "-m", "experiments.main", f"--config={config}", f"--workdir={workdir}", *flags]


def _run(args, cwd):
  return subprocess.run(args, capture_output=True, text=True, env=_env(), cwd=cwd, timeout=TIMEOUT)


# --- TensorBoard event files, read independently of the writer -----------------------------------

def _crc32c_table():
  table = []
  for i in range(256):
    c = i
    for _ in range(8):
      c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    table.append(c)
  return table


_CRC_TABLE = _crc32c_table()


def _crc32c(data: bytes) -> int:
  c = 0xFFFFFFFF
  for b in data:
    c = _CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
  return c ^ 0xFFFFFFFF


def _masked(data: bytes) -> int:
  c = _crc32c(data)
  return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def test_crc32c_reference_value():
  assert _crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value


def read_events(path):
  """Every record of a TFRecord event file, CRCs checked, parsed as ``Event`` protos."""
  from tensorboardX.proto import event_pb2
  with open(path, "rb") as f:
    data = f.read()
  events, i = [], 0
  while i < len(data):
    assert len(data) - i >= 12, f"{path}: torn record header at byte {i}"
    header = data[i:i + 8]
    (n,) = struct.unpack("<Q", header)
    (crc,) = struct.unpack("<I", data[i + 8:i + 12])
    assert crc == _masked(header), f"{path}: bad length CRC at byte {i}"
    body = data[i + 12:i + 12 + n]
    assert len(body) == n and len(data) >= i + 16 + n, f"{path}: torn record at byte {i}"
    (crc,) = struct.unpack("<I", data[i + 12 + n:i + 16 + n])
    assert crc == _masked(body), f"{path}: bad data CRC at byte {i}"
    ev = event_pb2.Event()
    ev.ParseFromString(body)
    events.append(ev)
    i += 16 + n
  return events


def _scalars(events):
  return {(ev.step, v.tag): v.simple_value for ev in events for v in ev.summary.value}


def _training_rows(rows):
  return [r for r in rows if "loss" in r]


def _rows(workdir):
  with open(os.path.join(workdir, "metrics.jsonl"), encoding="utf-8") as f:
    return [json.loads(line) for line in f if line.strip()]


def _checkpoint_steps(workdir):
  d = os.path.join(workdir, "checkpoints")
  return sorted(int(n) for n in os.listdir(d) if n.isdigit()) if os.path.isdir(d) else []


_ABSL_INFO = re.compile(r"^I\d{4} \d\d:\d\d:\d\d", re.M)


def _kill_after_checkpoint(args, workdir, checkpoint_step, cwd):
  """Runs ``args``; SIGKILLs it once ``checkpoint_step`` is on disk and a later step has been logged.

  The child's stderr is a pipe of one page that this function reads a byte at a time: the child can
  be at most a page of progress lines (about 45 steps at log_every=1) ahead of the line that
  triggers the kill, so it cannot reach a checkpoint 75 steps later first, however loaded the
  machine. Returns the stderr read.
  """
  r, w = os.pipe()
  fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 4096)
  proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=w, env=_env(), cwd=cwd)
  os.close(w)
  deadline = time.monotonic() + TIMEOUT
  line, seen = b"", []
  try:
    while True:
      assert time.monotonic() < deadline, "the run did not reach its checkpoint in time:\n" + "".join(seen)
      if not select.select([r], [], [], 0.5)[0]:
        assert proc.poll() is None, "the run ended before it could be killed:\n" + "".join(seen)
        continue
      byte = os.read(r, 1)
      assert byte, "the run closed stderr before it could be killed:\n" + "".join(seen)
      if byte != b"\n":
        line += byte
        continue
      seen.append(line.decode() + "\n")
      line = b""
      m = re.match(r"step (\d+)/", seen[-1])
      if m and int(m.group(1)) > checkpoint_step:
        while checkpoint_step not in _checkpoint_steps(workdir):  # saved asynchronously
          assert time.monotonic() < deadline, "checkpoint never appeared:\n" + "".join(seen)
          time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
        break
    assert proc.wait(timeout=TIMEOUT) == -signal.SIGKILL
  finally:
    if proc.poll() is None:
      proc.kill()
      proc.wait(timeout=TIMEOUT)
    os.close(r)
  return "".join(seen)


def test_sigkill_between_checkpoints_then_resume_equals_uninterrupted(tmp_path):
  steps, every = 150, 75
  flags = [f"--config.train.total_steps={steps}", "--config.train.log_every=1",
           f"--config.train.checkpoint_every={every}"]
  full, part = tmp_path / "full", tmp_path / "part"

  # The uninterrupted run, quiet by default: progress lines on stderr, no absl / orbax INFO line.
  ref = _run(_launcher(full, *flags), tmp_path)
  assert ref.returncode == 0, ref.stderr[-3000:]
  assert f"step {steps}/{steps} |" in ref.stderr and "new run in" in ref.stderr and "eval |" in ref.stderr
  assert not _ABSL_INFO.search(ref.stderr) and "orbax" not in ref.stderr, ref.stderr[:2000]
  want = _rows(full)
  assert [r["step"] for r in _training_rows(want)] == list(range(1, steps + 1))

  # Killed by SIGKILL after its first checkpoint, with steps after it already logged.
  _kill_after_checkpoint(_launcher(part, *flags), part, every, tmp_path)

  assert _checkpoint_steps(part) == [every]
  killed_rows = _rows(part)
  logged = [r["step"] for r in _training_rows(killed_rows)]
  assert logged == list(range(1, len(logged) + 1)) and logged[-1] > every, logged[-5:]
  assert killed_rows == want[:len(killed_rows)]  # what the killed run logged is right
  # Its TensorBoard file holds every step it logged (flushed as written), with the logged values.
  (killed_tb,) = os.listdir(part / "tensorboard")
  killed_events = read_events(part / "tensorboard" / killed_tb)
  tb = _scalars(killed_events)
  for r in killed_rows:
    for k, v in r.items():
      if k != "step":
        assert tb[(r["step"], k)] == np.float32(v), (r["step"], k)
  assert not os.path.exists(part / "summary.json")

  # Resumed (same command): continues from the checkpoint, drops the rows logged after it.
  res = _run(_launcher(part, *flags), tmp_path)
  assert res.returncode == 0, res.stderr[-3000:]
  assert f"resumed from step {every}" in res.stderr
  assert f"dropped {logged[-1] - every} row(s) logged after step {every}" in res.stderr
  assert not _ABSL_INFO.search(res.stderr) and "orbax" not in res.stderr
  got = _rows(part)
  train_steps = [r["step"] for r in _training_rows(got)]
  assert train_steps == sorted(set(train_steps)) == list(range(1, steps + 1))
  assert got == want  # every row, every value, bitwise (JSON floats round-trip exactly)
  with open(full / "summary.json") as f:
    want_summary = json.load(f)
  with open(part / "summary.json") as f:
    got_summary = json.load(f)
  assert got_summary["final"] == want_summary["final"] != {}
  assert got_summary["eval"] == want_summary["eval"] != {}

  # TensorBoard: the resumed run's file hides the killed run's steps after the checkpoint
  # (SessionLog.START at every + 1); applying that rule, every step is seen once, with its value.
  new_tb = [n for n in os.listdir(part / "tensorboard") if n != killed_tb]
  assert len(new_tb) == 1 and sorted(os.listdir(part / "tensorboard"))[-1] == new_tb[0]
  resumed_events = read_events(part / "tensorboard" / new_tb[0])
  assert resumed_events[0].file_version == "brain.Event:2"
  assert resumed_events[1].session_log.status == resumed_events[1].session_log.START
  assert resumed_events[1].step == every + 1
  visible = {k: v for k, v in _scalars(killed_events).items() if k[0] <= every}
  assert not set(visible) & set(_scalars(resumed_events))
  visible.update(_scalars(resumed_events))
  assert visible == {(r["step"], k): np.float32(v) for r in want for k, v in r.items() if k != "step"}

  # Re-running the finished run changes nothing; --verbosity=0 brings library INFO lines back.
  before = (part / "summary.json").read_bytes()
  again = _run(_launcher(part, *flags, "--verbosity=0"), tmp_path)
  assert again.returncode == 0, again.stderr[-3000:]
  assert (part / "summary.json").read_bytes() == before
  assert "run already complete" in again.stderr and "summary.json kept" in again.stderr
  assert _ABSL_INFO.search(again.stderr) and "checkpoint_manager.py" in again.stderr
  assert _rows(part) == want


@pytest.mark.parametrize("flag, message", [
    ("--config.model.poling=max",
     r"--config\.model\.poling: config\.model has no field 'poling'; the nearest valid field is "
     r"--config\.model\.pooling$"),
    ("--config.trian.total_steps=3",
     r"config has no field 'trian'; the nearest valid field is --config\.train\.total_steps$"),
    ("--config.train.total_steps=abc", r"--config\.train\.total_steps=abc: invalid literal for int\(\)"),
    ("--config.train.total_steps=0", r"config\.train\.total_steps: expected a positive int, got 0$"),
    ("--config.model.pooling=sum", r"config\.model\.pooling: expected one of .*got 'sum'$"),
])
def test_command_line_mistakes_give_one_line_and_status_2(flag, message, tmp_path):
  out = _run(_launcher(tmp_path / "run", flag), tmp_path)
  lines = [line for line in out.stderr.splitlines() if line.strip()]
  assert out.returncode == 2 and len(lines) == 1, out.stderr[-3000:]
  assert lines[0].startswith("experiments.main: error: ") and re.search(message, lines[0]), lines[0]
  assert not (tmp_path / "run").exists()  # nothing ran


def test_a_config_file_that_does_not_load_gives_one_line(tmp_path):
  for config, message in ((HOPFIELD + ":huge", r"variant: expected one of .*got 'huge'$"),
                          (os.path.join(REPO, "nope.py") + ":smoke", r"cannot load the config file: .*nope\.py")):
    out = _run(_launcher(tmp_path / "run", config=config), tmp_path)
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert out.returncode == 2 and len(lines) == 1 and re.search(message, lines[0]), out.stderr[-3000:]
