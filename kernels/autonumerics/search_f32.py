"""Float32 track of the search (the notes' §5.3 Track B): an evolved kernel e^r on the reduced range.

Real, Chen, Ross-Knoop, ... Le. "AutoNumerics-Zero: Automated Discovery of State-of-the-Art
Mathematical Functions". arXiv:2312.08472 (float32 track: < 1 ULP, programs run in float32 under XLA;
range reduction is standard and not searched; target ``correct_on_the_fly_expe_32bits``, e^r on
[-ln2/2, ln2/2]).

The shipped exp (:mod:`kernels.autonumerics.expf`) reduces x to ``r`` in about [-ln2/2, ln2/2] (one
rounding FMA + Cody–Waite) and scales ``p(r) ≈ e^r`` by 2^n exactly, so the only searched part is the
kernel ``p``. This module evolves ``p`` as a straight-line program (:mod:`kernels.autonumerics.program`)
and reuses the real track's machinery (:mod:`kernels.autonumerics.search`): the same mutations
(:func:`~kernels.autonumerics.search.mutate`: insert / remove / rewire / op change / constant re-draw,
plus clones), the same Levenberg–Marquardt + Lawson constant fitting in float64
(:func:`~kernels.autonumerics.search.fit_constants`, relative error against e^r), the same dedup and
elite archive (:func:`~kernels.autonumerics.search.select_archive`). What differs:

* **Fitness in float32** (:func:`kernel_ulp`): the float64 fit is rounded to float32 and the program
  runs in float32 through the jnp where-chain evaluator (:func:`kernels.autonumerics.xla.eval_block`,
  jitted: XLA CPU contracts the FMA op's ``u*v + w`` into one fused instruction, as in the shipped code).
  Error = ``|p(r) - e^r| / ulp(e^r)`` (float64 reference, floor-log2 ULP of :mod:`kernels.autonumerics.ulp`),
  maximum over a float32 sample of r: uniform values, random bit patterns (binade-stratified), both ends
  with neighbours, and a **replay buffer** of the worst inputs found so far (every generation adds each
  scored program's argmax). The archive is re-scored on the current sample each generation.
* **Float32 constant refinement** (:func:`coordinate_search`): after rounding, each child's constants
  are moved by ±1, ±2, ±4, ... float32 ULPs one at a time (all moves of a program evaluated in one batch),
  the best move kept, repeated (a greedy coordinate search, the notes' "fpminimax-like" step); in the
  loop it runs on the ``refine_top`` best children of each generation.
* **Niches** = (op count, depth): the elite archive keeps the best ``elites`` programs per op count
  *and* dependency depth (longest chain of x-dependent instructions), so shallow programs survive beside
  Horner chains. The front is reported per op count.
* **Seeds**: f = x (the paper's start) plus, optionally, Horner (FMA) and Estrin programs of degree 5–6
  with float64 minimax constants, and programs read from a real-track checkpoint (structure only, the
  constants re-fitted to e^r). Each archive member carries the index of the seed it descends from.
* **Final step on the real pipeline** (:func:`refine_in_pipeline`): a finalist is compiled to
  straight-line jnp (:func:`compile_kernel`, the form :mod:`~kernels.autonumerics.expf` ships), put
  inside the whole float32 exp, and its constants are coordinate-searched again against the full exp's
  max ULP on the hardest inputs of a large x sample.

CLI: ``python -m kernels.autonumerics.search_f32 --seed=0 --budget_s=300 --out=DIR`` (checkpointed to
``DIR/search_f32_seed<seed>.npz``; re-running resumes).
"""
from __future__ import annotations

import dataclasses
import functools
import math
import os
import sys
import time
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from kernels.autonumerics import ulp as ulp_lib
from kernels.autonumerics.program import (OP_ADD, OP_DIV, OP_FMA, OP_MUL, OP_SQRT, OP_SUB, Builder, Program,
                                          op_count_np)
from kernels.autonumerics.search import compact, fingerprint, fit_constants, mutate, select_archive
from kernels.autonumerics.xla import eval_block

Array = jax.Array

__all__ = ["F32Config", "F32Result", "R_HALF", "run_search_f32", "kernel_ulp", "coordinate_search", "depth_np",
           "seed_programs", "compile_kernel", "refine_in_pipeline", "pipeline_errors", "front_f32", "sample_r", "sample_x",
           "points"]

R_HALF = math.log(2.0) / 2 * (1 + 1e-5)   # |r| the shipped reduction can produce, with a margin
_CHUNK = 64                               # programs per float32 evaluation call (one compile per shape)


