"""Oracle tests for theory.causal_minimax (Liu et al., "Which Invariance Should We Transfer? A Causal Minimax
Learning Approach", arXiv:2107.01876).

Oracles: d-separation by enumerating every path of the skeleton (the definition; the package uses the moral
ancestral graph); the notes' 45-class partition of the reference stable graph; population regressions of a linear
SEM (closed-form covariances) for class members; the counter-example's closed-form worst case 1.0786 on a
stratified sample whose noise makes the sample risk equal the closed-form integrand; linear J: a numpy grid
search; linear SCM: the MSE of the OLS stable predictor is flat in J.
"""
from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import norm

import theory.causal_minimax as C

# The notes' reference stable graph (cache/stablegraph.gml).
STABLE_EDGES = {("X1", "X3"), ("X2", "X4"), ("X3", "X2"), ("X5", "X1"), ("X6", "X1"), ("X6", "X5"), ("X7", "X4"),
                ("X8", "X2"), ("X8", "X4"), ("X8", "X7"), ("Y", "X1")}


def _edges(g):
  return {(p, v) for v in g.nodes for p in g.pa(v)}


def _dsep_by_paths(g, x, y, z):
  """Definition: no path between x and y is open given z (a collider open iff it or a descendant is in z)."""
  nb = {v: set(g.pa(v)) | set(g.children(v)) for v in g.nodes}
  edges = _edges(g)

  def open_path(path):
    for a, b, c in zip(path, path[1:], path[2:]):
      collider = (a, b) in edges and (c, b) in edges
      if collider:
        if b not in z and not (g.descendants([b]) & z):
          return False
      elif b in z:
        return False
    return True

  def walk(path):
    v = path[-1]
    if v == y:
      return open_path(path)
    return any(walk(path + [u]) for u in nb[v] if u not in path)
  return not walk([x])


def test_d_separation_matches_path_enumeration_on_random_dags():
  rng = np.random.default_rng(0)
  for trial in range(12):
    n = 6
    names = [f"V{i}" for i in range(n)]
    parents = {v: tuple(names[j] for j in range(i) if rng.random() < 0.4) for i, v in enumerate(names)}
    g = C.make_graph(parents, "V0")
    for a, b in itertools.combinations(names, 2):
      rest = [v for v in names if v not in (a, b)]
      for k in (0, 1, 2):
        for z in itertools.combinations(rest, k):
          assert C.d_separated(g, {a}, {b}, set(z)) == _dsep_by_paths(g, a, b, set(z)), (parents, a, b, z)


def test_reference_graph_quantities_and_45_classes():
  g = C.reference_scm().graph
  assert set(g.mutable) == {"M1", "M2"}
  assert C.x_m0(g) == ("M1",)
  assert set(C.k_set(g)) == {"X1", "X2", "X3", "X4", "M2"}
  assert not C.whole_set_optimal(g)                       # K ∩ Ch(Y) = {X1}
  assert set(C.do_star_set(g)) == {"M1", "M2", "X2", "X3", "X4"}   # code names X3, X4, X5, M1, M2
  assert C.regenerated_set(g) == ("X1",)                  # code X2
  assert _edges(C.stable_dag(g)) == STABLE_EDGES
  classes = C.equivalence_classes(g)
  assert len(classes) == 45 and sum(len(m) for _, m in classes) == 256
  members = [s for _, m in classes for s in m]
  assert len(set(members)) == 256
  for b, m in classes:
    assert b == m[0] and all(set(b) <= set(s) for s in m)


def _linear_sem_cov(g, weights, noise):
  """Covariance of a linear SEM V = B V + e over g.nodes (topological)."""
  n = len(g.nodes)
  B = np.zeros((n, n))
  for (p, v), w in weights.items():
    B[g.nodes.index(v), g.nodes.index(p)] = w
  A = np.linalg.inv(np.eye(n) - B)
  return A @ np.diag(noise) @ A.T


def test_class_members_have_the_same_population_regression():
  g = C.stable_dag(C.reference_scm().graph)
  rng = np.random.default_rng(1)
  weights = {e: rng.choice([-1, 1]) * rng.uniform(0.5, 1.5) for e in _edges(g)}
  cov = _linear_sem_cov(g, weights, rng.uniform(0.5, 1.5, len(g.nodes)))
  iy = g.nodes.index("Y")
  for b, members in C.equivalence_classes(C.reference_scm().graph):
    for s in members[:4]:
      idx = [g.nodes.index(v) for v in s]
      beta = np.linalg.solve(cov[np.ix_(idx, idx)], cov[idx, iy]) if idx else np.zeros(0)
      for v, coef in zip(s, beta):
        if v not in b:
          assert abs(coef) < 1e-10, (b, s, v, coef)
      if b:
        ib = [g.nodes.index(v) for v in b]
        beta_b = np.linalg.solve(cov[np.ix_(ib, ib)], cov[ib, iy])
        np.testing.assert_allclose([beta[list(s).index(v)] for v in b], beta_b, atol=1e-10)


