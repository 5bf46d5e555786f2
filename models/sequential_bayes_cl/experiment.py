"""The experiments of paper 35 (Kessler et al., "On Sequential Bayesian Inference for Continual Learning",
Entropy 2023, arXiv 2301.01828), as library functions the claims call.

(a) :func:`hmc_method`: sequential HMC on the toy blobs (2-10-10-2 network, one head): after each task the
    HMC samples are summarised by a density estimator that becomes the next task's prior: ``"gmm"`` (EM,
    BIC over a grid of components), ``"gaussian"`` (moment match), ``"none"`` (no propagation: the
    isotropic N(0, I/tau) prior every task), or ``"joint"`` (HMC on all tasks seen so far, the upper bound).
(b) :func:`blr_forgetting`: exact (conjugate) sequential Bayesian linear regression with a misspecified
    model and imbalanced tasks.
(c) :func:`protocl_method`: ProtoCL with or without replay and the softmax baselines (fine-tuning, replay,
    joint training) on a class-incremental sequence.

(a) and (c) return **method functions** ``(init, train_task, predict)`` over a carry pytree of fixed shapes;
the continual harness (``experiments.continual.run_sequence``) runs them, checkpoints each task boundary
and builds the accuracy matrix. A sequence here is anything with ``tasks`` (each with ``x_train, y_train,
x_test, y_test, classes``), ``num_classes`` and ``seen_classes(t)``, so this package does not import the
harness.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from models.sequential_bayes_cl import blr as B
from models.sequential_bayes_cl import bnn
from models.sequential_bayes_cl import gmm as G
from models.sequential_bayes_cl import protocl as P
from models.sequential_bayes_cl.hmc import hmc_sample

__all__ = ["HMCConfig", "PRIORS", "hmc_method", "BLRConfig", "blr_forgetting", "ProtoConfig", "PROTO_METHODS",
           "protocl_method"]

# ---------------------------------------------------------------------------------------------------------
# (a) sequential HMC

PRIORS = ("gmm", "gaussian", "none", "joint")


@dataclasses.dataclass(frozen=True)
class HMCConfig:
  """Sequential-HMC settings (the notes' CPU scale: 4 chains, L = 20, step adapted from 1e-3)."""
  sizes: tuple[int, ...] = (2, 10, 10, 2)
  tau: float = 10.0                       # task-1 prior precision N(0, 1/tau)
  chains: int = 4
  num_burnin: int = 1000
  num_samples: int = 2000                 # kept per chain
  thin: int = 1
  num_leapfrog: int = 20
  step_size: float = 1e-3
  target_accept: float = 0.65
  keep: int = 1000                        # samples kept in the carry for prediction and warm starts
  components: tuple[int, ...] = tuple(range(1, 21))   # BIC grid of the GMM prior
  max_components: int = 20
  fit_samples: int = 2000                 # samples the density estimators are fitted on

  def __post_init__(self):
    for name in ("chains", "num_samples", "thin", "num_leapfrog", "keep", "max_components", "fit_samples"):
      v = getattr(self, name)
      if not isinstance(v, int) or v < 1:
        raise ValueError(f"HMCConfig: {name}: expected a positive int, got {v!r}")
    if not np.isfinite(self.tau) or self.tau <= 0:
      raise ValueError(f"HMCConfig: tau: expected a finite prior precision > 0, got {self.tau!r}")
    if not np.isfinite(self.step_size) or self.step_size <= 0:
      raise ValueError(f"HMCConfig: step_size: expected a finite step > 0, got {self.step_size!r}")
    if not self.components or max(self.components) > self.max_components or min(self.components) < 1:
      raise ValueError(f"HMCConfig: components: expected ints in [1, max_components={self.max_components}], got "
                       f"{self.components}")
    if self.keep > self.chains * self.num_samples or self.keep % self.chains:
      raise ValueError(f"HMCConfig: keep: expected a multiple of chains <= chains * num_samples, got {self.keep}")


@functools.lru_cache(maxsize=None)
def _log_prob(sizes: tuple[int, ...]):
  """One log-posterior function per architecture (so every prior shares HMC's compiled program):
  ``args = (x, y, w, prior)`` with row weights ``w`` (0 on padding rows)."""
  def log_prob(theta, args):
    x, y, w, prior = args
    logits = bnn.mlp_logits(theta, x, sizes)
    ll = jnp.sum(w * jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1)[:, 0])
    return ll + G.gmm_log_density(prior, theta)
  return log_prob