@dataclasses.dataclass(frozen=True)
class F32Config:
  """Settings of the float32 search.

  Attributes:
    length, n_consts: L instruction slots and K constants per program.
    pop: children per generation; generations / time_budget_s: stop criteria (time: this call only).
    elites: archive size per (op count, depth) niche.
    lm_steps, n_train: float64 LM steps per child and Chebyshev training points on [-R_HALF, R_HALF].
    n_sample: uniform + random-bit-pattern float32 sample of r (half each); n_replay: replay buffer size.
    refine_top: children per generation whose float32 constants are coordinate-searched.
    refine_steps: ULP step sizes of that search.
    ops: op codes mutations may use (FMA counts as one op). The default leaves out MUL: in the where-chain
      evaluator a MUL candidate shares its product ``u*v`` with the FMA candidate (XLA's CSE), and a product
      with two uses is not contracted, so FMA instructions would be evaluated as a rounded multiply plus
      a rounded add — unlike the straight-line shipped code, where every ``u*v + w`` is one fused FMA
      (measured: 236 of 5,101 Horner-6 outputs differ). Without MUL the two forms are bitwise equal; a
      product is ``fma(u, v, c)`` with a fitted (possibly ~0) addend, still one op.
    seeds: "identity" (f = x) and/or "horner5", "horner6", "estrin6".
    target: "pipeline" (default: the kernel is scored inside the shipped reduction, against exp(x)·2^-n on
      a sample of x, :func:`sample_x`) or "kernel" (against e^r on a sample of r, :func:`sample_r`).
    clone_rate, seed: as in :class:`kernels.autonumerics.search.SearchConfig`.
  """
  length: int = 10
  n_consts: int = 8
  pop: int = 128
  generations: int = 1000
  time_budget_s: float | None = None
  elites: int = 4
  lm_steps: int = 12
  n_train: int = 65
  n_sample: int = 4096
  n_replay: int = 512
  refine_top: int = 4
  refine_steps: tuple[int, ...] = (1, 2, 4, 16)
  ops: tuple[int, ...] = (OP_ADD, OP_SUB, OP_FMA)
  seeds: tuple[str, ...] = ("identity", "horner5", "horner6", "estrin6")
  target: str = "pipeline"
  clone_rate: float = 0.25
  seed: int = 0

  def validate(self) -> "F32Config":
    for name in ("length", "n_consts", "pop", "elites", "lm_steps", "n_train", "n_sample", "n_replay"):
      v = getattr(self, name)
      if not isinstance(v, int) or v < 1:
        raise ValueError(f"F32Config.{name}: expected a positive int, got {v!r}")
    if self.refine_top < 0 or self.refine_top > self.pop:
      raise ValueError(f"F32Config.refine_top: expected 0..pop={self.pop}, got {self.refine_top}")
    if not self.ops or any(o not in (OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_FMA, OP_SQRT) for o in self.ops):
      raise ValueError(f"F32Config.ops: expected a non-empty subset of 0..5, got {self.ops}")
    bad = [s for s in self.seeds if s not in _SEEDS]
    if not self.seeds or bad:
      raise ValueError(f"F32Config.seeds: expected a non-empty subset of {sorted(_SEEDS)}, got {self.seeds}")
    if self.target not in ("pipeline", "kernel"):
      raise ValueError(f"F32Config.target: expected 'pipeline' or 'kernel', got {self.target!r}")
    if not 0.0 <= self.clone_rate < 1.0:
      raise ValueError(f"F32Config.clone_rate: expected in [0, 1), got {self.clone_rate}")
    return self


class F32Result(NamedTuple):
  """The archive after the float32 search.

  Attributes:
    programs: Program [A, ...] (constants are float32 values stored as float64).
    ulp: [A] max float32 kernel ULP error on the final sample (replay included).
    ops, depth: [A] op counts and dependency depths.
    lineage: [A] index into ``seed_names`` of the seed each program descends from.
    seed_names: names of the seeds (external seeds are "front<i>").
    replay: [R] the replay buffer of hard inputs (float32 x for the pipeline target, r for the kernel one).
    generations, evaluated, seconds: as in :class:`kernels.autonumerics.search.SearchResult`.
  """
  programs: Program
  ulp: np.ndarray
  ops: np.ndarray
  depth: np.ndarray
  lineage: np.ndarray
  seed_names: tuple[str, ...]
  replay: np.ndarray
  generations: int
  evaluated: int
  seconds: float


# ------------------------------------------------------------------------------------------------
# Seeds.

def _minimax_exp(degree: int) -> np.ndarray:
  """Weighted-minimax coefficients of e^r on [-ln2/2, ln2/2] with c_0 = c_1 = 1 fixed (lowest first)."""
  from kernels.autonumerics.expf import fit_kernel
  return np.concatenate([[1.0, 1.0], np.asarray(fit_kernel("exp", degree), np.float64)])


def _horner_seed(degree: int, L: int, K: int) -> Program:
  c = _minimax_exp(degree)
  if degree > min(L, K - 1):
    raise ValueError(f"seeds: horner{degree} needs L >= {degree} and K >= {degree + 1}, got L={L}, K={K}")
  b = Builder(L, K)
  cs = [b.const(float(np.float32(v))) for v in c]
  acc = cs[-1]
  for ck in reversed(cs[:-1]):
    acc = b.fma(acc, b.x, ck)
  return b.build(acc)


def _estrin6_seed(L: int, K: int) -> Program:
  """Degree-6 Estrin-like form ``(c0 + c1 r) + s((c2 + c3 r) + s(c4 + c5 r + c6 s))`` with ``s = r·r + z``
  (z = 0 initially; an FMA, so the program has no MUL op): 7 ops, depth 4."""
  if L < 7 or K < 8:
    raise ValueError(f"seeds: estrin6 needs L >= 7 and K >= 8, got L={L}, K={K}")
  c = _minimax_exp(6)
  b = Builder(L, K)
  k = [b.const(float(np.float32(v))) for v in c]
  r2 = b.fma(b.x, b.x, b.const(0.0))
  lo = b.fma(k[1], b.x, k[0])
  mid = b.fma(k[3], b.x, k[2])
  hi = b.fma(k[5], b.x, k[4])
  hi = b.fma(k[6], r2, hi)
  mid = b.fma(hi, r2, mid)
  return b.build(b.fma(mid, r2, lo))


def _identity_seed(L: int, K: int) -> Program:
  z = np.zeros((L,), np.int32)
  return Program(z, z, z, z, np.int32(0), np.ones((K,), np.float64))


