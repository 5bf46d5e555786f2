"""The toy quantised-training sweep of paper 32 (Sun et al., ICML 2025, arXiv:2501.02423), at CPU scale.

Task: a random teacher ``x ~ N(0, I_d) -> softmax(tanh(x W1) W2 / T)`` over ``C`` classes; the student
``QuantMLP(hidden)`` is trained on fresh samples (one pass, like LM pretraining: D = samples seen) with labels
drawn from the teacher, and evaluated by the exact cross-entropy to the teacher's distribution on a fixed
held-out set (its floor is the teacher's entropy, the law's ε analogue). N = the student's parameter count.

:func:`train_population` trains every (format, seed) member of one (hidden width, block size) in a single
jitted program: the format enters as traced :class:`kernels.fp_quant.FormatParams` (a vmap over formats,
``None`` = FP32) and the seeds as a vmap over initialisations; all members see the same data stream.
:func:`sweep` loops over widths and block sizes and returns one row per (N, D, format, B, seed).
:func:`pair_agreement` and :func:`holdout_fit` are the two analyses the claim reads.
"""
from __future__ import annotations

import dataclasses
import functools
import math
from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from kernels.fp_quant import FormatParams, FPFormat, TARGETS, parse_format, stack_formats
from models.fp_quant_scaling.modules import QuantMLP
from theory.fp_quant_scaling import fit_law, loss as law_loss, r_squared

__all__ = ["Teacher", "make_teacher", "teacher_probs", "sample_batch", "PopulationResult", "train_population",
           "SweepRow", "sweep", "gap_table", "pair_agreement", "holdout_fit", "HoldoutFit"]


class Teacher(NamedTuple):
  w1: jax.Array          # [d, h]
  w2: jax.Array          # [h, C]
  temperature: float


def make_teacher(key: jax.Array, d_in: int, hidden: int, classes: int, temperature: float = 1.0) -> Teacher:
  """A random two-layer tanh teacher (weights N(0, 1/fan_in))."""
  for name, v in (("d_in", d_in), ("hidden", hidden), ("classes", classes)):
    if isinstance(v, bool) or not isinstance(v, int) or v < (2 if name == "classes" else 1):
      raise ValueError(f"make_teacher: {name}: expected an int >= {2 if name == 'classes' else 1}, got {v!r}")
  if not (isinstance(temperature, (int, float)) and temperature > 0 and math.isfinite(temperature)):
    raise ValueError(f"make_teacher: temperature: expected a positive float, got {temperature!r}")
  k1, k2 = jax.random.split(key)
  w1 = jax.random.normal(k1, (d_in, hidden), jnp.float32) / math.sqrt(d_in)
  w2 = jax.random.normal(k2, (hidden, classes), jnp.float32) * (3.0 / math.sqrt(hidden))
  return Teacher(w1, w2, float(temperature))


def teacher_probs(t: Teacher, x: jax.Array) -> jax.Array:
  """``[B, d] -> [B, C]`` class probabilities."""
  if not hasattr(x, "shape") or x.ndim != 2 or x.shape[1] != t.w1.shape[0]:
    raise ValueError(f"teacher_probs: x: expected shape [B, {t.w1.shape[0]}], got {getattr(x, 'shape', type(x))}")
  return jax.nn.softmax(jnp.tanh(x @ t.w1) @ t.w2 / t.temperature, axis=-1)


def sample_batch(t: Teacher, key: jax.Array, batch: int) -> tuple[jax.Array, jax.Array]:
  """Fresh inputs and labels drawn from the teacher: ``(x [B, d], y [B] int32)``."""
  _check_pos_int("batch", batch, "sample_batch")
  kx, ky = jax.random.split(key)
  x = jax.random.normal(kx, (batch, t.w1.shape[0]), jnp.float32)
  y = jax.random.categorical(ky, jnp.log(teacher_probs(t, x)), axis=-1)
  return x, y


class PopulationResult(NamedTuple):
  eval_loss: np.ndarray     # [F, W, S, n_evals] cross-entropy to the teacher on the held-out set
  samples: np.ndarray       # [n_evals] D = samples seen at each evaluation
  n_params: np.ndarray      # [W] parameters of each width
  entropy: float            # the teacher's mean entropy on the held-out set (the loss floor)


@functools.partial(jax.jit, static_argnames=("hidden", "classes", "block", "targets", "backward", "steps",
                                             "batch", "eval_every", "lr"))
