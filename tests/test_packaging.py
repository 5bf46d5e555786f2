"""The zoo's top-level names must resolve to this repository (they are common names on PyPI)."""
import importlib
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("models", "kernels", "theory", "experiments")


@pytest.mark.parametrize("name", PACKAGES)
def test_package_resolves_inside_repository(name):
  mod = importlib.import_module(name)
  path = os.path.realpath(mod.__file__)
  assert path.startswith(os.path.realpath(REPO) + os.sep), (
      f"`import {name}` resolved to {path}, outside the repository {REPO}: another distribution named "
      f"{name!r} shadows the zoo; run `pip install -e .` in a clean environment")


def test_packages_import_from_any_directory(tmp_path):
  """After `pip install -e .`, the names import with the repository neither cwd nor on PYTHONPATH."""
  env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
  code = ("import models, kernels, theory, experiments, os; "
          "print('\\n'.join(os.path.realpath(m.__file__) for m in (models, kernels, theory, experiments)))")
  out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=120)
  assert out.returncode == 0, out.stderr
  for line in out.stdout.split():
    assert line.startswith(os.path.realpath(REPO) + os.sep), line


def test_library_layers_do_not_import_experiment_machinery():
  """models/, kernels/, theory/ never pull in ml_collections, matplotlib, sklearn or experiments.

  (absl is checked in the sources below: flax itself imports absl.logging.)
  """
  code = ("import sys, pkgutil, importlib\n"
          "import models, kernels, theory\n"
          "for pkg in (models, kernels, theory):\n"
          "  for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
          "    if not m.name.endswith('.bench'):\n"
          "      importlib.import_module(m.name)\n"
          "bad = sorted(n for n in sys.modules if n.split('.')[0] in "
          "('experiments', 'ml_collections', 'matplotlib', 'sklearn'))\n"
          "print(bad)\n")
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "JAX_PLATFORMS": "cpu"})
  assert out.returncode == 0, out.stderr
  assert out.stdout.strip() == "[]", f"library layers imported experiment machinery: {out.stdout}"


def test_library_sources_do_not_import_absl_or_experiments():
  """The library layers' own sources import no absl and no experiments (bench.py binaries excepted). A module
  that is also a command-line program may import absl inside its ``_cli()`` function, which only
  ``if __name__ == "__main__"`` calls: importing the library never imports absl."""
  import ast
  offenders = []
  for pkg in ("models", "kernels", "theory"):
    for root, _, files in os.walk(os.path.join(REPO, pkg)):
      for f in files:
        if not f.endswith(".py") or f == "bench.py":
          continue
        path = os.path.join(root, f)
        tree = ast.parse(open(path, encoding="utf-8").read(), path)
        in_cli = {id(n) for fn in ast.walk(tree) if isinstance(fn, ast.FunctionDef) and fn.name == "_cli"
                  for n in ast.walk(fn)}
        for node in ast.walk(tree):
          names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                   [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
          offenders += [f"{path}: {n}" for n in names
                        if n.split(".")[0] in ("absl", "experiments", "ml_collections", "matplotlib", "sklearn")
                        and not (n.split(".")[0] == "absl" and id(node) in in_cli)]
  assert not offenders, offenders
