"""Multi-objective evolutionary search for 2^x on (0, 1]: accuracy vs op count.

Real, Chen, Ross-Knoop, ... Le. "AutoNumerics-Zero: Automated Discovery of State-of-the-Art
Mathematical Functions". arXiv:2312.08472.

The loop (host side for the discrete parts, jitted and vmapped for the numerics):

1. **Selection** — an elite archive per op count (the notes' §5.4 alternative to NSGA-II): for each
   op count 0..L the ``elites`` programs with the smallest training error. Parents are drawn by picking
   a non-empty op count uniformly, then an elite uniformly.
2. **Mutation** (:func:`mutate`, the paper's operators on the SSA form): *insert* (splice a new
   instruction into a random edge, its other operand x or a constant), *remove* (bypass an instruction
   by one of its operands), *rewire* (one operand to a random earlier register), *op change*, and
   *constant re-draw* (±10^U(-3, 3)); weights :data:`MUTATION_WEIGHTS`; a fraction ``clone_rate`` of
   children are unmutated clones (re-fitted from their inherited constants, as the paper's identity rate).
   The paper starts from f = x; so does the search.
3. **Constant fitting** (:func:`fit_constants`): Levenberg–Marquardt on the relative residuals
   ``f(x_j)/2^{x_j} - 1`` with forward-mode Jacobians (``jacfwd``, K tangents), Lawson reweighting
   ``w_j ∝ w_j |r_j|`` toward the minimax solution, the best iterate by *maximum* error kept; vmapped
   over the population (the paper uses CMA-ES on the max error; LM is a CPU-friendly substitute).
   Constants are inherited from the parent (Lamarckian).
4. **Evaluation**: max relative error on the training points (Chebyshev–Lobatto, x = 0 replaced by
   2^-30), op count :func:`kernels.autonumerics.program.op_count`, non-finite -> +inf.
5. **Dedup**: programs with the same op count and the same outputs on probe points (rounded to 10
   significant digits) are functionally identical; one is kept.
6. **Checkpoint**: the archive, generation counter and counts go to an ``.npz`` after every generation;
   :func:`run_search` with the same ``checkpoint`` path resumes (per-generation RNG derived from
   ``(seed, generation)``, so a resumed run equals an uninterrupted one).
"""
from __future__ import annotations

import dataclasses
import functools
import os
import time
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from kernels.autonumerics.program import (OP_ADD, OP_DIV, OP_FMA, OP_MUL, OP_SQRT, OP_SUB, Program,
                                          op_count)
from kernels.autonumerics.xla import eval_one, eval_one_gather

Array = jax.Array

__all__ = ["SearchConfig", "SearchResult", "run_search", "mutate", "compact", "fit_constants",
           "train_points", "front", "MUTATION_WEIGHTS"]

# insert, remove, rewire, op change, constant re-draw (the paper: insert 1, remove 2, rewire 3, re-ID 3).
MUTATION_WEIGHTS = (1.0, 2.0, 3.0, 1.5, 3.0)


@dataclasses.dataclass(frozen=True)
class SearchConfig:
  """Search settings.

  Attributes:
    length, n_consts: L instruction slots and K constants per program.
    pop: children per generation.
    generations: stop after this many generations (in total, counting resumed ones).
    time_budget_s: or after this much wall time in this call (None: no limit).
    elites: archive size per op count.
    lm_steps: Levenberg–Marquardt steps per child.
    n_train: Chebyshev–Lobatto training points on [0, 1].
    ops: op codes mutations may use.
    clone_rate: fraction of unmutated (re-fitted) children.
    seed: RNG seed.
  """
  length: int = 12
  n_consts: int = 6
  pop: int = 256
  generations: int = 100
  time_budget_s: float | None = None
  elites: int = 16
  lm_steps: int = 20
  n_train: int = 129
  ops: tuple[int, ...] = (OP_ADD, OP_SUB, OP_MUL, OP_DIV)
  clone_rate: float = 0.25
  seed: int = 0

  def validate(self) -> "SearchConfig":
    for name in ("length", "n_consts", "pop", "elites", "lm_steps", "n_train"):
      v = getattr(self, name)
      if not isinstance(v, int) or v < 1:
        raise ValueError(f"SearchConfig.{name}: expected a positive int, got {v!r}")
    if self.generations < 0:
      raise ValueError(f"SearchConfig.generations: expected >= 0, got {self.generations}")
    if not self.ops or any(o not in (OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_FMA, OP_SQRT) for o in self.ops):
      raise ValueError(f"SearchConfig.ops: expected a non-empty subset of 0..5, got {self.ops}")
    if not 0.0 <= self.clone_rate < 1.0:
      raise ValueError(f"SearchConfig.clone_rate: expected in [0, 1), got {self.clone_rate}")
    return self


