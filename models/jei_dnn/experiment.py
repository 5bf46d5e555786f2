"""JEI-DNN's small-scale experiment: digits with per-sample difficulty, a frozen residual-MLP backbone, warm-up,
the bi-level alternation, the threshold and oracle baselines, and the accuracy / cost / ECE / conformal read-outs.

Every trainer is a jitted ``lax.scan`` over precomputed batch indices (a function of the seed), so a run is
deterministic; the backbone is frozen after :func:`train_backbone`, so its features are computed once and the IMs
and gates train on them (:meth:`JEIDNN.exits`). The claim ``jei_dnn/accuracy_cost`` calls :func:`compare_policies`
once per seed; the train_lib task ``jei_dnn`` trains the same :func:`phase_loss` through ``train_lib`` phases.
"""
from __future__ import annotations

import functools
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from models.jei_dnn import core, metrics
from models.jei_dnn.modules import JEIDNN, resmlp_macs

__all__ = ["backbone_features", "difficulty_digits", "split_indices", "model_costs", "train_backbone", "train_ims", "phase_loss",
           "train_bilevel", "exit_outputs", "budget_auc", "policy_metrics", "compare_policies", "DIFFICULTY_LEVELS",
           "IM_PHASE", "GATE_PHASE"]

DIFFICULTY_LEVELS = (0.0, 0.5, 1.0, 2.0)
IM_PHASE, GATE_PHASE = 0, 1


def difficulty_digits(x, y, seed: int, *, levels: Sequence[float] = DIFFICULTY_LEVELS, mode: str = "noise"):
  """Digits with a per-sample difficulty: each image draws a level uniformly from ``levels``.

  ``mode="noise"`` adds Gaussian pixel noise of sd level x (the pixel sd of the whole set); ``"occlusion"`` zeroes a
  random square of side round(2 level) pixels of the 8 x 8 image. Returns ``(x [n, F] float32, y, level index [n])``.
  """
  x = np.asarray(x, np.float32)
  if x.ndim != 2:
    raise ValueError(f"difficulty_digits: x: expected [n, F] images, got shape {x.shape}")
  if np.asarray(y).shape != (x.shape[0],):
    raise ValueError(f"difficulty_digits: y: expected shape ({x.shape[0]},), got {np.asarray(y).shape}")
  lv = np.asarray(levels, np.float64)
  if lv.ndim != 1 or lv.size == 0 or (lv < 0).any():
    raise ValueError(f"difficulty_digits: levels: expected non-negative noise multipliers, got {levels!r}")
  if mode not in ("noise", "occlusion"):
    raise ValueError(f"difficulty_digits: mode: expected 'noise' or 'occlusion', got {mode!r}")
  rng = np.random.default_rng(seed)
  idx = rng.integers(lv.size, size=x.shape[0])
  if mode == "noise":
    out = x + (lv[idx] * x.std())[:, None] * rng.normal(size=x.shape)
  else:
    side = int(round(np.sqrt(x.shape[1])))
    if side * side != x.shape[1]:
      raise ValueError(f"difficulty_digits: x: occlusion needs square images, got {x.shape[1]} features")
    img = x.reshape(-1, side, side).copy()
    for i, s in enumerate(np.rint(2 * lv[idx]).astype(int)):
      if s > 0:
        s = min(s, side)
        r, c = rng.integers(0, side - s + 1, size=2)
        img[i, r:r + s, c:c + s] = 0.0
    out = img.reshape(x.shape)
  return out.astype(np.float32), np.asarray(y, np.int32), idx.astype(np.int32)


def split_indices(n: int, seed: int, fractions: Sequence[float] = (0.5, 0.15, 0.15, 0.2)) -> dict[str, np.ndarray]:
  """Disjoint random ``train`` / ``val`` / ``cal`` / ``test`` index sets covering ``range(n)``."""
  f = np.asarray(fractions, np.float64)
  if f.shape != (4,) or (f <= 0).any() or abs(f.sum() - 1) > 1e-9:
    raise ValueError(f"split_indices: fractions: expected 4 positive fractions summing to 1, got {fractions!r}")
  perm = np.random.default_rng(seed).permutation(n)
  cut = np.rint(np.cumsum(f)[:-1] * n).astype(int)
  return dict(zip(("train", "val", "cal", "test"), np.split(perm, cut)))