_SEEDS: dict[str, Callable[[int, int], Program]] = {
    "identity": _identity_seed,
    "horner5": functools.partial(_horner_seed, 5),
    "horner6": functools.partial(_horner_seed, 6),
    "estrin6": _estrin6_seed,
}


def seed_programs(names: tuple[str, ...], length: int, n_consts: int) -> list[Program]:
  """The named seed programs (see :class:`F32Config`), each ``[L]`` with ``K`` constants."""
  return [compact(_SEEDS[n](length, n_consts)) for n in names]


# ------------------------------------------------------------------------------------------------
# Float32 fitness.

def depth_np(p: Program) -> int:
  """Longest chain of x-dependent live instructions (the program's latency in ops; 0 for constants/x)."""
  ops, a, b, c = (np.asarray(f) for f in p[:4])
  out, K, L = int(p.out), p.n_consts, p.length
  live = np.zeros(K + 1 + L, bool)
  live[out] = True
  for i in reversed(range(L)):
    if live[K + 1 + i]:
      live[a[i]] = True
      live[b[i]] |= ops[i] != OP_SQRT
      live[c[i]] |= ops[i] == OP_FMA
  d = np.full(K + 1 + L, -1)           # -1: does not depend on x
  d[0] = 0
  for i in range(L):
    args = [a[i]] + ([b[i]] if ops[i] != OP_SQRT else []) + ([c[i]] if ops[i] == OP_FMA else [])
    m = max(d[j] for j in args)
    d[K + 1 + i] = m + 1 if m >= 0 else -1
  return int(max(0, d[out])) if live[out] else 0


