"""Reaction-network workloads: right-hand sides written as numpy-style code (paper 23's reaction-network example).

Mass action: ``dx_i/dt = Σ_r ν_ir k_r Π_j x_j^{a_jr}`` (``a_jr`` the reactant stoichiometry, ``ν_ir`` the net
change of species i in reaction r). Each :class:`Workload` has ``rhs(x, k)`` that works on float arrays (shape
``[n, ...]``, batch axes trailing) and on object arrays of symbols (then :func:`~kernels.symbolic.codegen.trace`
turns it into expressions).
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

__all__ = ["Workload", "mass_action", "brusselator", "robertson", "repressilator", "random_network",
           "CLASSIC"]

_P = "kernels.symbolic."


@dataclasses.dataclass(frozen=True)
class Workload:
  name: str
  n_species: int
  n_params: int
  rhs: Callable                     # rhs(x, k) -> [n_species, ...]
  reactions: tuple = ()             # ((reactants {j: a}), (products {j: b})) for mass-action networks


def mass_action(name: str, n_species: int, reactions) -> Workload:
  """Mass-action network from ``reactions = [({reactant: stoich}, {product: stoich}), ...]`` (species
  indices), one rate constant ``k_r`` per reaction."""
  fn = f"{_P}mass_action"
  if isinstance(n_species, bool) or not isinstance(n_species, (int, np.integer)) or n_species < 1:
    raise ValueError(f"{fn}: n_species: expected an int >= 1, got {n_species!r}")
  rx = []
  for r in reactions:
    if not (isinstance(r, tuple) and len(r) == 2 and all(isinstance(d, dict) for d in r)):
      raise TypeError(f"{fn}: reactions: expected (reactants dict, products dict) pairs, got {r!r}")
    for d in r:
      for j, a in d.items():
        if not (isinstance(j, (int, np.integer)) and 0 <= j < n_species):
          raise ValueError(f"{fn}: reactions: species index {j!r} outside [0, {n_species})")
        if not (isinstance(a, (int, np.integer)) and a >= 1):
          raise ValueError(f"{fn}: reactions: stoichiometry must be an int >= 1, got {a!r}")
    rx.append((dict(r[0]), dict(r[1])))
  if not rx:
    raise ValueError(f"{fn}: reactions: expected at least one reaction")
  rx_t = tuple(rx)

  def rhs(x, k):
    dx = [0] * n_species
    for r, (reac, prod) in enumerate(rx_t):
      rate = k[r]
      for j, a in reac.items():
        rate = rate * (x[j] if a == 1 else x[j] ** a)
      for i in set(reac) | set(prod):
        nu = prod.get(i, 0) - reac.get(i, 0)
        if nu != 0:
          dx[i] = dx[i] + (rate if nu == 1 else nu * rate)
    return _stack(dx, x)
  return Workload(name, int(n_species), len(rx), rhs, rx_t)


def _stack(dx, x):
  if isinstance(x, np.ndarray) and x.dtype == object:
    out = np.empty(len(dx), dtype=object)
    for i, v in enumerate(dx):
      out[i] = v
    return out
  ref = x[0]
  return np.stack([np.broadcast_to(np.asarray(v, dtype=np.asarray(ref).dtype), np.shape(ref)) for v in dx])


def brusselator() -> Workload:
  """A → X, 2X + Y → 3X, B + X → Y + D, X → E with A, B held fixed (absorbed in k): species X, Y."""
  return mass_action("brusselator", 2, [({}, {0: 1}), ({0: 2, 1: 1}, {0: 3}), ({0: 1}, {1: 1}), ({0: 1}, {})])


def robertson() -> Workload:
  """Robertson's stiff kinetics: A → B, 2B → B + C, B + C → A + C."""
  return mass_action("robertson", 3, [({0: 1}, {1: 1}), ({1: 2}, {1: 1, 2: 1}), ({1: 1, 2: 1}, {0: 1, 2: 1})])


def repressilator() -> Workload:
  """Elowitz–Leibler repressilator (Hill coefficient 2): species m1..3, p1..3; k = (α, α0, β).

  dm_i = α/(1 + p_{i-1}²) + α0 − m_i,  dp_i = β (m_i − p_i).
  """
  def rhs(x, k):
    a, a0, b = k[0], k[1], k[2]
    out = []
    for i in range(3):
      out.append(a / (1 + x[3 + (i - 1) % 3] ** 2) + a0 - x[i])
    for i in range(3):
      out.append(b * (x[i] - x[3 + i]))
    return _stack(out, x)
  return Workload("repressilator", 6, 3, rhs)


def random_network(n_species: int, n_reactions: int | None = None, seed: int = 0) -> Workload:
  """A random mass-action network: ``n_reactions`` (default ``2 n``) reactions with 1–2 distinct reactants
  (a single reactant is bimolecular ``2X`` with probability 0.2) and 0–2 products."""
  fn = f"{_P}random_network"
  if isinstance(n_species, bool) or not isinstance(n_species, (int, np.integer)) or n_species < 2:
    raise ValueError(f"{fn}: n_species: expected an int >= 2, got {n_species!r}")
  m = 2 * n_species if n_reactions is None else n_reactions
  if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
    raise ValueError(f"{fn}: n_reactions: expected an int >= 1, got {n_reactions!r}")
  rng = np.random.default_rng(seed)
  rx = []
  for _ in range(int(m)):
    nr = int(rng.integers(1, 3))
    sp = [int(s) for s in rng.choice(n_species, size=nr, replace=False)]
    reac = {sp[0]: 2} if nr == 1 and rng.random() < 0.2 else {s: 1 for s in sp}
    npr = int(rng.integers(0, 3))
    prod = {int(s): 1 for s in rng.choice(n_species, size=npr, replace=False)} if npr else {}
    rx.append((reac, prod))
  return mass_action(f"random{n_species}", int(n_species), rx)


CLASSIC = (brusselator, robertson, repressilator)