class SearchResult(NamedTuple):
  """The archive after the search.

  Attributes:
    programs: Program with fields [A, ...] (the archive, float64 constants).
    train_err: [A] max relative error on the training points.
    ops: [A] op counts.
    generations: generations run in total; evaluated: children evaluated in total; seconds: this call.
  """
  programs: Program
  train_err: np.ndarray
  ops: np.ndarray
  generations: int
  evaluated: int
  seconds: float


def train_points(n: int) -> np.ndarray:
  """[n] Chebyshev–Lobatto points on [0, 1], x = 0 replaced by 2^-30 (programs may divide by x)."""
  x = (1 - np.cos(np.pi * np.arange(n) / (n - 1))) / 2
  x[0] = 2.0 ** -30
  return x


# ------------------------------------------------------------------------------------------------
# Host-side program surgery (numpy, one program at a time).

def _operands(op: int) -> tuple[bool, bool, bool]:
  return True, op != OP_SQRT, op == OP_FMA


def live_slots(ops, a, b, c, out, K):
  L = len(ops)
  live = np.zeros(K + 1 + L, bool)
  live[out] = True
  for i in reversed(range(L)):
    if live[K + 1 + i]:
      ua, ub, uc = _operands(ops[i])
      live[a[i]] = True
      live[b[i]] |= ub
      live[c[i]] |= uc
  return live


def compact(p: Program) -> Program:
  """Moves the live instructions to the front (order kept) and fills the rest with dead ``add(x, x)``."""
  ops, a, b, c = (np.array(f) for f in p[:4])
  out, consts = int(p.out), np.array(p.consts)
  K, L = len(consts), len(ops)
  live = live_slots(ops, a, b, c, out, K)
  keep = [i for i in range(L) if live[K + 1 + i]]
  remap = np.arange(K + 1 + L)
  for new, old in enumerate(keep):
    remap[K + 1 + old] = K + 1 + new
  n_ops, n_a, n_b, n_c = (np.zeros(L, np.int32) for _ in range(4))
  for new, old in enumerate(keep):
    n_ops[new], n_a[new], n_b[new], n_c[new] = ops[old], remap[a[old]], remap[b[old]], remap[c[old]]
    if not _operands(ops[old])[1]:
      n_b[new] = 0
    if not _operands(ops[old])[2]:
      n_c[new] = 0
  return Program(n_ops, n_a, n_b, n_c, np.int32(remap[out]), consts)


def _random_const(rng: np.random.Generator) -> float:
  return float(rng.choice([-1.0, 1.0]) * 10.0 ** rng.uniform(-3, 3))