def _train(teacher, qparams, masks, init_keys, data_key, x_eval, p_eval, *, hidden, classes, block, targets,
           backward, steps, batch, eval_every, lr):
  model = QuantMLP(hidden=hidden, out=classes, block_size=block, targets=targets, backward=backward, impl="xla")
  d = x_eval.shape[1]
  opt = optax.adam(lr)

  def init(k, mask):        # the masked units' weights are zero: the member is the narrower network
    p = model.init(k, jnp.zeros((1, d), jnp.float32))["params"]
    p["hidden"]["kernel"] = p["hidden"]["kernel"] * mask
    p["hidden"]["bias"] = p["hidden"]["bias"] * mask
    p["head"]["kernel"] = p["head"]["kernel"] * mask[:, None]
    return p

  F, W, S = qparams.man_bits.shape[0], masks.shape[0], init_keys.shape[0]
  # members [F, W, S]: formats, widths (masks), seeds
  params = jax.vmap(lambda m: jax.vmap(lambda k: init(k, m))(init_keys))(masks)
  params = jax.tree.map(lambda a: jnp.broadcast_to(a, (F,) + a.shape), params)
  opt_state = jax.vmap(jax.vmap(jax.vmap(opt.init)))(params)

  def member_loss(p, q, m, x, y):
    logits = model.apply({"params": p}, x, q, m)
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, y))

  def eval_member(p, q, m):
    logp = jax.nn.log_softmax(model.apply({"params": p}, x_eval, q, m), axis=-1)
    return -jnp.mean(jnp.sum(p_eval * logp, axis=-1))

  g1 = jax.vmap(jax.grad(member_loss), in_axes=(0, None, None, None, None))          # seeds
  g2 = jax.vmap(g1, in_axes=(0, None, 0, None, None))                                # widths
  grad_fn = jax.vmap(g2, in_axes=(0, 0, None, None, None))                           # formats
  e1 = jax.vmap(eval_member, in_axes=(0, None, None))
  e2 = jax.vmap(e1, in_axes=(0, None, 0))
  evals = jax.vmap(e2, in_axes=(0, 0, None))
  upd_fn = jax.vmap(jax.vmap(jax.vmap(opt.update)))

  def step(carry, i):
    p, s = carry
    x, y = sample_batch(teacher, jax.random.fold_in(data_key, i), batch)
    g = grad_fn(p, qparams, masks, x, y)
    upd, s = upd_fn(g, s, p)
    return (optax.apply_updates(p, upd), s), None

  def chunk(carry, c):
    carry, _ = jax.lax.scan(step, carry, c * eval_every + jnp.arange(eval_every))
    return carry, evals(carry[0], qparams, masks)

  _, losses = jax.lax.scan(chunk, (params, opt_state), jnp.arange(steps // eval_every))
  return jnp.moveaxis(losses, 0, -1)     # [F, W, S, n_evals]


def _check_pos_int(name, v, fn):
  if isinstance(v, bool) or not isinstance(v, int) or v < 1:
    raise ValueError(f"{fn}: {name}: expected a positive int, got {v!r}")


def train_population(key: jax.Array, teacher: Teacher, widths: Sequence[int], block,
                     formats: Sequence[FPFormat | None], *, seeds: int = 2, steps: int = 400, batch: int = 128,
                     eval_every: int = 50, lr: float = 3e-3, eval_size: int = 2048, targets: tuple = TARGETS,
                     backward: str = "quantized") -> PopulationResult:
  """Trains ``len(formats) × len(widths) × seeds`` students with blocks ``block`` in one program.

  ``formats`` entries are FPFormat / names / None (FP32); ``widths`` are hidden widths (each member is the
  widest network with the extra units masked, see :class:`QuantMLP`). Adam at a constant ``lr`` (no schedule:
  the loss is read every ``eval_every`` steps of one run instead of one run per D). Returns held-out
  cross-entropies ``[F, W, S, n_evals]``.
  """
  fn = "train_population"
  for name, v in (("seeds", seeds), ("steps", steps), ("batch", batch), ("eval_every", eval_every),
                  ("eval_size", eval_size)):
    _check_pos_int(name, v, fn)
  if not widths:
    raise ValueError(f"{fn}: widths: expected a non-empty sequence of positive ints, got {widths!r}")
  for w in widths:
    _check_pos_int("widths", w, fn)
  if steps % eval_every:
    raise ValueError(f"{fn}: eval_every: expected a divisor of steps = {steps}, got {eval_every}")
  if not formats:
    raise ValueError(f"{fn}: formats: expected a non-empty sequence, got {formats!r}")
  fmts = [None if f is None else parse_format(f) for f in formats]
  if not (isinstance(lr, (int, float)) and lr > 0):
    raise ValueError(f"{fn}: lr: expected a positive float, got {lr!r}")
  if block not in ("channel", "tensor") and (isinstance(block, bool) or not isinstance(block, int) or block < 1):
    raise ValueError(f"{fn}: block: expected a positive int, 'channel' or 'tensor', got {block!r}")
  hidden = max(widths)
  masks = jnp.asarray(np.arange(hidden)[None, :] < np.asarray(widths)[:, None], jnp.float32)
  k_init, k_data, k_eval = jax.random.split(key, 3)
  x_eval = jax.random.normal(k_eval, (eval_size, teacher.w1.shape[0]), jnp.float32)
  p_eval = teacher_probs(teacher, x_eval)
  ent = float(-jnp.mean(jnp.sum(p_eval * jnp.log(jnp.maximum(p_eval, 1e-30)), -1)))
  q = jax.tree.map(jnp.asarray, stack_formats(fmts))
  losses = _train(teacher, q, masks, jax.random.split(k_init, seeds), k_data, x_eval, p_eval, hidden=hidden,
                  classes=int(teacher.w2.shape[1]), block=block, targets=tuple(targets), backward=backward,
                  steps=steps, batch=batch, eval_every=eval_every, lr=float(lr))
  d, c = teacher.w1.shape[0], teacher.w2.shape[1]
  n_params = np.array([d * w + w + w * c + c for w in widths])
  samples = batch * eval_every * np.arange(1, steps // eval_every + 1)
  return PopulationResult(np.asarray(losses, np.float64), samples, n_params, ent)


@dataclasses.dataclass(frozen=True)
class SweepRow:
  N: int
  D: int
  fmt: str          # "E4M3" or "FP32"
  E: int
  M: int
  block: str        # "16", "64", "channel", ...
  B_eff: float      # the law's B: the block length, the contraction length for channel; 1 for FP32
  seed: int
  loss: float


def sweep(key: jax.Array, *, d_in: int = 512, teacher_hidden: int = 64, classes: int = 16, temperature: float = 1.0,
          hiddens: Sequence[int] = (16, 32, 64), blocks: Sequence = (16, 64, 256, "channel"),
          formats: Sequence[str] = ("E1M1", "E2M1", "E3M2", "E4M3", "E5M2", "E8M7"), seeds: int = 2,
          steps: int = 400, batch: int = 128, eval_every: int = 50, lr: float = 3e-3, eval_size: int = 2048,
          targets: tuple = TARGETS, backward: str = "quantized", log=lambda s: None) -> tuple[list[SweepRow], float]:
  """The full sweep: one program per block size over (formats + FP32) × widths × seeds.

  Returns ``(rows, entropy)``; FP32 rows are repeated per block program (same seeds and data, so each block's
  gaps are paired with its own FP32 runs) and carry ``block = "fp32"`` in the analyses' eyes via ``fmt``.
  """
  if not blocks or not hiddens or not formats:
    raise ValueError(f"sweep: blocks, hiddens, formats: expected non-empty sequences, got {blocks!r}, {hiddens!r}, "
                     f"{formats!r}")
  teacher = make_teacher(jax.random.fold_in(key, 0), d_in, teacher_hidden, classes, temperature)
  fl = [parse_format(f) for f in formats] + [None]
  rows: list[SweepRow] = []
  ent = float("nan")
  for b in blocks:
    res = train_population(jax.random.fold_in(key, 1), teacher, tuple(hiddens), b, fl, seeds=seeds, steps=steps,
                           batch=batch, eval_every=eval_every, lr=lr, eval_size=eval_size, targets=tuple(targets),
                           backward=backward)
    ent = res.entropy
    beff = float(d_in if b == "channel" else d_in * batch if b == "tensor" else min(int(b), d_in))
    for i, f in enumerate(fl):
      for w in range(len(hiddens)):
        for s in range(seeds):
          for j, D in enumerate(res.samples):
            rows.append(SweepRow(int(res.n_params[w]), int(D), "FP32" if f is None else f.name,
                                 8 if f is None else f.exp_bits, 23 if f is None else f.man_bits, str(b),
                                 1.0 if f is None else beff, s, float(res.eval_loss[i, w, s, j])))
    log(f"block {b}: final loss (mean over widths, seeds) FP32 {res.eval_loss[-1, :, :, -1].mean():.4f} "
        + " ".join(f"{f.name} {res.eval_loss[i, :, :, -1].mean():.4f}" for i, f in enumerate(fl[:-1])))
  return rows, ent


def gap_table(rows: Sequence[SweepRow]) -> dict[tuple, float]:
  """``{(N, D, fmt, block): mean over seeds of L(fmt) - L(FP32)}`` with the FP32 runs of the same program."""
  base = {}
  acc: dict[tuple, list] = {}
  for r in rows:
    if r.fmt == "FP32":
      base[(r.N, r.D, r.block, r.seed)] = r.loss
  for r in rows:
    if r.fmt != "FP32":
      if (r.N, r.D, r.block, r.seed) not in base:
        raise ValueError(f"gap_table: rows: expected an FP32 run for (N, D, block, seed) = "
                         f"{(r.N, r.D, r.block, r.seed)}, got none")
      acc.setdefault((r.N, r.D, r.fmt, r.block), []).append(r.loss - base[(r.N, r.D, r.block, r.seed)])
  return {k: float(np.mean(v)) for k, v in acc.items()}


def _bits(fmt: str) -> tuple[int, int]:
  f = parse_format(fmt)
  return f.exp_bits, f.man_bits


def pair_agreement(gaps: dict[tuple, float], block_order: Sequence[str], tol: float) -> dict[str, float]:
  """Fractions of comparable pairs ordered as the law says (a pair agrees when the worse one's gap is not
  below the better one's by more than ``tol``).

  block pairs: same (N, D, format), consecutive blocks in ``block_order`` (increasing B): gap(larger B) >=
  gap(smaller B) - tol. format pairs: same (N, D, block), format a dominating b (E_a >= E_b, M_a >= M_b, one
  strictly): gap(a) <= gap(b) + tol.
  """
  if not (isinstance(tol, (int, float)) and tol >= 0 and math.isfinite(tol)):
    raise ValueError(f"pair_agreement: tol: expected a finite float >= 0, got {tol!r}")
  blk = [0, 0]
  fmt = [0, 0]
  keys = {(n, d, f, b) for (n, d, f, b) in gaps}
  cells = {(n, d) for (n, d, _, _) in keys}
  fmts = sorted({f for (_, _, f, _) in keys})
  for (n, d) in cells:
    for f in fmts:
      for b1, b2 in zip(block_order, block_order[1:]):
        if (n, d, f, b1) in gaps and (n, d, f, b2) in gaps:
          blk[1] += 1
          blk[0] += gaps[(n, d, f, b2)] >= gaps[(n, d, f, b1)] - tol
    for b in block_order:
      for fa in fmts:
        for fb in fmts:
          (ea, ma), (eb, mb) = _bits(fa), _bits(fb)
          if fa != fb and ea >= eb and ma >= mb and (n, d, fa, b) in gaps and (n, d, fb, b) in gaps:
            fmt[1] += 1
            fmt[0] += gaps[(n, d, fa, b)] <= gaps[(n, d, fb, b)] + tol
  tot = blk[1] + fmt[1]
  return {"block_pairs": blk[1], "block_agree": blk[0] / max(blk[1], 1), "format_pairs": fmt[1],
          "format_agree": fmt[0] / max(fmt[1], 1), "all_pairs": tot, "all_agree": (blk[0] + fmt[0]) / max(tot, 1)}


class HoldoutFit(NamedTuple):
  params: object
  r2_train: float
  r2_holdout: float
  n_train: int
  n_holdout: int
  pred_holdout: np.ndarray
  y_holdout: np.ndarray


def holdout_fit(rows: Sequence[SweepRow], *, holdout: float = 0.2, seed: int = 0, starts: int = 8) -> HoldoutFit:
  """Fits the unified law to the seed-averaged runs (one point per (N, D, format, B)) on a random
  ``1 - holdout`` share and reports R² on the rest."""
  if not (isinstance(holdout, (int, float)) and 0 < holdout < 1):
    raise ValueError(f"holdout_fit: holdout: expected a fraction in (0, 1), got {holdout!r}")
  groups: dict[tuple, list] = {}
  for r in rows:
    groups.setdefault((r.N, r.D, r.E, r.M, r.B_eff), []).append(r.loss)
  keys = sorted(groups)
  X = np.array(keys, np.float64)
  y = np.array([np.mean(groups[k]) for k in keys])
  rng = np.random.default_rng(seed)
  perm = rng.permutation(len(keys))
  nh = max(1, int(round(holdout * len(keys))))
  te, tr = perm[:nh], perm[nh:]
  fit = fit_law(*X[tr].T, y[tr], starts=starts, seed=seed)
  pred = lambda idx: np.asarray(law_loss(*[jnp.asarray(c) for c in X[idx].T], fit.params), np.float64)
  return HoldoutFit(fit.params, r_squared(y[tr], pred(tr)), r_squared(y[te], pred(te)), len(tr), len(te), pred(te),
                    y[te])