def sample_r(key: Array, n: int) -> np.ndarray:
  """Float32 sample of [-R_HALF, R_HALF]: n/2 uniform values, n/2 random bit patterns (every binade), both
  ends and ±2^-k (k = 1..30) with 8 neighbours each side, and 0. Returns [M] float32, sorted, unique."""
  k1, k2 = jax.random.split(key)
  h = np.float32(R_HALF)
  u = np.asarray(jax.random.uniform(k1, (n // 2,), jnp.float32, -h, h))
  mag_bits = int(h.view(np.int32))
  bits = np.asarray(jax.random.randint(k2, (n - n // 2,), 0, mag_bits, jnp.int32)).astype(np.uint32)
  sign = (np.arange(bits.size) % 2).astype(np.uint32) << np.uint32(31)
  v = (bits | sign).view(np.float32)
  anchors = np.float32([h, -h] + [s * 2.0 ** -k for k in range(1, 31) for s in (1, -1)])
  steps = np.arange(-8, 9)
  nb = anchors.view(np.int32)[:, None] + steps[None, :]
  x = np.concatenate([u, v, nb.ravel().astype(np.int32).view(np.float32), np.float32([0.0])])
  x = x[np.isfinite(x) & (np.abs(x) <= h)]
  return np.unique(x)


def sample_x(key: Array, n: int) -> np.ndarray:
  """Float32 sample of exp's inputs [EXP_LO, EXP_HI] for the pipeline target: n/2 uniform values, n/4 random
  bit patterns (every binade), n/4 points near the n-switches (k+½)·ln2 (random k, random offsets of up to
  2^-6 relative: the largest |r|), and both range ends. Returns [M] float32, sorted, unique."""
  k1, k2, k3, k4 = jax.random.split(key, 4)
  lo, hi = np.float32(ulp_lib.EXP_LO), np.float32(ulp_lib.EXP_HI)
  u = np.asarray(jax.random.uniform(k1, (n // 2,), jnp.float32, lo, hi))
  nb = n // 4
  mag = np.asarray(jax.random.randint(k2, (nb,), 0, int(np.float32(87.3).view(np.int32)), jnp.int32))
  v = (mag.astype(np.uint32) | ((np.arange(nb) % 2).astype(np.uint32) << np.uint32(31))).view(np.float32)
  k = np.asarray(jax.random.randint(k3, (nb,), -126, 128, jnp.int32)).astype(np.float64)
  off = np.asarray(jax.random.uniform(k4, (nb,), jnp.float64 if jax.config.jax_enable_x64 else jnp.float32,
                                      -2.0 ** -6, 2.0 ** -6)).astype(np.float64)
  w = ((k + 0.5) * math.log(2.0) * (1 + off * 1e-3) + off).astype(np.float32)
  x = np.concatenate([u, v, w, np.float32([lo, hi])])
  x = x[np.isfinite(x) & (x >= lo) & (x <= hi)]
  return np.unique(x)


@jax.jit
def _reduce(x):
  from kernels.autonumerics import expf
  r, t = expf.reduce_exp(x)
  n = jax.lax.bitcast_convert_type(t, jnp.int32) - jax.lax.bitcast_convert_type(jnp.float32(expf.MAGIC), jnp.int32)
  return r, n


def points(v: np.ndarray, target: str) -> tuple[np.ndarray, np.ndarray]:
  """Inputs of the kernel and the values it must approximate, for a target:

  ``"kernel"``: v = r, the reference is e^r; ``"pipeline"``: v = x (exp's input), r = the shipped float32
  reduction of x (:func:`kernels.autonumerics.expf.reduce_exp`) and the reference is ``exp(x)·2^-n``
  (float64; the 2^n scaling is exact), so the kernel's error against it *is* the whole exp's error,
  the rounding of r included.
  Returns (r [N] float32, reference [N] float64).
  """
  v = np.asarray(v, np.float32)
  if target == "kernel":
    return v, np.exp(v.astype(np.float64))
  if target != "pipeline":
    raise ValueError(f"target: expected 'kernel' or 'pipeline', got {target!r}")
  r, n = (np.asarray(a) for a in _reduce(jnp.asarray(v)))
  return r, np.ldexp(np.exp(v.astype(np.float64)), -n.astype(np.int64))


@functools.partial(jax.jit, static_argnames=("ops_set",))
def _ulp_rows(ops, a, b, c, out, consts32, x32, ref, ulp_ref, *, ops_set):
  y = eval_block(ops, a, b, c, out[:, None], consts32, x32[None, :], ops_set)
  err = jnp.abs(y.astype(jnp.float64) - ref[None, :]) / ulp_ref[None, :]
  err = jnp.where(jnp.isfinite(err), err, jnp.inf)
  return jnp.max(err, axis=1), jnp.argmax(err, axis=1)


def kernel_ulp(programs: Program, r: np.ndarray, ops_set: tuple[int, ...] | None = None,
               ref: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
  """Max float32 ULP error of kernels ``p(r) ≈ ref`` (constants rounded to float32) on the float32 inputs r.

  Args:
    programs: Program [P, ...] (any float constants; rounded to float32 here).
    r: [N] float32 inputs.
    ops_set: ops that may occur (static pruning of the evaluator's select chain); None: all.
    ref: [N] float64 values to approximate (default e^r; see :func:`points`).
  Returns:
    (max ULP [P] (inf if non-finite), index of the worst input [P]).
  """
  ops_set = tuple(range(6)) if ops_set is None else tuple(sorted(ops_set))
  r32 = np.asarray(r, np.float32)
  if r32.ndim != 1 or r32.size == 0:
    raise ValueError(f"r: expected a non-empty 1-D array, got shape {r32.shape}")
  p = Program(*(np.asarray(f) for f in programs))
  if p.ops.ndim != 2:
    raise ValueError(f"programs: expected a population [P, L], got ops shape {p.ops.shape}")
  P = p.ops.shape[0]
  c32 = np.asarray(p.consts, np.float64).astype(np.float32)
  pad = (-P) % _CHUNK
  idx = np.concatenate([np.arange(P), np.zeros(pad, np.int64)])
  with jax.enable_x64(True):
    ref = np.exp(r32.astype(np.float64)) if ref is None else np.asarray(ref, np.float64)
    ulp_ref = np.asarray(ulp_lib.ulp_of(jnp.asarray(ref)))
    errs, args = [], []
    for s in range(0, P + pad, _CHUNK):
      j = idx[s:s + _CHUNK]
      e, w = _ulp_rows(*(jnp.asarray(f[j]) for f in (p.ops, p.a, p.b, p.c, p.out)), jnp.asarray(c32[j]),
                       jnp.asarray(r32), jnp.asarray(ref), jnp.asarray(ulp_ref), ops_set=ops_set)
      errs.append(np.asarray(e))
      args.append(np.asarray(w))
  e = np.concatenate(errs)[:P]
  return np.where(np.isnan(e), np.inf, e), np.concatenate(args)[:P]


def _ulp_move(v: np.ndarray, k: int) -> np.ndarray:
  """float32 values v moved by k ULPs (through their bit patterns; the sign handled)."""
  v32 = np.asarray(v, np.float32)
  i = v32.view(np.int32).astype(np.int64)
  mag = np.where(i < 0, -(i & 0x7FFFFFFF), i) + k          # ordered integer line
  out = np.where(mag < 0, (-mag) | 0x80000000, mag).astype(np.uint32).view(np.float32)
  return out


def coordinate_search(programs: Program, r: np.ndarray, steps: tuple[int, ...] = (1, 2, 4, 16), rounds: int = 3,
                      ops_set: tuple[int, ...] | None = None, score: Callable | None = None,
                      ref: np.ndarray | None = None) -> tuple[Program, np.ndarray]:
  """Greedy ±k-ULP coordinate search over each program's live float32 constants.

  Every round evaluates, for each program, all moves "constant j by ±k float32 ULPs" (j live, k in
  ``steps``) in one batch and keeps the best move if it lowers the max ULP error on r.

  Args:
    programs: [P, ...]; r: [N] float32 inputs (``ref``: their reference values, default e^r); score: optional ``(programs [Q, ...]) -> max ULP [Q]``
      replacing :func:`kernel_ulp` on r (used with the whole float32 pipeline).
  Returns:
    (the programs with float32 constants (stored as float64), their max ULP [P]).
  """
  p = Program(*(np.asarray(f) for f in programs))
  score = score or (lambda q: kernel_ulp(q, r, ops_set, ref)[0])
  K = p.n_consts
  consts = np.asarray(p.consts, np.float64).astype(np.float32)
  cur = score(p._replace(consts=consts.astype(np.float64)))
  from kernels.autonumerics.search import live_slots
  P = p.ops.shape[0]
  live = np.stack([live_slots(p.ops[i], p.a[i], p.b[i], p.c[i], int(p.out[i]), K)[1:K + 1] for i in range(P)])
  moves = [(j, s * k) for j in range(K) for k in steps for s in (1, -1)]
  for _ in range(rounds):
    cand, owner = [], []
    for i in range(P):
      for j, d in moves:
        if live[i, j]:
          c = consts[i].copy()
          c[j] = _ulp_move(c[j:j + 1], d)[0]
          cand.append(c)
          owner.append(i)
    if not cand:
      break
    owner = np.asarray(owner)
    q = Program(*(f[owner] for f in p[:5]), np.stack(cand).astype(np.float64))
    e = score(q)
    improved = False
    for i in range(P):
      m = np.flatnonzero(owner == i)
      if m.size == 0:
        continue
      j = m[np.argmin(e[m])]
      if e[j] < cur[i]:
        consts[i], cur[i] = np.stack(cand)[j], e[j]
        improved = True
    if not improved:
      break
  return p._replace(consts=consts.astype(np.float64)), cur


# ------------------------------------------------------------------------------------------------
# The loop.

def _save(path, arch, err, ops, depth, lineage, names, replay, gen, evaluated, cfg):
  tmp = path + ".tmp.npz"
  np.savez(tmp, ops=arch.ops, a=arch.a, b=arch.b, c=arch.c, out=arch.out, consts=arch.consts, err=err,
           op_counts=ops, depth=depth, lineage=lineage, seed_names=np.array(names), replay=replay,
           generation=gen, evaluated=evaluated, length=cfg.length, n_consts=cfg.n_consts, seed=cfg.seed)
  os.replace(tmp, path)


def _load(path, cfg):
  z = np.load(path)
  if int(z["length"]) != cfg.length or int(z["n_consts"]) != cfg.n_consts or int(z["seed"]) != cfg.seed:
    raise ValueError(f"checkpoint {path}: expected length={cfg.length}, n_consts={cfg.n_consts}, "
                     f"seed={cfg.seed}; got {int(z['length'])}, {int(z['n_consts'])}, {int(z['seed'])}")
  arch = Program(z["ops"], z["a"], z["b"], z["c"], z["out"], z["consts"])
  return (arch, z["err"], z["op_counts"], z["depth"], z["lineage"], tuple(str(s) for s in z["seed_names"]),
          z["replay"], int(z["generation"]), int(z["evaluated"]))


def _cat(*ps: Program) -> Program:
  return Program(*(np.concatenate([np.asarray(p[f]) for p in ps]) for f in range(6)))


def run_search_f32(cfg: F32Config, checkpoint: str | None = None, extra_seeds: list[Program] | None = None,
                   log: Callable[[str], None] | None = None) -> F32Result:
  """Runs (or resumes from ``checkpoint``) the float32 kernel search; see the module docstring.

  Args:
    cfg: settings.
    checkpoint: ``.npz`` path written after every generation and resumed from when it exists.
    extra_seeds: more seed programs (e.g. a real-track front; structure kept, constants re-fitted),
      each with ``cfg.length`` slots and ``cfg.n_consts`` constants.
  """
  cfg.validate()
  L, K = cfg.length, cfg.n_consts
  ops_set = tuple(sorted(set(cfg.ops) | {OP_FMA, OP_ADD}))   # the seeds use FMA (and dead ADDs)
  h = R_HALF
  x = -np.cos(np.pi * np.arange(cfg.n_train) / (cfg.n_train - 1)) * h
  target = np.exp(x.astype(np.longdouble)).astype(np.float64)
  probe = np.array([-0.3, -0.1234567, 0.05, 0.2345678, 0.34])
  base = (sample_x if cfg.target == "pipeline" else sample_r)(jax.random.PRNGKey(cfg.seed), cfg.n_sample)

  def score(progs: Program, v: np.ndarray):
    r, ref = points(v, cfg.target)
    return kernel_ulp(progs, r, ops_set, ref)
  t0 = time.perf_counter()

  def fit(kp: Program) -> Program:
    with jax.enable_x64(True):
      jk = jax.tree_util.tree_map(jnp.asarray, kp._replace(consts=np.asarray(kp.consts, np.float64)))
      consts, _ = fit_constants(jk, jnp.asarray(x), jnp.asarray(target), steps=cfg.lm_steps, ops_set=ops_set)
      consts = np.array(consts)
    bad = ~np.all(np.isfinite(consts), axis=1)
    consts[bad] = np.asarray(kp.consts, np.float64)[bad]
    return kp._replace(consts=consts.astype(np.float32).astype(np.float64))

  def fingerprint_of(progs: Program) -> np.ndarray:
    with jax.enable_x64(True):
      return fingerprint(progs, jnp.asarray(probe), ops_set)

  if checkpoint and os.path.exists(checkpoint):
    arch, err, ops, depth, lineage, names, replay, gen, evaluated = _load(checkpoint, cfg)
    if log:
      log(f"resumed from {checkpoint} at generation {gen} ({len(err)} elites)")
  else:
    seeds = seed_programs(cfg.seeds, L, K) + [compact(p) for p in (extra_seeds or [])]
    names = tuple(cfg.seeds) + tuple(f"front{i}" for i in range(len(extra_seeds or [])))
    sp = Program(*(np.stack([np.asarray(p[f]) for p in seeds]) for f in range(6)))
    sp = fit(sp) if extra_seeds else sp._replace(consts=np.asarray(sp.consts, np.float64).astype(
        np.float32).astype(np.float64))
    if extra_seeds:     # the built-in seeds keep their minimax constants (rounded); only the others are fitted
      keep = np.arange(len(seeds)) < len(cfg.seeds)
      built = seed_programs(cfg.seeds, L, K)
      bc = np.stack([np.asarray(p.consts, np.float64) for p in built]).astype(np.float32).astype(np.float64)
      sp = sp._replace(consts=np.where(keep[:, None], np.concatenate([bc, sp.consts[len(built):]]), sp.consts))
    arch, lineage = sp, np.arange(len(seeds))
    err = score(arch, base)[0]
    ops = op_count_np(arch).astype(np.int64).reshape(-1)
    depth = np.array([depth_np(Program(*(f[i] for f in arch))) for i in range(len(err))])
    replay, gen, evaluated = np.zeros((0,), np.float32), 0, 0
  while gen < cfg.generations:
    if cfg.time_budget_s is not None and time.perf_counter() - t0 > cfg.time_budget_s:
      break
    rng = np.random.default_rng([cfg.seed, gen, 32])
    niches = np.unique(ops)
    kids, klin = [], []
    for _ in range(cfg.pop):
      oc = niches[rng.integers(len(niches))]
      members = np.flatnonzero(ops == oc)
      j = int(members[rng.integers(len(members))])
      parent = Program(*(np.asarray(f)[j] for f in arch))
      if rng.random() < cfg.clone_rate:
        child = compact(parent)
      else:
        child = mutate(parent, rng, cfg.ops)
        if rng.random() < 0.3:
          child = mutate(child, rng, cfg.ops)
      kids.append(child)
      klin.append(int(lineage[j]))
    kp = Program(*(np.stack([np.asarray(k[f]) for k in kids]) for f in range(6)))
    kp = fit(kp._replace(consts=np.asarray(kp.consts, np.float64)))
    sample = np.unique(np.concatenate([base, replay]))
    kerr, kworst = score(kp, sample)
    if cfg.refine_top:
      top = np.argsort(kerr)[:cfg.refine_top]
      top = top[np.isfinite(kerr[top])]
      if top.size:
        sr, sref = points(sample, cfg.target)
        rp, re = coordinate_search(Program(*(f[top] for f in kp)), sr, cfg.refine_steps, rounds=2,
                                   ops_set=ops_set, ref=sref)
        consts = np.array(kp.consts)
        consts[top] = rp.consts
        kp = kp._replace(consts=consts)
        kerr = kerr.copy()
        kerr[top] = re
    # re-score the archive on the current sample (the replay buffer grows) and merge
    aerr, aworst = score(arch, sample)
    replay = np.unique(np.concatenate([replay, sample[kworst[np.isfinite(kerr)]], sample[aworst]]))
    if replay.size > cfg.n_replay:
      replay = np.sort(np.random.default_rng([cfg.seed, gen, 33]).choice(replay, cfg.n_replay, replace=False))
    kops = op_count_np(kp).astype(np.int64).reshape(-1)
    kdep = np.array([depth_np(Program(*(f[i] for f in kp))) for i in range(cfg.pop)])
    allp = _cat(arch, kp)
    allerr = np.concatenate([aerr, kerr])
    allops, alldep = np.concatenate([ops, kops]), np.concatenate([depth, kdep])
    alllin = np.concatenate([lineage, np.asarray(klin)])
    key = allops * 64 + alldep
    fp = fingerprint_of(allp)
    arch, err, _, order = select_archive(allp, allerr, key, fp, cfg.elites, return_index=True)
    ops, depth, lineage = allops[order], alldep[order], alllin[order]
    gen += 1
    evaluated += cfg.pop
    if checkpoint:
      _save(checkpoint, arch, err, ops, depth, lineage, names, replay, gen, evaluated, cfg)
    if log and (gen % 5 == 0 or gen == cfg.generations):
      best = {}
      for o in np.unique(ops):
        m = ops == o
        best[int(o)] = float(err[m].min())
      log(f"gen {gen}: {evaluated} evaluated, {time.perf_counter() - t0:.0f} s, replay {replay.size}; "
          "best max ULP by ops: " + " ".join(f"{o}:{e:.3g}" for o, e in best.items() if 1 <= o <= L))
  return F32Result(arch, err, ops, depth, lineage, names, replay, gen, evaluated, time.perf_counter() - t0)


def front_f32(result: F32Result) -> dict[int, tuple[float, int, str, Program]]:
  """Best program per op count >= 1: ``{ops: (max kernel ULP, depth, seed name, program)}``."""
  out = {}
  for o in np.unique(result.ops):
    if o < 1:
      continue
    idx = np.flatnonzero(result.ops == o)
    j = int(idx[np.argmin(result.ulp[idx])])
    out[int(o)] = (float(result.ulp[j]), int(result.depth[j]), result.seed_names[int(result.lineage[j])],
                   Program(*(np.asarray(f)[j] for f in result.programs)))
  return out


# ------------------------------------------------------------------------------------------------
# The real float32 program: straight-line jnp inside the whole exp pipeline.

def compile_kernel(p: Program) -> Callable[[Array, Array], Array]:
  """Straight-line jnp code of one program: ``kernel(r, consts) -> p(r)`` in r's dtype.

  Only live instructions are emitted, in order, as plain jnp arithmetic (FMA as ``u * v + w``), so XLA
  fuses and contracts them exactly as it does the shipped code in :mod:`kernels.autonumerics.expf`.
  ``consts``: [K] (traced: one compile serves every constant vector of this structure).
  """
  q = compact(Program(*(np.asarray(f) for f in p)))
  ops, a, b, c = (np.asarray(f) for f in q[:4])
  out, K, L = int(q.out), q.n_consts, q.length
  from kernels.autonumerics.search import live_slots
  live = live_slots(ops, a, b, c, out, K)
  code = [(int(ops[i]), int(a[i]), int(b[i]), int(c[i])) for i in range(L) if live[K + 1 + i]]

  def kernel(r: Array, consts: Array) -> Array:
    regs = [r] + [consts[k].astype(r.dtype) for k in range(K)]
    for op, i, j, k in code:
      u, v, w = regs[i], regs[j], regs[k]
      regs.append({OP_ADD: lambda: u + v, OP_SUB: lambda: u - v, OP_MUL: lambda: u * v, OP_DIV: lambda: u / v,
                   OP_FMA: lambda: u * v + w, OP_SQRT: lambda: jnp.sqrt(u)}[op]())
    y = regs[out]
    return jnp.broadcast_to(y, r.shape) if y.shape != r.shape else y
  return kernel


def pipeline_errors(p: Program, x: np.ndarray, consts: np.ndarray | None = None) -> np.ndarray:
  """Per-input ULP errors of the whole float32 exp with kernel ``p`` (``expf.exp_with_kernel``) on x.

  Args:
    p: one program ``[L]``; x: [N] float32; consts: [V, K] constant vectors to try (default: p's own).
  Returns:
    [V, N] float64 ULP errors (``|y - exp(x)| / ulp``, float64 reference).
  """
  from kernels.autonumerics import expf
  kern = compile_kernel(p)
  cs = np.asarray(p.consts if consts is None else consts, np.float64).astype(np.float32).reshape(-1, p.n_consts)
  f = jax.jit(jax.vmap(lambda c, xx: expf.exp_with_kernel(xx, lambda r: kern(r, c)), in_axes=(0, None)))
  xa = np.asarray(x, np.float32)
  step = max(1, (1 << 22) // 16)
  with jax.enable_x64(True):
    cols = []
    for xs in range(0, xa.size, step):
      x32 = jnp.asarray(xa[xs:xs + step])
      ref = jnp.exp(x32.astype(jnp.float64))
      out = []
      for s in range(0, cs.shape[0], 16):
        y = f(jnp.asarray(cs[s:s + 16]), x32)
        out.append(np.asarray(ulp_lib.ulp_errors(y, ref[None, :])))
      cols.append(np.concatenate(out))
  return np.concatenate(cols, axis=1)


def refine_in_pipeline(p: Program, x: np.ndarray, hard: int = 16384, steps: tuple[int, ...] = (1, 2, 4, 8, 32),
                       rounds: int = 4, passes: int = 4, log: Callable[[str], None] | None = None
                       ) -> tuple[Program, float]:
  """Coordinate search (±k float32 ULP per constant) of one kernel against the whole exp's max ULP.

  The objective is evaluated on a hard set: the ``hard`` inputs of x with the largest error under the
  current constants; after each pass the new worst inputs of all of x join it (a replay), up to
  ``passes`` passes. Returns (refined program, max ULP on all of x).
  """
  x = np.asarray(x, np.float32)
  cur = Program(*(np.asarray(f) for f in p))
  e_all = pipeline_errors(cur, x)[0]
  start = float(e_all.max())
  hard_idx = np.zeros((0,), np.int64)
  for _ in range(passes):
    hard_idx = np.unique(np.concatenate([hard_idx, np.argsort(e_all)[-hard:]]))
    if log:
      log(f"  pass: current max {float(e_all.max()):.4f}, hard set {hard_idx.size}")
    xh = x[hard_idx]
    score = lambda q: pipeline_errors(Program(*(np.asarray(f)[0] for f in q[:5]), q.consts[0]), xh,
                                      np.asarray(q.consts)).max(axis=1)
    q, e = coordinate_search(Program(*(np.asarray(f)[None] for f in cur)), xh, steps, rounds=rounds, score=score)
    cand = Program(*(np.asarray(f)[0] for f in q))
    e_new = pipeline_errors(cand, x)[0]
    hard_idx = np.unique(np.concatenate([hard_idx, np.argsort(e_new)[-hard // 4:]]))   # the candidate's worst
    if e_new.max() < e_all.max():
      cur, e_all = cand, e_new
    elif float(e[0]) >= float(e_all.max()) - 1e-12:   # no move helps even on the hard set
      break
  if log:
    log(f"pipeline refinement: {start:.4f} -> {float(e_all.max()):.4f} on {x.size:,} inputs")
  return cur, float(e_all.max())


def switch_sample(seed: int, n: int) -> np.ndarray:
  """n/2 uniform float32 x in [EXP_LO, EXP_HI] and n/2 within ±0.05 of the n-switch points (k+½)·ln2 (the
  largest |r|, where the pipeline's worst errors sit); sorted, unique."""
  k0, k1, k2 = jax.random.split(jax.random.PRNGKey(seed), 3)
  u = jax.random.uniform(k0, (n // 2,), jnp.float32, ulp_lib.EXP_LO, ulp_lib.EXP_HI)
  k = jax.random.randint(k1, (n // 2,), -126, 128).astype(jnp.float32)
  w = (k + 0.5) * jnp.float32(math.log(2)) + jax.random.uniform(k2, (n // 2,), jnp.float32, -0.05, 0.05)
  w = jnp.clip(w, ulp_lib.EXP_LO, ulp_lib.EXP_HI)
  return np.unique(np.concatenate([np.asarray(u), np.asarray(w)]))


def max_ulp_exp(coeffs_or_program, x: np.ndarray) -> tuple[float, float]:
  """(max ULP, worst x) of the whole exp with a kernel (a Program, or Horner coefficients) on x, in chunks."""
  from kernels.autonumerics import expf
  if isinstance(coeffs_or_program, Program):
    kern, c = compile_kernel(coeffs_or_program), jnp.asarray(np.float32(coeffs_or_program.consts))
    f = jax.jit(lambda v: expf.exp_with_kernel(v, lambda r: kern(r, c)))
  else:
    cf = tuple(float(v) for v in coeffs_or_program)
    f = jax.jit(lambda v: expf.shipped_exp(v, cf))
  m, w = -1.0, float("nan")
  with jax.enable_x64(True):
    err = jax.jit(lambda y, v: ulp_lib.ulp_errors(y, jnp.exp(v.astype(jnp.float64))))
    for i in range(0, x.size, 1 << 22):
      v = jnp.asarray(x[i:i + (1 << 22)])
      e = err(f(v), v)
      j = int(jnp.argmax(e))
      if float(e[j]) > m:
        m, w = float(e[j]), float(v[j])
  return m, w


# The command line: (flag, default, help); absl flags defined only when this module runs as a program.
_FLAGS = (
    ("seed", 0, "search seed"),
    ("budget_s", 0.0, "wall-time limit of the search (0: none)"),
    ("generations", 99, "generations"),
    ("pop", 128, "population"),
    ("n_sample", 12288, "x sample of the search fitness"),
    ("n_replay", 1024, "replayed hard inputs"),
    ("out", "results/autonumerics_f32", "output directory (checkpoint, finalists JSON)"),
    ("front_ckpt", "", "real-track .npz checkpoint whose programs also seed"),
    ("finalists", 3, "best programs of the cheapest op counts refined"),
    ("accept", 1.5, "finalists need a search fitness below this"),
    ("refine_n", 24_000_000, "x sample of the refinement"),
    ("validate_n", 48_000_000, "independent x sample of the validation"),
    ("threshold", 0.95, "max validation ULP a winner may have"),
)


def _main(args) -> int:
  """The search, then the finalists' constants refined inside the pipeline and validated (see README).

  ``args``: an object with one attribute per entry of ``_FLAGS``."""
  import json

  from kernels.autonumerics import expf
  from kernels.autonumerics.program import format_program
  os.makedirs(args.out, exist_ok=True)
  cfg = F32Config(pop=args.pop, generations=args.generations, time_budget_s=args.budget_s or None,
                  seed=args.seed, n_sample=args.n_sample, n_replay=args.n_replay)
  extra = []
  if args.front_ckpt:
    z = np.load(args.front_ckpt)
    for i in range(len(z["err"])):
      pr = Program(z["ops"][i], z["a"][i], z["b"][i], z["c"][i], z["out"][i], z["consts"][i])
      if pr.length <= cfg.length and pr.n_consts <= cfg.n_consts:
        pad, dk = cfg.length - pr.length, cfg.n_consts - pr.n_consts
        sh = lambda v: np.where(v >= 1, v + dk, v)         # constants move up by dk registers
        extra.append(compact(Program(np.pad(pr.ops, (0, pad)), np.pad(sh(pr.a), (0, pad)), np.pad(sh(pr.b), (0, pad)),
                                     np.pad(sh(pr.c), (0, pad)), sh(pr.out),
                                     np.concatenate([np.ones(dk), pr.consts]))))
  res = run_search_f32(cfg, os.path.join(args.out, f"search_f32_seed{args.seed}.npz"), extra or None, log=print)
  print(f"search: {res.generations} generations, {res.evaluated} programs, {res.seconds:.0f} s")
  for o, (e, d, sn, _) in sorted(front_f32(res).items()):
    print(f"  front: {o} ops, depth {d}, max ULP {e:.4f} on the search sample, from seed {sn}")
  # finalists: the best programs of the cheapest op count whose search fitness is below --accept
  ok = [o for o in sorted(set(int(v) for v in res.ops)) if o >= 1 and res.ulp[res.ops == o].min() < args.accept]
  if not ok:
    print("no program below --accept")
    return 1
  o = ok[0]
  idx = np.flatnonzero(res.ops == o)
  idx = idx[np.argsort(res.ulp[idx], kind="stable")][:args.finalists]
  xr = switch_sample(args.seed + 200, args.refine_n)
  xv = switch_sample(args.seed + 300, args.validate_n)
  rows = []
  for j in idx:
    pj = Program(*(np.asarray(f)[j] for f in res.programs))
    best, m = refine_in_pipeline(pj, xr, hard=32768, passes=6, log=print)
    mv, wv = max_ulp_exp(best, xv)
    rows.append({"ops": o, "depth": int(res.depth[j]), "seed": res.seed_names[int(res.lineage[j])],
                 "search_ulp": float(res.ulp[j]), "refined_ulp": m, "validation_ulp": mv, "validation_worst_x": wv,
                 "consts": [float(v) for v in best.consts], "program": format_program(best)})
    print(json.dumps(rows[-1], indent=1))
  base = max_ulp_exp(expf.EXP_COEFFS6, xv)
  print(f"baseline (fitted Horner-6, EXP_COEFFS6) on the validation sample: {base[0]:.4f} at x = {base[1]!r}")
  good = [r for r in rows if r["validation_ulp"] < args.threshold]
  winner = min(good, key=lambda r: r["validation_ulp"]) if good else None
  with open(os.path.join(args.out, f"finalists_seed{args.seed}.json"), "w", encoding="utf-8") as f:
    json.dump({"generations": res.generations, "evaluated": res.evaluated, "seconds": res.seconds,
               "finalists": rows, "baseline_validation_ulp": base[0], "winner": winner}, f, indent=1)
  if winner:
    print("winner:\n" + winner["program"])
  return 0


def _cli() -> None:
  from absl import app, flags
  for name, default, help_ in _FLAGS:
    define = {int: flags.DEFINE_integer, float: flags.DEFINE_float, str: flags.DEFINE_string}[type(default)]
    define(name, default, help_)
  app.run(lambda argv: sys.exit(_main(flags.FLAGS)))


if __name__ == "__main__":
  _cli()