def mutate(p: Program, rng: np.random.Generator, ops_set: tuple[int, ...],
           weights: tuple[float, ...] = MUTATION_WEIGHTS, tries: int = 8) -> Program:
  """One random mutation (insert / remove / rewire / op change / constant re-draw) of a single program.

  The result is compacted and valid (DAG condition kept). A mutation that is impossible (insert into a
  full program, remove from an empty one) is redrawn, up to ``tries`` times; then the parent is returned.
  """
  p = compact(p)
  K, L = p.n_consts, p.length
  w = np.asarray(weights, np.float64)
  for _ in range(tries):
    ops, a, b, c = (np.array(f) for f in p[:4])
    out, consts = int(p.out), np.array(p.consts)
    live = live_slots(ops, a, b, c, out, K)
    n = int(sum(live[K + 1:]))
    kind = rng.choice(5, p=w / w.sum())
    if kind == 0:                                    # insert: splice into a random edge
      if n >= L:
        continue
      j = int(rng.integers(0, n + 1))                # consumer: instruction j < n, or the output (j = n)
      if j < n:
        slots = [s for s, u in zip("abc", _operands(ops[j])) if u]
        slot = slots[rng.integers(len(slots))]
        src = int({"a": a, "b": b, "c": c}[slot][j])
      else:
        src = out
      # shift instructions j..n-1 up by one; registers >= K+1+j move up
      shift = lambda r: r + 1 if r >= K + 1 + j else r
      for arr in (a, b, c):
        arr[:] = [shift(int(r)) for r in arr]
      ops[j + 1:n + 1], a[j + 1:n + 1], b[j + 1:n + 1], c[j + 1:n + 1] = (
          ops[j:n].copy(), a[j:n].copy(), b[j:n].copy(), c[j:n].copy())
      out = shift(out)
      new_op = int(rng.choice(ops_set))
      if rng.random() < 0.5:
        k = int(rng.integers(1, K + 1))
        if not live[k]:
          consts[k - 1] = _random_const(rng)
        other = k
      else:
        other = int(rng.integers(0, K + 1 + j))
      first, second = (src, other) if rng.random() < 0.5 else (other, src)
      third = int(rng.integers(0, K + 1 + j))
      ops[j], a[j], b[j], c[j] = new_op, first, second, third
      if new_op == OP_SQRT:
        a[j], b[j] = src, 0
      new_reg = K + 1 + j
      if j < n + 1 and j < n:                       # consumer moved to j+1
        {"a": a, "b": b, "c": c}[slot][j + 1] = new_reg
      else:
        out = new_reg
    elif kind == 1:                                  # remove: bypass an instruction by one operand
      if n == 0:
        continue
      i = int(rng.integers(0, n))
      ua, ub, uc = _operands(ops[i])
      cands = [int(a[i])] + ([int(b[i])] if ub else []) + ([int(c[i])] if uc else [])
      repl = cands[rng.integers(len(cands))]
      reg = K + 1 + i
      for arr in (a, b, c):
        arr[arr == reg] = repl
      if out == reg:
        out = repl
    elif kind == 2:                                  # rewire one operand (or the output)
      if n == 0:
        continue
      i = int(rng.integers(0, n + 1))
      if i == n:
        out = int(rng.integers(0, K + 1 + n))
      else:
        slots = [s for s, u in zip("abc", _operands(ops[i])) if u]
        {"a": a, "b": b, "c": c}[slots[rng.integers(len(slots))]][i] = int(rng.integers(0, K + 1 + i))
    elif kind == 3:                                  # op change
      if n == 0:
        continue
      i = int(rng.integers(0, n))
      ops[i] = int(rng.choice(ops_set))
      if ops[i] == OP_FMA:
        c[i] = int(rng.integers(0, K + 1 + i))
    else:                                            # re-draw a live constant
      used = [k for k in range(1, K + 1) if live[k]]
      if not used:
        continue
      k = used[rng.integers(len(used))]
      consts[k - 1] = _random_const(rng) if rng.random() < 0.5 else consts[k - 1] * rng.uniform(0.5, 2.0)
    child = compact(Program(ops.astype(np.int32), a.astype(np.int32), b.astype(np.int32),
                            c.astype(np.int32), np.int32(out), consts))
    return child
  return p


# ------------------------------------------------------------------------------------------------
# Constant fitting (jitted, vmapped over the population).

def _fit_one(ops, a, b, c, out, consts, x, target, *, steps, ops_set):
  f = lambda k: eval_one_gather(ops, a, b, c, out, k, x, ops_set) / target - 1.0
  N = x.shape[0]
  K = consts.shape[0]

  def maxerr(r):
    return jnp.where(jnp.all(jnp.isfinite(r)), jnp.max(jnp.abs(r)), jnp.inf)

  def step(carry, _):
    k, lam, w, best_k, best_e = carry
    r = f(k)
    J = jax.jacfwd(f)(k)
    ok = jnp.all(jnp.isfinite(r)) & jnp.all(jnp.isfinite(J))
    r0 = jnp.where(ok, r, 0.0)
    J0 = jnp.where(ok, J, 0.0)
    A = (J0 * w[:, None]).T @ J0
    g = (J0 * w[:, None]).T @ r0
    d = jnp.linalg.solve(A + lam * (jnp.diag(jnp.diag(A)) + 1e-12 * jnp.eye(K)), -g)
    k_new = k + jnp.where(jnp.all(jnp.isfinite(d)), d, 0.0)
    r_new = f(k_new)
    sse = jnp.sum(w * r0 ** 2)
    sse_new = jnp.where(jnp.all(jnp.isfinite(r_new)), jnp.sum(w * r_new ** 2), jnp.inf)
    accept = ok & (sse_new < sse)
    k_next = jnp.where(accept, k_new, k)
    lam = jnp.clip(jnp.where(accept, lam * 0.3, lam * 10.0), 1e-9, 1e9)
    r_next = jnp.where(accept, r_new, r0)
    # Lawson reweighting toward minimax (mixed with uniform so no point is ever dropped)
    w_new = w * jnp.abs(r_next)
    w_new = jnp.where(jnp.sum(w_new) > 0, w_new / jnp.sum(w_new), w)
    w_next = jnp.where(ok, 0.9 * w_new + 0.1 / N, w)
    e_next = jnp.where(accept, maxerr(r_new), maxerr(r))
    better = e_next < best_e
    best_k = jnp.where(better, k_next, best_k)
    best_e = jnp.where(better, e_next, best_e)
    return (k_next, lam, w_next, best_k, best_e), None

  e0 = maxerr(f(consts))
  init = (consts, jnp.asarray(1e-3, consts.dtype), jnp.full((N,), 1.0 / N, consts.dtype), consts, e0)
  (_, _, _, best_k, best_e), _ = jax.lax.scan(step, init, None, length=steps)
  return best_k, best_e