def model_costs(model: JEIDNN, in_features: int) -> jax.Array:
  """C_l of ``model`` (exact multiply-adds with IM and gate overhead, C_L = 1): :func:`core.cumulative_costs`."""
  return core.cumulative_costs(*resmlp_macs(in_features, model.width, model.bottleneck, model.n_blocks,
                                            model.num_exits, model.num_classes))


def _batches(n: int, steps: int, batch: int, seed: int) -> np.ndarray:
  """``[steps, batch]`` indices: epochs of random permutations, concatenated (a function of the seed)."""
  rng = np.random.default_rng(seed)
  per = -(-steps * batch // n) + 1
  return np.concatenate([rng.permutation(n) for _ in range(per)])[:steps * batch].reshape(steps, batch)


def _sgd(lr: float, momentum: float, weight_decay: float) -> optax.GradientTransformation:
  """PyTorch-style SGD (weight decay added to the gradient, then momentum), as the official code uses."""
  return optax.chain(optax.add_decayed_weights(weight_decay), optax.sgd(lr, momentum=momentum or None))


def train_backbone(model: JEIDNN, x, y, *, seed: int, steps: int, batch_size: int = 64, lr: float = 1e-3):
  """Initialises ``model`` and trains its backbone (stem, blocks, final head) with Adam on CE: the "pretrained"
  backbone that JEI-DNN then freezes. Returns the full parameter dict (IMs and gates at their init)."""
  x, y = jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.int32)
  if x.ndim != 2 or y.shape != (x.shape[0],):
    raise ValueError(f"train_backbone: x, y: expected [n, F] and [n], got {x.shape}, {y.shape}")
  params = jax.jit(model.init)(jax.random.PRNGKey(seed), x[:2])["params"]
  tx = optax.adam(lr)
  idx = jnp.asarray(_batches(x.shape[0], steps, batch_size, seed))

  def ce(bp, rows):
    _, logits = model.apply({"params": {**params, "backbone": bp}}, x[rows], method=JEIDNN.features)
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, y[rows]))

  @jax.jit
  def run(bp):
    def body(carry, rows):
      bp, st = carry
      v, g = jax.value_and_grad(ce)(bp, rows)
      u, st = tx.update(g, st, bp)
      return (optax.apply_updates(bp, u), st), v
    (bp, _), losses = jax.lax.scan(body, (bp, tx.init(bp)), idx)
    return bp, losses
  bp, _ = run(params["backbone"])
  return {**params, "backbone": bp}


def backbone_features(model: JEIDNN, params, x):
  """``(feats [n, L, width], final_logits [n, K])`` of the (frozen) backbone, as numpy arrays."""
  fe, fz = _features_fn(model)(params, jnp.asarray(x, jnp.float32))
  return np.asarray(fe), np.asarray(fz)


@functools.lru_cache(maxsize=None)
def _features_fn(model: JEIDNN):
  return jax.jit(lambda p, a: model.apply({"params": p}, a, method=JEIDNN.features))


@functools.lru_cache(maxsize=None)
def _exits_fn(model: JEIDNN):
  return jax.jit(lambda p, f, z: model.apply({"params": p}, f, z, method=JEIDNN.exits))


def exit_outputs(model: JEIDNN, params, feats, final_logits):
  """``(probs [n, L, K], gates [n, L-1])`` of the IMs and gates on precomputed backbone features."""
  out = _exits_fn(model)(params, jnp.asarray(feats), jnp.asarray(final_logits))
  return np.asarray(jax.nn.softmax(out["logits"], -1)), np.asarray(jax.nn.sigmoid(out["gate_logits"]))