@functools.lru_cache(maxsize=None)
def _predictive(sizes: tuple[int, ...]):
  return jax.jit(functools.partial(bnn.predictive, sizes=sizes))


def hmc_method(prior: str, cfg: HMCConfig = HMCConfig()):
  """``(init, train_task, predict)`` of sequential HMC with the ``prior`` propagation (one of ``PRIORS``).

  The carry: ``samples: [keep, P]`` (the last task's posterior samples), the propagated prior as a padded
  :class:`~models.sequential_bayes_cl.gmm.GMM`, and per task the mean acceptance rate, the mean adapted step
  and the number of mixture components chosen (``accept``, ``step``, ``components``: ``[T]``).
  """
  if prior not in PRIORS:
    raise ValueError(f"hmc_method: prior: expected one of {PRIORS}, got {prior!r}")
  if not isinstance(cfg, HMCConfig):
    raise TypeError(f"hmc_method: cfg: expected an HMCConfig, got {type(cfg).__name__}")
  sizes = tuple(cfg.sizes)
  dim = bnn.num_params(sizes)
  log_prob = _log_prob(sizes)
  iso = G.isotropic_prior(dim, cfg.tau)

  def init(key, seq):
    t = len(seq.tasks)
    starts = jax.vmap(lambda k: bnn.init_flat(k, sizes))(jax.random.split(key, cfg.chains))
    samples = jnp.repeat(starts, cfg.keep // cfg.chains, axis=0)
    return {"samples": np.asarray(samples, np.float32), "prior": G.pad_gmm(iso, cfg.max_components)._asdict(),
            "accept": np.zeros(t), "step": np.zeros(t), "components": np.zeros(t, np.int32)}

  def train_task(carry, seq, t, key):
    if prior == "joint":   # all tasks so far (one program per task: padding to the full length cost 3x more)
      x = np.concatenate([seq.tasks[i].x_train for i in range(t + 1)])
      y = np.concatenate([seq.tasks[i].y_train for i in range(t + 1)])
      w = np.ones(len(x), np.float32)
    else:
      x, y = seq.tasks[t].x_train, seq.tasks[t].y_train
      w = np.ones(len(x), np.float32)
    p_hat = G.trim_gmm(G.GMM(**{k: np.asarray(v) for k, v in carry["prior"].items()}))
    p_hat = G.GMM(*(jnp.asarray(a, jnp.float32) for a in p_hat))
    prev = np.asarray(carry["samples"])
    starts = prev[:: cfg.keep // cfg.chains][: cfg.chains]
    res = hmc_sample(key, log_prob, jnp.asarray(starts), args=(jnp.asarray(x), jnp.asarray(y), jnp.asarray(w), p_hat),
                     step_size=cfg.step_size, num_leapfrog=cfg.num_leapfrog, num_burnin=cfg.num_burnin,
                     num_samples=cfg.num_samples, thin=cfg.thin, target_accept=cfg.target_accept)
    s = np.asarray(res.samples, np.float64)                     # [C, S, P]
    per_chain = cfg.keep // cfg.chains
    keep = s[:, np.linspace(0, s.shape[1] - 1, per_chain).astype(int)].reshape(-1, dim)
    fit_idx = np.linspace(0, s.shape[1] - 1, max(1, cfg.fit_samples // cfg.chains)).astype(int)
    fit = s[:, fit_idx].reshape(-1, dim)
    k = 1
    if prior == "gmm":
      new, bics = G.fit_gmm_bic(fit, cfg.components, seed=t)
      k = len(new.log_weights)
    elif prior == "gaussian":
      new = G.moment_match(fit)
    else:
      new = iso
    out = dict(carry)
    out["samples"] = keep.astype(np.float32)
    out["prior"] = G.pad_gmm(new, cfg.max_components)._asdict()
    out["accept"] = np.asarray(carry["accept"]).copy()
    out["accept"][t] = float(np.mean(res.accept_rate))
    out["step"] = np.asarray(carry["step"]).copy()
    out["step"][t] = float(np.mean(res.step_size))
    out["components"] = np.asarray(carry["components"]).copy()
    out["components"][t] = k
    return out

  predict_j = _predictive(sizes)

  def predict(carry, x):
    return np.asarray(predict_j(jnp.asarray(carry["samples"]), jnp.asarray(x)))

  return init, train_task, predict


# ---------------------------------------------------------------------------------------------------------
# (b) Bayesian linear regression


@dataclasses.dataclass(frozen=True)
class BLRConfig:
  """Two regression tasks on f(x) = x^2: task 1 on x in [-2, 0], task 2 on x in [0, 2] (Sec. 5 setting,
  reconstructed: see the README). The misspecified model is linear (1, x), the well-specified one
  quadratic (1, x, x^2); prior N(0, I / prior_precision), known noise variance."""
  n1: int = 100
  n2: int = 100
  imbalance_n1: tuple[int, ...] = (1000, 300, 100, 30, 10)
  imbalance_n2: int = 1000
  noise_std: float = 0.3
  prior_precision: float = 1.0
  seeds: int = 20
  n_test: int = 200


def _task_data(rng, n, lo, hi, noise):
  x = rng.uniform(lo, hi, n)
  return x, x ** 2 + noise * rng.standard_normal(n)


def _task1_errors(rng, n1, n2, degree, cfg):
  x1, y1 = _task_data(rng, n1, -2.0, 0.0, cfg.noise_std)
  x2, y2 = _task_data(rng, n2, 0.0, 2.0, cfg.noise_std)
  xt = np.linspace(-2.0, 0.0, cfg.n_test)
  d = degree + 1
  prior = B.Gaussian(jnp.zeros(d), cfg.prior_precision * jnp.eye(d))
  f = lambda x: B.poly_features(jnp.asarray(x), degree)  # noqa: E731
  posts = B.blr_sequential(prior, [(f(x1), jnp.asarray(y1)), (f(x2), jnp.asarray(y2))], cfg.noise_std ** 2)
  errs = [float(np.mean((np.asarray(B.blr_predict(p, f(xt), cfg.noise_std ** 2)[0]) - xt ** 2) ** 2))
          for p in posts]
  return errs, posts


def blr_forgetting(cfg: BLRConfig = BLRConfig()) -> dict[str, Any]:
  """Task-1 mean squared error (against the noise-free f on a grid of task 1's inputs) after task 1 and
  after task 2, exact posteriors, averaged over ``cfg.seeds`` data sets:

  * ``misspecified``/``well_specified``: ``[seeds, 2]`` errors of the linear / quadratic model, N1 = N2;
  * ``imbalance``: ``[len(imbalance_n1), seeds, 2]`` errors of the linear model with N2 = ``imbalance_n2``;
  * ``fits``: posterior means of one seed (for the figure): ``{model: [(mean after task 1), (after 2)]}``.
  """
  if not isinstance(cfg, BLRConfig):
    raise TypeError(f"blr_forgetting: cfg: expected a BLRConfig, got {type(cfg).__name__}")
  if cfg.seeds < 1 or cfg.n1 < 1 or cfg.n2 < 1 or cfg.noise_std <= 0 or cfg.prior_precision <= 0:
    raise ValueError(f"blr_forgetting: cfg: expected positive sizes, noise_std and prior_precision, got {cfg}")
  mis, ok, imb = [], [], []
  fits = {}
  for s in range(cfg.seeds):
    e, pm = _task1_errors(np.random.default_rng([35, s]), cfg.n1, cfg.n2, 1, cfg)
    mis.append(e)
    e, po = _task1_errors(np.random.default_rng([35, s]), cfg.n1, cfg.n2, 2, cfg)
    ok.append(e)
    if s == 0:
      fits = {"linear": [np.asarray(p.mean).tolist() for p in pm], "quadratic": [np.asarray(p.mean).tolist()
                                                                                 for p in po]}
  for n1 in cfg.imbalance_n1:
    imb.append([_task1_errors(np.random.default_rng([36, s, n1]), n1, cfg.imbalance_n2, 1, cfg)[0]
                for s in range(cfg.seeds)])
  return {"misspecified": np.asarray(mis), "well_specified": np.asarray(ok), "imbalance": np.asarray(imb),
          "imbalance_n1": np.asarray(cfg.imbalance_n1), "fits": fits}


# ---------------------------------------------------------------------------------------------------------
# (c) ProtoCL and the softmax baselines

PROTO_METHODS = ("protocl_replay", "protocl", "softmax", "softmax_replay", "joint")


@dataclasses.dataclass(frozen=True)
class ProtoConfig:
  """Encoder 64-128-32, Adam with weight decay, replay of ``replay_per_class`` examples per class."""
  features: tuple[int, ...] = (128, 32)
  dropout: float = 0.1
  epochs: int = 20
  batch_size: int = 64
  learning_rate: float = 1e-3
  weight_decay: float = 1e-4
  replay_per_class: int = 20

  def __post_init__(self):
    for name in ("epochs", "batch_size", "replay_per_class"):
      v = getattr(self, name)
      if not isinstance(v, int) or v < 1:
        raise ValueError(f"ProtoConfig: {name}: expected a positive int, got {v!r}")
    if not self.learning_rate > 0:
      raise ValueError(f"ProtoConfig: learning_rate: expected > 0, got {self.learning_rate!r}")
    if not 0 <= self.dropout < 1:
      raise ValueError(f"ProtoConfig: dropout: expected a rate in [0, 1), got {self.dropout!r}")


@functools.lru_cache(maxsize=32)
def protocl_method(kind: str, num_features: int, num_classes: int, max_train: int,
                   cfg: ProtoConfig = ProtoConfig()):
  """``(init, train_task, predict)`` of one of ``PROTO_METHODS``.

  * ``protocl_replay`` / ``protocl``: the ProtoCL loss; after each task the class statistics of its classes are
    computed on all its training data with the current encoder; with replay the older classes' means are
    recomputed from the buffer with the current encoder (their counts kept), without replay they stay as
    computed at the end of their task (the encoder's drift is not corrected);
  * ``softmax`` (fine-tuning), ``softmax_replay``: a linear head on the same encoder, cross-entropy over all
    classes; ``joint``: the softmax model trained on every task seen so far.

  Each step draws ``batch_size`` examples of the task (with replacement) and, with replay, ``batch_size``
  from the buffer. ``max_train`` is the padded length of a task's (or, for ``joint``, of all tasks') data, so
  one program serves every task (the factory is cached: a second seed reuses the compiled programs).
  """
  if kind not in PROTO_METHODS:
    raise ValueError(f"protocl_method: kind: expected one of {PROTO_METHODS}, got {kind!r}")
  if not isinstance(cfg, ProtoConfig):
    raise TypeError(f"protocl_method: cfg: expected a ProtoConfig, got {type(cfg).__name__}")
  proto = kind.startswith("protocl")
  replay = kind.endswith("replay")
  c, m, d = num_classes, cfg.replay_per_class, cfg.features[-1]
  enc = P.Encoder(tuple(cfg.features), cfg.dropout)
  opt = optax.adamw(cfg.learning_rate, weight_decay=cfg.weight_decay)

  def init(key, seq):
    k1, k2 = jax.random.split(key)
    params = {"enc": enc.init(k1, jnp.zeros((1, num_features)))["params"]}
    if proto:
      params["prior"] = P.init_prior(c, d)
    else:
      w = jax.random.normal(k2, (d, c)) / np.sqrt(d)
      params["head"] = {"w": w.astype(jnp.float32), "b": jnp.zeros(c, jnp.float32)}
    return {"params": params, "opt": opt.init(params), "buf_x": np.zeros((c * m, num_features), np.float32),
            "buf_y": np.zeros(c * m, np.int32), "buf_w": np.zeros(c * m, np.float32),
            "sum_phi": np.zeros((c, d), np.float32), "count": np.zeros(c, np.float32),
            "seen": np.zeros(c, np.float32)}

  def embed(params, x, key=None):
    if key is None:
      return enc.apply({"params": params["enc"]}, x, deterministic=True)
    return enc.apply({"params": params["enc"]}, x, deterministic=False, rngs={"dropout": key})

  def loss_fn(params, x, y, w, sum_phi, count, seen, key):
    phi = embed(params, x, key)
    if proto:
      s, n = P.class_stats(phi, y, c, w)
      present = n > 0
      sum_eff = jnp.where(present[:, None], s, jax.lax.stop_gradient(sum_phi))
      cnt_eff = jnp.where(present, n, count)
      post = P.posterior_from_stats(params["prior"], sum_eff, cnt_eff)
      mask = (seen > 0) | present
      return P.nll(post, phi, y, P.noise_var(params["prior"]), mask, w)
    logits = phi @ params["head"]["w"] + params["head"]["b"]
    lp = jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1)[:, 0]
    return -jnp.sum(w * lp) / jnp.maximum(jnp.sum(w), 1.0)

  @jax.jit
  def step(params, opt_state, key, x, y, n_valid, buf_x, buf_y, buf_w, sum_phi, count, seen):
    k1, k2, k3 = jax.random.split(key, 3)
    idx = jax.random.randint(k1, (cfg.batch_size,), 0, n_valid)
    xb, yb, wb = x[idx], y[idx], jnp.ones(cfg.batch_size)
    if replay:
      p = (buf_w + 1e-12) / jnp.sum(buf_w + 1e-12)
      ridx = jax.random.choice(k2, buf_w.shape[0], (cfg.batch_size,), p=p)
      xb = jnp.concatenate([xb, buf_x[ridx]])
      yb = jnp.concatenate([yb, buf_y[ridx]])
      wb = jnp.concatenate([wb, buf_w[ridx]])
    loss, g = jax.value_and_grad(loss_fn)(params, xb, yb, wb, sum_phi, count, seen, k3)
    updates, opt_state = opt.update(g, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  embed_j = jax.jit(embed)

  def train_task(carry, seq, t, key):
    task = seq.tasks[t]
    if kind == "joint":
      x = np.concatenate([seq.tasks[i].x_train for i in range(t + 1)])
      y = np.concatenate([seq.tasks[i].y_train for i in range(t + 1)])
    else:
      x, y = task.x_train, task.y_train
    n = len(x)
    if n > max_train:
      raise ValueError(f"protocl_method: max_train: expected >= {n} (task {t}'s training set), got {max_train}")
    xp = np.zeros((max_train, num_features), np.float32)
    yp = np.zeros(max_train, np.int32)
    xp[:n], yp[:n] = x, y
    xp, yp = jnp.asarray(xp), jnp.asarray(yp)
    params, opt_state = carry["params"], carry["opt"]
    bufs = [jnp.asarray(carry[k]) for k in ("buf_x", "buf_y", "buf_w", "sum_phi", "count", "seen")]
    steps = cfg.epochs * -(-len(task.x_train) // cfg.batch_size)
    keys = jax.random.split(key, steps + 1)
    for i in range(steps):
      params, opt_state, _ = step(params, opt_state, keys[i], xp, yp, jnp.int32(n), *bufs)
    out = dict(carry)
    out["params"], out["opt"] = params, opt_state
    sum_phi, count = np.asarray(carry["sum_phi"]).copy(), np.asarray(carry["count"]).copy()
    xe = np.zeros((max_train, num_features), np.float32)
    xe[:len(task.x_train)] = task.x_train
    phi = np.asarray(embed_j(params, jnp.asarray(xe)))[:len(task.x_train)]
    for cl in task.classes:
      sel = task.y_train == cl
      sum_phi[cl], count[cl] = phi[sel].sum(0), sel.sum()
    buf_x, buf_y, buf_w = (np.asarray(carry[k]).copy() for k in ("buf_x", "buf_y", "buf_w"))
    if proto and replay:
      seen_old = [cl for cl in range(c) if carry["seen"][cl] > 0 and cl not in task.classes]
      if seen_old:
        phib = np.asarray(embed_j(params, jnp.asarray(buf_x)))
        for cl in seen_old:
          sel = (buf_y == cl) & (buf_w > 0)
          sum_phi[cl] = count[cl] * phib[sel].mean(0)
    rng = np.random.default_rng(np.asarray(jax.random.key_data(keys[-1])).ravel().tolist())
    for cl in task.classes:
      idx = np.flatnonzero(task.y_train == cl)
      pick = rng.choice(idx, size=min(m, len(idx)), replace=False)
      slot = slice(cl * m, cl * m + len(pick))
      buf_x[slot], buf_y[slot], buf_w[slot] = task.x_train[pick], cl, 1.0
    seen = np.asarray(carry["seen"]).copy()
    seen[list(task.classes)] = 1.0
    out.update(buf_x=buf_x, buf_y=buf_y, buf_w=buf_w, sum_phi=sum_phi.astype(np.float32),
               count=count.astype(np.float32), seen=seen)
    return out

  @jax.jit
  def scores(params, sum_phi, count, x):
    phi = embed(params, x)
    if proto:
      post = P.posterior_from_stats(params["prior"], sum_phi, count)
      return P.log_joint(post, phi, P.noise_var(params["prior"]))
    return phi @ params["head"]["w"] + params["head"]["b"]

  def predict(carry, x):
    n = len(x)
    xp = np.zeros((-(-n // 256) * 256, num_features), np.float32)   # padded to a multiple of 256: few programs
    xp[:n] = x
    return np.asarray(scores(carry["params"], jnp.asarray(carry["sum_phi"]), jnp.asarray(carry["count"]),
                             jnp.asarray(xp)))[:n]

  return init, train_task, predict