@functools.partial(jax.jit, static_argnames=("steps", "ops_set"))
def fit_constants(programs: Program, x: Array, target: Array, *, steps: int = 20,
                  ops_set: tuple[int, ...] = (OP_ADD, OP_SUB, OP_MUL, OP_DIV)) -> tuple[Array, Array]:
  """Fits every program's constants to ``target`` (relative error), vmapped over the population.

  Args:
    programs: [P, ...] float64 constants (call under ``jax.enable_x64(True)``).
    x, target: [N] training inputs and exact values.
  Returns:
    (consts [P, K] of the best iterate by max error, that max relative error [P]; inf if non-finite).
  """
  fit = functools.partial(_fit_one, steps=steps, ops_set=ops_set)
  return jax.vmap(fit, in_axes=(0, 0, 0, 0, 0, 0, None, None))(
      programs.ops, programs.a, programs.b, programs.c, programs.out, programs.consts, x, target)


@functools.partial(jax.jit, static_argnames=("ops_set",))
def _probe(programs: Program, x: Array, ops_set) -> Array:
  return jax.vmap(lambda p: eval_one_gather(*p, x, ops_set))(programs)


# ------------------------------------------------------------------------------------------------
# The loop.

def _save(path: str, programs: Program, err, ops, generation: int, evaluated: int, cfg: SearchConfig) -> None:
  tmp = path + ".tmp.npz"
  np.savez(tmp, ops=programs.ops, a=programs.a, b=programs.b, c=programs.c, out=programs.out,
           consts=programs.consts, err=err, op_counts=ops, generation=generation, evaluated=evaluated,
           length=cfg.length, n_consts=cfg.n_consts, seed=cfg.seed)
  os.replace(tmp, path)


def _load(path: str, cfg: SearchConfig):
  z = np.load(path)
  if int(z["length"]) != cfg.length or int(z["n_consts"]) != cfg.n_consts or int(z["seed"]) != cfg.seed:
    raise ValueError(f"checkpoint {path}: expected length={cfg.length}, n_consts={cfg.n_consts}, "
                     f"seed={cfg.seed}; got {int(z['length'])}, {int(z['n_consts'])}, {int(z['seed'])}")
  p = Program(z["ops"], z["a"], z["b"], z["c"], z["out"], z["consts"])
  return p, z["err"], z["op_counts"], int(z["generation"]), int(z["evaluated"])


def select_archive(programs: Program, err: np.ndarray, ops: np.ndarray, fp: np.ndarray, elites: int,
                    return_index: bool = False):
  """Dedup by (op count, fingerprint) and keep the best ``elites`` per op count (``ops`` may be any integer
  niche key). ``return_index``: also return the kept row indices (for per-row side data)."""
  order = np.lexsort((err, ops))
  seen, keep, per = set(), [], {}
  for i in order:
    if not np.isfinite(err[i]):
      continue
    key = (int(ops[i]), fp[i].tobytes())
    if key in seen or per.get(int(ops[i]), 0) >= elites:
      continue
    seen.add(key)
    per[int(ops[i])] = per.get(int(ops[i]), 0) + 1
    keep.append(i)
  keep = np.array(keep, np.int64)
  sel = Program(*(np.asarray(f)[keep] for f in programs)), err[keep], ops[keep]
  return (*sel, keep) if return_index else sel


def fingerprint(programs: Program, probe_x, ops_set) -> np.ndarray:
  y = np.asarray(_probe(jax.tree_util.tree_map(jnp.asarray, programs), probe_x, ops_set))
  with np.errstate(all="ignore"):
    mag = np.where(np.isfinite(y) & (y != 0), np.floor(np.log10(np.abs(np.where(y == 0, 1, y)))), 0)
    return np.where(np.isfinite(y), np.round(y / 10.0 ** (mag - 9)), -1).astype(np.int64)