def train_ims(model: JEIDNN, params, train: dict, val: dict, *, loss: str = "warmup", seed: int = 0,
              max_epochs: int = 6, batch_size: int = 64, lr: float = 0.01, momentum: float = 0.9,
              weight_decay: float = 5e-4, patience: int = 2):
  """Trains the IMs alone (backbone frozen, gates untouched) with per-IM early stopping.

  Args:
    train, val: ``{"feats": [n, L, D], "final": [n, K], "y": [n]}`` (precomputed backbone outputs).
    loss: ``"warmup"`` (:func:`core.warmup_loss`, CE_final + sum_l (L - l) CE_l: JEI-DNN's warm-up) or ``"equal"``
      (sum_l CE_l: the multi-exit training of the threshold baseline). The final head is the backbone's (frozen),
      so its CE term has no gradient.
    patience: an IM whose validation accuracy has not improved for ``patience`` epochs is frozen (its best
      parameters restored), as in the official ``dynamic_warmup``.
  Returns: ``(params, {"epochs": [L-1] epochs trained per IM, "val_acc": [L-1] best validation accuracy})``.
  """
  if loss not in ("warmup", "equal"):
    raise ValueError(f"train_ims: loss: expected 'warmup' or 'equal', got {loss!r}")
  if not isinstance(patience, int) or patience < 1:
    raise ValueError(f"train_ims: patience: expected a positive int, got {patience!r}")
  n = train["y"].shape[0]
  steps = max(1, n // batch_size)
  tx = _sgd(lr, momentum, weight_decay)
  f, z, y = (jnp.asarray(train[k]) for k in ("feats", "final", "y"))
  L = model.num_exits

  epoch = _ims_epoch(model, float(lr), float(momentum), float(weight_decay))
  w = jnp.asarray(np.append(np.arange(L - 1, 0, -1), 1.0) if loss == "warmup" else np.ones(L), jnp.float32)
  ims = params["ims"]
  st = tx.init(ims)
  best = jax.tree.map(np.asarray, ims)
  best_acc = np.full(L - 1, -1.0)
  bad = np.zeros(L - 1, int)
  epochs = np.zeros(L - 1, int)
  active = np.ones(L - 1, np.float32)
  for e in range(max_epochs):
    if not active.any():
      break
    idx = jnp.asarray(_batches(n, steps, batch_size, seed * 1000 + e))
    ims, st = epoch(ims, st, params, f, z, y, idx, jnp.asarray(active), w)
    epochs += active.astype(int)
    probs, _ = exit_outputs(model, {**params, "ims": ims}, val["feats"], val["final"])
    acc = (probs[:, :-1].argmax(-1) == np.asarray(val["y"])[:, None]).mean(0)
    cur = jax.tree.map(np.asarray, ims)
    for l in np.flatnonzero(active):
      if acc[l] > best_acc[l]:
        best_acc[l], bad[l] = acc[l], 0
        best = jax.tree.map(lambda b, c: _set_row(b, c, l), best, cur)
      else:
        bad[l] += 1
        if bad[l] >= patience:
          active[l] = 0.0
  return {**params, "ims": jax.tree.map(jnp.asarray, best)}, {"epochs": epochs.tolist(), "val_acc": best_acc.tolist()}


@functools.lru_cache(maxsize=None)
def _ims_epoch(model: JEIDNN, lr: float, momentum: float, weight_decay: float):
  """One jitted epoch for both IM losses: mean_b sum_l w_l CE_l with the per-exit weights ``w`` an argument
  (warm-up: w = (L-1, ..., 1, 1), i.e. :func:`core.warmup_loss`; equal: w = 1), so the two share one compile."""
  tx = _sgd(lr, momentum, weight_decay)

  def lossf(ims, params, f, z, y, w):
    logits = model.apply({"params": {**params, "ims": ims}}, f, z, method=JEIDNN.exits)["logits"]
    return jnp.mean(core.cross_entropies(logits, y) @ w)

  @jax.jit
  def epoch(ims, st, params, f, z, y, idx, active, w):
    def body(carry, rows):
      ims, st = carry
      g = jax.grad(lossf)(ims, params, f[rows], z[rows], y[rows], w)
      u, st = tx.update(g, st, ims)
      u = jax.tree.map(lambda a: a * active.reshape((-1,) + (1,) * (a.ndim - 1)), u)
      return (optax.apply_updates(ims, u), st), None
    (ims, st), _ = jax.lax.scan(body, (ims, st), idx)
    return ims, st
  return epoch


def _set_row(b, c, l):
  b = np.array(b)
  b[l] = c[l]
  return b


def phase_loss(model: JEIDNN, params, feats, final_logits, labels, *, phase: int, lam: float, costs,
               val: dict | None = None, official: bool = False):
  """The loss of one bi-level phase, on a batch of backbone features ``feats: [B, L, D]``, ``final_logits: [B, K]``.

  * ``phase = IM_PHASE``: :func:`core.im_loss` with pi from the current (detached) gates; ``official=True`` gives
    :func:`core.official_im_loss` (equal weights).
  * ``phase = GATE_PHASE``: :func:`core.gate_loss` to the cumulative oracle-exit targets of the batch (IM CEs plus
    lam C_l), positive terms weighted by :func:`core.positive_weights` of the oracle exits of ``val``
    (``{"feats", "final", "y"}``, with the current IMs; the batch itself when ``val`` is None).
  Returns ``(loss, metrics)`` where metrics hold the mean expected cost and the gated accuracy of the batch.
  """
  if phase not in (IM_PHASE, GATE_PHASE):
    raise ValueError(f"phase_loss: phase: expected {IM_PHASE} (IMs) or {GATE_PHASE} (gates), got {phase!r}")
  if isinstance(lam, (int, float)) and not lam >= 0:
    raise ValueError(f"phase_loss: lam: expected a trade-off >= 0, got {lam!r}")
  out = model.apply({"params": params}, feats, final_logits, method=JEIDNN.exits)
  gates = jax.nn.sigmoid(out["gate_logits"])
  pi = core.exit_distribution(gates)
  ce = core.cross_entropies(out["logits"], labels)
  ex = core.gated_exit(gates)
  acc = jnp.mean(core.take_exit(out["logits"], ex).argmax(-1) == labels)
  m = {"expected_cost": jnp.mean(core.expected_cost(pi, costs)), "gated_accuracy": acc,
       "gated_cost": jnp.mean(jnp.asarray(costs)[ex])}
  if phase == IM_PHASE:
    value = (core.official_im_loss(out["logits"], labels, gates) if official
             else core.im_loss(out["logits"], labels, pi))
    return value, m
  l_star = core.oracle_exit(jax.lax.stop_gradient(ce), costs, lam)
  if val is None:
    w = core.positive_weights(l_star, model.num_exits)
  else:
    vo = model.apply({"params": params}, val["feats"], val["final"], method=JEIDNN.exits)
    vce = core.cross_entropies(jax.lax.stop_gradient(vo["logits"]), val["y"])
    w = core.positive_weights(core.oracle_exit(vce, costs, lam), model.num_exits)
  return core.gate_loss(out["gate_logits"], core.gate_targets(l_star, model.num_exits), w), m


def train_bilevel(model: JEIDNN, params, train: dict, val: dict, *, lam: float, costs, cycles: int,
                  phase_steps: int, batch_size: int = 64, lr: float = 0.01, momentum: float = 0.9,
                  weight_decay: float = 5e-4, seed: int = 0, official: bool = False):
  """JEI-DNN's alternation: ``cycles`` x (``phase_steps`` IM-phase batches, then ``phase_steps`` gate-phase
  batches) with PyTorch-style SGD; each phase has its own optimizer state, untouched in the other phase (as
  ``train_lib.phase_optimizers``). Returns ``(params, losses [cycles, 2, phase_steps])``."""
  for name, v in (("cycles", cycles), ("phase_steps", phase_steps)):
    if not isinstance(v, int) or v < 1:
      raise ValueError(f"train_bilevel: {name}: expected a positive int, got {v!r}")
  n = train["y"].shape[0]
  f, z, y = (jnp.asarray(train[k]) for k in ("feats", "final", "y"))
  vj = {k: jnp.asarray(v) for k, v in val.items()}
  idx = jnp.asarray(_batches(n, cycles * 2 * phase_steps, batch_size, seed + 7919)).reshape(
      cycles, 2, phase_steps, batch_size)
  run = _bilevel_run(model, float(lr), float(momentum), float(weight_decay), bool(official))
  p, losses = run(params, jnp.float32(lam), jnp.asarray(costs, jnp.float32), f, z, y, vj, idx)
  return p, np.asarray(losses)


@functools.lru_cache(maxsize=None)
def _bilevel_run(model: JEIDNN, lr: float, momentum: float, weight_decay: float, official: bool):
  tx = _sgd(lr, momentum, weight_decay)

  def run_phase(p, st, rows_all, phase, lam, costs, f, z, y, vj):
    which = "ims" if phase == IM_PHASE else "gates"

    def lossf(part, p, rows):
      return phase_loss(model, {**p, which: part}, f[rows], z[rows], y[rows], phase=phase, lam=lam, costs=costs,
                        val=vj, official=official)[0]

    def body(carry, rows):
      p, st = carry
      v, g = jax.value_and_grad(lossf)(p[which], p, rows)
      u, st = tx.update(g, st, p[which])
      return ({**p, which: optax.apply_updates(p[which], u)}, st), v
    return jax.lax.scan(body, (p, st), rows_all)

  @jax.jit
  def run(p, lam, costs, f, z, y, vj, idx):
    def cycle(carry, rows):
      p, s_im, s_g = carry
      (p, s_im), l_im = run_phase(p, s_im, rows[0], IM_PHASE, lam, costs, f, z, y, vj)
      (p, s_g), l_g = run_phase(p, s_g, rows[1], GATE_PHASE, lam, costs, f, z, y, vj)
      return (p, s_im, s_g), jnp.stack([l_im, l_g])
    (p, _, _), losses = jax.lax.scan(cycle, (p, tx.init(p["ims"]), tx.init(p["gates"])), idx)
    return p, losses
  return run


def budget_auc(costs, accuracies, lo: float = 0.3, hi: float = 1.0, n_grid: int = 701) -> float:
  """Mean over budgets c in [lo, hi] of the best accuracy among operating points with cost <= c (0 when none):
  the area under the achievable accuracy-vs-cost curve, divided by (hi - lo)."""
  c = np.asarray(costs, np.float64)
  a = np.asarray(accuracies, np.float64)
  if c.ndim != 1 or c.shape != a.shape or c.size == 0:
    raise ValueError(f"budget_auc: costs, accuracies: expected two vectors of one length, got {c.shape}, {a.shape}")
  if not 0 <= lo < hi:
    raise ValueError(f"budget_auc: lo, hi: expected 0 <= lo < hi, got {lo!r}, {hi!r}")
  grid = np.linspace(lo, hi, n_grid)
  best = np.where(c[None, :] <= grid[:, None] + 1e-12, a[None, :], 0.0).max(1)
  return float(best.mean())


def policy_metrics(probs, exits, labels, costs) -> dict[str, float]:
  """Accuracy, mean cost and ECE (15 equal-mass bins) of the predictions at ``exits`` (numpy)."""
  probs = np.asarray(probs)
  if probs.ndim != 3 or np.asarray(exits).shape != (probs.shape[0],):
    raise ValueError(f"policy_metrics: probs, exits: expected [n, L, K] and [n], got {probs.shape}, "
                     f"{np.asarray(exits).shape}")
  p = probs[np.arange(len(exits)), np.asarray(exits)]
  y = np.asarray(labels)
  correct = (p.argmax(-1) == y).astype(np.float64)
  return {"accuracy": float(correct.mean()), "cost": float(np.asarray(costs)[np.asarray(exits)].mean()),
          "ece": metrics.ece(p.max(-1), correct)}


def _conformal(probs_cal, ex_cal, y_cal, probs_te, ex_te, y_te, alpha):
  sc_all = 1.0 - np.take_along_axis(probs_cal, y_cal[:, None, None].repeat(probs_cal.shape[1], 1), -1)[..., 0]
  sc = sc_all[np.arange(len(ex_cal)), ex_cal]
  q = metrics.per_exit_quantiles(sc, ex_cal, sc_all, alpha)
  sets = metrics.prediction_sets(probs_te[np.arange(len(ex_te)), ex_te], q[ex_te])
  return metrics.set_metrics(sets, y_te)


def compare_policies(x, y, *, seed: int, model: JEIDNN, lams: Sequence[float], thetas: Sequence[float],
                     backbone_steps: int, warmup_epochs: int, cycles: int, phase_steps: int, alpha: float = 0.05,
                     mode: str = "noise", oracle_lams: Sequence[float] | None = None, official: bool = False,
                     lr: float = 0.01, batch_size: int = 64) -> dict[str, Any]:
  """One seed of the comparison: difficulty digits, disjoint splits, a backbone trained then frozen, the threshold
  baseline (equal-weight IMs, theta sweep), JEI-DNN (warm-up then the bi-level alternation, one run per lambda)
  and the oracle exit (argmin CE + lambda C on the equal-weight IMs, labels known).

  For each lambda, the threshold theta whose *calibration-split* cost is closest to JEI's is its matched baseline:
  ECE and per-exit split-conformal coverage / mean set size at ``alpha`` are compared there. Returns plain numbers
  and lists (see the keys).
  """
  if not 0 < alpha < 1:
    raise ValueError(f"compare_policies: alpha: expected a miscoverage level in (0, 1), got {alpha!r}")
  xs, ys, level = difficulty_digits(x, y, seed, mode=mode)
  sp = split_indices(len(xs), seed)
  costs = np.asarray(model_costs(model, xs.shape[1]))
  params = train_backbone(model, xs[sp["train"]], ys[sp["train"]], seed=seed, steps=backbone_steps)
  fe, fz = backbone_features(model, params, xs)   # one pass (one compile) over every split
  data = {k: {"feats": fe[rows], "final": fz[rows], "y": jnp.asarray(ys[rows])} for k, rows in sp.items()}
  y_np = {k: np.asarray(v["y"]) for k, v in data.items()}
  final_acc = float((np.asarray(data["test"]["final"]).argmax(-1) == y_np["test"]).mean())

  # (A) threshold gating on equal-weight IMs
  p_eq, _ = train_ims(model, params, data["train"], data["val"], loss="equal", seed=seed, max_epochs=warmup_epochs,
                      lr=lr, batch_size=batch_size)
  out_eq = {k: exit_outputs(model, p_eq, data[k]["feats"], data[k]["final"])[0] for k in ("cal", "test")}
  thr = []
  for th in thetas:
    ex = {k: np.asarray(core.threshold_exit(out_eq[k], float(th))) for k in ("cal", "test")}
    m = policy_metrics(out_eq["test"], ex["test"], y_np["test"], costs)
    m.update(theta=float(th), cal_cost=float(costs[ex["cal"]].mean()))
    thr.append((m, ex))
  # (C) oracle exit on the same IMs
  ce_te = np.asarray(core.cross_entropies(np.log(np.maximum(out_eq["test"], 1e-30)), data["test"]["y"]))
  oracle = []
  for lam in (oracle_lams if oracle_lams is not None else lams):
    ex = np.asarray(core.oracle_exit(ce_te, costs, float(lam)))
    oracle.append(policy_metrics(out_eq["test"], ex, y_np["test"], costs))
  # (B) JEI-DNN
  p_wu, wu = train_ims(model, params, data["train"], data["val"], loss="warmup", seed=seed, max_epochs=warmup_epochs,
                       lr=lr, batch_size=batch_size)
  jei, matched = [], []
  for lam in lams:
    p_j, _ = train_bilevel(model, p_wu, data["train"], data["val"], lam=float(lam), costs=costs, cycles=cycles,
                           phase_steps=phase_steps, seed=seed, official=official, lr=lr, batch_size=batch_size)
    outs = {k: exit_outputs(model, p_j, data[k]["feats"], data[k]["final"]) for k in ("cal", "test")}
    ex = {k: np.asarray(core.gated_exit(outs[k][1])) for k in outs}
    m = policy_metrics(outs["test"][0], ex["test"], y_np["test"], costs)
    m.update(lam=float(lam), cal_cost=float(costs[ex["cal"]].mean()),
             exit_hist=np.bincount(ex["test"], minlength=model.num_exits).tolist())
    m["coverage"], m["set_size"] = _conformal(outs["cal"][0], ex["cal"], y_np["cal"], outs["test"][0], ex["test"],
                                              y_np["test"], alpha)
    j = int(np.argmin([abs(t[0]["cal_cost"] - m["cal_cost"]) for t in thr]))
    tm, tex = thr[j]
    cov, size = _conformal(out_eq["cal"], tex["cal"], y_np["cal"], out_eq["test"], tex["test"], y_np["test"], alpha)
    matched.append({"lam": float(lam), "theta": tm["theta"], "jei_cost": m["cost"], "thr_cost": tm["cost"],
                    "jei_acc": m["accuracy"], "thr_acc": tm["accuracy"], "jei_ece": m["ece"], "thr_ece": tm["ece"],
                    "jei_coverage": m["coverage"], "thr_coverage": cov, "jei_set": m["set_size"], "thr_set": size})
    jei.append(m)
    if len(jei) - 1 == len(lams) // 2:  # reliability bins of the matched pair at the middle lambda (for a figure)
      pj = outs["test"][0][np.arange(len(ex["test"])), ex["test"]]
      pt = out_eq["test"][np.arange(len(tex["test"])), tex["test"]]
      rel = {name: [v.tolist() for v in metrics.reliability(pp.max(-1), (pp.argmax(-1) == y_np["test"]).astype(float))]
             for name, pp in (("jei", pj), ("threshold", pt))}
  mid = len(lams) // 2
  th_curve = [t[0] for t in thr]
  return {
      "costs": costs.tolist(), "final_accuracy": final_acc, "n_test": int(len(sp["test"])),
      "n_cal": int(len(sp["cal"])), "warmup": wu,
      "jei": jei, "threshold": th_curve, "oracle": oracle, "matched": matched,
      "auc_jei": budget_auc([m["cost"] for m in jei] + [1.0], [m["accuracy"] for m in jei] + [final_acc]),
      "auc_threshold": budget_auc([m["cost"] for m in th_curve] + [1.0],
                                  [m["accuracy"] for m in th_curve] + [final_acc]),
      "auc_oracle": budget_auc([m["cost"] for m in oracle] + [1.0], [m["accuracy"] for m in oracle] + [final_acc]),
      "mid_lam": float(lams[mid]), "reliability": rel,
  }