def test_closed_form_worst_case():
  assert abs(C.counterexample_worst_case() - 1.0786) < 2e-3


def _stratified_counterexample(n=400):
  """Y at normal quantiles, each with X-noise +0.5 and -0.5: the sample risk of the exact f_{X} under any
  J(Y) equals the closed-form integrand E_eps[...] averaged over the quantiles (cross terms cancel)."""
  scm = C.counterexample_scm()
  y = np.repeat(norm.ppf((np.arange(n) + 0.5) / n), 2)
  eps = np.tile([0.5, -0.5], n)
  m = np.tile(np.linspace(-2.0, 2.0, n), 2)     # only sets J's range and scale (J replaces M)
  cols = {"Y": y, "M": m, "X": y * m + eps}
  return scm, jnp.asarray(np.stack([cols[v] for v in scm.nodes], 1), jnp.float32), y


def test_counterexample_j_ascent_reaches_the_worst_case():
  scm, data, y = _stratified_counterexample()
  u = np.concatenate([np.linspace(0, 4, 2001)[None].repeat(y.size, 0), np.maximum(0, 0.25 - 0.5 * y ** 2)[:, None]],
                     1)
  sup = float(np.mean(np.max((0.0625 * y[:, None] ** 2 + 0.25 * u) / (u + 0.25) ** 2, axis=1)))
  assert abs(sup - 1.0786) < 0.01
  wc = C.worst_case_risk(jax.random.key(0), scm, C.counterexample_predictor, data, restarts=4, steps=1500,
                         min_delta=0.0, j_hidden=4)
  h = float(wc.h_star[0])
  assert sup - 0.02 <= h <= sup + 1e-4          # reached within 0.02, never above the supremum
  assert h > 1.0                                # worse than f_∅ (h*(∅) = Var Y = 1)
  assert h > 0.438                              # h* >= the do-risk (closed form 0.438 for M ~ N(0, 1))
  # f_∅ = E[Y] = 0 for a root Y: J changes nothing, h*(∅) = the sample's E[Y^2]
  w0 = C.worst_case_risk(jax.random.key(1), scm, lambda x: jnp.zeros(x.shape[0]), data, restarts=1, steps=20)
  np.testing.assert_allclose(float(w0.h_star[0]), np.mean(y ** 2), rtol=1e-5)


def test_linear_j_adam_ascent_equals_grid_search():
  scm, data, y = _stratified_counterexample(200)
  B = 1.0
  yy, xx = np.asarray(data[:, 0], np.float64), np.asarray(data[:, 2], np.float64)
  eps = xx - yy * np.asarray(data[:, 1], np.float64)
  grid = np.linspace(-B, B, 4001)
  m = grid[:, None] * yy[None]
  x = yy[None] * m + eps[None]
  mse = np.mean((yy[None] - m * x / (m ** 2 + 0.25)) ** 2, axis=1)
  wc = C.worst_case_risk(jax.random.key(0), scm, C.counterexample_predictor, data, restarts=3, steps=800,
                         family="linear", bound=B, min_delta=0.0, lr=0.05)
  assert abs(float(wc.h_star[0]) - mse.max()) < 1e-3 * mse.max()


def test_linear_scm_gives_a_flat_j_ascent():
  scm = C.linear_scm()
  data = C.sample_environments(jax.random.key(0), scm, np.linspace(-1.5, 1.5, 10), 400).reshape(-1, 5)
  ds = np.asarray(C.do_star_samples(jax.random.key(1), scm, data), np.float64)
  cov = [scm.col(v) for v in scm.graph.covariates]          # W, X, Z, M
  X = np.concatenate([ds[:, cov], np.ones((ds.shape[0], 1))], 1)
  beta = np.linalg.lstsq(X, ds[:, scm.col("Y")], rcond=None)[0]
  f = lambda x: x @ jnp.asarray(beta[:-1], x.dtype) + beta[-1]
  y = np.asarray(data[:, 0], np.float64)
  base = float(np.mean((ds[:, 0] - X @ beta) ** 2))        # do-risk of the OLS stable predictor
  wc = C.worst_case_risk(jax.random.key(2), scm, f, data, restarts=2, steps=200, min_delta=0.0)
  assert abs(float(wc.h_star[0]) / base - 1) < 0.02        # flat: h* = do-risk (OLS error and MC only)
  assert base < np.var(y)


