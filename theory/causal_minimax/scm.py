"""Additive-noise SCMs with an environment node, exact ancestral sampling, abduction of the noises, do* samples.

Every node V has ``V = link(sum_i w_i pa_i) + N(0, noise^2)`` (``link="product"``: ``w_0 * prod_i pa_i``); a
mutable node (a child of E) in environment e has ``V = alpha_e * link(.) + noise`` (the reference simulation's
alpha_e = e - 10.5). Data are ``[N, len(scm.nodes)]`` arrays with the columns in ``scm.nodes`` (topological)
order. The SCM is hashable (a static argument under ``jit``).

do* samples (the paper's fit of f_S = E[Y | x_S, do(x_M)]): one joint permutation of the rows of the X_do*
columns, then the nodes of K ∩ Ch(Y) regenerated from their equations with their own abducted noise
(u_V = V - f_V(pa), exact for additive noise), in topological order.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import check_key
from theory.causal_minimax.graph import ENV, Graph, do_star_set, make_graph, regenerated_set

__all__ = ["LINKS", "Mechanism", "SCM", "make_scm", "sample", "sample_environments", "structural_mean",
           "residuals", "do_star_samples", "intervene", "reference_scm", "reference_alphas", "counterexample_scm",
           "linear_scm"]

LINKS = ("identity", "tanh", "sigmoid", "product")


@dataclasses.dataclass(frozen=True)
class Mechanism:
  """``link(sum w_i pa_i) + N(0, noise^2)`` over ``parents`` (E not listed; mutability is set in make_scm)."""
  parents: tuple[str, ...] = ()
  weights: tuple[float, ...] = ()
  link: str = "identity"
  noise: float = 0.1


@dataclasses.dataclass(frozen=True)
class SCM:
  graph: Graph
  mechanisms: tuple[Mechanism, ...]   # aligned with graph.nodes

  @property
  def nodes(self) -> tuple[str, ...]:
    return self.graph.nodes

  def col(self, v: str) -> int:
    return self.graph.nodes.index(v)


def make_scm(mechanisms: Mapping[str, Mechanism], target: str, mutable: Sequence[str] = ()) -> SCM:
  """Validates the mechanisms and the graph they induce (E -> each node of ``mutable``)."""
  fn = "make_scm"
  if not isinstance(mechanisms, Mapping):
    raise TypeError(f"{fn}: mechanisms: expected a mapping node -> Mechanism, got {type(mechanisms).__name__}")
  for v in mutable:
    if v not in mechanisms:
      raise ValueError(f"{fn}: mutable: unknown node {v!r}; known: {sorted(mechanisms)}")
  for v, m in mechanisms.items():
    if not isinstance(m, Mechanism):
      raise TypeError(f"{fn}: mechanisms[{v!r}]: expected a Mechanism, got {type(m).__name__}")
    if m.link not in LINKS:
      raise ValueError(f"{fn}: mechanisms[{v!r}].link: expected one of {LINKS}, got {m.link!r}")
    nw = 1 if m.link == "product" and m.parents else len(m.parents)
    if len(m.weights) != nw:
      raise ValueError(f"{fn}: mechanisms[{v!r}].weights: expected {nw} weights for {len(m.parents)} parents "
                       f"({m.link}), got {len(m.weights)}")
    if not (np.isfinite(m.noise) and m.noise >= 0):
      raise ValueError(f"{fn}: mechanisms[{v!r}].noise: expected a finite sd >= 0, got {m.noise}")
  g = make_graph({v: tuple(m.parents) + ((ENV,) if v in mutable else ()) for v, m in mechanisms.items()}, target)
  return SCM(g, tuple(mechanisms[v] for v in g.nodes))


def _check_scm(scm, fn):
  if not isinstance(scm, SCM):
    raise TypeError(f"{fn}: scm: expected an SCM (make_scm), got {type(scm).__name__}")
  return scm


def _link(m: Mechanism, pa: Sequence[jax.Array], like: jax.Array) -> jax.Array:
  if not m.parents:
    return jnp.zeros_like(like)
  if m.link == "product":
    out = m.weights[0] * pa[0]
    for p in pa[1:]:
      out = out * p
    return out
  lin = sum(w * p for w, p in zip(m.weights, pa))
  return {"identity": lambda u: u, "tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid}[m.link](lin)


def structural_mean(scm: SCM, v: str, cols: Mapping[str, jax.Array]) -> jax.Array:
  """f_V(pa): the noise-free structural value of ``v`` from parent columns ``cols[p]: [N]`` (alpha excluded)."""
  scm = _check_scm(scm, "structural_mean")
  if v not in scm.nodes:
    raise ValueError(f"structural_mean: v: unknown node {v!r}")
  m = scm.mechanisms[scm.col(v)]
  any_col = next(iter(cols.values()))
  return _link(m, [cols[p] for p in m.parents], any_col)


def sample(key: jax.Array, scm: SCM, alpha, n: int) -> jax.Array:
  """``n`` exact ancestral samples of environment ``alpha`` (scale of the mutable mechanisms): [n, |nodes|]."""
  fn = "sample"
  check_key(key, "key", fn)
  scm = _check_scm(scm, fn)
  if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
    raise ValueError(f"{fn}: n: expected a positive int, got {n!r}")
  return _sample(key, scm, jnp.asarray(alpha, jnp.result_type(float)), int(n))


def _sample(key, scm, alpha, n):
  eps = jax.random.normal(key, (n, len(scm.nodes)), alpha.dtype)
  cols = {}
  for i, (v, m) in enumerate(zip(scm.nodes, scm.mechanisms)):
    f = _link(m, [cols[p] for p in m.parents], eps[:, i])
    if v in scm.graph.mutable:
      f = alpha * f
    cols[v] = f + m.noise * eps[:, i]
  return jnp.stack([cols[v] for v in scm.nodes], axis=1)


def sample_environments(key: jax.Array, scm: SCM, alphas, n: int) -> jax.Array:
  """Independent samples of each environment ``alphas: [E]``: [E, n, |nodes|] (vmapped)."""
  fn = "sample_environments"
  check_key(key, "key", fn)
  scm = _check_scm(scm, fn)
  alphas = jnp.asarray(alphas)
  if alphas.ndim != 1:
    raise ValueError(f"{fn}: alphas: expected a 1-d array of environment scales, got shape {alphas.shape}")
  if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
    raise ValueError(f"{fn}: n: expected a positive int, got {n!r}")
  keys = jax.random.split(key, alphas.shape[0])
  return _sample_envs(keys, scm, alphas.astype(jnp.result_type(float)), int(n))


_sample_envs = jax.jit(jax.vmap(_sample, (0, None, 0, None)), static_argnums=(1, 3))


def _cols(scm, data):
  return {v: data[..., i] for i, v in enumerate(scm.nodes)}


def residuals(scm: SCM, data: jax.Array) -> jax.Array:
  """Abducted noises u_V = V - f_V(pa) of the non-mutable nodes (0 in the mutable columns): like ``data``."""
  scm = _check_scm(scm, "residuals")
  data = _check_data(data, scm, "residuals")
  cols = _cols(scm, data)
  out = [jnp.zeros_like(cols[v]) if v in scm.graph.mutable else cols[v] - structural_mean(scm, v, cols)
         for v in scm.nodes]
  return jnp.stack(out, axis=-1)


def _check_data(data, scm, fn):
  data = jnp.asarray(data)
  if data.ndim < 2 or data.shape[-1] != len(scm.nodes):
    raise ValueError(f"{fn}: data: expected [..., N, {len(scm.nodes)}] (columns {scm.nodes}), got {data.shape}")
  if not jnp.issubdtype(data.dtype, jnp.floating):
    raise TypeError(f"{fn}: data: expected a float array, got {data.dtype}")
  return data


def do_star_samples(key: jax.Array, scm: SCM, data: jax.Array) -> jax.Array:
  """do* samples from ``data: [N, |nodes|]``: one joint row permutation of the X_do* columns, then K ∩ Ch(Y)
  regenerated with their abducted noises."""
  fn = "do_star_samples"
  check_key(key, "key", fn)
  scm = _check_scm(scm, fn)
  data = _check_data(data, scm, fn)
  if data.ndim != 2:
    raise ValueError(f"{fn}: data: expected [N, {len(scm.nodes)}], got {data.shape}")
  return _do_star(key, scm, data)


@functools.partial(jax.jit, static_argnums=1)
def _do_star(key, scm, data):
  u = residuals(scm, data)
  perm = jax.random.permutation(key, data.shape[0])
  cols = _cols(scm, data)
  for v in do_star_set(scm.graph):
    cols[v] = cols[v][perm]
  for v in regenerated_set(scm.graph):
    cols[v] = structural_mean(scm, v, cols) + u[:, scm.col(v)]
  return jnp.stack([cols[v] for v in scm.nodes], axis=1)


def intervene(scm: SCM, data: jax.Array, u: jax.Array, j_fns: Mapping[str, Callable[[jax.Array], jax.Array]]
              ) -> jax.Array:
  """Replaces each mutable X_m by ``j_fns[m](pa [N, |Pa(m)|]) -> [N]`` and regenerates the non-mutable
  descendants of X_M with their abducted noises ``u`` (traceable; differentiable in the J parameters)."""
  scm = _check_scm(scm, "intervene")
  missing = [m for m in scm.graph.mutable if m not in j_fns]
  if missing:
    raise ValueError(f"intervene: j_fns: expected a function for every mutable node {scm.graph.mutable}, "
                     f"missing {missing}")
  de = scm.graph.descendants(scm.graph.mutable)
  cols = _cols(scm, data)
  for v in scm.nodes:
    if v in scm.graph.mutable:
      pa = jnp.stack([cols[p] for p in scm.graph.pa(v)], axis=-1) if scm.graph.pa(v) else \
          jnp.zeros(cols[v].shape + (0,), data.dtype)
      cols[v] = j_fns[v](pa)
    elif v in de:
      cols[v] = structural_mean(scm, v, cols) + u[..., scm.col(v)]
  return jnp.stack([cols[v] for v in scm.nodes], axis=-1)


# ----------------------------------------------------------------------------------------------------------
# The SCMs of the notes.

def reference_scm() -> SCM:
  """The reference simulation (official ``data/simulation_params.json``; paper names X1..X8 stable, X9 = M1 and
  X10 = M2 mutable), every noise N(0, 0.1^2)."""
  M = Mechanism
  # paper names: X1=code X2, X2=X3, X3=X4, X4=X5, X5=X6, X6=X7, X7=X10, X8=X11, M1 = X9, M2 = X10 (code)
  mech = {
      "Y": M(),
      "X6": M(),                                            # code X7 (root)
      "X8": M(),                                            # code X11 (root)
      "X5": M(("X6",), (0.84,), "sigmoid"),                 # code X6 = sigmoid(0.84 X7)
      "M1": M(("Y",), (1.91,), "tanh"),                     # mutable
      "X1": M(("Y", "M1", "X6", "X5"), (0.63, -0.58, 1.51, 1.13), "sigmoid"),   # code X2
      "X3": M(("X1",), (-0.95,), "tanh"),                   # code X4
      "X2": M(("X3", "X8"), (1.47, -0.64), "tanh"),         # code X3
      "X7": M(("X8",), (-1.52,), "identity"),               # code X10
      "X4": M(("X2", "X7", "X8"), (1.42, 0.99, 0.72), "sigmoid"),  # code X5
      "M2": M(("X5", "X3", "X8"), (-1.2, 1.33, 0.64), "tanh"),     # mutable (code M2)
  }
  order = ("Y", "X1", "X2", "X3", "X4", "X5", "X6", "X7", "X8", "M1", "M2")
  return make_scm({k: mech[k] for k in order}, "Y", ("M1", "M2"))


def reference_alphas(n_env: int = 20) -> np.ndarray:
  """alpha_e = e - (n_env + 1) / 2 for e = 1..n_env (-9.5 .. 9.5 for 20 environments)."""
  if isinstance(n_env, bool) or not isinstance(n_env, (int, np.integer)) or n_env < 2:
    raise ValueError(f"reference_alphas: n_env: expected an int >= 2, got {n_env!r}")
  return np.arange(1, n_env + 1, dtype=np.float64) - (n_env + 1) / 2


def counterexample_scm(m_noise: float = 0.5) -> SCM:
  """The notes' counter-example: Y ~ N(0, 1); M = alpha_e Y + N(0, m_noise^2) (mutable child of Y);
  X = Y M + N(0, 0.25). X ∈ Ch(Y) ∩ De(M), so the condition fails."""
  M = Mechanism
  return make_scm({"Y": M(noise=1.0), "M": M(("Y",), (1.0,), "identity", m_noise),
                   "X": M(("Y", "M"), (1.0,), "product", 0.5)}, "Y", ("M",))


def linear_scm() -> SCM:
  """A linear-Gaussian SCM with the counter-example's shape plus a stable parent of M (the J-flat control)."""
  M = Mechanism
  return make_scm({"Y": M(noise=1.0), "W": M(noise=1.0), "M": M(("Y", "W"), (1.0, 0.5), "identity", 0.5),
                   "X": M(("Y", "M"), (0.8, -0.7), "identity", 0.5),
                   "Z": M(("X",), (1.2,), "identity", 0.5)}, "Y", ("M",))