def run_search(cfg: SearchConfig, checkpoint: str | None = None,
               log: Callable[[str], None] | None = None) -> SearchResult:
  """Runs (or resumes) the search for 2^x on (0, 1]; see the module docstring."""
  cfg.validate()
  K, L = cfg.n_consts, cfg.length
  x = train_points(cfg.n_train)
  target = np.exp2(x.astype(np.longdouble)).astype(np.float64)
  probe_x = np.array([0.1234567, 0.5, 0.87654321])
  t0 = time.perf_counter()
  with jax.enable_x64(True):
    xj, tj, pj = jnp.asarray(x), jnp.asarray(target), jnp.asarray(probe_x)
    if checkpoint and os.path.exists(checkpoint):
      arch, err, ops, gen, evaluated = _load(checkpoint, cfg)
      if log:
        log(f"resumed from {checkpoint} at generation {gen} ({len(err)} elites)")
    else:
      ident = Program(np.zeros((1, L), np.int32), np.zeros((1, L), np.int32), np.zeros((1, L), np.int32),
                      np.zeros((1, L), np.int32), np.zeros((1,), np.int32), np.ones((1, K), np.float64))
      err = np.array([float(np.max(np.abs(x / target - 1)))])
      arch, ops, gen, evaluated = ident, np.zeros((1,), np.int64), 0, 0
    while gen < cfg.generations:
      if cfg.time_budget_s is not None and time.perf_counter() - t0 > cfg.time_budget_s:
        break
      rng = np.random.default_rng([cfg.seed, gen])
      counts = np.unique(ops)
      kids = []
      for _ in range(cfg.pop):
        oc = counts[rng.integers(len(counts))]
        members = np.flatnonzero(ops == oc)
        j = int(members[rng.integers(len(members))])
        parent = Program(*(np.asarray(f)[j] for f in arch))
        if rng.random() < cfg.clone_rate:
          kids.append(compact(parent))
        else:
          child = mutate(parent, rng, cfg.ops)
          if rng.random() < 0.3:                     # accumulate a second mutation now and then
            child = mutate(child, rng, cfg.ops)
          kids.append(child)
      kp = Program(*(np.stack([np.asarray(k[f]) for k in kids]) for f in range(6)))
      kp = kp._replace(consts=kp.consts.astype(np.float64))
      jk = jax.tree_util.tree_map(jnp.asarray, kp)
      consts, kerr = fit_constants(jk, xj, tj, steps=cfg.lm_steps, ops_set=cfg.ops)
      kp = kp._replace(consts=np.asarray(consts))
      kerr = np.asarray(kerr)
      kops = np.asarray(op_count(jax.tree_util.tree_map(jnp.asarray, kp))).astype(np.int64)
      allp = Program(*(np.concatenate([np.asarray(f1), np.asarray(f2)]) for f1, f2 in zip(arch, kp)))
      allerr, allops = np.concatenate([err, kerr]), np.concatenate([ops, kops])
      fp = fingerprint(allp, pj, cfg.ops)
      arch, err, ops = select_archive(allp, allerr, allops, fp, cfg.elites)
      gen += 1
      evaluated += cfg.pop
      if checkpoint:
        _save(checkpoint, arch, err, ops, gen, evaluated, cfg)
      if log and (gen % 10 == 0 or gen == cfg.generations):
        best = {int(o): float(err[ops == o].min()) for o in np.unique(ops)}
        log(f"gen {gen}: {evaluated} evaluated, {time.perf_counter() - t0:.0f} s; best by ops: " +
            " ".join(f"{o}:{e:.2g}" for o, e in best.items() if 1 <= o <= L))
  return SearchResult(arch, err, ops, gen, evaluated, time.perf_counter() - t0)


def front(result: SearchResult) -> dict[int, tuple[float, Program]]:
  """Best program per op count >= 1 (by training error): ``{ops: (train error, program)}``."""
  out = {}
  for o in np.unique(result.ops):
    if o < 1:
      continue
    idx = np.flatnonzero(result.ops == o)
    j = int(idx[np.argmin(result.train_err[idx])])
    out[int(o)] = (float(result.train_err[j]), Program(*(np.asarray(f)[j] for f in result.programs)))
  return out