def test_do_star_is_one_joint_permutation_then_regeneration():
  scm = C.counterexample_scm()                 # X_do* = {M}; X regenerated from Y and the permuted M
  data = C.sample(jax.random.key(0), scm, 0.7, 200)
  ds = C.do_star_samples(jax.random.key(1), scm, data)
  g = scm.graph
  dcols = [scm.col(v) for v in C.do_star_set(g)]
  rows = {tuple(r) for r in np.asarray(data[:, dcols]).round(6)}
  assert {tuple(r) for r in np.asarray(ds[:, dcols]).round(6)} == rows
  assert not np.allclose(np.asarray(ds[:, dcols]), np.asarray(data[:, dcols]))
  keep = [scm.col(v) for v in g.nodes if v not in C.do_star_set(g) and v not in C.regenerated_set(g)]
  np.testing.assert_array_equal(np.asarray(ds[:, keep]), np.asarray(data[:, keep]))
  assert C.regenerated_set(g) == ("X",)
  u = np.asarray(data[:, scm.col("X")] - data[:, scm.col("Y")] * data[:, scm.col("M")])
  np.testing.assert_allclose(np.asarray(ds[:, scm.col("X")]),
                             np.asarray(ds[:, scm.col("Y")] * ds[:, scm.col("M")]) + u, atol=1e-5)


def test_sampling_moments_within_standard_error():
  scm = C.counterexample_scm()
  n = 20000
  d = np.asarray(C.sample(jax.random.key(3), scm, 0.6, n), np.float64)
  m2 = d[:, scm.col("M")] ** 2          # E[M^2] = 0.36 Var Y + 0.25 = 0.61
  assert abs(m2.mean() - 0.61) < 4 * m2.std() / np.sqrt(n)
  xy = d[:, scm.col("X")] * d[:, scm.col("Y")]   # E[X Y] = E[Y^2 M] = 0.6 E[Y^3]... = 0
  assert abs(xy.mean()) < 4 * xy.std() / np.sqrt(n)


@pytest.mark.parametrize("call,match", [
    (lambda: C.make_graph({"Y": (), "A": ("B",), "B": ("A",)}, "Y"), "cycle"),
    (lambda: C.make_graph({"Y": ("E",), "A": ("Y",)}, "Y"), "E -> Y"),
    (lambda: C.make_graph({"Y": (), "A": ("Q",)}, "Y"), "unknown node 'Q'"),
    (lambda: C.markov_boundary(C.reference_scm().graph, ("X1", "Q")), "subset.*unknown"),
    (lambda: C.subset_masks(C.reference_scm(), [("X1", "M1")]), "subsets\\[0\\].*M1"),
])
def test_bad_graph_inputs(call, match):
  with pytest.raises(ValueError, match=match):
    call()


def test_bad_ascent_inputs():
  scm, data, _ = _stratified_counterexample(10)
  with pytest.raises(ValueError, match="worst_case_risk: restarts"):
    C.worst_case_risk(jax.random.key(0), scm, C.counterexample_predictor, data, restarts=0)
  with pytest.raises(ValueError, match="worst_case_risk: penalty"):
    C.worst_case_risk(jax.random.key(0), scm, C.counterexample_predictor, data, penalty=-0.1)


def _risk_by_loops(g, cpts, subset, env):
  """Independent enumeration: the risk of f_S under a soft environment env[m][pa index] = P^e(m = 1 | pa)."""
  nodes = g.nodes

  def pa_idx(v, st):
    return sum(st[nodes.index(p)] << j for j, p in enumerate(g.pa(v)))

  def p_of(v, st, table):
    p1 = table[pa_idx(v, st)]
    return p1 if st[nodes.index(v)] else 1 - p1
  states = list(itertools.product([0, 1], repeat=len(nodes)))
  stable_p = {st: np.prod([p_of(v, st, cpts[v]) for v in nodes if v not in g.mutable]) for st in states}
  keep = [nodes.index(v) for v in tuple(subset) + g.mutable]
  num, den = {}, {}
  for st, p in stable_p.items():
    k = tuple(st[i] for i in keep)
    num[k] = num.get(k, 0) + p * st[nodes.index("Y")]
    den[k] = den.get(k, 0) + p
  total = 0.0
  for st, p in stable_p.items():
    pe = p * np.prod([p_of(m, st, env[m]) for m in g.mutable])
    k = tuple(st[i] for i in keep)
    total += pe * (st[nodes.index("Y")] - num[k] / den[k]) ** 2
  return total


def test_exact_binary_worst_case_bounds_every_soft_environment():
  g, cpts = C.random_binary_scm(16, 3, 1, 0.6)      # Y a root, M1 a child of Y
  h = C.exact_worst_case(g, cpts)
  rng = np.random.default_rng(0)
  for s in [(), g.stable]:
    risks = [_risk_by_loops(g, cpts, s, {m: rng.uniform(0, 1, 2 ** len(g.pa(m))) for m in g.mutable})
             for _ in range(20)]
    det = [_risk_by_loops(g, cpts, s, {m: np.array(t, float) for m in g.mutable})
           for t in itertools.product([0, 1], repeat=2 ** len(g.pa(g.mutable[0])))]
    assert max(risks) <= h[s] + 1e-12                 # the sup is over vertices: no soft environment is above
    assert abs(max(det) - h[s]) < 1e-12               # and the deterministic maximum is h*
  assert g.pa("Y") == () and "M1" in g.children("Y")
  p = cpts["Y"][0]
  assert abs(h[()] - p * (1 - p)) < 1e-12               # h*(∅) = Var Y for a root Y
