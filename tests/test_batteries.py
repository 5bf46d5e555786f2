"""The bad-input and differentiation batteries (cases in ``tests/batteries/<slug>.py``; see
``tests/batteries/battery.py``).

* every :class:`BadInput` raises its error, and the message matches (names the argument);
* every :class:`Grad` agrees with central finite differences and is not identically zero: float64
  reverse-mode cases (the default) in one compiled program per case (the gradient of a fixed linear
  functional of the outputs against the central difference along a random direction); float32, forward
  or higher-order cases through ``jax.test_util.check_grads``;
* every :class:`NoGrad` raises a clear error when differentiated;
* coverage: every callable in the ``__all__`` of each covered package has a case in both batteries or
  an exemption with a reason, and no case names a function that is not public.
"""
from __future__ import annotations

import importlib
import importlib.util
import inspect
import pathlib
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

_DIR = pathlib.Path(__file__).parent / "batteries"


def _load(path: pathlib.Path):
  spec = importlib.util.spec_from_file_location(f"zoo_battery_{path.stem}", path)
  mod = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(mod)
  return mod


import sys  # noqa: E402
sys.path.insert(0, str(_DIR))   # battery files import their case types with `from battery import ...`
from battery import BadInput, Grad, NoGrad, weighted_sum  # noqa: E402,F401
FILES = {p.stem: _load(p) for p in sorted(_DIR.glob("*.py")) if p.stem not in ("battery", "__init__")}
BAD = [c for f in FILES.values() for c in getattr(f, "BAD_INPUTS", [])]
GRADS = [c for f in FILES.values() for c in getattr(f, "GRADIENTS", []) if isinstance(c, Grad)]
NOGRADS = [c for f in FILES.values() for c in getattr(f, "GRADIENTS", []) if isinstance(c, NoGrad)]


def test_case_ids_are_unique():
  for cases in (BAD, GRADS, NOGRADS):
    ids = [c.id for c in cases]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    assert not dup, f"duplicate battery case ids: {dup}"


@pytest.mark.parametrize("case", BAD, ids=lambda c: c.id)
def test_bad_input(case):
  with pytest.raises(case.error) as info:
    case.call()
  msg = str(info.value)
  assert re.search(case.match, msg), f"message does not name {case.match!r}: {msg}"


def _cast(tree, dtype):
  def leaf(a):
    a = np.asarray(a) if not isinstance(a, jax.Array) else a
    return jnp.asarray(a, dtype) if jnp.issubdtype(a.dtype, jnp.floating) else jnp.asarray(a)
  return jax.tree.map(leaf, tree)


_weighted_sum = weighted_sum


def _directional_check(case, args):
  """One compiled program per case: the reverse-mode gradient of a fixed functional L of the outputs and
  L at x +- eps*v for a random unit direction v; <grad L, v> must equal the central difference (float64:
  truncation ~eps^2, rounding ~1e-16/eps) and grad L must not be identically zero."""
  leaves, tree = jax.tree.flatten(args)
  fidx = [i for i, a in enumerate(leaves) if jnp.issubdtype(a.dtype, jnp.floating)]
  rng = np.random.RandomState(0)
  v = [rng.standard_normal(leaves[i].shape) for i in fidx]
  norm = np.sqrt(sum(float(np.sum(u * u)) for u in v)) or 1.0
  v = [jnp.asarray(u / norm, leaves[i].dtype) for u, i in zip(v, fidx)]
  eps = case.eps if case.eps is not None else 1e-5

  def loss(fl):
    full = list(leaves)
    for i, a in zip(fidx, fl):
      full[i] = a
    return _weighted_sum(case.fn(*jax.tree.unflatten(tree, full)))

  @jax.jit
  def program(fl, v):
    g = jax.grad(loss)(fl)
    plus = loss([a + eps * u for a, u in zip(fl, v)])
    minus = loss([a - eps * u for a, u in zip(fl, v)])
    return g, plus, minus

  g, plus, minus = program([leaves[i] for i in fidx], v)
  g = [np.asarray(x, np.float64) for x in g]
  assert any(np.any(x != 0) for x in g), "gradient is identically 0"
  analytic = sum(float(np.sum(x * np.asarray(u))) for x, u in zip(g, v))
  numeric = (float(plus) - float(minus)) / (2 * eps)
  gnorm = np.sqrt(sum(float(np.sum(x * x)) for x in g))
  atol = case.atol if case.atol is not None else 1e-7
  rtol = case.rtol if case.rtol is not None else 1e-5
  assert abs(analytic - numeric) <= atol + rtol * gnorm, (
      f"directional derivative {analytic!r} != central difference {numeric!r} (|grad| = {gnorm:.3g})")


@pytest.mark.parametrize("case", GRADS, ids=lambda c: c.id)
def test_gradient(case):
  with jax.enable_x64(case.dtype == "float64"):
    args = tuple(_cast(a, case.dtype) for a in case.args())
    if case.dtype == "float64" and case.order == 1 and tuple(case.modes) == ("rev",):
      _directional_check(case, args)          # the fast path: one compile
      return
    check_grads(case.fn, args, order=case.order, modes=case.modes, atol=case.atol, rtol=case.rtol,
                eps=case.eps)
    grads = jax.grad(lambda *a: _weighted_sum(case.fn(*a)), argnums=tuple(range(len(args))))(*args)
    assert any(np.any(np.asarray(g) != 0) for g in jax.tree.leaves(grads)), "gradient is identically 0"


@pytest.mark.parametrize("case", NOGRADS, ids=lambda c: c.id)
def test_no_gradient(case):
  with jax.enable_x64(case.dtype == "float64"):
    args = tuple(_cast(a, case.dtype) for a in case.args())
    with pytest.raises(case.error) as info:
      jax.grad(lambda a0: _weighted_sum(case.fn(a0, *args[1:])))(args[0])
  assert re.search(case.match, str(info.value)), str(info.value)


def _entry_points(pkg_name: str) -> dict[str, object]:
  pkg = importlib.import_module(pkg_name)
  out = {}
  for name in getattr(pkg, "__all__", []):
    obj = getattr(pkg, name)
    if inspect.ismodule(obj) or not callable(obj):
      continue                                            # constants, tables, submodules
    if inspect.isclass(obj) and issubclass(obj, tuple):
      continue                                            # NamedTuple result containers
    out[f"{pkg_name}.{name}"] = obj
  return out


def _covered(f, battery: str) -> tuple[set[str], dict[str, str]]:
  if battery == "bad-input":
    names = {c.target for c in getattr(f, "BAD_INPUTS", [])}
  else:
    names = {c.target for c in getattr(f, "GRADIENTS", [])}
  exempt = {}
  for name, why in getattr(f, "EXEMPT", {}).items():
    other = "grad" if battery == "bad-input" else "bad-input"
    if not why.startswith(other + ":"):
      exempt[name] = why
  return names, exempt


@pytest.mark.parametrize("battery", ["bad-input", "grad"])
@pytest.mark.parametrize("slug", sorted(FILES))
def test_coverage(slug, battery):
  f = FILES[slug]
  public = {}
  for pkg in f.PACKAGES:
    public.update(_entry_points(pkg))
  names, exempt = _covered(f, battery)
  for name, why in exempt.items():
    assert why.split(":", 1)[-1].strip(), f"{name}: an exemption needs a reason"
  all_public = {f"{pkg}.{n}" for pkg in f.PACKAGES for n in getattr(importlib.import_module(pkg), "__all__")}
  stale = sorted((names | set(getattr(f, "EXEMPT", {}))) - all_public)
  assert not stale, f"{slug}: battery names that are not public: {stale}"
  missing = sorted(set(public) - names - set(exempt))
  assert not missing, f"{slug}: public entry points without a {battery} case or an exemption: {missing}"


# Every public package of models/, kernels/ and theory/ with an __all__ is covered by some battery file.
def _public_packages():
  root = pathlib.Path(__file__).resolve().parents[1]
  out = []
  for top in ("models", "kernels", "theory"):
    for init in sorted((root / top).glob("*/__init__.py")):
      pkg = f"{top}.{init.parent.name}"
      if "__all__" in init.read_text():
        out.append(pkg)
    for mod in sorted((root / top / "common").glob("*.py")):   # shared modules: one public module each
      if mod.stem != "__init__" and "__all__" in mod.read_text():
        out.append(f"{top}.common.{mod.stem}")
  return out


# Packages whose battery file is not written yet (issue 23 stays open while this is not empty). The test
# fails when a package is missing from both, and when a listed package has gained a battery file.
PENDING: dict[str, str] = {}


def test_every_package_is_covered():
  covered = {p for f in FILES.values() for p in f.PACKAGES}
  missing = [p for p in _public_packages() if p not in covered and p not in PENDING]
  assert not missing, f"packages with a public __all__ but no battery file: {missing}"
  done = sorted(set(PENDING) & covered)
  assert not done, f"remove from PENDING, they have battery files now: {done}"
